/* Internal helpers shared by the metrics module's files (not part of the public API). */
#ifndef EF_METRICS_INTERNAL_H
#define EF_METRICS_INTERNAL_H

#include <stddef.h>
#include "eraformer/metrics.h"

/* A value and its position, sorted by value (ties keep position order: stable). */
typedef struct ef_mx_pair {
    double v;
    size_t i;
} ef_mx_pair;

/* Stable sort of p[0..n) by v (no NaN); tmp holds n pairs of scratch. */
void ef_mx_sort_pairs(ef_mx_pair *p, ef_mx_pair *tmp, size_t n);

/* Tie-kept rank of the n values x (no NaN) into out, using caller scratch (2n pairs).
 * Fast path for the per-era drivers: no allocation. */
void ef_mx_rank_tie_kept_ws(double *out, const double *x, size_t n, ef_mx_pair *ws);
/* Stable argsort of x (no NaN) into idx using caller scratch (2n pairs). */
void ef_mx_argsort_ws(size_t *idx, const double *x, size_t n, ef_mx_pair *ws);

/* gaussian(tie_kept_rank(x)) into out (no NaN), caller scratch ws (2n pairs). tab (may be
 * NULL) holds ppf((k + 0.5)/n) for k < n (ef_mx_gauss_table): untied values read it instead
 * of calling ppf, with bitwise the same result. */
void ef_mx_rank_gauss_ws(double *out, const double *x, size_t n, ef_mx_pair *ws, const double *tab);
void ef_mx_gauss_table(double *tab, size_t n);
/* sign(v)|v|^1.5 as |v| sqrt(|v|) (within an ulp of pow, and several times faster). */
double ef_mx_pow15(double v);

/* CORR from gaussianized predictions g and raw targets t (m rows, no NaN) with the target
 * mean tmean taken before filtering. Scratch: 6m doubles (top_bottom may take a row twice),
 * m size_t, m bytes, 2m pairs. */
double ef_mx_corr_core(const double *g, const double *t, double tmean, size_t m,
                       const ef_corr_opts *o, double *dbuf, size_t *idx, unsigned char *mark,
                       ef_mx_pair *ws);
/* correlation_contribution from gaussianized p and meta m and raw targets t (n rows, no NaN).
 * Scratch: 2n doubles, n size_t, 2n pairs. */
double ef_mx_mmc_core(const double *p, const double *mm, const double *t, size_t n,
                      size_t top_bottom, double *dbuf, size_t *idx, ef_mx_pair *ws);

/* Two-pass Pearson of n pairs (NaN when n < 2 or a side is constant). */
double ef_mx_pearson(const double *x, const double *y, size_t n);

/* Fills out with rows of F (float or double, row stride ldf) as a double matrix n x nf,
 * column-major with leading dimension n, and reports whether it saw a NaN. */
int ef_mx_features_colmajor(double *out, const double *F64, const float *F32, size_t ldf,
                            size_t nf, size_t n);

/* Neutralize columns of s (column-major, n x k, ld n) in place against X = [F | 1] given
 * column-major F (n x nf, ld n): s -= proportion * X pinv(X) s with rcond 1e-6 via dgelsd.
 * Columns with std 0 become NaN. */
ef_status ef_mx_neutralize_colmajor(double *s, size_t k, const double *Fcm, size_t nf, size_t n,
                                    double proportion, ef_error *err);

/* Rank-deficient-safe projection using the Gram matrix of X = [F | 1] and its eigen
 * decomposition (pinv cutoff lambda_i > (1e-6)^2 lambda_max, the SVD rule on sigma^2):
 * the fast path of the per-era drivers. s (n) neutralized in place: s -= proportion * proj;
 * a constant s becomes NaN. EF_ERR_INVALID for NaN features. Scratch is allocated inside. */
ef_status ef_mx_neutralize_gram(double *s, const float *F32, size_t ldf, size_t nf, size_t n,
                                double proportion, ef_error *err);

#endif
