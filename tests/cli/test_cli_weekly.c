/* cli: `eraformer weekly` end to end against the fake Numerai API (tests/net/fake_server.h)
 * with a tiny fine-tuned model: the first run downloads the live file, predicts, validates and
 * submits exactly once (right model id, a CSV that passes validate-submission); a second run
 * in the same round neither downloads nor submits; a new round submits again, and so does
 * another Numerai model; a failed download exits 1 naming the step and the next run recovers;
 * a missing model fails before any network call, a damaged one or unreadable context data
 * before any upload; the secret never appears in any output or in the state file. Everything
 * stays on 127.0.0.1 and under the build tree. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_util.h"
#include "net/fake_server.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_weekly_tmp"
#define PUB "PUBID_weekly_4242"
#define SECRET "SECRET_weekly_d0n0tl3ak_XYZ"
#define ALPHA_ID "a1b2c3d4-0000-4000-8000-000000000002"
#define BETA_ID "a1b2c3d4-0000-4000-8000-000000000001"
#define TINY "--train " DIR "/train.parquet --validation " DIR "/validation.parquet --features-json " DIR \
             "/features.json --context-rows 32 --query-rows 16 --batch 2 --layers 1 --d-model 16 --heads 2 "  \
             "--embargo 4 --threads 1 --members 2 --ema 0"
#define WEEKLY "weekly --context " DIR "/train.parquet," DIR "/validation.parquet --out " DIR "/wk --threads 1 " \
               "--retry-delay 0.01 --connect-timeout 2 "
#define ALPHA WEEKLY "--model " DIR "/m.st --numerai-model alpha_model"

static fake_server srv;
static char out[1 << 16], errout[1 << 17];
static char *all_output;   /* everything any run printed, for the secret check */
static size_t all_len;

static void slurp(const char *path, char *buf, size_t cap) {
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void keep_output(void) {
    size_t a = strlen(out), b = strlen(errout);
    char *p = realloc(all_output, all_len + a + b + 1);
    if (!p) return;
    all_output = p;
    memcpy(all_output + all_len, out, a);
    memcpy(all_output + all_len + a, errout, b);
    all_len += a + b;
    all_output[all_len] = 0;
}

/* Runs "eraformer ARGS" with the keys in the environment; returns the exit code. */
static int run(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "NUMERAI_PUBLIC_ID=" PUB " NUMERAI_SECRET_KEY=" SECRET " %s %s >%s 2>%s", EF_CLI, args,
             DIR "/stdout.txt", DIR "/stderr.txt");
    int st = system(cmd);
    fs_idle(&srv);   /* the server's threads are done: its statistics may be read */
    slurp(DIR "/stdout.txt", out, sizeof out);
    slurp(DIR "/stderr.txt", errout, sizeof errout);
    keep_output();
    CHECKF(!strstr(errout, "Sanitizer") && !strstr(errout, "runtime error"), "%s: %s", args, errout);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Serves the bytes of a local file as dataset `name`. */
static const fs_file *serve_file(const char *name, const char *path) {
    char *data = NULL;
    size_t n = 0;
    if (ef_file_read_all(path, &data, &n, NULL) != EF_OK) return NULL;
    pthread_mutex_lock(&srv.mu);
    fs_file *f = srv.nfiles < FS_MAX_FILES ? &srv.files[srv.nfiles] : NULL;
    if (f && (f->data = malloc(n ? n : 1)) != NULL) {
        memcpy(f->data, data, n);
        f->len = n;
        snprintf(f->name, sizeof f->name, "%s", name);
        srv.nfiles++;
    } else {
        f = NULL;
    }
    pthread_mutex_unlock(&srv.mu);
    ef_free(data);
    return f;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_substr(const char *s, const char *pat) {
    int k = 0;
    for (const char *p = s ? strstr(s, pat) : NULL; p; p = strstr(p + 1, pat)) k++;
    return k;
}

static int stat_int(int *field) { return fs_get_int(&srv, field); }

/* first run: download, predict, validate, submit; second run: nothing */
static void test_first_and_second_run(const fs_file *live) {
    CHECKF(run(ALPHA " -vvv") == 0, "%s", errout);
    CHECKF(strstr(out, "\"status\":\"submitted\"") && strstr(out, "\"round\":1234") && strstr(out, "\"model_id\":\"" ALPHA_ID "\"") &&
           strstr(out, "\"submission_id\":\"sub-0001-5e6f\"") && strstr(out, "\"downloaded\":true"), "%s", out);
    CHECK(stat_int(&srv.submissions) == 1 && stat_int(&srv.n_put) == 1 && stat_int(&srv.n_get) == 1);
    /* the upload: for alpha_model, the predictions file, a valid submission for the live ids */
    const char *pred = DIR "/wk/round-1234/predictions-alpha_model.csv";
    CHECKF(!strcmp(srv.upload_filename, ALPHA_ID "/predictions-alpha_model.csv"), "%s", srv.upload_filename);
    FILE *f = fopen(DIR "/uploaded.csv", "wb");
    CHECK(f && fwrite(srv.uploaded, 1, srv.uploaded_len, f) == srv.uploaded_len);
    if (f) fclose(f);
    CHECK(srv.uploaded_len > 100 && !strncmp((const char *)srv.uploaded, "id,prediction\n", 14));
    CHECK(cli_files_equal(DIR "/uploaded.csv", pred));
    CHECK(run("validate-submission " DIR "/uploaded.csv --live " DIR "/live.parquet") == 0 && strstr(out, "OK:"));
    CHECK(fs_file_equals(DIR "/wk/round-1234/v5.2/live.parquet", live));
    /* the state file: round, model id, submission id; no temp files left */
    char *state = cli_slurp(DIR "/wk/weekly-state.json");
    CHECK(state && strstr(state, "\"round\":\t1234") && strstr(state, ALPHA_ID) && strstr(state, "sub-0001-5e6f"));
    CHECK(state && !strstr(state, SECRET));
    free(state);
    CHECK(cli_capture("find " DIR "/wk -name '*.tmp*' -o -name '*.temp' | wc -l", 0, out, sizeof out) == 0 && atoi(out) == 0);

    /* the same round again: nothing downloaded, nothing uploaded, exit 0 */
    int gets = stat_int(&srv.n_get), gql = stat_int(&srv.n_graphql);
    CHECKF(run(ALPHA) == 0, "%s", errout);
    CHECKF(strstr(out, "\"status\":\"already_submitted\"") && strstr(out, "\"submission_id\":\"sub-0001-5e6f\""), "%s", out);
    CHECKF(strstr(errout, "already submitted for round 1234") && strstr(errout, "nothing to do"), "%s", errout);
    CHECK(stat_int(&srv.submissions) == 1 && stat_int(&srv.n_put) == 1 && stat_int(&srv.n_get) == gets);
    CHECK(stat_int(&srv.n_graphql) == gql + 2);   /* rounds and account: no dataset query */
}

/* a new round submits again; the rule is per Numerai model; --force submits again */
static void test_new_round_and_models(void) {
    fs_set(&srv, &srv.round_number, 1235);
    int gets = stat_int(&srv.n_get);
    CHECKF(run(ALPHA) == 0, "%s", errout);
    CHECKF(strstr(out, "\"status\":\"submitted\"") && strstr(out, "\"round\":1235"), "%s", out);
    CHECK(stat_int(&srv.submissions) == 2 && stat_int(&srv.n_get) == gets + 1);
    CHECK(exists(DIR "/wk/round-1235/v5.2/live.parquet") && exists(DIR "/wk/round-1235/predictions-alpha_model.csv"));
    /* another model, same round: submits; the live file is complete and kept */
    CHECKF(run(WEEKLY "--model " DIR "/m.st --numerai-model " BETA_ID) == 0, "%s", errout);
    CHECKF(strstr(out, "\"status\":\"submitted\"") && strstr(out, "\"numerai_model\":\"beta_model\"") &&
           strstr(out, "\"downloaded\":false"), "%s", out);
    CHECK(stat_int(&srv.submissions) == 3 && !strcmp(srv.upload_filename, BETA_ID "/predictions-beta_model.csv"));
    CHECK(run(ALPHA) == 0 && strstr(out, "already_submitted") && stat_int(&srv.submissions) == 3);
    CHECK(run(ALPHA " --force") == 0 && strstr(out, "\"status\":\"submitted\"") && stat_int(&srv.submissions) == 4);
    char *state = cli_slurp(DIR "/wk/weekly-state.json");
    CHECK(count_substr(state, "\"round\":") == 4 && count_substr(state, BETA_ID) == 1);
    free(state);
}

/* a failed download: exit 1 naming the step, nothing uploaded; the next run recovers */
static void test_download_failure(void) {
    fs_set(&srv, &srv.round_number, 1236);
    int subs = stat_int(&srv.submissions), puts = stat_int(&srv.n_put);
    fs_set(&srv, &srv.fail_500_get, 100);
    CHECK(run(ALPHA " --retries 0") == 1);
    fs_set(&srv, &srv.fail_500_get, 0);
    CHECKF(strstr(errout, "step 'download' failed") && strstr(errout, "HTTP 500") && strstr(errout, "nothing was submitted"),
           "%s", errout);
    CHECKF(strstr(out, "\"status\":\"failed\"") && strstr(out, "\"step\":\"download\""), "%s", out);
    CHECK(stat_int(&srv.submissions) == subs && stat_int(&srv.n_put) == puts);
    CHECKF(run(ALPHA) == 0 && strstr(out, "\"round\":1236") && strstr(out, "\"status\":\"submitted\""), "%s", errout);
    CHECK(stat_int(&srv.submissions) == subs + 1);
}

/* a wrong model path fails before any network call; an unloadable model before any upload */
static void test_bad_model(void) {
    fs_set(&srv, &srv.round_number, 1237);
    int subs = stat_int(&srv.submissions), puts = stat_int(&srv.n_put), gql = stat_int(&srv.n_graphql);
    CHECK(run(WEEKLY "--model " DIR "/nope.st --numerai-model alpha_model") == 1);
    CHECKF(strstr(errout, "nope.st") && strstr(errout, "step 'check' failed"), "%s", errout);
    CHECKF(strstr(out, "\"step\":\"check\""), "%s", out);
    CHECK(stat_int(&srv.n_graphql) == gql && stat_int(&srv.n_put) == puts);
    /* a model directory without its members is refused at the check too */
    CHECK(cli_capture("mkdir -p " DIR "/mdir && echo '{}' > " DIR "/mdir/manifest.json", 0, out, sizeof out) == 0);
    CHECK(run(WEEKLY "--model " DIR "/mdir --numerai-model alpha_model") == 1 && strstr(errout, "step 'check' failed"));
    CHECK(stat_int(&srv.n_graphql) == gql);
    /* a truncated model file: refused at the check or by predict, never uploaded */
    CHECK(cli_capture("head -c 2000 " DIR "/m.st > " DIR "/bad.st && (cp " DIR "/m.st.json " DIR "/bad.st.json 2>/dev/null "
                      "|| true)", 0, out, sizeof out) == 0);
    CHECK(run(WEEKLY "--model " DIR "/bad.st --numerai-model alpha_model") == 1);
    CHECKF(strstr(errout, "step 'check' failed") || strstr(errout, "step 'predict' failed"), "%s", errout);
    CHECK(stat_int(&srv.submissions) == subs && stat_int(&srv.n_put) == puts);
    /* context data predict cannot read: the predict step fails, nothing is uploaded */
    CHECK(cli_capture("echo not-parquet > " DIR "/junk.parquet", 0, out, sizeof out) == 0);
    CHECK(run("weekly --context " DIR "/junk.parquet --out " DIR "/wk --model " DIR "/m.st --numerai-model alpha_model "
              "--threads 1") == 1);
    CHECKF(strstr(errout, "step 'predict' failed") && strstr(out, "\"step\":\"predict\""), "%s", errout);
    CHECK(stat_int(&srv.submissions) == subs && stat_int(&srv.n_put) == puts);
    /* an unknown Numerai model */
    CHECK(run(WEEKLY "--model " DIR "/m.st --numerai-model gamma") == 1 && strstr(errout, "step 'model' failed"));
    CHECK(stat_int(&srv.submissions) == subs && stat_int(&srv.n_put) == puts);
}

static void test_help_and_usage(void) {
    CHECK(run("weekly --help") == 0);
    CHECK(strstr(out, "--numerai-model") && strstr(out, "weekly-state.json") && strstr(out, "NUMERAI_SECRET_KEY"));
    CHECK(run("--help") == 0 && strstr(out, "weekly"));
    CHECK(run("weekly --model m.st --context c.parquet --out x") == 2 && strstr(errout, "--numerai-model"));
    CHECK(run(ALPHA " --threads 0") == 2);
    CHECK(run(ALPHA " --live-dataset ../live.parquet") == 2);
    CHECK(run(ALPHA " extra") == 2);
}

int main(void) {
    if (access(EF_CLI, X_OK) != 0) {
        fprintf(stderr, "the CLI %s is not built (build the eraformer_cli target)\n", EF_CLI);
        return 1;
    }
    CHECK(cli_capture("rm -rf " DIR " && mkdir -p " DIR, 0, out, sizeof out) == 0);
    CHECK(cli_capture(EF_CLI " synth --out " DIR " --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q",
                      0, out, sizeof out) == 0);
    CHECK(cli_capture(EF_CLI " finetune " TINY " --steps 4 --eval-every 2 --out " DIR "/m.st", 0, out, sizeof out) == 0);
    if (fs_start(&srv, PUB, SECRET) != 0) return 1;
    const fs_file *live = serve_file("v5.2/live.parquet", DIR "/live.parquet");
    CHECK(live != NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    /* never the real API: the endpoint is the local server, the keys are the test's */
    setenv("NUMERAI_API_URL", url, 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("TRIGGER_ID");
    unsetenv("NUMERAI_COMPUTE_ID");
    setenv("HOME", DIR, 1);
    if (live) {
        test_first_and_second_run(live);
        test_new_round_and_models();
        test_download_failure();
        test_bad_model();
        test_help_and_usage();
    }
    fs_stop(&srv);
    CHECK(all_output && strstr(all_output, SECRET) == NULL && strstr(all_output, "SECRET_weekly") == NULL);
    CHECK(all_output && strstr(all_output, "uploadSIG456") == NULL && strstr(all_output, "presignedSIG123") == NULL);
    free(all_output);
    TEST_MAIN_END;
}
