/* The in-context regressor (include/eraformer/icl.h) with the shipped models/linear-d10.st:
 * on noisy linear data it beats predicting the mean by far and comes near ridge; missing
 * values, tables wider (subsets, projections) and narrower than the model's d_max, a constant
 * target; the same bits for 1 and 2 threads (every region parallel, a second thread checked to
 * have worked) and the caller's thread setting untouched; the same seed gives the same
 * predictions; bad shapes and options are refused with messages. */
#include <math.h>
#include <string.h>
#include "eraformer/icl.h"
#include "par_util.h"
#include "test.h"

#define MODEL EF_SOURCE_DIR "/models/linear-d10.st"

typedef struct table {
    int n, m, d;
    float *X, *y, *Xt, *yt;
} table;

/* y = w.x + noise (sd noise_sd) with x ~ N(0, 1) * scale + shift per column (raw, unscaled
 * columns: the regressor must scale them) */
static void make_linear(table *t, int n, int m, int d, double noise_sd, uint64_t seed) {
    t->n = n;
    t->m = m;
    t->d = d;
    t->X = ef_malloc((size_t)n * d * 4);
    t->y = ef_malloc((size_t)n * 4);
    t->Xt = ef_malloc((size_t)m * d * 4);
    t->yt = ef_malloc((size_t)m * 4);
    ef_rng r;
    ef_rng_init(&r, seed, 1);
    double w[256], sc[256], sh[256];
    for (int j = 0; j < d; j++) {
        w[j] = ef_rng_normal(&r);
        sc[j] = exp(2.0 * ef_rng_normal(&r));
        sh[j] = 10.0 * ef_rng_normal(&r);
    }
    for (int i = 0; i < n + m; i++) {
        float *x = i < n ? t->X + (size_t)i * d : t->Xt + (size_t)(i - n) * d;
        double s = 0;
        for (int j = 0; j < d; j++) {
            double z = ef_rng_normal(&r);
            x[j] = (float)(z * sc[j] + sh[j]);
            s += w[j] * z;
        }
        float yv = (float)(100.0 + 7.0 * (s + noise_sd * ef_rng_normal(&r)));
        if (i < n) t->y[i] = yv;
        else t->yt[i - n] = yv;
    }
}

static void free_table(table *t) {
    ef_free(t->X); ef_free(t->y); ef_free(t->Xt); ef_free(t->yt);
}

static double r2(const float *p, const float *y, int m) {
    double mean = 0, ss = 0, se = 0;
    for (int i = 0; i < m; i++) mean += y[i];
    mean /= m;
    for (int i = 0; i < m; i++) {
        ss += (y[i] - mean) * (y[i] - mean);
        se += (y[i] - p[i]) * (y[i] - p[i]);
    }
    return 1.0 - se / ss;
}

/* ridge (alpha on standardised columns, intercept free) by the normal equations */
static double ridge_r2(const table *t, double alpha) {
    int d = t->d, n = t->n;
    double mu[64] = {0}, sd[64] = {0}, A[64][65] = {{0}}, ym = 0;
    for (int i = 0; i < n; i++) ym += t->y[i] / n;
    for (int j = 0; j < d; j++) {
        for (int i = 0; i < n; i++) mu[j] += t->X[(size_t)i * d + j] / n;
        for (int i = 0; i < n; i++) sd[j] += pow(t->X[(size_t)i * d + j] - mu[j], 2) / n;
        sd[j] = sqrt(sd[j]);
    }
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) {
            double za = (t->X[(size_t)i * d + a] - mu[a]) / sd[a];
            for (int b = 0; b < d; b++) A[a][b] += za * (t->X[(size_t)i * d + b] - mu[b]) / sd[b];
            A[a][d] += za * (t->y[i] - ym);
        }
    for (int a = 0; a < d; a++) A[a][a] += alpha;
    for (int c = 0; c < d; c++)   /* Gauss-Jordan, the system is positive definite */
        for (int a = 0; a < d; a++) {
            if (a == c) continue;
            double f = A[a][c] / A[c][c];
            for (int b = c; b <= d; b++) A[a][b] -= f * A[c][b];
        }
    float *p = ef_malloc((size_t)t->m * 4);
    for (int i = 0; i < t->m; i++) {
        double s = ym;
        for (int j = 0; j < d; j++) s += A[j][d] / A[j][j] * (t->Xt[(size_t)i * d + j] - mu[j]) / sd[j];
        p[i] = (float)s;
    }
    double v = r2(p, t->yt, t->m);
    ef_free(p);
    return v;
}

static double icl_r2(const table *t, const ef_icl_options *o, float *pred_out) {
    ef_icl_regressor *r;
    ef_error err = {0};
    double v = -INFINITY;
    float *p = pred_out ? pred_out : ef_malloc((size_t)t->m * 4);
    if (ef_icl_regressor_open(&r, MODEL, o, &err) != EF_OK) {
        CHECKF(0, "open: %s", err.msg);
        return v;
    }
    ef_status st = ef_icl_regressor_fit(r, t->X, t->y, t->n, t->d, 0, &err);
    if (st == EF_OK) st = ef_icl_regressor_predict(r, t->Xt, t->m, t->d, 0, p, &err);
    CHECKF(st == EF_OK, "fit/predict: %s", err.msg);
    if (st == EF_OK) v = r2(p, t->yt, t->m);
    int finite = 1;
    for (int i = 0; st == EF_OK && i < t->m; i++) finite &= isfinite(p[i]);
    CHECK(finite);
    ef_icl_regressor_destroy(r);
    if (!pred_out) ef_free(p);
    return v;
}

static void test_linear(void) {
    table t;
    make_linear(&t, 300, 300, 5, 1.0, 7);
    ef_icl_options o;
    ef_icl_options_init(&o);
    o.n_ensemble = 8;
    double ours = icl_r2(&t, &o, NULL), ridge = ridge_r2(&t, 1.0);
    o.scaling = EF_ICL_SCALE_RANKGAUSS;
    double rg = icl_r2(&t, &o, NULL);
    printf("linear d=5 n=300: icl %.4f, rank-gauss %.4f, ridge %.4f\n", ours, rg, ridge);
    CHECKF(ours > 0.6, "R2 %.4f: not clearly better than the mean (0)", ours);
    CHECKF(ours > ridge - 0.1, "R2 %.4f vs ridge %.4f", ours, ridge);
    CHECKF(rg > 0.5, "rank-gauss R2 %.4f", rg);
    /* missing values: 15 % of the cells of both tables */
    ef_rng r;
    ef_rng_init(&r, 3, 3);
    for (int i = 0; i < t.n * t.d; i++)
        if (ef_rng_uniform(&r) < 0.15) t.X[i] = NAN;
    for (int i = 0; i < t.m * t.d; i++)
        if (ef_rng_uniform(&r) < 0.15) t.Xt[i] = (i % 2) ? NAN : INFINITY;
    o.scaling = EF_ICL_SCALE_ROBUST;
    double nan_r2 = icl_r2(&t, &o, NULL);
    printf("with 15 %% missing: icl %.4f\n", nan_r2);
    CHECKF(nan_r2 > 0.3, "R2 with missing values %.4f", nan_r2);
    free_table(&t);
}

static void test_widths(void) {
    table t;
    ef_icl_options o;
    ef_icl_options_init(&o);
    make_linear(&t, 400, 300, 30, 0.5, 11);   /* wider than d_max = 10 */
    double sub = icl_r2(&t, &o, NULL);
    o.wide = EF_ICL_WIDE_PROJECT;
    double proj = icl_r2(&t, &o, NULL);
    printf("d=30 > d_max: subsets %.4f, projections %.4f, ridge %.4f\n", sub, proj, ridge_r2(&t, 1.0));
    CHECKF(sub > 0.1 && proj > 0.1, "wide table: subsets %.4f projections %.4f", sub, proj);
    free_table(&t);
    make_linear(&t, 100, 200, 1, 0.3, 12);     /* one column */
    o.wide = EF_ICL_WIDE_SUBSET;
    double one = icl_r2(&t, &o, NULL);
    printf("d=1: %.4f, ridge %.4f\n", one, ridge_r2(&t, 1.0));
    CHECKF(one > 0.6, "d = 1: R2 %.4f", one);
    /* a constant target is predicted exactly */
    for (int i = 0; i < t.n; i++) t.y[i] = 4.25f;
    float p[200];
    icl_r2(&t, &o, p);
    int exact = 1;
    for (int i = 0; i < t.m; i++) exact &= p[i] == 4.25f;
    CHECK(exact);
    free_table(&t);
}

/* 1 vs 2 threads bitwise (forced parallel regions), the caller's thread count restored, seeds */
static void test_determinism(void) {
    table t;
    make_linear(&t, 150, 700, 12, 0.5, 21);
    ef_icl_options o;
    ef_icl_options_init(&o);
    o.n_ensemble = 5;
    o.max_context = 64;
    ef_icl_regressor *r;
    ef_error err = {0};
    CHECK(ef_icl_regressor_open(&r, MODEL, &o, &err) == EF_OK);
    CHECK(ef_icl_regressor_fit(r, t.X, t.y, t.n, t.d, 1, &err) == EF_OK);
    CHECK(ef_icl_regressor_context_rows(r) == 64 && ef_icl_regressor_n_features(r) == 12);
    float *p1 = ef_malloc((size_t)t.m * 4), *p2 = ef_malloc((size_t)t.m * 4), *p3 = ef_malloc((size_t)t.m * 4);
    par_force();
    par_threads_set(3);
    int before = ef_threads_get();   /* 3, or 1 without OpenMP */
    long seen = ef_par_multi_count();
    CHECK(ef_icl_regressor_predict(r, t.Xt, t.m, t.d, 1, p1, &err) == EF_OK);
    par_ran(seen, 0, "icl predict, 1 thread");
    CHECK(ef_threads_get() == before);
    seen = ef_par_multi_count();
    CHECK(ef_icl_regressor_predict(r, t.Xt, t.m, t.d, 2, p2, &err) == EF_OK);
    par_ran(seen, 1, "icl predict, 2 threads");
    CHECK(ef_threads_get() == before);
    CHECK(memcmp(p1, p2, (size_t)t.m * 4) == 0);
    par_restore();
    par_threads_set(2);
    CHECK(ef_icl_regressor_predict(r, t.Xt, t.m, t.d, 0, p3, &err) == EF_OK);
    CHECK(memcmp(p1, p3, (size_t)t.m * 4) == 0);
    /* a row's prediction does not depend on the rows predicted with it */
    CHECK(ef_icl_regressor_predict(r, t.Xt + 5 * t.d, 7, t.d, 0, p3, &err) == EF_OK);
    CHECK(memcmp(p1 + 5, p3, 7 * 4) == 0);
    CHECK(ef_icl_regressor_predict(r, t.Xt + 600 * t.d, 100, t.d, 0, p3, &err) == EF_OK);
    CHECK(memcmp(p1 + 600, p3, 100 * 4) == 0);
    ef_icl_regressor_destroy(r);
    o.seed = 99;   /* another seed: other members */
    CHECK(ef_icl_regressor_open(&r, MODEL, &o, &err) == EF_OK);
    CHECK(ef_icl_regressor_fit(r, t.X, t.y, t.n, t.d, 0, &err) == EF_OK);
    CHECK(ef_icl_regressor_predict(r, t.Xt, t.m, t.d, 0, p3, &err) == EF_OK);
    CHECK(memcmp(p1, p3, (size_t)t.m * 4) != 0);
    ef_icl_regressor_destroy(r);
    ef_free(p1); ef_free(p2); ef_free(p3);
    free_table(&t);
}

#define CHECK_ERR(expr, code, needle)                                                         \
    do {                                                                                      \
        ef_error e2 = {0};                                                                    \
        ef_status s2 = (expr);                                                                \
        CHECKF(s2 == (code) && strstr(e2.msg, needle), "%s -> %d '%s'", #expr, (int)s2, e2.msg); \
    } while (0)

static void test_errors(void) {
    ef_icl_regressor *r = NULL;
    ef_error err = {0};
    ef_icl_options o;
    ef_icl_options_init(&o);
    float X[6] = {1, 2, 3, 4, 5, 6}, y[3] = {1, 2, 3}, p[3];
    o.n_ensemble = 0;
    CHECK_ERR(ef_icl_regressor_open(&r, MODEL, &o, &e2), EF_ERR_INVALID, "n_ensemble");
    CHECK(r == NULL);
    ef_icl_options_init(&o);
    o.target_scale = -1;
    CHECK_ERR(ef_icl_regressor_open(&r, MODEL, &o, &e2), EF_ERR_INVALID, "target_scale");
    CHECK_ERR(ef_icl_regressor_open(&r, "no/such/model.st", NULL, &e2), EF_ERR_IO, "no/such/model.st");
    CHECK_ERR(ef_icl_regressor_open(&r, EF_SOURCE_DIR "/models/mixture-d10.st", NULL, &e2), EF_ERR_INVALID,
              "row positions");
    ef_model_config cfg = {EF_LAYOUT_INTERLEAVED, 1, 16, 2, 4, 8, 0};
    ef_model *m;
    CHECK(ef_model_create(&m, &cfg, 1, 1, &err) == EF_OK);
    CHECK_ERR(ef_icl_regressor_create(&r, m, NULL, &e2), EF_ERR_INVALID, "interleaved");
    ef_model_destroy(m);
    CHECK(ef_icl_regressor_open(&r, MODEL, NULL, &err) == EF_OK);
    CHECK_ERR(ef_icl_regressor_predict(r, X, 3, 2, 0, p, &e2), EF_ERR_INVALID, "before a successful fit");
    CHECK_ERR(ef_icl_regressor_fit(r, X, y, 0, 2, 0, &e2), EF_ERR_INVALID, "at least one row");
    CHECK_ERR(ef_icl_regressor_fit(r, X, y, 3, 0, 0, &e2), EF_ERR_INVALID, "at least one row");
    CHECK_ERR(ef_icl_regressor_fit(r, NULL, y, 3, 2, 0, &e2), EF_ERR_INVALID, "NULL");
    y[1] = NAN;
    CHECK_ERR(ef_icl_regressor_fit(r, X, y, 3, 2, 0, &e2), EF_ERR_INVALID, "y[1]");
    CHECK(ef_icl_regressor_n_features(r) == 0);
    y[1] = 2;
    CHECK(ef_icl_regressor_fit(r, X, y, 3, 2, 0, &err) == EF_OK);
    CHECK_ERR(ef_icl_regressor_predict(r, X, 2, 3, 0, p, &e2), EF_ERR_INVALID, "fitted on 2");
    CHECK_ERR(ef_icl_regressor_predict(r, X, -1, 2, 0, p, &e2), EF_ERR_INVALID, "negative");
    CHECK_ERR(ef_icl_regressor_predict(r, NULL, 3, 2, 0, p, &e2), EF_ERR_INVALID, "NULL");
    CHECK(ef_icl_regressor_predict(r, X, 0, 2, 0, NULL, &err) == EF_OK);
    CHECK(ef_icl_regressor_predict(r, X, 3, 2, 0, p, &err) == EF_OK);
    CHECK(ef_icl_regressor_model_width(r) == 10 && ef_icl_regressor_model_points(r) == 21);
    ef_icl_regressor_destroy(r);
    ef_icl_regressor_destroy(NULL);
}

/* every allocation failing in turn: an error, never a crash or a leak */
static void test_alloc_failures(void) {
    table t;
    make_linear(&t, 40, 30, 12, 0.5, 5);
    ef_icl_options o;
    ef_icl_options_init(&o);
    o.n_ensemble = 3;
    o.wide = EF_ICL_WIDE_PROJECT;
    float p[30];
    int ok_at = 0;
    for (long k = 1; k < 400 && !ok_at; k++) {
        ef_icl_regressor *r = NULL;
        ef_error err = {0};
        ef_alloc_fail_after(k);
        ef_status st = ef_icl_regressor_open(&r, MODEL, &o, &err);
        if (st == EF_OK) st = ef_icl_regressor_fit(r, t.X, t.y, t.n, t.d, 0, &err);
        if (st == EF_OK) st = ef_icl_regressor_predict(r, t.Xt, t.m, t.d, 0, p, &err);
        ef_alloc_fail_after(0);
        ef_icl_regressor_destroy(r);
        if (st == EF_OK) ok_at = (int)k;
        else CHECKF(st == EF_ERR_NOMEM, "failing allocation %ld: status %d '%s'", k, (int)st, err.msg);
    }
    CHECKF(ok_at > 1, "fault injection never reached success");
    free_table(&t);
}

int main(void) {
    test_linear();
    test_widths();
    test_determinism();
    test_errors();
    test_alloc_failures();
    TEST_MAIN_END;
}
