/* eraformer predict: predictions of a fine-tuned model for every era of a data file, each era
 * from a K-member context ensemble (members differ in their context sample and, with the
 * subset read-in, their feature subset), ranked per era into (0, 1]. Context comes from the
 * --context files: for a numbered era the resolved eras at least the embargo before it, for
 * live the newest resolved eras. Output: id,prediction (CSV or parquet). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/model_dir.h"
#include "cli/numerai_tasks.h"
#include "eraformer/data.h"
#include "eraformer/metrics.h"
#include "eraformer/model.h"
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

#define MAX_MODELS 64
#define MAX_FILES 16

/* --model: comma-separated checkpoints and model directories (`train`), the latter replaced
 * by their verified members. *paths: an ef_strlist. */
static ef_status expand_models(const char *arg, char ***paths, int *n, ef_error *err) {
    char *copy = ef_strdup(arg), **out = ef_calloc(MAX_MODELS + 1, sizeof(char *));
    int k = 0;
    ef_status s = copy && out ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (char *tok = copy ? strtok(copy, ",") : NULL; !s && tok; tok = strtok(NULL, ",")) {
        char **mem = NULL;
        int nmem = 0;
        if (md_is_model_dir(tok)) {
            if ((s = md_member_paths(tok, &mem, &nmem, err)) != EF_OK) break;
        } else {
            mem = ef_calloc(1, sizeof(char *));
            if (mem) mem[0] = ef_strdup(tok);
            nmem = 1;
            if (!mem || !mem[0]) s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; !s && i < nmem; i++) {
            if (k >= MAX_MODELS + 1) break;   /* refused by the caller */
            out[k++] = mem[i];
            mem[i] = NULL;
        }
        ef_strlist_free(mem, nmem);
    }
    ef_free(copy);
    if (s) {
        ef_strlist_free(out, MAX_MODELS + 1);
        return s;
    }
    *paths = out;
    *n = k;
    return EF_OK;
}

/* The models of an ensemble must read the same columns the same way. */
static int same_inputs(const nt_meta *a, const nt_meta *b) {
    if (a->n_feat != b->n_feat || a->targets.n != b->targets.n || a->transform != b->transform ||
        a->n_groups != b->n_groups || a->read_in != b->read_in)
        return 0;
    for (int i = 0; i < a->n_feat; i++)
        if (strcmp(a->features[i], b->features[i])) return 0;
    for (int i = 0; i < a->targets.n; i++)
        if (strcmp(a->targets.names[i], b->targets.names[i]) || a->targets.w[i] != b->targets.w[i]) return 0;
    for (int g = 0; g <= a->n_groups && a->n_groups; g++)
        if (a->group_off[g] != b->group_off[g]) return 0;
    for (int i = 0; a->n_groups && i < a->group_off[a->n_groups]; i++)
        if (a->group_idx[i] != b->group_idx[i]) return 0;
    return 1;
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
    long v, K = 0, nctx = 0, embargo = -1, window = -1, threads = 0;
    uint64_t seed = 0;
    int has_seed = 0, c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'm': model = optarg; break;
        case 'd': data_s = optarg; break;
        case 'c': ctx_s = optarg; break;
        case 'o': out = optarg; break;
        case 'K': rc = ef_cli_parse_long(cmd, "--ensemble", optarg, 1, 1024, &K); break;
        case 'n': rc = ef_cli_parse_long(cmd, "--context-rows", optarg, 1, 1 << 20, &nctx); break;
        case 'b': rc = ef_cli_parse_long(cmd, "--embargo", optarg, 0, 100000, &embargo); break;
        case 'w': rc = ef_cli_parse_long(cmd, "--window", optarg, 0, 100000, &window); break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &seed); has_seed = 1; break;
        case 'T': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &v); threads = v; break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model || !data_s || !ctx_s || !out) return ef_cli_usage(cmd, "--model, --data, --context and --out are required");
    if (threads) ef_threads_set((int)threads);
    double t0 = ef_time_now();
    ef_error err = {0};
    int status = EF_EXIT_OK;
    nt_meta metas[MAX_MODELS];
    ef_model *ms[MAX_MODELS] = {0};
    ef_rows_cache *caches[MAX_MODELS] = {0};
    nt_pred_opts pos[MAX_MODELS];
    double *mpred = NULL;
    const double **mcols = NULL;
    memset(metas, 0, sizeof metas);
    ef_dataset cds = {0}, qds = {0};
    ef_tasks ct = {0}, qt = {0};
    float *y = NULL;
    double *pred = NULL;
    char *dcopy = ef_strdup(data_s), *ccopy = ef_strdup(ctx_s);
    const char *dpaths[MAX_FILES + 1], *cpaths[MAX_FILES + 1];
    char **mpaths = NULL;
    int nd = dcopy ? split_paths(dcopy, dpaths, MAX_FILES + 1) : 0, nc = ccopy ? split_paths(ccopy, cpaths, MAX_FILES + 1) : 0;
    int nm = 0;
    if (nd == 0 || nc == 0 || nd > MAX_FILES || nc > MAX_FILES) {
        status = ef_cli_usage(cmd, "--data and --context take 1 to %d comma-separated files", MAX_FILES);
        goto done;
    }
    if (expand_models(model, &mpaths, &nm, &err) != EF_OK) {
        status = ef_cli_fail(&err, "a model directory is written by 'eraformer train' (train --resume finishes an interrupted one; a damaged member means training again into a new --out)");
        goto done;
    }
    if (nm < 1 || nm > MAX_MODELS) {
        status = ef_cli_usage(cmd, "--model takes 1 to %d checkpoints (files or model directories' members), got %d", MAX_MODELS, nm);
        goto done;
    }
    for (int i = 0; i < nm; i++) {
        if (nt_model_load(&ms[i], &metas[i], mpaths[i], 1, &err) != EF_OK) {
            status = ef_cli_fail(&err, "--model needs a checkpoint written by 'eraformer finetune' (older ones: with its .json)");
            goto done;
        }
        if (!same_inputs(&metas[0], &metas[i])) {
            status = ef_cli_usage(cmd, "%s and %s read different features, targets or encodings: they cannot be ensembled",
                                  mpaths[0], mpaths[i]);
            goto done;
        }
        const nt_meta *mt = &metas[i];
        pos[i] = (nt_pred_opts){mt->read_in, K ? (int)K : mt->members, nctx ? (int)nctx : mt->context_rows,
                                embargo >= 0 ? (int)embargo : mt->embargo, window >= 0 ? (int)window : mt->window,
                                has_seed ? seed : mt->seed, mt->feature_dropout};
    }
    nt_meta meta = metas[0];   /* the shared inputs */
    nt_pred_opts po = pos[0];
    ef_load_options lo_c = {0}, lo_q = {0};
    lo_c.features = (const char *const *)meta.features;
    lo_c.n_features = meta.n_feat;
    lo_c.targets = (const char *const *)meta.targets.names;
    lo_c.n_targets = meta.targets.n;
    lo_q.features = lo_c.features;
    lo_q.n_features = lo_c.n_features;
    lo_q.no_targets = 1;
    fprintf(stderr, "predict: loading context (%d file(s)) and data (%d file(s))\n", nc, nd);
    if (ef_dataset_load(&qds, dpaths, nd, &lo_q, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    /* live only, with a window: the context is the newest resolved eras, so only the newest
     * eras of the context files are read (+32 for unresolved ones at the end: Numerai's newest
     * validation eras have no targets yet) */
    int all_live = qds.n_eras > 0;
    for (int e = 0; e < qds.n_eras; e++) all_live &= qds.eras[e].num >= EF_ERA_LIVE_NUM;
    for (int i = 0; i < nm; i++) all_live &= pos[i].window > 0;
    if (all_live) {
        int w = 0;
        for (int i = 0; i < nm; i++) w = EF_MAX(w, pos[i].window);
        lo_c.era_newest = w + 32;
    }
    if (ef_dataset_load(&cds, cpaths, nc, &lo_c, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    int tcol[64];
    for (int i = 0; i < meta.targets.n && i < 64; i++) {
        tcol[i] = ef_dataset_find_target(&cds, meta.targets.names[i]);
        if (tcol[i] < 0) {
            err.code = EF_ERR_INVALID;
            snprintf(err.msg, sizeof err.msg, "target '%.200s' of the model is not in the --context files", meta.targets.names[i]);
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
    }
    y = ef_malloc((size_t)(cds.n_rows > 0 ? cds.n_rows : 1) * sizeof(float));
    pred = ef_malloc((size_t)(qds.n_rows > 0 ? qds.n_rows : 1) * sizeof(double));
    if (!y || !pred) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (meta.targets.n > 64 || nt_engineer_target(&cds, tcol, meta.targets.w, meta.targets.n, y, &err) != EF_OK ||
        ef_tasks_init(&ct, &cds, meta.features, meta.n_feat, y, &err) != EF_OK ||
        ef_tasks_init(&qt, &qds, meta.features, meta.n_feat, NULL, &err) != EF_OK ||
        ef_tasks_set_encoding(&ct, (ef_feature_transform)meta.transform, meta.n_groups, meta.group_off, meta.group_idx,
                              &err) != EF_OK ||
        ef_tasks_set_encoding(&qt, (ef_feature_transform)meta.transform, meta.n_groups, meta.group_off, meta.group_idx,
                              &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    for (int i = 0; i < nm; i++) {
        if (ef_rows_cache_create(&caches[i], ms[i], pos[i].context_rows, &err) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
    }
    int64_t max_era = 1;
    for (int e = 0; e < qds.n_eras; e++) max_era = EF_MAX(max_era, qds.eras[e].count);
    mpred = ef_malloc((size_t)nm * (size_t)max_era * sizeof(double));
    mcols = ef_malloc((size_t)nm * sizeof(double *));
    if (!mpred || !mcols) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    fprintf(stderr, "predict: %lld rows in %d era(s) to predict; context %lld rows in %d eras; %d model(s) x %d members x "
            "%d context rows, embargo %d\n", (long long)qds.n_rows, qds.n_eras, (long long)cds.n_rows, cds.n_eras, nm,
            po.members, po.context_rows, po.embargo);
    double t_pred = ef_time_now();
    ef_progress prog;
    ef_progress_start(&prog, "predict", (double)qds.n_rows, "rows");
    int64_t done_rows = 0;
    for (int e = 0; e < qds.n_eras; e++) {
        double *dst = nm == 1 ? pred + qds.eras[e].start : mpred;
        size_t ne_rows = (size_t)qds.eras[e].count;
        for (int i = 0; i < nm; i++) {
            if (nt_predict_era(ms[i], caches[i], &ct, &qt, e, &pos[i], dst + (size_t)i * ne_rows, &err) != EF_OK) {
                status = ef_cli_fail(&err, "give --context files with eras before the predicted ones, or a smaller --embargo");
                goto done;
            }
            mcols[i] = dst + (size_t)i * ne_rows;
        }
        if (nm > 1) {
            /* models: gaussianized, averaged and ranked into (0, 1], as members are */
            size_t off[2] = {0, ne_rows};
            if (ef_predictions_ensemble(pred + qds.eras[e].start, mcols, NULL, (size_t)nm, off, 1, &err) != EF_OK) {
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
        }
        done_rows += qds.eras[e].count;
        char extra[64];
        snprintf(extra, sizeof extra, "era %s", qds.eras[e].name);
        ef_progress_update(&prog, (double)done_rows, extra);
    }
    ef_progress_finish(&prog, (double)done_rows, NULL);
    t_pred = ef_time_now() - t_pred;
    if (write_out(out, &qds, pred, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    printf("{\"rows\":%lld,\"eras\":%d,\"models\":%d,\"members\":%d,\"context_rows\":%d,\"embargo\":%d,\"out\":\"%s\",\"seconds\":%.2f,"
           "\"predict_seconds\":%.3f}\n", (long long)qds.n_rows, qds.n_eras, nm, po.members, po.context_rows, po.embargo, out,
           ef_time_now() - t0, t_pred);
done:
    ef_free(dcopy); ef_free(ccopy); ef_free(y); ef_free(pred);
    ef_tasks_free(&ct); ef_tasks_free(&qt);
    ef_dataset_free(&cds); ef_dataset_free(&qds);
    for (int i = 0; i < MAX_MODELS; i++) {
        ef_rows_cache_destroy(caches[i]);
        ef_model_destroy(ms[i]);
        nt_meta_free(&metas[i]);
    }
    ef_strlist_free(mpaths, MAX_MODELS + 1);
    ef_free(mpred);
    ef_free((void *)mcols);
    return status;
}
