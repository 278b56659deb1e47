/* eraformer icl-predict: the in-context regressor (include/eraformer/icl.h) on any numeric
 * table. Reads a training and a test table (CSV or parquet, raw float columns), fits on the
 * training rows' numeric columns (all but the target and the id column), predicts the test rows
 * and writes id,prediction (or prediction alone) as CSV. A target column in the test file is
 * ignored: only the training table's feature columns are looked up in it, by name. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/icl_table.h"
#include "eraformer/icl.h"

#ifndef EF_MODELS_DIR
#define EF_MODELS_DIR "models"
#endif
#define DEFAULT_MODEL "linear-d10.st"  /* the best shipped model on real tables (docs/icl_regressor.md) */

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer icl-predict --train FILE --test FILE --target NAME --out FILE [options]\n"
"\n"
"In-context regression on any numeric table: no training, one pass of a pretrained model per\n"
"ensemble member with (a sample of) the training rows as its context.\n"
"\n"
"  --train FILE        training table, CSV (header line) or parquet; every numeric column but\n"
"                      the target and the id column (id, index, __index_level_0__, an unnamed\n"
"                      first column or 'Unnamed: 0') is a feature; raw values, NaN/empty/NA =\n"
"                      missing; other (text) columns are skipped with a note\n"
"  --test FILE         rows to predict, with the training table's feature columns (by name, in\n"
"                      any order); a target column there is ignored\n"
"  --target NAME       the training table's target column (finite values)\n"
"  --out FILE          CSV: the test table's id column (when it has one) and 'prediction'\n"
"  --model FILE        a rows-layout checkpoint without row positions (default %s/%s)\n"
"  --ensemble N        members (default 16): each sees its own context sample, column subset\n"
"                      (when there are more columns than the model's d_max) and symmetry\n"
"  --context-rows N    context rows per member (default: the model's pretraining capacity,\n"
"                      max_points - 1)\n"
"  --scaling S         robust (default: median/IQR, clipped) or rankgauss\n"
"  --wide W            subset (default) or project: how members see more columns than d_max\n"
"  --seed N            every random choice (default 0)\n"
"  --threads N         OpenMP threads (default: the OpenMP default)\n"
"\n"
"A JSON summary on stdout; progress on stderr.\n", EF_MODELS_DIR, DEFAULT_MODEL);
}

typedef struct icl_opts {
    const char *train, *test, *target, *out, *model;
    ef_icl_options o;
    long threads;
} icl_opts;

static int parse_choice(const char *opt, const char *s, const char *a, const char *b, int *out) {
    if (!strcmp(s, a)) *out = 0;
    else if (!strcmp(s, b)) *out = 1;
    else return ef_cli_usage("icl-predict", "%s must be %s or %s, not '%s'", opt, a, b, s);
    return 0;
}

static int parse_args(int argc, char **argv, icl_opts *o) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"train", required_argument, 0, 'r'}, {"test", required_argument, 0, 't'},
        {"target", required_argument, 0, 'y'}, {"out", required_argument, 0, 'o'}, {"model", required_argument, 0, 'm'},
        {"ensemble", required_argument, 0, 'K'}, {"context-rows", required_argument, 0, 'n'},
        {"scaling", required_argument, 0, 'c'}, {"wide", required_argument, 0, 'w'}, {"seed", required_argument, 0, 'S'},
        {"threads", required_argument, 0, 'T'}, {0, 0, 0, 0}};
    const char *cmd = "icl-predict";
    long v;
    int c, rc = 0, k = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return -1;
        case 'r': o->train = optarg; break;
        case 't': o->test = optarg; break;
        case 'y': o->target = optarg; break;
        case 'o': o->out = optarg; break;
        case 'm': o->model = optarg; break;
        case 'K': rc = ef_cli_parse_long(cmd, "--ensemble", optarg, 1, 1024, &v); o->o.n_ensemble = (int)v; break;
        case 'n': rc = ef_cli_parse_long(cmd, "--context-rows", optarg, 1, 1 << 20, &v); o->o.max_context = (int)v; break;
        case 'c': rc = parse_choice("--scaling", optarg, "robust", "rankgauss", &k); o->o.scaling = (ef_icl_scaling)k; break;
        case 'w': rc = parse_choice("--wide", optarg, "subset", "project", &k); o->o.wide = (ef_icl_wide)k; break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &o->o.seed); break;
        case 'T': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &o->threads); break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
    }
    if (rc) return rc;
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->train || !o->test || !o->target || !o->out)
        return ef_cli_usage(cmd, "--train, --test, --target and --out are required");
    return 0;
}

/* the training table's feature columns: numeric, not the target, not the id column */
static int feature_columns(const icl_table *tr, int ycol, int *cols) {
    int d = 0;
    for (int j = 0; j < tr->ncol; j++) {
        if (j == ycol || j == tr->id_col) continue;
        if (tr->numeric[j]) cols[d++] = j;
        else fprintf(stderr, "icl-predict: column '%s' is not numeric: skipped\n", tr->names[j]);
    }
    return d;
}

/* X (rows, d) from the table's columns cols (d of them) */
static float *gather(const icl_table *t, const int *cols, int d) {
    float *X = ef_malloc((size_t)t->n * d * sizeof *X + 1);
    for (int64_t i = 0; X && i < t->n; i++)
        for (int j = 0; j < d; j++) X[(size_t)i * d + j] = t->v[(size_t)i * t->ncol + cols[j]];
    return X;
}

/* the test table's columns holding the training features (by name) */
static ef_status match_columns(const icl_table *tr, const int *cols, int d, const icl_table *te, const char *path,
                               int *tcols, ef_error *err) {
    for (int j = 0; j < d; j++) {
        const char *name = tr->names[cols[j]];
        tcols[j] = icl_table_find(te, name);
        if (tcols[j] < 0) return EF_ERR(err, EF_ERR_FORMAT, "%s has no column '%s' (a feature of the training table)", path, name);
        if (!te->numeric[tcols[j]]) return EF_ERR(err, EF_ERR_FORMAT, "%s: column '%s' is not numeric", path, name);
    }
    return EF_OK;
}

static void put_text(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static ef_status write_predictions(const char *path, const icl_table *te, const float *pred, ef_error *err) {
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    const char *idname = te->id_col >= 0 ? te->names[te->id_col] : NULL;
    if (idname) {
        put_text(af.fp, idname[0] ? idname : "index");
        fputc(',', af.fp);
    }
    fputs("prediction\n", af.fp);
    for (int64_t i = 0; i < te->n; i++) {
        if (idname) {
            put_text(af.fp, te->id[i]);
            fputc(',', af.fp);
        }
        fprintf(af.fp, "%.9g\n", (double)pred[i]);
    }
    ef_status st = ef_atomic_commit(&af, err);
    if (st != EF_OK) ef_atomic_abort(&af);
    return st;
}

typedef struct icl_run {
    icl_table tr, te;
    int *cols, *tcols, d;
    float *X, *y, *Xt, *pred;
    ef_icl_regressor *reg;
} icl_run;

static void run_free(icl_run *r) {
    icl_table_free(&r->tr);
    icl_table_free(&r->te);
    ef_free(r->cols); ef_free(r->tcols); ef_free(r->X); ef_free(r->y); ef_free(r->Xt); ef_free(r->pred);
    ef_icl_regressor_destroy(r->reg);
}

/* both tables -> X, y, Xt */
static ef_status load_tables(icl_run *r, const icl_opts *o, ef_error *err) {
    EF_TRY(icl_table_load(&r->tr, o->train, err));
    int ycol = icl_table_find(&r->tr, o->target);
    EF_CHECK(ycol >= 0, err, EF_ERR_INVALID, "%s has no column '%s' (--target)", o->train, o->target);
    EF_CHECK(r->tr.numeric[ycol], err, EF_ERR_FORMAT, "%s: the target '%s' is not numeric", o->train, o->target);
    r->cols = ef_malloc((size_t)r->tr.ncol * sizeof *r->cols);
    r->tcols = ef_malloc((size_t)r->tr.ncol * sizeof *r->tcols);
    if (!r->cols || !r->tcols) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    r->d = feature_columns(&r->tr, ycol, r->cols);
    EF_CHECK(r->d > 0, err, EF_ERR_FORMAT, "%s: no numeric feature column besides the target", o->train);
    EF_TRY(icl_table_load(&r->te, o->test, err));
    EF_TRY(match_columns(&r->tr, r->cols, r->d, &r->te, o->test, r->tcols, err));
    r->X = gather(&r->tr, r->cols, r->d);
    r->y = gather(&r->tr, &ycol, 1);
    r->Xt = gather(&r->te, r->tcols, r->d);
    r->pred = ef_malloc((size_t)r->te.n * sizeof *r->pred + 1);
    if (!r->X || !r->y || !r->Xt || !r->pred) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

static ef_status run(icl_run *r, const icl_opts *o, const char *model, ef_error *err) {
    double t0 = ef_time_now();
    EF_TRY(load_tables(r, o, err));
    double t1 = ef_time_now();
    EF_TRY(ef_icl_regressor_open(&r->reg, model, &o->o, err));
    fprintf(stderr, "icl-predict: %lld train rows x %d features, %lld test rows; model %s (d_max %d, %d points), "
            "%d members, %d context rows\n", (long long)r->tr.n, r->d, (long long)r->te.n, model,
            ef_icl_regressor_model_width(r->reg), ef_icl_regressor_model_points(r->reg), o->o.n_ensemble,
            (int)EF_MIN((int64_t)(o->o.max_context ? o->o.max_context : ef_icl_regressor_model_points(r->reg) - 1), r->tr.n));
    EF_TRY(ef_icl_regressor_fit(r->reg, r->X, r->y, r->tr.n, r->d, (int)o->threads, err));
    EF_TRY(ef_icl_regressor_predict(r->reg, r->Xt, r->te.n, r->d, (int)o->threads, r->pred, err));
    double t2 = ef_time_now();
    EF_TRY(write_predictions(o->out, &r->te, r->pred, err));
    printf("{\"command\": \"icl-predict\", \"model\": \"%s\", \"train_rows\": %lld, \"test_rows\": %lld, "
           "\"features\": %d, \"context_rows\": %d, \"ensemble\": %d, \"load_s\": %.3f, \"fit_predict_s\": %.3f, "
           "\"out\": \"%s\"}\n", model, (long long)r->tr.n, (long long)r->te.n, r->d, ef_icl_regressor_context_rows(r->reg),
           o->o.n_ensemble, t1 - t0, t2 - t1, o->out);
    return EF_OK;
}

int ef_cmd_icl_predict(int argc, char **argv) {
    icl_opts o;
    memset(&o, 0, sizeof o);
    ef_icl_options_init(&o.o);
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? EF_EXIT_OK : rc;
    char model[4096];
    snprintf(model, sizeof model, "%s", o.model ? o.model : EF_MODELS_DIR "/" DEFAULT_MODEL);
    icl_run r;
    memset(&r, 0, sizeof r);
    ef_error err = {0};
    ef_status st = run(&r, &o, model, &err);
    run_free(&r);
    if (st != EF_OK)
        return ef_cli_fail(&err, st == EF_ERR_INVALID ? "see 'eraformer icl-predict --help'"
                                                      : "the test file needs every feature column of the training file");
    return EF_EXIT_OK;
}
