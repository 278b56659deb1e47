/* The API commands end to end: the built eraformer binary (EF_CLI) run against the fake
 * server with NUMERAI_API_URL=http://127.0.0.1:PORT and fake keys. datasets, download
 * (fresh, skip, dropped connection, killed and resumed, unknown name), round, models (env
 * keys, credentials files, missing/wrong keys), submit (valid CSV with a CSV or parquet live
 * file, by name and id; invalid files never uploaded; unknown model), --help, exit codes, and
 * the secret never appearing in any output at -vvv. Everything stays on 127.0.0.1. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "eraformer/net.h"
#include "fake_server.h"
#include "test.h"

#define PUB "PUBID_cli_12345"
#define SECRET "SECRET_cli_d0n0tl3ak_ABCDEFG"
#define WORK "net_cli_test"

static fake_server srv;
static char out[1 << 17], errout[1 << 17];
/* every byte any command printed, for the secret check */
static char *all_output;
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

/* Runs "eraformer ARGS" in WORK with env prefix; returns the exit code. */
static int run(const char *env, const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s %s >stdout.txt 2>stderr.txt", WORK, env ? env : "", EF_CLI, args);
    int st = system(cmd);
    fs_idle(&srv);   /* the server's threads are done: the test may read its statistics */
    slurp(WORK "/stdout.txt", out, sizeof out);
    slurp(WORK "/stderr.txt", errout, sizeof errout);
    keep_output();
    /* under ASan/UBSan the CLI reports leaks and UB on stderr */
    CHECKF(!strstr(errout, "Sanitizer") && !strstr(errout, "runtime error"), "%s: %s", args, errout);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define KEYS "NUMERAI_PUBLIC_ID=" PUB " NUMERAI_SECRET_KEY=" SECRET
#define FAST "--retry-delay 0.01 --connect-timeout 2 "

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_help_and_usage(void) {
    const char *cmds[] = {"datasets", "download", "round", "models", "submit"};
    for (int i = 0; i < 5; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        CHECK(run(NULL, a) == 0);
        CHECKF(strstr(out, "NUMERAI_API_URL") && strstr(out, "--retries"), "%s", cmds[i]);
        if (i >= 3) CHECKF(strstr(out, "NUMERAI_PUBLIC_ID") && strstr(out, "NUMERAI_SECRET_KEY"), "%s", cmds[i]);
    }
    CHECK(run(NULL, "datasets --round abc") == 2);
    CHECK(run(NULL, "datasets --bogus") == 2);
    CHECK(run(NULL, "download") == 2 && strstr(errout, "no dataset NAME"));
    CHECK(run(NULL, "download ../etc/passwd") == 2);
    CHECK(run(NULL, "download /abs/x.parquet") == 2);
    CHECK(run(NULL, "submit preds.csv") == 2 && strstr(errout, "--model"));
    CHECK(run(NULL, "datasets --retries -1") == 2);
    CHECK(run(NULL, "models --retry-delay x") == 2);
}

static void test_datasets_and_round(void) {
    CHECK(run(NULL, "datasets") == 0);
    CHECKF(!strcmp(out, "v5.2/train.parquet\nv5.2/features.json\nv5.2/live.parquet\n"), "%s", out);
    CHECK(run(NULL, "datasets --round 500") == 0 && !strcmp(out, "v4.3/train_int8.parquet\nv4.3/live_int8.parquet\n"));
    /* 500s are retried (logged at -v) */
    int before = fs_get_int(&srv, &srv.n_graphql);
    fs_set(&srv, &srv.fail_500_graphql, 2);
    CHECK(run(NULL, "datasets -v " FAST) == 0);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 3);
    CHECKF(strstr(errout, "HTTP 500") && strstr(errout, "retry 1/3") && strstr(errout, "retry 2/3"), "%s", errout);
    CHECK(strstr(out, "v5.2/train.parquet") != NULL);
    /* persistent 500s: bounded, exit 1 with a hint */
    fs_set(&srv, &srv.fail_500_graphql, 100);
    CHECK(run(NULL, "datasets --retries 2 " FAST) == 1);
    CHECKF(strstr(errout, "HTTP 500") && strstr(errout, "3 attempts") && strstr(errout, "HINT"), "%s", errout);
    fs_set(&srv, &srv.fail_500_graphql, 0);
    CHECK(out[0] == 0);
    /* malformed JSON and GraphQL errors: exit 1, not retried, message shown */
    before = fs_get_int(&srv, &srv.n_graphql);
    fs_set(&srv, &srv.malformed_next, 1);
    CHECK(run(NULL, "datasets " FAST) == 1 && strstr(errout, "malformed JSON"));
    fs_set_error_msg(&srv, "Round 99999 does not exist");
    fs_set(&srv, &srv.gql_error_next, 1);
    CHECK(run(NULL, "datasets " FAST) == 1 && strstr(errout, "Round 99999 does not exist"));
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 2);
    /* a stalled API request times out and is retried */
    fs_set_double(&srv, &srv.stall_s, 5);
    fs_set(&srv, &srv.stall_graphql_next, 1);
    CHECK(run(NULL, "datasets -v --timeout 1 " FAST) == 0);
    CHECKF(strstr(errout, "imeout") && strstr(errout, "retry 1/3"), "%s", errout);

    CHECK(run(NULL, "round") == 0);
    CHECKF(strstr(out, "round: 1234\nopen: yes\n") && strstr(out, "close_staking_time: "), "%s", out);
    fs_set(&srv, &srv.round_state, 1);
    CHECK(run(NULL, "round") == 0 && strstr(out, "round: 1234\nopen: no\n"));
    fs_set(&srv, &srv.round_state, 2);
    CHECK(run(NULL, "round") == 0 && !strcmp(out, "round: none\nopen: no\n"));
    fs_set(&srv, &srv.round_state, 0);
}

static void test_models_and_keys(void) {
    const char *expect = "alpha_model\ta1b2c3d4-0000-4000-8000-000000000002\n"
                         "beta_model\ta1b2c3d4-0000-4000-8000-000000000001\n";
    CHECK(run(KEYS, "models") == 0);
    CHECKF(!strcmp(out, expect), "%s", out);
    /* no keys anywhere: exit 1 and a hint naming the variables */
    CHECK(run(NULL, "models") == 1);
    CHECKF(strstr(errout, "needs Numerai API keys") && strstr(errout, "NUMERAI_SECRET_KEY"), "%s", errout);
    CHECK(run("NUMERAI_PUBLIC_ID=" PUB, "models") == 1 && strstr(errout, "NUMERAI_SECRET_KEY is set") == NULL &&
          strstr(errout, "NUMERAI_PUBLIC_ID is set but NUMERAI_SECRET_KEY is not"));
    /* wrong key, as a GraphQL error and as HTTP 401: exit 1, not retried */
    int before = fs_get_int(&srv, &srv.n_graphql);
    CHECK(run("NUMERAI_PUBLIC_ID=" PUB " NUMERAI_SECRET_KEY=wrong_key_123456", "models -vvv " FAST) == 1);
    CHECKF(strstr(errout, "session is invalid") && strstr(errout, "HINT"), "%s", errout);
    CHECK(strstr(errout, "wrong_key_123456") == NULL);
    fs_set(&srv, &srv.auth_401, 1);
    CHECK(run("NUMERAI_PUBLIC_ID=" PUB " NUMERAI_SECRET_KEY=wrong_key_123456", "models -vvv " FAST) == 1);
    CHECKF(strstr(errout, "Invalid token") && !strstr(errout, "wrong_key_123456"), "%s", errout);
    fs_set(&srv, &srv.auth_401, 0);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 2);
    /* credentials files: refused when group/world readable, used at 0600 */
    write_text(WORK "/creds", "public_id = " PUB "\nsecret_key = " SECRET "\n");
    chmod(WORK "/creds", 0644);
    CHECK(run(NULL, "models --credentials creds") == 1);
    CHECKF(strstr(errout, "chmod 600") && strstr(errout, "group or others"), "%s", errout);
    chmod(WORK "/creds", 0600);
    CHECK(run(NULL, "models --credentials creds -v") == 0 && !strcmp(out, expect));
    /* the default file under $HOME/.config/eraformer */
    mkdir(WORK "/home/.config", 0700);
    mkdir(WORK "/home/.config/eraformer", 0700);
    write_text(WORK "/home/.config/eraformer/credentials", "secret_key: " SECRET "\npublic_id: " PUB "\n");
    chmod(WORK "/home/.config/eraformer/credentials", 0604);
    CHECK(run(NULL, "models") == 1 && strstr(errout, "0604"));
    chmod(WORK "/home/.config/eraformer/credentials", 0600);
    CHECK(run(NULL, "models") == 0 && !strcmp(out, expect));
    unlink(WORK "/home/.config/eraformer/credentials");
    /* a server echoing the Authorization header: the secret is redacted from the message */
    fs_set(&srv, &srv.echo_auth_next, 1);
    CHECK(run(KEYS, "models -vvv") == 1);
    CHECKF(strstr(errout, "<redacted>") && !strstr(errout, SECRET), "%s", errout);
    /* everything at the highest verbosity, with the keys */
    CHECK(run(KEYS, "models -vvv") == 0);
    CHECKF(strstr(errout, "Authorization: <redacted>") && strstr(errout, "> POST / HTTP/1.1"), "%s", errout);
    CHECK(run(KEYS, "datasets -vvv") == 0);
    CHECK(run(KEYS, "round -vvv") == 0);
}

static void test_download(void) {
    const fs_file *train = &srv.files[0], *feats = &srv.files[1];
    /* fresh download into DEST/v5.2/, with a progress line on stderr */
    CHECK(run(NULL, "download v5.2/train.parquet v5.2/features.json --dest data -v") == 0);
    CHECKF(!strcmp(out, "data/v5.2/train.parquet\ndata/v5.2/features.json\n"), "%s", out);
    CHECK(fs_file_equals(WORK "/data/v5.2/train.parquet", train) && fs_file_equals(WORK "/data/v5.2/features.json", feats));
    CHECK(file_size(WORK "/data/v5.2/train.parquet.temp") == -1);
    CHECKF(strstr(errout, "v5.2/train.parquet 100%") && strstr(errout, "B/s") && strstr(errout, "ETA"), "%s", errout);
    CHECK(strstr(errout, "presignedSIG123") == NULL);   /* presigned query strings are not logged */
    /* again: skipped */
    CHECK(run(NULL, "download v5.2/train.parquet --dest data") == 0);
    CHECK(strstr(errout, "already complete") != NULL && fs_file_equals(WORK "/data/v5.2/train.parquet", train));
    /* a connection dropped mid-body: retried with Range, identical */
    unlink(WORK "/data/v5.2/train.parquet");
    fs_set(&srv, &srv.drop_get_next, 1);
    int ranges = fs_get_int(&srv, &srv.n_range_get);
    CHECK(run(NULL, "download v5.2/train.parquet --dest data -v " FAST) == 0);
    CHECK(fs_get_int(&srv, &srv.n_range_get) == ranges + 1 && strstr(errout, "retry 1/3"));
    CHECK(fs_file_equals(WORK "/data/v5.2/train.parquet", train));
    /* persistent 500s on the file: exit 1, nothing at the final name */
    unlink(WORK "/data/v5.2/train.parquet");
    fs_set(&srv, &srv.fail_500_get, 100);
    CHECK(run(NULL, "download v5.2/train.parquet --dest data --retries 1 " FAST) == 1);
    CHECK(file_size(WORK "/data/v5.2/train.parquet") == -1 && strstr(errout, "HTTP 500"));
    fs_set(&srv, &srv.fail_500_get, 0);
    /* an unknown dataset */
    CHECK(run(NULL, "download v9/nope.parquet --dest data") == 1 && strstr(errout, "Dataset not found"));

    /* killed mid-download, then resumed: the server sends slowly, the test kills the CLI once
     * the .temp has data, and the rerun continues from there */
    fs_set_long(&srv, &srv.throttle_bps, 1000000);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd %s && exec %s download v5.2/train.parquet --dest data >/dev/null 2>&1", WORK, EF_CLI);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    long partial = -1;
    for (int i = 0; i < 1000; i++) {   /* at most 10 s */
        partial = file_size(WORK "/data/v5.2/train.parquet.temp");
        if (partial > 200000) break;
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    fs_set_long(&srv, &srv.throttle_bps, 0);
    partial = file_size(WORK "/data/v5.2/train.parquet.temp");
    CHECKF(partial > 0 && partial < (long)train->len, "partial = %ld", partial);
    CHECK(file_size(WORK "/data/v5.2/train.parquet") == -1);   /* nothing at the final name */
    ranges = fs_get_int(&srv, &srv.n_range_get);
    CHECK(run(NULL, "download v5.2/train.parquet --dest data") == 0);
    char expect[64];
    snprintf(expect, sizeof expect, "resumed at byte %ld", partial);
    CHECKF(strstr(errout, expect) != NULL, "%s", errout);
    CHECK(fs_get_int(&srv, &srv.n_range_get) == ranges + 1 && fs_get_long(&srv, &srv.last_range_start) == partial);
    CHECK(fs_file_equals(WORK "/data/v5.2/train.parquet", train));
    CHECK(file_size(WORK "/data/v5.2/train.parquet.temp") == -1);
    /* at -vvv with keys in the environment */
    CHECK(run(KEYS, "download v5.2/live.parquet --dest data -vvv") == 0);
}

static void test_submit(void) {
    /* live ids: 100 of them in a CSV */
    char live[8192] = "id,era\n", good[8192] = "id,prediction\n";
    for (int i = 0; i < 100; i++) {
        size_t l = strlen(live), g = strlen(good);
        snprintf(live + l, sizeof live - l, "n%015d,X\n", i);
        snprintf(good + g, sizeof good - g, "n%015d,%g\n", 99 - i, (i + 1) / 100.0);
    }
    write_text(WORK "/live.csv", live);
    write_text(WORK "/preds.csv", good);
    int puts0 = fs_get_int(&srv, &srv.n_put);
    CHECK(run(KEYS, "submit preds.csv --model alpha_model --live live.csv -v") == 0);
    CHECKF(!strcmp(out, "sub-0001-5e6f\n"), "out=%s err=%s", out, errout);
    CHECK(fs_idle(&srv) == 0);
    CHECK(fs_get_int(&srv, &srv.n_put) == puts0 + 1 && srv.uploaded_len == strlen(good) && !memcmp(srv.uploaded, good, strlen(good)));
    CHECK(fs_idle(&srv) == 0);
    CHECK(!strcmp(srv.upload_filename, "a1b2c3d4-0000-4000-8000-000000000002/preds.csv"));
    CHECK(strstr(errout, "covers all 100 live ids") || strstr(errout, "100 rows cover all 100"));
    /* by id, with a 500 on the upload (retried) */
    fs_set(&srv, &srv.fail_500_put, 1);
    CHECK(run(KEYS, "submit preds.csv --model a1b2c3d4-0000-4000-8000-000000000001 --live live.csv " FAST) == 0);
    CHECK(!strcmp(out, "sub-0002-5e6f\n") && fs_get_int(&srv, &srv.n_put) == puts0 + 3);
    /* invalid files: exit 1, the reason, nothing uploaded */
    const char *bad[] = {
        "id,pred\nn000000000000000,0.5\n",                                   /* header */
        "id,prediction\nn000000000000000,0.5\nn000000000000001,1.5\n",        /* range + missing */
        "id,prediction\nn000000000000000,nan\nn000000000000001,0.2\n",        /* NaN */
        "id,prediction\nn000000000000000,0.5\nn000000000000000,0.5\n",        /* duplicate, constant */
        "id,prediction\nn000000000000000,abc\n",                              /* not a number */
    };
    const char *why[] = {"id,prediction", "[0, 1]", "NaN", "duplicate", "not a number"};
    for (int i = 0; i < 5; i++) {
        write_text(WORK "/bad.csv", bad[i]);
        CHECK(run(KEYS, "submit bad.csv --model alpha_model --live live.csv") == 1);
        CHECKF(strstr(errout, why[i]) != NULL, "case %d: %s", i, errout);
        CHECK(out[0] == 0);
    }
    /* a file missing live ids */
    write_text(WORK "/bad.csv", "id,prediction\nn000000000000000,0.1\nn000000000000001,0.9\n");
    CHECK(run(KEYS, "submit bad.csv --model alpha_model --live live.csv") == 1 && strstr(errout, "missing"));
    CHECK(fs_get_int(&srv, &srv.n_put) == puts0 + 3);
    /* an unknown model: the account's names as a hint */
    CHECK(run(KEYS, "submit preds.csv --model gamma --live live.csv") == 1);
    CHECKF(strstr(errout, "gamma") && strstr(errout, "alpha_model, beta_model"), "%s", errout);
    CHECK(run(NULL, "submit preds.csv --model alpha_model --live live.csv") == 1 && strstr(errout, "API keys"));
    CHECK(run(KEYS, "submit missing.csv --model alpha_model") == 1);

    /* live ids from a parquet file (a fixture with an id column) */
    const char *fx = EF_SHARED_DIR "/fixtures/parquet/duckdb_snappy_dict_pagev1_int8";
    char path[512];
    snprintf(path, sizeof path, "%s.csv", fx);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    FILE *o = fopen(WORK "/preds_pq.csv", "w");
    fputs("id,prediction\n", o);
    char line[4096];
    int rows = 0;
    CHECK(fgets(line, sizeof line, f) != NULL);   /* header */
    while (fgets(line, sizeof line, f)) {
        char *comma = strchr(line, ',');
        if (!comma) continue;
        *comma = 0;
        fprintf(o, "%s,%.6f\n", line, (rows % 997 + 1) / 997.0);
        rows++;
    }
    fclose(f);
    fclose(o);
    char args[1024];
    snprintf(args, sizeof args, "submit preds_pq.csv --model beta_model --live %s.parquet -vvv", fx);
    CHECK(run(KEYS, args) == 0);
    CHECKF(strstr(out, "sub-0003-5e6f") != NULL, "%s", errout);
    char want[64];
    snprintf(want, sizeof want, "%d rows cover all %d live ids", rows, rows);
    CHECKF(strstr(errout, want) != NULL, "%s", errout);
    /* the same predictions without the first row fail against the parquet live ids */
    snprintf(args, sizeof args, "sed -i 2d %s/preds_pq.csv", WORK);
    CHECK(system(args) == 0);
    snprintf(args, sizeof args, "submit preds_pq.csv --model beta_model --live %s.parquet", fx);
    CHECK(run(KEYS, args) == 1 && strstr(errout, "missing"));
}

static void test_unreachable(void) {
    /* a closed port: bounded retries, exit 1 and a hint */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    char args[256];
    snprintf(args, sizeof args, "round --api-url http://127.0.0.1:%d --retries 2 -v " FAST, ntohs(a.sin_port));
    CHECK(run(KEYS, args) == 1);
    CHECKF(strstr(errout, "3 attempts") && strstr(errout, "retry 2/2") && strstr(errout, "HINT"), "%s", errout);
}

int main(void) {
    if (access(EF_CLI, X_OK) != 0) {
        fprintf(stderr, "the CLI %s is not built (build the eraformer_cli target)\n", EF_CLI);
        return 1;
    }
    if (fs_start(&srv, PUB, SECRET) != 0) return 1;
    fs_add_file(&srv, "v5.2/train.parquet", 3000017, 21);
    fs_add_file(&srv, "v5.2/features.json", 54321, 22);
    fs_add_file(&srv, "v5.2/live.parquet", 7000, 23);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    /* never the real API: the endpoint is the local server; keys only where a test sets them */
    setenv("NUMERAI_API_URL", url, 1);
    unsetenv("NUMERAI_PUBLIC_ID");
    unsetenv("NUMERAI_SECRET_KEY");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("TRIGGER_ID");
    unsetenv("NUMERAI_COMPUTE_ID");
    (void)!system("rm -rf " WORK);
    mkdir(WORK, 0755);
    mkdir(WORK "/home", 0700);
    char home[1024];
    CHECK(getcwd(home, sizeof home - 32) != NULL);
    strcat(home, "/" WORK "/home");
    setenv("HOME", home, 1);

    test_help_and_usage();
    test_datasets_and_round();
    test_models_and_keys();
    test_download();
    test_submit();
    test_unreachable();
    fs_stop(&srv);
    /* the secret never appeared in anything any command printed */
    CHECK(all_output != NULL && all_len > 10000);
    CHECK(all_output && strstr(all_output, SECRET) == NULL);
    CHECK(all_output && strstr(all_output, "SECRET_cli") == NULL);
    /* nor the presigned URLs' signatures (download at -vvv, upload at -vvv) */
    CHECK(all_output && strstr(all_output, "presignedSIG123") == NULL && strstr(all_output, "uploadSIG456") == NULL);
    CHECK(all_output && strstr(all_output, "/files/v5.2/live.parquet?<redacted>") != NULL);
    free(all_output);
    (void)!system("rm -rf " WORK);
    TEST_MAIN_END;
}
