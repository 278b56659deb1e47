/* features.json: every shared Numerai file (v4 with feature_stats, v5.2, v5.3, the v5.3
 * excerpt), bare NaN tokens (v4.3 style) outside and inside strings, feature-set selection
 * by name, union and explicit list, and the errors for unknown names and bad JSON. */
#include <string.h>
#include "eraformer/data.h"
#include "test.h"

static int count_sets(const ef_features_json *fj) { return fj->n_sets; }

static void test_v52(void) {
    ef_features_json fj;
    ef_error err = {0};
    CHECK_OK(ef_features_json_load(&fj, EF_SHARED_DIR "/numerai/v5.2_features.json", &err));
    CHECK(count_sets(&fj) == 18);
    const ef_feature_set *s = ef_features_json_find(&fj, "small");
    CHECK(s && s->n == 42);
    s = ef_features_json_find(&fj, "medium");
    CHECK(s && s->n == 780);
    s = ef_features_json_find(&fj, "all");
    CHECK(s && s->n == 2748);
    if (s) {
        int sorted = 1;
        for (int i = 1; i < s->n; i++) sorted &= strcmp(s->features[i - 1], s->features[i]) < 0;
        CHECK(sorted);
    }
    s = ef_features_json_find(&fj, "intelligence");
    CHECK(s && s->n == 35);
    s = ef_features_json_find(&fj, "rain");
    CHECK(s && s->n == 666);
    CHECK(ef_features_json_find(&fj, "quantum") == NULL);
    CHECK(fj.n_targets == 41);
    CHECK(!strcmp(fj.targets[0], "target_agnes_20") && !strcmp(fj.targets[40], "target"));
    CHECK(fj.n_stat_features == 0);
    ef_features_json_free(&fj);
}

static void test_v53(void) {
    ef_features_json fj;
    ef_error err = {0};
    CHECK_OK(ef_features_json_load(&fj, EF_SHARED_DIR "/numerai/v5.3_features.json", &err));
    CHECK(count_sets(&fj) == 19);
    const ef_feature_set *s = ef_features_json_find(&fj, "all");
    CHECK(s && s->n == 3555);
    s = ef_features_json_find(&fj, "quantum");
    CHECK(s && s->n == 807);
    s = ef_features_json_find(&fj, "v3_equivalent_features");
    CHECK(s && s->n == 1000);
    CHECK(fj.n_targets == 41 && !strcmp(fj.targets[40], "target"));

    /* selection: names, unions without duplicates, explicit features, errors */
    char **names = NULL;
    int n = 0;
    CHECK_OK(ef_features_json_select(&fj, "small", &names, &n, &err));
    CHECK(n == 42);
    ef_strlist_free(names, n);
    /* 31 of small's 42 are outside medium (numerai.md): union = 780 + 31 */
    CHECK_OK(ef_features_json_select(&fj, "medium,small", &names, &n, &err));
    CHECK(n == 811);
    ef_strlist_free(names, n);
    CHECK_OK(ef_features_json_select(&fj, "intelligence,intelligence", &names, &n, &err));
    CHECK(n == 35);
    ef_strlist_free(names, n);
    const ef_feature_set *sm = ef_features_json_find(&fj, "small");
    char spec[1024];
    snprintf(spec, sizeof spec, "%s,%s,%s", sm->features[3], sm->features[0], sm->features[3]);
    CHECK_OK(ef_features_json_select(&fj, spec, &names, &n, &err));
    CHECK(n == 2 && !strcmp(names[0], sm->features[3]) && !strcmp(names[1], sm->features[0]));
    ef_strlist_free(names, n);
    CHECK(ef_features_json_select(&fj, "small,feature_not_a_real_one", &names, &n, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "feature_not_a_real_one") != NULL && names == NULL && n == 0);
    CHECK(ef_features_json_select(&fj, "tiny", &names, &n, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "'tiny'") != NULL && strstr(err.msg, "medium") != NULL);
    CHECK(ef_features_json_select(&fj, "small,,medium", &names, &n, &err) == EF_ERR_INVALID);
    ef_features_json_free(&fj);
}

static void test_v4(void) {
    ef_features_json fj;
    ef_error err = {0};
    CHECK_OK(ef_features_json_load(&fj, EF_SHARED_DIR "/numerai/v4_features_with_feature_stats.json", &err));
    /* 5 sets + the derived "all" from the feature_stats keys */
    CHECK(count_sets(&fj) == 6);
    CHECK(ef_features_json_find(&fj, "small") && ef_features_json_find(&fj, "small")->n == 38);
    CHECK(ef_features_json_find(&fj, "medium")->n == 472);
    CHECK(ef_features_json_find(&fj, "fncv3_features")->n == 420);
    const ef_feature_set *all = ef_features_json_find(&fj, "all");
    CHECK(all && all->n == 1191);
    CHECK(fj.n_targets == 0);
    CHECK(fj.n_stat_features == 1191 && fj.n_stat_keys == 6);
    CHECK(!strcmp(fj.stat_features[0], "feature_honoured_observational_balaamite"));
    CHECK(!strcmp(fj.stat_keys[0], "legacy_uniqueness"));
    CHECK_NEAR(fj.stats[0], 0.1778140232616494, 1e-15, 0);
    CHECK_NEAR(fj.stats[5], 3.6503496503496504, 1e-15, 0);
    ef_features_json_free(&fj);
}

static void test_excerpt(void) {
    ef_features_json fj;
    ef_error err = {0};
    CHECK_OK(ef_features_json_load(&fj, EF_SHARED_DIR "/numerai/v5.3_features_small_excerpt.json", &err));
    CHECK(ef_features_json_find(&fj, "small") && ef_features_json_find(&fj, "small")->n == 42);
    CHECK(ef_features_json_find(&fj, "all") && ef_features_json_find(&fj, "all")->n == 42);
    CHECK(fj.n_targets == 41);
    ef_features_json_free(&fj);
}

static void test_nan(void) {
    /* v4.3: bare NaN in feature_stats; a "NaN" inside a string (and an escaped quote
     * before it) must survive */
    const char *txt =
        "{\"feature_stats\": {\"feature_a\": {\"legacy_uniqueness\": NaN, \"x\": -Infinity, \"y\": 1.5},"
        " \"feature_b\": {\"legacy_uniqueness\": 0.25, \"x\": Infinity}},"
        " \"feature_sets\": {\"small\": [\"feature_a\"], \"NaN\": [\"feature_b\"]},"
        " \"note\": \"say \\\"NaN\\\" NaN\", \"NaNa\": [NaN,NaN]}";
    size_t n = 0;
    int rep = 0;
    char *clean = ef_json_nonfinite_to_null(txt, strlen(txt), &n, &rep);
    CHECK(clean && rep == 5);
    CHECK(clean && strstr(clean, "\"say \\\"NaN\\\" NaN\"") != NULL);
    CHECK(clean && strstr(clean, "[null,null]") != NULL && strstr(clean, "\"NaNa\"") != NULL);
    ef_free(clean);
    ef_features_json fj;
    ef_error err = {0};
    CHECK_OK(ef_features_json_parse(&fj, txt, strlen(txt), "v43.json", &err));
    CHECK(fj.n_stat_features == 2 && fj.n_stat_keys == 3);
    CHECK(isnan(fj.stats[0]) && isnan(fj.stats[1]) && fj.stats[2] == 1.5);
    CHECK(fj.stats[3] == 0.25 && isnan(fj.stats[4]) && isnan(fj.stats[5]));
    CHECK(ef_features_json_find(&fj, "NaN") && ef_features_json_find(&fj, "NaN")->n == 1);
    CHECK(ef_features_json_find(&fj, "all")->n == 2);
    ef_features_json_free(&fj);
    /* a token that merely starts with NaN is not replaced, and stays invalid JSON */
    const char *bad = "{\"feature_sets\": {\"small\": [NaNx]}}";
    CHECK(ef_features_json_parse(&fj, bad, strlen(bad), "bad.json", &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "bad.json") != NULL && strstr(err.msg, "byte") != NULL);
    const char *noset = "{\"targets\": [\"target\"]}";
    CHECK(ef_features_json_parse(&fj, noset, strlen(noset), "x.json", &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "feature_sets") != NULL);
    const char *notstr = "{\"feature_sets\": {\"small\": [\"a\", 3]}}";
    CHECK(ef_features_json_parse(&fj, notstr, strlen(notstr), "x.json", &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "small[1]") != NULL);
    CHECK(ef_features_json_load(&fj, "/nonexistent/features.json", &err) == EF_ERR_IO);
}

static void test_alloc_failures(void) {
    const char *txt = "{\"feature_stats\": {\"feature_a\": {\"u\": NaN}}, \"feature_sets\": "
                      "{\"small\": [\"feature_a\", \"feature_b\"]}, \"targets\": [\"target\"]}";
    int failures = 0;
    for (long k = 1; k < 40; k++) {
        ef_features_json fj;
        ef_alloc_fail_after(k);
        ef_status st = ef_features_json_parse(&fj, txt, strlen(txt), "x", NULL);
        ef_alloc_fail_after(0);
        if (st) {
            failures++;
            CHECK(st == EF_ERR_NOMEM);
        } else {
            ef_features_json_free(&fj);
        }
    }
    CHECK(failures > 3);
}

int main(void) {
    test_v52();
    test_v53();
    test_v4();
    test_excerpt();
    test_nan();
    test_alloc_failures();
    TEST_MAIN_END;
}
