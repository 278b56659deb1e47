/* Baselines for in-context evaluation: names and defaults, the fit/predict dispatch, the
 * prefix protocol of Garg et al. (predict y_i from the first i points), and the three that
 * need no fitting machinery: zero, averaging ((1/n) sum x_i y_i . x) and k-NN. The linear
 * solvers are in baseline_linear.c, CART in baseline_tree.c, the NN in baseline_nn.c,
 * RLS / Kalman in baseline_ts.c and XGBoost in baseline_xgb.c. */
#include <math.h>
#include <string.h>
#include "base/blas.h"
#include "prior/prior_internal.h"

// ---- names and defaults -----------------------------------------------------------------

static const char *const kind_names[EF_BASELINE_KIND_COUNT] = {
    "zero", "lstsq", "ridge", "lasso", "elasticnet", "knn",
    "averaging", "cart", "nn", "rls", "kalman", "xgboost"};

const char *ef_baseline_kind_name(ef_baseline_kind kind) {
    return (int)kind >= 0 && kind < EF_BASELINE_KIND_COUNT ? kind_names[kind] : "?";
}

void ef_baseline_init(ef_baseline *b, ef_baseline_kind kind) {
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->ridge_alpha = 0.1;
    b->alphas[0] = 0.01;
    b->n_alphas = 1;
    b->cv_folds = 5;
    b->l1_ratio = kind == EF_BASELINE_LASSO ? 1.0 : 0.5;
    b->cd_max_iter = 1000;
    b->cd_tol = 1e-6;
    b->knn_k = 3;
    b->tree_depth = 4;
    b->tree_min_leaf = 1;
    b->nn_hidden = 100;
    b->nn_steps = 100;
    b->nn_batch = 100;
    b->nn_lr = 5e-3;
    b->rls_forget = 0.95;
    b->rls_delta = 1.0;
    b->kalman_phi = 0.95;
    b->kalman_q = 1.0 - 0.95 * 0.95;
    b->kalman_r = 1e-4;
    b->kalman_p0 = 1.0;
    b->xgb_trees = 50;
    b->xgb_depth = 4;
    b->xgb_eta = 0.1;
}

ef_status ef_baseline_parse(ef_baseline *b, const char *name, ef_error *err) {
    static const struct {
        const char *name;
        ef_baseline_kind kind;
        int depth;
    } aliases[] = {{"enet", EF_BASELINE_ELASTICNET, 0}, {"3nn", EF_BASELINE_KNN, 0},
                   {"cart2", EF_BASELINE_CART, 2},      {"cart4", EF_BASELINE_CART, 4}};
    EF_CHECK(name != NULL, err, EF_ERR_INVALID, "baseline: NULL name");
    for (int k = 0; k < EF_BASELINE_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            ef_baseline_init(b, (ef_baseline_kind)k);
            return EF_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].name) == 0) {
            ef_baseline_init(b, aliases[i].kind);
            if (aliases[i].depth) b->tree_depth = aliases[i].depth;
            return EF_OK;
        }
    return EF_ERR(err, EF_ERR_INVALID,
                  "baseline: unknown name '%s' (expected zero, lstsq, ridge, lasso, elasticnet, "
                  "enet, knn, 3nn, averaging, cart, cart2, cart4, nn, rls, kalman, xgboost)", name);
}

int ef_baseline_available(ef_baseline_kind kind) {
    if ((int)kind < 0 || kind >= EF_BASELINE_KIND_COUNT) return 0;
#ifndef EF_HAVE_XGBOOST
    if (kind == EF_BASELINE_XGBOOST) return 0;
#endif
    return 1;
}

static ef_status validate(const ef_baseline *b, ef_error *err) {
    EF_CHECK(b != NULL, err, EF_ERR_INVALID, "baseline: NULL");
    EF_CHECK((int)b->kind >= 0 && b->kind < EF_BASELINE_KIND_COUNT, err, EF_ERR_INVALID,
             "baseline: unknown kind %d", (int)b->kind);
    EF_CHECK(b->ridge_alpha >= 0 && isfinite(b->ridge_alpha), err, EF_ERR_INVALID,
             "baseline: ridge_alpha must be finite and >= 0");
    EF_CHECK(b->n_alphas >= 1 && b->n_alphas <= EF_BASELINE_MAX_ALPHAS, err, EF_ERR_INVALID,
             "baseline: n_alphas = %d not in [1, %d]", b->n_alphas, EF_BASELINE_MAX_ALPHAS);
    for (int i = 0; i < b->n_alphas; i++)
        EF_CHECK(b->alphas[i] >= 0 && isfinite(b->alphas[i]), err, EF_ERR_INVALID,
                 "baseline: alphas[%d] must be finite and >= 0", i);
    EF_CHECK(b->cv_folds >= 2, err, EF_ERR_INVALID, "baseline: cv_folds must be >= 2");
    EF_CHECK(b->l1_ratio >= 0 && b->l1_ratio <= 1, err, EF_ERR_INVALID,
             "baseline: l1_ratio must be in [0, 1]");
    EF_CHECK(b->cd_max_iter >= 1 && b->cd_tol >= 0, err, EF_ERR_INVALID,
             "baseline: need cd_max_iter >= 1 and cd_tol >= 0");
    EF_CHECK(b->knn_k >= 1, err, EF_ERR_INVALID, "baseline: knn_k must be >= 1");
    EF_CHECK(b->tree_depth >= 0 && b->tree_depth <= 30 && b->tree_min_leaf >= 1, err,
             EF_ERR_INVALID, "baseline: need tree_depth in [0, 30] and tree_min_leaf >= 1");
    EF_CHECK(b->nn_hidden >= 1 && b->nn_steps >= 0 && b->nn_batch >= 1 && b->nn_lr > 0, err,
             EF_ERR_INVALID, "baseline: bad nn settings");
    EF_CHECK(b->rls_forget > 0 && b->rls_forget <= 1 && b->rls_delta > 0, err, EF_ERR_INVALID,
             "baseline: need rls_forget in (0, 1] and rls_delta > 0");
    EF_CHECK(b->kalman_q >= 0 && b->kalman_r >= 0 && b->kalman_p0 > 0 && isfinite(b->kalman_phi),
             err, EF_ERR_INVALID, "baseline: need kalman_q, kalman_r >= 0 and kalman_p0 > 0");
    EF_CHECK(b->xgb_trees >= 1 && b->xgb_depth >= 1 && b->xgb_eta > 0, err, EF_ERR_INVALID,
             "baseline: bad xgboost settings");
    return EF_OK;
}

void ef_baseline_set_oracle(ef_baseline *b, const ef_task_info *info) {
    double S = ef_prior_error_scale(info->cls, info->d, info->s);
    double ys2 = info->y_scale > 0 ? info->y_scale * info->y_scale : 1.0;
    double noise_var = info->noise * info->noise * S;
    if (b->kind == EF_BASELINE_RIDGE) b->ridge_alpha = noise_var;
    if (b->kind == EF_BASELINE_KALMAN) {
        if (info->cls == EF_PRIOR_DRIFT) b->kalman_phi = info->phi;
        b->kalman_p0 = ys2;
        b->kalman_q = ys2 * (1.0 - b->kalman_phi * b->kalman_phi);
        if (b->kalman_q < 0) b->kalman_q = 0;
        b->kalman_r = (noise_var > 1e-8 ? noise_var : 1e-8) * ys2;
    }
}

// ---- simple baselines -------------------------------------------------------------------

static double dot(const double *a, const double *b, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

static ef_status knn_predict(int kk, const double *X, const double *y, int n, int d,
                             const double *Xq, int m, double *pred, ef_error *err) {
    int K = EF_MIN(kk, n);
    double *best_d = ef_malloc((size_t)K * sizeof *best_d);
    int *best_i = ef_malloc((size_t)K * sizeof *best_i);
    if (!best_d || !best_i) {
        ef_free(best_d);
        ef_free(best_i);
        return EF_ERR(err, EF_ERR_NOMEM, "baseline knn: out of memory");
    }
    for (int q = 0; q < m; q++) {
        const double *xq = Xq + (size_t)q * d;
        int cnt = 0;
        for (int i = 0; i < n; i++) {
            double dist = 0;
            for (int j = 0; j < d; j++) {
                double t = X[(size_t)i * d + j] - xq[j];
                dist += t * t;
            }
            /* insertion into the sorted list of the K best; a later equal distance loses */
            if (cnt == K && dist >= best_d[K - 1]) continue;
            int p = cnt < K ? cnt++ : K - 1;
            while (p > 0 && best_d[p - 1] > dist) {
                best_d[p] = best_d[p - 1];
                best_i[p] = best_i[p - 1];
                p--;
            }
            best_d[p] = dist;
            best_i[p] = i;
        }
        double s = 0;
        for (int i = 0; i < cnt; i++) s += y[best_i[i]];
        pred[q] = s / cnt;
    }
    ef_free(best_d);
    ef_free(best_i);
    return EF_OK;
}

// ---- dispatch on double data ------------------------------------------------------------

/* Fits on (X, y) (n >= 0) and predicts the rows of Xq. */
static ef_status fit_predict_d(const ef_baseline *b, const double *X, const double *y, int n,
                               int d, const double *Xq, int m, uint64_t seed, double *pred,
                               ef_error *err) {
    ef_baseline_kind kind = b->kind;
    if (kind == EF_BASELINE_ZERO || (n == 0 && kind != EF_BASELINE_RLS && kind != EF_BASELINE_KALMAN)) {
        for (int q = 0; q < m; q++) pred[q] = 0.0;
        return EF_OK;
    }
    if (kind == EF_BASELINE_KNN) return knn_predict(b->knn_k, X, y, n, d, Xq, m, pred, err);
    if (kind == EF_BASELINE_CART) return ef_bl_cart(b, X, y, n, d, Xq, m, pred, err);
    if (kind == EF_BASELINE_NN) return ef_bl_nn(b, X, y, n, d, Xq, m, seed, pred, err);
    if (kind == EF_BASELINE_XGBOOST) return ef_bl_xgb(b, X, y, n, d, Xq, m, pred, err);
    double *w = ef_calloc((size_t)d, sizeof *w);
    if (!w) return EF_ERR(err, EF_ERR_NOMEM, "baseline: out of memory (d=%d)", d);
    ef_status st = EF_OK;
    switch (kind) {
    case EF_BASELINE_LSTSQ: st = ef_bl_lstsq(X, y, n, d, w, err); break;
    case EF_BASELINE_RIDGE: st = ef_bl_ridge(b->ridge_alpha, X, y, n, d, w, err); break;
    case EF_BASELINE_LASSO: st = ef_bl_enet(b, 1.0, X, y, n, d, w, err); break;
    case EF_BASELINE_ELASTICNET: st = ef_bl_enet(b, b->l1_ratio, X, y, n, d, w, err); break;
    case EF_BASELINE_AVERAGING:
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) w[j] += X[(size_t)i * d + j] * y[i] / n;
        break;
    case EF_BASELINE_RLS:
    case EF_BASELINE_KALMAN: st = ef_bl_online(b, X, y, n, d, NULL, w, err); break;
    default: st = EF_ERR(err, EF_ERR_INTERNAL, "baseline: unhandled kind %d", (int)kind); break;
    }
    if (st == EF_OK)
        for (int q = 0; q < m; q++) pred[q] = dot(w, Xq + (size_t)q * d, d);
    ef_free(w);
    return st;
}

static double *to_double(const float *x, int rows, int d, int ld) {
    double *X = ef_malloc((size_t)(rows > 0 ? rows : 1) * d * sizeof *X);
    if (!X) return NULL;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < d; j++) X[(size_t)i * d + j] = x[(size_t)i * ld + j];
    return X;
}

static ef_status check_dims(const ef_baseline *b, int n, int d, int ld, ef_error *err) {
    EF_TRY(validate(b, err));
    EF_CHECK(n >= 0 && d >= 1 && ld >= d, err, EF_ERR_INVALID,
             "baseline: need n >= 0, d >= 1, ld >= d (got n=%d d=%d ld=%d)", n, d, ld);
    EF_CHECK(ef_baseline_available(b->kind), err, EF_ERR_UNSUPPORTED,
             "baseline: %s is not available in this build", ef_baseline_kind_name(b->kind));
    return EF_OK;
}

// ---- public entry points ----------------------------------------------------------------

ef_status ef_baseline_fit_predict(const ef_baseline *b, const float *x_ctx, const float *y_ctx,
                                  int n, int d, int ld, const float *x_q, int m, uint64_t seed,
                                  float *pred, ef_error *err) {
    EF_TRY(check_dims(b, n, d, ld, err));
    EF_CHECK(m >= 0, err, EF_ERR_INVALID, "baseline: m = %d must be >= 0", m);
    if (m == 0) return EF_OK;
    double *X = to_double(x_ctx, n, d, ld), *Xq = to_double(x_q, m, d, ld);
    double *y = ef_malloc((size_t)(n > 0 ? n : 1) * sizeof *y);
    double *p = ef_malloc((size_t)m * sizeof *p);
    ef_status st = EF_OK;
    if (!X || !Xq || !y || !p) {
        st = EF_ERR(err, EF_ERR_NOMEM, "baseline: out of memory (n=%d m=%d d=%d)", n, m, d);
    } else {
        for (int i = 0; i < n; i++) y[i] = y_ctx[i];
        ef_blas_begin(); /* LAPACK/BLAS single-threaded for this call only (base/blas.h) */
        st = fit_predict_d(b, X, y, n, d, Xq, m, seed, p, err);
        ef_blas_end();
        if (st == EF_OK)
            for (int q = 0; q < m; q++) pred[q] = (float)p[q];
    }
    ef_free(X);
    ef_free(Xq);
    ef_free(y);
    ef_free(p);
    return st;
}

ef_status ef_baseline_predict_prefixes(const ef_baseline *b, const float *x, const float *y,
                                       int k, int d, int ld, uint64_t seed, float *pred,
                                       ef_error *err) {
    EF_TRY(check_dims(b, k, d, ld, err));
    if (k == 0) return EF_OK;
    double *X = to_double(x, k, d, ld);
    double *Y = ef_malloc((size_t)k * sizeof *Y);
    double *p = ef_malloc((size_t)k * sizeof *p);
    ef_status st = EF_OK;
    if (!X || !Y || !p) {
        st = EF_ERR(err, EF_ERR_NOMEM, "baseline: out of memory (k=%d d=%d)", k, d);
        goto done;
    }
    for (int i = 0; i < k; i++) Y[i] = y[i];
    ef_blas_begin(); /* LAPACK/BLAS single-threaded for this call only (base/blas.h) */
    if (b->kind == EF_BASELINE_RLS || b->kind == EF_BASELINE_KALMAN) {
        st = ef_bl_online(b, X, Y, k, d, p, NULL, err);
    } else {
        for (int i = 0; i < k && st == EF_OK; i++)
            st = fit_predict_d(b, X, Y, i, d, X + (size_t)i * d, 1,
                               ef_hash64(seed, (uint64_t)i), p + i, err);
    }
    ef_blas_end();
    if (st == EF_OK)
        for (int i = 0; i < k; i++) pred[i] = (float)p[i];
done:
    ef_free(X);
    ef_free(Y);
    ef_free(p);
    return st;
}
