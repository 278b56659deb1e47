/* cli: finetune + predict + baseline end to end on a tiny synthetic dataset: the fine-tuned
 * model predicts validation and live, the live predictions pass validate-submission, every
 * era is ranked into (0, 1], predictions are deterministic, ensemble size changes them, the
 * subset read-in works, --resume continues, --time-budget stops cleanly with a checkpoint,
 * ridge/xgboost baselines write valid files, and usage/runtime errors exit 2/1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "eraformer/base.h"
#include "cli_util.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_finetune_tmp"
#define TINY "--train " DIR "/train.parquet --validation " DIR "/validation.parquet --features-json " DIR \
             "/features.json --context-rows 32 --query-rows 16 --batch 2 --layers 1 --d-model 16 --heads 2 "  \
             "--embargo 4 --threads 1 --members 3 --ema 0"
#define CTX "--context " DIR "/train.parquet," DIR "/validation.parquet"

static char out[1 << 16];

/* Runs a shell command, captures stdout (stderr appended when err2 is set), returns exit code. */
static int run(const char *cmd, int err2) { return cli_capture(cmd, err2, out, sizeof out); }

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads id,prediction; checks header and range; returns rows (-1 on a format problem). */
static long read_preds(const char *path, double *vals, long cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long n = 0;
    if (!fgets(line, sizeof line, f) || strcmp(line, "id,prediction\n")) {
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *c = strchr(line, ',');
        if (!c) {
            n = -1;
            break;
        }
        double v = strtod(c + 1, NULL);
        if (!(v > 0 && v <= 1)) {
            n = -1;
            break;
        }
        if (n < cap) vals[n] = v;
        n++;
    }
    fclose(f);
    return n;
}

static double vals[100000], vals2[100000];

int main(void) {
    CHECK(run("rm -rf " DIR " && mkdir -p " DIR, 0) == 0);
    CHECK(run(EF_CLI " synth --out " DIR " --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q", 0) == 0);

    /* fine-tune (wide read-in) */
    CHECK(run(EF_CLI " finetune " TINY " --steps 6 --eval-every 3 --out " DIR "/m.st", 0) == 0);
    CHECK(isfinite(cli_json_number(out, "best_validation_corr")));
    CHECK(cli_json_number(out, "steps") == 6);
    CHECK(exists(DIR "/m.st") && exists(DIR "/m.st.json") && exists(DIR "/m.st.last.st"));
    CHECK(run("grep -c val_corr_mean " DIR "/m.st.log.jsonl", 0) == 0 && atoi(out) == 2);

    /* predict validation and live */
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/validation.parquet " CTX " --out " DIR "/val.csv", 0) == 0);
    long nv = read_preds(DIR "/val.csv", vals, 100000);
    CHECK(nv > 0 && nv == (long)cli_json_number(out, "rows"));
    CHECK(cli_json_number(out, "eras") == 12);
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet " CTX " --out " DIR "/live.csv", 0) == 0);
    long nl = read_preds(DIR "/live.csv", vals, 100000);
    CHECK(nl > 10);
    /* ranked into (0, 1]: the top prediction of the (single) live era is exactly 1 */
    double mx = 0;
    for (long i = 0; i < nl; i++) mx = fmax(mx, vals[i]);
    CHECK(fabs(mx - 1.0) < 1e-9);
    CHECK(run(EF_CLI " validate-submission " DIR "/live.csv --live " DIR "/live.parquet", 0) == 0);
    /* the validation predictions score through evaluate */
    CHECK(run(EF_CLI " evaluate --predictions " DIR "/val.csv --data " DIR "/validation.parquet", 0) == 0);
    CHECK(strstr(out, "corr_mean") != NULL);

    /* deterministic; ensemble size changes the predictions */
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet " CTX " --out " DIR "/live2.csv", 0) == 0);
    CHECK(cli_files_equal(DIR "/live.csv", DIR "/live2.csv"));
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet " CTX " --ensemble 1 --out " DIR "/live1.csv", 0) == 0);
    CHECK(read_preds(DIR "/live1.csv", vals2, 100000) == nl);
    CHECK(!cli_files_equal(DIR "/live.csv", DIR "/live1.csv"));
    /* parquet output */
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet " CTX " --out " DIR "/live.parquet.out.parquet", 0) == 0);
    CHECK(exists(DIR "/live.parquet.out.parquet"));

    /* resume continues from the last state */
    CHECK(run(EF_CLI " finetune " TINY " --steps 9 --eval-every 3 --out " DIR "/m.st --resume " DIR "/m.st.last.st", 0) == 0);
    CHECK(cli_json_number(out, "steps") == 9);
    CHECK(run("grep -c val_corr_mean " DIR "/m.st.log.jsonl", 0) == 0 && atoi(out) == 3);

    /* time budget: stops cleanly and still leaves an evaluated best checkpoint */
    CHECK(run(EF_CLI " finetune " TINY " --steps 1000000 --eval-every 1000 --time-budget 0.002 --out " DIR "/tb.st", 0) == 0);
    CHECK(strstr(out, "\"time budget\"") != NULL);
    CHECK(cli_json_number(out, "steps") < 1000000);
    CHECK(exists(DIR "/tb.st") && exists(DIR "/tb.st.json"));

    /* weighted targets: a _60 target gives the 16-era embargo by default; jasper is NaN in
     * the first quarter of the train eras (skipped per target) */
    CHECK(run(EF_CLI " finetune --train " DIR "/train.parquet --validation " DIR "/validation.parquet --features-json " DIR
              "/features.json --context-rows 32 --query-rows 16 --batch 2 --layers 1 --d-model 16 --heads 2 --threads 1 "
              "--targets target_ender_20=1,target_jasper_60=0.5 --steps 2 --eval-every 2 --out " DIR "/t.st", 1) == 0);
    CHECK(strstr(out, "embargo 16 eras") != NULL);
    CHECK(run("grep -c target_jasper_60 " DIR "/t.st.json", 0) == 0 && atoi(out) == 1);

    /* feature dropout is stored with the model and used by predict's members */
    CHECK(run(EF_CLI " finetune " TINY " --feature-dropout 0.3 --steps 2 --eval-every 2 --out " DIR "/fd.st", 0) == 0);
    CHECK(run("grep -c '\"feature_dropout\":.*0.3' " DIR "/fd.st.json", 0) == 0 && atoi(out) == 1);
    CHECK(run(EF_CLI " predict --model " DIR "/fd.st --data " DIR "/live.parquet " CTX " --out " DIR "/fdlive.csv", 0) == 0);
    CHECK(run(EF_CLI " validate-submission " DIR "/fdlive.csv --live " DIR "/live.parquet", 0) == 0);
    CHECK(run(EF_CLI " finetune " TINY " --feature-dropout 1.5 --out " DIR "/e.st", 0) == 2);
    /* --no-feature-groups undoes an earlier --feature-groups (train's recipe has it; member opts
     * come after): the contract then has no groups */
    CHECK(run(EF_CLI " finetune " TINY " --feature-groups --no-feature-groups --steps 2 --eval-every 2 --out " DIR
              "/ng.st", 0) == 0);
    CHECK(run("tr -d ' \\n\\t' < " DIR "/ng.st.json | grep -c '\"feature_groups\":\\[\\]'", 0) == 0 && atoi(out) == 1);

    /* weight averaging: the averaged weights are evaluated and saved, --resume restarts it */
    CHECK(run(EF_CLI " finetune " TINY " --ema 0.9 --steps 4 --eval-every 2 --out " DIR "/ema.st", 0) == 0);
    CHECK(cli_json_number(out, "steps") == 4 && isfinite(cli_json_number(out, "best_validation_corr")));
    CHECK(run(EF_CLI " finetune " TINY " --ema 0.9 --steps 6 --eval-every 2 --out " DIR "/ema.st --resume " DIR
              "/ema.st.last.st", 0) == 0);
    CHECK(cli_json_number(out, "steps") == 6);
    CHECK(run(EF_CLI " finetune " TINY " --ema 1 --out " DIR "/e.st", 0) == 2);

    /* a pretrained rows base; one with row positions (a time-series model) is refused */
    CHECK(run(EF_CLI " pretrain --layout rows --task linear --d 4 --points 9 --layers 1 --d-model 16 --heads 2 --batch 4 "
              "--steps 3 --threads 1 --out " DIR "/pb.st", 0) == 0);
    CHECK(run(EF_CLI " finetune " TINY " --base " DIR "/pb.st --steps 2 --eval-every 2 --out " DIR "/fb.st", 0) == 0);
    CHECK(isfinite(cli_json_number(out, "best_validation_corr")));
    CHECK(run(EF_CLI " pretrain --layout rows --row-positions --task linear --d 4 --points 9 --layers 1 --d-model 16 "
              "--heads 2 --batch 4 --steps 3 --threads 1 --out " DIR "/pbp.st", 0) == 0);
    int rc = run(EF_CLI " finetune " TINY " --base " DIR "/pbp.st --steps 2 --out " DIR "/e.st", 1);
    CHECKF(rc != 0 && strstr(out, "pbp.st") && strstr(out, "row positions"), "positional base: rc %d, %s", rc, out);

    /* subset read-in */
    CHECK(run(EF_CLI " finetune " TINY " --read-in subset --d-max 8 --steps 4 --eval-every 2 --out " DIR "/s.st", 0) == 0);
    CHECK(run(EF_CLI " predict --model " DIR "/s.st --data " DIR "/live.parquet " CTX " --out " DIR "/slive.csv", 0) == 0);
    CHECK(run(EF_CLI " validate-submission " DIR "/slive.csv --live " DIR "/live.parquet", 0) == 0);

    /* baselines */
    CHECK(run(EF_CLI " baseline --kind ridge --train " DIR "/train.parquet --validation " DIR "/validation.parquet --out "
              DIR "/ridge.csv --live " DIR "/live.parquet --live-out " DIR "/ridge_live.csv", 0) == 0);
    CHECK(read_preds(DIR "/ridge.csv", vals2, 100000) == nv);
    CHECK(run(EF_CLI " validate-submission " DIR "/ridge_live.csv --live " DIR "/live.parquet", 0) == 0);
    int xr = run(EF_CLI " baseline --kind xgboost --trees 10 --threads 1 --train " DIR "/train.parquet --validation " DIR
                 "/validation.parquet --out " DIR "/xgb.csv", 1);
    CHECKF(xr == 0 || strstr(out, "without libxgboost"), "xgboost exit %d: %s", xr, out);
    if (xr == 0) CHECK(read_preds(DIR "/xgb.csv", vals2, 100000) == nv);

    /* errors */
    CHECK(run(EF_CLI " finetune --train x --validation y --features-json z", 0) == 2);
    CHECK(run(EF_CLI " finetune " TINY " --read-in sideways --out " DIR "/e.st", 0) == 2);
    CHECK(run(EF_CLI " finetune " TINY " --target a --targets b=1 --out " DIR "/e.st", 0) == 2);
    CHECK(run(EF_CLI " finetune " TINY " --embargo 5000 --out " DIR "/e.st", 1) == 2);
    CHECK(strstr(out, "embargo") != NULL || strstr(out, "context") != NULL);
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet --out " DIR "/x.csv", 0) == 2);
    CHECK(run(EF_CLI " predict --model " DIR "/nope.st --data " DIR "/live.parquet " CTX " --out " DIR "/x.csv", 0) == 1);
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet " CTX " --ensemble 0 --out " DIR "/x.csv", 0) == 2);
    CHECK(run(EF_CLI " baseline --kind lasso --train a --validation b --out c", 0) == 2);
    CHECK(run(EF_CLI " finetune --help", 0) == 0 && strstr(out, "--time-budget"));
    CHECK(run(EF_CLI " predict --help", 0) == 0 && strstr(out, "--ensemble"));
    CHECK(run(EF_CLI " baseline --help", 0) == 0 && strstr(out, "colsample"));
    /* live with a window: only the newest window+32 eras of the context are read, and the live
     * predictions are exactly those of a run that read everything */
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet " CTX " --window 5 --out " DIR "/lw.csv", 1) ==
          0);
    CHECK(strstr(out, "in 37 eras") != NULL);
    CHECK(run(EF_CLI " predict --model " DIR "/m.st --data " DIR "/live.parquet," DIR "/validation.parquet " CTX
              " --window 5 --out " DIR "/lw2.csv", 1) == 0);
    CHECK(strstr(out, "in 52 eras") != NULL);
    CHECK(run("awk -F, 'NR==FNR{a[$1]=$2;next} FNR>1 && ($1 in a){n++; if (a[$1]!=$2) bad++} END{print n, bad+0}' " DIR
              "/lw.csv " DIR "/lw2.csv", 0) == 0);
    long n_live = 0, n_bad = -1;
    CHECK(sscanf(out, "%ld %ld", &n_live, &n_bad) == 2 && n_live > 10 && n_bad == 0);
    /* feature engineering and the correlation loss: stored in the contract, used by predict */
    CHECK(run(EF_CLI " finetune " TINY " --feature-transform rankgauss --feature-groups --loss corr --era-every 2 --steps 4 "
              "--eval-every 2 --out " DIR "/fe.st", 1) == 0);
    CHECK(isfinite(cli_json_number(out, "best_validation_corr")));
    CHECK(run("grep -c '\"feature_transform\":[[:space:]]*\"rankgauss\"' " DIR "/fe.st.json", 0) == 0 && atoi(out) == 1);
    CHECK(run("tr -d ' \\n\\t' < " DIR "/fe.st.json | grep -o '\"feature_groups\":\\[\\[[0-9]' ", 0) == 0);
    CHECK(run(EF_CLI " predict --model " DIR "/fe.st --data " DIR "/live.parquet " CTX " --out " DIR "/felive.csv", 0) == 0);
    CHECK(run(EF_CLI " validate-submission " DIR "/felive.csv --live " DIR "/live.parquet", 0) == 0);
    /* the model reads the features and the group aggregates: predictions differ from the
     * plain model's */
    CHECK(!cli_files_equal(DIR "/felive.csv", DIR "/live.csv"));
    /* two models (different seeds) ensembled by predict: a valid submission that differs from
     * either model's own */
    CHECK(run(EF_CLI " finetune " TINY " --feature-transform rankgauss --feature-groups --loss corr --era-every 2 --steps 4 "
              "--eval-every 2 --seed 5 --out " DIR "/fe2.st", 1) == 0);
    CHECK(run(EF_CLI " predict --model " DIR "/fe.st," DIR "/fe2.st --data " DIR "/live.parquet " CTX " --out " DIR
              "/ens.csv", 0) == 0);
    CHECK(cli_json_number(out, "models") == 2);
    CHECK(run(EF_CLI " validate-submission " DIR "/ens.csv --live " DIR "/live.parquet", 0) == 0);
    CHECK(!cli_files_equal(DIR "/ens.csv", DIR "/felive.csv"));
    /* models that read different inputs cannot be ensembled */
    CHECK(run(EF_CLI " predict --model " DIR "/fe.st," DIR "/m.st --data " DIR "/live.parquet " CTX " --out " DIR "/x.csv", 0) ==
          2);
    /* the contract is embedded in the model: a damaged sidecar beside it is ignored (readers
     * trust the embedded copy). Damaged sidecars of older two-file models and damaged
     * embedded contracts: test_cli_contract.c */
    CHECK(run("cp " DIR "/fe.st " DIR "/bad.st && sed 's/\"feature_groups\":.*/\"feature_groups\": [[0, 999]]/' " DIR
              "/fe.st.json > " DIR "/bad.st.json", 0) == 0);
    CHECK(run(EF_CLI " predict --model " DIR "/bad.st --data " DIR "/live.parquet " CTX " --out " DIR "/x.csv", 1) == 0);
    CHECK(cli_files_equal(DIR "/x.csv", DIR "/felive.csv"));
    CHECK(run(EF_CLI " finetune " TINY " --feature-transform zscore --out " DIR "/e.st", 0) == 2);
    CHECK(run(EF_CLI " finetune " TINY " --loss mae --out " DIR "/e.st", 0) == 2);
    CHECK(run(EF_CLI " finetune " TINY " --era-every 0 --out " DIR "/e.st", 0) == 2);
    run("rm -rf " DIR, 0);
    TEST_MAIN_END;
}
