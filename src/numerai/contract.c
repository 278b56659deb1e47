/* A fine-tuned Numerai model's input contract (include/eraformer/numerai.h): its JSON text,
 * parsing with every field checked, and reading it from a checkpoint (embedded in the
 * safetensors __metadata__ under EF_MODEL_CONTRACT_KEY) or from the sidecar MODEL.json of an
 * older two-file model; the checkpoint read and write that keep weights and contract
 * together. docs/formats.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "base/ef_internal.h"
#include "eraformer/numerai.h"

// ---- the input contract (embedded in the model; the sidecar MODEL.json of older models) ---

static void meta_path(char *buf, size_t n, const char *model_path) { snprintf(buf, n, "%s.json", model_path); }

void ef_numerai_contract_free(ef_numerai_contract *m) {
    ef_strlist_free(m->features, m->n_feat);
    ef_free(m->group_off);
    ef_free(m->group_idx);
    ef_numerai_targets_free(&m->targets);
    memset(m, 0, sizeof *m);
}

ef_status ef_numerai_contract_to_json(const ef_numerai_contract *m, char **out, ef_error *err) {
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    EF_CHECK(o, err, EF_ERR_NOMEM, "out of memory writing a contract");
    cJSON_AddStringToObject(o, "format", "eraformer-finetune-1");
    cJSON_AddStringToObject(o, "read_in", m->read_in == EF_NUMERAI_READIN_WIDE ? "wide" : "subset");
    cJSON *tg = cJSON_AddObjectToObject(o, "targets");
    for (int i = 0; i < m->targets.n; i++) cJSON_AddNumberToObject(tg, m->targets.names[i], m->targets.w[i]);
    cJSON_AddNumberToObject(o, "embargo", m->embargo);
    cJSON_AddNumberToObject(o, "window", m->window);
    cJSON_AddNumberToObject(o, "context_rows", m->context_rows);
    cJSON_AddNumberToObject(o, "members", m->members);
    cJSON_AddNumberToObject(o, "feature_dropout", m->feature_dropout);
    char sbuf[32];
    snprintf(sbuf, sizeof sbuf, "%llu", (unsigned long long)m->seed);
    cJSON_AddStringToObject(o, "seed", sbuf);
    cJSON_AddNumberToObject(o, "best_validation_corr", isfinite(m->best_corr) ? m->best_corr : 0);
    cJSON_AddNumberToObject(o, "best_step", (double)m->best_step);
    cJSON *fa = cJSON_AddArrayToObject(o, "features");
    for (int i = 0; i < m->n_feat; i++) cJSON_AddItemToArray(fa, cJSON_CreateString(m->features[i]));
    cJSON_AddStringToObject(o, "feature_transform", m->transform == EF_FT_RANKGAUSS ? "rankgauss" : "centre");
    cJSON *ga = cJSON_AddArrayToObject(o, "feature_groups");   /* members as indices into features */
    for (int g = 0; g < m->n_groups; g++) {
        cJSON *one = cJSON_CreateArray();
        for (int i = m->group_off[g]; i < m->group_off[g + 1]; i++) cJSON_AddItemToArray(one, cJSON_CreateNumber(m->group_idx[i]));
        cJSON_AddItemToArray(ga, one);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    *out = text ? ef_strdup(text) : NULL;
    cJSON_free(text);
    EF_CHECK(*out, err, EF_ERR_NOMEM, "out of memory writing a contract");
    return EF_OK;
}

ef_status ef_numerai_contract_save_sidecar(const char *text, const char *model_path, ef_error *err) {
    char path[4200];
    meta_path(path, sizeof path, model_path);
    return ef_file_write_atomic(path, text, strlen(text), err);
}

/* o[key] as an int in [lo, hi]: a whole number, never a narrowing cast of an arbitrary double
 * (out of int's range that is undefined); absent keys give dflt */
static ef_status json_int(const cJSON *o, const char *key, int lo, int hi, int dflt, int *out, const char *path,
                          ef_error *err) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!v) {
        *out = dflt;
        return EF_OK;
    }
    double d = cJSON_GetNumberValue(v);
    EF_CHECK(cJSON_IsNumber(v) && d >= lo && d <= hi && d == floor(d), err, EF_ERR_FORMAT,
             "%s: %s must be a whole number in [%d, %d]", path, key, lo, hi);
    *out = (int)d;
    return EF_OK;
}

/* embargo, window, context_rows, members; the last two are required */
static ef_status meta_ints(ef_numerai_contract *m, const cJSON *o, const char *path, ef_error *err) {
    EF_TRY(json_int(o, "embargo", 0, 1 << 20, 0, &m->embargo, path, err));
    EF_TRY(json_int(o, "window", 0, 1 << 20, 0, &m->window, path, err));
    EF_TRY(json_int(o, "context_rows", 1, 1 << 24, 0, &m->context_rows, path, err));
    return json_int(o, "members", 1, 1 << 20, 0, &m->members, path, err);
}

ef_status ef_numerai_contract_parse(ef_numerai_contract *m, const char *text, size_t size, const char *path, ef_error *err) {
    memset(m, 0, sizeof *m);
    cJSON *o = cJSON_ParseWithLength(text, size);
    if (!cJSON_IsObject(o)) {   /* "1{...}" parses as the number 1 */
        cJSON_Delete(o);
        return EF_ERR(err, EF_ERR_FORMAT, "%s: not a JSON object (expected the input contract that finetune writes)",
                      path);
    }
    ef_status s = EF_OK;
    const cJSON *ri = cJSON_GetObjectItem(o, "read_in"), *fa = cJSON_GetObjectItem(o, "features");
    const cJSON *tg = cJSON_GetObjectItem(o, "targets"), *seed = cJSON_GetObjectItem(o, "seed");
    if (!cJSON_IsString(ri) || !cJSON_IsArray(fa) || !cJSON_IsObject(tg) || !cJSON_IsString(seed)) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: missing read_in, features, targets or seed", path);
        goto done;
    }
    m->read_in = !strcmp(ri->valuestring, "wide") ? EF_NUMERAI_READIN_WIDE : EF_NUMERAI_READIN_SUBSET;
    m->seed = strtoull(seed->valuestring, NULL, 10);
    if ((s = meta_ints(m, o, path, err)) != EF_OK) goto done;
    const cJSON *fd = cJSON_GetObjectItem(o, "feature_dropout");
    m->feature_dropout = cJSON_IsNumber(fd) ? fd->valuedouble : 0.0;
    if (!(m->feature_dropout >= 0 && m->feature_dropout < 1)) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: feature_dropout must be in [0, 1)", path);
        goto done;
    }
    m->best_corr = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "best_validation_corr"));
    /* information only: read back when it is a whole number a long holds, else 0 */
    double bs = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "best_step"));
    m->best_step = bs >= 0 && bs <= 9e15 && bs == floor(bs) ? (long)bs : 0;
    int nf = cJSON_GetArraySize(fa), nt = cJSON_GetArraySize(tg);
    m->features = ef_calloc((size_t)(nf > 0 ? nf : 1), sizeof(char *));
    m->targets.names = ef_calloc((size_t)(nt > 0 ? nt : 1), sizeof(char *));
    m->targets.w = ef_calloc((size_t)(nt > 0 ? nt : 1), sizeof(double));
    if (!m->features || !m->targets.names || !m->targets.w) {
        s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, fa) {
        if (!cJSON_IsString(it) || !(m->features[m->n_feat] = ef_strdup(it->valuestring))) {
            s = EF_ERR(err, EF_ERR_FORMAT, "%s: features[%d] is not a string", path, m->n_feat);
            goto done;
        }
        m->n_feat++;
    }
    cJSON_ArrayForEach(it, tg) {
        if (!cJSON_IsNumber(it) || !(m->targets.names[m->targets.n] = ef_strdup(it->string))) {
            s = EF_ERR(err, EF_ERR_FORMAT, "%s: target weights must be numbers", path);
            goto done;
        }
        m->targets.w[m->targets.n++] = it->valuedouble;
    }
    if (m->n_feat < 1 || m->targets.n < 1 || m->context_rows < 1 || m->members < 1) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: needs features, targets, context_rows >= 1 and members >= 1", path);
        goto done;
    }
    /* encoding (absent in files from before these options: centring, no groups) */
    const cJSON *ft = cJSON_GetObjectItem(o, "feature_transform"), *ga = cJSON_GetObjectItem(o, "feature_groups");
    m->transform = cJSON_IsString(ft) && !strcmp(ft->valuestring, "rankgauss") ? EF_FT_RANKGAUSS : EF_FT_CENTRE;
    if (cJSON_IsString(ft) && strcmp(ft->valuestring, "rankgauss") && strcmp(ft->valuestring, "centre")) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: feature_transform '%.40s' (expected centre or rankgauss)", path, ft->valuestring);
        goto done;
    }
    if (cJSON_IsArray(ga) && cJSON_GetArraySize(ga) > 0) {
        int ng = cJSON_GetArraySize(ga), tot = 0;
        const cJSON *g;
        cJSON_ArrayForEach(g, ga) tot += cJSON_IsArray(g) ? cJSON_GetArraySize(g) : 0;
        m->group_off = ef_malloc((size_t)(ng + 1) * sizeof(int));
        m->group_idx = ef_malloc((size_t)(tot > 0 ? tot : 1) * sizeof(int));
        if (!m->group_off || !m->group_idx) {
            s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            goto done;
        }
        int k = 0;
        m->group_off[0] = 0;
        cJSON_ArrayForEach(g, ga) {
            const cJSON *v;
            int cnt = 0;
            if (cJSON_IsArray(g)) cJSON_ArrayForEach(v, g) {
                double d = cJSON_GetNumberValue(v);
                if (!cJSON_IsNumber(v) || d < 0 || d >= m->n_feat || d != (int)d) {
                    s = EF_ERR(err, EF_ERR_FORMAT, "%s: feature_groups[%d] has an index outside the %d features", path,
                               m->n_groups, m->n_feat);
                    goto done;
                }
                m->group_idx[k++] = (int)d;
                cnt++;
            }
            if (cnt == 0) {
                s = EF_ERR(err, EF_ERR_FORMAT, "%s: feature_groups[%d] is empty", path, m->n_groups);
                goto done;
            }
            m->group_off[++m->n_groups] = k;
        }
    }
done:
    cJSON_Delete(o);
    if (s != EF_OK) ef_numerai_contract_free(m);
    return s;
}

/* The contract text embedded in a model (contract != NULL) or else its sidecar, parsed into m;
 * errors name the model file (embedded) or the sidecar. */
static ef_status meta_from(ef_numerai_contract *m, const char *contract, const char *model_path, ef_error *err) {
    char where[4300];
    if (contract) {
        snprintf(where, sizeof where, "%s (its embedded contract, __metadata__[\"%s\"])", model_path,
                 EF_MODEL_CONTRACT_KEY);
        return ef_numerai_contract_parse(m, contract, strlen(contract), where, err);
    }
    char *text = NULL;
    size_t size;
    meta_path(where, sizeof where, model_path);
    if (ef_file_read_all(where, &text, &size, err) != EF_OK) {
        ef_error_prefix(err, "%s has no embedded contract and its sidecar is unreadable: ", model_path);
        return err ? err->code : EF_ERR_IO;
    }
    ef_status s = ef_numerai_contract_parse(m, text, size, where, err);
    ef_free(text);
    return s;
}

ef_status ef_numerai_contract_read(ef_numerai_contract *m, const char *model_path, ef_error *err) {
    memset(m, 0, sizeof *m);
    char *contract = NULL;
    EF_TRY(ef_model_read_contract(model_path, &contract, err));
    ef_status s = meta_from(m, contract, model_path, err);
    ef_free(contract);
    return s;
}

ef_status ef_numerai_checkpoint_load(ef_model **out, ef_numerai_contract *m, const char *model_path, int max_B, ef_error *err) {
    memset(m, 0, sizeof *m);
    char *contract = NULL;
    EF_TRY(ef_model_load_contract(out, model_path, max_B, NULL, NULL, &contract, err));
    ef_status s = meta_from(m, contract, model_path, err);
    ef_free(contract);
    if (s != EF_OK) {
        ef_model_destroy(*out);
        *out = NULL;
    }
    return s;
}

ef_status ef_numerai_checkpoint_save(ef_model *m, const char *path, const ef_train_state *st,
                                     const ef_numerai_contract *c, ef_error *err) {
    /* the contract goes into the checkpoint (one file, replaced atomically: weights and
     * contract always match). The sidecar PATH.json, the same text, is kept for one release
     * for older readers and written first, as before; readers trust the embedded copy. */
    char *contract = NULL;
    if (ef_numerai_contract_to_json(c, &contract, err) != EF_OK) {
        ef_error_prefix(err, "%s: ", path);
        return err ? err->code : EF_ERR_NOMEM;
    }
    ef_status s = ef_numerai_contract_save_sidecar(contract, path, err);
    if (s == EF_OK) s = ef_model_save_contract(m, path, st, 0, contract, err);
    ef_free(contract);
    return s;
}
