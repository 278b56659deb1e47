/* A small CSV reader for the scoring commands: the whole file in memory, a header line, one
 * record per line (CRLF accepted, "quoted" fields may hold commas and doubled quotes, but not
 * newlines), and extraction of selected columns as strings, doubles or floats in one pass.
 * Errors name the file, the 1-based line and the column. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/report.h"

// ---- tokenizer --------------------------------------------------------------------------------

typedef struct field {
    const char *p;
    size_t len;
    int quoted;
} field;

/* Reads the field at *pos on the line ending at end; advances *pos past the comma.
 * Returns 1 if a field was read, 0 at the end of the line. */
static int next_field(const char **pos, const char *end, int *more, field *f) {
    const char *s = *pos;
    if (!*more) return 0;
    f->quoted = 0;
    if (s < end && *s == '"') {
        const char *q = s + 1;
        while (q < end) {
            if (*q == '"') {
                if (q + 1 < end && q[1] == '"') { q += 2; continue; }
                break;
            }
            q++;
        }
        f->p = s + 1;
        f->len = (size_t)(q - (s + 1));
        f->quoted = 1;
        s = q < end ? q + 1 : q;
        while (s < end && *s != ',') s++;   /* junk after the closing quote is dropped */
    } else {
        const char *c = memchr(s, ',', (size_t)(end - s));
        if (!c) c = end;
        f->p = s;
        f->len = (size_t)(c - s);
        s = c;
    }
    if (s < end && *s == ',') {
        *pos = s + 1;
        *more = 1;
    } else {
        *pos = end;
        *more = 0;
    }
    return 1;
}

static const char *line_end(const char *s, const char *bufend) {
    const char *e = memchr(s, '\n', (size_t)(bufend - s));
    if (!e) e = bufend;
    if (e > s && e[-1] == '\r') e--;
    return e;
}

static size_t unescape(char *dst, const field *f) {
    size_t k = 0;
    for (size_t i = 0; i < f->len; i++) {
        dst[k++] = f->p[i];
        if (f->quoted && f->p[i] == '"' && i + 1 < f->len && f->p[i + 1] == '"') i++;
    }
    dst[k] = 0;
    return k;
}

// ---- open / close -----------------------------------------------------------------------------

void ef_report_csv_close(ef_report_csv *c) {
    if (c->header)
        for (size_t i = 0; i < c->ncols; i++) ef_free(c->header[i]);
    ef_free(c->header);
    ef_free(c->buf);
    ef_free(c->path);
    ef_free(c->line_off);
    ef_free(c->line_no);
    memset(c, 0, sizeof *c);
}

ef_status ef_report_csv_open(ef_report_csv *c, const char *path, ef_error *err) {
    memset(c, 0, sizeof *c);
    EF_TRY(ef_file_read_all(path, &c->buf, &c->size, err));
    c->path = ef_strdup(path);
    if (!c->path) goto nomem;
    const char *b = c->buf, *bend = c->buf + c->size;
    if (c->size >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB &&
        (unsigned char)b[2] == 0xBF)
        b += 3;   /* UTF-8 byte order mark */
    if (b == bend || *b == '\n' || *b == '\r') {
        ef_report_csv_close(c);
        return EF_ERR(err, EF_ERR_FORMAT, "%s: line 1: empty header (expected column names)", path);
    }
    const char *he = line_end(b, bend);
    /* header fields */
    size_t n = 1;
    for (const char *s = b; s < he; s++) n += *s == ',';
    c->header = ef_calloc(n, sizeof(char *));
    if (!c->header) goto nomem;
    const char *pos = b;
    int more = 1;
    field f;
    while (next_field(&pos, he, &more, &f)) {
        char *name = ef_malloc(f.len + 1);
        if (!name) goto nomem;
        unescape(name, &f);
        c->header[c->ncols++] = name;
    }
    /* data lines */
    size_t cap = 1024;
    c->line_off = ef_malloc(cap * sizeof(size_t));
    c->line_no = ef_malloc(cap * sizeof(size_t));
    if (!c->line_off || !c->line_no) goto nomem;
    const char *s = he < bend ? memchr(he, '\n', (size_t)(bend - he)) : NULL;
    size_t lineno = 1;
    while (s && s < bend) {
        s++;   /* past '\n' */
        lineno++;
        if (s >= bend) break;
        const char *e = line_end(s, bend);
        if (e > s) {
            if (c->nrows == cap) {
                cap *= 2;
                size_t *a = ef_realloc(c->line_off, cap * sizeof(size_t));
                if (!a) goto nomem;
                c->line_off = a;
                size_t *l = ef_realloc(c->line_no, cap * sizeof(size_t));
                if (!l) goto nomem;
                c->line_no = l;
            }
            c->line_off[c->nrows] = (size_t)(s - c->buf);
            c->line_no[c->nrows] = lineno;
            c->nrows++;
        }
        s = memchr(s, '\n', (size_t)(bend - s));
    }
    return EF_OK;
nomem:
    ef_report_csv_close(c);
    return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory reading the CSV", path);
}

int ef_report_csv_find(const ef_report_csv *c, const char *name) {
    for (size_t i = 0; i < c->ncols; i++)
        if (!strcmp(c->header[i], name)) return (int)i;
    return -1;
}

// ---- extraction -------------------------------------------------------------------------------

static int parse_number(const field *f, double *out) {
    char tmp[128];
    if (f->len == 0) { *out = NAN; return 1; }
    if (f->len >= sizeof tmp) return 0;
    memcpy(tmp, f->p, f->len);
    tmp[f->len] = 0;
    if (!strcmp(tmp, "nan") || !strcmp(tmp, "NaN") || !strcmp(tmp, "NA") ||
        !strcmp(tmp, "null") || !strcmp(tmp, "NAN")) {
        *out = NAN;
        return 1;
    }
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end == tmp) return 0;
    while (*end == ' ') end++;
    if (*end) return 0;
    *out = v;
    return 1;
}

ef_status ef_report_csv_extract(const ef_report_csv *c, ef_report_csv_sink *sinks, size_t nsinks,
                                char **arena, ef_error *err) {
    *arena = NULL;
    int *which = ef_malloc((c->ncols ? c->ncols : 1) * sizeof(int));
    if (!which) return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", c->path);
    for (size_t j = 0; j < c->ncols; j++) which[j] = -1;
    int any_str = 0;
    for (size_t k = 0; k < nsinks; k++) {
        EF_ASSERT(sinks[k].col >= 0 && (size_t)sinks[k].col < c->ncols);
        which[sinks[k].col] = (int)k;
        any_str |= sinks[k].kind == EF_REPORT_STR;
    }
    char *ar = NULL, *ap = NULL;
    if (any_str) {
        ar = ef_malloc(c->size + c->nrows + 1);
        if (!ar) {
            ef_free(which);
            return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", c->path);
        }
        ap = ar;
    }
    const char *bend = c->buf + c->size;
    ef_status st = EF_OK;
    for (size_t r = 0; r < c->nrows && st == EF_OK; r++) {
        const char *s = c->buf + c->line_off[r], *e = line_end(s, bend), *pos = s;
        int more = 1;
        size_t j = 0;
        field f;
        while (next_field(&pos, e, &more, &f)) {
            if (j < c->ncols && which[j] >= 0) {
                ef_report_csv_sink *k = &sinks[which[j]];
                if (k->kind == EF_REPORT_STR) {
                    k->strs[r] = ap;
                    ap += unescape(ap, &f) + 1;
                } else {
                    double v;
                    if (!parse_number(&f, &v)) {
                        st = EF_ERR(err, EF_ERR_FORMAT,
                                    "%s: line %zu, column %zu ('%s'): expected a number, got '%.*s'",
                                    c->path, c->line_no[r], j + 1, c->header[j],
                                    (int)EF_MIN(f.len, 40), f.p);
                        break;
                    }
                    if (k->kind == EF_REPORT_NUM) k->num[r] = v;
                    else k->f32[r * k->ld] = (float)v;   /* f32 points at this column */
                }
            }
            j++;
        }
        if (st == EF_OK && j != c->ncols)
            st = EF_ERR(err, EF_ERR_FORMAT, "%s: line %zu: expected %zu fields (as the header), got %zu",
                        c->path, c->line_no[r], c->ncols, j);
    }
    ef_free(which);
    if (st != EF_OK) {
        ef_free(ar);
        return st;
    }
    *arena = ar;
    return EF_OK;
}
