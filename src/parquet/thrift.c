/* Thrift compact protocol decoder (read side only), as used by the parquet footer and page
 * headers. Every read is bounded by the cursor; the first violation latches th->fail with a
 * reason and an offset, and all later reads return zeros, so callers check once per struct.
 * Reference: the Thrift compact protocol spec (thrift/doc/specs/thrift-compact-protocol.md). */
#include "parquet/pq_internal.h"

#define TH_MAX_DEPTH 32

void pq_th_init(pq_thrift *th, const uint8_t *p, size_t n, int64_t file_offset) {
    th->p = p;
    th->end = p + n;
    th->base = p;
    th->base_offset = file_offset;
    th->fail = 0;
    th->why = NULL;
    th->fail_offset = -1;
    th->depth = 0;
}

int64_t pq_th_offset(const pq_thrift *th) {
    return th->base_offset + (int64_t)(th->p - th->base);
}

void pq_th_error(pq_thrift *th, const char *why) {
    if (th->fail) return;
    th->fail = 1;
    th->why = why;
    th->fail_offset = pq_th_offset(th);
    th->p = th->end;   /* no further reads succeed */
}

// ---- primitives --------------------------------------------------------------------------

static uint64_t varint(pq_thrift *th) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (th->p >= th->end) {
            pq_th_error(th, "truncated varint");
            return 0;
        }
        uint8_t b = *th->p++;
        if (shift == 63 && (b & 0x7e)) {
            pq_th_error(th, "varint overflows 64 bits");
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    pq_th_error(th, "varint longer than 10 bytes");
    return 0;
}

static int64_t zigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pq_th_field(pq_thrift *th, int *last_id, int *id, int *type) {
    if (th->fail) return 0;
    if (th->p >= th->end) {
        pq_th_error(th, "truncated struct (no STOP field)");
        return 0;
    }
    uint8_t b = *th->p++;
    if (b == 0) return 0;
    int t = b & 0x0f, delta = b >> 4;
    if (delta) {
        *id = *last_id + delta;
    } else {
        int64_t v = zigzag(varint(th));
        if (v < -32768 || v > 32767) pq_th_error(th, "field id out of i16 range");
        *id = (int)v;
    }
    if (t < TH_TRUE || t > TH_STRUCT) {
        pq_th_error(th, "invalid field type");
        return 0;
    }
    *last_id = *id;
    *type = t;
    return !th->fail;
}

int64_t pq_th_int(pq_thrift *th, int type) {
    switch (type) {
    case TH_TRUE: return 1;
    case TH_FALSE: return 0;
    case TH_BYTE:
        if (th->p >= th->end) {
            pq_th_error(th, "truncated byte");
            return 0;
        }
        return (int8_t)*th->p++;
    case TH_I16:
    case TH_I32:
    case TH_I64: {
        int64_t v = zigzag(varint(th));
        if (type == TH_I16 && (v < -32768 || v > 32767)) pq_th_error(th, "i16 out of range");
        if (type == TH_I32 && (v < INT32_MIN || v > INT32_MAX)) pq_th_error(th, "i32 out of range");
        return th->fail ? 0 : v;
    }
    default:
        pq_th_error(th, "expected an integer field");
        return 0;
    }
}

int32_t pq_th_i32(pq_thrift *th, int type) {
    int64_t v = pq_th_int(th, type);
    if (v < INT32_MIN || v > INT32_MAX) {
        pq_th_error(th, "integer does not fit in i32");
        return 0;
    }
    return (int32_t)v;
}

const uint8_t *pq_th_binary(pq_thrift *th, uint32_t *len) {
    *len = 0;
    uint64_t n = varint(th);
    if (th->fail) return NULL;
    if (n > (uint64_t)(th->end - th->p)) {
        pq_th_error(th, "binary length runs past the end of the buffer");
        return NULL;
    }
    const uint8_t *s = th->p;
    th->p += n;
    *len = (uint32_t)n;
    return s;
}

char *pq_th_strdup(pq_thrift *th) {
    uint32_t n;
    const uint8_t *s = pq_th_binary(th, &n);
    if (th->fail) return NULL;
    char *c = ef_malloc((size_t)n + 1);
    if (!c) return NULL;
    if (n) memcpy(c, s, n);
    c[n] = 0;
    return c;
}

uint32_t pq_th_list(pq_thrift *th, int *elem_type) {
    *elem_type = 0;
    if (th->p >= th->end) {
        pq_th_error(th, "truncated list header");
        return 0;
    }
    uint8_t b = *th->p++;
    uint64_t n = b >> 4;
    if (n == 15) n = varint(th);
    int t = b & 0x0f;
    if (th->fail) return 0;
    if (t < TH_TRUE || t > TH_STRUCT) {
        pq_th_error(th, "invalid list element type");
        return 0;
    }
    /* every element takes at least one byte: a count beyond the bytes left is corrupt */
    if (n > (uint64_t)(th->end - th->p)) {
        pq_th_error(th, "list count exceeds the bytes left");
        return 0;
    }
    *elem_type = t;
    return (uint32_t)n;
}

int pq_th_list_bool(pq_thrift *th) {
    if (th->p >= th->end) {
        pq_th_error(th, "truncated bool");
        return 0;
    }
    return *th->p++ == 1;
}

void pq_th_struct_begin(pq_thrift *th) {
    if (++th->depth > TH_MAX_DEPTH) pq_th_error(th, "structs nested too deeply");
}

void pq_th_struct_end(pq_thrift *th) {
    th->depth--;
}

// ---- skipping unknown fields ---------------------------------------------------------------

static void skip_value(pq_thrift *th, int type, int in_list);

static void skip_struct(pq_thrift *th) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) skip_value(th, t, 0);
    pq_th_struct_end(th);
}

static void skip_value(pq_thrift *th, int type, int in_list) {
    if (th->fail) return;
    switch (type) {
    case TH_TRUE:
    case TH_FALSE:
        if (in_list) (void)pq_th_list_bool(th);
        break;
    case TH_BYTE:
    case TH_I16:
    case TH_I32:
    case TH_I64: (void)pq_th_int(th, type); break;
    case TH_DOUBLE:
        if (th->end - th->p < 8) pq_th_error(th, "truncated double");
        else th->p += 8;
        break;
    case TH_BINARY: {
        uint32_t n;
        (void)pq_th_binary(th, &n);
        break;
    }
    case TH_LIST:
    case TH_SET: {
        int et;
        pq_th_struct_begin(th);
        uint32_t n = pq_th_list(th, &et);
        for (uint32_t i = 0; i < n && !th->fail; i++) skip_value(th, et, 1);
        pq_th_struct_end(th);
        break;
    }
    case TH_MAP: {
        pq_th_struct_begin(th);
        uint64_t n = varint(th);
        if (n > (uint64_t)(th->end - th->p)) pq_th_error(th, "map count exceeds the bytes left");
        if (n && !th->fail) {
            if (th->p >= th->end) {
                pq_th_error(th, "truncated map header");
            } else {
                uint8_t kv = *th->p++;
                for (uint64_t i = 0; i < n && !th->fail; i++) {
                    skip_value(th, kv >> 4, 1);
                    skip_value(th, kv & 0x0f, 1);
                }
            }
        }
        pq_th_struct_end(th);
        break;
    }
    case TH_STRUCT: skip_struct(th); break;
    default: pq_th_error(th, "invalid type while skipping"); break;
    }
}

void pq_th_skip(pq_thrift *th, int type) {
    skip_value(th, type, 0);
}
