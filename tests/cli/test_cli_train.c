#define _DEFAULT_SOURCE   /* usleep */
/* cli: eraformer train end to end on a tiny synthetic dataset: the model directory (manifest,
 * members sealed by size and CRC-32), selection on held-out train eras that the training
 * queries stop an embargo before and that never appear in the reported validation score,
 * predict --model DIR writes a valid submission, evaluate --model DIR reproduces train's score,
 * a damaged member is refused with its file named, an existing directory is refused without
 * --resume, and a run killed with SIGKILL after its first member continues with --resume. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eraformer/base.h"
#include "cli_util.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_train_tmp"
#define DATA "--train " DIR "/train.parquet --features-json " DIR "/features.json "
#define SHAPE "--base " DIR "/base.st --context-rows 32 --query-rows 16 --batch 2 --threads 1 --embargo 4 "
#define CTX "--context " DIR "/train.parquet," DIR "/validation.parquet"

static char out[1 << 16];

static int run(const char *cmd, int err2) { return cli_capture(cmd, err2, out, sizeof out); }

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The largest number in the JSON array after "key":[ in a text (or -1). */
static int array_max(const char *text, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":[", key);
    const char *p = text ? strstr(text, pat) : NULL;
    if (!p) return -1;
    p += strlen(pat);
    int mx = -1;
    while (*p && *p != ']') {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        if (v > mx) mx = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    return mx;
}

/* Waits up to `seconds` for the manifest to list `n` members. */
static int wait_members(const char *dir, int n, double seconds) {
    char cmd[512], want[64];
    snprintf(cmd, sizeof cmd, "cat %s/manifest.json", dir);
    snprintf(want, sizeof want, "member-%d.st.json", n);
    for (double t = 0; t < seconds; t += 0.1) {
        if (run(cmd, 0) == 0 && strstr(out, want)) return 1;
        usleep(100000);
    }
    return 0;
}

static void test_train_and_use(void) {
    /* two members, validation scored after training */
    CHECK(run(EF_CLI " train " DATA "--validation " DIR "/validation.parquet " SHAPE
              "--members 2 --holdout-eras 6 --member-opts '--weight-decay 0.05  --eval-every 40' --time-budget 0.25 --out "
              DIR "/m", 0) == 0);
    static char summary[sizeof out];
    memcpy(summary, out, sizeof out);
    CHECK(cli_json_number(summary, "members") == 2);
    CHECK(strstr(summary, "\"complete\":true") != NULL);
    CHECK(exists(DIR "/m/manifest.json") && exists(DIR "/m/member-1.st") && exists(DIR "/m/member-2.st.json"));
    CHECK(!exists(DIR "/m/member-1.st.last.st"));   /* sealed members drop their resume point */
    /* --member-opts reach every member (evaluations every 40 steps) and are recorded */
    CHECK(run("grep -c '\"step\":40,\"val_corr_mean' " DIR "/m/member-2.st.log.jsonl", 0) == 0 && atoi(out) == 1);
    CHECK(run("grep -c '\"member_opts\":.*--weight-decay 0.05  --eval-every 40' " DIR "/m/manifest.json", 0) == 0 &&
          atoi(out) == 1);
    /* the recipe is recorded and reaches every member: its feature dropout is in the contract */
    CHECK(run("grep -c '\"recipe\":[[:space:]]*\"--feature-dropout 0.5 --weight-decay 0.1 ' " DIR "/m/manifest.json", 0) == 0 &&
          atoi(out) == 1);
    CHECK(run("grep -c '\"feature_dropout\":[[:space:]]*0.5' " DIR "/m/member-2.st.json", 0) == 0 && atoi(out) == 1);
    /* ... and its feature groups (the test data's features.json has group sets) */
    CHECK(run("grep -c '\"recipe\":.*--patience 3 --feature-groups\"' " DIR "/m/manifest.json", 0) == 0 && atoi(out) == 1);
    CHECK(run("tr -d ' \\n\\t' < " DIR "/m/member-2.st.json | grep -c '\"feature_groups\":\\[\\[[0-9]'", 0) == 0 &&
          atoi(out) == 1);
    /* selection: the 6 newest train eras (35..40) */
    const char *sel = strstr(summary, "\"selection\"");
    CHECK(sel && cli_json_number(sel, "first_era") == 35 && cli_json_number(sel, "last_era") == 40);
    /* the validation score: eras 41.. (12 eras, the 4 newest unresolved), none a selection era */
    const char *val = strstr(summary, "\"validation\"");
    CHECK(val && cli_json_number(val, "eras") == 8);
    CHECK(val && cli_json_number(val, "first_era") == 41);
    CHECK(val && isfinite(cli_json_number(val, "corr_mean")) && cli_json_number(val, "corr_std") > 0);
    /* each member trained only on query eras an embargo (4) before the selection eras */
    for (int k = 1; k <= 2; k++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "grep query_eras %s/m/member-%d.st.log.jsonl", DIR, k);
        CHECK(run(cmd, 0) == 0);
        int qmax = array_max(out, "query_eras"), smax = array_max(out, "selection_eras");
        CHECKF(qmax > 0 && qmax <= 35 - 4, "member %d trained on era %d", k, qmax);
        CHECK(smax == 40);
        CHECK(strstr(out, "\"selection_eras\":[35,36,37,38,39,40]") != NULL);
    }

    /* predict --model DIR: a valid submission */
    CHECK(run(EF_CLI " predict --model " DIR "/m --data " DIR "/live.parquet " CTX " --out " DIR "/live.csv", 0) == 0);
    CHECK(cli_json_number(out, "models") == 2);
    CHECK(run(EF_CLI " validate-submission " DIR "/live.csv --live " DIR "/live.parquet", 0) == 0);
    /* evaluate --model DIR predicts and scores the same eras as train did */
    CHECK(run(EF_CLI " evaluate --model " DIR "/m --data " DIR "/validation.parquet --out " DIR "/ev", 0) == 0);
    char *ev = cli_slurp(DIR "/ev/summary.json");
    CHECK(ev && fabs(cli_json_number(ev, "corr_mean") - cli_json_number(val, "corr_mean")) < 1e-12);
    ef_free(ev);

    /* an existing model directory needs --resume; --resume of a finished run changes nothing */
    CHECK(run(EF_CLI " train " DATA SHAPE "--time-budget 0.1 --out " DIR "/m", 1) == 2);
    CHECK(strstr(out, "--resume") != NULL);
    CHECK(run("cp " DIR "/m/manifest.json " DIR "/manifest.before", 0) == 0);
    CHECK(run(EF_CLI " train --out " DIR "/m --resume", 0) == 0);
    CHECK(cli_files_equal(DIR "/manifest.before", DIR "/m/manifest.json"));

    /* a damaged member is refused, naming its file */
    CHECK(run("cp -r " DIR "/m " DIR "/bad && printf X | dd of=" DIR "/bad/member-2.st bs=1 seek=4000 conv=notrunc", 0) == 0);
    CHECK(run(EF_CLI " predict --model " DIR "/bad --data " DIR "/live.parquet " CTX " --out " DIR "/l2.csv", 1) != 0);
    CHECK(strstr(out, "bad/member-2.st is damaged") != NULL);
    CHECK(!exists(DIR "/l2.csv"));
    CHECK(run("rm " DIR "/bad/member-1.st.json", 0) == 0);
    CHECK(run(EF_CLI " evaluate --model " DIR "/bad --data " DIR "/validation.parquet", 1) != 0);
    CHECK(strstr(out, "bad/member-1.st.json is missing") != NULL);
    CHECK(run(EF_CLI " train --out " DIR "/bad --resume", 1) != 0);
    /* a manifest whose counts are not whole numbers in range is refused, naming it (fuzz_model_dir
     * found (int) casts of NaN here) */
    CHECK(run("mkdir -p " DIR "/badm && sed 's/\"planned_members\":.*/\"planned_members\": 1e999,/' " DIR
              "/m/manifest.json > " DIR "/badm/manifest.json", 0) == 0);
    CHECK(run(EF_CLI " predict --model " DIR "/badm --data " DIR "/live.parquet " CTX " --out " DIR "/l3.csv", 1) == 2);
    CHECK(strstr(out, "badm/manifest.json: task, planned_members") != NULL);
}

static void test_kill_and_resume(void) {
    /* 3 members of ~8 s each; SIGKILL once the first is sealed, then --resume */
    CHECK(run("sh -c '" EF_CLI " train " DATA SHAPE "--members 3 --holdout-eras 6 --time-budget 0.4 --out " DIR
              "/k >/dev/null 2>&1 & echo $! > " DIR "/k.pid'", 0) == 0);
    CHECK(wait_members(DIR "/k", 1, 60));
    CHECK(run("kill -9 $(cat " DIR "/k.pid)", 0) == 0);   /* while the second member trains */
    CHECK(run("cp " DIR "/k/member-1.st " DIR "/k1.before", 0) == 0);
    usleep(200000);
    char *m = cli_slurp(DIR "/k/manifest.json");
    CHECK(m && strstr(m, "\"complete\":\tfalse") && strstr(m, "member-1.st.json") && !strstr(m, "member-3.st\""));
    ef_free(m);
    CHECK(run(EF_CLI " train --out " DIR "/k --resume", 0) == 0);
    CHECK(cli_json_number(out, "members") == 3 && strstr(out, "\"complete\":true"));
    CHECK(cli_json_number(out, "train_s") < 0.4 * 60 * 1.5);
    CHECK(cli_files_equal(DIR "/k1.before", DIR "/k/member-1.st"));   /* the sealed member was kept */
    CHECK(run(EF_CLI " predict --model " DIR "/k --data " DIR "/live.parquet " CTX " --out " DIR "/k.csv", 0) == 0);
    CHECK(cli_json_number(out, "models") == 3);
}

int main(void) {
    CHECK(run("rm -rf " DIR " && mkdir -p " DIR, 0) == 0);
    CHECK(run(EF_CLI " synth --out " DIR " --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q", 0) == 0);
    CHECK(run(EF_CLI " pretrain --layout rows --task linear --d 4 --points 9 --layers 1 --d-model 16 --heads 2 --batch 4 "
              "--steps 3 --threads 1 --out " DIR "/base.st", 0) == 0);
    test_train_and_use();
    test_kill_and_resume();

    /* usage errors */
    CHECK(run(EF_CLI " train " DATA "--out " DIR "/u", 0) == 2);                         /* no budget */
    CHECK(run(EF_CLI " train " DATA "--time-budget 1 --target a --targets b=1 --out " DIR "/u", 0) == 2);
    CHECK(run(EF_CLI " train " DATA SHAPE "--holdout-eras 39 --time-budget 0.05 --out " DIR "/u", 1) == 2);
    CHECK(strstr(out, "leave no train eras") != NULL);
    CHECK(run(EF_CLI " train " DATA SHAPE "--member-opts '--feature-dropout 2' --time-budget 0.05 --out " DIR "/u2", 1) == 2);
    CHECK(strstr(out, "--feature-dropout") != NULL);
    CHECK(run(EF_CLI " evaluate --model " DIR "/m/member-1.st --data " DIR "/validation.parquet", 0) == 2);
    /* predict refuses more than 16 data files instead of ignoring the rest */
    char cmd[8192] = EF_CLI " predict --model " DIR "/m " CTX " --out " DIR "/x.csv --data " DIR "/live.parquet";
    for (int i = 0; i < 16; i++) strcat(cmd, "," DIR "/live.parquet");
    CHECK(run(cmd, 1) == 2 && strstr(out, "1 to 16") != NULL);
    TEST_MAIN_END;
}
