/* Feature neutralization, feature-neutral correlation and feature exposure for one era
 * (numerai-tools neutralize / feature_neutral_corr / max_feature_correlation).
 *
 * neutralize is s - proportion * X pinv(X) s with X = [F | 1]. numpy computes pinv with an
 * SVD and rcond 1e-6; LAPACK's dgelsd solves the same minimum-norm least-squares problem with
 * the same cutoff (singular values <= rcond * s_max dropped), so the projection X pinv(X) s is
 * the same, rank-deficient X included (e.g. f1 + f2 = const with the intercept).
 *
 * ef_mx_neutralize_gram is the fast path of the per-era driver: Gram matrix XᵀX (dsyrk),
 * its eigen decomposition (pinv with the cutoff lambda_i > rcond^2 lambda_max, the SVD rule on
 * sigma^2), plus one step of iterative refinement so the residual is accurate to ~eps cond(X). */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <lapacke.h>
#include "base/blas.h"
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

#define NEUTRALIZE_RCOND 1e-6

// ---- layout helpers ----------------------------------------------------------------------------

int ef_mx_features_colmajor(double *out, const double *F64, const float *F32, size_t ldf,
                            size_t nf, size_t n) {
    int nan = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nf; j++) {
            double v = F64 ? F64[i * ldf + j] : (double)F32[i * ldf + j];
            nan |= isnan(v);
            out[j * n + i] = v;
        }
    return nan;
}

// ---- reference neutralize (dgelsd) ---------------------------------------------------------------

/* OpenBLAS's own thread pool inside our OpenMP regions would oversubscribe the cores: both
 * neutralize paths run BLAS single-threaded for their duration (base/blas.h; the per-era
 * drivers hold it once for all eras, so these only count a reference). */
static ef_status neutralize_colmajor(double *s, size_t k, const double *Fcm, size_t nf, size_t n,
                                     double proportion, ef_error *err);
static ef_status neutralize_gram(double *s, const float *F32, size_t ldf, size_t nf, size_t n,
                                 double proportion, ef_error *err);

ef_status ef_mx_neutralize_colmajor(double *s, size_t k, const double *Fcm, size_t nf, size_t n,
                                    double proportion, ef_error *err) {
    ef_blas_begin();
    ef_status st = neutralize_colmajor(s, k, Fcm, nf, n, proportion, err);
    ef_blas_end();
    return st;
}

ef_status ef_mx_neutralize_gram(double *s, const float *F32, size_t ldf, size_t nf, size_t n,
                                double proportion, ef_error *err) {
    ef_blas_begin();
    ef_status st = neutralize_gram(s, F32, ldf, nf, n, proportion, err);
    ef_blas_end();
    return st;
}

static ef_status neutralize_colmajor(double *s, size_t k, const double *Fcm, size_t nf, size_t n,
                                     double proportion, ef_error *err) {
    if (k == 0 || n == 0) return EF_OK;
    size_t K = nf + 1, ld = n > K ? n : K;
    size_t nx, nb;
    if (!ef_mul_ok(n, K, &nx) || !ef_mul_ok(ld, k, &nb))
        return EF_ERR(err, EF_ERR_NOMEM, "neutralize: %zu x %zu overflows", n, K);
    double *X = ef_malloc(nx * sizeof(double));
    double *A = ef_malloc(nx * sizeof(double));
    double *B = ef_malloc(nb * sizeof(double));
    double *sv = ef_malloc(K * sizeof(double));
    double *adj = ef_malloc(n * k * sizeof(double));
    ef_status st = EF_OK;
    if (!X || !A || !B || !sv || !adj) {
        st = EF_ERR(err, EF_ERR_NOMEM, "neutralize: out of memory for %zu x %zu", n, K);
        goto done;
    }
    if (nf) memcpy(X, Fcm, n * nf * sizeof(double));
    for (size_t i = 0; i < n; i++) X[nf * n + i] = 1.0;
    memcpy(A, X, nx * sizeof(double));
    /* numerai-tools: columns with std 0 become NaN (they stay NaN through the projection) */
    int *dead = ef_calloc(k, sizeof(int));
    if (!dead) {
        st = EF_ERR(err, EF_ERR_NOMEM, "neutralize: out of memory");
        goto done;
    }
    for (size_t j = 0; j < k; j++) {
        const double *c = s + j * n;
        int constant = 1;
        for (size_t i = 1; i < n && constant; i++) constant = c[i] == c[0];
        dead[j] = constant;
        for (size_t i = 0; i < ld; i++) B[j * ld + i] = (i < n && !constant) ? c[i] : 0.0;
    }
    lapack_int rank = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)K, (lapack_int)k,
                                     A, (lapack_int)n, B, (lapack_int)ld, sv, NEUTRALIZE_RCOND,
                                     &rank);
    if (info != 0) {
        ef_free(dead);
        st = EF_ERR(err, info < 0 ? EF_ERR_INTERNAL : EF_ERR_INVALID,
                    "neutralize: LAPACK dgelsd failed (info %d: the SVD did not converge)", (int)info);
        goto done;
    }
    /* adj = X B (B's first K rows hold the minimum-norm solution) */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)K, 1.0, X, (int)n,
                B, (int)ld, 0.0, adj, (int)n);
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++)
            s[j * n + i] = dead[j] ? NAN : s[j * n + i] - proportion * adj[j * n + i];
    ef_free(dead);
done:
    ef_free(X);
    ef_free(A);
    ef_free(B);
    ef_free(sv);
    ef_free(adj);
    return st;
}

ef_status ef_metrics_neutralize(double *out, const double *s, size_t lds, size_t k,
                                const double *F64, const float *F32, size_t ldf, size_t nf,
                                size_t n, double proportion, ef_error *err) {
    EF_CHECK((F64 == NULL) != (F32 == NULL) || nf == 0, err, EF_ERR_INVALID,
             "neutralize: pass exactly one of the double or float feature matrices");
    EF_CHECK(lds >= n && (nf == 0 || ldf >= nf), err, EF_ERR_INVALID,
             "neutralize: leading dimensions too small (lds %zu < n %zu or ldf %zu < nf %zu)",
             lds, n, ldf, nf);
    EF_CHECK(isfinite(proportion), err, EF_ERR_INVALID, "neutralize: proportion is not finite");
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < n; i++)
            EF_CHECK(!isnan(s[j * lds + i]), err, EF_ERR_INVALID,
                     "neutralize: NaN in column %zu row %zu of the data to neutralize", j, i);
    size_t bytes, sb;
    if (!ef_mul_ok(n, nf + 1, &bytes) || !ef_mul_ok(bytes, sizeof(double), &bytes) ||
        !ef_mul_ok(n * sizeof(double), k ? k : 1, &sb))
        return EF_ERR(err, EF_ERR_NOMEM, "neutralize: size overflow");
    double *Fcm = ef_malloc(bytes);
    double *S = ef_malloc(sb);
    if (!Fcm || !S) {
        ef_free(Fcm);
        ef_free(S);
        return EF_ERR(err, EF_ERR_NOMEM, "neutralize: out of memory for %zu rows", n);
    }
    ef_status st = EF_OK;
    if (nf && ef_mx_features_colmajor(Fcm, F64, F32, ldf, nf, n)) {
        st = EF_ERR(err, EF_ERR_INVALID, "neutralize: the neutralizers contain NaN");
        goto done;
    }
    for (size_t j = 0; j < k; j++) memcpy(S + j * n, s + j * lds, n * sizeof(double));
    st = ef_mx_neutralize_colmajor(S, k, Fcm, nf, n, proportion, err);
    if (st == EF_OK)
        for (size_t j = 0; j < k; j++) memcpy(out + j * lds, S + j * n, n * sizeof(double));
done:
    ef_free(Fcm);
    ef_free(S);
    return st;
}

// ---- fast path: Gram + eigen ------------------------------------------------------------------

static ef_status neutralize_gram(double *s, const float *F32, size_t ldf, size_t nf, size_t n,
                                 double proportion, ef_error *err) {
    size_t K = nf + 1;
    /* X = [F | 1] row-major (n x K), i.e. A = X' column-major (K x n, ld K): the conversion
     * is a sequential sweep, and BLAS reads A with unit stride */
    double *A = ef_malloc(n * K * sizeof(double));
    double *r = ef_malloc(n * sizeof(double));
    double *G = ef_malloc(K * K * sizeof(double));
    double *w = ef_malloc(K * sizeof(double));
    double *b = ef_malloc(4 * K * sizeof(double));
    ef_status st = EF_OK;
    if (!A || !r || !G || !w || !b) {
        st = EF_ERR(err, EF_ERR_NOMEM, "neutralize: out of memory for %zu x %zu", n, K);
        goto done;
    }
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        const float *f = F32 + i * ldf;
        double *a = A + i * K;
        for (size_t j = 0; j < nf; j++) {
            a[j] = f[j];
            nan |= isnan(a[j]);
        }
        a[nf] = 1.0;
    }
    if (nan) {
        st = EF_ERR(err, EF_ERR_INVALID, "neutralize: the neutralizers contain NaN");
        goto done;
    }
    int constant = 1;
    for (size_t i = 1; i < n && constant; i++) constant = s[i] == s[0];
    if (constant) {   /* numerai-tools: a column with std 0 becomes NaN */
        for (size_t i = 0; i < n; i++) s[i] = NAN;
        goto done;
    }
    /* G = X'X = A A' */
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)K, (int)n, 1.0, A, (int)K, 0.0, G,
                (int)K);
    lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)K, G, (lapack_int)K, w);
    if (info != 0) {
        st = EF_ERR(err, EF_ERR_INVALID, "neutralize: eigen decomposition failed (info %d)", (int)info);
        goto done;
    }
    double cut = NEUTRALIZE_RCOND * NEUTRALIZE_RCOND * w[K - 1];
    double *c = b + K, *y = b + 2 * K, *ctot = b + 3 * K;
    memcpy(r, s, n * sizeof(double));
    memset(ctot, 0, K * sizeof(double));
    /* coefficients from s, then from the residual (one step of iterative refinement) */
    for (int pass = 0; pass < 2; pass++) {
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)K, (int)n, 1.0, A, (int)K, r, 1, 0.0, b, 1);
        /* c = V diag(1/w) V' b over the kept eigenvalues (eigenvectors are G's columns) */
        for (size_t j = 0; j < K; j++) {
            double d = 0;
            if (w[j] > cut && w[j] > 0) {
                for (size_t i = 0; i < K; i++) d += G[j * K + i] * b[i];
                d /= w[j];
            }
            y[j] = d;
        }
        for (size_t i = 0; i < K; i++) {
            double v = 0;
            for (size_t j = 0; j < K; j++) v += G[j * K + i] * y[j];
            c[i] = v;
            ctot[i] += v;
        }
        if (pass == 0)
            cblas_dgemv(CblasColMajor, CblasTrans, (int)K, (int)n, -1.0, A, (int)K, c, 1, 1.0, r, 1);
    }
    cblas_dgemv(CblasColMajor, CblasTrans, (int)K, (int)n, -proportion, A, (int)K, ctot, 1, 1.0, s, 1);
done:
    ef_free(A);
    ef_free(r);
    ef_free(G);
    ef_free(w);
    ef_free(b);
    return st;
}

// ---- FNC and exposure ---------------------------------------------------------------------------

ef_status ef_metrics_feature_neutral_corr(double *out, const double *pred, const double *target,
                                          const double *F64, const float *F32, size_t ldf,
                                          size_t nf, size_t n, ef_error *err) {
    *out = NAN;
    EF_CHECK(n >= 2, err, EF_ERR_INVALID, "feature_neutral_corr: %zu rows (need at least 2)", n);
    for (size_t i = 0; i < n; i++)
        EF_CHECK(!isnan(pred[i]), err, EF_ERR_INVALID,
                 "feature_neutral_corr: NaN prediction at row %zu", i);
    double *g = ef_malloc(n * sizeof(double));
    if (!g) return EF_ERR(err, EF_ERR_NOMEM, "feature_neutral_corr: out of memory");
    ef_status st = ef_metrics_rank_tie_kept(g, pred, n, err);
    if (st == EF_OK) {
        ef_metrics_gaussianize(g, g, n);
        st = ef_metrics_neutralize(g, g, n, 1, F64, F32, ldf, nf, n, 1.0, err);
    }
    if (st == EF_OK) {
        /* variance_normalize (a positive scale: CORR re-ranks, but keep the step explicit) */
        double sd = ef_metrics_std(g, n);
        for (size_t i = 0; i < n; i++) g[i] /= sd;
        st = ef_metrics_numerai_corr(out, g, target, n, NULL, err);
    }
    ef_free(g);
    return st;
}

ef_status ef_metrics_feature_exposure(double *corr_out, double *max_abs, size_t *argmax,
                                      double *rms, const double *pred, const double *F64,
                                      const float *F32, size_t ldf, size_t nf, size_t n,
                                      ef_error *err) {
    EF_CHECK((F64 == NULL) != (F32 == NULL) || nf == 0, err, EF_ERR_INVALID,
             "feature_exposure: pass exactly one of the double or float feature matrices");
    double *col = ef_malloc(2 * (n ? n : 1) * sizeof(double));
    if (!col) return EF_ERR(err, EF_ERR_NOMEM, "feature_exposure: out of memory");
    double *pp = col + n;
    double best = NAN, ss = 0;
    size_t best_j = 0, used = 0;
    for (size_t j = 0; j < nf; j++) {
        /* pairwise-complete rows, as pandas corrwith */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            double f = F64 ? F64[i * ldf + j] : (double)F32[i * ldf + j];
            if (isnan(f) || isnan(pred[i])) continue;
            col[m] = f;
            pp[m] = pred[i];
            m++;
        }
        double c = ef_mx_pearson(pp, col, m);
        if (corr_out) corr_out[j] = c;
        if (isnan(c)) continue;
        used++;
        ss += c * c;
        if (isnan(best) || fabs(c) > best) {
            best = fabs(c);
            best_j = j;
        }
    }
    ef_free(col);
    if (max_abs) *max_abs = best;
    if (argmax) *argmax = best_j;
    if (rms) *rms = used ? sqrt(ss / (double)used) : NAN;
    return EF_OK;
}
