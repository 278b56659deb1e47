/* eraformer prior: the synthetic task prior used for in-context pretraining (Garg et al. 2022
 * function classes, their mixtures as in Yadlowsky et al. 2023, Numerai-like inputs and
 * TabPFN-style augmentations), a Garg curriculum, and the classical baselines that in-context
 * evaluation compares against (least squares, ridge, lasso, elastic net, 3-NN, averaging,
 * CART, a 2-layer NN by Adam, RLS / Kalman for the time-series classes, XGBoost).
 *
 * A task is k points (x_i, y_i), x_i in R^d padded with zeros to d_max. Every random choice
 * of task i comes from counter-based RNG streams keyed by (seed, task_index), so task i is
 * the same whatever thread draws it, whatever the batch it is in, and whatever the order.
 *
 * ---- Target scale and error normalisation (what icl-eval must divide by) ----------------
 * Every class has a "Garg scale" S = ef_prior_error_scale(class, d, s) = E[y^2] of the
 * noiseless target under the class's own prior with x ~ N(0, I_d):
 *     linear, laplace, elasticnet, relu, quadratic, ar_drift, regime : S = d
 *     sparse                                                         : S = s
 *     tree, forest, lstm, sinusoid                                   : S = 1
 * (Garg's plot_utils divides by d for linear/ReLU, by s for sparse and by 1 for trees.)
 * With target_norm = EF_PRIOR_TARGET_GARG (default) y is produced at that scale; with
 * EF_PRIOR_TARGET_UNIT y is divided by sqrt(S) so every class has E[y^2] ~ 1.
 * In both cases the task reports info.err_scale, and
 *     normalised error = (y_hat - y)^2 / info.err_scale
 * makes the zero predictor score ~1 for every class (err_scale = S for GARG, 1 for UNIT).
 * Label noise is relative: y += sigma * sqrt(S) * eps (sigma = info.noise), and quantised
 * labels keep E[y^2] = S, so this rule holds with the augmentations too.
 *
 * Thread safety: all functions are reentrant; the config is read only. */
#ifndef EF_PRIOR_H
#define EF_PRIOR_H

#include <stdint.h>
#include "eraformer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- function classes and input distributions ------------------------------------- */
typedef enum ef_prior_class {
    EF_PRIOR_LINEAR = 0,   /* y = x.w, w ~ N(0, I_d) */
    EF_PRIOR_LAPLACE,      /* y = x.w, w_j iid Laplace with unit variance (lasso prior) */
    EF_PRIOR_ELASTICNET,   /* y = x.w, w_j Laplace w.p. enet_l1_share else N(0,1) */
    EF_PRIOR_SPARSE,       /* y = x.w, s of the d coordinates of w non-zero, N(0,1) */
    EF_PRIOR_RELU,         /* y = sqrt(2/r) relu(x W1) W2, W1 (d,r), W2 (r) ~ N(0,1) */
    EF_PRIOR_TREE,         /* random full tree of depth D, N(0,1) leaves */
    EF_PRIOR_FOREST,       /* sum of M random trees / sqrt(M) (unit variance) */
    EF_PRIOR_DRIFT,        /* time series: w_t = phi w_{t-1} + sqrt(1-phi^2) eta_t (AR(1)) */
    EF_PRIOR_REGIME,       /* time series: w jumps to a fresh N(0,I) draw at change points */
    EF_PRIOR_LSTM,         /* time series: a random LSTM maps x_1..x_t to y_t (standardised) */
    EF_PRIOR_SINUSOID,     /* y = sqrt(2) sin(omega (x.u) + phase), |u| = 1 */
    EF_PRIOR_QUADRATIC,    /* y = ((x o x).w) / sqrt(3) */
    EF_PRIOR_CLASS_COUNT
} ef_prior_class;

typedef enum ef_prior_xdist {
    EF_PRIOR_X_GAUSSIAN = 0, /* N(0, I_d) */
    EF_PRIOR_X_CORRELATED,   /* N(0, U diag(lambda) U^T), U Haar, sum(lambda) = d */
    EF_PRIOR_X_UNIFORM,      /* U[-sqrt3, sqrt3]^d (unit variance) */
    EF_PRIOR_X_NUMERAI,      /* latent factors -> per-task 5 equal-count bins, (b-2)/sqrt2 */
    EF_PRIOR_X_COUNT
} ef_prior_xdist;

typedef enum ef_prior_target_norm {
    EF_PRIOR_TARGET_GARG = 0, /* y at the class's Garg scale: E[y^2] = S (see top) */
    EF_PRIOR_TARGET_UNIT      /* y / sqrt(S): E[y^2] ~ 1 for every class */
} ef_prior_target_norm;

/* Lower-case names as used by the parsers ("linear", ..., "ar_drift", "gaussian", ...).
 * Returns "?" for out-of-range values. */
const char *ef_prior_class_name(ef_prior_class c);
const char *ef_prior_xdist_name(ef_prior_xdist x);
/* Accepts the names above; "drift" is an alias of "ar_drift". Returns 0 on success. */
int ef_prior_class_from_name(const char *name, ef_prior_class *out);

/* ---- configuration ------------------------------------------------------------------ */
typedef struct ef_prior_config {
    /* mixture: unnormalised weights >= 0 (at least one > 0) */
    double class_weights[EF_PRIOR_CLASS_COUNT];
    double x_weights[EF_PRIOR_X_COUNT];
    int d_max;             /* row stride of the x / mask buffers; d <= d_max */
    int n_points;          /* default sequence length k (the CLI's default; not a limit) */

    /* x samplers */
    double x_cond;         /* correlated: condition number of the covariance (>= 1) */
    int x_skewed;          /* correlated: eigenvalues prop. to 1/i^2 (Garg's "skewed") instead */
    int numerai_factors;   /* numerai: number of latent factors (capped at d) */
    double numerai_noise;  /* numerai: idiosyncratic share of each feature's variance [0,1] */
    int penalized_collinear; /* laplace / elasticnet tasks always use the correlated sampler */

    /* per-class parameters */
    double enet_l1_share;  /* elasticnet: probability that a weight is Laplace, else Gaussian */
    int sparse_s_min, sparse_s_max; /* sparse: s ~ U{s_min..s_max}, capped at d */
    int relu_hidden;       /* relu: r */
    int tree_depth;        /* tree: D */
    double tree_quantile_prob; /* tree/forest: P(threshold = random empirical quantile) else 0 */
    int forest_trees, forest_depth; /* forest: M trees of depth forest_depth */
    double drift_phi_min, drift_phi_max; /* ar_drift: phi ~ U[min, max] */
    double regime_rate;    /* regime: per-step probability of a change point */
    int lstm_hidden;       /* lstm: hidden size */
    double sin_freq_min, sin_freq_max; /* sinusoid: omega ~ U[min, max] */

    /* augmentations (each applied to a task with its probability) */
    double noise_prob, noise_min, noise_max; /* label noise, relative sigma ~ U[min, max] */
    double quantize_prob;  /* labels -> Numerai's 5 bins (5/20/50/20/5 %) by rank in the task */
    double mask_prob, mask_rate_max; /* missing at random, rate ~ U[0, mask_rate_max] */
    double permute_prob;   /* random permutation of the d feature columns */
    double random_d_prob;  /* d_task ~ U{random_d_min..d} instead of d */
    int random_d_min;
    ef_prior_target_norm target_norm;
} ef_prior_config;

/* Defaults = Garg's linear regression: class linear only, x Gaussian, d_max 20, n_points 41,
 * no augmentation. Other defaults: x_cond 100, numerai_factors 4, numerai_noise 0.5,
 * penalized_collinear 1, enet_l1_share 0.5, sparse s 3..3, relu_hidden 100, tree_depth 4,
 * tree_quantile_prob 0, forest 10 trees of depth 3, drift phi U[0.9, 0.99], regime_rate 0.05,
 * lstm_hidden 8, sinusoid omega U[0.5, 2], noise sigma U[0.05, 0.5], mask_rate_max 0.3,
 * random_d_min 1, target_norm GARG. */
void ef_prior_config_default(ef_prior_config *cfg);

/* Sets class_weights from "name=w,name=w,..." (all other classes get 0). Names as in
 * ef_prior_class_name plus "drift" and "timeseries" (= w split equally over ar_drift, regime
 * and lstm). A bare name means weight 1. Weights must be finite and >= 0 with a positive sum.
 * On error cfg is unchanged and err says which item is wrong. */
ef_status ef_prior_config_parse_mixture(ef_prior_config *cfg, const char *spec, ef_error *err);
/* Same for x_weights: "gaussian=0.5,numerai=0.5" (names: gaussian, correlated, uniform,
 * numerai). */
ef_status ef_prior_config_parse_x(ef_prior_config *cfg, const char *spec, ef_error *err);
/* Sets scalar fields from "key=value,key=value" where key is the field name above
 * (e.g. "sparse_s_max=5,noise_prob=0.5,target_norm=unit"). Numbers are checked (whole
 * string, finite, in range); unknown keys are rejected. On error cfg is unchanged. */
ef_status ef_prior_config_parse_params(ef_prior_config *cfg, const char *spec, ef_error *err);
/* Checks every field's range and the mixture sums. */
ef_status ef_prior_config_validate(const ef_prior_config *cfg, ef_error *err);
/* One-line human readable summary for the CLI to echo: "classes linear=0.5,sparse=0.5 x
 * gaussian=1 d_max=20 n_points=41" followed by every other setting that differs from
 * ef_prior_config_default, as key=value (so it can be fed back to the parsers). Always
 * NUL-terminates (truncates if n is too small). */
void ef_prior_config_describe(const ef_prior_config *cfg, char *buf, size_t n);

/* Garg error scale S(class, d, s) (see the top of this file). s is only read for sparse. */
double ef_prior_error_scale(ef_prior_class c, int d, int s);

/* ---- sampling ------------------------------------------------------------------------- */
typedef struct ef_task_info {
    ef_prior_class cls;
    ef_prior_xdist xdist;
    int d;              /* effective dimension (columns >= d are zero); == requested d unless
                           the random-d augmentation fired */
    int s;              /* sparse: non-zeros; forest: trees; tree: depth; else 0 */
    double noise;       /* relative label-noise sigma (0: none) */
    double err_scale;   /* divide squared errors by this (see top) */
    double y_scale;     /* factor applied to the Garg-scale target (1 or 1/sqrt(S)) */
    double phi;         /* ar_drift: AR(1) coefficient, else 0 */
    int n_switches;     /* regime: number of change points, else 0 */
    double mask_rate;   /* masking rate drawn (0: no masking) */
    int quantized;      /* 1 if labels were quantised to 5 bins */
    int permuted;       /* 1 if the feature columns were permuted */
} ef_task_info;

/* Draws task task_index of the stream seed.
 *   x    (k, d_max) row-major, written fully: columns >= info.d are 0, masked entries are 0
 *   y    (k)
 *   mask (k, d_max) 1 = observed, 0 = missing or padding; may be NULL (the task is the same)
 *   info may be NULL.
 * 1 <= d <= cfg->d_max, k >= 1. Points of time-series classes are in time order; others iid.
 * Errors: EF_ERR_INVALID (bad d/k/config), EF_ERR_NOMEM. Allocates O(k d + d^2) scratch. */
ef_status ef_prior_sample_task(const ef_prior_config *cfg, uint64_t seed, uint64_t task_index,
                               int d, int k, float *x, float *y, uint8_t *mask,
                               ef_task_info *info, ef_error *err);

/* Tasks first_task_index .. first_task_index+B-1 into
 *   x (B, k, d_max), y (B, k), mask (B, k, d_max) or NULL, infos (B) or NULL.
 * Parallel over tasks with OpenMP; bitwise identical for any thread count. */
ef_status ef_prior_sample_batch(const ef_prior_config *cfg, uint64_t seed,
                                uint64_t first_task_index, int B, int d, int k, float *x,
                                float *y, uint8_t *mask, ef_task_info *infos, ef_error *err);

/* Out of the mixture: a convex combination of classes a and b on the same inputs (icl-eval's
 * --ood combo). x (and mask) are those of a task of class a alone (task task_index of seed;
 * laplace/elasticnet use cfg's x sampler here, not the collinear one); f_b is drawn from its own
 * stream. With u_c = f_c(x) / sqrt(S_c) each class's target at unit scale,
 *     y = g (alpha u_a + (1 - alpha) u_b) / sqrt(alpha^2 + (1 - alpha)^2),
 * g = sqrt(S_a) (GARG) or 1 (UNIT), so E[y^2] is about a's scale and info.err_scale is a's.
 * cfg's class weights are ignored; its augmentations must be off (EF_ERR_INVALID otherwise).
 * alpha in [0, 1]: 1 gives class a's task itself (at a's scale). */
ef_status ef_prior_sample_combo(const ef_prior_config *cfg, ef_prior_class a, ef_prior_class b,
                                double alpha, uint64_t seed, uint64_t task_index, int d, int k,
                                float *x, float *y, uint8_t *mask, ef_task_info *info,
                                ef_error *err);

/* ---- curriculum (Garg et al. 2022, src/curriculum.py) ---------------------------------- *
 * d and k start at d_start/k_start and grow by d_inc/k_inc every every_steps steps, capped at
 * d_end/k_end: d(s) = min(d_end, d_start + d_inc * (s / every_steps)). Garg: linear d 5->20
 * (+1), k 11->41 (+2), every 2000 steps. */
typedef struct ef_curriculum {
    int d_start, d_end, d_inc;
    int k_start, k_end, k_inc;
    long every_steps;
} ef_curriculum;

/* Garg's schedule for d_end and k_end: d from min(5, d_end) (+1), k from
 * max(1, k_end - 2*(d_end - d_start)) (+2), every 2000 steps. */
void ef_curriculum_default(ef_curriculum *c, int d_end, int k_end);
ef_status ef_curriculum_validate(const ef_curriculum *c, ef_error *err);
void ef_curriculum_at(const ef_curriculum *c, long step, int *d, int *k);

/* ---- baselines ----------------------------------------------------------------------- *
 * Each fits on a context (x_1..x_n, y_1..y_n) and predicts query points. Conventions:
 *   lstsq      min-norm least squares (LAPACKE_dgelsd); 0 when n = 0
 *   ridge      argmin ||y - Xw||^2 + ridge_alpha ||w||^2 (sum, no intercept); with w ~ N(0,I)
 *              and noise sigma*sqrt(S) the Bayes choice is ridge_alpha = sigma^2 * S
 *   lasso      argmin 1/(2n)||y - Xw||^2 + alpha ||w||_1 (scikit-learn scaling, no intercept)
 *   elasticnet 1/(2n)||y - Xw||^2 + alpha (l1_ratio ||w||_1 + (1-l1_ratio)/2 ||w||^2)
 *              lasso / elasticnet by cyclic coordinate descent. alpha: if n_alphas == 1 that
 *              value (default 0.01, Garg's reported choice); otherwise the grid alphas[] is
 *              scored by cv_folds-fold cross validation on the context (contiguous folds,
 *              cv_folds >= n gives leave-one-out; n < 2 uses alphas[0]) and the best is refit
 *              on the whole context.
 *   knn        mean y of the knn_k nearest context points (Euclidean; ties by index)
 *   averaging  w = (1/n) sum x_i y_i, y_hat = w.x
 *   cart       greedy regression tree (SSE, midpoint thresholds), max depth tree_depth,
 *              leaves of >= tree_min_leaf points
 *   nn         2-layer ReLU net (nn_hidden units, PyTorch-default init) trained by Adam
 *              (nn_lr) on MSE for nn_steps steps of minibatches of nn_batch (Garg: r=100,
 *              lr 5e-3, batch 100, 100 steps in code / 5000 in the paper)
 *   rls        recursive least squares with forgetting factor rls_forget, P_0 = I / rls_delta
 *   kalman     Kalman filter for w_t = kalman_phi w_{t-1} + N(0, kalman_q I),
 *              y_t = x_t.w_t + N(0, kalman_r); w_0 ~ N(0, kalman_p0 I). With the task's own
 *              values (ef_baseline_set_oracle) it is the exact posterior mean under the
 *              ar_drift prior
 *   xgboost    XGBoost C API, xgb_trees rounds, depth xgb_depth, eta xgb_eta, nthread 1,
 *              base_score 0 (EF_ERR_UNSUPPORTED when built without libxgboost)
 *   zero       predicts 0
 * rls and kalman treat the context as a time-ordered sequence (the others ignore order).
 * Missing features are expected as x = 0 (the sampler's convention). */
typedef enum ef_baseline_kind {
    EF_BASELINE_ZERO = 0,
    EF_BASELINE_LSTSQ,
    EF_BASELINE_RIDGE,
    EF_BASELINE_LASSO,
    EF_BASELINE_ELASTICNET,
    EF_BASELINE_KNN,
    EF_BASELINE_AVERAGING,
    EF_BASELINE_CART,
    EF_BASELINE_NN,
    EF_BASELINE_RLS,
    EF_BASELINE_KALMAN,
    EF_BASELINE_XGBOOST,
    EF_BASELINE_KIND_COUNT
} ef_baseline_kind;

#define EF_BASELINE_MAX_ALPHAS 16

typedef struct ef_baseline {
    ef_baseline_kind kind;
    double ridge_alpha;                      /* 0.1 */
    double alphas[EF_BASELINE_MAX_ALPHAS];   /* lasso / elasticnet: {0.01} */
    int n_alphas;                            /* 1 */
    int cv_folds;                            /* 5 */
    double l1_ratio;                         /* elasticnet: 0.5 */
    int cd_max_iter;                         /* 1000 sweeps */
    double cd_tol;                           /* 1e-6 (max |dw| relative to max |w|) */
    int knn_k;                               /* 3 */
    int tree_depth, tree_min_leaf;           /* 4, 1 */
    int nn_hidden, nn_steps, nn_batch;       /* 100, 100, 100 */
    double nn_lr;                            /* 5e-3 */
    double rls_forget, rls_delta;            /* 0.95, 1 */
    double kalman_phi, kalman_q, kalman_r;   /* 0.95, 1 - 0.95^2, 1e-4 */
    double kalman_p0;                        /* 1 */
    int xgb_trees, xgb_depth;                /* 50, 4 */
    double xgb_eta;                          /* 0.1 */
} ef_baseline;

/* Defaults (in the comments above) for kind. */
void ef_baseline_init(ef_baseline *b, ef_baseline_kind kind);
/* Names: zero, lstsq, ridge, lasso, elasticnet (enet), knn (3nn), averaging, cart (= cart4),
 * cart2, cart4, nn, rls, kalman, xgboost. Sets defaults for the kind, then the name's own
 * settings (cartN: tree_depth N). EF_ERR_INVALID for unknown names. */
ef_status ef_baseline_parse(ef_baseline *b, const char *name, ef_error *err);
const char *ef_baseline_kind_name(ef_baseline_kind kind);
/* 0 when the kind is not compiled in (xgboost without libxgboost). */
int ef_baseline_available(ef_baseline_kind kind);

/* Oracle settings from a sampled task (in the task's y units, i.e. after target_norm):
 *   ridge:  ridge_alpha = info.noise^2 * S (the Bayes choice for w ~ N(0, I); 0 = lstsq
 *           when noiseless; S = ef_prior_error_scale(info.cls, info.d, info.s))
 *   kalman: phi = info.phi (ar_drift tasks only), q = p0 (1 - phi^2), p0 = y_scale^2,
 *           r = max(info.noise^2 S, 1e-8) * y_scale^2
 * Other kinds and fields (rls: its delta is a ridge penalty, already scale-free) are left as
 * they are. */
void ef_baseline_set_oracle(ef_baseline *b, const ef_task_info *info);

/* Fits on the n context rows of x_ctx/y_ctx ((n, ld) and (n), first d columns used) and writes
 * m predictions for the rows of x_q ((m, ld)) into pred. n may be 0 (then most baselines
 * predict 0). seed drives the nn baseline's init and minibatches (others are deterministic).
 * Errors: EF_ERR_INVALID, EF_ERR_NOMEM, EF_ERR_INTERNAL (LAPACK failure),
 * EF_ERR_UNSUPPORTED (xgboost not built). Reentrant. */
ef_status ef_baseline_fit_predict(const ef_baseline *b, const float *x_ctx, const float *y_ctx,
                                  int n, int d, int ld, const float *x_q, int m, uint64_t seed,
                                  float *pred, ef_error *err);

/* The in-context evaluation protocol: pred[i] = prediction for y_i (i = 0..k-1) after fitting
 * on points 0..i-1 of the task (pred[0] is the zero-context prediction). x (k, ld), y (k).
 * rls / kalman run one online pass; others refit per prefix (k fits; prefix i uses the seed
 * ef_hash64(seed, i)). nn and xgboost are the slow ones: a few ms per fit at d=20, n~50
 * (nn with the default 100 steps), i.e. ~0.5 s per task at k=101. */
ef_status ef_baseline_predict_prefixes(const ef_baseline *b, const float *x, const float *y,
                                       int k, int d, int ld, uint64_t seed, float *pred,
                                       ef_error *err);

#ifdef __cplusplus
}
#endif
#endif
