/* Dataset loading and filters: era range, every-Nth era, data_type, non-NaN target (at load
 * time and in place, which must agree), column projection in any order, era-sharded
 * iteration (one era per row group, and eras spanning/sharing row groups), rows sorted by
 * era number with live "X" last, legacy float features, and error messages. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eraformer/data.h"
#include "base/ef_internal.h"
#include "test.h"

enum { ET = 12, EV = 10 };

static char DIR_[512];

static void pth(char *buf, const char *file) { snprintf(buf, 1024, "%s/%s", DIR_, file); }

static int rows_equal(const ef_dataset *a, int64_t ra, const ef_dataset *b, int64_t rb) {
    if (memcmp(a->X + (size_t)ra * (size_t)a->n_features, b->X + (size_t)rb * (size_t)b->n_features,
               (size_t)a->n_features))
        return 0;
    for (int t = 0; t < a->n_targets; t++) {
        float x = a->y[(size_t)ra * (size_t)a->n_targets + (size_t)t];
        float y = b->y[(size_t)rb * (size_t)b->n_targets + (size_t)t];
        if (!((isnan(x) && isnan(y)) || x == y)) return 0;
    }
    return !strcmp(ef_dataset_id(a, ra), ef_dataset_id(b, rb)) && a->row_type[ra] == b->row_type[rb] &&
           !strcmp(a->eras[a->row_era[ra]].name, b->eras[b->row_era[rb]].name);
}

/* Every row of sub appears, in order, in full (a filtered subsequence). */
static int is_subsequence(const ef_dataset *sub, const ef_dataset *full) {
    int64_t j = 0;
    for (int64_t i = 0; i < sub->n_rows; i++) {
        while (j < full->n_rows && strcmp(ef_dataset_id(full, j), ef_dataset_id(sub, i))) j++;
        if (j == full->n_rows || !rows_equal(sub, i, full, j)) return 0;
        j++;
    }
    return 1;
}

static int same_dataset(const ef_dataset *a, const ef_dataset *b) {
    if (a->n_rows != b->n_rows || a->n_eras != b->n_eras) return 0;
    for (int64_t r = 0; r < a->n_rows; r++)
        if (!rows_equal(a, r, b, r)) return 0;
    for (int e = 0; e < a->n_eras; e++)
        if (strcmp(a->eras[e].name, b->eras[e].name) || a->eras[e].count != b->eras[e].count) return 0;
    return !memcmp(a->missing, b->missing, (size_t)a->n_eras * (size_t)a->n_features);
}

static void test_filters(const ef_dataset *full, const char *const *paths) {
    ef_error err = {0};
    ef_dataset d;
    /* era range */
    ef_load_options o = {0};
    o.era_min = 3;
    o.era_max = 6;
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    CHECK(d.n_eras == 4 && !strcmp(d.eras[0].name, "0003") && !strcmp(d.eras[3].name, "0006"));
    CHECK(d.n_rows == full->eras[2].count + full->eras[3].count + full->eras[4].count + full->eras[5].count);
    CHECK(is_subsequence(&d, full));
    ef_dataset_free(&d);
    /* every 4th era (0001, 0005, ...) and with an offset (0002, 0006, ...); live kept */
    o = (ef_load_options){0};
    o.era_every = 4;
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    CHECK(d.n_eras == 6 + 1);
    CHECK(!strcmp(d.eras[0].name, "0001") && !strcmp(d.eras[1].name, "0005") && !strcmp(d.eras[5].name, "0021"));
    CHECK(!strcmp(d.eras[6].name, "X"));
    CHECK(is_subsequence(&d, full));
    ef_dataset_free(&d);
    o.era_offset = 1;
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    CHECK(!strcmp(d.eras[0].name, "0002") && !strcmp(d.eras[1].name, "0006"));
    ef_dataset_free(&d);
    /* the newest 3 numeric eras only (live dropped), as the last 3 numeric eras of the full data */
    o = (ef_load_options){0};
    o.era_newest = 3;
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    {
        int nn = 0, last = -1;
        for (int e = 0; e < full->n_eras; e++)
            if (full->eras[e].num < EF_ERA_LIVE_NUM) nn++, last = e;
        CHECK(d.n_eras == 3 && last >= 2);
        if (d.n_eras == 3 && last >= 2) {
            CHECK(!strcmp(d.eras[0].name, full->eras[last - 2].name) && !strcmp(d.eras[2].name, full->eras[last].name));
            CHECK(d.n_rows == full->eras[last - 2].count + full->eras[last - 1].count + full->eras[last].count);
        }
        CHECK(is_subsequence(&d, full));
        ef_dataset_free(&d);
        o.era_newest = 1000;   /* more than there are: every numeric era */
        CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
        CHECK(d.n_eras == nn);
        ef_dataset_free(&d);
    }
    /* era shards (MPI ranks): 3 shards partition the rows, each shard holds whole eras with
     * num % 3 == shard, live only in shard 0, and each is a subsequence of the full data */
    {
        int64_t rows = 0;
        int eras = 0, ok = 1;
        for (int sh = 0; sh < 3; sh++) {
            o = (ef_load_options){0};
            o.era_shards = 3;
            o.era_shard = sh;
            CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
            rows += d.n_rows;
            eras += d.n_eras;
            for (int e = 0; e < d.n_eras; e++) {
                int live = d.eras[e].num >= EF_ERA_LIVE_NUM;
                ok &= live ? sh == 0 : d.eras[e].num % 3 == sh;
                int fe = ef_dataset_find_era(full, d.eras[e].name);
                ok &= fe >= 0 && full->eras[fe].count == d.eras[e].count;
            }
            CHECK(is_subsequence(&d, full));
            ef_dataset_free(&d);
        }
        CHECK(ok);
        CHECK(rows == full->n_rows && eras == full->n_eras);
    }
    /* data_type + non-NaN target: Numerai's validation filter */
    o = (ef_load_options){0};
    o.data_types = 1u << EF_DT_VALIDATION;
    o.require_target = "target";
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    CHECK(d.n_eras == EV - 4);   /* the 4 newest eras are unresolved */
    int64_t want = 0;
    int ti = ef_dataset_find_target(full, "target");
    for (int64_t r = 0; r < full->n_rows; r++)
        want += full->row_type[r] == EF_DT_VALIDATION && !isnan(full->y[(size_t)r * (size_t)full->n_targets + (size_t)ti]);
    CHECK(d.n_rows == want && want > 0);
    int types_ok = 1;
    for (int64_t r = 0; r < d.n_rows; r++) types_ok &= d.row_type[r] == EF_DT_VALIDATION;
    CHECK(types_ok);
    CHECK(is_subsequence(&d, full));
    /* the in-place filter gives the same dataset */
    ef_dataset copy;
    CHECK_OK(ef_dataset_load(&copy, paths, 3, NULL, &err));
    CHECK_OK(ef_dataset_filter(&copy, &o, &err));
    CHECK(same_dataset(&copy, &d));
    ef_dataset_free(&copy);
    ef_dataset_free(&d);
    /* a range drops live; a target filter on a file without targets fails clearly */
    o = (ef_load_options){0};
    o.era_min = 1;
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    CHECK(d.n_eras == ET + EV && ef_dataset_find_era(&d, "X") < 0);
    ef_dataset_free(&d);
    o = (ef_load_options){0};
    o.require_target = "target_nope";
    CHECK(ef_dataset_load(&d, paths, 3, &o, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "target_nope") != NULL);
}

/* A live file without target columns loads after train with NaN targets. */
static void test_missing_targets(const ef_dataset *full, const char *const *paths) {
    ef_error err = {0};
    ef_load_options o = {0};
    o.no_targets = 1;
    ef_dataset live;
    CHECK_OK(ef_dataset_load(&live, paths + 2, 1, &o, &err));
    char p[1024];
    pth(p, "live_notargets.parquet");
    ef_dataset_writer *w = NULL;
    CHECK_OK(ef_dataset_writer_open(&w, p, live.n_features, live.feature_names, 0, NULL, EF_PQW_SNAPPY, &err));
    if (w) CHECK_OK(ef_dataset_writer_append(w, &live, 0, live.n_rows, &err));
    if (w) CHECK_OK(ef_dataset_writer_close(w, &err));
    const char *two[] = {paths[0], p};
    ef_dataset d;
    CHECK_OK(ef_dataset_load(&d, two, 2, NULL, &err));
    int le = ef_dataset_find_era(&d, "X");
    CHECK(d.n_targets == full->n_targets && le == ET && d.eras[le].count == live.n_rows);
    int ok = le >= 0;
    for (int64_t r = le >= 0 ? d.eras[le].start : 0; ok && r < d.n_rows; r++)
        for (int t = 0; t < d.n_targets; t++) ok &= isnan(d.y[(size_t)r * (size_t)d.n_targets + (size_t)t]);
    CHECK(ok);
    ef_dataset_free(&d);
    /* with the target filter, live rows are dropped rather than refused */
    o = (ef_load_options){0};
    o.require_target = "target";
    CHECK_OK(ef_dataset_load(&d, two, 2, &o, &err));
    CHECK(ef_dataset_find_era(&d, "X") < 0 && d.n_eras == ET);
    ef_dataset_free(&d);
    /* but the first file must have the columns */
    const char *rev[] = {p, paths[0]};
    CHECK(ef_dataset_load(&d, rev, 2, &o, &err) == EF_ERR_INVALID);
    ef_dataset_free(&live);
    unlink(p);
}

static void test_projection(const ef_dataset *full, const char *const *paths) {
    ef_error err = {0};
    const char *feats[] = {full->feature_names[7], full->feature_names[2], full->feature_names[30]};
    const char *targs[] = {"target_cyrusd_60", "target"};
    ef_load_options o = {0};
    o.features = feats;
    o.n_features = 3;
    o.targets = targs;
    o.n_targets = 2;
    ef_dataset d;
    CHECK_OK(ef_dataset_load(&d, paths, 3, &o, &err));
    CHECK(d.n_rows == full->n_rows && d.n_features == 3 && d.n_targets == 2);
    int ok = d.n_rows == full->n_rows;
    int tc = ef_dataset_find_target(full, "target_cyrusd_60"), tm = ef_dataset_find_target(full, "target");
    size_t F = (size_t)full->n_features, T = (size_t)full->n_targets;
    for (int64_t r = 0; ok && r < d.n_rows; r++) {
        ok &= d.X[r * 3] == full->X[(size_t)r * F + 7] && d.X[r * 3 + 1] == full->X[(size_t)r * F + 2] &&
              d.X[r * 3 + 2] == full->X[(size_t)r * F + 30];
        float a = d.y[r * 2], b = full->y[(size_t)r * T + (size_t)tc];
        ok &= (isnan(a) && isnan(b)) || a == b;
        a = d.y[r * 2 + 1];
        b = full->y[(size_t)r * T + (size_t)tm];
        ok &= (isnan(a) && isnan(b)) || a == b;
    }
    CHECK(ok);
    ef_dataset_free(&d);
    o.no_targets = 1;
    CHECK_OK(ef_dataset_load(&d, paths, 1, &o, &err));
    CHECK(d.n_targets == 0 && d.n_rows == full->eras[ET - 1].start + full->eras[ET - 1].count);
    ef_dataset_free(&d);
    const char *bad[] = {"feature_missing_one"};
    o.features = bad;
    o.n_features = 1;
    CHECK(ef_dataset_load(&d, paths, 1, &o, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "feature_missing_one") != NULL);
}

/* era reader over a file: shards are single eras and concatenate to the full load */
static void check_era_reader(const char *path, const ef_load_options *o, const ef_dataset *want) {
    ef_error err = {0};
    ef_era_reader *er = NULL;
    ef_status st = ef_era_reader_open(&er, path, o, &err);
    CHECKF(st == EF_OK, "%s", err.msg);
    if (st) return;
    ef_dataset shard;
    memset(&shard, 0, sizeof shard);
    int done = 0, e = 0, ok = 1;
    int64_t row = 0;
    while (!done && ok) {
        st = ef_era_reader_next(er, &shard, &done, &err);
        if (st) {
            CHECKF(0, "era reader: %s", err.msg);
            break;
        }
        if (done) break;
        ok &= shard.n_eras == 1 && e < want->n_eras && !strcmp(shard.eras[0].name, want->eras[e].name) &&
              shard.n_rows == want->eras[e].count;
        for (int64_t r = 0; ok && r < shard.n_rows; r++) ok &= rows_equal(&shard, r, want, row + r);
        if (ok) ok &= !memcmp(shard.missing, want->missing + (size_t)e * (size_t)want->n_features,
                              (size_t)want->n_features);
        row += shard.n_rows;
        e++;
    }
    CHECK(ok);
    CHECKF(e == want->n_eras && row == want->n_rows, "%d eras %lld rows", e, (long long)row);
    CHECK(shard.n_rows == 0);
    ef_dataset_free(&shard);
    ef_era_reader_close(er);
}

static void test_era_reader(const char *const *paths) {
    ef_error err = {0};
    ef_dataset v;
    CHECK_OK(ef_dataset_load(&v, paths + 1, 1, NULL, &err));
    check_era_reader(paths[1], NULL, &v);
    /* with filters: unresolved eras vanish */
    ef_load_options o = {0};
    o.require_target = "target";
    ef_dataset vf;
    CHECK_OK(ef_dataset_load(&vf, paths + 1, 1, &o, &err));
    check_era_reader(paths[1], &o, &vf);
    ef_dataset_free(&vf);
    /* row groups of 137 rows: eras span groups and groups hold several eras */
    char p[1024];
    pth(p, "odd_groups.parquet");
    ef_dataset_writer *w = NULL;
    CHECK_OK(ef_dataset_writer_open(&w, p, v.n_features, v.feature_names, v.n_targets, v.target_names,
                                    EF_PQW_ZSTD, &err));
    for (int64_t r0 = 0; w && r0 < v.n_rows; r0 += 137)
        CHECK_OK(ef_dataset_writer_append(w, &v, r0, EF_MIN(r0 + 137, v.n_rows), &err));
    CHECK_OK(ef_dataset_writer_close(w, &err));
    check_era_reader(p, NULL, &v);
    ef_dataset back;
    const char *pp[] = {p};
    CHECK_OK(ef_dataset_load(&back, pp, 1, NULL, &err));
    CHECK(same_dataset(&back, &v));
    ef_dataset_free(&back);
    unlink(p);
    ef_dataset_free(&v);
}

static void test_csv_sorting(void) {
    char p[1024];
    pth(p, "unsorted.csv");
    FILE *f = fopen(p, "w");
    fputs("id,era,data_type,feature_b,feature_a,target,target_x_20\n"
          "n3,0010,validation,0.75,0.25,0.5,\n"
          "n4,0010,validation,0.5,0.25,nan,1\n"
          "nl,X,live,0,1,,\n"
          "n1,0002,train,1.0,0.5,0.25,0\n"
          "n2,0002,train,0,0.5,0.75,0.5\n",
          f);
    fclose(f);
    ef_dataset d;
    ef_error err = {0};
    const char *paths[] = {p};
    CHECK_OK(ef_dataset_load(&d, paths, 1, NULL, &err));
    CHECK(d.n_rows == 5 && d.n_eras == 3 && d.n_features == 2 && d.n_targets == 2);
    CHECK(!strcmp(d.eras[0].name, "0002") && !strcmp(d.eras[1].name, "0010") && !strcmp(d.eras[2].name, "X"));
    CHECK(d.eras[0].num == 2 && d.eras[1].num == 10 && d.eras[2].num >= EF_ERA_LIVE_NUM);
    CHECK(!strcmp(ef_dataset_id(&d, 0), "n1") && !strcmp(ef_dataset_id(&d, 1), "n2") &&
          !strcmp(ef_dataset_id(&d, 2), "n3") && !strcmp(ef_dataset_id(&d, 4), "nl"));
    /* both columns hold a '.' somewhere, so both are legacy floats x4: feature_b of n1 =
     * 1.0 -> 4, and live's feature_a = "1" -> 4 as well */
    CHECK(d.X[0] == 4 && d.X[1] == 2 && d.X[2] == 0 && d.X[4] == 3 && d.X[5] == 1);
    CHECK(d.X[8] == 0 && d.X[9] == 4);
    CHECK(d.y[0] == 0.25f && d.y[1] == 0.0f && d.y[4] == 0.5f && isnan(d.y[5]) && isnan(d.y[6]) && d.y[7] == 1.0f);
    CHECK(d.row_type[0] == EF_DT_TRAIN && d.row_type[4] == EF_DT_LIVE);
    /* era 0010: feature_a is all 0.25 -> 1, not missing; era 0002 feature_a all 2 -> missing */
    CHECK(d.missing[0 * 2 + 1] == 1 && d.missing[0 * 2 + 0] == 0 && d.missing[1 * 2 + 1] == 0);
    CHECK(d.missing[2 * 2 + 0] == 0);   /* one-row eras are never flagged */
    ef_dataset_free(&d);
    /* integer columns are kept as they are */
    f = fopen(p, "w");
    fputs("id,era,feature_a,target\nn1,0001,1,0.5\nn2,0001,4,1\n", f);
    fclose(f);
    CHECK_OK(ef_dataset_load(&d, paths, 1, NULL, &err));
    CHECK(d.n_rows == 2 && d.X[0] == 1 && d.X[1] == 4 && d.y[1] == 1.0f && d.row_type[0] == EF_DT_OTHER);
    ef_dataset_free(&d);
    f = fopen(p, "w");
    fputs("id,era,feature_a\nn1,0001,1\nn2,0001\n", f);
    fclose(f);
    CHECK(ef_dataset_load(&d, paths, 1, NULL, &err) == EF_ERR_FORMAT);
    CHECK(strstr(err.msg, "unsorted.csv:3") != NULL);
    /* two labels of one era number ("0001" and "001"), interleaved and already in numeric order:
     * two eras, each one run of rows (the rows were left interleaved and the era table was
     * rebuilt with one entry per run, past its end: a heap overflow found by fuzz_dataset_csv) */
    f = fopen(p, "w");
    fputs("id,era,feature_a,target\na,0001,1,0.5\nb,001,4,1\nc,0001,2,0\nd,001,3,0\ne,0002,0,1\n", f);
    fclose(f);
    CHECK_OK(ef_dataset_load(&d, paths, 1, NULL, &err));
    CHECK(d.n_rows == 5 && d.n_eras == 3);
    if (d.n_eras == 3) {
        CHECK(!strcmp(d.eras[0].name, "0001") && d.eras[0].start == 0 && d.eras[0].count == 2);
        CHECK(!strcmp(d.eras[1].name, "001") && d.eras[1].start == 2 && d.eras[1].count == 2);
        CHECK(!strcmp(d.eras[2].name, "0002") && d.eras[2].start == 4 && d.eras[2].count == 1);
        CHECK(!strcmp(ef_dataset_id(&d, 0), "a") && !strcmp(ef_dataset_id(&d, 1), "c") &&
              !strcmp(ef_dataset_id(&d, 2), "b") && !strcmp(ef_dataset_id(&d, 3), "d"));
        for (int64_t r = 0; r < d.n_rows; r++) CHECK(r >= d.eras[d.row_era[r]].start && r < d.eras[d.row_era[r]].start + d.eras[d.row_era[r]].count);
    }
    ef_dataset_free(&d);
    unlink(p);
}

/* The shared fixtures (real third-party writers): parquet and its ground-truth CSV load to
 * the same dataset, FLOAT (legacy) features included. */
static void test_fixtures(void) {
    static const char *names[] = {
        "duckdb_snappy_dict_pagev1_int8", "duckdb_zstd_dict_pagev1_float", "duckdb_snappy_dict_pagev1_nan",
        "pqwasm_zstd_dict_pagev1_required_wide", "hyparquet_snappy_dict_pagev2_int8",
        "parquetjs_brotli_nodict_pagev2_float", "pqwasm_snappy_nodict_pagev1_bss_int8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char pq[1024], csv[1024];
        snprintf(pq, sizeof pq, "%s/fixtures/parquet/%s.parquet", EF_SHARED_DIR, names[i]);
        snprintf(csv, sizeof csv, "%s/fixtures/parquet/%s.csv", EF_SHARED_DIR, names[i]);
        const char *a[] = {pq}, *b[] = {csv};
        ef_dataset x, y;
        ef_error err = {0};
        ef_status s1 = ef_dataset_load(&x, a, 1, NULL, &err);
        CHECKF(s1 == EF_OK, "%s: %s", names[i], err.msg);
        ef_status s2 = ef_dataset_load(&y, b, 1, NULL, &err);
        CHECKF(s2 == EF_OK, "%s: %s", names[i], err.msg);
        if (!s1 && !s2) {
            CHECKF(same_dataset(&x, &y), "%s: parquet and CSV differ", names[i]);
            CHECKF(x.n_eras == 8 && x.n_features >= 20, "%s: %d eras %d features", names[i], x.n_eras, x.n_features);
            int range = 1;
            for (int64_t k = 0; k < x.n_rows * x.n_features; k++) range &= x.X[k] >= 0 && x.X[k] <= 4;
            CHECK(range);
        }
        if (!s1) ef_dataset_free(&x);
        if (!s2) ef_dataset_free(&y);
    }
}

/* Every allocation failure while loading (parquet and CSV, with filters) and iterating eras
 * returns an error, never crashes, and leaks nothing (checked by the ASan build). */
static void test_alloc_failures(const char *pq_path) {
    char csv[1024];
    pth(csv, "alloc.csv");
    FILE *f = fopen(csv, "w");
    fputs("id,era,data_type,feature_a,feature_b,target\nn1,0002,train,1,2,0.5\nn2,0001,train,3,2,\n"
          "n3,0001,train,0,2,1\n",
          f);
    fclose(f);
    const char *paths[2] = {pq_path, csv};
    int fails = 0, oks = 0;
    for (int which = 0; which < 2; which++) {
        for (long k = 1; k < 300; k++) {
            ef_load_options o = {0};
            o.require_target = "target";
            ef_dataset d;
            ef_alloc_fail_after(k);
            ef_status st = ef_dataset_load(&d, paths + which, 1, &o, NULL);
            ef_alloc_fail_after(0);
            if (st) fails++;
            else {
                oks++;
                ef_dataset_free(&d);
            }
        }
    }
    for (long k = 1; k < 300; k++) {
        ef_era_reader *r = NULL;
        ef_dataset sh;
        memset(&sh, 0, sizeof sh);
        ef_alloc_fail_after(k);
        ef_status st = ef_era_reader_open(&r, pq_path, NULL, NULL);
        int done = 0;
        while (!st && !done) st = ef_era_reader_next(r, &sh, &done, NULL);
        ef_alloc_fail_after(0);
        fails += st != EF_OK;
        ef_dataset_free(&sh);
        ef_era_reader_close(r);
    }
    CHECK(fails > 50 && oks > 0);
    unlink(csv);
}

int main(void) {
    snprintf(DIR_, sizeof DIR_, "%s/test_dataset_%ld", EF_BINARY_DIR, (long)getpid());
    mkdir(DIR_, 0777);
    ef_synth_config c;
    ef_synth_config_default(&c);
    c.eras_train = ET;
    c.eras_validation = EV;
    c.rows_per_era = 150;
    c.n_features = 40;
    c.seed = 99;
    ef_error err = {0};
    ef_status st = ef_synth_write(&c, DIR_, NULL, NULL, &err);
    CHECKF(st == EF_OK, "%s", err.msg);
    char pt[1024], pv[1024], pl[1024], pj[1024];
    pth(pt, "train.parquet");
    pth(pv, "validation.parquet");
    pth(pl, "live.parquet");
    pth(pj, "features.json");
    const char *paths[] = {pt, pv, pl};
    ef_dataset full;
    st = ef_dataset_load(&full, paths, 3, NULL, &err);
    CHECKF(st == EF_OK, "%s", err.msg);
    if (!st) {
        CHECK(full.n_eras == ET + EV + 1);
        test_filters(&full, paths);
        test_projection(&full, paths);
        test_missing_targets(&full, paths);
        test_era_reader(paths);
        test_alloc_failures(pl);
    }
    ef_dataset_free(&full);
    test_csv_sorting();
    test_fixtures();
    CHECK(ef_era_parse("0042") == 42 && ef_era_parse("X") == -1 && ef_era_parse("") == -1);
    CHECK(ef_data_type_parse("validation") == EF_DT_VALIDATION && ef_data_type_parse("foo") == EF_DT_OTHER);
    unlink(pt);
    unlink(pv);
    unlink(pl);
    unlink(pj);
    rmdir(DIR_);
    TEST_MAIN_END;
}
