/* eraformer finetune: trains the rows-layout transformer on in-context tasks cut from Numerai
 * eras (query rows from one train era, labelled context rows from earlier eras behind the
 * embargo), with early stopping on validation CORR computed by the same context-ensemble
 * procedure that `predict` uses. Writes the best checkpoint (its input contract embedded; the
 * same contract in OUT.json for older readers), a resumable OUT.last.st, a progress line and
 * a JSONL log. Design: docs/finetune.md. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/finetune.h"
#include "eraformer/numerai.h"
#include "eraformer/data.h"
#include "eraformer/metrics.h"
#include "eraformer/model.h"
#include "eraformer/nn.h"

static volatile sig_atomic_t g_stop;
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
"  --holdout-eras N       select on the N newest train eras instead (no --validation needed):\n"
"                         query eras end --embargo eras before them, --validation is not read\n"
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
"  --no-feature-groups    without them (the default; undoes an earlier --feature-groups)\n"
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
"  --out FILE             best checkpoint, with its input contract (+ FILE.json, the same\n"
"                         contract for older readers; FILE.last.st to resume)\n"
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
        {"feature-groups", no_argument, 0, 1002}, {"no-feature-groups", no_argument, 0, 1006}, {"loss", required_argument, 0, 1003},
        {"era-every", required_argument, 0, 1004}, {"holdout-eras", required_argument, 0, 1005}, {0, 0, 0, 0}};
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
            if (!strcmp(optarg, "wide")) o->read_in = EF_NUMERAI_READIN_WIDE;
            else if (!strcmp(optarg, "subset")) o->read_in = EF_NUMERAI_READIN_SUBSET;
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
        case 1006: o->groups = 0; break;
        case 1003:
            if (!strcmp(optarg, "mse")) o->loss_corr = 0;
            else if (!strcmp(optarg, "corr")) o->loss_corr = 1;
            else return ef_cli_usage(cmd, "--loss expects mse or corr, got '%s'", optarg);
            break;
        case 1004: rc = ef_cli_parse_long(cmd, "--era-every", optarg, 1, 1000, &v); o->era_every = (int)v; break;
        case 1005: rc = ef_cli_parse_long(cmd, "--holdout-eras", optarg, 1, 100000, &v); o->holdout = (int)v; break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->train || (!o->validation && !o->holdout) || !o->fjson || !o->out)
        return ef_cli_usage(cmd, "--train, --validation (or --holdout-eras), --features-json and --out are required");
    if (o->target && o->targets) return ef_cli_usage(cmd, "give --target or --targets, not both");
    if (o->d_model % o->heads) return ef_cli_usage(cmd, "--heads (%d) must divide --d-model (%d)", o->heads, o->d_model);
    if (o->lr <= 0) o->lr = o->base ? 3e-4 : 1e-3;
    if (o->warmup < 0) o->warmup = o->steps / 10 < 100 ? o->steps / 10 : 100;
    return 0;
}

// ---- checkpoints and the weight average --------------------------------------------------

/* The checkpoint's extra: the trainer's bookkeeping, then the run's shape. */
static void state_json(const ft_run *r, char *buf, size_t n, double elapsed) {
    char tr[256];
    ef_trainer_state_json(&r->tr, elapsed, tr, sizeof tr);
    snprintf(buf, n, "{%s,\"embargo\":%d,\"context_rows\":%d,\"query_rows\":%d,\"batch\":%d,\"steps\":%ld,"
             "\"read_in\":\"%s\"}", tr, r->d.embargo, r->o.ctx, r->o.query, r->o.batch, r->o.steps,
             r->o.read_in == EF_NUMERAI_READIN_WIDE ? "wide" : "subset");
}

static ef_status save_last(ft_run *r, long step, double elapsed, ef_error *err) {
    char path[4200], extra[sizeof ((ef_train_state *)0)->extra];
    state_json(r, extra, sizeof extra, elapsed);
    snprintf(path, sizeof path, "%s.last.st", r->o.out);
    return ef_trainer_save(&r->tr, path, step, r->o.seed, extra, err);
}

static ef_status save_best(ft_run *r, long step, ef_error *err) {
    if (r->dist->rank != 0) return EF_OK;
    ef_train_state st;
    memset(&st, 0, sizeof st);
    st.step = step;
    st.seed = r->o.seed;
    state_json(r, st.extra, sizeof st.extra, 0);
    /* the contract is embedded in the checkpoint (its sidecar OUT.json written first, for
     * older readers) */
    ef_numerai_contract meta = {r->o.read_in, r->d.n_feat, r->d.feat, r->d.tg, r->d.embargo, r->o.window, r->o.ctx,
                                r->o.members, r->o.seed, r->o.fdrop, r->tr.best, r->tr.best_step, r->o.transform,
                                r->d.n_groups, r->d.group_off, r->d.group_idx};
    return ef_numerai_checkpoint_save(r->m, r->o.out, &st, &meta, err);
}

// ---- the training loop -----------------------------------------------------------------------

/* The fresh or --base model, or the one in --resume with the loop's state; the weight average
 * and the rows cache of validation. *hint: advice for the user when it fails. */
static ef_status setup_model(ft_run *r, int k, long *start, const char **hint, ef_error *err) {
    ft_opts *o = &r->o;
    *start = 0;
    ef_train_state st;
    memset(&st, 0, sizeof st);
    if (o->resume) {
        int has_optim = 0;
        *hint = "--resume needs the OUT.last.st written by finetune";
        EF_TRY(ef_model_load(&r->m, o->resume, o->batch, &st, &has_optim, err));
        const ef_model_config *mc = ef_model_cfg(r->m);
        int want_d = o->read_in == EF_NUMERAI_READIN_WIDE ? r->d.tasks.n_cols : mc->d_max;
        *hint = "pass the same --feature-set, --read-in and --context/--query-rows";
        EF_CHECK(mc->layout == EF_LAYOUT_ROWS && mc->max_points >= k && mc->d_max == want_d, err, EF_ERR_INVALID,
                 "%s does not match this run (layout %s, d_max %d, max_points %d; need rows, %d, >= %d)", o->resume,
                 ef_layout_name(mc->layout), mc->d_max, mc->max_points, want_d, k);
    } else {
        ef_model_config def = {EF_LAYOUT_ROWS, o->layers, o->d_model, o->heads, o->d_max, k, 0};
        EF_TRY(ef_numerai_net_create(&r->m, o->base, o->read_in, r->d.tasks.n_cols, &def, k, o->batch, o->seed, err));
    }
    *hint = NULL;
    /* the trainer: schedule with a floor of 0.1·lr, clip 1, --ema's average, --patience */
    ef_trainer_config tc = {o->lr, o->warmup, o->steps, 0.1, o->wd, 1.0, o->ema, o->patience};
    EF_TRY(ef_trainer_init(&r->tr, r->m, &tc, &r->td, err));
    if (o->resume) {
        *start = ef_trainer_resume(&r->tr, &st, &r->elapsed_prev);
        if (r->dist->rank == 0)
            fprintf(stderr, "finetune: resuming at step %ld (best CORR %.4f at step %ld)\n", *start, r->tr.best,
                    r->tr.best_step);
    }
    return ef_rows_cache_create(&r->cache, r->m, o->ctx, err);
}

/* The state of the loop's callbacks (ef_trainer_run): the batch loader, for --loss corr the
 * predictions and their gradient ([batch, k] each), the log, the progress line and timings. */
typedef struct ft_loop {
    ft_run *r;
    ef_numerai_loader *ld;
    float *pbuf, *dbuf;
    int k;
    FILE *logf;
    ef_progress prog;
    double ema, last_corr, t_train, ts, budget_s;   /* t_train: seconds in training steps */
    long start, last_eval;
} ft_loop;

/* Rank 0 decides (1: a signal, 2: the time budget) for every rank. */
static int ft_stop(void *ctx, long step) {
    (void)step;
    ft_loop *lp = ctx;
    double el = lp->r->elapsed_prev + ef_time_now() - lp->r->t_start;
    int stop = ef_dist_bcast_int(lp->r->dist, g_stop ? 1 : el >= lp->budget_s ? 2 : 0);
    if (stop == 1) g_stop = 1;
    return stop;
}

/* Forward and backward on the batch of `step` (every rank its own tasks); starts sampling the
 * next batch. *loss: this rank's loss (the trainer averages it over the ranks). */
static ef_status ft_gradients(void *ctx, long step, double *loss, ef_error *err) {
    ft_loop *lp = ctx;
    ft_run *r = lp->r;
    const ft_opts *o = &r->o;
    lp->ts = ef_time_now();
    int k = lp->k;
    size_t B = (size_t)o->batch;
    const ef_numerai_batch *cb;
    EF_TRY(ef_numerai_loader_take(lp->ld, &cb, err));
    if (step + 1 < o->steps) ef_numerai_loader_start(lp->ld, step + 1);   /* the next batch, while this one trains */
    ef_batch bt = {o->batch, k, o->ctx, cb->x, cb->y, cb->mask, cb->d};
    EF_TRY(ef_model_forward(r->m, &bt, o->loss_corr ? lp->pbuf : NULL, loss, err));
    ef_model_zero_grad(r->m);
    if (o->loss_corr) {
        /* minus each task's query-row correlation (one era per task), averaged over tasks */
        *loss = 0;
        memset(lp->dbuf, 0, B * (size_t)k * sizeof(float));
        for (int b = 0; b < o->batch; b++) {
            size_t q0 = (size_t)b * k + (size_t)o->ctx;
            *loss += ef_corr_loss(lp->dbuf + q0, lp->pbuf + q0, cb->y + q0, (size_t)o->query) / o->batch;
            for (int i = 0; i < o->query; i++) lp->dbuf[q0 + i] /= (float)o->batch;
        }
    }
    return o->loss_corr ? ef_model_backward_dpred(r->m, lp->dbuf, err) : ef_model_backward(r->m, err);
}

/* Validation after `step` steps: the averaged weights' CORR, the best checkpoint when it
 * improved, then OUT.last.st with the trained weights. final: the evaluation after the loop
 * stopped between evaluations (it does not count against the patience). */
static ef_status validate(ft_run *r, long step, int final, FILE *logf, double loss_ema, int tty, double *corr, ef_error *err) {
    double mean, sd;
    int n_val, improved;
    ef_trainer_ema_swap(&r->tr);   /* evaluate (and save as best) the averaged weights */
    ef_numerai_era_opts po = {r->o.read_in, r->o.eval_members, r->o.ctx, r->d.embargo, r->o.window, r->o.seed, r->o.fdrop};
    ef_status s = ef_numerai_ft_evaluate(&r->d, r->m, r->cache, &po, &r->td, &mean, &sd, &n_val, err);
    if (s != EF_OK) {
        ef_trainer_ema_swap(&r->tr);
        return s;
    }
    *corr = mean;
    improved = ef_trainer_record(&r->tr, mean, step, final);
    if (logf && final)
        fprintf(logf, "{\"step\":%ld,\"val_corr_mean\":%.6g,\"val_corr_std\":%.6g,\"val_eras\":%d,\"final\":true}\n", step,
                mean, sd, n_val);
    else if (logf)
        fprintf(logf, "{\"step\":%ld,\"val_corr_mean\":%.6g,\"val_corr_std\":%.6g,\"val_sharpe\":%.6g,\"best\":%.6g,"
                "\"train_loss_ema\":%.6g,\"val_eras\":%d}\n", step, mean, sd, sd > 0 ? mean / sd : NAN, r->tr.best, loss_ema,
                n_val);
    if (r->dist->rank == 0 && !final && !r->o.quiet)
        fprintf(stderr, "%sstep %ld: validation CORR %.4f (std %.4f, sharpe %.2f)%s\n", tty ? "\r\033[K" : "", step, mean, sd,
                sd > 0 ? mean / sd : NAN, improved ? "  best: saved" : "");
    s = improved ? save_best(r, step, err) : EF_OK;
    ef_trainer_ema_swap(&r->tr);   /* back to the trained weights */
    return s != EF_OK ? s : save_last(r, step, r->elapsed_prev + ef_time_now() - r->t_start, err);
}

/* The progress line, train's hook and the step's JSONL record. */
static ef_status ft_progress(void *ctx, const ef_trainer_step_info *in, ef_error *err) {
    (void)err;
    ft_loop *lp = ctx;
    ft_run *r = lp->r;
    const ft_opts *o = &r->o;
    lp->ema = isnan(lp->ema) ? in->loss : 0.95 * lp->ema + 0.05 * in->loss;
    char extra[160];
    snprintf(extra, sizeof extra, "loss %.4f  val CORR %.4f (best %.4f)", lp->ema, lp->last_corr, r->tr.best);
    if (r->dist->rank == 0 && !o->quiet) ef_progress_update(&lp->prog, (double)in->steps, extra);
    if (o->on_step) o->on_step(o->hook_ctx, in->steps, r->tr.best, lp->last_corr);
    lp->t_train += ef_time_now() - lp->ts;
    /* training throughput over all ranks: (context + query) rows per second of training steps */
    double rows_s = (double)(in->steps - lp->start) * (double)o->batch * lp->k * r->dist->size /
                    (lp->t_train > 0 ? lp->t_train : 1e-9);
    if (lp->logf) {
        fprintf(lp->logf, "{\"step\":%ld,\"loss\":%.6g,\"lr\":%.6g,\"grad_norm\":%.6g,\"rows_per_s\":%.0f,"
                "\"data_wait_share\":%.4f,\"elapsed_s\":%.3f}\n", in->steps, in->loss, in->lr, in->grad_norm, rows_s,
                lp->t_train > 0 ? ef_numerai_loader_wait_s(lp->ld) / lp->t_train : 0.0,
                r->elapsed_prev + ef_time_now() - r->t_start);
        fflush(lp->logf);
    }
    return EF_OK;
}

static ef_status ft_validate(void *ctx, long steps, ef_error *err) {
    ft_loop *lp = ctx;
    EF_TRY(validate(lp->r, steps, 0, lp->logf, lp->ema, lp->prog.is_tty, &lp->last_corr, err));
    lp->last_eval = steps;
    if (lp->logf) fflush(lp->logf);
    return EF_OK;
}

/* This rank's data through the library (ef_numerai_ft_load), with what it found on stderr. */
static ef_status ft_load(ft_run *r, ef_error *err) {
    const ft_opts *o = &r->o;
    int lead = r->dist->rank == 0;
    if (lead) fprintf(stderr, "finetune: loading %s%s%s%s\n", o->train, o->holdout ? "" : " and ", o->holdout ? "" : o->validation,
                      r->dist->size > 1 ? " (each rank its shard of eras)" : "");
    ef_numerai_ft_opts fo = {o->train, o->validation, o->fjson, o->fset, o->targets ? o->targets : o->target, o->eval_target,
                             o->holdout, o->embargo, o->window, o->ctx, o->era_every, o->eval_eras, o->groups, o->transform};
    EF_TRY(ef_numerai_ft_load(&r->d, &fo, &r->td, err));
    double tot[4] = {(double)r->d.ds.n_rows, r->d.ds.n_eras, r->d.n_q, r->d.n_v};   /* over all ranks */
    ef_dist_sum(r->dist, tot, 4);
    if (lead) fprintf(stderr, "finetune: %.0f rows, %.0f eras, %d features, %d target(s), embargo %d eras; %.0f train query eras, "
            "%.0f %s eras (%.1f s)\n", tot[0], tot[1], r->d.n_feat, r->d.tg.n, r->d.embargo, tot[2], tot[3],
            o->holdout ? "held-out selection" : "validation", ef_time_now() - r->t_start);
    return EF_OK;
}

/* How the run ended: a line on stderr, the JSON summary on stdout, and *res for train. */
static void ft_summary(const ft_run *r, long step, const char *why, ft_result *res) {
    const ft_opts *o = &r->o;
    int lead = r->dist->rank == 0;
    if (lead) fprintf(stderr, "finetune: stopped at step %ld (%s); best validation CORR %.4f at step %ld -> %s\n", step, why,
                      r->tr.best, r->tr.best_step, o->out);
    char bbuf[32];
    if (isfinite(r->tr.best)) snprintf(bbuf, sizeof bbuf, "%.6g", r->tr.best);
    else snprintf(bbuf, sizeof bbuf, "null");
    if (lead && !o->quiet) printf("{\"steps\":%ld,\"stopped\":\"%s\",\"best_step\":%ld,\"best_validation_corr\":%s,\"model\":\"%s\","
           "\"elapsed_s\":%.1f}\n", step, why, r->tr.best_step, bbuf, o->out, r->elapsed_prev + ef_time_now() - r->t_start);
    if (!res) return;
    *res = (ft_result){r->tr.best, r->elapsed_prev + ef_time_now() - r->t_start, r->tr.best_step, step, 0, 0, r->d.n_v};
    for (int i = 0; i < r->d.n_v; i++) {
        int num = r->d.ds.eras[r->d.v_eras[i]].num;
        res->sel_first = i ? EF_MIN(res->sel_first, num) : num;
        res->sel_last = i ? EF_MAX(res->sel_last, num) : num;
    }
}

static int finetune_main(int argc, char **argv, ef_dist *dist, const ft_opts *hooks, ft_result *res) {
    ft_run r;
    memset(&r, 0, sizeof r);
    ft_opts *o = &r.o;
    *o = (ft_opts){.fset = "all", .target = NULL, .eval_target = "target", .read_in = EF_NUMERAI_READIN_WIDE, .layers = 3,
                   .d_model = 64, .heads = 4, .d_max = 32, .ctx = 256, .query = 128, .batch = 8, .eval_members = 2,
                   .patience = 6, .members = 4, .embargo = -1, .steps = 2000, .warmup = -1, .eval_every = 50,
                   .wd = 0.01, .ema = 0.99, .seed = 1, .transform = EF_FT_RANKGAUSS};
    if (hooks) {
        o->quiet = hooks->quiet;
        o->on_step = hooks->on_step;
        o->hook_ctx = hooks->hook_ctx;
    }
    int rc = parse(argc, argv, o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o->targets && !o->target) o->target = "target";
    if (o->threads) ef_threads_set(o->threads);
    r.dist = dist;
    r.t_start = ef_time_now();
    ef_error err = {0};
    const char *hint = NULL;
    int status = EF_EXIT_OK;
    FILE *logf = NULL;
    ft_loop lp;
    memset(&lp, 0, sizeof lp);
    lp.r = &r;
    int lead = dist->rank == 0;

    ef_dist_trainer_hooks(dist, &r.td);
    if (ft_load(&r, &err) != EF_OK) goto fail;

    long start;
    int k = lp.k = o->ctx + o->query;
    if (setup_model(&r, k, &start, &hint, &err) != EF_OK) goto fail;
    const ef_model_config *mc = ef_model_cfg(r.m);
    if (lead) fprintf(stderr, "finetune: %s model, %d layers, d_model %d, d_max %d (%s read-in), %.2fM parameters; tasks %d+%d rows, "
            "batch %d, lr %g, threads %d\n", o->base ? o->base : "fresh", mc->n_layer, mc->d_model, mc->d_max,
            o->read_in == EF_NUMERAI_READIN_WIDE ? "wide" : "subset", ef_model_num_params(r.m) / 1e6, o->ctx, o->query,
            o->batch, o->lr, ef_threads_get());

    char logpath[4200];
    snprintf(logpath, sizeof logpath, "%s.log.jsonl", o->out);
    if (lead && !(logf = fopen(o->log ? o->log : logpath, start > 0 ? "a" : "w"))) {
        err.code = EF_ERR_IO;
        snprintf(err.msg, sizeof err.msg, "cannot open the log %.900s", o->log ? o->log : logpath);
        goto fail;
    }
    if (ft_report_shards(&r, logf, &err) != EF_OK) goto fail;
    if (lead && start == 0) ft_report_eras(&r, logf);
    size_t B = (size_t)o->batch;
    ef_numerai_loader_opts lo = {o->batch, o->read_in, mc->d_max, o->ctx, o->query, r.d.embargo, o->window, o->fdrop,
                                 o->seed, dist->rank, dist->size};
    if (ef_numerai_loader_create(&lp.ld, &r.d, &lo, &err) != EF_OK) goto fail;
    if (start < o->steps) ef_numerai_loader_start(lp.ld, start);
    lp.pbuf = ef_malloc(B * (size_t)k * sizeof(float));
    lp.dbuf = ef_malloc(B * (size_t)k * sizeof(float));
    if (!lp.pbuf || !lp.dbuf) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto fail;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    lp.budget_s = o->budget_min > 0 ? o->budget_min * 60.0 : INFINITY;
    if (lead && !o->quiet) ef_progress_start(&lp.prog, "finetune", (double)o->steps, "steps");
    lp.ema = lp.last_corr = NAN;
    lp.start = lp.last_eval = start;
    lp.logf = logf;
    long step;
    int reason;
    ef_trainer_loop tl = {&lp, o->eval_every, 0, 1, ft_stop, ft_gradients, ft_progress, ft_validate, NULL};
    if (ef_trainer_run(&r.tr, &tl, start, o->steps, &step, &reason, &err) != EF_OK) goto fail;
    const char *why = reason == 1 ? "interrupted" : reason == 2 ? "time budget"
                    : reason == EF_TRAINER_EARLY_STOP ? "early stopping" : "steps done";
    if (lead && !o->quiet) ef_progress_finish(&lp.prog, (double)step, NULL);
    /* evaluate what the last steps did, so the best checkpoint reflects them */
    if ((lp.last_eval < step || !isfinite(r.tr.best)) && validate(&r, step, 1, logf, lp.ema, 0, &lp.last_corr, &err) != EF_OK)
        goto fail;
    ft_summary(&r, step, why, res);
    if (g_stop) status = EF_EXIT_RUNTIME;
    goto done;
fail:
    status = ef_cli_fail(&err, hint);
done:
    if (logf) fclose(logf);
    ef_numerai_loader_destroy(lp.ld);
    ef_free(lp.pbuf);
    ef_free(lp.dbuf);
    ft_run_free(&r);
    return status;
}

int ef_cmd_finetune(int argc, char **argv) {
    ef_dist dist;
    ef_dist_init(&dist, &argc, &argv);
    int rc = finetune_main(argc, argv, &dist, NULL, NULL);
    if (rc != EF_EXIT_OK && dist.size > 1) ef_dist_abort(&dist, rc);
    ef_dist_finalize(&dist);
    return rc;
}

int ft_main_hooked(int argc, char **argv, const ft_opts *hooks, ft_result *res) {
    ef_dist dist;
    memset(&dist, 0, sizeof dist);
    dist.size = 1;   /* train runs its members one after the other in one process */
    return finetune_main(argc, argv, &dist, hooks, res);
}
