/* A fake Numerai API for the net tests: a small threaded HTTP/1.1 server on 127.0.0.1 with an
 * ephemeral port, started and stopped by the test in-process. It answers the GraphQL
 * operations eraformer sends (matched on the operation text), checks the Authorization
 * header, serves files with Range support (206, Content-Range, 416), accepts PUT uploads,
 * and injects faults on request: 500s, a connection dropped mid-body, a stall, malformed
 * JSON, a GraphQL error, an echo of the auth header, a rejected key (401 or GraphQL error).
 * One connection per request ("Connection: close"); every loop is bounded by the stop flag
 * or a deadline. Only loopback is ever touched. Include from exactly one test file. */
#ifndef EF_FAKE_SERVER_H
#define EF_FAKE_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#define FS_UNUSED __attribute__((unused))
#define FS_MAX_FILES 8

typedef struct fs_file {
    char name[256];
    unsigned char *data;
    size_t len;
} fs_file;

typedef struct fake_server {
    int listen_fd, port;
    pthread_t thread;
    atomic_int stop;
    atomic_int active;              /* connection threads alive */
    pthread_mutex_t mu;
    /* configuration: set before fs_start, or with fs_set* (under mu); the connection threads
     * read it under mu. Files are added under mu and never change once added. The statistics
     * are written under mu; a test reads them after fs_idle (or with fs_get_int). */
    char public_id[128], secret[128];
    int auth_401;                   /* a wrong key gets HTTP 401 instead of a GraphQL error */
    int round_state;                /* 0 open, 1 closed (times in the past), 2 "not open" error */
    int round_number;               /* the current round (0: 1234) */
    fs_file files[FS_MAX_FILES];
    int nfiles;
    long throttle_bps;              /* GET bodies are sent at about this rate (0: full speed) */
    int ignore_range;
    /* faults: each counter is consumed by the next matching request(s) */
    int fail_500_graphql, fail_500_get, fail_500_put;
    int malformed_next, gql_error_next, echo_auth_next, stall_graphql_next;
    char gql_error_msg[256];
    int drop_get_next;              /* GETs that send half of their body and close */
    int stall_get_next;             /* GETs that send half, then go silent for stall_s */
    double stall_s;
    /* statistics */
    int n_graphql, n_get, n_put, n_range_get, n_conn;
    char last_range[64];
    char last_query[4096];
    long last_range_start;
    unsigned char *uploaded;
    size_t uploaded_len;
    char uploaded_path[256];
    int upload_had_content_type;
    char upload_filename[256];      /* handed out by submission_upload_auth */
    int submissions;
} fake_server;

typedef struct fs_req {
    char method[16], path[1024];
    char auth[512], range[128];
    int expect_continue, has_content_type;
    long content_length;
    char *body;
    size_t body_len;
} fs_req;

// ---- socket helpers --------------------------------------------------------------------

static int fs_send(fake_server *s, int fd, const void *buf, size_t n) {
    const char *p = buf;
    double t_end = (double)time(NULL) + 30;
    while (n > 0 && !atomic_load(&s->stop) && (double)time(NULL) < t_end) {
        struct pollfd pf = {fd, POLLOUT, 0};
        if (poll(&pf, 1, 100) <= 0) continue;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return n == 0 ? 0 : -1;
}

static void fs_sleep_ms(fake_server *s, long ms) {
    for (long t = 0; t < ms && !atomic_load(&s->stop); t += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Reads up to n bytes (at least 1) with a 10 s idle limit; <= 0 on close/error/stop. */
static ssize_t fs_recv(fake_server *s, int fd, char *buf, size_t n) {
    for (int waited = 0; waited < 10000 && !atomic_load(&s->stop); waited += 100) {
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, 100);
        if (r == 0) continue;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        ssize_t k = recv(fd, buf, n, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        return k;
    }
    return -1;
}

static void fs_header_value(const char *line, char *out, size_t cap) {
    const char *v = strchr(line, ':');
    v = v ? v + 1 : line;
    while (*v == ' ') v++;
    snprintf(out, cap, "%s", v);
}

/* Parses one request; 0 on success. */
static int fs_read_request(fake_server *s, int fd, fs_req *r) {
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    char head[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= sizeof head) return -1;
        ssize_t k = fs_recv(s, fd, head + len, sizeof head - 1 - len);
        if (k <= 0) return -1;
        len += (size_t)k;
        head[len] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - head) + 4;
    *end = 0;
    char *save = NULL, *line = strtok_r(head, "\r\n", &save);
    if (!line || sscanf(line, "%15s %1023s", r->method, r->path) != 2) return -1;
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        if (!strncasecmp(line, "content-length:", 15)) r->content_length = atol(line + 15);
        else if (!strncasecmp(line, "authorization:", 14)) fs_header_value(line, r->auth, sizeof r->auth);
        else if (!strncasecmp(line, "range:", 6)) fs_header_value(line, r->range, sizeof r->range);
        else if (!strncasecmp(line, "expect:", 7) && strstr(line, "100")) r->expect_continue = 1;
        else if (!strncasecmp(line, "content-type:", 13)) r->has_content_type = 1;
    }
    if (r->content_length > (64L << 20)) return -1;
    if (r->content_length > 0) {
        if (r->expect_continue) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (fs_send(s, fd, cont, sizeof cont - 1)) return -1;
        }
        r->body = malloc((size_t)r->content_length + 1);
        if (!r->body) return -1;
        size_t have = len - head_len;
        if (have > (size_t)r->content_length) have = (size_t)r->content_length;
        memcpy(r->body, head + head_len, have);
        while (have < (size_t)r->content_length) {
            ssize_t k = fs_recv(s, fd, r->body + have, (size_t)r->content_length - have);
            if (k <= 0) return -1;
            have += (size_t)k;
        }
        r->body[have] = 0;
        r->body_len = have;
    }
    return 0;
}

static void fs_respond(fake_server *s, int fd, int status, const char *ctype, const char *extra_headers,
                       const void *body, size_t len) {
    char head[1024];
    const char *reason = status == 200 ? "OK" : status == 206 ? "Partial Content" : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found" : status == 416 ? "Range Not Satisfiable"
                       : status == 500 ? "Internal Server Error" : "Status";
    int h = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n", status, reason, ctype, len, extra_headers ? extra_headers : "");
    if (fs_send(s, fd, head, (size_t)h) == 0 && len) fs_send(s, fd, body, len);
}

static void fs_json(fake_server *s, int fd, int status, const char *json) {
    fs_respond(s, fd, status, "application/json", NULL, json, strlen(json));
}

static void fs_gql_error(fake_server *s, int fd, int status, const char *msg) {
    cJSON *root = cJSON_CreateObject(), *errs = cJSON_AddArrayToObject(root, "errors"), *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToArray(errs, e);
    cJSON_AddNullToObject(root, "data");
    char *t = cJSON_PrintUnformatted(root);
    fs_json(s, fd, status, t);
    cJSON_free(t);
    cJSON_Delete(root);
}

// ---- GraphQL ---------------------------------------------------------------------------

static const char *fs_models_json =
    "{\"data\":{\"account\":{\"models\":[{\"id\":\"a1b2c3d4-0000-4000-8000-000000000001\",\"name\":\"beta_model\","
    "\"tournament\":8},{\"id\":\"a1b2c3d4-0000-4000-8000-000000000002\",\"name\":\"alpha_model\",\"tournament\":8},"
    "{\"id\":\"a1b2c3d4-0000-4000-8000-000000000099\",\"name\":\"signals_model\",\"tournament\":11}]}}}";

static int fs_model_known(const char *id) {
    return id && (!strcmp(id, "a1b2c3d4-0000-4000-8000-000000000001") ||
                  !strcmp(id, "a1b2c3d4-0000-4000-8000-000000000002"));
}

static void fs_iso(time_t t, char *out, size_t cap) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fs_graphql(fake_server *s, int fd, fs_req *r) {
    cJSON *body = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *qj = cJSON_GetObjectItemCaseSensitive(body, "query");
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(body, "variables");
    if (!cJSON_IsString(qj)) {
        fs_gql_error(s, fd, 400, "request body must be JSON with a query");
        cJSON_Delete(body);
        return;
    }
    const char *q = qj->valuestring;
    pthread_mutex_lock(&s->mu);
    s->n_graphql++;
    snprintf(s->last_query, sizeof s->last_query, "%s", q);
    int fail = s->fail_500_graphql > 0 ? s->fail_500_graphql-- : 0;
    int malformed = s->malformed_next > 0 ? s->malformed_next-- : 0;
    int gqlerr = s->gql_error_next > 0 ? s->gql_error_next-- : 0;
    int echo = s->echo_auth_next > 0 ? s->echo_auth_next-- : 0;
    int stall = s->stall_graphql_next > 0 ? s->stall_graphql_next-- : 0;
    int auth_401 = s->auth_401, round_state = s->round_state, nfiles = s->nfiles;
    int round_number = s->round_number ? s->round_number : 1234;
    double stall_s = s->stall_s;
    char gql_error_msg[sizeof s->gql_error_msg];
    memcpy(gql_error_msg, s->gql_error_msg, sizeof gql_error_msg);
    pthread_mutex_unlock(&s->mu);
    char expected[300];
    snprintf(expected, sizeof expected, "Token %s$%s", s->public_id, s->secret);
    int needs_auth = strstr(q, "account") || strstr(q, "submission_upload_auth") || strstr(q, "create_submission");
    char buf[8192];
    if (stall) {
        fs_sleep_ms(s, (long)(stall_s * 1000));
    } else if (fail) {
        fs_respond(s, fd, 500, "text/html", NULL, "<html>oops</html>", 17);
    } else if (malformed) {
        fs_json(s, fd, 200, "{\"data\": {\"listDatasets\": [\"v5.2/tra");
    } else if (gqlerr) {
        fs_gql_error(s, fd, 200, gql_error_msg[0] ? gql_error_msg : "something went wrong");
    } else if (echo) {
        snprintf(buf, sizeof buf, "bad request, you sent Authorization: %s", r->auth);
        fs_gql_error(s, fd, 200, buf);
    } else if (needs_auth && !r->auth[0]) {
        fs_gql_error(s, fd, 200, "You must be authenticated to perform this action");
    } else if (needs_auth && strcmp(r->auth, expected) != 0) {
        if (auth_401) fs_gql_error(s, fd, 401, "Invalid token");
        else fs_gql_error(s, fd, 200, "Your session is invalid or has expired.");
    } else if (strstr(q, "listDatasets(")) {
        const cJSON *round = cJSON_GetObjectItemCaseSensitive(vars, "round");
        const cJSON *tour = cJSON_GetObjectItemCaseSensitive(vars, "tournament");
        if (!cJSON_IsNumber(tour) || tour->valueint != 8) fs_gql_error(s, fd, 200, "bad tournament");
        else if (cJSON_IsNumber(round) && round->valueint == 500)
            fs_json(s, fd, 200, "{\"data\":{\"listDatasets\":[\"v4.3/train_int8.parquet\",\"v4.3/live_int8.parquet\"]}}");
        else if (cJSON_IsNumber(round)) fs_gql_error(s, fd, 200, "Round not found");
        else {
            cJSON *root = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(root, "data");
            cJSON *list = cJSON_AddArrayToObject(d, "listDatasets");
            for (int i = 0; i < nfiles; i++) cJSON_AddItemToArray(list, cJSON_CreateString(s->files[i].name));
            char *t = cJSON_PrintUnformatted(root);
            fs_json(s, fd, 200, t);
            cJSON_free(t);
            cJSON_Delete(root);
        }
    } else if (strstr(q, "dataset(")) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(vars, "filename");
        int found = 0;
        for (int i = 0; i < nfiles && cJSON_IsString(fn); i++) found |= !strcmp(s->files[i].name, fn->valuestring);
        if (!found) fs_gql_error(s, fd, 200, "Dataset not found");
        else {
            snprintf(buf, sizeof buf,
                     "{\"data\":{\"dataset\":\"http://127.0.0.1:%d/files/%s?X-Amz-Signature=presignedSIG123\"}}",
                     s->port, fn->valuestring);
            fs_json(s, fd, 200, buf);
        }
    } else if (strstr(q, "rounds(")) {
        if (round_state == 2) fs_gql_error(s, fd, 200, "Current round not open for submissions");
        else {
            char ot[40], ct[40];
            time_t now = time(NULL);
            fs_iso(round_state == 0 ? now - 86400 : now - 5 * 86400, ot, sizeof ot);
            fs_iso(round_state == 0 ? now + 86400 : now - 3 * 86400, ct, sizeof ct);
            snprintf(buf, sizeof buf,
                     "{\"data\":{\"rounds\":[{\"number\":%d,\"openTime\":\"%s\",\"closeStakingTime\":\"%s\"}]}}",
                     round_number, ot, ct);
            fs_json(s, fd, 200, buf);
        }
    } else if (strstr(q, "account")) {
        fs_json(s, fd, 200, fs_models_json);
    } else if (strstr(q, "submission_upload_auth(")) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(vars, "filename");
        const cJSON *mid = cJSON_GetObjectItemCaseSensitive(vars, "modelId");
        if (!cJSON_IsString(fn) || !cJSON_IsString(mid) || !fs_model_known(mid->valuestring))
            fs_gql_error(s, fd, 200, "Model not found");
        else {
            pthread_mutex_lock(&s->mu);
            snprintf(s->upload_filename, sizeof s->upload_filename, "%.40s/%.100s", mid->valuestring, fn->valuestring);
            pthread_mutex_unlock(&s->mu);
            snprintf(buf, sizeof buf,
                     "{\"data\":{\"submission_upload_auth\":{\"filename\":\"%s\",\"url\":"
                     "\"http://127.0.0.1:%d/upload/sub.csv?X-Amz-Signature=uploadSIG456\"}}}",
                     s->upload_filename, s->port);
            fs_json(s, fd, 200, buf);
        }
    } else if (strstr(q, "create_submission(")) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(vars, "filename");
        const cJSON *mid = cJSON_GetObjectItemCaseSensitive(vars, "modelId");
        const cJSON *tour = cJSON_GetObjectItemCaseSensitive(vars, "tournament");
        pthread_mutex_lock(&s->mu);
        int ok = cJSON_IsString(fn) && !strcmp(fn->valuestring, s->upload_filename) && s->uploaded &&
                 cJSON_IsString(mid) && fs_model_known(mid->valuestring) && cJSON_IsNumber(tour) && tour->valueint == 8;
        if (ok) s->submissions++;
        int k = s->submissions;
        pthread_mutex_unlock(&s->mu);
        if (!ok) fs_gql_error(s, fd, 200, "No uploaded file matches this submission");
        else {
            snprintf(buf, sizeof buf, "{\"data\":{\"create_submission\":{\"id\":\"sub-%04d-5e6f\"}}}", k);
            fs_json(s, fd, 200, buf);
        }
    } else {
        fs_gql_error(s, fd, 400, "unknown operation");
    }
    cJSON_Delete(body);
}

// ---- files and uploads -----------------------------------------------------------------

static void fs_get(fake_server *s, int fd, fs_req *r) {
    char path[1024];
    snprintf(path, sizeof path, "%s", r->path + 7);   /* after "/files/" */
    char *q = strchr(path, '?');
    if (q) *q = 0;
    pthread_mutex_lock(&s->mu);
    s->n_get++;
    if (r->range[0]) {
        s->n_range_get++;
        snprintf(s->last_range, sizeof s->last_range, "%.60s", r->range);
    }
    int fail = s->fail_500_get > 0 ? s->fail_500_get-- : 0;
    int drop = s->drop_get_next > 0 ? s->drop_get_next-- : 0;
    int stall = s->stall_get_next > 0 ? s->stall_get_next-- : 0;
    int nfiles = s->nfiles, ignore_range = s->ignore_range;
    long throttle_bps = s->throttle_bps;
    double stall_s = s->stall_s;
    pthread_mutex_unlock(&s->mu);
    const fs_file *f = NULL;
    for (int i = 0; i < nfiles; i++)
        if (!strcmp(s->files[i].name, path)) f = &s->files[i];
    if (!q || !strstr(q + 1, "X-Amz-Signature=presignedSIG123")) {
        fs_respond(s, fd, 403, "application/xml", NULL, "<Error>AccessDenied</Error>", 27);
        return;
    }
    if (fail) {
        fs_respond(s, fd, 500, "text/plain", NULL, "fail", 4);
        return;
    }
    if (!f) {
        fs_respond(s, fd, 404, "application/xml", NULL, "<Error>NoSuchKey</Error>", 24);
        return;
    }
    size_t start = 0, stop = f->len;   /* [start, stop) */
    int partial = 0;
    char extra[256] = "Accept-Ranges: bytes\r\n";
    if (r->range[0] && !ignore_range) {
        long a = -1, b = -1;
        int k = sscanf(r->range, "bytes=%ld-%ld", &a, &b);
        if (k >= 1 && a >= 0) {
            if ((size_t)a >= f->len) {
                snprintf(extra, sizeof extra, "Content-Range: bytes */%zu\r\n", f->len);
                fs_respond(s, fd, 416, "text/plain", extra, NULL, 0);
                return;
            }
            start = (size_t)a;
            if (k == 2 && b >= a && (size_t)b < f->len) stop = (size_t)b + 1;
            partial = 1;
            pthread_mutex_lock(&s->mu);
            s->last_range_start = a;
            pthread_mutex_unlock(&s->mu);
            snprintf(extra, sizeof extra, "Content-Range: bytes %zu-%zu/%zu\r\n", start, stop - 1, f->len);
        }
    }
    size_t len = stop - start;
    char head[512];
    int h = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", partial ? 206 : 200,
                     partial ? "Partial Content" : "OK", len, extra);
    if (fs_send(s, fd, head, (size_t)h)) return;
    size_t limit = (drop || stall) ? len / 2 : len;
    size_t chunk = throttle_bps > 0 ? (size_t)(throttle_bps / 20 + 1) : 65536;
    for (size_t off = 0; off < limit && !atomic_load(&s->stop);) {
        size_t m = limit - off < chunk ? limit - off : chunk;
        if (fs_send(s, fd, f->data + start + off, m)) return;
        off += m;
        if (throttle_bps > 0) fs_sleep_ms(s, 50);
    }
    if (stall) fs_sleep_ms(s, (long)(stall_s * 1000));
}

static void fs_put(fake_server *s, int fd, fs_req *r) {
    pthread_mutex_lock(&s->mu);
    s->n_put++;
    int fail = s->fail_500_put > 0 ? s->fail_500_put-- : 0;
    pthread_mutex_unlock(&s->mu);
    if (fail) {
        fs_respond(s, fd, 500, "text/plain", NULL, "fail", 4);
        return;
    }
    if (!strstr(r->path, "X-Amz-Signature=uploadSIG456")) {
        fs_respond(s, fd, 403, "application/xml", NULL, "<Error>SignatureDoesNotMatch</Error>", 36);
        return;
    }
    pthread_mutex_lock(&s->mu);
    free(s->uploaded);
    s->uploaded = (unsigned char *)r->body;
    s->uploaded_len = r->body_len;
    r->body = NULL;
    if (!s->uploaded) s->uploaded = calloc(1, 1);
    snprintf(s->uploaded_path, sizeof s->uploaded_path, "%.250s", r->path);
    s->upload_had_content_type = r->has_content_type;
    pthread_mutex_unlock(&s->mu);
    fs_respond(s, fd, 200, "text/plain", NULL, "", 0);
}

// ---- threads ---------------------------------------------------------------------------

typedef struct fs_conn {
    fake_server *s;
    int fd;
} fs_conn;

static void *fs_conn_main(void *arg) {
    fs_conn *c = arg;
    fake_server *s = c->s;
    fs_req r;
    if (fs_read_request(s, c->fd, &r) == 0) {
        if (!strcmp(r.method, "POST") && (!strcmp(r.path, "/") || !strncmp(r.path, "/graphql", 8))) fs_graphql(s, c->fd, &r);
        else if (!strcmp(r.method, "GET") && !strncmp(r.path, "/files/", 7)) fs_get(s, c->fd, &r);
        else if (!strcmp(r.method, "PUT") && !strncmp(r.path, "/upload/", 8)) fs_put(s, c->fd, &r);
        else fs_respond(s, c->fd, 404, "text/plain", NULL, "no", 2);
    }
    free(r.body);
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    free(c);
    atomic_fetch_sub(&s->active, 1);
    return NULL;
}

static void *fs_accept_main(void *arg) {
    fake_server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf = {s->listen_fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0) continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) continue;
        fs_conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        pthread_mutex_lock(&s->mu);
        s->n_conn++;
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add(&s->active, 1);
        pthread_t t;
        if (pthread_create(&t, NULL, fs_conn_main, c) != 0) {
            atomic_fetch_sub(&s->active, 1);
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

/* Starts the server on 127.0.0.1 with an ephemeral port; 0 on success. */
static FS_UNUSED int fs_start(fake_server *s, const char *public_id, const char *secret) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->public_id, sizeof s->public_id, "%s", public_id);
    snprintf(s->secret, sizeof s->secret, "%s", secret);
    s->stall_s = 3;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listen_fd < 0) return -1;
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) || listen(s->listen_fd, 64) ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &al)) {
        close(s->listen_fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thread, NULL, fs_accept_main, s) != 0) {
        close(s->listen_fd);
        return -1;
    }
    return 0;
}

static FS_UNUSED void fs_stop(fake_server *s) {
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    for (int i = 0; i < 500 && atomic_load(&s->active) > 0; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < s->nfiles; i++) free(s->files[i].data);
    free(s->uploaded);
    pthread_mutex_destroy(&s->mu);
}

/* Adds a served file with deterministic pseudo-random content of len bytes (the server may
 * be running: the file is published under mu). */
static FS_UNUSED const fs_file *fs_add_file(fake_server *s, const char *name, size_t len, unsigned seed) {
    pthread_mutex_lock(&s->mu);
    fs_file *f = s->nfiles < FS_MAX_FILES ? &s->files[s->nfiles] : NULL;
    if (f && !(f->data = malloc(len ? len : 1))) f = NULL;
    if (!f) {
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f->data[i] = (unsigned char)(x >> 24);
    }
    f->len = len;
    snprintf(f->name, sizeof f->name, "%s", name);
    s->nfiles++;
    pthread_mutex_unlock(&s->mu);
    return f;
}

/* 1 when the file at path holds exactly f's bytes. */
static FS_UNUSED int fs_file_equals(const char *path, const fs_file *f) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    unsigned char *buf = malloc(f->len + 1);
    size_t got = buf ? fread(buf, 1, f->len + 1, fp) : 0;
    fclose(fp);
    int ok = buf && got == f->len && memcmp(buf, f->data, f->len) == 0;
    free(buf);
    return ok;
}

static FS_UNUSED void fs_set(fake_server *s, int *field, int value) {
    pthread_mutex_lock(&s->mu);
    *field = value;
    pthread_mutex_unlock(&s->mu);
}

static FS_UNUSED int fs_get_int(fake_server *s, const int *field) {
    pthread_mutex_lock(&s->mu);
    int v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static FS_UNUSED long fs_get_long(fake_server *s, const long *field) {
    pthread_mutex_lock(&s->mu);
    long v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static FS_UNUSED void fs_set_long(fake_server *s, long *field, long value) {
    pthread_mutex_lock(&s->mu);
    *field = value;
    pthread_mutex_unlock(&s->mu);
}

static FS_UNUSED void fs_set_double(fake_server *s, double *field, double value) {
    pthread_mutex_lock(&s->mu);
    *field = value;
    pthread_mutex_unlock(&s->mu);
}

static FS_UNUSED void fs_set_error_msg(fake_server *s, const char *msg) {
    pthread_mutex_lock(&s->mu);
    snprintf(s->gql_error_msg, sizeof s->gql_error_msg, "%s", msg);
    pthread_mutex_unlock(&s->mu);
}

/* Waits (up to 10 s) until no connection thread is running, then takes mu once: everything the
 * finished connections wrote (statistics, uploads) happens before the caller's next plain
 * reads of them. A client's call returns once it has its response, which can be before the
 * server's thread has finished. Returns 0, or -1 on the timeout. */
static FS_UNUSED int fs_idle(fake_server *s) {
    for (int i = 0; i < 1000 && atomic_load(&s->active) > 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&s->mu);
    pthread_mutex_unlock(&s->mu);
    return atomic_load(&s->active) > 0 ? -1 : 0;
}

#endif
