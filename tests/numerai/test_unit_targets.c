/* Target engineering (ef_numerai_targets_parse, ef_numerai_target_engineer) against an
 * independent computation written here: a naive O(n^2) average rank over the era's non-NaN
 * values, (rank - 1/2) / n, then the inverse normal CDF by bisection of erfc (not the
 * library's AS241), per target, mixed with the weights of the targets present in the row. */
#include <math.h>
#include <string.h>
#include "eraformer/numerai.h"
#include "test.h"

/* Phi^-1(p) by bisection on 0.5 * erfc(-x / sqrt 2), to ~1e-15 */
static double ppf_bisect(double p) {
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* the naive gaussianized value of v[i] among the non-NaN values of v[0..n) */
static double naive_gauss(const double *v, int n, int i) {
    if (isnan(v[i])) return NAN;
    double less = 0, equal = 0, cnt = 0;
    for (int j = 0; j < n; j++) {
        if (isnan(v[j])) continue;
        cnt++;
        less += v[j] < v[i];
        equal += v[j] == v[i];
    }
    double rank = less + (equal + 1) / 2;   /* average 1-based rank of the tie group */
    return ppf_bisect((rank - 0.5) / cnt);
}

static void test_parse(void) {
    ef_numerai_targets t;
    ef_error err = {0};
    CHECK(ef_numerai_targets_parse(&t, "target_ender_20=1,target_jasper_60=0.5", &err) == EF_OK);
    CHECK(t.n == 2 && !strcmp(t.names[0], "target_ender_20") && !strcmp(t.names[1], "target_jasper_60"));
    CHECK(t.w[0] == 1.0 && t.w[1] == 0.5);
    ef_numerai_targets_free(&t);
    CHECK(t.n == 0 && t.names == NULL);
    CHECK(ef_numerai_targets_parse(&t, "target", &err) == EF_OK && t.n == 1 && t.w[0] == 1.0);
    ef_numerai_targets_free(&t);
    const char *bad[] = {"", "a=0", "a=-1", "a=x", "a=1,,b", "=1", "a=inf", "a=1e999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        ef_status s = ef_numerai_targets_parse(&t, bad[i], &err);
        CHECKF(s == EF_ERR_INVALID && err.msg[0] && t.n == 0, "'%s' -> %d", bad[i], (int)s);
    }
}

static void test_engineer(void) {
    /* three eras (sizes 7, 1, 12), two targets with ties and NaNs; era 2 row 3 has none */
    enum { N = 20, T = 2 };
    ef_era eras[3] = {{"0001", 1, 0, 7}, {"0002", 2, 7, 1}, {"0003", 3, 8, 12}};
    float y[N * T];
    for (int r = 0; r < N; r++) {
        y[r * T + 0] = (float)((r * 7) % 5) * 0.25f;                 /* Numerai-like levels, ties */
        y[r * T + 1] = (float)sin(r * 1.3) * 0.5f + 0.5f;            /* distinct values */
    }
    y[2 * T + 0] = NAN;
    y[5 * T + 1] = NAN;
    y[11 * T + 0] = y[11 * T + 1] = NAN;
    y[15 * T + 1] = NAN;
    ef_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n_rows = N;
    ds.n_targets = T;
    ds.y = y;
    ds.n_eras = 3;
    ds.eras = eras;
    int tcol[2] = {1, 0};         /* the targets in the other order than the columns */
    double w[2] = {0.5, 2.0};
    float out[N];
    ef_error err = {0};
    CHECK(ef_numerai_target_engineer(&ds, tcol, w, 2, out, &err) == EF_OK);
    int n_nan = 0;
    for (int e = 0; e < 3; e++) {
        int r0 = (int)eras[e].start, cnt = (int)eras[e].count;
        double v[2][32];
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < cnt; i++) v[t][i] = y[(r0 + i) * T + tcol[t]];
        for (int i = 0; i < cnt; i++) {
            double num = 0, den = 0;
            for (int t = 0; t < 2; t++) {
                double g = naive_gauss(v[t], cnt, i);
                if (isfinite(g)) {
                    num += w[t] * g;
                    den += w[t];
                }
            }
            double want = den > 0 ? (double)(float)(num / den) : NAN;
            if (isnan(want)) {
                n_nan++;
                CHECKF(isnan(out[r0 + i]), "row %d: %g, want NaN", r0 + i, out[r0 + i]);
            } else {
                CHECKF(fabs(out[r0 + i] - want) <= 1e-6 * (1 + fabs(want)), "row %d: %.9g, want %.9g", r0 + i,
                       out[r0 + i], want);
            }
        }
    }
    /* row 11 has no target; the one-row era gaussianizes to ppf(1/2) = 0 */
    CHECK(n_nan == 1 && isnan(out[11]));
    CHECK(out[7] == 0.0f);
    /* one target: exactly the gaussianized column */
    CHECK(ef_numerai_target_engineer(&ds, tcol, w, 1, out, &err) == EF_OK);
    double v[12];
    for (int i = 0; i < 12; i++) v[i] = y[(8 + i) * T + 1];
    for (int i = 0; i < 12; i++) {
        double g = naive_gauss(v, 12, i);
        if (isnan(g)) CHECK(isnan(out[8 + i]));
        else CHECK_NEAR(out[8 + i], g, 1e-6, 1e-6);
    }
}

int main(void) {
    test_parse();
    test_engineer();
    TEST_MAIN_END;
}
