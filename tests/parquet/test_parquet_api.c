/* Reader API behaviour beyond the fixture round-trip: schema accessors, column lookup,
 * projection (subset, reordered, repeated, with a row stride), row-group iteration, the
 * int8/float conversion policies (null -> null_value / NaN, non-integral -> error), errors
 * for bad arguments, and unit checks of the decoders on hand-made byte strings (RLE hybrid,
 * DELTA_BINARY_PACKED examples from Encodings.md, BYTE_STREAM_SPLIT, Thrift skipping). */
#include <math.h>
#include <string.h>
#include "eraformer/parquet.h"
#include "parquet/pq_internal.h"
#include "test.h"

#define FIXDIR EF_SHARED_DIR "/fixtures/parquet/"

static void test_schema_and_projection(void) {
    ef_error err = {0};
    ef_pq_reader *r = NULL;
    CHECK_OK(ef_pq_reader_open(&r, FIXDIR "pqwasm_zstd_dict_pagev1_required_wide.parquet", &err));
    if (!r) return;
    CHECK(ef_pq_num_rows(r) == 2357);
    CHECK(ef_pq_num_columns(r) == 51);
    CHECK(ef_pq_num_row_groups(r) == 3);
    CHECK(ef_pq_row_group_num_rows(r, 0) == 1000 && ef_pq_row_group_num_rows(r, 2) == 357);
    CHECK(ef_pq_row_group_first_row(r, 2) == 2000);
    CHECK(strstr(ef_pq_created_by(r), "parquet-rs") != NULL);
    int t = ef_pq_find_column(r, "target");
    CHECK(t == 50);
    CHECK(ef_pq_column(r, t)->type == EF_PQ_DOUBLE);
    CHECK(ef_pq_find_column(r, "nope") == -1);
    const ef_pq_column_info *era = ef_pq_column(r, ef_pq_find_column(r, "era"));
    CHECK(era && era->type == EF_PQ_BYTE_ARRAY && era->is_string);
    const ef_pq_column_info *f0 = ef_pq_column(r, 3);
    CHECK(f0->type == EF_PQ_INT32 && f0->int_bits == 8 && f0->int_signed);
    int nreq = 0;
    for (int c = 0; c < ef_pq_num_columns(r); c++) nreq += !ef_pq_column(r, c)->nullable;
    CHECK(nreq > 0 && nreq < 51);   /* OPTIONAL+REQUIRED mix */

    /* projection: features 10, 3, 10 (repeated) into a stride-5 block, per row group */
    int cols[3] = {10, 3, 10};
    int8_t *m = ef_malloc(1000 * 5);
    ef_pq_column_data a, b;
    CHECK_OK(ef_pq_read_column_all(r, 10, &a, &err));
    CHECK_OK(ef_pq_read_column_all(r, 3, &b, &err));
    long bad = 0;
    for (int g = 0; g < 3; g++) {
        memset(m, 99, 1000 * 5);
        CHECK_OK(ef_pq_read_rowgroup_i8(r, g, cols, 3, m, 5, -1, &err));
        int64_t f = ef_pq_row_group_first_row(r, g);
        for (int64_t i = 0; i < ef_pq_row_group_num_rows(r, g); i++) {
            bad += m[i * 5 + 0] != ((int32_t *)a.values)[f + i];
            bad += m[i * 5 + 1] != ((int32_t *)b.values)[f + i];
            bad += m[i * 5 + 2] != ((int32_t *)a.values)[f + i];
            bad += m[i * 5 + 3] != 99 || m[i * 5 + 4] != 99;   /* padding untouched */
        }
    }
    CHECK(bad == 0);
    ef_pq_column_data_free(&a);
    ef_pq_column_data_free(&b);

    /* targets as float with null -> NaN; the last era has no targets */
    int tc[1] = {t};
    float *y = ef_malloc(2357 * sizeof *y);
    CHECK_OK(ef_pq_read_matrix_f32(r, tc, 1, y, 1, &err));
    CHECK(isnan(y[2356]) && !isnan(y[0]));
    /* doubles with 0.25 steps cannot be int8 */
    CHECK(ef_pq_read_rowgroup_i8(r, 0, tc, 1, m, 1, -1, &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "target") != NULL);
    /* strings are not numeric */
    int sc[1] = {1};
    CHECK(ef_pq_read_rowgroup_f32(r, 0, sc, 1, y, 1, &err) == EF_ERR_INVALID);
    /* bad arguments */
    CHECK(ef_pq_read_rowgroup_i8(r, 3, cols, 1, m, 1, 0, &err) == EF_ERR_INVALID);
    CHECK(ef_pq_read_rowgroup_i8(r, 0, cols, 3, m, 2, 0, &err) == EF_ERR_INVALID);
    int badc[1] = {51};
    CHECK(ef_pq_read_rowgroup_i8(r, 0, badc, 1, m, 1, 0, &err) == EF_ERR_INVALID);
    ef_pq_column_data d;
    CHECK(ef_pq_read_column(r, 0, 51, &d, &err) == EF_ERR_INVALID);
    const char *names[2] = {"era", "missing_col"};
    int idx[2];
    CHECK(ef_pq_find_columns(r, names, 2, idx, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "missing_col") != NULL);
    ef_free(y);
    ef_free(m);
    ef_pq_reader_close(r);

    /* a missing file is an I/O error naming it */
    CHECK(ef_pq_reader_open(&r, FIXDIR "does_not_exist.parquet", &err) == EF_ERR_IO);
    CHECK(strstr(err.msg, "does_not_exist.parquet") != NULL);
}

static void test_nulls_and_strings(void) {
    ef_error err = {0};
    ef_pq_reader *r = NULL;
    CHECK_OK(ef_pq_reader_open(&r, FIXDIR "duckdb_snappy_dict_pagev1_int8.parquet", &err));
    if (!r) return;
    int t = ef_pq_find_column(r, "target_cyrus_v4_20");
    ef_pq_column_data d;
    CHECK_OK(ef_pq_read_column(r, 3, t, &d, &err));   /* last row group: all null */
    CHECK(d.n == 490 && d.null_count == 490 && d.valid != NULL);
    ef_pq_column_data_free(&d);
    CHECK_OK(ef_pq_read_column(r, 0, 0, &d, &err));   /* ids: no nulls, no mask */
    CHECK(d.n == 486 && d.null_count == 0 && d.valid == NULL && d.offsets[0] == 0);
    CHECK(d.offsets[1] - d.offsets[0] == 16 && d.data[0] == 'n');
    ef_pq_column_data_free(&d);
    /* int8 null policy on a target-free feature file: nulls become null_value */
    int fc[1] = {ef_pq_find_column(r, "target")};
    float *y = ef_malloc(490 * sizeof *y);
    CHECK_OK(ef_pq_read_rowgroup_f32(r, 3, fc, 1, y, 1, &err));
    CHECK(isnan(y[0]) && isnan(y[489]));
    ef_free(y);
    ef_pq_reader_close(r);
}

// ---- decoder units ---------------------------------------------------------------------------

static void test_decoders(void) {
    /* RLE hybrid, width 3: bit-packed run of 8 values 0..7 (Encodings.md example), then an
     * RLE run of 5 sevens */
    const uint8_t rle[] = {0x03, 0x88, 0xC6, 0xFA, 0x0A, 0x07};
    uint32_t out[13];
    CHECK(pq_rle_decode_u32(rle, sizeof rle, 3, out, 13) == NULL);
    int ok = 1;
    for (int i = 0; i < 8; i++) ok &= out[i] == (uint32_t)i;
    for (int i = 8; i < 13; i++) ok &= out[i] == 7;
    CHECK(ok);
    CHECK(pq_rle_decode_u32(rle, sizeof rle, 3, out, 14) != NULL);   /* asks for more than there is */
    CHECK(pq_rle_decode_u32(rle, 3, 3, out, 8) != NULL);             /* truncated bit-packed run */
    uint8_t lv[4];
    const uint8_t big[] = {0x08, 0x00, 0x01};   /* RLE run of 4 x 256 with width 9: above u8 */
    CHECK(pq_rle_decode_u8(big, sizeof big, 9, lv, 4, NULL) != NULL);
    uint64_t sum = 0;
    const uint8_t lev1[] = {0x06, 0x01, 0x03, 0x05};   /* 3 x 1, then bit-packed 1,0,1,0,0,0,0,0 */
    CHECK(pq_rle_decode_u8(lev1, sizeof lev1, 1, lv, 4, &sum) == NULL);
    CHECK(sum == 4 && lv[0] == 1 && lv[2] == 1 && lv[3] == 1);

    /* DELTA_BINARY_PACKED examples: 1..5, then 7 5 3 1 2 3 4 5 */
    const uint8_t d1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    int32_t v[8];
    size_t used = 0;
    CHECK(pq_delta_decode_i32(d1, sizeof d1, v, 5, &used) == NULL);
    CHECK(v[0] == 1 && v[4] == 5 && used == sizeof d1);
    /* block 128 / 4 miniblocks, 8 values, first 7, min delta -2, width 2 for miniblock 0:
     * relative deltas 0 0 0 3 3 3 3 -> bits (LSB first) 00 00 00 11 | 11 11 11 */
    uint8_t d2[64] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 2, 0, 0, 0, 0xC0, 0xFF};
    int64_t w[8];
    CHECK(pq_delta_decode_i64(d2, 10 + 8, w, 8, &used) == NULL);
    CHECK(w[0] == 7 && w[1] == 5 && w[3] == 1 && w[4] == 2 && w[7] == 5);
    CHECK(pq_delta_decode_i64(d2, 9, w, 8, &used) != NULL);   /* truncated */
    const uint8_t d3[] = {0x81, 0x01, 0x04, 0x01, 0x00};        /* block size 129: invalid */
    CHECK(pq_delta_decode_i32(d3, sizeof d3, v, 1, &used) != NULL);

    /* BYTE_STREAM_SPLIT of two floats 1.0f (0x3f800000) and -2.0f (0xc0000000) */
    const uint8_t bss[] = {0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x3f, 0xc0};
    float f[2];
    CHECK(pq_bss_decode(bss, sizeof bss, 4, (uint8_t *)f, 2) == NULL);
    CHECK(f[0] == 1.0f && f[1] == -2.0f);
    CHECK(pq_bss_decode(bss, 7, 4, (uint8_t *)f, 2) != NULL);

    /* Thrift: skip a struct holding a list of i32, a nested struct and a string, then a STOP */
    const uint8_t th[] = {0x19, 0x35, 0x02, 0x04, 0x06, 0x1c, 0x15, 0x02, 0x00, 0x18, 0x02, 'h', 'i', 0x00};
    pq_thrift t;
    pq_th_init(&t, th, sizeof th, 100);
    pq_th_skip(&t, TH_STRUCT);
    CHECK(!t.fail && t.p == t.end);
    pq_th_init(&t, th, 5, 100);   /* truncated */
    pq_th_skip(&t, TH_STRUCT);
    CHECK(t.fail && t.fail_offset >= 100);
    /* deep nesting is refused, not recursed into */
    uint8_t deep[200];
    memset(deep, 0x1c, sizeof deep);
    pq_th_init(&t, deep, sizeof deep, 0);
    pq_th_skip(&t, TH_STRUCT);
    CHECK(t.fail);
}

static void test_codecs(void) {
    uint8_t out[16];
    const uint8_t empty_lz4 = 0;
    CHECK(pq_decompress(EF_PQ_LZ4_RAW, &empty_lz4, 1, out, 0) == NULL);
    CHECK(pq_decompress(EF_PQ_LZ4, &empty_lz4, 1, out, 0) == NULL);
    /* Hadoop framing: one block "abcd" stored as LZ4 literals: token 0x40, then the bytes */
    const uint8_t hl[] = {0, 0, 0, 4, 0, 0, 0, 5, 0x40, 'a', 'b', 'c', 'd'};
    CHECK(pq_decompress(EF_PQ_LZ4, hl, sizeof hl, out, 4) == NULL && !memcmp(out, "abcd", 4));
    CHECK(pq_decompress(EF_PQ_LZ4_RAW, hl + 8, 5, out, 4) == NULL && !memcmp(out, "abcd", 4));
    CHECK(pq_decompress(EF_PQ_LZ4, hl, sizeof hl, out, 5) != NULL);      /* wrong size */
    CHECK(pq_decompress(EF_PQ_SNAPPY, hl, sizeof hl, out, 4) != NULL);   /* not snappy */
    CHECK(pq_decompress(EF_PQ_ZSTD, hl, sizeof hl, out, 4) != NULL);
    CHECK(pq_decompress(EF_PQ_GZIP, hl, sizeof hl, out, 4) != NULL);
    CHECK(pq_decompress(EF_PQ_BROTLI, hl, sizeof hl, out, 4) != NULL);
    CHECK(pq_decompress(EF_PQ_LZO, hl, sizeof hl, out, 4) != NULL);
    CHECK(pq_decompress(EF_PQ_UNCOMPRESSED, hl, 4, out, 5) != NULL);
}

/* The projected readers give the same bytes with 1 and 2 threads. */
static void test_threads(void) {
    ef_error err = {0};
    ef_pq_reader *r = NULL;
    CHECK_OK(ef_pq_reader_open(&r, FIXDIR "pqwasm_zstd_dict_pagev1_required_wide.parquet", &err));
    if (!r) return;
    int cols[48];
    for (int k = 0; k < 42; k++) cols[k] = 3 + k;
    int64_t nr = ef_pq_num_rows(r);
    int8_t *a = ef_malloc((size_t)nr * 42), *b = ef_malloc((size_t)nr * 42);
    float *fa = ef_malloc((size_t)nr * 6 * sizeof *fa), *fb = ef_malloc((size_t)nr * 6 * sizeof *fb);
    int tc[6];
    for (int k = 0; k < 6; k++) tc[k] = 45 + k;
    ef_threads_set(1);
    CHECK_OK(ef_pq_read_matrix_i8(r, cols, 42, a, 42, -1, &err));
    CHECK_OK(ef_pq_read_matrix_f32(r, tc, 6, fa, 6, &err));
    ef_threads_set(2);
    CHECK_OK(ef_pq_read_matrix_i8(r, cols, 42, b, 42, -1, &err));
    CHECK_OK(ef_pq_read_matrix_f32(r, tc, 6, fb, 6, &err));
    CHECK(!memcmp(a, b, (size_t)nr * 42));
    CHECK(!memcmp(fa, fb, (size_t)nr * 6 * sizeof *fa));
    ef_threads_set(0);
    ef_free(a);
    ef_free(b);
    ef_free(fa);
    ef_free(fb);
    ef_pq_reader_close(r);
}

int main(void) {
    test_threads();
    test_schema_and_projection();
    test_nulls_and_strings();
    test_decoders();
    test_codecs();
    TEST_MAIN_END;
}
