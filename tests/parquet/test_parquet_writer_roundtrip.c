/* Parquet writer -> eraformer reader round trip: every type (INT8 as INT32+INT_8, INT32,
 * INT64, FLOAT, DOUBLE, STRING), every codec, dictionary on/off (with the automatic PLAIN
 * fallback for unique strings), REQUIRED and OPTIONAL columns with nulls, NaN targets,
 * several row groups, small pages, strided input, and the footer's statistics. */
#include <string.h>
#include <unistd.h>
#include "eraformer/parquet.h"
#include "eraformer/parquet_writer.h"
#include "base/ef_internal.h"
#include "test.h"

enum { NCOL = 9 };

typedef struct table {
    size_t n;
    int8_t *mat;       /* n x 2 row-major: features f0, f1 (strided input) */
    int32_t *i32;
    int64_t *i64;
    float *f32;
    double *f64;
    char (*idbuf)[20];
    const char **ids;
    const char **eras;
    uint8_t *valid;
} table;

static const char *ERAS[] = {"0001", "0002", "0003", "X"};

static void table_make(table *t, size_t n, uint64_t seed) {
    ef_rng r;
    ef_rng_init(&r, seed, 0);
    t->n = n;
    t->mat = malloc(2 * n);
    t->i32 = malloc(n * 4);
    t->i64 = malloc(n * 8);
    t->f32 = malloc(n * 4);
    t->f64 = malloc(n * 8);
    t->idbuf = malloc(n * sizeof *t->idbuf);
    t->ids = malloc(n * sizeof *t->ids);
    t->eras = malloc(n * sizeof *t->eras);
    t->valid = malloc(n);
    for (size_t i = 0; i < n; i++) {
        t->mat[2 * i] = (int8_t)ef_rng_below(&r, 5);
        t->mat[2 * i + 1] = (int8_t)((int)ef_rng_below(&r, 256) - 128);
        t->i32[i] = (int32_t)ef_rng_u64(&r);
        t->i64[i] = (int64_t)ef_rng_u64(&r);
        t->f32[i] = ef_rng_below(&r, 10) == 0 ? NAN : 0.25f * (float)ef_rng_below(&r, 5);
        t->f64[i] = ef_rng_normal(&r);
        snprintf(t->idbuf[i], sizeof t->idbuf[i], "n%015llx", (unsigned long long)(ef_rng_u64(&r) >> 4));
        t->ids[i] = t->idbuf[i];
        t->eras[i] = ERAS[i * 4 / n];
        t->valid[i] = ef_rng_below(&r, 7) != 0;
    }
}

static void table_free(table *t) {
    free(t->mat); free(t->i32); free(t->i64); free(t->f32); free(t->f64);
    free(t->idbuf); free(t->ids); free(t->eras); free(t->valid);
}

static int same_f32(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

static void roundtrip(const char *path, ef_pqw_codec codec, int dict, size_t n, size_t rg_rows,
                      size_t page_bytes) {
    table t;
    table_make(&t, n, 100 + (uint64_t)codec * 3 + (uint64_t)dict);
    ef_pqw_column cols[NCOL] = {
        {"id", EF_PQW_STRING, 0, codec, dict},
        {"era", EF_PQW_STRING, 0, codec, dict},
        {"feature_a", EF_PQW_INT8, 0, codec, dict},
        {"feature_b", EF_PQW_INT8, 1, codec, dict},
        {"i32", EF_PQW_INT32, 0, codec, dict},
        {"i64", EF_PQW_INT64, 1, codec, dict},
        {"target", EF_PQW_FLOAT, 1, codec, dict},
        {"target_d", EF_PQW_DOUBLE, 0, codec, dict},
        {"target_null", EF_PQW_FLOAT, 1, codec, dict},
    };
    ef_pqw_options opt = {0};
    opt.page_bytes = page_bytes;
    const char *kk[] = {"origin"}, *kv[] = {"eraformer test"};
    opt.n_kv = 1;
    opt.kv_keys = kk;
    opt.kv_values = kv;
    ef_pqw *w = NULL;
    ef_error err = {0};
    CHECK_OK(ef_pqw_open(&w, path, cols, NCOL, &opt, &err));
    size_t ngroups = 0;
    for (size_t r0 = 0; r0 < n; r0 += rg_rows) {
        size_t m = EF_MIN(rg_rows, n - r0);
        ef_pqw_data d[NCOL] = {
            {t.ids + r0, 0, NULL}, {t.eras + r0, 0, NULL}, {t.mat + 2 * r0, 2, NULL},
            {t.mat + 2 * r0 + 1, 2, t.valid + r0}, {t.i32 + r0, 0, NULL},
            {t.i64 + r0, 0, t.valid + r0}, {t.f32 + r0, 0, t.valid + r0},
            {t.f64 + r0, 0, NULL}, {NULL, 0, NULL},
        };
        /* target_null: every row null (values may then be NULL) */
        uint8_t *allnull = calloc(m, 1);
        d[8].valid = allnull;
        CHECK_OK(ef_pqw_write_row_group(w, m, d, &err));
        free(allnull);
        ngroups++;
    }
    CHECK_OK(ef_pqw_close(w, &err));

    ef_pq_reader *r = NULL;
    ef_status st = ef_pq_reader_open(&r, path, &err);
    CHECKF(st == EF_OK, "open: %s", err.msg);
    if (st) { table_free(&t); return; }
    CHECK(ef_pq_num_rows(r) == (int64_t)n);
    CHECK(ef_pq_num_columns(r) == NCOL);
    CHECK(ef_pq_num_row_groups(r) == (int)ngroups);
    CHECK(strstr(ef_pq_created_by(r), "eraformer") != NULL);
    CHECK(ef_pq_num_kv(r) == 1);
    const ef_pq_column_info *ci = ef_pq_column(r, 2);
    CHECK(ci->type == EF_PQ_INT32 && ci->int_bits == 8 && ci->int_signed == 1 && !ci->nullable);
    CHECK(ci->converted_type == EF_PQ_CONVERTED_INT_8);
    ci = ef_pq_column(r, 0);
    CHECK(ci->type == EF_PQ_BYTE_ARRAY && ci->is_string);
    CHECK(ef_pq_column(r, 6)->nullable && ef_pq_column(r, 6)->type == EF_PQ_FLOAT);
    CHECK(ef_pq_column(r, 7)->type == EF_PQ_DOUBLE);

    ef_pq_column_data c[NCOL];
    memset(c, 0, sizeof c);
    for (int k = 0; k < NCOL; k++) {
        st = ef_pq_read_column_all(r, k, &c[k], &err);
        CHECKF(st == EF_OK, "column %d: %s", k, err.msg);
    }
    if (!st) {
        int ok_id = 1, ok_era = 1, ok_a = 1, ok_b = 1, ok_i32 = 1, ok_i64 = 1, ok_t = 1, ok_d = 1, ok_n = 1;
        for (size_t i = 0; i < n; i++) {
            size_t L = (size_t)(c[0].offsets[i + 1] - c[0].offsets[i]);
            ok_id &= L == strlen(t.ids[i]) && !memcmp(c[0].data + c[0].offsets[i], t.ids[i], L);
            L = (size_t)(c[1].offsets[i + 1] - c[1].offsets[i]);
            ok_era &= L == strlen(t.eras[i]) && !memcmp(c[1].data + c[1].offsets[i], t.eras[i], L);
            ok_a &= ((int32_t *)c[2].values)[i] == t.mat[2 * i];
            int vb = c[3].valid ? c[3].valid[i] : 1;
            ok_b &= vb == t.valid[i] && (!vb || ((int32_t *)c[3].values)[i] == t.mat[2 * i + 1]);
            ok_i32 &= ((int32_t *)c[4].values)[i] == t.i32[i];
            int v5 = c[5].valid ? c[5].valid[i] : 1;
            ok_i64 &= v5 == t.valid[i] && (!v5 || ((int64_t *)c[5].values)[i] == t.i64[i]);
            int v6 = c[6].valid ? c[6].valid[i] : 1;
            ok_t &= v6 == t.valid[i] && (!v6 || same_f32(((float *)c[6].values)[i], t.f32[i]));
            ok_d &= ((double *)c[7].values)[i] == t.f64[i];
            ok_n &= c[8].valid && !c[8].valid[i];
        }
        CHECK(ok_id); CHECK(ok_era); CHECK(ok_a); CHECK(ok_b); CHECK(ok_i32);
        CHECK(ok_i64); CHECK(ok_t); CHECK(ok_d); CHECK(ok_n);
    }
    for (int k = 0; k < NCOL; k++) ef_pq_column_data_free(&c[k]);

    /* footer metadata: codec, dictionary page where requested (never for unique ids),
     * null counts */
    ef_pq_chunk_info info;
    CHECK_OK(ef_pq_chunk_info_get(r, 0, 2, &info, &err));
    CHECK(info.codec == (int)codec);
    CHECK((info.dictionary_page_offset >= 0) == (dict != 0));
    CHECK_OK(ef_pq_chunk_info_get(r, 0, 0, &info, &err));
    CHECK(info.dictionary_page_offset < 0 || rg_rows < 64);
    CHECK_OK(ef_pq_chunk_info_get(r, 0, 6, &info, &err));
    size_t m0 = EF_MIN(rg_rows, n), nulls = 0;
    for (size_t i = 0; i < m0; i++) nulls += !t.valid[i];
    CHECK(info.null_count == (int64_t)nulls);
    CHECK_OK(ef_pq_chunk_info_get(r, 0, 8, &info, &err));
    CHECK(info.null_count == (int64_t)m0);

    /* the loader's row-major int8 path reads the writer's features */
    int8_t *mat = malloc(2 * n);
    int fc[2] = {2, 3};
    st = ef_pq_read_matrix_i8(r, fc, 2, mat, 2, -1, &err);
    CHECKF(st == EF_OK, "matrix: %s", err.msg);
    int ok = 1;
    for (size_t i = 0; i < n && !st; i++)
        ok &= mat[2 * i] == t.mat[2 * i] && mat[2 * i + 1] == (t.valid[i] ? t.mat[2 * i + 1] : -1);
    CHECK(ok);
    free(mat);
    ef_pq_reader_close(r);
    table_free(&t);
    unlink(path);
}

int main(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/test_parquet_writer_rt_%ld.parquet", EF_BINARY_DIR, (long)getpid());
    ef_pqw_codec codecs[] = {EF_PQW_UNCOMPRESSED, EF_PQW_SNAPPY, EF_PQW_ZSTD};
    for (int c = 0; c < 3; c++)
        for (int dict = 0; dict < 2; dict++) roundtrip(path, codecs[c], dict, 3000, 1000, 0);
    roundtrip(path, EF_PQW_ZSTD, 1, 5003, 5003, 2000);  /* many pages in one group */
    roundtrip(path, EF_PQW_SNAPPY, 1, 50, 7, 0);        /* tiny groups: dictionary ids */
    TEST_MAIN_END;
}
