/* Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 *   8 bytes   little-endian u64 N = header length
 *   N bytes   JSON: {"__metadata__": {string: string}, "<tensor>": {"dtype": "F32",
 *             "shape": [...], "data_offsets": [begin, end]}, ...}, space-padded to 8 bytes
 *   rest      raw little-endian tensor data; offsets are relative to the end of the header.
 * __metadata__ holds "format": "eraformer", "config" (the model config as JSON text) and,
 * for training checkpoints, "state" (step, seed, RNG state, extra). AdamW moments are the
 * tensors "optim.m" and "optim.v" (flat, parameter-block order). Files are written to a temp
 * file, fsynced and renamed; loading validates every length, offset and shape. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include "model/model_internal.h"

#define MAX_HEADER (64u << 20)

// ---- writing --------------------------------------------------------------------------

static cJSON *tensor_entry(const int64_t *shape, int ndim, size_t begin, size_t end) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "dtype", "F32");
    cJSON *sh = cJSON_AddArrayToObject(t, "shape");
    for (int i = 0; i < ndim; i++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)shape[i]));
    cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)begin));
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)end));
    return t;
}

static char *config_json(const ef_model_config *c) {
    char buf[512];
    /* row_positions only when set: files of permutation-invariant models keep their bytes */
    snprintf(buf, sizeof buf,
             "{\"layout\":\"%s\",\"n_layer\":%d,\"d_model\":%d,\"n_head\":%d,\"d_max\":%d,\"max_points\":%d%s}",
             ef_layout_name(c->layout), c->n_layer, c->d_model, c->n_head, c->d_max, c->max_points,
             c->row_positions ? ",\"row_positions\":1" : "");
    return ef_strdup(buf);
}

static char *state_json(const ef_train_state *st) {
    cJSON *o = cJSON_CreateObject();
    char num[64];
    snprintf(num, sizeof num, "%ld", st->step);
    cJSON_AddStringToObject(o, "step", num);
    snprintf(num, sizeof num, "%" PRIu64, st->seed);
    cJSON_AddStringToObject(o, "seed", num);
    snprintf(num, sizeof num, "%" PRIu64, st->rng.key);
    cJSON_AddStringToObject(o, "rng_key", num);
    snprintf(num, sizeof num, "%" PRIu64, st->rng.counter);
    cJSON_AddStringToObject(o, "rng_counter", num);
    uint64_t bits;
    memcpy(&bits, &st->rng.spare, sizeof bits);
    snprintf(num, sizeof num, "%d:%" PRIu64, st->rng.has_spare, bits);
    cJSON_AddStringToObject(o, "rng_spare", num);
    cJSON_AddStringToObject(o, "extra", st->extra);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

ef_status ef_model_save(ef_model *m, const char *path, const ef_train_state *st, int with_optim, ef_error *err) {
    cJSON *h = cJSON_CreateObject();
    if (!h) return EF_ERR(err, EF_ERR_NOMEM, "out of memory writing %s", path);
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "eraformer");
    cJSON_AddStringToObject(meta, "version", "1");
    char *cfg = config_json(&m->cfg);
    cJSON_AddStringToObject(meta, "config", cfg ? cfg : "");
    ef_free(cfg);
    if (st) {
        char *s = state_json(st);
        cJSON_AddStringToObject(meta, "state", s ? s : "");
        cJSON_free(s);
    }
    size_t off = 0;
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        const ef_param_info *pi = &m->info[i];
        if (!pi->size) continue;
        cJSON_AddItemToObject(h, pi->name, tensor_entry(pi->shape, pi->ndim, off, off + pi->size * 4));
        off += pi->size * 4;
    }
    if (with_optim) {
        int64_t n = (int64_t)m->n_params;
        cJSON_AddItemToObject(h, "optim.m", tensor_entry(&n, 1, off, off + m->n_params * 4));
        off += m->n_params * 4;
        cJSON_AddItemToObject(h, "optim.v", tensor_entry(&n, 1, off, off + m->n_params * 4));
        off += m->n_params * 4;
    }
    char *js = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!js) return EF_ERR(err, EF_ERR_NOMEM, "out of memory writing %s", path);
    size_t jn = strlen(js), pad = (8 - jn % 8) % 8;
    uint64_t hlen = jn + pad;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hlen >> (8 * i));

    ef_atomic_file af;
    ef_status s = ef_atomic_open(&af, path, err);
    if (s != EF_OK) {
        cJSON_free(js);
        return s;
    }
    int ok = fwrite(le, 1, 8, af.fp) == 8 && fwrite(js, 1, jn, af.fp) == jn;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', af.fp) != EOF;
    cJSON_free(js);
    /* floats are stored little-endian: this build targets little-endian hosts */
    for (int i = 0; ok && i < EF_NPARAM_TENSORS; i++)
        if (m->info[i].size) ok = fwrite(m->P.p[i], 4, m->info[i].size, af.fp) == m->info[i].size;
    if (ok && with_optim)
        ok = fwrite(m->m, 4, m->n_params, af.fp) == m->n_params && fwrite(m->v, 4, m->n_params, af.fp) == m->n_params;
    if (!ok) {
        int e = errno;
        ef_atomic_abort(&af);
        return EF_ERR(err, EF_ERR_IO, "writing %s failed: %s", path, strerror(e));
    }
    return ef_atomic_commit(&af, err);
}

// ---- reading --------------------------------------------------------------------------

static ef_status get_int(const cJSON *o, const char *key, int lo, int hi, int *out, const char *path, ef_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    /* range-checked as a double before any conversion: (int) of 1e82 is undefined (UBSan,
     * fuzz_checkpoint) */
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    EF_CHECK(d == floor(d), err, EF_ERR_FORMAT, "%s: model config: '%s' missing or not an integer", path, key);
    EF_CHECK(d >= lo && d <= hi, err, EF_ERR_FORMAT, "%s: model config: '%s' = %g outside [%d, %d]", path, key, d, lo, hi);
    *out = (int)d;
    return EF_OK;
}

static ef_status parse_config(const char *text, ef_model_config *c, const char *path, ef_error *err) {
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) {   /* "1{...}" parses as the number 1: free it too */
        cJSON_Delete(o);
        return EF_ERR(err, EF_ERR_FORMAT, "%s: __metadata__.config is not a JSON object", path);
    }
    ef_status s = EF_OK;
    const cJSON *lay = cJSON_GetObjectItemCaseSensitive(o, "layout");
    if (!cJSON_IsString(lay)) s = EF_ERR(err, EF_ERR_FORMAT, "%s: model config: 'layout' missing", path);
    else if (ef_layout_parse(lay->valuestring, &c->layout, err) != EF_OK) {
        s = EF_ERR_FORMAT;
        ef_error_prefix(err, "%s: model config: ", path);
    }
    if (s == EF_OK) s = get_int(o, "n_layer", 1, 256, &c->n_layer, path, err);
    if (s == EF_OK) s = get_int(o, "d_model", 1, 16384, &c->d_model, path, err);
    if (s == EF_OK) s = get_int(o, "n_head", 1, 16384, &c->n_head, path, err);
    if (s == EF_OK) s = get_int(o, "d_max", 1, 100000, &c->d_max, path, err);
    if (s == EF_OK) s = get_int(o, "max_points", 1, 65536, &c->max_points, path, err);
    c->row_positions = 0;
    if (s == EF_OK && cJSON_GetObjectItemCaseSensitive(o, "row_positions"))
        s = get_int(o, "row_positions", 0, 1, &c->row_positions, path, err);
    cJSON_Delete(o);
    if (s == EF_OK && ef_model_config_check(c, err) != EF_OK) {
        ef_error_prefix(err, "%s: ", path);
        return err ? (err->code = EF_ERR_FORMAT) : EF_ERR_FORMAT;
    }
    return s;
}

static int parse_u64(const cJSON *o, const char *key, uint64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v->valuestring, &end, 10);
    if (errno || end == v->valuestring || *end) return 0;
    *out = x;
    return 1;
}

static ef_status parse_state(const char *text, ef_train_state *st, const char *path, ef_error *err) {
    memset(st, 0, sizeof *st);
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return EF_ERR(err, EF_ERR_FORMAT, "%s: __metadata__.state is not a JSON object", path);
    }
    uint64_t step = 0;
    int ok = parse_u64(o, "step", &step) && parse_u64(o, "seed", &st->seed) &&
             parse_u64(o, "rng_key", &st->rng.key) && parse_u64(o, "rng_counter", &st->rng.counter);
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "rng_spare");
    uint64_t bits = 0;
    int has = 0;
    if (ok) ok = cJSON_IsString(sp) && sscanf(sp->valuestring, "%d:%" SCNu64, &has, &bits) == 2 && (has == 0 || has == 1);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "extra");
    if (ok && cJSON_IsString(ex)) snprintf(st->extra, sizeof st->extra, "%s", ex->valuestring);
    cJSON_Delete(o);
    EF_CHECK(ok && step < (1ull << 62), err, EF_ERR_FORMAT, "%s: __metadata__.state is incomplete or malformed", path);
    st->step = (long)step;
    st->rng.has_spare = has;
    memcpy(&st->rng.spare, &bits, sizeof bits);
    return EF_OK;
}

/* Finds tensor `name`, checks dtype, shape and offsets, copies n floats into dst. */
static ef_status load_tensor(const cJSON *h, const char *name, const int64_t *shape, int ndim, float *dst, size_t n,
                             const unsigned char *data, size_t data_len, size_t data_pos, const char *path, ef_error *err) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, name);
    EF_CHECK(cJSON_IsObject(t), err, EF_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    EF_CHECK(cJSON_IsString(dt) && !strcmp(dt->valuestring, "F32"), err, EF_ERR_FORMAT,
             "%s: tensor '%s': dtype must be F32", path, name);
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    EF_CHECK(cJSON_IsArray(sh) && cJSON_GetArraySize(sh) == ndim, err, EF_ERR_FORMAT,
             "%s: tensor '%s': expected %d dimensions", path, name, ndim);
    for (int i = 0; i < ndim; i++) {
        const cJSON *d = cJSON_GetArrayItem(sh, i);
        EF_CHECK(cJSON_IsNumber(d) && d->valuedouble == (double)shape[i], err, EF_ERR_FORMAT,
                 "%s: tensor '%s': dimension %d is %g, the model config needs %" PRId64, path, name, i,
                 cJSON_IsNumber(d) ? d->valuedouble : -1.0, shape[i]);
    }
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    EF_CHECK(cJSON_IsArray(off) && cJSON_GetArraySize(off) == 2, err, EF_ERR_FORMAT,
             "%s: tensor '%s': data_offsets must be [begin, end]", path, name);
    double b = cJSON_GetArrayItem(off, 0)->valuedouble, e = cJSON_GetArrayItem(off, 1)->valuedouble;
    EF_CHECK(b >= 0 && e >= b && e <= (double)data_len && b == (double)(size_t)b && e - b == (double)n * 4, err,
             EF_ERR_FORMAT, "%s: tensor '%s': data_offsets [%.0f, %.0f] do not hold %zu floats inside the %zu data bytes"
             " starting at file offset %zu", path, name, b, e, n, data_len, data_pos);
    memcpy(dst, data + (size_t)b, n * 4);
    return EF_OK;
}

ef_status ef_model_load(ef_model **out, const char *path, int max_B, ef_train_state *st, int *has_optim, ef_error *err) {
    *out = NULL;
    if (has_optim) *has_optim = 0;
    char *buf;
    size_t size;
    EF_TRY(ef_file_read_all(path, &buf, &size, err));
    ef_status s = EF_OK;
    cJSON *h = NULL;
    ef_model *m = NULL;
    if (size < 8) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors file (8-byte header length)", path, size);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    if (hlen > MAX_HEADER || hlen > size - 8) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: header length %" PRIu64 " at offset 0 exceeds the file (%zu bytes) or %u MiB",
                   path, hlen, size, MAX_HEADER >> 20);
        goto done;
    }
    h = cJSON_ParseWithLength(buf + 8, (size_t)hlen);
    if (!h || !cJSON_IsObject(h)) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: the JSON header (bytes 8..%" PRIu64 ") does not parse", path, 8 + hlen);
        goto done;
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(meta, "format");
    const cJSON *cfgs = cJSON_GetObjectItemCaseSensitive(meta, "config");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "eraformer") || !cJSON_IsString(cfgs)) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: not an eraformer checkpoint (__metadata__ needs format=eraformer and config)", path);
        goto done;
    }
    ef_model_config cfg;
    if ((s = parse_config(cfgs->valuestring, &cfg, path, err)) != EF_OK) goto done;
    const unsigned char *data = (const unsigned char *)buf + 8 + hlen;
    size_t data_len = size - 8 - (size_t)hlen, data_pos = 8 + (size_t)hlen;
    /* the weights must fit in the file before the model is allocated: a few bytes of header
     * could otherwise ask for terabytes (found by fuzz_checkpoint) */
    size_t need = ef_model_config_num_params(&cfg);
    if (need > data_len / 4) {
        s = EF_ERR(err, EF_ERR_FORMAT, "%s: the config needs %zu parameters (%zu bytes) but the file holds %zu data bytes"
                   " after its header", path, need, need * 4, data_len);
        goto done;
    }
    if ((s = ef_model_create(&m, &cfg, max_B, 0, err)) != EF_OK) goto done;
    for (int i = 0; i < EF_NPARAM_TENSORS && s == EF_OK; i++) {
        const ef_param_info *pi = &m->info[i];
        if (!pi->size) continue;
        s = load_tensor(h, pi->name, pi->shape, pi->ndim, m->P.p[i], pi->size, data, data_len, data_pos, path, err);
    }
    if (s != EF_OK) goto done;
    const cJSON *stj = cJSON_GetObjectItemCaseSensitive(meta, "state");
    ef_train_state tmp;
    if (cJSON_IsString(stj)) {
        if ((s = parse_state(stj->valuestring, &tmp, path, err)) != EF_OK) goto done;
        m->step = tmp.step;
        if (st) *st = tmp;
    } else if (st) {
        memset(st, 0, sizeof *st);
    }
    if (cJSON_GetObjectItemCaseSensitive(h, "optim.m")) {
        int64_t n = (int64_t)m->n_params;
        s = load_tensor(h, "optim.m", &n, 1, m->m, m->n_params, data, data_len, data_pos, path, err);
        if (s == EF_OK) s = load_tensor(h, "optim.v", &n, 1, m->v, m->n_params, data, data_len, data_pos, path, err);
        if (s != EF_OK) goto done;
        if (has_optim) *has_optim = 1;
    }
done:
    cJSON_Delete(h);
    ef_free(buf);
    if (s != EF_OK) {
        ef_model_destroy(m);
        return s;
    }
    *out = m;
    return EF_OK;
}
