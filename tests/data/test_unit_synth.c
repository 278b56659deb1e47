/* eraformer synth: Numerai's layout (columns, dtypes, id format, era strings, data_type),
 * per-era feature bins (5 equal counts) and target bins (5/20/50/20/5 %), NaN placement
 * (unresolved validation eras, live, jasper's missing history, random aux NaN), all-2
 * missing feature columns in early eras, features.json, CSV == parquet, determinism. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eraformer/data.h"
#include "eraformer/parquet.h"
#include "test.h"

enum { ET = 16, EV = 14 };

static void path_in(char *buf, size_t n, const char *dir, const char *file) {
    snprintf(buf, n, "%s/%s", dir, file);
}

static ef_synth_config config(uint64_t seed) {
    ef_synth_config c;
    ef_synth_config_default(&c);
    c.eras_train = ET;
    c.eras_validation = EV;
    c.rows_per_era = 200;
    c.n_features = 48;
    c.seed = seed;
    c.codec = EF_PQW_ZSTD;
    c.write_csv = 1;
    return c;
}

static int file_equal(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int eq = !ef_file_read_all(a, &x, &nx, NULL) && !ef_file_read_all(b, &y, &ny, NULL) && nx == ny &&
             !memcmp(x, y, nx);
    free(x);
    free(y);
    return eq;
}

static void check_schema(const char *dir) {
    char p[1024];
    path_in(p, sizeof p, dir, "train.parquet");
    ef_pq_reader *r = NULL;
    ef_error err = {0};
    CHECK_OK(ef_pq_reader_open(&r, p, &err));
    if (!r) return;
    CHECK(ef_pq_num_columns(r) == 3 + 48 + 13);
    CHECK(ef_pq_num_row_groups(r) == ET);
    const char *first[] = {"id", "era", "data_type"};
    for (int c = 0; c < 3; c++) {
        const ef_pq_column_info *ci = ef_pq_column(r, c);
        CHECK(!strcmp(ci->name, first[c]) && ci->type == EF_PQ_BYTE_ARRAY && ci->is_string);
    }
    int ok = 1;
    for (int c = 3; c < 51; c++) {
        const ef_pq_column_info *ci = ef_pq_column(r, c);
        ok &= !strncmp(ci->name, "feature_", 8) && ci->type == EF_PQ_INT32 && ci->int_bits == 8 &&
              ci->int_signed && ci->converted_type == EF_PQ_CONVERTED_INT_8;
        if (c > 3) ok &= strcmp(ef_pq_column(r, c - 1)->name, ci->name) < 0;  /* sorted */
    }
    CHECK(ok);
    for (int c = 51; c < 64; c++) CHECK(ef_pq_column(r, c)->type == EF_PQ_FLOAT);
    CHECK(!strcmp(ef_pq_column(r, 51)->name, "target_agnes_20"));
    CHECK(!strcmp(ef_pq_column(r, 52)->name, "target_agnes_60"));
    CHECK(!strcmp(ef_pq_column(r, 63)->name, "target"));
    ef_pq_chunk_info info;
    CHECK_OK(ef_pq_chunk_info_get(r, 0, 5, &info, &err));
    CHECK(info.codec == EF_PQ_ZSTD && info.dictionary_page_offset >= 0);
    ef_pq_reader_close(r);
}

static int is_hex_id(const char *s) {
    if (strlen(s) != 16 || s[0] != 'n') return 0;
    for (int i = 1; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

static size_t ceil_q(double q, size_t n) { return (size_t)ceil(q * (double)n - 1e-9); }

static void check_dataset(const ef_dataset *ds) {
    CHECK(ds->n_eras == ET + EV + 1);
    CHECK(ds->n_features == 48 && ds->n_targets == 13);
    for (int e = 0; e < ds->n_eras; e++) {
        char want[8];
        if (e < ET + EV) snprintf(want, sizeof want, "%04d", e + 1);
        else snprintf(want, sizeof want, "X");
        CHECKF(!strcmp(ds->eras[e].name, want), "era %d is '%s'", e, ds->eras[e].name);
    }
    CHECK(ds->eras[ET + EV].num == EF_ERA_LIVE_NUM);
    /* rows grow over time */
    CHECK(ds->eras[0].count < ds->eras[ET + EV - 1].count);
    int ids_ok = 1, types_ok = 1;
    for (int e = 0; e < ds->n_eras; e++) {
        ef_data_type want = e < ET ? EF_DT_TRAIN : e < ET + EV ? EF_DT_VALIDATION : EF_DT_LIVE;
        for (int64_t r = ds->eras[e].start; r < ds->eras[e].start + ds->eras[e].count; r++) {
            ids_ok &= is_hex_id(ef_dataset_id(ds, r));
            if (r > ds->eras[e].start) ids_ok &= strcmp(ef_dataset_id(ds, r - 1), ef_dataset_id(ds, r)) < 0;
            types_ok &= ds->row_type[r] == (uint8_t)want;
        }
    }
    CHECK(ids_ok);
    CHECK(types_ok);

    /* feature bins: exactly equal counts per era (ceil of the quintile ranks) */
    size_t F = (size_t)ds->n_features, T = (size_t)ds->n_targets;
    int bins_ok = 1, n_missing = 0, early_missing = 0;
    double sum = 0, ss = 0, cnt = 0;
    for (int e = 0; e < ds->n_eras; e++) {
        size_t n = (size_t)ds->eras[e].count;
        const double q[4] = {0.2, 0.4, 0.6, 0.8};
        size_t want[5];
        want[0] = ceil_q(q[0], n);
        for (int l = 1; l < 4; l++) want[l] = ceil_q(q[l], n) - ceil_q(q[l - 1], n);
        want[4] = n - ceil_q(q[3], n);
        for (size_t f = 0; f < F; f++) {
            size_t c[5] = {0};
            for (int64_t r = ds->eras[e].start; r < ds->eras[e].start + ds->eras[e].count; r++) {
                int8_t x = ds->X[(size_t)r * F + f];
                if (x >= 0 && x <= 4) c[x]++;
                sum += x;
                ss += (double)x * x;
                cnt++;
            }
            if (ds->missing[(size_t)e * F + f]) {
                n_missing++;
                early_missing += e < ET / 2;
                bins_ok &= c[2] == n;
                continue;
            }
            for (int l = 0; l < 5; l++) bins_ok &= c[l] == want[l];
        }
    }
    CHECK(bins_ok);
    CHECKF(n_missing >= 3 && early_missing * 2 > n_missing, "missing %d early %d", n_missing, early_missing);
    double mean = sum / cnt, sd = sqrt(ss / cnt - mean * mean);
    CHECK_NEAR(mean, 2.0, 0.02, 0);
    CHECK_NEAR(sd, sqrt(2.0), 0.03, 0);

    /* targets: 5/20/50/20/5 % bins per era, NaN placement */
    int tbins_ok = 1, nan_ok = 1, main_eq = 1;
    int64_t agnes_nan = 0, agnes_n = 0;
    for (int e = 0; e < ds->n_eras; e++) {
        size_t n = (size_t)ds->eras[e].count;
        const double q[4] = {0.05, 0.25, 0.75, 0.95};
        size_t want[5];
        want[0] = ceil_q(q[0], n);
        for (int l = 1; l < 4; l++) want[l] = ceil_q(q[l], n) - ceil_q(q[l - 1], n);
        want[4] = n - ceil_q(q[3], n);
        int from_end = ET + EV - e;
        for (size_t t = 0; t < T; t++) {
            const char *nm = ds->target_names[t];
            int h60 = strstr(nm, "_60") != NULL;
            int expect_nan = e >= ET + EV || (e >= ET && from_end <= (h60 ? 12 : 4)) ||
                             (strstr(nm, "jasper") && e < ET / 4);
            size_t c[5] = {0}, nans = 0;
            for (int64_t r = ds->eras[e].start; r < ds->eras[e].start + ds->eras[e].count; r++) {
                float y = ds->y[(size_t)r * T + t];
                if (isnan(y)) {
                    nans++;
                    continue;
                }
                int l = (int)lroundf(y * 4);
                tbins_ok &= y * 4 == (float)l && l >= 0 && l <= 4;
                if (l >= 0 && l <= 4) c[l]++;
            }
            if (strstr(nm, "agnes") && !expect_nan) {
                agnes_nan += (int64_t)nans;
                agnes_n += (int64_t)n;
            }
            if (expect_nan) {
                nan_ok &= nans == n;
            } else if (!strstr(nm, "agnes") && !strstr(nm, "teager2b")) {
                nan_ok &= nans == 0;
                for (int l = 0; l < 5; l++) tbins_ok &= c[l] == want[l];
            }
        }
        for (int64_t r = ds->eras[e].start; r < ds->eras[e].start + ds->eras[e].count; r++) {
            float a = ds->y[(size_t)r * T + T - 1], b = ds->y[(size_t)r * T + 6];
            main_eq &= (isnan(a) && isnan(b)) || a == b;
        }
    }
    CHECK(tbins_ok);
    CHECK(nan_ok);
    CHECK(main_eq);
    CHECK(!strcmp(ds->target_names[6], "target_ender_20"));
    double rate = (double)agnes_nan / (double)agnes_n;
    CHECKF(rate > 0.01 && rate < 0.03, "agnes NaN rate %.4f", rate);
}

static void check_features_json(const char *dir, const ef_dataset *ds) {
    char p[1024];
    path_in(p, sizeof p, dir, "features.json");
    ef_features_json fj;
    ef_error err = {0};
    CHECK_OK(ef_features_json_load(&fj, p, &err));
    const ef_feature_set *all = ef_features_json_find(&fj, "all");
    CHECK(all && all->n == ds->n_features);
    int same = all != NULL;
    for (int j = 0; same && j < all->n; j++) same = !strcmp(all->features[j], ds->feature_names[j]);
    CHECK(same);
    CHECK(ef_features_json_find(&fj, "small") && ef_features_json_find(&fj, "small")->n == 5);
    CHECK(ef_features_json_find(&fj, "medium") && ef_features_json_find(&fj, "medium")->n == 16);
    const char *groups[] = {"intelligence", "charisma", "strength", "dexterity", "constitution", "wisdom",
                            "agility", "serenity", "sunshine", "rain", "midnight", "faith"};
    int total = 0;
    for (int g = 0; g < 12; g++) {
        const ef_feature_set *s = ef_features_json_find(&fj, groups[g]);
        CHECKF(s && s->n >= 1, "group %s", groups[g]);
        total += s ? s->n : 0;
    }
    CHECK(total == 48);
    CHECK(ef_features_json_find(&fj, "rain")->n > ef_features_json_find(&fj, "intelligence")->n);
    CHECK(fj.n_targets == ds->n_targets);
    same = fj.n_targets == ds->n_targets;
    for (int t = 0; same && t < fj.n_targets; t++) same = !strcmp(fj.targets[t], ds->target_names[t]);
    CHECK(same);
    ef_features_json_free(&fj);
}

static int datasets_equal(const ef_dataset *a, const ef_dataset *b) {
    if (a->n_rows != b->n_rows || a->n_features != b->n_features || a->n_targets != b->n_targets ||
        a->n_eras != b->n_eras)
        return 0;
    if (memcmp(a->X, b->X, (size_t)a->n_rows * (size_t)a->n_features)) return 0;
    for (int64_t i = 0; i < a->n_rows * a->n_targets; i++) {
        float x = a->y[i], y = b->y[i];
        if (!((isnan(x) && isnan(y)) || x == y)) return 0;
    }
    for (int64_t r = 0; r < a->n_rows; r++)
        if (strcmp(ef_dataset_id(a, r), ef_dataset_id(b, r)) || a->row_type[r] != b->row_type[r] ||
            strcmp(a->eras[a->row_era[r]].name, b->eras[b->row_era[r]].name))
            return 0;
    return !memcmp(a->missing, b->missing, (size_t)a->n_eras * (size_t)a->n_features);
}

int main(void) {
    char dir[512], dir2[512], dir3[512];
    snprintf(dir, sizeof dir, "%s/test_synth_%ld_a", EF_BINARY_DIR, (long)getpid());
    snprintf(dir2, sizeof dir2, "%s/test_synth_%ld_b", EF_BINARY_DIR, (long)getpid());
    snprintf(dir3, sizeof dir3, "%s/test_synth_%ld_c", EF_BINARY_DIR, (long)getpid());
    mkdir(dir, 0777);
    mkdir(dir2, 0777);
    mkdir(dir3, 0777);
    ef_error err = {0};
    ef_synth_config c = config(7);
    ef_status st = ef_synth_write(&c, dir, NULL, NULL, &err);
    CHECKF(st == EF_OK, "%s", err.msg);
    check_schema(dir);

    char pt[1024], pv[1024], pl[1024];
    path_in(pt, sizeof pt, dir, "train.parquet");
    path_in(pv, sizeof pv, dir, "validation.parquet");
    path_in(pl, sizeof pl, dir, "live.parquet");
    const char *paths[] = {pt, pv, pl};
    ef_dataset ds;
    st = ef_dataset_load(&ds, paths, 3, NULL, &err);
    CHECKF(st == EF_OK, "%s", err.msg);
    if (!st) {
        check_dataset(&ds);
        check_features_json(dir, &ds);
        /* the CSV copies hold the same data */
        char ct[1024], cv[1024], cl[1024];
        path_in(ct, sizeof ct, dir, "train.csv");
        path_in(cv, sizeof cv, dir, "validation.csv");
        path_in(cl, sizeof cl, dir, "live.csv");
        const char *cpaths[] = {ct, cv, cl};
        ef_dataset dc;
        st = ef_dataset_load(&dc, cpaths, 3, NULL, &err);
        CHECKF(st == EF_OK, "%s", err.msg);
        if (!st) CHECK(datasets_equal(&ds, &dc));
        ef_dataset_free(&dc);
        /* one era in memory equals the same era from the file */
        ef_synth *s = NULL;
        CHECK_OK(ef_synth_create(&s, &c, &err));
        CHECK(ef_synth_num_eras(s) == ET + EV + 1);
        ef_dataset one;
        memset(&one, 0, sizeof one);
        CHECK_OK(ef_synth_era(s, 5, &one, &err));
        CHECK(one.n_rows == ds.eras[5].count);
        CHECK(!memcmp(one.X, ds.X + (size_t)ds.eras[5].start * 48, (size_t)one.n_rows * 48));
        CHECK(ef_synth_era(s, ET + EV + 1, &one, &err) == EF_ERR_INVALID);
        ef_dataset_free(&one);
        ef_synth_destroy(s);
    }
    ef_dataset_free(&ds);

    /* deterministic for a seed; another seed differs */
    CHECK_OK(ef_synth_write(&c, dir2, NULL, NULL, &err));
    const char *files[] = {"train.parquet", "validation.parquet", "live.parquet", "features.json", "train.csv"};
    for (int i = 0; i < 5; i++) {
        char a[1024], b[1024];
        path_in(a, sizeof a, dir, files[i]);
        path_in(b, sizeof b, dir2, files[i]);
        CHECKF(file_equal(a, b), "%s differs between runs", files[i]);
    }
    ef_synth_config c2 = config(8);
    c2.write_csv = 0;
    CHECK_OK(ef_synth_write(&c2, dir3, NULL, NULL, &err));
    char a[1024], b[1024];
    path_in(a, sizeof a, dir, "train.parquet");
    path_in(b, sizeof b, dir3, "train.parquet");
    CHECK(!file_equal(a, b));

    /* bad configurations are refused */
    ef_synth_config bad = config(1);
    bad.rows_per_era = 3;
    ef_synth *s = NULL;
    CHECK(ef_synth_create(&s, &bad, &err) == EF_ERR_INVALID && strstr(err.msg, "rows_per_era"));
    bad = config(1);
    bad.n_features = 0;
    CHECK(ef_synth_create(&s, &bad, &err) == EF_ERR_INVALID);

    /* allocation failures anywhere in generation and writing: an error, no crash, no leak
     * (ASan build), no temp files left behind */
    ef_synth_config tiny = config(3);
    tiny.eras_train = 2;
    tiny.eras_validation = 1;
    tiny.rows_per_era = 20;
    tiny.n_features = 8;
    int fails = 0;
    for (long k = 1; k < 400; k += 3) {
        ef_alloc_fail_after(k);
        ef_status s2 = ef_synth_write(&tiny, dir3, NULL, NULL, NULL);
        ef_alloc_fail_after(0);
        fails += s2 != EF_OK;
        CHECK(s2 == EF_OK || s2 == EF_ERR_NOMEM);
    }
    CHECK(fails > 20);
    /* the folder holds only finished outputs: no temp file of an aborted write */
    const char *outputs[] = {"train.parquet", "validation.parquet", "live.parquet", "features.json",
                             "train.csv", "validation.csv", "live.csv"};
    DIR *dh = opendir(dir3);
    CHECK(dh != NULL);
    int n_entries = 0;
    for (struct dirent *de; dh && (de = readdir(dh));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        int known = 0;
        for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) known |= !strcmp(de->d_name, outputs[i]);
        CHECKF(known, "%s/%s is left behind", dir3, de->d_name);
        n_entries++;
    }
    if (dh) closedir(dh);
    CHECK(n_entries >= 4); /* the successful writes' outputs are there */
    const char *tiny_csv[] = {"validation.csv", "live.csv"};
    for (int i = 0; i < 2; i++) {
        char p[1024];
        path_in(p, sizeof p, dir3, tiny_csv[i]);
        unlink(p);
    }

    for (int i = 0; i < 5; i++) {
        char p[1024];
        path_in(p, sizeof p, dir, files[i]); unlink(p);
        path_in(p, sizeof p, dir2, files[i]); unlink(p);
        path_in(p, sizeof p, dir3, files[i]); unlink(p);
    }
    const char *csvs[] = {"validation.csv", "live.csv"};
    for (int i = 0; i < 2; i++) {
        char p[1024];
        path_in(p, sizeof p, dir, csvs[i]); unlink(p);
        path_in(p, sizeof p, dir2, csvs[i]); unlink(p);
    }
    rmdir(dir);
    rmdir(dir2);
    rmdir(dir3);
    TEST_MAIN_END;
}
