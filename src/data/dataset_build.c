/* Building a dataset row by row: exact-size reservations of the int8 matrix (so a loader
 * that knows its row count allocates the matrix once), the era table and the id blob. */
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"

static char **copy_names(int n, char *const *src) {
    char **v = ef_calloc((size_t)(n ? n : 1), sizeof *v);
    if (!v) return NULL;
    for (int i = 0; i < n; i++)
        if (!(v[i] = ef_strdup(src[i]))) {
            ef_strlist_free(v, i);
            return NULL;
        }
    return v;
}

ef_status ef_data_builder_init(ef_data_builder *b, ef_dataset *ds, int nf, char *const *fnames,
                               int nt, char *const *tnames, ef_error *err) {
    memset(b, 0, sizeof *b);
    memset(ds, 0, sizeof *ds);
    b->ds = ds;
    b->last_era = -1;
    ds->feature_names = copy_names(nf, fnames);
    ds->target_names = copy_names(nt, tnames);
    if (!ds->feature_names || !ds->target_names) {
        ef_strlist_free(ds->feature_names, ds->feature_names ? nf : 0);
        ef_strlist_free(ds->target_names, ds->target_names ? nt : 0);
        memset(ds, 0, sizeof *ds);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    ds->n_features = nf;
    ds->n_targets = nt;
    return EF_OK;
}

ef_status ef_data_builder_reserve(ef_data_builder *b, int64_t n_rows, ef_error *err) {
    ef_dataset *ds = b->ds;
    if (n_rows <= b->cap_rows) return EF_OK;
    size_t F = (size_t)ds->n_features, T = (size_t)ds->n_targets, n = (size_t)n_rows, xb, yb;
    EF_CHECK(ef_mul_ok(n, F ? F : 1, &xb) && ef_mul_ok(n, (T ? T : 1) * sizeof(float), &yb), err,
             EF_ERR_NOMEM, "dataset of %lld rows x %d features is too large", (long long)n_rows,
             ds->n_features);
    int8_t *X = ef_malloc_aligned(xb);
    float *y = ef_malloc(yb);
    int32_t *re = ef_malloc(n * sizeof *re);
    uint8_t *rt = ef_malloc(n);
    int64_t *io = ef_malloc(n * sizeof *io);
    if (!X || !y || !re || !rt || !io) {
        ef_free_aligned(X); ef_free(y); ef_free(re); ef_free(rt); ef_free(io);
        return EF_ERR(err, EF_ERR_NOMEM,
                      "out of memory allocating %lld rows x %d int8 features (%.1f MB)",
                      (long long)n_rows, ds->n_features, (double)xb / 1e6);
    }
    size_t m = (size_t)ds->n_rows;
    if (m) {
        memcpy(X, ds->X, m * F);
        memcpy(y, ds->y, m * T * sizeof(float));
        memcpy(re, ds->row_era, m * sizeof *re);
        memcpy(rt, ds->row_type, m);
        memcpy(io, ds->id_off, m * sizeof *io);
    }
    ef_free_aligned(ds->X); ef_free(ds->y); ef_free(ds->row_era); ef_free(ds->row_type); ef_free(ds->id_off);
    ds->X = X; ds->y = y; ds->row_era = re; ds->row_type = rt; ds->id_off = io;
    b->cap_rows = n_rows;
    return EF_OK;
}

int ef_data_builder_era(ef_data_builder *b, const char *name, size_t len) {
    ef_dataset *ds = b->ds;
    char nm[EF_ERA_NAME_MAX];
    if (len >= EF_ERA_NAME_MAX) len = EF_ERA_NAME_MAX - 1;
    memcpy(nm, name, len);
    nm[len] = 0;
    if (b->last_era >= 0 && b->last_era < ds->n_eras && !strcmp(ds->eras[b->last_era].name, nm))
        return b->last_era;
    for (int e = ds->n_eras - 1; e >= 0; e--)
        if (!strcmp(ds->eras[e].name, nm)) return b->last_era = e;
    if (ds->n_eras == b->cap_eras) {
        int nc = b->cap_eras ? b->cap_eras * 2 : 64;
        ef_era *p = ef_realloc(ds->eras, (size_t)nc * sizeof *p);
        if (!p) return -1;
        ds->eras = p;
        b->cap_eras = nc;
    }
    ef_era *e = &ds->eras[ds->n_eras];
    memset(e, 0, sizeof *e);
    memcpy(e->name, nm, len + 1);
    e->num = ef_data_era_num(nm, &b->n_nonnum, b->nonnum);
    return b->last_era = ds->n_eras++;
}

ef_status ef_data_builder_id(ef_data_builder *b, int64_t r, const char *id, size_t len, ef_error *err) {
    ef_dataset *ds = b->ds;
    if (ds->id_bytes + len + 1 > b->cap_id) {
        size_t nc = b->cap_id ? b->cap_id : 4096;
        while (nc < ds->id_bytes + len + 1) nc *= 2;
        char *p = ef_realloc(ds->id_data, nc);
        if (!p) return EF_ERR(err, EF_ERR_NOMEM, "out of memory storing ids");
        ds->id_data = p;
        b->cap_id = nc;
    }
    memcpy(ds->id_data + ds->id_bytes, id, len);
    ds->id_data[ds->id_bytes + len] = 0;
    ds->id_off[r] = (int64_t)ds->id_bytes;
    ds->id_bytes += len + 1;
    return EF_OK;
}

ef_status ef_data_builder_reserve_ids(ef_data_builder *b, size_t id_bytes, ef_error *err) {
    if (id_bytes <= b->cap_id) return EF_OK;
    char *p = ef_realloc(b->ds->id_data, id_bytes);
    if (!p) return EF_ERR(err, EF_ERR_NOMEM, "out of memory storing ids");
    b->ds->id_data = p;
    b->cap_id = id_bytes;
    return EF_OK;
}
