/* `eraformer cat` and `eraformer inspect` through the built binary: cat output is
 * byte-identical to every fixture's CSV; --columns/--limit/--format; exit codes 0/1/2 for
 * success, runtime errors (missing or corrupt file) and usage errors. */
#include <dirent.h>
#include <string.h>
#include <sys/wait.h>
#include "eraformer/base.h"
#include "test.h"

#define FIXDIR EF_SHARED_DIR "/fixtures/parquet"

/* Runs cmd, captures stdout into *out (ef_malloc'd); returns the exit status. */
static int run(const char *cmd, char **out, size_t *n) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 1 << 16, len = 0;
    char *b = ef_malloc(cap);
    size_t got;
    while ((got = fread(b + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 4096) {
            cap *= 2;
            b = ef_realloc(b, cap);
        }
    }
    b[len] = 0;
    int st = pclose(p);
    *out = b;
    *n = len;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
    char cmd[2048], *out, *csv;
    size_t n, csvn;
    ef_error err = {0};
    DIR *d = opendir(FIXDIR);
    CHECK(d != NULL);
    struct dirent *e;
    int files = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 9 || strcmp(e->d_name + l - 8, ".parquet")) continue;
        char csvp[1024];
        snprintf(csvp, sizeof csvp, "%s/%.*s.csv", FIXDIR, (int)(l - 8), e->d_name);
        snprintf(cmd, sizeof cmd, "'%s' cat '%s/%s'", EF_CLI, FIXDIR, e->d_name);
        int rc = run(cmd, &out, &n);
        CHECK(ef_file_read_all(csvp, &csv, &csvn, &err) == EF_OK);
        CHECKF(rc == 0 && n == csvn && !memcmp(out, csv, n), "cat %s differs from its CSV (rc %d)", e->d_name, rc);
        ef_free(out);
        ef_free(csv);
        files++;
    }
    if (d) closedir(d);
    CHECK(files == 20);

    /* projection, limit, tsv */
    snprintf(cmd, sizeof cmd, "'%s' cat %s/duckdb_snappy_dict_pagev1_nan.parquet --columns id,era,target --limit 2 --format tsv",
             EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 0);
    CHECKF(!strcmp(out, "id\tera\ttarget\nn02541a484feb3d3\t0001\t0.25\nn0451cbbc1c42676\t0001\t0.75\n"), "%s", out);
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' cat %s/duckdb_snappy_dict_pagev1_nan.parquet --columns target --limit 0", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 0 && !strcmp(out, "target\n"));
    ef_free(out);
    /* the last row is a live row with NaN targets: empty fields */
    snprintf(cmd, sizeof cmd, "'%s' cat %s/duckdb_snappy_dict_pagev1_nan.parquet --columns era,target,id | tail -1", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 0);
    CHECKF(n > 6 && !strncmp(out, "0008,,n", 7), "%s", out);
    ef_free(out);

    /* inspect */
    snprintf(cmd, sizeof cmd, "'%s' inspect %s/pqwasm_lz4hadoop_dict_pagev1_int8.parquet", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 0);
    CHECK(strstr(out, "rows: 1955") && strstr(out, "row_groups: 3") && strstr(out, " LZ4 ") &&
          strstr(out, "RLE_DICTIONARY") && strstr(out, "INT(8)"));
    ef_free(out);

    /* exit codes */
    snprintf(cmd, sizeof cmd, "'%s' cat %s/nope.parquet 2>/dev/null", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 1);
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' cat %s/README.md 2>/dev/null", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 1);
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' cat %s/duckdb_snappy_dict_pagev1_nan.parquet --columns nope 2>/dev/null", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 2);
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' cat %s/duckdb_snappy_dict_pagev1_nan.parquet --limit -3 2>/dev/null", EF_CLI, FIXDIR);
    CHECK(run(cmd, &out, &n) == 2);
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' cat --format xml x.parquet 2>/dev/null", EF_CLI);
    CHECK(run(cmd, &out, &n) == 2);
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' cat --help", EF_CLI);
    CHECK(run(cmd, &out, &n) == 0 && strstr(out, "usage"));
    ef_free(out);
    snprintf(cmd, sizeof cmd, "'%s' inspect 2>/dev/null", EF_CLI);
    CHECK(run(cmd, &out, &n) == 2);
    ef_free(out);

    /* a corrupt file: the chunk bytes of a copy are zeroed -> exit 1 with the file named */
    char *raw;
    size_t rn;
    CHECK(ef_file_read_all(FIXDIR "/parquetjs_gzip_nodict_pagev1_int8.parquet", &raw, &rn, &err) == EF_OK);
    memset(raw + 4, 0x5a, 2000);
    const char *bad = EF_BINARY_DIR "/cli_corrupt.parquet";
    CHECK(ef_file_write_atomic(bad, raw, rn, &err) == EF_OK);
    ef_free(raw);
    snprintf(cmd, sizeof cmd, "'%s' cat '%s' 2>&1 >/dev/null", EF_CLI, bad);
    CHECK(run(cmd, &out, &n) == 1);
    CHECKF(strstr(out, "cli_corrupt.parquet") && strstr(out, "error"), "%s", out);
    ef_free(out);
    remove(bad);
    TEST_MAIN_END;
}
