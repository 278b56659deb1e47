/* eraformer blend: a weighted ensemble of prediction files (id,prediction), e.g. eraformer's
 * and an XGBoost baseline's. Per era (eras from --data, or the whole file as one era, as a
 * live file is) each file's predictions are gaussianized, standardised and summed with the
 * weights, and the sum re-ranked to (0, 1] (ef_predictions_ensemble). Rows keep the first
 * file's order; every file must hold exactly the same ids. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/report.h"
#include "eraformer/metrics.h"

#define BLEND_MAX 16

static void usage(FILE *f) {
    fprintf(f,
        "usage: eraformer blend --predictions A,B[,...] --out FILE [options]\n\n"
        "Blends prediction files (columns id and prediction, CSV or parquet) into one: per era\n"
        "each file is gaussianized (tie-kept rank, normal score), standardised, weighted and\n"
        "summed, and the sum ranked to (0, 1] like Numerai's example predictions. Every file must\n"
        "hold the same ids; the output keeps the first file's row order.\n\n"
        "  --predictions A,B,...   prediction files (2 to %d)\n"
        "  --weights W1,W2,...     one weight per file (default: equal)\n"
        "  --data FILE             data with id and era columns: blend per era (default: the\n"
        "                          whole file is one era, as a live file is)\n"
        "  --out FILE              blended predictions (id,prediction CSV), written atomically\n"
        "  --help                  this text\n\n"
        "Example (eraformer and XGBoost, 1:1):\n"
        "  eraformer blend --predictions model/validation/predictions.csv,xgb.csv \\\n"
        "      --data validation.parquet --out blend.csv\n", BLEND_MAX);
}

typedef struct blend_opts {
    char *files[BLEND_MAX];
    double w[BLEND_MAX];
    int n, nw;
    const char *data, *out;
} blend_opts;

/* Splits a comma list into the files (strdup'd, freed by the caller). */
static int split_files(blend_opts *o, const char *s) {
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (o->n == BLEND_MAX) return ef_cli_usage("blend", "at most %d --predictions files", BLEND_MAX);
        if (len == 0) return ef_cli_usage("blend", "--predictions: empty file name in '%s'", s);
        o->files[o->n] = strndup(p, len);
        if (!o->files[o->n++]) return ef_cli_usage("blend", "out of memory");
        p += len + (p[len] == ',');
    }
    return 0;
}

static int split_weights(blend_opts *o, const char *s) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->nw == BLEND_MAX) return ef_cli_usage("blend", "at most %d --weights", BLEND_MAX);
        int rc = ef_cli_parse_double("blend", "--weights", t, 0, 1e6, &o->w[o->nw++]);
        if (rc) return rc;
    }
    return 0;
}

static int parse(blend_opts *o, int argc, char **argv) {
    static const struct option lo[] = {
        {"predictions", required_argument, 0, 'p'}, {"weights", required_argument, 0, 'w'},
        {"data", required_argument, 0, 'd'},        {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p': rc = split_files(o, optarg); break;
        case 'w': rc = split_weights(o, optarg); break;
        case 'd': o->data = optarg; break;
        case 'o': o->out = optarg; break;
        case 'h': usage(stdout); return -1;
        default: return ef_cli_usage("blend", "unknown option");
        }
    }
    if (rc) return rc;
    if (optind < argc) return ef_cli_usage("blend", "unexpected argument '%s'", argv[optind]);
    if (o->n < 2) return ef_cli_usage("blend", "--predictions needs at least two files");
    if (!o->out) return ef_cli_usage("blend", "--out is required");
    if (o->nw && o->nw != o->n)
        return ef_cli_usage("blend", "%d --weights for %d --predictions files", o->nw, o->n);
    double sum = 0;
    for (int i = 0; i < o->nw; i++) sum += o->w[i];
    if (o->nw && !(sum > 0)) return ef_cli_usage("blend", "--weights must not all be 0");
    return 0;
}

/* Column of file i aligned to the ids of t0 (row order of the first file). The files must
 * hold the same ids (no duplicates), predictions finite. */
static ef_status load_aligned(const char *path, const ef_report_table *t0, const ef_report_idmap *m0,
                              double *out, ef_error *err) {
    const char *cols[1] = {"prediction"};
    ef_report_table_spec sp = {"id", NULL, 0, cols, 1, NULL, 0, NULL};
    ef_report_table t;
    EF_TRY(ef_report_table_load(&t, path, &sp, err));
    char *seen = ef_calloc(t0->n ? t0->n : 1, 1);
    ef_status st = seen ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    if (!st && t.n != t0->n)
        st = EF_ERR(err, EF_ERR_INVALID, "%s: %zu rows, but %s has %zu (the files must hold the same ids)",
                    path, t.n, t0->path, t0->n);
    for (size_t i = 0; !st && i < t.n; i++) {
        size_t j = ef_report_idmap_find(m0, t.ids[i]);
        if (j == SIZE_MAX)
            st = EF_ERR(err, EF_ERR_INVALID, "%s: row %zu: id '%s' is not in %s", path, i + 1, t.ids[i], t0->path);
        else if (seen[j])
            st = EF_ERR(err, EF_ERR_INVALID, "%s: row %zu: id '%s' appears twice", path, i + 1, t.ids[i]);
        else if (!isfinite(t.num[0][i]))
            st = EF_ERR(err, EF_ERR_FORMAT, "%s: row %zu (id '%s'): prediction is not a finite number", path,
                        i + 1, t.ids[i]);
        else {
            out[j] = t.num[0][i];
            seen[j] = 1;
        }
    }
    ef_free(seen);
    ef_report_table_free(&t);
    return st;
}

/* Sort key of a row: its era label, then its position (a stable order within the era). */
typedef struct blend_row {
    const char *era;
    size_t row;
} blend_row;

static int blend_row_cmp(const void *a, const void *b) {
    const blend_row *x = a, *y = b;
    int c = ef_report_era_cmp(x->era, y->era);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* order[k] = the k-th row in (era, row) order and era_off (n_eras + 1 offsets) from the --data
 * file's era of each id of t0; without --data one era of every row. */
static ef_status era_order(const blend_opts *o, const ef_report_table *t0, size_t *order, size_t **era_off,
                           size_t *n_eras, ef_error *err) {
    size_t n = t0->n;
    *era_off = ef_calloc(n + 1, sizeof(size_t));
    if (!*era_off) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) order[i] = i;
    if (!o->data) {
        (*era_off)[1] = n;
        *n_eras = 1;
        return EF_OK;
    }
    ef_report_table_spec sp = {"id", "era", 0, NULL, 0, NULL, 0, NULL};
    ef_report_table d;
    EF_TRY(ef_report_table_load(&d, o->data, &sp, err));
    ef_report_idmap m = {0};
    ef_status st = ef_report_idmap_build(&m, (const char *const *)d.ids, d.n, NULL, err);
    blend_row *rows = st ? NULL : ef_malloc((n ? n : 1) * sizeof *rows);
    if (!st && !rows) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        size_t j = ef_report_idmap_find(&m, t0->ids[i]);
        if (j == SIZE_MAX)
            st = EF_ERR(err, EF_ERR_INVALID, "%s: id '%s' (row %zu) is not in %s", t0->path, t0->ids[i], i + 1,
                        o->data);
        else
            rows[i] = (blend_row){d.eras[j], i};
    }
    if (!st) {
        qsort(rows, n, sizeof *rows, blend_row_cmp);
        size_t e = 0;
        for (size_t k = 0; k < n; k++) {
            order[k] = rows[k].row;
            if (k == 0 || strcmp(rows[k].era, rows[k - 1].era)) (*era_off)[e++] = k;
        }
        (*era_off)[e] = n;
        *n_eras = e;
    }
    ef_free(rows);
    ef_report_idmap_free(&m);
    ef_report_table_free(&d);
    return st;
}

static ef_status write_out(const char *path, const ef_report_table *t0, const double *pred, ef_error *err) {
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    fprintf(af.fp, "id,prediction\n");
    for (size_t i = 0; i < t0->n; i++) fprintf(af.fp, "%s,%.9f\n", t0->ids[i], pred[i]);
    return ef_atomic_commit(&af, err);
}

/* Loads, aligns, orders by era, blends (in era order) and writes in the first file's order. */
static ef_status blend_run(const blend_opts *o, ef_error *err) {
    const char *cols[1] = {"prediction"};
    ef_report_table_spec sp = {"id", NULL, 0, cols, 1, NULL, 0, NULL};
    ef_report_table t0;
    EF_TRY(ef_report_table_load(&t0, o->files[0], &sp, err));
    size_t n = t0.n, n_eras = 0, *era_off = NULL;
    ef_report_idmap m0 = {0};
    size_t dup = 0;
    ef_status st = n ? ef_report_idmap_build(&m0, (const char *const *)t0.ids, n, &dup, err)
                     : EF_ERR(err, EF_ERR_INVALID, "%s: no rows", o->files[0]);
    if (st == EF_OK && dup != SIZE_MAX && dup < n)
        st = EF_ERR(err, EF_ERR_INVALID, "%s: id '%s' appears twice", o->files[0], t0.ids[dup]);
    double *col = st ? NULL : ef_malloc(n * (size_t)o->n * sizeof(double));
    double *sorted = st ? NULL : ef_malloc(n * (size_t)(o->n + 1) * sizeof(double));
    size_t *order = st ? NULL : ef_malloc(n * sizeof(size_t));
    if (!st && (!col || !sorted || !order)) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        col[i] = t0.num[0][i];
        if (!isfinite(col[i]))
            st = EF_ERR(err, EF_ERR_FORMAT, "%s: row %zu (id '%s'): prediction is not a finite number",
                        o->files[0], i + 1, t0.ids[i]);
    }
    for (int f = 1; !st && f < o->n; f++) st = load_aligned(o->files[f], &t0, &m0, col + (size_t)f * n, err);
    if (!st) st = era_order(o, &t0, order, &era_off, &n_eras, err);
    if (!st) {
        const double *cols_sorted[BLEND_MAX];
        for (int f = 0; f < o->n; f++) {
            double *c = sorted + (size_t)f * n;
            for (size_t k = 0; k < n; k++) c[k] = col[(size_t)f * n + order[k]];
            cols_sorted[f] = c;
        }
        double *outs = sorted + (size_t)o->n * n;
        st = ef_predictions_ensemble(outs, cols_sorted, o->nw ? o->w : NULL, (size_t)o->n, era_off, n_eras, err);
        for (size_t k = 0; !st && k < n; k++) col[order[k]] = outs[k];   /* col 0 reused: output */
    }
    if (!st) st = write_out(o->out, &t0, col, err);
    ef_report_idmap_free(&m0);
    ef_free(col);
    ef_free(sorted);
    ef_free(order);
    ef_free(era_off);
    ef_report_table_free(&t0);
    return st;
}

int ef_cmd_blend(int argc, char **argv) {
    blend_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse(&o, argc, argv);
    if (rc == 0) {
        ef_error err = {0};
        if (blend_run(&o, &err)) rc = ef_cli_fail(&err, NULL);
        else fprintf(stderr, "blend: %d files -> %s\n", o.n, o.out);
    }
    for (int i = 0; i < o.n; i++) free(o.files[i]);
    return rc < 0 ? 0 : rc;
}
