/* cli: eraformer evaluate end to end on small generated CSV data: the golden single era
 * reproduces numerai-tools' values through the whole pipeline (join, sort, score, JSON), a
 * multi-era file gives the per-era table and the report, row order does not matter, a
 * monotone transform of the predictions leaves CORR unchanged, and errors exit 1/2 with
 * messages naming the problem. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "eraformer/base.h"
#include "cli_util.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_evaluate_tmp"

static char out[1 << 16];

/* Runs a shell command, captures stdout (stderr appended when err2 is set), returns exit code. */
static int run(const char *cmd, int err2) { return cli_capture(cmd, err2, out, sizeof out); }

/* value printed after "key" in the summary table */
static double table_value(const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\n%s ", key);
    const char *p = strstr(out, pat);
    if (!p) return NAN;
    return strtod(p + strlen(pat), NULL);
}

static void write_golden(void) {
    const double pred[12] = {0.1, 0.5, 0.5, 0.3, 0.9, 0.2, 0.7, 0.7, 0.4, 0.6, 0.8, 0.05};
    const double target[12] = {0.25, 0.5, 0.75, 0.5, 1.0, 0.0, 0.75, 0.5, 0.25, 0.5, 1.0, 0.0};
    const double meta[12] = {0.2, 0.4, 0.6, 0.35, 0.8, 0.1, 0.65, 0.7, 0.45, 0.5, 0.9, 0.15};
    const int f1[12] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 2, 2}, f2[12] = {4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 2, 2};
    const int f3[12] = {2, 2, 1, 3, 4, 0, 3, 2, 1, 2, 4, 0};
    FILE *d = fopen(DIR "/golden_data.csv", "w"), *p = fopen(DIR "/golden_preds.csv", "w");
    FILE *m = fopen(DIR "/golden_meta.csv", "w");
    if (!d || !p || !m) exit(1);
    fprintf(d, "id,era,feature_f1,feature_f2,feature_f3,target\n");
    fprintf(p, "id,prediction\n");
    fprintf(m, "id,numerai_meta_model\n");
    /* written in reverse order: evaluate must sort by id */
    for (int i = 11; i >= 0; i--) {
        fprintf(d, "n%02d,0001,%d,%d,%d,%.17g\n", i, f1[i], f2[i], f3[i], target[i]);
        fprintf(p, "n%02d,%.17g\n", i, pred[i]);
        fprintf(m, "n%02d,%.17g\n", i, meta[i]);
    }
    fclose(d);
    fclose(p);
    fclose(m);
}

static void test_golden(void) {
    write_golden();
    int rc = run(EF_CLI " evaluate --predictions " DIR "/golden_preds.csv --data " DIR
                 "/golden_data.csv --features all --meta-model " DIR "/golden_meta.csv --out " DIR
                 "/golden_out", 0);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    /* the table is in Numerai's diagnostics order */
    const char *order[] = {"corr_mean", "corr_std", "corr_sharpe", "corr_max_drawdown", "mmc_mean",
                           "mmc_sharpe", "fnc_mean", "max_feature_exposure", "apy"};
    const char *prev = out;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *q = strstr(out, order[i]);
        CHECKF(q && q >= prev, "%s missing or out of order", order[i]);
        if (q) prev = q;
    }
    char *js = cli_slurp(DIR "/golden_out/summary.json");
    CHECK(js != NULL);
    if (js) {
        CHECK_NEAR(cli_json_number(js, "corr_mean"), 0.8843076118427499, 0, 1e-12);
        CHECK_NEAR(cli_json_number(js, "mmc_mean"), 0.09571909818690978, 0, 1e-12);
        CHECK_NEAR(cli_json_number(js, "fnc_mean"), 0.16756376722678765, 0, 1e-10);
        CHECK_NEAR(cli_json_number(js, "max_feature_exposure"), 0.7331078543780469, 0, 1e-7);
        CHECK_NEAR(cli_json_number(js, "eras"), 1, 0, 0);
        CHECK(strstr(js, "\"feature_f3\":") != NULL);
        free(js);
    }
    CHECK_NEAR(table_value("corr_mean"), 0.884308, 1e-6, 0);
}

/* Multi-era data: E eras of R rows, 4 features, the last era without targets. */
static void write_multi(int reverse, int transform) {
    FILE *d = fopen(DIR "/data.csv", "w"), *p = fopen(transform ? DIR "/preds_t.csv" : DIR "/preds.csv", "w");
    if (!d || !p) exit(1);
    fprintf(d, "id,era,data_type,feature_a,feature_b,feature_c,feature_d,target\n");
    fprintf(p, "id,prediction\n");
    enum { E = 12, R = 60 };
    ef_rng g;
    ef_rng_init(&g, 99, 0);
    static char lines_d[E * R][160], lines_p[E * R][80];
    for (int e = 0; e < E; e++)
        for (int r = 0; r < R; r++) {
            int f[4];
            for (int j = 0; j < 4; j++) f[j] = (int)ef_rng_below(&g, 5);
            double z = 0.4 * (f[0] - 2) + ef_rng_normal(&g);
            double t = z < -1.64 ? 0 : z < -0.52 ? 0.25 : z < 0.52 ? 0.5 : z < 1.64 ? 0.75 : 1.0;
            double pr = 0.3 * (f[0] - 2) + 0.2 * f[1] + ef_rng_normal(&g);
            int i = e * R + r;
            char tt[32];
            if (e == E - 1) tt[0] = 0;
            else snprintf(tt, sizeof tt, "%g", t);
            snprintf(lines_d[i], sizeof lines_d[i], "id%03d%03d,%04d,validation,%d,%d,%d,%d,%s\n",
                     e, r, e + 1, f[0], f[1], f[2], f[3], tt);
            snprintf(lines_p[i], sizeof lines_p[i], "id%03d%03d,%.17g\n", e, r,
                     transform ? exp(pr) * 3 + 1 : pr);
        }
    for (int k = 0; k < E * R; k++) {
        int i = reverse ? E * R - 1 - k : k;
        fputs(lines_d[i], d);
        fputs(lines_p[i], p);
    }
    fclose(d);
    fclose(p);
}

static void test_multi(void) {
    write_multi(0, 0);
    int rc = run(EF_CLI " evaluate --predictions " DIR "/preds.csv --data " DIR "/data.csv"
                 " --features feature_a,feature_b --meta-model " DIR "/preds.csv --meta-column "
                 "prediction --out " DIR "/multi_out --threads 2", 0);
    CHECKF(rc == 0, "rc %d", rc);
    double corr = table_value("corr_mean"), mmc = table_value("mmc_mean");
    CHECK(corr > 0.05 && corr < 0.6);          /* the predictions use feature_a like the target */
    CHECK_NEAR(mmc, 0.0, 1e-6, 0);             /* MMC against itself */
    CHECK_NEAR(table_value("eras"), 11, 0, 0); /* the era without targets is not scored */
    char *csv = cli_slurp(DIR "/multi_out/per_era.csv");
    CHECK(csv != NULL);
    if (csv) {
        int lines = 0;
        for (char *s = csv; *s; s++) lines += *s == '\n';
        CHECK(lines == 13);                    /* header + 12 eras */
        CHECK(strncmp(csv, "era,rows,corr,mmc,fnc,", 22) == 0);
        CHECK(strstr(csv, "\n0012,60,,") != NULL);   /* NaN corr is an empty field */
        free(csv);
    }
    char *html = cli_slurp(DIR "/multi_out/report.html");
    CHECK(html != NULL);
    if (html) {
        int svgs = 0;
        for (char *s = html; (s = strstr(s, "<svg")); s++) svgs++;
        CHECK(svgs == 4);                      /* cumulative, bars, histogram, exposure */
        CHECK(strstr(html, "<polyline") && strstr(html, "feature_a") && strstr(html, "</html>"));
        free(html);
    }
    /* the same feature set through a features.json gives the same FNC and exposure */
    double fnc = table_value("fnc_mean"), fe = table_value("max_feature_exposure");
    FILE *fj = fopen(DIR "/features.json", "w");
    fprintf(fj, "{\"feature_sets\": {\"small\": [\"feature_a\", \"feature_b\"], "
                "\"all\": [\"feature_a\", \"feature_b\", \"feature_c\", \"feature_d\"]}, "
                "\"targets\": [\"target\"]}\n");
    fclose(fj);
    rc = run(EF_CLI " evaluate --predictions " DIR "/preds.csv --data " DIR "/data.csv"
             " --features small --features-json " DIR "/features.json", 0);
    CHECK(rc == 0);
    CHECK_NEAR(table_value("fnc_mean"), fnc, 1e-6, 0);
    CHECK_NEAR(table_value("max_feature_exposure"), fe, 1e-6, 0);
    rc = run(EF_CLI " evaluate --predictions " DIR "/preds.csv --data " DIR "/data.csv"
             " --features nosuchset --features-json " DIR "/features.json", 1);
    CHECK(rc != 0 && strstr(out, "nosuchset"));
    /* shuffled rows and a monotone transform of the predictions: same CORR */
    write_multi(1, 1);
    rc = run(EF_CLI " evaluate --predictions " DIR "/preds_t.csv --data " DIR "/data.csv", 0);
    CHECK(rc == 0);
    CHECK_NEAR(table_value("corr_mean"), corr, 1e-6, 0);
}

/* era labels sort by their numeric part: era1 < era2 < era10 (not as strings) */
static void test_era_order(void) {
    FILE *d = fopen(DIR "/eras.csv", "w"), *p = fopen(DIR "/eras_preds.csv", "w");
    fprintf(d, "id,era,target\n");
    fprintf(p, "id,prediction\n");
    const char *eras[3] = {"era10", "era2", "era1"};
    for (int e = 0; e < 3; e++)
        for (int i = 0; i < 8; i++) {
            fprintf(d, "%s_%d,%s,%g\n", eras[e], i, eras[e], 0.25 * (i % 5));
            fprintf(p, "%s_%d,%d\n", eras[e], i, (i * 7) % 8);
        }
    fclose(d);
    fclose(p);
    int rc = run(EF_CLI " evaluate --predictions " DIR "/eras_preds.csv --data " DIR "/eras.csv"
                 " --out " DIR "/eras_out", 0);
    CHECK(rc == 0);
    char *csv = cli_slurp(DIR "/eras_out/per_era.csv");
    CHECK(csv != NULL);
    if (csv) {
        char *a = strstr(csv, "\nera1,"), *b = strstr(csv, "\nera2,"), *c = strstr(csv, "\nera10,");
        CHECK(a && b && c && a < b && b < c);
        free(csv);
    }
}

static void test_errors(void) {
    int rc = run(EF_CLI " evaluate --help", 0);
    CHECK(rc == 0 && strstr(out, "--predictions"));
    CHECK(run(EF_CLI " evaluate --data " DIR "/data.csv", 1) == 2);
    CHECK(strstr(out, "--predictions") != NULL);
    CHECK(run(EF_CLI " evaluate --predictions x.csv --data y.csv --threads 0", 1) == 2);
    /* a missing target column names the column and the file (a usage error: exit 2) */
    rc = run(EF_CLI " evaluate --predictions " DIR "/preds.csv --data " DIR "/data.csv --target nope", 1);
    CHECK(rc == 2 && strstr(out, "'nope'") && strstr(out, "data.csv"));
    /* a bad number names the line and column */
    FILE *f = fopen(DIR "/bad.csv", "w");
    fprintf(f, "id,prediction\nid000000,0.5\nid000001,abc\n");
    fclose(f);
    rc = run(EF_CLI " evaluate --predictions " DIR "/bad.csv --data " DIR "/data.csv", 1);
    CHECK(rc == 1 && strstr(out, "line 3") && strstr(out, "'abc'"));
    /* no common ids */
    f = fopen(DIR "/other.csv", "w");
    fprintf(f, "id,prediction\nzz1,0.5\nzz2,0.7\n");
    fclose(f);
    rc = run(EF_CLI " evaluate --predictions " DIR "/other.csv --data " DIR "/data.csv", 1);
    CHECK(rc == 1 && strstr(out, "no prediction id matches"));
    rc = run(EF_CLI " evaluate --predictions " DIR "/missing.csv --data " DIR "/data.csv", 1);
    CHECK(rc == 1 && strstr(out, "missing.csv"));
}

/* parquet data (through the parquet reader) scores exactly like the same data as CSV */
static void test_parquet(void) {
    const char *fx[] = {"duckdb_snappy_dict_pagev1_int8", "duckdb_snappy_dict_pagev1_nan",
                        "duckdb_zstd_dict_pagev1_v2enc_int8"};
    static char a[1 << 16];
    for (int k = 0; k < 3; k++) {
        char cmd[2048];
        const char *d = EF_SHARED_DIR "/fixtures/parquet/";
        snprintf(cmd, sizeof cmd, EF_CLI " evaluate --predictions %s%s.csv --column target "
                 "--data %s%s.parquet --features all --target target_teager2b_20", d, fx[k], d, fx[k]);
        int rc = run(cmd, 0);
        CHECKF(rc == 0, "%s: rc %d", fx[k], rc);
        CHECK(strstr(out, "corr_mean") && strstr(out, "max_feature_exposure"));
        memcpy(a, out, sizeof a);
        snprintf(cmd, sizeof cmd, EF_CLI " evaluate --predictions %s%s.csv --column target "
                 "--data %s%s.csv --features all --target target_teager2b_20", d, fx[k], d, fx[k]);
        CHECK(run(cmd, 0) == 0);
        CHECKF(!strcmp(a, out), "%s: parquet and CSV results differ", fx[k]);
    }
}

int main(void) {
    mkdir(DIR, 0777);
    test_parquet();
    test_golden();
    test_multi();
    test_era_order();
    test_errors();
    TEST_MAIN_END;
}
