/* icl internals: the per-feature scaler and the ensemble members' plans. */
#ifndef EF_ICL_INTERNAL_H
#define EF_ICL_INTERNAL_H

#include "base/ef_internal.h"
#include "eraformer/icl.h"

// ---- scaler (scale.c) ------------------------------------------------------------------
/* Fitted on the training columns. Robust: center/scale per column. Rank-gauss: each column's
 * sorted non-missing training values (sorted + j*n, count[j] of them). */
typedef struct icl_scaler {
    ef_icl_scaling kind;
    int d;
    int64_t n;
    float *center, *scale;   /* (d) */
    float *sorted;           /* (d, n), rank-gauss only */
    int64_t *count;          /* (d) non-missing training values per column */
} icl_scaler;

#define ICL_CLIP 4.0f        /* robust scaling clips to [-ICL_CLIP, ICL_CLIP] */

ef_status icl_scaler_fit(icl_scaler *s, ef_icl_scaling kind, const float *X, int64_t n, int d, ef_error *err);
/* Column j's scaled value of x; NaN for a missing (non-finite) x or a column with no
 * training values. */
float icl_scaler_apply(const icl_scaler *s, int j, float x);
void icl_scaler_free(icl_scaler *s);

// ---- members (member.c) -----------------------------------------------------------------
/* What one ensemble member sees: width active model columns, each a source column (col, sign)
 * or a row of a projection (proj (D, d), NULL unless projecting); its target sign; its
 * context rows. */
typedef struct icl_member {
    int width;
    int *col;          /* (D) */
    float *sign;       /* (D) */
    float *proj;       /* (D, d) or NULL */
    float ysign;
    int64_t *rows;     /* (n_ctx) */
} icl_member;

typedef struct icl_plan_args {
    const ef_icl_options *o;
    int D;             /* the model's d_max */
    int d;             /* the table's columns */
    int64_t n;         /* training rows */
    int n_ctx;         /* context rows per member */
    const float *Z;    /* (n, d) scaled training rows, NaN = missing (projection statistics) */
} icl_plan_args;

ef_status icl_member_plan(icl_member *mb, int e, const icl_plan_args *a, ef_error *err);
void icl_member_free(icl_member *mb);
/* One scaled row z (d; NaN = missing) as the member sees it: x (D), mask (D; 1 = observed). */
void icl_member_row(const icl_member *mb, int D, int d, const float *z, float *x, uint8_t *mask);

#endif
