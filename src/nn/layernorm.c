/* LayerNorm over the last dimension, eps 1e-5 (PyTorch's default), with backward.
 * Derivation (per row, x̂ = (x-μ)·rstd, y = w⊙x̂ + b, g = w⊙dy):
 *   dx = rstd · (g − mean(g) − x̂·mean(g⊙x̂)),  dw = Σ_rows dy⊙x̂,  db = Σ_rows dy. */
#include <math.h>
#include "nn/nn_internal.h"

#define LN_EPS 1e-5f

// inp (N,C), w,b (C) -> out (N,C), mean,rstd (N)
void ef_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C) {
#pragma omp parallel for schedule(static) if ((double)N * C > EF_PAR_MIN_ELEMS)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = 0.0f;
        for (int c = 0; c < C; c++) m += x[c];
        m /= (float)C;
        float v = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            v += d * d;
        }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + LN_EPS);
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

// dout (N,C) -> dinp (N,C) +=, dw (C) +=, db (C) +=
void ef_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C) {
    int ncol = ef_nchunks(C, 32);
#pragma omp parallel if ((double)N * C > EF_PAR_MIN_ELEMS)
    {
#pragma omp for schedule(static) nowait
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float *dx = dinp + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            float gmean = 0.0f, gxmean = 0.0f;
            for (int c = 0; c < C; c++) {
                float xh = (x[c] - m) * s, g = w[c] * dy[c];
                gmean += g;
                gxmean += g * xh;
            }
            gmean /= (float)C;
            gxmean /= (float)C;
            for (int c = 0; c < C; c++) {
                float xh = (x[c] - m) * s, g = w[c] * dy[c];
                dx[c] += s * (g - gmean - xh * gxmean);
            }
        }
        /* parameter gradients: a fixed column partition, rows summed in order */
#pragma omp for schedule(static)
        for (int ch = 0; ch < ncol; ch++) {
            int c0 = ch * 32, cn = EF_MIN(32, C - c0);
            float aw[32] = {0}, ab[32] = {0};
            for (int n = 0; n < N; n++) {
                const float *x = inp + (size_t)n * C + c0, *dy = dout + (size_t)n * C + c0;
                float m = mean[n], s = rstd[n];
                for (int c = 0; c < cn; c++) {
                    aw[c] += dy[c] * (x[c] - m) * s;
                    ab[c] += dy[c];
                }
            }
            for (int c = 0; c < cn; c++) {
                dw[c0 + c] += aw[c];
                db[c0 + c] += ab[c];
            }
        }
    }
}
