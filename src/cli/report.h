/* CLI internals of the scoring commands (evaluate, validate-submission): a small CSV reader,
 * a column loader over CSV or parquet files, an id -> row map, and the HTML/SVG report.
 * These print nothing; they return ef_status + ef_error like library code. */
#ifndef EF_CLI_REPORT_H
#define EF_CLI_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "eraformer/base.h"
#include "eraformer/metrics.h"

// ---- CSV (report_csv.c) --------------------------------------------------------------------
/* A whole CSV file in memory: header fields and the byte offset of every data line.
 * Fields are comma-separated; "quoted" fields may contain commas; CRLF is accepted; a final
 * empty line is ignored. Every data line must have as many fields as the header. */
typedef struct ef_report_csv {
    char *path;
    char *buf;
    size_t size;
    size_t ncols, nrows;
    char **header;         /* ncols NUL-terminated names (owned) */
    size_t *line_off;      /* nrows: offset of each data line in buf */
    size_t *line_no;       /* nrows: 1-based line numbers (for messages) */
} ef_report_csv;

ef_status ef_report_csv_open(ef_report_csv *c, const char *path, ef_error *err);
void ef_report_csv_close(ef_report_csv *c);
/* Index of the header field with this name, or -1. */
int ef_report_csv_find(const ef_report_csv *c, const char *name);

/* What to extract from each row: column index -> destination. */
typedef struct ef_report_csv_sink {
    int col;
    int kind;              /* EF_REPORT_STR (copied into *strs), _NUM (double), _F32 (float) */
    char **strs;           /* nrows entries, pointing into *arena */
    double *num;           /* nrows */
    float *f32;            /* element row*ld */
    size_t ld;
} ef_report_csv_sink;
enum { EF_REPORT_STR = 0, EF_REPORT_NUM = 1, EF_REPORT_F32 = 2 };

/* Parses every row once, filling the sinks. Numbers: empty, "nan", "NaN", "NA", "null" are NaN;
 * anything else that is not a whole number is EF_ERR_FORMAT naming file, line and column.
 * String sinks are copied into one arena (*arena, free with ef_free). */
ef_status ef_report_csv_extract(const ef_report_csv *c, ef_report_csv_sink *sinks, size_t nsinks,
                                char **arena, ef_error *err);

// ---- tables over CSV or parquet (report_table.c) ---------------------------------------------
/* The columns of one file needed for scoring. */
typedef struct ef_report_table {
    char *path;
    size_t n;
    char **ids;            /* n, into arena */
    char **eras;           /* n or NULL, into arena */
    size_t nnum;
    double **num;          /* nnum columns of n (NaN = missing) */
    size_t nfeat;
    char **feat_names;     /* nfeat (owned) */
    float *feat;           /* n x nfeat row-major */
    char *arena, *arena2;
} ef_report_table;

typedef struct ef_report_table_spec {
    const char *id_col;            /* "id" */
    const char *era_col;           /* NULL: not read */
    int era_optional;              /* 1: a missing era column is not an error */
    const char *const *num_cols;   /* numeric columns, in this order */
    size_t nnum;
    const char *const *feat_cols;  /* feature columns (float) */
    size_t nfeat;
    const char *feat_prefix;       /* non-NULL (and nfeat 0): every column starting with it */
} ef_report_table_spec;

/* Loads path (parquet unless the name ends in .csv/.csv.gz-less .CSV). Missing columns are
 * EF_ERR_INVALID naming the file and listing a few columns it has. */
ef_status ef_report_table_load(ef_report_table *t, const char *path,
                               const ef_report_table_spec *spec, ef_error *err);
void ef_report_table_free(ef_report_table *t);

/* String -> row map (open addressing). Keys are not copied. */
typedef struct ef_report_idmap {
    const char *const *keys;
    size_t *slot;
    size_t cap;
} ef_report_idmap;
ef_status ef_report_idmap_build(ef_report_idmap *m, const char *const *keys, size_t n,
                                size_t *first_dup, ef_error *err);
size_t ef_report_idmap_find(const ef_report_idmap *m, const char *key);   /* SIZE_MAX if absent */
void ef_report_idmap_free(ef_report_idmap *m);

/* Era label order: numeric labels by value ("era2" < "era10" too), then other labels by
 * strcmp (live "X" last). */
int ef_report_era_cmp(const char *a, const char *b);

// ---- report (report_html.c) ------------------------------------------------------------------
typedef struct ef_report_data {
    const char *title;
    size_t n_eras;
    const char *const *era_names;
    const ef_era_scores *scores;
    const ef_era_summary *corr, *mmc, *bmc, *fnc;   /* NULL when absent */
    double max_exposure_mean, example_corr_mean;
    size_t n_features;
    const char *const *feature_names;
    const double *feature_corr_mean;                /* n_features or NULL */
    size_t n_rows;
} ef_report_data;

/* Writes a self-contained HTML page (inline SVG plots, no scripts or external files). */
ef_status ef_report_html_write(const ef_report_data *d, const char *path, ef_error *err);

// ---- text outputs (report_out.c) -------------------------------------------------------------
/* The summary table in the order of Numerai's validation diagnostics. */
void ef_report_print_summary(FILE *f, const ef_report_data *d);
/* summary.json (cJSON; NaN is written as null) and per_era.csv (NaN as an empty field). */
ef_status ef_report_write_summary_json(const ef_report_data *d, const char *path, ef_error *err);
ef_status ef_report_write_per_era_csv(const ef_report_data *d, const char *path, ef_error *err);

#endif
