/* eraformer icl-predict from the command line: CSV in (raw, unscaled columns, an id column,
 * missing values), CSV out with the id column; a target column in the test file changes
 * nothing; the predictions follow the truth; a parquet training and test table (synth's
 * Numerai layout, text columns skipped); errors: a feature missing from the test file, an
 * unknown target, bad options. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli_util.h"
#include "test.h"

/* y = 3 x1 - 2 x2 / 100 + noise; x3 is noise; 5 % of x cells empty */
static void write_csv(const char *path, int n, uint64_t seed, int with_y, double *truth) {
    FILE *f = fopen(path, "w");
    ef_rng r;
    ef_rng_init(&r, seed, 0);
    fprintf(f, "id,x1,x2,x3%s\n", with_y ? ",y" : "");
    for (int i = 0; i < n; i++) {
        double x1 = ef_rng_normal(&r), x2 = 500 + 100 * ef_rng_normal(&r), x3 = ef_rng_normal(&r);
        double y = 3 * x1 - 2 * (x2 - 500) / 100 + 0.3 * ef_rng_normal(&r);
        if (truth) truth[i] = y;
        fprintf(f, "row%d,", i);
        if (ef_rng_uniform(&r) < 0.05) fprintf(f, ",");
        else fprintf(f, "%.6f,", x1);
        fprintf(f, "%.4f,", x2);
        if (ef_rng_uniform(&r) < 0.05) fprintf(f, "NA");
        else fprintf(f, "%.6f", x3);
        if (with_y) fprintf(f, ",%.6f", y);
        fprintf(f, "\n");
    }
    fclose(f);
}

static double corr_with(const char *csv_path, const double *truth, int n) {
    FILE *f = fopen(csv_path, "r");
    char line[256];
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int i = 0;
    if (!f || !fgets(line, sizeof line, f)) return NAN;
    while (i < n && fgets(line, sizeof line, f)) {
        const char *c = strchr(line, ',');
        double p = atof(c ? c + 1 : line), t = truth[i++];
        sx += p; sy += t; sxx += p * p; syy += t * t; sxy += p * t;
    }
    fclose(f);
    if (i != n) return NAN;
    double cov = sxy / n - sx / n * sy / n;
    return cov / sqrt((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n));
}

static void test_csv(void) {
    double truth[200];
    write_csv("iclp_train.csv", 300, 1, 1, NULL);
    write_csv("iclp_test_y.csv", 200, 2, 1, truth);
    write_csv("iclp_test.csv", 200, 2, 0, NULL);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test_y.csv --target y --out iclp_a.csv --seed 3",
                  "iclp_a.json", NULL) == 0);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test.csv --target y --out iclp_b.csv --seed 3 --threads 1",
                  NULL, NULL) == 0);
    CHECK(cli_files_equal("iclp_a.csv", "iclp_b.csv"));
    char *out = cli_slurp("iclp_a.csv"), *json = cli_slurp("iclp_a.json");
    CHECK(out && !strncmp(out, "id,prediction\nrow0,", 19));
    int lines = 0;
    for (const char *p = out; p && *p; p++) lines += *p == '\n';
    CHECK(lines == 201);
    CHECK(json && cli_json_number(json, "features") == 3 && cli_json_number(json, "test_rows") == 200);
    double c = corr_with("iclp_a.csv", truth, 200);
    printf("icl-predict CSV: correlation with the truth %.4f\n", c);
    CHECKF(c > 0.75, "correlation %.4f", c);
    ef_free(out);
    ef_free(json);
    /* another seed: other members, other predictions */
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test.csv --target y --out iclp_c.csv --seed 4", NULL,
                  NULL) == 0);
    CHECK(!cli_files_equal("iclp_a.csv", "iclp_c.csv"));
}

static void test_parquet(void) {
    system("rm -rf iclp_synth");
    CHECK(cli_run("synth --out iclp_synth --eras-train 4 --eras-validation 2 --rows-per-era 50 --features 24 --seed 3 -q",
                  NULL, NULL) == 0);
    CHECK(cli_run("icl-predict --train iclp_synth/train.parquet --test iclp_synth/validation.parquet --target target "
                  "--out iclp_pq.csv --ensemble 4 --wide project",
                  "iclp_pq.json", "iclp_pq.err") == 0);
    char *out = cli_slurp("iclp_pq.csv"), *json = cli_slurp("iclp_pq.json");
    CHECK(out && !strncmp(out, "id,prediction\n", 14));
    CHECKF(json && cli_json_number(json, "features") >= 24 && cli_json_number(json, "test_rows") > 50, "%s",
           json ? json : "(none)");
    ef_free(out);
    ef_free(json);
}

static void test_errors(void) {
    FILE *f = fopen("iclp_test_x1.csv", "w");
    fprintf(f, "id,x1,x3\na,1,2\n");
    fclose(f);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test_x1.csv --target y --out iclp_e.csv", NULL,
                  "iclp_e.err") == 1);
    char *e = cli_slurp("iclp_e.err");
    CHECK(e && strstr(e, "no column 'x2'"));
    ef_free(e);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test.csv --target nope --out iclp_e.csv", NULL,
                  "iclp_e.err") == 2);
    e = cli_slurp("iclp_e.err");
    CHECK(e && strstr(e, "no column 'nope'"));
    ef_free(e);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test.csv --target y --out iclp_e.csv --ensemble 0",
                  NULL, NULL) == 2);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test.csv --target y --out iclp_e.csv --scaling x", NULL,
                  NULL) == 2);
    CHECK(cli_run("icl-predict --train iclp_train.csv --test iclp_test.csv --target y --out iclp_e.csv --model "
                  EF_SOURCE_DIR "/models/mixture-d10.st", NULL, "iclp_e.err") == 2);
    CHECK(cli_run("icl-predict --train no_such.csv --test iclp_test.csv --target y --out iclp_e.csv", NULL, NULL) == 1);
    CHECK(cli_run("icl-predict --help", "iclp_help.txt", NULL) == 0);
}

int main(void) {
    test_csv();
    test_parquet();
    test_errors();
    TEST_MAIN_END;
}
