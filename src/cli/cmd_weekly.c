/* eraformer weekly: a Numerai week in one command, for a cron job or a systemd timer. Steps:
 * check the local inputs -> connect -> the current round -> the Numerai model's id -> skip
 * when OUT/weekly-state.json records a submission of that model for that round -> download
 * the round's live file (skipped when complete) -> predict -> validate-submission -> submit
 * -> record the submission in the state file. predict and validate-submission run as the
 * commands themselves (their stdout on stderr); download and submit are the net library
 * calls those commands make. Only the JSON summary goes to stdout.
 *
 * "Already submitted" is decided locally: Numerai's API as documented for eraformer
 * (shared/reference/numerai.md section 5) has no query listing a model's submissions, and the
 * client has none. Not here: scheduling (cron/systemd do that), waiting for a round to open. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "numerai/model_dir.h"
#include "cli/net_common.h"
#include "eraformer/numerai.h"

#define WK_STATE "weekly-state.json"
#define WK_LOCK ".weekly.lock"
#define WK_FORMAT "eraformer-weekly-state-1"
#define WK_PATH 4096

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer weekly --model FILE[,FILE]|DIR --context FILE[,FILE] --numerai-model NAME|ID\n"
"                        --out DIR [options] [connection options]\n"
"\n"
"One command for a weekly cron job: finds the current round (as 'round'), downloads the\n"
"round's live file (as 'download'; kept while complete), predicts it (as 'predict'),\n"
"validates the predictions (as 'validate-submission') and uploads them (as 'submit').\n"
"When DIR/" WK_STATE " already records a submission of the Numerai model for the current\n"
"round it does nothing and exits 0. Progress goes to stderr; a JSON summary (status\n"
"submitted, already_submitted or failed, the step that failed, round, model id, paths,\n"
"submission id) goes to stdout. Exit status: 0 ok, 1 a step failed, 2 usage error.\n"
"\n"
"  --model FILES         as 'predict --model': fine-tuned checkpoint(s), comma-separated,\n"
"                        or a model directory written by 'eraformer train'\n"
"  --context FILES       as 'predict --context': labelled data (train.parquet,validation.parquet)\n"
"  --numerai-model M     the Numerai model to submit for: a name from 'eraformer models', or its id\n"
"  --out DIR             DIR/round-N/ gets the live file and predictions-<model>.csv;\n"
"                        DIR/" WK_STATE " records round, model id and submission id\n"
"  --live-dataset NAME   the live file's dataset name (default v5.2/live.parquet)\n"
"  --trigger-id ID       sent as triggerId (default: env TRIGGER_ID)\n"
"  --threads N           predict's OpenMP threads (default: all cores)\n"
"  --force               submit even when the state file records this round as submitted\n"
"  -h, --help            this help\n"
"\n"
"The rule for \"already submitted\": the state file has an entry with the current round\n"
"number and the model's id. It is written (temp file, fsync, rename) only after Numerai\n"
"accepted the submission, so a failed run is retried in full by the next one. Submissions\n"
"made another way are not known to it (Numerai counts the latest upload of a round).\n"
"Every output is written to a temp file, fsynced and renamed; two runs on one DIR at once\n"
"are refused (a lock file, DIR/" WK_LOCK ").\n");
    ef_net_cli_help(f, 1);
    fprintf(f, "  TRIGGER_ID             triggerId of create_submission (Numerai Compute)\n"
               "  NUMERAI_COMPUTE_ID     sent as the x_compute_id header of the upload\n");
}

typedef struct wk_ctx {
    ef_net_cli net;
    const char *model, *context, *numerai_model, *out, *live_name, *trigger;
    long threads;
    int force;
    /* the run */
    ef_net *n;
    int lock_fd;
    long round;
    int round_open, downloaded, done;
    char model_id[128], model_name[128];
    char state[WK_PATH], live[WK_PATH], pred[WK_PATH];
    char *submission_id;
    const char *status;
} wk_ctx;

enum { WK_OPT_NUMERAI_MODEL = 0x5700, WK_OPT_LIVE_DATASET, WK_OPT_TRIGGER, WK_OPT_FORCE, WK_OPT_THREADS };

/* Returns -1 to go on, or the exit code. */
static int parse_args(wk_ctx *c, int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"context", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'}, {"numerai-model", required_argument, NULL, WK_OPT_NUMERAI_MODEL},
        {"live-dataset", required_argument, NULL, WK_OPT_LIVE_DATASET},
        {"trigger-id", required_argument, NULL, WK_OPT_TRIGGER}, {"force", no_argument, NULL, WK_OPT_FORCE},
        {"threads", required_argument, NULL, WK_OPT_THREADS}, {"help", no_argument, NULL, 'h'},
        EF_NET_LONGOPTS, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        int rc = ef_net_cli_option(&c->net, ch, optarg);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        switch (ch) {
        case 'h': usage(stdout); return EF_EXIT_OK;
        case 'm': c->model = optarg; break;
        case 'c': c->context = optarg; break;
        case 'o': c->out = optarg; break;
        case WK_OPT_NUMERAI_MODEL: c->numerai_model = optarg; break;
        case WK_OPT_LIVE_DATASET: c->live_name = optarg; break;
        case WK_OPT_TRIGGER: c->trigger = optarg; break;
        case WK_OPT_FORCE: c->force = 1; break;
        case WK_OPT_THREADS:
            if (ef_cli_parse_long("weekly", "--threads", optarg, 1, 1024, &c->threads)) return EF_EXIT_USAGE;
            break;
        default: return ef_cli_usage("weekly", "unknown option");
        }
    }
    if (optind < argc) return ef_cli_usage("weekly", "unexpected argument '%s'", argv[optind]);
    if (!c->model || !c->context || !c->numerai_model || !c->out || !c->out[0] || !c->numerai_model[0])
        return ef_cli_usage("weekly", "--model, --context, --numerai-model and --out are required");
    if ((size_t)snprintf(c->state, sizeof c->state, "%s/%s", c->out, WK_STATE) >= sizeof c->state)
        return ef_cli_usage("weekly", "--out is too long");
    const char *ln = c->live_name;
    if (!ln[0] || ln[0] == '/' || strstr(ln, "..") || ln[strlen(ln) - 1] == '/')
        return ef_cli_usage("weekly", "--live-dataset '%s' is not a dataset name (e.g. v5.2/live.parquet)", ln);
    return -1;
}

// ---- local checks -------------------------------------------------------------------------

static ef_status mkdir_p(const char *path, ef_error *err) {
    char buf[WK_PATH];
    EF_CHECK(strlen(path) < sizeof buf, err, EF_ERR_INVALID, "path too long: %.200s", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char keep = *p;
        *p = 0;
        EF_CHECK(mkdir(buf, 0777) == 0 || errno == EEXIST, err, EF_ERR_IO, "cannot create %.1000s: %s", buf,
                 strerror(errno));
        *p = keep;
        if (!keep) return EF_OK;
    }
}

/* A checkpoint predict can load: readable, with its FILE.json. */
static ef_status check_checkpoint(const char *path, ef_error *err) {
    EF_CHECK(access(path, R_OK) == 0, err, EF_ERR_IO, "--model %.1000s: %s", path, strerror(errno));
    ef_numerai_contract m;
    memset(&m, 0, sizeof m);
    ef_status s = ef_numerai_contract_read(&m, path, err);
    ef_numerai_contract_free(&m);
    return s;
}

/* Every --model entry (model directories: their verified members) and --context file, before
 * anything touches the network. */
static ef_status check_inputs(const wk_ctx *c, ef_error *err) {
    char *copy = ef_strdup(c->model);
    EF_CHECK(copy, err, EF_ERR_NOMEM, "out of memory");
    ef_status s = EF_OK;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); !s && tok; tok = strtok_r(NULL, ",", &save)) {
        if (!md_is_model_dir(tok)) {
            s = check_checkpoint(tok, err);
            continue;
        }
        char **mem = NULL;
        int nmem = 0;
        s = md_member_paths(tok, &mem, &nmem, err);
        for (int i = 0; !s && i < nmem; i++) s = check_checkpoint(mem[i], err);
        ef_strlist_free(mem, nmem);
    }
    ef_free(copy);
    EF_TRY(s);
    copy = ef_strdup(c->context);
    EF_CHECK(copy, err, EF_ERR_NOMEM, "out of memory");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); !s && tok; tok = strtok_r(NULL, ",", &save))
        if (access(tok, R_OK) != 0) s = EF_ERR(err, EF_ERR_IO, "--context %.1000s: %s", tok, strerror(errno));
    ef_free(copy);
    return s;
}

static int step_check(wk_ctx *c) {
    ef_error err = {0};
    if (check_inputs(c, &err) != EF_OK) {
        ef_cli_fail(&err, "--model takes what 'predict --model' takes: checkpoints from 'eraformer finetune' (with "
                          "their .json) or a directory from 'eraformer train'");
        return EF_EXIT_RUNTIME;   /* a damaged input, not a usage error */
    }
    if (mkdir_p(c->out, &err) != EF_OK) return ef_cli_fail(&err, NULL);
    char lock[WK_PATH];
    snprintf(lock, sizeof lock, "%s/%s", c->out, WK_LOCK);
    c->lock_fd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        EF_ERR(&err, EF_ERR_IO, "%.1000s: %s", lock, c->lock_fd < 0 ? strerror(errno) : "another 'eraformer weekly' holds it");
        return ef_cli_fail(&err, "one run per --out directory at a time; wait for the other one to finish");
    }
    return 0;
}

// ---- the round and the model --------------------------------------------------------------

static int step_connect(wk_ctx *c) { return ef_net_cli_connect(&c->net, 1, &c->n); }

static int step_round(wk_ctx *c) {
    ef_error err = {0};
    ef_net_round r;
    if (ef_net_current_round(c->n, &r, &err) != EF_OK) return ef_net_cli_fail(&c->net, &err);
    if (r.number <= 0) {
        EF_ERR(&err, EF_ERR_API, "no round is open for submissions now");
        return ef_cli_fail(&err, "rounds open Tuesday to Saturday (see 'eraformer round'); schedule the job inside a "
                                 "round's window");
    }
    c->round = r.number;
    c->round_open = r.is_open;
    fprintf(stderr, "weekly: round %ld, %s (closes for staking at %s)\n", r.number,
            r.is_open ? "open" : "closed for staking: a submission now is late (scored, not staked)",
            r.close_staking_time[0] ? r.close_staking_time : "?");
    return 0;
}

static int step_model(wk_ctx *c) {
    ef_error err = {0};
    ef_net_model *models = NULL;
    size_t count = 0;
    if (ef_net_models(c->n, &models, &count, &err) != EF_OK) return ef_net_cli_fail(&c->net, &err);
    const ef_net_model *hit = NULL;
    for (size_t i = 0; i < count && !hit; i++)
        if (!strcmp(models[i].name, c->numerai_model)) hit = &models[i];
    for (size_t i = 0; i < count && !hit; i++)
        if (!strcmp(models[i].id, c->numerai_model)) hit = &models[i];
    if (hit) {
        snprintf(c->model_id, sizeof c->model_id, "%s", hit->id);
        snprintf(c->model_name, sizeof c->model_name, "%s", hit->name);
        fprintf(stderr, "weekly: Numerai model %s (%s)\n", c->model_name, c->model_id);
    } else {
        fprintf(stderr, "eraformer: error: the account has no model named '%s' (nor with that id)\n", c->numerai_model);
        fprintf(stderr, "HINT: 'eraformer models' lists them\n");
    }
    ef_net_models_free(models, count);
    return hit ? 0 : EF_EXIT_RUNTIME;
}

// ---- the state file -----------------------------------------------------------------------

/* {"format": WK_FORMAT, "submissions": [{round, model_id, ...}]}; a missing file is empty. */
static ef_status state_load(const char *path, cJSON **root, ef_error *err) {
    *root = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "format", WK_FORMAT) || !cJSON_AddArrayToObject(o, "submissions")) {
            cJSON_Delete(o);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        *root = o;
        return EF_OK;
    }
    char *text = NULL;
    size_t size;
    EF_TRY(ef_file_read_all(path, &text, &size, err));
    cJSON *o = cJSON_ParseWithLength(text, size);
    ef_free(text);
    const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItem(o, "format"));
    if (!fmt || strcmp(fmt, WK_FORMAT) || !cJSON_IsArray(cJSON_GetObjectItem(o, "submissions"))) {
        cJSON_Delete(o);
        return EF_ERR(err, EF_ERR_FORMAT, "%.1000s is not a state file of 'eraformer weekly' (%s)", path, WK_FORMAT);
    }
    *root = o;
    return EF_OK;
}

/* The entry recording a submission of model_id for round, or NULL. */
static const cJSON *state_find(const cJSON *root, long round, const char *model_id) {
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "submissions")) {
        const cJSON *r = cJSON_GetObjectItem(e, "round");
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "model_id"));
        if (cJSON_IsNumber(r) && (long)r->valuedouble == round && id && !strcmp(id, model_id)) return e;
    }
    return NULL;
}

static int step_state(wk_ctx *c) {
    ef_error err = {0};
    cJSON *root = NULL;
    if (state_load(c->state, &root, &err) != EF_OK)
        return ef_cli_fail(&err, "the file is written only by 'eraformer weekly'; remove it to start over (the next run "
                                 "then submits again)");
    const cJSON *e = state_find(root, c->round, c->model_id);
    if (e && !c->force) {
        const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(e, "submission_id"));
        const char *when = cJSON_GetStringValue(cJSON_GetObjectItem(e, "time"));
        c->submission_id = ef_strdup(sid ? sid : "");
        fprintf(stderr, "weekly: %s already submitted for round %ld (submission %s at %s, recorded in %s): nothing to do\n",
                c->model_name, c->round, sid ? sid : "?", when ? when : "?", c->state);
        c->status = "already_submitted";
        c->done = 1;
    } else if (e) {
        fprintf(stderr, "weekly: --force: submitting round %ld again\n", c->round);
    }
    cJSON_Delete(root);
    return 0;
}

static int step_record(wk_ctx *c) {
    ef_error err = {0};
    cJSON *root = NULL;
    if (state_load(c->state, &root, &err) != EF_OK) return ef_cli_fail(&err, NULL);
    char when[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_GetObjectItem(root, "submissions"), e);
    cJSON_AddNumberToObject(e, "round", (double)c->round);
    cJSON_AddStringToObject(e, "model_id", c->model_id);
    cJSON_AddStringToObject(e, "model", c->model_name);
    cJSON_AddStringToObject(e, "submission_id", c->submission_id);
    cJSON_AddStringToObject(e, "predictions", c->pred);
    cJSON_AddStringToObject(e, "time", when);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    ef_status s = text ? ef_file_write_atomic(c->state, text, strlen(text), &err) : EF_ERR(&err, EF_ERR_NOMEM, "out of memory");
    cJSON_free(text);
    if (s != EF_OK) return ef_cli_fail(&err, "the submission was made; without the record the next run submits again");
    fprintf(stderr, "weekly: recorded in %s\n", c->state);
    return 0;
}

// ---- download, predict, validate, submit --------------------------------------------------

/* OUT/round-N/tail into buf; 0, or an error exit when it does not fit. */
static int round_path(const wk_ctx *c, char *buf, size_t cap, const char *tail) {
    if ((size_t)snprintf(buf, cap, "%s/round-%ld/%s", c->out, c->round, tail) < cap) return 0;
    ef_error err = {0};
    EF_ERR(&err, EF_ERR_INVALID, "path too long under --out %.200s", c->out);
    return ef_cli_fail(&err, NULL);
}

static int step_download(wk_ctx *c) {
    int rc = round_path(c, c->live, sizeof c->live, c->live_name);
    if (rc) return rc;
    fprintf(stderr, "weekly: live file %s -> %s\n", c->live_name, c->live);
    ef_error err = {0};
    char *url = NULL;
    if (ef_net_dataset_url(c->n, c->live_name, 0, &url, &err) != EF_OK) return ef_net_cli_fail(&c->net, &err);
    uint64_t resumed = 0;
    ef_net_cli_progress pr = {0};
    pr.name = "download";
    pr.resumed_from = &resumed;
    ef_net_download_result res = EF_NET_DOWNLOADED;
    ef_status s = ef_net_download(c->n, url, c->live, ef_net_cli_download_progress, &pr, &res, &resumed, &err);
    ef_free(url);
    if (s != EF_OK) {
        if (pr.started) fputc('\n', stderr);
        return ef_net_cli_fail(&c->net, &err);
    }
    if (pr.started && res == EF_NET_DOWNLOADED) ef_progress_finish(&pr.p, pr.p.total, pr.extra);
    c->downloaded = res == EF_NET_DOWNLOADED;
    fprintf(stderr, "weekly: %s %s\n", c->live, c->downloaded ? "downloaded" : "is already complete: not downloaded again");
    return 0;
}

static int step_predict(wk_ctx *c) {
    char name[sizeof c->model_name + 32], thr[32];
    size_t k = (size_t)snprintf(name, sizeof name, "predictions-");
    for (const char *p = c->model_name; *p; p++) {   /* the file name Numerai sees: no path characters */
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        name[k++] = ok ? ch : '_';
    }
    snprintf(name + k, sizeof name - k, ".csv");
    int rc = round_path(c, c->pred, sizeof c->pred, name);
    if (rc) return rc;
    snprintf(thr, sizeof thr, "%ld", c->threads);
    fprintf(stderr, "weekly: predicting %s -> %s\n", c->live, c->pred);
    char *argv[] = {"predict", "--model", (char *)c->model, "--data", c->live, "--context", (char *)c->context,
                    "--out", c->pred, "--threads", thr, NULL};
    int argc = c->threads ? 11 : 9;
    argv[argc] = NULL;
    return ef_cli_run_stdout_to_stderr(ef_cmd_predict, argc, argv);
}

static int step_validate(wk_ctx *c) {
    fprintf(stderr, "weekly: validating %s against %s\n", c->pred, c->live);
    char *argv[] = {"validate-submission", c->pred, "--live", c->live, NULL};
    return ef_cli_run_stdout_to_stderr(ef_cmd_validate_submission, 4, argv);
}

static int step_submit(wk_ctx *c) {
    ef_error err = {0};
    char *fname = NULL, *url = NULL;
    const char *base = strrchr(c->pred, '/');
    base = base ? base + 1 : c->pred;
    fprintf(stderr, "weekly: uploading %s for %s\n", c->pred, c->model_name);
    ef_status s = ef_net_submission_upload_auth(c->n, base, c->model_id, &fname, &url, &err);
    if (s == EF_OK) s = ef_net_put_file(c->n, url, c->pred, &err);
    if (s == EF_OK) s = ef_net_create_submission(c->n, fname, c->model_id, c->trigger, 0, &c->submission_id, &err);
    ef_free(fname);
    ef_free(url);
    if (s != EF_OK) return ef_net_cli_fail(&c->net, &err);
    fprintf(stderr, "weekly: submitted round %ld for %s: submission %s\n", c->round, c->model_name, c->submission_id);
    c->status = "submitted";
    return 0;
}

// ---- command ------------------------------------------------------------------------------

static void print_summary(const wk_ctx *c, const char *failed_step, double seconds) {
    cJSON *r = cJSON_CreateObject();
    if (!r) return;
    cJSON_AddStringToObject(r, "status", c->status);
    if (failed_step) cJSON_AddStringToObject(r, "step", failed_step);
    if (c->round > 0) cJSON_AddNumberToObject(r, "round", (double)c->round);
    if (c->round > 0) cJSON_AddBoolToObject(r, "round_open", c->round_open);
    if (c->model_id[0]) cJSON_AddStringToObject(r, "numerai_model", c->model_name);
    if (c->model_id[0]) cJSON_AddStringToObject(r, "model_id", c->model_id);
    if (c->live[0]) cJSON_AddStringToObject(r, "live", c->live);
    if (c->live[0]) cJSON_AddBoolToObject(r, "downloaded", c->downloaded);
    if (c->pred[0]) cJSON_AddStringToObject(r, "predictions", c->pred);
    if (c->submission_id) cJSON_AddStringToObject(r, "submission_id", c->submission_id);
    else cJSON_AddNullToObject(r, "submission_id");
    cJSON_AddStringToObject(r, "state", c->state);
    cJSON_AddNumberToObject(r, "seconds", floor(seconds * 1000 + 0.5) / 1000);
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    if (text) printf("%s\n", text);
    cJSON_free(text);
}

typedef struct wk_step {
    const char *name;
    int (*fn)(wk_ctx *c);
} wk_step;

/* In order; a step returns 0 or an exit code, and may end the run early (c->done). */
static const wk_step steps[] = {
    {"check", step_check},   {"connect", step_connect},   {"round", step_round},
    {"model", step_model},   {"state", step_state},       {"download", step_download},
    {"predict", step_predict}, {"validate", step_validate}, {"submit", step_submit},
    {"record", step_record},
};

int ef_cmd_weekly(int argc, char **argv) {
    wk_ctx c;
    memset(&c, 0, sizeof c);
    ef_net_cli_init(&c.net, "weekly");
    c.live_name = "v5.2/live.parquet";
    c.trigger = getenv("TRIGGER_ID");
    c.lock_fd = -1;
    c.status = "failed";
    int rc = parse_args(&c, argc, argv);
    if (rc >= 0) return rc;
    rc = 0;
    double t0 = ef_time_now();
    const char *failed = NULL;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !c.done && !failed; i++)
        if ((rc = steps[i].fn(&c)) != 0) failed = steps[i].name;
    if (failed) {
        c.status = "failed";
        fprintf(stderr, "eraformer weekly: step '%s' failed (exit %d); %s\n", failed, rc,
                c.submission_id ? "the submission was made but is not recorded" : "nothing was submitted");
    }
    print_summary(&c, failed, ef_time_now() - t0);
    ef_net_destroy(c.n);
    if (c.lock_fd >= 0) close(c.lock_fd);
    ef_free(c.submission_id);
    return rc;
}
