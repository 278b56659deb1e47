/* eraformer parquet writer: writes flat parquet files (one level of columns, REQUIRED or
 * OPTIONAL) that DuckDB, pyarrow and arrow-rs read.
 *
 *   ef_pqw_column cols[] = {{"id", EF_PQW_STRING, 0, EF_PQW_ZSTD, 0}, ...};
 *   ef_pqw *w;  ef_pqw_open(&w, "train.parquet", cols, ncols, NULL, &err);
 *   for each row group: ef_pqw_write_row_group(w, nrows, data, &err);   // data[ncols]
 *   ef_pqw_close(w, &err);   // footer, fsync, rename: the file appears only now
 *
 * Format written: data page v1, PLAIN or dictionary (PLAIN dictionary page + RLE_DICTIONARY
 * data pages; a chunk falls back to PLAIN when its dictionary grows large), definition levels
 * as RLE/bit-packed hybrid, codecs UNCOMPRESSED/SNAPPY/ZSTD, chunk statistics (min_value,
 * max_value, null_count; NaN never enters min/max), TYPE_ORDER column orders.
 * Types: INT8 is INT32 physical + converted INT_8 + logical INTEGER(8, signed) (how pyarrow
 * stores int8); STRING is BYTE_ARRAY + UTF8/STRING.
 *
 * Not thread safe per writer; separate writers are independent. */
#ifndef EF_PARQUET_WRITER_H
#define EF_PARQUET_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ef_pqw_type {
    EF_PQW_INT8 = 0,   /* values: const int8_t *  */
    EF_PQW_INT32,      /* values: const int32_t * */
    EF_PQW_INT64,      /* values: const int64_t * */
    EF_PQW_FLOAT,      /* values: const float *   */
    EF_PQW_DOUBLE,     /* values: const double *  */
    EF_PQW_STRING      /* values: const char *const * (NUL-terminated UTF-8) */
} ef_pqw_type;

/* Values are parquet's CompressionCodec numbers. */
typedef enum ef_pqw_codec {
    EF_PQW_UNCOMPRESSED = 0,
    EF_PQW_SNAPPY = 1,
    EF_PQW_ZSTD = 6
} ef_pqw_codec;

typedef struct ef_pqw_column {
    const char *name;
    ef_pqw_type type;
    int nullable;        /* OPTIONAL with definition levels (nulls allowed) */
    ef_pqw_codec codec;
    int dictionary;      /* try dictionary encoding (falls back to PLAIN per chunk) */
} ef_pqw_column;

typedef struct ef_pqw_options {
    size_t page_bytes;       /* target uncompressed data-page size; 0: 1 MiB */
    int zstd_level;          /* 0: 3 */
    const char *created_by;  /* NULL: "eraformer version X" */
    /* key/value footer entries (may be 0) */
    int n_kv;
    const char *const *kv_keys;
    const char *const *kv_values;
} ef_pqw_options;

/* One column's data for one row group. */
typedef struct ef_pqw_data {
    const void *values;    /* see ef_pqw_type; NULL only when every row is null */
    size_t stride;         /* distance between consecutive rows, in elements; 0 = 1.
                            * Lets a row-major int8 matrix be written column by column. */
    const uint8_t *valid;  /* NULL: all present; else valid[r] == 0 marks row r null
                            * (only for nullable columns). NaN is a value, not a null. */
} ef_pqw_data;

typedef struct ef_pqw ef_pqw;

/* Opens path for writing (a temp file in the same folder until close). Copies the schema.
 * Errors: EF_ERR_INVALID (empty/duplicate names, bad type or codec), EF_ERR_IO. */
ef_status ef_pqw_open(ef_pqw **w, const char *path, const ef_pqw_column *cols, int ncols,
                      const ef_pqw_options *opt, ef_error *err);
/* Appends one row group; data[c] describes column c. nrows may be 0 (no row group written).
 * Errors: EF_ERR_INVALID (a null in a REQUIRED column, NULL values), EF_ERR_IO, EF_ERR_NOMEM.
 * After an error the writer only accepts ef_pqw_abort. */
ef_status ef_pqw_write_row_group(ef_pqw *w, size_t nrows, const ef_pqw_data *data, ef_error *err);
/* Writes the footer, commits the file atomically and frees w (also on error). */
ef_status ef_pqw_close(ef_pqw *w, ef_error *err);
/* Discards the temp file and frees w. NULL is a no-op. */
void ef_pqw_abort(ef_pqw *w);

/* Rows written so far. */
int64_t ef_pqw_rows(const ef_pqw *w);

#ifdef __cplusplus
}
#endif
#endif
