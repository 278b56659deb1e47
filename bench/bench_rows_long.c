/* Long-context rows layout (issue 20 item 3): forward + backward of the shipped numerai model's
 * shape (rows layout, 3 layers, d_model 64, 4 heads, d_max 16) on random tasks of n_ctx
 * context rows and n_q query rows, for every pair of the two lists. Each pair runs in its own
 * process (fork), so its peak RSS is its own. Prints one JSON line per pair: ms per forward +
 * backward (median), tokens/s (batch·(n_ctx + n_q) per second), ms per forward alone, the
 * model's activation block and the process's peak RSS in MB.
 *
 * usage: bench_rows_long [batch=1] [steps=3] [flash|dense] [ctx list=2048,4096,8192]
 *                        [query list=128,512]
 * "dense" creates the model with the flash threshold out of reach: the dense (T,T) attention,
 * as every rows batch ran before (memory: 3·4·T² floats per task for the probabilities).
 * Threads: OMP_NUM_THREADS (default: all cores). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "eraformer/model.h"
#include "model/model_internal.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(int batch, int steps, int dense, int n_ctx, int n_q) {
    enum { D = 16 };
    int k = n_ctx + n_q;
    ef_model_config cfg = {EF_LAYOUT_ROWS, 3, 64, 4, D, k, 0};
    ef_error err = {0};
    ef_model *m;
    ef_nn_init();
    if (dense) ef_model_flash_min_t_set(INT_MAX);
    if (ef_model_create(&m, &cfg, batch, 1, &err) != EF_OK) {
        fprintf(stderr, "bench_rows_long: %s\n", err.msg);
        return 1;
    }
    size_t n = (size_t)batch * k;
    float *x = ef_malloc(n * D * sizeof(float)), *y = ef_malloc(n * sizeof(float));
    double *ts = ef_malloc((size_t)steps * sizeof(double)), *tf = ef_malloc((size_t)steps * sizeof(double));
    if (!x || !y || !ts || !tf) return 1;
    ef_rng r;
    ef_rng_init(&r, 1, 0);
    for (size_t i = 0; i < n * D; i++) x[i] = (float)ef_rng_normal(&r);
    for (size_t i = 0; i < n; i++) y[i] = (float)ef_rng_normal(&r);
    ef_batch bt = {batch, k, n_ctx, x, y, NULL, NULL};
    double loss;
    for (int s = -1; s < steps; s++) {   /* one warm-up step */
        double t0 = ef_time_now();
        ef_model_forward(m, &bt, NULL, &loss, &err);
        ef_model_zero_grad(m);
        ef_model_backward(m, &err);
        if (s >= 0) ts[s] = ef_time_now() - t0;
    }
    for (int s = 0; s < steps; s++) {
        double t0 = ef_time_now();
        ef_model_forward(m, &bt, NULL, &loss, &err);
        tf[s] = ef_time_now() - t0;
    }
    qsort(ts, (size_t)steps, sizeof *ts, cmp_double);
    qsort(tf, (size_t)steps, sizeof *tf, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double step_s = ts[steps / 2], fwd_s = tf[steps / 2];
    printf("{\"impl\":\"eraformer\",\"attention\":\"%s\",\"batch\":%d,\"n_ctx\":%d,\"n_query\":%d,\"threads\":%d,"
           "\"step_ms\":%.1f,\"tokens_per_s\":%.1f,\"fwd_ms\":%.1f,\"activations_mb\":%.1f,\"peak_rss_mb\":%.1f,"
           "\"steps\":%d}\n",
           dense ? "dense" : "flash", batch, n_ctx, n_q, ef_threads_get(), step_s * 1e3, (double)n / step_s,
           fwd_s * 1e3, m->act_floats * 4.0 / 1e6, ru.ru_maxrss / 1024.0, steps);
    fflush(stdout);
    ef_free(x); ef_free(y); ef_free(ts); ef_free(tf);
    ef_model_destroy(m);
    return 0;
}

static int parse_list(const char *s, int *out, int cap) {
    int n = 0;
    char *end;
    while (*s && n < cap) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1 << 20) return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 1, steps = argc > 2 ? atoi(argv[2]) : 3;
    int dense = argc > 3 && !strcmp(argv[3], "dense");
    int ctx[16], qs[16];
    int nc = parse_list(argc > 4 ? argv[4] : "2048,4096,8192", ctx, 16);
    int nq = parse_list(argc > 5 ? argv[5] : "128,512", qs, 16);
    if (batch < 1 || steps < 1 || nc < 1 || nq < 1 || (argc > 3 && !dense && strcmp(argv[3], "flash"))) {
        fprintf(stderr, "usage: bench_rows_long [batch] [steps] [flash|dense] [ctx,...] [queries,...]\n");
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nq; j++) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) return 1;
            if (pid == 0) _exit(run(batch, steps, dense, ctx[i], qs[j]));
            int st;
            if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) rc = 1;
        }
    return rc;
}
