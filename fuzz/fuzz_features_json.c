/* libFuzzer target: the input is a features.json. Parses it from memory; when it parses,
 * resolves a few selections (set names, feature names, a list, an unknown item) and reads
 * every set and statistic, so that the parsed structure is walked in full. */
#include <stdint.h>
#include <string.h>
#include "eraformer/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void select_one(const ef_features_json *fj, const char *spec) {
    char **names = NULL;
    int n = 0;
    ef_error err;
    if (ef_features_json_select(fj, spec, &names, &n, &err) == EF_OK) ef_strlist_free(names, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ef_features_json fj;
    ef_error err;
    if (ef_features_json_parse(&fj, (const char *)data, size, "fuzz.json", &err) != EF_OK) return 0;
    size_t total = 0;
    for (int s = 0; s < fj.n_sets; s++) {
        for (int i = 0; i < fj.sets[s].n; i++) total += strlen(fj.sets[s].features[i]);
        (void)ef_features_json_find(&fj, fj.sets[s].name);
    }
    for (int t = 0; t < fj.n_targets; t++) total += strlen(fj.targets[t]);
    double sum = 0;
    for (long i = 0; i < (long)fj.n_stat_features * fj.n_stat_keys; i++) sum += fj.stats[i];
    for (int k = 0; k < fj.n_stat_keys; k++) total += strlen(fj.stat_keys[k]);
    for (int f = 0; f < fj.n_stat_features; f++) total += strlen(fj.stat_features[f]);
    (void)sum;
    (void)total;
    select_one(&fj, "all");
    select_one(&fj, "small,medium,intelligence");
    select_one(&fj, "feature_a,feature_b,all");
    select_one(&fj, "no_such_set");
    select_one(&fj, ",,");
    if (fj.n_sets > 0) select_one(&fj, fj.sets[fj.n_sets - 1].name);
    ef_features_json_free(&fj);
    return 0;
}
