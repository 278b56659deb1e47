/* Task sampling: picks a class and an x sampler from the mixture, draws x and the function,
 * then applies the augmentations (label noise, 5-bin label quantisation, target
 * normalisation, feature permutation, missing-at-random masking, random d) and writes the
 * caller's float buffers. The batch version is parallel over tasks with OpenMP.
 *
 * Determinism: four counter-based streams per task, keyed by (seed, hash(task_index, tag)):
 * meta (class, sampler, augmentation decisions), x, function parameters, augmentation noise.
 * So a task depends only on (cfg, seed, task_index, d, k), never on threads or batch layout. */
#include <math.h>
#include <string.h>
#include "prior/prior_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

enum { TAG_META = 0x6d657461, TAG_X = 0x78, TAG_F = 0x66, TAG_AUG = 0x617567 };

static void stream(ef_rng *r, uint64_t seed, uint64_t task_index, uint64_t tag) {
    ef_rng_init(r, seed, ef_hash64(task_index, tag));
}

static int is_timeseries(ef_prior_class c) {
    return c == EF_PRIOR_DRIFT || c == EF_PRIOR_REGIME || c == EF_PRIOR_LSTM;
}

static ef_status check_args(const ef_prior_config *cfg, int d, int k, const float *x,
                            const float *y, ef_error *err) {
    EF_CHECK(cfg && x && y, err, EF_ERR_INVALID, "prior: NULL config or output buffer");
    EF_CHECK(d >= 1 && d <= cfg->d_max, err, EF_ERR_INVALID,
             "prior: d = %d must be in [1, d_max = %d]", d, cfg->d_max);
    EF_CHECK(k >= 1, err, EF_ERR_INVALID, "prior: k = %d must be >= 1", k);
    return EF_OK;
}

/* The work of ef_prior_sample_task once cfg and the arguments are known to be valid. */
static ef_status sample_task(const ef_prior_config *cfg, uint64_t seed, uint64_t task_index,
                             int d, int k, float *x, float *y, uint8_t *mask,
                             ef_task_info *info_out, uint64_t f_tag, ef_error *err) {
    ef_rng rm, rx, rf, ra;
    stream(&rm, seed, task_index, TAG_META);
    stream(&rx, seed, task_index, TAG_X);
    stream(&rf, seed, task_index, f_tag);
    stream(&ra, seed, task_index, TAG_AUG);
    ef_task_info info;
    memset(&info, 0, sizeof info);

    // ---- decisions (meta stream)
    info.cls = (ef_prior_class)ef_prior_pick(&rm, cfg->class_weights, EF_PRIOR_CLASS_COUNT);
    info.xdist = (ef_prior_xdist)ef_prior_pick(&rm, cfg->x_weights, EF_PRIOR_X_COUNT);
    if (cfg->penalized_collinear &&
        (info.cls == EF_PRIOR_LAPLACE || info.cls == EF_PRIOR_ELASTICNET))
        info.xdist = EF_PRIOR_X_CORRELATED;
    info.d = d;
    if (ef_rng_uniform(&rm) < cfg->random_d_prob)
        info.d = ef_prior_uniform_int(&rm, EF_MIN(cfg->random_d_min, d), d);
    int de = info.d;
    if (info.cls == EF_PRIOR_SPARSE)
        info.s = ef_prior_uniform_int(&rm, EF_MIN(cfg->sparse_s_min, de), EF_MIN(cfg->sparse_s_max, de));
    else if (info.cls == EF_PRIOR_TREE) info.s = cfg->tree_depth;
    else if (info.cls == EF_PRIOR_FOREST) info.s = cfg->forest_trees;
    if (ef_rng_uniform(&rm) < cfg->noise_prob)
        info.noise = cfg->noise_min + (cfg->noise_max - cfg->noise_min) * ef_rng_uniform(&rm);
    info.quantized = ef_rng_uniform(&rm) < cfg->quantize_prob;
    if (ef_rng_uniform(&rm) < cfg->mask_prob) info.mask_rate = cfg->mask_rate_max * ef_rng_uniform(&rm);
    info.permuted = ef_rng_uniform(&rm) < cfg->permute_prob;

    // ---- x and the function
    ef_status st = EF_OK;
    double *X = ef_malloc((size_t)k * de * sizeof *X);
    double *Y = ef_malloc((size_t)k * sizeof *Y);
    int *perm = ef_malloc((size_t)de * sizeof *perm);
    if (!X || !Y || !perm) {
        st = EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for a task (k=%d, d=%d)", k, de);
        goto done;
    }
    st = ef_prior_sample_x(cfg, info.xdist, &rx, k, de, X, NULL, NULL, err);
    if (st != EF_OK) goto done;
    if (is_timeseries(info.cls)) st = ef_prior_eval_timeseries(cfg, info.cls, &rf, X, k, de, Y, &info, err);
    else st = ef_prior_eval_static(cfg, info.cls, &rf, X, k, de, info.s, Y, err);
    if (st != EF_OK) goto done;

    // ---- label augmentations, then the target scale
    double S = ef_prior_error_scale(info.cls, de, info.s);
    if (info.noise > 0) {
        double sig = info.noise * sqrt(S);
        for (int t = 0; t < k; t++) Y[t] += sig * ef_rng_normal(&ra);
    }
    if (info.quantized) {
        st = ef_prior_quantize_targets(Y, k, sqrt(S), NULL, err);
        if (st != EF_OK) goto done;
    }
    info.y_scale = cfg->target_norm == EF_PRIOR_TARGET_UNIT ? 1.0 / sqrt(S) : 1.0;
    info.err_scale = cfg->target_norm == EF_PRIOR_TARGET_UNIT ? 1.0 : S;
    for (int t = 0; t < k; t++) y[t] = (float)(Y[t] * info.y_scale);

    // ---- feature augmentations and the output layout
    for (int j = 0; j < de; j++) perm[j] = j;
    if (info.permuted) ef_rng_shuffle_int(&ra, perm, (size_t)de);
    int D = cfg->d_max;
    for (int t = 0; t < k; t++) {
        float *xo = x + (size_t)t * D;
        uint8_t *mo = mask ? mask + (size_t)t * D : NULL;
        for (int j = 0; j < de; j++) {
            int observed = !(info.mask_rate > 0 && ef_rng_uniform(&ra) < info.mask_rate);
            xo[j] = observed ? (float)X[(size_t)t * de + perm[j]] : 0.0f;
            if (mo) mo[j] = (uint8_t)observed;
        }
        for (int j = de; j < D; j++) {
            xo[j] = 0.0f;
            if (mo) mo[j] = 0;
        }
    }
done:
    ef_free(X);
    ef_free(Y);
    ef_free(perm);
    if (info_out) *info_out = info;
    return st;
}

ef_status ef_prior_sample_task(const ef_prior_config *cfg, uint64_t seed, uint64_t task_index,
                               int d, int k, float *x, float *y, uint8_t *mask,
                               ef_task_info *info, ef_error *err) {
    EF_TRY(check_args(cfg, d, k, x, y, err));
    EF_TRY(ef_prior_config_validate(cfg, err));
    return sample_task(cfg, seed, task_index, d, k, x, y, mask, info, TAG_F, err);
}

// ---- convex combinations of two classes (out of the mixture) ----------------------------

ef_status ef_prior_sample_combo(const ef_prior_config *cfg, ef_prior_class a, ef_prior_class b,
                                double alpha, uint64_t seed, uint64_t task_index, int d, int k,
                                float *x, float *y, uint8_t *mask, ef_task_info *info,
                                ef_error *err) {
    EF_TRY(check_args(cfg, d, k, x, y, err));
    EF_TRY(ef_prior_config_validate(cfg, err));
    EF_CHECK(a >= 0 && a < EF_PRIOR_CLASS_COUNT && b >= 0 && b < EF_PRIOR_CLASS_COUNT, err, EF_ERR_INVALID,
             "prior: combo classes out of range");
    EF_CHECK(alpha >= 0 && alpha <= 1, err, EF_ERR_INVALID, "prior: combo alpha = %g must be in [0, 1]", alpha);
    EF_CHECK(cfg->noise_prob == 0 && cfg->quantize_prob == 0 && cfg->mask_prob == 0 && cfg->permute_prob == 0 &&
                 cfg->random_d_prob == 0,
             err, EF_ERR_INVALID, "prior: a combination of classes takes no augmentations (noise, quantize, mask, "
             "permute, random d)");
    ef_prior_config ca = *cfg, cb;
    for (int c = 0; c < EF_PRIOR_CLASS_COUNT; c++) ca.class_weights[c] = 0;
    ca.penalized_collinear = 0;   /* both parts on the same sampler */
    ca.target_norm = EF_PRIOR_TARGET_UNIT;
    cb = ca;
    ca.class_weights[a] = 1;
    cb.class_weights[b] = 1;
    size_t xs = (size_t)k * cfg->d_max;
    float *xb = ef_malloc(xs * sizeof(float)), *yb = ef_malloc((size_t)k * sizeof(float));
    ef_task_info ia, ib;
    ef_status st = xb && yb ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for a combo task");
    if (!st) st = sample_task(&ca, seed, task_index, d, k, x, y, mask, &ia, TAG_F, err);
    /* the same x and meta streams, the function of b from its own stream */
    if (!st) st = sample_task(&cb, seed, task_index, d, k, xb, yb, NULL, &ib, TAG_F ^ 0x636f6d626fULL, err);
    if (!st && memcmp(x, xb, xs * sizeof(float)))
        st = EF_ERR(err, EF_ERR_INTERNAL, "prior: the two classes of a combo drew different inputs");
    if (!st) {
        double S = ef_prior_error_scale(a, ia.d, ia.s);
        double g = cfg->target_norm == EF_PRIOR_TARGET_UNIT ? 1.0 : sqrt(S);
        double norm = sqrt(alpha * alpha + (1 - alpha) * (1 - alpha));
        for (int t = 0; t < k; t++) y[t] = (float)(g * (alpha * y[t] + (1 - alpha) * yb[t]) / norm);
        ia.y_scale = g;
        ia.err_scale = cfg->target_norm == EF_PRIOR_TARGET_UNIT ? 1.0 : S;
        if (info) *info = ia;
    }
    ef_free(xb);
    ef_free(yb);
    return st;
}

ef_status ef_prior_sample_batch(const ef_prior_config *cfg, uint64_t seed,
                                uint64_t first_task_index, int B, int d, int k, float *x,
                                float *y, uint8_t *mask, ef_task_info *infos, ef_error *err) {
    EF_TRY(check_args(cfg, d, k, x, y, err));
    EF_CHECK(B >= 1, err, EF_ERR_INVALID, "prior: batch size %d must be >= 1", B);
    EF_TRY(ef_prior_config_validate(cfg, err));
    size_t xs = (size_t)k * cfg->d_max;
    int first_bad = B;  /* lowest failing task, so the reported error is deterministic */
    ef_status bad_st = EF_OK;
    ef_error bad_err;
    memset(&bad_err, 0, sizeof bad_err);
    /* a thread pays only when there is work for it (a linear task at d=20, k=41 is ~50 us) */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)B * k * d > 20000)
#endif
    for (int b = 0; b < B; b++) {
        ef_error e;
        ef_status s = sample_task(cfg, seed, first_task_index + (uint64_t)b, d, k, x + (size_t)b * xs,
                                  y + (size_t)b * k, mask ? mask + (size_t)b * xs : NULL,
                                  infos ? infos + b : NULL, TAG_F, &e);
        if (s != EF_OK) {
#ifdef _OPENMP
#pragma omp critical(ef_prior_batch_err)
#endif
            {
                if (b < first_bad) {
                    first_bad = b;
                    bad_st = s;
                    bad_err = e;
                }
            }
        }
    }
    if (bad_st != EF_OK) {
        if (err) {
            *err = bad_err;
            ef_error_prefix(err, "task %llu: ", (unsigned long long)(first_task_index + (uint64_t)first_bad));
        }
        return bad_st;
    }
    return EF_OK;
}
