/* Parquet writer, self-contained checks: the RLE/bit-packed hybrid decodes back to its input
 * (an independent decoder below), the Thrift compact encoder's bytes for known values, the
 * file framing (PAR1 magic, footer length), schema validation errors, nulls in REQUIRED
 * columns, and atomicity (no file appears when the writer is aborted). */
#include <string.h>
#include <unistd.h>
#include "eraformer/parquet_writer.h"
#include "parquet/writer_internal.h"
#include "test.h"

// ---- independent hybrid decoder -------------------------------------------------------

static size_t uvarint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v) {
    *v = 0;
    int shift = 0;
    while (*pos < n) {
        uint8_t b = p[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 1;
        shift += 7;
    }
    return 0;
}

static size_t decode_hybrid(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t want) {
    size_t pos = 0, got = 0;
    while (got < want && pos < n) {
        uint64_t h;
        if (!uvarint(p, n, &pos, &h)) break;
        if (h & 1) {
            size_t cnt = (size_t)(h >> 1) * 8;
            uint64_t acc = 0;
            int nb = 0;
            for (size_t i = 0; i < cnt; i++) {
                while (nb < bw) {
                    acc |= (uint64_t)p[pos++] << nb;
                    nb += 8;
                }
                uint32_t x = (uint32_t)(acc & ((1ULL << bw) - 1));
                acc >>= bw;
                nb -= bw;
                if (got < want) out[got++] = x;
            }
        } else {
            size_t cnt = (size_t)(h >> 1);
            uint32_t x = 0;
            for (int b = 0; b < (bw + 7) / 8; b++) x |= (uint32_t)p[pos++] << (8 * b);
            for (size_t i = 0; i < cnt && got < want; i++) out[got++] = x;
        }
    }
    return got;
}

static void check_hybrid(const uint32_t *v, size_t n, int bw) {
    ef_pqw_buf b = {0};
    ef_pqw_rle_hybrid(&b, v, n, bw);
    uint32_t *back = calloc(n + 8, sizeof *back);
    size_t got = decode_hybrid(b.data, b.len, bw, back, n);
    CHECKF(got == n, "n=%zu bw=%d got=%zu", n, bw, got);
    int same = 1;
    for (size_t i = 0; i < n && same; i++) same = back[i] == v[i];
    CHECKF(same, "hybrid round trip n=%zu bw=%d", n, bw);
    free(back);
    ef_pqw_buf_free(&b);
}

static void test_hybrid(void) {
    enum { N = 5000 };
    static uint32_t v[N];
    ef_rng r;
    ef_rng_init(&r, 7, 1);
    for (int bw = 1; bw <= 20; bw += 3) {
        uint32_t mask = (uint32_t)((1ULL << bw) - 1);
        /* random, long runs, short runs, and mixtures near the 8-value group boundary */
        for (size_t i = 0; i < N; i++) v[i] = (uint32_t)ef_rng_u64(&r) & mask;
        check_hybrid(v, N, bw);
        for (size_t i = 0; i < N; i++) v[i] = (uint32_t)(i / 37) & mask;
        check_hybrid(v, N, bw);
        for (size_t i = 0; i < N; i++) v[i] = (uint32_t)((i / (1 + ef_rng_below(&r, 12))) & mask);
        check_hybrid(v, N, bw);
        for (size_t n = 0; n < 40; n++) {
            for (size_t i = 0; i < n; i++) v[i] = (i % 11 < 9) ? 1 : 0;
            check_hybrid(v, n, bw);
        }
    }
    /* a pure run is one RLE run: header varint(1000<<1) + 1 byte */
    for (size_t i = 0; i < 1000; i++) v[i] = 3;
    ef_pqw_buf b = {0};
    ef_pqw_rle_hybrid(&b, v, 1000, 2);
    CHECK(b.len == 3 && b.data[0] == (uint8_t)(0x80 | (2000 & 0x7f)) && b.data[2] == 3);
    ef_pqw_buf_free(&b);
}

// ---- thrift compact -------------------------------------------------------------------

static void test_thrift(void) {
    ef_pqw_buf b = {0};
    ef_tc_writer w;
    ef_tc_init(&w, &b);
    ef_tc_struct_begin(&w);
    ef_tc_field_i32(&w, 1, -3);       /* delta 1, type 5, zigzag(-3) = 5 */
    ef_tc_field_i64(&w, 20, 300);     /* long form: type 6, zigzag(20) = 40, zigzag(300) = 600 */
    ef_tc_field_bool(&w, 21, 1);      /* delta 1, TRUE */
    ef_tc_field_list(&w, 22, EF_TC_I32, 2);
    ef_tc_i32(&w, 1);
    ef_tc_i32(&w, -1);
    ef_tc_field_struct(&w, 23);
    ef_tc_field_string(&w, 1, "ab");
    ef_tc_struct_end(&w);
    ef_tc_struct_end(&w);
    const uint8_t want[] = {0x15, 0x05, 0x06, 40, 0xd8, 0x04, 0x11, 0x19, 0x25, 0x02, 0x01,
                            0x1c, 0x18, 0x02, 'a', 'b', 0x00, 0x00};
    CHECKF(b.len == sizeof want && !memcmp(b.data, want, sizeof want), "len %zu", b.len);
    ef_pqw_buf_free(&b);
}

// ---- files ----------------------------------------------------------------------------

static void test_file_framing(const char *path) {
    int8_t f[10];
    float t[10];
    const char *ids[10];
    char idbuf[10][8];
    uint8_t valid[10];
    for (int i = 0; i < 10; i++) {
        f[i] = (int8_t)(i % 5);
        t[i] = i == 3 ? NAN : 0.25f * (float)(i % 5);
        snprintf(idbuf[i], sizeof idbuf[i], "n%02d", i);
        ids[i] = idbuf[i];
        valid[i] = i != 7;
    }
    ef_pqw_column cols[] = {
        {"id", EF_PQW_STRING, 0, EF_PQW_ZSTD, 0},
        {"feature_a", EF_PQW_INT8, 0, EF_PQW_SNAPPY, 1},
        {"target", EF_PQW_FLOAT, 1, EF_PQW_UNCOMPRESSED, 1},
    };
    ef_pqw *w = NULL;
    ef_error err = {0};
    CHECK_OK(ef_pqw_open(&w, path, cols, 3, NULL, &err));
    ef_pqw_data d[3] = {{ids, 0, NULL}, {f, 0, NULL}, {t, 0, valid}};
    CHECK_OK(ef_pqw_write_row_group(w, 10, d, &err));
    CHECK(access(path, F_OK) != 0);   /* not visible before close */
    CHECK_OK(ef_pqw_write_row_group(w, 4, d, &err));
    CHECK(ef_pqw_rows(w) == 14);
    CHECK_OK(ef_pqw_close(w, &err));
    char *data = NULL;
    size_t size = 0;
    CHECK_OK(ef_file_read_all(path, &data, &size, &err));
    CHECK(size > 12 && !memcmp(data, "PAR1", 4) && !memcmp(data + size - 4, "PAR1", 4));
    if (size > 12) {
        uint32_t flen = (uint8_t)data[size - 8] | (uint32_t)(uint8_t)data[size - 7] << 8 |
                        (uint32_t)(uint8_t)data[size - 6] << 16 | (uint32_t)(uint8_t)data[size - 5] << 24;
        CHECK(flen > 0 && flen < size - 12);
        /* the footer names every column and the created_by string */
        const char *names[] = {"feature_a", "target", "eraformer version"};
        for (int i = 0; i < 3; i++) {
            int found = 0;
            for (size_t k = size - 8 - flen; k + strlen(names[i]) <= size - 8 && !found; k++)
                found = !memcmp(data + k, names[i], strlen(names[i]));
            CHECKF(found, "footer lacks %s", names[i]);
        }
    }
    free(data);

    /* a null in a REQUIRED column is refused and the writer then only aborts */
    CHECK_OK(ef_pqw_open(&w, path, cols, 3, NULL, &err));
    ef_pqw_data bad[3] = {{ids, 0, valid}, {f, 0, NULL}, {t, 0, valid}};
    CHECK(ef_pqw_write_row_group(w, 10, bad, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "REQUIRED") != NULL);
    CHECK(ef_pqw_write_row_group(w, 10, d, &err) == EF_ERR_INVALID);
    ef_pqw_abort(w);
    /* the earlier good file is untouched by the aborted writer */
    char *again = NULL;
    size_t size2 = 0;
    CHECK_OK(ef_file_read_all(path, &again, &size2, &err));
    CHECK(size2 == size);
    free(again);
    unlink(path);
}

static void test_schema_errors(const char *path) {
    ef_pqw *w = NULL;
    ef_error err = {0};
    ef_pqw_column dup[] = {{"a", EF_PQW_INT8, 0, EF_PQW_ZSTD, 1}, {"a", EF_PQW_FLOAT, 0, EF_PQW_ZSTD, 1}};
    CHECK(ef_pqw_open(&w, path, dup, 2, NULL, &err) == EF_ERR_INVALID && w == NULL);
    CHECK(strstr(err.msg, "duplicate") != NULL);
    ef_pqw_column codec[] = {{"a", EF_PQW_INT8, 0, (ef_pqw_codec)2, 1}};
    CHECK(ef_pqw_open(&w, path, codec, 1, NULL, &err) == EF_ERR_INVALID);
    CHECK(ef_pqw_open(&w, path, codec, 0, NULL, &err) == EF_ERR_INVALID);
    CHECK(access(path, F_OK) != 0);
}

static void test_alloc_failures(const char *path) {
    /* every allocation failure is reported, never crashes, and leaves no file behind */
    int8_t f[3000];
    for (int i = 0; i < 3000; i++) f[i] = (int8_t)(i % 5);
    ef_pqw_column cols[] = {{"f", EF_PQW_INT8, 1, EF_PQW_ZSTD, 1}};
    ef_pqw_data d = {f, 0, NULL};
    int failures = 0;
    for (long n = 1; n < 60; n++) {
        ef_alloc_fail_after(n);
        ef_pqw *w = NULL;
        ef_status st = ef_pqw_open(&w, path, cols, 1, NULL, NULL);
        if (!st) st = ef_pqw_write_row_group(w, 3000, &d, NULL);
        if (!st) st = ef_pqw_close(w, NULL);
        else if (w) ef_pqw_abort(w);
        ef_alloc_fail_after(0);
        if (st) {
            failures++;
            CHECK(st == EF_ERR_NOMEM);
            CHECK(access(path, F_OK) != 0);
        }
        unlink(path);
    }
    CHECK(failures > 5);
}

int main(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/test_parquet_writer_%ld.parquet", EF_BINARY_DIR, (long)getpid());
    test_hybrid();
    test_thrift();
    test_file_framing(path);
    test_schema_errors(path);
    test_alloc_failures(path);
    TEST_MAIN_END;
}
