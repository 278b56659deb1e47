/* The dataset in memory: lookup helpers, era labels, data_type names, the era index and
 * the per-(era, feature) "missing" flags (Numerai marks a feature missing for an era by
 * setting every value to 2), grouping rows by era, and in-place row filters. */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"

static const char *const DT_NAMES[] = {"train", "validation", "test", "live", "other"};

const char *ef_data_type_name(ef_data_type t) {
    return (unsigned)t <= EF_DT_OTHER ? DT_NAMES[t] : "other";
}

ef_data_type ef_data_type_parse(const char *s) {
    for (int i = 0; i < EF_DT_OTHER; i++)
        if (!strcmp(s, DT_NAMES[i])) return (ef_data_type)i;
    return EF_DT_OTHER;
}

int ef_era_parse(const char *s) {
    if (!s || !*s) return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) return -1;
        v = v * 10 + (*p - '0');
        if (v >= EF_ERA_LIVE_NUM) return -1;
    }
    return (int)v;
}

void ef_dataset_free(ef_dataset *ds) {
    if (!ds) return;
    ef_strlist_free(ds->feature_names, ds->n_features);
    ef_strlist_free(ds->target_names, ds->n_targets);
    ef_free_aligned(ds->X);
    ef_free(ds->y);
    ef_free(ds->row_era);
    ef_free(ds->row_type);
    ef_free(ds->id_data);
    ef_free(ds->id_off);
    ef_free(ds->eras);
    ef_free(ds->missing);
    memset(ds, 0, sizeof *ds);
}

int ef_dataset_find_target(const ef_dataset *ds, const char *name) {
    for (int i = 0; i < ds->n_targets; i++)
        if (!strcmp(ds->target_names[i], name)) return i;
    return -1;
}

int ef_dataset_find_feature(const ef_dataset *ds, const char *name) {
    for (int i = 0; i < ds->n_features; i++)
        if (!strcmp(ds->feature_names[i], name)) return i;
    return -1;
}

int ef_dataset_find_era(const ef_dataset *ds, const char *name) {
    for (int i = 0; i < ds->n_eras; i++)
        if (!strcmp(ds->eras[i].name, name)) return i;
    return -1;
}

// ---- era table ------------------------------------------------------------------------

int ef_data_era_num(const char *name, int *n_nonnum, char (*nonnum)[EF_ERA_NAME_MAX]) {
    int v = ef_era_parse(name);
    if (v >= 0) return v;
    /* non-numeric labels ("X") go after every numeric era, in order of appearance */
    for (int k = 0; k < *n_nonnum; k++)
        if (!strcmp(nonnum[k], name)) return EF_ERA_LIVE_NUM + k;
    if (*n_nonnum < EF_DATA_MAX_NONNUM) {
        snprintf(nonnum[*n_nonnum], EF_ERA_NAME_MAX, "%s", name);
        (*n_nonnum)++;
        return EF_ERA_LIVE_NUM + *n_nonnum - 1;
    }
    return EF_ERA_LIVE_NUM + EF_DATA_MAX_NONNUM;
}

int ef_data_era_kept(const ef_load_options *o, int num) {
    if (!o) return 1;
    int live = num >= EF_ERA_LIVE_NUM;
    if ((o->era_min > 0 || o->era_max > 0) && live) return 0;
    if (o->era_min > 0 && num < o->era_min) return 0;
    if (o->era_max > 0 && num > o->era_max) return 0;
    if (o->era_every > 1 && !live) {
        long k = (long)num - 1 - o->era_offset;
        if (k < 0 || k % o->era_every) return 0;
    }
    if (o->era_shards > 1) {
        int shard = live ? 0 : (int)(((long)num % o->era_shards + o->era_shards) % o->era_shards);
        if (shard != o->era_shard) return 0;
    }
    return 1;
}

int ef_data_row_kept(const ef_load_options *o, int era_num, int dtype, float req_target) {
    if (!ef_data_era_kept(o, era_num)) return 0;
    if (o && o->data_types && !(o->data_types & (1u << dtype))) return 0;
    if (o && o->require_target && isnan(req_target)) return 0;
    return 1;
}

/* rows sorted by (era number, original position) */
/* Rows are ordered by era number, then by era (two labels may share a number: "0001" and
 * "001"), then by row: each era's rows are one run, which the rebuild of eras[] needs. */
typedef struct era_key {
    int num;
    int32_t era;
    int64_t row;
} era_key;

static int cmp_key(const void *a, const void *b) {
    const era_key *x = a, *y = b;
    if (x->num != y->num) return x->num < y->num ? -1 : 1;
    if (x->era != y->era) return x->era < y->era ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* row r-1 may precede row r: (num, era) does not decrease */
static int rows_in_order(const ef_dataset *ds, int64_t r) {
    int32_t a = ds->row_era[r - 1], b = ds->row_era[r];
    int na = ds->eras[a].num, nb = ds->eras[b].num;
    return na < nb || (na == nb && a <= b);
}

/* Applies a permutation in place: new row i = old row perm[i]. */
static ef_status permute_rows(ef_dataset *ds, const int64_t *perm, ef_error *err) {
    int64_t n = ds->n_rows;
    size_t F = (size_t)ds->n_features, T = (size_t)ds->n_targets;
    uint8_t *done = ef_calloc((size_t)n, 1);
    int8_t *tmpx = ef_malloc(F ? F : 1);
    float *tmpy = ef_malloc((T ? T : 1) * sizeof(float));
    int64_t *noff = ef_malloc((size_t)n * sizeof *noff);
    char *nid = ef_malloc(ds->id_bytes ? ds->id_bytes : 1);
    if (!done || !tmpx || !tmpy || !noff || !nid) {
        ef_free(done); ef_free(tmpx); ef_free(tmpy); ef_free(noff); ef_free(nid);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory sorting rows by era");
    }
    for (int64_t s = 0; s < n; s++) {
        if (done[s] || perm[s] == s) continue;
        /* cycle s <- perm[s] <- perm[perm[s]] ... */
        memcpy(tmpx, ds->X + (size_t)s * F, F);
        memcpy(tmpy, ds->y + (size_t)s * T, T * sizeof(float));
        int32_t te = ds->row_era[s];
        uint8_t tt = ds->row_type[s];
        int64_t i = s;
        for (;;) {
            int64_t j = perm[i];
            done[i] = 1;
            if (j == s) break;
            memcpy(ds->X + (size_t)i * F, ds->X + (size_t)j * F, F);
            memcpy(ds->y + (size_t)i * T, ds->y + (size_t)j * T, T * sizeof(float));
            ds->row_era[i] = ds->row_era[j];
            ds->row_type[i] = ds->row_type[j];
            i = j;
        }
        memcpy(ds->X + (size_t)i * F, tmpx, F);
        memcpy(ds->y + (size_t)i * T, tmpy, T * sizeof(float));
        ds->row_era[i] = te;
        ds->row_type[i] = tt;
    }
    size_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *s = ds->id_data + ds->id_off[perm[i]];
        size_t L = strlen(s) + 1;
        memcpy(nid + o, s, L);
        noff[i] = (int64_t)o;
        o += L;
    }
    ef_free(ds->id_data);
    ef_free(ds->id_off);
    ds->id_data = nid;
    ds->id_off = noff;
    ef_free(done);
    ef_free(tmpx);
    ef_free(tmpy);
    return EF_OK;
}

ef_status ef_dataset_finish(ef_dataset *ds, ef_error *err) {
    /* eras[] may be unsorted and contain eras without rows; row_era indexes it */
    int ne = ds->n_eras;
    int sorted = 1;
    for (int64_t r = 1; r < ds->n_rows && sorted; r++) sorted = rows_in_order(ds, r);
    if (!sorted) {
        era_key *k = ef_malloc((size_t)ds->n_rows * sizeof *k);
        int64_t *perm = ef_malloc((size_t)ds->n_rows * sizeof *perm);
        if (!k || !perm) {
            ef_free(k);
            ef_free(perm);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory sorting rows by era");
        }
        for (int64_t r = 0; r < ds->n_rows; r++) {
            k[r].num = ds->eras[ds->row_era[r]].num;
            k[r].era = ds->row_era[r];
            k[r].row = r;
        }
        qsort(k, (size_t)ds->n_rows, sizeof *k, cmp_key);
        for (int64_t r = 0; r < ds->n_rows; r++) perm[r] = k[r].row;
        ef_free(k);
        ef_status st = permute_rows(ds, perm, err);
        ef_free(perm);
        EF_TRY(st);
    }
    /* rebuild eras: only those with rows, in row (= numeric) order; one run per era, so at
     * most ne entries (two labels of one number interleaved overran ne_eras: fuzz_dataset_csv) */
    ef_era *ne_eras = ef_calloc((size_t)(ne ? ne : 1), sizeof *ne_eras);
    int32_t *remap = ef_malloc((size_t)(ne ? ne : 1) * sizeof *remap);
    if (!ne_eras || !remap) {
        ef_free(ne_eras);
        ef_free(remap);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    for (int e = 0; e < ne; e++) remap[e] = -1;
    int m = 0;
    for (int64_t r = 0; r < ds->n_rows; r++) {
        int32_t e = ds->row_era[r];
        if (m == 0 || strcmp(ne_eras[m - 1].name, ds->eras[e].name)) {
            ne_eras[m] = ds->eras[e];
            ne_eras[m].start = r;
            ne_eras[m].count = 0;
            m++;
        }
        ne_eras[m - 1].count++;
        ds->row_era[r] = m - 1;
    }
    ef_free(remap);
    ef_free(ds->eras);
    ds->eras = ne_eras;
    ds->n_eras = m;
    /* missing flags */
    ef_free(ds->missing);
    size_t F = (size_t)ds->n_features;
    ds->missing = ef_calloc((size_t)(m ? m : 1) * (F ? F : 1), 1);
    if (!ds->missing) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int e = 0; e < m; e++) {
        uint8_t *miss = ds->missing + (size_t)e * F;
        if (ds->eras[e].count < 2) continue;
        for (size_t f = 0; f < F; f++) miss[f] = 1;
        for (int64_t r = ds->eras[e].start; r < ds->eras[e].start + ds->eras[e].count; r++) {
            const int8_t *x = ds->X + (size_t)r * F;
            for (size_t f = 0; f < F; f++) miss[f] &= x[f] == 2;
        }
    }
    return EF_OK;
}

// ---- filters --------------------------------------------------------------------------

ef_status ef_dataset_filter(ef_dataset *ds, const ef_load_options *opt, ef_error *err) {
    int req = -1;
    if (opt && opt->require_target) {
        req = ef_dataset_find_target(ds, opt->require_target);
        EF_CHECK(req >= 0, err, EF_ERR_INVALID, "filter: the dataset has no target '%s'",
                 opt->require_target);
    }
    size_t F = (size_t)ds->n_features, T = (size_t)ds->n_targets;
    int64_t w = 0;
    size_t idw = 0;
    for (int64_t r = 0; r < ds->n_rows; r++) {
        float t = req >= 0 ? ds->y[(size_t)r * T + (size_t)req] : 0.0f;
        if (!ef_data_row_kept(opt, ds->eras[ds->row_era[r]].num, ds->row_type[r], t)) continue;
        if (w != r) {
            memmove(ds->X + (size_t)w * F, ds->X + (size_t)r * F, F);
            memmove(ds->y + (size_t)w * T, ds->y + (size_t)r * T, T * sizeof(float));
            ds->row_era[w] = ds->row_era[r];
            ds->row_type[w] = ds->row_type[r];
        }
        const char *s = ds->id_data + ds->id_off[r];
        size_t L = strlen(s) + 1;
        memmove(ds->id_data + idw, s, L);   /* idw <= id_off[r]: never overtakes */
        ds->id_off[w] = (int64_t)idw;
        idw += L;
        w++;
    }
    ds->n_rows = w;
    ds->id_bytes = idw;
    return ef_dataset_finish(ds, err);
}
