/* Benchmark: loading a large Numerai-layout parquet file into the int8 dataset, and
 * iterating it era by era. Reports wall time, throughput and peak RSS (VmHWM) against the
 * size of the int8 feature matrix: the loader's contract is peak < 1.1x the matrix for a
 * full load. Run each mode in its own process (VmHWM never goes down):
 *
 *   bench_data_load synth DIR [ERAS ROWS_PER_ERA FEATURES]   # writes DIR/train.parquet ...
 *   bench_data_load load FILE.parquet                          # whole file into memory
 *   bench_data_load eras FILE.parquet                          # era-sharded iteration
 *
 * Not run by ctest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "eraformer/data.h"

static long vm_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

static int fail(const ef_error *e) {
    fprintf(stderr, "bench_data_load: %s\n", e->msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_data_load synth DIR [ERAS ROWS FEATURES] | load FILE | eras FILE\n");
        return 2;
    }
    ef_error err = {0};
    double t0 = ef_time_now();
    if (!strcmp(argv[1], "synth")) {
        ef_synth_config c;
        ef_synth_config_default(&c);
        c.eras_train = argc > 3 ? atoi(argv[3]) : 100;
        c.rows_per_era = argc > 4 ? atoi(argv[4]) : 5000;
        c.n_features = argc > 5 ? atoi(argv[5]) : 1000;
        c.eras_validation = 2;
        c.codec = EF_PQW_ZSTD;
        mkdir(argv[2], 0777);
        if (ef_synth_write(&c, argv[2], NULL, NULL, &err)) return fail(&err);
        printf("synth: %d eras x ~%d rows x %d features in %.2f s (peak RSS %.1f MB)\n", c.eras_train,
               c.rows_per_era, c.n_features, ef_time_now() - t0, vm_kb("VmHWM:") / 1024.0);
        return 0;
    }
    long base_kb = vm_kb("VmRSS:");
    const char *paths[] = {argv[2]};
    if (!strcmp(argv[1], "load")) {
        ef_dataset ds;
        if (ef_dataset_load(&ds, paths, 1, NULL, &err)) return fail(&err);
        double dt = ef_time_now() - t0;
        double mat_mb = (double)ds.n_rows * ds.n_features / 1048576.0;
        double peak_mb = vm_kb("VmHWM:") / 1024.0;
        long sum = 0;   /* touch the data so the load cannot be optimised away */
        for (int64_t i = 0; i < ds.n_rows * ds.n_features; i += 4093) sum += ds.X[i];
        printf("load: %lld rows x %d features, %d targets, %d eras in %.2f s (%.0f rows/s, %.0f MB/s of int8)\n",
               (long long)ds.n_rows, ds.n_features, ds.n_targets, ds.n_eras, dt, ds.n_rows / dt, mat_mb / dt);
        printf("load: int8 matrix %.1f MB, peak RSS %.1f MB (baseline %.1f MB) -> peak/matrix %.3f, "
               "(peak-baseline)/matrix %.3f  [checksum %ld]\n",
               mat_mb, peak_mb, base_kb / 1024.0, peak_mb / mat_mb, (peak_mb - base_kb / 1024.0) / mat_mb, sum);
        ef_dataset_free(&ds);
        return 0;
    }
    if (!strcmp(argv[1], "eras")) {
        ef_era_reader *r = NULL;
        if (ef_era_reader_open(&r, argv[2], NULL, &err)) return fail(&err);
        ef_dataset shard;
        memset(&shard, 0, sizeof shard);
        int done = 0, n_eras = 0;
        int64_t rows = 0, max_rows = 0;
        int nf = 0;
        while (!done) {
            if (ef_era_reader_next(r, &shard, &done, &err)) return fail(&err);
            if (done) break;
            n_eras++;
            rows += shard.n_rows;
            nf = shard.n_features;
            if (shard.n_rows > max_rows) max_rows = shard.n_rows;
        }
        double dt = ef_time_now() - t0;
        ef_dataset_free(&shard);
        ef_era_reader_close(r);
        double all_mb = (double)rows * nf / 1048576.0, era_mb = (double)max_rows * nf / 1048576.0;
        printf("eras: %d eras, %lld rows in %.2f s (%.0f rows/s); whole matrix would be %.1f MB, largest era %.1f MB, "
               "peak RSS %.1f MB (baseline %.1f MB)\n",
               n_eras, (long long)rows, dt, rows / dt, all_mb, era_mb, vm_kb("VmHWM:") / 1024.0, base_kb / 1024.0);
        return 0;
    }
    fprintf(stderr, "bench_data_load: unknown mode '%s'\n", argv[1]);
    return 2;
}
