/* CSV datasets: loading Numerai-layout CSV (header with id, era, data_type, feature_*,
 * target*; empty field or NaN = missing target; int features 0..4, or legacy float
 * columns (any value with a '.') in 0..1 mapped to 0..4), and writing a dataset in the
 * same layout. CSV is for small files and tests: the whole file is read into memory. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"

/* Splits line [p, end) at commas in place; returns the field count (at most max). */
static int split(char *p, char *end, char **fields, int max) {
    int n = 0;
    fields[n++] = p;
    for (char *q = p; q < end; q++) {
        if (*q == ',') {
            *q = 0;
            if (n < max) fields[n++] = q + 1;
        }
    }
    *end = 0;
    return n;
}

static int find_col(char **hdr, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(hdr[i], name)) return i;
    return -1;
}

/* legacy: the column holds floats 0, .25, .., 1 (it has a '.' somewhere): x4 */
static int8_t parse_level(const char *s, int legacy) {
    if (!*s) return 2;
    char *end;
    double v = strtod(s, &end);
    if (end == s || isnan(v)) return 2;
    if (legacy) v *= 4.0;
    v = round(v);
    return (int8_t)(v < 0 ? 0 : v > 4 ? 4 : v);
}

static float parse_target(const char *s) {
    if (!*s) return NAN;
    char *end;
    float v = strtof(s, &end);
    return end == s ? NAN : v;
}

typedef struct csv_file {
    char *text;
    size_t size;
    char **hdr;
    int ncol;
    char *body;   /* first data line */
} csv_file;

static ef_status csv_open(csv_file *c, const char *path, ef_error *err) {
    memset(c, 0, sizeof *c);
    EF_TRY(ef_file_read_all(path, &c->text, &c->size, err));
    char *nl = memchr(c->text, '\n', c->size);
    char *end = nl ? nl : c->text + c->size;
    if (end > c->text && end[-1] == '\r') end[-1] = ',';  /* dropped below as an empty name */
    int max = 1;
    for (char *q = c->text; q < end; q++) max += *q == ',';
    c->hdr = ef_malloc((size_t)max * sizeof *c->hdr);
    if (!c->hdr) {
        ef_free(c->text);
        memset(c, 0, sizeof *c);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    c->ncol = split(c->text, end, c->hdr, max);
    if (c->ncol > 1 && !c->hdr[c->ncol - 1][0] && end > c->text && end[-1] == 0) c->ncol--;
    c->body = nl ? nl + 1 : c->text + c->size;
    return EF_OK;
}

static void csv_close(csv_file *c) {
    ef_free(c->text);
    ef_free(c->hdr);
    memset(c, 0, sizeof *c);
}

static ef_status default_cols(const csv_file *c, int features, char ***out, int *n, ef_error *err) {
    char **v = ef_calloc((size_t)c->ncol, sizeof *v);
    int k = 0;
    if (!v) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < c->ncol; i++) {
        const char *h = c->hdr[i];
        int take = features ? !strncmp(h, "feature_", 8) : (!strcmp(h, "target") || !strncmp(h, "target_", 7));
        if (take && !(v[k++] = ef_strdup(h))) {
            ef_strlist_free(v, k - 1);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
    }
    *out = v;
    *n = k;
    return EF_OK;
}

/* The first file must have every selected column; later ones may lack targets (NaN). */
static ef_status load_one(ef_data_builder *b, const char *path, int first, ef_error *err) {
    ef_dataset *ds = b->ds;
    csv_file c;
    ef_status st = csv_open(&c, path, err);
    int *fc = NULL, *tc = NULL;
    uint8_t *legacy_col = NULL;
    char **fields = NULL;
    if (st) goto done;
    int F = ds->n_features, T = ds->n_targets;
    fc = ef_malloc((size_t)(F ? F : 1) * sizeof *fc);
    legacy_col = ef_malloc((size_t)(F ? F : 1));
    tc = ef_malloc((size_t)(T ? T : 1) * sizeof *tc);
    fields = ef_malloc((size_t)(c.ncol + 1) * sizeof *fields);
    if (!fc || !tc || !fields || !legacy_col) {
        st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < F && !st; j++)
        if ((fc[j] = find_col(c.hdr, c.ncol, ds->feature_names[j])) < 0)
            st = EF_ERR(err, EF_ERR_INVALID, "%s: no column '%s'", path, ds->feature_names[j]);
    for (int j = 0; j < T && !st; j++)
        if ((tc[j] = find_col(c.hdr, c.ncol, ds->target_names[j])) < 0 && first)
            st = EF_ERR(err, EF_ERR_INVALID, "%s: no column '%s'", path, ds->target_names[j]);
    if (st) goto done;
    int cid = find_col(c.hdr, c.ncol, "id"), cera = find_col(c.hdr, c.ncol, "era");
    int cdt = find_col(c.hdr, c.ncol, "data_type");
    /* one scan: line count, and which columns are legacy floats (any '.' in them) */
    int64_t lines = 1;
    uint8_t *dot = ef_calloc((size_t)c.ncol + 1, 1);
    if (!dot) {
        st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        goto done;
    }
    int col = 0;
    for (char *q = c.body; q < c.text + c.size; q++) {
        if (*q == ',') col += col < c.ncol;
        else if (*q == '\n') {
            lines++;
            col = 0;
        } else if (*q == '.') dot[col] = 1;
    }
    for (int j = 0; j < F; j++) legacy_col[j] = dot[fc[j]];
    ef_free(dot);
    if ((st = ef_data_builder_reserve(b, ds->n_rows + lines, err))) goto done;
    char *p = c.body, *tend = c.text + c.size;
    int64_t lineno = 1;
    while (p < tend && !st) {
        char *nl = memchr(p, '\n', (size_t)(tend - p));
        char *end = nl ? nl : tend;
        lineno++;
        if (end > p && end[-1] == '\r') end--;
        if (end == p) {
            p = nl ? nl + 1 : tend;
            continue;
        }
        int nfld = split(p, end, fields, c.ncol + 1);
        if (nfld != c.ncol) {
            st = EF_ERR(err, EF_ERR_FORMAT, "%s:%lld: %d fields, the header has %d", path,
                        (long long)lineno, nfld, c.ncol);
            break;
        }
        int64_t r = ds->n_rows;
        int8_t *x = ds->X + (size_t)r * (size_t)F;
        for (int j = 0; j < F; j++) x[j] = parse_level(fields[fc[j]], legacy_col[j]);
        for (int j = 0; j < T; j++)
            ds->y[(size_t)r * (size_t)T + (size_t)j] = tc[j] >= 0 ? parse_target(fields[tc[j]]) : NAN;
        const char *en = cera >= 0 ? fields[cera] : "X";
        int e = ef_data_builder_era(b, en, strlen(en));
        if (e < 0) {
            st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            break;
        }
        ds->row_era[r] = e;
        ds->row_type[r] = (uint8_t)(cdt >= 0 ? ef_data_type_parse(fields[cdt]) : EF_DT_OTHER);
        char idtmp[32];
        const char *id = cid >= 0 ? fields[cid] : idtmp;
        if (cid < 0) snprintf(idtmp, sizeof idtmp, "row%lld", (long long)r);
        st = ef_data_builder_id(b, r, id, strlen(id), err);
        ds->n_rows++;
        p = nl ? nl + 1 : tend;
    }
done:
    ef_free(legacy_col);
    ef_free(fc);
    ef_free(tc);
    ef_free(fields);
    csv_close(&c);
    return st;
}

ef_status ef_dataset_load_csv(ef_dataset *ds, const char *const *paths, int n_paths,
                              const ef_load_options *opt, ef_error *err) {
    memset(ds, 0, sizeof *ds);
    char **fn = NULL, **tn = NULL;
    int nf = 0, nt = 0;
    ef_status st = EF_OK;
    csv_file c0;
    memset(&c0, 0, sizeof c0);
    int need = !(opt && opt->features) || !(opt && (opt->targets || opt->no_targets));
    if (need) EF_TRY(csv_open(&c0, paths[0], err));
    if (opt && opt->features) {
        fn = ef_calloc((size_t)(opt->n_features ? opt->n_features : 1), sizeof *fn);
        if (!fn) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int i = 0; !st && i < opt->n_features; i++, nf++)
            if (!(fn[i] = ef_strdup(opt->features[i]))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    } else {
        st = default_cols(&c0, 1, &fn, &nf, err);
    }
    if (!st && opt && (opt->targets || opt->no_targets)) {
        int n = opt->no_targets ? 0 : opt->n_targets;
        tn = ef_calloc((size_t)(n ? n : 1), sizeof *tn);
        if (!tn) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int i = 0; !st && i < n; i++, nt++)
            if (!(tn[i] = ef_strdup(opt->targets[i]))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    } else if (!st) {
        st = default_cols(&c0, 0, &tn, &nt, err);
    }
    csv_close(&c0);
    ef_data_builder b;
    if (!st) st = ef_data_builder_init(&b, ds, nf, fn, nt, tn, err);
    ef_strlist_free(fn, nf);
    ef_strlist_free(tn, nt);
    if (st) return st;
    for (int p = 0; p < n_paths && !st; p++) st = load_one(&b, paths[p], p == 0, err);
    if (!st) st = ef_dataset_filter(ds, opt, err);
    if (st) ef_dataset_free(ds);
    return st;
}

// ---- writing ----------------------------------------------------------------------------

ef_status ef_dataset_write_csv(const ef_dataset *ds, FILE *fp, int header, ef_error *err) {
    int F = ds->n_features, T = ds->n_targets;
    if (header) {
        fputs("id,era,data_type", fp);
        for (int j = 0; j < F; j++) fprintf(fp, ",%s", ds->feature_names[j]);
        for (int j = 0; j < T; j++) fprintf(fp, ",%s", ds->target_names[j]);
        fputc('\n', fp);
    }
    for (int64_t r = 0; r < ds->n_rows; r++) {
        fprintf(fp, "%s,%s,%s", ef_dataset_id(ds, r), ds->eras[ds->row_era[r]].name,
                ef_data_type_name((ef_data_type)ds->row_type[r]));
        const int8_t *x = ds->X + (size_t)r * (size_t)F;
        char line[8];
        for (int j = 0; j < F; j++) {
            line[0] = ',';
            line[1] = (char)('0' + x[j]);
            fwrite(line, 1, 2, fp);
        }
        for (int j = 0; j < T; j++) {
            float v = ds->y[(size_t)r * (size_t)T + (size_t)j];
            if (isnan(v)) fputc(',', fp);
            else fprintf(fp, ",%.9g", (double)v);
        }
        fputc('\n', fp);
    }
    if (ferror(fp)) return EF_ERR(err, EF_ERR_IO, "writing CSV failed: %s", strerror(errno));
    return EF_OK;
}
