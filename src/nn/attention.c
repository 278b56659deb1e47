/* Multi-head self-attention with an explicit mask, forward and O(T²·hs) backward, parallel
 * over (batch, head), plus the naive reference.
 *
 * Per (b,h), with Q,K,V (T,hs) and s = 1/√hs:
 *   S = s·QKᵀ, P = softmax over the allowed keys of each row (masked entries are exactly 0),
 *   O = PV.
 * Backward (dO given):
 *   dV = PᵀdO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = s·dS·K, dK = s·dSᵀ·Q.
 * The row-sum form avoids llm.c's O(T³) softmax Jacobian loop. */
#include <math.h>
#include <string.h>
#include "nn/nn_internal.h"

int ef_mask_allows(ef_mask m, int t, int s) {
    if (m.kind == EF_MASK_CAUSAL) return s <= t;
    return s < m.n_ctx || s == t;
}

/* Q, K, V, O (or dO), dQ, dK, dV: 7 (T,hs) blocks; plus one (T,T) block for dP. */
size_t ef_attention_scratch_floats(int T, int hs) {
    return (size_t)7 * T * hs + (size_t)T * T + 16;
}

static void gather(float *dst, const float *src, int T, int stride, int hs) {
    for (int t = 0; t < T; t++) memcpy(dst + (size_t)t * hs, src + (size_t)t * stride, (size_t)hs * sizeof(float));
}

static void scatter_add(float *dst, const float *src, int T, int stride, int hs) {
    for (int t = 0; t < T; t++) {
        float *d = dst + (size_t)t * stride;
        const float *s = src + (size_t)t * hs;
        for (int i = 0; i < hs; i++) d[i] += s[i];
    }
}

/* Softmax of row t of S over the keys the mask allows, in place; others set to 0. */
static void masked_softmax_row(float *row, int t, int T, ef_mask m) {
    int hi = m.kind == EF_MASK_CAUSAL ? t + 1 : EF_MIN(m.n_ctx, T); /* contiguous allowed prefix */
    int self_extra = m.kind == EF_MASK_CTX_QUERY && t >= m.n_ctx;
    float self;
    float sum = ef_softmax_exp_row(row, hi, self_extra ? row[t] : -INFINITY, &self);
    float inv = 1.0f / sum;
    for (int s = 0; s < hi; s++) row[s] *= inv;
    for (int s = hi; s < T; s++) row[s] = 0.0f;
    if (self_extra) row[t] = self * inv;
}

// qkv (B,T,3C) -> out (B,T,C), att (B,NH,T,T)
void ef_attention_forward(float *out, float *att, const float *qkv, ef_mask mask,
                          float *scratch, int nscratch, int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    size_t per = ef_attention_scratch_floats(T, hs);
    int nwork = B * NH;
    ef_blas_begin();
#pragma omp parallel for schedule(static) num_threads(ef_thread_cap(nscratch)) if ((double)nwork * T * T * hs > ef_par_min_flops())
    for (int bh = 0; bh < nwork; bh++) {
        EF_PAR_NOTE();
        int b = bh / NH, h = bh % NH, tid = ef_thread_id();
        float *Q = scratch + (size_t)tid * per, *K = Q + (size_t)T * hs, *V = K + (size_t)T * hs;
        float *O = V + (size_t)T * hs;
        const float *base = qkv + (size_t)b * T * 3 * C + (size_t)h * hs;
        gather(Q, base, T, 3 * C, hs);
        gather(K, base + C, T, 3 * C, hs);
        gather(V, base + 2 * C, T, 3 * C, hs);
        float *P = att + (size_t)bh * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, Q, hs, K, hs, 0.0f, P, T);
        for (int t = 0; t < T; t++) masked_softmax_row(P + (size_t)t * T, t, T, mask);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, P, T, V, hs, 0.0f, O, hs);
        float *ob = out + (size_t)b * T * C + (size_t)h * hs;
        for (int t = 0; t < T; t++) memcpy(ob + (size_t)t * C, O + (size_t)t * hs, (size_t)hs * sizeof(float));
    }
    ef_blas_end();
}

// dout (B,T,C) -> dqkv (B,T,3C) +=
void ef_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           ef_mask mask, float *scratch, int nscratch, int B, int T, int C, int NH) {
    (void)mask; /* masked entries of P are 0, so dS is 0 there: the mask is implied by att */
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    size_t per = ef_attention_scratch_floats(T, hs);
    int nwork = B * NH;
    ef_blas_begin();
#pragma omp parallel for schedule(static) num_threads(ef_thread_cap(nscratch)) if ((double)nwork * T * T * hs > ef_par_min_flops())
    for (int bh = 0; bh < nwork; bh++) {
        EF_PAR_NOTE();
        int b = bh / NH, h = bh % NH, tid = ef_thread_id();
        float *Q = scratch + (size_t)tid * per, *K = Q + (size_t)T * hs, *V = K + (size_t)T * hs;
        float *dO = V + (size_t)T * hs, *dQ = dO + (size_t)T * hs, *dK = dQ + (size_t)T * hs;
        float *dV = dK + (size_t)T * hs, *dP = dV + (size_t)T * hs;
        const float *base = qkv + (size_t)b * T * 3 * C + (size_t)h * hs;
        gather(Q, base, T, 3 * C, hs);
        gather(K, base + C, T, 3 * C, hs);
        gather(V, base + 2 * C, T, 3 * C, hs);
        gather(dO, dout + (size_t)b * T * C + (size_t)h * hs, T, C, hs);
        const float *P = att + (size_t)bh * T * T;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, P, T, dO, hs, 0.0f, dV, hs);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dO, hs, V, hs, 0.0f, dP, T);
        for (int t = 0; t < T; t++) {
            const float *p = P + (size_t)t * T;
            float *dp = dP + (size_t)t * T;
            float dot = 0.0f;
            for (int s = 0; s < T; s++) dot += p[s] * dp[s];
            for (int s = 0; s < T; s++) dp[s] = p[s] * (dp[s] - dot);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, scale, dP, T, K, hs, 0.0f, dQ, hs);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, scale, dP, T, Q, hs, 0.0f, dK, hs);
        float *db = dqkv + (size_t)b * T * 3 * C + (size_t)h * hs;
        scatter_add(db, dQ, T, 3 * C, hs);
        scatter_add(db + C, dK, T, 3 * C, hs);
        scatter_add(db + 2 * C, dV, T, 3 * C, hs);
    }
    ef_blas_end();
}

// ---- reference: direct loops in double, the full softmax Jacobian ---------------------

void ef_attention_forward_ref(float *out, float *att, const float *qkv, ef_mask mask, int B, int T, int C, int NH) {
    int hs = C / NH;
    double scale = 1.0 / sqrt((double)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + (size_t)h * hs;
                float *p = att + (((size_t)b * NH + h) * T + t) * T;
                double mx = -INFINITY, sum = 0;
                double sc[4096];
                for (int s = 0; s < T; s++) {
                    if (!ef_mask_allows(mask, t, s)) continue;
                    const float *k = qkv + ((size_t)b * T + s) * 3 * C + C + (size_t)h * hs;
                    double d = 0;
                    for (int i = 0; i < hs; i++) d += (double)q[i] * k[i];
                    sc[s] = d * scale;
                    if (sc[s] > mx) mx = sc[s];
                }
                for (int s = 0; s < T; s++) {
                    if (!ef_mask_allows(mask, t, s)) { sc[s] = 0; continue; }
                    sc[s] = exp(sc[s] - mx);
                    sum += sc[s];
                }
                for (int s = 0; s < T; s++) p[s] = (float)(sc[s] / sum);
                float *o = out + ((size_t)b * T + t) * C + (size_t)h * hs;
                for (int i = 0; i < hs; i++) {
                    double acc = 0;
                    for (int s = 0; s < T; s++)
                        acc += (double)p[s] * qkv[((size_t)b * T + s) * 3 * C + 2 * C + (size_t)h * hs + i];
                    o[i] = (float)acc;
                }
            }
}

void ef_attention_backward_ref(float *dqkv, const float *dout, const float *qkv, const float *att,
                               ef_mask mask, int B, int T, int C, int NH) {
    (void)mask;
    int hs = C / NH;
    double scale = 1.0 / sqrt((double)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *p = att + (((size_t)b * NH + h) * T + t) * T;
                const float *dO = dout + ((size_t)b * T + t) * C + (size_t)h * hs;
                double dp[4096];
                for (int s = 0; s < T; s++) {
                    const float *v = qkv + ((size_t)b * T + s) * 3 * C + 2 * C + (size_t)h * hs;
                    float *dv = dqkv + ((size_t)b * T + s) * 3 * C + 2 * C + (size_t)h * hs;
                    double d = 0;
                    for (int i = 0; i < hs; i++) {
                        d += (double)dO[i] * v[i];
                        dv[i] += (float)(p[s] * dO[i]);
                    }
                    dp[s] = d;
                }
                /* full Jacobian: dS_s = Σ_r p_r (δ_rs − p_s) dp_r  — O(T²) per row */
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + (size_t)h * hs;
                float *dq = dqkv + ((size_t)b * T + t) * 3 * C + (size_t)h * hs;
                for (int s = 0; s < T; s++) {
                    double ds = 0;
                    for (int r = 0; r < T; r++) ds += (double)p[r] * ((r == s) - p[s]) * dp[r];
                    ds *= scale;
                    const float *k = qkv + ((size_t)b * T + s) * 3 * C + C + (size_t)h * hs;
                    float *dk = dqkv + ((size_t)b * T + s) * 3 * C + C + (size_t)h * hs;
                    for (int i = 0; i < hs; i++) {
                        dq[i] += (float)(ds * k[i]);
                        dk[i] += (float)(ds * q[i]);
                    }
                }
            }
}
