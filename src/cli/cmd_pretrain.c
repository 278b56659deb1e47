/* eraformer pretrain: trains the in-context transformer on fresh synthetic tasks from the
 * prior (src/prior), with a Garg curriculum, a progress line, a JSONL log and periodic
 * checkpoints; the optimisation (gradient mean over ranks, clipping, AdamW at the
 * warmup/cosine schedule, atomic checkpoints) is the library's trainer (ef_trainer_*).
 *
 * Reproducibility: the batch of step s is tasks [s·B, (s+1)·B) of the stream --seed, and the
 * context size of a rows-layout step is drawn from a stream keyed by (seed, s). A checkpoint
 * stores the parameters, the AdamW moments and the step, so `--resume` after a kill -9
 * continues with exactly the batches an uninterrupted run would have seen. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/dist.h"
#include "eraformer/model.h"
#include "eraformer/prior.h"

static volatile sig_atomic_t g_stop;
static ef_dist g_dist;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer pretrain --out FILE [options]\n"
"\n"
"Pretrains the in-context transformer on synthetic regression tasks.\n"
"\n"
"task prior:\n"
"  --task NAME           one function class (linear, sparse, relu, tree, ...); = --mixture NAME=1\n"
"  --mixture SPEC        class weights, e.g. linear=0.2,sparse=0.3,relu=0.2,tree=0.2,timeseries=0.1\n"
"  --x SPEC              input distributions, e.g. gaussian=0.5,numerai=0.5 (default gaussian)\n"
"  --prior-params SPEC   prior settings key=value,... (see include/eraformer/prior.h)\n"
"  --d N                 input dimension at the end of the curriculum (default 10)\n"
"  --d-max N             model input width (default --d)\n"
"  --points N            points per sequence k at the end of the curriculum (default 2d+1)\n"
"  --curriculum-every N  grow d by 1 and k by 2 every N steps, Garg-style (default 200; 0 = off)\n"
"  --curriculum-start D,K  first d and k of the curriculum (default: d = min(5, ceil(d/3)), k = 2d+1)\n"
"model:\n"
"  --layout L            interleaved (Garg) or rows (TabPFN-style) (default interleaved)\n"
"  --layers N --d-model N --heads N   (default 4, 128, 4)\n"
"  --row-positions       rows layout: a learned embedding per row index, so that the model sees\n"
"                        the order of the rows (time-series classes); such a model reads at most\n"
"                        --points rows and cannot be fine-tuned on eras\n"
"  --ctx-min N           rows layout: each step labels n_ctx rows drawn uniformly from [N, k-1]\n"
"                        (default 0), so more of the training signal falls on long contexts\n"
"training:\n"
"  --steps N             optimisation steps (default 1000)\n"
"  --batch N             sequences per step (default 64)\n"
"  --lr X                peak learning rate (default 1e-3)\n"
"  --warmup N            linear warmup steps (default min(300, steps/10))\n"
"  --min-lr-ratio X      cosine decay floor as a fraction of --lr (default 0.1)\n"
"  --weight-decay X      AdamW decoupled weight decay on matrices (default 0.0)\n"
"  --clip X              global gradient-norm clip (default 1.0; 0 = off)\n"
"  --seed N              task stream and init seed (default 1)\n"
"  --threads N           OpenMP threads (default: all cores)\n"
"output:\n"
"  --out FILE            checkpoint (safetensors; written atomically)\n"
"  --resume FILE         continue from a checkpoint written by pretrain\n"
"  --init FILE           start from the weights of another rows/interleaved model (a class\n"
"                        curriculum: e.g. a linear model, then the mixture); fresh AdamW moments,\n"
"                        schedule and step; the architecture comes from FILE, except that\n"
"                        --layers N (more than FILE's) adds blocks that start as the identity\n"
"  --checkpoint-every N  steps between checkpoints (default 250)\n"
"  --log FILE            JSONL log (default OUT.log.jsonl)\n"
"  --eval-every N        steps between held-out evaluations (default 100)\n"
"  --stop-after N        stop after N steps of this run, as an interruption would (the\n"
"                        schedule still ends at --steps; continue with --resume)\n"
"\n"
"Progress goes to stderr; the final evaluation is printed on stdout as JSON.\n"
"\n"
"Data parallel: under 'mpirun -np N eraformer pretrain ...' every rank trains on --batch\n"
"tasks of its own per step (a global batch of N x --batch), gradients are averaged over the\n"
"ranks, and rank 0 alone logs and writes checkpoints. Use --threads to split the cores.\n");
}

typedef struct pt_opts {
    const char *out, *resume, *init, *log, *mixture, *xspec, *pparams;
    int d, d_max, points, curriculum_every, layers, d_model, heads, batch, threads, cur_d0, cur_k0, row_pos, layers_set, ctx_min;
    long steps, warmup, ckpt_every, eval_every, stop_after;
    double lr, min_lr_ratio, wd, clip;
    uint64_t seed;
    ef_layout layout;
} pt_opts;

/* The training config stored in the checkpoint (what resume must keep). */
static void opts_json(const pt_opts *o, char *buf, size_t n) {
    snprintf(buf, n,
             "{\"mixture\":\"%s\",\"x\":\"%s\",\"prior_params\":\"%s\",\"d\":%d,\"points\":%d,"
             "\"curriculum_every\":%d,\"curriculum_start\":[%d,%d],\"batch\":%d,\"steps\":%ld,\"lr\":%.9g,\"warmup\":%ld,"
             "\"min_lr_ratio\":%.9g,\"weight_decay\":%.9g,\"clip\":%.9g,\"ctx_min\":%d}",
             o->mixture, o->xspec ? o->xspec : "", o->pparams ? o->pparams : "", o->d, o->points,
             o->curriculum_every, o->cur_d0, o->cur_k0, o->batch, o->steps, o->lr, o->warmup, o->min_lr_ratio, o->wd, o->clip, o->ctx_min);
}

typedef struct pt_buffers {
    float *x, *y, *pred;
    uint8_t *mask;
    int *dvec;
    ef_task_info *info;
} pt_buffers;

static int sample(const ef_prior_config *pc, uint64_t stream, uint64_t first, int B, int d, int k, pt_buffers *b,
                  ef_error *err) {
    if (ef_prior_sample_batch(pc, stream, first, B, d, k, b->x, b->y, b->mask, b->info, err) != EF_OK) return 1;
    for (int i = 0; i < B; i++) b->dvec[i] = b->info[i].d;
    return 0;
}

/* Held-out evaluation at the final (d, k) on EVAL_TASKS tasks of a separate stream:
 * normalised squared error (÷ the class's error scale, so predicting 0 scores ~1) at the last
 * point and averaged over points (interleaved: every prefix; rows: context = the first i
 * points, query = point i). *err_zero is the zero predictor's error on the same tasks. */
#define EVAL_TASKS 256
static int evaluate(ef_model *m, const ef_prior_config *pc, const pt_opts *o, pt_buffers *b, double *err_last,
                    double *err_mean, double *err_zero, ef_error *err) {
    int B = o->batch, d = o->d, k = o->points, nb = (EVAL_TASKS + B - 1) / B;
    uint64_t stream = ef_hash64(o->seed, 0xE7A1);
    double sum_last = 0, sum_all = 0, sum_zero = 0;
    for (int chunk = 0; chunk < nb; chunk++) {
        if (sample(pc, stream, (uint64_t)chunk * B, B, d, k, b, err)) return 1;
        for (int i = 0; i < B; i++) sum_zero += (double)b->y[i * k + k - 1] * b->y[i * k + k - 1] / b->info[i].err_scale;
        if (ef_model_cfg(m)->layout == EF_LAYOUT_INTERLEAVED) {
            ef_batch bt = {B, k, 0, b->x, b->y, b->mask, b->dvec};
            if (ef_model_forward(m, &bt, b->pred, NULL, err) != EF_OK) return 1;
            for (int i = 0; i < B; i++)
                for (int j = 0; j < k; j++) {
                    double e = (b->pred[i * k + j] - b->y[i * k + j]);
                    e = e * e / b->info[i].err_scale;
                    sum_all += e;
                    if (j == k - 1) sum_last += e;
                }
        } else {
            /* one forward per context size; queries are the remaining rows, we score row n_ctx */
            for (int n_ctx = 0; n_ctx < k; n_ctx++) {
                ef_batch bt = {B, k, n_ctx, b->x, b->y, b->mask, b->dvec};
                if (ef_model_forward(m, &bt, b->pred, NULL, err) != EF_OK) return 1;
                for (int i = 0; i < B; i++) {
                    double e = b->pred[i * k + n_ctx] - b->y[i * k + n_ctx];
                    e = e * e / b->info[i].err_scale;
                    sum_all += e;
                    if (n_ctx == k - 1) sum_last += e;
                }
            }
        }
    }
    *err_last = sum_last / ((double)nb * B);
    *err_mean = sum_all / ((double)nb * B * k);
    *err_zero = sum_zero / ((double)nb * B);
    return 0;
}

static int parse(int argc, char **argv, pt_opts *o) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"task", required_argument, 0, 't'}, {"mixture", required_argument, 0, 'm'},
        {"x", required_argument, 0, 'x'}, {"prior-params", required_argument, 0, 'P'}, {"d", required_argument, 0, 'd'},
        {"d-max", required_argument, 0, 'D'}, {"points", required_argument, 0, 'k'},
        {"curriculum-every", required_argument, 0, 'c'}, {"layout", required_argument, 0, 'L'},
        {"layers", required_argument, 0, 'l'}, {"d-model", required_argument, 0, 'C'}, {"heads", required_argument, 0, 'H'},
        {"steps", required_argument, 0, 's'}, {"batch", required_argument, 0, 'b'}, {"lr", required_argument, 0, 'r'},
        {"warmup", required_argument, 0, 'w'}, {"min-lr-ratio", required_argument, 0, 'R'},
        {"weight-decay", required_argument, 0, 'W'}, {"clip", required_argument, 0, 'G'}, {"seed", required_argument, 0, 'S'},
        {"threads", required_argument, 0, 'T'}, {"out", required_argument, 0, 'o'}, {"resume", required_argument, 0, 'u'},
        {"init", required_argument, 0, 'I'}, {"checkpoint-every", required_argument, 0, 'K'}, {"log", required_argument, 0, 'g'},
        {"eval-every", required_argument, 0, 'e'}, {"stop-after", required_argument, 0, 'A'},
        {"curriculum-start", required_argument, 0, 'Z'}, {"row-positions", no_argument, 0, 'O'},
        {"ctx-min", required_argument, 0, 'N'}, {0, 0, 0, 0}};
    static char task_buf[128];
    const char *cmd = "pretrain";
    long v;
    int c, rc = 0;
    o->warmup = -1;
    o->points = -1;
    o->d_max = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return -1;
        case 't': snprintf(task_buf, sizeof task_buf, "%s=1", optarg); o->mixture = task_buf; break;
        case 'm': o->mixture = optarg; break;
        case 'x': o->xspec = optarg; break;
        case 'P': o->pparams = optarg; break;
        case 'd': rc = ef_cli_parse_long(cmd, "--d", optarg, 1, 4096, &v); o->d = (int)v; break;
        case 'D': rc = ef_cli_parse_long(cmd, "--d-max", optarg, 1, 4096, &v); o->d_max = (int)v; break;
        case 'k': rc = ef_cli_parse_long(cmd, "--points", optarg, 1, 16384, &v); o->points = (int)v; break;
        case 'c': rc = ef_cli_parse_long(cmd, "--curriculum-every", optarg, 0, 1L << 30, &v); o->curriculum_every = (int)v; break;
        case 'L': {
            ef_error e = {0};
            if (ef_layout_parse(optarg, &o->layout, &e) != EF_OK) return ef_cli_usage(cmd, "%s", e.msg);
            break;
        }
        case 'l': rc = ef_cli_parse_long(cmd, "--layers", optarg, 1, 256, &v); o->layers = (int)v; o->layers_set = 1; break;
        case 'C': rc = ef_cli_parse_long(cmd, "--d-model", optarg, 1, 8192, &v); o->d_model = (int)v; break;
        case 'H': rc = ef_cli_parse_long(cmd, "--heads", optarg, 1, 256, &v); o->heads = (int)v; break;
        case 's': rc = ef_cli_parse_long(cmd, "--steps", optarg, 0, 1L << 40, &o->steps); break;
        case 'b': rc = ef_cli_parse_long(cmd, "--batch", optarg, 1, 1 << 16, &v); o->batch = (int)v; break;
        case 'r': rc = ef_cli_parse_double(cmd, "--lr", optarg, 0, 10, &o->lr); break;
        case 'w': rc = ef_cli_parse_long(cmd, "--warmup", optarg, 0, 1L << 40, &o->warmup); break;
        case 'R': rc = ef_cli_parse_double(cmd, "--min-lr-ratio", optarg, 0, 1, &o->min_lr_ratio); break;
        case 'W': rc = ef_cli_parse_double(cmd, "--weight-decay", optarg, 0, 10, &o->wd); break;
        case 'G': rc = ef_cli_parse_double(cmd, "--clip", optarg, 0, 1e9, &o->clip); break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &o->seed); break;
        case 'T': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &v); o->threads = (int)v; break;
        case 'o': o->out = optarg; break;
        case 'u': o->resume = optarg; break;
        case 'I': o->init = optarg; break;
        case 'O': o->row_pos = 1; break;
        case 'K': rc = ef_cli_parse_long(cmd, "--checkpoint-every", optarg, 1, 1L << 40, &o->ckpt_every); break;
        case 'g': o->log = optarg; break;
        case 'e': rc = ef_cli_parse_long(cmd, "--eval-every", optarg, 1, 1L << 40, &o->eval_every); break;
        case 'Z':
            if (sscanf(optarg, "%d,%d", &o->cur_d0, &o->cur_k0) != 2 || o->cur_d0 < 1 || o->cur_k0 < 1)
                return ef_cli_usage(cmd, "--curriculum-start expects D,K (two positive integers), got '%s'", optarg);
            break;
        case 'N': rc = ef_cli_parse_long(cmd, "--ctx-min", optarg, 0, 16383, &v); o->ctx_min = (int)v; break;
        case 'A': rc = ef_cli_parse_long(cmd, "--stop-after", optarg, 1, 1L << 40, &o->stop_after); break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->out) return ef_cli_usage(cmd, "--out FILE is required");
    if (o->row_pos && o->layout != EF_LAYOUT_ROWS) return ef_cli_usage(cmd, "--row-positions needs --layout rows");
    if (o->ctx_min > 0 && o->layout != EF_LAYOUT_ROWS)
        return ef_cli_usage(cmd, "--ctx-min needs --layout rows (the interleaved layout scores every prefix)");
    if (o->init && o->resume) return ef_cli_usage(cmd, "--init and --resume exclude each other (--resume continues a run)");
    if (o->points < 0) o->points = 2 * o->d + 1;
    if (o->d_max < 0) o->d_max = o->d;
    if (o->d > o->d_max) return ef_cli_usage(cmd, "--d (%d) must not exceed --d-max (%d)", o->d, o->d_max);
    if (o->ctx_min >= o->points)
        return ef_cli_usage(cmd, "--ctx-min (%d) must leave at least one query row of --points (%d)", o->ctx_min, o->points);
    if (o->warmup < 0) o->warmup = o->steps / 10 < 300 ? o->steps / 10 : 300;
    if (o->d_model % o->heads) return ef_cli_usage(cmd, "--heads (%d) must divide --d-model (%d)", o->heads, o->d_model);
    return 0;
}

/* The checkpoint (rank 0): weights, AdamW moments, the step and the options as its extra. */
static int save(const ef_trainer *tr, const pt_opts *o, long step, ef_error *err) {
    char extra[sizeof ((ef_train_state *)0)->extra];
    opts_json(o, extra, sizeof extra);
    return ef_trainer_save(tr, o->out, step, o->seed, extra, err) != EF_OK;
}

/* Whether a model file's architecture can serve this run: the same input width and layout,
 * at least as many points, and row positions equal (resume) or at most this run's (init:
 * positions may be added, not dropped). On a mismatch, err says what differs. */
static int arch_mismatch(const ef_model_config *mc, const pt_opts *o, const char *file, int exact_pos, ef_error *err) {
    int pos_ok = exact_pos ? mc->row_positions == o->row_pos : mc->row_positions <= o->row_pos;
    if (mc->d_max == o->d_max && mc->max_points >= o->points && mc->layout == o->layout && pos_ok) return 0;
    *err = (ef_error){0};
    err->code = EF_ERR_INVALID;
    snprintf(err->msg, sizeof err->msg, "%s has d_max=%d, points=%d, layout %s%s; this run asks for %d, %d, %s%s", file,
             mc->d_max, mc->max_points, ef_layout_name(mc->layout), mc->row_positions ? " with row positions" : "",
             o->d_max, o->points, ef_layout_name(o->layout), o->row_pos ? " with row positions" : "");
    return 1;
}

static int pretrain_run(pt_opts *op);

int ef_cmd_pretrain(int argc, char **argv) {
    pt_opts o = {.d = 10, .curriculum_every = 200, .layers = 4, .d_model = 128, .heads = 4, .batch = 64,
                 .steps = 1000, .lr = 1e-3, .min_lr_ratio = 0.1, .wd = 0.0, .clip = 1.0, .seed = 1,
                 .ckpt_every = 250, .eval_every = 100, .mixture = "linear=1", .layout = EF_LAYOUT_INTERLEAVED};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    ef_dist_init(&g_dist, &argc, &argv);
    rc = pretrain_run(&o);
    if (rc != EF_EXIT_OK) ef_dist_abort(&g_dist, rc);
    ef_dist_finalize(&g_dist);
    return rc;
}

/* The state pretrain's loop callbacks share (ef_trainer_run). */
typedef struct pt_loop {
    const pt_opts *o;
    const ef_prior_config *pc;
    const ef_curriculum *cur;
    ef_model *m;
    pt_buffers *b;
    FILE *logf;
    ef_progress prog;
    const ef_trainer *tr;
    double tokens, t0, ema;   /* tokens trained on, the start time, the loss average */
    int rank, world;
    int d, k, n_ctx;          /* the current step's curriculum and context size */
    double scale;             /* the current batch's mean error scale */
} pt_loop;

/* Rank 0 decides for every rank (a signal). */
static int pt_stop(void *ctx, long step) {
    (void)ctx;
    (void)step;
    if (!ef_dist_bcast_int(&g_dist, g_stop)) return 0;
    g_stop = 1;
    return 1;
}

/* The batch of step at the curriculum's (d, k): forward and backward. */
static ef_status pt_gradients(void *ctx, long step, double *loss, ef_error *err) {
    pt_loop *L = ctx;
    const pt_opts *o = L->o;
    ef_curriculum_at(L->cur, step, &L->d, &L->k);
    int k = L->k;
    L->n_ctx = 0;
    if (ef_model_cfg(L->m)->layout == EF_LAYOUT_ROWS) {
        ef_rng r;
        ef_rng_init(&r, o->seed, 0x5EED0000ull + (uint64_t)step);
        /* lo..k-1 labelled rows, >= 1 query; during a curriculum k may still be short of
         * --ctx-min, then the context is as long as it can be */
        int lo = o->ctx_min < k ? o->ctx_min : k - 1;
        L->n_ctx = lo + (int)ef_rng_below(&r, (uint64_t)(k - lo));
    }
    /* rank r takes tasks [(s·W + r)·B, (s·W + r + 1)·B): the union over ranks is the batch of
     * a one-rank run with batch W·B */
    if (sample(L->pc, o->seed, ((uint64_t)step * L->world + L->rank) * (uint64_t)o->batch, o->batch, L->d, k, L->b, err))
        return err->code ? err->code : EF_ERR_INTERNAL;
    ef_batch bt = {o->batch, k, L->n_ctx, L->b->x, L->b->y, L->b->mask, L->b->dvec};
    ef_status st = ef_model_forward(L->m, &bt, NULL, loss, err);
    if (st != EF_OK) return st;
    ef_model_zero_grad(L->m);
    ef_model_backward(L->m, err);
    L->scale = 0;
    for (int i = 0; i < o->batch; i++) L->scale += L->b->info[i].err_scale;
    L->scale /= o->batch;
    return EF_OK;
}

/* The progress line and the step's JSONL record. */
static ef_status pt_progress(void *ctx, const ef_trainer_step_info *in, ef_error *err) {
    (void)err;
    pt_loop *L = ctx;
    const pt_opts *o = L->o;
    L->tokens += (double)o->batch * L->world * (ef_model_cfg(L->m)->layout == EF_LAYOUT_INTERLEAVED ? 2 * L->k : L->k);
    /* loss in units of the zero predictor (err_scale = d for linear tasks) */
    double nloss = in->loss / L->scale;
    L->ema = isnan(L->ema) ? nloss : 0.98 * L->ema + 0.02 * nloss;
    double el = ef_time_now() - L->t0;
    char extra[160];
    snprintf(extra, sizeof extra, "loss %.4f (norm %.4f)  d %d k %d  %.0f tok/s", in->loss, L->ema, L->d, L->k,
             L->tokens / el);
    if (L->rank == 0) ef_progress_update(&L->prog, (double)in->steps, extra);
    fprintf(L->logf, "{\"step\":%ld,\"loss\":%.6g,\"norm_loss\":%.6g,\"lr\":%.6g,\"grad_norm\":%.6g,\"d\":%d,\"k\":%d,"
            "\"n_ctx\":%d,\"tokens_per_s\":%.1f,\"elapsed_s\":%.3f,\"allreduce_share\":%.4f}\n", in->steps, in->loss,
            nloss, in->lr, in->grad_norm, L->d, L->k, L->n_ctx, L->tokens / el, el, L->tr->comm_s / el);
    fflush(L->logf);
    return EF_OK;
}

/* Rank 0: the held-out error into the log and on stderr. */
static ef_status pt_evaluate(void *ctx, long steps, ef_error *err) {
    pt_loop *L = ctx;
    const pt_opts *o = L->o;
    if (L->rank != 0) return EF_OK;
    double el_last, el_mean, el_zero;
    if (evaluate(L->m, L->pc, o, L->b, &el_last, &el_mean, &el_zero, err)) return err->code ? err->code : EF_ERR_INTERNAL;
    fprintf(L->logf, "{\"step\":%ld,\"eval_err_last\":%.6g,\"eval_err_mean\":%.6g,\"eval_err_zero\":%.6g,\"d\":%d,\"k\":%d}\n",
            steps, el_last, el_mean, el_zero, o->d, o->points);
    fprintf(stderr, "%sstep %ld: held-out normalised error at k=%d: %.4f (mean over k: %.4f; zero predictor %.4f)\n",
            L->prog.is_tty ? "\r\033[K" : "", steps, o->points, el_last, el_mean, el_zero);
    fflush(L->logf);
    return EF_OK;
}

static ef_status pt_checkpoint(void *ctx, long steps, ef_error *err) {
    pt_loop *L = ctx;
    return save(L->tr, L->o, steps, err) ? (err->code ? err->code : EF_ERR_IO) : EF_OK;
}

/* The prior of --task/--mixture/--x/--prior-params and the curriculum (its start, when not
 * given, into o). Returns an exit code (0: ready). */
static int setup_tasks(pt_opts *o, ef_prior_config *pc, ef_curriculum *cur, ef_error *err) {
    ef_prior_config_default(pc);
    pc->d_max = o->d_max;
    pc->n_points = o->points;
    if (ef_prior_config_parse_mixture(pc, o->mixture, err) != EF_OK ||
        (o->xspec && ef_prior_config_parse_x(pc, o->xspec, err) != EF_OK) ||
        (o->pparams && ef_prior_config_parse_params(pc, o->pparams, err) != EF_OK) ||
        ef_prior_config_validate(pc, err) != EF_OK) {
        err->code = EF_ERR_INVALID;
        return ef_cli_fail(err, "see 'eraformer pretrain --help' for the prior options");
    }
    if (o->curriculum_every > 0) {
        ef_curriculum_default(cur, o->d, o->points);
        cur->every_steps = o->curriculum_every;
        if (!o->cur_d0) {
            /* Garg starts at d = 5 for d = 20; small problems start at about d/3 so that the
             * first tasks are easy enough to leave the "predict 0" plateau early */
            o->cur_d0 = (o->d + 2) / 3 < 5 ? (o->d + 2) / 3 : 5;
            o->cur_k0 = 2 * o->cur_d0 + 1;
        }
        cur->d_start = o->cur_d0 < o->d ? o->cur_d0 : o->d;
        cur->k_start = o->cur_k0 < o->points ? o->cur_k0 : o->points;
    } else {
        *cur = (ef_curriculum){o->d, o->d, 1, o->points, o->points, 1, 1};
    }
    if (ef_curriculum_validate(cur, err) != EF_OK) return ef_cli_fail(err, NULL);
    return 0;
}

/* The model: --resume's (*st its state, o->seed its seed), --init's weights grown to this run's
 * architecture, or a fresh one. Returns an exit code (0: *m ready). */
static int setup_model(pt_opts *o, ef_model **m, ef_train_state *st, ef_error *err) {
    memset(st, 0, sizeof *st);
    if (o->resume) {
        int has_optim = 0;
        if (ef_model_load(m, o->resume, o->batch, st, &has_optim, err) != EF_OK)
            return ef_cli_fail(err, "--resume needs a checkpoint written by 'eraformer pretrain'");
        if (arch_mismatch(ef_model_cfg(*m), o, o->resume, 1, err)) {
            ef_model_destroy(*m);
            return ef_cli_fail(err, "pass the same --d-max, --points, --layout and --row-positions as the original run");
        }
        if (!has_optim) fprintf(stderr, "pretrain: %s has no optimiser state: AdamW moments restart from zero\n", o->resume);
        o->seed = st->seed;
    } else if (o->init) {
        /* a fresh model of the file's architecture with its weights: step 0, zero moments */
        ef_model *src = NULL;
        if (ef_model_load(&src, o->init, 1, NULL, NULL, err) != EF_OK)
            return ef_cli_fail(err, "--init needs a model written by 'eraformer pretrain' or 'export'");
        ef_model_config mc = *ef_model_cfg(src);
        if (arch_mismatch(&mc, o, o->init, 0, err)) {
            ef_model_destroy(src);
            return ef_cli_fail(err, "pass the --d-max, --points, --layout (and --row-positions) of the initial model");
        }
        if (o->layers_set && o->layers < mc.n_layer) {
            ef_model_destroy(src);
            return ef_cli_usage("pretrain", "--init %s has %d layers: --layers may add layers, not remove them (got %d)",
                                o->init, mc.n_layer, o->layers);
        }
        mc.row_positions = o->row_pos;
        if (o->layers_set) mc.n_layer = o->layers;
        /* added row positions start at zero and added layers with zero output projections, so
         * that the first step predicts exactly as the initial model */
        if (ef_model_create(m, &mc, o->batch, o->seed, err) != EF_OK || ef_model_copy_grow(*m, src, err) != EF_OK) {
            ef_model_destroy(*m);
            ef_model_destroy(src);
            return ef_cli_fail(err, NULL);
        }
        ef_model_destroy(src);
    } else {
        ef_model_config mc = {o->layout, o->layers, o->d_model, o->heads, o->d_max, o->points, o->row_pos};
        if (ef_model_create(m, &mc, o->batch, o->seed, err) != EF_OK) return ef_cli_fail(err, NULL);
    }
    return 0;
}

static int pretrain_run(pt_opts *op) {
    pt_opts o = *op;
    int rank = g_dist.rank, world = g_dist.size;
    if (o.threads) ef_threads_set(o.threads);
    ef_error err = {0};
    ef_prior_config pc;
    ef_curriculum cur;
    int rc = setup_tasks(&o, &pc, &cur, &err);
    if (rc) return rc;
    ef_model *m = NULL;
    long start = 0;
    ef_train_state st;
    if ((rc = setup_model(&o, &m, &st, &err))) return rc;
    ef_trainer tr;
    ef_trainer_dist td;
    ef_dist_trainer_hooks(&g_dist, &td);
    ef_trainer_config tc = {o.lr, o.warmup, o.steps, o.min_lr_ratio, o.wd, o.clip, 0, 0};
    if (ef_trainer_init(&tr, m, &tc, &td, &err) != EF_OK) {
        ef_model_destroy(m);
        return ef_cli_fail(&err, NULL);
    }
    start = ef_trainer_resume(&tr, &st, NULL);
    const ef_model_config *mc = ef_model_cfg(m);
    char desc[512];
    ef_prior_config_describe(&pc, desc, sizeof desc);
    if (rank == 0)
        fprintf(stderr, "pretrain: layout %s, %d layers, d_model %d, %d heads, %.2fM parameters; %s; batch %d x %d rank%s, "
                "steps %ld..%ld, lr %g, seed %llu, threads %d\n", ef_layout_name(mc->layout), mc->n_layer, mc->d_model,
                mc->n_head, ef_model_num_params(m) / 1e6, desc, o.batch, world, world > 1 ? "s" : "", start, o.steps, o.lr,
                (unsigned long long)o.seed, ef_threads_get());

    char logpath[4096];
    snprintf(logpath, sizeof logpath, "%s.log.jsonl", o.out);
    FILE *logf = fopen(rank == 0 ? (o.log ? o.log : logpath) : "/dev/null", start > 0 ? "a" : "w");
    if (!logf) {
        ef_trainer_free(&tr);
        ef_model_destroy(m);
        err.code = EF_ERR_IO;
        snprintf(err.msg, sizeof err.msg, "cannot open the log %.900s", o.log ? o.log : logpath);
        return ef_cli_fail(&err, NULL);
    }

    size_t B = (size_t)o.batch, K = (size_t)o.points, D = (size_t)o.d_max;
    pt_buffers b = {ef_malloc(B * K * D * sizeof(float)), ef_malloc(B * K * sizeof(float)),
                    ef_malloc(B * K * sizeof(float)), ef_malloc(B * K * D), ef_malloc(B * sizeof(int)),
                    ef_malloc(B * sizeof(ef_task_info))};
    int status = EF_EXIT_OK;
    if (!b.x || !b.y || !b.pred || !b.mask || !b.dvec || !b.info) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory for the batch buffers");
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pt_loop L = {&o, &pc, &cur, m, &b, logf, {0}, &tr, 0, ef_time_now(), NAN, rank, world, 0, 0, 0, 0};
    ef_progress_start(&L.prog, "pretrain", (double)o.steps, "steps");
    L.prog.first = (double)start;
    long step;
    int why;
    long stop_at = o.stop_after > 0 && start + o.stop_after < o.steps ? start + o.stop_after : o.steps;
    ef_trainer_loop lp = {&L, o.eval_every, o.ckpt_every, 0, pt_stop, pt_gradients, pt_progress, pt_evaluate, pt_checkpoint};
    if (ef_trainer_run(&tr, &lp, start, stop_at, &step, &why, &err) != EF_OK) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (rank == 0) ef_progress_finish(&L.prog, (double)step, NULL);
    if (save(&tr, &o, step, &err)) {
        status = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (g_stop && rank == 0) fprintf(stderr, "pretrain: interrupted at step %ld; checkpoint saved to %s (continue with --resume)\n", step, o.out);
    if (rank == 0) {
        double el_last, el_mean, el_zero;
        if (evaluate(m, &pc, &o, &b, &el_last, &el_mean, &el_zero, &err) == EF_OK)
            printf("{\"steps\":%ld,\"d\":%d,\"k\":%d,\"eval_err_last\":%.6g,\"eval_err_mean\":%.6g,\"eval_err_zero\":%.6g,"
                   "\"checkpoint\":\"%s\"}\n", step, o.d, o.points, el_last, el_mean, el_zero, o.out);
    }
    if (g_stop) status = EF_EXIT_RUNTIME;
done:
    fclose(logf);
    ef_free(b.x); ef_free(b.y); ef_free(b.pred); ef_free(b.mask); ef_free(b.dvec); ef_free(b.info);
    ef_trainer_free(&tr);
    ef_model_destroy(m);
    return status;
}
