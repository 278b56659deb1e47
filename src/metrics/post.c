/* Prediction post-processing used by predict / ensemble / submit: per-era percentile rank to
 * (0, 1], per-era feature neutralization (rank -> gaussian -> neutralize -> re-rank) and
 * ensembling (per era: gaussianize, standardise, weighted sum, re-rank), as Numerai's example
 * scripts and the benchmark models do (numerai.md 4.3, 4.4). OpenMP over eras. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "base/blas.h"
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

static ef_status check_eras(const size_t *era_off, size_t n_eras, size_t *maxn, ef_error *err) {
    EF_CHECK(era_off && era_off[0] == 0, err, EF_ERR_INVALID, "era offsets must start at 0");
    *maxn = 0;
    for (size_t e = 0; e < n_eras; e++) {
        EF_CHECK(era_off[e + 1] >= era_off[e], err, EF_ERR_INVALID,
                 "era offsets decrease at era %zu", e);
        *maxn = EF_MAX(*maxn, era_off[e + 1] - era_off[e]);
    }
    return EF_OK;
}

/* An era's values that cancel exactly in exact arithmetic (opposite ensemble columns, a fully
 * neutralized prediction) come out as rounding noise ~1e-16 times the inputs' scale; ranking
 * that noise would give arbitrary ranks. An era whose spread is within CONSTANT_RTOL of scale
 * (the largest input magnitude) is constant: every rank tied. */
#define CONSTANT_RTOL 1e-12

static double max_abs(const double *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* 1 when x[0..n) is constant up to rounding relative to scale (NaN counts as constant: the
 * neutralizer's marker for constant input) */
static int near_constant(const double *x, size_t n, double scale) {
    double lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
    }
    return isnan(x[0]) || hi - lo <= CONSTANT_RTOL * scale;
}

static void set_bad(int *bad, int v) {
#ifdef _OPENMP
#pragma omp critical(ef_metrics_flag)
#endif
    *bad = v;
}

ef_status ef_predictions_rank_per_era(double *out, const double *pred, const size_t *era_off,
                                      size_t n_eras, ef_error *err) {
    size_t maxn;
    EF_TRY(check_eras(era_off, n_eras, &maxn, err));
    for (size_t e = 0; e < n_eras; e++)
        EF_TRY(ef_metrics_rank_pct(out + era_off[e], pred + era_off[e],
                                   era_off[e + 1] - era_off[e], err));
    return EF_OK;
}

ef_status ef_predictions_neutralize_per_era(double *out, const double *pred,
                                            const float *features, size_t n_features,
                                            const size_t *era_off, size_t n_eras,
                                            double proportion, ef_error *err) {
    size_t maxn;
    EF_TRY(check_eras(era_off, n_eras, &maxn, err));
    EF_CHECK(isfinite(proportion), err, EF_ERR_INVALID, "neutralize: proportion is not finite");
    size_t N = era_off[n_eras];
    for (size_t i = 0; i < N; i++)
        EF_CHECK(!isnan(pred[i]), err, EF_ERR_INVALID, "neutralize: NaN prediction at row %zu", i);
    int bad = 0;
    ef_blas_begin(); /* once for all eras (each era's neutralize then only counts a reference) */
#ifdef _OPENMP
#pragma omp parallel
#endif
    {
        ef_mx_pair *ws = ef_malloc(2 * (maxn ? maxn : 1) * sizeof(ef_mx_pair));
        if (!ws) set_bad(&bad, EF_ERR_NOMEM);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 2)
#endif
        for (long le = 0; le < (long)n_eras; le++) {
            size_t e = (size_t)le, r0 = era_off[e], n = era_off[e + 1] - r0;
            if (!ws || n == 0) continue;
            double *o = out + r0;
            ef_mx_rank_gauss_ws(o, pred + r0, n, ws, NULL);
            double scale = max_abs(o, n);
            ef_status s = ef_mx_neutralize_gram(o, features + r0 * n_features, n_features,
                                                n_features, n, proportion, NULL);
            if (s != EF_OK) {
                set_bad(&bad, (int)s);
                continue;
            }
            if (near_constant(o, n, scale)) { /* constant predictions, or fully neutralized */
                for (size_t i = 0; i < n; i++) o[i] = 0;
            }
            /* rank_pct in place, with the thread's scratch */
            for (size_t i = 0; i < n; i++) {
                ws[i].v = o[i];
                ws[i].i = i;
            }
            ef_mx_sort_pairs(ws, ws + n, n);
            size_t a = 0;
            while (a < n) {
                size_t b = a + 1;
                while (b < n && ws[b].v == ws[a].v) b++;
                double r = (((double)(a + 1) + (double)b) / 2.0) / (double)n;
                for (size_t k = a; k < b; k++) o[ws[k].i] = r;
                a = b;
            }
        }
        ef_free(ws);
    }
    ef_blas_end();
    if (bad == EF_ERR_NOMEM) return EF_ERR(err, EF_ERR_NOMEM, "neutralize: out of memory");
    if (bad) return EF_ERR(err, (ef_status)bad, "neutralize: NaN in the features or LAPACK failure");
    return EF_OK;
}

ef_status ef_predictions_ensemble(double *out, const double *const *preds, const double *weights,
                                  size_t k, const size_t *era_off, size_t n_eras, ef_error *err) {
    size_t maxn;
    EF_TRY(check_eras(era_off, n_eras, &maxn, err));
    EF_CHECK(k > 0, err, EF_ERR_INVALID, "ensemble: no prediction columns");
    size_t N = era_off[n_eras];
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < N; i++)
            EF_CHECK(!isnan(preds[j][i]), err, EF_ERR_INVALID,
                     "ensemble: NaN in column %zu at row %zu", j, i);
    double *g = ef_malloc((maxn ? maxn : 1) * sizeof(double));
    ef_mx_pair *ws = ef_malloc(2 * (maxn ? maxn : 1) * sizeof(ef_mx_pair));
    if (!g || !ws) {
        ef_free(g);
        ef_free(ws);
        return EF_ERR(err, EF_ERR_NOMEM, "ensemble: out of memory");
    }
    for (size_t e = 0; e < n_eras; e++) {
        size_t r0 = era_off[e], n = era_off[e + 1] - r0;
        double *o = out + r0;
        if (n == 0) continue;
        /* out may alias a column: accumulate in g's sibling only after all columns are read */
        double *acc = ef_calloc(n, sizeof(double));
        if (!acc) {
            ef_free(g);
            ef_free(ws);
            return EF_ERR(err, EF_ERR_NOMEM, "ensemble: out of memory");
        }
        double scale = 0;
        for (size_t j = 0; j < k; j++) {
            ef_mx_rank_gauss_ws(g, preds[j] + r0, n, ws, NULL);
            double mu = ef_metrics_mean(g, n), sd = ef_metrics_std(g, n);
            double w = weights ? weights[j] : 1.0 / (double)k;
            for (size_t i = 0; i < n; i++) g[i] = sd > 0 ? (g[i] - mu) / sd : 0.0;
            for (size_t i = 0; i < n; i++) acc[i] += w * g[i];
            scale += fabs(w) * max_abs(g, n);
        }
        if (near_constant(acc, n, scale)) memset(acc, 0, n * sizeof(double)); /* columns cancel */
        ef_status s = ef_metrics_rank_pct(o, acc, n, err);
        ef_free(acc);
        if (s != EF_OK) {
            ef_free(g);
            ef_free(ws);
            return s;
        }
    }
    ef_free(g);
    ef_free(ws);
    return EF_OK;
}
