/* Per-op timings at a config's shapes (default A: N = 64·40 rows, C = 128, 4 heads, T = 40):
 * where does a training step go? Prints one line per op with ms and GFLOP/s. Verifies
 * nothing; see tests/nn for correctness. Usage: bench_ops [N C NH T reps] */
#include <stdio.h>
#include <stdlib.h>
#include "eraformer/nn.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static float *rnd(size_t n) {
    float *a = ef_malloc(n * 4);
    ef_rng r;
    ef_rng_init(&r, n, 1);
    for (size_t i = 0; i < n; i++) a[i] = (float)ef_rng_normal(&r) * 0.1f;
    return a;
}

#define TIME(label, flops, stmt)                                                          \
    do {                                                                                  \
        stmt;                                                                             \
        double t0 = ef_time_now();                                                        \
        for (int r_ = 0; r_ < reps; r_++) stmt;                                           \
        double dt = (ef_time_now() - t0) / reps;                                          \
        printf("%-28s %8.3f ms  %7.1f GFLOP/s\n", label, dt * 1e3, (flops) / dt / 1e9);  \
    } while (0)

int main(int argc, char **argv) {
    int N = argc > 1 ? atoi(argv[1]) : 2560, C = argc > 2 ? atoi(argv[2]) : 128;
    int NH = argc > 3 ? atoi(argv[3]) : 4, T = argc > 4 ? atoi(argv[4]) : 40, reps = argc > 5 ? atoi(argv[5]) : 20;
    int B = N / T;
    ef_nn_init();
    printf("N=%d C=%d NH=%d T=%d threads=%d\n", N, C, NH, T, ef_threads_get());
    float *x = rnd((size_t)N * 4 * C), *w = rnd((size_t)4 * C * C), *b = rnd(4 * C), *o = rnd((size_t)N * 4 * C);
    float *dx = rnd((size_t)N * 4 * C), *dw = rnd((size_t)4 * C * C), *db = rnd(4 * C), *d = rnd((size_t)N * 4 * C);
    float *mean = rnd(N), *rstd = rnd(N), *att = rnd((size_t)B * NH * T * T);
    int nsc = 8;
    float *scr = rnd(nsc * ef_attention_scratch_floats(T, C / NH));
    double f1 = 2.0 * N * C * C;
    TIME("linear fwd C->3C", 3 * f1, ef_linear_forward(o, x, w, b, N, C, 3 * C));
    TIME("linear bwd C->3C", 6 * f1, ef_linear_backward(dx, dw, db, d, x, w, N, C, 3 * C));
    TIME("linear fwd C->4C", 4 * f1, ef_linear_forward(o, x, w, b, N, C, 4 * C));
    TIME("linear bwd C->4C", 8 * f1, ef_linear_backward(dx, dw, db, d, x, w, N, C, 4 * C));
    TIME("linear fwd 4C->C", 4 * f1, ef_linear_forward(o, x, w, b, N, 4 * C, C));
    TIME("linear bwd 4C->C", 8 * f1, ef_linear_backward(dx, dw, db, d, x, w, N, 4 * C, C));
    TIME("linear bwd dW only C->3C", 3 * f1, ef_linear_backward(NULL, dw, db, d, x, w, N, C, 3 * C));
    TIME("layernorm fwd", 0, ef_layernorm_forward(o, mean, rstd, x, w, b, N, C));
    TIME("layernorm bwd", 0, ef_layernorm_backward(dx, dw, db, d, x, w, mean, rstd, N, C));
    TIME("gelu fwd (N,4C)", 0, ef_gelu_forward(o, x, (size_t)N * 4 * C));
    TIME("gelu bwd (N,4C)", 0, ef_gelu_backward(dx, x, d, (size_t)N * 4 * C));
    ef_mask mk = {EF_MASK_CAUSAL, 0};
    double fa = 4.0 * B * T * T * C;
    TIME("attention fwd", fa, ef_attention_forward(o, att, x, mk, scr, nsc, B, T, C, NH));
    TIME("attention bwd", 2 * fa, ef_attention_backward(dx, d, x, att, mk, scr, nsc, B, T, C, NH));
    /* the rows layout's mask (3/4 of the rows context): dense against flash (memory-linear) */
    ef_mask mr = {EF_MASK_CTX_QUERY, T * 3 / 4};
    float *lse = rnd((size_t)B * NH * T), *fscr = rnd(nsc * ef_attention_flash_scratch_floats(C / NH));
    double fr = 4.0 * B * T * (T * 3 / 4) * C;
    TIME("attention fwd rows dense", fr, ef_attention_forward(o, att, x, mr, scr, nsc, B, T, C, NH));
    TIME("attention bwd rows dense", 2 * fr, ef_attention_backward(dx, d, x, att, mr, scr, nsc, B, T, C, NH));
    TIME("attention fwd rows flash", fr, ef_attention_flash_forward(o, lse, x, mr, fscr, nsc, B, T, C, NH));
    TIME("attention bwd rows flash", 2 * fr, ef_attention_flash_backward(dx, d, o, x, lse, mr, fscr, nsc, B, T, C, NH));
    TIME("residual fwd (N,C)", 0, ef_residual_forward(o, x, d, (size_t)N * C));
    return 0;
}
