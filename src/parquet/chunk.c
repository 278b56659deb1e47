/* Column chunk decoding: walks the pages of one chunk (dictionary page, data pages v1/v2,
 * index pages skipped), decompresses them, decodes definition levels and values, and
 * appends the rows to an ef_pq_column_data. Non-null values are decoded densely at the
 * chunk's slot range and then spread backwards in place over the null slots, so there is no
 * second value buffer. Every size and offset read from the file is checked before use.
 * Reference: parquet-format README.md (pages, levels) and Encodings.md. */
#include "parquet/chunk_internal.h"

static ef_status cfail(chunk_ctx *c, ef_status code, const char *why) {
    return EF_ERR(c->err, code, "%s: column '%s', row group %d, page at byte %lld: %s",
                  c->r->path, c->ci->name, c->rg, (long long)c->off, why);
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
    if (pq_grow((void **)&c->page, &c->page_cap, un - skip + 8, 1)) return cfail(c, EF_ERR_NOMEM, "out of memory");
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
    if (c->ci->type != EF_PQ_BOOLEAN && pq_elem_size(c->ci->type) && (uint64_t)nv * pq_elem_size(c->ci->type) > n)
        return cfail(c, EF_ERR_FORMAT, "dictionary page shorter than its values");
    if (!pq_elem_size(c->ci->type) && (uint64_t)nv > n + 1)
        return cfail(c, EF_ERR_FORMAT, "dictionary page shorter than its values");
    c->dict.type = c->ci->type;
    c->dict.type_length = c->ci->type_length;
    if (pq_slots_reserve(&c->dict, nv, 0)) return cfail(c, EF_ERR_NOMEM, "out of memory");
    const char *why = pq_decode_plain(&c->dict, 0, p, n, nv);
    if (why) return cfail(c, EF_ERR_FORMAT, why);
    c->dict.n = nv;
    c->has_dict = 1;
    if (c->i8) pq_dict_to_i8(c);
    return EF_OK;
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
            if (pq_grow((void **)&c->levels, &c->lev_cap, (size_t)nv + 1, 1)) return cfail(c, EF_ERR_NOMEM, "out of memory");
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
        const char *why = pq_i8_values(c, h->encoding, p, n, nv, nn, v);
        if (why) return cfail(c, !strcmp(why, "out of memory") ? EF_ERR_NOMEM : EF_ERR_FORMAT, why);
        c->i8_base += nv;
        return EF_OK;
    }
    const char *why = pq_decode_values(c, d, h->encoding, base, p, n, nn);
    if (why) {
        ef_status code = !strcmp(why, "out of memory") ? EF_ERR_NOMEM
                       : !strcmp(why, "unsupported value encoding") ? EF_ERR_UNSUPPORTED : EF_ERR_FORMAT;
        return cfail(c, code, why);
    }
    if (nn < nv) {
        pq_spread(d, base, nv, nn);
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
    if (pq_slots_reserve(out, out->n + want, c.ci->max_def > 0))
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
