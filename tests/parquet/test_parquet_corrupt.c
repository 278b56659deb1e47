/* Corrupted and truncated parquet files must give an error naming the file, never a crash
 * (run it under ASan/UBSan too). Every buffer is malloc'd at its exact size so that an
 * over-read is caught. Variants of several fixtures (different writers, codecs, encodings):
 *  - truncation at many offsets (no footer magic -> error at open);
 *  - data truncated but the footer kept (offsets then point past the data);
 *  - single bytes flipped / set at pseudo-random positions across the whole file;
 *  - footer length field and magic damaged;
 *  - a targeted corruption inside a page whose error must name column and offset. */
#include <string.h>
#include "eraformer/parquet.h"
#include "test.h"

#define FIXDIR EF_SHARED_DIR "/fixtures/parquet/"

static long n_ok, n_err, n_bad_msg;

/* Opens the buffer and decodes everything; returns the first status. */
static ef_status read_all(const uint8_t *data, size_t n, const char *name, ef_error *err) {
    uint8_t *copy = ef_malloc(n ? n : 1);
    memcpy(copy, data, n);
    ef_pq_reader *r = NULL;
    ef_status s = ef_pq_reader_open_memory(&r, copy, n, name, err);
    if (!s) {
        for (int g = 0; g < ef_pq_num_row_groups(r) && !s; g++) {
            for (int c = 0; c < ef_pq_num_columns(r) && !s; c++) {
                ef_pq_column_data d;
                s = ef_pq_read_column(r, g, c, &d, err);
                if (!s) ef_pq_column_data_free(&d);
            }
            if (!s && ef_pq_num_columns(r) > 0) {
                int cols[4] = {0, ef_pq_num_columns(r) - 1, 0, 0};
                int64_t nr = ef_pq_row_group_num_rows(r, g);
                float *m = ef_malloc((size_t)(nr * 2 + 1) * sizeof *m);
                ef_status s2 = ef_pq_read_rowgroup_f32(r, g, cols + 1, 1, m, 1, err);
                (void)s2;
                ef_free(m);
                /* the int-annotated columns through the fused int8 path, in one call */
                int nc = ef_pq_num_columns(r), nk = 0;
                int *ic = ef_malloc((size_t)nc * sizeof *ic);
                for (int c = 0; c < nc; c++)
                    if (ef_pq_column(r, c)->type == EF_PQ_INT32) ic[nk++] = c;
                int8_t *m8 = ef_malloc((size_t)nr * (size_t)(nk ? nk : 1) + 1);
                (void)ef_pq_read_rowgroup_i8(r, g, ic, nk, m8, (size_t)(nk ? nk : 1), -1, err);
                ef_free(m8);
                ef_free(ic);
            }
        }
        ef_pq_reader_close(r);
    }
    ef_free(copy);
    if (s) {
        n_err++;
        if (!strstr(err->msg, name)) {
            n_bad_msg++;
            fprintf(stderr, "error message without the file name: %s\n", err->msg);
        }
    } else {
        n_ok++;
    }
    return s;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fuzz_file(const char *file) {
    char path[512];
    snprintf(path, sizeof path, FIXDIR "%s", file);
    char *raw;
    size_t n;
    ef_error err = {0};
    CHECK(ef_file_read_all(path, &raw, &n, &err) == EF_OK);
    const uint8_t *data = (const uint8_t *)raw;
    CHECKF(read_all(data, n, "orig.parquet", &err) == EF_OK, "%s: %s", file, err.msg);

    /* plain truncation: always an error */
    long trunc_fail = 0;
    for (size_t cut = 0; cut < n; cut += 1 + n / 97) trunc_fail += read_all(data, cut, "cut.parquet", &err) == EF_OK;
    for (size_t cut = n > 64 ? n - 64 : 0; cut < n; cut++) trunc_fail += read_all(data, cut, "cut.parquet", &err) == EF_OK;
    CHECKF(trunc_fail == 0, "%s: %ld truncated variants read without error", file, trunc_fail);

    /* data truncated, footer kept */
    uint32_t flen;
    memcpy(&flen, data + n - 8, 4);
    size_t tail = (size_t)flen + 8;
    CHECK(tail < n);
    /* the end of the last column chunk (page indexes may follow it) */
    size_t data_end = 4;
    ef_pq_reader *r;
    CHECK(ef_pq_reader_open_memory(&r, data, n, "orig.parquet", &err) == EF_OK);
    for (int g = 0; g < ef_pq_num_row_groups(r); g++)
        for (int c = 0; c < ef_pq_num_columns(r); c++) {
            ef_pq_chunk_info ci;
            CHECK(ef_pq_chunk_info_get(r, g, c, &ci, &err) == EF_OK);
            int64_t st = ci.dictionary_page_offset > 0 && ci.dictionary_page_offset < ci.data_page_offset
                             ? ci.dictionary_page_offset : ci.data_page_offset;
            if ((size_t)(st + ci.total_compressed_size) > data_end) data_end = (size_t)(st + ci.total_compressed_size);
        }
    ef_pq_reader_close(r);
    uint8_t *buf = ef_malloc(n);
    long kept_ok = 0;
    for (size_t cut = 4; cut < data_end; cut += 1 + data_end / 61) {
        memcpy(buf, data, cut);
        memcpy(buf + cut, data + n - tail, tail);
        kept_ok += read_all(buf, cut + tail, "short.parquet", &err) == EF_OK;
    }
    CHECKF(kept_ok == 0, "%s: %ld data-truncated variants read without error", file, kept_ok);

    /* byte flips everywhere, denser in the footer */
    for (int k = 0; k < 700; k++) {
        memcpy(buf, data, n);
        size_t pos = k % 2 ? (size_t)(rnd() % n) : n - 1 - (size_t)(rnd() % tail);
        uint64_t v = rnd();
        buf[pos] = k % 3 == 0 ? (uint8_t)(buf[pos] ^ (1u << (v & 7))) : (uint8_t)v;
        if (k % 5 == 0 && pos + 1 < n) buf[pos + 1] = 0xff;
        (void)read_all(buf, n, "flip.parquet", &err);
    }

    /* footer length too large / zero; magic damaged */
    memcpy(buf, data, n);
    uint32_t big = (uint32_t)n;
    memcpy(buf + n - 8, &big, 4);
    CHECK(read_all(buf, n, "len.parquet", &err) != EF_OK);
    memcpy(buf, data, n);
    memset(buf + n - 8, 0, 4);
    CHECK(read_all(buf, n, "len0.parquet", &err) != EF_OK);
    memcpy(buf, data, n);
    buf[0] = 'X';
    CHECK(read_all(buf, n, "magic.parquet", &err) != EF_OK);
    CHECK(strstr(err.msg, "magic") != NULL);
    ef_free(buf);
    ef_free(raw);
}

/* Zeroes the body of the first data page of column col in row group 0 of an uncompressed
 * file and checks the error names the column and a byte offset. */
static void targeted(void) {
    const char *file = FIXDIR "hyparquet_uncompressed_nodict_pagev2_int8.parquet";
    char *raw;
    size_t n;
    ef_error err = {0};
    CHECK(ef_file_read_all(file, &raw, &n, &err) == EF_OK);
    ef_pq_reader *r;
    CHECK(ef_pq_reader_open_memory(&r, raw, n, "t.parquet", &err) == EF_OK);
    int col = ef_pq_find_column(r, "id");
    CHECK(col == 0);
    ef_pq_chunk_info ci;
    CHECK(ef_pq_chunk_info_get(r, 0, col, &ci, &err) == EF_OK);
    ef_pq_reader_close(r);
    /* overwrite the page header's compressed size region with garbage thrift */
    uint8_t *buf = ef_malloc(n);
    memcpy(buf, raw, n);
    memset(buf + ci.data_page_offset, 0xff, 6);
    CHECK(ef_pq_reader_open_memory(&r, buf, n, "t.parquet", &err) == EF_OK);
    ef_pq_column_data d;
    ef_status s = ef_pq_read_column(r, 0, col, &d, &err);
    CHECK(s == EF_ERR_FORMAT);
    CHECKF(strstr(err.msg, "t.parquet") && strstr(err.msg, "'id'") && strstr(err.msg, "byte"), "%s", err.msg);
    printf("targeted error: %s\n", err.msg);
    /* another column of the same file still reads */
    s = ef_pq_read_column(r, 0, col + 5, &d, &err);
    CHECK(s == EF_OK);
    if (!s) ef_pq_column_data_free(&d);
    ef_pq_reader_close(r);
    ef_free(buf);
    ef_free(raw);
}

int main(void) {
    ef_threads_set(1);   /* thousands of tiny reads: no thread start-up per call */
    const char *files[] = {
        "duckdb_zstd_dict_pagev1_v2enc_int8.parquet",      /* BSS, DELTA_LENGTH, zstd */
        "pqwasm_zstd_nodict_pagev2_int8.parquet",          /* DELTA_BINARY_PACKED, DELTA_BYTE_ARRAY, v2 */
        "pqwasm_lz4hadoop_dict_pagev1_int8.parquet",       /* hadoop LZ4 */
        "hyparquet_uncompressed_nodict_pagev2_int8.parquet",
        "pqwasm_snappy_dict_pagev1_smallpages_int8.parquet",
        "parquetjs_gzip_nodict_pagev1_int8.parquet",
        "hyparquet_brotli_nodict_pagev2_smallpages_int8.parquet",
        "duckdb_lz4raw_dict_pagev1_int8.parquet",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) fuzz_file(files[i]);
    targeted();
    /* empty and tiny inputs */
    ef_error err = {0};
    CHECK(read_all((const uint8_t *)"", 0, "empty.parquet", &err) != EF_OK);
    CHECK(read_all((const uint8_t *)"PAR1PAR1", 8, "tiny.parquet", &err) != EF_OK);
    CHECK(read_all((const uint8_t *)"PAR1\0\0\0\0PAR1", 12, "nofooter.parquet", &err) != EF_OK);
    CHECK(n_bad_msg == 0);
    printf("variants: %ld read fine, %ld rejected with an error\n", n_ok, n_err);
    TEST_MAIN_END;
}
