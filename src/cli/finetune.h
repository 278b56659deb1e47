/* eraformer finetune, split by concern: the options and the run's state (this header), the
 * data side (finetune_data.c: loading, query/validation eras, validation CORR, shard report),
 * the batch loader thread (finetune_loader.c) and the command with its training loop
 * (cmd_finetune.c). Private to the CLI. */
#ifndef EF_CLI_FINETUNE_H
#define EF_CLI_FINETUNE_H

#include <pthread.h>
#include <stdint.h>
#include "cli/dist.h"
#include "eraformer/numerai.h"
#include "eraformer/data.h"
#include "eraformer/model.h"

typedef struct ft_opts {
    const char *train, *validation, *fjson, *fset, *target, *targets, *eval_target, *base, *out, *resume, *log;
    int read_in, layers, d_model, heads, d_max, ctx, query, batch, eval_members, eval_eras, patience, members, threads;
    int embargo, window, transform, groups, loss_corr, era_every;
    long steps, warmup, eval_every;
    double budget_min, lr, wd, fdrop, ema;
    uint64_t seed;
    int holdout;                /* > 0: the newest N train eras select (no --validation needed) */
    /* set by `train`: no progress line of its own; on_step after every step */
    int quiet;
    void (*on_step)(void *ctx, long step, double best_corr, double last_corr);
    void *hook_ctx;
} ft_opts;

typedef struct ft_run {
    ft_opts o;
    ef_dist *dist;              /* MPI ranks (size 1 without mpirun) */
    ef_numerai_targets tg;
    char **feat;
    int n_feat, eval_col, embargo;
    ef_dataset ds;
    float *y;                   /* engineered training target, one per row */
    ef_tasks tasks;
    int *q_eras, n_q, *v_eras, n_v;   /* query (train) eras, validation eras: indices into ds.eras */
    int n_groups, *group_off, *group_idx;
    ef_model *m;
    ef_rows_cache *cache;
    ef_trainer tr;              /* the step, --ema's average, the best CORR and patience */
    double *pred_buf, *tgt_buf;
    double elapsed_prev, t_start;   /* t_start: this process began (ef_time_now) */
} ft_run;

/* What a finetune run selected: its best selection CORR and step, the steps it ran, the
 * first and last selection era numbers, and the seconds it trained (over resumes). */
typedef struct ft_result {
    double best_corr, elapsed_s;
    long best_step, steps;
    int sel_first, sel_last, n_sel;
} ft_result;

/* Runs finetune with argv (argv[0] = "finetune") and hooks set in *hooks (quiet, on_step,
 * hook_ctx; may be NULL); single process. Returns the exit code; *res (may be NULL) the
 * result. Used by `train` (cmd_train.c). */
int ft_main_hooked(int argc, char **argv, const ft_opts *hooks, ft_result *res);

/* ---- finetune_data.c ---- */
/* Features, targets (engineered), tasks and the query/validation eras of this rank's shard. */
ef_status ft_load_data(ft_run *r, ef_error *err);
/* Mean and std of per-era CORR over every rank's validation eras, by the predict procedure. */
ef_status ft_evaluate(ft_run *r, double *mean, double *sd, int *n_eras, ef_error *err);
/* One JSONL record per rank (its eras and rows) in rank 0's log, and a line on stderr. */
ef_status ft_report_shards(const ft_run *r, FILE *logf, ef_error *err);
/* {"query_eras":[...],"selection_eras":[...]} (era numbers of this rank) into the log. */
void ft_report_eras(const ft_run *r, FILE *logf);
void ft_run_free(ft_run *r);

/* ---- finetune_loader.c: a thread samples the next step's tasks while this step trains ---- */
typedef struct ft_batch {
    float *x, *y;   /* [batch, k, D], [batch, k] */
    uint8_t *m;     /* [batch, k, D] feature present */
    int *d;         /* [batch] */
} ft_batch;

typedef struct ft_loader {
    const ft_run *r;
    int k, D;            /* rows per task, inputs per row */
    ft_batch buf[2];
    long step;           /* the step whose batch the thread is sampling */
    int cur, running;
    pthread_t th;
    ef_status st;
    ef_error err;
    double busy_s;       /* seconds the trainer waited for a batch */
} ft_loader;

ef_status ft_loader_init(ft_loader *L, const ft_run *r, int k, int D, ef_error *err);
/* Starts sampling step's batch into the other buffer (in a thread). */
void ft_loader_start(ft_loader *L, long step);
/* Waits for the batch being sampled and makes it the current one. */
ef_status ft_loader_take(ft_loader *L, ft_batch **bt, ef_error *err);
void ft_loader_free(ft_loader *L);

#endif
