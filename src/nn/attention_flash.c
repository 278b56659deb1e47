/* Memory-linear attention (FlashAttention-2 style) for the rows layout's context/query mask
 * and the causal mask: the forward keeps only the output and each row's log-sum-exp, the
 * backward recomputes the probabilities block by block. Scratch is O(QB·KB) per thread,
 * saved state O(T) per (batch, head): no (T,T) matrix exists at any time.
 *
 * Per (b,h), with Q,K,V (T,hs), s = 1/√hs, row t attending keys [0, hi(t)) and, for a query
 * row of the context/query mask (t >= n_ctx), also itself:
 *   forward: S = s·QKᵀ in blocks of QB rows × KB keys, an online softmax per row (running max
 *     m and sum l, the output rescaled when m grows; ef_softmax_exp_block), O = PV / l,
 *     lse = m + log l.
 *   backward (dO given): D_t = dO_t·O_t (= rowsum(P ⊙ dP)), and for each block
 *     P = exp(S − lse), dP = dO·Vᵀ, dS = P ⊙ (dP − D);
 *     dQ = s·dS·K, dK = s·dSᵀ·Q, dV = Pᵀ·dO.
 * The backward has two splits, chosen by the shapes alone (B·NH >= FLASH_BH_SINGLE), never by
 * the thread count:
 *   - one item per (b,h), a single pass: for each key block, over the query blocks in order,
 *     P and dS once, then dV and dK of the key block and dQ of the query block (5 block GEMMs,
 *     one exp per score, against the dense backward's 4 GEMMs; the dense forward's T² write
 *     and read of P are gone, so forward + backward cost about the same);
 *   - for fewer (b,h), two kinds of items in one parallel region: per query block (dQ of its
 *     rows over the key blocks) and per key block (dK, dV over the query blocks in order).
 *     S and dP are computed twice (7 GEMMs, two exps), for parallelism over blocks.
 * In both, the self term of a query row (its own k, v, never a context key) goes with its
 * query block, outputs of concurrent items are disjoint and each accumulates into dqkv in a
 * fixed order: bitwise the same results for any thread count.
 *
 * Operands are read in place from qkv (row stride 3C) and dout/out (stride C); BLAS packs
 * them. References: Dao, "FlashAttention-2" (2023), algorithms 1 and 2; the dense path
 * (attention.c) and its *_ref twins are what the tests compare against. */
#include <math.h>
#include <string.h>
#include "nn/nn_internal.h"

#define FLASH_QB 128   /* query rows per block (and per work item) */
#define FLASH_KB 256   /* keys per block: S and dP blocks of QB·KB floats stay in L2 */
/* The backward's split: with at least this many (batch, head) pairs, one work item per pair
 * in a single pass (the fewest operations); below, items per query block and per key block
 * (two passes, more parallelism). A fixed number, not the thread count: the results depend
 * on the shapes only. */
#define FLASH_BH_SINGLE 4

static int qb_cur = FLASH_QB, kb_cur = FLASH_KB;

void ef_flash_blocks_set(int qb, int kb) {
    qb_cur = qb >= 1 && qb <= FLASH_QB ? qb : FLASH_QB;
    kb_cur = kb >= 1 && kb <= FLASH_KB ? kb : FLASH_KB;
}

/* S (QB,KB), dP (QB,KB), O (QB,hs), and per row m, l, lse, D */
size_t ef_attention_flash_scratch_floats(int hs) {
    return (size_t)2 * FLASH_QB * FLASH_KB + (size_t)FLASH_QB * hs + 4 * FLASH_QB + 16;
}

int ef_attention_flash_supports(ef_mask m) { return m.kind == EF_MASK_CAUSAL || m.kind == EF_MASK_CTX_QUERY; }

/* keys [0, hi) of row t, and whether it attends itself besides; hi is nondecreasing in t */
static inline int row_hi(ef_mask m, int T, int t) { return m.kind == EF_MASK_CAUSAL ? t + 1 : EF_MIN(m.n_ctx, T); }
static inline int row_self(ef_mask m, int t) { return m.kind == EF_MASK_CTX_QUERY && t >= m.n_ctx; }

typedef struct geom {
    int B, T, C, NH, hs, qb, kb;
    float scale;
    ef_mask mask;
} geom;

static geom geom_make(ef_mask mask, int B, int T, int C, int NH) {
    geom g = {B, T, C, NH, C / NH, qb_cur, kb_cur, 0.0f, mask};
    g.scale = 1.0f / sqrtf((float)g.hs);
    return g;
}

static float dotf(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// ---- forward ----------------------------------------------------------------------------

/* rows [r0, r0+rn) of (b,h): out rows, lse entries */
static void forward_block(const geom *g, float *out, float *lse, const float *qkv, float *scr, int b, int h, int r0, int rn) {
    int T = g->T, C = g->C, hs = g->hs, KB = g->kb;
    size_t ld = (size_t)3 * C;
    float *S = scr, *O = S + (size_t)FLASH_QB * FLASH_KB * 2, *m = O + (size_t)FLASH_QB * hs, *l = m + FLASH_QB;
    const float *Qb = qkv + ((size_t)b * T + r0) * ld + (size_t)h * hs;
    const float *Kb = qkv + (size_t)b * T * ld + C + (size_t)h * hs, *Vb = Kb + C;
    for (int r = 0; r < rn; r++) {
        int t = r0 + r;
        float *o = O + (size_t)r * hs;
        if (row_self(g->mask, t)) {   /* the row's own key first: weight exp(0) = 1 */
            const float *q = Qb + (size_t)r * ld;
            m[r] = dotf(q, q + C, hs) * g->scale;
            l[r] = 1.0f;
            memcpy(o, q + 2 * C, (size_t)hs * sizeof(float));
        } else {
            m[r] = -INFINITY;
            l[r] = 0.0f;
            memset(o, 0, (size_t)hs * sizeof(float));
        }
    }
    int khi = row_hi(g->mask, T, r0 + rn - 1);
    for (int k0 = 0; k0 < khi; k0 += KB) {
        int nb = EF_MIN(KB, khi - k0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rn, nb, hs, g->scale, Qb, (int)ld, Kb + (size_t)k0 * ld,
                    (int)ld, 0.0f, S, FLASH_KB);
        for (int r = 0; r < rn; r++) {
            float *s = S + (size_t)r * FLASH_KB, resc;
            int nv = EF_MAX(0, EF_MIN(nb, row_hi(g->mask, T, r0 + r) - k0));
            float sum = ef_softmax_exp_block(s, nv, &m[r], &resc);
            for (int j = nv; j < nb; j++) s[j] = 0.0f;
            l[r] = l[r] * resc + sum;
            if (resc != 1.0f) {
                float *o = O + (size_t)r * hs;
                for (int i = 0; i < hs; i++) o[i] *= resc;
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rn, hs, nb, 1.0f, S, FLASH_KB, Vb + (size_t)k0 * ld,
                    (int)ld, 1.0f, O, hs);
    }
    float *lrow = lse + ((size_t)b * g->NH + h) * T + r0;
    for (int r = 0; r < rn; r++) {
        float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
        const float *o = O + (size_t)r * hs;
        float *dst = out + ((size_t)b * T + r0 + r) * C + (size_t)h * hs;
        for (int i = 0; i < hs; i++) dst[i] = o[i] * inv;
        lrow[r] = l[r] > 0.0f ? m[r] + logf(l[r]) : -INFINITY;
    }
}

// qkv (B,T,3C) -> out (B,T,C), lse (B,NH,T)
void ef_attention_flash_forward(float *out, float *lse, const float *qkv, ef_mask mask, float *scratch, int nscratch,
                                int B, int T, int C, int NH) {
    EF_ASSERT(ef_attention_flash_supports(mask));
    geom g = geom_make(mask, B, T, C, NH);
    size_t per = ef_attention_flash_scratch_floats(g.hs);
    int nq = ef_nchunks(T, g.qb), nwork = B * NH * nq;
    double flops = 2.0 * B * NH * T * (row_hi(mask, T, T - 1) + 1) * g.hs;   /* + the self terms */
    (void)flops;   /* read only by the OpenMP if clause */
    ef_blas_begin();
    /* dynamic: a thread that another process delays takes fewer items; the items' outputs are
     * disjoint, so which thread runs one changes nothing */
#pragma omp parallel num_threads(ef_thread_cap(nscratch)) if (flops > ef_par_min_flops())
    {
        EF_PAR_NOTE();
        float *scr = scratch + (size_t)ef_thread_id() * per;
#pragma omp for schedule(dynamic, 1)
        for (int w = 0; w < nwork; w++) {
            int bh = w / nq, c = w % nq, r0 = c * g.qb;
            forward_block(&g, out, lse, qkv, scr, bh / NH, bh % NH, r0, EF_MIN(g.qb, T - r0));
        }
    }
    ef_blas_end();
}

// ---- backward ---------------------------------------------------------------------------

/* P and dS of one block, elementwise: p = exp(s − lse) (s − lse <= 0 up to rounding, clamped),
 * ds = p (dp − D); entries past nv (masked keys) are 0 in both. */
EF_CLONES static void p_ds_row(float *restrict s, float *restrict dp, long nv, long nb, float lse, float D) {
    for (long j = 0; j < nv; j++) {
        float y = lse - s[j], p;
        y = y > 0.0f ? y : 0.0f;
        EXP_NEG(y, p);
        s[j] = p;
        dp[j] = p * (dp[j] - D);
    }
    for (long j = nv; j < nb; j++) s[j] = dp[j] = 0.0f;
}

/* rows [r0, r0+rn) against keys [k0, k0+nb) of (b,h): S <- P, dP <- dS (ld KB) */
static void block_p_ds(const geom *g, float *S, float *dP, const float *qkv, const float *dout, const float *L,
                       const float *D, int b, int h, int r0, int rn, int k0, int nb) {
    int T = g->T, C = g->C, hs = g->hs;
    size_t ld = (size_t)3 * C;
    const float *Qr = qkv + ((size_t)b * T + r0) * ld + (size_t)h * hs;
    const float *Kk = qkv + ((size_t)b * T + k0) * ld + C + (size_t)h * hs, *Vk = Kk + C;
    const float *dOr = dout + ((size_t)b * T + r0) * C + (size_t)h * hs;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rn, nb, hs, g->scale, Qr, (int)ld, Kk, (int)ld, 0.0f, S,
                FLASH_KB);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rn, nb, hs, 1.0f, dOr, C, Vk, (int)ld, 0.0f, dP, FLASH_KB);
    for (int r = 0; r < rn; r++) {
        int nv = EF_MAX(0, EF_MIN(nb, row_hi(g->mask, T, r0 + r) - k0));
        p_ds_row(S + (size_t)r * FLASH_KB, dP + (size_t)r * FLASH_KB, nv, nb, L[r], D[r]);
    }
}

/* lse and D = dO·O of rows [r0, r0+rn) of (b,h) */
static void rows_lse_d(const geom *g, float *L, float *D, const float *dout, const float *out, const float *lse, int b,
                       int h, int r0, int rn) {
    const float *lrow = lse + ((size_t)b * g->NH + h) * g->T + r0;
    for (int r = 0; r < rn; r++) {
        size_t o = ((size_t)b * g->T + r0 + r) * g->C + (size_t)h * g->hs;
        L[r] = lrow[r];
        D[r] = dotf(dout + o, out + o, g->hs);
    }
}

static void self_terms(const geom *g, float *dqkv, const float *dout, const float *qkv, const float *L, const float *D,
                       int b, int h, int r0, int rn);

/* query block: dQ of rows [r0, r0+rn), and the self term of its query rows (their q, k, v) */
static void backward_query_block(const geom *g, float *dqkv, const float *dout, const float *out, const float *qkv,
                                 const float *lse, float *scr, int b, int h, int r0, int rn) {
    int T = g->T, C = g->C, hs = g->hs, KB = g->kb;
    size_t ld = (size_t)3 * C;
    float *S = scr, *dP = S + (size_t)FLASH_QB * FLASH_KB, *L = dP + (size_t)FLASH_QB * FLASH_KB + (size_t)FLASH_QB * hs;
    float *D = L + FLASH_QB;
    rows_lse_d(g, L, D, dout, out, lse, b, h, r0, rn);
    float *dQr = dqkv + ((size_t)b * T + r0) * ld + (size_t)h * hs;
    int khi = row_hi(g->mask, T, r0 + rn - 1);
    for (int k0 = 0; k0 < khi; k0 += KB) {
        int nb = EF_MIN(KB, khi - k0);
        block_p_ds(g, S, dP, qkv, dout, L, D, b, h, r0, rn, k0, nb);
        const float *Kk = qkv + ((size_t)b * T + k0) * ld + C + (size_t)h * hs;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rn, hs, nb, g->scale, dP, FLASH_KB, Kk, (int)ld, 1.0f,
                    dQr, (int)ld);
    }
    self_terms(g, dqkv, dout, qkv, L, D, b, h, r0, rn);
}

/* the self term of the query rows among [r0, r0+rn) (lse L, D per row): their own q, k, v */
static void self_terms(const geom *g, float *dqkv, const float *dout, const float *qkv, const float *L, const float *D,
                       int b, int h, int r0, int rn) {
    int T = g->T, C = g->C, hs = g->hs;
    size_t ld = (size_t)3 * C;
    for (int r = 0; r < rn; r++) {
        int t = r0 + r;
        if (!row_self(g->mask, t)) continue;
        const float *q = qkv + ((size_t)b * T + t) * ld + (size_t)h * hs, *k = q + C, *v = q + 2 * C;
        const float *dO = dout + ((size_t)b * T + t) * C + (size_t)h * hs;
        float *dq = dqkv + ((size_t)b * T + t) * ld + (size_t)h * hs, *dk = dq + C, *dv = dq + 2 * C;
        float y = L[r] - dotf(q, k, hs) * g->scale, p;
        y = y > 0.0f ? y : 0.0f;
        EXP_NEG(y, p);
        float ds = p * (dotf(dO, v, hs) - D[r]) * g->scale;
        for (int i = 0; i < hs; i++) {
            dv[i] += p * dO[i];
            dq[i] += ds * k[i];
            dk[i] += ds * q[i];
        }
    }
}

/* key block: dK, dV of keys [k0, k0+nb), over the query blocks in order */
static void backward_key_block(const geom *g, float *dqkv, const float *dout, const float *out, const float *qkv,
                               const float *lse, float *scr, int b, int h, int k0, int nb) {
    int T = g->T, C = g->C, hs = g->hs, QB = g->qb;
    size_t ld = (size_t)3 * C;
    float *S = scr, *dP = S + (size_t)FLASH_QB * FLASH_KB, *L = dP + (size_t)FLASH_QB * FLASH_KB + (size_t)FLASH_QB * hs;
    float *D = L + FLASH_QB;
    float *dKk = dqkv + ((size_t)b * T + k0) * ld + C + (size_t)h * hs, *dVk = dKk + C;
    for (int r0 = 0; r0 < T; r0 += QB) {
        int rn = EF_MIN(QB, T - r0);
        if (row_hi(g->mask, T, r0 + rn - 1) <= k0) continue;   /* no row of the block sees these keys */
        rows_lse_d(g, L, D, dout, out, lse, b, h, r0, rn);
        block_p_ds(g, S, dP, qkv, dout, L, D, b, h, r0, rn, k0, nb);
        const float *Qr = qkv + ((size_t)b * T + r0) * ld + (size_t)h * hs;
        const float *dOr = dout + ((size_t)b * T + r0) * C + (size_t)h * hs;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, hs, rn, 1.0f, S, FLASH_KB, dOr, C, 1.0f, dVk, (int)ld);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, hs, rn, g->scale, dP, FLASH_KB, Qr, (int)ld, 1.0f, dKk,
                    (int)ld);
    }
}

/* one (b,h) in a single pass: for each key block, over the query blocks in order, P and dS
 * once, then dV, dK of the key block and dQ of the query block (5 block GEMMs, one exp per
 * score; the two-pass items above need 7 and two). The self terms last. */
static void backward_head(const geom *g, float *dqkv, const float *dout, const float *out, const float *qkv,
                          const float *lse, float *scr, int b, int h) {
    int T = g->T, C = g->C, hs = g->hs, QB = g->qb, KB = g->kb;
    size_t ld = (size_t)3 * C;
    float *S = scr, *dP = S + (size_t)FLASH_QB * FLASH_KB, *L = dP + (size_t)FLASH_QB * FLASH_KB + (size_t)FLASH_QB * hs;
    float *D = L + FLASH_QB;
    int khi = row_hi(g->mask, T, T - 1);
    for (int k0 = 0; k0 < khi; k0 += KB) {
        int nb = EF_MIN(KB, khi - k0);
        const float *Kk = qkv + ((size_t)b * T + k0) * ld + C + (size_t)h * hs;
        float *dKk = dqkv + ((size_t)b * T + k0) * ld + C + (size_t)h * hs, *dVk = dKk + C;
        for (int r0 = 0; r0 < T; r0 += QB) {
            int rn = EF_MIN(QB, T - r0);
            if (row_hi(g->mask, T, r0 + rn - 1) <= k0) continue;
            rows_lse_d(g, L, D, dout, out, lse, b, h, r0, rn);
            block_p_ds(g, S, dP, qkv, dout, L, D, b, h, r0, rn, k0, nb);
            const float *Qr = qkv + ((size_t)b * T + r0) * ld + (size_t)h * hs;
            const float *dOr = dout + ((size_t)b * T + r0) * C + (size_t)h * hs;
            float *dQr = dqkv + ((size_t)b * T + r0) * ld + (size_t)h * hs;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, hs, rn, 1.0f, S, FLASH_KB, dOr, C, 1.0f, dVk, (int)ld);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, hs, rn, g->scale, dP, FLASH_KB, Qr, (int)ld, 1.0f,
                        dKk, (int)ld);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rn, hs, nb, g->scale, dP, FLASH_KB, Kk, (int)ld, 1.0f,
                        dQr, (int)ld);
        }
    }
    if (g->mask.kind != EF_MASK_CTX_QUERY) return;
    for (int r0 = EF_MIN(g->mask.n_ctx, T); r0 < T; r0 += QB) {   /* the query rows */
        int rn = EF_MIN(QB, T - r0);
        rows_lse_d(g, L, D, dout, out, lse, b, h, r0, rn);
        self_terms(g, dqkv, dout, qkv, L, D, b, h, r0, rn);
    }
}

// dout (B,T,C), out (B,T,C), lse (B,NH,T) -> dqkv (B,T,3C) +=
void ef_attention_flash_backward(float *dqkv, const float *dout, const float *out, const float *qkv, const float *lse,
                                 ef_mask mask, float *scratch, int nscratch, int B, int T, int C, int NH) {
    EF_ASSERT(ef_attention_flash_supports(mask));
    geom g = geom_make(mask, B, T, C, NH);
    size_t per = ef_attention_flash_scratch_floats(g.hs);
    int khi = row_hi(mask, T, T - 1);
    int nq = ef_nchunks(T, g.qb), nk = ef_nchunks(khi, g.kb), nper = nq + nk, nwork = B * NH * nper;
    double flops = 2.0 * B * NH * T * (khi + 1) * g.hs;
    (void)flops;   /* read only by the OpenMP if clauses */
    ef_blas_begin();
    if (B * NH >= FLASH_BH_SINGLE) {
#pragma omp parallel num_threads(ef_thread_cap(nscratch)) if (2 * flops > ef_par_min_flops())
        {
            EF_PAR_NOTE();
            float *scr = scratch + (size_t)ef_thread_id() * per;
#pragma omp for schedule(dynamic, 1)
            for (int bh = 0; bh < B * NH; bh++) backward_head(&g, dqkv, dout, out, qkv, lse, scr, bh / NH, bh % NH);
        }
        ef_blas_end();
        return;
    }
#pragma omp parallel num_threads(ef_thread_cap(nscratch)) if (2 * flops > ef_par_min_flops())
    {
        EF_PAR_NOTE();
        float *scr = scratch + (size_t)ef_thread_id() * per;
#pragma omp for schedule(dynamic, 1)
        for (int w = 0; w < nwork; w++) {
            int bh = w / nper, item = w % nper, b = bh / NH, h = bh % NH;
            if (item < nq) {
                int r0 = item * g.qb;
                backward_query_block(&g, dqkv, dout, out, qkv, lse, scr, b, h, r0, EF_MIN(g.qb, T - r0));
            } else {
                int k0 = (item - nq) * g.kb;
                backward_key_block(&g, dqkv, dout, out, qkv, lse, scr, b, h, k0, EF_MIN(g.kb, khi - k0));
            }
        }
    }
    ef_blas_end();
}
