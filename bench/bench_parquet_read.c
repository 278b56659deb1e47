/* Parquet reader throughput on a Numerai-shaped file: ROWS rows, an id and an era string
 * column, FEATURES int8 features (0..4, dictionary encoded) and a float target with ~5%
 * nulls, written by eraformer's own writer (SNAPPY by default, like pyarrow). Times, as the
 * median of --reps runs:
 *   i8   ef_pq_read_matrix_i8 of all features (row-major int8 matrix, the loader's path)
 *   f32  ef_pq_read_matrix_f32 of the target
 *   str  ef_pq_read_column_all of era
 *   p42  ef_pq_read_matrix_i8 of 42 features spread over the file (a projected read, like
 *        loading Numerai's "small" feature set from the full file)
 * It verifies the matrix against the generator before timing. On a shared machine compare
 * the minimum (i8_matrix_min_s) of side-by-side runs. Compare with DuckDB through
 * bench/bench_parquet_duckdb.mjs on the same file.
 *
 * usage: bench_parquet_read [--rows N] [--features F] [--rg-rows R] [--codec snappy|zstd|none]
 *                           [--threads T] [--reps K] [--file PATH] [--keep] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "eraformer/parquet.h"
#include "eraformer/parquet_writer.h"

static uint8_t feat_value(int64_t i, int f) {
    uint64_t h = ef_hash64((uint64_t)i, (uint64_t)f);
    return (uint8_t)(h % 5);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int write_file(const char *path, long rows, int F, long rg_rows, ef_pqw_codec codec) {
    int nc = F + 3;
    ef_pqw_column *cols = calloc((size_t)nc, sizeof *cols);
    char **names = calloc((size_t)nc, sizeof *names);
    cols[0] = (ef_pqw_column){"id", EF_PQW_STRING, 0, codec, 0};
    cols[1] = (ef_pqw_column){"era", EF_PQW_STRING, 0, codec, 1};
    for (int f = 0; f < F; f++) {
        names[f] = malloc(32);
        snprintf(names[f], 32, "feature_%04d", f);
        cols[2 + f] = (ef_pqw_column){names[f], EF_PQW_INT8, 1, codec, 1};
    }
    cols[nc - 1] = (ef_pqw_column){"target", EF_PQW_FLOAT, 1, codec, 1};
    ef_error err = {0};
    ef_pqw *w;
    if (ef_pqw_open(&w, path, cols, nc, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    int8_t *m = malloc((size_t)rg_rows * (size_t)F);
    float *t = malloc((size_t)rg_rows * sizeof *t);
    uint8_t *tv = malloc((size_t)rg_rows);
    char **ids = malloc((size_t)rg_rows * sizeof *ids), **eras = malloc((size_t)rg_rows * sizeof *eras);
    char *idbuf = malloc((size_t)rg_rows * 17), *erabuf = malloc((size_t)rg_rows * 5);
    ef_pqw_data *d = calloc((size_t)nc, sizeof *d);
    for (long r0 = 0; r0 < rows; r0 += rg_rows) {
        long n = rows - r0 < rg_rows ? rows - r0 : rg_rows;
        for (long i = 0; i < n; i++) {
            int64_t row = r0 + i;
            for (int f = 0; f < F; f++) m[i * F + f] = (int8_t)feat_value(row, f);
            tv[i] = ef_hash64((uint64_t)row, 99999) % 20 != 0;
            t[i] = (float)(ef_hash64((uint64_t)row, 77777) % 5) * 0.25f;
            snprintf(idbuf + i * 17, 17, "n%015llx", (unsigned long long)(ef_hash64((uint64_t)row, 1) >> 4));
            snprintf(erabuf + i * 5, 5, "%04ld", 1 + row / 5000);
            ids[i] = idbuf + i * 17;
            eras[i] = erabuf + i * 5;
        }
        d[0] = (ef_pqw_data){ids, 0, NULL};
        d[1] = (ef_pqw_data){eras, 0, NULL};
        for (int f = 0; f < F; f++) d[2 + f] = (ef_pqw_data){m + f, (size_t)F, NULL};
        d[nc - 1] = (ef_pqw_data){t, 0, tv};
        if (ef_pqw_write_row_group(w, (size_t)n, d, &err)) { fprintf(stderr, "%s\n", err.msg); ef_pqw_abort(w); return 1; }
    }
    if (ef_pqw_close(w, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    for (int f = 0; f < F; f++) free(names[f]);
    free(names); free(cols); free(m); free(t); free(tv); free(ids); free(eras); free(idbuf); free(erabuf); free(d);
    return 0;
}

int main(int argc, char **argv) {
    long rows = 200000, rg_rows = 50000;
    int F = 500, threads = 0, reps = 3, keep = 0;
    const char *codec_s = "snappy", *path = "/tmp/ef_bench_parquet.parquet";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) { keep = 1; continue; }
        if (!v) { fprintf(stderr, "missing value for %s\n", a); return 2; }
        if (!strcmp(a, "--rows")) rows = atol(v);
        else if (!strcmp(a, "--features")) F = atoi(v);
        else if (!strcmp(a, "--rg-rows")) rg_rows = atol(v);
        else if (!strcmp(a, "--codec")) codec_s = v;
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--reps")) reps = atoi(v);
        else if (!strcmp(a, "--file")) path = v;
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
        i++;
    }
    if (rows <= 0 || F <= 0 || rg_rows <= 0 || reps <= 0 || reps > 64) { fprintf(stderr, "bad arguments\n"); return 2; }
    ef_pqw_codec codec = !strcmp(codec_s, "zstd") ? EF_PQW_ZSTD : !strcmp(codec_s, "none") ? EF_PQW_UNCOMPRESSED : EF_PQW_SNAPPY;
    ef_threads_set(threads);
    FILE *probe = fopen(path, "rb");
    if (probe) fclose(probe);
    if (!probe || !keep) {
        double t0 = ef_time_now();
        if (write_file(path, rows, F, rg_rows, codec)) return 1;
        fprintf(stderr, "wrote %s in %.2f s\n", path, ef_time_now() - t0);
    }
    ef_error err = {0};
    ef_pq_reader *r;
    if (ef_pq_reader_open(&r, path, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    rows = (long)ef_pq_num_rows(r);
    int *cols = malloc((size_t)F * sizeof *cols);
    for (int f = 0; f < F; f++) {
        char nm[32];
        snprintf(nm, sizeof nm, "feature_%04d", f);
        cols[f] = ef_pq_find_column(r, nm);
        if (cols[f] < 0) { fprintf(stderr, "file lacks %s\n", nm); return 1; }
    }
    int8_t *m = malloc((size_t)rows * (size_t)F);
    float *y = malloc((size_t)rows * sizeof *y);
    /* verify once */
    if (ef_pq_read_matrix_i8(r, cols, F, m, (size_t)F, -1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    long bad = 0;
    for (long i = 0; i < rows; i++)
        for (int f = 0; f < F; f++) bad += m[(size_t)i * F + f] != (int8_t)feat_value(i, f);
    if (bad) { fprintf(stderr, "VERIFY FAILED: %ld wrong values\n", bad); return 1; }
    double ti8[64], tf[64], ts[64], tp[64];
    int np = F < 42 ? F : 42, pcols[42];
    for (int j = 0; j < np; j++) pcols[j] = cols[(long)j * F / np];
    int tcol = ef_pq_find_column(r, "target"), ecol = ef_pq_find_column(r, "era");
    for (int k = 0; k < reps; k++) {
        double t0 = ef_time_now();
        if (ef_pq_read_matrix_i8(r, cols, F, m, (size_t)F, -1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        ti8[k] = ef_time_now() - t0;
        t0 = ef_time_now();
        if (ef_pq_read_matrix_f32(r, &tcol, 1, y, 1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        tf[k] = ef_time_now() - t0;
        t0 = ef_time_now();
        ef_pq_column_data s;
        if (ef_pq_read_column_all(r, ecol, &s, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        ts[k] = ef_time_now() - t0;
        ef_pq_column_data_free(&s);
        t0 = ef_time_now();
        if (ef_pq_read_matrix_i8(r, pcols, np, m, (size_t)np, -1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        tp[k] = ef_time_now() - t0;
    }
    qsort(ti8, (size_t)reps, sizeof(double), cmp_d);
    qsort(tf, (size_t)reps, sizeof(double), cmp_d);
    qsort(ts, (size_t)reps, sizeof(double), cmp_d);
    qsort(tp, (size_t)reps, sizeof(double), cmp_d);
    double med = ti8[reps / 2];
    printf("{\"impl\":\"eraformer\",\"rows\":%ld,\"features\":%d,\"rg_rows\":%ld,\"codec\":\"%s\",\"threads\":%d,"
           "\"i8_matrix_s\":%.4f,\"i8_matrix_min_s\":%.4f,\"i8_values_per_s\":%.4g,\"target_f32_s\":%.4f,\"era_str_s\":%.4f,"
           "\"projected_%d_s\":%.4f,\"full_over_projected\":%.1f}\n",
           rows, F, rg_rows, codec_s, ef_threads_get(), med, ti8[0], (double)rows * F / med, tf[reps / 2], ts[reps / 2],
           np, tp[reps / 2], med / tp[reps / 2]);
    free(m); free(y); free(cols);
    ef_pq_reader_close(r);
    return 0;
}
