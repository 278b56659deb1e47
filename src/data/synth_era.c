/* Synthetic Numerai-like data: generating one era (rows, ids, features, targets) from the
 * world drawn in synth.c. See docs/synth.md for the story and its parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"
#include "data/synth_internal.h"

/* Signal-to-noise of the targets: corr(raw target, standardized signal). */
#define SYN_R20 0.10
#define SYN_R60 0.08
#define AUX_JASPER 4
#define SYN_SQRT_2_PI 0.7978845608028654

const double EF_SYNTH_FEATURE_Q[4] = {0.2, 0.4, 0.6, 0.8};
const double EF_SYNTH_TARGET_Q[4] = {0.05, 0.25, 0.75, 0.95};
#define FEATURE_Q EF_SYNTH_FEATURE_Q
#define TARGET_Q EF_SYNTH_TARGET_Q

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void ef_synth_standardize(double *v, size_t n) {
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    double sd = sqrt(ss / (double)n);
    if (sd <= 0) sd = 1;
    for (size_t i = 0; i < n; i++) v[i] = (v[i] - m) / sd;
}

static void era_name(const ef_synth *s, int e, char *buf, size_t n) {
    if (e >= s->c.eras_train + s->c.eras_validation) snprintf(buf, n, "X");
    else snprintf(buf, n, "%04d", e + 1);
}

/* NaN rules: live has no targets; the newest validation eras are unresolved (4 eras for the
 * 20-day targets, 12 for the 60-day ones); jasper has no history in the first quarter of
 * train; agnes and teager2b miss 2% of rows at random. */
int ef_synth_target_missing(const ef_synth *s, int e, int a, int h60, ef_rng *r) {
    int Et = s->c.eras_train, Ev = s->c.eras_validation;
    if (e >= Et + Ev) return 1;
    int from_end = Et + Ev - e;   /* 1 = newest validation era */
    if (e >= Et && from_end <= (h60 ? EF_MIN(12, Ev) : EF_MIN(4, Ev))) return 1;
    if (a == AUX_JASPER && e < Et / 4) return 1;
    if ((a == 0 || a == 5) && ef_rng_uniform(r) < 0.02) return 1;
    return 0;
}

static ef_status make_targets(const ef_synth *s, int e, const double *Z, size_t n, ef_dataset *ds,
                              ef_error *err) {
    size_t M = (size_t)s->M, T = (size_t)s->T, NA = SYN_N_AUX;
    double *sig = ef_malloc(n * sizeof(double));
    double *raw = ef_malloc(n * 2 * NA * sizeof(double));
    double *scratch = ef_malloc(n * sizeof(double));
    int8_t *lvl = ef_malloc(n);
    if (!sig || !raw || !scratch || !lvl) {
        ef_free(sig); ef_free(raw); ef_free(scratch); ef_free(lvl);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    const float *beta = s->beta + (size_t)e * M;
    for (size_t i = 0; i < n; i++) {
        const double *z = Z + i * M;
        double v = 0;
        for (size_t m = 0; m < M; m++) v += beta[m] * z[m];
        v += s->gamma[e] * z[s->ia] * z[s->ib];
        v += s->delta[e] * (fabs(z[s->ic]) - SYN_SQRT_2_PI);
        sig[i] = v;
    }
    ef_synth_standardize(sig, n);
    ef_rng r;
    ef_rng_init(&r, s->c.seed, (uint64_t)e * SYN_STREAMS + SYN_STREAM_TARGET);
    for (size_t i = 0; i < n; i++) {
        const double *z = Z + i * M;
        double common = ef_rng_normal(&r);
        for (size_t a = 0; a < NA; a++) {
            double o = 0;
            for (size_t m = 0; m < M; m++) o += s->aux_w[a][m] * z[m];
            double rho = s->aux_rho[a], c = s->aux_noise_c[a];
            double sa = rho * sig[i] + sqrt(1 - rho * rho) * o;
            double n20 = c * common + sqrt(1 - c * c) * ef_rng_normal(&r);
            double s60 = 0.8 * sa + 0.6 * z[(a + 2) % SYN_K];
            double n60 = 0.6 * n20 + 0.8 * ef_rng_normal(&r);
            raw[i * 2 * NA + 2 * a] = SYN_R20 * sa + sqrt(1 - SYN_R20 * SYN_R20) * n20;
            raw[i * 2 * NA + 2 * a + 1] = SYN_R60 * s60 + sqrt(1 - SYN_R60 * SYN_R60) * n60;
        }
    }
    ef_rng rn;
    ef_rng_init(&rn, s->c.seed, (uint64_t)e * SYN_STREAMS + SYN_STREAM_TARGET + 4);
    for (size_t t = 0; t < 2 * NA; t++) {
        ef_synth_bin(raw + t, n, 2 * NA, TARGET_Q, 4, scratch, lvl, 1);
        int a = (int)t / 2, h60 = (int)t % 2;
        for (size_t i = 0; i < n; i++)
            ds->y[i * T + t] = ef_synth_target_missing(s, e, a, h60, &rn) ? NAN : 0.25f * (float)lvl[i];
    }
    /* target == target_ender_20 (as in v5.2) */
    for (size_t i = 0; i < n; i++) ds->y[i * T + T - 1] = ds->y[i * T + 2 * 3];
    ef_free(sig);
    ef_free(raw);
    ef_free(scratch);
    ef_free(lvl);
    return EF_OK;
}

static ef_status make_features(const ef_synth *s, int e, const double *Z, size_t n, ef_dataset *ds,
                               ef_error *err) {
    size_t M = (size_t)s->M, F = (size_t)s->F;
    double *v = ef_malloc(n * sizeof(double));
    double *scratch = ef_malloc(n * sizeof(double));
    if (!v || !scratch) {
        ef_free(v);
        ef_free(scratch);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    /* levels of a block of features, column-major, then transposed into the row-major
     * matrix in one pass (strided single-byte writes would touch a cache line each) */
    enum { BLOCK = 64 };
    int8_t *lv = ef_malloc(n * BLOCK);
    if (!lv) {
        ef_free(v);
        ef_free(scratch);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    ef_rng r;
    ef_rng_init(&r, s->c.seed, (uint64_t)e * SYN_STREAMS + SYN_STREAM_FEATURE);
    for (size_t j0 = 0; j0 < F; j0 += BLOCK) {
        size_t nb = EF_MIN((size_t)BLOCK, F - j0);
        for (size_t b = 0; b < nb; b++) {
            size_t j = j0 + b;
            const syn_feature *f = &s->feat[j];
            if (s->missing[(size_t)e * F + j]) {
                memset(lv + b * n, 2, n);
                continue;
            }
            for (size_t i = 0; i < n; i++) {
                const double *z = Z + i * M;
                double a = f->kind == SYN_ABS ? fabs(z[f->p1]) : z[f->p1];
                v[i] = f->l1 * a + f->l2 * z[f->p2] + f->noise * ef_rng_normal(&r);
            }
            ef_synth_bin(v, n, 1, FEATURE_Q, 4, scratch, lv + b * n, 1);
        }
        ef_synth_put_levels(ds->X, F, j0, lv, n, nb);
    }
    ef_free(lv);
    ef_free(v);
    ef_free(scratch);
    return EF_OK;
}

static ef_status make_ids(const ef_synth *s, int e, size_t n, ef_data_builder *b, ef_error *err) {
    uint64_t *u = ef_malloc(n * sizeof *u);
    if (!u) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    ef_rng r;
    ef_rng_init(&r, s->c.seed, (uint64_t)e * SYN_STREAMS + SYN_STREAM_ID);
    for (size_t i = 0; i < n; i++) u[i] = ef_rng_u64(&r) >> 4;   /* 60 bits: 15 hex digits */
    qsort(u, n, sizeof *u, cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (u[i] <= u[i - 1]) u[i] = u[i - 1] + 1;   /* unique (collisions are ~never) */
    ef_status st = EF_OK;
    for (size_t i = 0; i < n && !st; i++) {
        char id[20];
        snprintf(id, sizeof id, "n%015llx", (unsigned long long)(u[i] & 0xfffffffffffffffULL));
        st = ef_data_builder_id(b, (int64_t)i, id, 16, err);
    }
    ef_free(u);
    return st;
}

static ef_status era_impl(const ef_synth *s, int e, ef_dataset *out, uint64_t *stock, ef_error *err) {
    ef_dataset_free(out);
    EF_CHECK(e >= 0 && e < s->n_eras, err, EF_ERR_INVALID, "synth: era %d out of range [0, %d)",
             e, s->n_eras);
    size_t n = (size_t)s->rows[e], M = (size_t)s->M;
    ef_data_builder b;
    EF_TRY(ef_data_builder_init(&b, out, s->F, s->fnames, s->T, s->tnames, err));
    double *Z = NULL;
    ef_status st = ef_data_builder_reserve(&b, (int64_t)n, err);
    if (!st && s->zoo) {
        st = ef_synth_zoo_era(s, e, out, &b, stock, err);
    } else {
        if (!st && !(Z = ef_malloc(n * M * sizeof(double)))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        if (!st) {
            ef_rng r;
            ef_rng_init(&r, s->c.seed, (uint64_t)e * SYN_STREAMS + SYN_STREAM_LATENT);
            for (size_t i = 0; i < n * M; i++) Z[i] = ef_rng_normal(&r);
            st = make_targets(s, e, Z, n, out, err);
        }
        if (!st) st = make_features(s, e, Z, n, out, err);
        if (!st) st = make_ids(s, e, n, &b, err);
    }
    if (!st) {
        char nm[EF_ERA_NAME_MAX];
        era_name(s, e, nm, sizeof nm);
        int ei = ef_data_builder_era(&b, nm, strlen(nm));
        if (ei < 0) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        ef_data_type dt = e < s->c.eras_train ? EF_DT_TRAIN
                          : e < s->c.eras_train + s->c.eras_validation ? EF_DT_VALIDATION : EF_DT_LIVE;
        for (size_t i = 0; i < n && !st; i++) {
            out->row_era[i] = ei;
            out->row_type[i] = (uint8_t)dt;
        }
        out->n_rows = (int64_t)n;
    }
    if (!st) st = ef_dataset_finish(out, err);
    ef_free(Z);
    if (st) ef_dataset_free(out);
    return st;
}

ef_status ef_synth_era(const ef_synth *s, int e, ef_dataset *out, ef_error *err) {
    return era_impl(s, e, out, NULL, err);
}

ef_status ef_synth_era_stocks(const ef_synth *s, int e, ef_dataset *out, uint64_t **stock,
                              ef_error *err) {
    *stock = NULL;
    EF_CHECK(s->zoo != NULL, err, EF_ERR_INVALID, "synth: the factor generator has no stocks");
    EF_CHECK(e >= 0 && e < s->n_eras, err, EF_ERR_INVALID, "synth: era %d out of range [0, %d)",
             e, s->n_eras);
    uint64_t *st = ef_malloc((size_t)s->rows[e] * sizeof *st);
    if (!st) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    ef_status rc = era_impl(s, e, out, st, err);
    if (rc) ef_free(st);
    else *stock = st;
    return rc;
}
