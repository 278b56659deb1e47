/* eraformer numerai: the Numerai pipeline as a library.
 *
 *  - target engineering: each target gaussianized per era, then a weighted mix;
 *  - the input contract of a fine-tuned model (its features, encoding, targets and prediction
 *    defaults), stored in the checkpoint itself (safetensors __metadata__, key
 *    EF_MODEL_CONTRACT_KEY; older two-file models: the sidecar MODEL.json), with the
 *    checkpoint read and write that keep weights and contract together;
 *  - the in-context tasks finetune trains on (query rows of one era, labelled context rows from
 *    eras behind the embargo; see eraformer/data_tasks.h for the embargo rule);
 *  - prediction: per era, K ensemble members, each with its own context sample (and, with the
 *    subset read-in, its own feature subset), gaussianized, averaged and ranked into (0, 1];
 *    several models (checkpoints, or the members of a model directory written by
 *    `eraformer train`) are ensembled the same way. `eraformer predict` is a call of
 *    ef_numerai_predict; the Python package's NumeraiModel calls the same functions.
 *
 * Conventions: functions return ef_status and fill err (may be NULL); nothing prints, exits or
 * keeps global state. Structs documented as caller-owned are freed with their _free function
 * (which accepts a zeroed struct). Randomness is counter-based on (seed, member, era), so
 * results do not depend on the thread count or on which other eras are predicted with them.
 * docs/finetune.md describes the method, docs/formats.md the contract. */
#ifndef EF_NUMERAI_H
#define EF_NUMERAI_H

#include <stdint.h>
#include "eraformer/base.h"
#include "eraformer/data.h"
#include "eraformer/data_tasks.h"
#include "eraformer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the (many) Numerai features reach the model's d_max inputs: WIDE reads every feature
 * (d_max = the number of encoded columns), SUBSET a random d_max of them per task and per
 * ensemble member. */
typedef enum ef_numerai_read_in { EF_NUMERAI_READIN_SUBSET = 0, EF_NUMERAI_READIN_WIDE = 1 } ef_numerai_read_in;

// ---- targets -------------------------------------------------------------------------------

/* Weighted targets. Caller-owned (ef_numerai_targets_free); names and w are ef_malloc'd. */
typedef struct ef_numerai_targets {
    int n;
    char **names;
    double *w;          /* > 0 */
} ef_numerai_targets;

/* Parses "t1=w1,t2=w2" or "t" (weight 1) into t (zeroed first). Empty names, items over 255
 * bytes or weights that are not positive finite numbers: EF_ERR_INVALID naming the item. */
ef_status ef_numerai_targets_parse(ef_numerai_targets *t, const char *spec, ef_error *err);
void ef_numerai_targets_free(ef_numerai_targets *t);

/* The engineered target of every row of ds: y[r] = sum_t w_t g_t(r) / sum_{t: g_t(r) present} w_t,
 * where g_t is target t gaussianized per era (tie-kept rank of the era's non-NaN values, then
 * the normal ppf, ef_metrics_gaussianize); NaN when no target of the row is present.
 * tcol[i] = the column of target i in ds->y, w[i] its weight, n targets; y has ds->n_rows
 * entries. Errors: EF_ERR_NOMEM. Thread safe (reads ds only). */
ef_status ef_numerai_target_engineer(const ef_dataset *ds, const int *tcol, const double *w, int n,
                                     float *y, ef_error *err);

// ---- the input contract ----------------------------------------------------------------------

/* What predict needs to know about a fine-tuned model. Caller-owned
 * (ef_numerai_contract_free frees features, targets and groups). */
typedef struct ef_numerai_contract {
    int read_in;              /* ef_numerai_read_in */
    int n_feat;
    char **features;          /* the feature columns, in the model's input order */
    ef_numerai_targets targets;   /* the context's target: their engineered mix */
    int embargo, window, context_rows, members;   /* prediction defaults */
    uint64_t seed;
    double feature_dropout;   /* WIDE: each member masks this share of the features */
    double best_corr;         /* selection CORR at the saved step (information only) */
    long best_step;
    int transform;            /* ef_feature_transform */
    int n_groups;             /* feature-group aggregates: group g = features[group_idx[group_off[g]..]] */
    int *group_off, *group_idx;
} ef_numerai_contract;

/* c as JSON text (format "eraformer-finetune-1"): *text ef_malloc'd, NUL-terminated. */
ef_status ef_numerai_contract_to_json(const ef_numerai_contract *c, char **text, ef_error *err);
/* Parses contract text (size bytes, need not be NUL-terminated) into c (zeroed first; empty
 * on error). Every field is checked: EF_ERR_FORMAT naming `where` and the field. */
ef_status ef_numerai_contract_parse(ef_numerai_contract *c, const char *text, size_t size, const char *where,
                                    ef_error *err);
/* The contract of the checkpoint model_path: the embedded one (reading only the file's
 * header), else the sidecar model_path.json of an older two-file model. Errors name the model
 * file or the sidecar. */
ef_status ef_numerai_contract_read(ef_numerai_contract *c, const char *model_path, ef_error *err);
/* Writes text (ef_numerai_contract_to_json) to the sidecar model_path.json, atomically (the
 * copy kept one release for older readers). */
ef_status ef_numerai_contract_save_sidecar(const char *text, const char *model_path, ef_error *err);
void ef_numerai_contract_free(ef_numerai_contract *c);

/* The model and its contract from one read of model_path (the sidecar as in
 * ef_numerai_contract_read): weights and contract of one file, even if finetune replaces it
 * meanwhile. max_B: batch capacity of the model's activations. On error *out is NULL and c
 * empty. */
ef_status ef_numerai_checkpoint_load(ef_model **out, ef_numerai_contract *c, const char *model_path, int max_B,
                                     ef_error *err);
/* Writes m (weights only, st as its training state) to path with c embedded, atomically; the
 * sidecar path.json (the same text) is written first. Not thread safe for the same path. */
ef_status ef_numerai_checkpoint_save(ef_model *m, const char *path, const ef_train_state *st,
                                     const ef_numerai_contract *c, ef_error *err);

// ---- fine-tuning: features, model surgery, tasks ------------------------------------------------

/* Numerai's feature groups (features.json sets intelligence, charisma, ..., quantum) restricted
 * to the selected features feat (n_feat): *n groups, members as indices into feat (*off has
 * *n + 1 offsets into *idx). Groups with no selected feature are dropped. *off and *idx are
 * ef_malloc'd (the caller ef_frees them). */
ef_status ef_numerai_feature_groups(const ef_features_json *fj, char *const *feat, int n_feat, int *n, int **off,
                                    int **idx, ef_error *err);

/* A rows-layout model for n_feat encoded columns: read_in WIDE -> d_max = n_feat, SUBSET ->
 * the base's d_max (or cfg_def's). base NULL: a fresh initialisation (cfg_def's layers,
 * d_model, heads) from seed. With a base checkpoint, every tensor of the same shape is copied;
 * a wide read-in is initialised as W_in_base . P with a fixed random projection P
 * (d_base x n_feat, N(0, 1/n_feat)), so the base sees P.x, an input of the same scale. A base
 * that is not rows-layout or has row positions: EF_ERR_INVALID naming it. */
ef_status ef_numerai_net_create(ef_model **out, const char *base, int read_in, int n_feat,
                                const ef_model_config *cfg_def, int max_points, int max_B, uint64_t seed,
                                ef_error *err);

/* Training task task_index of stream seed (rows layout): a query era drawn from q_eras
 * (indices into t->ds->eras), n_query of its labelled rows (with replacement only when it has
 * fewer), n_ctx labelled context rows from the eras the embargo and window allow (fewer
 * available: EF_ERR_INTERNAL, the caller chooses query eras with enough). Outputs x (k, D),
 * y (k), mask (k, D) with k = n_ctx + n_query, context rows first; *d = the active width.
 * SUBSET read-in: a random min(n_cols, D) of the columns per task. feature_dropout (WIDE):
 * each column is masked in the whole task with this probability. A pure function of
 * (seed, task_index) and t: thread safe. */
ef_status ef_numerai_task_sample(const ef_tasks *t, const int *q_eras, int n_q_eras, int read_in, int D,
                                 int n_ctx, int n_query, int embargo, int window, double feature_dropout,
                                 uint64_t seed, uint64_t task_index, float *x, float *y, uint8_t *mask, int *d,
                                 ef_error *err);

// ---- prediction of one era by one model ---------------------------------------------------------

/* The resolved prediction options of one model. */
typedef struct ef_numerai_era_opts {
    int read_in, members, context_rows, embargo, window;
    uint64_t seed;
    double feature_dropout;   /* WIDE: each member masks this share of the features */
} ef_numerai_era_opts;

/* Predicts every row of query era qe of qt (its rows in order) with o->members members, each
 * with its own context sample from ct (eras allowed by the embargo rule and the window) and,
 * in SUBSET mode, its own feature subset. Members are gaussianized, averaged and ranked into
 * (0, 1]: out gets one value per row of the era. cache: created for m with max_ctx >=
 * o->context_rows (not shared with another thread during the call). An era without allowed
 * context: EF_ERR_INVALID. */
ef_status ef_numerai_era_predict(ef_model *m, ef_rows_cache *cache, const ef_tasks *ct, const ef_tasks *qt, int qe,
                                 const ef_numerai_era_opts *o, double *out, ef_error *err);

// ---- finetune's data: the eras it trains and selects on, and its batches -------------------

/* What finetune reads and how it chooses eras. */
typedef struct ef_numerai_ft_opts {
    const char *train;           /* train data (parquet or CSV) */
    const char *validation;      /* validation data (not read when holdout > 0) */
    const char *features_json;   /* Numerai's features.json */
    const char *feature_set;     /* set name(s) or features (ef_features_json_select) */
    const char *targets;         /* one target, or weighted t1=w1,t2=w2 (ef_numerai_targets_parse) */
    const char *eval_target;     /* the target of the selection CORR */
    int holdout;                 /* > 0: the N newest train eras select instead of validation */
    int embargo;                 /* eras between context and query era (< 0: the targets' default) */
    int window;                  /* context from the N newest allowed eras (0 = all the past) */
    int context_rows;            /* a query era needs this many labelled rows of allowed context */
    int era_every;               /* query eras: every N-th, oldest first (<= 1: all) */
    int eval_eras;               /* selection: the N newest usable eras (0 = all) */
    int groups;                  /* add one input per feature group (the row's mean over it) */
    int transform;               /* the ef_feature_transform of the inputs */
} ef_numerai_ft_opts;

/* This rank's share of the data and the eras chosen from it. */
typedef struct ef_numerai_ft_data {
    ef_numerai_targets tg;       /* the training targets and weights */
    char **feat;                 /* the selected features (n_feat) */
    int n_feat;
    int eval_col;                /* the eval target's column in ds */
    int embargo;                 /* resolved */
    ef_dataset ds;               /* this rank's eras of the files */
    float *y;                    /* the engineered training target, one per row */
    ef_tasks tasks;              /* the encoded inputs and the embargo index */
    int *q_eras, n_q;            /* query (train) eras: indices into ds.eras, oldest first */
    int *v_eras, n_v;            /* selection eras: indices into ds.eras */
    int n_groups, *group_off, *group_idx;   /* feature groups (groups) */
    double *pred_buf, *tgt_buf;  /* one era's predictions and targets (ef_numerai_ft_evaluate) */
} ef_numerai_ft_data;

/* Loads rank dist->rank's interleaved share of the eras (dist NULL: one process, all eras):
 * features, targets (engineered), tasks; then the query eras (train eras with resolved targets
 * and o->context_rows labelled rows behind the embargo) and the selection eras (validation eras,
 * or with o->holdout the N newest train eras over all ranks, the query eras then ending the
 * embargo before them; each with >= 2 and at least half resolved eval-target values and some
 * allowed context). Several ranks need dist->gather. No query or no selection era:
 * EF_ERR_INVALID saying what to change. *d is zeroed first; free it with ef_numerai_ft_free. */
ef_status ef_numerai_ft_load(ef_numerai_ft_data *d, const ef_numerai_ft_opts *o, const ef_trainer_dist *dist,
                             ef_error *err);
void ef_numerai_ft_free(ef_numerai_ft_data *d);
/* Mean and std of the per-era CORR (ef_metrics_numerai_corr of the eval target's resolved rows)
 * over every rank's selection eras, each predicted by ef_numerai_era_predict with po (context
 * from the era's own rank's data). The scores are gathered in rank order, so every rank gets the
 * same values. */
ef_status ef_numerai_ft_evaluate(ef_numerai_ft_data *d, ef_model *m, ef_rows_cache *cache,
                                 const ef_numerai_era_opts *po, const ef_trainer_dist *dist, double *mean,
                                 double *sd, int *n_eras, ef_error *err);

/* finetune's batches: task b of step s on rank q of P is task (s·P + q)·batch + b of the stream
 * seed (ef_numerai_task_sample), so a batch does not depend on threads or timing. A thread
 * samples the next step's batch while the caller trains on the current one. */
typedef struct ef_numerai_loader_opts {
    int batch;                   /* tasks per step */
    int read_in, D;              /* ef_numerai_read_in, the model's input width d_max */
    int context_rows, query_rows, embargo, window;
    double feature_dropout;
    uint64_t seed;
    int rank, ranks;             /* this rank, the number of ranks (1 without data parallelism) */
} ef_numerai_loader_opts;

/* One step's tasks: x (batch, k, D), y (batch, k), mask (batch, k, D), d (batch), with
 * k = context_rows + query_rows. */
typedef struct ef_numerai_batch {
    float *x, *y;
    uint8_t *mask;
    int *d;
} ef_numerai_batch;

typedef struct ef_numerai_loader ef_numerai_loader;

/* A loader over d's tasks and query eras (d must outlive it). */
ef_status ef_numerai_loader_create(ef_numerai_loader **out, const ef_numerai_ft_data *d,
                                   const ef_numerai_loader_opts *o, ef_error *err);
/* Starts sampling step's batch (in a thread; in the caller when no thread can start). */
void ef_numerai_loader_start(ef_numerai_loader *L, long step);
/* Waits for the batch being sampled; *bt points at it until the next take. */
ef_status ef_numerai_loader_take(ef_numerai_loader *L, const ef_numerai_batch **bt, ef_error *err);
/* Seconds the caller has waited in ef_numerai_loader_take. */
double ef_numerai_loader_wait_s(const ef_numerai_loader *L);
/* Joins a running sample and frees L (NULL is fine). */
void ef_numerai_loader_destroy(ef_numerai_loader *L);

// ---- models and the predict pipeline ---------------------------------------------------------------

/* Fine-tuned models to predict with (one or several, ensembled), all reading the same inputs
 * (features, targets, encoding, read-in). Opaque; ef_numerai_model_destroy frees it. After
 * loading it is only read: concurrent ef_numerai_predict calls on one model are safe. */
typedef struct ef_numerai_model ef_numerai_model;

#define EF_NUMERAI_MAX_MODELS 64

/* Expands a model spec: comma-separated checkpoints (written by finetune) and model
 * directories (written by `eraformer train`: replaced by their members, each checked against
 * the manifest's size and CRC-32). *paths is an ef_strlist (ef_strlist_free(*paths, *n)).
 * Errors name the directory or member; more than EF_NUMERAI_MAX_MODELS: EF_ERR_INVALID. */
ef_status ef_numerai_model_paths(const char *spec, char ***paths, int *n, ef_error *err);
/* Loads n checkpoints (weights and contract, ef_numerai_checkpoint_load). Models that read
 * different features, targets, encodings or read-ins: EF_ERR_INVALID naming both files. */
ef_status ef_numerai_model_load_paths(ef_numerai_model **out, const char *const *paths, int n, ef_error *err);
/* ef_numerai_model_paths, then ef_numerai_model_load_paths: `predict --model SPEC`. */
ef_status ef_numerai_model_load(ef_numerai_model **out, const char *spec, ef_error *err);
void ef_numerai_model_destroy(ef_numerai_model *nm);
/* The number of models (checkpoints), a model's path and its contract (0 <= i < count; the
 * inputs of model 0 are every model's). Owned by nm. */
int ef_numerai_model_count(const ef_numerai_model *nm);
const char *ef_numerai_model_path(const ef_numerai_model *nm, int i);
const ef_numerai_contract *ef_numerai_model_contract(const ef_numerai_model *nm, int i);

/* Options of a prediction; ef_numerai_predict_opts_init sets the defaults (every model's own). */
typedef struct ef_numerai_predict_opts {
    int members;        /* ensemble members per era and model; 0 = each model's contract */
    int context_rows;   /* context rows per member; 0 = each model's */
    int embargo;        /* eras between the newest context era and a numbered era; < 0 = each model's */
    int window;         /* context from the newest `window` allowed eras; 0 = all; < 0 = each model's */
    int has_seed;       /* 1: seed replaces each model's member seed */
    uint64_t seed;
    int threads;        /* OpenMP threads of this call (then restored); 0 = the caller's setting.
                         * Results are bitwise the same for any thread count. */
    /* called after each era is predicted (in the calling thread), or NULL */
    void (*on_era)(void *ctx, int era, int64_t rows_done);
    void *ctx;
} ef_numerai_predict_opts;
void ef_numerai_predict_opts_init(ef_numerai_predict_opts *o);
/* Model i's options after o's overrides. */
void ef_numerai_predict_resolve(const ef_numerai_model *nm, int i, const ef_numerai_predict_opts *o,
                                ef_numerai_era_opts *eo);

/* Loads the files to predict (parquet, or CSV by name) into data (caller-owned,
 * ef_dataset_free): the models' features, no targets. */
ef_status ef_numerai_data_load(const ef_numerai_model *nm, const char *const *paths, int n, ef_dataset *data,
                               ef_error *err);
/* Loads the labelled context files into context: the models' features and targets. When
 * every era of data (may be NULL) is live and every model has a window (after o's
 * overrides; o may be NULL), only the newest max(window) + 32 numbered eras are read (the
 * newest validation eras may be unresolved); the predictions are the same as with all. */
ef_status ef_numerai_context_load(const ef_numerai_model *nm, const ef_dataset *data,
                                  const ef_numerai_predict_opts *o, const char *const *paths, int n,
                                  ef_dataset *context, ef_error *err);

/* Predicts every row of data: pred[r] for row r (data's row order: eras in numeric order).
 * Each era: every model's K-member context ensemble (ef_numerai_era_predict) from the
 * engineered target of context (eras allowed by the embargo rule; a live era gets the newest
 * resolved eras); with several models their era predictions are gaussianized, averaged and
 * ranked into (0, 1] again. data and context must hold the contract's features, context its
 * targets (else EF_ERR_INVALID). An era without allowed context: EF_ERR_INVALID. o NULL:
 * defaults. Deterministic: the same inputs and seed give the same bits for any threads. */
ef_status ef_numerai_predict(const ef_numerai_model *nm, const ef_dataset *data, const ef_dataset *context,
                             const ef_numerai_predict_opts *o, double *pred, ef_error *err);

/* For bindings that do not mirror struct ef_dataset (Python's ctypes): a zeroed dataset on the
 * heap to pass to the loaders above (or to ef_dataset_from_arrays, data.h, for frames in
 * memory), its row count and ids (owned by ds), and its release. */
ef_status ef_numerai_dataset_create(ef_dataset **out, ef_error *err);
int64_t ef_numerai_dataset_rows(const ef_dataset *ds);
/* ids[r] = row r's id for every row (ids: ds's row count entries; pointers into ds). */
void ef_numerai_dataset_ids(const ef_dataset *ds, const char **ids);
void ef_numerai_dataset_destroy(ef_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif
