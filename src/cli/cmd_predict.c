/* eraformer predict: predictions of fine-tuned models for every era of a data file (the
 * pipeline is ef_numerai_predict, include/eraformer/numerai.h: per era a K-member context
 * ensemble per model, ranked into (0, 1]). This file parses the options, loads the files
 * through the library, shows progress and writes id,prediction (CSV or parquet). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "eraformer/data.h"
#include "eraformer/numerai.h"
#include "eraformer/parquet_writer.h"

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer predict --model FILE --data FILE[,FILE] --context FILE[,FILE] --out FILE [options]\n"
"\n"
"Predicts every era of --data with a model written by 'eraformer finetune'. Each era gets\n"
"K ensemble members, each with its own sample of labelled context rows from --context (for a\n"
"numbered era: resolved eras at least --embargo eras before it; for live: the newest resolved\n"
"eras); members are gaussianized, averaged and ranked per era into (0, 1]. Several models\n"
"(fine-tuned with the same features, targets and feature encoding, e.g. different --seed)\n"
"are ensembled the same way: each model's era predictions are gaussianized and averaged.\n"
"\n"
"  --model FILE[,FILE]   fine-tuned checkpoint(s) (older ones need their FILE.json beside them)\n"
"                        or model directories written by 'eraformer train' (all their members)\n"
"  --data FILES          eras to predict (live.parquet, validation.parquet; comma-separated)\n"
"  --context FILES       labelled data for the context (train.parquet,validation.parquet)\n"
"  --out FILE            predictions: id,prediction (.csv, or .parquet)\n"
"  --ensemble K          members per era (default: the model's, 4)\n"
"  --context-rows N      context rows per member (default: as fine-tuned)\n"
"  --embargo N           default: as fine-tuned\n"
"  --window N            context from the N newest allowed eras (default: as fine-tuned);\n"
"                         for live data only the newest N+32 eras of --context are read\n"
"  --seed N              member seed (default: the model's)\n"
"  --threads N           OpenMP threads (default: all cores)\n"
"\n"
"Prints a JSON summary (rows, eras, seconds) on stdout.\n");
}

static int split_paths(char *s, const char **out, int cap) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < cap; tok = strtok(NULL, ",")) out[n++] = tok;
    return n;
}

static ef_status write_out(const char *path, const ef_dataset *ds, const double *pred, ef_error *err) {
    size_t l = strlen(path);
    if (l > 8 && !strcmp(path + l - 8, ".parquet")) {
        const char **ids = ef_malloc((size_t)(ds->n_rows > 0 ? ds->n_rows : 1) * sizeof(char *));
        EF_CHECK(ids, err, EF_ERR_NOMEM, "out of memory");
        for (int64_t r = 0; r < ds->n_rows; r++) ids[r] = ef_dataset_id(ds, r);
        ef_pqw_column cols[2] = {{"id", EF_PQW_STRING, 0, EF_PQW_SNAPPY, 0}, {"prediction", EF_PQW_DOUBLE, 0, EF_PQW_SNAPPY, 0}};
        ef_pqw_data data[2] = {{ids, 0, NULL}, {pred, 0, NULL}};
        ef_pqw *w = NULL;
        ef_status s = ef_pqw_open(&w, path, cols, 2, NULL, err);
        if (s == EF_OK) s = ef_pqw_write_row_group(w, (size_t)ds->n_rows, data, err);
        if (s == EF_OK) s = ef_pqw_close(w, err);
        else if (w) ef_pqw_abort(w);
        ef_free((void *)ids);
        return s;
    }
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    fprintf(af.fp, "id,prediction\n");
    for (int64_t r = 0; r < ds->n_rows; r++) fprintf(af.fp, "%s,%.9f\n", ef_dataset_id(ds, r), pred[r]);
    return ef_atomic_commit(&af, err);
}

#define MAX_FILES 16

/* ef_progress per predicted era */
typedef struct pred_progress {
    ef_progress p;
    const ef_dataset *ds;
} pred_progress;

static void on_era(void *ctx, int era, int64_t rows_done) {
    pred_progress *pp = ctx;
    char extra[64];
    snprintf(extra, sizeof extra, "era %s", pp->ds->eras[era].name);
    ef_progress_update(&pp->p, (double)rows_done, extra);
}

int ef_cmd_predict(int argc, char **argv) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"context", required_argument, 0, 'c'}, {"out", required_argument, 0, 'o'}, {"ensemble", required_argument, 0, 'K'},
        {"context-rows", required_argument, 0, 'n'}, {"embargo", required_argument, 0, 'b'},
        {"window", required_argument, 0, 'w'}, {"seed", required_argument, 0, 'S'}, {"threads", required_argument, 0, 'T'},
        {0, 0, 0, 0}};
    const char *cmd = "predict", *out = NULL;
    char *data_s = NULL, *ctx_s = NULL, *model = NULL;
    long v;
    ef_numerai_predict_opts po;
    ef_numerai_predict_opts_init(&po);
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'm': model = optarg; break;
        case 'd': data_s = optarg; break;
        case 'c': ctx_s = optarg; break;
        case 'o': out = optarg; break;
        case 'K': rc = ef_cli_parse_long(cmd, "--ensemble", optarg, 1, 1024, &v); po.members = (int)v; break;
        case 'n': rc = ef_cli_parse_long(cmd, "--context-rows", optarg, 1, 1 << 20, &v); po.context_rows = (int)v; break;
        case 'b': rc = ef_cli_parse_long(cmd, "--embargo", optarg, 0, 100000, &v); po.embargo = (int)v; break;
        case 'w': rc = ef_cli_parse_long(cmd, "--window", optarg, 0, 100000, &v); po.window = (int)v; break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &po.seed); po.has_seed = 1; break;
        case 'T': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &v); po.threads = (int)v; break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model || !data_s || !ctx_s || !out) return ef_cli_usage(cmd, "--model, --data, --context and --out are required");
    if (po.threads) ef_threads_set(po.threads);   /* loading too */
    double t0 = ef_time_now();
    ef_error err = {0};
    int status = EF_EXIT_OK;
    ef_numerai_model *nm = NULL;
    ef_dataset cds = {0}, qds = {0};
    double *pred = NULL;
    char *dcopy = ef_strdup(data_s), *ccopy = ef_strdup(ctx_s), **mpaths = NULL;
    const char *dpaths[MAX_FILES + 1], *cpaths[MAX_FILES + 1];
    int nd = dcopy ? split_paths(dcopy, dpaths, MAX_FILES + 1) : 0, nc = ccopy ? split_paths(ccopy, cpaths, MAX_FILES + 1) : 0;
    int nm_n = 0;
    if (nd == 0 || nc == 0 || nd > MAX_FILES || nc > MAX_FILES) {
        status = ef_cli_usage(cmd, "--data and --context take 1 to %d comma-separated files", MAX_FILES);
        goto done;
    }
    if (ef_numerai_model_paths(model, &mpaths, &nm_n, &err) != EF_OK) {
        status = ef_cli_fail(&err, "a model directory is written by 'eraformer train' (train --resume finishes an interrupted one; a damaged member means training again into a new --out)");
        goto done;
    }
    if (ef_numerai_model_load_paths(&nm, (const char *const *)mpaths, nm_n, &err) != EF_OK) {
        status = ef_cli_fail(&err, err.code == EF_ERR_INVALID ? NULL
                                   : "--model needs a checkpoint written by 'eraformer finetune' (older ones: with its .json)");
        goto done;
    }
    fprintf(stderr, "predict: loading context (%d file(s)) and data (%d file(s))\n", nc, nd);
    if (ef_numerai_data_load(nm, dpaths, nd, &qds, &err) != EF_OK ||
        ef_numerai_context_load(nm, &qds, &po, cpaths, nc, &cds, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    pred = ef_malloc((size_t)(qds.n_rows > 0 ? qds.n_rows : 1) * sizeof(double));
    if (!pred) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    ef_numerai_era_opts eo;   /* model 0's, for the messages */
    ef_numerai_predict_resolve(nm, 0, &po, &eo);
    fprintf(stderr, "predict: %lld rows in %d era(s) to predict; context %lld rows in %d eras; %d model(s) x %d members x "
            "%d context rows, embargo %d\n", (long long)qds.n_rows, qds.n_eras, (long long)cds.n_rows, cds.n_eras, nm_n,
            eo.members, eo.context_rows, eo.embargo);
    double t_pred = ef_time_now();
    pred_progress pp = {.ds = &qds};
    ef_progress_start(&pp.p, "predict", (double)qds.n_rows, "rows");
    po.on_era = on_era;
    po.ctx = &pp;
    if (ef_numerai_predict(nm, &qds, &cds, &po, pred, &err) != EF_OK) {
        status = ef_cli_fail(&err, "give --context files with eras before the predicted ones, or a smaller --embargo");
        goto done;
    }
    ef_progress_finish(&pp.p, (double)qds.n_rows, NULL);
    t_pred = ef_time_now() - t_pred;
    if (write_out(out, &qds, pred, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    printf("{\"rows\":%lld,\"eras\":%d,\"models\":%d,\"members\":%d,\"context_rows\":%d,\"embargo\":%d,\"out\":\"%s\",\"seconds\":%.2f,"
           "\"predict_seconds\":%.3f}\n", (long long)qds.n_rows, qds.n_eras, nm_n, eo.members, eo.context_rows, eo.embargo, out,
           ef_time_now() - t0, t_pred);
done:
    ef_free(dcopy); ef_free(ccopy); ef_free(pred);
    ef_dataset_free(&cds); ef_dataset_free(&qds);
    ef_numerai_model_destroy(nm);
    ef_strlist_free(mpaths, EF_NUMERAI_MAX_MODELS + 1);
    return status;
}
