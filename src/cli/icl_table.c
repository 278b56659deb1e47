/* Raw float tables for icl-predict (icl_table.h): a small CSV reader (no quoting inside
 * fields beyond a pair of surrounding double quotes; the whole file is read into memory) and
 * the parquet reader's numeric columns converted to float. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/icl_table.h"
#include "eraformer/parquet.h"

static const char *const ID_NAMES[] = {"id", "index", "__index_level_0__", "", "Unnamed: 0"};

void icl_table_free(icl_table *t) {
    for (int j = 0; t->names && j < t->ncol; j++) ef_free(t->names[j]);
    for (int64_t i = 0; t->id && i < t->n; i++) ef_free(t->id[i]);
    ef_free(t->names);
    ef_free(t->numeric);
    ef_free(t->v);
    ef_free(t->id);
    memset(t, 0, sizeof *t);
}

int icl_table_find(const icl_table *t, const char *name) {
    for (int j = 0; j < t->ncol; j++)
        if (!strcmp(t->names[j], name)) return j;
    return -1;
}

static void find_id(icl_table *t) {
    t->id_col = -1;
    for (size_t k = 0; k < sizeof ID_NAMES / sizeof ID_NAMES[0] && t->id_col < 0; k++)
        t->id_col = icl_table_find(t, ID_NAMES[k]);
}

static ef_status alloc_table(icl_table *t, int64_t n, int ncol, ef_error *err) {
    size_t cells;
    EF_CHECK(ef_mul_ok((size_t)n, (size_t)(ncol ? ncol : 1), &cells) && ef_mul_ok(cells, sizeof(float), &cells), err,
             EF_ERR_INVALID, "table of %lld rows x %d columns too large", (long long)n, ncol);
    t->n = n;
    t->ncol = ncol;
    t->names = ef_calloc((size_t)ncol + 1, sizeof *t->names);
    t->numeric = ef_calloc((size_t)ncol + 1, 1);
    t->v = ef_malloc(cells ? cells : 1);
    if (!t->names || !t->numeric || !t->v) return EF_ERR(err, EF_ERR_NOMEM, "out of memory for a table of %lld rows", (long long)n);
    return EF_OK;
}

// ---- CSV ------------------------------------------------------------------------------

/* the next field of line p (NUL-terminated in place, surrounding spaces and quotes removed);
 * *p moves past the comma, or to NULL after the last field */
static char *next_field(char **p) {
    char *s = *p, *c = strchr(s, ',');
    if (c) {
        *c = 0;
        *p = c + 1;
    } else {
        *p = NULL;
    }
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1])) s[--len] = 0;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s[len - 1] = 0;
        s++;
    }
    return s;
}

static int is_missing(const char *s) {
    static const char *const na[] = {"", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None", "?"};
    for (size_t k = 0; k < sizeof na / sizeof na[0]; k++)
        if (!strcmp(s, na[k])) return 1;
    return 0;
}

/* a number, NaN when missing; *ok = 0 when s is neither */
static float parse_value(const char *s, int *ok) {
    *ok = 1;
    if (is_missing(s)) return NAN;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) {
        *ok = 0;
        return NAN;
    }
    return (float)v;
}

/* splits text into lines in place (CR LF or LF; empty lines dropped); returns the count */
static int64_t split_lines(char *text, size_t size, char ***out, ef_error *err) {
    int64_t cap = 1024, n = 0;
    char **lines = ef_malloc((size_t)cap * sizeof *lines);
    if (!lines) return -EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (char *p = text, *end = text + size; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        *e = 0;
        if (e > p && e[-1] == '\r') e[-1] = 0;
        if (*p) {
            if (n == cap) {
                char **g = ef_realloc(lines, (size_t)(cap *= 2) * sizeof *lines);
                if (!g) {
                    ef_free(lines);
                    return -EF_ERR(err, EF_ERR_NOMEM, "out of memory");
                }
                lines = g;
            }
            lines[n++] = p;
        }
        p = e + 1;
    }
    *out = lines;
    return n;
}

static ef_status csv_rows(icl_table *t, char **lines, const char *path, ef_error *err) {
    for (int j = 0; j < t->ncol; j++) t->numeric[j] = 1;
    for (int64_t i = 0; i < t->n; i++) {
        char *p = lines[i + 1];
        for (int j = 0; j < t->ncol; j++) {
            EF_CHECK(p, err, EF_ERR_FORMAT, "%s: line %lld has %d fields, the header %d", path, (long long)i + 2, j,
                     t->ncol);
            char *s = next_field(&p);
            int ok;
            t->v[(size_t)i * t->ncol + j] = parse_value(s, &ok);
            if (!ok) t->numeric[j] = 0;
            if (j == t->id_col && !(t->id[i] = ef_strdup(s))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
        EF_CHECK(!p, err, EF_ERR_FORMAT, "%s: line %lld has more fields than the header's %d", path, (long long)i + 2,
                 t->ncol);
    }
    return EF_OK;
}

static ef_status csv_parse(icl_table *t, char **lines, int64_t nl, const char *path, ef_error *err) {
    EF_CHECK(nl >= 1, err, EF_ERR_FORMAT, "%s: empty file (a header line is needed)", path);
    int ncol = 1;
    for (const char *q = lines[0]; *q; q++) ncol += *q == ',';
    EF_TRY(alloc_table(t, nl - 1, ncol, err));
    char *p = lines[0];
    for (int j = 0; j < ncol; j++)
        if (!(t->names[j] = ef_strdup(next_field(&p)))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    find_id(t);
    if (t->id_col >= 0 && !(t->id = ef_calloc((size_t)t->n + 1, sizeof *t->id)))
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    return csv_rows(t, lines, path, err);
}

static ef_status csv_load(icl_table *t, const char *path, ef_error *err) {
    char *text = NULL, **lines = NULL;
    size_t size;
    EF_TRY(ef_file_read_all(path, &text, &size, err));
    int64_t nl = split_lines(text, size, &lines, err);
    ef_status st = nl < 0 ? (ef_status)-nl : csv_parse(t, lines, nl, path, err);
    ef_free(lines);
    ef_free(text);
    return st;
}

// ---- parquet ---------------------------------------------------------------------------

static int pq_numeric(const ef_pq_column_info *ci) {
    return ci->type == EF_PQ_BOOLEAN || ci->type == EF_PQ_INT32 || ci->type == EF_PQ_INT64 || ci->type == EF_PQ_FLOAT ||
           ci->type == EF_PQ_DOUBLE;
}

static ef_status pq_id_text(icl_table *t, const ef_pq_reader *r, ef_error *err) {
    ef_pq_column_data cd;
    memset(&cd, 0, sizeof cd);
    EF_TRY(ef_pq_read_column_all(r, t->id_col, &cd, err));
    const ef_pq_column_info *ci = ef_pq_column(r, t->id_col);
    ef_status st = EF_OK;
    t->id = ef_calloc((size_t)t->n + 1, sizeof *t->id);
    char buf[256];
    for (int64_t i = 0; t->id && st == EF_OK && i < t->n; i++) {
        ef_pq_value_format(&cd, ci, i, buf, sizeof buf);
        if (!(t->id[i] = ef_strdup(buf))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    if (!t->id) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    ef_pq_column_data_free(&cd);
    return st;
}

static ef_status pq_fill(icl_table *t, const ef_pq_reader *r, ef_error *err) {
    int nnum = 0, *cols = ef_malloc((size_t)t->ncol * sizeof *cols);
    if (!cols) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int j = 0; j < t->ncol; j++) {
        const ef_pq_column_info *ci = ef_pq_column(r, j);
        t->numeric[j] = (uint8_t)pq_numeric(ci);
        if (t->numeric[j]) cols[nnum++] = j;
        for (int64_t i = 0; !t->numeric[j] && i < t->n; i++) t->v[(size_t)i * t->ncol + j] = NAN;
    }
    /* numeric columns straight into their slots of the row-major table: one column at a time */
    ef_status st = EF_OK;
    for (int k = 0; k < nnum && st == EF_OK; k++)
        st = ef_pq_read_matrix_f32(r, &cols[k], 1, t->v + cols[k], (size_t)t->ncol, err);
    ef_free(cols);
    return st;
}

static ef_status pq_load(icl_table *t, const char *path, ef_error *err) {
    ef_pq_reader *r;
    EF_TRY(ef_pq_reader_open(&r, path, err));
    ef_status st = alloc_table(t, ef_pq_num_rows(r), ef_pq_num_columns(r), err);
    for (int j = 0; st == EF_OK && j < t->ncol; j++)
        if (!(t->names[j] = ef_strdup(ef_pq_column(r, j)->name))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    if (st == EF_OK) {
        find_id(t);
        st = pq_fill(t, r, err);
    }
    if (st == EF_OK && t->id_col >= 0) st = pq_id_text(t, r, err);
    ef_pq_reader_close(r);
    return st;
}

static int has_parquet_magic(const char *path) {
    FILE *f = fopen(path, "rb");
    char m[4] = {0};
    int yes = f && fread(m, 1, 4, f) == 4 && !memcmp(m, "PAR1", 4);
    if (f) fclose(f);
    return yes;
}

ef_status icl_table_load(icl_table *t, const char *path, ef_error *err) {
    memset(t, 0, sizeof *t);
    t->id_col = -1;
    ef_status st = has_parquet_magic(path) ? pq_load(t, path, err) : csv_load(t, path, err);
    if (st != EF_OK) icl_table_free(t);
    return st;
}
