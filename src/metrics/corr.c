/* numerai_corr (CORR) and correlation_contribution (MMC / BMC) for one era, following
 * numerai-tools 0.6.0 scoring.py step by step: NaN filtering with the 80% overlap rule
 * (filter_sort_index), tie-kept rank -> gaussian -> power 1.5, top/bottom selection with a
 * stable argsort (filter_sort_top_bottom), orthogonalisation against the meta model and the
 * 0..1 -> 0..4 target rescaling. Inputs are aligned rows, sorted by id.
 * The *_core functions take already gaussianized inputs: the per-era driver shares one
 * rank+gaussian of the predictions between CORR, MMC and FNC. */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

ef_corr_opts ef_corr_opts_default(void) {
    ef_corr_opts o = {1, 0, 0.2};
    return o;
}

/* filter_sort_index's assertion: len(ids) / len(s) >= 1 - ratio for an input of length len. */
static int overlap_ok(size_t m, size_t len, double ratio) {
    return len > 0 && (double)m / (double)len >= 1.0 - ratio;
}

static ef_status check_opts(const ef_corr_opts *o, ef_error *err) {
    EF_CHECK(o->max_filtered_ratio >= 0 && o->max_filtered_ratio <= 1, err, EF_ERR_INVALID,
             "max_filtered_ratio must be in [0, 1], got %g", o->max_filtered_ratio);
    return EF_OK;
}

// ---- numerai_corr ----------------------------------------------------------------------------

/* Pearson over the top/bottom n of pp: stable argsort, concat bottom n and top n (a row may
 * appear twice when 2n > m, as with numpy), then back in row (= id) order. */
static double pearson_top_bottom(const double *t, const double *pp, size_t m, size_t tb,
                                 ef_mx_pair *ws, size_t *idx, unsigned char *mark, double *bt,
                                 double *bp) {
    ef_mx_argsort_ws(idx, pp, m, ws);
    size_t nb = EF_MIN(tb, m);
    memset(mark, 0, m);
    for (size_t i = 0; i < nb; i++) mark[idx[i]]++;
    for (size_t i = m - nb; i < m; i++) mark[idx[i]]++;
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        for (unsigned c = 0; c < mark[i]; c++) {
            bt[k] = t[i];
            bp[k] = pp[i];
            k++;
        }
    return ef_mx_pearson(bt, bp, k);
}

double ef_mx_corr_core(const double *g, const double *traw, double tmean, size_t m,
                       const ef_corr_opts *o, double *dbuf, size_t *idx, unsigned char *mark,
                       ef_mx_pair *ws) {
    /* top/bottom rows may appear twice (2 * top_bottom > m): b1 and b2 hold 2m each */
    double *pp = dbuf, *t = dbuf + m, *b1 = dbuf + 2 * m, *b2 = dbuf + 4 * m;
    for (size_t i = 0; i < m; i++) {
        pp[i] = ef_mx_pow15(g[i]);
        double c = traw[i] - tmean;
        t[i] = o->target_pow15 ? ef_mx_pow15(c) : c;
    }
    if (o->top_bottom > 0) return pearson_top_bottom(t, pp, m, o->top_bottom, ws, idx, mark, b1, b2);
    return ef_mx_pearson(t, pp, m);
}

ef_status ef_metrics_numerai_corr(double *out, const double *pred, const double *target,
                                  size_t n, const ef_corr_opts *opts, ef_error *err) {
    *out = NAN;
    ef_corr_opts o = opts ? *opts : ef_corr_opts_default();
    EF_TRY(check_opts(&o, err));
    EF_CHECK(n > 0, err, EF_ERR_INVALID, "numerai_corr: no rows");
    /* 1. centre the target over its non-NaN values, before filtering */
    double tsum = 0;
    size_t tcount = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(target[i])) {
            tsum += target[i];
            tcount++;
        }
    EF_CHECK(tcount > 0, err, EF_ERR_INVALID, "numerai_corr: every target is NaN");
    double tmean = tsum / (double)tcount;
    /* 2. filter_sort_index(targets, predictions) */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += !isnan(target[i]) && !isnan(pred[i]);
    EF_CHECK(overlap_ok(m, n, o.max_filtered_ratio), err, EF_ERR_INVALID,
             "numerai_corr: only %zu of %zu rows have both a prediction and a target "
             "(need >= %.0f%% overlapping ids)", m, n, 100.0 * (1.0 - o.max_filtered_ratio));
    EF_CHECK(m >= 2, err, EF_ERR_INVALID, "numerai_corr: %zu usable rows (need at least 2)", m);
    /* workspace: 2m pairs, idx (m), g, p, t and 6 core doubles, m marks */
    size_t per = 2 * sizeof(ef_mx_pair) + sizeof(size_t) + 9 * sizeof(double) + 1, bytes;
    if (!ef_mul_ok(m, per, &bytes))
        return EF_ERR(err, EF_ERR_NOMEM, "numerai_corr: %zu rows overflow", m);
    unsigned char *mem = ef_malloc(bytes);
    if (!mem) return EF_ERR(err, EF_ERR_NOMEM, "numerai_corr: out of memory for %zu rows", m);
    ef_mx_pair *ws = (ef_mx_pair *)mem;
    size_t *idx = (size_t *)(ws + 2 * m);
    double *g = (double *)(idx + m), *p = g + m, *t = p + m, *dbuf = t + m;
    unsigned char *mark = (unsigned char *)(dbuf + 6 * m);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(target[i]) && !isnan(pred[i])) {
            p[k] = pred[i];
            t[k] = target[i];
            k++;
        }
    /* 3. P' = power(gaussian(tie_kept_rank(P)), 1.5); t' = power(t, 1.5); 4. Pearson */
    ef_mx_rank_gauss_ws(g, p, m, ws, NULL);
    *out = ef_mx_corr_core(g, t, tmean, m, &o, dbuf, idx, mark, ws);
    ef_free(mem);
    return EF_OK;
}

// ---- correlation_contribution ------------------------------------------------------------------

double ef_mx_mmc_core(const double *p, const double *mm, const double *traw, size_t m,
                      size_t top_bottom, double *dbuf, size_t *idx, ef_mx_pair *ws) {
    double *q = dbuf, *t = dbuf + m;
    double pm = 0, mmm = 0;
    for (size_t i = 0; i < m; i++) {
        pm += p[i] * mm[i];
        mmm += mm[i] * mm[i];
    }
    double beta = pm / mmm;  /* NaN (0/0) for a constant meta model, as numpy */
    for (size_t i = 0; i < m; i++) q[i] = p[i] - mm[i] * beta;
    int unit = 1;
    for (size_t i = 0; i < m; i++) unit &= traw[i] >= 0 && traw[i] <= 1;
    double ts = 0;
    for (size_t i = 0; i < m; i++) {
        t[i] = unit ? traw[i] * 4 : traw[i];
        ts += t[i];
    }
    double tmean = ts / (double)m, dot = 0;
    for (size_t i = 0; i < m; i++) t[i] -= tmean;
    if (top_bottom > 0) {
        /* keep the top/bottom n of q (stable argsort), zero the rest, divide by 2n */
        size_t nb = EF_MIN(top_bottom, m);
        ef_mx_argsort_ws(idx, q, m, ws);
        for (size_t i = 0; i < nb; i++) dot += t[idx[i]] * q[idx[i]];
        for (size_t i = m - nb; i < m; i++) dot += t[idx[i]] * q[idx[i]];
        return dot / (2.0 * (double)top_bottom);
    }
    for (size_t i = 0; i < m; i++) dot += t[i] * q[i];
    return dot / (double)m;
}

ef_status ef_metrics_correlation_contribution(double *out, const double *pred,
                                              const double *meta, const double *target,
                                              size_t n, const ef_corr_opts *opts,
                                              ef_error *err) {
    *out = NAN;
    ef_corr_opts o = opts ? *opts : ef_corr_opts_default();
    EF_TRY(check_opts(&o, err));
    EF_CHECK(n > 0, err, EF_ERR_INVALID, "correlation_contribution: no rows");
    double r = o.max_filtered_ratio;
    /* Pairwise filtering exactly as numerai-tools: (mm, P), then (t, P'), then (t', mm'). */
    size_t s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        int pm = !isnan(pred[i]) && !isnan(meta[i]);
        s1 += pm;
        s2 += pm && !isnan(target[i]);
    }
    /* step 1: ids non-NaN in mm and P (Series lengths n include the NaN rows) */
    EF_CHECK(overlap_ok(s1, n, r), err, EF_ERR_INVALID,
             "correlation_contribution: only %zu of %zu rows have both a prediction and a "
             "meta/benchmark value (need >= %.0f%% overlap)", s1, n, 100.0 * (1.0 - r));
    /* step 2: t (length n) against P filtered in step 1 (length s1); step 3: t' (s2) against
     * mm' (s1) over the same ids */
    EF_CHECK(overlap_ok(s2, n, r) && overlap_ok(s2, s1, r), err, EF_ERR_INVALID,
             "correlation_contribution: only %zu of %zu rows have a target (need >= %.0f%%)",
             s2, n, 100.0 * (1.0 - r));
    size_t m = s2;
    EF_CHECK(m >= 2, err, EF_ERR_INVALID, "correlation_contribution: %zu usable rows", m);
    size_t per = 2 * sizeof(ef_mx_pair) + sizeof(size_t) + 6 * sizeof(double), bytes;
    if (!ef_mul_ok(m, per, &bytes))
        return EF_ERR(err, EF_ERR_NOMEM, "correlation_contribution: %zu rows overflow", m);
    unsigned char *mem = ef_malloc(bytes);
    if (!mem) return EF_ERR(err, EF_ERR_NOMEM, "correlation_contribution: out of memory");
    ef_mx_pair *ws = (ef_mx_pair *)mem;
    size_t *idx = (size_t *)(ws + 2 * m);
    double *p = (double *)(idx + m), *mm = p + m, *t = mm + m, *b = t + m, *dbuf = b + m;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(pred[i]) && !isnan(meta[i]) && !isnan(target[i])) {
            b[k] = pred[i];
            t[k] = target[i];
            k++;
        }
    ef_mx_rank_gauss_ws(p, b, m, ws, NULL);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(pred[i]) && !isnan(meta[i]) && !isnan(target[i])) b[k++] = meta[i];
    ef_mx_rank_gauss_ws(mm, b, m, ws, NULL);
    *out = ef_mx_mmc_core(p, mm, t, m, o.top_bottom, dbuf, idx, ws);
    ef_free(mem);
    return EF_OK;
}
