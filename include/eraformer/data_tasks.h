/* eraformer data tasks: turning a loaded Numerai dataset into in-context tasks for the
 * rows-layout transformer (finetune, predict): which eras may serve as labelled context for
 * a query era (the embargo), sampling context rows, random feature subsets, and the per-row
 * feature encoding (per-era centring, Numerai's all-2 missing columns masked).
 *
 * The embargo rule: a context era c is allowed for a query era q when it is resolved (at
 * least half of its rows have a target, and at least 2) and c <= q - max(embargo, 1) (era
 * numbers). For a live era (non-numeric, num >= EF_ERA_LIVE_NUM) every resolved numeric era
 * is allowed: the newest resolved eras are the most recent context there is. A window W > 0
 * keeps only the W newest allowed eras.
 *
 * Thread safety: an ef_tasks is read-only after ef_tasks_init; every function taking a
 * const ef_tasks may be called from several threads. */
#ifndef EF_DATA_TASKS_H
#define EF_DATA_TASKS_H

#include <stdint.h>
#include "eraformer/base.h"
#include "eraformer/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default embargo in eras for a set of targets: 16 if any name ends in "_60", else 8. */
int ef_tasks_default_embargo(const char *const *targets, int n_targets);

/* 1 when era number c may be context for query era number q (the rule above, without the
 * "resolved" part). */
int ef_tasks_era_allowed(int c, int q, int embargo);

/* How a feature value v (0..4) of a row in era e is encoded:
 *   CENTRE    (v - era mean) / sqrt(2)                          (default)
 *   RANKGAUSS the era's normal score of level v: Phi^-1((r - 1/2) / n), r the average rank of
 *             the era's rows at that level (ties share it), n the era's rows. */
typedef enum ef_feature_transform { EF_FT_CENTRE = 0, EF_FT_RANKGAUSS = 1 } ef_feature_transform;

/* A dataset prepared for task sampling. Caller-owned; free with ef_tasks_free. */
typedef struct ef_tasks {
    const ef_dataset *ds;   /* not owned; must outlive the ef_tasks */
    int n_feat;             /* selected features */
    int n_cols;             /* encoded columns: n_feat features, then n_groups aggregates */
    ef_feature_transform transform;
    float *era_level;       /* RANKGAUSS: n_eras x n_feat x 5 encoded value of each level */
    int n_groups;           /* per-row feature-group aggregates (ef_tasks_set_encoding) */
    int *group_off, *group_idx;
    int *feat_col;          /* n_feat: column in ds->X */
    float *era_mean;        /* n_eras x n_feat: per-era mean of each selected feature */
    const float *y;         /* n_rows engineered target (NaN = none) or NULL; not owned */
    uint8_t *era_resolved;  /* n_eras */
    int64_t *lab_rows;      /* rows with a target, grouped by era */
    int64_t *lab_off;       /* n_eras + 1 offsets into lab_rows */
} ef_tasks;

/* feature_names: the selected features (each must be a column of ds); y: one engineered
 * target per row or NULL (no era is then resolved: a dataset that is only queried). */
ef_status ef_tasks_init(ef_tasks *t, const ef_dataset *ds, char *const *feature_names,
                        int n_feat, const float *y, ef_error *err);
void ef_tasks_free(ef_tasks *t);

/* Chooses the encoding (after ef_tasks_init; the default is CENTRE without groups). With
 * n_groups > 0, columns n_feat .. n_feat+n_groups-1 are per-row group aggregates: group g is
 * the selected features group_idx[group_off[g] .. group_off[g+1]) (indices < n_feat), and its
 * value is the mean of their encoded values in the row, over the features that are not
 * Numerai-missing in the era (masked when all are). The arrays are copied. */
ef_status ef_tasks_set_encoding(ef_tasks *t, ef_feature_transform tr, int n_groups, const int *group_off,
                                const int *group_idx, ef_error *err);

/* Writes into out (capacity ds->n_eras) the indices of the eras allowed as context for
 * query era number q_num, oldest first, and returns their count (after the window). */
int ef_tasks_context_eras(const ef_tasks *t, int q_num, int embargo, int window, int *out);

/* Samples min(n, available) labelled rows of the given eras uniformly without replacement
 * (rows[] capacity n). *n_out = rows written. Deterministic in rng. */
ef_status ef_tasks_sample_rows(const ef_tasks *t, const int *eras, int n_eras, int n,
                               ef_rng *rng, int64_t *rows, int *n_out, ef_error *err);

/* A uniformly random subset of k of 0..n-1 (k <= n), written sorted into out. */
void ef_tasks_feature_subset(ef_rng *rng, int n, int k, int *out);

/* Encodes row r of t->ds: for each of the n_sub selected columns sub[i] (sub NULL: all
 * n_cols, in order; a column >= n_feat is a group aggregate) x[i] = the encoded value (see
 * ef_feature_transform) and mask[i] = 1, or x[i] = 0 and mask[i] = 0 when the feature is
 * Numerai-missing (all 2) in the row's era. Entries n_sub..ld-1 are zeroed (mask 0). mask
 * may be NULL. */
void ef_tasks_encode_row(const ef_tasks *t, int64_t r, const int *sub, int n_sub, int ld,
                         float *x, uint8_t *mask);

#ifdef __cplusplus
}
#endif
#endif
