/* Rows-layout inference with a context cache. The context rows attend only each other, so
 * their hidden states, and in particular each layer's keys and values, do not depend on the
 * queries: they are computed once (set_context) and every query row then needs only its own
 * column of the network plus one attention over the cached keys/values (and itself).
 *
 * Buffers are per cache; the model's parameters are only read. Work is split into fixed
 * chunks (rows × heads), so the predictions do not depend on the thread count. */
#include <math.h>
#include <string.h>
#include "model/model_internal.h"
#include "nn/nn_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define QCHUNK 512   /* query rows per pass through the network */
#ifndef KBLOCK
#define KBLOCK 512   /* context keys per online-softmax block */
#endif
#ifndef ACHUNK
#define ACHUNK 128   /* query rows per attention work item (amortises BLAS's packing of K, V) */
#endif

struct ef_rows_cache {
    const ef_model *m;
    int max_ctx, rows_cap, n_ctx, nth, C, L, NH, hs, D, F;
    float *Kc, *Vc;          /* (L, NH, max_ctx, hs) */
    float *u, *res, *ln, *qkv, *atty, *proj, *fch, *mean, *rstd, *out;
    float *scratch;          /* per thread: ACHUNK·KBLOCK + 2·ACHUNK·hs + 2·ACHUNK */
    size_t per_thread;
};

void ef_rows_cache_destroy(ef_rows_cache *c) {
    if (!c) return;
    ef_free_aligned(c->Kc); ef_free_aligned(c->Vc); ef_free_aligned(c->u); ef_free_aligned(c->res);
    ef_free_aligned(c->ln); ef_free_aligned(c->qkv); ef_free_aligned(c->atty); ef_free_aligned(c->proj);
    ef_free_aligned(c->fch); ef_free_aligned(c->mean); ef_free_aligned(c->rstd); ef_free_aligned(c->out);
    ef_free_aligned(c->scratch);
    ef_free(c);
}

ef_status ef_rows_cache_create(ef_rows_cache **out, const ef_model *m, int max_ctx, ef_error *err) {
    *out = NULL;
    EF_CHECK(m->cfg.layout == EF_LAYOUT_ROWS, err, EF_ERR_INVALID, "the context cache needs a rows-layout model");
    EF_CHECK(!m->cfg.row_positions, err, EF_ERR_INVALID,
             "the model has row positions (trained on time-ordered tasks of at most %d rows): it cannot take a "
             "context of era rows, which have no order", m->cfg.max_points);
    EF_CHECK(max_ctx >= 0 && max_ctx <= 1 << 22, err, EF_ERR_INVALID, "context size %d outside [0, 4M]", max_ctx);
    ef_nn_init();
    ef_rows_cache *c = ef_calloc(1, sizeof *c);
    if (!c) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    c->m = m;
    c->max_ctx = max_ctx;
    c->C = m->cfg.d_model;
    c->L = m->cfg.n_layer;
    c->NH = m->cfg.n_head;
    c->hs = c->C / c->NH;
    c->D = m->cfg.d_max;
    c->F = m->F;
    c->rows_cap = max_ctx > QCHUNK ? max_ctx : QCHUNK;
    int nth = 1;
#ifdef _OPENMP
    nth = omp_get_max_threads() > omp_get_num_procs() ? omp_get_max_threads() : omp_get_num_procs();
#endif
    c->nth = nth;
    size_t R = (size_t)c->rows_cap, C = (size_t)c->C, kv = (size_t)c->L * max_ctx * C;
    c->per_thread = (size_t)ACHUNK * KBLOCK + 2 * (size_t)ACHUNK * c->hs + 2 * ACHUNK + 16;
    c->Kc = ef_malloc_aligned((kv ? kv : 1) * 4);
    c->Vc = ef_malloc_aligned((kv ? kv : 1) * 4);
    c->u = ef_malloc_aligned(R * c->F * 4);
    c->res = ef_malloc_aligned(R * C * 4);
    c->ln = ef_malloc_aligned(R * C * 4);
    c->qkv = ef_malloc_aligned(R * 3 * C * 4);
    c->atty = ef_malloc_aligned(R * C * 4);
    c->proj = ef_malloc_aligned(R * C * 4);
    c->fch = ef_malloc_aligned(R * 8 * C * 4);   /* fc output and its GELU */
    c->mean = ef_malloc_aligned(R * 4);
    c->rstd = ef_malloc_aligned(R * 4);
    c->out = ef_malloc_aligned(R * 4);
    c->scratch = ef_malloc_aligned((size_t)nth * c->per_thread * 4);
    if (!c->Kc || !c->Vc || !c->u || !c->res || !c->ln || !c->qkv || !c->atty || !c->proj || !c->fch || !c->mean ||
        !c->rstd || !c->out || !c->scratch) {
        ef_rows_cache_destroy(c);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory for a context cache of %d rows", max_ctx);
    }
    *out = c;
    return EF_OK;
}

/* qkv (n,3C) of the rows being processed -> out (n,C). Each row attends the n_ctx cached
 * keys/values of layer l and, when self_extra, also itself. The keys are taken in blocks of
 * KBLOCK with an online softmax (running max and sum per row, earlier output rescaled), so a
 * block's scores stay in L2 between the two GEMMs. */
static void attend(ef_rows_cache *c, int l, float *out, const float *qkv, int n, int self_extra) {
    int C = c->C, hs = c->hs, NH = c->NH, nc = c->n_ctx;
    float scale = 1.0f / sqrtf((float)hs);
    const float *Kl = c->Kc + (size_t)l * NH * c->max_ctx * hs, *Vl = c->Vc + (size_t)l * NH * c->max_ctx * hs;
    int nchunk = (n + ACHUNK - 1) / ACHUNK, nwork = nchunk * NH;
#pragma omp parallel for schedule(static) num_threads(ef_thread_cap(c->nth))
    for (int w = 0; w < nwork; w++) {
        EF_PAR_NOTE();
        int ch = w / NH, h = w % NH, tid = ef_thread_id();
        int r0 = ch * ACHUNK, rn = EF_MIN(ACHUNK, n - r0);
        float *S = c->scratch + (size_t)tid * c->per_thread, *Q = S + (size_t)ACHUNK * KBLOCK, *O = Q + (size_t)ACHUNK * hs;
        float *mrow = O + (size_t)ACHUNK * hs, *lrow = mrow + ACHUNK;
        const float *Kh = Kl + (size_t)h * c->max_ctx * hs, *Vh = Vl + (size_t)h * c->max_ctx * hs;
        for (int r = 0; r < rn; r++) {
            const float *q = qkv + (size_t)(r0 + r) * 3 * C + (size_t)h * hs;
            memcpy(Q + (size_t)r * hs, q, (size_t)hs * 4);
            float *o = O + (size_t)r * hs;
            if (self_extra) {   /* the row's own key/value first: weight exp(0) = 1 */
                const float *kself = q + C, *vself = q + 2 * C;
                float self = 0.0f;
                for (int i = 0; i < hs; i++) self += q[i] * kself[i];
                mrow[r] = self * scale;
                lrow[r] = 1.0f;
                memcpy(o, vself, (size_t)hs * 4);
            } else {
                mrow[r] = -INFINITY;
                lrow[r] = 0.0f;
                memset(o, 0, (size_t)hs * 4);
            }
        }
        for (int k0 = 0; k0 < nc; k0 += KBLOCK) {
            int nb = EF_MIN(KBLOCK, nc - k0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rn, nb, hs, scale, Q, hs, Kh + (size_t)k0 * hs, hs, 0.0f, S,
                        KBLOCK);
            for (int r = 0; r < rn; r++) {
                float resc;
                float sum = ef_softmax_exp_block(S + (size_t)r * KBLOCK, nb, &mrow[r], &resc);
                lrow[r] = lrow[r] * resc + sum;
                if (resc != 1.0f) {
                    float *o = O + (size_t)r * hs;
                    for (int i = 0; i < hs; i++) o[i] *= resc;
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rn, hs, nb, 1.0f, S, KBLOCK, Vh + (size_t)k0 * hs, hs, 1.0f,
                        O, hs);
        }
        for (int r = 0; r < rn; r++) {
            const float *o = O + (size_t)r * hs;
            float inv = lrow[r] > 0.0f ? 1.0f / lrow[r] : 0.0f;
            float *dst = out + (size_t)(r0 + r) * C + (size_t)h * hs;
            for (int i = 0; i < hs; i++) dst[i] = o[i] * inv;
        }
    }
}

/* The network for n rows whose embeddings are in c->res: context rows (is_ctx: store K/V,
 * attend the context) or query rows (attend cache + self); predictions into c->out. */
static void run_rows(ef_rows_cache *c, int n, int is_ctx) {
    const ef_model *m = c->m;
    int C = c->C, L = c->L;
    size_t NC = (size_t)n * C;
    for (int l = 0; l < L; l++) {
        ef_layernorm_forward(c->ln, c->mean, c->rstd, c->res, m->P.p[EF_P_LN1W] + (size_t)l * C, m->P.p[EF_P_LN1B] + (size_t)l * C, n, C);
        ef_linear_forward(c->qkv, c->ln, m->P.p[EF_P_QKVW] + (size_t)l * 3 * C * C, m->P.p[EF_P_QKVB] + (size_t)l * 3 * C, n, C, 3 * C);
        if (is_ctx) {
            float *Kl = c->Kc + (size_t)l * c->NH * c->max_ctx * c->hs, *Vl = c->Vc + (size_t)l * c->NH * c->max_ctx * c->hs;
            for (int h = 0; h < c->NH; h++)
                for (int r = 0; r < n; r++) {
                    memcpy(Kl + ((size_t)h * c->max_ctx + r) * c->hs, c->qkv + (size_t)r * 3 * C + C + (size_t)h * c->hs, (size_t)c->hs * 4);
                    memcpy(Vl + ((size_t)h * c->max_ctx + r) * c->hs, c->qkv + (size_t)r * 3 * C + 2 * C + (size_t)h * c->hs, (size_t)c->hs * 4);
                }
        }
        attend(c, l, c->atty, c->qkv, n, !is_ctx);
        ef_linear_forward(c->proj, c->atty, m->P.p[EF_P_ATTPROJW] + (size_t)l * C * C, m->P.p[EF_P_ATTPROJB] + (size_t)l * C, n, C, C);
        ef_residual_forward(c->res, c->res, c->proj, NC);
        ef_layernorm_forward(c->ln, c->mean, c->rstd, c->res, m->P.p[EF_P_LN2W] + (size_t)l * C, m->P.p[EF_P_LN2B] + (size_t)l * C, n, C);
        float *fch = c->fch, *fg = c->fch + (size_t)n * 4 * C;
        ef_linear_forward(fch, c->ln, m->P.p[EF_P_FCW] + (size_t)l * 4 * C * C, m->P.p[EF_P_FCB] + (size_t)l * 4 * C, n, C, 4 * C);
        ef_gelu_forward(fg, fch, NC * 4);
        ef_linear_forward(c->proj, fg, m->P.p[EF_P_FCPROJW] + (size_t)l * 4 * C * C, m->P.p[EF_P_FCPROJB] + (size_t)l * C, n, 4 * C, C);
        ef_residual_forward(c->res, c->res, c->proj, NC);
    }
    if (!is_ctx) {
        ef_layernorm_forward(c->ln, c->mean, c->rstd, c->res, m->P.p[EF_P_LNFW], m->P.p[EF_P_LNFB], n, C);
        ef_linear_forward(c->out, c->ln, m->P.p[EF_P_WOUT], m->P.p[EF_P_BOUT], n, C, 1);
    }
}

/* embeddings of n rows into c->res: W_in·u + b_in + (context: y·w_y + e_ctx | query: e_query) */
static void embed(ef_rows_cache *c, const float *x, const float *y, const uint8_t *mask, int d, int n) {
    const ef_model *m = c->m;
    int C = c->C, D = c->D, F = c->F;
    /* rows are independent: parallel when there is enough of them (2,748 features x 2,048
     * context rows is 45 MB to clear and fill) */
#pragma omp parallel for schedule(static) if ((double)n * F > ef_par_min_elems() * 16)
    for (int r = 0; r < n; r++) {
        EF_PAR_NOTE();
        memset(c->u + (size_t)r * F, 0, (size_t)F * 4);
        ef_model_fill_u_row(c->u + (size_t)r * F, x + (size_t)r * D, mask ? mask + (size_t)r * D : NULL, d, D);
    }
    ef_linear_forward(c->res, c->u, m->P.p[EF_P_WIN], m->P.p[EF_P_BIN], n, F, C);
    const float *wy = m->P.p[EF_P_WY], *ec = m->P.p[EF_P_ECTX], *eq = m->P.p[EF_P_EQUERY];
    for (int r = 0; r < n; r++) {
        float *e = c->res + (size_t)r * C;
        if (y)
            for (int i = 0; i < C; i++) e[i] += y[r] * wy[i] + ec[i];
        else
            for (int i = 0; i < C; i++) e[i] += eq[i];
    }
}

ef_status ef_rows_cache_set_context(ef_rows_cache *c, const float *x, const float *y, const uint8_t *mask, int d,
                                    int n_ctx, ef_error *err) {
    EF_CHECK(n_ctx >= 0 && n_ctx <= c->max_ctx, err, EF_ERR_INVALID, "context of %d rows outside [0, %d]", n_ctx, c->max_ctx);
    EF_CHECK(d >= 1 && d <= c->D, err, EF_ERR_INVALID, "width d = %d outside [1, %d]", d, c->D);
    EF_CHECK(n_ctx == 0 || (x && y), err, EF_ERR_INVALID, "context without x or y");
    c->n_ctx = 0;
    if (n_ctx > 0) {
        embed(c, x, y, mask, d, n_ctx);
        c->n_ctx = n_ctx;  /* the context attends itself: n_ctx keys while it is processed */
        ef_blas_begin();
        run_rows(c, n_ctx, 1);
        ef_blas_end();
    }
    return EF_OK;
}

ef_status ef_rows_cache_embed_queries(ef_rows_cache *c, const float *xq, const uint8_t *mask, int d, int n_q,
                                      float *emb, ef_error *err) {
    EF_CHECK(d >= 1 && d <= c->D, err, EF_ERR_INVALID, "width d = %d outside [1, %d]", d, c->D);
    EF_CHECK(n_q >= 0 && (n_q == 0 || (xq && emb)), err, EF_ERR_INVALID, "bad query arguments");
    for (int q0 = 0; q0 < n_q; q0 += QCHUNK) {
        int n = EF_MIN(QCHUNK, n_q - q0);
        embed(c, xq + (size_t)q0 * c->D, NULL, mask ? mask + (size_t)q0 * c->D : NULL, d, n);
        memcpy(emb + (size_t)q0 * c->C, c->res, (size_t)n * c->C * 4);
    }
    return EF_OK;
}

ef_status ef_rows_cache_predict_embedded(ef_rows_cache *c, const float *emb, int n_q, float *pred, ef_error *err) {
    EF_CHECK(n_q >= 0 && (n_q == 0 || (emb && pred)), err, EF_ERR_INVALID, "bad query arguments");
    ef_blas_begin();
    for (int q0 = 0; q0 < n_q; q0 += QCHUNK) {
        int n = EF_MIN(QCHUNK, n_q - q0);
        memcpy(c->res, emb + (size_t)q0 * c->C, (size_t)n * c->C * 4);
        run_rows(c, n, 0);
        memcpy(pred + q0, c->out, (size_t)n * 4);
    }
    ef_blas_end();
    return EF_OK;
}

ef_status ef_rows_cache_predict(ef_rows_cache *c, const float *xq, const uint8_t *mask, int d, int n_q, float *pred,
                                ef_error *err) {
    EF_CHECK(d >= 1 && d <= c->D, err, EF_ERR_INVALID, "width d = %d outside [1, %d]", d, c->D);
    EF_CHECK(n_q >= 0 && (n_q == 0 || (xq && pred)), err, EF_ERR_INVALID, "bad query arguments");
    ef_blas_begin();
    for (int q0 = 0; q0 < n_q; q0 += QCHUNK) {
        int n = EF_MIN(QCHUNK, n_q - q0);
        embed(c, xq + (size_t)q0 * c->D, NULL, mask ? mask + (size_t)q0 * c->D : NULL, d, n);
        run_rows(c, n, 0);
        memcpy(pred + q0, c->out, (size_t)n * 4);
    }
    ef_blas_end();
    return EF_OK;
}
