/* eraformer metrics: Numerai scoring exactly as numerai-tools 0.6.0 computes it
 * (numerai_tools/scoring.py, submissions.py), plus the per-era aggregation of Numerai's
 * validation diagnostics and the prediction post-processing the other commands use.
 * Formulas and edge cases: docs in ../shared/reference/numerai.md, section 2.
 *
 * Conventions:
 *  - everything is double precision; one "era" is a vector of n rows;
 *  - the single-era functions take rows already aligned (row i of every input is the same
 *    id) and, where order matters (top_bottom ties), sorted by id as numerai-tools does;
 *  - NaN marks a missing value. Where numerai-tools filters ids (filter_sort_index), rows with
 *    a NaN in any aligned input are dropped, and EF_ERR_INVALID is returned when fewer than
 *    80% (1 - max_filtered_ratio) of an input's rows survive ("not enough overlapping ids");
 *  - functions return ef_status and fill err (may be NULL); EF_ERR_NOMEM on allocation
 *    failure; they never print or abort on input;
 *  - thread safety: every function is reentrant (no global state) and may be called from
 *    several threads at once. The per-era drivers (ef_era_scores_compute,
 *    ef_predictions_neutralize_per_era) parallelise over eras with OpenMP; their results do
 *    not depend on the thread count. They, and every function that runs BLAS, set OpenBLAS
 *    to one thread for the duration of the call (BLAS inside the per-era regions would
 *    oversubscribe the cores) and give the caller's count back on return; reference counted
 *    across concurrent callers, so none restores it while another is still inside. */
#ifndef EF_METRICS_H
#define EF_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- primitives (one vector) --------------------------------------------------------------

/* Tie-kept rank: out_i = (average_rank_i - 0.5) / count, 1-based average ranks over the
 * non-NaN values; NaN in gives NaN out. out may alias x. [1,0,1,0,1] -> [.7,.2,.7,.2,.7]. */
ef_status ef_metrics_rank_tie_kept(double *out, const double *x, size_t n, ef_error *err);
/* Tie-broken rank (pandas method="first"): ties ordered by position. Same scale as above. */
ef_status ef_metrics_rank_tie_broken(double *out, const double *x, size_t n, ef_error *err);
/* Percentile rank in (0, 1] (pandas rank(pct=True), average ties): rank_avg / count.
 * NaN in gives NaN out. out may alias x. */
ef_status ef_metrics_rank_pct(double *out, const double *x, size_t n, ef_error *err);

/* Inverse standard normal CDF (scipy.stats.norm.ppf): Wichura AS241 + one Newton step on
 * erfc. ppf(0) = -inf, ppf(1) = +inf, NaN outside [0, 1]. Relative error ~1e-15. */
double ef_metrics_norm_ppf(double p);
/* out_i = norm_ppf(x_i) (numerai-tools gaussian). out may alias x. */
void ef_metrics_gaussianize(double *out, const double *x, size_t n);
/* out_i = sign(x_i) * |x_i|^p. out may alias x. */
void ef_metrics_power(double *out, const double *x, size_t n, double p);

/* Two-pass Pearson correlation of n pairs. NaN when n < 2 or either side is constant. */
double ef_metrics_pearson(const double *x, const double *y, size_t n);
/* Spearman = Pearson of the tie-kept ranks (NaN pairs are not allowed here). */
ef_status ef_metrics_spearman(double *out, const double *x, const double *y, size_t n,
                              ef_error *err);
/* Mean and population std (ddof 0) of n values. */
double ef_metrics_mean(const double *x, size_t n);
double ef_metrics_std(const double *x, size_t n);

// ---- Numerai scores (one era) --------------------------------------------------------------

typedef struct ef_corr_opts {
    int target_pow15;           /* 1 (default): raise the centred target to the power 1.5 */
    size_t top_bottom;          /* 0: all rows; n: only the n lowest and n highest predictions */
    double max_filtered_ratio;  /* 0.2: at most 20% of an input's rows may be dropped */
} ef_corr_opts;

/* Defaults of numerai-tools: target_pow15 = 1, top_bottom = 0, max_filtered_ratio = 0.2. */
ef_corr_opts ef_corr_opts_default(void);

/* numerai_corr (CORR): t = target - mean(non-NaN target); drop NaN rows; P' = power(gaussian(
 * tie_kept_rank(pred)), 1.5); out = pearson(power(t, 1.5) or t, P'). opts NULL = defaults.
 * EF_ERR_INVALID when the overlap rule fails or fewer than 2 rows remain. */
ef_status ef_metrics_numerai_corr(double *out, const double *pred, const double *target,
                                  size_t n, const ef_corr_opts *opts, ef_error *err);

/* correlation_contribution (MMC against a meta model, BMC against a benchmark): inputs are
 * filtered pairwise as numerai-tools does; p, m = gaussian(tie_kept_rank(.)); q = p - m(p'm)/(m'm);
 * t scaled by 4 when all of it lies in [0, 1], then centred; out = t'q / N. With top_bottom n,
 * q keeps only its n lowest and n highest entries (others 0) and out = t'q / (2n).
 * opts: only top_bottom and max_filtered_ratio are used. */
ef_status ef_metrics_correlation_contribution(double *out, const double *pred,
                                              const double *meta, const double *target,
                                              size_t n, const ef_corr_opts *opts,
                                              ef_error *err);

/* neutralize: out = s - proportion * X pinv(X) s with X = [F | 1] (intercept appended),
 * pinv with rcond 1e-6 (LAPACKE_dgelsd, correct for rank-deficient X). s has n rows and k
 * columns (column-major, column j at s + j*lds); F is n x nf, row-major with row stride ldf
 * (float or double: exactly one of F64/F32 non-NULL; nf may be 0). A column of s with std 0
 * becomes NaN (numerai-tools). out (same layout as s) may alias s. NaN in s or F is
 * EF_ERR_INVALID. */
ef_status ef_metrics_neutralize(double *out, const double *s, size_t lds, size_t k,
                                const double *F64, const float *F32, size_t ldf, size_t nf,
                                size_t n, double proportion, ef_error *err);

/* feature_neutral_corr: numerai_corr(variance_normalize(neutralize(gaussian(tie_kept_rank(
 * pred)), F)), target). pred must have no NaN (numerai-tools asserts it); NaN targets are
 * filtered by numerai_corr. F as for ef_metrics_neutralize. */
ef_status ef_metrics_feature_neutral_corr(double *out, const double *pred, const double *target,
                                          const double *F64, const float *F32, size_t ldf,
                                          size_t nf, size_t n, ef_error *err);

/* Per-feature Pearson corr of the raw predictions with each feature column (pandas corrwith):
 * corr_out[j] (nf entries, NaN for a constant feature). Optional summaries (may be NULL):
 * max_abs = max_j |corr_j| (numerai-tools max_feature_correlation, argmax in *argmax),
 * rms = sqrt(mean_j corr_j^2); NaN entries are skipped. Rows where the prediction or the
 * feature is NaN are left out of that feature's corr (pairwise complete, as pandas). */
ef_status ef_metrics_feature_exposure(double *corr_out, double *max_abs, size_t *argmax,
                                      double *rms, const double *pred, const double *F64,
                                      const float *F32, size_t ldf, size_t nf, size_t n,
                                      ef_error *err);

// ---- per-era aggregation ---------------------------------------------------------------------

/* Summary of per-era scores c_1..c_E in era order. NaN eras are skipped (count = used eras). */
typedef struct ef_era_summary {
    size_t count;
    double mean;
    double std;            /* ddof 0 */
    double sharpe;         /* mean / std */
    double max_drawdown;   /* max_k(max_{j<=k} cum_j - cum_k) on the cumulative sum; >= 0 */
    double autocorr;       /* lag-1 autocorrelation (numpy corrcoef of c[:-1], c[1:]) */
    double smart_sharpe;   /* mean / (std_ddof1 * sqrt(1 + 2 sum_i (n-i)/n rho^i)) */
    double apy;            /* ((prod(1 + clip(c, +-0.25)))^(1/E))^49 - 1) * 100 */
    double min, max;
    double frac_positive;
} ef_era_summary;

void ef_era_summary_compute(ef_era_summary *out, const double *scores, size_t n_eras);

/* Churn between two prediction sets of one era: 1 - Spearman (tie-kept ranks). */
ef_status ef_metrics_churn(double *out, const double *a, const double *b, size_t n,
                           ef_error *err);

// ---- per-era scoring driver ------------------------------------------------------------------

/* Rows are grouped by era: era e is rows era_off[e] .. era_off[e+1]-1, sorted by id inside
 * the era. Optional inputs are NULL. features: n_rows x n_features row-major floats. */
typedef struct ef_score_input {
    size_t n_rows, n_eras;
    const size_t *era_off;      /* n_eras + 1 */
    const double *pred;
    const double *target;
    const double *meta;         /* MMC when non-NULL */
    const double *bench;        /* BMC when non-NULL */
    const double *example;      /* corr with example predictions when non-NULL */
    const float *features;      /* FNC + exposure when non-NULL and n_features > 0 */
    size_t n_features;
} ef_score_input;

/* Per-era results; every array has n_eras entries, NaN where a score could not be computed
 * (input absent, too few rows, overlap rule failed). Allocated by ef_era_scores_compute. */
typedef struct ef_era_scores {
    size_t n_eras, n_features;
    double *corr, *mmc, *bmc, *fnc;
    double *max_exposure, *rms_exposure;
    double *example_corr;         /* Pearson of tie-kept ranks (Spearman) with example preds */
    double *n_rows;               /* rows scored per era (as double) */
    double *feature_corr;         /* n_eras x n_features per-feature corr (or NULL) */
    size_t n_failed_corr;         /* eras with NaN corr although pred+target were present */
} ef_era_scores;

/* Scores every era (OpenMP over eras; result independent of the thread count). */
ef_status ef_era_scores_compute(ef_era_scores *out, const ef_score_input *in, ef_error *err);
void ef_era_scores_free(ef_era_scores *s);

// ---- prediction post-processing (public: used by predict/ensemble/submit) -------------------

/* Per-era percentile rank to (0, 1] (rank_avg / count), as Numerai's example predictions.
 * NaN stays NaN. out may alias pred. */
ef_status ef_predictions_rank_per_era(double *out, const double *pred, const size_t *era_off,
                                      size_t n_eras, ef_error *err);
/* Per-era neutralization: within each era, out = rank_pct(neutralize(gaussian(tie_kept_rank(
 * pred)), F, proportion)) (re-ranked to (0, 1]). features row-major n_rows x n_features. */
ef_status ef_predictions_neutralize_per_era(double *out, const double *pred,
                                            const float *features, size_t n_features,
                                            const size_t *era_off, size_t n_eras,
                                            double proportion, ef_error *err);
/* Ensemble of k prediction columns (column j at preds[j]; weights may be NULL = equal):
 * per era each column is gaussianized (tie-kept rank -> ppf), standardised to std 1, summed
 * with the weights, and the sum re-ranked to (0, 1]. */
ef_status ef_predictions_ensemble(double *out, const double *const *preds, const double *weights,
                                  size_t k, const size_t *era_off, size_t n_eras, ef_error *err);

// ---- submission validity (numerai-tools submissions.py) -------------------------------------

/* Counts of each violation and the first offending id of each kind (owned by the report). */
typedef struct ef_submission_report {
    size_t n_rows, n_live;
    size_t n_nan, n_out_of_range, n_duplicate, n_missing, n_extra;
    int constant;                   /* std ~ 0 */
    char first_nan[64], first_out_of_range[64], first_duplicate[64], first_missing[64],
        first_extra[64];
    char message[1024];             /* one line per violation; empty when valid */
} ef_submission_report;

/* Header rule: exactly ["id", "prediction"] or ["id", "probability"]. EF_ERR_FORMAT with a
 * message otherwise. */
ef_status ef_submission_check_header(const char *const *cols, size_t ncols, ef_error *err);

/* Checks a submission (ids[i], values[i], i < n) against the live ids: no NaN, values in [0, 1]
 * (np.isclose at the edges), not constant, no duplicate ids, every live id present. Extra ids
 * ("invalid tickers") are counted but allowed. Fills rep (may be NULL). Returns EF_OK when
 * valid, EF_ERR_FORMAT (message: every violation) when not, EF_ERR_NOMEM. */
ef_status ef_submission_validate(const char *const *ids, const double *values, size_t n,
                                 const char *const *live_ids, size_t n_live,
                                 ef_submission_report *rep, ef_error *err);

#ifdef __cplusplus
}
#endif
#endif
