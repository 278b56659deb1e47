/* In-context tasks from a Numerai dataset: the embargo rule for context eras, sampling of
 * labelled context rows, random feature subsets and the per-row feature encoding
 * (include/eraformer/data_tasks.h). */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/data_tasks.h"

// ---- embargo ----------------------------------------------------------------------------

int ef_tasks_default_embargo(const char *const *targets, int n_targets) {
    for (int i = 0; i < n_targets; i++) {
        size_t l = strlen(targets[i]);
        if (l >= 3 && !strcmp(targets[i] + l - 3, "_60")) return 16;
    }
    return 8;
}

int ef_tasks_era_allowed(int c, int q, int embargo) {
    if (c >= EF_ERA_LIVE_NUM) return 0;          /* live eras never have targets */
    if (q >= EF_ERA_LIVE_NUM) return 1;          /* live: the newest resolved eras */
    int gap = embargo < 1 ? 1 : embargo;
    return (long)c <= (long)q - gap;
}

// ---- preparation ------------------------------------------------------------------------

void ef_tasks_free(ef_tasks *t) {
    if (!t) return;
    ef_free(t->feat_col);
    ef_free(t->era_mean);
    ef_free(t->era_resolved);
    ef_free(t->lab_rows);
    ef_free(t->lab_off);
    ef_free(t->era_level);
    ef_free(t->group_off);
    ef_free(t->group_idx);
    memset(t, 0, sizeof *t);
}

ef_status ef_tasks_init(ef_tasks *t, const ef_dataset *ds, char *const *feature_names,
                        int n_feat, const float *y, ef_error *err) {
    memset(t, 0, sizeof *t);
    EF_CHECK(n_feat >= 1, err, EF_ERR_INVALID, "no features selected");
    t->ds = ds;
    t->n_feat = n_feat;
    t->n_cols = n_feat;
    t->y = y;
    int E = ds->n_eras;
    t->feat_col = ef_malloc((size_t)n_feat * sizeof(int));
    t->era_mean = ef_calloc((size_t)(E > 0 ? E : 1) * (size_t)n_feat, sizeof(float));
    t->era_resolved = ef_calloc((size_t)(E > 0 ? E : 1), 1);
    t->lab_off = ef_calloc((size_t)E + 1, sizeof(int64_t));
    t->lab_rows = ef_malloc((size_t)(ds->n_rows > 0 ? ds->n_rows : 1) * sizeof(int64_t));
    if (!t->feat_col || !t->era_mean || !t->era_resolved || !t->lab_off || !t->lab_rows) {
        ef_tasks_free(t);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory preparing tasks (%d eras, %d features)", E, n_feat);
    }
    for (int j = 0; j < n_feat; j++) {
        int c = ef_dataset_find_feature(ds, feature_names[j]);
        if (c < 0) {
            ef_status s = EF_ERR(err, EF_ERR_INVALID, "feature '%s' is not a column of the data", feature_names[j]);
            ef_tasks_free(t);
            return s;
        }
        t->feat_col[j] = c;
    }
    int64_t nl = 0;
    double *acc = ef_calloc((size_t)n_feat, sizeof(double));
    if (!acc) {
        ef_tasks_free(t);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory preparing tasks");
    }
    for (int e = 0; e < E; e++) {
        const ef_era *er = &ds->eras[e];
        memset(acc, 0, (size_t)n_feat * sizeof(double));
        int64_t lab = 0;
        for (int64_t r = er->start; r < er->start + er->count; r++) {
            const int8_t *xr = ds->X + (size_t)r * ds->n_features;
            for (int j = 0; j < n_feat; j++) acc[j] += xr[t->feat_col[j]];
            if (y && !isnan(y[r])) {
                t->lab_rows[nl++] = r;
                lab++;
            }
        }
        for (int j = 0; j < n_feat; j++)
            t->era_mean[(size_t)e * n_feat + j] = er->count > 0 ? (float)(acc[j] / (double)er->count) : 2.0f;
        t->lab_off[e + 1] = nl;
        t->era_resolved[e] = lab >= 2 && 2 * lab >= er->count && er->num < EF_ERA_LIVE_NUM;
    }
    ef_free(acc);
    return EF_OK;
}

// ---- encodings ------------------------------------------------------------------------------

/* RANKGAUSS tables: per era and feature, the normal score of each level 0..4. */
static ef_status build_rankgauss(ef_tasks *t, ef_error *err) {
    const ef_dataset *ds = t->ds;
    int E = ds->n_eras, F = t->n_feat;
    ef_free(t->era_level);
    t->era_level = ef_malloc((size_t)(E > 0 ? E : 1) * F * 5 * sizeof(float));
    int64_t *cnt = ef_malloc((size_t)F * 5 * sizeof(int64_t));
    if (!t->era_level || !cnt) {
        ef_free(cnt);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory for the rank-gauss tables (%d eras x %d features)", E, F);
    }
    for (int e = 0; e < E; e++) {
        const ef_era *er = &ds->eras[e];
        memset(cnt, 0, (size_t)F * 5 * sizeof(int64_t));
        for (int64_t r = er->start; r < er->start + er->count; r++) {
            const int8_t *xr = ds->X + (size_t)r * ds->n_features;
            for (int j = 0; j < F; j++) {
                int v = xr[t->feat_col[j]];
                cnt[(size_t)j * 5 + (v < 0 ? 0 : v > 4 ? 4 : v)]++;
            }
        }
        double n = (double)er->count;
        for (int j = 0; j < F; j++) {
            int64_t below = 0;
            float *lv = t->era_level + ((size_t)e * F + j) * 5;
            for (int v = 0; v < 5; v++) {
                int64_t c = cnt[(size_t)j * 5 + v];
                double avg_rank = (double)below + ((double)c + 1.0) / 2.0;   /* 1-based, ties averaged */
                /* a level no row has gets the score it would have (between its neighbours),
                 * kept inside [1/2n, 1 - 1/2n] so it stays finite */
                double p = n > 0 ? (avg_rank - 0.5) / n : 0.5;
                p = EF_MAX(p, 0.5 / n);
                p = EF_MIN(p, 1.0 - 0.5 / n);
                lv[v] = n > 0 ? (float)ef_norm_ppf(p) : 0.0f;
                below += c;
            }
        }
    }
    ef_free(cnt);
    return EF_OK;
}

ef_status ef_tasks_set_encoding(ef_tasks *t, ef_feature_transform tr, int n_groups, const int *group_off,
                                const int *group_idx, ef_error *err) {
    EF_CHECK(tr == EF_FT_CENTRE || tr == EF_FT_RANKGAUSS, err, EF_ERR_INVALID, "unknown feature transform %d", (int)tr);
    EF_CHECK(n_groups >= 0 && (n_groups == 0 || (group_off && group_idx)), err, EF_ERR_INVALID, "bad feature groups");
    for (int g = 0; g < n_groups; g++) {
        EF_CHECK(group_off[g] >= 0 && group_off[g + 1] > group_off[g], err, EF_ERR_INVALID, "feature group %d is empty", g);
        for (int i = group_off[g]; i < group_off[g + 1]; i++)
            EF_CHECK(group_idx[i] >= 0 && group_idx[i] < t->n_feat, err, EF_ERR_INVALID,
                     "feature group %d names feature %d of %d", g, group_idx[i], t->n_feat);
    }
    if (tr == EF_FT_RANKGAUSS) {
        EF_TRY(build_rankgauss(t, err));
    } else {
        ef_free(t->era_level);
        t->era_level = NULL;
    }
    t->transform = tr;
    ef_free(t->group_off);
    ef_free(t->group_idx);
    t->group_off = t->group_idx = NULL;
    t->n_groups = 0;
    t->n_cols = t->n_feat;
    if (n_groups > 0) {
        size_t ni = (size_t)group_off[n_groups];
        t->group_off = ef_malloc((size_t)(n_groups + 1) * sizeof(int));
        t->group_idx = ef_malloc(ni * sizeof(int));
        EF_CHECK(t->group_off && t->group_idx, err, EF_ERR_NOMEM, "out of memory for the feature groups");
        memcpy(t->group_off, group_off, (size_t)(n_groups + 1) * sizeof(int));
        memcpy(t->group_idx, group_idx, ni * sizeof(int));
        t->n_groups = n_groups;
        t->n_cols = t->n_feat + n_groups;
    }
    return EF_OK;
}

// ---- context eras and rows ---------------------------------------------------------------

int ef_tasks_context_eras(const ef_tasks *t, int q_num, int embargo, int window, int *out) {
    int n = 0;
    for (int e = 0; e < t->ds->n_eras; e++)
        if (t->era_resolved[e] && ef_tasks_era_allowed(t->ds->eras[e].num, q_num, embargo)) out[n++] = e;
    if (window > 0 && n > window) {
        memmove(out, out + (n - window), (size_t)window * sizeof(int));
        n = window;
    }
    return n;
}

ef_status ef_tasks_sample_rows(const ef_tasks *t, const int *eras, int n_eras, int n,
                               ef_rng *rng, int64_t *rows, int *n_out, ef_error *err) {
    *n_out = 0;
    int64_t total = 0;
    for (int i = 0; i < n_eras; i++) total += t->lab_off[eras[i] + 1] - t->lab_off[eras[i]];
    if (total == 0 || n <= 0) return EF_OK;
    int want = (int64_t)n < total ? n : (int)total;
    /* Floyd's algorithm would need a set; with want << total rejection on a bitmap is simple
     * and exact. Positions index the concatenation of the eras' labelled rows. */
    size_t nb = (size_t)(total + 7) / 8;
    uint8_t *seen = ef_calloc(nb, 1);
    EF_CHECK(seen, err, EF_ERR_NOMEM, "out of memory sampling %d context rows", n);
    int got = 0;
    int64_t *pos = ef_malloc((size_t)want * sizeof(int64_t));
    if (!pos) {
        ef_free(seen);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory sampling %d context rows", n);
    }
    if ((int64_t)want * 2 > total) {
        /* dense: partial Fisher-Yates over all positions would need total ints; take every
         * position with the selection-sampling algorithm (Knuth S) instead */
        int64_t need = want;
        for (int64_t p = 0; p < total && need > 0; p++)
            if (ef_rng_uniform(rng) * (double)(total - p) < (double)need) {
                pos[got++] = p;
                need--;
            }
    } else {
        while (got < want) {
            int64_t p = (int64_t)ef_rng_below(rng, (uint64_t)total);
            if (seen[p >> 3] & (1u << (p & 7))) continue;
            seen[p >> 3] |= (uint8_t)(1u << (p & 7));
            pos[got++] = p;
        }
    }
    for (int i = 0; i < got; i++) {
        int64_t p = pos[i];
        int k = 0;
        while (p >= t->lab_off[eras[k] + 1] - t->lab_off[eras[k]]) {
            p -= t->lab_off[eras[k] + 1] - t->lab_off[eras[k]];
            k++;
        }
        rows[i] = t->lab_rows[t->lab_off[eras[k]] + p];
    }
    ef_free(pos);
    ef_free(seen);
    *n_out = got;
    return EF_OK;
}

// ---- features ------------------------------------------------------------------------------

void ef_tasks_feature_subset(ef_rng *rng, int n, int k, int *out) {
    /* selection sampling: sorted by construction */
    int need = k, got = 0;
    for (int j = 0; j < n && need > 0; j++)
        if (ef_rng_uniform(rng) * (double)(n - j) < (double)need) {
            out[got++] = j;
            need--;
        }
}

/* Encoded value of selected feature j of row xr in era e; 0 with *obs = 0 when missing. */
static inline float encode_one(const ef_tasks *t, const int8_t *xr, const float *mu, const float *lv,
                               const uint8_t *miss, int j, int *obs) {
    int c = t->feat_col[j];
    if (miss && miss[c]) {
        *obs = 0;
        return 0.0f;
    }
    *obs = 1;
    if (lv) {
        int v = xr[c];
        return lv[(size_t)j * 5 + (v < 0 ? 0 : v > 4 ? 4 : v)];
    }
    return ((float)xr[c] - mu[j]) * 0.70710678118654752f;
}

void ef_tasks_encode_row(const ef_tasks *t, int64_t r, const int *sub, int n_sub, int ld,
                         float *x, uint8_t *mask) {
    const ef_dataset *ds = t->ds;
    int e = ds->row_era[r];
    const int8_t *xr = ds->X + (size_t)r * ds->n_features;
    const float *mu = t->era_mean + (size_t)e * t->n_feat;
    const float *lv = t->transform == EF_FT_RANKGAUSS ? t->era_level + (size_t)e * t->n_feat * 5 : NULL;
    const uint8_t *miss = ds->missing ? ds->missing + (size_t)e * ds->n_features : NULL;
    for (int i = 0; i < n_sub; i++) {
        int j = sub ? sub[i] : i, obs = 0;
        float v = 0.0f;
        if (j < t->n_feat) {
            v = encode_one(t, xr, mu, lv, miss, j, &obs);
        } else {
            /* group aggregate: the mean of the group's observed encoded features */
            int g = j - t->n_feat, n = 0;
            double s = 0;
            for (int q = t->group_off[g]; q < t->group_off[g + 1]; q++) {
                int o;
                float w = encode_one(t, xr, mu, lv, miss, t->group_idx[q], &o);
                s += w;
                n += o;
            }
            obs = n > 0;
            v = n > 0 ? (float)(s / n) : 0.0f;
        }
        x[i] = v;
        if (mask) mask[i] = (uint8_t)obs;
    }
    for (int i = n_sub; i < ld; i++) {
        x[i] = 0.0f;
        if (mask) mask[i] = 0;
    }
}
