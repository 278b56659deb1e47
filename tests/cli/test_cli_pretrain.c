/* eraformer pretrain from the command line: help and usage errors, learning signal in the
 * log, exact resume after --stop-after and after kill -9, bad --resume files, --init (a class
 * curriculum), --row-positions and --ctx-min. */
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli_util.h"
#include "test.h"

#define SMALL "--task linear --d 4 --points 9 --layers 2 --d-model 32 --heads 2 --batch 8 --checkpoint-every 5 --eval-every 10 --threads 2"

/* The count that EF_PAR_MIN makes the binary print at exit ("ef_par: N parallel regions ran
 * on more than one thread"), or -1 if the line is missing. */
static long par_regions(const char *err_path) {
    char *e = cli_slurp(err_path);
    const char *p = e ? strstr(e, "ef_par: ") : NULL;
    long n = p ? strtol(p + 8, NULL, 10) : -1;
    free(e);
    return n;
}

static void test_usage(void) {
    CHECK(cli_run("pretrain --help", "pt_help.txt", NULL) == 0);
    char *h = cli_slurp("pt_help.txt");
    CHECK(h && strstr(h, "--resume") && strstr(h, "--mixture"));
    free(h);
    CHECK(cli_run("pretrain --steps 10", NULL, "pt_err.txt") == 2);  /* no --out */
    CHECK(cli_run("pretrain --out x.st --steps ten", NULL, "pt_err.txt") == 2);
    char *e = cli_slurp("pt_err.txt");
    CHECK(e && strstr(e, "--steps") && strstr(e, "HINT"));
    free(e);
    CHECK(cli_run("pretrain --out x.st --heads 3 --d-model 32", NULL, NULL) == 2);
    CHECK(cli_run("pretrain --out x.st --mixture linear=-1", NULL, "pt_err.txt") == 2);
    CHECK(cli_run("pretrain --out x.st --mixture nosuchclass=1", NULL, "pt_err.txt") == 2);
    CHECK(cli_run("nosuchcommand", NULL, NULL) == 2);
}

static void test_resume(void) {
    /* uninterrupted 20 steps */
    CHECK(cli_run("pretrain " SMALL " --steps 20 --out pt_full.st", "pt_full.json", NULL) == 0);
    char *js = cli_slurp("pt_full.json");
    CHECK(js && strstr(js, "\"eval_err_last\""));
    free(js);
    char *log = cli_slurp("pt_full.st.log.jsonl");
    CHECK(log && strstr(log, "\"step\":20,") && strstr(log, "\"grad_norm\""));
    free(log);
    /* 7 steps, then resume to 20: the same file bit for bit */
    CHECK(cli_run("pretrain " SMALL " --steps 20 --stop-after 7 --out pt_part.st", NULL, NULL) == 0);
    CHECK(!cli_files_equal("pt_full.st", "pt_part.st"));
    CHECK(cli_run("pretrain " SMALL " --steps 20 --resume pt_part.st --out pt_part.st", NULL, NULL) == 0);
    CHECKF(cli_files_equal("pt_full.st", "pt_part.st"), "resumed checkpoint differs from the uninterrupted one");
    /* a different seed gives a different model */
    CHECK(cli_run("pretrain " SMALL " --steps 20 --seed 2 --out pt_seed2.st", NULL, NULL) == 0);
    CHECK(!cli_files_equal("pt_full.st", "pt_seed2.st"));
    /* same seed with 1 thread, and with 2 threads taking every parallel region (EF_PAR_MIN=0:
     * the default thresholds keep a model this small serial): identical to the default run */
    setenv("EF_PAR_MIN", "0", 1);
    CHECK(cli_run("pretrain " SMALL " --steps 20 --threads 1 --out pt_t1.st", NULL, "pt_t1.err") == 0);
    CHECK(cli_run("pretrain " SMALL " --steps 20 --out pt_t2.st", NULL, "pt_t2.err") == 0);
    unsetenv("EF_PAR_MIN");
    long multi1 = par_regions("pt_t1.err"), multi2 = par_regions("pt_t2.err");
    CHECKF(multi1 == 0, "--threads 1: %ld regions on more than one thread", multi1);
    char omp[16] = "";
    if (cli_probe("openmp", omp, sizeof omp) == 0 && strcmp(omp, "yes") == 0)
        CHECKF(multi2 > 0, "--threads 2, EF_PAR_MIN=0: %ld regions on more than one thread", multi2);
    else
        printf("SKIP (the binary is built without OpenMP, openmp: %s): the >1-thread check of pretrain\n", omp);
    CHECKF(cli_files_equal("pt_full.st", "pt_t1.st"), "1 thread and 2 threads differ");
    CHECKF(cli_files_equal("pt_full.st", "pt_t2.st"), "2 threads on every parallel region differ");
}

static void test_kill9(void) {
    unlink("pt_kill.st");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s pretrain " SMALL " --steps 120 --out pt_kill.st >/dev/null 2>&1", EF_CLI);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct stat st;
    int seen = 0;
    for (int i = 0; i < 6000 && !seen; i++) {  /* up to 60 s for the first checkpoint */
        seen = stat("pt_kill.st", &st) == 0;
        if (!seen) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(seen);
    CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
    /* whatever step it died at, the checkpoint is whole and resumes to the same result */
    CHECK(cli_run("pretrain " SMALL " --steps 120 --resume pt_kill.st --out pt_kill.st", NULL, NULL) == 0);
    CHECK(cli_run("pretrain " SMALL " --steps 120 --out pt_ref400.st", NULL, NULL) == 0);
    CHECKF(cli_files_equal("pt_kill.st", "pt_ref400.st"), "kill -9 + resume differs from an uninterrupted run");
}

static void test_export(void) {
    CHECK(cli_run("export --model pt_full.st --out pt_export.st", NULL, NULL) == 0);
    char *a, *b;
    size_t na, nb;
    CHECK(ef_file_read_all("pt_full.st", &a, &na, NULL) == EF_OK && ef_file_read_all("pt_export.st", &b, &nb, NULL) == EF_OK);
    CHECK(nb < na / 2 && strstr(b + 8, "optim.m") == NULL && strstr(a + 8, "optim.m") != NULL);
    ef_free(a);
    ef_free(b);
    /* the exported weights evaluate like the checkpoint they came from */
    CHECK(cli_run("icl-eval --model pt_full.st --class linear --tasks 8 --bootstrap 0 --baselines zero", "pt_e1.csv", NULL) == 0);
    CHECK(cli_run("icl-eval --model pt_export.st --class linear --tasks 8 --bootstrap 0 --baselines zero", "pt_e2.csv", NULL) == 0);
    CHECK(cli_files_equal("pt_e1.csv", "pt_e2.csv"));
    CHECK(cli_run("export --model pt_garbage.st --out pt_x.st", NULL, NULL) == 1);
    CHECK(cli_run("export --model pt_full.st", NULL, NULL) == 2);
}

static void test_bad_resume(void) {
    FILE *f = fopen("pt_garbage.st", "wb");
    fputs("this is not a checkpoint", f);
    fclose(f);
    CHECK(cli_run("pretrain " SMALL " --steps 5 --resume pt_garbage.st --out pt_g2.st", NULL, "pt_err.txt") == 1);
    char *e = cli_slurp("pt_err.txt");
    CHECK(e && strstr(e, "pt_garbage.st") && strstr(e, "error"));
    free(e);
    /* resuming with a different width is refused with a usage error */
    CHECK(cli_run("pretrain " SMALL " --d 5 --points 11 --steps 5 --resume pt_full.st --out pt_g3.st", NULL, "pt_err.txt") == 2);
}

/* --init copies the weights (0 steps later the model predicts exactly as the initial one),
 * with row positions added at zero (still the same predictions), and trains on from there with
 * fresh optimiser state; mismatches are refused. */
#define ROWS "--layout rows --d 4 --points 9 --layers 2 --d-model 32 --heads 2 --batch 8 --checkpoint-every 5 --eval-every 10 --threads 2"
static void test_init(void) {
    CHECK(cli_run("pretrain " ROWS " --task linear --steps 20 --out pt_rows.st", NULL, NULL) == 0);
    CHECK(cli_run("pretrain " ROWS " --mixture relu=1 --steps 0 --init pt_rows.st --out pt_i0.st", NULL, NULL) == 0);
    CHECK(cli_run("pretrain " ROWS " --mixture relu=1 --steps 0 --row-positions --init pt_rows.st --out pt_ip0.st", NULL, NULL) == 0);
    const char *ev = "icl-eval --class linear --tasks 16 --bootstrap 0 --baselines zero --model ";
    char cmd[512];
    const char *files[] = {"pt_rows.st", "pt_i0.st", "pt_ip0.st"}, *csv[] = {"pt_ie0.csv", "pt_ie1.csv", "pt_ie2.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s%s", ev, files[i]);
        CHECK(cli_run(cmd, csv[i], NULL) == 0);
    }
    CHECKF(cli_files_equal("pt_ie0.csv", "pt_ie1.csv"), "--init: the copied model predicts differently");
    CHECKF(cli_files_equal("pt_ie0.csv", "pt_ie2.csv"), "--init --row-positions: zero positions changed the predictions");
    /* --layers adds blocks that start as the identity; removing layers is refused */
    CHECK(cli_run("pretrain --layout rows --d 4 --points 9 --layers 3 --batch 8 --threads 2 --mixture relu=1 --steps 0 "
                  "--init pt_rows.st --out pt_il0.st", NULL, NULL) == 0);
    CHECK(cli_run("icl-eval --class linear --tasks 16 --bootstrap 0 --baselines zero --model pt_il0.st", "pt_ie5.csv", NULL) == 0);
    CHECKF(cli_files_equal("pt_ie0.csv", "pt_ie5.csv"), "--init --layers 3: the grown model predicts differently");
    char *h = cli_slurp("pt_il0.st");
    CHECK(h && strstr(h + 8, "\\\"n_layer\\\":3"));
    free(h);
    CHECK(cli_run("pretrain --layout rows --d 4 --points 9 --layers 1 --batch 8 --threads 2 --task linear --steps 5 "
                  "--init pt_rows.st --out pt_x.st", NULL, "pt_err.txt") == 2);
    char *e0 = cli_slurp("pt_err.txt");
    CHECK(e0 && strstr(e0, "pt_rows.st has 2 layers"));
    free(e0);
    h = cli_slurp("pt_ip0.st");
    CHECK(h && strstr(h + 8, "row_positions") && strstr(h + 8, "embed.wpe"));
    free(h);
    /* training on from the copy: a mixture step changes the weights; the log starts at step 1 */
    CHECK(cli_run("pretrain " ROWS " --mixture relu=1 --steps 10 --row-positions --init pt_rows.st --out pt_ip10.st", NULL, NULL) == 0);
    CHECK(cli_run("icl-eval --class linear --tasks 16 --bootstrap 0 --baselines zero --model pt_ip10.st", "pt_ie3.csv", NULL) == 0);
    CHECK(!cli_files_equal("pt_ie0.csv", "pt_ie3.csv"));
    char *log = cli_slurp("pt_ip10.st.log.jsonl");
    CHECK(log && strncmp(log, "{\"step\":1,", 10) == 0 && strstr(log, "\"step\":10,"));
    free(log);
    /* refused: a positional model into a run without positions, another width, with --resume */
    CHECK(cli_run("pretrain " ROWS " --task linear --steps 5 --init pt_ip0.st --out pt_x.st", NULL, "pt_err.txt") == 2);
    char *e = cli_slurp("pt_err.txt");
    CHECK(e && strstr(e, "pt_ip0.st") && strstr(e, "row positions"));
    free(e);
    CHECK(cli_run("pretrain " ROWS " --task linear --d 5 --points 11 --steps 5 --init pt_rows.st --out pt_x.st", NULL, NULL) == 2);
    CHECK(cli_run("pretrain " ROWS " --task linear --steps 5 --init pt_rows.st --resume pt_rows.st --out pt_x.st", NULL, NULL) == 2);
    CHECK(cli_run("pretrain " ROWS " --task linear --steps 30 --row-positions --resume pt_rows.st --out pt_x.st", NULL, "pt_err.txt") == 2);
    e = cli_slurp("pt_err.txt");
    CHECK(e && strstr(e, "pt_rows.st") && strstr(e, "with row positions")); /* resume keeps the architecture */
    free(e);
    CHECK(cli_run("pretrain " SMALL " --steps 5 --row-positions --out pt_x.st", NULL, NULL) == 2); /* interleaved */
    /* icl-eval of a time-series class runs on the positional model */
    CHECK(cli_run("icl-eval --class ar_drift --tasks 16 --bootstrap 0 --baselines zero --model pt_ip10.st", "pt_ie4.csv", NULL) == 0);
}

/* --ctx-min N: every step of the JSONL log labels between N and k-1 rows, and all of them occur;
 * 0 keeps the uniform draw (n_ctx below N occurs); under a curriculum whose k is still short of
 * N + 1 the context is k - 1 rows; usage errors. */
static void test_ctx_min(void) {
    CHECK(cli_run("pretrain " ROWS " --task linear --curriculum-every 0 --steps 60 --ctx-min 6 --log pt_cm.jsonl --out pt_cm.st", NULL, NULL) == 0);
    CHECK(cli_run("pretrain " ROWS " --task linear --curriculum-every 0 --steps 60 --log pt_c0.jsonl --out pt_c0.st", NULL, NULL) == 0);
    CHECK(cli_run("pretrain " ROWS " --task linear --curriculum-every 20 --curriculum-start 2,5 --steps 60 --ctx-min 6 "
                  "--log pt_cc.jsonl --out pt_cc.st", NULL, NULL) == 0);
    const char *logs[3] = {"pt_cm.jsonl", "pt_c0.jsonl", "pt_cc.jsonl"};
    for (int run = 0; run < 3; run++) {
        FILE *f = fopen(logs[run], "r");
        CHECK(f != NULL);
        if (!f) continue;
        char line[1024];
        int seen[64] = {0}, steps = 0, below = 0, above = 0, short_k = 0, short_bad = 0;
        while (fgets(line, sizeof line, f)) {
            if (!strstr(line, "\"n_ctx\"")) continue;
            int n = (int)cli_json_number(line, "n_ctx"), k = (int)cli_json_number(line, "k");
            steps++;
            if (n < 6) below++;
            if (n >= k) above++;
            if (n >= 0 && n < 64) seen[n]++;
            if (k <= 6) {
                short_k++;
                short_bad += n != k - 1;
            }
        }
        fclose(f);
        CHECK(steps == 60);
        CHECK(above == 0);
        if (run == 0) {
            CHECK(below == 0);
            for (int n = 6; n < 9; n++) CHECK(seen[n] > 0); /* 6, 7, 8 of k = 9 all drawn */
        } else if (run == 1) {
            CHECK(below > 0);
        } else {
            CHECK(short_k > 0 && short_bad == 0); /* k = 5 for the first 20 steps: 4 labelled rows */
            CHECK(seen[6] + seen[7] + seen[8] > 0);
        }
    }
    CHECK(cli_run("pretrain " ROWS " --task linear --steps 5 --ctx-min 9 --out pt_x.st", NULL, "pt_err.txt") == 2);
    char *e = cli_slurp("pt_err.txt");
    CHECK(e && strstr(e, "--ctx-min (9)") && strstr(e, "--points (9)"));
    free(e);
    CHECK(cli_run("pretrain " SMALL " --steps 5 --ctx-min 2 --out pt_x.st", NULL, "pt_err.txt") == 2); /* interleaved */
    e = cli_slurp("pt_err.txt");
    CHECK(e && strstr(e, "--layout rows"));
    free(e);
}

int main(void) {
    test_usage();
    test_ctx_min();
    test_init();
    test_resume();
    test_kill9();
    test_bad_resume();
    test_export();
    TEST_MAIN_END;
}
