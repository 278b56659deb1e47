/* net client: creation, configuration defaults, logging with secret redaction, the shared
 * curl handle setup, retry classification and exponential backoff with seeded jitter. */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "net/net_internal.h"

// ---- secrets ---------------------------------------------------------------------------

static void wipe(char *s) {
    if (!s) return;
    volatile char *p = s;
    while (*p) *p++ = 0;
}

void ef_net_secret_free(char *s) {
    wipe(s);
    ef_free(s);
}

void ef_net_redact(char *buf, size_t cap, const char *secret) {
    static const char mark[] = "<redacted>";
    if (!buf || !secret || strlen(secret) < 4 || cap == 0) return;
    size_t sl = strlen(secret), ml = sizeof mark - 1;
    char *p = buf;
    while ((p = strstr(p, secret)) != NULL) {
        size_t len = strlen(buf), off = (size_t)(p - buf);
        size_t tail = len - off - sl;            /* bytes after the secret */
        size_t room = cap - 1 - off;             /* bytes available from p on */
        size_t mk = EF_MIN(ml, room);
        size_t keep = room > mk ? EF_MIN(tail, room - mk) : 0;
        memmove(p + mk, p + sl, keep);
        memcpy(p, mark, mk);
        p[mk + keep] = 0;
        p += mk;
    }
    /* truncation may have cut a later occurrence: drop any trailing secret prefix */
    size_t len = strlen(buf);
    for (size_t k = EF_MIN(sl - 1, len); k >= 4; k--)
        if (memcmp(buf + len - k, secret, k) == 0) {
            buf[len - k] = 0;
            break;
        }
}

ef_status ef_net_scrub(ef_net *n, ef_status s, ef_error *err) {
    if (s != EF_OK && err && n) ef_net_redact(err->msg, sizeof err->msg, n->secret_key);
    return s;
}

void ef_net_sanitize(const char *s, char *out, size_t cap) {
    size_t j = 0;
    if (cap == 0) return;
    for (size_t i = 0; s && s[i] && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[j] = 0;
}

// ---- logging ---------------------------------------------------------------------------

void ef_net_logf(ef_net *n, int level, const char *fmt, ...) {
    if (!n || !n->log || level > n->verbosity) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ef_net_redact(buf, sizeof buf, n->secret_key);
    n->log(n->log_ctx, level, buf);
}

void ef_net_url_for_log(const char *url, char *out, size_t cap) {
    char tmp[1024];
    ef_net_sanitize(url, tmp, sizeof tmp);
    char *q = strchr(tmp, '?');
    if (q) snprintf(out, cap, "%.*s?<redacted>", (int)(q - tmp), tmp);
    else snprintf(out, cap, "%s", tmp);
}

/* Presigned URLs carry temporary credentials in their query string: in a trace line (request
 * line, Location header, curl's own text) every "?query" glued to a URL becomes
 * "?<redacted>", up to the next space or quote. */
static void redact_query(char *line, size_t cap) {
    static const char mark[] = "?<redacted>";
    char out[1024];
    size_t j = 0;
    for (size_t i = 0; line[i] && j + 1 < sizeof out;) {
        if (line[i] == '?' && i > 0 && line[i - 1] != ' ') {
            for (size_t k = 0; mark[k] && j + 1 < sizeof out; k++) out[j++] = mark[k];
            while (line[i] && line[i] != ' ' && line[i] != '\'' && line[i] != '"') i++;
        } else {
            out[j++] = line[i++];
        }
    }
    out[j] = 0;
    snprintf(line, cap, "%s", out);
}

/* Verbosity 3 trace of the HTTP headers curl sends and receives; bodies are never logged
 * and the Authorization value never leaves this function. */
static int debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *ctx) {
    (void)c;
    ef_net *n = ctx;
    const char *tag;
    switch (type) {
    case CURLINFO_TEXT: tag = "*"; break;
    case CURLINFO_HEADER_IN: tag = "<"; break;
    case CURLINFO_HEADER_OUT: tag = ">"; break;
    default: return 0;
    }
    size_t i = 0;
    while (i < size) {
        size_t j = i;
        while (j < size && data[j] != '\n') j++;
        size_t len = j - i;
        while (len && (data[i + len - 1] == '\r')) len--;
        if (len) {
            char line[1024];
            size_t m = EF_MIN(len, sizeof line - 1);
            memcpy(line, data + i, m);
            line[m] = 0;
            if (strncasecmp(line, "authorization:", 14) == 0) snprintf(line, sizeof line, "Authorization: <redacted>");
            redact_query(line, sizeof line);
            char clean[1024];
            ef_net_sanitize(line, clean, sizeof clean);
            ef_net_logf(n, 3, "%s %s", tag, clean);
        }
        i = j + 1;
    }
    return 0;
}

// ---- curl handle -----------------------------------------------------------------------

ef_status ef_net_global_init(ef_error *err) {
    CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (c != CURLE_OK) return EF_ERR(err, EF_ERR_NET, "curl_global_init failed: %s", curl_easy_strerror(c));
    return EF_OK;
}

void ef_net_easy_setup(ef_net *n, const char *url) {
    CURL *c = n->curl;
    curl_easy_reset(c);
    n->errbuf[0] = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, n->errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, n->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, n->low_speed_limit);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, n->low_speed_time_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "eraformer/" EF_VERSION_STRING);
    if (n->verbosity >= 3 && n->log) {
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
        curl_easy_setopt(c, CURLOPT_DEBUGDATA, n);
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    }
}

int ef_net_curl_retryable(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

// ---- backoff ---------------------------------------------------------------------------

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int ef_net_backoff_wait(ef_net *n, ef_net_backoff *b, const char *why) {
    double now = ef_time_now();
    if (b->failures == 0) b->t_first = now;
    b->failures++;
    if (b->failures > n->max_retries) {
        ef_net_logf(n, 1, "giving up after %d attempt%s: %s", b->failures, b->failures == 1 ? "" : "s", why);
        return 0;
    }
    /* base * 2^(k-1), plus up to 50% jitter so many clients do not retry in lockstep */
    double delay = n->retry_base_s * (double)(1u << EF_MIN(b->failures - 1, 20));
    delay *= 1.0 + 0.5 * ef_rng_uniform(&n->rng);
    if (now + delay - b->t_first > n->retry_max_s) {
        ef_net_logf(n, 1, "giving up: next retry (in %.2f s) would pass the %.0f s retry limit: %s",
                    delay, n->retry_max_s, why);
        return 0;
    }
    ef_net_logf(n, 1, "retry %d/%d in %.2f s: %s", b->failures, n->max_retries, delay, why);
    sleep_s(delay);
    return 1;
}

// ---- create / destroy ------------------------------------------------------------------

static int set_str(char **dst, const char *s) {
    *dst = ef_strdup(s);
    return *dst != NULL;
}

ef_status ef_net_create(ef_net **out, const ef_net_config *cfg, ef_error *err) {
    *out = NULL;
    ef_net_config d = {0};
    if (!cfg) cfg = &d;
    int has_id = cfg->public_id && cfg->public_id[0];
    int has_key = cfg->secret_key && cfg->secret_key[0];
    if (has_id != has_key)
        return EF_ERR(err, EF_ERR_INVALID, "%s is set but %s is not: both keys are needed",
                      has_id ? "the public id" : "the secret key", has_id ? "the secret key" : "the public id");
    if (has_id && (strchr(cfg->public_id, '\n') || strchr(cfg->secret_key, '\n') ||
                   strchr(cfg->public_id, '\r') || strchr(cfg->secret_key, '\r')))
        return EF_ERR(err, EF_ERR_INVALID, "API keys must not contain line breaks");
    const char *url = cfg->api_url && cfg->api_url[0] ? cfg->api_url : EF_NET_DEFAULT_API_URL;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return EF_ERR(err, EF_ERR_INVALID, "API URL '%s' must start with http:// or https://", url);
    ef_net *n = ef_calloc(1, sizeof *n);
    if (!n) return EF_ERR(err, EF_ERR_NOMEM, "out of memory creating the API client");
    if (!set_str(&n->api_url, url)) goto nomem;
    n->tournament = cfg->tournament > 0 ? cfg->tournament : EF_NET_TOURNAMENT_CLASSIC;
    n->max_retries = cfg->max_retries < 0 ? 0 : cfg->max_retries == 0 ? 3 : cfg->max_retries;
    n->retry_base_s = cfg->retry_base_s > 0 ? cfg->retry_base_s : 5.0;
    n->retry_max_s = cfg->retry_max_s > 0 ? cfg->retry_max_s : 300.0;
    n->connect_timeout_s = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 30;
    n->low_speed_limit = cfg->low_speed_limit > 0 ? cfg->low_speed_limit : 1;
    n->low_speed_time_s = cfg->low_speed_time_s > 0 ? cfg->low_speed_time_s : 60;
    n->api_timeout_s = cfg->api_timeout_s > 0 ? cfg->api_timeout_s : 120;
    n->verbosity = cfg->verbosity;
    n->log = cfg->log;
    n->log_ctx = cfg->log_ctx;
    ef_rng_init(&n->rng, cfg->seed, 0x6e6574);
    if (has_id) {
        if (!set_str(&n->public_id, cfg->public_id) || !set_str(&n->secret_key, cfg->secret_key)) goto nomem;
        size_t len = strlen(n->public_id) + strlen(n->secret_key) + 32;
        n->auth_header = ef_malloc(len);
        if (!n->auth_header) goto nomem;
        snprintf(n->auth_header, len, "Authorization: Token %s$%s", n->public_id, n->secret_key);
    }
    n->curl = curl_easy_init();
    if (!n->curl) {
        ef_net_destroy(n);
        return EF_ERR(err, EF_ERR_NET, "curl_easy_init failed");
    }
    *out = n;
    return EF_OK;
nomem:
    ef_net_destroy(n);
    return EF_ERR(err, EF_ERR_NOMEM, "out of memory creating the API client");
}

void ef_net_destroy(ef_net *n) {
    if (!n) return;
    if (n->curl) curl_easy_cleanup(n->curl);
    ef_free(n->api_url);
    ef_free(n->public_id);
    ef_net_secret_free(n->secret_key);
    ef_net_secret_free(n->auth_header);
    ef_free(n);
}

int ef_net_has_auth(const ef_net *n) {
    return n && n->auth_header != NULL;
}
