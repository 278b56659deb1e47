/* Column loading for the scoring commands: the id, era, numeric and feature columns of one
 * file, from CSV (report_csv.c) or parquet (eraformer/parquet.h), plus an id -> row map and
 * the era label order. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/report.h"
#include "eraformer/parquet.h"

void ef_report_table_free(ef_report_table *t) {
    ef_free(t->path);
    ef_free(t->ids);
    ef_free(t->eras);
    if (t->num)
        for (size_t k = 0; k < t->nnum; k++) ef_free(t->num[k]);
    ef_free(t->num);
    if (t->feat_names)
        for (size_t k = 0; k < t->nfeat; k++) ef_free(t->feat_names[k]);
    ef_free(t->feat_names);
    ef_free(t->feat);
    ef_free(t->arena);
    ef_free(t->arena2);
    memset(t, 0, sizeof *t);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    if (a < b) return 0;
    for (size_t i = 0; i < b; i++)
        if (tolower((unsigned char)s[a - b + i]) != suf[i]) return 0;
    return 1;
}

/* "file has no column 'x' (it has: a, b, c, ...)" */
static ef_status missing_column(const char *path, const char *what, const char *name,
                                const char *const *have, size_t nhave, ef_error *err) {
    char list[300] = "";
    size_t len = 0;
    for (size_t i = 0; i < nhave && i < 8 && len < sizeof list - 40; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", have[i]);
    if (nhave > 8) snprintf(list + len, sizeof list - len, ", ... (%zu columns)", nhave);
    return EF_ERR(err, EF_ERR_INVALID, "%s has no %s column '%s' (it has: %s)", path, what, name,
                  list);
}

static ef_status alloc_table(ef_report_table *t, const char *path, size_t n, int want_era,
                             size_t nnum, size_t nfeat, ef_error *err) {
    t->path = ef_strdup(path);
    t->n = n;
    t->ids = ef_calloc(n ? n : 1, sizeof(char *));
    t->eras = want_era ? ef_calloc(n ? n : 1, sizeof(char *)) : NULL;
    t->nnum = nnum;
    t->num = ef_calloc(nnum ? nnum : 1, sizeof(double *));
    int bad = !t->path || !t->ids || (want_era && !t->eras) || !t->num;
    for (size_t k = 0; k < nnum && !bad; k++) bad = !(t->num[k] = ef_malloc((n ? n : 1) * sizeof(double)));
    t->nfeat = nfeat;
    if (!bad && nfeat) {
        size_t nb;
        bad = !ef_mul_ok(n, nfeat * sizeof(float), &nb) || !(t->feat = ef_malloc(nb ? nb : 1)) ||
              !(t->feat_names = ef_calloc(nfeat, sizeof(char *)));
    }
    if (bad) return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for %zu rows", path, n);
    return EF_OK;
}

// ---- CSV ----------------------------------------------------------------------------------------

static ef_status load_csv(ef_report_table *t, const char *path, const ef_report_table_spec *sp,
                          ef_error *err) {
    ef_report_csv c;
    EF_TRY(ef_report_csv_open(&c, path, err));
    const char *const *hdr = (const char *const *)c.header;
    ef_status st = EF_OK;
    ef_report_csv_sink *sinks = NULL;
    /* resolve columns */
    int idc = ef_report_csv_find(&c, sp->id_col);
    int erac = sp->era_col ? ef_report_csv_find(&c, sp->era_col) : -1;
    size_t nfeat = sp->nfeat;
    if (sp->feat_prefix && !nfeat)
        for (size_t j = 0; j < c.ncols; j++) nfeat += !strncmp(hdr[j], sp->feat_prefix, strlen(sp->feat_prefix));
    if (idc < 0) {
        st = missing_column(path, "id", sp->id_col, hdr, c.ncols, err);
        goto done;
    }
    if (sp->era_col && erac < 0 && !sp->era_optional) {
        st = missing_column(path, "era", sp->era_col, hdr, c.ncols, err);
        goto done;
    }
    st = alloc_table(t, path, c.nrows, erac >= 0, sp->nnum, nfeat, err);
    if (st) goto done;
    sinks = ef_calloc(2 + sp->nnum + nfeat, sizeof *sinks);
    if (!sinks) {
        st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t ns = 0;
    sinks[ns++] = (ef_report_csv_sink){idc, EF_REPORT_STR, t->ids, NULL, NULL, 0};
    if (erac >= 0) sinks[ns++] = (ef_report_csv_sink){erac, EF_REPORT_STR, t->eras, NULL, NULL, 0};
    for (size_t k = 0; k < sp->nnum; k++) {
        int j = ef_report_csv_find(&c, sp->num_cols[k]);
        if (j < 0) {
            st = missing_column(path, "numeric", sp->num_cols[k], hdr, c.ncols, err);
            goto done;
        }
        sinks[ns++] = (ef_report_csv_sink){j, EF_REPORT_NUM, NULL, t->num[k], NULL, 0};
    }
    size_t fk = 0;
    for (size_t j = 0; j < c.ncols && sp->feat_prefix && !sp->nfeat; j++)
        if (!strncmp(hdr[j], sp->feat_prefix, strlen(sp->feat_prefix))) {
            t->feat_names[fk] = ef_strdup(hdr[j]);
            sinks[ns++] = (ef_report_csv_sink){(int)j, EF_REPORT_F32, NULL, NULL, t->feat + fk, nfeat};
            fk++;
        }
    for (size_t k = 0; k < sp->nfeat; k++) {
        int j = ef_report_csv_find(&c, sp->feat_cols[k]);
        if (j < 0) {
            st = missing_column(path, "feature", sp->feat_cols[k], hdr, c.ncols, err);
            goto done;
        }
        t->feat_names[k] = ef_strdup(sp->feat_cols[k]);
        sinks[ns++] = (ef_report_csv_sink){j, EF_REPORT_F32, NULL, NULL, t->feat + k, nfeat};
    }
    for (size_t k = 0; k < nfeat; k++)
        if (!t->feat_names[k]) {
            st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    st = ef_report_csv_extract(&c, sinks, ns, &t->arena, err);
done:
    ef_free(sinks);
    ef_report_csv_close(&c);
    return st;
}

// ---- parquet ----------------------------------------------------------------------------------

static ef_status pq_strings(const ef_pq_reader *r, int col, const char *path, const char *name,
                            char **out, char **arena, ef_error *err) {
    ef_pq_column_data d = {0};
    EF_TRY(ef_pq_read_column_all(r, col, &d, err));
    int64_t n = d.n;
    ef_status st = EF_OK;
    char *ar = NULL;
    if (d.type == EF_PQ_BYTE_ARRAY || d.type == EF_PQ_FIXED_LEN_BYTE_ARRAY) {
        ar = ef_malloc(d.data_size + (size_t)n + 1);
        if (!ar) {
            st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        char *p = ar;
        for (int64_t i = 0; i < n; i++) {
            if (d.valid && !d.valid[i]) {
                st = EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s' is null at row %lld", path, name,
                            (long long)i);
                goto done;
            }
            size_t len = (size_t)(d.offsets[i + 1] - d.offsets[i]);
            memcpy(p, d.data + d.offsets[i], len);
            p[len] = 0;
            out[i] = p;
            p += len + 1;
        }
    } else if (d.type == EF_PQ_INT32 || d.type == EF_PQ_INT64) {
        /* integer era labels: written as zero-padded 4-digit strings like Numerai's */
        ar = ef_malloc((size_t)n * 24 + 1);
        if (!ar) {
            st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        for (int64_t i = 0; i < n; i++) {
            long long v = d.type == EF_PQ_INT32 ? ((int32_t *)d.values)[i] : ((int64_t *)d.values)[i];
            out[i] = ar + i * 24;
            snprintf(out[i], 24, "%04lld", v);
        }
    } else {
        st = EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s' has type %s (expected strings)", path, name,
                    ef_pq_type_name(d.type));
    }
done:
    ef_pq_column_data_free(&d);
    if (st) ef_free(ar);
    else *arena = ar;
    return st;
}

static ef_status pq_doubles(const ef_pq_reader *r, int col, const char *path, const char *name,
                            double *out, ef_error *err) {
    ef_pq_column_data d = {0};
    EF_TRY(ef_pq_read_column_all(r, col, &d, err));
    ef_status st = EF_OK;
    for (int64_t i = 0; i < d.n; i++) {
        double v;
        switch (d.type) {
        case EF_PQ_DOUBLE: v = ((double *)d.values)[i]; break;
        case EF_PQ_FLOAT: v = ((float *)d.values)[i]; break;
        case EF_PQ_INT32: v = ((int32_t *)d.values)[i]; break;
        case EF_PQ_INT64: v = (double)((int64_t *)d.values)[i]; break;
        case EF_PQ_BOOLEAN: v = ((uint8_t *)d.values)[i]; break;
        default:
            st = EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s' has type %s (expected numbers)", path,
                        name, ef_pq_type_name(d.type));
            goto done;
        }
        out[i] = (d.valid && !d.valid[i]) ? NAN : v;
    }
done:
    ef_pq_column_data_free(&d);
    return st;
}

static ef_status load_parquet(ef_report_table *t, const char *path, const ef_report_table_spec *sp,
                              ef_error *err) {
    ef_pq_reader *r = NULL;
    EF_TRY(ef_pq_reader_open(&r, path, err));
    int nc = ef_pq_num_columns(r);
    const char **names = ef_malloc((size_t)(nc ? nc : 1) * sizeof(char *));
    int *fcols = NULL;
    ef_status st = EF_OK;
    if (!names) {
        st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int j = 0; j < nc; j++) names[j] = ef_pq_column(r, j)->name;
    size_t n = (size_t)ef_pq_num_rows(r);
    int idc = ef_pq_find_column(r, sp->id_col);
    int erac = sp->era_col ? ef_pq_find_column(r, sp->era_col) : -1;
    if (idc < 0) {
        st = missing_column(path, "id", sp->id_col, names, (size_t)nc, err);
        goto done;
    }
    if (sp->era_col && erac < 0 && !sp->era_optional) {
        st = missing_column(path, "era", sp->era_col, names, (size_t)nc, err);
        goto done;
    }
    size_t nfeat = sp->nfeat;
    if (sp->feat_prefix && !nfeat)
        for (int j = 0; j < nc; j++) nfeat += !strncmp(names[j], sp->feat_prefix, strlen(sp->feat_prefix));
    st = alloc_table(t, path, n, erac >= 0, sp->nnum, nfeat, err);
    if (st) goto done;
    st = pq_strings(r, idc, path, sp->id_col, t->ids, &t->arena, err);
    if (!st && erac >= 0) st = pq_strings(r, erac, path, sp->era_col, t->eras, &t->arena2, err);
    for (size_t k = 0; k < sp->nnum && !st; k++) {
        int j = ef_pq_find_column(r, sp->num_cols[k]);
        if (j < 0) st = missing_column(path, "numeric", sp->num_cols[k], names, (size_t)nc, err);
        else st = pq_doubles(r, j, path, sp->num_cols[k], t->num[k], err);
    }
    if (st || !nfeat) goto done;
    fcols = ef_malloc(nfeat * sizeof(int));
    if (!fcols) {
        st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t fk = 0;
    for (int j = 0; j < nc && sp->feat_prefix && !sp->nfeat; j++)
        if (!strncmp(names[j], sp->feat_prefix, strlen(sp->feat_prefix))) fcols[fk++] = j;
    for (size_t k = 0; k < sp->nfeat; k++) {
        int j = ef_pq_find_column(r, sp->feat_cols[k]);
        if (j < 0) {
            st = missing_column(path, "feature", sp->feat_cols[k], names, (size_t)nc, err);
            goto done;
        }
        fcols[k] = j;
    }
    for (size_t k = 0; k < nfeat; k++)
        if (!(t->feat_names[k] = ef_strdup(names[fcols[k]]))) {
            st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    st = ef_pq_read_matrix_f32(r, fcols, (int)nfeat, t->feat, nfeat, err);
done:
    ef_free(fcols);
    ef_free(names);
    ef_pq_reader_close(r);
    return st;
}

ef_status ef_report_table_load(ef_report_table *t, const char *path,
                               const ef_report_table_spec *spec, ef_error *err) {
    memset(t, 0, sizeof *t);
    ef_status st = ends_with(path, ".csv") ? load_csv(t, path, spec, err)
                                           : load_parquet(t, path, spec, err);
    if (st) ef_report_table_free(t);
    return st;
}

// ---- id map and era order ---------------------------------------------------------------------

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ^ (h >> 29);
}

ef_status ef_report_idmap_build(ef_report_idmap *m, const char *const *keys, size_t n,
                                size_t *first_dup, ef_error *err) {
    m->keys = keys;
    m->cap = 16;
    while (m->cap < 2 * n + 1) m->cap *= 2;
    m->slot = ef_calloc(m->cap, sizeof(size_t));
    if (!m->slot) return EF_ERR(err, EF_ERR_NOMEM, "out of memory for an id map of %zu", n);
    if (first_dup) *first_dup = SIZE_MAX;
    size_t mask = m->cap - 1;
    for (size_t i = 0; i < n; i++) {
        size_t p = (size_t)hash_str(keys[i]) & mask;
        int dup = 0;
        while (m->slot[p]) {
            if (!strcmp(keys[m->slot[p] - 1], keys[i])) { dup = 1; break; }
            p = (p + 1) & mask;
        }
        if (dup) {
            if (first_dup && *first_dup == SIZE_MAX) *first_dup = i;
            continue;   /* the first occurrence wins */
        }
        m->slot[p] = i + 1;
    }
    return EF_OK;
}

size_t ef_report_idmap_find(const ef_report_idmap *m, const char *key) {
    size_t mask = m->cap - 1, p = (size_t)hash_str(key) & mask;
    while (m->slot[p]) {
        if (!strcmp(m->keys[m->slot[p] - 1], key)) return m->slot[p] - 1;
        p = (p + 1) & mask;
    }
    return SIZE_MAX;
}

void ef_report_idmap_free(ef_report_idmap *m) {
    ef_free(m->slot);
    memset(m, 0, sizeof *m);
}

/* Splits "era0042" into the prefix length and the numeric suffix; 0 when no digits end it. */
static int split_label(const char *s, size_t *plen, long long *num) {
    size_t n = strlen(s), k = n;
    while (k > 0 && isdigit((unsigned char)s[k - 1])) k--;
    if (k == n || n - k > 18) return 0;
    *plen = k;
    *num = atoll(s + k);
    return 1;
}

int ef_report_era_cmp(const char *a, const char *b) {
    size_t pa, pb;
    long long x, y;
    int da = split_label(a, &pa, &x), db = split_label(b, &pb, &y);
    /* "0042" < "0100" and "era2" < "era10": same prefix, numeric suffix by value */
    if (da && db && pa == pb && !strncmp(a, b, pa)) {
        if (x != y) return x < y ? -1 : 1;
        return strcmp(a, b);
    }
    /* numeric labels before the others (live "X" last) */
    int na = da && pa == 0, nb = db && pb == 0;
    if (na != nb) return na ? -1 : 1;
    return strcmp(a, b);
}
