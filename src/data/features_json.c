/* Numerai features.json: v5.x feature_sets + targets, v4.x feature_sets + feature_stats
 * (with the bare NaN tokens Python's json module writes, which cJSON rejects: they are
 * rewritten to null outside strings before parsing), and feature-set selection by name or
 * explicit list. Reference: ../shared/reference/numerai.md section 1.6. */
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "base/ef_internal.h"
#include "eraformer/data.h"

// ---- NaN / Infinity tokens ------------------------------------------------------------

static int token_at(const char *t, size_t len, size_t i, const char *tok) {
    size_t n = strlen(tok);
    if (i + n > len || memcmp(t + i, tok, n)) return 0;
    /* the token must end there: the next char cannot continue an identifier */
    if (i + n < len) {
        char c = t[i + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    return 1;
}

char *ef_json_nonfinite_to_null(const char *text, size_t len, size_t *out_len, int *replaced) {
    /* "NaN" (3) -> "null" (4) is the only growth: at most 4/3 of the input */
    char *out = ef_malloc(len + len / 3 + 8);
    if (!out) return NULL;
    size_t o = 0;
    int in_str = 0, count = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_str) {
            out[o++] = c;
            if (c == '\\' && i + 1 < len) {
                out[o++] = text[i + 1];
                i += 2;
                continue;
            }
            if (c == '"') in_str = 0;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            out[o++] = c;
            i++;
            continue;
        }
        static const char *const toks[] = {"-Infinity", "Infinity", "-NaN", "NaN"};
        int hit = 0;
        for (int k = 0; k < 4 && !hit; k++) {
            if (token_at(text, len, i, toks[k])) {
                memcpy(out + o, "null", 4);
                o += 4;
                i += strlen(toks[k]);
                count++;
                hit = 1;
            }
        }
        if (!hit) out[o++] = text[i++];
    }
    out[o] = 0;
    if (out_len) *out_len = o;
    if (replaced) *replaced = count;
    return out;
}

// ---- parsing --------------------------------------------------------------------------

void ef_strlist_free(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) ef_free(names[i]);
    ef_free(names);
}

void ef_features_json_free(ef_features_json *fj) {
    if (!fj) return;
    for (int i = 0; i < fj->n_sets; i++) {
        ef_free(fj->sets[i].name);
        ef_strlist_free(fj->sets[i].features, fj->sets[i].n);
    }
    ef_free(fj->sets);
    ef_strlist_free(fj->targets, fj->n_targets);
    ef_strlist_free(fj->stat_features, fj->n_stat_features);
    ef_strlist_free(fj->stat_keys, fj->n_stat_keys);
    ef_free(fj->stats);
    memset(fj, 0, sizeof *fj);
}

/* Copies a JSON array of strings. */
static ef_status string_array(const cJSON *arr, const char *what, const char *name, char ***out,
                              int *n, ef_error *err) {
    *out = NULL;
    *n = 0;
    EF_CHECK(cJSON_IsArray(arr), err, EF_ERR_FORMAT, "%s: %s is not an array", name, what);
    int cnt = cJSON_GetArraySize(arr);
    char **v = ef_calloc((size_t)(cnt ? cnt : 1), sizeof *v);
    if (!v) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it)) {
            ef_strlist_free(v, i);
            return EF_ERR(err, EF_ERR_FORMAT, "%s: %s[%d] is not a string", name, what, i);
        }
        if (!(v[i] = ef_strdup(it->valuestring))) {
            ef_strlist_free(v, i);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        i++;
    }
    *out = v;
    *n = i;
    return EF_OK;
}

static ef_status parse_stats(ef_features_json *fj, const cJSON *st, const char *name, ef_error *err) {
    EF_CHECK(cJSON_IsObject(st), err, EF_ERR_FORMAT, "%s: feature_stats is not an object", name);
    int nf = cJSON_GetArraySize(st);
    fj->stat_features = ef_calloc((size_t)(nf ? nf : 1), sizeof(char *));
    if (!fj->stat_features) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    /* the stat keys: the union over features in first-seen order */
    const cJSON *f;
    cJSON_ArrayForEach(f, st) {
        EF_CHECK(cJSON_IsObject(f), err, EF_ERR_FORMAT, "%s: feature_stats.%s is not an object",
                 name, f->string ? f->string : "?");
        const cJSON *k;
        cJSON_ArrayForEach(k, f) {
            int found = 0;
            for (int j = 0; j < fj->n_stat_keys && !found; j++) found = !strcmp(fj->stat_keys[j], k->string);
            if (found) continue;
            char **p = ef_realloc(fj->stat_keys, (size_t)(fj->n_stat_keys + 1) * sizeof *p);
            if (!p) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            fj->stat_keys = p;
            if (!(p[fj->n_stat_keys] = ef_strdup(k->string))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            fj->n_stat_keys++;
        }
    }
    size_t cells = (size_t)nf * (size_t)(fj->n_stat_keys ? fj->n_stat_keys : 1);
    fj->stats = ef_malloc(cells * sizeof(double));
    if (!fj->stats) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cells; i++) fj->stats[i] = NAN;
    cJSON_ArrayForEach(f, st) {
        int row = fj->n_stat_features;
        if (!(fj->stat_features[row] = ef_strdup(f->string))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        fj->n_stat_features++;
        const cJSON *k;
        cJSON_ArrayForEach(k, f) {
            int j = 0;
            while (strcmp(fj->stat_keys[j], k->string)) j++;
            if (cJSON_IsNumber(k)) fj->stats[(size_t)row * (size_t)fj->n_stat_keys + (size_t)j] = k->valuedouble;
            else EF_CHECK(cJSON_IsNull(k), err, EF_ERR_FORMAT,
                          "%s: feature_stats.%s.%s is not a number or NaN", name, f->string, k->string);
        }
    }
    return EF_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds an "all" set when the file has none: feature_stats keys, else the sorted union. */
static ef_status derive_all(ef_features_json *fj, ef_error *err) {
    if (ef_features_json_find(fj, "all")) return EF_OK;
    int cap = fj->n_stat_features;
    for (int i = 0; i < fj->n_sets; i++) cap += fj->sets[i].n;
    char **v = ef_calloc((size_t)(cap ? cap : 1), sizeof *v);
    if (!v) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    int n = 0;
    if (fj->n_stat_features) {
        for (int i = 0; i < fj->n_stat_features; i++) v[n++] = fj->stat_features[i];
    } else {
        for (int i = 0; i < fj->n_sets; i++)
            for (int j = 0; j < fj->sets[i].n; j++) v[n++] = fj->sets[i].features[j];
        qsort(v, (size_t)n, sizeof *v, cmp_str);
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!m || strcmp(v[m - 1], v[i])) v[m++] = v[i];
        n = m;
    }
    for (int i = 0; i < n; i++) {   /* borrowed pointers -> owned copies */
        v[i] = ef_strdup(v[i]);
        if (!v[i]) {
            ef_strlist_free(v, i);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
    }
    ef_feature_set *s = ef_realloc(fj->sets, (size_t)(fj->n_sets + 1) * sizeof *s);
    char *nm = ef_strdup("all");
    if (!s || !nm) {
        if (s) fj->sets = s;
        ef_free(nm);
        ef_strlist_free(v, n);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    fj->sets = s;
    s[fj->n_sets].name = nm;
    s[fj->n_sets].features = v;
    s[fj->n_sets].n = n;
    fj->n_sets++;
    return EF_OK;
}

static ef_status parse_root(ef_features_json *fj, const cJSON *root, const char *name, ef_error *err) {
    EF_CHECK(cJSON_IsObject(root), err, EF_ERR_FORMAT, "%s: the top level is not an object", name);
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "feature_sets");
    EF_CHECK(sets && cJSON_IsObject(sets), err, EF_ERR_FORMAT,
             "%s: no \"feature_sets\" object (is this a Numerai features.json?)", name);
    int ns = cJSON_GetArraySize(sets);
    fj->sets = ef_calloc((size_t)(ns ? ns : 1), sizeof *fj->sets);
    if (!fj->sets) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    const cJSON *s;
    cJSON_ArrayForEach(s, sets) {
        ef_feature_set *fs = &fj->sets[fj->n_sets];
        if (!(fs->name = ef_strdup(s->string))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        fj->n_sets++;
        char what[300];
        snprintf(what, sizeof what, "feature_sets.%s", s->string);
        EF_TRY(string_array(s, what, name, &fs->features, &fs->n, err));
    }
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(root, "targets");
    if (tg) EF_TRY(string_array(tg, "targets", name, &fj->targets, &fj->n_targets, err));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "feature_stats");
    if (st) EF_TRY(parse_stats(fj, st, name, err));
    return derive_all(fj, err);
}

ef_status ef_features_json_parse(ef_features_json *fj, const char *text, size_t len,
                                 const char *name, ef_error *err) {
    memset(fj, 0, sizeof *fj);
    if (!name) name = "features.json";
    size_t clean_len = 0;
    char *clean = ef_json_nonfinite_to_null(text, len, &clean_len, NULL);
    if (!clean) return EF_ERR(err, EF_ERR_NOMEM, "out of memory parsing %s", name);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(clean, clean_len, &end, 0);
    if (!root) {
        size_t off = end && end >= clean ? (size_t)(end - clean) : 0;
        ef_free(clean);
        return EF_ERR(err, EF_ERR_FORMAT, "%s: invalid JSON near byte %zu", name, off);
    }
    ef_status st = parse_root(fj, root, name, err);
    cJSON_Delete(root);
    ef_free(clean);
    if (st) ef_features_json_free(fj);
    return st;
}

ef_status ef_features_json_load(ef_features_json *fj, const char *path, ef_error *err) {
    memset(fj, 0, sizeof *fj);
    char *text = NULL;
    size_t size = 0;
    EF_TRY(ef_file_read_all(path, &text, &size, err));
    ef_status st = ef_features_json_parse(fj, text, size, path, err);
    ef_free(text);
    return st;
}

const ef_feature_set *ef_features_json_find(const ef_features_json *fj, const char *name) {
    for (int i = 0; i < fj->n_sets; i++)
        if (!strcmp(fj->sets[i].name, name)) return &fj->sets[i];
    return NULL;
}

// ---- selection ------------------------------------------------------------------------

static int list_has(char **v, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return 1;
    return 0;
}

static ef_status list_add(char ***v, int *n, int *cap, const char *s, ef_error *err) {
    if (list_has(*v, *n, s)) return EF_OK;   /* O(n^2) worst case: fine for a few thousand */
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        char **p = ef_realloc(*v, (size_t)nc * sizeof *p);
        if (!p) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        *v = p;
        *cap = nc;
    }
    if (!((*v)[*n] = ef_strdup(s))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    (*n)++;
    return EF_OK;
}

ef_status ef_features_json_select(const ef_features_json *fj, const char *spec, char ***names,
                                  int *n, ef_error *err) {
    *names = NULL;
    *n = 0;
    EF_CHECK(spec && spec[0], err, EF_ERR_INVALID, "empty feature selection");
    const ef_feature_set *all = ef_features_json_find(fj, "all");
    char **v = NULL;
    int cnt = 0, cap = 0;
    ef_status st = EF_OK;
    const char *p = spec;
    while (!st) {
        const char *q = strchr(p, ',');
        size_t L = q ? (size_t)(q - p) : strlen(p);
        char item[512];
        if (L == 0 || L >= sizeof item) {
            st = EF_ERR(err, EF_ERR_INVALID, "feature selection '%s': empty or overlong item", spec);
            break;
        }
        memcpy(item, p, L);
        item[L] = 0;
        const ef_feature_set *set = ef_features_json_find(fj, item);
        if (set) {
            for (int i = 0; i < set->n && !st; i++) st = list_add(&v, &cnt, &cap, set->features[i], err);
        } else if (!strncmp(item, "feature_", 8) && (!all || list_has(all->features, all->n, item))) {
            st = list_add(&v, &cnt, &cap, item, err);
        } else {
            char known[400] = "";
            size_t kl = 0;
            for (int i = 0; i < fj->n_sets && kl + 40 < sizeof known; i++)
                kl += (size_t)snprintf(known + kl, sizeof known - kl, "%s%s", i ? ", " : "", fj->sets[i].name);
            st = EF_ERR(err, EF_ERR_INVALID,
                        "feature selection: '%s' is neither a feature set (%s) nor a known feature",
                        item, known);
        }
        if (!q) break;
        p = q + 1;
    }
    if (st) {
        ef_strlist_free(v, cnt);
        return st;
    }
    *names = v;
    *n = cnt;
    return EF_OK;
}
