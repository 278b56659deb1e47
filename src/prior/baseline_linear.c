/* Linear baselines: min-norm least squares (LAPACKE_dgelsd, rcond = eps * max(n, d) as in
 * numpy.linalg.lstsq), ridge in closed form (Cholesky, LAPACKE_dposv), and lasso / elastic
 * net by cyclic coordinate descent (scikit-learn's objective, no intercept) with the
 * penalty chosen on the context by K-fold cross validation over a grid (see prior.h). */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>
#include "prior/prior_internal.h"

// ---- least squares and ridge ------------------------------------------------------------

ef_status ef_bl_lstsq(const double *X, const double *y, int n, int d, double *w, ef_error *err) {
    int mn = EF_MIN(n, d), mx = EF_MAX(n, d);
    double *A = ef_malloc((size_t)n * d * sizeof *A);
    double *B = ef_calloc((size_t)mx, sizeof *B);
    double *s = ef_malloc((size_t)(mn > 0 ? mn : 1) * sizeof *s);
    ef_status st = EF_OK;
    if (!A || !B || !s) {
        st = EF_ERR(err, EF_ERR_NOMEM, "baseline lstsq: out of memory (n=%d d=%d)", n, d);
        goto done;
    }
    memcpy(A, X, (size_t)n * d * sizeof *A);
    memcpy(B, y, (size_t)n * sizeof *B);
    lapack_int rank = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, n, d, 1, A, d, B, 1, s,
                                     DBL_EPSILON * mx, &rank);
    if (info != 0) {
        st = EF_ERR(err, EF_ERR_INTERNAL, "baseline lstsq: LAPACKE_dgelsd failed (info %d)", (int)info);
        goto done;
    }
    memcpy(w, B, (size_t)d * sizeof *w);
done:
    ef_free(A);
    ef_free(B);
    ef_free(s);
    return st;
}

ef_status ef_bl_ridge(double alpha, const double *X, const double *y, int n, int d, double *w,
                      ef_error *err) {
    /* alpha -> 0 is the min-norm least-squares solution; with alpha = 0 and n < d the normal
     * equations are singular and Cholesky may still "succeed" on rounding-level pivots */
    if (alpha <= 0.0) return ef_bl_lstsq(X, y, n, d, w, err);
    double *A = ef_calloc((size_t)d * d, sizeof *A);
    if (!A) return EF_ERR(err, EF_ERR_NOMEM, "baseline ridge: out of memory (d=%d)", d);
    for (int j = 0; j < d; j++) w[j] = 0.0;
    for (int i = 0; i < n; i++) {
        const double *xi = X + (size_t)i * d;
        for (int a = 0; a < d; a++) {
            w[a] += xi[a] * y[i];
            for (int c = 0; c <= a; c++) A[(size_t)a * d + c] += xi[a] * xi[c];
        }
    }
    for (int a = 0; a < d; a++) A[(size_t)a * d + a] += alpha;
    /* lower triangle filled: row-major 'L' */
    lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', d, 1, A, d, w, 1);
    ef_free(A);
    if (info > 0) return ef_bl_lstsq(X, y, n, d, w, err);  /* singular (alpha = 0) */
    EF_CHECK(info == 0, err, EF_ERR_INTERNAL, "baseline ridge: LAPACKE_dposv failed (info %d)",
             (int)info);
    return EF_OK;
}

// ---- coordinate descent -----------------------------------------------------------------

static double soft(double z, double g) { return z > g ? z - g : (z < -g ? z + g : 0.0); }

int ef_bl_enet_cd(const double *X, const double *y, int n, int d, double alpha, double l1_ratio,
                  int max_iter, double tol, double *w) {
    /* objective 1/(2n) ||y - Xw||^2 + alpha (l1 ||w||_1 + (1 - l1)/2 ||w||^2); the residual
     * r = y - Xw is kept up to date, so one coordinate update is O(n) */
    double *r = ef_malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    double *sq = ef_malloc((size_t)d * sizeof *sq);
    if (!r || !sq) {
        ef_free(r);
        ef_free(sq);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        double s = y[i];
        for (int j = 0; j < d; j++) s -= X[(size_t)i * d + j] * w[j];
        r[i] = s;
    }
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += X[(size_t)i * d + j] * X[(size_t)i * d + j];
        sq[j] = s / n;
    }
    double g1 = alpha * l1_ratio, g2 = alpha * (1.0 - l1_ratio);
    int it;
    for (it = 1; it <= max_iter; it++) {
        double max_dw = 0, max_w = 0;
        for (int j = 0; j < d; j++) {
            double den = sq[j] + g2;
            double wj = w[j], nw = 0.0;
            if (den > 0) {
                double rho = 0;
                for (int i = 0; i < n; i++) rho += X[(size_t)i * d + j] * r[i];
                rho = rho / n + sq[j] * wj;
                nw = soft(rho, g1) / den;
            }
            if (nw != wj) {
                double dw = nw - wj;
                for (int i = 0; i < n; i++) r[i] -= X[(size_t)i * d + j] * dw;
                w[j] = nw;
                if (fabs(dw) > max_dw) max_dw = fabs(dw);
            }
            if (fabs(nw) > max_w) max_w = fabs(nw);
        }
        if (max_dw <= tol * (max_w > 0 ? max_w : 1.0)) break;
    }
    ef_free(r);
    ef_free(sq);
    return it;
}

// ---- alpha by cross validation ------------------------------------------------------------

ef_status ef_bl_enet(const ef_baseline *b, double l1_ratio, const double *X, const double *y,
                     int n, int d, double *w, ef_error *err) {
    double alpha = b->alphas[0];
    if (b->n_alphas > 1 && n >= 2) {
        int K = EF_MIN(b->cv_folds, n);
        double *Xt = ef_malloc((size_t)n * d * sizeof *Xt);
        double *yt = ef_malloc((size_t)n * sizeof *yt);
        double *wt = ef_malloc((size_t)d * sizeof *wt);
        double sse[EF_BASELINE_MAX_ALPHAS] = {0};
        if (!Xt || !yt || !wt) {
            ef_free(Xt);
            ef_free(yt);
            ef_free(wt);
            return EF_ERR(err, EF_ERR_NOMEM, "baseline enet: out of memory (n=%d d=%d)", n, d);
        }
        int fail = 0;
        for (int f = 0; f < K && !fail; f++) {
            int lo = (int)((int64_t)f * n / K), hi = (int)((int64_t)(f + 1) * n / K), nt = 0;
            for (int i = 0; i < n; i++) {
                if (i >= lo && i < hi) continue;
                memcpy(Xt + (size_t)nt * d, X + (size_t)i * d, (size_t)d * sizeof *Xt);
                yt[nt++] = y[i];
            }
            /* the grid in the given order, warm-started (largest first is fastest) */
            for (int j = 0; j < d; j++) wt[j] = 0.0;
            for (int a = 0; a < b->n_alphas && !fail; a++) {
                if (ef_bl_enet_cd(Xt, yt, nt, d, b->alphas[a], l1_ratio, b->cd_max_iter, b->cd_tol, wt) < 0)
                    fail = 1;
                for (int i = lo; i < hi; i++) {
                    double p = 0;
                    for (int j = 0; j < d; j++) p += X[(size_t)i * d + j] * wt[j];
                    sse[a] += (p - y[i]) * (p - y[i]);
                }
            }
        }
        ef_free(Xt);
        ef_free(yt);
        ef_free(wt);
        if (fail) return EF_ERR(err, EF_ERR_NOMEM, "baseline enet: out of memory in CV");
        int best = 0;
        for (int a = 1; a < b->n_alphas; a++)
            if (sse[a] < sse[best]) best = a;
        alpha = b->alphas[best];
    }
    for (int j = 0; j < d; j++) w[j] = 0.0;
    if (ef_bl_enet_cd(X, y, n, d, alpha, l1_ratio, b->cd_max_iter, b->cd_tol, w) < 0)
        return EF_ERR(err, EF_ERR_NOMEM, "baseline enet: out of memory (n=%d d=%d)", n, d);
    return EF_OK;
}
