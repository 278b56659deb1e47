/* eraformer cat: prints a parquet file's rows as CSV (default) or TSV, one row group at a
 * time (memory bounded by one row group's projected columns). Nulls and NaN are empty
 * fields; floats are printed in their shortest round-trip form. CSV fields containing the
 * delimiter, a quote or a line break are quoted (RFC 4180); TSV escapes \t \n \r \\. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "eraformer/parquet.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer cat FILE [--columns a,b,...] [--format csv|tsv] [--limit N]\n\n"
               "Prints the rows of a parquet file with a header line.\n\n"
               "  --columns LIST   comma-separated column names to print, in this order (default: all)\n"
               "  --format FMT     csv (default) or tsv\n"
               "  --limit N        print at most N rows (N >= 0)\n"
               "  --help           this text\n");
}

static void put_field(FILE *o, const char *s, size_t n, int tsv) {
    if (tsv) {
        for (size_t i = 0; i < n; i++) {
            char ch = s[i];
            if (ch == '\t') fputs("\\t", o);
            else if (ch == '\n') fputs("\\n", o);
            else if (ch == '\r') fputs("\\r", o);
            else if (ch == '\\') fputs("\\\\", o);
            else fputc(ch, o);
        }
        return;
    }
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, n, o);
        return;
    }
    fputc('"', o);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', o);
        fputc(s[i], o);
    }
    fputc('"', o);
}

/* Splits a comma list into names (modifies s). */
static int split_names(char *s, char ***out) {
    int n = 1;
    for (char *q = s; *q; q++) n += *q == ',';
    char **v = ef_calloc((size_t)n, sizeof *v);
    if (!v) return -1;
    int k = 0;
    for (char *tok = s;; ) {
        char *c = strchr(tok, ',');
        if (c) *c = 0;
        v[k++] = tok;
        if (!c) break;
        tok = c + 1;
    }
    *out = v;
    return k;
}

int ef_cmd_cat(int argc, char **argv) {
    static const struct option opts[] = {
        {"columns", required_argument, 0, 'c'},
        {"format", required_argument, 0, 'f'},
        {"limit", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    char *columns = NULL;
    int tsv = 0;
    long limit = -1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:f:n:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': columns = optarg; break;
        case 'f':
            if (!strcmp(optarg, "csv")) tsv = 0;
            else if (!strcmp(optarg, "tsv")) tsv = 1;
            else return ef_cli_usage("cat", "--format must be csv or tsv, got '%s'", optarg);
            break;
        case 'n':
            if (ef_cli_parse_long("cat", "--limit", optarg, 0, 0x7fffffffffffffffL, &limit)) return EF_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EF_EXIT_OK;
        default: return ef_cli_usage("cat", "unknown option");
        }
    }
    if (optind != argc - 1) return ef_cli_usage("cat", "expected exactly one FILE");
    const char *path = argv[optind];
    ef_error err = {0};
    ef_pq_reader *r = NULL;
    if (ef_pq_reader_open(&r, path, &err)) return ef_cli_fail(&err, "is it a parquet file?");

    int ncols = ef_pq_num_columns(r);
    int *cols = NULL;
    char **names = NULL;
    char *cols_copy = NULL;
    int rc = EF_EXIT_OK;
    if (columns) {
        cols_copy = ef_strdup(columns);
        int n = cols_copy ? split_names(cols_copy, &names) : -1;
        if (n < 0) { ef_pq_reader_close(r); ef_free(cols_copy); fprintf(stderr, "eraformer: out of memory\n"); return EF_EXIT_RUNTIME; }
        cols = ef_malloc((size_t)n * sizeof *cols);
        ncols = n;
        if (!cols || ef_pq_find_columns(r, (const char *const *)names, n, cols, &err)) {
            rc = ef_cli_usage("cat", "%s", err.msg[0] ? err.msg : "out of memory");
            goto done;
        }
    } else {
        cols = ef_malloc((size_t)(ncols ? ncols : 1) * sizeof *cols);
        if (!cols) { rc = EF_EXIT_RUNTIME; goto done; }
        for (int c = 0; c < ncols; c++) cols[c] = c;
    }

    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    char sep = tsv ? '\t' : ',';
    for (int k = 0; k < ncols; k++) {
        if (k) putchar(sep);
        const char *nm = ef_pq_column(r, cols[k])->name;
        put_field(stdout, nm, strlen(nm), tsv);
    }
    putchar('\n');

    ef_pq_column_data *data = ef_calloc((size_t)(ncols ? ncols : 1), sizeof *data);
    if (!data) { rc = EF_EXIT_RUNTIME; goto done; }
    long printed = 0;
    char small[512];
    for (int g = 0; g < ef_pq_num_row_groups(r) && (limit < 0 || printed < limit); g++) {
        for (int k = 0; k < ncols; k++) {
            if (ef_pq_read_column(r, g, cols[k], &data[k], &err)) {
                for (int j = 0; j < k; j++) ef_pq_column_data_free(&data[j]);
                fflush(stdout);
                rc = ef_cli_fail(&err, "the file is corrupt or uses a feature this reader lacks");
                ef_free(data);
                goto done;
            }
        }
        int64_t nr = ef_pq_row_group_num_rows(r, g);
        for (int64_t i = 0; i < nr && (limit < 0 || printed < limit); i++, printed++) {
            for (int k = 0; k < ncols; k++) {
                if (k) putchar(sep);
                const ef_pq_column_info *ci = ef_pq_column(r, cols[k]);
                size_t n = ef_pq_value_format(&data[k], ci, i, small, sizeof small);
                if (n < sizeof small) {
                    put_field(stdout, small, n, tsv);
                } else {
                    char *big = ef_malloc(n + 1);
                    if (!big) { rc = EF_EXIT_RUNTIME; break; }
                    ef_pq_value_format(&data[k], ci, i, big, n + 1);
                    put_field(stdout, big, n, tsv);
                    ef_free(big);
                }
            }
            putchar('\n');
        }
        for (int k = 0; k < ncols; k++) ef_pq_column_data_free(&data[k]);
    }
    ef_free(data);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "eraformer: error: writing to stdout failed\n");
        rc = EF_EXIT_RUNTIME;
    }
done:
    ef_free(cols);
    ef_free(names);
    ef_free(cols_copy);
    ef_pq_reader_close(r);
    return rc;
}
