/* eraformer bench: throughput of a training step (forward + backward + AdamW) and of a
 * forward pass on random data, as one JSON line, with the achieved GFLOP/s and its fraction
 * of a measured sgemm peak on the same threads. Configs (Garg-style, batch 64):
 *   A: 4 layers, d_model 128, 4 heads, d=10, k=20      B: 6 layers, 256, 8 heads, d=20, k=40
 *   C: 12 layers, 256, 8 heads, d=20, k=40              FILE: the config of a checkpoint
 * Interleaved layout: 2k tokens per sequence; rows layout: k tokens, n_ctx = k/2. */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "eraformer/model.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer bench [--config A|B|C|FILE] [--layout interleaved|rows] [--batch N]\n"
"                       [--steps N] [--threads N]\n"
"\n"
"Times training steps and forward passes on random data and prints one JSON line:\n"
"tokens/s, ms per step, model GFLOP/s (train = 3x forward FLOPs) and the fraction of the\n"
"sgemm peak measured on the same threads. Defaults: config A, batch 64, 10 steps.\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sgemm (NN) on (1024 x 512) x (512 x 512) per thread, all threads at once: GFLOP/s. */
static double sgemm_peak(void) {
    int M = 1024, K = 512, N = 512, nth = ef_threads_get(), reps = 8;
    float *a = ef_calloc((size_t)nth * M * K, 4), *b = ef_calloc((size_t)K * N, 4), *c = ef_calloc((size_t)nth * M * N, 4);
    if (!a || !b || !c) { ef_free(a); ef_free(b); ef_free(c); return NAN; }
    for (size_t i = 0; i < (size_t)nth * M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int trial = 0; trial < 3; trial++) {
        double t0 = ef_time_now();
#pragma omp parallel for schedule(static, 1)
        for (int t = 0; t < nth; t++)
            for (int r = 0; r < reps; r++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a + (size_t)t * M * K, K, b, N, 0.0f,
                            c + (size_t)t * M * N, N);
        double g = 2.0 * M * N * K * reps * nth / (ef_time_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    ef_free(a); ef_free(b); ef_free(c);
    return best;
}

int ef_cmd_bench(int argc, char **argv) {
    static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {"config", required_argument, 0, 'c'},
                                       {"layout", required_argument, 0, 'L'}, {"steps", required_argument, 0, 's'},
                                       {"batch", required_argument, 0, 'b'}, {"threads", required_argument, 0, 't'},
                                       {0, 0, 0, 0}};
    const char *cname = "A";
    ef_layout layout = EF_LAYOUT_INTERLEAVED;
    long steps = 10, batch = 64, threads = 0;
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        ef_error e = {0};
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'c': cname = optarg; break;
        case 'L': if (ef_layout_parse(optarg, &layout, &e) != EF_OK) return ef_cli_usage("bench", "%s", e.msg); break;
        case 's': rc = ef_cli_parse_long("bench", "--steps", optarg, 1, 100000, &steps); break;
        case 'b': rc = ef_cli_parse_long("bench", "--batch", optarg, 1, 65536, &batch); break;
        case 't': rc = ef_cli_parse_long("bench", "--threads", optarg, 1, 1024, &threads); break;
        default: return ef_cli_usage("bench", "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage("bench", "unexpected argument '%s'", argv[optind]);
    if (threads) ef_threads_set((int)threads);
    ef_nn_init();
    /* the raw GEMM probe below calls BLAS inside its own OpenMP region: one BLAS thread each,
     * for this process (the library's calls set it per call) */
    openblas_set_num_threads(1);

    ef_model_config cfg;
    int d, k;
    ef_error err = {0};
    if (!strcmp(cname, "A")) { cfg = (ef_model_config){layout, 4, 128, 4, 10, 20, 0}; d = 10; k = 20; }
    else if (!strcmp(cname, "B")) { cfg = (ef_model_config){layout, 6, 256, 8, 20, 40, 0}; d = 20; k = 40; }
    else if (!strcmp(cname, "C")) { cfg = (ef_model_config){layout, 12, 256, 8, 20, 40, 0}; d = 20; k = 40; }
    else {
        ef_model *fm;
        if (ef_model_load(&fm, cname, 1, NULL, NULL, &err) != EF_OK)
            return ef_cli_fail(&err, "--config takes A, B, C or a checkpoint file");
        cfg = *ef_model_cfg(fm);
        ef_model_destroy(fm);
        cfg.layout = layout;
        d = cfg.d_max;
        k = cfg.max_points;
    }
    ef_model *m;
    if (ef_model_create(&m, &cfg, (int)batch, 1, &err) != EF_OK) return ef_cli_fail(&err, NULL);
    size_t B = (size_t)batch;
    float *x = ef_malloc(B * k * d * sizeof(float)), *y = ef_malloc(B * k * sizeof(float));
    double *ts = ef_malloc((size_t)steps * sizeof(double)), *tf = ef_malloc((size_t)steps * sizeof(double));
    if (!x || !y || !ts || !tf) {
        ef_free(x); ef_free(y); ef_free(ts); ef_free(tf); ef_model_destroy(m);
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        return ef_cli_fail(&err, NULL);
    }
    ef_rng r;
    ef_rng_init(&r, 1, 0);
    for (size_t i = 0; i < B * k * d; i++) x[i] = (float)ef_rng_normal(&r);
    for (size_t i = 0; i < B * k; i++) y[i] = (float)ef_rng_normal(&r);
    ef_batch bt = {(int)batch, k, k / 2, x, y, NULL, NULL};
    ef_adamw opt = {1e-4f, 0.9f, 0.95f, 1e-8f, 0.0f};
    double loss;
    for (long s = -2; s < steps; s++) {  /* two warm-up steps */
        double t0 = ef_time_now();
        ef_model_forward(m, &bt, NULL, &loss, &err);
        ef_model_zero_grad(m);
        ef_model_backward(m, &err);
        ef_model_clip_grad(m, 1.0);
        ef_model_adamw_step(m, &opt);
        if (s >= 0) ts[s] = ef_time_now() - t0;
    }
    for (long s = -1; s < steps; s++) {
        double t0 = ef_time_now();
        ef_model_forward(m, &bt, NULL, &loss, &err);
        if (s >= 0) tf[s] = ef_time_now() - t0;
    }
    qsort(ts, (size_t)steps, sizeof *ts, cmp_double);
    qsort(tf, (size_t)steps, sizeof *tf, cmp_double);
    double step_s = ts[steps / 2], fwd_s = tf[steps / 2];
    int T = layout == EF_LAYOUT_INTERLEAVED ? 2 * k : k;
    double tokens = (double)batch * T, fflops = ef_model_forward_flops(&cfg, (int)batch, k);
    double peak = sgemm_peak();
    double gflops = 3.0 * fflops / step_s / 1e9;
    printf("{\"impl\":\"eraformer\",\"config\":\"%s\",\"layout\":\"%s\",\"threads\":%d,\"batch\":%ld,\"tokens\":%d,"
           "\"params\":%zu,\"step_ms\":%.2f,\"tokens_per_s\":%.1f,\"gflops\":%.2f,\"fwd_ms\":%.2f,\"fwd_tokens_per_s\":%.1f,"
           "\"fwd_gflops\":%.2f,\"sgemm_peak_gflops\":%.1f,\"frac_of_peak\":%.3f}\n",
           cname, ef_layout_name(layout), ef_threads_get(), batch, T, ef_model_num_params(m), step_s * 1e3,
           tokens / step_s, gflops, fwd_s * 1e3, tokens / fwd_s, fflops / fwd_s / 1e9, peak, gflops / peak);
    ef_free(x); ef_free(y); ef_free(ts); ef_free(tf);
    ef_model_destroy(m);
    return 0;
}
