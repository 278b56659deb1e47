/* Dense value decoding of parquet pages: PLAIN, dictionary indices (RLE/bit-packed hybrid),
 * RLE booleans, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT into an ef_pq_column_data, and the in-place spread over null slots.
 * Every length read from the page is checked against the bytes left.
 * Reference: parquet-format Encodings.md. */
#include "parquet/chunk_internal.h"

size_t pq_elem_size(int type) {
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

int pq_grow(void **p, size_t *cap, size_t need, size_t es) {
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
    if (pq_grow((void **)&d->data, &cap, d->data_size + extra + 1, 1)) return -1;
    d->cap_data = cap;
    return 0;
}

/* Makes room for n slots (values, offsets, valid) in d. */
int pq_slots_reserve(ef_pq_column_data *d, int64_t n, int with_valid) {
    if (n <= d->cap_n && (!with_valid || d->valid)) return 0;
    int64_t nc = EF_MAX(n, d->cap_n);
    size_t es = pq_elem_size(d->type);
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

const char *pq_decode_plain(ef_pq_column_data *d, int64_t base, const uint8_t *p, size_t n,
                                int64_t count) {
    size_t es = pq_elem_size(d->type);
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
    if (pq_grow((void **)&c->idx, &c->idx_cap, (size_t)count, sizeof *c->idx)) return "out of memory";
    uint32_t acc;
    const char *why = pq_rle_decode_u32_or(p + 1, n - 1, w, c->idx, count, &acc);
    if (why) return why;
    const uint32_t *ix = c->idx;
    uint32_t dn = (uint32_t)EF_MIN(c->dict.n, (int64_t)UINT32_MAX);
    if (acc >= dn) {  /* the OR bounds the maximum: check exactly only when it may be out */
        for (int64_t i = 0; i < count; i++)
            if (ix[i] >= dn) return "dictionary index out of range";
    }
    size_t es = pq_elem_size(d->type);
#define GATHER(T)                                                            \
    {                                                                        \
        const T *dv = c->dict.values;                                        \
        T *o = (T *)d->values + base;                                        \
        for (int64_t i = 0; i < count; i++) o[i] = dv[ix[i]];                \
        return NULL;                                                         \
    }
    switch (es) {
    case 1: GATHER(uint8_t)
    case 4: GATHER(uint32_t)
    case 8: GATHER(uint64_t)
#undef GATHER
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
    if (pq_grow((void **)&c->lens, &c->lens_cap, (size_t)*count + 1, sizeof *c->lens)) return "out of memory";
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

const char *pq_decode_values(chunk_ctx *c, ef_pq_column_data *d, int enc, int64_t base,
                                 const uint8_t *p, size_t n, int64_t count) {
    int t = d->type;
    switch (enc) {
    case EF_PQ_ENC_PLAIN: return pq_decode_plain(d, base, p, n, count);
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
        size_t es = pq_elem_size(t);
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


// ---- nulls ---------------------------------------------------------------------------------

/* Spreads nn dense values at slots [base, base+nn) over [base, base+nv) by valid[]. */
void pq_spread(ef_pq_column_data *d, int64_t base, int64_t nv, int64_t nn) {
    const uint8_t *v = d->valid + base;
    int64_t k = nn;
    size_t es = pq_elem_size(d->type);
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
