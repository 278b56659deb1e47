/* Every fixture in shared/fixtures/parquet must read back exactly as its CSV: the whole file
 * rendered through ef_pq_read_column_all + ef_pq_value_format is compared byte for byte, and
 * every numeric column is also read through the projected matrix readers (f32 and, for
 * integer features, i8) and compared value by value with the CSV parsed as numbers. */
#include <dirent.h>
#include <math.h>
#include <string.h>
#include "eraformer/parquet.h"
#include "test.h"

#define FIXDIR EF_SHARED_DIR "/fixtures/parquet"

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = ef_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* Splits the CSV into a rows x cols table of field pointers (modifies text). */
static char **csv_fields(char *text, int64_t *nrows, int *ncols) {
    int64_t lines = 0;
    for (char *q = text; *q; q++) lines += *q == '\n';
    int cols = 1;
    for (char *q = text; *q && *q != '\n'; q++) cols += *q == ',';
    char **f = ef_calloc((size_t)(lines + 1) * (size_t)cols, sizeof *f);
    int64_t r = 0;
    char *q = text;
    while (*q && r <= lines) {
        for (int c = 0; c < cols; c++) {
            f[r * cols + c] = q;
            while (*q && *q != ',' && *q != '\n') q++;
            char sep = *q;
            if (*q) *q++ = 0;
            if (sep == '\n' && c < cols - 1) break;
        }
        r++;
    }
    *nrows = r;
    *ncols = cols;
    return f;
}

static void check_file(const char *name) {
    char path[1024], csvp[1024];
    snprintf(path, sizeof path, "%s/%s", FIXDIR, name);
    snprintf(csvp, sizeof csvp, "%s", path);
    strcpy(csvp + strlen(csvp) - strlen(".parquet"), ".csv");
    ef_error err = {0};
    ef_pq_reader *r = NULL;
    ef_status s = ef_pq_reader_open(&r, path, &err);
    CHECKF(s == EF_OK, "%s: %s", name, err.msg);
    if (s) return;
    char *csv = NULL;
    size_t csvn = 0;
    CHECK(ef_file_read_all(csvp, &csv, &csvn, &err) == EF_OK);
    int nc = ef_pq_num_columns(r);
    int64_t nr = ef_pq_num_rows(r);
    ef_pq_column_data *cols = ef_calloc((size_t)nc, sizeof *cols);
    int ok = 1;
    for (int c = 0; c < nc && ok; c++) {
        s = ef_pq_read_column_all(r, c, &cols[c], &err);
        CHECKF(s == EF_OK, "%s col %d: %s", name, c, err.msg);
        if (s) ok = 0;
        else CHECKF(cols[c].n == nr, "%s col %d: %lld rows, want %lld", name, c, (long long)cols[c].n, (long long)nr);
    }
    if (ok) {
        sbuf b = {0};
        char v[256];
        for (int c = 0; c < nc; c++) {
            if (c) sb_add(&b, ",", 1);
            sb_add(&b, ef_pq_column(r, c)->name, strlen(ef_pq_column(r, c)->name));
        }
        sb_add(&b, "\n", 1);
        for (int64_t i = 0; i < nr; i++) {
            for (int c = 0; c < nc; c++) {
                if (c) sb_add(&b, ",", 1);
                size_t n = ef_pq_value_format(&cols[c], ef_pq_column(r, c), i, v, sizeof v);
                sb_add(&b, v, n);
            }
            sb_add(&b, "\n", 1);
        }
        int same = b.n == csvn && !memcmp(b.p, csv, csvn);
        if (!same) {
            size_t k = 0;
            while (k < b.n && k < csvn && b.p[k] == csv[k]) k++;
            size_t ls = k;
            while (ls > 0 && csv[ls - 1] != '\n') ls--;
            fprintf(stderr, "%s: first difference at byte %zu\n  want: %.120s\n  got:  %.120s\n", name, k, csv + ls, b.p + ls);
        }
        CHECKF(same, "%s renders byte-identical to its CSV", name);
        ef_free(b.p);

        /* projected numeric reads vs the CSV parsed as numbers */
        int64_t crow;
        int ccol;
        char **f = csv_fields(csv, &crow, &ccol);
        CHECK(ccol == nc && crow == nr + 1);
        int *num = ef_malloc((size_t)nc * sizeof *num), nnum = 0, *i8c = ef_malloc((size_t)nc * sizeof *i8c), ni8 = 0;
        for (int c = 0; c < nc; c++) {
            const ef_pq_column_info *ci = ef_pq_column(r, c);
            if (ci->type != EF_PQ_BYTE_ARRAY) num[nnum++] = c;
            if (ci->type == EF_PQ_INT32 && ci->int_bits == 8) i8c[ni8++] = c;
        }
        float *m = ef_malloc((size_t)(nr * nnum + 1) * sizeof *m);
        s = ef_pq_read_matrix_f32(r, num, nnum, m, (size_t)nnum, &err);
        CHECKF(s == EF_OK, "%s f32: %s", name, err.msg);
        long bad = 0;
        for (int64_t i = 0; s == EF_OK && i < nr; i++)
            for (int k = 0; k < nnum; k++) {
                const char *t = f[(i + 1) * ccol + num[k]];
                float want = *t ? strtof(t, NULL) : NAN, got = m[i * nnum + k];
                if (!(want == got || (isnan(want) && isnan(got)))) bad++;
            }
        CHECKF(bad == 0, "%s: %ld f32 matrix values differ from the CSV", name, bad);
        if (ni8) {
            int8_t *m8 = ef_malloc((size_t)(nr * (ni8 + 3)));
            s = ef_pq_read_matrix_i8(r, i8c, ni8, m8, (size_t)ni8 + 3, -1, &err);
            CHECKF(s == EF_OK, "%s i8: %s", name, err.msg);
            bad = 0;
            for (int64_t i = 0; s == EF_OK && i < nr; i++)
                for (int k = 0; k < ni8; k++) {
                    const char *t = f[(i + 1) * ccol + i8c[k]];
                    int want = *t ? atoi(t) : -1;
                    if (m8[i * (ni8 + 3) + k] != want) bad++;
                }
            CHECKF(bad == 0, "%s: %ld i8 matrix values differ from the CSV", name, bad);
            ef_free(m8);
        }
        ef_free(m);
        ef_free(num);
        ef_free(i8c);
        ef_free(f);
    }
    for (int c = 0; c < nc; c++) ef_pq_column_data_free(&cols[c]);
    ef_free(cols);
    ef_free(csv);
    ef_pq_reader_close(r);
}

int main(void) {
    DIR *d = opendir(FIXDIR);
    CHECK(d != NULL);
    if (!d) TEST_MAIN_END;
    struct dirent *e;
    char *names[64];
    int n = 0;
    while ((e = readdir(d)) && n < 64) {
        size_t l = strlen(e->d_name);
        if (l > 8 && !strcmp(e->d_name + l - 8, ".parquet")) names[n++] = ef_strdup(e->d_name);
    }
    closedir(d);
    CHECKF(n == 20, "found %d fixtures, want 20", n);
    for (int i = 0; i < n; i++) {
        int before = ef_test_failed_;
        check_file(names[i]);
        printf("%-55s %s\n", names[i], ef_test_failed_ == before ? "ok" : "FAILED");
        ef_free(names[i]);
    }
    TEST_MAIN_END;
}
