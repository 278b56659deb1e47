/* eraformer nn: the layers of the transformer as forward/backward pairs.
 *
 * Conventions (llm.c style): outputs first, then saved activations, then const inputs, then
 * const parameters, then int dims. Every backward ACCUMULATES (+=) into its gradient outputs.
 * Shapes are row-major; N is a number of rows (B*T), C a width.
 *
 * Threading: OpenMP over work items with disjoint outputs, partitioned in fixed-size chunks
 * that do not depend on the number of threads, and reductions summed in a fixed order, so
 * results are bitwise identical for any thread count. BLAS (OpenBLAS cblas_sgemm) runs
 * single-threaded inside our parallel regions: each layer that calls it sets OpenBLAS to one
 * thread for its own duration and restores the caller's count on return (reference counted
 * across threads, so concurrent callers are safe; nothing stays set in the process).
 *
 * Each optimised kernel has a naive *_ref twin used by the tests. */
#ifndef EF_NN_H
#define EF_NN_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Once per process (idempotent, thread-safe): reads the EF_PAR_MIN override. It no longer
 * touches OpenBLAS (the layers set its thread count per call). */
void ef_nn_init(void);

// ---- linear ---------------------------------------------------------------------------
/* inp (N,C), w (OC,C), b (OC) or NULL -> out (N,OC) = inp·wᵀ + b */
void ef_linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC);
/* dout (N,OC) -> dinp (N,C) += dout·w, dw (OC,C) += doutᵀ·inp, db (OC) += Σ_n dout.
 * dinp and db may be NULL. */
void ef_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC);
void ef_linear_forward_ref(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC);
void ef_linear_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                            const float *w, int N, int C, int OC);

// ---- layernorm ------------------------------------------------------------------------
/* inp (N,C), w,b (C) -> out (N,C), mean,rstd (N) saved for backward. eps = 1e-5. */
void ef_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C);
void ef_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C);

// ---- GELU (tanh approximation, GPT-2's gelu_new) ----------------------------------------
/* inp (n) -> out (n) */
void ef_gelu_forward(float *out, const float *inp, size_t n);
void ef_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
void ef_gelu_forward_ref(float *out, const float *inp, size_t n);

// ---- residual -------------------------------------------------------------------------
/* out (n) = a + b */
void ef_residual_forward(float *out, const float *a, const float *b, size_t n);
/* da += dout, db += dout */
void ef_residual_backward(float *da, float *db, const float *dout, size_t n);

// ---- softmax rows ------------------------------------------------------------------------
/* One softmax row, unnormalised, with an optional extra logit (a query's score with itself
 * in the context cache; -INFINITY for none): m = max(s[0..n), extra), s[i] <- exp(s[i] - m),
 * *e_extra <- exp(extra - m) (may be NULL); returns the sum of all of them. A vectorised
 * exp (relative error < 1e-6) and a fixed summation order: results do not depend on
 * threads. n >= 0; if n == 0 and extra == -INFINITY the sum is 0. */
float ef_softmax_exp_row(float *s, long n, float extra, float *e_extra);
/* One block of an online (blocked) softmax row: m = max(*m_io, s[0..n)), s[i] <- exp(s[i] - m),
 * *rescale <- exp(*m_io - m) (what the earlier blocks' sums and outputs must be multiplied by;
 * 0 when *m_io was -INFINITY), *m_io <- m; returns the sum of the block's exps. */
float ef_softmax_exp_block(float *s, long n, float *m_io, float *rescale);
/* The same with expf and a sequential sum (the reference). */
float ef_softmax_exp_row_ref(float *s, long n, float extra, float *e_extra);

// ---- attention ------------------------------------------------------------------------
typedef enum ef_mask_kind {
    EF_MASK_CAUSAL = 0,    /* token t attends 0..t */
    EF_MASK_CTX_QUERY = 1  /* t < n_ctx attends 0..n_ctx-1; t >= n_ctx attends 0..n_ctx-1 and t */
} ef_mask_kind;

typedef struct ef_mask {
    ef_mask_kind kind;
    int n_ctx;             /* EF_MASK_CTX_QUERY only */
} ef_mask;

/* 1 if query t may attend key s. */
int ef_mask_allows(ef_mask m, int t, int s);

/* Per-thread scratch floats that ef_attention_* need for (T, hs). */
size_t ef_attention_scratch_floats(int T, int hs);

/* qkv (B,T,3C) [q | k | v, heads contiguous inside each] -> out (B,T,C),
 * att (B,NH,T,T) = softmax probabilities (zero where masked), saved for backward.
 * scratch: nscratch blocks of ef_attention_scratch_floats(T, C/NH) floats; parallel over
 * (b, h) with at most nscratch threads. O(T²·hs) per (b,h). */
void ef_attention_forward(float *out, float *att, const float *qkv, ef_mask mask,
                          float *scratch, int nscratch, int B, int T, int C, int NH);
/* dout (B,T,C) -> dqkv (B,T,3C) +=. Uses dS = P ⊙ (dP − rowsum(P ⊙ dP)): O(T²·hs). */
void ef_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           ef_mask mask, float *scratch, int nscratch, int B, int T, int C, int NH);
void ef_attention_forward_ref(float *out, float *att, const float *qkv, ef_mask mask, int B, int T, int C, int NH);
void ef_attention_backward_ref(float *dqkv, const float *dout, const float *qkv, const float *att,
                               ef_mask mask, int B, int T, int C, int NH);

/* Memory-linear attention (FlashAttention-2 style, attention_flash.c) for the causal and the
 * context/query masks: the forward saves only out and the per-row log-sum-exp, the backward
 * recomputes the probabilities in blocks. Saved state O(B·NH·T), scratch per thread
 * ef_attention_flash_scratch_floats(hs) (a few hundred KB, independent of T); no (T,T)
 * matrix. Parallel over blocks of query rows (forward; backward's dQ) and of keys (backward's
 * dK, dV, each looping over the query blocks in order): bitwise identical for any thread
 * count. Results equal the dense path's up to float rounding. */
size_t ef_attention_flash_scratch_floats(int hs);
/* 1 if ef_attention_flash_* handle this mask (both kinds do). */
int ef_attention_flash_supports(ef_mask m);
/* qkv (B,T,3C) -> out (B,T,C), lse (B,NH,T) = log Σ_allowed exp(s·q·k) of each row.
 * scratch: nscratch blocks of ef_attention_flash_scratch_floats(C/NH) floats. */
void ef_attention_flash_forward(float *out, float *lse, const float *qkv, ef_mask mask, float *scratch, int nscratch,
                                int B, int T, int C, int NH);
/* dout (B,T,C), with the forward's out (B,T,C) and lse (B,NH,T) -> dqkv (B,T,3C) +=. */
void ef_attention_flash_backward(float *dqkv, const float *dout, const float *out, const float *qkv, const float *lse,
                                 ef_mask mask, float *scratch, int nscratch, int B, int T, int C, int NH);

// ---- MSE loss -------------------------------------------------------------------------
/* pred, target (n), weight (n) or NULL (weight 0 = ignored) -> mean over weighted items of
 * (pred-target)², in double. dpred (n) += d loss / d pred. Returns the loss. */
double ef_mse_forward(const float *pred, const float *target, const float *weight, size_t n);
void ef_mse_backward(float *dpred, const float *pred, const float *target, const float *weight,
                     size_t n, float scale);
/* Per-era correlation loss: returns -Pearson(p, y) over n items and writes dp (n) =
 * d(-corr)/dp (overwritten, not accumulated; dp may be NULL). 0 and dp = 0 when n < 2 or p or
 * y is constant. In double internally. */
double ef_corr_loss(float *dp, const float *p, const float *y, size_t n);

#ifdef __cplusplus
}
#endif
#endif
