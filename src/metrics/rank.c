/* Ranking, the inverse normal CDF and the elementary statistics numerai-tools builds on:
 * tie-kept / tie-broken / percentile ranks (pandas rank semantics, NaN excluded), gaussian
 * (scipy norm.ppf), signed power, mean, std (ddof 0), Pearson and Spearman.
 *
 * Ranks sort (value, position) pairs with a stable merge sort, so ties are detected exactly
 * and "first" order is the position order. norm_ppf (src/base/normal.c) is Wichura's AS241 (PPND16, Applied
 * Statistics 37(3), 1988) refined by one Newton step on erfc, which brings it to ~1e-16
 * relative (scipy's ndtri is itself within a few ulp). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

// ---- sorting ---------------------------------------------------------------------------------

static void insertion_sort(ef_mx_pair *p, size_t n) {
    for (size_t i = 1; i < n; i++) {
        ef_mx_pair t = p[i];
        size_t j = i;
        while (j > 0 && p[j - 1].v > t.v) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = t;
    }
}

/* Merge sort: the fallback for huge n (radix counters are 32-bit). */
static void merge_sort_pairs(ef_mx_pair *p, ef_mx_pair *tmp, size_t n) {
    const size_t RUN = 24;
    for (size_t s = 0; s < n; s += RUN) insertion_sort(p + s, EF_MIN(RUN, n - s));
    ef_mx_pair *src = p, *dst = tmp;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = EF_MIN(lo + w, n), hi = EF_MIN(lo + 2 * w, n);
            size_t a = lo, b = mid, o = lo;
            if (mid >= hi || src[mid - 1].v <= src[mid].v) {   /* already in order */
                memcpy(dst + lo, src + lo, (hi - lo) * sizeof *src);
                continue;
            }
            while (a < mid && b < hi) dst[o++] = (src[b].v < src[a].v) ? src[b++] : src[a++];
            while (a < mid) dst[o++] = src[a++];
            while (b < hi) dst[o++] = src[b++];
        }
        ef_mx_pair *t = src; src = dst; dst = t;
    }
    if (src != p) memcpy(p, src, n * sizeof *p);
}

/* Order-preserving map of a double (no NaN) to an unsigned key; -0.0 maps like +0.0 so equal
 * values stay in position order. */
static inline uint64_t radix_key(double v) {
    uint64_t u;
    if (v == 0) v = 0.0;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

/* Stable sort by value: LSD radix sort on the 64-bit keys in 11-bit digits, skipping the
 * digits all keys share (most of them for predictions in [0, 1]). Stability keeps ties in
 * position order, which tie_broken_rank ("first") and the stable argsort rely on. */
void ef_mx_sort_pairs(ef_mx_pair *p, ef_mx_pair *tmp, size_t n) {
    enum { BITS = 11, NB = 1 << BITS, ND = 6 };
    if (n < 64) {
        insertion_sort(p, n);
        return;
    }
    if (n > 0xffffffffu) {
        merge_sort_pairs(p, tmp, n);
        return;
    }
    uint32_t cnt[ND][NB];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = radix_key(p[i].v);
        for (int d = 0; d < ND; d++) cnt[d][(k >> (d * BITS)) & (NB - 1)]++;
    }
    ef_mx_pair *src = p, *dst = tmp;
    for (int d = 0; d < ND; d++) {
        uint64_t first = (radix_key(p[0].v) >> (d * BITS)) & (NB - 1);
        if (cnt[d][first] == n) continue;   /* every key has this digit: nothing to do */
        uint32_t sum = 0;
        for (int b = 0; b < NB; b++) {
            uint32_t c = cnt[d][b];
            cnt[d][b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t k = radix_key(src[i].v);
            dst[cnt[d][(k >> (d * BITS)) & (NB - 1)]++] = src[i];
        }
        ef_mx_pair *t = src; src = dst; dst = t;
    }
    if (src != p) memcpy(p, src, n * sizeof *p);
}

// ---- ranks -------------------------------------------------------------------------------------

enum { RANK_KEPT, RANK_BROKEN, RANK_PCT };

/* Ranks the values of p (sorted, m of them) into out[p[k].i]. */
static void assign_ranks(double *out, const ef_mx_pair *p, size_t m, int kind) {
    double cnt = (double)m;
    size_t s = 0;
    while (s < m) {
        size_t e = s + 1;
        while (e < m && p[e].v == p[s].v) e++;
        if (kind == RANK_BROKEN) {
            for (size_t k = s; k < e; k++) out[p[k].i] = ((double)(k + 1) - 0.5) / cnt;
        } else {
            /* pandas: average of the 1-based ranks s+1 .. e */
            double avg = ((double)(s + 1) + (double)e) / 2.0;
            double r = kind == RANK_KEPT ? (avg - 0.5) / cnt : avg / cnt;
            for (size_t k = s; k < e; k++) out[p[k].i] = r;
        }
        s = e;
    }
}

static ef_status rank_generic(double *out, const double *x, size_t n, int kind, ef_error *err) {
    if (n == 0) return EF_OK;
    size_t bytes;
    if (!ef_mul_ok(n, 2 * sizeof(ef_mx_pair), &bytes))
        return EF_ERR(err, EF_ERR_NOMEM, "rank: %zu values overflow the workspace size", n);
    ef_mx_pair *p = ef_malloc(bytes);
    if (!p) return EF_ERR(err, EF_ERR_NOMEM, "rank: out of memory for %zu values", n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        p[m].v = x[i];
        p[m].i = i;
        m++;
    }
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) out[i] = NAN;
    ef_mx_sort_pairs(p, p + n, m);
    assign_ranks(out, p, m, kind);
    ef_free(p);
    return EF_OK;
}

ef_status ef_metrics_rank_tie_kept(double *out, const double *x, size_t n, ef_error *err) {
    return rank_generic(out, x, n, RANK_KEPT, err);
}

ef_status ef_metrics_rank_tie_broken(double *out, const double *x, size_t n, ef_error *err) {
    return rank_generic(out, x, n, RANK_BROKEN, err);
}

ef_status ef_metrics_rank_pct(double *out, const double *x, size_t n, ef_error *err) {
    return rank_generic(out, x, n, RANK_PCT, err);
}

void ef_mx_rank_tie_kept_ws(double *out, const double *x, size_t n, ef_mx_pair *ws) {
    for (size_t i = 0; i < n; i++) {
        ws[i].v = x[i];
        ws[i].i = i;
    }
    ef_mx_sort_pairs(ws, ws + n, n);
    assign_ranks(out, ws, n, RANK_KEPT);
}

void ef_mx_argsort_ws(size_t *idx, const double *x, size_t n, ef_mx_pair *ws) {
    for (size_t i = 0; i < n; i++) {
        ws[i].v = x[i];
        ws[i].i = i;
    }
    ef_mx_sort_pairs(ws, ws + n, n);
    for (size_t i = 0; i < n; i++) idx[i] = ws[i].i;
}

void ef_mx_gauss_table(double *tab, size_t n) {
    for (size_t k = 0; k < n; k++) tab[k] = ef_metrics_norm_ppf(((double)(k + 1) - 0.5) / (double)n);
}

void ef_mx_rank_gauss_ws(double *out, const double *x, size_t n, ef_mx_pair *ws, const double *tab) {
    for (size_t i = 0; i < n; i++) {
        ws[i].v = x[i];
        ws[i].i = i;
    }
    ef_mx_sort_pairs(ws, ws + n, n);
    /* the same arithmetic as assign_ranks(RANK_KEPT) + ppf; an untied value's rank is
     * ((s+1) - 0.5)/n exactly, which is what the table holds */
    double cnt = (double)n;
    size_t s = 0;
    while (s < n) {
        size_t e = s + 1;
        while (e < n && ws[e].v == ws[s].v) e++;
        double z;
        if (tab && e == s + 1) {
            z = tab[s];
        } else {
            double avg = ((double)(s + 1) + (double)e) / 2.0;
            z = ef_metrics_norm_ppf((avg - 0.5) / cnt);
        }
        for (size_t k = s; k < e; k++) out[ws[k].i] = z;
        s = e;
    }
}

double ef_mx_pow15(double v) {
    double a = fabs(v);
    a *= sqrt(a);
    return v < 0 ? -a : (v > 0 ? a : (isnan(v) ? NAN : 0.0));
}

// ---- inverse normal CDF (in base: ef_norm_ppf) ----------------------------------------------

double ef_metrics_norm_ppf(double p) { return ef_norm_ppf(p); }

void ef_metrics_gaussianize(double *out, const double *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ef_metrics_norm_ppf(x[i]);
}

void ef_metrics_power(double *out, const double *x, size_t n, double p) {
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double a = pow(fabs(v), p);
        out[i] = v < 0 ? -a : (v > 0 ? a : (isnan(v) ? NAN : 0.0));
    }
}

// ---- moments and correlations --------------------------------------------------------------

double ef_metrics_mean(const double *x, size_t n) {
    if (n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s / (double)n;
}

double ef_metrics_std(const double *x, size_t n) {
    if (n == 0) return NAN;
    double m = ef_metrics_mean(x, n), s = 0;
    for (size_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (double)n);
}

double ef_mx_pearson(const double *x, const double *y, size_t n) {
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx <= 0 || syy <= 0) return NAN;
    return sxy / sqrt(sxx * syy);
}

double ef_metrics_pearson(const double *x, const double *y, size_t n) {
    return ef_mx_pearson(x, y, n);
}

ef_status ef_metrics_spearman(double *out, const double *x, const double *y, size_t n,
                              ef_error *err) {
    *out = NAN;
    for (size_t i = 0; i < n; i++)
        EF_CHECK(!isnan(x[i]) && !isnan(y[i]), err, EF_ERR_INVALID,
                 "spearman: NaN at row %zu (filter missing values first)", i);
    if (n < 2) return EF_OK;
    size_t bytes;
    if (!ef_mul_ok(n, 2 * sizeof(double) + 2 * sizeof(ef_mx_pair), &bytes))
        return EF_ERR(err, EF_ERR_NOMEM, "spearman: %zu rows overflow", n);
    double *rx = ef_malloc(bytes);
    if (!rx) return EF_ERR(err, EF_ERR_NOMEM, "spearman: out of memory for %zu rows", n);
    double *ry = rx + n;
    ef_mx_pair *ws = (ef_mx_pair *)(ry + n);
    ef_mx_rank_tie_kept_ws(rx, x, n, ws);
    ef_mx_rank_tie_kept_ws(ry, y, n, ws);
    *out = ef_mx_pearson(rx, ry, n);
    ef_free(rx);
    return EF_OK;
}
