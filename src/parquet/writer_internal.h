/* Parquet writer internals: a growable byte buffer and the Thrift compact-protocol encoder
 * (thrift_write.c) used to serialise page headers and the footer. Not part of the API. */
#ifndef EF_PARQUET_WRITER_INTERNAL_H
#define EF_PARQUET_WRITER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"

// ---- byte buffer --------------------------------------------------------------------

typedef struct ef_pqw_buf {
    uint8_t *data;
    size_t len, cap;
    int oom;            /* sticky: set when a grow failed; every later append is a no-op */
} ef_pqw_buf;

void ef_pqw_buf_free(ef_pqw_buf *b);
int ef_pqw_buf_reserve(ef_pqw_buf *b, size_t extra);  /* 0 on failure (sets oom) */
void ef_pqw_buf_put(ef_pqw_buf *b, const void *p, size_t n);
void ef_pqw_buf_byte(ef_pqw_buf *b, uint8_t v);
void ef_pqw_buf_uvarint(ef_pqw_buf *b, uint64_t v);

// ---- Thrift compact protocol --------------------------------------------------------
/* Field types of the compact protocol (the 4-bit type nibble). */
enum {
    EF_TC_STOP = 0, EF_TC_TRUE = 1, EF_TC_FALSE = 2, EF_TC_BYTE = 3, EF_TC_I16 = 4,
    EF_TC_I32 = 5, EF_TC_I64 = 6, EF_TC_DOUBLE = 7, EF_TC_BINARY = 8, EF_TC_LIST = 9,
    EF_TC_SET = 10, EF_TC_MAP = 11, EF_TC_STRUCT = 12
};

#define EF_TC_MAX_DEPTH 16

/* Writer state: the output buffer plus the stack of "last field id" per open struct, which
 * the compact protocol needs for its field-id deltas. */
typedef struct ef_tc_writer {
    ef_pqw_buf *out;
    int16_t last[EF_TC_MAX_DEPTH];
    int depth;
} ef_tc_writer;

void ef_tc_init(ef_tc_writer *w, ef_pqw_buf *out);
void ef_tc_struct_begin(ef_tc_writer *w);   /* a top-level struct or a list element */
void ef_tc_struct_end(ef_tc_writer *w);     /* writes STOP and pops */
void ef_tc_field_struct(ef_tc_writer *w, int16_t id); /* field header + struct_begin */
void ef_tc_field_i32(ef_tc_writer *w, int16_t id, int32_t v);
void ef_tc_field_i64(ef_tc_writer *w, int16_t id, int64_t v);
void ef_tc_field_i8(ef_tc_writer *w, int16_t id, int8_t v);
void ef_tc_field_bool(ef_tc_writer *w, int16_t id, int v);
void ef_tc_field_binary(ef_tc_writer *w, int16_t id, const void *p, size_t n);
void ef_tc_field_string(ef_tc_writer *w, int16_t id, const char *s);
/* A list field: header only; the caller then writes n elements of elem_type
 * (ef_tc_i32 / ef_tc_binary / ef_tc_struct_begin..end). */
void ef_tc_field_list(ef_tc_writer *w, int16_t id, int elem_type, size_t n);
void ef_tc_i32(ef_tc_writer *w, int32_t v);
void ef_tc_binary(ef_tc_writer *w, const void *p, size_t n);

// ---- column chunk encoding (writer_page.c) -----------------------------------------

#include "eraformer/parquet_writer.h"

/* What the footer needs to know about one written column chunk. Offsets are relative to
 * the chunk's first byte until writer.c rebases them to file offsets. */
typedef struct ef_pqw_chunk_meta {
    int64_t num_values;            /* rows, nulls included */
    int64_t null_count;
    int64_t total_uncompressed;    /* page headers included */
    int64_t total_compressed;
    int64_t data_page_offset;
    int64_t dict_page_offset;      /* -1: no dictionary page */
    int used_dict;
    int has_minmax;
    uint8_t min[8], max[8];        /* fixed-width types */
    uint8_t *min_str, *max_str;    /* STRING: owned copies */
    size_t min_len, max_len;
} ef_pqw_chunk_meta;

/* Parquet enum values used by the writer. */
enum { EF_PQW_T_INT32 = 1, EF_PQW_T_INT64 = 2, EF_PQW_T_FLOAT = 4, EF_PQW_T_DOUBLE = 5,
       EF_PQW_T_BYTE_ARRAY = 6 };
enum { EF_PQW_ENC_PLAIN = 0, EF_PQW_ENC_RLE = 3, EF_PQW_ENC_RLE_DICTIONARY = 8 };

int ef_pqw_physical_type(ef_pqw_type t);
/* Encodes one chunk: [dictionary page] data pages..., appended to out. */
ef_status ef_pqw_encode_chunk(const ef_pqw_column *col, size_t page_bytes, int zstd_level,
                              size_t nrows, const ef_pqw_data *d, ef_pqw_buf *out,
                              ef_pqw_chunk_meta *m, ef_error *err);
void ef_pqw_chunk_meta_free(ef_pqw_chunk_meta *m);
/* RLE/bit-packed hybrid (no length prefix) of n values of bit width bw (1..32). */
void ef_pqw_rle_hybrid(ef_pqw_buf *out, const uint32_t *v, size_t n, int bw);

#endif
