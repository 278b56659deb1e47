/* eraformer finetune, split by concern: the options and the run's state (this header), the
 * data's report (finetune_data.c) and the command with its training loop (cmd_finetune.c).
 * The data (eras, query and selection eras, the selection CORR) and the batch loader are the
 * library's (ef_numerai_ft_*, ef_numerai_loader_* in src/numerai), the optimiser its trainer
 * (ef_trainer_*). Private to the CLI. */
#ifndef EF_CLI_FINETUNE_H
#define EF_CLI_FINETUNE_H

#include <stdint.h>
#include <stdio.h>
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
    ef_trainer_dist td;         /* the same ranks as the library's hooks (dist.c) */
    ef_numerai_ft_data d;       /* this rank's eras, query and selection eras (src/numerai) */
    ef_model *m;
    ef_rows_cache *cache;
    ef_trainer tr;              /* the step, --ema's average, the best CORR and patience */
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

/* ---- finetune_data.c: what the CLI prints about the data (ef_numerai_ft_load loads it) ---- */
/* One JSONL record per rank (its eras and rows) in rank 0's log, and a line on stderr. */
ef_status ft_report_shards(const ft_run *r, FILE *logf, ef_error *err);
/* {"query_eras":[...],"selection_eras":[...]} (era numbers of this rank) into the log. */
void ft_report_eras(const ft_run *r, FILE *logf);
void ft_run_free(ft_run *r);

#endif
