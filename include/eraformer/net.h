/* eraformer net: a client for Numerai's GraphQL API (the calls numerapi makes), with
 * retries, resumable dataset downloads and the three-step submission upload.
 *
 * Transport: one POST endpoint (default https://api-tournament.numer.ai), JSON body
 * {"query", "variables"}; a response carrying "errors" is a failure (EF_ERR_API, or
 * EF_ERR_AUTH when the server rejects the key) whose message is the server's message.
 * Auth: "Authorization: Token PUBLIC_ID$SECRET_KEY" on the calls that need it.
 *
 * Secrets: the secret key is never written into an ef_error message or a log line; every
 * message this module produces is scrubbed of it (replaced by "<redacted>") before it
 * leaves, and presigned URLs are logged without their query string.
 *
 * Library code never prints: log lines go to the optional cfg.log callback.
 * Thread safety: one ef_net per thread. ef_net_global_init once per process first. */
#ifndef EF_NET_H
#define EF_NET_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EF_NET_DEFAULT_API_URL "https://api-tournament.numer.ai"
#define EF_NET_TOURNAMENT_CLASSIC 8

/* level 1: URLs, status codes, retry decisions; 2: + sizes and timings;
 * 3: + HTTP request/response headers (Authorization redacted). */
typedef void (*ef_net_log_fn)(void *ctx, int level, const char *msg);
/* Download progress: bytes now in the file, total size (0 when unknown). */
typedef void (*ef_net_progress_fn)(void *ctx, uint64_t have, uint64_t total);

typedef struct ef_net_config {
    const char *api_url;        /* NULL: EF_NET_DEFAULT_API_URL */
    const char *public_id;      /* NULL/"" with secret_key NULL/"": anonymous calls only */
    const char *secret_key;
    int tournament;             /* 0: EF_NET_TOURNAMENT_CLASSIC */
    int max_retries;            /* retries after the first try (default 3; -1 means 0) */
    double retry_base_s;        /* first backoff delay, doubled each retry (default 5 s) */
    double retry_max_s;         /* give up when the next wait would pass this much time
                                   since the failures began (default 300 s) */
    long connect_timeout_s;     /* default 30 */
    long low_speed_limit;       /* bytes/s under which a transfer counts as stalled (default 1) */
    long low_speed_time_s;      /* ... for this many seconds (default 60) */
    long api_timeout_s;         /* whole-request limit for GraphQL calls (default 120) */
    uint64_t seed;              /* jitter RNG seed (deterministic retries in tests) */
    int verbosity;              /* 0..3, see ef_net_log_fn */
    ef_net_log_fn log;
    void *log_ctx;
} ef_net_config;

typedef struct ef_net ef_net;

/* curl_global_init; call once before any thread creates a client. */
ef_status ef_net_global_init(ef_error *err);
/* Copies cfg (strings included). Fails with EF_ERR_INVALID when only one key is set. */
ef_status ef_net_create(ef_net **out, const ef_net_config *cfg, ef_error *err);
void ef_net_destroy(ef_net *n);   /* wipes the copied secret */
int ef_net_has_auth(const ef_net *n);

/* ---- credentials ----------------------------------------------------------------- *
 * File format: lines "public_id = ..." and "secret_key = ..." (also NUMERAI_PUBLIC_ID /
 * NUMERAI_SECRET_KEY as keys, ":" or "=", '#' comments). The file must not be accessible
 * by group or others (EF_ERR_AUTH with a chmod hint otherwise). Missing file: EF_ERR_IO.
 * Out strings are ef_malloc'd; free the secret with ef_net_secret_free. */
ef_status ef_net_credentials_load(const char *path, char **public_id, char **secret_key,
                                  ef_error *err);
void ef_net_secret_free(char *s);   /* zero then ef_free */
/* Replaces every occurrence of secret in buf (NUL-terminated, in place) by "<redacted>",
 * truncating to cap bytes. No-op when secret is NULL or shorter than 4 bytes. */
void ef_net_redact(char *buf, size_t cap, const char *secret);

// ---- GraphQL ---------------------------------------------------------------------------
/* POSTs {"query": query, "variables": <variables_json or null>} and returns the "data"
 * member re-serialised as JSON text (*data_json, ef_malloc'd). auth: send the key
 * (EF_ERR_AUTH if none configured). Retries on connection errors, timeouts and 5xx. */
ef_status ef_net_graphql(ef_net *n, const char *query, const char *variables_json, int auth,
                         char **data_json, ef_error *err);

/* listDatasets(round, tournament): round <= 0 means the current round. */
ef_status ef_net_list_datasets(ef_net *n, long round, char ***names, size_t *count,
                               ef_error *err);
void ef_net_strings_free(char **s, size_t count);
/* dataset(filename, round, tournament) -> a (presigned) download URL. */
ef_status ef_net_dataset_url(ef_net *n, const char *filename, long round, char **url,
                             ef_error *err);

typedef struct ef_net_round {
    long number;
    int is_open;                /* openTime < now < closeStakingTime */
    char open_time[40];         /* as the API wrote them (ISO 8601) */
    char close_staking_time[40];
} ef_net_round;
/* rounds(tournament, number: 0). A "not open" GraphQL error gives number 0, is_open 0. */
ef_status ef_net_current_round(ef_net *n, ef_net_round *out, ef_error *err);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]" to Unix seconds; 0 on success. */
int ef_net_parse_time(const char *s, int64_t *unix_s);

typedef struct ef_net_model {
    char *name;
    char *id;
} ef_net_model;
/* account { models { id name tournament } }, keeping this client's tournament; sorted by
 * name. Needs auth. */
ef_status ef_net_models(ef_net *n, ef_net_model **models, size_t *count, ef_error *err);
void ef_net_models_free(ef_net_model *m, size_t count);

// ---- transfers -------------------------------------------------------------------------
typedef enum ef_net_download_result {
    EF_NET_DOWNLOADED = 0,      /* fetched (possibly resumed) and renamed into place */
    EF_NET_ALREADY_COMPLETE,    /* dest existed with the server's size: nothing fetched */
} ef_net_download_result;

/* GETs url into "<dest>.temp" and renames it to dest once its size matches the server's
 * (Content-Length / Content-Range). A partial .temp is resumed with "Range: bytes=N-";
 * dropped connections are retried (resuming) with backoff. dest is never half-written.
 * Parent folders of dest are created. progress may be NULL. *resumed_from (may be NULL)
 * gets the .temp size the transfer started from. */
ef_status ef_net_download(ef_net *n, const char *url, const char *dest,
                          ef_net_progress_fn progress, void *progress_ctx,
                          ef_net_download_result *result, uint64_t *resumed_from,
                          ef_error *err);

/* PUTs the bytes of path to a presigned url (no Content-Type; x_compute_id from env
 * NUMERAI_COMPUTE_ID when set). Retries on 5xx and connection errors. */
ef_status ef_net_put_file(ef_net *n, const char *url, const char *path, ef_error *err);

/* submission_upload_auth(filename, tournament, modelId) -> {filename, url}. */
ef_status ef_net_submission_upload_auth(ef_net *n, const char *filename, const char *model_id,
                                        char **upload_filename, char **url, ef_error *err);
/* create_submission(...) { id }. trigger_id may be NULL (env TRIGGER_ID is the CLI's job);
 * data_datestamp <= 0 sends null. */
ef_status ef_net_create_submission(ef_net *n, const char *upload_filename, const char *model_id,
                                   const char *trigger_id, long data_datestamp,
                                   char **submission_id, ef_error *err);

#ifdef __cplusplus
}
#endif
#endif
