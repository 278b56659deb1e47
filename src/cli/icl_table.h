/* A numeric table as raw floats, for icl-predict: CSV (header line, comma-separated) or
 * parquet (by the file's "PAR1" magic). Values are kept as written, unscaled and unrounded
 * (the Numerai loader's 0..4 levels are not wanted here). Missing (empty, NA, NaN, null,
 * None, N/A, or a parquet null) is NaN. A column is numeric when every present value parses
 * as a number (CSV) or its physical type is numeric (parquet); other columns are kept only as
 * text when they are the id column. */
#ifndef EF_CLI_ICL_TABLE_H
#define EF_CLI_ICL_TABLE_H

#include <stdint.h>
#include "eraformer/base.h"

typedef struct icl_table {
    int64_t n;          /* rows */
    int ncol;           /* columns of the file */
    char **names;       /* (ncol) */
    uint8_t *numeric;   /* (ncol) */
    float *v;           /* (n, ncol) row-major; NaN for missing and in non-numeric columns */
    int id_col;         /* the id/index column ("id", "index", "__index_level_0__", "" or
                         * "Unnamed: 0"; the first that exists), -1 if none */
    char **id;          /* (n) its values as text, NULL without one */
} icl_table;

ef_status icl_table_load(icl_table *t, const char *path, ef_error *err);
void icl_table_free(icl_table *t);
/* The index of the column named name, or -1. */
int icl_table_find(const icl_table *t, const char *name);

#endif
