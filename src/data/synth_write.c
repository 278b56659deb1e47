/* Synthetic Numerai-like data: features.json (v5 layout: feature_sets small/medium/all and
 * one set per group, targets) and writing train/validation/live parquet (one row group per
 * era, era-ordered like Numerai's files) plus optional CSV copies. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"
#include "data/synth_internal.h"

static const char *const GROUP_NAMES[SYN_MAX_GROUPS] = {
    "intelligence", "charisma", "strength", "dexterity", "constitution", "wisdom",
    "agility", "serenity", "sunshine", "rain", "midnight", "faith"};

const char *ef_synth_group_name(int g) {
    return g >= 0 && g < SYN_MAX_GROUPS ? GROUP_NAMES[g] : "";
}

static cJSON *name_array(char *const *names, const int *idx, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *sj = cJSON_CreateString(names[idx ? idx[i] : i]);
        if (!sj || !cJSON_AddItemToArray(a, sj)) {
            cJSON_Delete(sj);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

char *ef_synth_features_json(const ef_synth *s) {
    int F = s->F;
    int *idx = ef_malloc((size_t)F * sizeof(int));
    cJSON *root = cJSON_CreateObject(), *sets = cJSON_CreateObject();
    char *out = NULL;
    if (!idx || !root || !sets) goto done;
    cJSON_AddItemToObject(root, "feature_sets", sets);
    ef_rng r;
    ef_rng_init(&r, s->c.seed, SYN_STREAM_WORLD + 1);
    /* small: a few features in no particular order; medium: a third, sorted (names are
     * sorted, so sorted indices are sorted names); small is not a subset of medium */
    for (int j = 0; j < F; j++) idx[j] = j;
    ef_rng_shuffle_int(&r, idx, (size_t)F);
    int n_small = EF_MIN(F, EF_MAX(5, F / 12));
    cJSON_AddItemToObject(sets, "small", name_array(s->fnames, idx, n_small));
    ef_rng_shuffle_int(&r, idx, (size_t)F);
    int n_med = EF_MIN(F, EF_MAX(n_small, F / 3));
    qsort(idx, (size_t)n_med, sizeof(int), cmp_int);
    cJSON_AddItemToObject(sets, "medium", name_array(s->fnames, idx, n_med));
    cJSON_AddItemToObject(sets, "all", name_array(s->fnames, NULL, F));
    for (int g = 0; g < s->G; g++) {
        int n = 0;
        for (int j = 0; j < F; j++)
            if (s->group[j] == g) idx[n++] = j;
        cJSON_AddItemToObject(sets, GROUP_NAMES[g], name_array(s->fnames, idx, n));
    }
    cJSON_AddItemToObject(root, "targets", name_array(s->tnames, NULL, s->T));
    char *txt = cJSON_PrintUnformatted(root);
    if (txt) {
        out = ef_strdup(txt);
        cJSON_free(txt);
    }
done:
    if (root) cJSON_Delete(root);
    else cJSON_Delete(sets);
    ef_free(idx);
    return out;
}

// ---- writing the files --------------------------------------------------------------------

static ef_status write_part(const ef_synth *s, const char *dir, const char *name, int e0, int e1,
                            void (*progress)(void *, int, int), void *ctx, ef_error *err) {
    char path[4096], csv_path[4096];
    snprintf(path, sizeof path, "%s/%s.parquet", dir, name);
    snprintf(csv_path, sizeof csv_path, "%s/%s.csv", dir, name);
    ef_dataset_writer *w = NULL;
    EF_TRY(ef_dataset_writer_open(&w, path, s->F, s->fnames, s->T, s->tnames, s->c.codec, err));
    ef_atomic_file af = {0};
    ef_status st = EF_OK;
    if (s->c.write_csv) st = ef_atomic_open(&af, csv_path, err);
    ef_dataset ds;
    memset(&ds, 0, sizeof ds);
    for (int e = e0; e < e1 && !st; e++) {
        st = ef_synth_era(s, e, &ds, err);
        if (!st) st = ef_dataset_writer_append(w, &ds, 0, ds.n_rows, err);
        if (!st && s->c.write_csv) st = ef_dataset_write_csv(&ds, af.fp, e == e0, err);
        if (progress) progress(ctx, e + 1, s->n_eras);
    }
    ef_dataset_free(&ds);
    if (st) {
        ef_dataset_writer_abort(w);
        if (s->c.write_csv) ef_atomic_abort(&af);
        return st;
    }
    st = ef_dataset_writer_close(w, err);
    if (s->c.write_csv) {
        if (!st) st = ef_atomic_commit(&af, err);
        else ef_atomic_abort(&af);
    }
    return st;
}

ef_status ef_synth_write(const ef_synth_config *c, const char *out_dir,
                         void (*progress)(void *ctx, int era, int n_eras), void *ctx,
                         ef_error *err) {
    ef_synth *s = NULL;
    EF_TRY(ef_synth_create(&s, c, err));
    int Et = c->eras_train, Ev = c->eras_validation;
    ef_status st = write_part(s, out_dir, "train", 0, Et, progress, ctx, err);
    if (!st) st = write_part(s, out_dir, "validation", Et, Et + Ev, progress, ctx, err);
    if (!st) st = write_part(s, out_dir, "live", Et + Ev, Et + Ev + 1, progress, ctx, err);
    if (!st) {
        char *json = ef_synth_features_json(s);
        char path[4096];
        snprintf(path, sizeof path, "%s/features.json", out_dir);
        if (!json) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory writing features.json");
        else st = ef_file_write_atomic(path, json, strlen(json), err);
        ef_free(json);
    }
    ef_synth_destroy(s);
    return st;
}
