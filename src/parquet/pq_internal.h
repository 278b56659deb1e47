/* Internals of the parquet reader: the bounded byte cursor, the Thrift compact-protocol
 * decoder, parsed footer structures, page headers, decompression and value decoders.
 * Not part of the public API. */
#ifndef EF_PQ_INTERNAL_H
#define EF_PQ_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/parquet.h"

// ---- Thrift compact protocol -----------------------------------------------------------
/* A bounded reader over [p, end). On any violation fail is set (with a reason and the
 * offset of the bad byte relative to base), every later read returns zeros, and callers
 * check th->fail once at the end of a structure. Never reads outside [p, end). */
typedef struct pq_thrift {
    const uint8_t *p, *end, *base;
    int64_t base_offset;     /* file offset of base (for messages) */
    int fail;
    const char *why;
    int64_t fail_offset;     /* file offset where it failed */
    int depth;
} pq_thrift;

enum {
    TH_STOP = 0, TH_TRUE = 1, TH_FALSE = 2, TH_BYTE = 3, TH_I16 = 4, TH_I32 = 5, TH_I64 = 6,
    TH_DOUBLE = 7, TH_BINARY = 8, TH_LIST = 9, TH_SET = 10, TH_MAP = 11, TH_STRUCT = 12
};

void pq_th_init(pq_thrift *th, const uint8_t *p, size_t n, int64_t file_offset);
void pq_th_error(pq_thrift *th, const char *why);
/* Next field of the current struct: returns 0 at STOP (or on failure), else 1 with the
 * field id and compact type. *last_id carries the previous field id (start at 0). */
int pq_th_field(pq_thrift *th, int *last_id, int *id, int *type);
int64_t pq_th_int(pq_thrift *th, int type);   /* I8/I16/I32/I64 (zigzag); bool field types too */
int32_t pq_th_i32(pq_thrift *th, int type);   /* pq_th_int checked to fit int32 */
/* Binary/string: a pointer into the buffer and its length. */
const uint8_t *pq_th_binary(pq_thrift *th, uint32_t *len);
/* List/set header: element type and count (count checked against remaining bytes). */
uint32_t pq_th_list(pq_thrift *th, int *elem_type);
void pq_th_skip(pq_thrift *th, int type);
/* Enters/leaves a nested struct (depth limit). */
void pq_th_struct_begin(pq_thrift *th);
void pq_th_struct_end(pq_thrift *th);
/* Bool stored as a list element (one byte). */
int pq_th_list_bool(pq_thrift *th);
char *pq_th_strdup(pq_thrift *th);  /* binary -> NUL-terminated ef_malloc'd copy, NULL on OOM/fail */
int64_t pq_th_offset(const pq_thrift *th);

// ---- footer ------------------------------------------------------------------------------
typedef struct pq_chunk_meta {
    int type;
    int codec;
    uint32_t enc_mask;
    int64_t num_values;
    int64_t total_uncompressed;
    int64_t total_compressed;
    int64_t data_page_offset;
    int64_t dict_page_offset;  /* -1 when absent */
    int64_t null_count;        /* -1 when absent */
    int has_meta;
} pq_chunk_meta;

typedef struct pq_row_group {
    int64_t num_rows;
    int64_t first_row;
    pq_chunk_meta *chunks;     /* ncols */
} pq_row_group;

struct ef_pq_reader {
    char *path;
    int fd;                    /* -1 for memory readers */
    const uint8_t *mem;
    uint64_t file_size;
    int64_t num_rows;
    int ncols;
    ef_pq_column_info *cols;
    int *max_rep;
    int nrg;
    pq_row_group *rgs;
    char *created_by;
    int nkv;
    char **kv_keys, **kv_vals;
};

/* Parses the footer bytes (FileMetaData) into r. footer_offset is its file offset. */
ef_status pq_parse_footer(ef_pq_reader *r, const uint8_t *buf, size_t n, int64_t footer_offset,
                          ef_error *err);
/* Reads n bytes at file offset off (pread or memory); checks bounds. */
ef_status pq_read_at(const ef_pq_reader *r, int64_t off, size_t n, uint8_t *dst, ef_error *err);

// ---- pages ----------------------------------------------------------------------------------
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICT = 2, PQ_PAGE_DATA_V2 = 3 };

typedef struct pq_page_header {
    int type;
    int32_t uncompressed_size, compressed_size;
    int32_t num_values;       /* v1, v2 and dictionary */
    int encoding;
    int def_encoding, rep_encoding;   /* v1 */
    int32_t num_nulls, num_rows, def_len, rep_len;   /* v2 */
    int is_compressed;        /* v2, default 1 */
    int has_data, has_v2, has_dict;
} pq_page_header;

/* Parses a page header at th's position; returns 0 or -1 (th->why). */
int pq_parse_page_header(pq_thrift *th, pq_page_header *h);

// ---- codecs -----------------------------------------------------------------------------
/* Decompresses src into exactly dn bytes of dst. Returns NULL on success, else a reason. */
const char *pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dn);

// ---- value decoders (encoding.c) ---------------------------------------------------------
/* All return NULL on success or a static reason string; none reads outside [p, p+n). */
/* RLE/bit-packed hybrid (no length prefix): decodes count values of bit_width bits. */
const char *pq_rle_decode_u32(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                              int64_t count);
/* Same, also returning the bitwise OR of all decoded values (a cheap upper bound check). */
const char *pq_rle_decode_u32_or(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                                 int64_t count, uint32_t *or_all);
/* Dictionary indices straight to int8 values: out[i] = dict[index i]; an index >= dn is an
 * error. */
const char *pq_rle_dict_i8(const uint8_t *p, size_t n, int bit_width, const int8_t *dict,
                           uint32_t dn, int8_t *out, int64_t count);
/* Levels: also returns the sum of the values (NULL allowed), i.e. the count of 1s at width 1. */
const char *pq_rle_decode_u8(const uint8_t *p, size_t n, int bit_width, uint8_t *out,
                             int64_t count, uint64_t *sum);
/* DELTA_BINARY_PACKED: decodes count values (int32 or int64 by width); *used = bytes used. */
const char *pq_delta_decode_i32(const uint8_t *p, size_t n, int32_t *out, int64_t count,
                                size_t *used);
const char *pq_delta_decode_i64(const uint8_t *p, size_t n, int64_t *out, int64_t count,
                                size_t *used);
/* Header-only peek: total value count of a DELTA_BINARY_PACKED stream. */
const char *pq_delta_count(const uint8_t *p, size_t n, int64_t *count);
/* BYTE_STREAM_SPLIT: width-byte values, count of them. */
const char *pq_bss_decode(const uint8_t *p, size_t n, int width, uint8_t *out, int64_t count);
/* Little helpers */
static inline uint32_t pq_le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int pq_bit_width(uint64_t max) {
    int w = 0;
    while (max) { w++; max >>= 1; }
    return w;
}

// ---- chunk decoding (chunk*.c) ----------------------------------------------------------
/* Decodes chunk (rg, col) appending rows to out (which has the column's type set up). */
ef_status pq_decode_chunk(const ef_pq_reader *r, int rg, int col, ef_pq_column_data *out,
                          ef_error *err);
/* Decodes chunk (rg, col) of a numeric column straight into int8 dst (the row group's rows):
 * nulls and NaN become null_value; values that are not integers in [-128, 127] are
 * EF_ERR_FORMAT. Dictionary pages are converted once, so dictionary-encoded pages go from
 * indices to int8 without an int32 pass. */
ef_status pq_decode_chunk_i8(const ef_pq_reader *r, int rg, int col, int8_t *dst,
                             int8_t null_value, ef_error *err);
/* Walks page headers for inspect. */
ef_status pq_chunk_pages(const ef_pq_reader *r, int rg, int col, ef_pq_page_stats *st,
                         ef_error *err);
/* Reads a chunk's bytes: *buf (ef_malloc'd), its size and its file offset. */
ef_status pq_chunk_bytes(const ef_pq_reader *r, int rg, int col, uint8_t **buf, size_t *n,
                         int64_t *off, ef_error *err);

#endif
