/* Shared by finetune, predict and baseline: target engineering (per-era gaussianized,
 * weighted targets), the fine-tuned model's input contract, model surgery from a
 * pretrained base (wider read-in, more rows), and the prediction procedure (context ensembles
 * per era) that both validation during finetune and `predict` use. The era/embargo/row
 * sampling and the feature encoding are in include/eraformer/data_tasks.h. */
#ifndef EF_CLI_NUMERAI_TASKS_H
#define EF_CLI_NUMERAI_TASKS_H

#include <stdint.h>
#include "eraformer/base.h"
#include "eraformer/data.h"
#include "eraformer/data_tasks.h"
#include "eraformer/model.h"

/* How the (many) Numerai features reach the model's d_max inputs. */
enum { NT_READIN_SUBSET = 0, NT_READIN_WIDE = 1 };

/* "t1=w1,t2=w2" or "t" (weight 1). names/weights ef_malloc'd (nt_targets_free). */
typedef struct nt_targets {
    int n;
    char **names;
    double *w;
} nt_targets;
ef_status nt_targets_parse(nt_targets *t, const char *spec, ef_error *err);
void nt_targets_free(nt_targets *t);

/* y[r] = sum_t w_t g_t(r) / sum_{t: g_t(r) present} w_t, where g_t is target t gaussianized
 * per era (tie-kept rank -> normal ppf over the era's non-NaN values); NaN when no target
 * of the row is present. tcol[i] = column of target i in ds->y. */
ef_status nt_engineer_target(const ef_dataset *ds, const int *tcol, const double *w, int n,
                             float *y, ef_error *err);

/* What predict needs to know about a fine-tuned model: its input contract (features,
 * encoding, targets, prediction defaults). finetune embeds it in the model file
 * (EF_MODEL_CONTRACT_KEY in the safetensors __metadata__) and, for one more release, also
 * writes the same text to the sidecar MODEL.json for older readers. Readers trust the
 * embedded copy; the sidecar is read only for older two-file models without one. */
typedef struct nt_meta {
    int read_in;
    int n_feat;
    char **features;
    nt_targets targets;
    int embargo, window, context_rows, members;
    uint64_t seed;
    double feature_dropout;
    double best_corr;
    long best_step;
    int transform;            /* ef_feature_transform */
    int n_groups;             /* feature-group aggregates: group g = features[group_idx[group_off[g]..]] */
    int *group_off, *group_idx;
} nt_meta;
/* The contract as JSON text (ef_malloc'd; NULL when out of memory). */
char *nt_meta_json(const nt_meta *m);
/* Writes text (nt_meta_json) to the sidecar model_path.json, atomically (the deprecated copy). */
ef_status nt_meta_save_sidecar(const char *text, const char *model_path, ef_error *err);
/* Parses contract text (size bytes) into m; errors name `path` and the field. */
ef_status nt_meta_parse(nt_meta *m, const char *text, size_t size, const char *path, ef_error *err);
/* The contract of model_path: the embedded one (reading only the model's header), else the
 * sidecar model_path.json. Errors name the model file or the sidecar. */
ef_status nt_meta_load(nt_meta *m, const char *model_path, ef_error *err);
/* The model and its contract from one read of model_path (the sidecar as in nt_meta_load):
 * the weights and contract of one file, even if finetune replaces it meanwhile. On error
 * *out is NULL and m empty. */
ef_status nt_model_load(ef_model **out, nt_meta *m, const char *model_path, int max_B, ef_error *err);
void nt_meta_free(nt_meta *m);

/* Numerai's feature groups (features.json sets intelligence, charisma, ..., quantum) restricted
 * to the selected features: *n groups, members as indices into feat (offsets n+1). Groups with
 * no selected feature are dropped. Arrays ef_malloc'd. */
ef_status nt_feature_groups(const ef_features_json *fj, char *const *feat, int n_feat, int *n, int **off,
                            int **idx, ef_error *err);

/* A rows-layout model for n_feat features: read_in WIDE -> d_max = n_feat, SUBSET -> the
 * base's d_max (or def_dmax). base NULL: fresh init (cfg_def's layers/d_model/heads). With a
 * base, every tensor of the same shape is copied; a wide read-in is initialised as
 * W_in_base · P with a fixed random projection P (d_base x n_feat, N(0, 1/n_feat)), so the
 * base sees P·x, a d_base-dimensional input of the same scale. */
ef_status nt_model_build(ef_model **out, const char *base, int read_in, int n_feat,
                         const ef_model_config *cfg_def, int max_points, int max_B, uint64_t seed,
                         ef_error *err);

typedef struct nt_pred_opts {
    int read_in, members, context_rows, embargo, window;
    uint64_t seed;
    double feature_dropout;   /* wide read-in: each member masks this share of the features */
} nt_pred_opts;

/* Predicts every row of query era qe of qt (its rows in order) with o->members members, each
 * with its own context sample from ct (eras allowed by the embargo rule) and, in SUBSET mode,
 * its own feature subset. Members are gaussianized, averaged and ranked into (0, 1] (out,
 * one value per row of the era). cache must be created for the model with max_ctx >=
 * o->context_rows. Returns EF_ERR_INVALID if the era has no allowed context. */
ef_status nt_predict_era(ef_model *m, ef_rows_cache *cache, const ef_tasks *ct, const ef_tasks *qt,
                         int qe, const nt_pred_opts *o, double *out, ef_error *err);

/* Training task task_index of stream seed (rows layout): query era drawn from q_eras, n_query
 * of its labelled rows (with replacement only when it has fewer), n_ctx context rows from
 * the allowed eras; x (k, D), y (k), mask (k, D) with k = n_ctx + n_query; *d = active width.
 * feature_dropout (wide read-in): each feature is masked in the whole task with this
 * probability. */
ef_status nt_sample_train_task(const ef_tasks *t, const int *q_eras, int n_q_eras, int read_in,
                               int D, int n_ctx, int n_query, int embargo, int window,
                               double feature_dropout, uint64_t seed, uint64_t task_index,
                               float *x, float *y, uint8_t *mask, int *d, ef_error *err);

#endif
