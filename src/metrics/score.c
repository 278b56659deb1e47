/* Per-era scoring driver: CORR, MMC, BMC, FNC, feature exposure and correlation with the
 * example predictions for every era of a dataset, in parallel over eras (OpenMP). Each era is
 * computed by one thread from its own rows only and BLAS runs single-threaded, so the result
 * is bitwise the same for any thread count. An era whose score cannot be computed (no rows,
 * overlap rule failed, constant column) gets NaN; only allocation failure is an error. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "base/blas.h"
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

void ef_era_scores_free(ef_era_scores *s) {
    if (!s) return;
    ef_free(s->corr);   /* one block: every array points into it */
    ef_free(s->feature_corr);
    memset(s, 0, sizeof *s);
}

static void flag_nomem(int *flag) {
#ifdef _OPENMP
#pragma omp critical(ef_metrics_flag)
#endif
    *flag = 1;
}

/* Per-thread scratch for one era of up to maxn rows and nf features. */
typedef struct era_ws {
    double *g, *tab, *mg, *fn, *dbuf, *acc;
    size_t *idx;
    unsigned char *mark;
    ef_mx_pair *ws;
    void *block;
} era_ws;

static int era_ws_alloc(era_ws *w, size_t maxn, size_t nf) {
    size_t n = maxn ? maxn : 1;
    size_t bytes = (10 * n + 4 * (nf + 1)) * sizeof(double) + n * sizeof(size_t) +
                   2 * n * sizeof(ef_mx_pair) + n;
    unsigned char *m = ef_malloc(bytes);
    w->block = m;
    if (!m) return 0;
    w->ws = (ef_mx_pair *)m;
    w->idx = (size_t *)(w->ws + 2 * n);
    w->g = (double *)(w->idx + n);
    w->tab = w->g + n;
    w->mg = w->tab + n;
    w->fn = w->mg + n;
    w->dbuf = w->fn + n;               /* 6n: ef_mx_corr_core's scratch */
    w->acc = w->dbuf + 6 * n;          /* 4 (nf + 1) */
    w->mark = (unsigned char *)(w->acc + 4 * (nf + 1));
    return 1;
}

static int any_nan(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) return 1;
    return 0;
}

/* Spearman over the rows where both are present. */
static double era_spearman(const double *a, const double *b, size_t n, double *x, double *y,
                           ef_mx_pair *ws) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(a[i]) && !isnan(b[i])) {
            x[m] = a[i];
            y[m] = b[i];
            m++;
        }
    if (m < 2) return NAN;
    ef_mx_rank_tie_kept_ws(x, x, m, ws);
    ef_mx_rank_tie_kept_ws(y, y, m, ws);
    return ef_mx_pearson(x, y, m);
}

/* Feature exposure of NaN-free predictions, two passes over the row-major block (the same
 * two-pass Pearson as ef_metrics_feature_exposure, summed in row order). Returns 0 when a
 * feature holds NaN (the caller falls back to the pairwise-complete reference). */
static int exposure_rowmajor(double *corr, double *max_abs, double *rms, const double *p,
                             const float *F, size_t nf, size_t n, double *acc) {
    double *mf = acc, *sfp = acc + nf, *sff = acc + 2 * nf;
    double mp = 0;
    for (size_t j = 0; j < nf; j++) mf[j] = sfp[j] = sff[j] = 0;
    for (size_t i = 0; i < n; i++) {
        mp += p[i];
        const float *r = F + i * nf;
        for (size_t j = 0; j < nf; j++) mf[j] += r[j];
    }
    mp /= (double)n;
    for (size_t j = 0; j < nf; j++) {
        if (isnan(mf[j])) return 0;
        mf[j] /= (double)n;
    }
    double spp = 0;
    for (size_t i = 0; i < n; i++) {
        double dp = p[i] - mp;
        spp += dp * dp;
        const float *r = F + i * nf;
        for (size_t j = 0; j < nf; j++) {
            double d = r[j] - mf[j];
            sfp[j] += d * dp;
            sff[j] += d * d;
        }
    }
    double best = NAN, ss = 0;
    size_t used = 0;
    for (size_t j = 0; j < nf; j++) {
        double c = (n >= 2 && sff[j] > 0 && spp > 0) ? sfp[j] / sqrt(sff[j] * spp) : NAN;
        corr[j] = c;
        if (isnan(c)) continue;
        used++;
        ss += c * c;
        if (isnan(best) || fabs(c) > best) best = fabs(c);
    }
    *max_abs = best;
    *rms = used ? sqrt(ss / (double)used) : NAN;
    return 1;
}

/* All scores of era e. Returns EF_ERR_NOMEM or EF_OK (unscorable values are NaN). */
static ef_status score_era(ef_era_scores *out, const ef_score_input *in, size_t e, era_ws *w,
                           size_t *failed) {
    size_t r0 = in->era_off[e], n = in->era_off[e + 1] - r0, nf = out->n_features;
    if (n == 0) return EF_OK;
    const double *p = in->pred + r0, *t = in->target + r0;
    const float *F = nf ? in->features + r0 * nf : NULL;
    ef_error eerr;
    ef_status s;
    ef_corr_opts o = ef_corr_opts_default();
    out->n_rows[e] = (double)n;
    int nan_p = any_nan(p, n), nan_t = any_nan(t, n);
    /* fast path: one rank + gaussian of the predictions for CORR, MMC, BMC and FNC, and a
     * ppf table for untied ranks; bitwise equal to the single-era functions */
    if (!nan_p) {
        ef_mx_gauss_table(w->tab, n);
        ef_mx_rank_gauss_ws(w->g, p, n, w->ws, w->tab);
    }
    double tmean = 0;
    for (size_t i = 0; i < n; i++) tmean += t[i];
    tmean /= (double)n;
    if (!nan_p && !nan_t) {
        out->corr[e] = n >= 2 ? ef_mx_corr_core(w->g, t, tmean, n, &o, w->dbuf, w->idx, w->mark, w->ws) : NAN;
    } else if ((s = ef_metrics_numerai_corr(&out->corr[e], p, t, n, NULL, &eerr)) == EF_ERR_NOMEM) {
        return s;
    }
    if (isnan(out->corr[e])) {   /* count it as a failure only if the era has targets */
        size_t present = 0;
        for (size_t i = 0; i < n; i++) present += !isnan(t[i]);
        if (present) (*failed)++;
    }
    const double *other[2] = {in->meta, in->bench};
    double *dest[2] = {out->mmc, out->bmc};
    for (int k = 0; k < 2; k++) {
        if (!other[k]) continue;
        const double *m = other[k] + r0;
        if (!nan_p && !nan_t && !any_nan(m, n)) {
            if (n < 2) continue;
            ef_mx_rank_gauss_ws(w->mg, m, n, w->ws, w->tab);
            dest[k][e] = ef_mx_mmc_core(w->g, w->mg, t, n, 0, w->dbuf, w->idx, w->ws);
        } else if ((s = ef_metrics_correlation_contribution(&dest[k][e], p, m, t, n, NULL, &eerr)) ==
                   EF_ERR_NOMEM) {
            return s;
        }
    }
    if (in->example) out->example_corr[e] = era_spearman(p, in->example + r0, n, w->fn, w->mg, w->ws);
    if (!nf) return EF_OK;
    /* FNC: neutralize the gaussianized predictions (numerai-tools asserts no NaN in them) */
    if (!nan_p && n >= 2) {
        memcpy(w->fn, w->g, n * sizeof(double));
        s = ef_mx_neutralize_gram(w->fn, F, nf, nf, n, 1.0, &eerr);
        if (s == EF_ERR_NOMEM) return s;
        if (s == EF_OK && !isnan(w->fn[0])) {
            double sd = ef_metrics_std(w->fn, n);
            for (size_t i = 0; i < n; i++) w->fn[i] /= sd;
            if (!nan_t) {
                ef_mx_rank_gauss_ws(w->mg, w->fn, n, w->ws, w->tab);
                out->fnc[e] = ef_mx_corr_core(w->mg, t, tmean, n, &o, w->dbuf, w->idx, w->mark, w->ws);
            } else if ((s = ef_metrics_numerai_corr(&out->fnc[e], w->fn, t, n, NULL, &eerr)) ==
                       EF_ERR_NOMEM) {
                return s;
            }
        }
    }
    double *fc = out->feature_corr + e * nf;
    if (nan_p || !exposure_rowmajor(fc, &out->max_exposure[e], &out->rms_exposure[e], p, F, nf, n,
                                    w->acc)) {
        s = ef_metrics_feature_exposure(fc, &out->max_exposure[e], NULL, &out->rms_exposure[e], p,
                                        NULL, F, nf, nf, n, &eerr);
        if (s == EF_ERR_NOMEM) return s;
    }
    return EF_OK;
}

ef_status ef_era_scores_compute(ef_era_scores *out, const ef_score_input *in, ef_error *err) {
    memset(out, 0, sizeof *out);
    EF_CHECK(in && in->era_off && in->pred && in->target, err, EF_ERR_INVALID,
             "score: predictions, targets and era offsets are required");
    size_t E = in->n_eras, nf = in->features ? in->n_features : 0;
    EF_CHECK(in->era_off[0] == 0 && in->era_off[E] == in->n_rows, err, EF_ERR_INVALID,
             "score: era offsets must start at 0 and end at n_rows (%zu)", in->n_rows);
    size_t maxn = 0;
    for (size_t e = 0; e < E; e++) {
        EF_CHECK(in->era_off[e + 1] >= in->era_off[e], err, EF_ERR_INVALID,
                 "score: era offsets decrease at era %zu", e);
        maxn = EF_MAX(maxn, in->era_off[e + 1] - in->era_off[e]);
    }
    double *blk = ef_malloc((8 * E + 1) * sizeof(double));
    if (!blk) return EF_ERR(err, EF_ERR_NOMEM, "score: out of memory for %zu eras", E);
    out->n_eras = E;
    out->n_features = nf;
    out->corr = blk;
    out->mmc = blk + E;
    out->bmc = blk + 2 * E;
    out->fnc = blk + 3 * E;
    out->max_exposure = blk + 4 * E;
    out->rms_exposure = blk + 5 * E;
    out->example_corr = blk + 6 * E;
    out->n_rows = blk + 7 * E;
    for (size_t i = 0; i < 8 * E; i++) blk[i] = NAN;
    if (nf) {
        size_t fb;
        if (!ef_mul_ok(E, nf * sizeof(double), &fb) || !(out->feature_corr = ef_malloc(fb ? fb : 1))) {
            ef_era_scores_free(out);
            return EF_ERR(err, EF_ERR_NOMEM, "score: out of memory for the exposure table");
        }
        for (size_t i = 0; i < E * nf; i++) out->feature_corr[i] = NAN;
    }
    ef_blas_begin(); /* once for all eras (each era's neutralize then only counts a reference) */
    int nomem = 0;
    size_t failed = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(+ : failed)
#endif
    {
        era_ws w;
        int ok = era_ws_alloc(&w, maxn, nf);
        if (!ok) flag_nomem(&nomem);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 2)
#endif
        for (long le = 0; le < (long)E; le++) {
            if (!ok) continue;
            if (score_era(out, in, (size_t)le, &w, &failed) == EF_ERR_NOMEM) flag_nomem(&nomem);
        }
        ef_free(w.block);
    }
    ef_blas_end();
    out->n_failed_corr = failed;
    if (nomem) {
        ef_era_scores_free(out);
        return EF_ERR(err, EF_ERR_NOMEM, "score: out of memory while scoring eras");
    }
    return EF_OK;
}
