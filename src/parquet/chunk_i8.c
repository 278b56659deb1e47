/* The int8 feature path of column decoding (pq_decode_chunk_i8): Numerai's feature columns
 * (int8/int32/int64/float/double holding 0..4, NaN or null for missing) go straight to an
 * int8 matrix, through a dictionary converted once to int8 when every entry fits. A value
 * that is not an integer in [-128, 127] is an error that names it. */
#include <math.h>
#include "parquet/chunk_internal.h"

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
const char *pq_i8_values(chunk_ctx *c, int enc, const uint8_t *p, size_t n, int64_t nv,
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
        if (pq_slots_reserve(d, nn, 0)) return "out of memory";
        const char *why = pq_decode_values(c, d, enc, 0, p, n, nn);
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
void pq_dict_to_i8(chunk_ctx *c) {
    int t = c->dict.type;
    if (t != EF_PQ_BOOLEAN && t != EF_PQ_INT32 && t != EF_PQ_INT64 && t != EF_PQ_FLOAT && t != EF_PQ_DOUBLE) return;
    c->dict_i8 = ef_malloc((size_t)c->dict.n + 1);
    if (!c->dict_i8) return;   /* the generic path still works */
    if (conv_i8(t, c->dict.values, c->dict.n, c->dict_i8, c->i8_null) >= 0) {
        ef_free(c->dict_i8);
        c->dict_i8 = NULL;
    }
}
