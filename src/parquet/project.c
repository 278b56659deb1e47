/* Projected reads for the data loader: several columns of a row group decoded into a
 * row-major int8 or float block. Columns are processed in tiles of TILE columns: each tile
 * decodes its chunks into column-major scratch, then transposes into the output so that each
 * output row gets one contiguous write per tile (a row-major write per column would touch a
 * cache line per value). Tiles run in parallel under OpenMP; each tile writes only its own
 * output columns, so the result is independent of the thread count, and the reported error
 * is the one of the lowest failing tile. */
#include <math.h>
#include "parquet/pq_internal.h"

#define TILE 32

typedef struct proj_job {
    const ef_pq_reader *r;
    int g;
    const int *cols;
    int ncols;
    int64_t nrows;
    void *out;
    size_t ld;
    int is_f32;
    int8_t null_i8;
} proj_job;

static ef_status to_f32(const proj_job *j, int c, const ef_pq_column_data *d, float *dst, ef_error *err) {
    int64_t n = d->n;
    switch (d->type) {
    case EF_PQ_BOOLEAN: for (int64_t i = 0; i < n; i++) dst[i] = ((const uint8_t *)d->values)[i]; break;
    case EF_PQ_INT32: for (int64_t i = 0; i < n; i++) dst[i] = (float)((const int32_t *)d->values)[i]; break;
    case EF_PQ_INT64: for (int64_t i = 0; i < n; i++) dst[i] = (float)((const int64_t *)d->values)[i]; break;
    case EF_PQ_FLOAT: memcpy(dst, d->values, (size_t)n * sizeof(float)); break;
    case EF_PQ_DOUBLE: for (int64_t i = 0; i < n; i++) dst[i] = (float)((const double *)d->values)[i]; break;
    default:
        return EF_ERR(err, EF_ERR_INVALID, "%s: column '%s' has type %s, not numeric",
                      j->r->path, j->r->cols[c].name, ef_pq_type_name(d->type));
    }
    if (d->valid)
        for (int64_t i = 0; i < n; i++)
            if (!d->valid[i]) dst[i] = NAN;
    return EF_OK;
}

/* 8x8 byte transpose in a 64-bit register: on entry x[j] holds 8 consecutive rows of
 * column j (row r in byte r); on exit x[r] holds columns 0..7 of row r. Three rounds swap
 * 1-, 2- and 4-byte blocks between word pairs. */
static inline void transpose8x8(uint64_t x[8]) {
    static const uint64_t m1 = 0x00FF00FF00FF00FFull, m2 = 0x0000FFFF0000FFFFull, m4 = 0x00000000FFFFFFFFull;
    for (int j = 0; j < 8; j += 2) {
        uint64_t t = ((x[j] >> 8) ^ x[j + 1]) & m1;
        x[j + 1] ^= t;
        x[j] ^= t << 8;
    }
    for (int j = 0; j < 8; j++) {
        if (j & 2) continue;
        uint64_t t = ((x[j] >> 16) ^ x[j + 2]) & m2;
        x[j + 2] ^= t;
        x[j] ^= t << 16;
    }
    for (int j = 0; j < 4; j++) {
        uint64_t t = ((x[j] >> 32) ^ x[j + 4]) & m4;
        x[j + 4] ^= t;
        x[j] ^= t << 32;
    }
}

/* Column-major sc (w columns of nrows) -> row-major out (stride ld). */
static void transpose_i8(const int8_t *sc, int64_t nrows, int w, int8_t *out, size_t ld) {
    int64_t i = 0;
    int w8 = w & ~7;
    for (; i + 8 <= nrows; i += 8) {
        for (int k = 0; k < w8; k += 8) {
            uint64_t x[8];
            for (int j = 0; j < 8; j++) memcpy(&x[j], sc + (size_t)(k + j) * (size_t)nrows + (size_t)i, 8);
            transpose8x8(x);
            for (int r = 0; r < 8; r++) memcpy(out + (size_t)(i + r) * ld + (size_t)k, &x[r], 8);
        }
        for (int k = w8; k < w; k++)
            for (int r = 0; r < 8; r++) out[(size_t)(i + r) * ld + (size_t)k] = sc[(size_t)k * (size_t)nrows + (size_t)(i + r)];
    }
    for (; i < nrows; i++)
        for (int k = 0; k < w; k++) out[(size_t)i * ld + (size_t)k] = sc[(size_t)k * (size_t)nrows + (size_t)i];
}

static ef_status run_tile(const proj_job *j, int t0, int t1, ef_error *err) {
    size_t es = j->is_f32 ? sizeof(float) : 1;
    int64_t nrows = j->nrows;
    size_t bytes;
    if (!ef_mul_ok((size_t)(t1 - t0) * es, (size_t)nrows, &bytes))
        return EF_ERR(err, EF_ERR_NOMEM, "%s: row group too large", j->r->path);
    uint8_t *scratch = ef_malloc(bytes ? bytes : 1);
    if (!scratch) return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for %zu bytes of column scratch", j->r->path, bytes);
    ef_status s = EF_OK;
    for (int t = t0; t < t1 && !s; t++) {
        int c = j->cols[t];
        if (!j->is_f32) {
            s = pq_decode_chunk_i8(j->r, j->g, c, (int8_t *)scratch + (size_t)(t - t0) * (size_t)nrows, j->null_i8, err);
            continue;
        }
        ef_pq_column_data d;
        s = ef_pq_read_column(j->r, j->g, c, &d, err);
        if (s) break;
        if (d.n != nrows) {
            s = EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s', row group %d: %lld values for %lld rows",
                       j->r->path, j->r->cols[c].name, j->g, (long long)d.n, (long long)nrows);
        } else {
            s = to_f32(j, c, &d, (float *)scratch + (size_t)(t - t0) * (size_t)nrows, err);
        }
        ef_pq_column_data_free(&d);
    }
    if (!s) {
        int w = t1 - t0;
        if (j->is_f32) {
            float *out = j->out;
            const float *sc = (const float *)scratch;
            for (int64_t i = 0; i < nrows; i++) {
                float *o = out + (size_t)i * j->ld + t0;
                for (int k = 0; k < w; k++) o[k] = sc[(size_t)k * (size_t)nrows + (size_t)i];
            }
        } else {
            transpose_i8((const int8_t *)scratch, nrows, w, (int8_t *)j->out + t0, j->ld);
        }
    }
    ef_free(scratch);
    return s;
}

static ef_status run_job(const proj_job *j, ef_error *err) {
    const ef_pq_reader *r = j->r;
    if (j->g < 0 || j->g >= r->nrg) return EF_ERR(err, EF_ERR_INVALID, "%s: row group %d out of range [0, %d)", r->path, j->g, r->nrg);
    if (j->ncols < 0 || (size_t)j->ncols > j->ld) return EF_ERR(err, EF_ERR_INVALID, "%s: %d columns do not fit a row stride of %zu", r->path, j->ncols, j->ld);
    for (int t = 0; t < j->ncols; t++)
        if (j->cols[t] < 0 || j->cols[t] >= r->ncols) return EF_ERR(err, EF_ERR_INVALID, "%s: column %d out of range [0, %d)", r->path, j->cols[t], r->ncols);
    int ntiles = (j->ncols + TILE - 1) / TILE;
    if (ntiles == 0) return EF_OK;
    ef_status *st = ef_calloc((size_t)ntiles, sizeof *st);
    ef_error *errs = ef_calloc((size_t)ntiles, sizeof *errs);
    if (!st || !errs) {
        ef_free(st);
        ef_free(errs);
        return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", r->path);
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int t = 0; t < ntiles; t++) {
        int t0 = t * TILE, t1 = EF_MIN(j->ncols, t0 + TILE);
        st[t] = run_tile(j, t0, t1, &errs[t]);
    }
    ef_status s = EF_OK;
    for (int t = 0; t < ntiles; t++) {
        if (st[t]) {
            s = st[t];
            if (err) *err = errs[t];
            break;
        }
    }
    ef_free(st);
    ef_free(errs);
    return s;
}

ef_status ef_pq_read_rowgroup_i8(const ef_pq_reader *r, int row_group, const int *cols,
                                 int ncols, int8_t *out, size_t ld, int8_t null_value,
                                 ef_error *err) {
    proj_job j = {r, row_group, cols, ncols, ef_pq_row_group_num_rows(r, row_group), out, ld, 0, null_value};
    return run_job(&j, err);
}

ef_status ef_pq_read_rowgroup_f32(const ef_pq_reader *r, int row_group, const int *cols,
                                  int ncols, float *out, size_t ld, ef_error *err) {
    proj_job j = {r, row_group, cols, ncols, ef_pq_row_group_num_rows(r, row_group), out, ld, 1, 0};
    return run_job(&j, err);
}

ef_status ef_pq_read_matrix_i8(const ef_pq_reader *r, const int *cols, int ncols, int8_t *out,
                               size_t ld, int8_t null_value, ef_error *err) {
    for (int g = 0; g < r->nrg; g++)
        EF_TRY(ef_pq_read_rowgroup_i8(r, g, cols, ncols, out + (size_t)r->rgs[g].first_row * ld, ld, null_value, err));
    return EF_OK;
}

ef_status ef_pq_read_matrix_f32(const ef_pq_reader *r, const int *cols, int ncols, float *out,
                                size_t ld, ef_error *err) {
    for (int g = 0; g < r->nrg; g++)
        EF_TRY(ef_pq_read_rowgroup_f32(r, g, cols, ncols, out + (size_t)r->rgs[g].first_row * ld, ld, err));
    return EF_OK;
}
