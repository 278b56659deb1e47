/* Writing datasets as Numerai-layout parquet through the parquet writer: id, era,
 * data_type (STRING, dictionary for era/data_type), feature_* (INT8 with dictionary, written
 * straight from the row-major matrix with a stride), targets (FLOAT, OPTIONAL; a NaN is
 * written as a null, as pyarrow does for a pandas NaN). */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"

struct ef_dataset_writer {
    ef_pqw *w;
    int nf, nt;
    ef_pqw_data *cols;
    const char **ids, **eras, **dtypes;
    uint8_t *valid;    /* cap x nt: 0 where the target is NaN */
    int64_t cap;
};

ef_status ef_dataset_writer_open(ef_dataset_writer **out, const char *path, int n_features,
                                 char *const *feature_names, int n_targets,
                                 char *const *target_names, ef_pqw_codec codec, ef_error *err) {
    *out = NULL;
    int nc = 3 + n_features + n_targets;
    ef_dataset_writer *dw = ef_calloc(1, sizeof *dw);
    ef_pqw_column *schema = ef_calloc((size_t)nc, sizeof *schema);
    if (dw) dw->cols = ef_calloc((size_t)nc, sizeof *dw->cols);
    if (!dw || !schema || !dw->cols) {
        if (dw) ef_free(dw->cols);
        ef_free(dw);
        ef_free(schema);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    dw->nf = n_features;
    dw->nt = n_targets;
    schema[0] = (ef_pqw_column){"id", EF_PQW_STRING, 0, codec, 0};
    schema[1] = (ef_pqw_column){"era", EF_PQW_STRING, 0, codec, 1};
    schema[2] = (ef_pqw_column){"data_type", EF_PQW_STRING, 0, codec, 1};
    for (int j = 0; j < n_features; j++)
        schema[3 + j] = (ef_pqw_column){feature_names[j], EF_PQW_INT8, 0, codec, 1};
    for (int j = 0; j < n_targets; j++)
        schema[3 + n_features + j] = (ef_pqw_column){target_names[j], EF_PQW_FLOAT, 1, codec, 1};
    ef_status st = ef_pqw_open(&dw->w, path, schema, nc, NULL, err);
    ef_free(schema);
    if (st) {
        ef_free(dw->cols);
        ef_free(dw);
        return st;
    }
    *out = dw;
    return EF_OK;
}

void ef_dataset_writer_abort(ef_dataset_writer *dw) {
    if (!dw) return;
    ef_pqw_abort(dw->w);
    ef_free(dw->cols);
    ef_free(dw->ids);
    ef_free(dw->eras);
    ef_free(dw->dtypes);
    ef_free(dw->valid);
    ef_free(dw);
}

ef_status ef_dataset_writer_append(ef_dataset_writer *dw, const ef_dataset *ds, int64_t r0,
                                   int64_t r1, ef_error *err) {
    EF_CHECK(ds->n_features == dw->nf && ds->n_targets == dw->nt, err, EF_ERR_INVALID,
             "dataset writer: the dataset has %d features and %d targets, the file %d and %d",
             ds->n_features, ds->n_targets, dw->nf, dw->nt);
    EF_CHECK(r0 >= 0 && r0 <= r1 && r1 <= ds->n_rows, err, EF_ERR_INVALID,
             "dataset writer: bad row range");
    int64_t n = r1 - r0;
    if (n == 0) return EF_OK;
    if (n > dw->cap) {
        ef_free(dw->ids);
        ef_free(dw->eras);
        ef_free(dw->dtypes);
        ef_free(dw->valid);
        dw->ids = ef_malloc((size_t)n * sizeof(char *));
        dw->eras = ef_malloc((size_t)n * sizeof(char *));
        dw->dtypes = ef_malloc((size_t)n * sizeof(char *));
        dw->valid = ef_malloc((size_t)n * (size_t)(dw->nt ? dw->nt : 1));
        dw->cap = dw->ids && dw->eras && dw->dtypes && dw->valid ? n : 0;
        EF_CHECK(dw->cap, err, EF_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        dw->ids[i] = ef_dataset_id(ds, r0 + i);
        dw->eras[i] = ds->eras[ds->row_era[r0 + i]].name;
        dw->dtypes[i] = ef_data_type_name((ef_data_type)ds->row_type[r0 + i]);
    }
    size_t F = (size_t)ds->n_features, T = (size_t)ds->n_targets;
    dw->cols[0] = (ef_pqw_data){dw->ids, 0, NULL};
    dw->cols[1] = (ef_pqw_data){dw->eras, 0, NULL};
    dw->cols[2] = (ef_pqw_data){dw->dtypes, 0, NULL};
    for (size_t j = 0; j < F; j++) dw->cols[3 + j] = (ef_pqw_data){ds->X + (size_t)r0 * F + j, F, NULL};
    for (size_t j = 0; j < T; j++) {
        uint8_t *v = dw->valid + j * (size_t)n;
        for (int64_t i = 0; i < n; i++) v[i] = !isnan(ds->y[(size_t)(r0 + i) * T + j]);
        dw->cols[3 + F + j] = (ef_pqw_data){ds->y + (size_t)r0 * T + j, T, v};
    }
    return ef_pqw_write_row_group(dw->w, (size_t)n, dw->cols, err);
}

ef_status ef_dataset_writer_close(ef_dataset_writer *dw, ef_error *err) {
    ef_status st = ef_pqw_close(dw->w, err);
    dw->w = NULL;
    ef_dataset_writer_abort(dw);
    return st;
}
