/* prior baselines on known answers: least squares recovers w, ridge matches its closed form,
 * lasso finds the support, elastic net with l1_ratio 0 is ridge, 3-NN / averaging / CART on
 * constructed cases, the NN fits, RLS and Kalman track drifting weights better than LS and
 * reduce to ridge in the static limit, XGBoost fits a step, and the prefix protocol is causal. */
#include <string.h>
#include "prior/prior_internal.h"
#include "test.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static void fill_normal(ef_rng *r, float *a, int n) {
    for (int i = 0; i < n; i++) a[i] = (float)ef_rng_normal(r);
}

static void linear_data(ef_rng *r, int n, int d, const double *w, float *x, float *y, double noise) {
    fill_normal(r, x, n * d);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += x[i * d + j] * w[j];
        y[i] = (float)(s + noise * ef_rng_normal(r));
    }
}

/* solves the (d, d) system A z = b by Gaussian elimination with partial pivoting */
static void solve(double *A, double *b, int d) {
    for (int c = 0; c < d; c++) {
        int p = c;
        for (int i = c + 1; i < d; i++) if (fabs(A[i * d + c]) > fabs(A[p * d + c])) p = i;
        for (int j = 0; j < d; j++) { double t = A[c * d + j]; A[c * d + j] = A[p * d + j]; A[p * d + j] = t; }
        double t = b[c]; b[c] = b[p]; b[p] = t;
        for (int i = c + 1; i < d; i++) {
            double f = A[i * d + c] / A[c * d + c];
            for (int j = c; j < d; j++) A[i * d + j] -= f * A[c * d + j];
            b[i] -= f * b[c];
        }
    }
    for (int c = d - 1; c >= 0; c--) {
        for (int j = c + 1; j < d; j++) b[c] -= A[c * d + j] * b[j];
        b[c] /= A[c * d + c];
    }
}

static void test_linear(void) {
    ef_rng r;
    ef_rng_init(&r, 1, 1);
    enum { D = 8, N = 12 };
    double w[D], wh[D], X[N * D], Y[N];
    float x[N * D], y[N], q[D], p;
    for (int j = 0; j < D; j++) w[j] = ef_rng_normal(&r);
    linear_data(&r, N, D, w, x, y, 0.0);
    for (int i = 0; i < N * D; i++) X[i] = x[i];
    for (int i = 0; i < N; i++) Y[i] = y[i];
    /* least squares recovers w on noiseless data with n >= d (up to float rounding of y) */
    CHECK_OK(ef_bl_lstsq(X, Y, N, D, wh, NULL));
    for (int j = 0; j < D; j++) CHECK_NEAR(wh[j], w[j], 1e-5, 0);
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_LSTSQ);
    fill_normal(&r, q, D);
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, q, 1, 0, &p, NULL));
    double truth = 0;
    for (int j = 0; j < D; j++) truth += q[j] * w[j];
    CHECK_NEAR(p, truth, 1e-4, 1e-4);
    /* underdetermined: min-norm solution interpolates and equals the ridge limit */
    CHECK_OK(ef_bl_lstsq(X, Y, 5, D, wh, NULL));
    double wr[D];
    CHECK_OK(ef_bl_ridge(1e-9, X, Y, 5, D, wr, NULL));
    for (int j = 0; j < D; j++) CHECK_NEAR(wh[j], wr[j], 1e-6, 1e-6);
    for (int i = 0; i < 5; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) s += X[i * D + j] * wh[j];
        CHECK_NEAR(s, Y[i], 1e-9, 1e-9);
    }
    /* ridge = (X'X + a I)^-1 X'y */
    double A[D * D], rhs[D], alpha = 0.7;
    for (int a = 0; a < D; a++) {
        rhs[a] = 0;
        for (int c = 0; c < D; c++) A[a * D + c] = a == c ? alpha : 0;
        for (int i = 0; i < N; i++) {
            rhs[a] += X[i * D + a] * Y[i];
            for (int c = 0; c < D; c++) A[a * D + c] += X[i * D + a] * X[i * D + c];
        }
    }
    solve(A, rhs, D);
    CHECK_OK(ef_bl_ridge(alpha, X, Y, N, D, wr, NULL));
    for (int j = 0; j < D; j++) CHECK_NEAR(wr[j], rhs[j], 1e-10, 1e-9);
    /* elastic net with l1_ratio 0 is ridge with alpha_ridge = n alpha */
    ef_baseline_init(&b, EF_BASELINE_ELASTICNET);
    b.l1_ratio = 0;
    b.alphas[0] = alpha / N;
    b.cd_tol = 1e-12;
    b.cd_max_iter = 100000;
    CHECK_OK(ef_bl_enet(&b, 0.0, X, Y, N, D, wh, NULL));
    for (int j = 0; j < D; j++) CHECK_NEAR(wh[j], rhs[j], 1e-7, 1e-6);
    /* averaging: w = (1/n) sum x_i y_i */
    ef_baseline_init(&b, EF_BASELINE_AVERAGING);
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, q, 1, 0, &p, NULL));
    double avg = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) avg += X[i * D + j] * Y[i] * q[j] / N;
    CHECK_NEAR(p, avg, 1e-5, 1e-5);
}

/* ridge with alpha = 0 is min-norm least squares, also when n < d (singular normal equations) */
static void test_ridge_zero_alpha_underdetermined(void) {
    enum { N = 8, D = 10 };  /* icl-eval's case: 8 examples of a 10-dim task */
    int bad = 0;
    for (uint64_t seed = 0; seed < 40; seed++) {
        float x[N * D], y[N], q[3 * D], p1[3], p2[3];
        ef_rng r;
        ef_rng_init(&r, 77, seed);
        for (int i = 0; i < N * D; i++) x[i] = (float)ef_rng_normal(&r);
        for (int i = 0; i < N; i++) y[i] = (float)ef_rng_normal(&r);
        for (int i = 0; i < 3 * D; i++) q[i] = (float)ef_rng_normal(&r);
        ef_baseline ls, rd;
        ef_baseline_init(&ls, EF_BASELINE_LSTSQ);
        ef_baseline_init(&rd, EF_BASELINE_RIDGE);
        rd.ridge_alpha = 0.0;
        CHECK_OK(ef_baseline_fit_predict(&ls, x, y, N, D, D, q, 3, 0, p1, NULL));
        CHECK_OK(ef_baseline_fit_predict(&rd, x, y, N, D, D, q, 3, 0, p2, NULL));
        for (int i = 0; i < 3; i++) bad += fabs(p2[i] - p1[i]) > 1e-5 * (1 + fabs(p1[i]));
    }
    CHECKF(bad == 0, "ridge(alpha=0) differs from min-norm least squares on %d of 120 predictions", bad);
}

static void test_lasso(void) {
    ef_rng r;
    ef_rng_init(&r, 2, 2);
    enum { D = 20, N = 40 };
    double w[D] = {0}, wh[D], X[N * D], Y[N];
    float x[N * D], y[N];
    w[3] = 1.5;
    w[11] = -1.0;
    w[17] = 0.8;
    linear_data(&r, N, D, w, x, y, 0.05);
    for (int i = 0; i < N * D; i++) X[i] = x[i];
    for (int i = 0; i < N; i++) Y[i] = y[i];
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_LASSO);
    CHECK(b.l1_ratio == 1.0 && b.n_alphas == 1 && b.alphas[0] == 0.01);
    b.alphas[0] = 0.05;
    CHECK_OK(ef_bl_enet(&b, 1.0, X, Y, N, D, wh, NULL));
    int support_ok = 1;
    for (int j = 0; j < D; j++) {
        int in = j == 3 || j == 11 || j == 17;
        support_ok &= in ? fabs(wh[j]) > 0.5 : wh[j] == 0.0;
    }
    CHECK(support_ok);
    /* the CV grid picks a small alpha over a huge one that zeroes everything */
    b.n_alphas = 3;
    b.alphas[0] = 10.0;
    b.alphas[1] = 0.05;
    b.alphas[2] = 0.01;
    CHECK_OK(ef_bl_enet(&b, 1.0, X, Y, N, D, wh, NULL));
    CHECK(fabs(wh[3] - 1.5) < 0.2 && fabs(wh[11] + 1.0) < 0.2);
    b.cv_folds = 1000;  /* leave-one-out */
    CHECK_OK(ef_bl_enet(&b, 1.0, X, Y, N, D, wh, NULL));
    CHECK(fabs(wh[3] - 1.5) < 0.2);
}

static void test_knn_cart(void) {
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_KNN);
    float x[] = {0, 1, 2, 3, 10}, y[] = {0, 1, 2, 3, 10}, q[] = {1.2f, 9.0f, 2.5f}, p[3];
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, 5, 1, 1, q, 3, 0, p, NULL));
    CHECK_NEAR(p[0], 1.0, 1e-6, 0);         /* 1, 2, 0 */
    CHECK_NEAR(p[1], (10 + 3 + 2) / 3.0, 1e-6, 0);
    CHECK_NEAR(p[2], 2.0, 1e-6, 0);         /* 2, 3 at 0.5, then 1 (before 4? no: |1-2.5|=1.5) */
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, 2, 1, 1, q, 1, 0, p, NULL));  /* fewer than 3 */
    CHECK_NEAR(p[0], 0.5, 1e-6, 0);
    /* CART depth 1 on a step along coordinate 2 of 3 */
    ef_rng r;
    ef_rng_init(&r, 3, 3);
    enum { N = 60, D = 3 };
    float xs[N * D], ys[N], qs[2 * D] = {0.9f, -0.9f, 0.25f, -0.9f, 0.9f, 0.35f}, ps[2];
    for (int i = 0; i < N * D; i++) xs[i] = (float)ef_rng_uniform(&r);
    for (int i = 0; i < N; i++) ys[i] = xs[i * D + 2] > 0.3f ? 2.0f : -1.0f;
    ef_baseline_init(&b, EF_BASELINE_CART);
    b.tree_depth = 1;
    CHECK_OK(ef_baseline_fit_predict(&b, xs, ys, N, D, D, qs, 2, 0, ps, NULL));
    CHECK(ps[0] == -1.0f && ps[1] == 2.0f);
    double X[N * D], Y[N], Xq[2 * D], pd[2];
    for (int i = 0; i < N * D; i++) X[i] = xs[i];
    for (int i = 0; i < N; i++) Y[i] = ys[i];
    for (int i = 0; i < 2 * D; i++) Xq[i] = qs[i];
    CHECK_OK(ef_bl_cart(&b, X, Y, N, D, Xq, 2, pd, NULL));
    CHECK(pd[0] == -1.0 && pd[1] == 2.0);
    /* depth 2 fits an AND of two steps exactly; depth 0 is the mean */
    for (int i = 0; i < N; i++) Y[i] = (X[i * D] > 0.5 && X[i * D + 1] > 0.5) ? 1.0 : 0.0;
    b.tree_depth = 2;
    double P[N], mean = 0;
    CHECK_OK(ef_bl_cart(&b, X, Y, N, D, X, N, P, NULL));
    int exact = 1;
    for (int i = 0; i < N; i++) exact &= P[i] == Y[i];
    CHECK(exact);
    b.tree_depth = 0;
    CHECK_OK(ef_bl_cart(&b, X, Y, N, D, X, 1, P, NULL));
    for (int i = 0; i < N; i++) mean += Y[i] / N;
    CHECK_NEAR(P[0], mean, 1e-12, 0);
}

static void test_nn(void) {
    ef_rng r;
    ef_rng_init(&r, 4, 4);
    enum { N = 50, D = 2 };
    float x[N * D], y[N], p1[N], p2[N];
    double w[D] = {1.0, -2.0};
    linear_data(&r, N, D, w, x, y, 0.0);
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_NN);
    b.nn_steps = 300;
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, x, N, 7, p1, NULL));
    double mse = 0, var = 0;
    for (int i = 0; i < N; i++) {
        mse += (p1[i] - y[i]) * (p1[i] - y[i]) / N;
        var += y[i] * y[i] / N;
    }
    CHECKF(mse < 0.02 * var, "nn train mse %g, var %g", mse, var);
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, x, N, 7, p2, NULL));
    CHECK(memcmp(p1, p2, sizeof p1) == 0);
    b.nn_batch = 10;  /* minibatches */
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, x, N, 7, p2, NULL));
    CHECK(memcmp(p1, p2, sizeof p1) != 0);
}

static void test_online(void) {
    ef_rng r;
    ef_rng_init(&r, 5, 5);
    enum { K = 300, D = 3 };
    static double W[K * D];
    float x[K * D], y[K], pl[K], prls[K], pk[K];
    ef_prior_drift_path(&r, K, D, 0.98, W);
    fill_normal(&r, x, K * D);
    for (int t = 0; t < K; t++) {
        double s = 0;
        for (int j = 0; j < D; j++) s += x[t * D + j] * W[t * D + j];
        y[t] = (float)(s + 0.05 * ef_rng_normal(&r));
    }
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_LSTSQ);
    CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, K, D, D, 0, pl, NULL));
    ef_baseline_init(&b, EF_BASELINE_RLS);
    b.rls_forget = 0.9;
    CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, K, D, D, 0, prls, NULL));
    ef_baseline_init(&b, EF_BASELINE_KALMAN);
    b.kalman_phi = 0.98;
    b.kalman_q = 1 - 0.98 * 0.98;
    b.kalman_r = 0.05 * 0.05;
    CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, K, D, D, 0, pk, NULL));
    double el = 0, er = 0, ek = 0;
    for (int t = 50; t < K; t++) {
        el += (pl[t] - y[t]) * (pl[t] - y[t]);
        er += (prls[t] - y[t]) * (prls[t] - y[t]);
        ek += (pk[t] - y[t]) * (pk[t] - y[t]);
    }
    CHECKF(er < 0.5 * el, "rls %g vs ls %g", er, el);
    CHECKF(ek < er, "kalman %g vs rls %g", ek, er);
    CHECK(pl[0] == 0.0f && prls[0] == 0.0f && pk[0] == 0.0f);
    /* static limits: RLS (forget 1, P0 = I/delta) and Kalman (phi 1, q 0) are ridge */
    float pr[K];
    ef_baseline_init(&b, EF_BASELINE_RIDGE);
    b.ridge_alpha = 2.0;
    CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, 40, D, D, 0, pr, NULL));
    ef_baseline_init(&b, EF_BASELINE_RLS);
    b.rls_forget = 1.0;
    b.rls_delta = 2.0;
    CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, 40, D, D, 0, prls, NULL));
    ef_baseline_init(&b, EF_BASELINE_KALMAN);
    b.kalman_phi = 1.0;
    b.kalman_q = 0.0;
    b.kalman_r = 2.0;
    CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, 40, D, D, 0, pk, NULL));
    for (int t = 0; t < 40; t++) {
        CHECK_NEAR(prls[t], pr[t], 1e-4, 1e-4);
        CHECK_NEAR(pk[t], pr[t], 1e-4, 1e-4);
    }
    /* fit_predict of an online method = its state after the context */
    float q1;
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, 39, D, D, x + 39 * D, 1, 0, &q1, NULL));
    CHECK_NEAR(q1, pk[39], 1e-6, 1e-6);
}

static void test_prefix_and_names(void) {
    ef_rng r;
    ef_rng_init(&r, 6, 6);
    enum { K = 12, D = 4, LD = 6 };
    float x[K * LD] = {0}, y[K], y2[K], p1[K], p2[K];
    for (int t = 0; t < K; t++)
        for (int j = 0; j < D; j++) x[t * LD + j] = (float)ef_rng_normal(&r);
    fill_normal(&r, y, K);
    memcpy(y2, y, sizeof y);
    y2[7] += 5.0f;  /* changes only predictions 8.. */
    const char *names[] = {"lstsq", "ridge", "lasso", "enet", "3nn", "averaging", "cart2", "cart4",
                           "nn", "rls", "kalman", "xgboost", "zero"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ef_baseline b;
        CHECK_OK(ef_baseline_parse(&b, names[i], NULL));
        if (!ef_baseline_available(b.kind)) continue;
        b.nn_steps = 20;
        ef_error e = {0};
        CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, K, D, LD, 1, p1, &e));
        CHECK_OK(ef_baseline_predict_prefixes(&b, x, y2, K, D, LD, 1, p2, &e));
        int causal = 1, finite = 1;
        for (int t = 0; t <= 7; t++) causal &= p1[t] == p2[t];
        for (int t = 0; t < K; t++) finite &= isfinite(p1[t]);
        CHECKF(causal && finite, "%s", names[i]);
        CHECKF(p1[0] == 0.0f, "%s predicts %g with no context", names[i], p1[0]);
    }
    ef_baseline b;
    CHECK_OK(ef_baseline_parse(&b, "cart2", NULL));
    CHECK(b.kind == EF_BASELINE_CART && b.tree_depth == 2);
    ef_error e = {0};
    CHECK(ef_baseline_parse(&b, "svm", &e) == EF_ERR_INVALID && strstr(e.msg, "svm"));
    ef_baseline_init(&b, EF_BASELINE_RIDGE);
    b.ridge_alpha = -1;
    CHECK(ef_baseline_fit_predict(&b, x, y, 3, D, LD, x, 1, 0, p1, &e) == EF_ERR_INVALID);
    ef_baseline_init(&b, EF_BASELINE_LSTSQ);
    CHECK(ef_baseline_fit_predict(&b, x, y, 3, D, 2, x, 1, 0, p1, &e) == EF_ERR_INVALID);
}

static void test_xgboost(void) {
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_XGBOOST);
    if (!ef_baseline_available(EF_BASELINE_XGBOOST)) {
        float p;
        CHECK(ef_baseline_fit_predict(&b, &p, &p, 1, 1, 1, &p, 1, 0, &p, NULL) == EF_ERR_UNSUPPORTED);
        return;
    }
    ef_rng r;
    ef_rng_init(&r, 7, 7);
    enum { N = 100, D = 2 };
    float x[N * D], y[N], q[4] = {-1, 0, 1, 0}, p[2], p2[2];
    fill_normal(&r, x, N * D);
    for (int i = 0; i < N; i++) y[i] = x[i * D] > 0 ? 1.0f : -1.0f;
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, q, 2, 0, p, NULL));
    /* 50 rounds of eta 0.1 from base 0 reach 1 - 0.9^50 of the step */
    CHECKF(p[0] < -0.9f && p[1] > 0.9f, "%g %g", p[0], p[1]);
    CHECK_OK(ef_baseline_fit_predict(&b, x, y, N, D, D, q, 2, 0, p2, NULL));
    CHECK(p[0] == p2[0] && p[1] == p2[1]);
}

/* oracle settings are equivariant in the target scale: unit-scale predictions are the
 * Garg-scale ones times y_scale; the oracle Kalman beats least squares on ar_drift tasks */
static void test_oracle(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = 5;
    CHECK_OK(ef_prior_config_parse_mixture(&c, "ar_drift", NULL));
    CHECK_OK(ef_prior_config_parse_params(&c, "noise_prob=1,noise_min=0.1,noise_max=0.1", NULL));
    enum { K = 60, D = 5, T = 30 };
    float x[K * D], y[K], yu[K], pg[K], pu[K], pl[K];
    double ek = 0, el = 0;
    int kinds[] = {EF_BASELINE_KALMAN, EF_BASELINE_RIDGE, EF_BASELINE_RLS};
    for (int t = 0; t < T; t++) {
        ef_task_info ig, iu;
        c.target_norm = EF_PRIOR_TARGET_GARG;
        CHECK_OK(ef_prior_sample_task(&c, 9, (uint64_t)t, D, K, x, y, NULL, &ig, NULL));
        c.target_norm = EF_PRIOR_TARGET_UNIT;
        CHECK_OK(ef_prior_sample_task(&c, 9, (uint64_t)t, D, K, x, yu, NULL, &iu, NULL));
        for (int kk = 0; kk < 3; kk++) {  /* rls: no oracle settings, equivariant anyway */
            ef_baseline bg, bu;
            ef_baseline_init(&bg, (ef_baseline_kind)kinds[kk]);
            ef_baseline_init(&bu, (ef_baseline_kind)kinds[kk]);
            ef_baseline_set_oracle(&bg, &ig);
            ef_baseline_set_oracle(&bu, &iu);
            CHECK_OK(ef_baseline_predict_prefixes(&bg, x, y, K, D, D, 0, pg, NULL));
            CHECK_OK(ef_baseline_predict_prefixes(&bu, x, yu, K, D, D, 0, pu, NULL));
            int eq = 1;
            for (int i = 0; i < K; i++) eq &= fabs(pu[i] - pg[i] * iu.y_scale) <= 1e-4 * (1 + fabs(pg[i]));
            CHECKF(eq, "%s task %d", ef_baseline_kind_name(bg.kind), t);
            if (kinds[kk] == EF_BASELINE_KALMAN) {
                CHECK(bg.kalman_phi == ig.phi && ig.phi >= 0.9);
                for (int i = D + 5; i < K; i++) ek += (pg[i] - y[i]) * (pg[i] - y[i]) / ig.err_scale;
            }
        }
        ef_baseline b;
        ef_baseline_init(&b, EF_BASELINE_LSTSQ);
        CHECK_OK(ef_baseline_predict_prefixes(&b, x, y, K, D, D, 0, pl, NULL));
        for (int i = D + 5; i < K; i++) el += (pl[i] - y[i]) * (pl[i] - y[i]) / ig.err_scale;
    }
    CHECKF(ek < 0.7 * el, "oracle kalman %g vs lstsq %g", ek, el);
}

/* baselines are reentrant: evaluating tasks in parallel gives bitwise the serial result */
static void test_parallel(void) {
    enum { T = 8, K = 16, D = 4 };
    static float x[T][K * D], y[T][K], p1[T][K], p2[T][K];
    ef_rng r;
    ef_rng_init(&r, 8, 8);
    fill_normal(&r, &x[0][0], T * K * D);
    fill_normal(&r, &y[0][0], T * K);
    const char *names[] = {"lstsq", "ridge", "lasso", "cart4", "nn", "kalman", "xgboost"};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        ef_baseline b;
        CHECK_OK(ef_baseline_parse(&b, names[n], NULL));
        if (!ef_baseline_available(b.kind)) continue;
        b.nn_steps = 10;
        int fails = 0;
        for (int t = 0; t < T; t++)
            fails += ef_baseline_predict_prefixes(&b, x[t], y[t], K, D, D, 3, p1[t], NULL) != EF_OK;
#ifdef _OPENMP
#pragma omp parallel for num_threads(2) reduction(+ : fails)
#endif
        for (int t = 0; t < T; t++)
            fails += ef_baseline_predict_prefixes(&b, x[t], y[t], K, D, D, 3, p2[t], NULL) != EF_OK;
        CHECK(fails == 0);
        CHECKF(memcmp(p1, p2, sizeof p1) == 0, "%s", names[n]);
    }
}

/* Garg's normalisation end to end: the zero predictor scores ~1, least squares (d-i)/d below
 * i = d and ~0 above (noiseless), lasso beats least squares on 2-sparse tasks */
static void test_garg_errors(void) {
    ef_prior_config c;
    ef_prior_config_default(&c);
    c.d_max = 10;
    enum { T = 1000, K = 13, D = 10 };  /* sd of the means ~0.03 (ls5) and <0.05 (zero) */
    static float x[T * K * D], y[T * K], p[K];
    static ef_task_info info[T];
    double zero = 0, ls5 = 0, ls12 = 0;
    CHECK_OK(ef_prior_sample_batch(&c, 1, 0, T, D, K, x, y, NULL, info, NULL));
    ef_baseline b;
    ef_baseline_init(&b, EF_BASELINE_LSTSQ);
    for (int t = 0; t < T; t++) {
        CHECK_OK(ef_baseline_predict_prefixes(&b, x + t * K * D, y + t * K, K, D, D, 0, p, NULL));
        for (int i = 0; i < K; i++) zero += y[t * K + i] * y[t * K + i] / info[t].err_scale / (T * K);
        ls5 += (p[5] - y[t * K + 5]) * (p[5] - y[t * K + 5]) / info[t].err_scale / T;
        ls12 += (p[12] - y[t * K + 12]) * (p[12] - y[t * K + 12]) / info[t].err_scale / T;
    }
    CHECK_NEAR(zero, 1.0, 0.15, 0);
    CHECK_NEAR(ls5, 0.5, 0.1, 0);
    CHECK(ls12 < 1e-8);
    CHECK_OK(ef_prior_config_parse_mixture(&c, "sparse", NULL));
    c.sparse_s_min = c.sparse_s_max = 2;
    CHECK_OK(ef_prior_sample_batch(&c, 5, 0, T, D, K, x, y, NULL, info, NULL));
    double lasso6 = 0, lsq6 = 0;
    for (int t = 0; t < 300; t++) {
        CHECK(info[t].s == 2 && info[t].err_scale == 2);
        ef_baseline_init(&b, EF_BASELINE_LASSO);
        CHECK_OK(ef_baseline_predict_prefixes(&b, x + t * K * D, y + t * K, 7, D, D, 0, p, NULL));
        lasso6 += (p[6] - y[t * K + 6]) * (p[6] - y[t * K + 6]) / info[t].err_scale;
        ef_baseline_init(&b, EF_BASELINE_LSTSQ);
        CHECK_OK(ef_baseline_predict_prefixes(&b, x + t * K * D, y + t * K, 7, D, D, 0, p, NULL));
        lsq6 += (p[6] - y[t * K + 6]) * (p[6] - y[t * K + 6]) / info[t].err_scale;
    }
    CHECKF(lasso6 < 0.5 * lsq6, "lasso %g vs lstsq %g at i=6", lasso6, lsq6);
}

/* allocation failures in every baseline are reported, never crashed on */
static void test_alloc_failures(void) {
    enum { K = 10, D = 3 };
    float x[K * D], y[K], p[K];
    ef_rng r;
    ef_rng_init(&r, 9, 9);
    fill_normal(&r, x, K * D);
    fill_normal(&r, y, K);
    for (int kind = 0; kind < EF_BASELINE_KIND_COUNT; kind++) {
        if (!ef_baseline_available((ef_baseline_kind)kind)) continue;
        ef_baseline b;
        ef_baseline_init(&b, (ef_baseline_kind)kind);
        b.nn_steps = 2;
        b.n_alphas = 2;
        b.alphas[1] = 0.1;
        ef_status st = EF_ERR_NOMEM;
        int n, only_nomem = 1;
        for (n = 1; n < 200 && st != EF_OK; n++) {
            ef_alloc_fail_after(n);
            st = ef_baseline_predict_prefixes(&b, x, y, K, D, D, 0, p, NULL);
            ef_alloc_fail_after(0);
            if (st != EF_OK) only_nomem &= st == EF_ERR_NOMEM;
        }
        CHECKF(st == EF_OK && only_nomem && n > 2, "%s", ef_baseline_kind_name(b.kind));
    }
}

int main(void) {
    test_ridge_zero_alpha_underdetermined();
    test_alloc_failures();
    test_garg_errors();
    test_oracle();
    test_parallel();
    test_linear();
    test_lasso();
    test_knn_cart();
    test_nn();
    test_online();
    test_prefix_and_names();
    test_xgboost();
    TEST_MAIN_END;
}
