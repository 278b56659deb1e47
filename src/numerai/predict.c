/* The predict pipeline (include/eraformer/numerai.h): loading fine-tuned models (checkpoints and
 * `train`'s model directories) into one ensemble, loading the data to predict and the labelled
 * context with the models' columns, and predicting every era: each model's context ensemble
 * (ef_numerai_era_predict), then the models gaussianized, averaged and ranked per era.
 * `eraformer predict` and the Python NumeraiModel are calls of these. */
#include <stdio.h>
#include <string.h>
#include "base/blas.h"
#include "base/ef_internal.h"
#include "eraformer/metrics.h"
#include "eraformer/numerai.h"
#include "numerai/model_dir.h"

struct ef_numerai_model {
    int n;
    char **paths;                       /* ef_strlist of n */
    ef_model *ms[EF_NUMERAI_MAX_MODELS];
    ef_numerai_contract cs[EF_NUMERAI_MAX_MODELS];
};

// ---- models ---------------------------------------------------------------------------------

ef_status ef_numerai_model_paths(const char *spec, char ***paths, int *n, ef_error *err) {
    *paths = NULL;
    *n = 0;
    EF_CHECK(spec && *spec, err, EF_ERR_INVALID, "no model given");
    char *copy = ef_strdup(spec), **out = ef_calloc(EF_NUMERAI_MAX_MODELS + 1, sizeof(char *));
    int k = 0;
    ef_status s = copy && out ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    char *save = NULL;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; !s && tok; tok = strtok_r(NULL, ",", &save)) {
        char **mem = NULL;
        int nmem = 0;
        if (md_is_model_dir(tok)) {
            if ((s = md_member_paths(tok, &mem, &nmem, err)) != EF_OK) break;
        } else {
            mem = ef_calloc(1, sizeof(char *));
            if (mem) mem[0] = ef_strdup(tok);
            nmem = 1;
            if (!mem || !mem[0]) s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; !s && i < nmem; i++) {
            if (k >= EF_NUMERAI_MAX_MODELS) {
                s = EF_ERR(err, EF_ERR_INVALID, "%s: more than %d checkpoints (files or model directories' members)",
                           spec, EF_NUMERAI_MAX_MODELS);
                break;
            }
            out[k++] = mem[i];
            mem[i] = NULL;
        }
        ef_strlist_free(mem, nmem);
    }
    ef_free(copy);
    if (!s && k == 0) s = EF_ERR(err, EF_ERR_INVALID, "'%s' names no model", spec);
    if (s) {
        ef_strlist_free(out, EF_NUMERAI_MAX_MODELS + 1);
        return s;
    }
    *paths = out;
    *n = k;
    return EF_OK;
}

/* The models of an ensemble must read the same columns the same way. */
static int same_inputs(const ef_numerai_contract *a, const ef_numerai_contract *b) {
    if (a->n_feat != b->n_feat || a->targets.n != b->targets.n || a->transform != b->transform ||
        a->n_groups != b->n_groups || a->read_in != b->read_in)
        return 0;
    for (int i = 0; i < a->n_feat; i++)
        if (strcmp(a->features[i], b->features[i])) return 0;
    for (int i = 0; i < a->targets.n; i++)
        if (strcmp(a->targets.names[i], b->targets.names[i]) || a->targets.w[i] != b->targets.w[i]) return 0;
    for (int g = 0; g <= a->n_groups && a->n_groups; g++)
        if (a->group_off[g] != b->group_off[g]) return 0;
    for (int i = 0; a->n_groups && i < a->group_off[a->n_groups]; i++)
        if (a->group_idx[i] != b->group_idx[i]) return 0;
    return 1;
}

void ef_numerai_model_destroy(ef_numerai_model *nm) {
    if (!nm) return;
    for (int i = 0; i < nm->n; i++) {
        ef_model_destroy(nm->ms[i]);
        ef_numerai_contract_free(&nm->cs[i]);
    }
    ef_strlist_free(nm->paths, nm->n);
    ef_free(nm);
}

ef_status ef_numerai_model_load_paths(ef_numerai_model **out, const char *const *paths, int n, ef_error *err) {
    *out = NULL;
    EF_CHECK(n >= 1 && n <= EF_NUMERAI_MAX_MODELS, err, EF_ERR_INVALID, "1 to %d models, got %d",
             EF_NUMERAI_MAX_MODELS, n);
    ef_numerai_model *nm = ef_calloc(1, sizeof *nm);
    EF_CHECK(nm, err, EF_ERR_NOMEM, "out of memory");
    nm->paths = ef_calloc((size_t)n, sizeof(char *));
    ef_status s = nm->paths ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < n; i++) {
        if (!(nm->paths[i] = ef_strdup(paths[i]))) {
            s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            break;
        }
        nm->n = i + 1;
        if ((s = ef_numerai_checkpoint_load(&nm->ms[i], &nm->cs[i], paths[i], 1, err)) != EF_OK) break;
        if (!same_inputs(&nm->cs[0], &nm->cs[i]))
            s = EF_ERR(err, EF_ERR_INVALID, "%s and %s read different features, targets or encodings: they cannot be "
                       "ensembled", paths[0], paths[i]);
    }
    if (s) {
        if (!nm->paths) nm->n = 0;
        ef_numerai_model_destroy(nm);
        return s;
    }
    *out = nm;
    return EF_OK;
}

ef_status ef_numerai_model_load(ef_numerai_model **out, const char *spec, ef_error *err) {
    *out = NULL;
    char **paths = NULL;
    int n = 0;
    EF_TRY(ef_numerai_model_paths(spec, &paths, &n, err));
    ef_status s = ef_numerai_model_load_paths(out, (const char *const *)paths, n, err);
    ef_strlist_free(paths, EF_NUMERAI_MAX_MODELS + 1);
    return s;
}

int ef_numerai_model_count(const ef_numerai_model *nm) { return nm ? nm->n : 0; }

const char *ef_numerai_model_path(const ef_numerai_model *nm, int i) {
    return nm && i >= 0 && i < nm->n ? nm->paths[i] : NULL;
}

const ef_numerai_contract *ef_numerai_model_contract(const ef_numerai_model *nm, int i) {
    return nm && i >= 0 && i < nm->n ? &nm->cs[i] : NULL;
}

// ---- options and data -----------------------------------------------------------------------

void ef_numerai_predict_opts_init(ef_numerai_predict_opts *o) {
    memset(o, 0, sizeof *o);
    o->embargo = -1;
    o->window = -1;
}

void ef_numerai_predict_resolve(const ef_numerai_model *nm, int i, const ef_numerai_predict_opts *o,
                                ef_numerai_era_opts *eo) {
    ef_numerai_predict_opts def;
    if (!o) {
        ef_numerai_predict_opts_init(&def);
        o = &def;
    }
    const ef_numerai_contract *c = &nm->cs[i];
    *eo = (ef_numerai_era_opts){c->read_in, o->members > 0 ? o->members : c->members,
                                o->context_rows > 0 ? o->context_rows : c->context_rows,
                                o->embargo >= 0 ? o->embargo : c->embargo, o->window >= 0 ? o->window : c->window,
                                o->has_seed ? o->seed : c->seed, c->feature_dropout};
}

ef_status ef_numerai_data_load(const ef_numerai_model *nm, const char *const *paths, int n, ef_dataset *data,
                               ef_error *err) {
    memset(data, 0, sizeof *data);
    const ef_numerai_contract *c = &nm->cs[0];
    ef_load_options lo = {0};
    lo.features = (const char *const *)c->features;
    lo.n_features = c->n_feat;
    lo.no_targets = 1;
    return ef_dataset_load(data, paths, n, &lo, err);
}

ef_status ef_numerai_context_load(const ef_numerai_model *nm, const ef_dataset *data,
                                  const ef_numerai_predict_opts *o, const char *const *paths, int n,
                                  ef_dataset *context, ef_error *err) {
    memset(context, 0, sizeof *context);
    const ef_numerai_contract *c = &nm->cs[0];
    ef_load_options lo = {0};
    lo.features = (const char *const *)c->features;
    lo.n_features = c->n_feat;
    lo.targets = (const char *const *)c->targets.names;
    lo.n_targets = c->targets.n;
    /* live only, with a window: the context is the newest resolved eras, so only the newest
     * eras of the context files are read (+32 for unresolved ones at the end: Numerai's newest
     * validation eras have no targets yet) */
    int all_live = data && data->n_eras > 0;
    for (int e = 0; data && e < data->n_eras; e++) all_live &= data->eras[e].num >= EF_ERA_LIVE_NUM;
    int w = 0;
    for (int i = 0; i < nm->n; i++) {
        ef_numerai_era_opts eo;
        ef_numerai_predict_resolve(nm, i, o, &eo);
        all_live &= eo.window > 0;
        w = EF_MAX(w, eo.window);
    }
    if (all_live) lo.era_newest = w + 32;
    return ef_dataset_load(context, paths, n, &lo, err);
}

// ---- prediction -------------------------------------------------------------------------------

#define MAX_TARGETS 64

/* Everything one ef_numerai_predict call allocates. */
typedef struct pred_state {
    float *y;                                   /* the context's engineered target */
    ef_tasks ct, qt;
    ef_rows_cache *caches[EF_NUMERAI_MAX_MODELS];
    ef_numerai_era_opts eo[EF_NUMERAI_MAX_MODELS];
    double *mpred;                              /* models x the largest era: their era predictions */
    const double **mcols;
} pred_state;

static void pred_state_free(pred_state *p) {
    ef_free(p->y);
    ef_tasks_free(&p->ct);
    ef_tasks_free(&p->qt);
    for (int i = 0; i < EF_NUMERAI_MAX_MODELS; i++) ef_rows_cache_destroy(p->caches[i]);
    ef_free(p->mpred);
    ef_free((void *)p->mcols);
}

/* The engineered context target, the tasks of both datasets, a rows cache per model. */
static ef_status pred_state_init(pred_state *p, const ef_numerai_model *nm, const ef_dataset *data,
                                 const ef_dataset *context, const ef_numerai_predict_opts *o, ef_error *err) {
    const ef_numerai_contract *c = &nm->cs[0];   /* the shared inputs */
    int tcol[MAX_TARGETS];
    EF_CHECK(c->targets.n <= MAX_TARGETS, err, EF_ERR_INVALID, "at most %d targets", MAX_TARGETS);
    for (int i = 0; i < c->targets.n; i++) {
        tcol[i] = ef_dataset_find_target(context, c->targets.names[i]);
        EF_CHECK(tcol[i] >= 0, err, EF_ERR_INVALID, "target '%.200s' of the model is not in the context data",
                 c->targets.names[i]);
    }
    p->y = ef_malloc((size_t)(context->n_rows > 0 ? context->n_rows : 1) * sizeof(float));
    EF_CHECK(p->y, err, EF_ERR_NOMEM, "out of memory");
    EF_TRY(ef_numerai_target_engineer(context, tcol, c->targets.w, c->targets.n, p->y, err));
    EF_TRY(ef_tasks_init(&p->ct, context, c->features, c->n_feat, p->y, err));
    EF_TRY(ef_tasks_init(&p->qt, data, c->features, c->n_feat, NULL, err));
    EF_TRY(ef_tasks_set_encoding(&p->ct, (ef_feature_transform)c->transform, c->n_groups, c->group_off, c->group_idx,
                                 err));
    EF_TRY(ef_tasks_set_encoding(&p->qt, (ef_feature_transform)c->transform, c->n_groups, c->group_off, c->group_idx,
                                 err));
    for (int i = 0; i < nm->n; i++) {
        ef_numerai_predict_resolve(nm, i, o, &p->eo[i]);
        EF_CHECK(p->eo[i].members >= 1 && p->eo[i].context_rows >= 1, err, EF_ERR_INVALID,
                 "%s: members and context rows must be at least 1", nm->paths[i]);
        EF_TRY(ef_rows_cache_create(&p->caches[i], nm->ms[i], p->eo[i].context_rows, err));
    }
    int64_t max_era = 1;
    for (int e = 0; e < data->n_eras; e++) max_era = EF_MAX(max_era, data->eras[e].count);
    p->mpred = ef_malloc((size_t)nm->n * (size_t)max_era * sizeof(double));
    p->mcols = ef_malloc((size_t)nm->n * sizeof(double *));
    EF_CHECK(p->mpred && p->mcols, err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

static ef_status predict_eras(const ef_numerai_model *nm, const ef_dataset *data, pred_state *p,
                              const ef_numerai_predict_opts *o, double *pred, ef_error *err) {
    int nm_n = nm->n;
    int64_t done_rows = 0;
    for (int e = 0; e < data->n_eras; e++) {
        double *dst = nm_n == 1 ? pred + data->eras[e].start : p->mpred;
        size_t ne_rows = (size_t)data->eras[e].count;
        for (int i = 0; i < nm_n; i++) {
            EF_TRY(ef_numerai_era_predict(nm->ms[i], p->caches[i], &p->ct, &p->qt, e, &p->eo[i],
                                          dst + (size_t)i * ne_rows, err));
            p->mcols[i] = dst + (size_t)i * ne_rows;
        }
        if (nm_n > 1) {
            /* models: gaussianized, averaged and ranked into (0, 1], as members are */
            size_t off[2] = {0, ne_rows};
            EF_TRY(ef_predictions_ensemble(pred + data->eras[e].start, p->mcols, NULL, (size_t)nm_n, off, 1, err));
        }
        done_rows += data->eras[e].count;
        if (o && o->on_era) o->on_era(o->ctx, e, done_rows);
    }
    return EF_OK;
}

ef_status ef_numerai_predict(const ef_numerai_model *nm, const ef_dataset *data, const ef_dataset *context,
                             const ef_numerai_predict_opts *o, double *pred, ef_error *err) {
    EF_CHECK(nm && data && context && pred, err, EF_ERR_INVALID, "ef_numerai_predict: NULL argument");
    EF_CHECK(!o || o->threads >= 0, err, EF_ERR_INVALID, "threads must be >= 0, got %d", o->threads);
    int threads_before = ef_threads_get();
    if (o && o->threads > 0) ef_threads_set(o->threads);
    ef_blas_begin(); /* OpenBLAS single-threaded for this call only (base/blas.h) */
    pred_state p;
    memset(&p, 0, sizeof p);
    ef_status s = pred_state_init(&p, nm, data, context, o, err);
    if (s == EF_OK) s = predict_eras(nm, data, &p, o, pred, err);
    pred_state_free(&p);
    ef_blas_end();
    if (o && o->threads > 0) ef_threads_set(threads_before);
    return s;
}

// ---- heap datasets for bindings ------------------------------------------------------------------

ef_status ef_numerai_dataset_create(ef_dataset **out, ef_error *err) {
    *out = ef_calloc(1, sizeof **out);
    EF_CHECK(*out, err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

int64_t ef_numerai_dataset_rows(const ef_dataset *ds) { return ds ? ds->n_rows : 0; }

void ef_numerai_dataset_ids(const ef_dataset *ds, const char **ids) {
    for (int64_t r = 0; r < ds->n_rows; r++) ids[r] = ef_dataset_id(ds, r);
}

void ef_numerai_dataset_destroy(ef_dataset *ds) {
    if (!ds) return;
    ef_dataset_free(ds);
    ef_free(ds);
}
