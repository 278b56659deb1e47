/* libFuzzer target: the input is a dataset CSV (header id,era,data_type,features...,targets...).
 * Loads it through ef_dataset_load_csv with the default columns, then once more with named
 * columns and an era range (the other paths of the loader), and walks the result. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "data/data_internal.h"
#include "eraformer/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const ef_dataset *ds) {
    size_t total = 0;
    for (int64_t r = 0; r < ds->n_rows; r++) total += strlen(ef_dataset_id(ds, r));
    for (int e = 0; e < ds->n_eras; e++) total += (size_t)ds->eras[e].count;
    (void)total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    if (fuzz_file_write(path, sizeof path, "data", ".csv", data, size) != 0) return 0;
    const char *paths[2] = {path, path};
    ef_dataset ds;
    ef_error err;
    if (ef_dataset_load_csv(&ds, paths, 1, NULL, &err) == EF_OK) {
        walk(&ds);
        ef_dataset_free(&ds);
    }
    /* named columns (the second one absent from most inputs), targets required, an era
     * range, the file twice (the second may lack the target columns) */
    const char *feat[2] = {"feature_a", "feature_b"}, *targ[1] = {"target"};
    ef_load_options opt;
    memset(&opt, 0, sizeof opt);
    opt.features = feat;
    opt.n_features = 2;
    opt.targets = targ;
    opt.n_targets = 1;
    opt.era_min = 2;
    opt.era_max = 50;
    opt.require_target = "target";
    if (ef_dataset_load_csv(&ds, paths, 2, &opt, &err) == EF_OK) {
        walk(&ds);
        ef_dataset_free(&ds);
    }
    unlink(path);
    return 0;
}
