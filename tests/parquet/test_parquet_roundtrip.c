/* Reader against files written by eraformer's own writer, for cases the fixtures lack:
 * empty strings (a PLAIN byte-array page whose values are all empty: a fuzzer find),
 * INT64/DOUBLE columns, nulls in every position pattern, all-null and no-null chunks,
 * the three writer codecs with and without dictionaries, and a zero-column projection. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "eraformer/parquet.h"
#include "eraformer/parquet_writer.h"
#include "test.h"

#define NR 1000

static void roundtrip(ef_pqw_codec codec, int dict, int empty_strings) {
    char path[512];
    snprintf(path, sizeof path, "%s/pq_roundtrip_%d_%d_%d.parquet", EF_BINARY_DIR, (int)codec, dict, empty_strings);
    ef_pqw_column cols[] = {
        {"s", EF_PQW_STRING, 1, codec, dict},
        {"i8", EF_PQW_INT8, 1, codec, dict},
        {"i64", EF_PQW_INT64, 0, codec, dict},
        {"d", EF_PQW_DOUBLE, 1, codec, dict},
        {"allnull", EF_PQW_FLOAT, 1, codec, dict},
    };
    static char sbuf[NR][16];
    static const char *sv[NR];
    static int8_t i8[NR];
    static int64_t i64[NR];
    static double dv[NR];
    static float fv[NR];
    static uint8_t valid[NR], none[NR];
    for (int i = 0; i < NR; i++) {
        if (empty_strings) sbuf[i][0] = 0;
        else snprintf(sbuf[i], sizeof sbuf[i], "v%d", i % 37);
        sv[i] = sbuf[i];
        i8[i] = (int8_t)(i % 5 - 2);
        i64[i] = (int64_t)i * 1000003 - 400000000;
        dv[i] = i * 0.125;
        valid[i] = (i % 7) != 3 && i != 0 && i != NR - 1;
        none[i] = 0;
    }
    ef_error err = {0};
    ef_pqw *w;
    CHECK_OK(ef_pqw_open(&w, path, cols, 5, NULL, &err));
    for (int g = 0; g < 2; g++) {
        int off = g * (NR / 2);
        ef_pqw_data d[5] = {
            {sv + off, 0, valid + off}, {i8 + off, 0, valid + off}, {i64 + off, 0, NULL},
            {dv + off, 0, valid + off}, {fv, 0, none},
        };
        CHECK_OK(ef_pqw_write_row_group(w, NR / 2, d, &err));
    }
    CHECK_OK(ef_pqw_close(w, &err));

    ef_pq_reader *r;
    CHECK_OK(ef_pq_reader_open(&r, path, &err));
    if (!r) return;
    CHECK(ef_pq_num_rows(r) == NR && ef_pq_num_row_groups(r) == 2);
    ef_pq_column_data c[5];
    long bad = 0;
    for (int k = 0; k < 5; k++) {
        ef_status s = ef_pq_read_column_all(r, k, &c[k], &err);
        CHECKF(s == EF_OK, "column %d: %s", k, err.msg);
        if (s) return;
        CHECK(c[k].n == NR);
    }
    for (int i = 0; i < NR; i++) {
        int v = valid[i];
        bad += (c[0].valid && c[0].valid[i]) != v;
        if (v) {
            bad += (size_t)(c[0].offsets[i + 1] - c[0].offsets[i]) != strlen(sv[i]);
            bad += memcmp(c[0].data + c[0].offsets[i], sv[i], strlen(sv[i])) != 0;
            bad += ((int32_t *)c[1].values)[i] != i8[i];
            bad += ((double *)c[3].values)[i] != dv[i];
        } else {
            bad += c[0].offsets[i + 1] != c[0].offsets[i];
        }
        bad += ((int64_t *)c[2].values)[i] != i64[i];
        bad += c[4].valid[i] != 0;
    }
    CHECKF(bad == 0, "codec %d dict %d empty %d: %ld mismatches", (int)codec, dict, empty_strings, bad);
    CHECK(c[2].valid == NULL && c[4].null_count == NR && c[0].null_count == c[1].null_count);
    for (int k = 0; k < 5; k++) ef_pq_column_data_free(&c[k]);

    /* int8 projection: nulls -> -100; the all-null float column -> -100 too */
    int pc[3] = {1, 4, 1};
    int8_t m[NR * 3];
    CHECK_OK(ef_pq_read_matrix_i8(r, pc, 3, m, 3, -100, &err));
    bad = 0;
    for (int i = 0; i < NR; i++) {
        int8_t want = valid[i] ? i8[i] : -100;
        bad += m[i * 3] != want || m[i * 3 + 2] != want || m[i * 3 + 1] != -100;
    }
    CHECK(bad == 0);
    /* INT64 beyond int8 range is an error naming the column */
    int ic[1] = {2};
    CHECK(ef_pq_read_matrix_i8(r, ic, 1, m, 1, 0, &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "i64") != NULL);
    /* zero columns is a no-op */
    CHECK_OK(ef_pq_read_matrix_i8(r, pc, 0, m, 1, 0, &err));
    ef_pq_reader_close(r);
    remove(path);
}

int main(void) {
    ef_pqw_codec codecs[] = {EF_PQW_UNCOMPRESSED, EF_PQW_SNAPPY, EF_PQW_ZSTD};
    for (int c = 0; c < 3; c++)
        for (int dict = 0; dict < 2; dict++)
            for (int e = 0; e < 2; e++) roundtrip(codecs[c], dict, e);
    TEST_MAIN_END;
}
