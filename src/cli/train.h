/* eraformer train (cmd_train.c: options, members, the model directory; train_eval.c: the
 * train-era count, scoring --validation with the finished ensemble, the summary). Private
 * to the CLI. */
#ifndef EF_CLI_TRAIN_H
#define EF_CLI_TRAIN_H

#include <stdint.h>
#include "numerai/model_dir.h"
#include "eraformer/base.h"

#define TR_DEFAULT_MEMBERS 3
#define TR_MAX_AUTO_MEMBERS 8     /* without --members: more seeds while the budget lasts */
#define TR_MAX_ARGS 80             /* finetune argv of a member, --member-opts included */
#define TR_MIN_MEMBER_S 1.0       /* no member is started with less budget than this */
/* The recipe: finetune options of every member (recorded in the manifest; --member-opts come
 * after them and win). Regularised members on a fixed schedule: feature dropout 0.5 (each task,
 * and each predict member, masks half of the features: no row can be recognised by its whole
 * feature vector), weight decay 0.1, a low learning rate, 1,200 steps, selection every 200, and
 * one input per feature group of features.json (the row's mean over the group; none when the
 * file has no groups; --member-opts --no-feature-groups turns them off).
 * docs/finetune.md ("The recipe") has the measurements that chose it. */
#define TR_RECIPE                                                                                  \
    "--feature-dropout 0.5 --weight-decay 0.1 --lr 1e-4 --steps 1200 --eval-every 200 --patience 3 " \
    "--feature-groups"

typedef struct tr_opts {
    const char *train, *validation, *fjson, *fset, *target, *targets, *out, *base, *member_opts;
    int members, members_given, seed_given, holdout, embargo, threads, resume, ctx, query, batch;
    double budget_min;
    uint64_t seed;
    char base_path[1024];   /* --base, or the shipped base when it exists, or "" (fresh) */
} tr_opts;

/* Validation scores of the ensemble (Numerai CORR per era), from evaluate's summary.json. */
typedef struct tr_score {
    int eras, first_era, last_era;
    double corr_mean, corr_std, sharpe, max_drawdown;
} tr_score;

/* Number of distinct train eras (data_type train) in a data file. */
ef_status tr_count_train_eras(const char *path, int *n, ef_error *err);
/* Predicts --validation with the model directory (context: train + validation) into
 * DIR/validation/predictions.csv and scores it (DIR/validation/summary.json, per_era.csv).
 * Returns an exit code. */
int tr_score_validation(const tr_opts *o, const md_manifest *m, tr_score *sc, ef_error *err);
/* The JSON summary on stdout. sc may be NULL (no --validation). */
void tr_print_summary(const tr_opts *o, const md_manifest *m, const tr_score *sc, double seconds);

#endif
