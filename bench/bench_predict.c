/* bench_predict: throughput of one context-ensemble member as `eraformer predict` runs it:
 * n_ctx labelled context rows + one era of query rows through a rows-layout model shaped like
 * the fine-tuned one (3 layers, d_model 64, wide read-in over 160 features by default).
 * Compares the KV-cached path (ef_rows_cache: context once, queries attend it) with plain
 * ef_model_forward on [context | query chunk] sequences (timed on the first 512 query rows
 * at most), after checking that they agree, and projects an ensemble of `members` members.
 *
 *   bench_predict [n_ctx] [n_query] [features] [threads] [reps] [members]
 * Defaults: 256 context rows, 520 query rows (one synthetic validation era), 160 features,
 * 8 members. Issue 6's case: bench_predict 2048 7000 2748 2 3 8 (target < 2 s). */
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
    int members = argc > 6 ? atoi(argv[6]) : 8;
    if (nc < 1 || nq < 1 || D < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_predict [n_ctx] [n_query] [features] [threads] [reps]\n");
        return 2;
    }
    ef_threads_set(threads);
    int chunk = 128;  /* query rows per plain forward sequence */
    ef_model_config cfg = {EF_LAYOUT_ROWS, 3, 64, 4, D, nc + chunk, 0};
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

    double t_ctx = 0, t_q = 0;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = ef_time_now();
        if (ef_rows_cache_set_context(cache, x, y, NULL, D, nc, &err) != EF_OK) {
            fprintf(stderr, "bench_predict: %s\n", err.msg);
            return 1;
        }
        double t1 = ef_time_now();
        if (ef_rows_cache_predict(cache, xq, NULL, D, nq, p1, &err) != EF_OK) {
            fprintf(stderr, "bench_predict: %s\n", err.msg);
            return 1;
        }
        t_ctx += t1 - t0;
        t_q += ef_time_now() - t1;
    }
    t_ctx /= reps;
    t_q /= reps;
    double t_cache = t_ctx + t_q;
    int nq_plain = nq < 512 ? nq : 512;
    if (getenv("BENCH_NO_PLAIN")) nq_plain = 0;   /* profiling the cached path alone */

    double t0 = ef_time_now();
    for (int rep = 0; rep < reps; rep++) {
        memcpy(seq, x, (size_t)nc * D * sizeof(float));
        memcpy(sy, y, (size_t)nc * sizeof(float));
        for (int q0 = 0; q0 < nq_plain; q0 += chunk) {
            int n = nq_plain - q0 < chunk ? nq_plain - q0 : chunk;
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
    if (nq_plain == 0) nq_plain = 1, t_fwd = NAN;
    double maxdiff = 0;
    for (int i = 0; i < nq_plain; i++) maxdiff = fmax(maxdiff, fabs((double)p1[i] - p2[i]));
    printf("bench_predict: model 3x64, %d features, %d context rows, %d query rows, %d threads\n", D, nc, nq, ef_threads_get());
    printf("  cached (ef_rows_cache):     %8.2f ms/member  %9.0f query rows/s  (context %.2f ms, queries %.2f ms)\n",
           1e3 * t_cache, nq / t_cache, 1e3 * t_ctx, 1e3 * t_q);
    printf("  plain forward (chunks %3d): %8.2f ms/member  %9.0f query rows/s  (first %d query rows)\n", chunk,
           1e3 * t_fwd * nq / nq_plain, nq_plain / t_fwd, nq_plain);
    /* the predict procedure: the queries' embeddings once, then each member's context and
     * predictions (members differ only in their context sample) */
    float *emb = malloc((size_t)nq * cfg.d_model * sizeof(float));
    double te = 1e30;
    for (int rep = 0; rep < (reps < 2 ? 1 : 2); rep++) {
        double t0e = ef_time_now();
        if (ef_rows_cache_embed_queries(cache, xq, NULL, D, nq, emb, &err) != EF_OK) return 1;
        for (int k2 = 0; k2 < members; k2++)
            if (ef_rows_cache_set_context(cache, x, y, NULL, D, nc, &err) != EF_OK ||
                ef_rows_cache_predict_embedded(cache, emb, nq, p2, &err) != EF_OK)
                return 1;
        te = fmin(te, ef_time_now() - t0e);
    }
    free(emb);
    printf("  ensemble of %d members, shared query embeddings: %.3f s (best of %d)\n", members, te, reps < 2 ? 1 : 2);
    if (isnan(t_fwd)) maxdiff = 0;
    else printf("  max |cached - plain| = %.3g %s\n", maxdiff, maxdiff < 1e-3 ? "(agree)" : "(DISAGREE)");
    ef_rows_cache_destroy(cache);
    ef_model_destroy(m);
    free(x); free(y); free(p1); free(p2); free(seq); free(sy); free(sp);
    return maxdiff < 1e-3 ? 0 : 1;
}
