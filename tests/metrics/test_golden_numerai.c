/* metrics golden: the single-era case computed with numerai-tools 0.6.0
 * (../shared/golden/numerai_single_era.json): every value to <= 1e-12 relative. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/metrics.h"
#include "test.h"

#define N 12
#define TOL 1e-12

static char *json;

/* Finds "key": and parses a number or an array of numbers after it (first occurrence). */
static const char *find_key(const char *key) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) {
        fprintf(stderr, "golden key %s missing\n", key);
        exit(1);
    }
    return p + strlen(pat);
}

static void get_array(const char *key, double *out, int n) {
    const char *p = strchr(find_key(key), '[') + 1;
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(p, &end);
        p = end;
        while (*p == ',' || *p == ' ' || *p == '\n') p++;
    }
}

static double get_num(const char *key) { return strtod(find_key(key), NULL); }

static void get_str(const char *key, char *out, size_t cap) {
    const char *p = strchr(find_key(key), '"') + 1;
    size_t i = 0;
    while (*p != '"' && i + 1 < cap) out[i++] = *p++;
    out[i] = 0;
}

int main(void) {
    size_t size;
    ef_error err;
    if (ef_file_read_all(EF_SHARED_DIR "/golden/numerai_single_era.json", &json, &size, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double pred[N], target[N], meta[N], f1[N], f2[N], f3[N], F[N * 3], e[N], got[N];
    get_array("prediction", pred, N);
    get_array("target", target, N);
    get_array("meta_model", meta, N);
    get_array("f1", f1, N);
    get_array("f2", f2, N);
    get_array("f3", f3, N);
    for (int i = 0; i < N; i++) {
        F[i * 3 + 0] = f1[i];
        F[i * 3 + 1] = f2[i];
        F[i * 3 + 2] = f3[i];
    }

    /* primitives */
    CHECK_OK(ef_metrics_rank_tie_kept(got, pred, N, NULL));
    get_array("tie_kept_rank", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(got[i], e[i], 0, TOL);
    ef_metrics_gaussianize(got, got, N);
    get_array("gaussian_of_rank", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(got[i], e[i], 1e-300, TOL);
    ef_metrics_power(got, got, N, 1.5);
    get_array("rank_gauss_pow15", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(got[i], e[i], 1e-300, TOL);
    double tc[N], mean = ef_metrics_mean(target, N);
    for (int i = 0; i < N; i++) tc[i] = target[i] - mean;
    ef_metrics_power(tc, tc, N, 1.5);
    get_array("target_centered_pow15", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(tc[i], e[i], 1e-300, TOL);

    /* CORR and its options */
    double v;
    ef_corr_opts o = ef_corr_opts_default();
    CHECK_OK(ef_metrics_numerai_corr(&v, pred, target, N, NULL, NULL));
    CHECK_NEAR(v, get_num("numerai_corr"), 0, TOL);
    o.target_pow15 = 0;
    CHECK_OK(ef_metrics_numerai_corr(&v, pred, target, N, &o, NULL));
    CHECK_NEAR(v, get_num("numerai_corr_target_pow15_false"), 0, TOL);
    o = ef_corr_opts_default();
    o.top_bottom = 3;
    CHECK_OK(ef_metrics_numerai_corr(&v, pred, target, N, &o, NULL));
    CHECK_NEAR(v, get_num("numerai_corr_top_bottom_3"), 0, TOL);

    /* MMC */
    CHECK_OK(ef_metrics_correlation_contribution(&v, pred, meta, target, N, NULL, NULL));
    CHECK_NEAR(v, get_num("mmc"), 0, TOL);

    /* neutralize (raw predictions, intercept appended; X is rank-deficient: f1 + f2 = 4) */
    CHECK_OK(ef_metrics_neutralize(got, pred, N, 1, F, NULL, 3, 3, N, 1.0, NULL));
    get_array("neutralize_prop1", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(got[i], e[i], 0, TOL);
    CHECK_NEAR(got[0], get_num("neutralize_prop1_0"), 0, TOL);
    CHECK_OK(ef_metrics_neutralize(got, pred, N, 1, F, NULL, 3, 3, N, 0.5, NULL));
    get_array("neutralize_prop0.5", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(got[i], e[i], 0, TOL);
    CHECK_NEAR(got[0], get_num("neutralize_prop0.5_0"), 0, TOL);
    /* the same with a float feature matrix */
    float F32[N * 3];
    for (int i = 0; i < N * 3; i++) F32[i] = (float)F[i];
    CHECK_OK(ef_metrics_neutralize(got, pred, N, 1, NULL, F32, 3, 3, N, 1.0, NULL));
    get_array("neutralize_prop1", e, N);
    for (int i = 0; i < N; i++) CHECK_NEAR(got[i], e[i], 0, TOL);

    /* FNC */
    CHECK_OK(ef_metrics_feature_neutral_corr(&v, pred, target, F, NULL, 3, 3, N, NULL));
    CHECK_NEAR(v, get_num("feature_neutral_corr"), 0, TOL);

    /* max_feature_correlation */
    double corr[3], mx, rms;
    size_t arg;
    CHECK_OK(ef_metrics_feature_exposure(corr, &mx, &arg, &rms, pred, F, NULL, 3, 3, N, NULL));
    char name[16];
    get_str("max_feature_correlation_feature", name, sizeof name);
    char mine[8];
    snprintf(mine, sizeof mine, "f%zu", arg + 1);
    CHECKF(!strcmp(mine, name), "argmax %s, expected %s", mine, name);
    CHECK_NEAR(mx, get_num("max_feature_correlation_abs_corr"), 0, TOL);
    CHECK_NEAR(rms, sqrt((corr[0] * corr[0] + corr[1] * corr[1] + corr[2] * corr[2]) / 3), 0, 1e-15);

    /* the per-era driver on the same era reproduces the single-era values */
    size_t off[2] = {0, N};
    ef_score_input in = {0};
    in.n_rows = N;
    in.n_eras = 1;
    in.era_off = off;
    in.pred = pred;
    in.target = target;
    in.meta = meta;
    in.bench = meta;
    in.features = F32;
    in.n_features = 3;
    ef_era_scores sc;
    CHECK_OK(ef_era_scores_compute(&sc, &in, NULL));
    CHECK_NEAR(sc.corr[0], get_num("numerai_corr"), 0, TOL);
    CHECK_NEAR(sc.mmc[0], get_num("mmc"), 0, TOL);
    CHECK_NEAR(sc.bmc[0], get_num("mmc"), 0, TOL);
    CHECK_NEAR(sc.fnc[0], get_num("feature_neutral_corr"), 0, 1e-10);
    CHECK_NEAR(sc.max_exposure[0], get_num("max_feature_correlation_abs_corr"), 0, 1e-7);
    ef_era_scores_free(&sc);
    ef_free(json);
    TEST_MAIN_END;
}
