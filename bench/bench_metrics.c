/* bench_metrics: per-era scoring throughput. Scores CORR + MMC + FNC (neutralizing against 42
 * features) + feature exposure over synthetic data shaped like Numerai validation (default 4M
 * rows over 650 eras), after verifying two eras against the single-era reference functions.
 *
 *   bench_metrics [rows] [eras] [features] [threads]
 * Target (issue): < 3 s for 4M rows / 650 eras on 2 cores. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "eraformer/base.h"
#include "eraformer/metrics.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    size_t N = argc > 1 ? (size_t)atol(argv[1]) : 4000000;
    size_t E = argc > 2 ? (size_t)atol(argv[2]) : 650;
    size_t NF = argc > 3 ? (size_t)atol(argv[3]) : 42;
    int threads = argc > 4 ? atoi(argv[4]) : 0;
    if (N < E * 4 || E == 0) {
        fprintf(stderr, "usage: bench_metrics [rows] [eras] [features] [threads]\n");
        return 2;
    }
    ef_threads_set(threads);
    double *p = malloc(N * sizeof *p), *t = malloc(N * sizeof *t), *m = malloc(N * sizeof *m);
    float *F = malloc(N * NF * sizeof *F);
    size_t *off = malloc((E + 1) * sizeof *off);
    if (!p || !t || !m || !F || !off) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    ef_rng g;
    ef_rng_init(&g, 2024, 0);
    for (size_t e = 0; e <= E; e++) off[e] = N * e / E;
    for (size_t i = 0; i < N; i++) {
        double sig = 0;
        for (size_t j = 0; j < NF; j++) {
            float f = (float)ef_rng_below(&g, 5);
            F[i * NF + j] = f;
            if (j < 4) sig += f - 2;
        }
        double z = 0.05 * sig + ef_rng_normal(&g);
        t[i] = z < -1.64 ? 0 : z < -0.52 ? 0.25 : z < 0.52 ? 0.5 : z < 1.64 ? 0.75 : 1.0;
        p[i] = 0.02 * sig + ef_rng_normal(&g);
        m[i] = p[i] + ef_rng_normal(&g);
    }
    ef_score_input in = {0};
    in.n_rows = N;
    in.n_eras = E;
    in.era_off = off;
    in.pred = p;
    in.target = t;
    in.meta = m;
    in.features = F;
    in.n_features = NF;
    ef_era_scores s;
    ef_error err;
    double t0 = ef_time_now(), c0 = cpu_now();
    if (ef_era_scores_compute(&s, &in, &err)) {
        fprintf(stderr, "score: %s\n", err.msg);
        return 1;
    }
    double dt = ef_time_now() - t0, cpu = cpu_now() - c0;
    /* verify eras 0 and E-1 against the reference (dgelsd) path */
    int bad = 0;
    for (size_t k = 0; k < 2; k++) {
        size_t e = k ? E - 1 : 0, r0 = off[e], n = off[e + 1] - r0;
        double c, mmc, fnc, mx;
        ef_metrics_numerai_corr(&c, p + r0, t + r0, n, NULL, NULL);
        ef_metrics_correlation_contribution(&mmc, p + r0, m + r0, t + r0, n, NULL, NULL);
        ef_metrics_feature_neutral_corr(&fnc, p + r0, t + r0, NULL, F + r0 * NF, NF, NF, n, NULL);
        ef_metrics_feature_exposure(NULL, &mx, NULL, NULL, p + r0, NULL, F + r0 * NF, NF, NF, n, NULL);
        bad |= c != s.corr[e] || mmc != s.mmc[e] || fabs(fnc - s.fnc[e]) > 1e-10 ||
               fabs(mx - s.max_exposure[e]) > 1e-12;
    }
    ef_era_summary sc, sf;
    ef_era_summary_compute(&sc, s.corr, E);
    ef_era_summary_compute(&sf, s.fnc, E);
    printf("verify: %s\n", bad ? "MISMATCH" : "ok");
    printf("rows %zu eras %zu features %zu threads %d: CORR+MMC+FNC+exposure in %.3f s wall, "
           "%.3f s CPU (%.1f Mrows/s)\n", N, E, NF, ef_threads_get(), dt, cpu, N / dt / 1e6);
    printf("corr mean %.5f sharpe %.3f, fnc mean %.5f\n", sc.mean, sc.sharpe, sf.mean);
    ef_era_scores_free(&s);
    free(p); free(t); free(m); free(F); free(off);
    return bad;
}
