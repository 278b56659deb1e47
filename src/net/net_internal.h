/* net module internals: the client struct and the helpers shared by its files. */
#ifndef EF_NET_INTERNAL_H
#define EF_NET_INTERNAL_H

#include <curl/curl.h>
#include "base/ef_internal.h"
#include "eraformer/net.h"

struct ef_net {
    char *api_url;
    char *public_id;
    char *secret_key;
    char *auth_header;          /* "Authorization: Token id$secret" (wiped on destroy) */
    int tournament;
    int max_retries;
    int verbosity;
    double retry_base_s, retry_max_s;
    long connect_timeout_s, low_speed_limit, low_speed_time_s, api_timeout_s;
    ef_rng rng;
    ef_net_log_fn log;
    void *log_ctx;
    CURL *curl;                 /* reused: keeps connections alive between calls */
    char errbuf[CURL_ERROR_SIZE];
};

/* Log line at level (shown when level <= verbosity); the secret is scrubbed. */
void ef_net_logf(ef_net *n, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Scrubs the secret from err->msg (call on every error leaving the module). */
ef_status ef_net_scrub(ef_net *n, ef_status s, ef_error *err);
/* url for logs: scheme://host/path, query replaced by "?<redacted>". */
void ef_net_url_for_log(const char *url, char *out, size_t cap);

/* Resets the shared handle and applies timeouts, protocols, error buffer and (verbosity 3)
 * the scrubbed header trace. */
void ef_net_easy_setup(ef_net *n, const char *url);
/* 1 when a curl result is worth retrying (connection, timeout, dropped transfer). */
int ef_net_curl_retryable(CURLcode c);

typedef struct ef_net_backoff {
    int failures;               /* consecutive failed attempts */
    double t_first;             /* when this run of failures began */
} ef_net_backoff;
/* After a failed attempt: returns 1 after sleeping when another try is allowed (logging
 * the decision), 0 when the retry budget (count or time) is spent. */
int ef_net_backoff_wait(ef_net *n, ef_net_backoff *b, const char *why);

/* Copies s into out (cap bytes) replacing control characters: server text is shown to
 * users and must not carry terminal escapes. */
void ef_net_sanitize(const char *s, char *out, size_t cap);

#endif
