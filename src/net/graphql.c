/* net GraphQL: the POST transport with retries, "errors" handling, and the numerapi queries
 * eraformer uses (listDatasets, dataset, rounds, account.models, submission upload). */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "net/net_internal.h"

#define MAX_RESPONSE (64u << 20)

typedef struct membuf {
    char *data;
    size_t len, cap;
    int overflow;
} membuf;

static size_t membuf_write(char *p, size_t size, size_t nmemb, void *ctx) {
    membuf *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n + 1 > MAX_RESPONSE) {
        b->overflow = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = EF_MAX(b->cap * 2, b->len + n + 1);
        cap = EF_MAX(cap, (size_t)4096);
        char *d = ef_realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return n;
}

// ---- error messages --------------------------------------------------------------------

static int looks_like_auth(const char *m) {
    static const char *words[] = {"auth", "token", "session is invalid", "permission", "api key",
                                  "not logged in", "unauthori", "forbidden"};
    char low[512];
    size_t i = 0;
    for (; m[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)m[i]);
    low[i] = 0;
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (strstr(low, words[k])) return 1;
    return 0;
}

/* Joins up to three "errors[].message" into out; returns 1 when there were errors. */
static int graphql_errors(const cJSON *root, char *out, size_t cap) {
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
    if (!errs || cJSON_IsNull(errs) || (cJSON_IsArray(errs) && cJSON_GetArraySize(errs) == 0)) return 0;
    out[0] = 0;
    int k = 0;
    const cJSON *e;
    if (cJSON_IsArray(errs)) {
        cJSON_ArrayForEach(e, errs) {
            if (k == 3) break;
            const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
            char clean[400];
            ef_net_sanitize(cJSON_IsString(m) ? m->valuestring : "(error without a message)", clean, sizeof clean);
            size_t l = strlen(out);
            snprintf(out + l, cap - l, "%s%s", k ? "; " : "", clean);
            k++;
        }
    }
    if (!k) snprintf(out, cap, "(unreadable \"errors\" member)");
    return 1;
}

// ---- transport -------------------------------------------------------------------------

/* One GraphQL call; *root (owned by the caller) is the whole parsed response. */
static ef_status graphql_call(ef_net *n, const char *query, cJSON *variables, int auth, cJSON **root_out,
                              const cJSON **data_out, ef_error *err) {
    *root_out = NULL;
    *data_out = NULL;
    if (auth && !n->auth_header) {
        cJSON_Delete(variables);
        return EF_ERR(err, EF_ERR_AUTH, "this call needs API keys but none are configured");
    }
    cJSON *body = cJSON_CreateObject();
    if (!body) {
        cJSON_Delete(variables);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory building the request");
    }
    cJSON_AddStringToObject(body, "query", query);
    cJSON_AddItemToObject(body, "variables", variables ? variables : cJSON_CreateNull());
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) return EF_ERR(err, EF_ERR_NOMEM, "out of memory building the request");

    /* the operation's first word and name, for logs ("query listDatasets") */
    char op[64];
    {
        const char *q = query;
        while (*q && isspace((unsigned char)*q)) q++;
        const char *brace = strchr(q, '{');
        const char *name = brace ? brace + 1 : q;
        while (*name && (isspace((unsigned char)*name) || *name == '{')) name++;
        size_t l = strcspn(name, " ({\n\t");
        snprintf(op, sizeof op, "%.*s", (int)EF_MIN(l, 40), name);
    }
    char url_log[512];
    ef_net_url_for_log(n->api_url, url_log, sizeof url_log);

    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    if (auth) hdr = curl_slist_append(hdr, n->auth_header);

    ef_net_backoff bo = {0};
    ef_status s = EF_OK;
    membuf buf = {0};
    for (;;) {
        buf.len = 0;
        buf.overflow = 0;
        if (buf.data) buf.data[0] = 0;
        ef_net_easy_setup(n, n->api_url);
        curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(n->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
        curl_easy_setopt(n->curl, CURLOPT_WRITEFUNCTION, membuf_write);
        curl_easy_setopt(n->curl, CURLOPT_WRITEDATA, &buf);
        curl_easy_setopt(n->curl, CURLOPT_TIMEOUT, n->api_timeout_s);
        ef_net_logf(n, 1, "POST %s (%s%s)", url_log, op, auth ? ", authenticated" : "");
        double t0 = ef_time_now();
        CURLcode c = curl_easy_perform(n->curl);
        long status = 0;
        curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, &status);
        if (c != CURLE_OK) {
            char why[900];
            snprintf(why, sizeof why, "%.300s: %.200s%s%.256s", url_log, curl_easy_strerror(c), n->errbuf[0] ? " - " : "",
                     n->errbuf);
            if (buf.overflow) snprintf(why, sizeof why, "%.300s: response larger than %u bytes", url_log, MAX_RESPONSE);
            ef_net_logf(n, 1, "request failed: %s", why);
            if (!buf.overflow && ef_net_curl_retryable(c) && ef_net_backoff_wait(n, &bo, why)) continue;
            s = EF_ERR(err, EF_ERR_NET, "API request failed after %d attempt%s: %s", bo.failures + !bo.failures,
                       bo.failures > 1 ? "s" : "", why);
            break;
        }
        ef_net_logf(n, 1, "HTTP %ld from %s (%zu bytes)", status, url_log, buf.len);
        ef_net_logf(n, 2, "%s took %.3f s", op, ef_time_now() - t0);
        if (status >= 500) {
            char why[400];
            snprintf(why, sizeof why, "HTTP %ld from %.300s", status, url_log);
            if (ef_net_backoff_wait(n, &bo, why)) continue;
            s = EF_ERR(err, EF_ERR_NET, "the Numerai API is failing: %s (after %d attempt%s)", why, bo.failures,
                       bo.failures > 1 ? "s" : "");
            break;
        }
        cJSON *root = buf.data ? cJSON_ParseWithLength(buf.data, buf.len) : NULL;
        if (!root || !cJSON_IsObject(root)) {
            cJSON_Delete(root);
            char head[81];
            ef_net_sanitize(buf.data ? buf.data : "", head, sizeof head);
            if (status == 401 || status == 403)
                s = EF_ERR(err, EF_ERR_AUTH, "the API rejected the credentials (HTTP %ld from %s)", status, url_log);
            else if (status >= 400)
                s = EF_ERR(err, EF_ERR_API, "HTTP %ld from %s: %s", status, url_log, head);
            else
                s = EF_ERR(err, EF_ERR_API, "malformed JSON in the response from %s (HTTP %ld, %zu bytes): '%s'",
                           url_log, status, buf.len, head);
            break;
        }
        char msg[900];
        if (graphql_errors(root, msg, sizeof msg)) {
            int is_auth = status == 401 || status == 403 || (auth && looks_like_auth(msg));
            s = EF_ERR(err, is_auth ? EF_ERR_AUTH : EF_ERR_API, "Numerai API error (%s): %s", op, msg);
            ef_net_logf(n, 1, "GraphQL error, not retrying: %s", msg);
            cJSON_Delete(root);
            break;
        }
        if (status == 401 || status == 403) {
            s = EF_ERR(err, EF_ERR_AUTH, "the API rejected the credentials (HTTP %ld from %s)", status, url_log);
            cJSON_Delete(root);
            break;
        }
        if (status >= 400 || status < 200) {
            s = EF_ERR(err, EF_ERR_API, "HTTP %ld from %s (%s)", status, url_log, op);
            cJSON_Delete(root);
            break;
        }
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
        if (!data || cJSON_IsNull(data)) {
            s = EF_ERR(err, EF_ERR_API, "the response to %s has no \"data\"", op);
            cJSON_Delete(root);
            break;
        }
        *root_out = root;
        *data_out = data;
        break;
    }
    curl_slist_free_all(hdr);
    ef_free(buf.data);
    cJSON_free(text);
    return s;
}

ef_status ef_net_graphql(ef_net *n, const char *query, const char *variables_json, int auth, char **data_json,
                         ef_error *err) {
    *data_json = NULL;
    cJSON *vars = NULL;
    if (variables_json && variables_json[0]) {
        vars = cJSON_Parse(variables_json);
        if (!vars) return EF_ERR(err, EF_ERR_INVALID, "variables are not valid JSON");
    }
    cJSON *root;
    const cJSON *data;
    ef_status s = graphql_call(n, query, vars, auth, &root, &data, err);
    if (s != EF_OK) return ef_net_scrub(n, s, err);
    char *t = cJSON_PrintUnformatted(data);
    cJSON_Delete(root);
    if (!t) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    *data_json = ef_strdup(t);
    cJSON_free(t);
    return *data_json ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
}

// ---- helpers ---------------------------------------------------------------------------

static cJSON *vars_new(void) { return cJSON_CreateObject(); }

static void vars_round(cJSON *v, long round) {
    if (round > 0) cJSON_AddNumberToObject(v, "round", (double)round);
    else cJSON_AddNullToObject(v, "round");
}

static ef_status dup_string(const cJSON *s, const char *what, char **out, ef_error *err) {
    if (!cJSON_IsString(s) || !s->valuestring[0])
        return EF_ERR(err, EF_ERR_API, "the API response has no %s (expected a string)", what);
    *out = ef_strdup(s->valuestring);
    return *out ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
}

void ef_net_strings_free(char **s, size_t count) {
    if (!s) return;
    for (size_t i = 0; i < count; i++) ef_free(s[i]);
    ef_free(s);
}

// ---- datasets --------------------------------------------------------------------------

ef_status ef_net_list_datasets(ef_net *n, long round, char ***names, size_t *count, ef_error *err) {
    *names = NULL;
    *count = 0;
    cJSON *v = vars_new(), *root;
    const cJSON *data;
    vars_round(v, round);
    cJSON_AddNumberToObject(v, "tournament", n->tournament);
    ef_status s = graphql_call(n, "query ($round: Int $tournament: Int) { listDatasets(round: $round tournament: $tournament) }",
                               v, 0, &root, &data, err);
    if (s != EF_OK) return ef_net_scrub(n, s, err);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(data, "listDatasets"), *e;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(root);
        return EF_ERR(err, EF_ERR_API, "listDatasets: expected a list of file names");
    }
    size_t m = (size_t)cJSON_GetArraySize(list), i = 0;
    char **out = ef_calloc(m ? m : 1, sizeof *out);
    if (!out) s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    if (out) {
        cJSON_ArrayForEach(e, list) {
            if ((s = dup_string(e, "dataset name", &out[i], err)) != EF_OK) break;
            i++;
        }
    }
    cJSON_Delete(root);
    if (s != EF_OK) {
        ef_net_strings_free(out, i);
        return s;
    }
    *names = out;
    *count = m;
    return EF_OK;
}

ef_status ef_net_dataset_url(ef_net *n, const char *filename, long round, char **url, ef_error *err) {
    *url = NULL;
    cJSON *v = vars_new(), *root;
    const cJSON *data;
    cJSON_AddStringToObject(v, "filename", filename);
    vars_round(v, round);
    cJSON_AddNumberToObject(v, "tournament", n->tournament);
    ef_status s = graphql_call(n,
                               "query ($filename: String! $round: Int $tournament: Int) {\n"
                               "    dataset(filename: $filename round: $round tournament: $tournament) }",
                               v, 0, &root, &data, err);
    if (s != EF_OK) return ef_net_scrub(n, s, err);
    s = dup_string(cJSON_GetObjectItemCaseSensitive(data, "dataset"), "dataset URL", url, err);
    cJSON_Delete(root);
    if (s == EF_OK && strncmp(*url, "http://", 7) != 0 && strncmp(*url, "https://", 8) != 0) {
        ef_free(*url);
        *url = NULL;
        s = EF_ERR(err, EF_ERR_API, "dataset %s: the API returned a non-HTTP download URL", filename);
    }
    return ef_net_scrub(n, s, err);
}

// ---- rounds ----------------------------------------------------------------------------

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ef_net_parse_time(const char *s, int64_t *unix_s) {
    int y, mo, d, h, mi, se, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n == 0) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    const char *p = s + n;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) p++;
    }
    int64_t off = 0;
    if (*p == '+' || *p == '-') {
        int oh, om = 0, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 && sscanf(p + 1, "%2d%2d%n", &oh, &om, &k) != 2) return -1;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 1 + k;
    } else if (*p == 'Z' || *p == 'z') {
        p++;
    }
    if (*p) return -1;
    *unix_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

ef_status ef_net_current_round(ef_net *n, ef_net_round *out, ef_error *err) {
    memset(out, 0, sizeof *out);
    cJSON *v = vars_new(), *root;
    const cJSON *data;
    cJSON_AddNumberToObject(v, "tournament", n->tournament);
    ef_error e2 = {0};
    ef_status s = graphql_call(n,
                               "query($tournament: Int!) { rounds(tournament: $tournament number: 0) "
                               "{ number openTime closeStakingTime } }",
                               v, 0, &root, &data, &e2);
    if (s == EF_ERR_API && strstr(e2.msg, "not open")) return EF_OK;   /* between rounds */
    if (s != EF_OK) {
        if (err) *err = e2;
        return ef_net_scrub(n, s, err);
    }
    const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(data, "rounds");
    const cJSON *r = cJSON_IsArray(rounds) ? cJSON_GetArrayItem(rounds, 0) : NULL;
    if (!r || cJSON_IsNull(r)) {
        cJSON_Delete(root);
        return EF_OK;   /* no current round */
    }
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(r, "number");
    const cJSON *ot = cJSON_GetObjectItemCaseSensitive(r, "openTime");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(r, "closeStakingTime");
    if (!cJSON_IsNumber(num) || num->valuedouble < 1 || num->valuedouble > 1e9) {
        cJSON_Delete(root);
        return EF_ERR(err, EF_ERR_API, "rounds: the response has no round number");
    }
    out->number = (long)num->valuedouble;
    if (cJSON_IsString(ot)) ef_net_sanitize(ot->valuestring, out->open_time, sizeof out->open_time);
    if (cJSON_IsString(ct)) ef_net_sanitize(ct->valuestring, out->close_staking_time, sizeof out->close_staking_time);
    int64_t t_open, t_close, now = (int64_t)time(NULL);
    out->is_open = !ef_net_parse_time(out->open_time, &t_open) && !ef_net_parse_time(out->close_staking_time, &t_close) &&
                   t_open < now && now < t_close;
    cJSON_Delete(root);
    return EF_OK;
}

// ---- models ----------------------------------------------------------------------------

static int model_cmp(const void *a, const void *b) {
    return strcmp(((const ef_net_model *)a)->name, ((const ef_net_model *)b)->name);
}

void ef_net_models_free(ef_net_model *m, size_t count) {
    if (!m) return;
    for (size_t i = 0; i < count; i++) {
        ef_free(m[i].name);
        ef_free(m[i].id);
    }
    ef_free(m);
}

ef_status ef_net_models(ef_net *n, ef_net_model **models, size_t *count, ef_error *err) {
    *models = NULL;
    *count = 0;
    cJSON *root;
    const cJSON *data;
    ef_status s = graphql_call(n, "query { account { models { id name tournament } } }", NULL, 1, &root, &data, err);
    if (s != EF_OK) return ef_net_scrub(n, s, err);
    const cJSON *acct = cJSON_GetObjectItemCaseSensitive(data, "account");
    const cJSON *list = acct ? cJSON_GetObjectItemCaseSensitive(acct, "models") : NULL, *e;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(root);
        return ef_net_scrub(n, EF_ERR(err, EF_ERR_API, "account.models: expected a list"), err);
    }
    size_t m = (size_t)cJSON_GetArraySize(list), k = 0;
    ef_net_model *out = ef_calloc(m ? m : 1, sizeof *out);
    if (!out) s = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    if (out) {
        cJSON_ArrayForEach(e, list) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "tournament");
            if (cJSON_IsNumber(t) && (int)t->valuedouble != n->tournament) continue;
            if ((s = dup_string(cJSON_GetObjectItemCaseSensitive(e, "name"), "model name", &out[k].name, err)) != EF_OK ||
                (s = dup_string(cJSON_GetObjectItemCaseSensitive(e, "id"), "model id", &out[k].id, err)) != EF_OK) {
                k++;
                break;
            }
            k++;
        }
    }
    cJSON_Delete(root);
    if (s != EF_OK) {
        ef_net_models_free(out, k);
        return ef_net_scrub(n, s, err);
    }
    qsort(out, k, sizeof *out, model_cmp);
    *models = out;
    *count = k;
    return EF_OK;
}

// ---- submissions -----------------------------------------------------------------------

ef_status ef_net_submission_upload_auth(ef_net *n, const char *filename, const char *model_id, char **upload_filename,
                                        char **url, ef_error *err) {
    *upload_filename = *url = NULL;
    cJSON *v = vars_new(), *root;
    const cJSON *data;
    cJSON_AddStringToObject(v, "filename", filename);
    cJSON_AddNumberToObject(v, "tournament", n->tournament);
    cJSON_AddStringToObject(v, "modelId", model_id);
    ef_status s = graphql_call(n,
                               "query($filename: String! $tournament: Int! $modelId: String) {\n"
                               "    submission_upload_auth(filename: $filename tournament: $tournament modelId: $modelId) "
                               "{ filename url } }",
                               v, 1, &root, &data, err);
    if (s != EF_OK) return ef_net_scrub(n, s, err);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(data, "submission_upload_auth");
    s = dup_string(cJSON_GetObjectItemCaseSensitive(a, "filename"), "upload filename", upload_filename, err);
    if (s == EF_OK) s = dup_string(cJSON_GetObjectItemCaseSensitive(a, "url"), "upload URL", url, err);
    cJSON_Delete(root);
    if (s != EF_OK) {
        ef_free(*upload_filename);
        ef_free(*url);
        *upload_filename = *url = NULL;
    }
    return ef_net_scrub(n, s, err);
}

ef_status ef_net_create_submission(ef_net *n, const char *upload_filename, const char *model_id,
                                   const char *trigger_id, long data_datestamp, char **submission_id, ef_error *err) {
    *submission_id = NULL;
    cJSON *v = vars_new(), *root;
    const cJSON *data;
    cJSON_AddStringToObject(v, "filename", upload_filename);
    cJSON_AddNumberToObject(v, "tournament", n->tournament);
    cJSON_AddStringToObject(v, "modelId", model_id);
    if (trigger_id && trigger_id[0]) cJSON_AddStringToObject(v, "triggerId", trigger_id);
    else cJSON_AddNullToObject(v, "triggerId");
    if (data_datestamp > 0) cJSON_AddNumberToObject(v, "dataDatestamp", (double)data_datestamp);
    else cJSON_AddNullToObject(v, "dataDatestamp");
    ef_status s = graphql_call(n,
                               "mutation($filename: String! $tournament: Int! $modelId: String $triggerId: String, "
                               "$dataDatestamp: Int) {\n"
                               "    create_submission(filename: $filename tournament: $tournament modelId: $modelId "
                               "triggerId: $triggerId\n"
                               "                      source: \"numerapi\" dataDatestamp: $dataDatestamp) { id } }",
                               v, 1, &root, &data, err);
    if (s != EF_OK) return ef_net_scrub(n, s, err);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(data, "create_submission");
    s = dup_string(cJSON_GetObjectItemCaseSensitive(c, "id"), "submission id", submission_id, err);
    cJSON_Delete(root);
    return ef_net_scrub(n, s, err);
}
