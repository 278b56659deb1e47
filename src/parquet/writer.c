/* Parquet writer: file lifecycle (atomic temp file, "PAR1" magic), row groups (one column
 * chunk after another, encoded by writer_page.c) and the Thrift FileMetaData footer
 * (schema with converted + logical types, row groups, statistics, column orders).
 * Reference: apache/parquet-format README.md (file layout), parquet.thrift (field ids),
 * LogicalTypes.md (INT(8, true), STRING). */
#include <string.h>
#include "base/ef_internal.h"
#include "parquet/writer_internal.h"

typedef struct rg_meta {
    int64_t num_rows;
    int64_t file_offset;
    int64_t total_uncompressed;
    int64_t total_compressed;
    ef_pqw_chunk_meta *chunks;   /* ncols */
} rg_meta;

struct ef_pqw {
    ef_atomic_file af;
    int ncols;
    ef_pqw_column *cols;          /* names owned */
    size_t page_bytes;
    int zstd_level;
    char *created_by;
    int n_kv;
    char **kv_keys, **kv_values;
    int64_t offset;               /* bytes written so far */
    int64_t nrows;
    rg_meta *rgs;
    int nrg, caprg;
    int failed;
};

int64_t ef_pqw_rows(const ef_pqw *w) { return w ? w->nrows : 0; }

static void writer_free(ef_pqw *w) {
    if (!w) return;
    for (int c = 0; c < w->ncols; c++) ef_free((char *)w->cols[c].name);
    ef_free(w->cols);
    for (int i = 0; i < w->nrg; i++) {
        for (int c = 0; c < w->ncols; c++) ef_pqw_chunk_meta_free(&w->rgs[i].chunks[c]);
        ef_free(w->rgs[i].chunks);
    }
    ef_free(w->rgs);
    for (int i = 0; i < w->n_kv; i++) {
        ef_free(w->kv_keys[i]);
        ef_free(w->kv_values[i]);
    }
    ef_free(w->kv_keys);
    ef_free(w->kv_values);
    ef_free(w->created_by);
    ef_free(w);
}

void ef_pqw_abort(ef_pqw *w) {
    if (!w) return;
    if (w->af.fp || w->af.tmp_path) ef_atomic_abort(&w->af);
    writer_free(w);
}

static ef_status write_bytes(ef_pqw *w, const void *p, size_t n, ef_error *err) {
    if (n && fwrite(p, 1, n, w->af.fp) != n) {
        w->failed = 1;
        return EF_ERR(err, EF_ERR_IO, "%s: write failed at byte %lld", w->af.path, (long long)w->offset);
    }
    w->offset += (int64_t)n;
    return EF_OK;
}

// ---- open -----------------------------------------------------------------------------

static ef_status validate_schema(const ef_pqw_column *cols, int ncols, ef_error *err) {
    EF_CHECK(cols && ncols > 0, err, EF_ERR_INVALID, "parquet writer: the schema has no columns");
    for (int c = 0; c < ncols; c++) {
        EF_CHECK(cols[c].name && cols[c].name[0], err, EF_ERR_INVALID,
                 "parquet writer: column %d has no name", c);
        EF_CHECK(cols[c].type >= EF_PQW_INT8 && cols[c].type <= EF_PQW_STRING, err, EF_ERR_INVALID,
                 "parquet writer: column '%s' has an unknown type %d", cols[c].name, (int)cols[c].type);
        EF_CHECK(cols[c].codec == EF_PQW_UNCOMPRESSED || cols[c].codec == EF_PQW_SNAPPY ||
                     cols[c].codec == EF_PQW_ZSTD,
                 err, EF_ERR_INVALID, "parquet writer: column '%s' has an unknown codec %d",
                 cols[c].name, (int)cols[c].codec);
        for (int k = 0; k < c; k++)
            EF_CHECK(strcmp(cols[k].name, cols[c].name), err, EF_ERR_INVALID,
                     "parquet writer: duplicate column name '%s'", cols[c].name);
    }
    return EF_OK;
}

ef_status ef_pqw_open(ef_pqw **out, const char *path, const ef_pqw_column *cols, int ncols,
                      const ef_pqw_options *opt, ef_error *err) {
    *out = NULL;
    EF_TRY(validate_schema(cols, ncols, err));
    ef_pqw *w = ef_calloc(1, sizeof *w);
    if (!w) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    ef_pqw_options o = {0};
    if (opt) o = *opt;
    w->page_bytes = o.page_bytes ? o.page_bytes : (size_t)1 << 20;
    w->zstd_level = o.zstd_level ? o.zstd_level : 3;
    w->created_by = ef_strdup(o.created_by ? o.created_by : "eraformer version " EF_VERSION_STRING);
    w->cols = ef_calloc((size_t)ncols, sizeof *w->cols);
    if (!w->created_by || !w->cols) goto nomem;
    w->ncols = ncols;
    for (int c = 0; c < ncols; c++) {
        w->cols[c] = cols[c];
        w->cols[c].name = ef_strdup(cols[c].name);
        if (!w->cols[c].name) goto nomem;
    }
    if (o.n_kv > 0) {
        w->kv_keys = ef_calloc((size_t)o.n_kv, sizeof(char *));
        w->kv_values = ef_calloc((size_t)o.n_kv, sizeof(char *));
        if (!w->kv_keys || !w->kv_values) goto nomem;
        w->n_kv = o.n_kv;
        for (int i = 0; i < o.n_kv; i++) {
            w->kv_keys[i] = ef_strdup(o.kv_keys[i]);
            w->kv_values[i] = ef_strdup(o.kv_values[i] ? o.kv_values[i] : "");
            if (!w->kv_keys[i] || !w->kv_values[i]) goto nomem;
        }
    }
    ef_status st = ef_atomic_open(&w->af, path, err);
    if (st) {
        writer_free(w);
        return st;
    }
    if ((st = write_bytes(w, "PAR1", 4, err))) {
        ef_pqw_abort(w);
        return st;
    }
    *out = w;
    return EF_OK;
nomem:
    writer_free(w);
    return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
}

// ---- row groups -----------------------------------------------------------------------

ef_status ef_pqw_write_row_group(ef_pqw *w, size_t nrows, const ef_pqw_data *data, ef_error *err) {
    EF_CHECK(w && !w->failed, err, EF_ERR_INVALID, "parquet writer: writer is closed or failed");
    if (nrows == 0) return EF_OK;
    EF_CHECK(nrows <= INT32_MAX, err, EF_ERR_INVALID,
             "parquet writer: a row group of %zu rows is too large", nrows);
    if (w->nrg == w->caprg) {
        int ncap = w->caprg ? w->caprg * 2 : 16;
        rg_meta *p = ef_realloc(w->rgs, (size_t)ncap * sizeof *p);
        if (!p) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        w->rgs = p;
        w->caprg = ncap;
    }
    rg_meta *rg = &w->rgs[w->nrg];
    memset(rg, 0, sizeof *rg);
    rg->chunks = ef_calloc((size_t)w->ncols, sizeof *rg->chunks);
    if (!rg->chunks) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    rg->num_rows = (int64_t)nrows;
    rg->file_offset = w->offset;
    ef_pqw_buf buf = {0};
    ef_status st = EF_OK;
    int c = 0;
    for (; c < w->ncols; c++) {
        buf.len = 0;
        ef_pqw_chunk_meta *m = &rg->chunks[c];
        st = ef_pqw_encode_chunk(&w->cols[c], w->page_bytes, w->zstd_level, nrows, &data[c], &buf, m, err);
        if (st) break;
        int64_t start = w->offset;
        if ((st = write_bytes(w, buf.data, buf.len, err))) {
            ef_pqw_chunk_meta_free(m);
            break;
        }
        m->data_page_offset += start;
        if (m->dict_page_offset >= 0) m->dict_page_offset += start;
        rg->total_uncompressed += m->total_uncompressed;
        rg->total_compressed += m->total_compressed;
    }
    ef_pqw_buf_free(&buf);
    if (st) {
        for (int k = 0; k < c; k++) ef_pqw_chunk_meta_free(&rg->chunks[k]);
        ef_free(rg->chunks);
        w->failed = 1;
        return st;
    }
    w->nrg++;
    w->nrows += (int64_t)nrows;
    return EF_OK;
}

// ---- footer ---------------------------------------------------------------------------

static void write_schema(ef_tc_writer *tw, const ef_pqw *w) {
    ef_tc_field_list(tw, 2, EF_TC_STRUCT, (size_t)w->ncols + 1);
    ef_tc_struct_begin(tw);               /* root */
    ef_tc_field_string(tw, 4, "schema");
    ef_tc_field_i32(tw, 5, w->ncols);
    ef_tc_struct_end(tw);
    for (int c = 0; c < w->ncols; c++) {
        const ef_pqw_column *col = &w->cols[c];
        ef_tc_struct_begin(tw);
        ef_tc_field_i32(tw, 1, ef_pqw_physical_type(col->type));
        ef_tc_field_i32(tw, 3, col->nullable ? 1 : 0);   /* OPTIONAL : REQUIRED */
        ef_tc_field_string(tw, 4, col->name);
        if (col->type == EF_PQW_INT8 || col->type == EF_PQW_STRING) {
            ef_tc_field_i32(tw, 6, col->type == EF_PQW_INT8 ? 15 : 0);  /* INT_8 : UTF8 */
            ef_tc_field_struct(tw, 10);                                  /* LogicalType */
            if (col->type == EF_PQW_INT8) {
                ef_tc_field_struct(tw, 10);                              /* INTEGER */
                ef_tc_field_i8(tw, 1, 8);
                ef_tc_field_bool(tw, 2, 1);
                ef_tc_struct_end(tw);
            } else {
                ef_tc_field_struct(tw, 1);                               /* STRING */
                ef_tc_struct_end(tw);
            }
            ef_tc_struct_end(tw);
        }
        ef_tc_struct_end(tw);
    }
}

static void write_statistics(ef_tc_writer *tw, const ef_pqw_column *col, const ef_pqw_chunk_meta *m) {
    ef_tc_field_struct(tw, 12);
    const void *mn = col->type == EF_PQW_STRING ? (const void *)m->min_str : m->min;
    const void *mx = col->type == EF_PQW_STRING ? (const void *)m->max_str : m->max;
    /* the deprecated min/max (signed order) agree with min_value/max_value for numbers */
    if (m->has_minmax && col->type != EF_PQW_STRING) {
        ef_tc_field_binary(tw, 1, mx, m->max_len);
        ef_tc_field_binary(tw, 2, mn, m->min_len);
    }
    ef_tc_field_i64(tw, 3, m->null_count);
    if (m->has_minmax) {
        ef_tc_field_binary(tw, 5, mx, m->max_len);
        ef_tc_field_binary(tw, 6, mn, m->min_len);
    }
    ef_tc_struct_end(tw);
}

static void write_column_chunk(ef_tc_writer *tw, const ef_pqw_column *col, const ef_pqw_chunk_meta *m) {
    ef_tc_struct_begin(tw);
    int64_t start = m->dict_page_offset >= 0 ? m->dict_page_offset : m->data_page_offset;
    ef_tc_field_i64(tw, 2, start);
    ef_tc_field_struct(tw, 3);                         /* ColumnMetaData */
    ef_tc_field_i32(tw, 1, ef_pqw_physical_type(col->type));
    int enc[3], ne = 0;
    if (m->used_dict) {
        enc[ne++] = EF_PQW_ENC_PLAIN;
        enc[ne++] = EF_PQW_ENC_RLE_DICTIONARY;
    } else {
        enc[ne++] = EF_PQW_ENC_PLAIN;
    }
    if (col->nullable) enc[ne++] = EF_PQW_ENC_RLE;
    ef_tc_field_list(tw, 2, EF_TC_I32, (size_t)ne);
    for (int i = 0; i < ne; i++) ef_tc_i32(tw, enc[i]);
    ef_tc_field_list(tw, 3, EF_TC_BINARY, 1);
    ef_tc_binary(tw, col->name, strlen(col->name));
    ef_tc_field_i32(tw, 4, (int32_t)col->codec);
    ef_tc_field_i64(tw, 5, m->num_values);
    ef_tc_field_i64(tw, 6, m->total_uncompressed);
    ef_tc_field_i64(tw, 7, m->total_compressed);
    ef_tc_field_i64(tw, 9, m->data_page_offset);
    if (m->dict_page_offset >= 0) ef_tc_field_i64(tw, 11, m->dict_page_offset);
    write_statistics(tw, col, m);
    ef_tc_struct_end(tw);
    ef_tc_struct_end(tw);
}

static void write_footer(ef_pqw_buf *out, const ef_pqw *w) {
    ef_tc_writer tw;
    ef_tc_init(&tw, out);
    ef_tc_struct_begin(&tw);
    ef_tc_field_i32(&tw, 1, 2);
    write_schema(&tw, w);
    ef_tc_field_i64(&tw, 3, w->nrows);
    ef_tc_field_list(&tw, 4, EF_TC_STRUCT, (size_t)w->nrg);
    for (int i = 0; i < w->nrg; i++) {
        const rg_meta *rg = &w->rgs[i];
        ef_tc_struct_begin(&tw);
        ef_tc_field_list(&tw, 1, EF_TC_STRUCT, (size_t)w->ncols);
        for (int c = 0; c < w->ncols; c++) write_column_chunk(&tw, &w->cols[c], &rg->chunks[c]);
        ef_tc_field_i64(&tw, 2, rg->total_uncompressed);
        ef_tc_field_i64(&tw, 3, rg->num_rows);
        ef_tc_field_i64(&tw, 5, rg->file_offset);
        ef_tc_field_i64(&tw, 6, rg->total_compressed);
        ef_tc_struct_end(&tw);
    }
    if (w->n_kv) {
        ef_tc_field_list(&tw, 5, EF_TC_STRUCT, (size_t)w->n_kv);
        for (int i = 0; i < w->n_kv; i++) {
            ef_tc_struct_begin(&tw);
            ef_tc_field_string(&tw, 1, w->kv_keys[i]);
            ef_tc_field_string(&tw, 2, w->kv_values[i]);
            ef_tc_struct_end(&tw);
        }
    }
    ef_tc_field_string(&tw, 6, w->created_by);
    ef_tc_field_list(&tw, 7, EF_TC_STRUCT, (size_t)w->ncols);
    for (int c = 0; c < w->ncols; c++) {
        ef_tc_struct_begin(&tw);          /* ColumnOrder union */
        ef_tc_field_struct(&tw, 1);       /* TYPE_ORDER: TypeDefinedOrder {} */
        ef_tc_struct_end(&tw);
        ef_tc_struct_end(&tw);
    }
    ef_tc_struct_end(&tw);
}

ef_status ef_pqw_close(ef_pqw *w, ef_error *err) {
    if (!w) return EF_ERR(err, EF_ERR_INVALID, "parquet writer: NULL writer");
    if (w->failed) {
        ef_pqw_abort(w);
        return EF_ERR(err, EF_ERR_INVALID, "parquet writer: an earlier write failed; file discarded");
    }
    ef_pqw_buf footer = {0};
    write_footer(&footer, w);
    ef_status st = EF_OK;
    if (footer.oom || footer.len > UINT32_MAX) {
        st = EF_ERR(err, EF_ERR_NOMEM, "parquet writer: out of memory writing the footer");
    } else {
        uint32_t n = (uint32_t)footer.len;
        uint8_t tail[8] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24),
                           'P', 'A', 'R', '1'};
        st = write_bytes(w, footer.data, footer.len, err);
        if (!st) st = write_bytes(w, tail, 8, err);
        if (!st) st = ef_atomic_commit(&w->af, err);
    }
    ef_pqw_buf_free(&footer);
    if (st) {
        ef_pqw_abort(w);
        return st;
    }
    writer_free(w);
    return EF_OK;
}
