/* The in-context regressor (include/eraformer/icl.h): options, fit (scaling and member
 * plans), predict (each member's context encoded once by ef_rows_cache, the test rows run
 * through it in chunks, the members' mapped-back predictions averaged in double). */
#include <math.h>
#include <string.h>
#include "base/blas.h"
#include "icl/icl_internal.h"
#include "eraformer/model.h"

#define ICL_MAX_MEMBERS 1024
#define ICL_MAX_CONTEXT (1 << 20)
/* Query rows per ef_rows_cache_predict call, padded to the full count with all-missing rows:
 * every call then runs GEMMs of the same shapes, so a row's prediction does not depend on how
 * many other rows are predicted with it (BLAS kernels may round differently for other M). Equal
 * to rows_cache.c's pass size, so that a padded call is one pass. */
#define ICL_QCHUNK 512
#define ICL_BLOCK_FLOATS ((size_t)1 << 24) /* scaled test values held at once (64 MB) */

struct ef_icl_regressor {
    ef_icl_options o;
    const ef_model *m;
    ef_model *owned;
    int D;                  /* the model's d_max */
    /* after fit */
    int d, n_ctx;
    int64_t n;
    float *Z;               /* (n, d) scaled training rows */
    float *ys;              /* (n) standardised targets */
    double y_mean, y_std;
    icl_scaler sc;
    icl_member *members;    /* (n_ensemble) */
};

void ef_icl_options_init(ef_icl_options *o) {
    memset(o, 0, sizeof *o);
    o->n_ensemble = 16;
    o->max_context = 0;
    o->seed = 0;
    o->scaling = EF_ICL_SCALE_ROBUST;
    o->wide = EF_ICL_WIDE_SUBSET;
    o->target_scale = 0.0f;
    o->symmetries = 1;
}

static ef_status check_options(const ef_icl_options *o, ef_error *err) {
    EF_CHECK(o->n_ensemble >= 1 && o->n_ensemble <= ICL_MAX_MEMBERS, err, EF_ERR_INVALID,
             "icl: n_ensemble %d outside [1, %d]", o->n_ensemble, ICL_MAX_MEMBERS);
    EF_CHECK(o->max_context >= 0 && o->max_context <= ICL_MAX_CONTEXT, err, EF_ERR_INVALID,
             "icl: max_context %d outside [0, %d] (0 = the model's capacity)", o->max_context, ICL_MAX_CONTEXT);
    EF_CHECK(o->scaling == EF_ICL_SCALE_ROBUST || o->scaling == EF_ICL_SCALE_RANKGAUSS, err, EF_ERR_INVALID,
             "icl: unknown scaling %d", (int)o->scaling);
    EF_CHECK(o->wide == EF_ICL_WIDE_SUBSET || o->wide == EF_ICL_WIDE_PROJECT, err, EF_ERR_INVALID,
             "icl: unknown wide-table mode %d", (int)o->wide);
    EF_CHECK(isfinite(o->target_scale) && o->target_scale >= 0, err, EF_ERR_INVALID,
             "icl: target_scale %g must be >= 0 (0 = automatic)", (double)o->target_scale);
    EF_CHECK(o->symmetries == 0 || o->symmetries == 1, err, EF_ERR_INVALID, "icl: symmetries must be 0 or 1");
    return EF_OK;
}

ef_status ef_icl_regressor_create(ef_icl_regressor **out, const ef_model *model, const ef_icl_options *opts,
                                  ef_error *err) {
    EF_CHECK(out, err, EF_ERR_INVALID, "icl: NULL output pointer");
    *out = NULL;
    EF_CHECK(model, err, EF_ERR_INVALID, "icl: NULL model");
    ef_icl_options o;
    if (opts) o = *opts;
    else ef_icl_options_init(&o);
    EF_TRY(check_options(&o, err));
    const ef_model_config *cfg = ef_model_cfg(model);
    EF_CHECK(cfg->layout == EF_LAYOUT_ROWS && !cfg->row_positions, err, EF_ERR_INVALID,
             "icl: the model has the %s layout%s; the in-context regressor needs a rows-layout model without row "
             "positions (e.g. models/linear-d10.st, models/mixture-d5.st)",
             ef_layout_name(cfg->layout), cfg->row_positions ? " with row positions" : "");
    if (o.max_context == 0) o.max_context = cfg->max_points > 1 ? cfg->max_points - 1 : 1;
    ef_icl_regressor *r = ef_calloc(1, sizeof *r);
    if (!r) return EF_ERR(err, EF_ERR_NOMEM, "icl: out of memory");
    r->o = o;
    r->m = model;
    r->D = cfg->d_max;
    *out = r;
    return EF_OK;
}

ef_status ef_icl_regressor_open(ef_icl_regressor **out, const char *model_path, const ef_icl_options *opts,
                                ef_error *err) {
    EF_CHECK(out, err, EF_ERR_INVALID, "icl: NULL output pointer");
    *out = NULL;
    EF_CHECK(model_path, err, EF_ERR_INVALID, "icl: NULL model path");
    ef_model *m = NULL;
    EF_TRY(ef_model_load(&m, model_path, 1, NULL, NULL, err));
    ef_status st = ef_icl_regressor_create(out, m, opts, err);
    if (st != EF_OK) {
        ef_error_prefix(err, "%s: ", model_path);
        ef_model_destroy(m);
        return st;
    }
    (*out)->owned = m;
    return EF_OK;
}

static void clear_fit(ef_icl_regressor *r) {
    if (r->members)
        for (int e = 0; e < r->o.n_ensemble; e++) icl_member_free(&r->members[e]);
    ef_free(r->members);
    ef_free(r->Z);
    ef_free(r->ys);
    icl_scaler_free(&r->sc);
    r->members = NULL;
    r->Z = NULL;
    r->ys = NULL;
    r->d = 0;
    r->n = 0;
    r->n_ctx = 0;
}

void ef_icl_regressor_destroy(ef_icl_regressor *r) {
    if (!r) return;
    clear_fit(r);
    ef_model_destroy(r->owned);
    ef_free(r);
}

/* the calling thread's OpenMP team size for this call; returns the previous one */
/* This call's OpenMP threads, and OpenBLAS single-threaded for its duration: both restored on
 * return, so nothing stays set in the caller's process (numpy shares OpenBLAS in Python). */
static int threads_enter(int threads) {
    int prev = ef_threads_get();
    if (threads > 0) ef_threads_set(threads);
    ef_blas_begin();
    return prev;
}

static void threads_leave(int prev) {
    ef_blas_end();
    ef_threads_set(prev);
}

static ef_status target_stats(ef_icl_regressor *r, const float *y, int64_t n, ef_error *err) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        EF_CHECK(isfinite(y[i]), err, EF_ERR_INVALID, "icl: y[%lld] = %g is not finite (the target may not be missing)",
                 (long long)i, (double)y[i]);
        s += y[i];
    }
    r->y_mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) ss += ((double)y[i] - r->y_mean) * ((double)y[i] - r->y_mean);
    r->y_std = sqrt(ss / (double)n);
    r->ys = ef_malloc((size_t)n * sizeof *r->ys);
    if (!r->ys) return EF_ERR(err, EF_ERR_NOMEM, "icl: out of memory for %lld targets", (long long)n);
    for (int64_t i = 0; i < n; i++) r->ys[i] = r->y_std > 0 ? (float)(((double)y[i] - r->y_mean) / r->y_std) : 0.0f;
    return EF_OK;
}

static ef_status fit_members(ef_icl_regressor *r, ef_error *err) {
    r->members = ef_calloc((size_t)r->o.n_ensemble, sizeof *r->members);
    if (!r->members) return EF_ERR(err, EF_ERR_NOMEM, "icl: out of memory");
    icl_plan_args a = {&r->o, r->D, r->d, r->n, r->n_ctx, r->Z};
    for (int e = 0; e < r->o.n_ensemble; e++) EF_TRY(icl_member_plan(&r->members[e], e, &a, err));
    return EF_OK;
}

static ef_status fit_body(ef_icl_regressor *r, const float *X, const float *y, int64_t n, int d, ef_error *err) {
    EF_TRY(target_stats(r, y, n, err));
    EF_TRY(icl_scaler_fit(&r->sc, r->o.scaling, X, n, d, err));
    r->Z = ef_malloc((size_t)n * d * sizeof *r->Z);
    if (!r->Z) return EF_ERR(err, EF_ERR_NOMEM, "icl: out of memory for the scaled training table (%lld x %d)",
                             (long long)n, d);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) r->Z[(size_t)i * d + j] = icl_scaler_apply(&r->sc, j, X[(size_t)i * d + j]);
    r->d = d;
    r->n = n;
    r->n_ctx = (int)EF_MIN((int64_t)r->o.max_context, n);
    return fit_members(r, err);
}

ef_status ef_icl_regressor_fit(ef_icl_regressor *r, const float *X, const float *y, int64_t n, int d, int threads,
                               ef_error *err) {
    EF_CHECK(r, err, EF_ERR_INVALID, "icl: NULL regressor");
    clear_fit(r);
    EF_CHECK(n >= 1 && d >= 1, err, EF_ERR_INVALID, "icl: fit needs at least one row and one column, got %lld x %d",
             (long long)n, d);
    EF_CHECK(X && y, err, EF_ERR_INVALID, "icl: fit with NULL X or y");
    size_t nd;
    EF_CHECK(ef_mul_ok((size_t)n, (size_t)d, &nd) && ef_mul_ok(nd, sizeof(float), &nd), err, EF_ERR_INVALID,
             "icl: table of %lld x %d too large", (long long)n, d);
    int prev = threads_enter(threads);
    ef_status st = fit_body(r, X, y, n, d, err);
    threads_leave(prev);
    if (st != EF_OK) clear_fit(r);
    return st;
}

// ---- predict ----------------------------------------------------------------------------

typedef struct predict_buf {
    ef_rows_cache *cache;
    float *cx, *cy, *qx, *qp, *zb;   /* context (n_ctx, D), (n_ctx); queries (QCHUNK, D), (QCHUNK); block (rows, d) */
    uint8_t *cm, *qm;
    double *acc;                     /* (block rows) */
    int64_t block;
} predict_buf;

static void buf_free(predict_buf *b) {
    ef_rows_cache_destroy(b->cache);
    ef_free(b->cx); ef_free(b->cy); ef_free(b->qx); ef_free(b->qp); ef_free(b->zb);
    ef_free(b->cm); ef_free(b->qm); ef_free(b->acc);
}

static ef_status buf_alloc(predict_buf *b, const ef_icl_regressor *r, int64_t m, ef_error *err) {
    memset(b, 0, sizeof *b);
    size_t D = (size_t)r->D, nc = (size_t)r->n_ctx;
    int64_t per = (int64_t)(ICL_BLOCK_FLOATS / (size_t)r->d);
    b->block = EF_MIN(m, EF_MAX(per, (int64_t)ICL_QCHUNK));
    EF_TRY(ef_rows_cache_create(&b->cache, r->m, r->n_ctx, err));
    b->cx = ef_malloc(nc * D * sizeof *b->cx);
    b->cy = ef_malloc(nc * sizeof *b->cy);
    b->cm = ef_malloc(nc * D);
    b->qx = ef_malloc((size_t)ICL_QCHUNK * D * sizeof *b->qx);
    b->qm = ef_malloc((size_t)ICL_QCHUNK * D);
    b->qp = ef_malloc((size_t)ICL_QCHUNK * sizeof *b->qp);
    b->zb = ef_malloc((size_t)b->block * r->d * sizeof *b->zb);
    b->acc = ef_malloc((size_t)b->block * sizeof *b->acc);
    if (!b->cx || !b->cy || !b->cm || !b->qx || !b->qm || !b->qp || !b->zb || !b->acc)
        return EF_ERR(err, EF_ERR_NOMEM, "icl: out of memory predicting (context %d rows, block %lld rows)", r->n_ctx,
                      (long long)b->block);
    return EF_OK;
}

/* the member's target: standardised, times the target scale and its sign */
static float member_scale(const ef_icl_regressor *r, const icl_member *mb) {
    float ts = r->o.target_scale > 0 ? r->o.target_scale : sqrtf((float)mb->width);
    return ts * mb->ysign;
}

static ef_status set_member_context(const ef_icl_regressor *r, const icl_member *mb, predict_buf *b, ef_error *err) {
    int D = r->D;
    float k = member_scale(r, mb);
    for (int i = 0; i < r->n_ctx; i++) {
        int64_t row = mb->rows[i];
        icl_member_row(mb, D, r->d, r->Z + (size_t)row * r->d, b->cx + (size_t)i * D, b->cm + (size_t)i * D);
        b->cy[i] = r->ys[row] * k;
    }
    return ef_rows_cache_set_context(b->cache, b->cx, b->cy, b->cm, mb->width, r->n_ctx, err);
}

/* the block's scaled rows (zb) through one member: acc += the member's mapped-back predictions */
static ef_status predict_member(const ef_icl_regressor *r, const icl_member *mb, predict_buf *b, int64_t nb,
                                ef_error *err) {
    int D = r->D;
    float k = member_scale(r, mb);
    for (int64_t q0 = 0; q0 < nb; q0 += ICL_QCHUNK) {
        int nq = (int)EF_MIN((int64_t)ICL_QCHUNK, nb - q0);
        for (int i = 0; i < nq; i++)
            icl_member_row(mb, D, r->d, b->zb + (size_t)(q0 + i) * r->d, b->qx + (size_t)i * D, b->qm + (size_t)i * D);
        memset(b->qx + (size_t)nq * D, 0, (size_t)(ICL_QCHUNK - nq) * D * sizeof *b->qx);
        memset(b->qm + (size_t)nq * D, 0, (size_t)(ICL_QCHUNK - nq) * D);
        EF_TRY(ef_rows_cache_predict(b->cache, b->qx, b->qm, mb->width, ICL_QCHUNK, b->qp, err));
        for (int i = 0; i < nq; i++) b->acc[q0 + i] += (double)b->qp[i] / (double)k;
    }
    return EF_OK;
}

/* test rows [b0, b0 + nb): scaled once, then every member's context and predictions */
static ef_status predict_block(const ef_icl_regressor *r, const float *X, int64_t b0, int64_t nb, predict_buf *b,
                               float *pred, ef_error *err) {
    int d = r->d, E = r->o.n_ensemble;
    for (int64_t i = 0; i < nb; i++)
        for (int j = 0; j < d; j++)
            b->zb[(size_t)i * d + j] = icl_scaler_apply(&r->sc, j, X[(size_t)(b0 + i) * d + j]);
    memset(b->acc, 0, (size_t)nb * sizeof *b->acc);
    for (int e = 0; e < E; e++) {
        EF_TRY(set_member_context(r, &r->members[e], b, err));
        EF_TRY(predict_member(r, &r->members[e], b, nb, err));
    }
    for (int64_t i = 0; i < nb; i++) pred[b0 + i] = (float)(r->y_mean + r->y_std * (b->acc[i] / E));
    return EF_OK;
}

static ef_status predict_body(const ef_icl_regressor *r, const float *X, int64_t m, float *pred, ef_error *err) {
    if (!(r->y_std > 0)) {   /* a constant target: nothing to learn */
        for (int64_t i = 0; i < m; i++) pred[i] = (float)r->y_mean;
        return EF_OK;
    }
    predict_buf b;
    ef_status st = buf_alloc(&b, r, m, err);
    for (int64_t b0 = 0; st == EF_OK && b0 < m; b0 += b.block)
        st = predict_block(r, X, b0, EF_MIN(b.block, m - b0), &b, pred, err);
    buf_free(&b);
    return st;
}

ef_status ef_icl_regressor_predict(ef_icl_regressor *r, const float *X, int64_t m, int d, int threads, float *pred,
                                   ef_error *err) {
    EF_CHECK(r, err, EF_ERR_INVALID, "icl: NULL regressor");
    EF_CHECK(r->members, err, EF_ERR_INVALID, "icl: predict before a successful fit");
    EF_CHECK(d == r->d, err, EF_ERR_INVALID, "icl: predict with %d columns, but the regressor was fitted on %d", d, r->d);
    EF_CHECK(m >= 0, err, EF_ERR_INVALID, "icl: negative row count %lld", (long long)m);
    if (m == 0) return EF_OK;
    EF_CHECK(X && pred, err, EF_ERR_INVALID, "icl: predict with NULL X or pred");
    size_t md;
    EF_CHECK(ef_mul_ok((size_t)m, (size_t)d, &md), err, EF_ERR_INVALID, "icl: table of %lld x %d too large",
             (long long)m, d);
    int prev = threads_enter(threads);
    ef_status st = predict_body(r, X, m, pred, err);
    threads_leave(prev);
    return st;
}

// ---- queries -------------------------------------------------------------------------------

int ef_icl_regressor_n_features(const ef_icl_regressor *r) { return r && r->members ? r->d : 0; }
int64_t ef_icl_regressor_n_rows(const ef_icl_regressor *r) { return r && r->members ? r->n : 0; }
int ef_icl_regressor_context_rows(const ef_icl_regressor *r) { return r && r->members ? r->n_ctx : 0; }
int ef_icl_regressor_model_width(const ef_icl_regressor *r) { return r ? r->D : 0; }
int ef_icl_regressor_model_points(const ef_icl_regressor *r) { return r ? ef_model_cfg(r->m)->max_points : 0; }

void ef_icl_regressor_options(const ef_icl_regressor *r, ef_icl_options *o) {
    if (r && o) *o = r->o;
}
