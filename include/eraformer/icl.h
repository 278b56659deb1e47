/* eraformer icl: a generic in-context regressor for any numeric table (issue 18).
 *
 * A pretrained rows-layout model (the .st files in models/) predicts the target of new rows from a
 * context of labelled rows in one forward pass, without training (TabPFN's use of a prior-fitted
 * network). This object wraps one such model for tables of any shape:
 *
 *   - scaling: fitted on the training rows and applied to the test rows, per feature either a
 *     robust standardisation ((x - median) / (IQR / 1.349), clipped to [-4, 4]) or rank-gauss
 *     (the value's mid-rank among the training values mapped through the normal quantile
 *     function); the target is standardised (mean, standard deviation) and mapped back;
 *   - missing values: NaN (and +-inf) in X are missing and go to the model's missing-indicator
 *     read-in; y must be finite;
 *   - any number of features: with d <= d_max (the model's input width) every member sees all
 *     d columns (the model scales narrower inputs itself); with d > d_max each member sees
 *     d_max of them, a different subset per member (consecutive slices of a random permutation,
 *     so that ceil(d / d_max) members together see every column), or, with
 *     EF_ICL_WIDE_PROJECT, a fixed random Gaussian projection of all d columns to d_max;
 *   - any number of rows: each member's context is a random sample of at most max_context
 *     training rows (a different sample per member);
 *   - ensemble: members after the first also permute their columns and flip the signs of
 *     columns and target at random (the symmetries of the prior, as in ef_model_forward_sym);
 *     the prediction is the mean of the members' predictions, each mapped back.
 *
 * Prediction encodes each member's context once (ef_rows_cache) and runs the test rows through
 * it in chunks, so its cost is O(E * (n_ctx^2 + m * n_ctx)) for E members and m test rows.
 * Results depend only on the options (seed included), the model and the data: they are bitwise
 * identical for any thread count.
 *
 * Thread safety: one regressor must not be used by two threads at once; distinct regressors
 * (even sharing one borrowed model, which is only read) may. Thread counts are per call: a
 * call sets the calling thread's OpenMP team size for its own parallel regions and restores
 * it before returning, so nothing outside the call changes. */
#ifndef EF_ICL_H
#define EF_ICL_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"
#include "eraformer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ef_icl_scaling {
    EF_ICL_SCALE_ROBUST = 0,    /* (x - median) / (IQR / 1.349), clipped to [-4, 4] */
    EF_ICL_SCALE_RANKGAUSS = 1  /* normal quantile of the value's mid-rank in the training column */
} ef_icl_scaling;

typedef enum ef_icl_wide {
    EF_ICL_WIDE_SUBSET = 0,     /* d > d_max: each member sees a different subset of d_max columns */
    EF_ICL_WIDE_PROJECT = 1     /* d > d_max: each member sees a random projection of all columns */
} ef_icl_wide;

typedef struct ef_icl_options {
    int n_ensemble;          /* members, 1..1024 (default 16) */
    int max_context;         /* context rows per member, 0 = the model's capacity (max_points - 1,
                              * the most rows it was pretrained with); at most 1,048,576 */
    uint64_t seed;           /* every random choice (columns, rows, signs, projections) */
    ef_icl_scaling scaling;  /* default EF_ICL_SCALE_ROBUST */
    ef_icl_wide wide;        /* default EF_ICL_WIDE_SUBSET */
    float target_scale;      /* the standardised target is multiplied by this before the model
                              * sees it (and divided after): 0 = sqrt(member width), the scale
                              * of the prior's linear tasks (Garg: E[y^2] = d); default 0 */
    int symmetries;          /* 1 = members after the first permute and sign-flip (default 1) */
} ef_icl_options;

/* The defaults above. o must not be NULL. */
void ef_icl_options_init(ef_icl_options *o);

typedef struct ef_icl_regressor ef_icl_regressor;

/* A regressor over a loaded model, which it borrows (the caller keeps it alive and destroys it
 * after the regressor; it is only read). The model must have the rows layout without row
 * positions. opts may be NULL (defaults). Errors: EF_ERR_INVALID (options, model layout),
 * EF_ERR_NOMEM. */
ef_status ef_icl_regressor_create(ef_icl_regressor **out, const ef_model *model, const ef_icl_options *opts,
                                  ef_error *err);
/* The same with a model loaded from a checkpoint file, which the regressor owns. Errors as
 * ef_model_load (EF_ERR_IO, EF_ERR_FORMAT naming the file) and as ef_icl_regressor_create. */
ef_status ef_icl_regressor_open(ef_icl_regressor **out, const char *model_path, const ef_icl_options *opts,
                                ef_error *err);
/* Frees the regressor (and its model when it was opened from a file). NULL is fine. */
void ef_icl_regressor_destroy(ef_icl_regressor *r);

/* Stores the training table and fits the scaling: X (n, d) row-major, NaN = missing; y (n),
 * finite. Copies what it needs (X and y may be freed after the call). A second fit replaces
 * the first. threads: OpenMP threads for this call, <= 0 = the calling thread's current
 * setting. Errors: EF_ERR_INVALID (n < 1, d < 1, NULL pointers, a non-finite y, n·d too
 * large), EF_ERR_NOMEM. On error the regressor is left unfitted. */
ef_status ef_icl_regressor_fit(ef_icl_regressor *r, const float *X, const float *y, int64_t n, int d, int threads,
                               ef_error *err);

/* Predicts m rows: X (m, d) row-major with the d of the fit, NaN = missing -> pred (m). m = 0
 * does nothing. threads as in fit. Errors: EF_ERR_INVALID (not fitted, another d, NULL
 * pointers), EF_ERR_NOMEM. */
ef_status ef_icl_regressor_predict(ef_icl_regressor *r, const float *X, int64_t m, int d, int threads, float *pred,
                                   ef_error *err);

/* After a fit: the number of features (d), training rows (n) and context rows per member;
 * 0 before. The options in effect (with max_context resolved) into *o. */
int ef_icl_regressor_n_features(const ef_icl_regressor *r);
int64_t ef_icl_regressor_n_rows(const ef_icl_regressor *r);
int ef_icl_regressor_context_rows(const ef_icl_regressor *r);
void ef_icl_regressor_options(const ef_icl_regressor *r, ef_icl_options *o);
/* The model's input width (d_max) and pretraining row capacity (max_points). */
int ef_icl_regressor_model_width(const ef_icl_regressor *r);
int ef_icl_regressor_model_points(const ef_icl_regressor *r);

#ifdef __cplusplus
}
#endif
#endif
