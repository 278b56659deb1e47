/* eraformer model: the in-context-learning transformer (GPT-2 pre-LN blocks) in two token
 * layouts, AdamW, and safetensors checkpoints.
 *
 *   interleaved (Garg et al. 2022): tokens x1, y1, x2, y2, ... (T = 2k), y padded to the x
 *     width, one shared linear read-in, learned positions, causal mask; the prediction for
 *     y_i is read at x_i's position; the loss averages every prefix.
 *   rows (TabPFN-style encoder): one token per row (T = k); embedding = W·x (+ y·w_y + e_ctx
 *     for the first n_ctx labelled rows, + e_query for the others); no positions
 *     (permutation-equivariant); context rows attend each other, query rows attend the
 *     context and themselves; the loss is on the query rows.
 * Input width d <= d_max: features beyond d are zero, observed values are scaled by
 * sqrt(d_max/d) so the input scale does not depend on d; a feature mask (1 = observed) routes
 * missing values through a learned missing-indicator read-in.
 *
 * Memory: parameters, gradients, AdamW m and v are one contiguous block each; activations
 * are sized once for (max_B, max_k) by ef_model_create; forward/backward never allocate. */
#ifndef EF_MODEL_H
#define EF_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"
#include "eraformer/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ef_layout { EF_LAYOUT_INTERLEAVED = 0, EF_LAYOUT_ROWS = 1 } ef_layout;

const char *ef_layout_name(ef_layout l);
ef_status ef_layout_parse(const char *s, ef_layout *out, ef_error *err);

typedef struct ef_model_config {
    ef_layout layout;
    int n_layer;
    int d_model;     /* C */
    int n_head;      /* NH, divides C */
    int d_max;       /* input features per row */
    int max_points;  /* k: rows per sequence (interleaved: positions = 2k) */
    int row_positions; /* rows layout only: 1 = a learned embedding per row index 0..k-1, for
                        * time-ordered tasks (the order of the rows becomes visible; such a model
                        * sees at most max_points rows and is not served by ef_rows_cache);
                        * 0 = permutation-invariant rows (TabPFN), the default */
} ef_model_config;

/* Validates ranges and divisibility. */
ef_status ef_model_config_check(const ef_model_config *cfg, ef_error *err);

/* Parameter tensors in block order. */
enum {
    EF_P_WIN, EF_P_BIN, EF_P_WPE, EF_P_WY, EF_P_ECTX, EF_P_EQUERY,
    EF_P_LN1W, EF_P_LN1B, EF_P_QKVW, EF_P_QKVB, EF_P_ATTPROJW, EF_P_ATTPROJB,
    EF_P_LN2W, EF_P_LN2B, EF_P_FCW, EF_P_FCB, EF_P_FCPROJW, EF_P_FCPROJB,
    EF_P_LNFW, EF_P_LNFB, EF_P_WOUT, EF_P_BOUT,
    EF_NPARAM_TENSORS
};

typedef struct ef_param_info {
    const char *name;  /* safetensors name */
    int ndim;
    int64_t shape[3];
    size_t offset, size;  /* in floats within the block */
} ef_param_info;

/* One batch of sequences. x (B,k,d_max) row-major; y (B,k); mask (B,k,d_max) 1 = observed
 * or NULL (all observed); d (B) active widths or NULL (= d_max). For the rows layout the
 * first n_ctx rows of each sequence are labelled context, the rest are queries; n_ctx is
 * ignored by the interleaved layout. y of query rows is only used by the loss. */
typedef struct ef_batch {
    int B, k, n_ctx;
    const float *x;
    const float *y;
    const uint8_t *mask;
    const int *d;
} ef_batch;

typedef struct ef_adamw {
    float lr, beta1, beta2, eps, weight_decay;
} ef_adamw;

typedef struct ef_model ef_model;

/* Creates a model with parameters initialised GPT-2 style (N(0, 0.02), biases 0,
 * LayerNorm weights 1; residual projections N(0, 0.02/sqrt(2L))) from seed, and activation
 * memory for batches up to max_B sequences of up to cfg->max_points rows. */
ef_status ef_model_create(ef_model **out, const ef_model_config *cfg, int max_B, uint64_t seed, ef_error *err);
void ef_model_destroy(ef_model *m);

const ef_model_config *ef_model_cfg(const ef_model *m);
size_t ef_model_num_params(const ef_model *m);
float *ef_model_params(ef_model *m);     /* the contiguous parameter block */
/* Copies every non-empty parameter tensor of src whose size equals dst's into dst (warm
 * starts: pretrain --init, finetune --base); returns a bitmask (1u << EF_P_*) of the
 * non-empty dst tensors that were NOT copied, which the caller initialises its own way. */
unsigned ef_model_copy_matching(ef_model *dst, ef_model *src);
/* Copies src into dst, where dst has src's architecture except possibly more layers (and
 * row positions where src has none): dst's first layers are src's; each further block keeps
 * its fresh initialisation but with zero output projections (attention and MLP), so that dst
 * computes exactly src's function and every new weight still receives a gradient. A tensor
 * src lacks starts at zero. Depth growth for pretrain --init --layers. */
ef_status ef_model_copy_grow(ef_model *dst, ef_model *src, ef_error *err);
float *ef_model_grads(ef_model *m);      /* the contiguous gradient block */
const ef_param_info *ef_model_param_info(const ef_model *m, int i);  /* i < EF_NPARAM_TENSORS */
int ef_model_max_batch(const ef_model *m);

/* Forward pass. pred (B,k) receives the prediction for every row (may be NULL). Returns the
 * loss in *loss (may be NULL): MSE over all k points (interleaved) or over query rows (rows). */
ef_status ef_model_forward(ef_model *m, const ef_batch *batch, float *pred, double *loss, ef_error *err);
/* Symmetry ensemble (test time): the mean of `members` forward passes; member 0 is the batch
 * as given, member e > 0 sees each task b with its first d[b] input columns (all d_max when
 * batch->d is NULL) permuted and sign-flipped and its labels sign-flipped, all drawn from
 * (ef_hash64(seed, task0 + b), e), and its predictions flipped back. members = 1 is exactly
 * ef_model_forward. pred (B,k) as in ef_model_forward; pred_first (B,k; may be NULL)
 * receives member 0's predictions, i.e. the single pass, at no extra cost. */
ef_status ef_model_forward_sym(ef_model *m, const ef_batch *batch, int members, uint64_t seed, uint64_t task0,
                               float *pred, float *pred_first, ef_error *err);
/* The member's view of a batch: x (B,k,D), y (B,k), mask (B,k,D; may be NULL, then not
 * written; all observed where batch->mask is NULL) and the label sign per task ysign (B);
 * perm is scratch of D ints. */
void ef_sym_transform(const ef_batch *batch, int member, uint64_t seed, uint64_t task0, int D, int *perm, float *x,
                      float *y, uint8_t *mask, float *ysign);
/* Zeroes the gradient block. */
void ef_model_zero_grad(ef_model *m);
/* Backward of the last forward's loss; accumulates into the gradient block. */
ef_status ef_model_backward(ef_model *m, ef_error *err);
/* Backward of any loss of the last forward's predictions: dpred (B,k) = dLoss/dpred in the
 * layout of ef_model_forward's pred (e.g. a per-era correlation loss); accumulates into the
 * gradient block. With dpred the gradient of the MSE it equals ef_model_backward. */
ef_status ef_model_backward_dpred(ef_model *m, const float *dpred, ef_error *err);
/* Scales gradients so their global L2 norm is at most max_norm (no-op if max_norm <= 0);
 * returns the norm before clipping. */
double ef_model_clip_grad(ef_model *m, double max_norm);
/* One AdamW step (bias-corrected, decoupled weight decay on matrices only). step counts
 * from 1 and is stored in the model. */
void ef_model_adamw_step(ef_model *m, const ef_adamw *opt);
long ef_model_step(const ef_model *m);

/* Learning rate at step s: linear warmup over warmup steps, then cosine decay to
 * min_ratio·lr at total steps. */
float ef_lr_schedule(float lr, long step, long warmup, long total, float min_ratio);

/* FLOPs of one forward pass of a batch (matmuls and attention, 2 per multiply-add). */
double ef_model_forward_flops(const ef_model_config *cfg, int B, int k);

// ---- rows-layout inference with a context cache (TabPFN's trick) ----------------------
/* The labelled context rows are encoded once (their keys and values at every layer are
 * kept); then any number of query rows are predicted, each attending the cached context
 * and itself. Gives the same predictions as ef_model_forward with the queries appended
 * after the context, in O(n_ctx² + n_query·n_ctx) time and without (T,T) attention
 * buffers. The model is only read: several caches may be used from several threads. */
typedef struct ef_rows_cache ef_rows_cache;

/* For a rows-layout model, contexts of up to max_ctx rows. */
ef_status ef_rows_cache_create(ef_rows_cache **out, const ef_model *m, int max_ctx, ef_error *err);
void ef_rows_cache_destroy(ef_rows_cache *c);
/* x (n_ctx, d_max), y (n_ctx), mask (n_ctx, d_max) or NULL; d active widths (1..d_max). */
ef_status ef_rows_cache_set_context(ef_rows_cache *c, const float *x, const float *y, const uint8_t *mask,
                                    int d, int n_ctx, ef_error *err);
/* xq (n_q, d_max), mask or NULL -> pred (n_q). Any n_q (processed in chunks). */
ef_status ef_rows_cache_predict(ef_rows_cache *c, const float *xq, const uint8_t *mask, int d, int n_q,
                                float *pred, ef_error *err);
/* The same in two halves, for query rows that several contexts share (ensemble members that
 * differ only in their context sample): emb (n_q, d_model) <- the queries' input embeddings
 * (read-in, bias, query embedding; independent of the context), then any number of
 * predictions from them. Together they give exactly ef_rows_cache_predict's values. */
ef_status ef_rows_cache_embed_queries(ef_rows_cache *c, const float *xq, const uint8_t *mask, int d, int n_q,
                                      float *emb, ef_error *err);
ef_status ef_rows_cache_predict_embedded(ef_rows_cache *c, const float *emb, int n_q, float *pred, ef_error *err);

// ---- checkpoints (safetensors) --------------------------------------------------------
/* Training state saved with the weights so that training resumes exactly. */
typedef struct ef_train_state {
    long step;
    uint64_t seed;
    ef_rng rng;           /* the data stream */
    char extra[2048];     /* free-form JSON object (command line, curriculum ...) or "" */
} ef_train_state;

/* Writes weights (+ AdamW moments and state when with_optim) atomically
 * (temp file, fsync, rename). The model config goes into the header's __metadata__. */
ef_status ef_model_save(ef_model *m, const char *path, const ef_train_state *st, int with_optim, ef_error *err);
/* Loads a checkpoint: creates the model from the file's config (max_B as given), fills
 * weights, and optimiser state and *st when present (st may be NULL). Every header value,
 * offset and shape is validated; a bad file yields EF_ERR_FORMAT naming file and offset. */
ef_status ef_model_load(ef_model **out, const char *path, int max_B, ef_train_state *st, int *has_optim, ef_error *err);

/* A model's contract: what its user must feed it (for finetune's models the features, their
 * encoding and the targets, as JSON text). It is stored in the checkpoint itself, as the
 * string value __metadata__[EF_MODEL_CONTRACT_KEY] (safetensors metadata values are strings),
 * so weights and contract are one file, written atomically together. docs/formats.md. */
#define EF_MODEL_CONTRACT_KEY "eraformer.contract"
/* ef_model_save with a contract: contract (NULL = none: then exactly ef_model_save) must be
 * UTF-8 JSON text; it is stored verbatim, and only read. Not UTF-8 or not JSON: EF_ERR_INVALID,
 * nothing is written. A header past 64 MiB with it: EF_ERR_INVALID. Same atomic write (temp
 * file, fsync, rename, fsync of the folder): a crash leaves the old file or the new one. */
ef_status ef_model_save_contract(ef_model *m, const char *path, const ef_train_state *st, int with_optim,
                                 const char *contract, ef_error *err);
/* ef_model_load that also returns the contract: *contract = an ef_malloc'd NUL-terminated copy
 * (the caller frees it with ef_free), or NULL when the file has none (written by ef_model_save
 * or before contracts existed). contract may be NULL. Weights and contract come from one read
 * of the file, so they belong together even if the file is replaced meanwhile. On error *out
 * and *contract are NULL. The contract is not parsed: its JSON is the caller's to check. A
 * contract value that is not a string is EF_ERR_FORMAT (ef_model_load refuses it too). */
ef_status ef_model_load_contract(ef_model **out, const char *path, int max_B, ef_train_state *st, int *has_optim,
                                 char **contract, ef_error *err);
/* Only the contract, reading only the header (not the weights): *contract as in
 * ef_model_load_contract (ef_free it; NULL when absent). Checks the header length, its JSON
 * and the format tag; not the config or the tensors (ef_model_load does). */
ef_status ef_model_read_contract(const char *path, char **contract, ef_error *err);

// ---- the trainer: what every training command does around forward and backward -------
/* One trainer serves pretrain and finetune. The caller runs forward and backward for step s
 * (its own data), then ef_trainer_step averages the gradients over the data-parallel ranks,
 * clips their global norm, sets the learning rate of the schedule, takes the AdamW step and
 * updates the weight average (EMA). The trainer also keeps the early-stopping bookkeeping
 * (best value, its step, evaluations since) and writes resumable checkpoints. It never prints
 * and does not link MPI: the ranks are reached through the hooks of ef_trainer_dist (the CLI
 * implements them over MPI). Everything it computes is bitwise the same for any thread count. */

/* Data parallelism. size 1 (or a NULL ef_trainer_dist): one process, no hook is called.
 * grad_mean, sum and gather return 0 on success. */
typedef struct ef_trainer_dist {
    int rank, size;     /* this process's rank, the number of ranks */
    void *ctx;          /* passed to every hook */
    /* In place: buf (n floats) <- its average over the ranks, the same on every rank. */
    int (*grad_mean)(void *ctx, float *buf, size_t n);
    /* In place: v (n doubles) <- its sum over the ranks. */
    int (*sum)(void *ctx, double *v, int n);
    /* 1 when every rank passed the same v, else 0 (a parameter checksum). */
    int (*same)(void *ctx, double v);
    /* Every rank's n elements of elem bytes, concatenated in rank order into *all (ef_malloc'd,
     * the caller ef_frees it) of *n_all elements; counts (may be NULL) gets the size per-rank
     * counts. Not used by the trainer (finetune's data gathers eras and scores with it). */
    int (*gather)(void *ctx, const void *mine, int n, size_t elem, void **all, int *n_all, int *counts);
} ef_trainer_dist;

typedef struct ef_trainer_config {
    double lr;             /* peak learning rate */
    long warmup;           /* linear warmup steps */
    long steps;            /* the schedule's length: cosine decay from warmup to steps */
    double min_lr_ratio;   /* the cosine's floor as a fraction of lr */
    double weight_decay;   /* AdamW decoupled decay (matrices only) */
    double clip;           /* global gradient-norm clip (0 = off) */
    double ema;            /* decay of the weight average (0 = no average) */
    int patience;          /* evaluations without improvement that stop training (0 = never) */
} ef_trainer_config;

/* AdamW's betas and epsilon, the same for every command. */
#define EF_TRAINER_BETA1 0.9f
#define EF_TRAINER_BETA2 0.95f
#define EF_TRAINER_EPS 1e-8f
/* With more than one rank: steps between the parameter checksums that every rank compares. */
#define EF_TRAINER_CHECK_EVERY 100

typedef struct ef_trainer {
    ef_model *m;               /* not owned */
    ef_trainer_config cfg;
    ef_trainer_dist dist;
    ef_adamw opt;              /* opt.lr: the rate of the last step */
    float *ema, *swap;         /* the weight average and a swap buffer (cfg.ema > 0) */
    double best;               /* the best evaluation (-INFINITY before the first) */
    long best_step;            /* the step it was made at */
    int bad;                   /* evaluations since the best (counted toward patience) */
    double comm_s;             /* seconds spent in the gradient hook */
} ef_trainer;

/* Prepares t for model m (which it does not own) with cfg and dist (NULL = one process).
 * With cfg->ema > 0 the average starts as m's current weights. */
ef_status ef_trainer_init(ef_trainer *t, ef_model *m, const ef_trainer_config *cfg, const ef_trainer_dist *dist,
                          ef_error *err);
/* Frees the weight average; t may be zeroed or initialised. */
void ef_trainer_free(ef_trainer *t);
/* The learning rate of step (0-based): ef_lr_schedule(cfg.lr, step, cfg.warmup, cfg.steps,
 * cfg.min_lr_ratio). */
float ef_trainer_lr(const ef_trainer *t, long step);
/* After forward and backward of step (0-based): averages the gradients over the ranks, clips
 * them to cfg.clip, takes the AdamW step at ef_trainer_lr(step) and updates the average
 * (decay min(cfg.ema, (1 + step) / (10 + step)): short memory at first). loss (may be NULL):
 * this rank's loss in, the mean over ranks out. *gnorm (may be NULL): the norm before
 * clipping. With more than one rank, every EF_TRAINER_CHECK_EVERY steps the ranks compare a
 * parameter checksum. A failing hook or checksum: EF_ERR_IO / EF_ERR_INVALID. */
ef_status ef_trainer_step(ef_trainer *t, long step, double *loss, double *gnorm, ef_error *err);
/* Exchanges the model's weights and the average (twice restores); no-op without one.
 * Evaluate and save the averaged weights between two swaps. */
void ef_trainer_ema_swap(ef_trainer *t);
/* Records an evaluation (higher is better) made after step steps; returns 1 when it is a new
 * best (then best, best_step are set). A regular one (final 0) resets or increments the count
 * toward cfg.patience; a final one (after training stopped between evaluations) does not
 * count, and is a best also when no evaluation was finite before. */
int ef_trainer_record(ef_trainer *t, double value, long step, int final);
/* 1 when cfg.patience evaluations in a row brought no improvement. */
int ef_trainer_should_stop(const ef_trainer *t);
/* The bookkeeping as JSON members for a checkpoint's extra (no braces):
 * "best_corr":..,"best_step":..,"bad_evals":..,"elapsed_s":.. (a best of -INFINITY is
 * written as -1e300). Returns snprintf's count. */
int ef_trainer_state_json(const ef_trainer *t, double elapsed_s, char *buf, size_t n);
/* Resumes from a checkpoint's state: the bookkeeping from st->extra (absent members keep the
 * fresh values), *elapsed_s (may be NULL) the seconds trained before. Returns st->step. */
long ef_trainer_resume(ef_trainer *t, const ef_train_state *st, double *elapsed_s);
/* The training loop both commands run; the command's work is in callbacks (ctx is theirs). */
typedef struct ef_trainer_step_info {
    long steps;            /* steps done, the one just taken included */
    double loss;           /* its loss (the mean over ranks with mean_loss, else this rank's) */
    double grad_norm;      /* the gradient norm before clipping */
    float lr;              /* the learning rate it was taken at */
} ef_trainer_step_info;

typedef struct ef_trainer_loop {
    void *ctx;
    long eval_every;       /* evaluate after every N steps and after the last of cfg.steps (0: never) */
    long checkpoint_every; /* checkpoint after every N steps except the last of cfg.steps (0: never) */
    int mean_loss;         /* average the loss over the ranks (else each rank keeps its own) */
    /* Before step (0-based): nonzero stops the loop there and is returned as the reason (< 0 is
     * reserved). NULL: never. */
    int (*stop)(void *ctx, long step);
    /* Forward and backward of step's batch, zeroing the gradients first; *loss: its loss. */
    ef_status (*gradients)(void *ctx, long step, double *loss, ef_error *err);
    /* After each step (progress line, log). NULL: nothing. */
    ef_status (*progress)(void *ctx, const ef_trainer_step_info *info, ef_error *err);
    /* An evaluation after steps steps; it may ef_trainer_record, and save. NULL: none. */
    ef_status (*evaluate)(void *ctx, long steps, ef_error *err);
    /* A periodic checkpoint after steps steps. NULL: none. */
    ef_status (*checkpoint)(void *ctx, long steps, ef_error *err);
} ef_trainer_loop;

/* ef_trainer_run's reason for stopping early: cfg.patience evaluations without improvement. */
#define EF_TRAINER_EARLY_STOP (-1)

/* Runs steps start .. end - 1: stop, gradients, ef_trainer_step, progress, then the evaluation
 * and the checkpoint when due; after an evaluation that makes ef_trainer_should_stop true the
 * loop ends. *steps_done: the steps done when it ended; *reason: 0 (end reached),
 * EF_TRAINER_EARLY_STOP or the stop callback's value. A failing callback or step ends it with
 * that status. */
ef_status ef_trainer_run(ef_trainer *t, const ef_trainer_loop *lp, long start, long end, long *steps_done, int *reason,
                         ef_error *err);
/* Rank 0 writes the model (weights, AdamW moments and state: step, seed, the data stream
 * keyed by (seed, step), extra) to path atomically; other ranks write nothing. */
ef_status ef_trainer_save(const ef_trainer *t, const char *path, long step, uint64_t seed, const char *extra,
                          ef_error *err);

#ifdef __cplusplus
}
#endif
#endif
