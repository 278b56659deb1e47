/* Internal interface of the prior module: the x samplers and function-class generators that
 * ef_prior_sample_task composes, exposed here so the statistics tests can reach the hidden
 * parameters (weights, weight paths, trees). Not part of the public API. All matrices are
 * double, row-major, (k, d) with stride d unless stated. */
#ifndef EF_PRIOR_INTERNAL_H
#define EF_PRIOR_INTERNAL_H

#include "base/ef_internal.h"
#include "eraformer/prior.h"

// ---- x samplers (xsample.c) ------------------------------------------------------------

/* Fills X (k, d) from distribution xd. For EF_PRIOR_X_CORRELATED, if cov is non-NULL it
 * receives the (d, d) covariance used. *cond receives the covariance's condition number
 * (1 for the isotropic samplers). Scratch O(d^2 + k). */
ef_status ef_prior_sample_x(const ef_prior_config *cfg, ef_prior_xdist xd, ef_rng *r, int k,
                            int d, double *X, double *cov, double *cond, ef_error *err);
/* In-place per-column equal-count 5-bin quantisation of X (k, d) by rank (ties by row),
 * mapped to (bin - 2) / sqrt(2). Scratch O(k). */
ef_status ef_prior_quantize_columns(double *X, int k, int d, ef_error *err);
/* Rank-based quantisation of y (k) into bins with fractions 5/20/50/20/5 %, mapped to
 * (bin - 2) / sqrt(0.8) * scale. bins (k) receives 0..4 when non-NULL. */
ef_status ef_prior_quantize_targets(double *y, int k, double scale, int *bins, ef_error *err);

// ---- static function classes (functions.c) ---------------------------------------------

/* Weights of the linear family (linear, laplace, elasticnet, sparse) into w (d).
 * For sparse, s non-zeros at uniformly chosen coordinates. */
void ef_prior_draw_weights(const ef_prior_config *cfg, ef_prior_class c, ef_rng *r, int d,
                           int s, double *w);

/* A full binary tree of depth D: internal nodes 0..2^D-2 (heap order, children 2i+1 / 2i+2,
 * go right if x[coord] > thresh), leaves 2^D-1 .. 2^(D+1)-2. */
typedef struct ef_prior_tree {
    int depth;
    int *coord;      /* (2^D - 1) */
    double *thresh;  /* (2^D - 1) */
    double *leaf;    /* (2^D) */
} ef_prior_tree;

/* Draws a tree; thresholds are 0, or with probability quantile_prob a random empirical
 * quantile of the split coordinate over X (k, d) (X may be NULL: then 0). */
ef_status ef_prior_tree_draw(ef_prior_tree *t, int depth, ef_rng *r, const double *X, int k,
                             int d, double quantile_prob, ef_error *err);
void ef_prior_tree_free(ef_prior_tree *t);
/* Index of the leaf (0 .. 2^D - 1) that x (d) falls in. */
int ef_prior_tree_leaf(const ef_prior_tree *t, const double *x);

/* Noiseless Garg-scale targets y (k) of class c on X (k, d) for the static classes (all but
 * ar_drift, regime, lstm). s: sparse non-zeros / forest trees / tree depth. */
ef_status ef_prior_eval_static(const ef_prior_config *cfg, ef_prior_class c, ef_rng *r,
                               const double *X, int k, int d, int s, double *y,
                               ef_error *err);

// ---- time-series classes (timeseries.c) ------------------------------------------------

/* AR(1) weight path W (k, d): w_0 ~ N(0, I), w_t = phi w_{t-1} + sqrt(1 - phi^2) eta_t. */
void ef_prior_drift_path(ef_rng *r, int k, int d, double phi, double *W);
/* Regime weight path W (k, d): w_0 ~ N(0, I); at each t >= 1 with probability rate a fresh
 * N(0, I) draw. Returns the number of change points. */
int ef_prior_regime_path(ef_rng *r, int k, int d, double rate, double *W);
/* Targets y (k) of the time-series class c (ar_drift, regime, lstm); fills info->phi /
 * info->n_switches. LSTM targets are standardised over the task (mean 0, variance 1). */
ef_status ef_prior_eval_timeseries(const ef_prior_config *cfg, ef_prior_class c, ef_rng *r,
                                   const double *X, int k, int d, double *y,
                                   ef_task_info *info, ef_error *err);

// ---- baselines (baseline_*.c) ------------------------------------------------------------
/* All take the context as double X (n, d) contiguous and y (n); n >= 1 unless stated. */

/* Weight vectors of the linear baselines: w (d). lstsq: min-norm (dgelsd); ridge: closed
 * form (dposv, lstsq when alpha = 0 and singular); enet: coordinate descent with the alpha
 * chosen as documented in prior.h (l1_ratio 1 = lasso). */
ef_status ef_bl_lstsq(const double *X, const double *y, int n, int d, double *w, ef_error *err);
ef_status ef_bl_ridge(double alpha, const double *X, const double *y, int n, int d, double *w,
                      ef_error *err);
ef_status ef_bl_enet(const ef_baseline *b, double l1_ratio, const double *X, const double *y,
                     int n, int d, double *w, ef_error *err);
/* Coordinate descent for one alpha, warm-started from w. Returns sweeps used. */
int ef_bl_enet_cd(const double *X, const double *y, int n, int d, double alpha, double l1_ratio,
                  int max_iter, double tol, double *w);
/* Nonlinear baselines: fit on (X, y), predict the m rows of Xq (m, d) into pred. */
ef_status ef_bl_cart(const ef_baseline *b, const double *X, const double *y, int n, int d,
                     const double *Xq, int m, double *pred, ef_error *err);
ef_status ef_bl_nn(const ef_baseline *b, const double *X, const double *y, int n, int d,
                   const double *Xq, int m, uint64_t seed, double *pred, ef_error *err);
ef_status ef_bl_xgb(const ef_baseline *b, const double *X, const double *y, int n, int d,
                    const double *Xq, int m, double *pred, ef_error *err);
/* Online rls / kalman over the sequence (X, y) (n >= 0): prefix (n) receives the one-step
 * predictions made before each update (may be NULL), w (d) the weights to use at step n
 * (after the transition for kalman). */
ef_status ef_bl_online(const ef_baseline *b, const double *X, const double *y, int n, int d,
                       double *prefix, double *w, ef_error *err);

// ---- shared helpers --------------------------------------------------------------------

/* Laplace(0, b) with b = 1/sqrt(2) (unit variance). */
double ef_prior_laplace(ef_rng *r);
/* Uniform integer in [lo, hi] (lo <= hi). */
int ef_prior_uniform_int(ef_rng *r, int lo, int hi);
/* Index drawn with probability proportional to w[i] (w >= 0, sum > 0). */
int ef_prior_pick(ef_rng *r, const double *w, int n);

#endif
