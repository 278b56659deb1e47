/* eraformer parquet: a native reader for flat Apache Parquet files (the Numerai layout:
 * one leaf column per feature/target/id, OPTIONAL or REQUIRED, no repeated fields).
 *
 * What it reads: physical types BOOLEAN, INT32, INT64, INT96 (raw 12 bytes), FLOAT, DOUBLE,
 * BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY; encodings PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY,
 * RLE/bit-packed hybrid, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT; data pages v1 and v2; codecs UNCOMPRESSED, SNAPPY, GZIP, ZSTD, BROTLI,
 * LZ4_RAW and the Hadoop-framed LZ4. Repeated (list/map) columns return EF_ERR_UNSUPPORTED.
 *
 * Model: open a reader (footer parsed once), look columns up by name, then decode one column
 * chunk (row group x column) at a time, or use the convenience readers that decode several
 * columns of a row group straight into a row-major matrix (OpenMP over columns). Memory is
 * bounded by the projected column chunks of one row group plus the caller's output.
 *
 * Errors: every function returns ef_status and fills err (may be NULL) with a message naming
 * the file, the column, the row group and the byte offset of the bad data. A corrupt or
 * truncated file never crashes the reader.
 *
 * Thread safety: a reader is immutable after open; any number of threads may call the
 * read functions on the same reader concurrently (reads use pread). */
#ifndef EF_PARQUET_H
#define EF_PARQUET_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- format enums (values are the parquet.thrift numbers) --------------------------- */
typedef enum ef_pq_type {
    EF_PQ_BOOLEAN = 0,
    EF_PQ_INT32 = 1,
    EF_PQ_INT64 = 2,
    EF_PQ_INT96 = 3,
    EF_PQ_FLOAT = 4,
    EF_PQ_DOUBLE = 5,
    EF_PQ_BYTE_ARRAY = 6,
    EF_PQ_FIXED_LEN_BYTE_ARRAY = 7
} ef_pq_type;

typedef enum ef_pq_codec {
    EF_PQ_UNCOMPRESSED = 0,
    EF_PQ_SNAPPY = 1,
    EF_PQ_GZIP = 2,
    EF_PQ_LZO = 3,
    EF_PQ_BROTLI = 4,
    EF_PQ_LZ4 = 5,      /* deprecated; Hadoop-framed in practice */
    EF_PQ_ZSTD = 6,
    EF_PQ_LZ4_RAW = 7
} ef_pq_codec;

typedef enum ef_pq_encoding {
    EF_PQ_ENC_PLAIN = 0,
    EF_PQ_ENC_PLAIN_DICTIONARY = 2,
    EF_PQ_ENC_RLE = 3,
    EF_PQ_ENC_BIT_PACKED = 4,
    EF_PQ_ENC_DELTA_BINARY_PACKED = 5,
    EF_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    EF_PQ_ENC_DELTA_BYTE_ARRAY = 7,
    EF_PQ_ENC_RLE_DICTIONARY = 8,
    EF_PQ_ENC_BYTE_STREAM_SPLIT = 9
} ef_pq_encoding;

/* Parquet ConvertedType numbers used here (the rest are kept raw in converted_type). */
enum { EF_PQ_CONVERTED_NONE = -1, EF_PQ_CONVERTED_UTF8 = 0, EF_PQ_CONVERTED_INT_8 = 15 };

const char *ef_pq_type_name(ef_pq_type t);
const char *ef_pq_codec_name(int codec);       /* "UNKNOWN(n)"-safe: returns "UNKNOWN" */
const char *ef_pq_encoding_name(int encoding); /* idem */

/* ---- reader -------------------------------------------------------------------------- */
typedef struct ef_pq_reader ef_pq_reader;

/* One leaf column of the schema. Strings are owned by the reader. */
typedef struct ef_pq_column_info {
    const char *name;      /* leaf path, dotted for nested groups ("a.b") */
    ef_pq_type type;
    int type_length;       /* FIXED_LEN_BYTE_ARRAY width, else 0 */
    int nullable;          /* 1 if any level of the path is OPTIONAL (max definition level > 0) */
    int max_def;           /* maximum definition level */
    int converted_type;    /* raw ConvertedType, or EF_PQ_CONVERTED_NONE */
    int int_bits;          /* 8/16/32/64 when annotated as an integer (INT_8.., UINT_8.., INTEGER), else 0 */
    int int_signed;        /* with int_bits: 1 signed, 0 unsigned */
    int is_string;         /* BYTE_ARRAY annotated UTF8 / STRING / ENUM / JSON */
} ef_pq_column_info;

/* Opens path and parses its footer. On success *out owns an open file descriptor. */
ef_status ef_pq_reader_open(ef_pq_reader **out, const char *path, ef_error *err);
/* Same over a caller-owned buffer (kept by reference: it must outlive the reader).
 * name is used in error messages. Used by tests and fuzzers. */
ef_status ef_pq_reader_open_memory(ef_pq_reader **out, const void *data, size_t size,
                                   const char *name, ef_error *err);
void ef_pq_reader_close(ef_pq_reader *r);   /* NULL is fine */

const char *ef_pq_reader_path(const ef_pq_reader *r);
int64_t ef_pq_num_rows(const ef_pq_reader *r);
int ef_pq_num_columns(const ef_pq_reader *r);
int ef_pq_num_row_groups(const ef_pq_reader *r);
int64_t ef_pq_row_group_num_rows(const ef_pq_reader *r, int row_group);
/* First row of a row group in the file's row order (sum of the previous groups' rows). */
int64_t ef_pq_row_group_first_row(const ef_pq_reader *r, int row_group);
const ef_pq_column_info *ef_pq_column(const ef_pq_reader *r, int column);
/* Index of the leaf column with this name (exact match), or -1. */
int ef_pq_find_column(const ef_pq_reader *r, const char *name);
const char *ef_pq_created_by(const ef_pq_reader *r);  /* "" when absent */
/* Footer key/value metadata (ARROW:schema, pandas, ...); value may be NULL. */
int ef_pq_num_kv(const ef_pq_reader *r);
void ef_pq_kv(const ef_pq_reader *r, int i, const char **key, const char **value);

/* Column chunk metadata from the footer (for inspect). */
typedef struct ef_pq_chunk_info {
    int codec;                    /* ef_pq_codec */
    int64_t num_values;
    int64_t total_compressed_size;
    int64_t total_uncompressed_size;
    int64_t data_page_offset;
    int64_t dictionary_page_offset;  /* -1 when absent */
    uint32_t encodings_mask;      /* bit e set for each ef_pq_encoding e listed in the footer */
    int64_t null_count;           /* from statistics, -1 when absent */
} ef_pq_chunk_info;
ef_status ef_pq_chunk_info_get(const ef_pq_reader *r, int row_group, int column,
                               ef_pq_chunk_info *out, ef_error *err);

/* Page-level statistics of one chunk, gathered by walking its page headers (for inspect). */
typedef struct ef_pq_page_stats {
    int dict_pages, data_pages_v1, data_pages_v2, other_pages;
    int64_t dict_values;
    uint32_t data_encodings_mask; /* encodings of the data pages actually present */
} ef_pq_page_stats;
ef_status ef_pq_chunk_page_stats(const ef_pq_reader *r, int row_group, int column,
                                 ef_pq_page_stats *out, ef_error *err);

/* ---- decoded column chunk ------------------------------------------------------------ */
/* A decoded column (one chunk, or several chunks appended). n slots, one per row.
 *  - values: n elements of the physical type: int32_t, int64_t, float, double, uint8_t (0/1)
 *    for BOOLEAN, 12 bytes per INT96; NULL for BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY. The slot
 *    of a null is 0 (0.0 for floats).
 *  - BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY: value i is data[offsets[i] .. offsets[i+1]); a null
 *    is an empty range. offsets has n+1 entries.
 *  - valid: n bytes, 1 = present, 0 = null; NULL when the column has no null in it.
 * Free with ef_pq_column_data_free; a zeroed struct is an empty column. */
typedef struct ef_pq_column_data {
    ef_pq_type type;
    int type_length;
    int64_t n;
    int64_t null_count;
    void *values;
    uint8_t *valid;
    int64_t *offsets;
    uint8_t *data;
    size_t data_size;
    /* capacities (internal) */
    int64_t cap_n;
    size_t cap_data;
} ef_pq_column_data;

void ef_pq_column_data_free(ef_pq_column_data *c);

/* Decodes chunk (row_group, column) into *out (which is overwritten; free it first if
 * reused). Thread safe. */
ef_status ef_pq_read_column(const ef_pq_reader *r, int row_group, int column,
                            ef_pq_column_data *out, ef_error *err);
/* Decodes a column over all row groups, in row order. */
ef_status ef_pq_read_column_all(const ef_pq_reader *r, int column, ef_pq_column_data *out,
                                ef_error *err);

/* Formats value i of a decoded column as text into buf (cap bytes, NUL-terminated,
 * truncated if too small) and returns the full length. Nulls and float NaN are written as
 * the empty string (the fixtures' CSV convention); floats in the shortest form that parses
 * back to the same value ("0.25", "1"); integers in decimal (unsigned when annotated so);
 * strings raw; other binary and INT96 as lower-case hex. ci may be NULL. */
size_t ef_pq_value_format(const ef_pq_column_data *d, const ef_pq_column_info *ci, int64_t i,
                          char *buf, size_t cap);

/* ---- convenience readers for the data loader ------------------------------------------ *
 * Both decode ncols columns (indices in cols) of one row group into a row-major block:
 * out[i * ld + j] = value of row i (0-based within the row group) of column cols[j], for
 * i < ef_pq_row_group_num_rows(r, row_group). ld >= ncols. Columns are decoded in parallel
 * (OpenMP) when built with it; the result does not depend on the thread count.
 *
 * _i8: INT32/INT64/BOOLEAN values must lie in [-128, 127] and FLOAT/DOUBLE values must be
 *   integers in that range (else EF_ERR_FORMAT naming the column and row); null and NaN
 *   become null_value.
 * _f32: any numeric type converted to float; null becomes NaN. */
ef_status ef_pq_read_rowgroup_i8(const ef_pq_reader *r, int row_group, const int *cols,
                                 int ncols, int8_t *out, size_t ld, int8_t null_value,
                                 ef_error *err);
ef_status ef_pq_read_rowgroup_f32(const ef_pq_reader *r, int row_group, const int *cols,
                                  int ncols, float *out, size_t ld, ef_error *err);

/* Same over all row groups: out has ef_pq_num_rows(r) rows of stride ld. Memory besides out
 * is bounded by one row group's projected chunks. */
ef_status ef_pq_read_matrix_i8(const ef_pq_reader *r, const int *cols, int ncols, int8_t *out,
                               size_t ld, int8_t null_value, ef_error *err);
ef_status ef_pq_read_matrix_f32(const ef_pq_reader *r, const int *cols, int ncols, float *out,
                                size_t ld, ef_error *err);

/* Resolves column names to indices; an unknown name is EF_ERR_INVALID naming it. */
ef_status ef_pq_find_columns(const ef_pq_reader *r, const char *const *names, int n,
                             int *cols, ef_error *err);

#ifdef __cplusplus
}
#endif
#endif
