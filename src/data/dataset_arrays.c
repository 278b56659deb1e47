/* A dataset from arrays in memory (bindings: Python's numpy and pandas), with the values the
 * file loaders give for the same data: integer features are levels 0..4 (clamped), float
 * features map as the parquet loader maps FLOAT/DOUBLE columns (NaN -> 2; a column whose
 * maximum is <= 1 holds 0, .25, .., 1 and is scaled by 4; rounded, clamped to 0..4), float64
 * values and targets are first rounded to float32 as the parquet reader does, rows are
 * grouped by era in numeric era order, stable within an era (ef_dataset_finish). */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"

#define WIDTH_MAX 4096 /* a label or id of more bytes is refused (a wrong width, not data) */

static size_t dtype_size(int t) {
    switch (t) {
    case EF_DTYPE_INT8:
    case EF_DTYPE_UINT8: return 1;
    case EF_DTYPE_FLOAT32: return 4;
    case EF_DTYPE_FLOAT64: return 8;
    default: return 0;
    }
}

static const char *dtype_name(int t) {
    static const char *names[] = {"int8", "uint8", "float32", "float64"};
    return t >= 0 && t <= EF_DTYPE_FLOAT64 ? names[t] : "unknown";
}

/* element k of a column, as float (float64 rounded to float32, ints exact) */
static float elem(const void *base, int dtype, int64_t k) {
    switch (dtype) {
    case EF_DTYPE_INT8: return (float)((const int8_t *)base)[k];
    case EF_DTYPE_UINT8: return (float)((const uint8_t *)base)[k];
    case EF_DTYPE_FLOAT32: return ((const float *)base)[k];
    default: return (float)((const double *)base)[k];
    }
}

static ef_status check_columns(const char *what, const void *const *cols, const int *dtypes, int64_t n, int m,
                               const char *const *names, int floats_only, ef_error *err) {
    EF_CHECK(m >= 0 && m <= 1 << 20, err, EF_ERR_INVALID, "%s: %d columns outside [0, 2^20]", what, m);
    EF_CHECK(m == 0 || (names && cols && dtypes), err, EF_ERR_INVALID, "%s: %d columns without names, data or dtypes",
             what, m);
    for (int j = 0; j < m; j++) {
        EF_CHECK(names[j] && *names[j], err, EF_ERR_INVALID, "%s: column %d has no name", what, j);
        EF_CHECK(dtype_size(dtypes[j]), err, EF_ERR_INVALID,
                 "%s: column '%.200s' has dtype code %d (int8, uint8, float32 or float64 expected)", what, names[j],
                 dtypes[j]);
        EF_CHECK(!floats_only || dtypes[j] >= EF_DTYPE_FLOAT32, err, EF_ERR_INVALID,
                 "%s: column '%.200s' is %s (float32 or float64 expected)", what, names[j], dtype_name(dtypes[j]));
        EF_CHECK(n == 0 || cols[j], err, EF_ERR_INVALID, "%s: column '%.200s' has no data", what, names[j]);
    }
    return EF_OK;
}

static ef_status check_strings(const char *what, const char *s, size_t width, ef_error *err) {
    EF_CHECK(!s || (width >= 1 && width <= WIDTH_MAX), err, EF_ERR_INVALID,
             "%s: width %zu outside [1, %d] bytes", what, width, WIDTH_MAX);
    return EF_OK;
}

/* the n-byte string at s (NUL-padded, maybe not NUL-terminated) */
static size_t fixed_len(const char *s, size_t width) {
    const char *z = memchr(s, 0, width);
    return z ? (size_t)(z - s) : width;
}

/* Rows [r0, r0 + rn) of X and y: column by column (each column read contiguously, the block's
 * rows of X, rn x F bytes, stay in cache), the dtype switch outside the row loop. */
#define ROW_BLOCK 1024
static void fill_block(ef_dataset *ds, const ef_dataset_arrays *a, const uint8_t *scale4, int64_t r0, int64_t rn) {
    size_t F = (size_t)a->n_features, T = (size_t)a->n_targets;
    int8_t *X = ds->X + (size_t)r0 * F;
    for (size_t j = 0; j < F; j++) {
        const void *c = a->x_cols[j];
        int8_t *x = X + j;
        switch (a->x_dtypes[j]) {
        case EF_DTYPE_INT8:
            for (int64_t i = 0; i < rn; i++) x[(size_t)i * F] = ef_data_float_to_level(((const int8_t *)c)[r0 + i], 0);
            break;
        case EF_DTYPE_UINT8:
            for (int64_t i = 0; i < rn; i++) x[(size_t)i * F] = ef_data_float_to_level(((const uint8_t *)c)[r0 + i], 0);
            break;
        case EF_DTYPE_FLOAT32:
            for (int64_t i = 0; i < rn; i++) x[(size_t)i * F] = ef_data_float_to_level(((const float *)c)[r0 + i], scale4[j]);
            break;
        default:
            for (int64_t i = 0; i < rn; i++)
                x[(size_t)i * F] = ef_data_float_to_level((float)((const double *)c)[r0 + i], scale4[j]);
        }
    }
    for (size_t j = 0; j < T; j++)
        for (int64_t i = 0; i < rn; i++) ds->y[(size_t)(r0 + i) * T + j] = elem(a->y_cols[j], a->y_dtypes[j], r0 + i);
}

ef_status ef_dataset_from_arrays(ef_dataset *ds, const ef_dataset_arrays *a, ef_error *err) {
    memset(ds, 0, sizeof *ds);
    EF_CHECK(a, err, EF_ERR_INVALID, "dataset from arrays: NULL arrays");
    int64_t n = a->n_rows;
    EF_CHECK(n >= 0 && n <= INT32_MAX, err, EF_ERR_INVALID, "dataset from arrays: %lld rows outside [0, 2^31)",
             (long long)n);
    EF_TRY(check_columns("features", a->x_cols, a->x_dtypes, n, a->n_features, a->feature_names, 0, err));
    EF_TRY(check_columns("targets", a->y_cols, a->y_dtypes, n, a->n_targets, a->target_names, 1, err));
    EF_TRY(check_strings("eras", a->eras, a->era_width, err));
    EF_TRY(check_strings("ids", a->ids, a->id_width, err));
    EF_TRY(check_strings("data types", a->data_types, a->data_type_width, err));
    if (a->eras)
        for (int64_t r = 0; r < n; r++) {
            size_t len = fixed_len(a->eras + (size_t)r * a->era_width, a->era_width);
            EF_CHECK(len >= 1 && len < EF_ERA_NAME_MAX, err, EF_ERR_INVALID,
                     "eras: row %lld has a label of %zu bytes (1 to %d)", (long long)r, len, EF_ERA_NAME_MAX - 1);
        }
    int F = a->n_features, T = a->n_targets;
    uint8_t *scale4 = ef_calloc((size_t)(F ? F : 1), 1);
    EF_CHECK(scale4, err, EF_ERR_NOMEM, "out of memory");
    for (int j = 0; j < F; j++) { /* floats as the parquet loader: 0..1 when the maximum is <= 1 */
        if (a->x_dtypes[j] < EF_DTYPE_FLOAT32) continue;
        float mx = 0;
        for (int64_t r = 0; r < n; r++) {
            float v = elem(a->x_cols[j], a->x_dtypes[j], r);
            if (v > mx) mx = v;
        }
        scale4[j] = mx <= 1.0f;
    }
    ef_data_builder b;
    ef_status st = ef_data_builder_init(&b, ds, F, (char *const *)a->feature_names, T, (char *const *)a->target_names,
                                        err);
    if (st) goto done;
    size_t id_total = 0;
    for (int64_t r = 0; a->ids && r < n; r++) id_total += fixed_len(a->ids + (size_t)r * a->id_width, a->id_width) + 1;
    if (!(st = ef_data_builder_reserve(&b, n, err)) && a->ids) st = ef_data_builder_reserve_ids(&b, id_total, err);
    for (int64_t r = 0; r < n && !st; r++) {
        if (r % ROW_BLOCK == 0) /* the next block's features and targets, column by column */
            fill_block(ds, a, scale4, r, EF_MIN((int64_t)ROW_BLOCK, n - r));
        int e = a->eras ? ef_data_builder_era(&b, a->eras + (size_t)r * a->era_width,
                                              fixed_len(a->eras + (size_t)r * a->era_width, a->era_width))
                        : ef_data_builder_era(&b, "X", 1);
        if (e < 0) {
            st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            break;
        }
        ds->row_era[r] = e;
        ds->row_type[r] = EF_DT_OTHER;
        if (a->data_types) {
            char dt[32];
            const char *s = a->data_types + (size_t)r * a->data_type_width;
            size_t len = EF_MIN(fixed_len(s, a->data_type_width), sizeof dt - 1);
            memcpy(dt, s, len);
            dt[len] = 0;
            ds->row_type[r] = (uint8_t)ef_data_type_parse(dt);
        }
        if (a->ids) {
            const char *s = a->ids + (size_t)r * a->id_width;
            st = ef_data_builder_id(&b, r, s, fixed_len(s, a->id_width), err);
        } else {
            char idtmp[32];
            snprintf(idtmp, sizeof idtmp, "row%lld", (long long)r);
            st = ef_data_builder_id(&b, r, idtmp, strlen(idtmp), err);
        }
        ds->n_rows++;
    }
    if (!st) st = ef_dataset_finish(ds, err);
done:
    ef_free(scale4);
    if (st) ef_dataset_free(ds);
    return st;
}
