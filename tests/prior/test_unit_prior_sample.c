/* prior: task sampling end to end: augmentations (label noise, 5-bin label quantisation,
 * masking, permutation, random d, unit target scale), argument errors, and determinism
 * (same (seed, index) -> same task; batch == single tasks; 1 vs 2 OpenMP threads bitwise). */
#include <math.h>
#include <string.h>
#include "prior/prior_internal.h"
#include "test.h"
#ifdef _OPENMP
#include <omp.h>
#endif

enum { DM = 12 };

static void test_quantize(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = DM;
    c.quantize_prob = 1.0;
    enum { K = 100 };
    float x[K * DM], y[K];
    ef_task_info info;
    for (int task = 0; task < 20; task++) {
        CHECK_OK(ef_prior_sample_task(&c, 1, (uint64_t)task, 10, K, x, y, NULL, &info, NULL));
        CHECK(info.quantized == 1);
        int cnt[5] = {0}, levels_ok = 1;
        double s2 = 0;
        for (int t = 0; t < K; t++) {
            double b = y[t] / sqrt(info.err_scale) * sqrt(0.8) + 2;
            int bi = (int)lround(b);
            if (fabs(b - bi) > 1e-5 || bi < 0 || bi > 4) levels_ok = 0;
            else cnt[bi]++;
            s2 += (double)y[t] * y[t];
        }
        CHECK(levels_ok);
        CHECKF(cnt[0] == 5 && cnt[1] == 20 && cnt[2] == 50 && cnt[3] == 20 && cnt[4] == 5,
               "%d %d %d %d %d", cnt[0], cnt[1], cnt[2], cnt[3], cnt[4]);
        CHECK_NEAR(s2 / K, info.err_scale, 0, 1e-5);  /* the scale is kept */
    }
    /* the quantiser keeps the order of the targets */
    double v[40];
    int bins[40];
    for (int i = 0; i < 40; i++) v[i] = sin(i * 1.7);
    double orig[40];
    memcpy(orig, v, sizeof v);
    CHECK_OK(ef_prior_quantize_targets(v, 40, 1.0, bins, NULL));
    int monotone = 1;
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++)
            if (orig[i] < orig[j] && bins[i] > bins[j]) monotone = 0;
    CHECK(monotone);
}

static void test_noise_mask_permute(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = DM;
    enum { K = 400, D = 5 };
    static float x[K * DM], y[K], x2[K * DM], y2[K];
    static uint8_t m[K * DM];
    ef_task_info info;
    /* label noise: least-squares residual variance ~ sigma^2 S (k - d) / k */
    c.noise_prob = 1.0;
    c.noise_min = c.noise_max = 0.5;
    double rv = 0;
    for (int task = 0; task < 10; task++) {
        CHECK_OK(ef_prior_sample_task(&c, 2, (uint64_t)task, D, K, x, y, NULL, &info, NULL));
        CHECK(info.noise == 0.5 && info.err_scale == D);
        double X[K * D], Y[K], w[D];
        for (int t = 0; t < K; t++) {
            Y[t] = y[t];
            for (int j = 0; j < D; j++) X[t * D + j] = x[t * DM + j];
        }
        CHECK_OK(ef_bl_lstsq(X, Y, K, D, w, NULL));
        for (int t = 0; t < K; t++) {
            double p = 0;
            for (int j = 0; j < D; j++) p += X[t * D + j] * w[j];
            rv += (Y[t] - p) * (Y[t] - p) / (K - D);
        }
    }
    CHECK_NEAR(rv / 10, 0.25 * D, 0.1, 0);
    /* masking: masked entries are 0 with mask 0, the rate matches, padding is masked */
    c.noise_prob = 0;
    c.mask_prob = 1.0;
    c.mask_rate_max = 0.6;
    int ok = 1;
    for (int task = 0; task < 10; task++) {
        CHECK_OK(ef_prior_sample_task(&c, 3, (uint64_t)task, D, K, x, y, m, &info, NULL));
        int obs = 0;
        for (int t = 0; t < K; t++)
            for (int j = 0; j < DM; j++) {
                if (j >= D) ok &= m[t * DM + j] == 0 && x[t * DM + j] == 0.0f;
                else if (!m[t * DM + j]) ok &= x[t * DM + j] == 0.0f;
                else obs++;
            }
        CHECK(info.mask_rate >= 0 && info.mask_rate <= 0.6);
        CHECK_NEAR(obs / (double)(K * D), 1.0 - info.mask_rate, 0.06, 0);
        /* the task does not depend on whether the mask is requested */
        CHECK_OK(ef_prior_sample_task(&c, 3, (uint64_t)task, D, K, x2, y2, NULL, NULL, NULL));
        CHECK(memcmp(x, x2, sizeof x) == 0 && memcmp(y, y2, sizeof y) == 0);
    }
    CHECK(ok);
    /* permutation: same task, columns permuted, targets unchanged */
    c.mask_prob = 0;
    CHECK_OK(ef_prior_config_parse_mixture(&c, "sparse", NULL));
    CHECK_OK(ef_prior_sample_task(&c, 4, 9, D, K, x, y, NULL, &info, NULL));
    CHECK(info.permuted == 0);
    c.permute_prob = 1.0;
    CHECK_OK(ef_prior_sample_task(&c, 4, 9, D, K, x2, y2, NULL, &info, NULL));
    CHECK(info.permuted == 1);
    CHECK(memcmp(y, y2, K * sizeof *y) == 0);
    int used[D] = {0}, perm_ok = 1, moved = 0;
    for (int j = 0; j < D; j++) {
        int found = -1;
        for (int i = 0; i < D && found < 0; i++) {
            int same = 1;
            for (int t = 0; t < K; t++) same &= x2[t * DM + j] == x[t * DM + i];
            if (same && !used[i]) found = i;
        }
        if (found < 0) perm_ok = 0;
        else used[found] = 1;
        moved += found != j;
    }
    CHECK(perm_ok);
    CHECK(moved > 0);
}

static void test_random_d_and_unit(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = DM;
    c.random_d_prob = 1.0;
    c.random_d_min = 2;
    enum { K = 20 };
    float x[K * DM], y[K], yu[K];
    ef_task_info info;
    int seen[DM + 1] = {0}, zero_ok = 1;
    for (int task = 0; task < 300; task++) {
        CHECK_OK(ef_prior_sample_task(&c, 5, (uint64_t)task, 10, K, x, y, NULL, &info, NULL));
        if (info.d < 2 || info.d > 10) zero_ok = 0;
        else seen[info.d] = 1;
        for (int t = 0; t < K; t++)
            for (int j = info.d; j < DM; j++) zero_ok &= x[t * DM + j] == 0.0f;
        CHECK(info.err_scale == info.d);
    }
    CHECK(zero_ok);
    int all = 1;
    for (int dd = 2; dd <= 10; dd++) all &= seen[dd];
    CHECK(all);
    /* unit target scale = Garg scale / sqrt(S), same task otherwise */
    c.random_d_prob = 0;
    CHECK_OK(ef_prior_config_parse_mixture(&c, "relu=1,sparse=1,tree=1", NULL));
    for (int task = 0; task < 10; task++) {
        ef_task_info iu;
        c.target_norm = EF_PRIOR_TARGET_GARG;
        CHECK_OK(ef_prior_sample_task(&c, 6, (uint64_t)task, 8, K, x, y, NULL, &info, NULL));
        c.target_norm = EF_PRIOR_TARGET_UNIT;
        CHECK_OK(ef_prior_sample_task(&c, 6, (uint64_t)task, 8, K, x, yu, NULL, &iu, NULL));
        CHECK(iu.err_scale == 1.0 && info.y_scale == 1.0 && iu.cls == info.cls);
        CHECK_NEAR(iu.y_scale, 1.0 / sqrt(info.err_scale), 1e-15, 0);
        for (int t = 0; t < K; t++) CHECK_NEAR(yu[t], y[t] / sqrt(info.err_scale), 1e-6, 1e-6);
    }
}

static void test_errors(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    float x[4 * 20], y[4];
    ef_error e = {0};
    CHECK(ef_prior_sample_task(&c, 0, 0, 21, 4, x, y, NULL, NULL, &e) == EF_ERR_INVALID);
    CHECK(strstr(e.msg, "d = 21") != NULL);
    CHECK(ef_prior_sample_task(&c, 0, 0, 0, 4, x, y, NULL, NULL, &e) == EF_ERR_INVALID);
    CHECK(ef_prior_sample_task(&c, 0, 0, 5, 0, x, y, NULL, NULL, &e) == EF_ERR_INVALID);
    CHECK(ef_prior_sample_batch(&c, 0, 0, 0, 5, 4, x, y, NULL, NULL, &e) == EF_ERR_INVALID);
    c.class_weights[EF_PRIOR_LINEAR] = 0;
    CHECK(ef_prior_sample_task(&c, 0, 0, 5, 4, x, y, NULL, NULL, &e) == EF_ERR_INVALID);
    /* out of memory is reported, not crashed on */
    ef_prior_config_default(&c);
    ef_alloc_fail_after(1);
    CHECK(ef_prior_sample_task(&c, 0, 0, 5, 4, x, y, NULL, NULL, &e) == EF_ERR_NOMEM);
    ef_alloc_fail_after(0);
}

/* everything on: all classes, all samplers, all augmentations */
static void full_config(ef_prior_config *c) {
    ef_prior_config_default(c);
    c->d_max = DM;
    for (int i = 0; i < EF_PRIOR_CLASS_COUNT; i++) c->class_weights[i] = 1;
    for (int i = 0; i < EF_PRIOR_X_COUNT; i++) c->x_weights[i] = 1;
    CHECK_OK(ef_prior_config_parse_params(c, "noise_prob=0.5,quantize_prob=0.3,mask_prob=0.3,"
                                             "permute_prob=0.5,random_d_prob=0.3,tree_quantile_prob=0.5", NULL));
}

static void test_determinism(void) {
    ef_prior_config c;
    full_config(&c);
    enum { B = 64, K = 30, D = 10 };
    size_t nx = (size_t)B * K * DM;
    float *x1 = malloc(nx * sizeof *x1), *x2 = malloc(nx * sizeof *x2);
    float *y1 = malloc(B * K * sizeof *y1), *y2 = malloc(B * K * sizeof *y2);
    uint8_t *m1 = malloc(nx), *m2 = malloc(nx);
    ef_task_info *i1 = malloc(B * sizeof *i1), *i2 = malloc(B * sizeof *i2);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    CHECK_OK(ef_prior_sample_batch(&c, 42, 1000, B, D, K, x1, y1, m1, i1, NULL));
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    CHECK_OK(ef_prior_sample_batch(&c, 42, 1000, B, D, K, x2, y2, m2, i2, NULL));
    CHECK(memcmp(x1, x2, nx * sizeof *x1) == 0);
    CHECK(memcmp(y1, y2, B * K * sizeof *y1) == 0);
    CHECK(memcmp(m1, m2, nx) == 0);
    CHECK(memcmp(i1, i2, B * sizeof *i1) == 0);
    /* task b of the batch == task (1000 + b) alone; a shifted batch sees the same tasks */
    int same = 1;
    for (int b = 0; b < B; b += 7) {
        float xs[K * DM], ys[K];
        uint8_t ms[K * DM];
        ef_task_info is;
        CHECK_OK(ef_prior_sample_task(&c, 42, 1000 + (uint64_t)b, D, K, xs, ys, ms, &is, NULL));
        same &= memcmp(xs, x1 + (size_t)b * K * DM, sizeof xs) == 0 &&
                memcmp(ys, y1 + (size_t)b * K, sizeof ys) == 0 &&
                memcmp(ms, m1 + (size_t)b * K * DM, sizeof ms) == 0 && memcmp(&is, i1 + b, sizeof is) == 0;
    }
    CHECK(same);
    CHECK_OK(ef_prior_sample_batch(&c, 42, 1010, B - 10, D, K, x2, y2, NULL, NULL, NULL));
    CHECK(memcmp(x2, x1 + (size_t)10 * K * DM, (size_t)(B - 10) * K * DM * sizeof *x1) == 0);
    /* another seed or index gives another task; all values finite; every class appears */
    CHECK_OK(ef_prior_sample_batch(&c, 43, 1000, B, D, K, x2, y2, NULL, NULL, NULL));
    CHECK(memcmp(y1, y2, B * K * sizeof *y1) != 0);
    int finite = 1, classes = 0;
    for (size_t i = 0; i < nx; i++) finite &= isfinite(x1[i]);
    for (int i = 0; i < B * K; i++) finite &= isfinite(y1[i]);
    for (int b = 0; b < B; b++) classes |= 1 << i1[b].cls;
    CHECK(finite);
    CHECKF(classes == (1 << EF_PRIOR_CLASS_COUNT) - 1, "classes seen 0x%x", classes);
    free(x1);
    free(x2);
    free(y1);
    free(y2);
    free(m1);
    free(m2);
    free(i1);
    free(i2);
}

/* every allocation failure of every class and sampler is reported as EF_ERR_NOMEM (and, under
 * ASan, leaks nothing) until the task finally succeeds */
static void test_alloc_failures(void) {
    ef_prior_config c;
    full_config(&c);
    enum { K = 12, D = 6 };
    float x[K * DM], y[K];
    uint8_t m[K * DM];
    int classes_ok = 0;
    for (uint64_t task = 0; task < 40; task++) {
        ef_task_info info;
        ef_status st = EF_ERR_NOMEM;
        int n, only_nomem = 1;
        for (n = 1; n < 100 && st != EF_OK; n++) {
            ef_error e = {0};
            ef_alloc_fail_after(n);
            st = ef_prior_sample_task(&c, 77, task, D, K, x, y, m, &info, &e);
            ef_alloc_fail_after(0);
            if (st != EF_OK) only_nomem &= st == EF_ERR_NOMEM && strstr(e.msg, "memory") != NULL;
        }
        CHECK(st == EF_OK && only_nomem && n > 2);
        classes_ok |= 1 << info.cls;
    }
    CHECK(classes_ok != 0);
}

/* Convex combinations of two classes on the same inputs (icl-eval --ood combo). */
static void test_combo(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = DM;
    enum { K = 40, D = 6, T = 400 };
    static float x[K * DM], y[K], x1[K * DM], y1[K];
    ef_error err;
    ef_task_info info;
    /* alpha = 1 is class a's own task */
    CHECK(ef_prior_config_parse_mixture(&c, "linear=1", &err) == EF_OK);
    CHECK(ef_prior_sample_combo(&c, EF_PRIOR_LINEAR, EF_PRIOR_TREE, 1.0, 5, 3, D, K, x, y, NULL, &info, &err) == EF_OK);
    CHECK(ef_prior_sample_task(&c, 5, 3, D, K, x1, y1, NULL, NULL, &err) == EF_OK);
    int same = !memcmp(x, x1, sizeof x);
    double maxd = 0;
    for (int t = 0; t < K; t++) maxd = fmax(maxd, fabs(y[t] - y1[t]));
    CHECK(same && maxd < 1e-5);
    CHECK(info.err_scale == D);
    /* linear + linear is linear (least squares fits it exactly); linear + tree is not, and
     * E[y^2] stays at the first class's scale d */
    double ss = 0, resid_ll = 0, resid_lt = 0;
    for (int task = 0; task < T; task++) {
        for (int pass = 0; pass < 2; pass++) {
            ef_prior_class b = pass ? EF_PRIOR_TREE : EF_PRIOR_LINEAR;
            CHECK(ef_prior_sample_combo(&c, EF_PRIOR_LINEAR, b, 0.5, 9, (uint64_t)task, D, K, x, y, NULL, &info, &err) == EF_OK);
            /* normal equations of y ~ x (D x D) by Gaussian elimination */
            double A[D][D + 1];
            memset(A, 0, sizeof A);
            for (int t = 0; t < K; t++)
                for (int i = 0; i < D; i++) {
                    for (int j = 0; j < D; j++) A[i][j] += (double)x[t * DM + i] * x[t * DM + j];
                    A[i][D] += (double)x[t * DM + i] * y[t];
                }
            for (int i = 0; i < D; i++)
                for (int r = i + 1; r < D; r++) {
                    double f = A[r][i] / A[i][i];
                    for (int j = i; j <= D; j++) A[r][j] -= f * A[i][j];
                }
            double w[D];
            for (int i = D - 1; i >= 0; i--) {
                double v = A[i][D];
                for (int j = i + 1; j < D; j++) v -= A[i][j] * w[j];
                w[i] = v / A[i][i];
            }
            double r2 = 0, y2 = 0;
            for (int t = 0; t < K; t++) {
                double p = 0;
                for (int j = 0; j < D; j++) p += w[j] * x[t * DM + j];
                r2 += (p - y[t]) * (p - y[t]);
                y2 += (double)y[t] * y[t];
            }
            if (pass) {
                resid_lt += r2 / y2;
                ss += y2 / K;
            } else {
                resid_ll += r2 / y2;
            }
        }
    }
    CHECKF(resid_ll / T < 1e-8, "linear+linear residual share %.3g", resid_ll / T);
    CHECKF(resid_lt / T > 0.1, "linear+tree residual share %.3g", resid_lt / T);
    CHECKF(fabs(ss / T / D - 1) < 0.15, "linear+tree E[y^2]/d = %.3f", ss / T / D);
    /* augmentations are refused; alpha out of range is refused */
    c.noise_prob = 0.5;
    CHECK(ef_prior_sample_combo(&c, EF_PRIOR_LINEAR, EF_PRIOR_TREE, 0.5, 9, 0, D, K, x, y, NULL, NULL, &err) == EF_ERR_INVALID);
    c.noise_prob = 0;
    CHECK(ef_prior_sample_combo(&c, EF_PRIOR_LINEAR, EF_PRIOR_TREE, 1.5, 9, 0, D, K, x, y, NULL, NULL, &err) == EF_ERR_INVALID);
}

int main(void) {
    test_combo();
    test_alloc_failures();
    test_quantize();
    test_noise_mask_permute();
    test_random_d_and_unit();
    test_errors();
    test_determinism();
    TEST_MAIN_END;
}
