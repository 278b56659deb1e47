/* eraformer train: the recommended recipe in one command. Within --time-budget it fine-tunes
 * --members models (seeds) one after the other, each early-stopped on the newest train eras
 * held out behind the embargo (never on --validation), and writes a model directory
 * (model_dir.h): the manifest is rewritten atomically after each member, so a run killed at
 * any moment continues with --resume. With --validation it then predicts those eras with the
 * ensemble and scores them: the only scores it reports, on eras nothing was selected on. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/finetune.h"
#include "numerai/model_dir.h"
#include "cli/train.h"

#ifndef EF_MODELS_DIR
#define EF_MODELS_DIR "models"
#endif

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer train --train FILE [--validation FILE] --features-json FILE --time-budget MIN\n"
"                       --out DIR [options]\n"
"\n"
"The recommended recipe in one command. Fine-tunes --members models (different seeds) of the\n"
"in-context transformer one after the other within the time budget, each early-stopped on the\n"
"--holdout-eras newest train eras (its query eras end --embargo eras before them), and writes\n"
"a model directory: DIR/manifest.json and DIR/member-K.st (+ .json). 'predict --model DIR' and\n"
"'evaluate --model DIR' use it. Killed at any moment, 'train --resume' continues it.\n"
"With --validation, its eras are then predicted by the ensemble and scored (DIR/validation/):\n"
"nothing was selected on them. --validation is never used for early stopping.\n"
"\n"
"  --train FILE           train data (parquet or CSV)\n"
"  --validation FILE      scored after training (and context for its own later eras)\n"
"  --features-json FILE   Numerai's features.json\n"
"  --feature-set SPEC     set name(s) or features (default all)\n"
"  --target NAME | --targets t1=w1,...   training target(s) (default target)\n"
"  --time-budget MIN      minutes for the whole run (required)\n"
"  --out DIR              the model directory (created; must not hold a model unless --resume)\n"
"  --resume               continue the run in DIR with its recorded options\n"
"  --members N            models in the ensemble (default: %d, and more, up to %d, while the\n"
"                         budget lasts after early stopping)\n"
"  --holdout-eras N       selection eras (default: an eighth of the train eras, 8 to 52)\n"
"  --embargo N            eras between training and selection/context (default: finetune's)\n"
"  --base FILE            pretrained base (default %s/mixture-numerai.st when it exists)\n"
"  --seed N               seed of the first member (default 1; member K uses seed+K-1)\n"
"  --context-rows N --query-rows N --batch N   task shape (finetune's defaults)\n"
"  --member-opts \"OPTS\"   extra 'eraformer finetune' options for every member, after the\n"
"                         recipe's (they win), e.g. \"--steps 3000 --lr 3e-4\"\n"
"  --threads N            OpenMP threads (default: all cores)\n"
"\n"
"\n"
"Each member is 'eraformer finetune' with the recipe:\n"
"  %s\n"
"Progress (whole budget, ETA) on stderr; a JSON summary on stdout.\n", TR_DEFAULT_MEMBERS, TR_MAX_AUTO_MEMBERS, EF_MODELS_DIR,
            TR_RECIPE);
}

static int parse(int argc, char **argv, tr_opts *o) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"train", required_argument, 0, 't'}, {"validation", required_argument, 0, 'v'},
        {"features-json", required_argument, 0, 'j'}, {"feature-set", required_argument, 0, 'f'},
        {"target", required_argument, 0, 'y'}, {"targets", required_argument, 0, 'Y'},
        {"time-budget", required_argument, 0, 'T'}, {"out", required_argument, 0, 'o'}, {"resume", no_argument, 0, 'u'},
        {"members", required_argument, 0, 'K'}, {"holdout-eras", required_argument, 0, 'H'},
        {"embargo", required_argument, 0, 'b'}, {"base", required_argument, 0, 'B'}, {"seed", required_argument, 0, 'S'},
        {"context-rows", required_argument, 0, 'c'}, {"query-rows", required_argument, 0, 'q'},
        {"batch", required_argument, 0, 'n'}, {"threads", required_argument, 0, 'P'},
        {"member-opts", required_argument, 0, 'M'}, {0, 0, 0, 0}};
    const char *cmd = "train";
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
        case 'T': rc = ef_cli_parse_double(cmd, "--time-budget", optarg, 0.05, 1e6, &o->budget_min); break;
        case 'o': o->out = optarg; break;
        case 'u': o->resume = 1; break;
        case 'K':
            rc = ef_cli_parse_long(cmd, "--members", optarg, 1, MD_MAX_MEMBERS, &v);
            o->members = (int)v;
            o->members_given = 1;
            break;
        case 'H': rc = ef_cli_parse_long(cmd, "--holdout-eras", optarg, 1, 100000, &v); o->holdout = (int)v; break;
        case 'b': rc = ef_cli_parse_long(cmd, "--embargo", optarg, 0, 100000, &v); o->embargo = (int)v; break;
        case 'B': o->base = optarg; break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &o->seed); o->seed_given = 1; break;
        case 'c': rc = ef_cli_parse_long(cmd, "--context-rows", optarg, 1, 1 << 20, &v); o->ctx = (int)v; break;
        case 'q': rc = ef_cli_parse_long(cmd, "--query-rows", optarg, 1, 1 << 20, &v); o->query = (int)v; break;
        case 'n': rc = ef_cli_parse_long(cmd, "--batch", optarg, 1, 4096, &v); o->batch = (int)v; break;
        case 'P': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &v); o->threads = (int)v; break;
        case 'M': o->member_opts = optarg; break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->out) return ef_cli_usage(cmd, "--out DIR is required");
    if (o->resume) {   /* the rest comes from the manifest */
        if (o->train || o->validation || o->fjson || o->fset || o->target || o->targets || o->budget_min > 0 ||
            o->members_given || o->holdout || o->embargo >= 0 || o->base || o->seed_given || o->ctx || o->query || o->batch ||
            o->member_opts)
            return ef_cli_usage(cmd, "--resume takes only --out (and --threads): the run's options are in its manifest");
        return 0;
    }
    if (!o->fset) o->fset = "all";
    const char *paths[] = {o->train, o->validation, o->fjson, o->base, o->out};
    for (int i = 0; i < 5; i++)
        if (paths[i] && strlen(paths[i]) >= 1000) return ef_cli_usage(cmd, "paths must be shorter than 1000 bytes");
    if (o->member_opts && strlen(o->member_opts) >= 500) return ef_cli_usage(cmd, "--member-opts is too long");
    if (strlen(o->fset) >= 250 || strlen(o->targets ? o->targets : o->target ? o->target : "") >= 500)
        return ef_cli_usage(cmd, "--feature-set or --targets is too long (use a set name)");
    if (!o->train || !o->fjson || !(o->budget_min > 0))
        return ef_cli_usage(cmd, "--train, --features-json, --time-budget and --out are required");
    if (o->target && o->targets) return ef_cli_usage(cmd, "give --target or --targets, not both");
    return 0;
}

// ---- the whole budget's progress line -----------------------------------------------------

typedef struct tr_prog {
    ef_progress p;
    double spent_s, t_member;   /* finished members' seconds; this member's start (ef_time_now) */
    int member, members;
} tr_prog;

static void on_step(void *ctx, long step, double best, double last) {
    tr_prog *tp = ctx;
    char extra[160];
    (void)last;
    snprintf(extra, sizeof extra, "member %d/%d  step %ld  selection CORR %.4f", tp->member, tp->members, step,
             isfinite(best) ? best : NAN);
    ef_progress_update(&tp->p, tp->spent_s + ef_time_now() - tp->t_member, extra);
}

// ---- members ---------------------------------------------------------------------------------

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* finetune's argv for member k (1-based) with a budget of `minutes`. */
static int member_argv(const tr_opts *o, const md_manifest *m, int k, double minutes, char bufs[][4200], char **argv) {
    int n = 0;
#define ARG(...) (snprintf(bufs[n], 4200, __VA_ARGS__), argv[n] = bufs[n], n++)
    ARG("finetune");
    ARG("--train"); ARG("%s", m->train);
    ARG("--features-json"); ARG("%s", m->features_json);
    ARG("--feature-set"); ARG("%s", m->feature_set);
    ARG("--targets"); ARG("%s", m->targets);
    ARG("--holdout-eras"); ARG("%d", m->holdout);
    if (m->embargo >= 0) { ARG("--embargo"); ARG("%d", m->embargo); }
    ARG("--seed"); ARG("%llu", (unsigned long long)(m->seed + (uint64_t)k - 1));
    ARG("--time-budget"); ARG("%.6f", minutes);
    ARG("--out"); ARG("%s/member-%d.st", o->out, k);
    if (m->base[0]) { ARG("--base"); ARG("%s", m->base); }
    if (m->ctx) { ARG("--context-rows"); ARG("%d", m->ctx); }
    if (m->query) { ARG("--query-rows"); ARG("%d", m->query); }
    if (m->batch) { ARG("--batch"); ARG("%d", m->batch); }
    if (o->threads) { ARG("--threads"); ARG("%d", o->threads); }
    /* the recipe, then --member-opts (whitespace-separated finetune options; the last wins) */
    char opts[1100];
    snprintf(opts, sizeof opts, "%s %s", m->recipe, m->member_opts);
    for (char *tok = strtok(opts, " \t"); tok && n < TR_MAX_ARGS - 2; tok = strtok(NULL, " \t")) ARG("%s", tok);
    char last[4100];
    snprintf(last, sizeof last, "%.4000s/member-%d.st.last.st", o->out, k);
    if (m->in_progress == k && file_exists(last)) { ARG("--resume"); ARG("%s", last); }
#undef ARG
    return n;
}

/* Trains member k, then seals it into the manifest (written atomically). */
static int train_member(const tr_opts *o, md_manifest *m, int k, tr_prog *tp, ef_error *err) {
    double left_s = m->budget_min * 60.0 - m->spent_s;
    double minutes = m->in_progress == k ? m->in_progress_budget_min : left_s / 60.0 / (m->planned - k + 1);
    if (m->in_progress != k) {
        m->in_progress = k;
        m->in_progress_budget_min = minutes;
        if (md_manifest_save(m, o->out, err) != EF_OK) return ef_cli_fail(err, NULL);
    }
    static char bufs[TR_MAX_ARGS][4200];
    char *argv[TR_MAX_ARGS + 1];
    int argc = member_argv(o, m, k, minutes, bufs, argv);
    argv[argc] = NULL;
    ft_opts hooks = {0};
    hooks.quiet = 1;
    hooks.on_step = on_step;
    hooks.hook_ctx = tp;
    tp->member = k;
    tp->t_member = ef_time_now();
    ft_result res;
    memset(&res, 0, sizeof res);
    int rc = ft_main_hooked(argc, argv, &hooks, &res);
    if (rc) {
        fprintf(stderr, "train: member %d stopped (exit %d); 'eraformer train --out %s --resume' continues it\n", k, rc, o->out);
        return rc;
    }
    md_member *mm = &m->members[m->n_members];
    char name[64];
    snprintf(name, sizeof name, "member-%d.st", k);
    if (md_file_seal(&mm->weights, o->out, name, err) != EF_OK) return ef_cli_fail(err, NULL);
    snprintf(name, sizeof name, "member-%d.st.json", k);
    if (md_file_seal(&mm->meta, o->out, name, err) != EF_OK) return ef_cli_fail(err, NULL);
    mm->seed = m->seed + (uint64_t)k - 1;
    mm->selection_corr = res.best_corr;
    mm->best_step = res.best_step;
    mm->steps = res.steps;
    mm->seconds = res.elapsed_s;
    m->sel_first = res.sel_first;
    m->sel_last = res.sel_last;
    m->n_members++;
    m->spent_s += res.elapsed_s;
    m->in_progress = 0;
    m->complete = m->n_members == m->planned;
    if (md_manifest_save(m, o->out, err) != EF_OK) return ef_cli_fail(err, NULL);
    char last[4300];
    snprintf(last, sizeof last, "%s/member-%d.st.last.st", o->out, k);
    unlink(last);   /* sealed: the resume point is no longer needed */
    tp->spent_s = m->spent_s;
    fprintf(stderr, "%strain: member %d/%d sealed: selection CORR %.4f at step %ld of %ld (%.0f s)\n", tp->p.is_tty ? "\r\033[K" : "",
            k, m->planned, res.best_corr, res.best_step, res.steps, res.elapsed_s);
    return 0;
}

// ---- setup -----------------------------------------------------------------------------------

/* A fresh manifest from the options, or the recorded one for --resume. */
static int setup(tr_opts *o, md_manifest *m, ef_error *err) {
    if (o->resume) {
        if (md_manifest_load(m, o->out, err) != EF_OK) return ef_cli_fail(err, "--resume needs a model directory written by 'eraformer train'");
        if (md_verify(m, o->out, err) != EF_OK) return ef_cli_fail(err, "a sealed member changed: train again into a new --out");
        o->validation = m->validation[0] ? m->validation : NULL;
        return 0;
    }
    if (md_is_model_dir(o->out))
        return ef_cli_usage("train", "%s already holds a model (manifest.json): pass --resume or another --out", o->out);
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) {
        err->code = EF_ERR_IO;
        snprintf(err->msg, sizeof err->msg, "cannot create %.1000s: %s", o->out, strerror(errno));
        return ef_cli_fail(err, NULL);
    }
    memset(m, 0, sizeof *m);
    m->planned = o->members;
    m->max_members = o->members_given ? o->members : TR_MAX_AUTO_MEMBERS;
    m->seed = o->seed;
    m->ctx = o->ctx;
    m->query = o->query;
    m->batch = o->batch;
    snprintf(m->base, sizeof m->base, "%s", o->base_path);
    snprintf(m->recipe, sizeof m->recipe, "%s", TR_RECIPE);
    snprintf(m->member_opts, sizeof m->member_opts, "%s", o->member_opts ? o->member_opts : "");
    m->budget_min = o->budget_min;
    m->embargo = o->embargo;
    snprintf(m->train, sizeof m->train, "%s", o->train);
    snprintf(m->validation, sizeof m->validation, "%s", o->validation ? o->validation : "");
    snprintf(m->features_json, sizeof m->features_json, "%s", o->fjson);
    snprintf(m->feature_set, sizeof m->feature_set, "%s", o->fset);
    snprintf(m->targets, sizeof m->targets, "%s", o->targets ? o->targets : o->target ? o->target : "target");
    if (o->holdout <= 0) {
        int n_train = 0;
        if (tr_count_train_eras(o->train, &n_train, err) != EF_OK) return ef_cli_fail(err, NULL);
        o->holdout = EF_MIN(52, EF_MAX(8, n_train / 8));
    }
    m->holdout = o->holdout;
    if (md_manifest_save(m, o->out, err) != EF_OK) return ef_cli_fail(err, NULL);
    return 0;
}

int ef_cmd_train(int argc, char **argv) {
    tr_opts o = {.members = TR_DEFAULT_MEMBERS, .embargo = -1, .seed = 1};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    const char *ranks = getenv("OMPI_COMM_WORLD_SIZE");
    if (ranks && atoi(ranks) > 1)
        return ef_cli_usage("train", "train runs in one process (its members one after the other); under mpirun use finetune");
    if (o.threads) ef_threads_set(o.threads);
    if (o.base) snprintf(o.base_path, sizeof o.base_path, "%s", o.base);
    else if (file_exists(EF_MODELS_DIR "/mixture-numerai.st")) snprintf(o.base_path, sizeof o.base_path, "%s", EF_MODELS_DIR "/mixture-numerai.st");
    ef_error err = {0};
    md_manifest *m = ef_calloc(1, sizeof *m);
    if (!m) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        return ef_cli_fail(&err, NULL);
    }
    double t0 = ef_time_now();
    if ((rc = setup(&o, m, &err)) != 0) goto done;
    fprintf(stderr, "train: %d member(s) in %.1f min (%.1f min left), selection on the %d newest train eras -> %s%s\n",
            m->planned, m->budget_min, (m->budget_min * 60 - m->spent_s) / 60, m->holdout, o.out,
            o.resume ? " (resumed)" : "");
    tr_prog tp = {.spent_s = m->spent_s, .members = m->planned};
    ef_progress_start(&tp.p, "train", m->budget_min * 60.0, "s");
    tp.p.first = m->spent_s;
    for (int k = m->n_members + 1; k <= m->planned && !rc; k++) {
        if (m->in_progress != k && m->budget_min * 60.0 - m->spent_s < TR_MIN_MEMBER_S) {
            /* the budget is spent: the ensemble is the members sealed so far */
            m->planned = m->n_members;
            m->complete = 1;
            if (md_manifest_save(m, o.out, &err) != EF_OK) rc = ef_cli_fail(&err, NULL);
            break;
        }
        rc = train_member(&o, m, k, &tp, &err);
        /* members that early-stopped left budget: another seed while one more fits */
        if (!rc && k == m->planned && m->planned < m->max_members &&
            m->budget_min * 60.0 - m->spent_s >= EF_MAX(TR_MIN_MEMBER_S, 1.2 * m->spent_s / m->n_members)) {
            m->planned++;
            m->complete = 0;
            tp.members = m->planned;
        }
    }
    if (rc) goto done;
    ef_progress_finish(&tp.p, m->spent_s, NULL);
    tr_score sc;
    memset(&sc, 0, sizeof sc);
    if (o.validation && (rc = tr_score_validation(&o, m, &sc, &err)) != 0) goto done;
    tr_print_summary(&o, m, o.validation ? &sc : NULL, ef_time_now() - t0);
done:
    ef_free(m);
    return rc;
}
