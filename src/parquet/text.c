/* Text formatting of decoded values (for `eraformer cat` and the fixture tests): shortest
 * round-trip floats, decimal integers, raw strings, hex for other binary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "parquet/pq_internal.h"

/* Shortest %.Ng that parses back to exactly x (as float when is_f32). */
static size_t fmt_float(double x, int is_f32, char *buf, size_t cap) {
    char tmp[40];
    int maxp = is_f32 ? 9 : 17;
    if (isinf(x)) return (size_t)snprintf(buf, cap, "%s", x < 0 ? "-inf" : "inf");
    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, x);
        int same = is_f32 ? strtof(tmp, NULL) == (float)x : strtod(tmp, NULL) == x;
        if (same || p == maxp) break;
    }
    return (size_t)snprintf(buf, cap, "%s", tmp);
}

static size_t fmt_hex(const uint8_t *p, size_t n, char *buf, size_t cap) {
    static const char hx[] = "0123456789abcdef";
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w + 2 < cap) {
            buf[w] = hx[p[i] >> 4];
            buf[w + 1] = hx[p[i] & 15];
        }
        w += 2;
    }
    if (cap) buf[w < cap ? w : cap - 1] = 0;
    return w;
}

size_t ef_pq_value_format(const ef_pq_column_data *d, const ef_pq_column_info *ci, int64_t i,
                          char *buf, size_t cap) {
    if (cap) buf[0] = 0;
    if (i < 0 || i >= d->n || (d->valid && !d->valid[i])) return 0;
    int is_unsigned = ci && ci->int_bits && !ci->int_signed;
    switch (d->type) {
    case EF_PQ_BOOLEAN: return (size_t)snprintf(buf, cap, "%s", ((const uint8_t *)d->values)[i] ? "true" : "false");
    case EF_PQ_INT32: {
        int32_t v = ((const int32_t *)d->values)[i];
        if (is_unsigned) return (size_t)snprintf(buf, cap, "%u", (unsigned)v);
        return (size_t)snprintf(buf, cap, "%d", (int)v);
    }
    case EF_PQ_INT64: {
        int64_t v = ((const int64_t *)d->values)[i];
        if (is_unsigned) return (size_t)snprintf(buf, cap, "%llu", (unsigned long long)v);
        return (size_t)snprintf(buf, cap, "%lld", (long long)v);
    }
    case EF_PQ_FLOAT: {
        float v = ((const float *)d->values)[i];
        return isnan(v) ? 0 : fmt_float(v, 1, buf, cap);
    }
    case EF_PQ_DOUBLE: {
        double v = ((const double *)d->values)[i];
        return isnan(v) ? 0 : fmt_float(v, 0, buf, cap);
    }
    case EF_PQ_INT96: return fmt_hex((const uint8_t *)d->values + (size_t)i * 12, 12, buf, cap);
    case EF_PQ_BYTE_ARRAY:
    case EF_PQ_FIXED_LEN_BYTE_ARRAY: {
        const uint8_t *p = d->data + d->offsets[i];
        size_t n = (size_t)(d->offsets[i + 1] - d->offsets[i]);
        if (d->type == EF_PQ_FIXED_LEN_BYTE_ARRAY || (ci && !ci->is_string && ci->converted_type != EF_PQ_CONVERTED_NONE))
            return fmt_hex(p, n, buf, cap);
        if (cap) {
            size_t c = n < cap - 1 ? n : cap - 1;
            memcpy(buf, p, c);
            buf[c] = 0;
        }
        return n;
    }
    default: return 0;
    }
}
