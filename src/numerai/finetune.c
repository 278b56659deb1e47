/* finetune's data side (numerai.h): features and engineered targets of this rank's eras, the
 * query and selection eras, and the selection CORR by the predict procedure, gathered over
 * the ranks through the trainer's hooks (no MPI here). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/metrics.h"
#include "eraformer/numerai.h"

static const ef_trainer_dist one_rank = {0, 1, NULL, NULL, NULL, NULL, NULL};

/* dist's gather, or a copy of this rank's elements in one process. */
static int gather(const ef_trainer_dist *d, const void *mine, int n, size_t elem, void **all, int *n_all) {
    if (d->size > 1) return d->gather(d->ctx, mine, n, elem, all, n_all, NULL);
    *all = ef_malloc(n ? (size_t)n * elem : 1);
    *n_all = 0;
    if (!*all) return 1;
    if (n) memcpy(*all, mine, (size_t)n * elem);
    *n_all = n;
    return 0;
}

void ef_numerai_ft_free(ef_numerai_ft_data *d) {
    ef_tasks_free(&d->tasks);
    ef_dataset_free(&d->ds);
    ef_free(d->group_off); ef_free(d->group_idx);
    ef_free(d->y); ef_free(d->q_eras); ef_free(d->v_eras); ef_free(d->pred_buf); ef_free(d->tgt_buf);
    ef_strlist_free(d->feat, d->n_feat);
    ef_numerai_targets_free(&d->tg);
    memset(d, 0, sizeof *d);
}

static int cmp_int_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* The number of the oldest of the o->holdout newest train eras (era numbers, as the embargo
 * counts them), over every rank's shard. Refuses a holdout that leaves too few train eras
 * before it. */
static ef_status holdout_start(const ef_numerai_ft_data *d, const ef_numerai_ft_opts *o, const ef_trainer_dist *dist,
                               int *h0, ef_error *err) {
    int *mine = ef_malloc((size_t)(d->ds.n_eras + 1) * sizeof(int)), n = 0, *all = NULL, n_all = 0;
    EF_CHECK(mine, err, EF_ERR_NOMEM, "out of memory");
    for (int e = 0; e < d->ds.n_eras; e++)
        if (d->ds.row_type[d->ds.eras[e].start] == EF_DT_TRAIN) mine[n++] = d->ds.eras[e].num;
    int bad = gather(dist, mine, n, sizeof(int), (void **)&all, &n_all);
    ef_free(mine);
    EF_CHECK(!bad, err, EF_ERR_IO, "gathering the train eras over the ranks failed");
    int ok = n_all > o->holdout + EF_MAX(d->embargo, 1) + 1;
    if (ok) {
        qsort(all, (size_t)n_all, sizeof(int), cmp_int_desc);
        *h0 = all[o->holdout - 1];
    }
    ef_free(all);
    EF_CHECK(ok, err, EF_ERR_INVALID,
             "%s: --holdout-eras %d and an embargo of %d eras leave no train eras to train on (%d train eras)",
             o->train, o->holdout, d->embargo, n_all);
    return EF_OK;
}

/* Features, targets (engineered) and tasks of this rank's eras. */
static ef_status load_rows(ef_numerai_ft_data *d, const ef_numerai_ft_opts *o, const ef_trainer_dist *dist,
                           ef_error *err) {
    ef_features_json fj = {0};
    EF_TRY(ef_features_json_load(&fj, o->features_json, err));
    ef_status s = ef_features_json_select(&fj, o->feature_set, &d->feat, &d->n_feat, err);
    if (s == EF_OK && o->groups)
        s = ef_numerai_feature_groups(&fj, d->feat, d->n_feat, &d->n_groups, &d->group_off, &d->group_idx, err);
    ef_features_json_free(&fj);
    EF_TRY(s);
    EF_TRY(ef_numerai_targets_parse(&d->tg, o->targets, err));
    /* targets to load: the training targets and the evaluation target */
    const char *tnames[65];
    int nt = 0;
    EF_CHECK(d->tg.n <= 64, err, EF_ERR_INVALID, "at most 64 targets");
    for (int i = 0; i < d->tg.n; i++) tnames[nt++] = d->tg.names[i];
    int have = 0;
    for (int i = 0; i < nt; i++) have |= !strcmp(tnames[i], o->eval_target);
    if (!have) tnames[nt++] = o->eval_target;
    ef_load_options lo = {0};
    lo.features = (const char *const *)d->feat;
    lo.n_features = d->n_feat;
    lo.targets = tnames;
    lo.n_targets = nt;
    lo.era_shards = dist->size;   /* each rank reads only its interleaved share of eras */
    lo.era_shard = dist->rank;
    /* holdout: selection on the newest train eras; the validation file is not read */
    const char *paths[2] = {o->train, o->validation};
    EF_TRY(ef_dataset_load(&d->ds, paths, o->holdout ? 1 : 2, &lo, err));
    int tcol[64];
    for (int i = 0; i < d->tg.n; i++) {
        tcol[i] = ef_dataset_find_target(&d->ds, d->tg.names[i]);
        EF_CHECK(tcol[i] >= 0, err, EF_ERR_INVALID, "target '%s' is not in %s", d->tg.names[i], o->train);
    }
    d->eval_col = ef_dataset_find_target(&d->ds, o->eval_target);
    EF_CHECK(d->eval_col >= 0, err, EF_ERR_INVALID, "eval target '%s' is not in the data", o->eval_target);
    d->y = ef_malloc((size_t)(d->ds.n_rows > 0 ? d->ds.n_rows : 1) * sizeof(float));
    EF_CHECK(d->y, err, EF_ERR_NOMEM, "out of memory");
    EF_TRY(ef_numerai_target_engineer(&d->ds, tcol, d->tg.w, d->tg.n, d->y, err));
    EF_TRY(ef_tasks_init(&d->tasks, &d->ds, d->feat, d->n_feat, d->y, err));
    EF_TRY(ef_tasks_set_encoding(&d->tasks, (ef_feature_transform)o->transform, d->n_groups, d->group_off,
                                 d->group_idx, err));
    d->embargo = o->embargo >= 0 ? o->embargo : ef_tasks_default_embargo((const char *const *)d->tg.names, d->tg.n);
    return EF_OK;
}

/* Query eras: train eras that are resolved and have enough context behind the embargo;
 * selection eras: those with >= 2 eval-target values and some allowed context. *maxv: the
 * largest selection era's rows. */
static ef_status choose_eras(ef_numerai_ft_data *d, const ef_numerai_ft_opts *o, int h0, int64_t *maxv,
                             ef_error *err) {
    int E = d->ds.n_eras;
    d->q_eras = ef_malloc((size_t)E * sizeof(int));
    d->v_eras = ef_malloc((size_t)E * sizeof(int));
    int *tmp = ef_malloc((size_t)E * sizeof(int));
    if (!d->q_eras || !d->v_eras || !tmp) {
        ef_free(tmp);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    *maxv = 1;
    for (int e = 0; e < E; e++) {
        const ef_era *er = &d->ds.eras[e];
        int dt = d->ds.row_type[er->start];
        if (o->holdout && dt == EF_DT_TRAIN) {
            /* held-out eras select; query eras end the embargo before them (their targets
             * overlap the held-out ones otherwise) */
            if (er->num >= h0) dt = EF_DT_VALIDATION;
            else if (er->num > h0 - EF_MAX(d->embargo, 1)) continue;
        } else if (o->holdout) {
            continue;
        }
        int ne = ef_tasks_context_eras(&d->tasks, er->num, d->embargo, o->window, tmp);
        int64_t avail = 0;
        for (int i = 0; i < ne; i++) avail += d->tasks.lab_off[tmp[i] + 1] - d->tasks.lab_off[tmp[i]];
        if (dt == EF_DT_TRAIN && d->tasks.era_resolved[e] && avail >= o->context_rows) d->q_eras[d->n_q++] = e;
        if (dt == EF_DT_VALIDATION && ne > 0) {
            int64_t nv = 0;
            for (int64_t i = 0; i < er->count; i++) nv += !isnan(d->ds.y[(size_t)(er->start + i) * d->ds.n_targets + d->eval_col]);
            if (nv >= 2 && 2 * nv >= er->count) {
                d->v_eras[d->n_v++] = e;
                *maxv = EF_MAX(*maxv, er->count);
            }
        }
    }
    ef_free(tmp);
    return EF_OK;
}

ef_status ef_numerai_ft_load(ef_numerai_ft_data *d, const ef_numerai_ft_opts *o, const ef_trainer_dist *dist,
                             ef_error *err) {
    memset(d, 0, sizeof *d);
    if (!dist) dist = &one_rank;
    EF_CHECK(dist->size == 1 || dist->gather, err, EF_ERR_INVALID, "%d ranks need the gather hook", dist->size);
    EF_TRY(load_rows(d, o, dist, err));
    int h0 = INT32_MAX;   /* holdout: the oldest held-out era's number */
    if (o->holdout) EF_TRY(holdout_start(d, o, dist, &h0, err));
    int64_t maxv = 1;
    EF_TRY(choose_eras(d, o, h0, &maxv, err));
    if (o->era_every > 1) {   /* every N-th of (this rank's) query eras, oldest first */
        int n = 0;
        for (int i = 0; i < d->n_q; i += o->era_every) d->q_eras[n++] = d->q_eras[i];
        d->n_q = n;
    }
    if (o->eval_eras > 0 && d->n_v > o->eval_eras) {
        memmove(d->v_eras, d->v_eras + (d->n_v - o->eval_eras), (size_t)o->eval_eras * sizeof(int));
        d->n_v = o->eval_eras;
    }
    char shard[96] = "";
    if (dist->size > 1)
        snprintf(shard, sizeof shard, " in the eras of rank %d of %d (every %d-th era)", dist->rank, dist->size, dist->size);
    EF_CHECK(d->n_q > 0, err, EF_ERR_INVALID,
             "no train era%s has %d labelled context rows at least %d eras before it (use fewer --context-rows, "
             "a smaller --embargo or more train eras)", shard, o->context_rows, d->embargo);
    EF_CHECK(d->n_v > 0, err, EF_ERR_INVALID, "no validation era%s has resolved '%s' targets and context behind the embargo",
             shard, o->eval_target);
    d->pred_buf = ef_malloc((size_t)maxv * sizeof(double));
    d->tgt_buf = ef_malloc((size_t)maxv * sizeof(double));
    EF_CHECK(d->pred_buf && d->tgt_buf, err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

ef_status ef_numerai_ft_evaluate(ef_numerai_ft_data *d, ef_model *m, ef_rows_cache *cache,
                                 const ef_numerai_era_opts *po, const ef_trainer_dist *dist, double *mean,
                                 double *sd, int *n_eras, ef_error *err) {
    if (!dist) dist = &one_rank;
    double *c = ef_malloc((size_t)(d->n_v > 0 ? d->n_v : 1) * sizeof(double));
    EF_CHECK(c, err, EF_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < d->n_v; i++) {
        const ef_era *er = &d->ds.eras[d->v_eras[i]];
        ef_status s = ef_numerai_era_predict(m, cache, &d->tasks, &d->tasks, d->v_eras[i], po, d->pred_buf, err);
        if (s != EF_OK) {
            ef_free(c);
            return s;
        }
        size_t k = 0;
        for (int64_t j = 0; j < er->count; j++) {
            double t = d->ds.y[(size_t)(er->start + j) * d->ds.n_targets + d->eval_col];
            if (isnan(t)) continue;
            d->pred_buf[k] = d->pred_buf[j];
            d->tgt_buf[k++] = t;
        }
        double v;
        if (ef_metrics_numerai_corr(&v, d->pred_buf, d->tgt_buf, k, NULL, NULL) == EF_OK && isfinite(v)) c[n++] = v;
    }
    /* every rank scored its own eras: gather them all (rank order), so every rank computes
     * the same mean and makes the same early-stopping decision */
    double *all = NULL;
    int n_all = 0;
    int bad = dist->size > 1 && !dist->gather ? 1 : gather(dist, c, n, sizeof(double), (void **)&all, &n_all);
    ef_free(c);
    EF_CHECK(!bad, err, EF_ERR_IO, "gathering the validation CORR over the ranks failed");
    *mean = n_all ? ef_metrics_mean(all, (size_t)n_all) : NAN;
    *sd = n_all ? ef_metrics_std(all, (size_t)n_all) : NAN;
    *n_eras = n_all;
    ef_free(all);
    return EF_OK;
}
