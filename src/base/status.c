/* Status strings and error filling. */
#include <stdarg.h>
#include <string.h>
#include "base/ef_internal.h"

static const char *const status_names[EF_STATUS_COUNT] = {
    [EF_OK] = "ok",
    [EF_ERR_NOMEM] = "out of memory",
    [EF_ERR_IO] = "I/O error",
    [EF_ERR_FORMAT] = "bad file format",
    [EF_ERR_INVALID] = "invalid argument",
    [EF_ERR_UNSUPPORTED] = "unsupported",
    [EF_ERR_NET] = "network error",
    [EF_ERR_AUTH] = "authentication error",
    [EF_ERR_API] = "API error",
    [EF_ERR_INTERNAL] = "internal error",
};

const char *ef_status_str(ef_status s) {
    if ((int)s < 0 || s >= EF_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

ef_status ef_error_set(ef_error *err, ef_status code, const char *src_file, int src_line,
                       const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
        err->src_file = src_file;
        err->src_line = src_line;
    }
    return code;
}

void ef_error_prefix(ef_error *err, const char *fmt, ...) {
    if (!err) return;
    char head[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t hn = strlen(head), on = strlen(old);
    if (hn >= sizeof err->msg) hn = sizeof err->msg - 1;
    if (hn + on >= sizeof err->msg) on = sizeof err->msg - 1 - hn;
    memcpy(err->msg, head, hn);
    memcpy(err->msg + hn, old, on);
    err->msg[hn + on] = 0;
}
