/* Linear layer: out = inp·wᵀ + b through cblas_sgemm, parallel over fixed row chunks
 * (forward, dinp) and fixed output-column chunks (dw, db), and the naive reference. */
#include <pthread.h>
#include <string.h>
#include "nn/nn_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Reads EF_PAR_MIN (nn_internal.h) here, so that its report comes in a build without OpenMP
 * too, where the regions' if clauses, hence the threshold functions, are never evaluated. The
 * OpenBLAS thread count is no longer set here, once for the process: every function that runs
 * BLAS sets it to 1 for its own duration (ef_blas_begin, base/blas.h). */
static void nn_init_once(void) { (void)ef_par_min_flops(); }

void ef_nn_init(void) {
    /* pthread_once: concurrent first callers run the setting once, and none returns before it
     * is done (a plain static flag was a data race, and let two callers both set it) */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, nn_init_once);
}

// inp (N,C), w (OC,C), b (OC) -> out (N,OC)
void ef_linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    ef_blas_begin(); /* OpenBLAS's own pool would fight our OpenMP threads (see perf.md) */
    int nch = ef_nchunks(N, EF_ROW_CHUNK);
#pragma omp parallel for schedule(static) if ((double)N * C * OC > ef_par_min_flops())
    for (int ch = 0; ch < nch; ch++) {
        EF_PAR_NOTE();
        int r0 = ch * EF_ROW_CHUNK, rn = EF_MIN(EF_ROW_CHUNK, N - r0);
        float *o = out + (size_t)r0 * OC;
        float beta = 0.0f;
        if (b) {
            for (int r = 0; r < rn; r++) memcpy(o + (size_t)r * OC, b, (size_t)OC * sizeof(float));
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rn, OC, C, 1.0f, inp + (size_t)r0 * C, C,
                    w, C, beta, o, OC);
    }
    ef_blas_end();
}

// dout (N,OC) -> dinp (N,C) +=, dw (OC,C) +=, db (OC) +=
void ef_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC) {
    int nrow = ef_nchunks(N, EF_ROW_CHUNK), ncol = ef_nchunks(OC, EF_COL_CHUNK);
    ef_blas_begin();
#pragma omp parallel if ((double)N * C * OC > ef_par_min_flops())
    {
        EF_PAR_NOTE();
        if (dinp) {
#pragma omp for schedule(static) nowait
            for (int ch = 0; ch < nrow; ch++) {
                int r0 = ch * EF_ROW_CHUNK, rn = EF_MIN(EF_ROW_CHUNK, N - r0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rn, C, OC, 1.0f,
                            dout + (size_t)r0 * OC, OC, w, C, 1.0f, dinp + (size_t)r0 * C, C);
            }
        }
#pragma omp for schedule(static)
        for (int ch = 0; ch < ncol; ch++) {
            int o0 = ch * EF_COL_CHUNK, on = EF_MIN(EF_COL_CHUNK, OC - o0);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, on, C, N, 1.0f, dout + o0, OC, inp, C,
                        1.0f, dw + (size_t)o0 * C, C);
            if (db) {
                double acc[EF_COL_CHUNK] = {0};
                for (int n = 0; n < N; n++) {
                    const float *d = dout + (size_t)n * OC + o0;
                    for (int o = 0; o < on; o++) acc[o] += d[o];
                }
                for (int o = 0; o < on; o++) db[o0 + o] += (float)acc[o];
            }
        }
    }
    ef_blas_end();
}

// ---- reference ------------------------------------------------------------------------

void ef_linear_forward_ref(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = b ? b[o] : 0.0;
            for (int c = 0; c < C; c++) s += (double)inp[(size_t)n * C + c] * w[(size_t)o * C + c];
            out[(size_t)n * OC + o] = (float)s;
        }
}

void ef_linear_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                            const float *w, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            float d = dout[(size_t)n * OC + o];
            if (dinp)
                for (int c = 0; c < C; c++) dinp[(size_t)n * C + c] += d * w[(size_t)o * C + c];
            for (int c = 0; c < C; c++) dw[(size_t)o * C + c] += d * inp[(size_t)n * C + c];
            if (db) db[o] += d;
        }
}
