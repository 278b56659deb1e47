/* Per-feature scaling of the in-context regressor, fitted on the training rows only:
 *   robust     (x - median) / (IQR / 1.349), clipped to [-4, 4]; a column whose IQR is 0 uses
 *              its standard deviation, and a constant column scale 1 (all zeros after);
 *   rank-gauss ppf(mid-rank / n): the fraction of training values below x (ties counted
 *              half) mapped through the normal quantile function, kept in [0.5/n, 1 - 0.5/n]
 *              (TabPFN v2's quantile transforms; Numerai's rank-gauss of features).
 * Non-finite values are missing in both. Statistics in double; the sort is the only
 * O(n log n) step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "icl/icl_internal.h"

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* linear interpolation between order statistics, as numpy.quantile's default */
static double quantile(const float *v, int64_t k, double q) {
    double pos = q * (double)(k - 1);
    int64_t i = (int64_t)floor(pos);
    if (i >= k - 1) return v[k - 1];
    double f = pos - (double)i;
    return (double)v[i] + f * ((double)v[i + 1] - (double)v[i]);
}

/* the column's non-missing values, sorted, into buf; returns how many */
static int64_t column_sorted(const float *X, int64_t n, int d, int j, float *buf) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = X[(size_t)i * d + j];
        if (isfinite(v)) buf[k++] = v;
    }
    qsort(buf, (size_t)k, sizeof *buf, cmp_float);
    return k;
}

static void robust_stats(const float *v, int64_t k, float *center, float *scale) {
    if (k == 0) {
        *center = 0.0f;
        *scale = 1.0f;
        return;
    }
    double med = quantile(v, k, 0.5), iqr = quantile(v, k, 0.75) - quantile(v, k, 0.25);
    double s = iqr / 1.349;
    if (!(s > 1e-12 * (fabs(med) + 1e-30))) {   /* IQR 0: the standard deviation */
        double mean = 0, ss = 0;
        for (int64_t i = 0; i < k; i++) mean += v[i];
        mean /= (double)k;
        for (int64_t i = 0; i < k; i++) ss += ((double)v[i] - mean) * ((double)v[i] - mean);
        s = sqrt(ss / (double)k);
    }
    *center = (float)med;
    *scale = s > 0 && isfinite(s) ? (float)s : 1.0f;
}

void icl_scaler_free(icl_scaler *s) {
    ef_free(s->center);
    ef_free(s->scale);
    ef_free(s->sorted);
    ef_free(s->count);
    memset(s, 0, sizeof *s);
}

ef_status icl_scaler_fit(icl_scaler *s, ef_icl_scaling kind, const float *X, int64_t n, int d, ef_error *err) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->d = d;
    s->n = n;
    size_t nd;
    if (!ef_mul_ok((size_t)n, (size_t)d, &nd)) return EF_ERR(err, EF_ERR_INVALID, "table of %lld x %d too large", (long long)n, d);
    s->center = ef_malloc((size_t)d * sizeof *s->center);
    s->scale = ef_malloc((size_t)d * sizeof *s->scale);
    float *buf = NULL;
    if (kind == EF_ICL_SCALE_RANKGAUSS) {
        s->sorted = ef_malloc((nd ? nd : 1) * sizeof *s->sorted);
    } else {
        buf = ef_malloc((size_t)n * sizeof *buf);
    }
    s->count = ef_malloc((size_t)d * sizeof *s->count);
    if (!s->center || !s->scale || !s->count || (kind == EF_ICL_SCALE_RANKGAUSS ? !s->sorted : !buf)) {
        ef_free(buf);
        icl_scaler_free(s);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory scaling a table of %lld x %d", (long long)n, d);
    }
    for (int j = 0; j < d; j++) {
        float *v = kind == EF_ICL_SCALE_RANKGAUSS ? s->sorted + (size_t)j * n : buf;
        int64_t k = column_sorted(X, n, d, j, v);
        robust_stats(v, k, &s->center[j], &s->scale[j]);
        s->count[j] = k;
    }
    ef_free(buf);
    return EF_OK;
}

/* number of values < x and <= x in the sorted v (k of them) */
static void rank_bounds(const float *v, int64_t k, float x, int64_t *lt, int64_t *le) {
    int64_t lo = 0, hi = k;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    *lt = lo;
    hi = k;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    *le = lo;
}

float icl_scaler_apply(const icl_scaler *s, int j, float x) {
    if (!isfinite(x) || s->count[j] == 0) return NAN;
    if (s->kind == EF_ICL_SCALE_RANKGAUSS) {
        int64_t k = s->count[j], lt, le;
        if (k == 1) return 0.0f;
        rank_bounds(s->sorted + (size_t)j * s->n, k, x, &lt, &le);
        double p = 0.5 * (double)(lt + le) / (double)k, lo = 0.5 / (double)k;
        p = p < lo ? lo : p > 1.0 - lo ? 1.0 - lo : p;
        return (float)ef_norm_ppf(p);
    }
    float z = (x - s->center[j]) / s->scale[j];
    return z < -ICL_CLIP ? -ICL_CLIP : z > ICL_CLIP ? ICL_CLIP : z;
}
