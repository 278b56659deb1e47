/* Thrift compact-protocol encoder: the subset parquet's metadata needs (structs, lists,
 * i8/i16/i32/i64, bool, binary). Field headers use the 4-bit id delta when the id grows by
 * 1..15 and the long form otherwise; integers are zigzag varints. The decoder is the
 * reader's (thrift.c); this file only writes.
 * Reference: Apache Thrift, "Thrift Compact protocol encoding" (doc/specs/thrift-compact-protocol.md). */
#include <string.h>
#include "base/ef_internal.h"
#include "parquet/writer_internal.h"

// ---- byte buffer --------------------------------------------------------------------

void ef_pqw_buf_free(ef_pqw_buf *b) {
    ef_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

int ef_pqw_buf_reserve(ef_pqw_buf *b, size_t extra) {
    if (b->oom) return 0;
    if (b->len + extra < b->len) { b->oom = 1; return 0; }
    if (b->len + extra <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        if (cap > SIZE_MAX / 2) { b->oom = 1; return 0; }
        cap *= 2;
    }
    uint8_t *p = ef_realloc(b->data, cap);
    if (!p) { b->oom = 1; return 0; }
    b->data = p;
    b->cap = cap;
    return 1;
}

void ef_pqw_buf_put(ef_pqw_buf *b, const void *p, size_t n) {
    if (!n || !ef_pqw_buf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ef_pqw_buf_byte(ef_pqw_buf *b, uint8_t v) { ef_pqw_buf_put(b, &v, 1); }

void ef_pqw_buf_uvarint(ef_pqw_buf *b, uint64_t v) {
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    ef_pqw_buf_put(b, tmp, (size_t)n);
}

static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

// ---- compact protocol ---------------------------------------------------------------

void ef_tc_init(ef_tc_writer *w, ef_pqw_buf *out) {
    w->out = out;
    w->depth = 0;
    w->last[0] = 0;
}

void ef_tc_struct_begin(ef_tc_writer *w) {
    EF_ASSERT(w->depth + 1 < EF_TC_MAX_DEPTH);
    w->last[++w->depth] = 0;
}

void ef_tc_struct_end(ef_tc_writer *w) {
    EF_ASSERT(w->depth > 0);
    ef_pqw_buf_byte(w->out, EF_TC_STOP);
    w->depth--;
}

static void field_header(ef_tc_writer *w, int16_t id, int type) {
    int16_t delta = (int16_t)(id - w->last[w->depth]);
    if (delta > 0 && delta <= 15) {
        ef_pqw_buf_byte(w->out, (uint8_t)((delta << 4) | type));
    } else {
        ef_pqw_buf_byte(w->out, (uint8_t)type);
        ef_pqw_buf_uvarint(w->out, zigzag64(id));
    }
    w->last[w->depth] = id;
}

void ef_tc_field_struct(ef_tc_writer *w, int16_t id) {
    field_header(w, id, EF_TC_STRUCT);
    ef_tc_struct_begin(w);
}

void ef_tc_field_i32(ef_tc_writer *w, int16_t id, int32_t v) {
    field_header(w, id, EF_TC_I32);
    ef_pqw_buf_uvarint(w->out, zigzag64(v));
}

void ef_tc_field_i64(ef_tc_writer *w, int16_t id, int64_t v) {
    field_header(w, id, EF_TC_I64);
    ef_pqw_buf_uvarint(w->out, zigzag64(v));
}

void ef_tc_field_i8(ef_tc_writer *w, int16_t id, int8_t v) {
    field_header(w, id, EF_TC_BYTE);
    ef_pqw_buf_byte(w->out, (uint8_t)v);
}

void ef_tc_field_bool(ef_tc_writer *w, int16_t id, int v) {
    field_header(w, id, v ? EF_TC_TRUE : EF_TC_FALSE);
}

void ef_tc_field_binary(ef_tc_writer *w, int16_t id, const void *p, size_t n) {
    field_header(w, id, EF_TC_BINARY);
    ef_tc_binary(w, p, n);
}

void ef_tc_field_string(ef_tc_writer *w, int16_t id, const char *s) {
    ef_tc_field_binary(w, id, s, strlen(s));
}

void ef_tc_field_list(ef_tc_writer *w, int16_t id, int elem_type, size_t n) {
    field_header(w, id, EF_TC_LIST);
    if (n < 15) {
        ef_pqw_buf_byte(w->out, (uint8_t)((n << 4) | (size_t)elem_type));
    } else {
        ef_pqw_buf_byte(w->out, (uint8_t)(0xF0 | elem_type));
        ef_pqw_buf_uvarint(w->out, n);
    }
}

void ef_tc_i32(ef_tc_writer *w, int32_t v) { ef_pqw_buf_uvarint(w->out, zigzag64(v)); }

void ef_tc_binary(ef_tc_writer *w, const void *p, size_t n) {
    ef_pqw_buf_uvarint(w->out, n);
    ef_pqw_buf_put(w->out, p, n);
}
