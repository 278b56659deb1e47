/* eraformer finetune: trains the rows-layout transformer on in-context tasks cut from Numerai
 * eras (query rows from one train era, labelled context rows from earlier eras behind the
 * embargo), with early stopping on validation CORR computed by the same context-ensemble
 * procedure that `predict` uses. Writes the best checkpoint (+ OUT.json metadata), a
 * resumable OUT.last.st, a progress line and a JSONL log. Design: docs/finetune.md. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/dist.h"
#include "cli/numerai_tasks.h"
#include "eraformer/data.h"
#include "eraformer/metrics.h"
#include "eraformer/model.h"
#include "eraformer/nn.h"

static volatile sig_atomic_t g_stop;
static ef_dist g_dist;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer finetune --train FILE --validation FILE --features-json FILE --out FILE [options]\n"
"\n"
"Fine-tunes the in-context transformer on Numerai eras: each task's query rows are a sample of\n"
"one train era, its labelled context rows come from earlier eras that end at least --embargo\n"
"eras before it. Early stopping on validation CORR (context ensembles, as 'predict' does).\n"
"\n"
"data:\n"
"  --train FILE           train data (parquet or CSV)\n"
"  --validation FILE      validation data (early stopping; also context for later eras)\n"
"  --features-json FILE   Numerai's features.json\n"
"  --feature-set SPEC     set name(s) or features (default all)\n"
"  --target NAME          train on one target (default target)\n"
"  --targets SPEC         weighted targets t1=w1,t2=w2 (per-era gaussianized, NaN skipped)\n"
"  --eval-target NAME     target of the validation CORR (default target)\n"
"  --embargo N            eras between the newest context era and the query era (default 8,\n"
"                         16 when a _60 target is used)\n"
"  --window N             context from the N newest allowed eras (default 0 = all the past)\n"
"model:\n"
"  --base FILE            pretrained rows-layout model (pretrain --layout rows); default: fresh\n"
"  --read-in MODE         wide (all features, read-in initialised from the base through a fixed\n"
"                         random projection; default) or subset (random d_max features per task\n"
"                         and ensemble member)\n"
"  --layers N --d-model N --heads N --d-max N   fresh model (default 3, 64, 4, 32)\n"
"  --feature-dropout P    wide read-in: mask each feature of a task (and of each predict\n"
"                         ensemble member) with probability P (default 0)\n"
"features:\n"
"  --feature-transform T  per-era encoding: rankgauss (the era's normal score of each value,\n"
"                         default) or centre (value - era mean)\n"
"  --feature-groups       add one input per Numerai feature group of features.json\n"
"                         (intelligence, charisma, ...): the row's mean over the group\n"
);
    fprintf(f,
"training:\n"
"  --loss L               mse (on the engineered target, default) or corr (minus the Pearson\n"
"                         correlation of each task's query predictions: Numerai's per-era score)\n"
"  --era-every N          query eras: every N-th train era only (Numerai's examples use 4:\n"
"                         neighbouring eras' targets overlap); context still from all eras\n"
"  --context-rows N       labelled context rows per task (default 256)\n"
"  --query-rows N         query rows per task (default 128)\n"
"  --batch N              tasks per step (default 8)\n"
"  --steps N              maximum steps (default 2000; the schedule spans them)\n"
"  --time-budget MIN      stop cleanly after MIN minutes (best checkpoint kept)\n"
"  --lr X                 peak learning rate (default 1e-3; 3e-4 with --base)\n"
"  --warmup N             warmup steps (default min(100, steps/10))\n"
"  --weight-decay X       AdamW weight decay (default 0.01)\n"
"  --ema D                evaluate and save an exponential moving average of the weights\n"
"                         with decay D (default 0.99; 0 = off; restarts on --resume)\n"
"  --eval-every N         steps between validation evaluations (default 50)\n"
"  --eval-members K       ensemble members for the validation CORR (default 2)\n"
"  --eval-eras N          the N newest usable validation eras (default 0 = all)\n"
"  --patience N           stop after N evaluations without improvement (default 6)\n"
"  --members K            default ensemble size stored for predict (default 4)\n"
"  --seed N               (default 1)\n"
"  --threads N            OpenMP threads (default: all cores)\n"
"output:\n"
"  --out FILE             best checkpoint (+ FILE.json metadata; FILE.last.st to resume)\n"
"  --resume FILE          continue from FILE.last.st of an earlier run (same options)\n"
"  --log FILE             JSONL log (default OUT.log.jsonl)\n"
"\n"
"Prints a JSON summary on stdout.\n"
"\n"
"Data parallel: under 'mpirun -np N eraformer finetune ...' rank r reads only the eras with\n"
"number %% N == r from the files (its shard spans the whole history), samples --batch tasks of\n"
"its own per step from them (context from its own eras behind the embargo), gradients are\n"
"averaged over the ranks, the validation CORR of every rank's eras is gathered, and rank 0\n"
"alone logs, shows progress and writes checkpoints. --resume works with any number of ranks.\n");
}

typedef struct ft_opts {
    const char *train, *validation, *fjson, *fset, *target, *targets, *eval_target, *base, *out, *resume, *log;
    int read_in, layers, d_model, heads, d_max, ctx, query, batch, eval_members, eval_eras, patience, members, threads;
    int embargo, window, transform, groups, loss_corr, era_every;
    long steps, warmup, eval_every;
    double budget_min, lr, wd, fdrop, ema;
    uint64_t seed;
} ft_opts;

static int parse(int argc, char **argv, ft_opts *o) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"train", required_argument, 0, 't'}, {"validation", required_argument, 0, 'v'},
        {"features-json", required_argument, 0, 'j'}, {"feature-set", required_argument, 0, 'f'},
        {"target", required_argument, 0, 'y'}, {"targets", required_argument, 0, 'Y'},
        {"eval-target", required_argument, 0, 'E'}, {"embargo", required_argument, 0, 'b'},
        {"window", required_argument, 0, 'w'}, {"base", required_argument, 0, 'B'}, {"read-in", required_argument, 0, 'R'},
        {"layers", required_argument, 0, 'l'}, {"d-model", required_argument, 0, 'C'}, {"heads", required_argument, 0, 'H'},
        {"d-max", required_argument, 0, 'D'}, {"context-rows", required_argument, 0, 'c'},
        {"query-rows", required_argument, 0, 'q'}, {"batch", required_argument, 0, 'n'}, {"steps", required_argument, 0, 's'},
        {"time-budget", required_argument, 0, 'T'}, {"lr", required_argument, 0, 'r'}, {"warmup", required_argument, 0, 'W'},
        {"weight-decay", required_argument, 0, 'x'}, {"eval-every", required_argument, 0, 'e'},
        {"eval-members", required_argument, 0, 'k'}, {"eval-eras", required_argument, 0, 'z'},
        {"patience", required_argument, 0, 'p'}, {"members", required_argument, 0, 'K'}, {"seed", required_argument, 0, 'S'},
        {"threads", required_argument, 0, 'P'}, {"out", required_argument, 0, 'o'}, {"resume", required_argument, 0, 'u'},
        {"log", required_argument, 0, 'g'}, {"feature-dropout", required_argument, 0, 'F'},
        {"ema", required_argument, 0, 'M'}, {"feature-transform", required_argument, 0, 1001},
        {"feature-groups", no_argument, 0, 1002}, {"loss", required_argument, 0, 1003},
        {"era-every", required_argument, 0, 1004}, {0, 0, 0, 0}};
    const char *cmd = "finetune";
    long v;
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return -1;
        case 't': o->train = optarg; break;
        case 'v': o->validation = optarg; break;
        case 'j': o->fjson = optarg; break;
        case 'f': o->fset = optarg; break;
        case 'y': o->target = optarg; break;
        case 'Y': o->targets = optarg; break;
        case 'E': o->eval_target = optarg; break;
        case 'b': rc = ef_cli_parse_long(cmd, "--embargo", optarg, 0, 100000, &v); o->embargo = (int)v; break;
        case 'w': rc = ef_cli_parse_long(cmd, "--window", optarg, 0, 100000, &v); o->window = (int)v; break;
        case 'B': o->base = optarg; break;
        case 'R':
            if (!strcmp(optarg, "wide")) o->read_in = NT_READIN_WIDE;
            else if (!strcmp(optarg, "subset")) o->read_in = NT_READIN_SUBSET;
            else return ef_cli_usage(cmd, "--read-in expects wide or subset, got '%s'", optarg);
            break;
        case 'l': rc = ef_cli_parse_long(cmd, "--layers", optarg, 1, 64, &v); o->layers = (int)v; break;
        case 'C': rc = ef_cli_parse_long(cmd, "--d-model", optarg, 4, 4096, &v); o->d_model = (int)v; break;
        case 'H': rc = ef_cli_parse_long(cmd, "--heads", optarg, 1, 64, &v); o->heads = (int)v; break;
        case 'D': rc = ef_cli_parse_long(cmd, "--d-max", optarg, 1, 8192, &v); o->d_max = (int)v; break;
        case 'c': rc = ef_cli_parse_long(cmd, "--context-rows", optarg, 1, 1 << 20, &v); o->ctx = (int)v; break;
        case 'q': rc = ef_cli_parse_long(cmd, "--query-rows", optarg, 1, 1 << 20, &v); o->query = (int)v; break;
        case 'n': rc = ef_cli_parse_long(cmd, "--batch", optarg, 1, 4096, &v); o->batch = (int)v; break;
        case 's': rc = ef_cli_parse_long(cmd, "--steps", optarg, 1, 1L << 40, &o->steps); break;
        case 'T': rc = ef_cli_parse_double(cmd, "--time-budget", optarg, 0.001, 1e7, &o->budget_min); break;
        case 'r': rc = ef_cli_parse_double(cmd, "--lr", optarg, 1e-9, 10, &o->lr); break;
        case 'W': rc = ef_cli_parse_long(cmd, "--warmup", optarg, 0, 1L << 40, &o->warmup); break;
        case 'x': rc = ef_cli_parse_double(cmd, "--weight-decay", optarg, 0, 10, &o->wd); break;
        case 'e': rc = ef_cli_parse_long(cmd, "--eval-every", optarg, 1, 1L << 40, &o->eval_every); break;
        case 'k': rc = ef_cli_parse_long(cmd, "--eval-members", optarg, 1, 1024, &v); o->eval_members = (int)v; break;
        case 'z': rc = ef_cli_parse_long(cmd, "--eval-eras", optarg, 0, 1 << 20, &v); o->eval_eras = (int)v; break;
        case 'p': rc = ef_cli_parse_long(cmd, "--patience", optarg, 1, 1 << 20, &v); o->patience = (int)v; break;
        case 'K': rc = ef_cli_parse_long(cmd, "--members", optarg, 1, 1024, &v); o->members = (int)v; break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &o->seed); break;
        case 'P': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &v); o->threads = (int)v; break;
        case 'o': o->out = optarg; break;
        case 'u': o->resume = optarg; break;
        case 'g': o->log = optarg; break;
        case 'M': rc = ef_cli_parse_double(cmd, "--ema", optarg, 0, 0.99999, &o->ema); break;
        case 'F': rc = ef_cli_parse_double(cmd, "--feature-dropout", optarg, 0, 0.9, &o->fdrop); break;
        case 1001:
            if (!strcmp(optarg, "centre") || !strcmp(optarg, "center")) o->transform = EF_FT_CENTRE;
            else if (!strcmp(optarg, "rankgauss")) o->transform = EF_FT_RANKGAUSS;
            else return ef_cli_usage(cmd, "--feature-transform expects centre or rankgauss, got '%s'", optarg);
            break;
        case 1002: o->groups = 1; break;
        case 1003:
            if (!strcmp(optarg, "mse")) o->loss_corr = 0;
            else if (!strcmp(optarg, "corr")) o->loss_corr = 1;
            else return ef_cli_usage(cmd, "--loss expects mse or corr, got '%s'", optarg);
            break;
        case 1004: rc = ef_cli_parse_long(cmd, "--era-every", optarg, 1, 1000, &v); o->era_every = (int)v; break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->train || !o->validation || !o->fjson || !o->out)
        return ef_cli_usage(cmd, "--train, --validation, --features-json and --out are required");
    if (o->target && o->targets) return ef_cli_usage(cmd, "give --target or --targets, not both");
    if (o->d_model % o->heads) return ef_cli_usage(cmd, "--heads (%d) must divide --d-model (%d)", o->heads, o->d_model);
    if (o->lr <= 0) o->lr = o->base ? 3e-4 : 1e-3;
    if (o->warmup < 0) o->warmup = o->steps / 10 < 100 ? o->steps / 10 : 100;
    return 0;
}

// ---- state ---------------------------------------------------------------------------------

typedef struct ft_run {
    ft_opts o;
    nt_targets tg;
    char **feat;
    int n_feat, eval_col, embargo;
    ef_dataset ds;
    float *y;
    ef_tasks tasks;
    int *q_eras, n_q, *v_eras, n_v;
    int n_groups, *group_off, *group_idx;
    ef_model *m;
    ef_rows_cache *cache;
    float *ema, *swap;          /* --ema: averaged weights and a swap buffer */
    double *pred_buf, *tgt_buf;
    double best, elapsed_prev;
    long best_step;
    int bad;
} ft_run;

static void run_free(ft_run *r) {
    ef_rows_cache_destroy(r->cache);
    ef_model_destroy(r->m);
    ef_free(r->ema);
    ef_free(r->swap);
    ef_tasks_free(&r->tasks);
    ef_dataset_free(&r->ds);
    ef_free(r->group_off); ef_free(r->group_idx);
    ef_free(r->y); ef_free(r->q_eras); ef_free(r->v_eras); ef_free(r->pred_buf); ef_free(r->tgt_buf);
    ef_strlist_free(r->feat, r->n_feat);
    nt_targets_free(&r->tg);
}

static ef_status load_data(ft_run *r, ef_error *err) {
    ft_opts *o = &r->o;
    ef_features_json fj = {0};
    EF_TRY(ef_features_json_load(&fj, o->fjson, err));
    ef_status s = ef_features_json_select(&fj, o->fset, &r->feat, &r->n_feat, err);
    if (s == EF_OK && o->groups)
        s = nt_feature_groups(&fj, r->feat, r->n_feat, &r->n_groups, &r->group_off, &r->group_idx, err);
    ef_features_json_free(&fj);
    EF_TRY(s);
    EF_TRY(nt_targets_parse(&r->tg, o->targets ? o->targets : o->target, err));
    /* targets to load: the training targets and the evaluation target */
    const char *tnames[65];
    int nt = 0;
    EF_CHECK(r->tg.n <= 64, err, EF_ERR_INVALID, "at most 64 targets");
    for (int i = 0; i < r->tg.n; i++) tnames[nt++] = r->tg.names[i];
    int have = 0;
    for (int i = 0; i < nt; i++) have |= !strcmp(tnames[i], o->eval_target);
    if (!have) tnames[nt++] = o->eval_target;
    ef_load_options lo = {0};
    lo.features = (const char *const *)r->feat;
    lo.n_features = r->n_feat;
    lo.targets = tnames;
    lo.n_targets = nt;
    lo.era_shards = g_dist.size;   /* each MPI rank reads only its interleaved share of eras */
    lo.era_shard = g_dist.rank;
    const char *paths[2] = {o->train, o->validation};
    EF_TRY(ef_dataset_load(&r->ds, paths, 2, &lo, err));
    int tcol[64];
    for (int i = 0; i < r->tg.n; i++) {
        tcol[i] = ef_dataset_find_target(&r->ds, r->tg.names[i]);
        EF_CHECK(tcol[i] >= 0, err, EF_ERR_INVALID, "target '%s' is not in %s", r->tg.names[i], o->train);
    }
    r->eval_col = ef_dataset_find_target(&r->ds, o->eval_target);
    EF_CHECK(r->eval_col >= 0, err, EF_ERR_INVALID, "eval target '%s' is not in the data", o->eval_target);
    r->y = ef_malloc((size_t)(r->ds.n_rows > 0 ? r->ds.n_rows : 1) * sizeof(float));
    EF_CHECK(r->y, err, EF_ERR_NOMEM, "out of memory");
    EF_TRY(nt_engineer_target(&r->ds, tcol, r->tg.w, r->tg.n, r->y, err));
    EF_TRY(ef_tasks_init(&r->tasks, &r->ds, r->feat, r->n_feat, r->y, err));
    EF_TRY(ef_tasks_set_encoding(&r->tasks, (ef_feature_transform)o->transform, r->n_groups, r->group_off, r->group_idx, err));
    r->embargo = o->embargo >= 0 ? o->embargo
                                 : ef_tasks_default_embargo((const char *const *)r->tg.names, r->tg.n);
    /* query eras: train eras that are resolved and have enough context behind the embargo;
     * validation eras: those with >= 2 eval-target values and some allowed context */
    int E = r->ds.n_eras;
    r->q_eras = ef_malloc((size_t)E * sizeof(int));
    r->v_eras = ef_malloc((size_t)E * sizeof(int));
    int *tmp = ef_malloc((size_t)E * sizeof(int));
    if (!r->q_eras || !r->v_eras || !tmp) {
        ef_free(tmp);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    int64_t maxv = 1;
    for (int e = 0; e < E; e++) {
        const ef_era *er = &r->ds.eras[e];
        int dt = r->ds.row_type[er->start];
        int ne = ef_tasks_context_eras(&r->tasks, er->num, r->embargo, o->window, tmp);
        int64_t avail = 0;
        for (int i = 0; i < ne; i++) avail += r->tasks.lab_off[tmp[i] + 1] - r->tasks.lab_off[tmp[i]];
        if (dt == EF_DT_TRAIN && r->tasks.era_resolved[e] && avail >= o->ctx) r->q_eras[r->n_q++] = e;
        if (dt == EF_DT_VALIDATION && ne > 0) {
            int64_t nv = 0;
            for (int64_t i = 0; i < er->count; i++) nv += !isnan(r->ds.y[(size_t)(er->start + i) * r->ds.n_targets + r->eval_col]);
            if (nv >= 2 && 2 * nv >= er->count) {
                r->v_eras[r->n_v++] = e;
                maxv = EF_MAX(maxv, er->count);
            }
        }
    }
    ef_free(tmp);
    if (o->era_every > 1) {   /* every N-th of (this rank's) query eras, oldest first */
        int n = 0;
        for (int i = 0; i < r->n_q; i += o->era_every) r->q_eras[n++] = r->q_eras[i];
        r->n_q = n;
    }
    if (o->eval_eras > 0 && r->n_v > o->eval_eras) {
        memmove(r->v_eras, r->v_eras + (r->n_v - o->eval_eras), (size_t)o->eval_eras * sizeof(int));
        r->n_v = o->eval_eras;
    }
    char shard[96] = "";
    if (g_dist.size > 1)
        snprintf(shard, sizeof shard, " in the eras of rank %d of %d (every %d-th era)", g_dist.rank, g_dist.size, g_dist.size);
    EF_CHECK(r->n_q > 0, err, EF_ERR_INVALID,
             "no train era%s has %d labelled context rows at least %d eras before it (use fewer --context-rows, "
             "a smaller --embargo or more train eras)", shard, o->ctx, r->embargo);
    EF_CHECK(r->n_v > 0, err, EF_ERR_INVALID, "no validation era%s has resolved '%s' targets and context behind the embargo",
             shard, o->eval_target);
    r->pred_buf = ef_malloc((size_t)maxv * sizeof(double));
    r->tgt_buf = ef_malloc((size_t)maxv * sizeof(double));
    EF_CHECK(r->pred_buf && r->tgt_buf, err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

/* Mean and std of per-era CORR over the validation eras, by the predict procedure. */
static ef_status evaluate(ft_run *r, double *mean, double *sd, int *n_eras, ef_error *err) {
    nt_pred_opts po = {r->o.read_in, r->o.eval_members, r->o.ctx, r->embargo, r->o.window, r->o.seed, r->o.fdrop};
    double *c = ef_malloc((size_t)r->n_v * sizeof(double));
    EF_CHECK(c, err, EF_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < r->n_v; i++) {
        int e = r->v_eras[i];
        const ef_era *er = &r->ds.eras[e];
        ef_status s = nt_predict_era(r->m, r->cache, &r->tasks, &r->tasks, e, &po, r->pred_buf, err);
        if (s != EF_OK) {
            ef_free(c);
            return s;
        }
        size_t k = 0;
        for (int64_t j = 0; j < er->count; j++) {
            double t = r->ds.y[(size_t)(er->start + j) * r->ds.n_targets + r->eval_col];
            if (isnan(t)) continue;
            r->pred_buf[k] = r->pred_buf[j];
            r->tgt_buf[k++] = t;
        }
        double v;
        if (ef_metrics_numerai_corr(&v, r->pred_buf, r->tgt_buf, k, NULL, NULL) == EF_OK && isfinite(v)) c[n++] = v;
    }
    /* every rank scored its own eras: gather them all (rank order), so every rank computes
     * the same mean and makes the same early-stopping decision */
    double *all = NULL;
    int n_all = 0;
    int bad = ef_dist_allgatherv(&g_dist, c, n, sizeof(double), (void **)&all, &n_all, NULL);
    ef_free(c);
    EF_CHECK(!bad, err, EF_ERR_IO, "MPI: gathering the validation CORR failed");
    *mean = n_all ? ef_metrics_mean(all, (size_t)n_all) : NAN;
    *sd = n_all ? ef_metrics_std(all, (size_t)n_all) : NAN;
    *n_eras = n_all;
    ef_free(all);
    return EF_OK;
}

static void state_json(const ft_run *r, char *buf, size_t n, double elapsed) {
    snprintf(buf, n, "{\"best_corr\":%.17g,\"best_step\":%ld,\"bad_evals\":%d,\"elapsed_s\":%.3f,\"embargo\":%d,"
             "\"context_rows\":%d,\"query_rows\":%d,\"batch\":%d,\"steps\":%ld,\"read_in\":\"%s\"}",
             isfinite(r->best) ? r->best : -1e300, r->best_step, r->bad, elapsed, r->embargo, r->o.ctx, r->o.query,
             r->o.batch, r->o.steps, r->o.read_in == NT_READIN_WIDE ? "wide" : "subset");
}

static ef_status save_last(ft_run *r, long step, double elapsed, ef_error *err) {
    if (g_dist.rank != 0) return EF_OK;
    ef_train_state st;
    memset(&st, 0, sizeof st);
    st.step = step;
    st.seed = r->o.seed;
    ef_rng_init(&st.rng, r->o.seed, (uint64_t)step);
    state_json(r, st.extra, sizeof st.extra, elapsed);
    char path[4200];
    snprintf(path, sizeof path, "%s.last.st", r->o.out);
    return ef_model_save(r->m, path, &st, 1, err);
}

static ef_status save_best(ft_run *r, long step, ef_error *err) {
    if (g_dist.rank != 0) return EF_OK;
    ef_train_state st;
    memset(&st, 0, sizeof st);
    st.step = step;
    st.seed = r->o.seed;
    state_json(r, st.extra, sizeof st.extra, 0);
    EF_TRY(ef_model_save(r->m, r->o.out, &st, 0, err));
    nt_meta meta = {r->o.read_in, r->n_feat, r->feat, r->tg, r->embargo, r->o.window, r->o.ctx, r->o.members,
                    r->o.seed, r->o.fdrop, r->best, r->best_step, r->o.transform, r->n_groups, r->group_off, r->group_idx};
    return nt_meta_save(&meta, r->o.out, err);
}

/* Exchanges the model's weights with the averaged ones (twice restores). */
static void ema_swap(ft_run *r) {
    if (!r->ema) return;
    size_t n = ef_model_num_params(r->m);
    float *p = ef_model_params(r->m);
    memcpy(r->swap, p, n * sizeof(float));
    memcpy(p, r->ema, n * sizeof(float));
    memcpy(r->ema, r->swap, n * sizeof(float));
}

static void ema_update(ft_run *r, long step) {
    if (!r->ema) return;
    size_t n = ef_model_num_params(r->m);
    const float *p = ef_model_params(r->m);
    /* short memory at first so the average is not dominated by the initial weights */
    double d = EF_MIN(r->o.ema, (1.0 + (double)step) / (10.0 + (double)step));
    float a = (float)d, b = (float)(1.0 - d);
    for (size_t i = 0; i < n; i++) r->ema[i] = a * r->ema[i] + b * p[i];
}

// ---- the era loader: a thread samples the next step's tasks while this step trains ----------

typedef struct ft_batch {
    float *x, *y;
    uint8_t *m;
    int *d;
} ft_batch;

typedef struct ft_loader {
    const ft_run *r;
    int k, D, world, rank;
    ft_batch buf[2];
    long step;           /* the step whose batch the thread is sampling */
    int cur, running;
    pthread_t th;
    ef_status st;
    ef_error err;
    double busy_s;       /* seconds the trainer waited for a batch */
} ft_loader;

/* Tasks of step `step` (this rank's share) into bt. */
static ef_status sample_batch(const ft_run *r, int k, int D, int world, int rank, long step, ft_batch *bt, ef_error *err) {
    const ft_opts *o = &r->o;
    size_t B = (size_t)o->batch;
    for (int b = 0; b < o->batch; b++)
        EF_TRY(nt_sample_train_task(&r->tasks, r->q_eras, r->n_q, o->read_in, D, o->ctx, o->query, r->embargo, o->window,
                                    o->fdrop, o->seed, ((uint64_t)step * (uint64_t)world + (uint64_t)rank) * B + (uint64_t)b,
                                    bt->x + (size_t)b * k * D, bt->y + (size_t)b * k, bt->m + (size_t)b * k * D, &bt->d[b],
                                    err));
    return EF_OK;
}

static void *loader_main(void *arg) {
    ft_loader *L = arg;
    L->st = sample_batch(L->r, L->k, L->D, L->world, L->rank, L->step, &L->buf[1 - L->cur], &L->err);
    return NULL;
}

static ef_status loader_init(ft_loader *L, const ft_run *r, int k, int D, ef_error *err) {
    memset(L, 0, sizeof *L);
    L->r = r;
    L->k = k;
    L->D = D;
    L->world = g_dist.size;
    L->rank = g_dist.rank;
    size_t B = (size_t)r->o.batch;
    for (int i = 0; i < 2; i++) {
        L->buf[i].x = ef_malloc(B * k * D * sizeof(float));
        L->buf[i].y = ef_malloc(B * k * sizeof(float));
        L->buf[i].m = ef_malloc(B * k * D);
        L->buf[i].d = ef_malloc(B * sizeof(int));
        EF_CHECK(L->buf[i].x && L->buf[i].y && L->buf[i].m && L->buf[i].d, err, EF_ERR_NOMEM,
                 "out of memory for the batches (2 x %zu x %d x %d)", B, k, D);
    }
    return EF_OK;
}

/* Starts sampling step's batch into the other buffer (in a thread). */
static void loader_start(ft_loader *L, long step) {
    L->step = step;
    L->st = EF_OK;
    if (pthread_create(&L->th, NULL, loader_main, L) == 0) L->running = 1;
    else loader_main(L);   /* no thread: sample here */
}

/* Waits for the batch being sampled and makes it the current one. */
static ef_status loader_take(ft_loader *L, ft_batch **bt, ef_error *err) {
    double t = ef_time_now();
    if (L->running) pthread_join(L->th, NULL);
    L->running = 0;
    L->busy_s += ef_time_now() - t;
    if (L->st != EF_OK) {
        if (err) *err = L->err;
        return L->st;
    }
    L->cur = 1 - L->cur;
    *bt = &L->buf[L->cur];
    return EF_OK;
}

static void loader_free(ft_loader *L) {
    if (L->running) pthread_join(L->th, NULL);
    L->running = 0;
    for (int i = 0; i < 2; i++) {
        ef_free(L->buf[i].x); ef_free(L->buf[i].y); ef_free(L->buf[i].m); ef_free(L->buf[i].d);
    }
}

static double json_num(const char *json, const char *key, double def) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : def;
}

// ---- command -------------------------------------------------------------------------------

static int finetune_main(int argc, char **argv);

int ef_cmd_finetune(int argc, char **argv) {
    ef_dist_init(&g_dist, &argc, &argv);
    int rc = finetune_main(argc, argv);
    if (rc != EF_EXIT_OK && g_dist.size > 1) ef_dist_abort(&g_dist, rc);
    ef_dist_finalize(&g_dist);
    return rc;
}

/* Which eras and rows every rank holds: one JSONL record per rank in rank 0's log and a line
 * on stderr (the sharding is visible and testable: the ranks' eras are disjoint). */
static ef_status report_shards(const ft_run *r, FILE *logf, ef_error *err) {
    int E = r->ds.n_eras, P = g_dist.size;
    int *mine = ef_malloc((size_t)(E + 1) * sizeof(int)), *all = NULL, n_all = 0;
    int *counts = ef_malloc((size_t)P * sizeof(int));
    double *rows = ef_calloc((size_t)P, sizeof(double));
    if (!mine || !counts || !rows) {
        ef_free(mine);
        ef_free(counts);
        ef_free(rows);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    for (int e = 0; e < E; e++) mine[e] = r->ds.eras[e].num;
    rows[g_dist.rank] = (double)r->ds.n_rows;
    int bad = ef_dist_allgatherv(&g_dist, mine, E, sizeof(int), (void **)&all, &n_all, counts) ||
              ef_dist_sum(&g_dist, rows, P);
    ef_free(mine);
    if (bad) {
        ef_free(counts);
        ef_free(rows);
        return EF_ERR(err, EF_ERR_IO, "MPI: gathering the shard layout failed");
    }
    for (int q = 0, off = 0; logf && q < P; off += counts[q++]) {
        fprintf(logf, "{\"shard\":%d,\"ranks\":%d,\"rows\":%.0f,\"eras\":[", q, P, rows[q]);
        for (int i = 0; i < counts[q]; i++) fprintf(logf, "%s%d", i ? "," : "", all[off + i]);
        fprintf(logf, "]}\n");
        if (P > 1) fprintf(stderr, "finetune: rank %d of %d holds %d eras, %.0f rows\n", q, P, counts[q], rows[q]);
    }
    ef_free(all);
    ef_free(counts);
    ef_free(rows);
    return EF_OK;
}

static int finetune_main(int argc, char **argv) {
    ft_run r;
    memset(&r, 0, sizeof r);
    ft_opts *o = &r.o;
    *o = (ft_opts){.fset = "all", .target = NULL, .eval_target = "target", .read_in = NT_READIN_WIDE, .layers = 3,
                   .d_model = 64, .heads = 4, .d_max = 32, .ctx = 256, .query = 128, .batch = 8, .eval_members = 2,
                   .patience = 6, .members = 4, .embargo = -1, .steps = 2000, .warmup = -1, .eval_every = 50,
                   .wd = 0.01, .ema = 0.99, .seed = 1, .transform = EF_FT_RANKGAUSS};
    int rc = parse(argc, argv, o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o->targets && !o->target) o->target = "target";
    if (o->threads) ef_threads_set(o->threads);
    ef_error err = {0};
    int status = EF_EXIT_OK;
    FILE *logf = NULL;
    ft_loader ld;
    memset(&ld, 0, sizeof ld);
    float *pbuf = NULL, *dbuf = NULL;   /* --loss corr: predictions and their gradient */
    double t0 = ef_time_now();
    int lead = g_dist.rank == 0, world = g_dist.size;
    r.best = -INFINITY;
    r.best_step = 0;

    if (lead) fprintf(stderr, "finetune: loading %s and %s%s\n", o->train, o->validation, world > 1 ? " (each rank its shard of eras)" : "");
    if (load_data(&r, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    double tot[4] = {(double)r.ds.n_rows, r.ds.n_eras, r.n_q, r.n_v};   /* over all ranks */
    ef_dist_sum(&g_dist, tot, 4);
    if (lead) fprintf(stderr, "finetune: %.0f rows, %.0f eras, %d features, %d target(s), embargo %d eras; %.0f train query eras, "
            "%.0f validation eras (%.1f s)\n", tot[0], tot[1], r.n_feat, r.tg.n, r.embargo, tot[2], tot[3], ef_time_now() - t0);

    long start = 0;
    int k = o->ctx + o->query;
    if (o->resume) {
        ef_train_state st;
        int has_optim = 0;
        if (ef_model_load(&r.m, o->resume, o->batch, &st, &has_optim, &err) != EF_OK) {
            status = ef_cli_fail(&err, "--resume needs the OUT.last.st written by finetune");
            goto done;
        }
        const ef_model_config *mc = ef_model_cfg(r.m);
        int want_d = o->read_in == NT_READIN_WIDE ? r.tasks.n_cols : mc->d_max;
        if (mc->layout != EF_LAYOUT_ROWS || mc->max_points < k || mc->d_max != want_d) {
            err.code = EF_ERR_INVALID;
            snprintf(err.msg, sizeof err.msg, "%s does not match this run (layout %s, d_max %d, max_points %d; need rows, %d, >= %d)",
                     o->resume, ef_layout_name(mc->layout), mc->d_max, mc->max_points, want_d, k);
            status = ef_cli_fail(&err, "pass the same --feature-set, --read-in and --context/--query-rows");
            goto done;
        }
        start = st.step;
        r.best = json_num(st.extra, "best_corr", -INFINITY);
        if (r.best < -1e299) r.best = -INFINITY;
        r.best_step = (long)json_num(st.extra, "best_step", 0);
        r.bad = (int)json_num(st.extra, "bad_evals", 0);
        r.elapsed_prev = json_num(st.extra, "elapsed_s", 0);
        if (lead) fprintf(stderr, "finetune: resuming at step %ld (best CORR %.4f at step %ld)\n", start, r.best, r.best_step);
    } else {
        ef_model_config def = {EF_LAYOUT_ROWS, o->layers, o->d_model, o->heads, o->d_max, k, 0};
        if (nt_model_build(&r.m, o->base, o->read_in, r.tasks.n_cols, &def, k, o->batch, o->seed, &err) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
    }
    const ef_model_config *mc = ef_model_cfg(r.m);
    if (o->ema > 0) {
        size_t np = ef_model_num_params(r.m);
        r.ema = ef_malloc(np * sizeof(float));
        r.swap = ef_malloc(np * sizeof(float));
        if (!r.ema || !r.swap) {
            err.code = EF_ERR_NOMEM;
            snprintf(err.msg, sizeof err.msg, "out of memory for the weight average");
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
        memcpy(r.ema, ef_model_params(r.m), np * sizeof(float));
    }
    if (ef_rows_cache_create(&r.cache, r.m, o->ctx, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (lead) fprintf(stderr, "finetune: %s model, %d layers, d_model %d, d_max %d (%s read-in), %.2fM parameters; tasks %d+%d rows, "
            "batch %d, lr %g, threads %d\n", o->base ? o->base : "fresh", mc->n_layer, mc->d_model, mc->d_max,
            o->read_in == NT_READIN_WIDE ? "wide" : "subset", ef_model_num_params(r.m) / 1e6, o->ctx, o->query,
            o->batch, o->lr, ef_threads_get());

    char logpath[4200];
    snprintf(logpath, sizeof logpath, "%s.log.jsonl", o->out);
    if (lead) logf = fopen(o->log ? o->log : logpath, start > 0 ? "a" : "w");
    if (lead && !logf) {
        err.code = EF_ERR_IO;
        snprintf(err.msg, sizeof err.msg, "cannot open the log %.900s", o->log ? o->log : logpath);
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (report_shards(&r, logf, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    size_t D = (size_t)mc->d_max, B = (size_t)o->batch;
    if (loader_init(&ld, &r, k, (int)D, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (start < o->steps) loader_start(&ld, start);
    pbuf = ef_malloc(B * (size_t)k * sizeof(float));
    dbuf = ef_malloc(B * (size_t)k * sizeof(float));
    if (!pbuf || !dbuf) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    double budget_s = o->budget_min > 0 ? o->budget_min * 60.0 : INFINITY;
    ef_adamw opt = {(float)o->lr, 0.9f, 0.95f, 1e-8f, (float)o->wd};
    ef_progress prog;
    memset(&prog, 0, sizeof prog);
    if (lead) ef_progress_start(&prog, "finetune", (double)o->steps, "steps");
    double ema = NAN, last_corr = NAN, t_train = 0;   /* t_train: seconds in training steps */
    long step = start, last_eval = start;
    const char *why = "steps done";
    for (; step < o->steps; step++) {
        /* rank 0 decides (signal, time budget) for every rank */
        double el = r.elapsed_prev + ef_time_now() - t0;
        int stop = ef_dist_bcast_int(&g_dist, g_stop ? 1 : el >= budget_s ? 2 : 0);
        if (stop == 1) { why = "interrupted"; g_stop = 1; break; }
        if (stop == 2) { why = "time budget"; break; }
        double ts = ef_time_now();
        ft_batch *cb;
        if (loader_take(&ld, &cb, &err) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
        if (step + 1 < o->steps) loader_start(&ld, step + 1);   /* the next batch, while this one trains */
        ef_batch bt = {o->batch, k, o->ctx, cb->x, cb->y, cb->m, cb->d};
        double loss;
        if (ef_model_forward(r.m, &bt, o->loss_corr ? pbuf : NULL, &loss, &err) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
        ef_model_zero_grad(r.m);
        if (o->loss_corr) {
            /* minus each task's query-row correlation (one era per task), averaged over tasks */
            loss = 0;
            memset(dbuf, 0, B * (size_t)k * sizeof(float));
            for (int b = 0; b < o->batch; b++) {
                size_t q0 = (size_t)b * k + (size_t)o->ctx;
                loss += ef_corr_loss(dbuf + q0, pbuf + q0, cb->y + q0, (size_t)o->query) / o->batch;
                for (int i = 0; i < o->query; i++) dbuf[q0 + i] /= (float)o->batch;
            }
        }
        if ((o->loss_corr ? ef_model_backward_dpred(r.m, dbuf, &err) : ef_model_backward(r.m, &err)) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
        if (world > 1) {
            /* the average gradient of the global batch; the loss only for the log */
            if (ef_dist_average(&g_dist, ef_model_grads(r.m), ef_model_num_params(r.m)) || ef_dist_sum(&g_dist, &loss, 1)) {
                err.code = EF_ERR_IO;
                snprintf(err.msg, sizeof err.msg, "MPI: gradient allreduce failed at step %ld", step + 1);
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
            loss /= world;
        }
        double gnorm = ef_model_clip_grad(r.m, 1.0);
        opt.lr = ef_lr_schedule((float)o->lr, step, o->warmup, o->steps, 0.1f);
        ef_model_adamw_step(r.m, &opt);
        ema_update(&r, step);
        if (world > 1 && (step + 1) % 100 == 0) {
            /* the ranks must hold the same parameters: a cheap checksum */
            const float *p = ef_model_params(r.m);
            double cs = 0;
            for (size_t i = 0, n = ef_model_num_params(r.m); i < n; i++) cs += (double)p[i] * (double)((i % 7) + 1);
            if (!ef_dist_same(&g_dist, cs)) {
                err.code = EF_ERR_INVALID;
                snprintf(err.msg, sizeof err.msg, "MPI: ranks hold different parameters at step %ld", step + 1);
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
        }
        ema = isnan(ema) ? loss : 0.95 * ema + 0.05 * loss;
        char extra[160];
        snprintf(extra, sizeof extra, "loss %.4f  val CORR %.4f (best %.4f)", ema, last_corr, r.best);
        if (lead) ef_progress_update(&prog, (double)(step + 1), extra);
        t_train += ef_time_now() - ts;
        /* training throughput over all ranks: (context + query) rows per second of training steps */
        double rows_s = (double)(step + 1 - start) * (double)B * k * world / (t_train > 0 ? t_train : 1e-9);
        if (logf) fprintf(logf, "{\"step\":%ld,\"loss\":%.6g,\"lr\":%.6g,\"grad_norm\":%.6g,\"rows_per_s\":%.0f,"
                          "\"data_wait_share\":%.4f,\"elapsed_s\":%.3f}\n", step + 1, loss, opt.lr, gnorm, rows_s,
                          t_train > 0 ? ld.busy_s / t_train : 0.0, r.elapsed_prev + ef_time_now() - t0);
        if ((step + 1) % o->eval_every == 0 || step + 1 == o->steps) {
            double mean, sd;
            int n_val;
            ema_swap(&r);   /* evaluate (and save as best) the averaged weights */
            if (evaluate(&r, &mean, &sd, &n_val, &err) != EF_OK) {
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
            last_eval = step + 1;
            last_corr = mean;
            int improved = mean > r.best;
            if (improved) {
                r.best = mean;
                r.best_step = step + 1;
                r.bad = 0;
            } else {
                r.bad++;
            }
            if (logf) fprintf(logf, "{\"step\":%ld,\"val_corr_mean\":%.6g,\"val_corr_std\":%.6g,\"val_sharpe\":%.6g,\"best\":%.6g,"
                    "\"train_loss_ema\":%.6g,\"val_eras\":%d}\n", step + 1, mean, sd, sd > 0 ? mean / sd : NAN, r.best, ema, n_val);
            if (lead) fprintf(stderr, "%sstep %ld: validation CORR %.4f (std %.4f, sharpe %.2f)%s\n", prog.is_tty ? "\r\033[K" : "",
                    step + 1, mean, sd, sd > 0 ? mean / sd : NAN, improved ? "  best: saved" : "");
            double elapsed = r.elapsed_prev + ef_time_now() - t0;
            if (improved && save_best(&r, step + 1, &err) != EF_OK) {
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
            ema_swap(&r);   /* back to the trained weights */
            if (save_last(&r, step + 1, elapsed, &err) != EF_OK) {
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
            if (r.bad >= o->patience) {
                step++;
                why = "early stopping";
                break;
            }
        }
        if (logf) fflush(logf);
    }
    if (lead) ef_progress_finish(&prog, (double)step, NULL);
    if (last_eval < step || !isfinite(r.best)) {
        /* evaluate what the last steps did, so the best checkpoint reflects them */
        double mean, sd;
        int n_val;
        ema_swap(&r);
        if (evaluate(&r, &mean, &sd, &n_val, &err) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
        if (logf) fprintf(logf, "{\"step\":%ld,\"val_corr_mean\":%.6g,\"val_corr_std\":%.6g,\"val_eras\":%d,\"final\":true}\n", step, mean, sd, n_val);
        if (mean > r.best || !isfinite(r.best)) {
            r.best = mean;
            r.best_step = step;
            if (save_best(&r, step, &err) != EF_OK) {
                status = ef_cli_fail(&err, NULL);
                goto done;
            }
        }
        ema_swap(&r);
        if (save_last(&r, step, r.elapsed_prev + ef_time_now() - t0, &err) != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
    }
    if (lead) fprintf(stderr, "finetune: stopped at step %ld (%s); best validation CORR %.4f at step %ld -> %s\n", step, why, r.best,
            r.best_step, o->out);
    char bbuf[32];
    if (isfinite(r.best)) snprintf(bbuf, sizeof bbuf, "%.6g", r.best);
    else snprintf(bbuf, sizeof bbuf, "null");
    if (lead) printf("{\"steps\":%ld,\"stopped\":\"%s\",\"best_step\":%ld,\"best_validation_corr\":%s,\"model\":\"%s\","
           "\"elapsed_s\":%.1f}\n", step, why, r.best_step, bbuf, o->out, r.elapsed_prev + ef_time_now() - t0);
    if (g_stop) status = EF_EXIT_RUNTIME;
done:
    if (logf) fclose(logf);
    loader_free(&ld);
    ef_free(pbuf);
    ef_free(dbuf);
    run_free(&r);
    return status;
}
