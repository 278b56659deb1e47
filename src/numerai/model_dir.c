/* The model directory of `eraformer train`: manifest.json (written atomically), members
 * sealed by size and CRC-32 (zlib), verification that names the damaged file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "base/ef_internal.h"
#include "numerai/model_dir.h"
#include "eraformer/data.h"

static void join(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

int md_is_model_dir(const char *path) {
    struct stat st;
    char p[4200];
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    join(p, sizeof p, path, MD_MANIFEST);
    return stat(p, &st) == 0;
}

ef_status md_file_seal(md_file *f, const char *dir, const char *name, ef_error *err) {
    char p[4200], *data = NULL;
    size_t size = 0;
    join(p, sizeof p, dir, name);
    EF_TRY(ef_file_read_all(p, &data, &size, err));
    uLong c = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < size;) {   /* crc32 takes 32-bit lengths */
        uInt len = (uInt)EF_MIN(size - off, (size_t)1 << 30);
        c = crc32(c, (const Bytef *)data + off, len);
        off += len;
    }
    ef_free(data);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->size = size;
    f->crc32 = (uint32_t)c;
    return EF_OK;
}

static void add_file(cJSON *o, const char *key, const md_file *f) {
    cJSON *j = cJSON_AddObjectToObject(o, key);
    char h[16];
    snprintf(h, sizeof h, "%08x", f->crc32);
    cJSON_AddStringToObject(j, "file", f->name);
    cJSON_AddNumberToObject(j, "bytes", (double)f->size);
    cJSON_AddStringToObject(j, "crc32", h);
}

static cJSON *member_json(const md_member *mm) {
    cJSON *j = cJSON_CreateObject();
    char sbuf[32];
    add_file(j, "weights", &mm->weights);
    if (mm->meta.name[0]) add_file(j, "meta", &mm->meta);
    snprintf(sbuf, sizeof sbuf, "%llu", (unsigned long long)mm->seed);
    cJSON_AddStringToObject(j, "seed", sbuf);
    cJSON_AddNumberToObject(j, "selection_corr", isfinite(mm->selection_corr) ? mm->selection_corr : 0);
    cJSON_AddNumberToObject(j, "best_step", (double)mm->best_step);
    cJSON_AddNumberToObject(j, "steps", (double)mm->steps);
    cJSON_AddNumberToObject(j, "seconds", mm->seconds);
    return j;
}

ef_status md_manifest_save(const md_manifest *m, const char *dir, ef_error *err) {
    cJSON *o = cJSON_CreateObject();
    EF_CHECK(o, err, EF_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(o, "format", MD_FORMAT);
    cJSON_AddStringToObject(o, "train", m->train);
    cJSON_AddStringToObject(o, "validation", m->validation);
    cJSON_AddStringToObject(o, "features_json", m->features_json);
    cJSON_AddStringToObject(o, "feature_set", m->feature_set);
    cJSON_AddStringToObject(o, "targets", m->targets);
    cJSON_AddStringToObject(o, "base", m->base);
    cJSON_AddStringToObject(o, "recipe", m->recipe);
    cJSON_AddStringToObject(o, "member_opts", m->member_opts);
    cJSON *op = cJSON_AddObjectToObject(o, "task");
    cJSON_AddNumberToObject(op, "context_rows", m->ctx);
    cJSON_AddNumberToObject(op, "query_rows", m->query);
    cJSON_AddNumberToObject(op, "batch", m->batch);
    char sbuf[32];
    snprintf(sbuf, sizeof sbuf, "%llu", (unsigned long long)m->seed);
    cJSON_AddStringToObject(o, "seed", sbuf);
    cJSON_AddNumberToObject(o, "max_members", m->max_members);
    cJSON_AddNumberToObject(o, "budget_min", m->budget_min);
    cJSON_AddNumberToObject(o, "spent_s", m->spent_s);
    cJSON_AddNumberToObject(o, "planned_members", m->planned);
    cJSON *sel = cJSON_AddObjectToObject(o, "selection");
    cJSON_AddNumberToObject(sel, "holdout_eras", m->holdout);
    cJSON_AddNumberToObject(sel, "embargo", m->embargo);
    cJSON_AddNumberToObject(sel, "first_era", m->sel_first);
    cJSON_AddNumberToObject(sel, "last_era", m->sel_last);
    cJSON *arr = cJSON_AddArrayToObject(o, "members");
    for (int i = 0; i < m->n_members; i++) cJSON_AddItemToArray(arr, member_json(&m->members[i]));
    if (m->in_progress) {
        cJSON *ip = cJSON_AddObjectToObject(o, "in_progress");
        cJSON_AddNumberToObject(ip, "member", m->in_progress);
        cJSON_AddNumberToObject(ip, "budget_min", m->in_progress_budget_min);
    }
    cJSON_AddBoolToObject(o, "complete", m->complete);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    EF_CHECK(text, err, EF_ERR_NOMEM, "out of memory");
    char p[4200];
    join(p, sizeof p, dir, MD_MANIFEST);
    ef_status s = ef_file_write_atomic(p, text, strlen(text), err);
    cJSON_free(text);
    return s;
}

// ---- loading --------------------------------------------------------------------------------

static void get_str(const cJSON *o, const char *key, char *dst, size_t n) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    snprintf(dst, n, "%s", v ? v : "");
}

double md_json_num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A whole number in [lo, hi] (no cast of NaN or of an out-of-range double). */
static int get_int(const cJSON *o, const char *key, double lo, double hi, long *out) {
    double v = md_json_num(o, key);
    if (!(v >= lo && v <= hi) || v != floor(v)) return 0;
    *out = (long)v;
    return 1;
}

static int load_file(md_file *f, const cJSON *o) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(o, "file"));
    const char *crc = cJSON_GetStringValue(cJSON_GetObjectItem(o, "crc32"));
    long bytes;
    /* a member file is a plain name inside the directory */
    if (!name || !crc || !get_int(o, "bytes", 0, 1e15, &bytes) || !*name || strchr(name, '/') ||
        strlen(name) >= sizeof f->name)
        return 0;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->size = (uint64_t)bytes;
    char *end;
    f->crc32 = (uint32_t)strtoul(crc, &end, 16);
    return *end == 0 && strlen(crc) == 8;
}

static int load_member(md_member *mm, const cJSON *j) {
    const char *seed = cJSON_GetStringValue(cJSON_GetObjectItem(j, "seed"));
    const cJSON *meta = cJSON_GetObjectItem(j, "meta");   /* absent: the contract is only embedded */
    if (!cJSON_IsObject(j) || !seed || !load_file(&mm->weights, cJSON_GetObjectItem(j, "weights")) ||
        (meta && !load_file(&mm->meta, meta)))
        return 0;
    mm->seed = strtoull(seed, NULL, 10);
    mm->selection_corr = md_json_num(j, "selection_corr");
    mm->seconds = md_json_num(j, "seconds");
    return get_int(j, "best_step", 0, 1e15, &mm->best_step) && get_int(j, "steps", 0, 1e15, &mm->steps);
}

static ef_status parse_manifest(md_manifest *m, const cJSON *o, const char *path, ef_error *err) {
    const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItem(o, "format"));
    EF_CHECK(fmt && !strcmp(fmt, MD_FORMAT), err, EF_ERR_INVALID, "%s: format is not %s", path, MD_FORMAT);
    get_str(o, "train", m->train, sizeof m->train);
    get_str(o, "validation", m->validation, sizeof m->validation);
    get_str(o, "features_json", m->features_json, sizeof m->features_json);
    get_str(o, "feature_set", m->feature_set, sizeof m->feature_set);
    get_str(o, "targets", m->targets, sizeof m->targets);
    get_str(o, "base", m->base, sizeof m->base);
    get_str(o, "recipe", m->recipe, sizeof m->recipe);
    get_str(o, "member_opts", m->member_opts, sizeof m->member_opts);
    const cJSON *op = cJSON_GetObjectItem(o, "task"), *sel = cJSON_GetObjectItem(o, "selection");
    const char *seed = cJSON_GetStringValue(cJSON_GetObjectItem(o, "seed"));
    m->seed = seed ? strtoull(seed, NULL, 10) : 1;
    m->budget_min = md_json_num(o, "budget_min");
    m->spent_s = md_json_num(o, "spent_s");
    long v[9];
    int ok = get_int(op, "context_rows", 0, 1 << 20, &v[0]) && get_int(op, "query_rows", 0, 1 << 20, &v[1]) &&
             get_int(op, "batch", 0, 4096, &v[2]) && get_int(o, "planned_members", 1, MD_MAX_MEMBERS, &v[3]) &&
             get_int(o, "max_members", 1, MD_MAX_MEMBERS, &v[4]) && get_int(sel, "holdout_eras", 0, 1e5, &v[5]) &&
             get_int(sel, "embargo", -1, 1e5, &v[6]) && get_int(sel, "first_era", 0, 1e9, &v[7]) &&
             get_int(sel, "last_era", 0, 1e9, &v[8]);
    EF_CHECK(ok && v[4] >= v[3] && isfinite(m->budget_min) && m->budget_min > 0 && isfinite(m->spent_s), err,
             EF_ERR_INVALID, "%s: task, planned_members, max_members, selection, budget_min or spent_s missing or "
             "out of range", path);
    m->ctx = (int)v[0], m->query = (int)v[1], m->batch = (int)v[2], m->planned = (int)v[3], m->max_members = (int)v[4];
    m->holdout = (int)v[5], m->embargo = (int)v[6], m->sel_first = (int)v[7], m->sel_last = (int)v[8];
    const cJSON *arr = cJSON_GetObjectItem(o, "members"), *ip = cJSON_GetObjectItem(o, "in_progress");
    EF_CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) <= m->planned, err, EF_ERR_INVALID,
             "%s: members missing, or more than planned_members", path);
    m->n_members = cJSON_GetArraySize(arr);
    for (int i = 0; i < m->n_members; i++)
        EF_CHECK(load_member(&m->members[i], cJSON_GetArrayItem(arr, i)), err, EF_ERR_INVALID,
                 "%s: member %d: expected weights (and meta) {file, bytes, crc32} and a seed", path, i + 1);
    if (ip) {
        long k;
        m->in_progress_budget_min = md_json_num(ip, "budget_min");
        EF_CHECK(get_int(ip, "member", m->n_members + 1, m->planned, &k) && isfinite(m->in_progress_budget_min), err,
                 EF_ERR_INVALID, "%s: in_progress has no valid member and budget_min", path);
        m->in_progress = (int)k;
    }
    m->complete = cJSON_IsTrue(cJSON_GetObjectItem(o, "complete"));
    return EF_OK;
}

ef_status md_manifest_load(md_manifest *m, const char *dir, ef_error *err) {
    memset(m, 0, sizeof *m);
    char p[4200], *text = NULL;
    size_t size;
    join(p, sizeof p, dir, MD_MANIFEST);
    EF_TRY(ef_file_read_all(p, &text, &size, err));
    cJSON *o = cJSON_ParseWithLength(text, size);
    ef_free(text);
    EF_CHECK(o, err, EF_ERR_INVALID, "%s: not valid JSON", p);
    ef_status s = parse_manifest(m, o, p, err);
    cJSON_Delete(o);
    return s;
}

static ef_status verify_file(const md_file *f, const char *dir, ef_error *err) {
    char p[4200];
    join(p, sizeof p, dir, f->name);
    struct stat st;
    EF_CHECK(stat(p, &st) == 0, err, EF_ERR_IO, "model directory member %s is missing (%s)", p, strerror(errno));
    EF_CHECK((uint64_t)st.st_size == f->size, err, EF_ERR_INVALID,
             "model directory member %s is damaged: %lld bytes, the manifest sealed %llu", p, (long long)st.st_size,
             (unsigned long long)f->size);
    md_file now;
    EF_TRY(md_file_seal(&now, dir, f->name, err));
    EF_CHECK(now.crc32 == f->crc32, err, EF_ERR_INVALID,
             "model directory member %s is damaged: CRC-32 %08x, the manifest sealed %08x", p, now.crc32, f->crc32);
    return EF_OK;
}

ef_status md_verify(const md_manifest *m, const char *dir, ef_error *err) {
    for (int i = 0; i < m->n_members; i++) {
        EF_TRY(verify_file(&m->members[i].weights, dir, err));
        if (m->members[i].meta.name[0]) EF_TRY(verify_file(&m->members[i].meta, dir, err));
    }
    return EF_OK;
}

ef_status md_member_paths(const char *dir, char ***paths, int *n, ef_error *err) {
    *paths = NULL;
    *n = 0;
    md_manifest *m = ef_malloc(sizeof *m);
    EF_CHECK(m, err, EF_ERR_NOMEM, "out of memory");
    ef_status s = md_manifest_load(m, dir, err);
    if (!s && m->n_members == 0) s = EF_ERR(err, EF_ERR_INVALID, "%s/%s lists no finished member yet", dir, MD_MANIFEST);
    if (!s) s = md_verify(m, dir, err);
    char **p = s ? NULL : ef_calloc((size_t)m->n_members, sizeof(char *));
    if (!s && !p) s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < m->n_members; i++) {
        char buf[4200];
        join(buf, sizeof buf, dir, m->members[i].weights.name);
        if (!(p[i] = ef_strdup(buf))) s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    if (s) ef_strlist_free(p, p ? m->n_members : 0);
    else {
        *paths = p;
        *n = m->n_members;
    }
    ef_free(m);
    return s;
}
