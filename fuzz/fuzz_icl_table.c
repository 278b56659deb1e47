/* libFuzzer target: the input is a table file for icl-predict (CSV, or parquet when it starts
 * with "PAR1"), written to a scratch file. Loads it with icl_table_load (src/cli/icl_table.c),
 * then walks every name, value and id and looks a few columns up. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "cli/icl_table.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const icl_table *t) {
    size_t total = 0;
    for (int j = 0; j < t->ncol; j++) total += strlen(t->names[j]) + t->numeric[j];
    for (int64_t i = 0; i < t->n * (int64_t)t->ncol; i++) total += isnan(t->v[i]) ? 1u : 0u;
    if (t->id)
        for (int64_t i = 0; i < t->n; i++) total += strlen(t->id[i]);
    total += (size_t)(icl_table_find(t, "y") + icl_table_find(t, "id") + icl_table_find(t, ""));
    (void)total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    if (fuzz_file_write(path, sizeof path, "table", ".csv", data, size) != 0) return 0;
    icl_table t;
    ef_error err;
    memset(&t, 0, sizeof t);
    if (icl_table_load(&t, path, &err) == EF_OK) {
        walk(&t);
        icl_table_free(&t);
    }
    unlink(path);
    return 0;
}
