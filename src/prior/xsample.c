/* x samplers of the prior: isotropic Gaussian, correlated Gaussian with a random covariance
 * U diag(lambda) U^T (U Haar-random by Gram-Schmidt of a Gaussian matrix; lambda geometric
 * with a given condition number, or Garg's "skewed" 1/i^2), uniform, and Numerai-like
 * (latent factors, then per-task quantisation of each column into 5 equal-count bins), plus
 * the rank-based quantisers shared with the label augmentation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "prior/prior_internal.h"

// ---- rank helpers -----------------------------------------------------------------------

typedef struct vi {
    double v;
    int i;
} vi;

static int cmp_vi(const void *a, const void *b) {
    const vi *p = a, *q = b;
    if (p->v < q->v) return -1;
    if (p->v > q->v) return 1;
    return (p->i > q->i) - (p->i < q->i);
}

ef_status ef_prior_quantize_columns(double *X, int k, int d, ef_error *err) {
    vi *buf = ef_malloc((size_t)k * sizeof *buf);
    if (!buf) return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory quantising %d rows", k);
    const double scale = 1.0 / sqrt(2.0);
    for (int j = 0; j < d; j++) {
        for (int i = 0; i < k; i++) {
            buf[i].v = X[(size_t)i * d + j];
            buf[i].i = i;
        }
        qsort(buf, (size_t)k, sizeof *buf, cmp_vi);
        for (int r = 0; r < k; r++) {
            int bin = (int)((int64_t)r * 5 / k);
            X[(size_t)buf[r].i * d + j] = (bin - 2) * scale;
        }
    }
    ef_free(buf);
    return EF_OK;
}

ef_status ef_prior_quantize_targets(double *y, int k, double scale, int *bins, ef_error *err) {
    static const double cum[4] = {0.05, 0.25, 0.75, 0.95};
    vi *buf = ef_malloc((size_t)k * sizeof *buf);
    if (!buf) return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory quantising %d targets", k);
    for (int i = 0; i < k; i++) {
        buf[i].v = y[i];
        buf[i].i = i;
    }
    qsort(buf, (size_t)k, sizeof *buf, cmp_vi);
    const double unit = scale / sqrt(0.8);  /* Var of {-2..2} at 5/20/50/20/5 % is 0.8 */
    for (int r = 0; r < k; r++) {
        double q = (r + 0.5) / k;
        int bin = 0;
        while (bin < 4 && q > cum[bin]) bin++;
        y[buf[r].i] = (bin - 2) * unit;
        if (bins) bins[buf[r].i] = bin;
    }
    ef_free(buf);
    return EF_OK;
}

// ---- correlated Gaussian ----------------------------------------------------------------

/* Columns of U (d, d) become a Haar-random orthonormal basis (modified Gram-Schmidt of a
 * Gaussian matrix; R has a positive diagonal, which makes Q Haar). */
static void random_orthogonal(ef_rng *r, int d, double *U) {
    for (size_t i = 0; i < (size_t)d * d; i++) U[i] = ef_rng_normal(r);
    for (int j = 0; j < d; j++) {
        for (int p = 0; p < j; p++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += U[(size_t)i * d + p] * U[(size_t)i * d + j];
            for (int i = 0; i < d; i++) U[(size_t)i * d + j] -= dot * U[(size_t)i * d + p];
        }
        double nrm = 0;
        for (int i = 0; i < d; i++) nrm += U[(size_t)i * d + j] * U[(size_t)i * d + j];
        nrm = sqrt(nrm);
        if (nrm < 1e-300) nrm = 1;  /* measure zero; keeps the code total */
        for (int i = 0; i < d; i++) U[(size_t)i * d + j] /= nrm;
    }
}

static ef_status sample_correlated(const ef_prior_config *cfg, ef_rng *r, int k, int d,
                                   double *X, double *cov, double *cond, ef_error *err) {
    double *U = ef_malloc((size_t)d * d * sizeof *U);
    double *lam = ef_malloc((size_t)d * sizeof *lam);
    double *z = ef_malloc((size_t)d * sizeof *z);
    if (!U || !lam || !z) {
        ef_free(U);
        ef_free(lam);
        ef_free(z);
        return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for a %dx%d covariance", d, d);
    }
    random_orthogonal(r, d, U);
    double sum = 0;
    for (int i = 0; i < d; i++) {
        if (cfg->x_skewed) lam[i] = 1.0 / ((i + 1.0) * (i + 1.0));
        else lam[i] = d > 1 ? pow(cfg->x_cond, -(double)i / (d - 1)) : 1.0;
        sum += lam[i];
    }
    for (int i = 0; i < d; i++) lam[i] *= d / sum;  /* trace d, as the isotropic sampler */
    *cond = lam[0] / lam[d - 1];
    /* L = U diag(sqrt(lam)) stored in U */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) U[(size_t)i * d + j] *= sqrt(lam[j]);
    if (cov)
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int p = 0; p < d; p++) s += U[(size_t)i * d + p] * U[(size_t)j * d + p];
                cov[(size_t)i * d + j] = s;
            }
    for (int t = 0; t < k; t++) {
        for (int p = 0; p < d; p++) z[p] = ef_rng_normal(r);
        double *xt = X + (size_t)t * d;
        for (int i = 0; i < d; i++) {
            double s = 0;
            for (int p = 0; p < d; p++) s += U[(size_t)i * d + p] * z[p];
            xt[i] = s;
        }
    }
    ef_free(U);
    ef_free(lam);
    ef_free(z);
    return EF_OK;
}

// ---- Numerai-like -----------------------------------------------------------------------

static ef_status sample_numerai(const ef_prior_config *cfg, ef_rng *r, int k, int d, double *X,
                                ef_error *err) {
    int f = EF_MIN(cfg->numerai_factors, d);
    double *A = ef_malloc((size_t)d * f * sizeof *A);
    double *z = ef_malloc((size_t)f * sizeof *z);
    if (!A || !z) {
        ef_free(A);
        ef_free(z);
        return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for %d latent factors", f);
    }
    /* each feature loads on the factors with a unit-norm row, so its variance is 1 */
    for (int j = 0; j < d; j++) {
        double nrm = 0;
        for (int l = 0; l < f; l++) {
            double a = ef_rng_normal(r);
            A[(size_t)j * f + l] = a;
            nrm += a * a;
        }
        nrm = sqrt(nrm);
        if (nrm < 1e-300) nrm = 1;
        for (int l = 0; l < f; l++) A[(size_t)j * f + l] /= nrm;
    }
    double a_sig = sqrt(1.0 - cfg->numerai_noise), e_sig = sqrt(cfg->numerai_noise);
    for (int t = 0; t < k; t++) {
        for (int l = 0; l < f; l++) z[l] = ef_rng_normal(r);
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int l = 0; l < f; l++) s += A[(size_t)j * f + l] * z[l];
            X[(size_t)t * d + j] = a_sig * s + e_sig * ef_rng_normal(r);
        }
    }
    ef_free(A);
    ef_free(z);
    return ef_prior_quantize_columns(X, k, d, err);
}

// ---- dispatch ---------------------------------------------------------------------------

ef_status ef_prior_sample_x(const ef_prior_config *cfg, ef_prior_xdist xd, ef_rng *r, int k,
                            int d, double *X, double *cov, double *cond, ef_error *err) {
    double c1 = 1.0;
    if (!cond) cond = &c1;
    *cond = 1.0;
    size_t n = (size_t)k * d;
    switch (xd) {
    case EF_PRIOR_X_GAUSSIAN:
        for (size_t i = 0; i < n; i++) X[i] = ef_rng_normal(r);
        return EF_OK;
    case EF_PRIOR_X_UNIFORM: {
        const double a = sqrt(3.0);
        for (size_t i = 0; i < n; i++) X[i] = (2.0 * ef_rng_uniform(r) - 1.0) * a;
        return EF_OK;
    }
    case EF_PRIOR_X_CORRELATED: return sample_correlated(cfg, r, k, d, X, cov, cond, err);
    case EF_PRIOR_X_NUMERAI: return sample_numerai(cfg, r, k, d, X, err);
    default: return EF_ERR(err, EF_ERR_INVALID, "prior: unknown x sampler %d", (int)xd);
    }
}
