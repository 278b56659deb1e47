/* The ensemble members of the in-context regressor: which columns (or which projection of
 * them), which signs and which context rows each one sees. A member's plan is a pure function
 * of (seed, member index, table shape), drawn from its own counter-based stream, so it does not
 * depend on the other members, the thread count or the order of the calls. */
#include <math.h>
#include <string.h>
#include "icl/icl_internal.h"

enum { STREAM_MEMBER = 0x1C100000, STREAM_ROUND = 0x1C200000 };

void icl_member_free(icl_member *mb) {
    ef_free(mb->col);
    ef_free(mb->sign);
    ef_free(mb->proj);
    ef_free(mb->rows);
    memset(mb, 0, sizeof *mb);
}

/* d <= D: all columns (shuffled when sym). d > D: the slot-th slice of D columns of round
 * e / R's permutation, R = ceil(d / D) members per round, so every R consecutive members see
 * every column (the last slice wraps around to the first columns). */
static ef_status plan_columns(icl_member *mb, int e, int sym, ef_rng *r, const icl_plan_args *a, ef_error *err) {
    int D = a->D, d = a->d;
    if (d <= D) {
        mb->width = d;
        for (int k = 0; k < d; k++) mb->col[k] = k;
        if (sym) ef_rng_shuffle_int(r, mb->col, (size_t)d);
        return EF_OK;
    }
    int R = (d + D - 1) / D, round = e / R, slot = e % R;
    int *perm = ef_malloc((size_t)d * sizeof *perm);
    if (!perm) return EF_ERR(err, EF_ERR_NOMEM, "out of memory planning member %d", e);
    for (int j = 0; j < d; j++) perm[j] = j;
    ef_rng rr;
    ef_rng_init(&rr, a->o->seed, STREAM_ROUND + (uint64_t)round);
    ef_rng_shuffle_int(&rr, perm, (size_t)d);
    mb->width = D;
    for (int k = 0; k < D; k++) mb->col[k] = perm[((size_t)slot * D + k) % (size_t)d];
    ef_free(perm);
    return EF_OK;
}

/* a Gaussian (D, d) projection, each output column scaled to unit standard deviation over the
 * training rows (missing values count as 0, the scaled columns' centre) */
static ef_status plan_projection(icl_member *mb, int e, ef_rng *r, const icl_plan_args *a, ef_error *err) {
    int D = a->D, d = a->d;
    mb->proj = ef_malloc((size_t)D * d * sizeof *mb->proj);
    if (!mb->proj) return EF_ERR(err, EF_ERR_NOMEM, "out of memory for member %d's projection (%d x %d)", e, D, d);
    mb->width = D;
    for (size_t i = 0; i < (size_t)D * d; i++) mb->proj[i] = (float)ef_rng_normal(r);
    for (int k = 0; k < D; k++) {
        float *p = mb->proj + (size_t)k * d;
        double s1 = 0, s2 = 0;
        for (int64_t i = 0; i < a->n; i++) {
            const float *z = a->Z + (size_t)i * d;
            double v = 0;
            for (int j = 0; j < d; j++) v += isnan(z[j]) ? 0.0 : (double)p[j] * z[j];
            s1 += v;
            s2 += v * v;
        }
        double mean = s1 / (double)a->n, var = s2 / (double)a->n - mean * mean;
        double inv = var > 1e-12 ? 1.0 / sqrt(var) : 1.0 / sqrt((double)d);
        for (int j = 0; j < d; j++) p[j] = (float)(p[j] * inv);
    }
    return EF_OK;
}

/* n_ctx of the n training rows without replacement (all of them, in order, when n <= n_ctx) */
static ef_status plan_rows(icl_member *mb, int e, ef_rng *r, const icl_plan_args *a, ef_error *err) {
    if (a->n <= a->n_ctx) {
        for (int64_t i = 0; i < a->n; i++) mb->rows[i] = i;
        return EF_OK;
    }
    int64_t *idx = ef_malloc((size_t)a->n * sizeof *idx);
    if (!idx) return EF_ERR(err, EF_ERR_NOMEM, "out of memory sampling member %d's context", e);
    for (int64_t i = 0; i < a->n; i++) idx[i] = i;
    for (int i = 0; i < a->n_ctx; i++) {   /* partial Fisher-Yates */
        int64_t j = i + (int64_t)ef_rng_below(r, (uint64_t)(a->n - i)), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    memcpy(mb->rows, idx, (size_t)a->n_ctx * sizeof *idx);
    ef_free(idx);
    return EF_OK;
}

ef_status icl_member_plan(icl_member *mb, int e, const icl_plan_args *a, ef_error *err) {
    memset(mb, 0, sizeof *mb);
    int D = a->D, sym = a->o->symmetries && e > 0;
    ef_rng r;
    ef_rng_init(&r, a->o->seed, STREAM_MEMBER + (uint64_t)e);
    mb->col = ef_malloc((size_t)D * sizeof *mb->col);
    mb->sign = ef_malloc((size_t)D * sizeof *mb->sign);
    mb->rows = ef_malloc((size_t)(a->n_ctx > 0 ? a->n_ctx : 1) * sizeof *mb->rows);
    ef_status st = EF_OK;
    if (!mb->col || !mb->sign || !mb->rows) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory planning member %d", e);
    else if (a->d > D && a->o->wide == EF_ICL_WIDE_PROJECT) st = plan_projection(mb, e, &r, a, err);
    else st = plan_columns(mb, e, sym, &r, a, err);
    if (st == EF_OK) {
        for (int k = 0; k < D; k++) mb->sign[k] = sym && k < mb->width && ef_rng_below(&r, 2) ? -1.0f : 1.0f;
        mb->ysign = sym && ef_rng_below(&r, 2) ? -1.0f : 1.0f;
        st = plan_rows(mb, e, &r, a, err);
    }
    if (st != EF_OK) icl_member_free(mb);
    return st;
}

void icl_member_row(const icl_member *mb, int D, int d, const float *z, float *x, uint8_t *mask) {
    if (mb->proj) {
        for (int k = 0; k < D; k++) {
            const float *p = mb->proj + (size_t)k * d;
            double v = 0;
            for (int j = 0; j < d; j++) v += isnan(z[j]) ? 0.0 : (double)p[j] * z[j];
            x[k] = (float)(mb->sign[k] * v);
            mask[k] = 1;
        }
        return;
    }
    for (int k = 0; k < D; k++) {
        float v = k < mb->width ? z[mb->col[k]] : NAN;
        x[k] = isnan(v) ? 0.0f : mb->sign[k] * v;
        mask[k] = !isnan(v);
    }
}
