/* LayerNorm over the last dimension, eps 1e-5 (PyTorch's default), with backward.
 * Derivation (per row, x̂ = (x-μ)·rstd, y = w⊙x̂ + b, g = w⊙dy):
 *   dx = rstd · (g − mean(g) − x̂·mean(g⊙x̂)),  dw = Σ_rows dy⊙x̂,  db = Σ_rows dy. */
#include <math.h>
#include "nn/nn_internal.h"

#define LN_EPS 1e-5f

/* Row sums with eight interleaved partial sums added in a fixed order: the same bits on
 * every run, and gcc vectorises it (a plain float sum must stay a serial chain). */
static inline float sum8(const float *a, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j];
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i];
    return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) + tail;
}

/* Σ (a_i - m)² with the same structure */
static inline float sqdev8(const float *a, float m, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float d = a[i + j] - m;
            acc[j] += d * d;
        }
    float tail = 0.0f;
    for (; i < n; i++) tail += (a[i] - m) * (a[i] - m);
    return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) + tail;
}

// inp (N,C), w,b (C) -> out (N,C), mean,rstd (N)
void ef_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C) {
#pragma omp parallel for schedule(static) if ((double)N * C > ef_par_min_elems())
    for (int n = 0; n < N; n++) {
        EF_PAR_NOTE();
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = sum8(x, C) / (float)C;
        float v = sqdev8(x, m, C) / (float)C;
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
#pragma omp parallel if ((double)N * C > ef_par_min_elems())
    {
        EF_PAR_NOTE();
#pragma omp for schedule(static) nowait
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float *dx = dinp + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            float ga[8] = {0, 0, 0, 0, 0, 0, 0, 0}, gxa[8] = {0, 0, 0, 0, 0, 0, 0, 0}, gt = 0.0f, gxt = 0.0f;
            int c = 0;
            for (; c + 8 <= C; c += 8)
                for (int j = 0; j < 8; j++) {
                    float xh = (x[c + j] - m) * s, g = w[c + j] * dy[c + j];
                    ga[j] += g;
                    gxa[j] += g * xh;
                }
            for (; c < C; c++) {
                float xh = (x[c] - m) * s, g = w[c] * dy[c];
                gt += g;
                gxt += g * xh;
            }
            float gmean = ((((ga[0] + ga[4]) + (ga[1] + ga[5])) + ((ga[2] + ga[6]) + (ga[3] + ga[7]))) + gt) / (float)C;
            float gxmean = ((((gxa[0] + gxa[4]) + (gxa[1] + gxa[5])) + ((gxa[2] + gxa[6]) + (gxa[3] + gxa[7]))) + gxt) / (float)C;
            for (c = 0; c < C; c++) {
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
