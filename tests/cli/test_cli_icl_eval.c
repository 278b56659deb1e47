/* eraformer icl-eval: CSV shape, the protocol's sanity (least squares is exact once it has
 * more examples than dimensions; the zero predictor scores ~1), the SVG plot, OOD options and
 * usage errors, the symmetry ensemble. */
#include "cli_util.h"
#include "test.h"

int main(void) {
    CHECK(cli_run("pretrain --task linear --d 4 --points 9 --layers 1 --d-model 16 --heads 2 --batch 8 --steps 5 "
                  "--threads 1 --out icl_model.st", NULL, NULL) == 0);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 64 --bootstrap 50 --baselines zero,lstsq "
                  "--plot icl.svg", "icl.csv", "icl.err") == 0);
    char *csv = cli_slurp("icl.csv");
    CHECK(csv && !strncmp(csv, "in_context_examples,estimator,mean_sq_error,lo90,hi90\n", 54));
    int lines = 0, lstsq_exact = 0, nzero = 0;
    double zero_sum = 0;
    for (char *p = csv; p && *p; p++)
        if (*p == '\n') lines++;
    CHECKF(lines == 1 + 9 * 3, "%d lines", lines);  /* header + k=9 points x 3 estimators */
    char *line = csv ? strtok(csv, "\n") : NULL;
    while (line) {
        int i;
        char est[64];
        double mean, lo, hi;
        if (sscanf(line, "%d,%63[^,],%lf,%lf,%lf", &i, est, &mean, &lo, &hi) == 5) {
            CHECK(lo <= mean + 1e-12 && mean <= hi + 1e-12);
            if (!strcmp(est, "lstsq") && i >= 5 && mean < 1e-6) lstsq_exact++;
            if (!strcmp(est, "zero")) {
                zero_sum += mean;
                nzero++;
            }
        }
        line = strtok(NULL, "\n");
    }
    CHECK(lstsq_exact == 4);  /* i = 5..8 examples for d = 4 */
    /* y²/d has mean 1 under the linear prior: over 9 x 64 points the average is near 1 */
    CHECKF(nzero == 9 && fabs(zero_sum / 9 - 1) < 0.25, "zero predictor mean %.3f", zero_sum / 9);
    free(csv);
    char *svg = cli_slurp("icl.svg");
    CHECK(svg && !strncmp(svg, "<svg", 4) && strstr(svg, "transformer") && strstr(svg, "lstsq") && strstr(svg, "</svg>"));
    free(svg);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 16 --bootstrap 10 --baselines lstsq --ood scale-x=2",
                  "icl2.csv", NULL) == 0);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 16 --bootstrap 10 --baselines lstsq --ood skewed",
                  "icl2.csv", NULL) == 0);
    CHECK(cli_run("icl-eval --model icl_model.st --class tree --tasks 16 --ood scale-x=2", NULL, "icl.err") == 2);
    /* convex combination of two classes: the baselines of both, least squares no longer exact
     * (half of the variance is a tree), alpha = 1 is the linear task again */
    CHECK(cli_run("icl-eval --model icl_model.st --tasks 32 --bootstrap 10 --ood combo=linear+tree", "icl3.csv", NULL) == 0);
    char *c3 = cli_slurp("icl3.csv");
    CHECK(c3 && strstr(c3, "\n8,lstsq,") && strstr(c3, "\n8,cart4,") && strstr(c3, "\n8,averaging,"));
    const char *l8 = c3 ? strstr(c3, "\n8,lstsq,") : NULL;
    double e8 = l8 ? strtod(l8 + 10, NULL) : 0;
    CHECKF(e8 > 0.05, "lstsq on linear+tree at 8 examples: %.3g", e8);
    free(c3);
    CHECK(cli_run("icl-eval --model icl_model.st --tasks 16 --bootstrap 10 --baselines lstsq --ood combo=linear+tree:1",
                  "icl3.csv", NULL) == 0);
    c3 = cli_slurp("icl3.csv");
    l8 = c3 ? strstr(c3, "\n8,lstsq,") : NULL;
    CHECK(l8 && strtod(l8 + 10, NULL) < 1e-6);
    free(c3);
    CHECK(cli_run("icl-eval --model icl_model.st --ood combo=linear", NULL, "icl.err") == 2);
    CHECK(cli_run("icl-eval --model icl_model.st --ood combo=linear+nosuch", NULL, "icl.err") == 2);
    CHECK(cli_run("icl-eval --model icl_model.st --class tree --ood combo=linear+tree", NULL, "icl.err") == 2);
    CHECK(cli_run("icl-eval --model icl_model.st --ood combo=linear+tree:2", NULL, "icl.err") == 2);
    /* --ensemble: 1 is the plain model; 4 adds "transformer-ens4" rows and keeps the single
     * pass (its first member) and the baselines as they were */
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 16 --bootstrap 0 --baselines lstsq", "icl_e0.csv", NULL) == 0);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 16 --bootstrap 0 --baselines lstsq --ensemble 1",
                  "icl_e1.csv", NULL) == 0);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 16 --bootstrap 0 --baselines lstsq --ensemble 4",
                  "icl_e4.csv", NULL) == 0);
    CHECK(cli_files_equal("icl_e0.csv", "icl_e1.csv") && !cli_files_equal("icl_e0.csv", "icl_e4.csv"));
    char *e0 = cli_slurp("icl_e0.csv"), *e4 = cli_slurp("icl_e4.csv");
    int n0 = 0, n4 = 0, nens = 0;
    for (char *l = e0 ? strtok(e0, "\n") : NULL; l; l = strtok(NULL, "\n")) n0++;
    for (char *l = e4 ? strtok(e4, "\n") : NULL; l; l = strtok(NULL, "\n")) {
        n4++;
        nens += strstr(l, ",transformer-ens4,") != NULL;
    }
    CHECKF(n0 == 1 + 9 * 2 && n4 == 1 + 9 * 3 && nens == 9, "%d, %d lines, %d ensemble rows", n0, n4, nens);
    free(e0);
    free(e4);
    CHECK(system("grep -v transformer-ens4 icl_e4.csv > icl_e4s.csv") == 0 && cli_files_equal("icl_e0.csv", "icl_e4s.csv"));
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --ensemble 0", NULL, NULL) == 2);
    CHECK(cli_run("icl-eval --model icl_model.st --class nosuch", NULL, NULL) == 2);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --points 99", NULL, NULL) == 2);
    CHECK(cli_run("icl-eval --class linear", NULL, NULL) == 2);
    CHECK(cli_run("icl-eval --model missing.st --class linear", NULL, "icl.err") == 1);
    /* more baselines than the table holds are refused, not silently dropped */
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 4 --bootstrap 0 "
                  "--baselines zero,zero,zero,zero,zero,zero,zero,zero,zero,zero,zero,lstsq",
                  "icl_many.csv", "icl.err") == 2);
    char *msg = cli_slurp("icl.err");
    CHECKF(msg && strstr(msg, "at most 11 baselines") && strstr(msg, "lstsq"), "%s", msg ? msg : "");
    free(msg);
    CHECK(cli_run("icl-eval --model icl_model.st --class linear --tasks 4 --bootstrap 0 "
                  "--baselines zero,zero,zero,zero,zero,zero,zero,zero,zero,zero,lstsq",
                  "icl_many.csv", NULL) == 0);
    /* tasks x resamples bootstrap indices that cannot be allocated (40 TB): a clear error before
     * any task runs, not a crash (ASan would abort on the request instead of returning NULL) */
    char out[4096];
    int rc = cli_capture("ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 " EF_CLI
                         " icl-eval --model icl_model.st --class linear --tasks 10000000 --bootstrap 1000000"
                         " --baselines zero",
                         1, out, sizeof out);
    CHECKF(rc == 1 && strstr(out, "out of memory for the bootstrap") && strstr(out, "--bootstrap"), "rc %d: %s", rc, out);
    TEST_MAIN_END;
}
