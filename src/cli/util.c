/* CLI helpers: errors, checked parsing, progress line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

int ef_cli_fail(const ef_error *err, const char *hint) {
    fprintf(stderr, "eraformer: error: %s\n", err && err->msg[0] ? err->msg : "unknown error");
    if (hint) fprintf(stderr, "HINT: %s\n", hint);
    return err && err->code == EF_ERR_INVALID ? EF_EXIT_USAGE : EF_EXIT_RUNTIME;
}

int ef_cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "eraformer %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nHINT: see 'eraformer %s --help'\n", cmd);
    return EF_EXIT_USAGE;
}

int ef_cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return ef_cli_usage(cmd, "%s expects an integer, got '%s'", opt, s);
    if (v < lo || v > hi) return ef_cli_usage(cmd, "%s must be in [%ld, %ld], got %ld", opt, lo, hi, v);
    *out = v;
    return 0;
}

int ef_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return ef_cli_usage(cmd, "%s expects a number, got '%s'", opt, s);
    if (v < lo || v > hi) return ef_cli_usage(cmd, "%s must be in [%g, %g], got %g", opt, lo, hi, v);
    *out = v;
    return 0;
}

int ef_cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (*s == '-') return ef_cli_usage(cmd, "%s expects a non-negative integer, got '%s'", opt, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return ef_cli_usage(cmd, "%s expects a non-negative integer, got '%s'", opt, s);
    *out = (uint64_t)v;
    return 0;
}

// ---- progress ------------------------------------------------------------------------

void ef_progress_start(ef_progress *p, const char *label, double total, const char *unit) {
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->first = 0;
    p->t_start = ef_time_now();
    p->t_last_print = 0;
    p->is_tty = isatty(STDERR_FILENO);
}

static void fmt_secs(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) { snprintf(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

static void progress_print(ef_progress *p, double done, const char *extra, int final) {
    double now = ef_time_now(), el = now - p->t_start;
    double rate = el > 0 ? (done - p->first) / el : 0;
    double eta = rate > 0 ? (p->total - done) / rate : NAN;
    char e1[32], e2[32];
    fmt_secs(e1, sizeof e1, el);
    fmt_secs(e2, sizeof e2, final ? 0 : eta);
    int pct = p->total > 0 ? (int)(100.0 * done / p->total) : 0;
    fprintf(stderr, "%s%s %3d%% %.0f/%.0f  %.1f %s/s  elapsed %s  ETA %s%s%s%s",
            p->is_tty ? "\r\033[K" : "", p->label, pct, done, p->total, rate, p->unit, e1, e2,
            extra ? "  " : "", extra ? extra : "", (p->is_tty && !final) ? "" : "\n");
    fflush(stderr);
    p->t_last_print = now;
}

void ef_progress_update(ef_progress *p, double done, const char *extra) {
    double now = ef_time_now();
    double every = p->is_tty ? 0.2 : 5.0;
    if (now - p->t_last_print >= every) progress_print(p, done, extra, 0);
}

void ef_progress_finish(ef_progress *p, double done, const char *extra) {
    progress_print(p, done, extra, 1);
}

int ef_cli_run_stdout_to_stderr(ef_cmd_fn fn, int argc, char **argv) {
    fflush(stdout);
    int saved = dup(1);
    if (saved < 0 || dup2(2, 1) < 0) {
        if (saved >= 0) close(saved);
        return fn(argc, argv);
    }
    int rc = fn(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    return rc;
}
