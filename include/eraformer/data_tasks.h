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

/* A dataset prepared for task sampling. Caller-owned; free with ef_tasks_free. */
typedef struct ef_tasks {
    const ef_dataset *ds;   /* not owned; must outlive the ef_tasks */
    int n_feat;             /* selected features */
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

/* Writes into out (capacity ds->n_eras) the indices of the eras allowed as context for
 * query era number q_num, oldest first, and returns their count (after the window). */
int ef_tasks_context_eras(const ef_tasks *t, int q_num, int embargo, int window, int *out);

/* Samples min(n, available) labelled rows of the given eras uniformly without replacement
 * (rows[] capacity n). *n_out = rows written. Deterministic in rng. */
ef_status ef_tasks_sample_rows(const ef_tasks *t, const int *eras, int n_eras, int n,
                               ef_rng *rng, int64_t *rows, int *n_out, ef_error *err);

/* A uniformly random subset of k of 0..n-1 (k <= n), written sorted into out. */
void ef_tasks_feature_subset(ef_rng *rng, int n, int k, int *out);

/* Encodes row r of t->ds: for each of the n_sub selected features sub[i] (sub NULL: all
 * n_feat, in order) x[i] = (value - era mean) / sqrt(2) and mask[i] = 1, or x[i] = 0 and
 * mask[i] = 0 when the feature is Numerai-missing (all 2) in the row's era. Entries
 * n_sub..ld-1 are zeroed (mask 0). mask may be NULL. */
void ef_tasks_encode_row(const ef_tasks *t, int64_t r, const int *sub, int n_sub, int ld,
                         float *x, uint8_t *mask);

#ifdef __cplusplus
}
#endif
#endif
