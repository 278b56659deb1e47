/* GELU, tanh approximation (GPT-2's gelu_new / PyTorch approximate='tanh'):
 *   gelu(x) = ½x(1 + tanh(u)) = x·σ(2u),  u = √(2/π)(x + 0.044715x³)
 *   gelu'(x) = σ(2u) + x·σ(2u)(1 − σ(2u))·2√(2/π)(1 + 3·0.044715x²)
 * The sigmoid form is evaluated with e = exp(−|2u|) ≤ 1, which stays accurate in both tails
 * (½(1 + tanh u) cancels catastrophically for u ≪ 0), through a branch-free, vectorisable
 * exp: glibc's tanhf/expf calls would cost a third of a small model's step.
 * Also the residual add. */
#include <math.h>
#include <string.h>
#include "nn/nn_internal.h"

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

/* σ(z) = 1/(1+e^-z) for z >= 0 and e^z/(1+e^z) for z < 0, with e = e^-|z| = t/p:
 *   σ = (z >= 0 ? p : t) / (p + t),  σ(1−σ) = t·p / (p + t)²   (one division) */
EF_CLONES static void gelu_fwd_chunk(float *restrict out, const float *restrict inp, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float z = 2.0f * GELU_K * (x + GELU_A * x * x * x);
        float p, t;
        EXP_NEG_PARTS(fabsf(z), t, p);
        float s = (z >= 0.0f ? p : t) / (p + t);
        out[i] = x * s;
    }
}

EF_CLONES static void gelu_bwd_chunk(float *restrict dinp, const float *restrict inp, const float *restrict dout, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float z = 2.0f * GELU_K * (x + GELU_A * x * x * x);
        float p, t;
        EXP_NEG_PARTS(fabsf(z), t, p);
        float q = 1.0f / (p + t);
        float s = (z >= 0.0f ? p : t) * q;
        float ss = t * p * q * q;
        float g = s + x * ss * 2.0f * GELU_K * (1.0f + 3.0f * GELU_A * x * x);
        dinp[i] += g * dout[i];
    }
}

#define GELU_CHUNK 8192

// inp (n) -> out (n)
void ef_gelu_forward(float *out, const float *inp, size_t n) {
    long nch = (long)((n + GELU_CHUNK - 1) / GELU_CHUNK);
#pragma omp parallel if (n > ef_par_min_elems())
    {
        EF_PAR_NOTE();
#pragma omp for schedule(static)
        for (long c = 0; c < nch; c++) {
            long i0 = c * GELU_CHUNK, m = (long)n - i0 < GELU_CHUNK ? (long)n - i0 : GELU_CHUNK;
            gelu_fwd_chunk(out + i0, inp + i0, m);
        }
    }
}

void ef_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    long nch = (long)((n + GELU_CHUNK - 1) / GELU_CHUNK);
#pragma omp parallel if (n > ef_par_min_elems())
    {
        EF_PAR_NOTE();
#pragma omp for schedule(static)
        for (long c = 0; c < nch; c++) {
            long i0 = c * GELU_CHUNK, m = (long)n - i0 < GELU_CHUNK ? (long)n - i0 : GELU_CHUNK;
            gelu_bwd_chunk(dinp + i0, inp + i0, dout + i0, m);
        }
    }
}

void ef_gelu_forward_ref(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        /* x·σ(2u) in double: ½x(1 + tanh u) would cancel to 0 in the left tail */
        out[i] = (float)(x / (1.0 + exp(-2.0 * 0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }
}

// ---- residual -------------------------------------------------------------------------

void ef_residual_forward(float *out, const float *a, const float *b, size_t n) {
    long nn = (long)n;
#pragma omp parallel if (n > ef_par_min_elems())
    {
        EF_PAR_NOTE();
#pragma omp for schedule(static, 4096)
        for (long i = 0; i < nn; i++) out[i] = a[i] + b[i];
    }
}

void ef_residual_backward(float *da, float *db, const float *dout, size_t n) {
    long nn = (long)n;
#pragma omp parallel if (n > ef_par_min_elems())
    {
        EF_PAR_NOTE();
#pragma omp for schedule(static, 4096)
        for (long i = 0; i < nn; i++) {
            da[i] += dout[i];
            db[i] += dout[i];
        }
    }
}
