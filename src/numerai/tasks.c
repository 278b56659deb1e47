/* Numerai tasks (include/eraformer/numerai.h): target engineering (per-era gaussianized,
 * weighted targets), Numerai's feature groups, model surgery from a pretrained base, the
 * context-ensemble prediction of one era (finetune's validation and predict) and the
 * sampling of one training task (finetune). The contract is in contract.c, the ensemble
 * predict pipeline in predict.c. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/numerai.h"
#include "eraformer/metrics.h"

// ---- targets --------------------------------------------------------------------------

void ef_numerai_targets_free(ef_numerai_targets *t) {
    for (int i = 0; i < t->n; i++) ef_free(t->names[i]);
    ef_free(t->names);
    ef_free(t->w);
    memset(t, 0, sizeof *t);
}

ef_status ef_numerai_targets_parse(ef_numerai_targets *t, const char *spec, ef_error *err) {
    memset(t, 0, sizeof *t);
    EF_CHECK(spec && *spec, err, EF_ERR_INVALID, "empty target list");
    int cap = 1;
    for (const char *p = spec; *p; p++) cap += *p == ',';
    t->names = ef_calloc((size_t)cap, sizeof(char *));
    t->w = ef_calloc((size_t)cap, sizeof(double));
    EF_CHECK(t->names && t->w, err, EF_ERR_NOMEM, "out of memory");
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[256];
        if (len == 0 || len >= sizeof item) {
            ef_numerai_targets_free(t);
            return EF_ERR(err, EF_ERR_INVALID, "bad target item in '%s' (expected name or name=weight)", spec);
        }
        memcpy(item, p, len);
        item[len] = 0;
        char *eq = strchr(item, '=');
        double w = 1.0;
        if (eq) {
            *eq = 0;
            char *end;
            w = strtod(eq + 1, &end);
            if (end == eq + 1 || *end || !isfinite(w) || w <= 0) {
                ef_numerai_targets_free(t);
                return EF_ERR(err, EF_ERR_INVALID, "target weight '%s' is not a positive number", eq + 1);
            }
        }
        if (!item[0]) {
            ef_numerai_targets_free(t);
            return EF_ERR(err, EF_ERR_INVALID, "empty target name in '%s'", spec);
        }
        t->names[t->n] = ef_strdup(item);
        t->w[t->n] = w;
        if (!t->names[t->n]) {
            ef_numerai_targets_free(t);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        t->n++;
        p += len;
        if (*p == ',') p++;
    }
    return EF_OK;
}

ef_status ef_numerai_target_engineer(const ef_dataset *ds, const int *tcol, const double *w, int n,
                             float *y, ef_error *err) {
    int64_t maxc = 1;
    for (int e = 0; e < ds->n_eras; e++) maxc = EF_MAX(maxc, ds->eras[e].count);
    double *v = ef_malloc((size_t)maxc * sizeof(double)), *g = ef_malloc((size_t)maxc * sizeof(double));
    double *num = ef_malloc((size_t)maxc * sizeof(double)), *den = ef_malloc((size_t)maxc * sizeof(double));
    ef_status s = EF_OK;
    if (!v || !g || !num || !den) {
        s = EF_ERR(err, EF_ERR_NOMEM, "out of memory engineering targets");
        goto done;
    }
    for (int e = 0; e < ds->n_eras; e++) {
        int64_t r0 = ds->eras[e].start, cnt = ds->eras[e].count;
        memset(num, 0, (size_t)cnt * sizeof(double));
        memset(den, 0, (size_t)cnt * sizeof(double));
        for (int t = 0; t < n; t++) {
            for (int64_t i = 0; i < cnt; i++) v[i] = ds->y[(size_t)(r0 + i) * ds->n_targets + tcol[t]];
            if ((s = ef_metrics_rank_tie_kept(g, v, (size_t)cnt, err)) != EF_OK) goto done;
            ef_metrics_gaussianize(g, g, (size_t)cnt);
            for (int64_t i = 0; i < cnt; i++)
                if (!isnan(g[i]) && isfinite(g[i])) {
                    num[i] += w[t] * g[i];
                    den[i] += w[t];
                }
        }
        for (int64_t i = 0; i < cnt; i++) y[r0 + i] = den[i] > 0 ? (float)(num[i] / den[i]) : NAN;
    }
done:
    ef_free(v); ef_free(g); ef_free(num); ef_free(den);
    return s;
}

// ---- feature groups -------------------------------------------------------------------------

ef_status ef_numerai_feature_groups(const ef_features_json *fj, char *const *feat, int n_feat, int *n, int **off,
                            int **idx, ef_error *err) {
    static const char *const names[] = {"intelligence", "charisma", "strength", "dexterity", "constitution", "wisdom",
                                        "agility", "serenity", "sunshine", "rain", "midnight", "faith", "quantum"};
    const int NG = (int)(sizeof names / sizeof names[0]);
    *n = 0;
    *off = ef_malloc((size_t)(NG + 1) * sizeof(int));
    size_t cap = 0;
    for (int g = 0; g < NG; g++) {
        const ef_feature_set *fs = ef_features_json_find(fj, names[g]);
        if (fs) cap += (size_t)fs->n;
    }
    *idx = ef_malloc((cap ? cap : 1) * sizeof(int));
    if (!*off || !*idx) {
        ef_free(*off);
        ef_free(*idx);
        *off = *idx = NULL;
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    /* members by name among the selected features (2,748 x 2,748 compares: ~10 ms) */
    int k = 0;
    (*off)[0] = 0;
    for (int g = 0; g < NG; g++) {
        const ef_feature_set *fs = ef_features_json_find(fj, names[g]);
        if (!fs) continue;
        int start = k;
        for (int i = 0; i < fs->n; i++)
            for (int j = 0; j < n_feat; j++)
                if (!strcmp(fs->features[i], feat[j])) {
                    (*idx)[k++] = j;
                    break;
                }
        if (k > start) (*off)[++*n] = k;
    }
    return EF_OK;
}

// ---- model surgery ------------------------------------------------------------------------

ef_status ef_numerai_net_create(ef_model **out, const char *base, int read_in, int n_feat,
                         const ef_model_config *cfg_def, int max_points, int max_B, uint64_t seed,
                         ef_error *err) {
    *out = NULL;
    ef_model_config cfg = *cfg_def;
    cfg.layout = EF_LAYOUT_ROWS;
    cfg.max_points = max_points;
    ef_model *bm = NULL;
    if (base) {
        EF_TRY(ef_model_load(&bm, base, 1, NULL, NULL, err));
        const ef_model_config *bc = ef_model_cfg(bm);
        if (bc->layout != EF_LAYOUT_ROWS) {
            ef_model_destroy(bm);
            return EF_ERR(err, EF_ERR_INVALID, "%s is an %s-layout model; fine-tuning needs the rows layout "
                          "(pretrain --layout rows)", base, ef_layout_name(bc->layout));
        }
        if (bc->row_positions) {
            int kb = bc->max_points;
            ef_model_destroy(bm);
            return EF_ERR(err, EF_ERR_INVALID, "%s has row positions (a time-series model of at most %d rows); "
                          "era contexts have no row order: use a model pretrained without --row-positions",
                          base, kb);
        }
        cfg.n_layer = bc->n_layer;
        cfg.d_model = bc->d_model;
        cfg.n_head = bc->n_head;
        cfg.d_max = bc->d_max;
        cfg.max_points = EF_MAX(max_points, bc->max_points);
    }
    if (read_in == EF_NUMERAI_READIN_WIDE) cfg.d_max = n_feat;
    ef_status s = ef_model_create(out, &cfg, max_B, seed, err);
    if (s != EF_OK || !bm) {
        ef_model_destroy(bm);
        return s;
    }
    /* copy every tensor whose shape matches; project the read-in when the width changed */
    float *dst = ef_model_params(*out), *src = ef_model_params(bm);
    int Db = ef_model_cfg(bm)->d_max, Dn = cfg.d_max, C = cfg.d_model;
    if (ef_model_copy_matching(*out, bm) & (1u << EF_P_WIN)) {
        const ef_param_info *a = ef_model_param_info(*out, EF_P_WIN), *b = ef_model_param_info(bm, EF_P_WIN);
        /* w_in is (C, 2D): values in [0, D), missing indicators in [D, 2D) */
        int Fa = (int)a->shape[1], Fb = (int)b->shape[1];
        if (Fa == 2 * Dn && Fb == 2 * Db) {
            ef_rng r;
            ef_rng_init(&r, seed, 0x9807EC7ull);
            float *P = ef_malloc((size_t)Db * Dn * sizeof(float));
            if (!P) {
                ef_model_destroy(*out);
                ef_model_destroy(bm);
                *out = NULL;
                return EF_ERR(err, EF_ERR_NOMEM, "out of memory for the read-in projection");
            }
            double sd = 1.0 / sqrt((double)Dn);
            for (size_t q = 0; q < (size_t)Db * Dn; q++) P[q] = (float)(ef_rng_normal(&r) * sd);
            const float *wb = src + b->offset;
            float *wa = dst + a->offset;
            for (int c = 0; c < C; c++) {
                for (int j = 0; j < Dn; j++) {
                    double acc = 0, acc_m = 0;
                    for (int i2 = 0; i2 < Db; i2++) {
                        acc += (double)wb[(size_t)c * Fb + i2] * P[(size_t)i2 * Dn + j];
                        acc_m += (double)wb[(size_t)c * Fb + Db + i2];
                    }
                    wa[(size_t)c * Fa + j] = (float)acc;
                    /* a missing feature: the mean missing-indicator weight, scaled to the width */
                    wa[(size_t)c * Fa + Dn + j] = (float)(acc_m / Db * sqrt((double)Db / Dn));
                }
            }
            ef_free(P);
        }
    }
    ef_model_destroy(bm);
    return EF_OK;
}

// ---- prediction -----------------------------------------------------------------------------

/* Masks a random share p of the n encoded feature columns in all rows (x = 0, mask = 0). */
static void drop_features(ef_rng *r, double p, int n, int D, int rows, float *x, uint8_t *mask, uint8_t *drop) {
    if (p <= 0) return;
    for (int j = 0; j < n; j++) drop[j] = ef_rng_uniform(r) < p;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < n; j++)
            if (drop[j]) {
                x[(size_t)i * D + j] = 0.0f;
                mask[(size_t)i * D + j] = 0;
            }
}

ef_status ef_numerai_era_predict(ef_model *m, ef_rows_cache *cache, const ef_tasks *ct, const ef_tasks *qt,
                         int qe, const ef_numerai_era_opts *o, double *out, ef_error *err) {
    const ef_model_config *mc = ef_model_cfg(m);
    int D = mc->d_max, K = o->members;
    const ef_era *qera = &qt->ds->eras[qe];
    /* the model and the rows cache count rows in int: refuse, never wrap, a larger era */
    EF_CHECK(qera->count <= INT_MAX, err, EF_ERR_INVALID, "era %s has %" PRId64 " rows; at most %d can be predicted at once",
             qera->name, qera->count, INT_MAX);
    int nq = (int)qera->count;
    int nf = ct->n_cols, d = o->read_in == EF_NUMERAI_READIN_WIDE ? nf : EF_MIN(nf, D);
    EF_CHECK(d <= D, err, EF_ERR_INVALID, "%d features but the model reads %d", nf, D);
    int *eras = ef_malloc((size_t)(ct->ds->n_eras > 0 ? ct->ds->n_eras : 1) * sizeof(int));
    int *sub = ef_malloc((size_t)nf * sizeof(int));
    int64_t *rows = ef_malloc((size_t)o->context_rows * sizeof(int64_t));
    float *xc = ef_malloc((size_t)o->context_rows * D * sizeof(float)), *yc = ef_malloc((size_t)o->context_rows * sizeof(float));
    uint8_t *mcx = ef_malloc((size_t)o->context_rows * D);
    float *xq = ef_malloc((size_t)(nq > 0 ? nq : 1) * D * sizeof(float)), *pq = ef_malloc((size_t)(nq > 0 ? nq : 1) * sizeof(float));
    uint8_t *mq = ef_malloc((size_t)(nq > 0 ? nq : 1) * D);
    double *preds = ef_malloc((size_t)K * (nq > 0 ? nq : 1) * sizeof(double));
    const double **cols = ef_malloc((size_t)K * sizeof(double *));
    uint8_t *drop = ef_malloc((size_t)nf);
    /* members that differ only in their context share the queries' encoding and embeddings */
    int shared_q = !(o->read_in == EF_NUMERAI_READIN_SUBSET && nf > D) && !(o->read_in == EF_NUMERAI_READIN_WIDE && o->feature_dropout > 0);
    float *emb = shared_q ? ef_malloc((size_t)(nq > 0 ? nq : 1) * mc->d_model * sizeof(float)) : NULL;
    ef_status s = EF_OK;
    if (!eras || !sub || !rows || !xc || !yc || !mcx || !xq || !pq || !mq || !preds || !cols || !drop || (shared_q && !emb)) {
        s = EF_ERR(err, EF_ERR_NOMEM, "out of memory predicting era %s", qera->name);
        goto done;
    }
    int ne = ef_tasks_context_eras(ct, qera->num, o->embargo, o->window, eras);
    if (ne == 0) {
        s = EF_ERR(err, EF_ERR_INVALID, "era %s has no resolved context era at least %d eras before it",
                   qera->name, o->embargo);
        goto done;
    }
    if (shared_q) {
#pragma omp parallel for schedule(static) if ((double)nq * d > 1e6)
        for (int i = 0; i < nq; i++)
            ef_tasks_encode_row(qt, qera->start + i, NULL, d, D, xq + (size_t)i * D, mq + (size_t)i * D);
        if ((s = ef_rows_cache_embed_queries(cache, xq, mq, d, nq, emb, err)) != EF_OK) goto done;
    }
    for (int k = 0; k < K; k++) {
        ef_rng rs, rc;
        ef_rng_init(&rs, o->seed, 0x5B5E7000ull + (uint64_t)k);  /* a member's feature subset */
        ef_rng_init(&rc, ef_hash64(o->seed, (uint64_t)k), (uint64_t)(uint32_t)qera->num);
        const int *sp = NULL;
        if (o->read_in == EF_NUMERAI_READIN_SUBSET && nf > D) {
            ef_tasks_feature_subset(&rs, nf, D, sub);
            sp = sub;
        }
        int got;
        if ((s = ef_tasks_sample_rows(ct, eras, ne, o->context_rows, &rc, rows, &got, err)) != EF_OK) goto done;
#pragma omp parallel for schedule(static) if ((double)got * d > 1e6)
        for (int i = 0; i < got; i++) {
            ef_tasks_encode_row(ct, rows[i], sp, d, D, xc + (size_t)i * D, mcx + (size_t)i * D);
            yc[i] = ct->y[rows[i]];
        }
        for (int i = 0; i < nq && !shared_q; i++)
            ef_tasks_encode_row(qt, qera->start + i, sp, d, D, xq + (size_t)i * D, mq + (size_t)i * D);
        if (o->read_in == EF_NUMERAI_READIN_WIDE && o->feature_dropout > 0) {
            /* the member's own feature mask, the same for context and queries */
            ef_rng rd = rs;
            drop_features(&rd, o->feature_dropout, d, D, got, xc, mcx, drop);
            rd = rs;
            drop_features(&rd, o->feature_dropout, d, D, nq, xq, mq, drop);
        }
        if ((s = ef_rows_cache_set_context(cache, xc, yc, mcx, d, got, err)) != EF_OK) goto done;
        if (shared_q) s = ef_rows_cache_predict_embedded(cache, emb, nq, pq, err);
        else s = ef_rows_cache_predict(cache, xq, mq, d, nq, pq, err);
        if (s != EF_OK) goto done;
        for (int i = 0; i < nq; i++) preds[(size_t)k * nq + i] = pq[i];
        cols[k] = preds + (size_t)k * nq;
    }
    size_t off[2] = {0, (size_t)nq};
    s = ef_predictions_ensemble(out, cols, NULL, (size_t)K, off, 1, err);
done:
    ef_free(eras); ef_free(sub); ef_free(rows); ef_free(xc); ef_free(yc); ef_free(mcx);
    ef_free(xq); ef_free(pq); ef_free(mq); ef_free(preds); ef_free((void *)cols); ef_free(drop); ef_free(emb);
    return s;
}

// ---- training tasks --------------------------------------------------------------------------

ef_status ef_numerai_task_sample(const ef_tasks *t, const int *q_eras, int n_q_eras, int read_in,
                               int D, int n_ctx, int n_query, int embargo, int window,
                               double feature_dropout, uint64_t seed, uint64_t task_index,
                               float *x, float *y, uint8_t *mask, int *d, ef_error *err) {
    ef_rng r;
    ef_rng_init(&r, seed, task_index);
    int qe = q_eras[ef_rng_below(&r, (uint64_t)n_q_eras)];
    int nf = t->n_cols;
    int dd = read_in == EF_NUMERAI_READIN_WIDE ? nf : EF_MIN(nf, D);
    *d = dd;
    int *sub = ef_malloc((size_t)nf * sizeof(int));
    int *eras = ef_malloc((size_t)t->ds->n_eras * sizeof(int));
    int64_t *rows = ef_malloc((size_t)(n_ctx + n_query + 1) * sizeof(int64_t));
    uint8_t *drop = ef_malloc((size_t)nf);
    ef_status s = EF_OK;
    if (!sub || !eras || !rows || !drop) {
        s = EF_ERR(err, EF_ERR_NOMEM, "out of memory sampling a task");
        goto done;
    }
    const int *sp = NULL;
    if (read_in == EF_NUMERAI_READIN_SUBSET && nf > D) {
        ef_tasks_feature_subset(&r, nf, D, sub);
        sp = sub;
    }
    int ne = ef_tasks_context_eras(t, t->ds->eras[qe].num, embargo, window, eras), got = 0;
    if ((s = ef_tasks_sample_rows(t, eras, ne, n_ctx, &r, rows, &got, err)) != EF_OK) goto done;
    if (got < n_ctx) {
        s = EF_ERR(err, EF_ERR_INTERNAL, "era %s has %d context rows, fewer than %d", t->ds->eras[qe].name, got, n_ctx);
        goto done;
    }
    int gq = 0;
    if ((s = ef_tasks_sample_rows(t, &qe, 1, n_query, &r, rows + n_ctx, &gq, err)) != EF_OK) goto done;
    int64_t lab = t->lab_off[qe + 1] - t->lab_off[qe];
    for (int i = gq; i < n_query; i++) rows[n_ctx + i] = t->lab_rows[t->lab_off[qe] + (int64_t)ef_rng_below(&r, (uint64_t)lab)];
    for (int i = 0; i < n_ctx + n_query; i++) {
        ef_tasks_encode_row(t, rows[i], sp, dd, D, x + (size_t)i * D, mask + (size_t)i * D);
        y[i] = t->y[rows[i]];
    }
    if (read_in == EF_NUMERAI_READIN_WIDE) drop_features(&r, feature_dropout, dd, D, n_ctx + n_query, x, mask, drop);
done:
    ef_free(sub); ef_free(eras); ef_free(rows); ef_free(drop);
    return s;
}
