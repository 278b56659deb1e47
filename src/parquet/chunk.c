/* Column chunk decoding: walks the pages of one chunk (dictionary page, data pages v1/v2,
 * index pages skipped), decompresses them, decodes definition levels and values, and
 * appends the rows to an ef_pq_column_data. Non-null values are decoded densely at the
 * chunk's slot range and then spread backwards in place over the null slots, so there is no
 * second value buffer. Every size and offset read from the file is checked before use.
 * Reference: parquet-format README.md (pages, levels) and Encodings.md. */
#include <math.h>
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

static ef_status cfail(chunk_ctx *c, ef_status code, const char *why) {
    return EF_ERR(c->err, code, "%s: column '%s', row group %d, page at byte %lld: %s",
                  c->r->path, c->ci->name, c->rg, (long long)c->off, why);
}

static size_t elem_size(int type) {
    switch (type) {
    case EF_PQ_BOOLEAN: return 1;
    case EF_PQ_INT32:
    case EF_PQ_FLOAT: return 4;
    case EF_PQ_INT64:
    case EF_PQ_DOUBLE: return 8;
    case EF_PQ_INT96: return 12;
    default: return 0;
    }
}

static int grow(void **p, size_t *cap, size_t need, size_t es) {
    if (need <= *cap) return 0;
    size_t nc = EF_MAX(need, *cap * 2), bytes;
    if (!ef_mul_ok(nc, es, &bytes)) return -1;
    void *q = ef_realloc(*p, bytes ? bytes : 1);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* Makes room for extra bytes of byte-array data. */
static int data_reserve(ef_pq_column_data *d, size_t extra) {
    if (extra > SIZE_MAX / 2 - d->data_size) return -1;
    size_t cap = d->cap_data;
    /* +1: the buffer exists even for empty values (no arithmetic on a NULL pointer) */
    if (grow((void **)&d->data, &cap, d->data_size + extra + 1, 1)) return -1;
    d->cap_data = cap;
    return 0;
}

/* Makes room for n slots (values, offsets, valid) in d. */
static int slots_reserve(ef_pq_column_data *d, int64_t n, int with_valid) {
    if (n <= d->cap_n && (!with_valid || d->valid)) return 0;
    int64_t nc = EF_MAX(n, d->cap_n);
    size_t es = elem_size(d->type);
    if (es) {
        void *v = ef_realloc(d->values, (size_t)nc * es + 1);
        if (!v) return -1;
        d->values = v;
    } else {
        int64_t *o = ef_realloc(d->offsets, ((size_t)nc + 1) * sizeof *o);
        if (!o) return -1;
        if (!d->offsets) o[0] = 0;
        d->offsets = o;
    }
    if (with_valid) {
        int had = d->valid != NULL;
        uint8_t *v = ef_realloc(d->valid, (size_t)nc + 1);
        if (!v) return -1;
        if (!had) memset(v, 1, (size_t)d->n);
        d->valid = v;
    }
    d->cap_n = nc;
    return 0;
}

// ---- dense value decoding ------------------------------------------------------------------

/* Appends count byte-array values whose lengths are lens[] and bytes are at src. */
static const char *append_lengths(ef_pq_column_data *d, int64_t base, const int64_t *lens,
                                  int64_t count, const uint8_t *src, size_t n, size_t *used) {
    size_t total = 0;
    for (int64_t i = 0; i < count; i++) {
        if (lens[i] < 0 || (uint64_t)lens[i] > n - total) return "byte-array lengths run past the page";
        total += (size_t)lens[i];
    }
    if (data_reserve(d, total)) return "out of memory";
    if (total) memcpy(d->data + d->data_size, src, total);
    int64_t end = (int64_t)d->data_size;
    for (int64_t i = 0; i < count; i++) {
        end += lens[i];
        d->offsets[base + i + 1] = end;
    }
    d->data_size += total;
    *used = total;
    return NULL;
}

static const char *decode_plain(ef_pq_column_data *d, int64_t base, const uint8_t *p, size_t n,
                                int64_t count) {
    size_t es = elem_size(d->type);
    if (d->type == EF_PQ_BOOLEAN) {
        if ((uint64_t)n * 8 < (uint64_t)count) return "PLAIN booleans shorter than their values";
        uint8_t *o = (uint8_t *)d->values + base;
        for (int64_t i = 0; i < count; i++) o[i] = (p[i >> 3] >> (i & 7)) & 1;
        return NULL;
    }
    if (es) {
        size_t need;
        if (!ef_mul_ok(es, (size_t)count, &need) || need > n) return "PLAIN values shorter than the page says";
        if (need) memcpy((uint8_t *)d->values + (size_t)base * es, p, need);
        return NULL;
    }
    if (d->type == EF_PQ_FIXED_LEN_BYTE_ARRAY) {
        size_t w = (size_t)d->type_length, need;
        if (!ef_mul_ok(w, (size_t)count, &need) || need > n) return "PLAIN fixed-length values shorter than the page says";
        if (data_reserve(d, need)) return "out of memory";
        if (need) memcpy(d->data + d->data_size, p, need);
        for (int64_t i = 0; i < count; i++) d->offsets[base + i + 1] = (int64_t)(d->data_size + (size_t)(i + 1) * w);
        d->data_size += need;
        return NULL;
    }
    /* BYTE_ARRAY: u32 length prefix per value; first pass validates and sizes */
    size_t pos = 0, total = 0;
    for (int64_t i = 0; i < count; i++) {
        if (n - pos < 4) return "truncated PLAIN byte-array length";
        uint32_t len = pq_le32(p + pos);
        pos += 4;
        if (len > n - pos) return "PLAIN byte-array value runs past the page";
        pos += len;
        total += len;
    }
    if (data_reserve(d, total)) return "out of memory";
    pos = 0;
    uint8_t *o = d->data + d->data_size;
    int64_t end = (int64_t)d->data_size;
    for (int64_t i = 0; i < count; i++) {
        uint32_t len = pq_le32(p + pos);
        memcpy(o, p + pos + 4, len);
        o += len;
        pos += 4 + (size_t)len;
        end += len;
        d->offsets[base + i + 1] = end;
    }
    d->data_size += total;
    return NULL;
}

static const char *decode_dict(chunk_ctx *c, ef_pq_column_data *d, int64_t base,
                               const uint8_t *p, size_t n, int64_t count) {
    if (!c->has_dict) return "dictionary-encoded page without a dictionary page";
    if (count == 0) return NULL;
    if (n < 1) return "dictionary page data without a bit width";
    int w = p[0];
    if (w > 32) return "dictionary index bit width above 32";
    if (grow((void **)&c->idx, &c->idx_cap, (size_t)count, sizeof *c->idx)) return "out of memory";
    uint32_t acc;
    const char *why = pq_rle_decode_u32_or(p + 1, n - 1, w, c->idx, count, &acc);
    if (why) return why;
    const uint32_t *ix = c->idx;
    uint32_t dn = (uint32_t)EF_MIN(c->dict.n, (int64_t)UINT32_MAX);
    if (acc >= dn) {  /* the OR bounds the maximum: check exactly only when it may be out */
        for (int64_t i = 0; i < count; i++)
            if (ix[i] >= dn) return "dictionary index out of range";
    }
    size_t es = elem_size(d->type);
    switch (es) {
    case 1: {
        const uint8_t *dv = c->dict.values;
        uint8_t *o = (uint8_t *)d->values + base;
        for (int64_t i = 0; i < count; i++) o[i] = dv[ix[i]];
        return NULL;
    }
    case 4: {
        const uint32_t *dv = c->dict.values;
        uint32_t *o = (uint32_t *)d->values + base;
        for (int64_t i = 0; i < count; i++) o[i] = dv[ix[i]];
        return NULL;
    }
    case 8: {
        const uint64_t *dv = c->dict.values;
        uint64_t *o = (uint64_t *)d->values + base;
        for (int64_t i = 0; i < count; i++) o[i] = dv[ix[i]];
        return NULL;
    }
    case 12: {
        const uint8_t *dv = c->dict.values;
        uint8_t *o = (uint8_t *)d->values + (size_t)base * 12;
        for (int64_t i = 0; i < count; i++) memcpy(o + (size_t)i * 12, dv + (size_t)ix[i] * 12, 12);
        return NULL;
    }
    default: break;
    }
    const int64_t *doff = c->dict.offsets;
    size_t total = 0;
    for (int64_t i = 0; i < count; i++) total += (size_t)(doff[ix[i] + 1] - doff[ix[i]]);
    if (data_reserve(d, total)) return "out of memory";
    uint8_t *o = d->data + d->data_size;
    int64_t end = (int64_t)d->data_size;
    for (int64_t i = 0; i < count; i++) {
        size_t len = (size_t)(doff[ix[i] + 1] - doff[ix[i]]);
        memcpy(o, c->dict.data + doff[ix[i]], len);
        o += len;
        end += (int64_t)len;
        d->offsets[base + i + 1] = end;
    }
    d->data_size += total;
    return NULL;
}

/* DELTA_BINARY_PACKED lengths into c->lens; *used = bytes consumed. */
static const char *delta_lengths(chunk_ctx *c, const uint8_t *p, size_t n, int64_t *count,
                                 size_t *used) {
    const char *why = pq_delta_count(p, n, count);
    if (why) return why;
    if ((uint64_t)*count > n * 64 + 64) return "DELTA length count larger than the page can hold";
    if (grow((void **)&c->lens, &c->lens_cap, (size_t)*count + 1, sizeof *c->lens)) return "out of memory";
    return pq_delta_decode_i64(p, n, c->lens, *count, used);
}

static const char *decode_delta_bytes(chunk_ctx *c, ef_pq_column_data *d, int64_t base,
                                      const uint8_t *p, size_t n, int64_t count) {
    /* prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY */
    int64_t np, ns;
    size_t used, used2;
    const char *why = delta_lengths(c, p, n, &np, &used);
    if (why) return why;
    if (np < count) return "DELTA_BYTE_ARRAY has fewer prefixes than values";
    int64_t *pref = ef_malloc(((size_t)count + 1) * sizeof *pref);
    if (!pref) return "out of memory";
    memcpy(pref, c->lens, (size_t)count * sizeof *pref);
    why = delta_lengths(c, p + used, n - used, &ns, &used2);
    if (!why && ns < count) why = "DELTA_BYTE_ARRAY has fewer suffixes than values";
    const uint8_t *src = p + used + used2;
    size_t left = n - used - used2, sp = 0;
    int64_t prev_start = 0, prev_len = 0;
    for (int64_t i = 0; i < count && !why; i++) {
        int64_t pl = pref[i], sl = c->lens[i];
        if (pl < 0 || sl < 0 || pl > prev_len) { why = "DELTA_BYTE_ARRAY prefix longer than the previous value"; break; }
        if ((uint64_t)sl > left - sp) { why = "DELTA_BYTE_ARRAY suffix runs past the page"; break; }
        if (data_reserve(d, (size_t)(pl + sl))) { why = "out of memory"; break; }
        uint8_t *o = d->data + d->data_size;
        memmove(o, d->data + prev_start, (size_t)pl);
        memcpy(o + pl, src + sp, (size_t)sl);
        sp += (size_t)sl;
        prev_start = (int64_t)d->data_size;
        prev_len = pl + sl;
        d->data_size += (size_t)(pl + sl);
        d->offsets[base + i + 1] = (int64_t)d->data_size;
        if (d->type == EF_PQ_FIXED_LEN_BYTE_ARRAY && prev_len != d->type_length)
            why = "DELTA_BYTE_ARRAY value length differs from the fixed length";
    }
    ef_free(pref);
    return why;
}

static const char *decode_values(chunk_ctx *c, ef_pq_column_data *d, int enc, int64_t base,
                                 const uint8_t *p, size_t n, int64_t count) {
    int t = d->type;
    switch (enc) {
    case EF_PQ_ENC_PLAIN: return decode_plain(d, base, p, n, count);
    case EF_PQ_ENC_PLAIN_DICTIONARY:
    case EF_PQ_ENC_RLE_DICTIONARY: return decode_dict(c, d, base, p, n, count);
    case EF_PQ_ENC_RLE: {
        if (t != EF_PQ_BOOLEAN) return "RLE value encoding is only valid for booleans";
        if (n < 4) return "RLE booleans without a length prefix";
        uint32_t len = pq_le32(p);
        if (len > n - 4) return "RLE boolean length runs past the page";
        return pq_rle_decode_u8(p + 4, len, 1, (uint8_t *)d->values + base, count, NULL);
    }
    case EF_PQ_ENC_DELTA_BINARY_PACKED: {
        size_t used;
        if (t == EF_PQ_INT32) return pq_delta_decode_i32(p, n, (int32_t *)d->values + base, count, &used);
        if (t == EF_PQ_INT64) return pq_delta_decode_i64(p, n, (int64_t *)d->values + base, count, &used);
        return "DELTA_BINARY_PACKED on a non-integer column";
    }
    case EF_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: {
        if (t != EF_PQ_BYTE_ARRAY) return "DELTA_LENGTH_BYTE_ARRAY on a non-byte-array column";
        int64_t nl;
        size_t used, used2;
        const char *why = delta_lengths(c, p, n, &nl, &used);
        if (why) return why;
        if (nl < count) return "DELTA_LENGTH_BYTE_ARRAY has fewer lengths than values";
        return append_lengths(d, base, c->lens, count, p + used, n - used, &used2);
    }
    case EF_PQ_ENC_DELTA_BYTE_ARRAY:
        if (t != EF_PQ_BYTE_ARRAY && t != EF_PQ_FIXED_LEN_BYTE_ARRAY) return "DELTA_BYTE_ARRAY on a non-byte-array column";
        return decode_delta_bytes(c, d, base, p, n, count);
    case EF_PQ_ENC_BYTE_STREAM_SPLIT: {
        size_t es = elem_size(t);
        if (t == EF_PQ_FIXED_LEN_BYTE_ARRAY) {
            size_t need;
            if (!ef_mul_ok((size_t)d->type_length, (size_t)count, &need)) return "BYTE_STREAM_SPLIT too large";
            if (data_reserve(d, need)) return "out of memory";
            const char *why = pq_bss_decode(p, n, d->type_length, d->data + d->data_size, count);
            if (why) return why;
            for (int64_t i = 0; i < count; i++) d->offsets[base + i + 1] = (int64_t)(d->data_size + (size_t)(i + 1) * (size_t)d->type_length);
            d->data_size += need;
            return NULL;
        }
        if (es != 4 && es != 8) return "BYTE_STREAM_SPLIT on an unsupported type";
        return pq_bss_decode(p, n, (int)es, (uint8_t *)d->values + (size_t)base * es, count);
    }
    default: return "unsupported value encoding";
    }
}

static void dict_to_i8(chunk_ctx *c);

// ---- nulls ---------------------------------------------------------------------------------

/* Spreads nn dense values at slots [base, base+nn) over [base, base+nv) by valid[]. */
static void spread(ef_pq_column_data *d, int64_t base, int64_t nv, int64_t nn) {
    const uint8_t *v = d->valid + base;
    int64_t k = nn;
    size_t es = elem_size(d->type);
#define SPREAD(T)                                                            \
    {                                                                        \
        T *o = (T *)d->values + base;                                        \
        for (int64_t i = nv - 1; i >= 0 && k < i + 1; i--) o[i] = v[i] ? o[--k] : (T)0; \
    }
    switch (es) {
    case 1: SPREAD(uint8_t) return;
    case 4: SPREAD(uint32_t) return;
    case 8: SPREAD(uint64_t) return;
    case 12: {
        uint8_t *o = (uint8_t *)d->values + (size_t)base * 12;
        for (int64_t i = nv - 1; i >= 0 && k < i + 1; i--) {
            if (v[i]) memmove(o + (size_t)i * 12, o + (size_t)(--k) * 12, 12);
            else memset(o + (size_t)i * 12, 0, 12);
        }
        return;
    }
    default: break;
    }
#undef SPREAD
    int64_t *off = d->offsets + base + 1;   /* off[i] = end of value i */
    for (int64_t i = nv - 1; i >= 0 && k < i + 1; i--) {
        if (v[i]) { off[i] = off[k - 1]; k--; }
        else off[i] = k > 0 ? off[k - 1] : off[-1];
    }
}

// ---- pages ---------------------------------------------------------------------------------

static ef_status page_body(chunk_ctx *c, const pq_page_header *h, const uint8_t *src, size_t n,
                           size_t skip, const uint8_t **out, size_t *out_n) {
    /* skip: leading bytes stored uncompressed (v2 levels) */
    size_t un = (size_t)h->uncompressed_size;
    if (skip > n || skip > un) return cfail(c, EF_ERR_FORMAT, "level bytes exceed the page size");
    int compressed = c->m->codec != EF_PQ_UNCOMPRESSED && (!h->has_v2 || h->is_compressed);
    if (!compressed) {
        if (n != un) return cfail(c, EF_ERR_FORMAT, "uncompressed page whose compressed and uncompressed sizes differ");
        *out = src + skip;
        *out_n = n - skip;
        return EF_OK;
    }
    if (grow((void **)&c->page, &c->page_cap, un - skip + 8, 1)) return cfail(c, EF_ERR_NOMEM, "out of memory");
    const char *why = pq_decompress(c->m->codec, src + skip, n - skip, c->page, un - skip);
    if (why) return cfail(c, EF_ERR_FORMAT, why);
    *out = c->page;
    *out_n = un - skip;
    return EF_OK;
}

static ef_status dict_page(chunk_ctx *c, const pq_page_header *h, const uint8_t *body) {
    if (c->has_dict) return cfail(c, EF_ERR_FORMAT, "second dictionary page in a chunk");
    if (h->encoding != EF_PQ_ENC_PLAIN && h->encoding != EF_PQ_ENC_PLAIN_DICTIONARY)
        return cfail(c, EF_ERR_UNSUPPORTED, "dictionary page encoding is not PLAIN");
    const uint8_t *p;
    size_t n;
    EF_TRY(page_body(c, h, body, (size_t)h->compressed_size, 0, &p, &n));
    int64_t nv = h->num_values;
    if (c->ci->type == EF_PQ_BOOLEAN && (uint64_t)nv > (uint64_t)n * 8)
        return cfail(c, EF_ERR_FORMAT, "dictionary page shorter than its values");
    if (c->ci->type != EF_PQ_BOOLEAN && elem_size(c->ci->type) && (uint64_t)nv * elem_size(c->ci->type) > n)
        return cfail(c, EF_ERR_FORMAT, "dictionary page shorter than its values");
    if (!elem_size(c->ci->type) && (uint64_t)nv > n + 1)
        return cfail(c, EF_ERR_FORMAT, "dictionary page shorter than its values");
    c->dict.type = c->ci->type;
    c->dict.type_length = c->ci->type_length;
    if (slots_reserve(&c->dict, nv, 0)) return cfail(c, EF_ERR_NOMEM, "out of memory");
    const char *why = decode_plain(&c->dict, 0, p, n, nv);
    if (why) return cfail(c, EF_ERR_FORMAT, why);
    c->dict.n = nv;
    c->has_dict = 1;
    if (c->i8) dict_to_i8(c);
    return EF_OK;
}

// ---- int8 mode ---------------------------------------------------------------------------------

/* Converts n dense values of type t to int8; returns the index of the first value that is
 * not an integer in [-128, 127] (NaN becomes nullv), or -1. */
static int64_t conv_i8(int t, const void *vals, int64_t n, int8_t *o, int8_t nullv) {
    switch (t) {
    case EF_PQ_BOOLEAN: {
        const uint8_t *v = vals;
        for (int64_t i = 0; i < n; i++) o[i] = (int8_t)v[i];
        return -1;
    }
    case EF_PQ_INT32: {
        const int32_t *v = vals;
        int bad = 0;
        for (int64_t i = 0; i < n; i++) {
            bad |= v[i] < -128 || v[i] > 127;
            o[i] = (int8_t)v[i];
        }
        if (bad)
            for (int64_t i = 0; i < n; i++)
                if (v[i] < -128 || v[i] > 127) return i;
        return -1;
    }
    case EF_PQ_INT64: {
        const int64_t *v = vals;
        for (int64_t i = 0; i < n; i++) {
            if (v[i] < -128 || v[i] > 127) return i;
            o[i] = (int8_t)v[i];
        }
        return -1;
    }
    case EF_PQ_FLOAT:
    case EF_PQ_DOUBLE:
        for (int64_t i = 0; i < n; i++) {
            double x = t == EF_PQ_FLOAT ? (double)((const float *)vals)[i] : ((const double *)vals)[i];
            if (isnan(x)) { o[i] = nullv; continue; }
            if (!(x >= -128 && x <= 127) || x != floor(x)) return i;
            o[i] = (int8_t)x;
        }
        return -1;
    default: return 0;
    }
}

static double value_at(int t, const void *vals, int64_t i) {
    switch (t) {
    case EF_PQ_BOOLEAN: return ((const uint8_t *)vals)[i];
    case EF_PQ_INT32: return ((const int32_t *)vals)[i];
    case EF_PQ_INT64: return (double)((const int64_t *)vals)[i];
    case EF_PQ_FLOAT: return ((const float *)vals)[i];
    case EF_PQ_DOUBLE: return ((const double *)vals)[i];
    default: return NAN;
    }
}

/* Page values in int8 mode: nn dense values, spread over nv rows by valid (NULL: none null). */
static const char *i8_values(chunk_ctx *c, int enc, const uint8_t *p, size_t n, int64_t nv,
                             int64_t nn, const uint8_t *valid) {
    int8_t *o = c->i8 + c->i8_base;
    int t = c->ci->type;
    if ((enc == EF_PQ_ENC_PLAIN_DICTIONARY || enc == EF_PQ_ENC_RLE_DICTIONARY) && c->dict_i8 && nn > 0) {
        if (n < 1) return "dictionary page data without a bit width";
        int w = p[0];
        if (w > 32) return "dictionary index bit width above 32";
        uint32_t dn = (uint32_t)EF_MIN(c->dict.n, (int64_t)UINT32_MAX);
        const char *why = pq_rle_dict_i8(p + 1, n - 1, w, c->dict_i8, dn, o, nn);
        if (why) return why;
    } else if (nn > 0) {
        if (t == EF_PQ_BYTE_ARRAY || t == EF_PQ_FIXED_LEN_BYTE_ARRAY || t == EF_PQ_INT96)
            return "column is not numeric";
        ef_pq_column_data *d = &c->tmp;
        d->type = t;
        d->n = 0;
        if (slots_reserve(d, nn, 0)) return "out of memory";
        const char *why = decode_values(c, d, enc, 0, p, n, nn);
        if (why) return why;
        int64_t badi = conv_i8(t, d->values, nn, o, c->i8_null);
        if (badi >= 0) {
            static _Thread_local char msg[96];
            snprintf(msg, sizeof msg, "value %.17g is not an int8 feature value", value_at(t, d->values, badi));
            return msg;
        }
    }
    if (valid && nn < nv) {
        int64_t k = nn;
        for (int64_t i = nv - 1; i >= 0 && k < i + 1; i--) o[i] = valid[i] ? o[--k] : c->i8_null;
    }
    return NULL;
}

/* Builds dict_i8 when every dictionary entry converts. */
static void dict_to_i8(chunk_ctx *c) {
    int t = c->dict.type;
    if (t != EF_PQ_BOOLEAN && t != EF_PQ_INT32 && t != EF_PQ_INT64 && t != EF_PQ_FLOAT && t != EF_PQ_DOUBLE) return;
    c->dict_i8 = ef_malloc((size_t)c->dict.n + 1);
    if (!c->dict_i8) return;   /* the generic path still works */
    if (conv_i8(t, c->dict.values, c->dict.n, c->dict_i8, c->i8_null) >= 0) {
        ef_free(c->dict_i8);
        c->dict_i8 = NULL;
    }
}

static ef_status data_page(chunk_ctx *c, const pq_page_header *h, const uint8_t *body,
                           ef_pq_column_data *d, int64_t rows_left) {
    int64_t nv = h->num_values;
    int max_def = c->ci->max_def;
    if (nv > rows_left) return cfail(c, EF_ERR_FORMAT, "page holds more values than the row group has rows");
    size_t csize = (size_t)h->compressed_size;
    const uint8_t *p, *lev = NULL;
    size_t n, lev_n = 0;
    if (h->has_v2) {
        if (h->rep_len != 0) return cfail(c, EF_ERR_FORMAT, "repetition levels in a flat column");
        size_t skip = (size_t)h->def_len;
        if (skip > csize) return cfail(c, EF_ERR_FORMAT, "level bytes exceed the page size");
        lev = body;
        lev_n = skip;
        EF_TRY(page_body(c, h, body, csize, skip, &p, &n));
    } else {
        EF_TRY(page_body(c, h, body, csize, 0, &p, &n));
        if (max_def > 0) {
            if (h->def_encoding == EF_PQ_ENC_RLE) {
                if (n < 4) return cfail(c, EF_ERR_FORMAT, "truncated definition-level length");
                uint32_t len = pq_le32(p);
                if (len > n - 4) return cfail(c, EF_ERR_FORMAT, "definition levels run past the page");
                lev = p + 4;
                lev_n = len;
                p += 4 + len;
                n -= 4 + (size_t)len;
            } else if (h->def_encoding == EF_PQ_ENC_BIT_PACKED) {
                size_t need = (size_t)(((uint64_t)nv * (uint64_t)pq_bit_width((uint64_t)max_def) + 7) / 8);
                if (need > n) return cfail(c, EF_ERR_FORMAT, "definition levels run past the page");
                lev = p;
                lev_n = need;
                p += need;
                n -= need;
            } else {
                return cfail(c, EF_ERR_UNSUPPORTED, "unsupported definition-level encoding");
            }
        }
    }
    int64_t base = c->i8 ? c->i8_base : d->n, nn = nv;
    uint8_t *v = NULL;
    if (max_def > 0) {
        if (c->i8) {
            if (grow((void **)&c->levels, &c->lev_cap, (size_t)nv + 1, 1)) return cfail(c, EF_ERR_NOMEM, "out of memory");
            v = c->levels;
        } else {
            v = d->valid + base;
        }
        int w = pq_bit_width((uint64_t)max_def);
        const char *why;
        uint64_t sum = 0;
        if (!h->has_v2 && h->def_encoding == EF_PQ_ENC_BIT_PACKED) {
            /* deprecated BIT_PACKED levels: most significant bit first */
            for (int64_t i = 0; i < nv; i++) {
                uint32_t x = 0;
                for (int b = 0; b < w; b++) {
                    uint64_t bit = (uint64_t)i * (uint64_t)w + (uint64_t)b;
                    x = x << 1 | ((lev[bit >> 3] >> (7 - (bit & 7))) & 1);
                }
                v[i] = (uint8_t)EF_MIN(x, 255u);
            }
            why = NULL;
        } else {
            why = pq_rle_decode_u8(lev, lev_n, w, v, nv, &sum);
        }
        if (why) return cfail(c, EF_ERR_FORMAT, why);
        nn = 0;
        if (max_def == 1 && h->def_encoding != EF_PQ_ENC_BIT_PACKED) {   /* 1-bit levels are 0/1 */
            nn = (int64_t)sum;
        } else {
            uint8_t mx = 0;
            for (int64_t i = 0; i < nv; i++) mx = v[i] > mx ? v[i] : mx;
            if (mx > max_def) return cfail(c, EF_ERR_FORMAT, "definition level above the maximum");
            for (int64_t i = 0; i < nv; i++) {
                v[i] = v[i] == max_def;
                nn += v[i];
            }
        }
    }
    if (c->i8) {
        const char *why = i8_values(c, h->encoding, p, n, nv, nn, v);
        if (why) return cfail(c, !strcmp(why, "out of memory") ? EF_ERR_NOMEM : EF_ERR_FORMAT, why);
        c->i8_base += nv;
        return EF_OK;
    }
    const char *why = decode_values(c, d, h->encoding, base, p, n, nn);
    if (why) {
        ef_status code = !strcmp(why, "out of memory") ? EF_ERR_NOMEM
                       : !strcmp(why, "unsupported value encoding") ? EF_ERR_UNSUPPORTED : EF_ERR_FORMAT;
        return cfail(c, code, why);
    }
    if (nn < nv) {
        spread(d, base, nv, nn);
        d->null_count += nv - nn;
    }
    d->n += nv;
    return EF_OK;
}

// ---- chunk ---------------------------------------------------------------------------------

ef_status pq_chunk_bytes(const ef_pq_reader *r, int rg, int col, uint8_t **buf, size_t *n,
                         int64_t *off, ef_error *err) {
    const pq_chunk_meta *m = &r->rgs[rg].chunks[col];
    int64_t start = m->data_page_offset;
    if (m->dict_page_offset > 0 && m->dict_page_offset < start) start = m->dict_page_offset;
    int64_t len = m->total_compressed;
    if (start < 4 || len < 0 || (uint64_t)start > r->file_size || (uint64_t)len > r->file_size - (uint64_t)start)
        return EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s', row group %d: chunk range [%lld, +%lld) is outside the file (%llu bytes)",
                      r->path, r->cols[col].name, rg, (long long)start, (long long)len, (unsigned long long)r->file_size);
    *buf = ef_malloc((size_t)len + 1);
    if (!*buf) return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for a %lld-byte chunk", r->path, (long long)len);
    ef_status s = pq_read_at(r, start, (size_t)len, *buf, err);
    if (s) {
        ef_free(*buf);
        *buf = NULL;
        return s;
    }
    *n = (size_t)len;
    *off = start;
    return EF_OK;
}

typedef ef_status (*page_fn)(chunk_ctx *c, const pq_page_header *h, const uint8_t *body, void *arg);

/* Walks the pages of a chunk until rows pages cover want_rows rows (or the bytes end when
 * want_rows < 0), calling fn on each. */
static ef_status walk_pages(chunk_ctx *c, int64_t want_rows, page_fn fn, void *arg,
                            int64_t *rows_seen) {
    uint8_t *buf = NULL;
    size_t n = 0;
    int64_t start;
    EF_TRY(pq_chunk_bytes(c->r, c->rg, c->col, &buf, &n, &start, c->err));
    size_t pos = 0;
    int64_t rows = 0;
    ef_status s = EF_OK;
    while (want_rows < 0 ? pos < n : rows < want_rows) {
        c->off = start + (int64_t)pos;
        if (pos >= n) {
            char why[128];
            snprintf(why, sizeof why, "chunk ends after %lld of %lld rows", (long long)rows, (long long)want_rows);
            s = cfail(c, EF_ERR_FORMAT, why);
            break;
        }
        pq_thrift th;
        pq_th_init(&th, buf + pos, n - pos, c->off);
        pq_page_header h;
        if (pq_parse_page_header(&th, &h)) {
            char why[160];
            snprintf(why, sizeof why, "bad page header at byte %lld: %s", (long long)th.fail_offset, th.why);
            s = cfail(c, EF_ERR_FORMAT, why);
            break;
        }
        size_t hdr = (size_t)(th.p - (buf + pos));
        if ((size_t)h.compressed_size > n - pos - hdr) {
            s = cfail(c, EF_ERR_FORMAT, "page body runs past the end of the column chunk");
            break;
        }
        if ((h.type == PQ_PAGE_DATA && !h.has_data) || (h.type == PQ_PAGE_DATA_V2 && !h.has_v2) ||
            (h.type == PQ_PAGE_DICT && !h.has_dict)) {
            s = cfail(c, EF_ERR_FORMAT, "page header lacks the header of its page type");
            break;
        }
        s = fn(c, &h, buf + pos + hdr, arg);
        if (s) break;
        if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) rows += h.num_values;
        pos += hdr + (size_t)h.compressed_size;
    }
    if (rows_seen) *rows_seen = rows;
    ef_free(buf);
    return s;
}

typedef struct decode_arg {
    ef_pq_column_data *d;
    int64_t want, done;
} decode_arg;

static ef_status decode_page_cb(chunk_ctx *c, const pq_page_header *h, const uint8_t *body, void *arg) {
    decode_arg *a = arg;
    if (h->type == PQ_PAGE_DICT) return dict_page(c, h, body);
    if (h->type == PQ_PAGE_DATA || h->type == PQ_PAGE_DATA_V2) {
        ef_status s = data_page(c, h, body, a->d, a->want - a->done);
        if (!s) a->done += h->num_values;
        return s;
    }
    return EF_OK;  /* index pages and unknown types are skipped */
}

static void ctx_init(chunk_ctx *c, const ef_pq_reader *r, int rg, int col, ef_error *err) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->rg = rg;
    c->col = col;
    c->ci = &r->cols[col];
    c->m = &r->rgs[rg].chunks[col];
    c->err = err;
    c->off = -1;
}

static void ctx_free(chunk_ctx *c) {
    ef_pq_column_data_free(&c->dict);
    ef_pq_column_data_free(&c->tmp);
    ef_free(c->dict_i8);
    ef_free(c->levels);
    ef_free(c->page);
    ef_free(c->idx);
    ef_free(c->lens);
}

ef_status pq_decode_chunk(const ef_pq_reader *r, int rg, int col, ef_pq_column_data *out,
                          ef_error *err) {
    chunk_ctx c;
    ctx_init(&c, r, rg, col, err);
    if (r->max_rep[col] > 0)
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: column '%s' is repeated (lists are not supported)", r->path, c.ci->name);
    if (c.ci->max_def > 255)
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: column '%s' is nested too deeply", r->path, c.ci->name);
    int codec = c.m->codec;
    if (codec == EF_PQ_LZO || codec < 0 || codec > EF_PQ_LZ4_RAW)
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: column '%s', row group %d: compression codec %s (%d) is not supported",
                      r->path, c.ci->name, rg, ef_pq_codec_name(codec), codec);
    if (c.ci->type == EF_PQ_FIXED_LEN_BYTE_ARRAY && c.ci->type_length <= 0)
        return EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s' is FIXED_LEN_BYTE_ARRAY without a positive length", r->path, c.ci->name);
    int64_t want = r->rgs[rg].num_rows;
    if (slots_reserve(out, out->n + want, c.ci->max_def > 0))
        return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for column '%s'", r->path, c.ci->name);
    decode_arg a = {out, want, 0};
    int64_t rows = 0;
    ef_status s = walk_pages(&c, want, decode_page_cb, &a, &rows);
    ctx_free(&c);
    return s;
}

ef_status pq_decode_chunk_i8(const ef_pq_reader *r, int rg, int col, int8_t *dst,
                             int8_t null_value, ef_error *err) {
    chunk_ctx c;
    ctx_init(&c, r, rg, col, err);
    int t = c.ci->type;
    if (t == EF_PQ_BYTE_ARRAY || t == EF_PQ_FIXED_LEN_BYTE_ARRAY || t == EF_PQ_INT96)
        return EF_ERR(err, EF_ERR_INVALID, "%s: column '%s' has type %s, not a numeric feature",
                      r->path, c.ci->name, ef_pq_type_name(c.ci->type));
    if (r->max_rep[col] > 0)
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: column '%s' is repeated (lists are not supported)", r->path, c.ci->name);
    if (c.ci->max_def > 255)
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: column '%s' is nested too deeply", r->path, c.ci->name);
    int codec = c.m->codec;
    if (codec == EF_PQ_LZO || codec < 0 || codec > EF_PQ_LZ4_RAW)
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: column '%s', row group %d: compression codec %s (%d) is not supported",
                      r->path, c.ci->name, rg, ef_pq_codec_name(codec), codec);
    c.i8 = dst;
    c.i8_null = null_value;
    int64_t want = r->rgs[rg].num_rows;
    decode_arg a = {NULL, want, 0};
    ef_status s = walk_pages(&c, want, decode_page_cb, &a, NULL);
    ctx_free(&c);
    return s;
}

// ---- page statistics (inspect) ---------------------------------------------------------------

static ef_status stats_cb(chunk_ctx *c, const pq_page_header *h, const uint8_t *body, void *arg) {
    ef_pq_page_stats *st = arg;
    (void)c;
    (void)body;
    switch (h->type) {
    case PQ_PAGE_DICT: st->dict_pages++; st->dict_values += h->num_values; break;
    case PQ_PAGE_DATA: st->data_pages_v1++; break;
    case PQ_PAGE_DATA_V2: st->data_pages_v2++; break;
    default: st->other_pages++; break;
    }
    if ((h->type == PQ_PAGE_DATA || h->type == PQ_PAGE_DATA_V2) && h->encoding >= 0 && h->encoding < 32)
        st->data_encodings_mask |= 1u << h->encoding;
    return EF_OK;
}

ef_status pq_chunk_pages(const ef_pq_reader *r, int rg, int col, ef_pq_page_stats *st,
                         ef_error *err) {
    chunk_ctx c;
    ctx_init(&c, r, rg, col, err);
    memset(st, 0, sizeof *st);
    ef_status s = walk_pages(&c, -1, stats_cb, st, NULL);
    ctx_free(&c);
    return s;
}
