/* eraformer baseline: the classical Numerai baselines on the same data and evaluation path
 * as the transformer: ridge (LAPACK, via ef_baseline_fit_predict) and XGBoost through its C
 * API with Numerai's example-model parameters (2000 trees, learning rate 0.01, max depth 5,
 * colsample_bytree 0.1), trained on every train era by default: the strongest version a user
 * would run (every N-th era stays an option, --era-every). Predictions are ranked per era into
 * (0, 1] and written as id,prediction. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "eraformer/data.h"
#include "eraformer/metrics.h"
#include "eraformer/prior.h"
#ifdef EF_HAVE_XGBOOST
#include <xgboost/c_api.h>
#endif

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer baseline --kind ridge|xgboost --train FILE --validation FILE --out FILE [options]\n"
"\n"
"Fits a classical model on --train and predicts --validation (and --live): the baselines the\n"
"fine-tuned transformer is compared with. Output id,prediction, ranked per era into (0, 1].\n"
"\n"
"  --kind K              ridge (LAPACK) or xgboost (XGBoost C API)\n"
"  --train FILE          training data\n"
"  --validation FILE     data to predict (scored with 'eraformer evaluate')\n"
"  --out FILE            predictions for --validation (CSV)\n"
"  --live FILE --live-out FILE   also predict live data\n"
"  --features-json FILE  with --feature-set: the features to use (default every feature_*)\n"
"  --feature-set SPEC    set name(s), e.g. small, medium, all\n"
"  --target NAME         training target (default target)\n"
"  --era-every N         train on every N-th era (default 1: all eras; Numerai's example\n"
"                        scripts use 4 to save time, which makes a weaker XGBoost)\n"
"  --alpha X             ridge penalty per row: lambda = X * rows (default 1e-3)\n"
"  --trees N             xgboost rounds (default 2000)\n"
"  --lr X                xgboost learning rate (default 0.01)\n"
"  --max-depth N         xgboost depth (default 5)\n"
"  --colsample X         xgboost colsample_bytree (default 0.1)\n"
"  --threads N           threads (default: all cores)\n"
"\n"
"Prints a JSON summary on stdout.\n");
}

typedef struct bl_opts {
    const char *kind, *train, *valid, *out, *live, *live_out, *fjson, *fset, *target;
    long era_every, trees, depth, threads;
    double alpha, lr, colsample;
} bl_opts;

/* x = value - 2 (centred levels), n rows of ds */
static float *features_f32(const ef_dataset *ds, ef_error *err) {
    size_t n = (size_t)ds->n_rows, d = (size_t)ds->n_features;
    float *x = ef_malloc((n ? n : 1) * d * sizeof(float));
    if (!x) {
        EF_ERR(err, EF_ERR_NOMEM, "out of memory for %zu x %zu features", n, d);
        return NULL;
    }
    for (size_t i = 0; i < n * d; i++) x[i] = (float)ds->X[i] - 2.0f;
    return x;
}

#ifdef EF_HAVE_XGBOOST
#define XGB_TRY(call)                                                                               \
    do {                                                                                            \
        if ((call) != 0) {                                                                          \
            s = EF_ERR(err, EF_ERR_INTERNAL, "xgboost: %s failed: %s", #call, XGBGetLastError());   \
            goto xdone;                                                                             \
        }                                                                                           \
    } while (0)
#endif

static ef_status xgb_fit_predict(const bl_opts *o, const float *x, const float *y, size_t n, size_t d,
                                 const float *const *xq, const size_t *nq, float **pq, int nsets, ef_error *err) {
#ifdef EF_HAVE_XGBOOST
    ef_status s = EF_OK;
    DMatrixHandle dtrain = NULL;
    BoosterHandle bst = NULL;
    char buf[64];
    XGB_TRY(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)d, NAN, &dtrain));
    XGB_TRY(XGDMatrixSetFloatInfo(dtrain, "label", y, (bst_ulong)n));
    XGB_TRY(XGBoosterCreate(&dtrain, 1, &bst));
    snprintf(buf, sizeof buf, "%ld", o->threads > 0 ? o->threads : (long)ef_threads_get());
    XGB_TRY(XGBoosterSetParam(bst, "nthread", buf));
    XGB_TRY(XGBoosterSetParam(bst, "verbosity", "0"));
    XGB_TRY(XGBoosterSetParam(bst, "objective", "reg:squarederror"));
    XGB_TRY(XGBoosterSetParam(bst, "tree_method", "hist"));
    XGB_TRY(XGBoosterSetParam(bst, "seed", "0"));
    snprintf(buf, sizeof buf, "%ld", o->depth);
    XGB_TRY(XGBoosterSetParam(bst, "max_depth", buf));
    snprintf(buf, sizeof buf, "%.17g", o->lr);
    XGB_TRY(XGBoosterSetParam(bst, "eta", buf));
    snprintf(buf, sizeof buf, "%.17g", o->colsample);
    XGB_TRY(XGBoosterSetParam(bst, "colsample_bytree", buf));
    ef_progress prog;
    ef_progress_start(&prog, "xgboost", (double)o->trees, "trees");
    for (long it = 0; it < o->trees; it++) {
        XGB_TRY(XGBoosterUpdateOneIter(bst, (int)it, dtrain));
        ef_progress_update(&prog, (double)(it + 1), NULL);
    }
    ef_progress_finish(&prog, (double)o->trees, NULL);
    for (int k = 0; k < nsets; k++) {
        DMatrixHandle dq = NULL;
        bst_ulong len = 0;
        const float *out = NULL;
        XGB_TRY(XGDMatrixCreateFromMat(xq[k], (bst_ulong)nq[k], (bst_ulong)d, NAN, &dq));
        int r = XGBoosterPredict(bst, dq, 0, 0, 0, &len, &out);
        if (r == 0 && len == nq[k]) memcpy(pq[k], out, nq[k] * sizeof(float));
        XGDMatrixFree(dq);
        if (r != 0 || len != nq[k]) {
            s = EF_ERR(err, EF_ERR_INTERNAL, "xgboost: prediction failed: %s", XGBGetLastError());
            goto xdone;
        }
    }
xdone:
    if (bst) XGBoosterFree(bst);
    if (dtrain) XGDMatrixFree(dtrain);
    return s;
#else
    (void)o; (void)x; (void)y; (void)n; (void)d; (void)xq; (void)nq; (void)pq; (void)nsets;
    return EF_ERR(err, EF_ERR_UNSUPPORTED, "this eraformer was built without libxgboost (install libxgboost-dev)");
#endif
}

static ef_status write_preds(const char *path, const ef_dataset *ds, const float *p, ef_error *err) {
    size_t n = (size_t)ds->n_rows;
    double *v = ef_malloc((n ? n : 1) * sizeof(double));
    size_t *off = ef_malloc(((size_t)ds->n_eras + 1) * sizeof(size_t));
    ef_status s = EF_OK;
    if (!v || !off) {
        s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) v[i] = p[i];
    for (int e = 0; e <= ds->n_eras; e++) off[e] = e < ds->n_eras ? (size_t)ds->eras[e].start : n;
    if ((s = ef_predictions_rank_per_era(v, v, off, (size_t)ds->n_eras, err)) != EF_OK) goto done;
    ef_atomic_file af;
    if ((s = ef_atomic_open(&af, path, err)) != EF_OK) goto done;
    fprintf(af.fp, "id,prediction\n");
    for (size_t i = 0; i < n; i++) fprintf(af.fp, "%s,%.9f\n", ef_dataset_id(ds, (int64_t)i), v[i]);
    s = ef_atomic_commit(&af, err);
done:
    ef_free(v);
    ef_free(off);
    return s;
}

int ef_cmd_baseline(int argc, char **argv) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"kind", required_argument, 0, 'k'}, {"train", required_argument, 0, 't'},
        {"validation", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'}, {"live", required_argument, 0, 'l'},
        {"live-out", required_argument, 0, 'L'}, {"features-json", required_argument, 0, 'j'},
        {"feature-set", required_argument, 0, 'f'}, {"target", required_argument, 0, 'y'},
        {"era-every", required_argument, 0, 'e'}, {"alpha", required_argument, 0, 'a'}, {"trees", required_argument, 0, 'n'},
        {"lr", required_argument, 0, 'r'}, {"max-depth", required_argument, 0, 'd'}, {"colsample", required_argument, 0, 'c'},
        {"threads", required_argument, 0, 'T'}, {0, 0, 0, 0}};
    const char *cmd = "baseline";
    bl_opts o = {.target = "target", .era_every = -1, .trees = 2000, .depth = 5, .alpha = 1e-3, .lr = 0.01, .colsample = 0.1};
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'k': o.kind = optarg; break;
        case 't': o.train = optarg; break;
        case 'v': o.valid = optarg; break;
        case 'o': o.out = optarg; break;
        case 'l': o.live = optarg; break;
        case 'L': o.live_out = optarg; break;
        case 'j': o.fjson = optarg; break;
        case 'f': o.fset = optarg; break;
        case 'y': o.target = optarg; break;
        case 'e': rc = ef_cli_parse_long(cmd, "--era-every", optarg, 1, 1000, &o.era_every); break;
        case 'a': rc = ef_cli_parse_double(cmd, "--alpha", optarg, 0, 1e9, &o.alpha); break;
        case 'n': rc = ef_cli_parse_long(cmd, "--trees", optarg, 1, 1000000, &o.trees); break;
        case 'r': rc = ef_cli_parse_double(cmd, "--lr", optarg, 1e-9, 10, &o.lr); break;
        case 'd': rc = ef_cli_parse_long(cmd, "--max-depth", optarg, 1, 64, &o.depth); break;
        case 'c': rc = ef_cli_parse_double(cmd, "--colsample", optarg, 1e-6, 1, &o.colsample); break;
        case 'T': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &o.threads); break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.kind || !o.train || !o.valid || !o.out) return ef_cli_usage(cmd, "--kind, --train, --validation and --out are required");
    int is_xgb = !strcmp(o.kind, "xgboost");
    if (!is_xgb && strcmp(o.kind, "ridge")) return ef_cli_usage(cmd, "--kind expects ridge or xgboost, got '%s'", o.kind);
    if (!o.live != !o.live_out) return ef_cli_usage(cmd, "--live and --live-out go together");
    if (o.fset && !o.fjson) return ef_cli_usage(cmd, "--feature-set needs --features-json");
    if (o.era_every < 0) o.era_every = 1;   /* all eras: the fair comparison */
    if (o.threads) ef_threads_set((int)o.threads);

    double t0 = ef_time_now();
    ef_error err = {0};
    int status = EF_EXIT_OK;
    char **feat = NULL;
    int nfeat = 0;
    ef_dataset tr = {0}, va = {0}, li = {0};
    float *xt = NULL, *yt = NULL, *xv = NULL, *xl = NULL, *pv = NULL, *pl = NULL;
    if (o.fjson) {
        ef_features_json fj = {0};
        ef_status s = ef_features_json_load(&fj, o.fjson, &err);
        if (s == EF_OK) s = ef_features_json_select(&fj, o.fset ? o.fset : "all", &feat, &nfeat, &err);
        ef_features_json_free(&fj);
        if (s != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
    }
    ef_load_options lt = {0}, lq = {0};
    const char *tnames[1] = {o.target};
    lt.features = (const char *const *)feat;
    lt.n_features = nfeat;
    lt.targets = tnames;
    lt.n_targets = 1;
    lt.era_every = (int)o.era_every;
    lt.require_target = o.target;
    lq.features = lt.features;
    lq.n_features = nfeat;
    lq.no_targets = 1;
    fprintf(stderr, "baseline: loading %s (every %ld era(s))\n", o.train, o.era_every);
    if (ef_dataset_load(&tr, &o.train, 1, &lt, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (!nfeat) {
        lq.features = (const char *const *)tr.feature_names;
        lq.n_features = tr.n_features;
    }
    if (ef_dataset_load(&va, &o.valid, 1, &lq, &err) != EF_OK || (o.live && ef_dataset_load(&li, &o.live, 1, &lq, &err) != EF_OK)) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    size_t n = (size_t)tr.n_rows, d = (size_t)tr.n_features;
    xt = features_f32(&tr, &err);
    xv = features_f32(&va, &err);
    xl = o.live ? features_f32(&li, &err) : NULL;
    yt = ef_malloc((n ? n : 1) * sizeof(float));
    pv = ef_malloc((size_t)(va.n_rows ? va.n_rows : 1) * sizeof(float));
    pl = ef_malloc((size_t)(li.n_rows ? li.n_rows : 1) * sizeof(float));
    if (!xt || !xv || (o.live && !xl) || !yt || !pv || !pl) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory (%zu rows x %zu features)", n, d);
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    double ymean = 0;
    for (size_t i = 0; i < n; i++) ymean += tr.y[i];
    ymean = n ? ymean / (double)n : 0;
    for (size_t i = 0; i < n; i++) yt[i] = (float)(tr.y[i] - ymean);
    fprintf(stderr, "baseline: %s on %zu rows x %zu features (%d eras)\n", o.kind, n, d, tr.n_eras);
    ef_status s;
    if (is_xgb) {
        const float *xq[2] = {xv, xl};
        size_t nq[2] = {(size_t)va.n_rows, (size_t)li.n_rows};
        float *pq[2] = {pv, pl};
        s = xgb_fit_predict(&o, xt, yt, n, d, xq, nq, pq, o.live ? 2 : 1, &err);
    } else {
        ef_baseline b;
        ef_baseline_init(&b, EF_BASELINE_RIDGE);
        b.ridge_alpha = o.alpha * (double)n;
        s = ef_baseline_fit_predict(&b, xt, yt, (int)n, (int)d, (int)d, xv, (int)va.n_rows, 0, pv, &err);
        if (s == EF_OK && o.live)
            s = ef_baseline_fit_predict(&b, xt, yt, (int)n, (int)d, (int)d, xl, (int)li.n_rows, 0, pl, &err);
    }
    if (s != EF_OK || write_preds(o.out, &va, pv, &err) != EF_OK || (o.live && write_preds(o.live_out, &li, pl, &err) != EF_OK)) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    printf("{\"kind\":\"%s\",\"train_rows\":%zu,\"features\":%zu,\"validation_rows\":%lld,\"out\":\"%s\",\"seconds\":%.2f}\n",
           o.kind, n, d, (long long)va.n_rows, o.out, ef_time_now() - t0);
done:
    ef_strlist_free(feat, nfeat);
    ef_dataset_free(&tr); ef_dataset_free(&va); ef_dataset_free(&li);
    ef_free(xt); ef_free(yt); ef_free(xv); ef_free(xl); ef_free(pv); ef_free(pl);
    return status;
}
