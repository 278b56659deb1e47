/* Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 *   8 bytes   little-endian u64 N = header length
 *   N bytes   JSON: {"__metadata__": {string: string}, "<tensor>": {"dtype": "F32",
 *             "shape": [...], "data_offsets": [begin, end]}, ...}, space-padded to 8 bytes
 *   rest      raw little-endian tensor data; offsets are relative to the end of the header.
 * __metadata__ holds "format": "eraformer", "config" (the model config as JSON text) and,
 * for training checkpoints, "state" (step, seed, RNG state, extra), and the caller's contract
 * (EF_MODEL_CONTRACT_KEY: JSON text, e.g. finetune's features, encodings and targets) when one
 * is given, so weights and contract are one file, replaced together. AdamW moments are the
 * tensors "optim.m" and "optim.v" (flat, parameter-block order). Files are written to a temp
 * file, fsynced and renamed; loading validates every length, offset and shape. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
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

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF):
 * the safetensors header is JSON, which is UTF-8, and strict readers (Python's json) refuse
 * anything else */
static int utf8_valid(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        unsigned cp = len == 1 ? c : c & (0x7fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

/* A contract must be UTF-8 JSON text (one value, nothing after it). */
static ef_status contract_check(const char *contract, const char *path, ef_error *err) {
    EF_CHECK(utf8_valid((const unsigned char *)contract, strlen(contract)), err, EF_ERR_INVALID,
             "writing %s: the contract is not valid UTF-8", path);
    cJSON *j = cJSON_ParseWithOpts(contract, NULL, 1);
    cJSON_Delete(j);
    EF_CHECK(j, err, EF_ERR_INVALID, "writing %s: the contract is not JSON text", path);
    return EF_OK;
}

/* The header JSON (unpadded), or NULL when out of memory. */
static char *header_json(ef_model *m, const ef_train_state *st, int with_optim, const char *contract) {
    cJSON *h = cJSON_CreateObject();
    if (!h) return NULL;
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
    /* after the existing keys: files without a contract keep their bytes */
    if (contract) cJSON_AddStringToObject(meta, EF_MODEL_CONTRACT_KEY, contract);
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
    return js;
}

/* length, header padded with spaces to 8 bytes, weights (+ moments): temp file, fsync, rename */
static ef_status write_file(ef_model *m, const char *path, const char *js, int with_optim, ef_error *err) {
    size_t jn = strlen(js), pad = (8 - jn % 8) % 8;
    EF_CHECK(jn + pad <= MAX_HEADER, err, EF_ERR_INVALID, "writing %s: the header (%zu bytes) exceeds %u MiB", path,
             jn + pad, MAX_HEADER >> 20);
    uint64_t hlen = jn + pad;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hlen >> (8 * i));
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    int ok = fwrite(le, 1, 8, af.fp) == 8 && fwrite(js, 1, jn, af.fp) == jn;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', af.fp) != EOF;
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

ef_status ef_model_save_contract(ef_model *m, const char *path, const ef_train_state *st, int with_optim,
                                 const char *contract, ef_error *err) {
    if (contract) EF_TRY(contract_check(contract, path, err));
    char *js = header_json(m, st, with_optim, contract);
    EF_CHECK(js, err, EF_ERR_NOMEM, "out of memory writing %s", path);
    ef_status s = write_file(m, path, js, with_optim, err);
    cJSON_free(js);
    return s;
}

ef_status ef_model_save(ef_model *m, const char *path, const ef_train_state *st, int with_optim, ef_error *err) {
    return ef_model_save_contract(m, path, st, with_optim, NULL, err);
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

/* Checks the length prefix against the file's size and parses the header. buf holds the
 * file's first n >= 8 + header-length bytes (all of it, or just the header). */
static ef_status header_parse(const char *buf, size_t n, size_t file_size, const char *path, cJSON **h,
                              uint64_t *hlen_out, ef_error *err) {
    *h = NULL;
    EF_CHECK(file_size >= 8 && n >= 8, err, EF_ERR_FORMAT,
             "%s: %zu bytes is too short for a safetensors file (8-byte header length)", path, file_size);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    EF_CHECK(hlen <= MAX_HEADER && hlen <= file_size - 8 && hlen <= n - 8, err, EF_ERR_FORMAT,
             "%s: header length %" PRIu64 " at offset 0 exceeds the file (%zu bytes) or %u MiB", path, hlen, file_size,
             MAX_HEADER >> 20);
    cJSON *j = cJSON_ParseWithLength(buf + 8, (size_t)hlen);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return EF_ERR(err, EF_ERR_FORMAT, "%s: the JSON header (bytes 8..%" PRIu64 ") does not parse", path, 8 + hlen);
    }
    *h = j;
    *hlen_out = hlen;
    return EF_OK;
}

/* The header's __metadata__, checked to be eraformer's; its contract (when present) must be a
 * string (safetensors allows only strings there). */
static ef_status header_meta(const cJSON *h, const char *path, const cJSON **meta_out, ef_error *err) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(meta, "format");
    const cJSON *cfgs = cJSON_GetObjectItemCaseSensitive(meta, "config");
    EF_CHECK(cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "eraformer") && cJSON_IsString(cfgs), err, EF_ERR_FORMAT,
             "%s: not an eraformer checkpoint (__metadata__ needs format=eraformer and config)", path);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(meta, EF_MODEL_CONTRACT_KEY);
    EF_CHECK(!c || cJSON_IsString(c), err, EF_ERR_FORMAT, "%s: __metadata__[\"%s\"] is not a string", path,
             EF_MODEL_CONTRACT_KEY);
    *meta_out = meta;
    return EF_OK;
}

/* *out = a copy of the contract, NULL when there is none. */
static ef_status contract_copy(const cJSON *meta, const char *path, char **out, ef_error *err) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(meta, EF_MODEL_CONTRACT_KEY);
    *out = NULL;
    if (!c) return EF_OK;
    *out = ef_strdup(c->valuestring);
    EF_CHECK(*out, err, EF_ERR_NOMEM, "out of memory reading the contract of %s", path);
    return EF_OK;
}

/* The model of a parsed header and its data (data_len bytes from file offset data_pos). */
static ef_status model_from_header(ef_model **out, const cJSON *h, const cJSON *meta, const unsigned char *data,
                                   size_t data_len, size_t data_pos, int max_B, ef_train_state *st, int *has_optim,
                                   const char *path, ef_error *err) {
    ef_model_config cfg;
    EF_TRY(parse_config(cJSON_GetObjectItemCaseSensitive(meta, "config")->valuestring, &cfg, path, err));
    /* the weights must fit in the file before the model is allocated: a few bytes of header
     * could otherwise ask for terabytes (found by fuzz_checkpoint) */
    size_t need = ef_model_config_num_params(&cfg);
    EF_CHECK(need <= data_len / 4, err, EF_ERR_FORMAT, "%s: the config needs %zu parameters (%zu bytes) but the file"
             " holds %zu data bytes after its header", path, need, need * 4, data_len);
    ef_model *m = NULL;
    EF_TRY(ef_model_create(&m, &cfg, max_B, 0, err));
    ef_status s = EF_OK;
    for (int i = 0; i < EF_NPARAM_TENSORS && s == EF_OK; i++) {
        const ef_param_info *pi = &m->info[i];
        if (pi->size) s = load_tensor(h, pi->name, pi->shape, pi->ndim, m->P.p[i], pi->size, data, data_len, data_pos, path, err);
    }
    const cJSON *stj = cJSON_GetObjectItemCaseSensitive(meta, "state");
    ef_train_state tmp;
    if (s == EF_OK && cJSON_IsString(stj) && (s = parse_state(stj->valuestring, &tmp, path, err)) == EF_OK) {
        m->step = tmp.step;
        if (st) *st = tmp;
    } else if (s == EF_OK && st) {
        memset(st, 0, sizeof *st);
    }
    if (s == EF_OK && cJSON_GetObjectItemCaseSensitive(h, "optim.m")) {
        int64_t n = (int64_t)m->n_params;
        s = load_tensor(h, "optim.m", &n, 1, m->m, m->n_params, data, data_len, data_pos, path, err);
        if (s == EF_OK) s = load_tensor(h, "optim.v", &n, 1, m->v, m->n_params, data, data_len, data_pos, path, err);
        if (s == EF_OK && has_optim) *has_optim = 1;
    }
    if (s != EF_OK) {
        ef_model_destroy(m);
        return s;
    }
    *out = m;
    return EF_OK;
}

ef_status ef_model_load_contract(ef_model **out, const char *path, int max_B, ef_train_state *st, int *has_optim,
                                 char **contract, ef_error *err) {
    *out = NULL;
    if (has_optim) *has_optim = 0;
    if (contract) *contract = NULL;
    char *buf, *c = NULL;
    size_t size;
    EF_TRY(ef_file_read_all(path, &buf, &size, err));
    cJSON *h = NULL;
    const cJSON *meta = NULL;
    uint64_t hlen = 0;
    ef_status s = header_parse(buf, size, size, path, &h, &hlen, err);
    if (s == EF_OK) s = header_meta(h, path, &meta, err);
    if (s == EF_OK && contract) s = contract_copy(meta, path, &c, err);
    if (s == EF_OK)
        s = model_from_header(out, h, meta, (const unsigned char *)buf + 8 + hlen, size - 8 - (size_t)hlen,
                              8 + (size_t)hlen, max_B, st, has_optim, path, err);
    cJSON_Delete(h);
    ef_free(buf);
    if (s != EF_OK) {
        if (has_optim) *has_optim = 0;
        ef_free(c);
        return s;
    }
    if (contract) *contract = c;
    return EF_OK;
}

ef_status ef_model_load(ef_model **out, const char *path, int max_B, ef_train_state *st, int *has_optim, ef_error *err) {
    return ef_model_load_contract(out, path, max_B, st, has_optim, NULL, err);
}

/* The first 8 + header-length bytes of path (fewer when the length is out of range: then
 * header_parse reports it); *file_size = the whole file's. */
static ef_status header_read(const char *path, char **buf, size_t *n, size_t *file_size, ef_error *err) {
    *buf = NULL;
    FILE *fp = fopen(path, "rb");
    EF_CHECK(fp, err, EF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return EF_ERR(err, EF_ERR_IO, "%s is not a regular file", path);
    }
    *file_size = (size_t)sb.st_size;
    unsigned char le[8];
    size_t got = fread(le, 1, 8, fp);
    uint64_t hlen = 0;
    for (size_t i = 0; i < got; i++) hlen |= (uint64_t)le[i] << (8 * i);
    size_t want = got == 8 && hlen <= MAX_HEADER && hlen <= *file_size - 8 ? (size_t)hlen : 0;
    char *b = ef_malloc(8 + want + 1);
    if (!b) {
        fclose(fp);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory reading the header of %s", path);
    }
    memcpy(b, le, got);
    size_t more = want ? fread(b + 8, 1, want, fp) : 0;
    int bad = ferror(fp) || more != want;
    fclose(fp);
    if (bad) {
        ef_free(b);
        return EF_ERR(err, EF_ERR_IO, "short read on %s: %zu of %zu header bytes", path, more, want);
    }
    *buf = b;
    *n = got + more;
    return EF_OK;
}

ef_status ef_model_read_contract(const char *path, char **contract, ef_error *err) {
    *contract = NULL;
    char *buf;
    size_t n = 0, file_size = 0;
    EF_TRY(header_read(path, &buf, &n, &file_size, err));
    cJSON *h = NULL;
    const cJSON *meta = NULL;
    uint64_t hlen;
    ef_status s = header_parse(buf, n, file_size, path, &h, &hlen, err);
    if (s == EF_OK) s = header_meta(h, path, &meta, err);
    if (s == EF_OK) s = contract_copy(meta, path, contract, err);
    cJSON_Delete(h);
    ef_free(buf);
    return s;
}
