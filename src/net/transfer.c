/* net transfers: resumable dataset downloads (GET into "<dest>.temp" with Range, size checked
 * against Content-Length / Content-Range, renamed into place only when complete) and the
 * presigned-URL PUT of a submission file. Follows numerapi's utils.download_file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "net/net_internal.h"

// ---- files -----------------------------------------------------------------------------

/* mkdir -p of the folder holding path. */
static ef_status make_parents(const char *path, ef_error *err) {
    char *d = ef_strdup(path);
    if (!d) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    char *slash = strrchr(d, '/');
    if (slash && slash != d) {
        *slash = 0;
        for (char *p = d + 1; ; p++) {
            if (*p == '/' || *p == 0) {
                char c = *p;
                *p = 0;
                if (mkdir(d, 0755) != 0 && errno != EEXIST) {
                    ef_status s = EF_ERR(err, EF_ERR_IO, "cannot create folder %s: %s", d, strerror(errno));
                    ef_free(d);
                    return s;
                }
                *p = c;
                if (!c) break;
            }
        }
    }
    ef_free(d);
    return EF_OK;
}

static void fsync_dir_of(const char *path) {
    char *d = ef_strdup(path);
    if (!d) return;
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash) {
        if (slash == d) slash[1] = 0; else *slash = 0;
        dir = d;
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    ef_free(d);
}

/* Exclusive, non-blocking POSIX record lock: two downloads must not share a .temp. */
static int lock_fd(int fd) {
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_SETLK, &fl);
}

// ---- download state --------------------------------------------------------------------

typedef struct dl {
    ef_net *n;
    const char *temp, *dest;
    int fd;                     /* the .temp, opened on the first body byte */
    uint64_t have;              /* bytes in the .temp */
    uint64_t total;             /* full size when known */
    int64_t dest_size;          /* size of an existing dest, -1 if none */
    /* per response */
    long status;
    int64_t content_length;     /* -1 unknown */
    int64_t range_start, range_total; /* from Content-Range; -1 unknown */
    int decided;                /* first body byte seen and the response vetted */
    int skip;                   /* dest already complete: transfer aborted on purpose */
    int restart;                /* server's range did not line up: start over */
    int io_errno;               /* write failure */
    int lock_busy;
    uint64_t got_this_try;
    char errbody[256];          /* the start of a non-2xx body, for the message */
    size_t errlen;
    ef_net_progress_fn progress;
    void *progress_ctx;
} dl;

static size_t dl_header(char *buf, size_t size, size_t nitems, void *ctx) {
    dl *d = ctx;
    size_t n = size * nitems;
    char line[512];
    size_t m = EF_MIN(n, sizeof line - 1);
    memcpy(line, buf, m);
    line[m] = 0;
    if (!strncmp(line, "HTTP/", 5)) {   /* a new response (redirects, 100 Continue) */
        d->status = strtol(line + strcspn(line, " "), NULL, 10);
        d->content_length = d->range_start = d->range_total = -1;
    } else if (!strncasecmp(line, "content-length:", 15)) {
        char *end;
        long long v = strtoll(line + 15, &end, 10);
        if (end != line + 15 && v >= 0) d->content_length = v;
    } else if (!strncasecmp(line, "content-range:", 14)) {
        const char *p = line + 14;
        while (*p == ' ') p++;
        if (!strncasecmp(p, "bytes", 5)) {
            p += 5;
            while (*p == ' ') p++;
            long long a = -1, b = -1, t = -1;
            if (*p == '*') sscanf(p, "*/%lld", &t);
            else if (sscanf(p, "%lld-%lld/%lld", &a, &b, &t) < 2) a = -1;
            d->range_start = a;
            d->range_total = t;
        }
    }
    return n;
}

static ef_status open_temp(dl *d, int create, ef_error *err) {
    d->fd = open(d->temp, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (d->fd < 0) {
        d->io_errno = errno;
        return EF_ERR(err, EF_ERR_IO, "cannot open %s: %s", d->temp, strerror(d->io_errno));
    }
    if (lock_fd(d->fd) != 0) {
        close(d->fd);
        d->fd = -1;
        d->lock_busy = 1;
        return EF_ERR(err, EF_ERR_IO, "%s is being written by another process (is another download of it running?)",
                      d->temp);
    }
    struct stat st;
    if (fstat(d->fd, &st) == 0) d->have = (uint64_t)st.st_size;
    return EF_OK;
}

/* Vets the response when its first body byte arrives. Returns 0 to abort the transfer. */
static int dl_decide(dl *d) {
    d->decided = 1;
    if (d->status == 206) {
        if (d->range_start < 0 || (uint64_t)d->range_start != d->have) {
            ef_net_logf(d->n, 1, "server answered a range starting at %lld, not %" PRIu64 ": restarting from 0",
                        (long long)d->range_start, d->have);
            d->restart = 1;
            return 0;
        }
        if (d->range_total > 0) d->total = (uint64_t)d->range_total;
        return 1;
    }
    if (d->status == 200) {
        if (d->content_length >= 0) d->total = (uint64_t)d->content_length;
        if (d->fd < 0 && d->dest_size >= 0 && d->content_length >= 0 && d->dest_size == d->content_length) {
            d->skip = 1;    /* numerapi: dest exists with the server's size */
            return 0;
        }
        if (d->have > 0) {
            ef_net_logf(d->n, 1, "server ignored the Range request: downloading from the start");
            if (d->fd >= 0 && ftruncate(d->fd, 0) != 0) {
                d->io_errno = errno;
                return 0;
            }
            d->have = 0;
        }
        return 1;
    }
    return 1;   /* an error status: the body is kept for the message */
}

static size_t dl_write(char *p, size_t size, size_t nmemb, void *ctx) {
    dl *d = ctx;
    size_t n = size * nmemb;
    if (!d->decided && !dl_decide(d)) return 0;
    if (d->status != 200 && d->status != 206) {
        size_t m = EF_MIN(n, sizeof d->errbody - 1 - d->errlen);
        memcpy(d->errbody + d->errlen, p, m);
        d->errlen += m;
        d->errbody[d->errlen] = 0;
        return n;
    }
    if (d->fd < 0) {
        if (open_temp(d, 1, NULL) != EF_OK) return 0;   /* io_errno or lock_busy is set */
        if (d->have != 0 && ftruncate(d->fd, 0) != 0) {   /* a .temp appeared meanwhile: start clean */
            d->io_errno = errno;
            return 0;
        }
        d->have = 0;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(d->fd, p + off, n - off, (off_t)(d->have + off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            d->io_errno = w < 0 ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    d->have += n;
    d->got_this_try += n;
    if (d->progress) d->progress(d->progress_ctx, d->have, d->total);
    return n;
}

static ef_status finish(dl *d, ef_error *err) {
    if (fsync(d->fd) != 0) return EF_ERR(err, EF_ERR_IO, "fsync %s: %s", d->temp, strerror(errno));
    if (rename(d->temp, d->dest) != 0)
        return EF_ERR(err, EF_ERR_IO, "renaming %s to %s: %s", d->temp, d->dest, strerror(errno));
    fsync_dir_of(d->dest);
    return EF_OK;
}

// ---- download --------------------------------------------------------------------------

static ef_status download(dl *d, const char *url, ef_net_download_result *result, uint64_t *resumed_from,
                          ef_error *err) {
    ef_net *n = d->n;
    char url_log[512];
    ef_net_url_for_log(url, url_log, sizeof url_log);
    EF_TRY(make_parents(d->dest, err));
    struct stat st;
    d->dest_size = stat(d->dest, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
    if (access(d->temp, F_OK) == 0) EF_TRY(open_temp(d, 0, err));
    if (resumed_from) *resumed_from = d->have;
    if (d->have) ef_net_logf(n, 1, "resuming %s from byte %" PRIu64, d->temp, d->have);

    ef_net_backoff bo = {0};
    int attempts = 0;
    for (;;) {
        if (++attempts > 1000) return EF_ERR(err, EF_ERR_NET, "downloading %s: too many attempts", url_log);
        d->status = 0;
        d->content_length = d->range_start = d->range_total = -1;
        d->decided = d->restart = d->io_errno = 0;
        d->got_this_try = 0;
        d->errlen = 0;
        d->errbody[0] = 0;
        ef_net_easy_setup(n, url);
        char range[64];
        if (d->have > 0) {
            snprintf(range, sizeof range, "%" PRIu64 "-", d->have);
            curl_easy_setopt(n->curl, CURLOPT_RANGE, range);
        }
        curl_easy_setopt(n->curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(n->curl, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(n->curl, CURLOPT_HEADERFUNCTION, dl_header);
        curl_easy_setopt(n->curl, CURLOPT_HEADERDATA, d);
        curl_easy_setopt(n->curl, CURLOPT_WRITEFUNCTION, dl_write);
        curl_easy_setopt(n->curl, CURLOPT_WRITEDATA, d);
        ef_net_logf(n, 1, "GET %s%s%s", url_log, d->have ? " Range: bytes=" : "", d->have ? range : "");
        CURLcode c = curl_easy_perform(n->curl);
        if (d->skip) {
            ef_net_logf(n, 1, "HTTP %ld: %s already has the server's size (%lld bytes): skipped", d->status, d->dest,
                        (long long)d->dest_size);
            *result = EF_NET_ALREADY_COMPLETE;
            return EF_OK;
        }
        ef_net_logf(n, 1, "HTTP %ld, %" PRIu64 " bytes received, curl: %s", d->status, d->got_this_try,
                    curl_easy_strerror(c));
        if (d->lock_busy)
            return EF_ERR(err, EF_ERR_IO, "%s is being written by another process (is another download of it running?)",
                          d->temp);
        if (d->io_errno) return EF_ERR(err, EF_ERR_IO, "writing %s: %s", d->temp, strerror(d->io_errno));
        if (d->got_this_try > 0) bo.failures = 0;   /* progress was made: a fresh retry budget */
        char why[600];
        if (d->restart) {
            if (d->fd >= 0 && ftruncate(d->fd, 0) != 0) return EF_ERR(err, EF_ERR_IO, "truncating %s: %s", d->temp, strerror(errno));
            d->have = 0;
            snprintf(why, sizeof why, "the server's Content-Range did not match the partial file");
            if (ef_net_backoff_wait(n, &bo, why)) continue;
            return EF_ERR(err, EF_ERR_NET, "downloading %s: %s", url_log, why);
        }
        if (c != CURLE_OK && (d->status == 0 || d->status == 200 || d->status == 206)) {
            snprintf(why, sizeof why, "%s%s%s (%" PRIu64 " of %" PRIu64 " bytes)", curl_easy_strerror(c),
                     n->errbuf[0] ? " - " : "", n->errbuf, d->have, d->total);
            if (ef_net_curl_retryable(c) && ef_net_backoff_wait(n, &bo, why)) continue;
            return EF_ERR(err, EF_ERR_NET, "downloading %s failed: %s; run the command again to resume", url_log, why);
        }
        if (d->status == 416) {
            /* the .temp already holds everything, or more than the file has */
            if (d->range_total >= 0 && (uint64_t)d->range_total == d->have) {
                d->total = d->have;
                break;
            }
            if (d->fd >= 0 && ftruncate(d->fd, 0) != 0) return EF_ERR(err, EF_ERR_IO, "truncating %s: %s", d->temp, strerror(errno));
            d->have = 0;
            snprintf(why, sizeof why, "HTTP 416: the partial file is larger than the remote one");
            if (ef_net_backoff_wait(n, &bo, why)) continue;
            return EF_ERR(err, EF_ERR_NET, "downloading %s: %s", url_log, why);
        }
        if (d->status >= 500 || d->status == 408 || d->status == 429) {
            snprintf(why, sizeof why, "HTTP %ld", d->status);
            if (ef_net_backoff_wait(n, &bo, why)) continue;
            return EF_ERR(err, EF_ERR_NET, "downloading %s: HTTP %ld after %d attempts", url_log, d->status, bo.failures);
        }
        if (d->status != 200 && d->status != 206) {
            char body[128];
            ef_net_sanitize(d->errbody, body, sizeof body);
            return EF_ERR(err, d->status == 401 || d->status == 403 ? EF_ERR_AUTH : EF_ERR_NET,
                          "downloading %s: HTTP %ld%s%s%s", url_log, d->status, body[0] ? " (" : "", body,
                          body[0] ? ")" : "");
        }
        if (d->fd < 0) {   /* an empty body: nothing was written yet */
            EF_TRY(open_temp(d, 1, err));
            if (ftruncate(d->fd, 0) != 0) return EF_ERR(err, EF_ERR_IO, "truncating %s: %s", d->temp, strerror(errno));
            d->have = 0;
        }
        if (d->total > 0 && d->have != d->total) {
            snprintf(why, sizeof why, "size mismatch: have %" PRIu64 " bytes, server says %" PRIu64, d->have, d->total);
            if (d->have > d->total) {
                if (ftruncate(d->fd, 0) != 0) return EF_ERR(err, EF_ERR_IO, "truncating %s: %s", d->temp, strerror(errno));
                d->have = 0;
            }
            if (ef_net_backoff_wait(n, &bo, why)) continue;
            return EF_ERR(err, EF_ERR_NET, "downloading %s: %s", url_log, why);
        }
        break;
    }
    EF_TRY(finish(d, err));
    *result = EF_NET_DOWNLOADED;
    return EF_OK;
}

ef_status ef_net_download(ef_net *n, const char *url, const char *dest, ef_net_progress_fn progress,
                          void *progress_ctx, ef_net_download_result *result, uint64_t *resumed_from,
                          ef_error *err) {
    ef_net_download_result r = EF_NET_DOWNLOADED;
    if (!result) result = &r;
    if (resumed_from) *resumed_from = 0;
    size_t len = strlen(dest) + 8;
    char *temp = ef_malloc(len);
    if (!temp) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    snprintf(temp, len, "%s.temp", dest);
    dl d = {0};
    d.n = n;
    d.temp = temp;
    d.dest = dest;
    d.fd = -1;
    d.progress = progress;
    d.progress_ctx = progress_ctx;
    ef_status s = download(&d, url, result, resumed_from, err);
    if (d.fd >= 0) close(d.fd);
    ef_free(temp);
    return ef_net_scrub(n, s, err);
}

// ---- upload ----------------------------------------------------------------------------

static size_t sink(char *p, size_t size, size_t nmemb, void *ctx) {
    char *buf = ctx;
    size_t n = size * nmemb, l = strlen(buf);
    size_t m = EF_MIN(n, 255 - l);
    memcpy(buf + l, p, m);
    buf[l + m] = 0;
    return n;
}

ef_status ef_net_put_file(ef_net *n, const char *url, const char *path, ef_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return EF_ERR(err, EF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return EF_ERR(err, EF_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    }
    char url_log[512];
    ef_net_url_for_log(url, url_log, sizeof url_log);
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
    hdr = curl_slist_append(hdr, "Content-Type:");
    const char *compute = getenv("NUMERAI_COMPUTE_ID");
    char compute_hdr[256];
    if (compute && compute[0] && !strpbrk(compute, "\r\n")) {
        snprintf(compute_hdr, sizeof compute_hdr, "x_compute_id: %s", compute);
        hdr = curl_slist_append(hdr, compute_hdr);
    }
    ef_net_backoff bo = {0};
    ef_status s = EF_OK;
    char body[256];
    for (;;) {
        rewind(f);
        body[0] = 0;
        ef_net_easy_setup(n, url);
        curl_easy_setopt(n->curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(n->curl, CURLOPT_READDATA, f);   /* the default read callback is fread */
        curl_easy_setopt(n->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
        curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(n->curl, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(n->curl, CURLOPT_WRITEDATA, body);
        ef_net_logf(n, 1, "PUT %s (%lld bytes)", url_log, (long long)st.st_size);
        CURLcode c = curl_easy_perform(n->curl);
        long status = 0;
        curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, &status);
        ef_net_logf(n, 1, "HTTP %ld from PUT %s, curl: %s", status, url_log, curl_easy_strerror(c));
        char why[600];
        if (c != CURLE_OK) {
            snprintf(why, sizeof why, "%s%s%s", curl_easy_strerror(c), n->errbuf[0] ? " - " : "", n->errbuf);
            if (ef_net_curl_retryable(c) && ef_net_backoff_wait(n, &bo, why)) continue;
            s = EF_ERR(err, EF_ERR_NET, "uploading %s to %s failed: %s", path, url_log, why);
            break;
        }
        if (status >= 500 || status == 408 || status == 429) {
            snprintf(why, sizeof why, "HTTP %ld", status);
            if (ef_net_backoff_wait(n, &bo, why)) continue;
            s = EF_ERR(err, EF_ERR_NET, "uploading %s to %s: HTTP %ld after %d attempts", path, url_log, status, bo.failures);
            break;
        }
        if (status < 200 || status >= 300) {
            char clean[256];
            ef_net_sanitize(body, clean, sizeof clean);
            s = EF_ERR(err, status == 401 || status == 403 ? EF_ERR_AUTH : EF_ERR_NET, "uploading %s to %s: HTTP %ld%s%s",
                       path, url_log, status, clean[0] ? ": " : "", clean);
        }
        break;
    }
    curl_slist_free_all(hdr);
    fclose(f);
    return ef_net_scrub(n, s, err);
}
