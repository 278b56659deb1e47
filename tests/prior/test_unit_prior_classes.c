/* prior: statistics of every function class and x sampler (weights, trees, AR drift, regime
 * switches, LSTM, correlated / Numerai-like x) and the target-scale calibration. */
#include <lapacke.h>
#include <string.h>
#include "prior/prior_internal.h"
#include "test.h"

static double moments(const double *v, size_t n, double *var, double *kurt) {
    double m = 0, m2 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m /= n;
    for (size_t i = 0; i < n; i++) {
        double c = (v[i] - m) * (v[i] - m);
        m2 += c;
        m4 += c * c;
    }
    m2 /= n;
    m4 /= n;
    if (var) *var = m2;
    if (kurt) *kurt = m4 / (m2 * m2);
    return m;
}

static void test_weights(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    ef_rng r;
    ef_rng_init(&r, 1, 2);
    /* sparse: exactly s non-zeros, each coordinate equally likely */
    int hits[20] = {0}, all_exact = 1;
    double w[20];
    for (int t = 0; t < 20000; t++) {
        ef_prior_draw_weights(&c, EF_PRIOR_SPARSE, &r, 20, 3, w);
        int nz = 0;
        for (int j = 0; j < 20; j++)
            if (w[j] != 0.0) {
                nz++;
                hits[j]++;
            }
        all_exact &= nz == 3;
    }
    CHECK(all_exact);
    for (int j = 0; j < 20; j++) CHECK_NEAR(hits[j], 3000, 200, 0);
    ef_prior_draw_weights(&c, EF_PRIOR_SPARSE, &r, 2, 3, w);  /* s > d: all d */
    CHECK(w[0] != 0 && w[1] != 0);
    /* kurtosis: Gaussian 3, Laplace 6, elastic-net mixture (share 0.5) 4.5; variance 1 */
    enum { N = 400000 };
    double *v = malloc(N * sizeof *v), var, kurt;
    for (int i = 0; i < N; i += 20) ef_prior_draw_weights(&c, EF_PRIOR_LAPLACE, &r, 20, 0, v + i);
    CHECK_NEAR(moments(v, N, &var, &kurt), 0, 0.01, 0);
    CHECK_NEAR(var, 1.0, 0.02, 0);
    CHECK_NEAR(kurt, 6.0, 0.3, 0);
    for (int i = 0; i < N; i += 20) ef_prior_draw_weights(&c, EF_PRIOR_ELASTICNET, &r, 20, 0, v + i);
    moments(v, N, &var, &kurt);
    CHECK_NEAR(var, 1.0, 0.02, 0);
    CHECK_NEAR(kurt, 4.5, 0.25, 0);
    for (int i = 0; i < N; i += 20) ef_prior_draw_weights(&c, EF_PRIOR_LINEAR, &r, 20, 0, v + i);
    moments(v, N, &var, &kurt);
    CHECK_NEAR(var, 1.0, 0.02, 0);
    CHECK_NEAR(kurt, 3.0, 0.1, 0);
    free(v);
}

/* condition number of a symmetric (d, d) matrix by LAPACKE_dsyev */
static double sym_cond(const double *A, int d) {
    double *a = malloc((size_t)d * d * sizeof *a), ev[64];
    memcpy(a, A, (size_t)d * d * sizeof *a);
    int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', d, a, d, ev);
    free(a);
    return info == 0 ? ev[d - 1] / ev[0] : -1;
}

static void test_x_samplers(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.x_cond = 50;
    ef_rng r;
    ef_rng_init(&r, 3, 4);
    enum { K = 20000, D = 5 };
    double *X = malloc((size_t)K * D * sizeof *X), cov[D * D], emp[D * D], cond = 0;
    CHECK_OK(ef_prior_sample_x(&c, EF_PRIOR_X_CORRELATED, &r, K, D, X, cov, &cond, NULL));
    CHECK_NEAR(cond, 50, 1e-9, 1e-9);
    CHECK_NEAR(sym_cond(cov, D), 50, 0, 1e-6);
    double tr = 0;
    for (int i = 0; i < D; i++) tr += cov[i * D + i];
    CHECK_NEAR(tr, D, 1e-9, 0);
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double s = 0;
            for (int t = 0; t < K; t++) s += X[t * D + a] * X[t * D + b];
            emp[a * D + b] = s / K;
        }
    CHECK_NEAR(sym_cond(emp, D), 50, 0, 0.15);
    c.x_skewed = 1;  /* eigenvalues 1/i^2: condition d^2 */
    CHECK_OK(ef_prior_sample_x(&c, EF_PRIOR_X_CORRELATED, &r, 10, D, X, cov, &cond, NULL));
    CHECK_NEAR(sym_cond(cov, D), 25, 0, 1e-6);
    /* uniform: bounded, unit variance */
    CHECK_OK(ef_prior_sample_x(&c, EF_PRIOR_X_UNIFORM, &r, K, D, X, NULL, NULL, NULL));
    double mx = 0, var;
    for (int i = 0; i < K * D; i++) mx = fmax(mx, fabs(X[i]));
    moments(X, (size_t)K * D, &var, NULL);
    CHECK(mx <= sqrt(3.0));
    CHECK_NEAR(var, 1.0, 0.02, 0);
    /* Numerai-like: every column exactly 20 of each of the 5 levels, and correlated columns */
    enum { KN = 100, DN = 8 };
    double corr_sum = 0;
    int counts_ok = 1, pairs = 0;
    for (int task = 0; task < 50; task++) {
        CHECK_OK(ef_prior_sample_x(&c, EF_PRIOR_X_NUMERAI, &r, KN, DN, X, NULL, NULL, NULL));
        for (int j = 0; j < DN; j++) {
            int cnt[5] = {0};
            for (int t = 0; t < KN; t++) {
                double b = X[t * DN + j] * sqrt(2.0) + 2;
                int bi = (int)lround(b);
                if (fabs(b - bi) > 1e-12 || bi < 0 || bi > 4) counts_ok = 0;
                else cnt[bi]++;
            }
            for (int b = 0; b < 5; b++) counts_ok &= cnt[b] == 20;
        }
        for (int a = 0; a < DN; a++)
            for (int b = a + 1; b < DN; b++) {
                double s = 0;
                for (int t = 0; t < KN; t++) s += X[t * DN + a] * X[t * DN + b];
                corr_sum += fabs(s / KN);  /* unit variance columns */
                pairs++;
            }
    }
    CHECK(counts_ok);
    CHECKF(corr_sum / pairs > 0.12, "mean |corr| %g", corr_sum / pairs);
    /* Gaussian x columns are nearly uncorrelated by comparison */
    free(X);
}

static void test_trees(void) {
    ef_rng r;
    ef_rng_init(&r, 5, 6);
    ef_prior_tree t;
    CHECK_OK(ef_prior_tree_draw(&t, 4, &r, NULL, 0, 20, 0.0, NULL));
    CHECK(t.depth == 4);
    int seen[16] = {0}, in_range = 1, distinct = 0;
    double x[20];
    for (int i = 0; i < 5000; i++) {
        for (int j = 0; j < 20; j++) x[j] = ef_rng_normal(&r);
        int leaf = ef_prior_tree_leaf(&t, x);
        if (leaf < 0 || leaf >= 16) in_range = 0;
        else seen[leaf] = 1;
    }
    for (int i = 0; i < 16; i++) distinct += seen[i];
    CHECK(in_range);
    CHECKF(distinct >= 8 && distinct <= 16, "%d leaves reached", distinct);
    /* every threshold is 0 (Garg), leaves differ */
    int zero = 1;
    for (int i = 0; i < 15; i++) zero &= t.thresh[i] == 0.0 && t.coord[i] >= 0 && t.coord[i] < 20;
    CHECK(zero);
    ef_prior_tree_free(&t);
    /* class tree on a task: at most 2^D distinct targets */
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.tree_depth = 3;
    enum { K = 400, D = 4 };
    double *X = malloc(K * D * sizeof *X), y[K];
    CHECK_OK(ef_prior_sample_x(&c, EF_PRIOR_X_GAUSSIAN, &r, K, D, X, NULL, NULL, NULL));
    CHECK_OK(ef_prior_eval_static(&c, EF_PRIOR_TREE, &r, X, K, D, 0, y, NULL));
    int nd = 0;
    double vals[K];
    for (int i = 0; i < K; i++) {
        int found = 0;
        for (int j = 0; j < nd; j++) found |= vals[j] == y[i];
        if (!found) vals[nd++] = y[i];
    }
    CHECK(nd >= 2 && nd <= 8);
    /* quantile thresholds are values of the split coordinate */
    CHECK_OK(ef_prior_tree_draw(&t, 3, &r, X, K, D, 1.0, NULL));
    int isval = 1;
    for (int i = 0; i < 7; i++) {
        int f = 0;
        for (int s = 0; s < K; s++) f |= X[s * D + t.coord[i]] == t.thresh[i];
        isval &= f;
    }
    CHECK(isval);
    ef_prior_tree_free(&t);
    CHECK(ef_prior_tree_draw(&t, 0, &r, NULL, 0, 3, 0, NULL) == EF_ERR_INVALID);
    free(X);
}

static void test_timeseries(void) {
    ef_rng r;
    ef_rng_init(&r, 7, 8);
    enum { K = 20000, D = 3 };
    double *W = malloc((size_t)K * D * sizeof *W);
    /* AR(1) drift: lag-1 autocorrelation phi, stationary unit variance */
    ef_prior_drift_path(&r, K, D, 0.9, W);
    for (int j = 0; j < D; j++) {
        double s0 = 0, s1 = 0;
        for (int t = 0; t < K; t++) s0 += W[t * D + j] * W[t * D + j];
        for (int t = 1; t < K; t++) s1 += W[t * D + j] * W[(t - 1) * D + j];
        CHECK_NEAR(s1 / s0, 0.9, 0.015, 0);
        CHECK_NEAR(s0 / K, 1.0, 0.1, 0);
    }
    /* regime: weights constant between change points, count matches, jumps have E|dw|^2 = 2D */
    int n = ef_prior_regime_path(&r, K, D, 0.05, W);
    int changes = 0;
    double jump2 = 0;
    for (int t = 1; t < K; t++) {
        double dd = 0;
        for (int j = 0; j < D; j++) dd += (W[t * D + j] - W[(t - 1) * D + j]) * (W[t * D + j] - W[(t - 1) * D + j]);
        if (dd > 0) {
            changes++;
            jump2 += dd;
        }
    }
    CHECK(changes == n);
    CHECK_NEAR(n, 0.05 * K, 4 * sqrt(0.05 * K), 0);
    CHECK_NEAR(jump2 / n, 2.0 * D, 0.7, 0);  /* sd of the mean ~0.16 */
    free(W);
    /* tasks report phi / switches */
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.regime_rate = 0.2;
    double X[200 * 4], y[200];
    ef_task_info info;
    memset(&info, 0, sizeof info);
    CHECK_OK(ef_prior_sample_x(&c, EF_PRIOR_X_GAUSSIAN, &r, 200, 4, X, NULL, NULL, NULL));
    CHECK_OK(ef_prior_eval_timeseries(&c, EF_PRIOR_DRIFT, &r, X, 200, 4, y, &info, NULL));
    CHECK(info.phi >= 0.9 && info.phi <= 0.99);
    CHECK_OK(ef_prior_eval_timeseries(&c, EF_PRIOR_REGIME, &r, X, 200, 4, y, &info, NULL));
    CHECK(info.n_switches > 10 && info.n_switches < 80);
    /* LSTM: standardised, and it has memory: identical inputs give changing outputs */
    CHECK_OK(ef_prior_eval_timeseries(&c, EF_PRIOR_LSTM, &r, X, 200, 4, y, &info, NULL));
    double var;
    CHECK_NEAR(moments(y, 200, &var, NULL), 0, 1e-9, 0);
    CHECK_NEAR(var, 1.0, 1e-9, 0);
    for (int t = 1; t < 200; t++) memcpy(X + t * 4, X, 4 * sizeof *X);
    CHECK_OK(ef_prior_eval_timeseries(&c, EF_PRIOR_LSTM, &r, X, 200, 4, y, &info, NULL));
    CHECK(y[0] != y[1]);
    CHECK(ef_prior_eval_timeseries(&c, EF_PRIOR_TREE, &r, X, 200, 4, y, &info, NULL) == EF_ERR_INVALID);
}

/* E[y^2] of every class at the Garg scale matches ef_prior_error_scale; unit scale gives 1 */
static void test_scale_calibration(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = 10;
    c.penalized_collinear = 0;  /* the scale is defined for x ~ N(0, I) */
    enum { B = 300, K = 40, D = 10 };
    float *x = malloc((size_t)B * K * D * sizeof *x), *y = malloc((size_t)B * K * sizeof *y);
    ef_task_info *info = malloc(B * sizeof *info);
    for (int cls = 0; cls < EF_PRIOR_CLASS_COUNT; cls++) {
        for (int norm = 0; norm < 2; norm++) {
            memset(c.class_weights, 0, sizeof c.class_weights);
            c.class_weights[cls] = 1;
            c.target_norm = norm ? EF_PRIOR_TARGET_UNIT : EF_PRIOR_TARGET_GARG;
            ef_error e = {0};
            CHECK_OK(ef_prior_sample_batch(&c, 11, 0, B, D, K, x, y, NULL, info, &e));
            double s = 0, se = 0;
            int finite = 1;
            for (int i = 0; i < B * K; i++) {
                finite &= isfinite(y[i]);
                s += (double)y[i] * y[i] / info[i / K].err_scale;
                se += info[i / K].err_scale;
            }
            s /= B * K;
            CHECK(finite && info[0].cls == (ef_prior_class)cls);
            double tol = cls == EF_PRIOR_QUADRATIC || cls == EF_PRIOR_RELU ? 0.3 : 0.15;
            CHECKF(fabs(s - 1.0) < tol, "%s (%s): E[y^2]/err_scale = %g",
                   ef_prior_class_name((ef_prior_class)cls), norm ? "unit" : "garg", s);
            double S = ef_prior_error_scale((ef_prior_class)cls, D, info[0].s);
            CHECK_NEAR(se / (B * K), norm ? 1.0 : S, 1e-12, 0);
        }
    }
    free(x);
    free(y);
    free(info);
}

int main(void) {
    test_weights();
    test_x_samplers();
    test_trees();
    test_timeseries();
    test_scale_calibration();
    TEST_MAIN_END;
}
