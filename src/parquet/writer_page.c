/* Parquet writer: encoding of one column chunk into pages. Gathers the present values,
 * computes statistics, tries a dictionary (PLAIN dictionary page + RLE_DICTIONARY indices),
 * falls back to PLAIN, writes definition levels (RLE/bit-packed hybrid with the 4-byte
 * length prefix of data page v1), compresses each page body and prefixes its Thrift
 * PageHeader. Reference: apache/parquet-format Encodings.md, README.md (data pages). */
#include <math.h>
#include <string.h>
#include <snappy-c.h>
#include <zstd.h>
#include "base/ef_internal.h"
#include "parquet/writer_internal.h"

#define DICT_MAX_ENTRIES 65536
#define DICT_MAX_BYTES (1u << 20)

typedef struct str_ref {
    const char *p;
    uint32_t len;
} str_ref;

/* The present (non-null) values of a chunk, contiguous: fixed-width types as their plain
 * little-endian bytes (INT8 widened to int32), strings as references. */
typedef struct gathered {
    size_t n;          /* present values */
    size_t es;         /* element size in vals (fixed-width types) */
    uint8_t *vals;
    str_ref *strs;
    uint8_t *def;      /* per row 0/1 (nullable columns), else NULL */
} gathered;

int ef_pqw_physical_type(ef_pqw_type t) {
    switch (t) {
    case EF_PQW_INT8:
    case EF_PQW_INT32: return EF_PQW_T_INT32;
    case EF_PQW_INT64: return EF_PQW_T_INT64;
    case EF_PQW_FLOAT: return EF_PQW_T_FLOAT;
    case EF_PQW_DOUBLE: return EF_PQW_T_DOUBLE;
    case EF_PQW_STRING: return EF_PQW_T_BYTE_ARRAY;
    }
    return -1;
}

void ef_pqw_chunk_meta_free(ef_pqw_chunk_meta *m) {
    ef_free(m->min_str);
    ef_free(m->max_str);
    m->min_str = m->max_str = NULL;
}

// ---- RLE / bit-packed hybrid ----------------------------------------------------------

static void put_bitpacked(ef_pqw_buf *out, const uint32_t *v, size_t cnt, int bw) {
    /* cnt values, zero-padded to whole groups of 8; at most 63 groups per run header */
    size_t done = 0;
    while (done < cnt) {
        size_t groups = (cnt - done + 7) / 8;
        if (groups > 63) groups = 63;
        ef_pqw_buf_uvarint(out, (uint64_t)groups << 1 | 1);
        uint64_t acc = 0;
        int nbits = 0;
        for (size_t i = 0; i < groups * 8; i++) {
            uint64_t x = done + i < cnt ? v[done + i] : 0;
            acc |= x << nbits;
            nbits += bw;
            while (nbits >= 8) {
                ef_pqw_buf_byte(out, (uint8_t)acc);
                acc >>= 8;
                nbits -= 8;
            }
        }
        /* groups*8*bw is a multiple of 8 bits: nothing is left in acc */
        done += groups * 8;
    }
}

static void put_rle_run(ef_pqw_buf *out, uint32_t value, size_t count, int bw) {
    ef_pqw_buf_uvarint(out, (uint64_t)count << 1);
    for (int b = 0; b < (bw + 7) / 8; b++) ef_pqw_buf_byte(out, (uint8_t)(value >> (8 * b)));
}

void ef_pqw_rle_hybrid(ef_pqw_buf *out, const uint32_t *v, size_t n, int bw) {
    size_t i = 0, lit = 0;   /* literals pending in [lit, i) */
    while (i < n) {
        size_t run = 1;
        while (i + run < n && v[i + run] == v[i]) run++;
        size_t k = (8 - (i - lit) % 8) % 8; /* values the literals need to end on a group */
        if (run >= k + 8) {
            i += k;
            if (i > lit) put_bitpacked(out, v + lit, i - lit, bw);
            put_rle_run(out, v[i], run - k, bw);
            i += run - k;
            lit = i;
        } else {
            i += run;
        }
    }
    if (i > lit) put_bitpacked(out, v + lit, i - lit, bw);
}

static int bit_width(uint32_t max_value) {
    int bw = 1;
    while (bw < 32 && (max_value >> bw)) bw++;
    return bw;
}

// ---- gathering and statistics ---------------------------------------------------------

static size_t plain_size(ef_pqw_type t) {
    return (t == EF_PQW_INT64 || t == EF_PQW_DOUBLE) ? 8 : 4;
}

static ef_status gather(const ef_pqw_column *col, size_t nrows, const ef_pqw_data *d,
                        gathered *g, ef_error *err) {
    memset(g, 0, sizeof *g);
    size_t stride = d->stride ? d->stride : 1;
    if (col->nullable) {
        g->def = ef_malloc(nrows ? nrows : 1);
        if (!g->def) return EF_ERR(err, EF_ERR_NOMEM, "column '%s': out of memory", col->name);
    }
    size_t present = 0;
    for (size_t r = 0; r < nrows; r++) {
        int ok = d->valid ? d->valid[r] != 0 : 1;
        if (!ok && !col->nullable)
            return EF_ERR(err, EF_ERR_INVALID, "column '%s' is REQUIRED but row %zu is null",
                          col->name, r);
        if (g->def) g->def[r] = (uint8_t)ok;
        present += (size_t)ok;
    }
    EF_CHECK(present == 0 || d->values, err, EF_ERR_INVALID, "column '%s': values is NULL",
             col->name);
    g->n = present;
    if (col->type == EF_PQW_STRING) {
        g->strs = ef_malloc((present ? present : 1) * sizeof *g->strs);
        if (!g->strs) return EF_ERR(err, EF_ERR_NOMEM, "column '%s': out of memory", col->name);
        const char *const *sv = d->values;
        size_t k = 0;
        for (size_t r = 0; r < nrows; r++) {
            if (g->def && !g->def[r]) continue;
            const char *s = sv[r * stride];
            EF_CHECK(s, err, EF_ERR_INVALID, "column '%s': NULL string at row %zu", col->name, r);
            size_t len = strlen(s);
            EF_CHECK(len <= UINT32_MAX, err, EF_ERR_INVALID, "column '%s': string too long",
                     col->name);
            g->strs[k].p = s;
            g->strs[k++].len = (uint32_t)len;
        }
        return EF_OK;
    }
    g->es = plain_size(col->type);
    g->vals = ef_malloc((present ? present : 1) * g->es);
    if (!g->vals) return EF_ERR(err, EF_ERR_NOMEM, "column '%s': out of memory", col->name);
    size_t in_es = col->type == EF_PQW_INT8 ? 1 : g->es;
    const uint8_t *src = d->values;
    size_t k = 0;
    for (size_t r = 0; r < nrows; r++) {
        if (g->def && !g->def[r]) continue;
        const uint8_t *p = src + r * stride * in_es;
        if (col->type == EF_PQW_INT8) {
            int32_t x = (int8_t)*p;
            memcpy(g->vals + k * 4, &x, 4);
        } else {
            memcpy(g->vals + k * g->es, p, g->es);
        }
        k++;
    }
    return EF_OK;
}

static void gathered_free(gathered *g) {
    ef_free(g->vals);
    ef_free(g->strs);
    ef_free(g->def);
}

/* Sets the statistics of m from the present values; NaN is skipped, and a zero min/max is
 * written as -0.0/+0.0 as the format asks for floating point. */
static ef_status stats(ef_pqw_type t, const gathered *g, ef_pqw_chunk_meta *m, ef_error *err) {
    m->has_minmax = 0;
    if (t == EF_PQW_STRING) {
        size_t imin = 0, imax = 0;
        if (!g->n) return EF_OK;
        for (size_t i = 1; i < g->n; i++) {
            const str_ref *a = &g->strs[i];
            const str_ref *lo = &g->strs[imin], *hi = &g->strs[imax];
            int c = memcmp(a->p, lo->p, EF_MIN(a->len, lo->len));
            if (c < 0 || (c == 0 && a->len < lo->len)) imin = i;
            c = memcmp(a->p, hi->p, EF_MIN(a->len, hi->len));
            if (c > 0 || (c == 0 && a->len > hi->len)) imax = i;
        }
        m->min_len = g->strs[imin].len;
        m->max_len = g->strs[imax].len;
        m->min_str = ef_malloc(m->min_len + 1);
        m->max_str = ef_malloc(m->max_len + 1);
        if (!m->min_str || !m->max_str) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        memcpy(m->min_str, g->strs[imin].p, m->min_len);
        memcpy(m->max_str, g->strs[imax].p, m->max_len);
        m->has_minmax = 1;
        return EF_OK;
    }
    int found = 0;
    if (t == EF_PQW_INT8 || t == EF_PQW_INT32) {
        int32_t lo = 0, hi = 0;
        for (size_t i = 0; i < g->n; i++) {
            int32_t x;
            memcpy(&x, g->vals + 4 * i, 4);
            if (!found || x < lo) lo = x;
            if (!found || x > hi) hi = x;
            found = 1;
        }
        memcpy(m->min, &lo, 4);
        memcpy(m->max, &hi, 4);
    } else if (t == EF_PQW_INT64) {
        int64_t lo = 0, hi = 0;
        for (size_t i = 0; i < g->n; i++) {
            int64_t x;
            memcpy(&x, g->vals + 8 * i, 8);
            if (!found || x < lo) lo = x;
            if (!found || x > hi) hi = x;
            found = 1;
        }
        memcpy(m->min, &lo, 8);
        memcpy(m->max, &hi, 8);
    } else {
        double lo = 0, hi = 0;
        for (size_t i = 0; i < g->n; i++) {
            double x;
            if (t == EF_PQW_FLOAT) {
                float f;
                memcpy(&f, g->vals + 4 * i, 4);
                x = f;
            } else {
                memcpy(&x, g->vals + 8 * i, 8);
            }
            if (isnan(x)) continue;
            if (!found || x < lo) lo = x;
            if (!found || x > hi) hi = x;
            found = 1;
        }
        if (lo == 0) lo = -0.0;
        if (hi == 0) hi = 0.0;
        if (t == EF_PQW_FLOAT) {
            float flo = (float)lo, fhi = (float)hi;
            memcpy(m->min, &flo, 4);
            memcpy(m->max, &fhi, 4);
        } else {
            memcpy(m->min, &lo, 8);
            memcpy(m->max, &hi, 8);
        }
    }
    m->has_minmax = found;
    m->min_len = m->max_len = plain_size(t);
    return EF_OK;
}

// ---- dictionary -----------------------------------------------------------------------

static uint64_t hash_bytes(const void *p, size_t n) {
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return ef_hash64(h, n);
}

/* INT8 values (widened to int32 in vals): a direct 256-entry table. */
static ef_status build_dict_int8(const gathered *g, uint32_t **idx_out, uint32_t **entries_out,
                                 size_t *ndict, ef_error *err) {
    uint32_t *idx = ef_malloc(g->n * sizeof *idx);
    uint32_t *entries = ef_malloc(256 * sizeof *entries);
    if (!idx || !entries) {
        ef_free(idx);
        ef_free(entries);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory building a dictionary");
    }
    int32_t slot[256];
    for (int i = 0; i < 256; i++) slot[i] = -1;
    size_t n_entries = 0;
    for (size_t i = 0; i < g->n; i++) {
        int32_t x;
        memcpy(&x, g->vals + 4 * i, 4);
        int k = (x + 128) & 255;
        if (slot[k] < 0) {
            slot[k] = (int32_t)n_entries;
            entries[n_entries++] = (uint32_t)i;
        }
        idx[i] = (uint32_t)slot[k];
    }
    *ndict = n_entries;
    *idx_out = idx;
    *entries_out = entries;
    return EF_OK;
}

/* Builds the dictionary (entries in first-seen order) and each value's index.
 * Returns EF_OK with *ndict = 0 when a dictionary is not worth it or too large. */
static ef_status build_dict(ef_pqw_type t, const gathered *g, uint32_t **idx_out,
                            uint32_t **entries_out, size_t *ndict, ef_error *err) {
    *ndict = 0;
    *idx_out = *entries_out = NULL;
    if (!g->n) return EF_OK;
    if (t == EF_PQW_INT8) return build_dict_int8(g, idx_out, entries_out, ndict, err);
    size_t cap = 1024;
    uint32_t *table = ef_malloc(cap * sizeof *table);   /* entry index + 1; 0 empty */
    uint32_t *entries = ef_malloc(DICT_MAX_ENTRIES * sizeof *entries);  /* first value index */
    uint32_t *idx = ef_malloc(g->n * sizeof *idx);
    if (!table || !entries || !idx) {
        ef_free(table);
        ef_free(entries);
        ef_free(idx);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory building a dictionary");
    }
    memset(table, 0, cap * sizeof *table);
    size_t n_entries = 0, bytes = 0;
    int give_up = 0;
    for (size_t i = 0; i < g->n && !give_up; i++) {
        const void *p = t == EF_PQW_STRING ? (const void *)g->strs[i].p : g->vals + i * g->es;
        size_t len = t == EF_PQW_STRING ? g->strs[i].len : g->es;
        uint64_t h = hash_bytes(p, len);
        size_t slot = (size_t)h & (cap - 1);
        for (;;) {
            uint32_t e = table[slot];
            if (!e) break;
            size_t j = entries[e - 1];
            const void *q = t == EF_PQW_STRING ? (const void *)g->strs[j].p : g->vals + j * g->es;
            size_t qlen = t == EF_PQW_STRING ? g->strs[j].len : g->es;
            if (qlen == len && !memcmp(p, q, len)) break;
            slot = (slot + 1) & (cap - 1);
        }
        if (table[slot]) {
            idx[i] = table[slot] - 1;
            continue;
        }
        if (n_entries == DICT_MAX_ENTRIES || bytes + len + 4 > DICT_MAX_BYTES) {
            give_up = 1;
            break;
        }
        entries[n_entries] = (uint32_t)i;
        table[slot] = (uint32_t)++n_entries;
        idx[i] = (uint32_t)(n_entries - 1);
        bytes += len + (t == EF_PQW_STRING ? 4 : 0);
        if (n_entries * 2 > cap) {   /* grow and rehash */
            size_t ncap = cap * 2;
            uint32_t *nt = ef_calloc(ncap, sizeof *nt);
            if (!nt) {
                give_up = 1;
                break;
            }
            for (size_t e = 0; e < n_entries; e++) {
                size_t j = entries[e];
                const void *q = t == EF_PQW_STRING ? (const void *)g->strs[j].p : g->vals + j * g->es;
                size_t qlen = t == EF_PQW_STRING ? g->strs[j].len : g->es;
                size_t s = (size_t)hash_bytes(q, qlen) & (ncap - 1);
                while (nt[s]) s = (s + 1) & (ncap - 1);
                nt[s] = (uint32_t)(e + 1);
            }
            ef_free(table);
            table = nt;
            cap = ncap;
        }
    }
    ef_free(table);
    /* unique-ish columns (ids) gain nothing from a dictionary */
    if (give_up || (g->n >= 64 && n_entries * 2 > g->n)) {
        ef_free(entries);
        ef_free(idx);
        return EF_OK;
    }
    *ndict = n_entries;
    *idx_out = idx;
    *entries_out = entries;
    return EF_OK;
}

// ---- pages ----------------------------------------------------------------------------

static void plain_value(ef_pqw_buf *b, ef_pqw_type t, const gathered *g, size_t i) {
    if (t == EF_PQW_STRING) {
        uint32_t len = g->strs[i].len;
        uint8_t le[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
        ef_pqw_buf_put(b, le, 4);
        ef_pqw_buf_put(b, g->strs[i].p, len);
    } else {
        ef_pqw_buf_put(b, g->vals + i * g->es, g->es);
    }
}

/* Compresses body and appends header + page to out. type: 0 data page, 2 dictionary page. */
static ef_status emit_page(ef_pqw_buf *out, const ef_pqw_column *col, int zstd_level, int type,
                           const ef_pqw_buf *body, int32_t num_values, int encoding,
                           ef_pqw_chunk_meta *m, ef_error *err) {
    EF_CHECK(body->len <= INT32_MAX, err, EF_ERR_INVALID,
             "column '%s': page of %zu bytes exceeds parquet's 2 GiB limit", col->name, body->len);
    ef_pqw_buf comp = {0};
    const uint8_t *payload = body->data;
    size_t plen = body->len;
    if (col->codec == EF_PQW_SNAPPY) {
        size_t cap = snappy_max_compressed_length(body->len);
        if (!ef_pqw_buf_reserve(&comp, cap)) goto nomem;
        if (snappy_compress((const char *)body->data, body->len, (char *)comp.data, &cap) != SNAPPY_OK) {
            ef_pqw_buf_free(&comp);
            return EF_ERR(err, EF_ERR_INTERNAL, "column '%s': snappy compression failed", col->name);
        }
        payload = comp.data;
        plen = cap;
    } else if (col->codec == EF_PQW_ZSTD) {
        size_t cap = ZSTD_compressBound(body->len);
        if (!ef_pqw_buf_reserve(&comp, cap)) goto nomem;
        size_t r = ZSTD_compress(comp.data, cap, body->data, body->len, zstd_level);
        if (ZSTD_isError(r)) {
            ef_pqw_buf_free(&comp);
            return EF_ERR(err, EF_ERR_INTERNAL, "column '%s': zstd: %s", col->name, ZSTD_getErrorName(r));
        }
        payload = comp.data;
        plen = r;
    }
    ef_pqw_buf hdr = {0};
    ef_tc_writer tw;
    ef_tc_init(&tw, &hdr);
    ef_tc_struct_begin(&tw);
    ef_tc_field_i32(&tw, 1, type);
    ef_tc_field_i32(&tw, 2, (int32_t)body->len);
    ef_tc_field_i32(&tw, 3, (int32_t)plen);
    if (type == 0) {
        ef_tc_field_struct(&tw, 5);           /* DataPageHeader */
        ef_tc_field_i32(&tw, 1, num_values);
        ef_tc_field_i32(&tw, 2, encoding);
        ef_tc_field_i32(&tw, 3, EF_PQW_ENC_RLE);
        ef_tc_field_i32(&tw, 4, EF_PQW_ENC_RLE);
        ef_tc_struct_end(&tw);
    } else {
        ef_tc_field_struct(&tw, 7);           /* DictionaryPageHeader */
        ef_tc_field_i32(&tw, 1, num_values);
        ef_tc_field_i32(&tw, 2, EF_PQW_ENC_PLAIN);
        ef_tc_field_bool(&tw, 3, 0);
        ef_tc_struct_end(&tw);
    }
    ef_tc_struct_end(&tw);
    ef_pqw_buf_put(out, hdr.data, hdr.len);
    ef_pqw_buf_put(out, payload, plen);
    int bad = hdr.oom || out->oom;
    m->total_uncompressed += (int64_t)(hdr.len + body->len);
    m->total_compressed += (int64_t)(hdr.len + plen);
    ef_pqw_buf_free(&hdr);
    ef_pqw_buf_free(&comp);
    if (bad) return EF_ERR(err, EF_ERR_NOMEM, "column '%s': out of memory", col->name);
    return EF_OK;
nomem:
    ef_pqw_buf_free(&comp);
    return EF_ERR(err, EF_ERR_NOMEM, "column '%s': out of memory", col->name);
}

ef_status ef_pqw_encode_chunk(const ef_pqw_column *col, size_t page_bytes, int zstd_level,
                              size_t nrows, const ef_pqw_data *d, ef_pqw_buf *out,
                              ef_pqw_chunk_meta *m, ef_error *err) {
    memset(m, 0, sizeof *m);
    m->dict_page_offset = -1;
    m->num_values = (int64_t)nrows;
    gathered g;
    uint32_t *idx = NULL, *entries = NULL, *levels = NULL;
    ef_pqw_buf body = {0};
    size_t ndict = 0;
    ef_status st = gather(col, nrows, d, &g, err);
    if (st) goto done;
    m->null_count = (int64_t)(nrows - g.n);
    if ((st = stats(col->type, &g, m, err))) goto done;
    if (col->dictionary && (st = build_dict(col->type, &g, &idx, &entries, &ndict, err))) goto done;
    size_t base = out->len;

    if (ndict) {
        for (size_t e = 0; e < ndict; e++) plain_value(&body, col->type, &g, entries[e]);
        m->dict_page_offset = 0;
        m->used_dict = 1;
        if ((st = emit_page(out, col, zstd_level, 2, &body, (int32_t)ndict, EF_PQW_ENC_PLAIN, m, err)))
            goto done;
    }
    m->data_page_offset = (int64_t)(out->len - base);
    int idx_bw = ndict ? bit_width((uint32_t)(ndict - 1)) : 0;
    size_t per_value = ndict ? (size_t)(idx_bw + 7) / 8 + 1 : (g.es ? g.es : 16);
    if (col->type == EF_PQW_STRING && !ndict && g.n) {
        size_t total = 0;
        for (size_t i = 0; i < g.n; i++) total += g.strs[i].len + 4;
        per_value = total / g.n + 1;
    }
    size_t rows_per_page = page_bytes / per_value;
    if (rows_per_page < 1024) rows_per_page = 1024;
    if (rows_per_page > 1u << 24) rows_per_page = 1u << 24;
    levels = ef_malloc((EF_MIN(rows_per_page, nrows) + 1) * sizeof *levels);
    if (!levels) {
        st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t vi = 0;   /* next present value */
    for (size_t r0 = 0; r0 < nrows || (nrows == 0 && r0 == 0); r0 += rows_per_page) {
        size_t r1 = EF_MIN(nrows, r0 + rows_per_page);
        body.len = 0;
        size_t nv = r1 - r0;
        if (g.def) {
            for (size_t r = r0; r < r1; r++) levels[r - r0] = g.def[r];
            ef_pqw_buf_put(&body, "\0\0\0\0", 4);
            size_t at = body.len;
            ef_pqw_rle_hybrid(&body, levels, r1 - r0, 1);
            if (!body.oom) {
                uint32_t len = (uint32_t)(body.len - at);
                uint8_t le[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
                memcpy(body.data + at - 4, le, 4);
            }
            nv = 0;
            for (size_t r = r0; r < r1; r++) nv += g.def[r];
        }
        if (ndict) {
            ef_pqw_buf_byte(&body, (uint8_t)idx_bw);
            ef_pqw_rle_hybrid(&body, idx + vi, nv, idx_bw);
        } else {
            for (size_t i = vi; i < vi + nv; i++) plain_value(&body, col->type, &g, i);
        }
        vi += nv;
        if (body.oom) {
            st = EF_ERR(err, EF_ERR_NOMEM, "column '%s': out of memory", col->name);
            goto done;
        }
        st = emit_page(out, col, zstd_level, 0, &body, (int32_t)(r1 - r0),
                       ndict ? EF_PQW_ENC_RLE_DICTIONARY : EF_PQW_ENC_PLAIN, m, err);
        if (st) goto done;
        if (nrows == 0) break;
    }
done:
    gathered_free(&g);
    ef_free(idx);
    ef_free(entries);
    ef_free(levels);
    ef_pqw_buf_free(&body);
    if (st) ef_pqw_chunk_meta_free(m);
    return st;
}
