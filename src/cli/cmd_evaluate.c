/* eraformer evaluate: scores predictions per era like Numerai's validation diagnostics.
 * Joins the predictions to the data files by id, sorts rows by (era, id), computes CORR, MMC
 * (--meta-model), BMC (--benchmark), FNC and feature exposure (--features), the correlation
 * with the example predictions (--example), prints the summary table and, with --out, writes
 * summary.json, per_era.csv and report.html. Files are CSV (name ends in .csv) or parquet. */
#define _DEFAULT_SOURCE   /* mkstemps */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "numerai/model_dir.h"
#include "cli/report.h"
#include "eraformer/data.h"
#include "eraformer/metrics.h"

#define MAX_DATA 64

static void usage(FILE *f) {
    fprintf(f,
        "usage: eraformer evaluate --predictions FILE | --model DIR --data FILE [--data FILE ...] [options]\n\n"
        "Scores predictions per era exactly as numerai-tools does and prints Numerai's\n"
        "validation diagnostics (CORR mean/std/sharpe/max drawdown, MMC, BMC, FNC, max feature\n"
        "exposure, corr with example preds, APY). Files are CSV (*.csv) or parquet.\n\n"
        "  --predictions FILE      predictions with columns id and --column\n"
        "  --model MODEL           instead of --predictions: predict the --data files with a model\n"
        "                          directory written by 'train' (or a checkpoint, with --context)\n"
        "  --context FILES         context for --model (default: the model directory's train and\n"
        "                          validation files)\n"
        "  --column NAME           prediction column (default prediction)\n"
        "  --data FILE             data with id, era, the target (and features); repeatable\n"
        "  --target NAME           target column (default target)\n"
        "  --features SPEC         FNC and exposure features: with --features-json a set name or\n"
        "                          list (small, medium, serenity, feature_x,...); without it a\n"
        "                          comma-separated list of columns, or 'all' (every feature_*)\n"
        "  --features-json FILE    Numerai's features.json\n"
        "  --meta-model FILE       meta model predictions (MMC)\n"
        "  --meta-column NAME      default numerai_meta_model\n"
        "  --benchmark FILE        benchmark model predictions (BMC)\n"
        "  --benchmark-column NAME default v53_lgbm_ender20\n"
        "  --example FILE          example predictions (id,prediction): corr with example preds\n"
        "  --out DIR               write summary.json, per_era.csv and report.html there\n"
        "  --threads N             OpenMP threads (default: all cores)\n"
        "  --help                  this text\n");
}

typedef struct eval_opts {
    const char *pred_path, *column, *target, *features, *features_json, *meta_path, *meta_col;
    const char *bench_path, *bench_col, *example_path, *out_dir;
    const char *model, *context;   /* --model: predict --data first */
    const char *data[MAX_DATA];
    int n_data;
    long threads;
} eval_opts;

/* A kept row: which data file, which row of it, which prediction row. */
typedef struct kept {
    const char *era, *id;
    unsigned file;
    size_t row, prow;
} kept;

static int kept_cmp(const void *a, const void *b) {
    const kept *x = a, *y = b;
    int c = ef_report_era_cmp(x->era, y->era);
    return c ? c : strcmp(x->id, y->id);
}

/* Loads an (id, column) file and aligns its column to the kept rows: NaN where absent. */
static ef_status load_aligned(const char *path, const char *col, const kept *rows, size_t n,
                              double *out, size_t *matched, ef_error *err) {
    const char *cols[1] = {col};
    ef_report_table_spec sp = {"id", NULL, 0, cols, 1, NULL, 0, NULL};
    ef_report_table t;
    EF_TRY(ef_report_table_load(&t, path, &sp, err));
    ef_report_idmap m;
    ef_status st = ef_report_idmap_build(&m, (const char *const *)t.ids, t.n, NULL, err);
    if (st) {
        ef_report_table_free(&t);
        return st;
    }
    *matched = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = ef_report_idmap_find(&m, rows[i].id);
        out[i] = j == SIZE_MAX ? NAN : t.num[0][j];
        *matched += j != SIZE_MAX;
    }
    ef_report_idmap_free(&m);
    ef_report_table_free(&t);
    return EF_OK;
}

/* Feature names from --features / --features-json (NULL list + prefix for 'all'). */
static ef_status resolve_features(const eval_opts *o, char ***names, int *n, const char **prefix,
                                  ef_error *err) {
    *names = NULL;
    *n = 0;
    *prefix = NULL;
    if (!o->features) return EF_OK;
    if (o->features_json) {
        ef_features_json fj = {0};
        EF_TRY(ef_features_json_load(&fj, o->features_json, err));
        ef_status st = ef_features_json_select(&fj, o->features, names, n, err);
        ef_features_json_free(&fj);
        return st;
    }
    if (!strcmp(o->features, "all")) {
        *prefix = "feature_";
        return EF_OK;
    }
    int cnt = 1;
    for (const char *s = o->features; *s; s++) cnt += *s == ',';
    char **list = ef_calloc((size_t)cnt, sizeof(char *));
    if (!list) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    const char *s = o->features;
    int k = 0;
    while (k < cnt) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0) {
            ef_strlist_free(list, k);
            return EF_ERR(err, EF_ERR_INVALID, "--features: empty name in '%s'", o->features);
        }
        list[k] = ef_malloc(len + 1);
        if (!list[k]) {
            ef_strlist_free(list, k);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        memcpy(list[k], s, len);
        list[k][len] = 0;
        k++;
        s = e ? e + 1 : s + len;
    }
    *names = list;
    *n = cnt;
    return EF_OK;
}

static ef_status make_dir(const char *dir, ef_error *err) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat stt;
        if (stat(dir, &stt) == 0 && S_ISDIR(stt.st_mode)) return EF_OK;
    }
    return EF_ERR(err, EF_ERR_IO, "cannot create the output folder %s: %s", dir, strerror(errno));
}

static int run(const eval_opts *o) {
    ef_error err = {0};
    int rc = EF_EXIT_RUNTIME;
    double t0 = ef_time_now();
    char **fnames = NULL;
    int nfn = 0;
    const char *prefix = NULL;
    ef_report_table pt = {0}, dt[MAX_DATA];
    memset(dt, 0, sizeof dt);
    ef_report_idmap pm = {0};
    kept *rows = NULL;
    double *pred = NULL, *target = NULL, *meta = NULL, *bench = NULL, *example = NULL;
    float *feat = NULL;
    size_t *off = NULL, n = 0, E = 0, nf = 0;
    const char **era_names = NULL;
    double *fmean = NULL;
    ef_era_scores sc = {0};
    const char *hint = NULL;

    if (resolve_features(o, &fnames, &nfn, &prefix, &err)) goto fail;
    /* predictions */
    const char *pcols[1] = {o->column};
    ef_report_table_spec psp = {"id", NULL, 0, pcols, 1, NULL, 0, NULL};
    if (ef_report_table_load(&pt, o->pred_path, &psp, &err)) {
        hint = "the predictions need columns id and --column (default prediction)";
        goto fail;
    }
    size_t dup;
    if (ef_report_idmap_build(&pm, (const char *const *)pt.ids, pt.n, &dup, &err)) goto fail;
    if (dup != SIZE_MAX)
        fprintf(stderr, "evaluate: warning: duplicate id '%s' in %s (the first row is used)\n",
                pt.ids[dup], o->pred_path);
    /* data files, joined to the predictions by id */
    const char *tcols[1] = {o->target};
    ef_report_table_spec dsp = {"id", "era", 0, tcols, 1, (const char *const *)fnames,
                                (size_t)nfn, prefix};
    size_t total = 0;
    for (int k = 0; k < o->n_data; k++) {
        if (ef_report_table_load(&dt[k], o->data[k], &dsp, &err)) goto fail;
        if (k > 0 && dt[k].nfeat != dt[0].nfeat) {
            EF_ERR(&err, EF_ERR_INVALID, "%s has %zu feature columns, %s has %zu", o->data[k],
                   dt[k].nfeat, o->data[0], dt[0].nfeat);
            goto fail;
        }
        total += dt[k].n;
    }
    nf = o->n_data ? dt[0].nfeat : 0;
    rows = ef_malloc((total ? total : 1) * sizeof(kept));
    if (!rows) goto nomem;
    for (int k = 0; k < o->n_data; k++)
        for (size_t r = 0; r < dt[k].n; r++) {
            size_t j = ef_report_idmap_find(&pm, dt[k].ids[r]);
            if (j == SIZE_MAX) continue;
            rows[n++] = (kept){dt[k].eras[r], dt[k].ids[r], (unsigned)k, r, j};
        }
    fprintf(stderr, "evaluate: %zu of %zu data rows have a prediction (%zu predictions)\n", n,
            total, pt.n);
    if (n == 0) {
        EF_ERR(&err, EF_ERR_FORMAT, "no prediction id matches an id of the data files");
        hint = "are the predictions for these data files (validation ids, not live)?";
        goto fail;
    }
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++) sorted = kept_cmp(&rows[i - 1], &rows[i]) <= 0;
    if (!sorted) qsort(rows, n, sizeof *rows, kept_cmp);
    /* aligned columns and era offsets */
    pred = ef_malloc(n * sizeof(double));
    target = ef_malloc(n * sizeof(double));
    off = ef_malloc((n + 1) * sizeof(size_t));
    era_names = ef_malloc(n * sizeof(char *));
    if (!pred || !target || !off || !era_names) goto nomem;
    if (nf && !(feat = ef_malloc(n * nf * sizeof(float)))) goto nomem;
    for (size_t i = 0; i < n; i++) {
        const ef_report_table *t = &dt[rows[i].file];
        pred[i] = pt.num[0][rows[i].prow];
        target[i] = t->num[0][rows[i].row];
        if (nf) memcpy(feat + i * nf, t->feat + rows[i].row * nf, nf * sizeof(float));
        if (i == 0 || strcmp(rows[i].era, rows[i - 1].era)) {
            off[E] = i;
            era_names[E++] = rows[i].era;
        }
    }
    off[E] = n;
    size_t matched;
    if (o->meta_path) {
        if (!(meta = ef_malloc(n * sizeof(double)))) goto nomem;
        if (load_aligned(o->meta_path, o->meta_col, rows, n, meta, &matched, &err)) goto fail;
        fprintf(stderr, "evaluate: meta model covers %zu of %zu rows\n", matched, n);
    }
    if (o->bench_path) {
        if (!(bench = ef_malloc(n * sizeof(double)))) goto nomem;
        if (load_aligned(o->bench_path, o->bench_col, rows, n, bench, &matched, &err)) goto fail;
        fprintf(stderr, "evaluate: benchmark covers %zu of %zu rows\n", matched, n);
    }
    if (o->example_path) {
        if (!(example = ef_malloc(n * sizeof(double)))) goto nomem;
        if (load_aligned(o->example_path, "prediction", rows, n, example, &matched, &err)) goto fail;
        fprintf(stderr, "evaluate: example predictions cover %zu of %zu rows\n", matched, n);
    }
    double t1 = ef_time_now();
    /* score */
    ef_score_input in = {n, E, off, pred, target, meta, bench, example, feat, nf};
    if (ef_era_scores_compute(&sc, &in, &err)) goto fail;
    fprintf(stderr, "evaluate: loaded in %.2f s, scored %zu eras in %.2f s\n", t1 - t0, E,
            ef_time_now() - t1);
    if (sc.n_failed_corr)
        fprintf(stderr, "evaluate: warning: %zu era(s) could not be scored (fewer than 80%% of "
                        "their rows have both a prediction and a target)\n", sc.n_failed_corr);
    ef_era_summary s_corr, s_mmc, s_bmc, s_fnc, s_exp, s_ex;
    ef_era_summary_compute(&s_corr, sc.corr, E);
    ef_era_summary_compute(&s_mmc, sc.mmc, E);
    ef_era_summary_compute(&s_bmc, sc.bmc, E);
    ef_era_summary_compute(&s_fnc, sc.fnc, E);
    ef_era_summary_compute(&s_exp, sc.max_exposure, E);
    ef_era_summary_compute(&s_ex, sc.example_corr, E);
    if (nf && s_fnc.count == 0)
        fprintf(stderr, "evaluate: warning: FNC needs predictions without NaN (numerai-tools "
                        "asserts it); no era has them\n");
    if (s_corr.count == 0) {
        EF_ERR(&err, EF_ERR_FORMAT, "no era could be scored: every era lacks targets or "
                                     "predictions for more than 20%% of its rows");
        hint = "check --target and that the data has resolved targets";
        goto fail;
    }
    if (nf) {
        if (!(fmean = ef_malloc(nf * sizeof(double)))) goto nomem;
        for (size_t j = 0; j < nf; j++) {
            double s = 0;
            size_t c = 0;
            for (size_t e = 0; e < E; e++) {
                double v = sc.feature_corr[e * nf + j];
                if (!isnan(v)) { s += v; c++; }
            }
            fmean[j] = c ? s / (double)c : NAN;
        }
    }
    char title[512];
    snprintf(title, sizeof title, "eraformer evaluate: %s", o->pred_path);
    ef_report_data rd = {title, E, era_names, &sc, &s_corr, meta ? &s_mmc : NULL,
                         bench ? &s_bmc : NULL, nf ? &s_fnc : NULL, s_exp.mean,
                         example ? s_ex.mean : NAN, nf, (const char *const *)dt[0].feat_names,
                         fmean, n};
    ef_report_print_summary(stdout, &rd);
    if (o->out_dir) {
        char path[4096];
        if (make_dir(o->out_dir, &err)) goto fail;
        snprintf(path, sizeof path, "%s/summary.json", o->out_dir);
        if (ef_report_write_summary_json(&rd, path, &err)) goto fail;
        snprintf(path, sizeof path, "%s/per_era.csv", o->out_dir);
        if (ef_report_write_per_era_csv(&rd, path, &err)) goto fail;
        snprintf(path, sizeof path, "%s/report.html", o->out_dir);
        if (ef_report_html_write(&rd, path, &err)) goto fail;
        fprintf(stderr, "evaluate: wrote %s/{summary.json,per_era.csv,report.html}\n", o->out_dir);
    }
    rc = EF_EXIT_OK;
    goto done;
nomem:
    EF_ERR(&err, EF_ERR_NOMEM, "out of memory");
fail:
    rc = ef_cli_fail(&err, hint);
    if (rc == EF_EXIT_OK) rc = EF_EXIT_RUNTIME;
done:
    ef_era_scores_free(&sc);
    ef_free(fmean);
    ef_free(era_names);
    ef_free(off);
    ef_free(pred);
    ef_free(target);
    ef_free(meta);
    ef_free(bench);
    ef_free(example);
    ef_free(feat);
    ef_free(rows);
    ef_report_idmap_free(&pm);
    ef_report_table_free(&pt);
    for (int k = 0; k < o->n_data; k++) ef_report_table_free(&dt[k]);
    if (fnames) ef_strlist_free(fnames, nfn);
    return rc;
}

/* --model: predicts the --data files with the model (a `train` directory or checkpoints)
 * into tmp (a mkstemps template, replaced by the file's name), context from --context or the
 * model directory's own train and validation files. Predict's summary goes to stderr. */
static int predict_model(const eval_opts *o, char *tmp) {
    char ctx[4200] = "", data[8192] = "", thr[32];
    ef_error err = {0};
    if (o->context) {
        snprintf(ctx, sizeof ctx, "%s", o->context);
    } else if (md_is_model_dir(o->model)) {
        md_manifest *m = ef_malloc(sizeof *m);
        if (!m) return ef_cli_fail(&(ef_error){.code = EF_ERR_NOMEM, .msg = "out of memory"}, NULL);
        ef_status s = md_manifest_load(m, o->model, &err);
        if (!s) snprintf(ctx, sizeof ctx, "%.2000s%s%.2000s", m->train, m->validation[0] ? "," : "", m->validation);
        ef_free(m);
        if (s) return ef_cli_fail(&err, NULL);
    } else {
        return ef_cli_usage("evaluate", "--model FILE (a checkpoint) needs --context FILES");
    }
    for (int i = 0; i < o->n_data; i++) {
        size_t l = strlen(data);
        snprintf(data + l, sizeof data - l, "%s%s", i ? "," : "", o->data[i]);
    }
    int fd = mkstemps(tmp, 4);
    if (fd < 0) {
        err.code = EF_ERR_IO;
        snprintf(err.msg, sizeof err.msg, "cannot create a temporary file %s: %s", tmp, strerror(errno));
        return ef_cli_fail(&err, NULL);
    }
    close(fd);
    snprintf(thr, sizeof thr, "%ld", o->threads);
    char *argv[] = {"predict", "--model", (char *)o->model, "--data", data, "--context", ctx, "--out", tmp, "--threads", thr, NULL};
    int argc = o->threads ? 11 : 9;
    argv[argc] = NULL;
    int rc = ef_cli_run_stdout_to_stderr(ef_cmd_predict, argc, argv);
    if (rc) unlink(tmp);
    return rc;
}

int ef_cmd_evaluate(int argc, char **argv) {
    static const struct option opts[] = {
        {"predictions", required_argument, 0, 'p'}, {"column", required_argument, 0, 'c'},
        {"data", required_argument, 0, 'd'},        {"target", required_argument, 0, 't'},
        {"features", required_argument, 0, 'f'},    {"features-json", required_argument, 0, 'j'},
        {"meta-model", required_argument, 0, 'm'},  {"meta-column", required_argument, 0, 'M'},
        {"benchmark", required_argument, 0, 'b'},   {"benchmark-column", required_argument, 0, 'B'},
        {"example", required_argument, 0, 'e'},     {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 'T'},     {"help", no_argument, 0, 'h'},
        {"model", required_argument, 0, 1001},      {"context", required_argument, 0, 1002},
        {0, 0, 0, 0},
    };
    eval_opts o = {0};
    o.column = "prediction";
    o.target = "target";
    o.meta_col = "numerai_meta_model";
    o.bench_col = "v53_lgbm_ender20";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:c:d:t:f:j:m:M:b:B:e:o:T:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': o.pred_path = optarg; break;
        case 'c': o.column = optarg; break;
        case 'd':
            if (o.n_data == MAX_DATA) return ef_cli_usage("evaluate", "at most %d --data files", MAX_DATA);
            o.data[o.n_data++] = optarg;
            break;
        case 't': o.target = optarg; break;
        case 'f': o.features = optarg; break;
        case 'j': o.features_json = optarg; break;
        case 'm': o.meta_path = optarg; break;
        case 'M': o.meta_col = optarg; break;
        case 'b': o.bench_path = optarg; break;
        case 'B': o.bench_col = optarg; break;
        case 'e': o.example_path = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'T':
            if (ef_cli_parse_long("evaluate", "--threads", optarg, 1, 1024, &o.threads)) return EF_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EF_EXIT_OK;
        case 1001: o.model = optarg; break;
        case 1002: o.context = optarg; break;
        default: return ef_cli_usage("evaluate", "unknown option");
        }
    }
    if (optind != argc) return ef_cli_usage("evaluate", "unexpected argument '%s'", argv[optind]);
    if (!o.pred_path == !o.model) return ef_cli_usage("evaluate", "give --predictions FILE or --model MODEL");
    if (!o.n_data) return ef_cli_usage("evaluate", "at least one --data FILE is required");
    if (o.features_json && !o.features)
        return ef_cli_usage("evaluate", "--features-json needs --features SET (e.g. small)");
    if (o.threads) ef_threads_set((int)o.threads);
    if (!o.model) return run(&o);
    char tmp[] = "/tmp/eraformer-evaluate-XXXXXX.csv";
    int rc = predict_model(&o, tmp);
    if (rc == 0) {
        o.pred_path = tmp;
        rc = run(&o);
    }
    unlink(tmp);
    return rc;
}
