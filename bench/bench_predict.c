/* bench_predict: throughput of one context-ensemble member as `eraformer predict` runs it:
 * n_ctx labelled context rows + one era of query rows through a rows-layout model shaped like
 * the fine-tuned one (3 layers, d_model 64, wide read-in over 160 features by default).
 * Compares the KV-cached path (ef_rows_cache: context once, queries attend it) with plain
 * ef_model_forward on [context | query chunk] sequences, after checking that they agree.
 *
 *   bench_predict [n_ctx] [n_query] [features] [threads] [reps]
 * Defaults: 256 context rows, 520 query rows (one synthetic validation era), 160 features. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eraformer/base.h"
#include "eraformer/model.h"

int main(int argc, char **argv) {
    int nc = argc > 1 ? atoi(argv[1]) : 256;
    int nq = argc > 2 ? atoi(argv[2]) : 520;
    int D = argc > 3 ? atoi(argv[3]) : 160;
    int threads = argc > 4 ? atoi(argv[4]) : 0;
    int reps = argc > 5 ? atoi(argv[5]) : 5;
    if (nc < 1 || nq < 1 || D < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_predict [n_ctx] [n_query] [features] [threads] [reps]\n");
        return 2;
    }
    ef_threads_set(threads);
    int chunk = 128;  /* query rows per plain forward sequence */
    ef_model_config cfg = {EF_LAYOUT_ROWS, 3, 64, 4, D, nc + chunk};
    ef_model *m = NULL;
    ef_rows_cache *cache = NULL;
    ef_error err = {0};
    if (ef_model_create(&m, &cfg, 1, 1, &err) != EF_OK || ef_rows_cache_create(&cache, m, nc, &err) != EF_OK) {
        fprintf(stderr, "bench_predict: %s\n", err.msg);
        return 1;
    }
    size_t k = (size_t)nc + (size_t)nq;
    float *x = malloc(k * D * sizeof(float)), *y = malloc(k * sizeof(float));
    float *p1 = malloc((size_t)nq * sizeof(float)), *p2 = malloc((size_t)nq * sizeof(float));
    float *seq = malloc(((size_t)nc + chunk) * D * sizeof(float)), *sy = calloc((size_t)nc + chunk, sizeof(float));
    float *sp = malloc(((size_t)nc + chunk) * sizeof(float));
    ef_rng r;
    ef_rng_init(&r, 42, 0);
    for (size_t i = 0; i < k * D; i++) x[i] = (float)ef_rng_normal(&r);
    for (size_t i = 0; i < k; i++) y[i] = (float)ef_rng_normal(&r);
    const float *xq = x + (size_t)nc * D;

    double t0 = ef_time_now();
    for (int rep = 0; rep < reps; rep++) {
        if (ef_rows_cache_set_context(cache, x, y, NULL, D, nc, &err) != EF_OK ||
            ef_rows_cache_predict(cache, xq, NULL, D, nq, p1, &err) != EF_OK) {
            fprintf(stderr, "bench_predict: %s\n", err.msg);
            return 1;
        }
    }
    double t_cache = (ef_time_now() - t0) / reps;

    t0 = ef_time_now();
    for (int rep = 0; rep < reps; rep++) {
        memcpy(seq, x, (size_t)nc * D * sizeof(float));
        memcpy(sy, y, (size_t)nc * sizeof(float));
        for (int q0 = 0; q0 < nq; q0 += chunk) {
            int n = nq - q0 < chunk ? nq - q0 : chunk;
            memcpy(seq + (size_t)nc * D, xq + (size_t)q0 * D, (size_t)n * D * sizeof(float));
            ef_batch bt = {1, nc + n, nc, seq, sy, NULL, NULL};
            if (ef_model_forward(m, &bt, sp, NULL, &err) != EF_OK) {
                fprintf(stderr, "bench_predict: %s\n", err.msg);
                return 1;
            }
            memcpy(p2 + q0, sp + nc, (size_t)n * sizeof(float));
        }
    }
    double t_fwd = (ef_time_now() - t0) / reps;
    double maxdiff = 0;
    for (int i = 0; i < nq; i++) maxdiff = fmax(maxdiff, fabs((double)p1[i] - p2[i]));
    printf("bench_predict: model 3x64, %d features, %d context rows, %d query rows, %d threads\n", D, nc, nq, ef_threads_get());
    printf("  cached (ef_rows_cache):     %8.2f ms/member  %9.0f query rows/s\n", 1e3 * t_cache, nq / t_cache);
    printf("  plain forward (chunks %3d): %8.2f ms/member  %9.0f query rows/s\n", chunk, 1e3 * t_fwd, nq / t_fwd);
    printf("  max |cached - plain| = %.3g %s\n", maxdiff, maxdiff < 1e-3 ? "(agree)" : "(DISAGREE)");
    ef_rows_cache_destroy(cache);
    ef_model_destroy(m);
    free(x); free(y); free(p1); free(p2); free(seq); free(sy); free(sp);
    return maxdiff < 1e-3 ? 0 : 1;
}
