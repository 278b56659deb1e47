/* finetune's data side: features and engineered targets of this rank's shard, the query and
 * validation eras, the validation CORR (the predict procedure, gathered over ranks) and the
 * shard report. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/finetune.h"
#include "eraformer/metrics.h"

void ft_run_free(ft_run *r) {
    ef_rows_cache_destroy(r->cache);
    ef_model_destroy(r->m);
    ef_trainer_free(&r->tr);
    ef_tasks_free(&r->tasks);
    ef_dataset_free(&r->ds);
    ef_free(r->group_off); ef_free(r->group_idx);
    ef_free(r->y); ef_free(r->q_eras); ef_free(r->v_eras); ef_free(r->pred_buf); ef_free(r->tgt_buf);
    ef_strlist_free(r->feat, r->n_feat);
    ef_numerai_targets_free(&r->tg);
}

static int cmp_int_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* The number of the oldest of the --holdout-eras newest train eras (era numbers, as the
 * embargo counts them), over every rank's shard. Refuses a holdout that leaves too few
 * train eras before it. */
static ef_status holdout_start(const ft_run *r, int *h0, ef_error *err) {
    const ft_opts *o = &r->o;
    int *mine = ef_malloc((size_t)(r->ds.n_eras + 1) * sizeof(int)), n = 0, *all = NULL, n_all = 0;
    EF_CHECK(mine, err, EF_ERR_NOMEM, "out of memory");
    for (int e = 0; e < r->ds.n_eras; e++)
        if (r->ds.row_type[r->ds.eras[e].start] == EF_DT_TRAIN) mine[n++] = r->ds.eras[e].num;
    int bad = ef_dist_allgatherv(r->dist, mine, n, sizeof(int), (void **)&all, &n_all, NULL);
    ef_free(mine);
    EF_CHECK(!bad, err, EF_ERR_IO, "MPI: gathering the train eras failed");
    int ok = n_all > o->holdout + EF_MAX(r->embargo, 1) + 1;
    if (ok) {
        qsort(all, (size_t)n_all, sizeof(int), cmp_int_desc);
        *h0 = all[o->holdout - 1];
    }
    ef_free(all);
    EF_CHECK(ok, err, EF_ERR_INVALID,
             "%s: --holdout-eras %d and an embargo of %d eras leave no train eras to train on (%d train eras)",
             o->train, o->holdout, r->embargo, n_all);
    return EF_OK;
}

ef_status ft_load_data(ft_run *r, ef_error *err) {
    ft_opts *o = &r->o;
    ef_features_json fj = {0};
    EF_TRY(ef_features_json_load(&fj, o->fjson, err));
    ef_status s = ef_features_json_select(&fj, o->fset, &r->feat, &r->n_feat, err);
    if (s == EF_OK && o->groups)
        s = ef_numerai_feature_groups(&fj, r->feat, r->n_feat, &r->n_groups, &r->group_off, &r->group_idx, err);
    ef_features_json_free(&fj);
    EF_TRY(s);
    EF_TRY(ef_numerai_targets_parse(&r->tg, o->targets ? o->targets : o->target, err));
    /* targets to load: the training targets and the evaluation target */
    const char *tnames[65];
    int nt = 0;
    EF_CHECK(r->tg.n <= 64, err, EF_ERR_INVALID, "at most 64 targets");
    for (int i = 0; i < r->tg.n; i++) tnames[nt++] = r->tg.names[i];
    int have = 0;
    for (int i = 0; i < nt; i++) have |= !strcmp(tnames[i], o->eval_target);
    if (!have) tnames[nt++] = o->eval_target;
    ef_load_options lo = {0};
    lo.features = (const char *const *)r->feat;
    lo.n_features = r->n_feat;
    lo.targets = tnames;
    lo.n_targets = nt;
    lo.era_shards = r->dist->size;   /* each MPI rank reads only its interleaved share of eras */
    lo.era_shard = r->dist->rank;
    /* --holdout-eras: selection on the newest train eras; the validation file is not read */
    const char *paths[2] = {o->train, o->validation};
    EF_TRY(ef_dataset_load(&r->ds, paths, o->holdout ? 1 : 2, &lo, err));
    int tcol[64];
    for (int i = 0; i < r->tg.n; i++) {
        tcol[i] = ef_dataset_find_target(&r->ds, r->tg.names[i]);
        EF_CHECK(tcol[i] >= 0, err, EF_ERR_INVALID, "target '%s' is not in %s", r->tg.names[i], o->train);
    }
    r->eval_col = ef_dataset_find_target(&r->ds, o->eval_target);
    EF_CHECK(r->eval_col >= 0, err, EF_ERR_INVALID, "eval target '%s' is not in the data", o->eval_target);
    r->y = ef_malloc((size_t)(r->ds.n_rows > 0 ? r->ds.n_rows : 1) * sizeof(float));
    EF_CHECK(r->y, err, EF_ERR_NOMEM, "out of memory");
    EF_TRY(ef_numerai_target_engineer(&r->ds, tcol, r->tg.w, r->tg.n, r->y, err));
    EF_TRY(ef_tasks_init(&r->tasks, &r->ds, r->feat, r->n_feat, r->y, err));
    EF_TRY(ef_tasks_set_encoding(&r->tasks, (ef_feature_transform)o->transform, r->n_groups, r->group_off, r->group_idx, err));
    r->embargo = o->embargo >= 0 ? o->embargo
                                 : ef_tasks_default_embargo((const char *const *)r->tg.names, r->tg.n);
    /* query eras: train eras that are resolved and have enough context behind the embargo;
     * validation eras: those with >= 2 eval-target values and some allowed context */
    int E = r->ds.n_eras;
    int h0 = INT32_MAX;   /* --holdout-eras: the oldest held-out era's number */
    if (o->holdout) EF_TRY(holdout_start(r, &h0, err));
    r->q_eras = ef_malloc((size_t)E * sizeof(int));
    r->v_eras = ef_malloc((size_t)E * sizeof(int));
    int *tmp = ef_malloc((size_t)E * sizeof(int));
    if (!r->q_eras || !r->v_eras || !tmp) {
        ef_free(tmp);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    int64_t maxv = 1;
    for (int e = 0; e < E; e++) {
        const ef_era *er = &r->ds.eras[e];
        int dt = r->ds.row_type[er->start];
        if (o->holdout && dt == EF_DT_TRAIN) {
            /* held-out eras select; query eras end the embargo before them (their targets
             * overlap the held-out ones otherwise) */
            if (er->num >= h0) dt = EF_DT_VALIDATION;
            else if (er->num > h0 - EF_MAX(r->embargo, 1)) continue;
        } else if (o->holdout) {
            continue;
        }
        int ne = ef_tasks_context_eras(&r->tasks, er->num, r->embargo, o->window, tmp);
        int64_t avail = 0;
        for (int i = 0; i < ne; i++) avail += r->tasks.lab_off[tmp[i] + 1] - r->tasks.lab_off[tmp[i]];
        if (dt == EF_DT_TRAIN && r->tasks.era_resolved[e] && avail >= o->ctx) r->q_eras[r->n_q++] = e;
        if (dt == EF_DT_VALIDATION && ne > 0) {
            int64_t nv = 0;
            for (int64_t i = 0; i < er->count; i++) nv += !isnan(r->ds.y[(size_t)(er->start + i) * r->ds.n_targets + r->eval_col]);
            if (nv >= 2 && 2 * nv >= er->count) {
                r->v_eras[r->n_v++] = e;
                maxv = EF_MAX(maxv, er->count);
            }
        }
    }
    ef_free(tmp);
    if (o->era_every > 1) {   /* every N-th of (this rank's) query eras, oldest first */
        int n = 0;
        for (int i = 0; i < r->n_q; i += o->era_every) r->q_eras[n++] = r->q_eras[i];
        r->n_q = n;
    }
    if (o->eval_eras > 0 && r->n_v > o->eval_eras) {
        memmove(r->v_eras, r->v_eras + (r->n_v - o->eval_eras), (size_t)o->eval_eras * sizeof(int));
        r->n_v = o->eval_eras;
    }
    char shard[96] = "";
    if (r->dist->size > 1)
        snprintf(shard, sizeof shard, " in the eras of rank %d of %d (every %d-th era)", r->dist->rank, r->dist->size, r->dist->size);
    EF_CHECK(r->n_q > 0, err, EF_ERR_INVALID,
             "no train era%s has %d labelled context rows at least %d eras before it (use fewer --context-rows, "
             "a smaller --embargo or more train eras)", shard, o->ctx, r->embargo);
    EF_CHECK(r->n_v > 0, err, EF_ERR_INVALID, "no validation era%s has resolved '%s' targets and context behind the embargo",
             shard, o->eval_target);
    r->pred_buf = ef_malloc((size_t)maxv * sizeof(double));
    r->tgt_buf = ef_malloc((size_t)maxv * sizeof(double));
    EF_CHECK(r->pred_buf && r->tgt_buf, err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

/* Mean and std of per-era CORR over the validation eras, by the predict procedure. */
ef_status ft_evaluate(ft_run *r, double *mean, double *sd, int *n_eras, ef_error *err) {
    ef_numerai_era_opts po = {r->o.read_in, r->o.eval_members, r->o.ctx, r->embargo, r->o.window, r->o.seed, r->o.fdrop};
    double *c = ef_malloc((size_t)r->n_v * sizeof(double));
    EF_CHECK(c, err, EF_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < r->n_v; i++) {
        int e = r->v_eras[i];
        const ef_era *er = &r->ds.eras[e];
        ef_status s = ef_numerai_era_predict(r->m, r->cache, &r->tasks, &r->tasks, e, &po, r->pred_buf, err);
        if (s != EF_OK) {
            ef_free(c);
            return s;
        }
        size_t k = 0;
        for (int64_t j = 0; j < er->count; j++) {
            double t = r->ds.y[(size_t)(er->start + j) * r->ds.n_targets + r->eval_col];
            if (isnan(t)) continue;
            r->pred_buf[k] = r->pred_buf[j];
            r->tgt_buf[k++] = t;
        }
        double v;
        if (ef_metrics_numerai_corr(&v, r->pred_buf, r->tgt_buf, k, NULL, NULL) == EF_OK && isfinite(v)) c[n++] = v;
    }
    /* every rank scored its own eras: gather them all (rank order), so every rank computes
     * the same mean and makes the same early-stopping decision */
    double *all = NULL;
    int n_all = 0;
    int bad = ef_dist_allgatherv(r->dist, c, n, sizeof(double), (void **)&all, &n_all, NULL);
    ef_free(c);
    EF_CHECK(!bad, err, EF_ERR_IO, "MPI: gathering the validation CORR failed");
    *mean = n_all ? ef_metrics_mean(all, (size_t)n_all) : NAN;
    *sd = n_all ? ef_metrics_std(all, (size_t)n_all) : NAN;
    *n_eras = n_all;
    ef_free(all);
    return EF_OK;
}

/* Which eras and rows every rank holds: one JSONL record per rank in rank 0's log and a line
 * on stderr (the sharding is visible and testable: the ranks' eras are disjoint). */
ef_status ft_report_shards(const ft_run *r, FILE *logf, ef_error *err) {
    int E = r->ds.n_eras, P = r->dist->size;
    int *mine = ef_malloc((size_t)(E + 1) * sizeof(int)), *all = NULL, n_all = 0;
    int *counts = ef_malloc((size_t)P * sizeof(int));
    double *rows = ef_calloc((size_t)P, sizeof(double));
    if (!mine || !counts || !rows) {
        ef_free(mine);
        ef_free(counts);
        ef_free(rows);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    for (int e = 0; e < E; e++) mine[e] = r->ds.eras[e].num;
    rows[r->dist->rank] = (double)r->ds.n_rows;
    int bad = ef_dist_allgatherv(r->dist, mine, E, sizeof(int), (void **)&all, &n_all, counts) ||
              ef_dist_sum(r->dist, rows, P);
    ef_free(mine);
    if (bad) {
        ef_free(counts);
        ef_free(rows);
        return EF_ERR(err, EF_ERR_IO, "MPI: gathering the shard layout failed");
    }
    for (int q = 0, off = 0; logf && q < P; off += counts[q++]) {
        fprintf(logf, "{\"shard\":%d,\"ranks\":%d,\"rows\":%.0f,\"eras\":[", q, P, rows[q]);
        for (int i = 0; i < counts[q]; i++) fprintf(logf, "%s%d", i ? "," : "", all[off + i]);
        fprintf(logf, "]}\n");
        if (P > 1) fprintf(stderr, "finetune: rank %d of %d holds %d eras, %.0f rows\n", q, P, counts[q], rows[q]);
    }
    ef_free(all);
    ef_free(counts);
    ef_free(rows);
    return EF_OK;
}

/* The era numbers this rank trains on (query eras) and selects on, as one JSONL record: what
 * `train` and the tests check against the eras that are reported. */
void ft_report_eras(const ft_run *r, FILE *logf) {
    if (!logf) return;
    fprintf(logf, "{\"query_eras\":[");
    for (int i = 0; i < r->n_q; i++) fprintf(logf, "%s%d", i ? "," : "", r->ds.eras[r->q_eras[i]].num);
    fprintf(logf, "],\"selection_eras\":[");
    for (int i = 0; i < r->n_v; i++) fprintf(logf, "%s%d", i ? "," : "", r->ds.eras[r->v_eras[i]].num);
    fprintf(logf, "],\"holdout\":%s}\n", r->o.holdout ? "true" : "false");
}
