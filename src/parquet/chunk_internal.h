/* Column chunk decoding, private to src/parquet: the decoding state of one chunk, shared by
 * the page walker (chunk.c), the dense value decoders (chunk_values.c) and the int8 feature
 * path (chunk_i8.c). The decoders return NULL or a static description of what is wrong;
 * chunk.c adds the file, column, row group and page offset. */
#ifndef EF_PARQUET_CHUNK_INTERNAL_H
#define EF_PARQUET_CHUNK_INTERNAL_H

#include "parquet/pq_internal.h"

typedef struct chunk_ctx {
    const ef_pq_reader *r;
    int rg, col;
    const ef_pq_column_info *ci;
    const pq_chunk_meta *m;
    int64_t off;               /* file offset of the page being decoded */
    ef_pq_column_data dict;
    int has_dict;
    uint8_t *page;             /* decompression scratch */
    size_t page_cap;
    uint8_t *levels;
    size_t lev_cap;
    uint32_t *idx;
    size_t idx_cap;
    int64_t *lens;             /* DELTA_* length scratch */
    size_t lens_cap;
    ef_error *err;
    /* int8 mode (pq_decode_chunk_i8): rows go to i8[i8_base...] instead of a column */
    int8_t *i8;
    int8_t i8_null;
    int64_t i8_base;
    int8_t *dict_i8;           /* the dictionary converted to int8, when all entries fit */
    ef_pq_column_data tmp;     /* page values of non-dictionary pages in int8 mode */
} chunk_ctx;

/* ---- chunk_values.c ---- */
/* Bytes of one value of a physical type (0: byte arrays, whose values live in data/offsets). */
size_t pq_elem_size(int type);
/* Grows *p to hold need elements of es bytes (at least doubling); 0 or -1 (overflow, memory). */
int pq_grow(void **p, size_t *cap, size_t need, size_t es);
/* Makes room for n slots (values or offsets, and valid[] when with_valid) in d; 0 or -1. */
int pq_slots_reserve(ef_pq_column_data *d, int64_t n, int with_valid);
/* count PLAIN values at p (n bytes) into slots [base, base + count) of d. */
const char *pq_decode_plain(ef_pq_column_data *d, int64_t base, const uint8_t *p, size_t n, int64_t count);
/* count values of encoding enc (PLAIN, dictionary, RLE booleans, DELTA_*, BYTE_STREAM_SPLIT)
 * into slots [base, base + count) of d, densely. */
const char *pq_decode_values(chunk_ctx *c, ef_pq_column_data *d, int enc, int64_t base, const uint8_t *p,
                             size_t n, int64_t count);
/* Spreads nn dense values at slots [base, base+nn) over [base, base+nv) by d->valid. */
void pq_spread(ef_pq_column_data *d, int64_t base, int64_t nv, int64_t nn);

/* ---- chunk_i8.c ---- */
/* Page values in int8 mode: nn dense values, spread over nv rows by valid (NULL: none null). */
const char *pq_i8_values(chunk_ctx *c, int enc, const uint8_t *p, size_t n, int64_t nv, int64_t nn,
                         const uint8_t *valid);
/* Builds c->dict_i8 when every dictionary entry converts (else leaves it NULL). */
void pq_dict_to_i8(chunk_ctx *c);

#endif
