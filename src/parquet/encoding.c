/* Parquet value decoders that are independent of the physical type: the RLE/bit-packed
 * hybrid (levels and dictionary indices), DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT.
 * Bit unpacking works on groups of 8 values (8 values of w bits are exactly w bytes) with
 * 64-bit little-endian loads; a group near the end of the buffer is copied into a padded
 * local buffer first, so no read ever leaves [p, p+n). Reference: parquet-format Encodings.md.
 * Assumes a little-endian host (x86-64, aarch64). */
#include "parquet/pq_internal.h"

// ---- varints -------------------------------------------------------------------------------

static int uvarint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n) return -1;
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int64_t unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

// ---- bit unpacking ---------------------------------------------------------------------------

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* 8 values of w <= 32 bits from g (w bytes; 8 more bytes readable when safe != 0). */
static inline void unpack8_u32(const uint8_t *g, size_t avail, int w, uint32_t *out) {
    uint8_t buf[48];
    const uint8_t *s = g;
    if (avail < (size_t)w + 8) {
        size_t c = EF_MIN(avail, (size_t)w);
        memset(buf, 0, sizeof buf);
        memcpy(buf, g, c);
        s = buf;
    }
    uint64_t mask = w == 32 ? 0xffffffffu : (((uint64_t)1 << w) - 1);
    if (w <= 8) {   /* the whole group is in one 64-bit word */
        uint64_t x = load64(s);
        for (int i = 0; i < 8; i++) out[i] = (uint32_t)((x >> (i * w)) & mask);
        return;
    }
    for (int i = 0; i < 8; i++) {
        int bit = i * w;
        out[i] = (uint32_t)((load64(s + (bit >> 3)) >> (bit & 7)) & mask);
    }
}

/* 8 values of w <= 64 bits. */
static inline void unpack8_u64(const uint8_t *g, size_t avail, int w, uint64_t *out) {
    uint8_t buf[80];
    size_t c = EF_MIN(avail, (size_t)w);
    memset(buf, 0, sizeof buf);
    memcpy(buf, g, c);
    uint64_t mask = w == 64 ? ~(uint64_t)0 : (((uint64_t)1 << w) - 1);
    for (int i = 0; i < 8; i++) {
        int bit = i * w, b = bit >> 3, sh = bit & 7;
        uint64_t v = load64(buf + b) >> sh;
        if (sh && w + sh > 64) v |= (uint64_t)buf[b + 8] << (64 - sh);
        out[i] = v & mask;
    }
}

// ---- RLE / bit-packed hybrid -------------------------------------------------------------

/* One run header: returns 0 and fills either (is_packed, groups) or (run, value). */
typedef struct rle_run {
    int packed;
    uint64_t len;     /* values in the run (bit-packed: groups * 8) */
    uint32_t value;   /* RLE runs */
    size_t data;      /* offset of a bit-packed run's bytes */
} rle_run;

static const char *rle_next(const uint8_t *p, size_t n, size_t *pos, int bit_width, rle_run *run) {
    uint64_t h;
    if (uvarint(p, n, pos, &h)) return "truncated RLE run header";
    if (h & 1) {
        uint64_t groups = h >> 1;
        if (groups > (uint64_t)1 << 40) return "bit-packed run too long";
        run->packed = 1;
        run->len = groups * 8;
        run->data = *pos;
        uint64_t bytes = groups * (uint64_t)bit_width;
        *pos = bytes > n - *pos ? n : *pos + (size_t)bytes;
        return NULL;
    }
    size_t vbytes = ((size_t)bit_width + 7) / 8;
    if (n - *pos < vbytes) return "truncated RLE run value";
    uint32_t v = 0;
    for (size_t b = 0; b < vbytes; b++) v |= (uint32_t)p[*pos + b] << (8 * b);
    *pos += vbytes;
    if (bit_width < 32 && (v >> bit_width)) return "RLE run value wider than the bit width";
    run->packed = 0;
    run->len = h >> 1;
    run->value = v;
    return NULL;
}

const char *pq_rle_decode_u32_or(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                                 int64_t count, uint32_t *or_all) {
    uint32_t acc = 0;
    if (bit_width < 0 || bit_width > 32) return "bit width out of range";
    if (bit_width == 0) {
        memset(out, 0, (size_t)count * sizeof *out);
        if (or_all) *or_all = 0;
        return NULL;
    }
    size_t pos = 0;
    int64_t i = 0;
    while (i < count) {
        rle_run run;
        const char *why = rle_next(p, n, &pos, bit_width, &run);
        if (why) return why;
        uint64_t take = EF_MIN(run.len, (uint64_t)(count - i));
        if (!run.packed) {
            for (uint64_t k = 0; k < take; k++) out[i + (int64_t)k] = run.value;
            if (take) acc |= run.value;
            i += (int64_t)take;
            continue;
        }
        size_t avail = n - run.data;
        if (take > (uint64_t)avail * 8 / (uint64_t)bit_width) return "bit-packed run truncated";
        uint64_t k = 0;
        for (; k + 8 <= take; k += 8) {
            size_t off = run.data + (size_t)(k / 8) * (size_t)bit_width;
            uint32_t *o = out + i + (int64_t)k;
            unpack8_u32(p + off, n - off, bit_width, o);
            acc |= o[0] | o[1] | o[2] | o[3] | o[4] | o[5] | o[6] | o[7];
        }
        if (k < take) {
            uint32_t tmp[8];
            size_t off = run.data + (size_t)(k / 8) * (size_t)bit_width;
            unpack8_u32(p + off, n - off, bit_width, tmp);
            for (uint64_t j = 0; k + j < take; j++) {
                out[i + (int64_t)(k + j)] = tmp[j];
                acc |= tmp[j];
            }
        }
        i += (int64_t)take;
    }
    if (or_all) *or_all = acc;
    return NULL;
}

const char *pq_rle_decode_u32(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                              int64_t count) {
    return pq_rle_decode_u32_or(p, n, bit_width, out, count, NULL);
}

const char *pq_rle_dict_i8(const uint8_t *p, size_t n, int bit_width, const int8_t *dict,
                           uint32_t dn, int8_t *out, int64_t count) {
    if (bit_width < 0 || bit_width > 32) return "bit width out of range";
    if (dn == 0) return count ? "dictionary index out of range" : NULL;
    uint32_t bad = 0;
    if (bit_width == 0) {
        memset(out, dict[0], (size_t)count);
        return NULL;
    }
    size_t pos = 0;
    int64_t i = 0;
    while (i < count) {
        rle_run run;
        const char *why = rle_next(p, n, &pos, bit_width, &run);
        if (why) return why;
        uint64_t take = EF_MIN(run.len, (uint64_t)(count - i));
        if (!run.packed) {
            if (take && run.value >= dn) return "dictionary index out of range";
            memset(out + i, dict[run.value < dn ? run.value : 0], (size_t)take);
            i += (int64_t)take;
            continue;
        }
        size_t avail = n - run.data;
        if (take > (uint64_t)avail * 8 / (uint64_t)bit_width) return "bit-packed run truncated";
        uint32_t tmp[8];
        uint64_t k = 0;
        for (; k + 8 <= take; k += 8) {
            size_t off = run.data + (size_t)(k / 8) * (size_t)bit_width;
            unpack8_u32(p + off, n - off, bit_width, tmp);
            int8_t *o = out + i + (int64_t)k;
            for (int j = 0; j < 8; j++) {
                uint32_t x = tmp[j];
                bad |= x >= dn;
                o[j] = dict[x < dn ? x : 0];
            }
        }
        if (k < take) {
            size_t off = run.data + (size_t)(k / 8) * (size_t)bit_width;
            unpack8_u32(p + off, n - off, bit_width, tmp);
            for (uint64_t j = 0; k + j < take; j++) {
                uint32_t x = tmp[j];
                bad |= x >= dn;
                out[i + (int64_t)(k + j)] = dict[x < dn ? x : 0];
            }
        }
        i += (int64_t)take;
    }
    return bad ? "dictionary index out of range" : NULL;
}

const char *pq_rle_decode_u8(const uint8_t *p, size_t n, int bit_width, uint8_t *out,
                             int64_t count, uint64_t *sum_out) {
    uint64_t sum = 0;
    if (sum_out) *sum_out = 0;
    if (bit_width < 0 || bit_width > 8) return "level bit width above 8";
    if (bit_width == 0) {
        memset(out, 0, (size_t)count);
        return NULL;
    }
    size_t pos = 0;
    int64_t i = 0;
    while (i < count) {
        rle_run run;
        const char *why = rle_next(p, n, &pos, bit_width, &run);
        if (why) return why;
        uint64_t take = EF_MIN(run.len, (uint64_t)(count - i));
        if (!run.packed) {
            memset(out + i, (int)run.value, (size_t)take);
            sum += take * run.value;
            i += (int64_t)take;
            continue;
        }
        size_t avail = n - run.data;
        if (take > (uint64_t)avail * 8 / (uint64_t)bit_width) return "bit-packed run truncated";
        uint32_t tmp[8];
        for (uint64_t k = 0; k < take; k += 8) {
            size_t off = run.data + (size_t)(k / 8) * (size_t)bit_width;
            unpack8_u32(p + off, n - off, bit_width, tmp);
            uint64_t m = EF_MIN(take - k, 8);
            for (uint64_t j = 0; j < m; j++) {
                out[i + (int64_t)(k + j)] = (uint8_t)tmp[j];
                sum += tmp[j];
            }
        }
        i += (int64_t)take;
    }
    if (sum_out) *sum_out = sum;
    return NULL;
}

// ---- DELTA_BINARY_PACKED ------------------------------------------------------------------

typedef struct delta_hdr {
    uint64_t block_size, minis, total;
    int64_t first;
    size_t pos;
} delta_hdr;

static const char *delta_header(const uint8_t *p, size_t n, delta_hdr *h) {
    uint64_t first;
    h->pos = 0;
    if (uvarint(p, n, &h->pos, &h->block_size) || uvarint(p, n, &h->pos, &h->minis) ||
        uvarint(p, n, &h->pos, &h->total) || uvarint(p, n, &h->pos, &first))
        return "truncated DELTA_BINARY_PACKED header";
    h->first = unzigzag(first);
    if (h->block_size == 0 || h->block_size % 128 || h->block_size > (1u << 20))
        return "DELTA_BINARY_PACKED block size is not a multiple of 128";
    if (h->minis == 0 || h->block_size % h->minis || (h->block_size / h->minis) % 32)
        return "DELTA_BINARY_PACKED miniblock count does not divide the block";
    if (h->total > ((uint64_t)1 << 40)) return "DELTA_BINARY_PACKED value count too large";
    return NULL;
}

const char *pq_delta_count(const uint8_t *p, size_t n, int64_t *count) {
    delta_hdr h;
    const char *why = delta_header(p, n, &h);
    if (why) return why;
    *count = (int64_t)h.total;
    return NULL;
}

/* Decodes into 64-bit values (wrapping arithmetic); out32/out64 chooses the store. */
static const char *delta_decode(const uint8_t *p, size_t n, int32_t *out32, int64_t *out64,
                                int64_t count, size_t *used) {
    delta_hdr h;
    const char *why = delta_header(p, n, &h);
    if (why) return why;
    if ((int64_t)h.total < count) return "DELTA_BINARY_PACKED holds fewer values than the page";
    size_t pos = h.pos;
    uint64_t per_mini = h.block_size / h.minis;
    uint64_t total = h.total, done = 0;
    uint64_t prev = (uint64_t)h.first;
    if (total > 0) {
        if (count > 0) {
            if (out32) out32[0] = (int32_t)(uint32_t)prev;
            else out64[0] = (int64_t)prev;
        }
        done = 1;
    }
    uint64_t vals[8];
    uint8_t widths[256];
    while (done < total) {
        uint64_t md;
        if (uvarint(p, n, &pos, &md)) return "truncated DELTA_BINARY_PACKED block header";
        uint64_t min_delta = (uint64_t)unzigzag(md);
        if (h.minis > sizeof widths) return "too many DELTA_BINARY_PACKED miniblocks";
        if (n - pos < h.minis) return "truncated DELTA_BINARY_PACKED bit widths";
        memcpy(widths, p + pos, h.minis);
        pos += h.minis;
        for (uint64_t m = 0; m < h.minis && done < total; m++) {
            int w = widths[m];
            if (w > 64) return "DELTA_BINARY_PACKED bit width above 64";
            uint64_t left = total - done;
            uint64_t nv = left < per_mini ? left : per_mini;
            size_t full = (size_t)(per_mini * (uint64_t)w / 8);
            size_t need = (size_t)((nv * (uint64_t)w + 7) / 8);
            if (n - pos < need) return "truncated DELTA_BINARY_PACKED miniblock";
            for (uint64_t k = 0; k < nv; k += 8) {
                size_t off = pos + (size_t)(k / 8) * (size_t)w;
                if (w) unpack8_u64(p + off, n - off, w, vals);
                else memset(vals, 0, sizeof vals);
                uint64_t m8 = nv - k < 8 ? nv - k : 8;
                for (uint64_t j = 0; j < m8; j++) {
                    prev = prev + min_delta + vals[j];
                    if ((int64_t)done < count) {
                        if (out32) out32[done] = (int32_t)(uint32_t)prev;
                        else out64[done] = (int64_t)prev;
                    }
                    done++;
                }
            }
            pos += EF_MIN(full, n - pos);
        }
    }
    *used = pos;
    return NULL;
}

const char *pq_delta_decode_i32(const uint8_t *p, size_t n, int32_t *out, int64_t count,
                                size_t *used) {
    return delta_decode(p, n, out, NULL, count, used);
}

const char *pq_delta_decode_i64(const uint8_t *p, size_t n, int64_t *out, int64_t count,
                                size_t *used) {
    return delta_decode(p, n, NULL, out, count, used);
}

// ---- BYTE_STREAM_SPLIT ---------------------------------------------------------------------

const char *pq_bss_decode(const uint8_t *p, size_t n, int width, uint8_t *out, int64_t count) {
    size_t need;
    if (!ef_mul_ok((size_t)width, (size_t)count, &need) || n < need)
        return "BYTE_STREAM_SPLIT data shorter than its values";
    for (int k = 0; k < width; k++) {
        const uint8_t *s = p + (size_t)k * (size_t)count;
        for (int64_t i = 0; i < count; i++) out[(size_t)i * (size_t)width + (size_t)k] = s[i];
    }
    return NULL;
}
