/* metrics unit: numerai-tools' documented edge cases (ties, NaN filtering and the 80% rule,
 * constant columns, all-zero neutralizers), norm_ppf accuracy, the Gram fast path against
 * dgelsd, era summaries, post-processing, submission rules and thread-count independence. */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/metrics.h"
#include "metrics/metrics_internal.h"
#include "test.h"

static void test_ranks(void) {
    double x[5] = {1, 0, 1, 0, 1}, r[5];
    CHECK_OK(ef_metrics_rank_tie_kept(r, x, 5, NULL));
    double e[5] = {0.7, 0.2, 0.7, 0.2, 0.7};
    for (int i = 0; i < 5; i++) CHECK_NEAR(r[i], e[i], 1e-15, 0);
    CHECK_OK(ef_metrics_rank_tie_broken(r, x, 5, NULL));
    double eb[5] = {0.5, 0.1, 0.7, 0.3, 0.9};   /* method="first": ties in position order */
    for (int i = 0; i < 5; i++) CHECK_NEAR(r[i], eb[i], 1e-15, 0);
    CHECK_OK(ef_metrics_rank_pct(r, x, 5, NULL));
    double ep[5] = {0.8, 0.3, 0.8, 0.3, 0.8};
    for (int i = 0; i < 5; i++) CHECK_NEAR(r[i], ep[i], 1e-15, 0);
    /* NaN stays NaN and is not counted */
    double y[4] = {3, NAN, 1, 2}, ry[4];
    CHECK_OK(ef_metrics_rank_tie_kept(ry, y, 4, NULL));
    CHECK(isnan(ry[1]));
    CHECK_NEAR(ry[0], 2.5 / 3, 1e-15, 0);
    CHECK_NEAR(ry[2], 0.5 / 3, 1e-15, 0);
    /* a larger random vector: ranks are a permutation of (k - 0.5)/n */
    enum { M = 1000 };
    double big[M], rb[M];
    ef_rng g;
    ef_rng_init(&g, 3, 0);
    for (int i = 0; i < M; i++) big[i] = ef_rng_uniform(&g);
    CHECK_OK(ef_metrics_rank_tie_kept(rb, big, M, NULL));
    double s = 0;
    int order_ok = 1;
    for (int i = 0; i < M; i++) {
        s += rb[i];
        for (int j = i + 1; j < i + 5 && j < M; j++) order_ok &= (big[i] < big[j]) == (rb[i] < rb[j]);
    }
    CHECK(order_ok);
    CHECK_NEAR(s, M / 2.0, 1e-9, 0);
}

static void test_ppf(void) {
    CHECK_NEAR(ef_metrics_norm_ppf(0.5), 0.0, 1e-300, 0);
    CHECK_NEAR(ef_metrics_norm_ppf(0.975), 1.959963984540054, 0, 1e-15);
    CHECK_NEAR(ef_metrics_norm_ppf(0.025), -1.959963984540054, 0, 1e-15);
    CHECK_NEAR(ef_metrics_norm_ppf(0.8413447460685429), 1.0, 0, 1e-14);
    CHECK_NEAR(ef_metrics_norm_ppf(1e-10), -6.361340902404056, 0, 1e-14);
    CHECK_NEAR(ef_metrics_norm_ppf(1e-300), -37.0470962993612, 0, 1e-13);
    CHECK(isinf(ef_metrics_norm_ppf(0.0)) && ef_metrics_norm_ppf(0.0) < 0);
    CHECK(isinf(ef_metrics_norm_ppf(1.0)) && ef_metrics_norm_ppf(1.0) > 0);
    CHECK(isnan(ef_metrics_norm_ppf(1.5)) && isnan(ef_metrics_norm_ppf(NAN)));
    /* round trip through Phi = erfc(-x/sqrt2)/2 */
    double worst = 0;
    for (int k = 1; k < 2000; k++) {
        double p = k / 2000.0, x = ef_metrics_norm_ppf(p);
        double back = 0.5 * erfc(-x / sqrt(2.0));
        worst = EF_MAX(worst, fabs(back - p) / p);
    }
    CHECKF(worst < 1e-14, "worst round-trip error %g", worst);
}

static void test_corr_edges(void) {
    enum { N = 10 };
    double p[N] = {0.1, 0.4, 0.35, 0.8, 0.6, 0.2, 0.9, 0.55, 0.3, 0.7};
    double t[N] = {0, 0.25, 0.5, 1, 0.75, 0.25, 1, 0.5, 0.5, 0.75};
    double v, w;
    CHECK_OK(ef_metrics_numerai_corr(&v, p, t, N, NULL, NULL));
    CHECK(v > 0.8 && v <= 1.0);
    /* any monotone transform of the predictions gives the same CORR */
    double p2[N];
    for (int i = 0; i < N; i++) p2[i] = exp(5 * p[i]) - 3;
    CHECK_OK(ef_metrics_numerai_corr(&w, p2, t, N, NULL, NULL));
    CHECK_NEAR(w, v, 1e-15, 0);
    /* NaN filtering: 2 of 10 NaN targets is allowed (80%), and equals scoring the 8 rows with
     * the target centred over the 8 non-NaN values */
    double tn[N];
    memcpy(tn, t, sizeof t);
    tn[2] = NAN;
    tn[7] = NAN;
    CHECK_OK(ef_metrics_numerai_corr(&v, p, tn, N, NULL, NULL));
    double pf[8], tf[8];
    int k = 0;
    for (int i = 0; i < N; i++)
        if (!isnan(tn[i])) {
            pf[k] = p[i];
            tf[k] = tn[i];
            k++;
        }
    CHECK_OK(ef_metrics_numerai_corr(&w, pf, tf, 8, NULL, NULL));
    CHECK_NEAR(v, w, 1e-15, 0);
    /* 3 of 10 NaN predictions breaks the 80% rule */
    double pn[N];
    memcpy(pn, p, sizeof p);
    pn[0] = pn[1] = pn[2] = NAN;
    ef_error err = {0};
    CHECK(ef_metrics_numerai_corr(&v, pn, t, N, NULL, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "overlapping") != NULL);
    ef_corr_opts o = ef_corr_opts_default();
    o.max_filtered_ratio = 0.3;
    CHECK_OK(ef_metrics_numerai_corr(&v, pn, t, N, &o, NULL));
    /* constant predictions: correlation undefined -> NaN, not an error */
    double pc[N];
    for (int i = 0; i < N; i++) pc[i] = 0.5;
    CHECK_OK(ef_metrics_numerai_corr(&v, pc, t, N, NULL, NULL));
    CHECK(isnan(v));
    /* MMC against itself is 0; against a constant meta model NaN (0/0 as numpy) */
    CHECK_OK(ef_metrics_correlation_contribution(&v, p, p, t, N, NULL, NULL));
    CHECK_NEAR(v, 0.0, 1e-15, 0);
    CHECK_OK(ef_metrics_correlation_contribution(&v, p, pc, t, N, NULL, NULL));
    CHECK(isnan(v));
    /* MMC: targets outside [0,1] are not rescaled: t and 4t/4 differ by the factor 4 */
    double m[N] = {0.2, 0.3, 0.5, 0.7, 0.5, 0.1, 0.8, 0.6, 0.2, 0.9}, t4[N];
    for (int i = 0; i < N; i++) t4[i] = 4 * t[i] - 2;   /* already in [-2, 2] */
    CHECK_OK(ef_metrics_correlation_contribution(&v, p, m, t, N, NULL, NULL));
    CHECK_OK(ef_metrics_correlation_contribution(&w, p, m, t4, N, NULL, NULL));
    CHECK_NEAR(v, w, 1e-15, 1e-13);
    /* MMC with NaN meta on 3 of 10 rows fails the rule */
    double mn[N];
    memcpy(mn, m, sizeof m);
    mn[4] = mn[5] = mn[6] = NAN;
    CHECK(ef_metrics_correlation_contribution(&v, p, mn, t, N, NULL, NULL) == EF_ERR_INVALID);
    /* spearman / churn */
    CHECK_OK(ef_metrics_spearman(&v, p, p2, N, NULL));
    CHECK_NEAR(v, 1.0, 1e-15, 0);
    CHECK_OK(ef_metrics_churn(&v, p, p2, N, NULL));
    CHECK_NEAR(v, 0.0, 1e-15, 0);
}

static void test_neutralize_edges(void) {
    enum { N = 8 };
    double x[N] = {0.3, 0.1, 0.9, 0.4, 0.6, 0.2, 0.8, 0.5}, out[N], F0[N * 2] = {0};
    double mean = 0; /* the oracle: a direct sum, not the library's mean */
    for (int i = 0; i < N; i++) mean += x[i];
    mean /= N;
    /* all-zero neutralizers: only the intercept acts -> centring */
    CHECK_OK(ef_metrics_neutralize(out, x, N, 1, F0, NULL, 2, 2, N, 1.0, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(out[i], x[i] - mean, 1e-15, 0);
    CHECK_OK(ef_metrics_neutralize(out, x, N, 1, F0, NULL, 2, 2, N, 0.5, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(out[i], x[i] - 0.5 * mean, 1e-15, 0);
    /* no neutralizers at all (nf = 0) is the same */
    CHECK_OK(ef_metrics_neutralize(out, x, N, 1, NULL, NULL, 0, 0, N, 1.0, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(out[i], x[i] - mean, 1e-15, 0);
    /* a constant column becomes NaN; the other column is unaffected */
    double s2[2 * N], o2[2 * N];
    for (int i = 0; i < N; i++) {
        s2[i] = 0.5;
        s2[N + i] = x[i];
    }
    CHECK_OK(ef_metrics_neutralize(o2, s2, N, 2, F0, NULL, 2, 2, N, 1.0, NULL));
    for (int i = 0; i < N; i++) {
        CHECK(isnan(o2[i]));
        CHECK_NEAR(o2[N + i], x[i] - mean, 1e-15, 0);
    }
    /* NaN in the data or the neutralizers is an error */
    double xn[N];
    memcpy(xn, x, sizeof x);
    xn[3] = NAN;
    CHECK(ef_metrics_neutralize(out, xn, N, 1, F0, NULL, 2, 2, N, 1.0, NULL) == EF_ERR_INVALID);
    double Fn[N * 2] = {0};
    Fn[5] = NAN;
    CHECK(ef_metrics_neutralize(out, x, N, 1, Fn, NULL, 2, 2, N, 1.0, NULL) == EF_ERR_INVALID);
    /* neutralizing against the predictions themselves leaves ~0 */
    double Fx[N];
    memcpy(Fx, x, sizeof x);
    CHECK_OK(ef_metrics_neutralize(out, x, N, 1, Fx, NULL, 1, 1, N, 1.0, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(out[i], 0.0, 1e-14, 0);
}

/* Gram + eigen fast path agrees with dgelsd, also for rank-deficient features. */
static void test_gram_vs_gelsd(void) {
    enum { N = 500, NF = 12 };
    static float F[N * NF];
    static double F64[N * NF], s[N], a[N], b[N];
    ef_rng g;
    ef_rng_init(&g, 11, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < NF; j++) F[i * NF + j] = (float)ef_rng_below(&g, 5);
        F[i * NF + 10] = 4.0f - F[i * NF + 0];              /* f10 = 4 - f0: rank-deficient */
        F[i * NF + 11] = F[i * NF + 1] + F[i * NF + 2];     /* f11 = f1 + f2 */
        for (int j = 0; j < NF; j++) F64[i * NF + j] = F[i * NF + j];
        s[i] = ef_rng_normal(&g) + 0.1 * F[i * NF + 3];
    }
    for (int k = 0; k < 2; k++) {
        double prop = k ? 0.5 : 1.0;
        CHECK_OK(ef_metrics_neutralize(a, s, N, 1, F64, NULL, NF, NF, N, prop, NULL));
        memcpy(b, s, sizeof s);
        CHECK_OK(ef_mx_neutralize_gram(b, F, NF, NF, N, prop, NULL));
        double worst = 0;
        for (int i = 0; i < N; i++) worst = EF_MAX(worst, fabs(a[i] - b[i]));
        CHECKF(worst < 1e-12, "gram vs dgelsd max diff %g (proportion %g)", worst, prop);
    }
    /* after full neutralization every feature exposure is ~0 */
    double corr[NF], mx;
    CHECK_OK(ef_metrics_neutralize(a, s, N, 1, F64, NULL, NF, NF, N, 1.0, NULL));
    CHECK_OK(ef_metrics_feature_exposure(corr, &mx, NULL, NULL, a, F64, NULL, NF, NF, N, NULL));
    CHECK(mx < 1e-12);
}

static void test_summary(void) {
    double c[6] = {0.02, -0.01, 0.03, -0.02, -0.01, 0.04};
    ef_era_summary s;
    ef_era_summary_compute(&s, c, 6);
    CHECK(s.count == 6);
    /* the oracle: a direct two-pass mean and (population) std, never the call's own output */
    double mean = 0, var = 0;
    for (int i = 0; i < 6; i++) mean += c[i];
    mean /= 6;
    for (int i = 0; i < 6; i++) var += (c[i] - mean) * (c[i] - mean);
    CHECK_NEAR(mean, 0.05 / 6, 1e-17, 0);
    CHECK_NEAR(s.mean, mean, 1e-17, 0);
    CHECK_NEAR(s.std, sqrt(var / 6), 1e-15, 0);
    CHECK_NEAR(s.sharpe, mean / sqrt(var / 6), 1e-12, 0);
    CHECK_NEAR(ef_metrics_mean(c, 6), mean, 1e-17, 0);
    CHECK_NEAR(ef_metrics_std(c, 6), sqrt(var / 6), 1e-17, 0);
    /* cum: .02 .01 .04 .02 .01 .05 -> peak .04, trough .01 -> drawdown .03 */
    CHECK_NEAR(s.max_drawdown, 0.03, 1e-15, 0);
    CHECK_NEAR(s.min, -0.02, 0, 0);
    CHECK_NEAR(s.max, 0.04, 0, 0);
    CHECK_NEAR(s.frac_positive, 0.5, 0, 0);
    double prod = 1;
    for (int i = 0; i < 6; i++) prod *= 1 + c[i];
    CHECK_NEAR(s.apy, (pow(pow(prod, 1.0 / 6), 49) - 1) * 100, 1e-10, 1e-12);
    /* smart sharpe by the forum formula */
    double rho = ef_metrics_pearson(c, c + 1, 5), pen = 0;
    for (int i = 1; i < 6; i++) pen += ((6.0 - i) / 6.0) * pow(rho, i);
    double sd1 = sqrt(var / 5);
    CHECK_NEAR(s.autocorr, rho, 1e-15, 0);
    CHECK_NEAR(s.smart_sharpe, mean / (sd1 * sqrt(1 + 2 * pen)), 1e-12, 1e-12);
    /* first era negative: the running peak starts at cum_1, not 0 */
    double d[3] = {-0.05, -0.01, 0.02};
    ef_era_summary_compute(&s, d, 3);
    CHECK_NEAR(s.max_drawdown, 0.01, 1e-15, 0);
    /* NaN eras are skipped; APY clips at +-25% */
    double f[4] = {NAN, 0.5, NAN, 0.5};
    ef_era_summary_compute(&s, f, 4);
    CHECK(s.count == 2);
    CHECK_NEAR(s.apy, (pow(1.25, 49) - 1) * 100, 1e-6, 1e-12);
    CHECK(isnan(s.sharpe));
}

static void test_post(void) {
    enum { N = 9 };
    size_t off[3] = {0, 4, 9};
    double p[N] = {0.3, 0.1, 0.3, 0.9, 5, 4, 3, 2, 1}, r[N];
    CHECK_OK(ef_predictions_rank_per_era(r, p, off, 2, NULL));
    double e[N] = {0.625, 0.25, 0.625, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2};
    for (int i = 0; i < N; i++) CHECK_NEAR(r[i], e[i], 1e-15, 0);
    /* ensemble of a column with itself = its rank; of opposite columns: constant */
    double cst[N]; /* a constant era: every rank tied, (n + 1) / 2 / n */
    for (int i = 0; i < N; i++) cst[i] = i < 4 ? 2.5 / 4 : 3.0 / 5;
    const double *cols[2] = {p, p};
    CHECK_OK(ef_predictions_ensemble(r, cols, NULL, 2, off, 2, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(r[i], e[i], 1e-15, 0);
    double w[2] = {0.7, 0.3};
    CHECK_OK(ef_predictions_ensemble(r, cols, w, 2, off, 2, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(r[i], e[i], 1e-15, 0);
    double neg[N];
    for (int i = 0; i < N; i++) neg[i] = -p[i];
    const double *c3[2] = {p, neg};
    CHECK_OK(ef_predictions_ensemble(r, c3, NULL, 2, off, 2, NULL));
    for (int i = 0; i < N; i++) CHECKF(r[i] == cst[i], "opposite columns, row %d: %.17g, want %.17g", i, r[i], cst[i]);
    /* per-era neutralization. Proportion 0 is the rank. Features spanning every function of
     * the prediction's level within its era (one-hot levels; the intercept covers the last)
     * neutralize it fully: constant, so all ranks equal */
    float F[N];
    for (int i = 0; i < N; i++) F[i] = (float)p[i];
    CHECK_OK(ef_predictions_neutralize_per_era(r, p, F, 1, off, 2, 0.0, NULL));
    for (int i = 0; i < N; i++) CHECK_NEAR(r[i], e[i], 1e-15, 0);
    int level[N] = {1, 0, 1, 2, 4, 3, 2, 1, 0};
    float H[N * 4] = {0};
    for (int i = 0; i < N; i++)
        if (level[i] < 4) H[i * 4 + level[i]] = 1;
    CHECK_OK(ef_predictions_neutralize_per_era(r, p, H, 4, off, 2, 1.0, NULL));
    for (int i = 0; i < N; i++) CHECKF(r[i] == cst[i], "fully neutralized, row %d: %.17g, want %.17g", i, r[i], cst[i]);
    /* constant predictions stay constant */
    CHECK_OK(ef_predictions_neutralize_per_era(r, cst, F, 1, off, 2, 1.0, NULL));
    for (int i = 0; i < N; i++) CHECK(r[i] == cst[i]);
}

static void test_submission(void) {
    const char *live[4] = {"n1", "n2", "n3", "n4"};
    const char *ids[4] = {"n2", "n1", "n4", "n3"};
    double v[4] = {0.1, 0.5, 1.0, 0.0};
    ef_submission_report rep;
    ef_error err = {0};
    CHECK_OK(ef_submission_validate(ids, v, 4, live, 4, &rep, &err));
    CHECK(rep.message[0] == 0);
    /* isclose at the edges */
    double ve[4] = {-1e-9, 0.5, 1.000001, 0.3};
    CHECK_OK(ef_submission_validate(ids, ve, 4, live, 4, &rep, NULL));
    double bad[4] = {NAN, 1.2, -0.5, 0.3};
    CHECK(ef_submission_validate(ids, bad, 4, live, 4, &rep, &err) == EF_ERR_FORMAT);
    CHECK(rep.n_nan == 1 && rep.n_out_of_range == 2);
    CHECK(!strcmp(rep.first_nan, "n2") && !strcmp(rep.first_out_of_range, "n1"));
    CHECK(strstr(err.msg, "NaN") && strstr(err.msg, "outside [0, 1]"));
    double cst[4] = {0.5, 0.5, 0.5, 0.5};
    CHECK(ef_submission_validate(ids, cst, 4, live, 4, &rep, &err) == EF_ERR_FORMAT);
    CHECK(rep.constant && strstr(err.msg, "constant"));
    const char *dup[4] = {"n1", "n1", "n3", "n9"};
    CHECK(ef_submission_validate(dup, v, 4, live, 4, &rep, &err) == EF_ERR_FORMAT);
    CHECK(rep.n_duplicate == 1 && rep.n_missing == 2 && rep.n_extra == 1);
    CHECK(!strcmp(rep.first_missing, "n2") && !strcmp(rep.first_extra, "n9"));
    /* extra ids alone are allowed */
    const char *ids5[5] = {"n2", "n1", "n4", "n3", "zz"};
    double v5[5] = {0.1, 0.5, 1.0, 0.0, 0.2};
    CHECK_OK(ef_submission_validate(ids5, v5, 5, live, 4, &rep, NULL));
    CHECK(rep.n_extra == 1);
    CHECK(ef_submission_validate(ids, v, 0, live, 4, &rep, NULL) == EF_ERR_FORMAT);
    const char *h1[2] = {"id", "prediction"}, *h2[2] = {"id", "probability"}, *h3[2] = {"id", "pred"};
    const char *h4[3] = {"id", "prediction", "era"};
    CHECK_OK(ef_submission_check_header(h1, 2, NULL));
    CHECK_OK(ef_submission_check_header(h2, 2, NULL));
    CHECK(ef_submission_check_header(h3, 2, &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "\"pred\"") != NULL);
    CHECK(ef_submission_check_header(h4, 3, NULL) == EF_ERR_FORMAT);
}

/* The per-era driver gives bitwise the same result on 1 and 2 threads. */
static void test_threads(void) {
    enum { E = 13, PER = 150, NF = 6, N = E * PER };
    static double p[N], t[N], m[N];
    static float F[N * NF];
    size_t off[E + 1];
    ef_rng g;
    ef_rng_init(&g, 5, 1);
    for (int e = 0; e <= E; e++) off[e] = (size_t)e * PER;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < NF; j++) F[i * NF + j] = (float)ef_rng_below(&g, 5);
        p[i] = ef_rng_uniform(&g) + 0.05 * F[i * NF];
        m[i] = p[i] + 0.3 * ef_rng_uniform(&g);
        t[i] = 0.25 * (double)ef_rng_below(&g, 5);
        if (i % 97 == 0) t[i] = NAN;
    }
    ef_score_input in = {0};
    in.n_rows = N;
    in.n_eras = E;
    in.era_off = off;
    in.pred = p;
    in.target = t;
    in.meta = m;
    in.example = m;
    in.features = F;
    in.n_features = NF;
    ef_era_scores a, b;
    ef_threads_set(1);
    CHECK_OK(ef_era_scores_compute(&a, &in, NULL));
    ef_threads_set(2);
    CHECK_OK(ef_era_scores_compute(&b, &in, NULL));
    CHECK(!memcmp(a.corr, b.corr, 8 * E * sizeof(double)));
    CHECK(!memcmp(a.feature_corr, b.feature_corr, E * NF * sizeof(double)));
    /* and each era equals the single-era functions */
    for (int e = 0; e < E; e++) {
        double v, f;
        CHECK_OK(ef_metrics_numerai_corr(&v, p + off[e], t + off[e], PER, NULL, NULL));
        CHECK(v == a.corr[e]);
        CHECK_OK(ef_metrics_correlation_contribution(&v, p + off[e], m + off[e], t + off[e], PER,
                                                     NULL, NULL));
        CHECK(v == a.mmc[e]);
        CHECK_OK(ef_metrics_feature_neutral_corr(&f, p + off[e], t + off[e], NULL, F + off[e] * NF,
                                                 NF, NF, PER, NULL));
        CHECK_NEAR(a.fnc[e], f, 1e-12, 1e-10);
    }
    ef_era_scores_free(&a);
    ef_era_scores_free(&b);
}

/* Every allocation failure is reported as EF_ERR_NOMEM, never a crash or a leak (ASan). */
static void test_alloc_failures(void) {
    enum { N = 40, NF = 3, E = 4 };
    double p[N], t[N], m[N], F[N * NF], out[N];
    float F32[N * NF];
    size_t off[E + 1] = {0, 10, 20, 30, 40};
    ef_rng g;
    ef_rng_init(&g, 8, 0);
    for (int i = 0; i < N; i++) {
        p[i] = ef_rng_uniform(&g);
        m[i] = ef_rng_uniform(&g);
        t[i] = 0.25 * (double)ef_rng_below(&g, 5);
        for (int j = 0; j < NF; j++) F32[i * NF + j] = (float)(F[i * NF + j] = (double)ef_rng_below(&g, 5));
    }
    const char *ids[4] = {"a", "b", "c", "d"};
    double v4[4] = {0.1, 0.2, 0.3, 0.4};
    int bad = 0;
    for (long k = 1; k <= 40; k++) {
        double v;
        ef_status s[8];
        ef_era_scores sc;
        ef_score_input in = {N, E, off, p, t, m, m, p, F32, NF};
        ef_alloc_fail_after(k);
        s[0] = ef_metrics_numerai_corr(&v, p, t, N, NULL, NULL);
        ef_alloc_fail_after(k);
        s[1] = ef_metrics_correlation_contribution(&v, p, m, t, N, NULL, NULL);
        ef_alloc_fail_after(k);
        s[2] = ef_metrics_feature_neutral_corr(&v, p, t, F, NULL, NF, NF, N, NULL);
        ef_alloc_fail_after(k);
        s[3] = ef_metrics_neutralize(out, p, N, 1, F, NULL, NF, NF, N, 1.0, NULL);
        ef_alloc_fail_after(k);
        s[4] = ef_era_scores_compute(&sc, &in, NULL);
        if (s[4] == EF_OK) ef_era_scores_free(&sc);
        ef_alloc_fail_after(k);
        s[5] = ef_predictions_neutralize_per_era(out, p, F32, NF, off, E, 0.5, NULL);
        ef_alloc_fail_after(k);
        s[6] = ef_submission_validate(ids, v4, 4, ids, 4, NULL, NULL);
        ef_alloc_fail_after(k);
        const double *cols[2] = {p, m};
        s[7] = ef_predictions_ensemble(out, cols, NULL, 2, off, E, NULL);
        ef_alloc_fail_after(0);
        for (int i = 0; i < 8; i++) bad += s[i] != EF_OK && s[i] != EF_ERR_NOMEM;
    }
    CHECK(bad == 0);
}

/* top_bottom >= m takes every row twice (bottom m + top m, as numpy's concatenation does):
 * duplicating every pair leaves Pearson unchanged, so it must equal the plain CORR. The
 * duplicated rows once overflowed the scratch (2m rows into m), which ASan caught. */
static void test_corr_top_bottom_all(void) {
    enum { N = 37 };
    double p[N], t[N];
    for (int i = 0; i < N; i++) {
        p[i] = sin(1.3 * i) + 0.01 * i;
        t[i] = 0.25 * (double)((i * 7) % 5);
    }
    double plain, all, over;
    ef_corr_opts o = ef_corr_opts_default();
    CHECK_OK(ef_metrics_numerai_corr(&plain, p, t, N, &o, NULL));
    o.top_bottom = N;
    CHECK_OK(ef_metrics_numerai_corr(&all, p, t, N, &o, NULL));
    o.top_bottom = 3 * N;
    CHECK_OK(ef_metrics_numerai_corr(&over, p, t, N, &o, NULL));
    CHECK(isfinite(plain));
    CHECK_NEAR(all, plain, 1e-12, 0);
    CHECK_NEAR(over, plain, 1e-12, 0);
}

int main(void) {
    test_corr_top_bottom_all();
    test_alloc_failures();
    test_ranks();
    test_ppf();
    test_corr_edges();
    test_neutralize_edges();
    test_gram_vs_gelsd();
    test_summary();
    test_post();
    test_submission();
    test_threads();
    TEST_MAIN_END;
}
