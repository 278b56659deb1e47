/* data tasks: the embargo rule (no context row from a forbidden era, over many draws, for
 * every query era, window and embargo), unresolved eras and unlabelled rows never sampled,
 * sampling without replacement, era splits with a window, live queries, feature subsets and
 * the per-era centring / missing-mask encoding. The dataset is built by hand. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "eraformer/data_tasks.h"
#include "test.h"

#define NE 40
#define NF 6

typedef struct fake {
    ef_dataset ds;
    float *y;
} fake;

/* NE eras numbered 1..NE (era 20..22 unresolved: every y NaN; era 5 half NaN), era i has
 * 8 + i % 5 rows; feature 3 is Numerai-missing in era 7; plus one live era "X". */
static void fake_build(fake *f) {
    memset(f, 0, sizeof *f);
    ef_dataset *ds = &f->ds;
    int64_t n = 0;
    for (int e = 0; e < NE; e++) n += 8 + e % 5;
    n += 10;
    ds->n_rows = n;
    ds->n_features = NF;
    ds->feature_names = ef_calloc(NF, sizeof(char *));
    for (int j = 0; j < NF; j++) {
        char b[32];
        snprintf(b, sizeof b, "feature_%c", 'a' + j);
        ds->feature_names[j] = ef_strdup(b);
    }
    ds->n_eras = NE + 1;
    ds->eras = ef_calloc((size_t)ds->n_eras, sizeof(ef_era));
    ds->X = ef_malloc((size_t)n * NF);
    ds->row_era = ef_malloc((size_t)n * sizeof(int32_t));
    ds->missing = ef_calloc((size_t)ds->n_eras * NF, 1);
    f->y = ef_malloc((size_t)n * sizeof(float));
    ef_rng r;
    ef_rng_init(&r, 7, 0);
    int64_t row = 0;
    for (int e = 0; e <= NE; e++) {
        ef_era *er = &ds->eras[e];
        int cnt = e < NE ? 8 + e % 5 : 10;
        if (e < NE) {
            snprintf(er->name, sizeof er->name, "%04d", e + 1);
            er->num = e + 1;
        } else {
            snprintf(er->name, sizeof er->name, "X");
            er->num = EF_ERA_LIVE_NUM;
        }
        er->start = row;
        er->count = cnt;
        for (int i = 0; i < cnt; i++, row++) {
            ds->row_era[row] = e;
            for (int j = 0; j < NF; j++) ds->X[row * NF + j] = (int8_t)ef_rng_below(&r, 5);
            if (e == 6) ds->X[row * NF + 3] = 2;
            int unres = (e + 1 >= 20 && e + 1 <= 22) || e == NE || (e + 1 == 5 && i % 2 == 0);
            f->y[row] = unres ? NAN : (float)ef_rng_normal(&r);
        }
    }
    ds->missing[6 * NF + 3] = 1;
}

static void fake_free(fake *f) {
    for (int j = 0; j < NF; j++) ef_free(f->ds.feature_names[j]);
    ef_free(f->ds.feature_names);
    ef_free(f->ds.eras);
    ef_free(f->ds.X);
    ef_free(f->ds.row_era);
    ef_free(f->ds.missing);
    ef_free(f->y);
}

static void test_rules(void) {
    const char *t20[] = {"target", "target_ender_20"}, *t60[] = {"target_ender_20", "target_bravo_60"};
    CHECK(ef_tasks_default_embargo(t20, 2) == 8);
    CHECK(ef_tasks_default_embargo(t60, 2) == 16);
    CHECK(ef_tasks_era_allowed(92, 100, 8));
    CHECK(!ef_tasks_era_allowed(93, 100, 8));
    CHECK(!ef_tasks_era_allowed(100, 100, 0));   /* never the query era itself */
    CHECK(ef_tasks_era_allowed(99, 100, 0));
    CHECK(!ef_tasks_era_allowed(101, 100, 8));
    CHECK(ef_tasks_era_allowed(999, EF_ERA_LIVE_NUM, 8));
    CHECK(!ef_tasks_era_allowed(EF_ERA_LIVE_NUM, EF_ERA_LIVE_NUM, 8));
}

static void test_embargo_draws(const fake *f) {
    ef_tasks t;
    CHECK_OK(ef_tasks_init(&t, &f->ds, f->ds.feature_names, NF, f->y, NULL));
    CHECK(!t.era_resolved[19] && !t.era_resolved[20] && !t.era_resolved[21]);
    CHECK(t.era_resolved[4]);       /* half of era 5 labelled: still resolved */
    CHECK(!t.era_resolved[NE]);     /* live */
    int eras[NE + 1];
    int64_t rows[64];
    long violations = 0, nan_rows = 0, dups = 0, draws = 0;
    const int embargoes[] = {0, 1, 4, 8, 16};
    const int windows[] = {0, 3, 10};
    for (int ie = 0; ie < 5; ie++)
        for (int iw = 0; iw < 3; iw++)
            for (int q = 0; q <= NE; q++) {
                int qn = f->ds.eras[q].num, emb = embargoes[ie], win = windows[iw];
                int ne = ef_tasks_context_eras(&t, qn, emb, win, eras);
                /* era list: increasing, allowed, resolved, window respected */
                for (int i = 0; i < ne; i++) {
                    if (i && eras[i] <= eras[i - 1]) violations++;
                    if (!ef_tasks_era_allowed(f->ds.eras[eras[i]].num, qn, emb) || !t.era_resolved[eras[i]]) violations++;
                }
                if (win && ne > win) violations++;
                /* the newest allowed era is included */
                int newest = -1;
                for (int e = 0; e < NE; e++)
                    if (t.era_resolved[e] && ef_tasks_era_allowed(f->ds.eras[e].num, qn, emb)) newest = e;
                if ((newest >= 0) != (ne > 0) || (ne > 0 && eras[ne - 1] != newest)) violations++;
                for (int rep = 0; rep < 40; rep++) {
                    ef_rng r;
                    ef_rng_init(&r, 1234, (uint64_t)((ie * 3 + iw) * 1000 + q * 50 + rep));
                    int want = 1 + rep % 60, got = 0;
                    CHECK_OK(ef_tasks_sample_rows(&t, eras, ne, want, &r, rows, &got, NULL));
                    draws++;
                    for (int i = 0; i < got; i++) {
                        int e = f->ds.row_era[rows[i]];
                        int ok = 0;
                        for (int k = 0; k < ne; k++) ok |= eras[k] == e;
                        if (!ok || !ef_tasks_era_allowed(f->ds.eras[e].num, qn, emb)) violations++;
                        if (isnan(f->y[rows[i]])) nan_rows++;
                        for (int k = 0; k < i; k++) dups += rows[k] == rows[i];
                    }
                    int64_t avail = 0;
                    for (int k = 0; k < ne; k++) avail += t.lab_off[eras[k] + 1] - t.lab_off[eras[k]];
                    if (got != (want < avail ? want : avail)) violations++;
                }
            }
    CHECKF(violations == 0, "%ld embargo/window violations in %ld draws", violations, draws);
    CHECK(nan_rows == 0);
    CHECK(dups == 0);
    CHECK(draws > 20000);
    /* concrete: era 30 with embargo 8 -> eras 1..22 minus unresolved 20..22 -> 19 eras */
    int ne = ef_tasks_context_eras(&t, 30, 8, 0, eras);
    CHECK(ne == 19);
    CHECK(f->ds.eras[eras[ne - 1]].num == 19);
    ne = ef_tasks_context_eras(&t, 30, 8, 5, eras);
    CHECK(ne == 5 && f->ds.eras[eras[0]].num == 15);
    CHECK(ef_tasks_context_eras(&t, 3, 8, 0, eras) == 0);
    /* live: every resolved numeric era */
    CHECK(ef_tasks_context_eras(&t, EF_ERA_LIVE_NUM, 8, 0, eras) == NE - 3);
    /* a dense draw (more than half of the rows) is also exact and without replacement */
    int64_t big[600];
    ef_rng r;
    ef_rng_init(&r, 5, 5);
    ne = ef_tasks_context_eras(&t, 12, 1, 0, eras);
    int got;
    int64_t avail = t.lab_off[eras[ne - 1] + 1] - t.lab_off[eras[0]];
    CHECK_OK(ef_tasks_sample_rows(&t, eras, ne, (int)(avail - 3), &r, big, &got, NULL));
    CHECK(got == avail - 3);
    long bad = 0;
    for (int i = 0; i < got; i++) {
        if (f->ds.eras[f->ds.row_era[big[i]]].num > 11 || isnan(f->y[big[i]])) bad++;
        for (int k = 0; k < i; k++) bad += big[k] == big[i];
    }
    CHECK(bad == 0);
    ef_tasks_free(&t);
}

static void test_subset_encode(const fake *f) {
    ef_rng r;
    ef_rng_init(&r, 3, 3);
    long bad = 0;
    int sub[50];
    for (int rep = 0; rep < 2000; rep++) {
        int n = 1 + rep % 50, k = 1 + (int)ef_rng_below(&r, (uint64_t)n);
        for (int i = 0; i < 50; i++) sub[i] = -1;
        ef_tasks_feature_subset(&r, n, k, sub);
        for (int i = 0; i < k; i++) {
            if (sub[i] < 0 || sub[i] >= n) bad++;
            if (i && sub[i] <= sub[i - 1]) bad++;
        }
        if (k < 50 && sub[k] != -1) bad++;
    }
    CHECK(bad == 0);
    /* every feature is chosen about equally often */
    int hits[10] = {0};
    for (int rep = 0; rep < 10000; rep++) {
        ef_tasks_feature_subset(&r, 10, 3, sub);
        for (int i = 0; i < 3; i++) hits[sub[i]]++;
    }
    for (int j = 0; j < 10; j++) CHECKF(hits[j] > 2700 && hits[j] < 3300, "feature %d chosen %d times", j, hits[j]);

    ef_tasks t;
    CHECK_OK(ef_tasks_init(&t, &f->ds, f->ds.feature_names, NF, NULL, NULL));
    for (int e = 0; e < NE; e++) CHECK(!t.era_resolved[e]);   /* no targets: nothing resolved */
    /* centred per era: the era mean of every encoded observed feature is 0 */
    float x[8];
    uint8_t m[8];
    double worst = 0;
    for (int e = 0; e < NE; e++) {
        double s[NF] = {0};
        for (int64_t rr = f->ds.eras[e].start; rr < f->ds.eras[e].start + f->ds.eras[e].count; rr++) {
            ef_tasks_encode_row(&t, rr, NULL, NF, 8, x, m);
            for (int j = 0; j < NF; j++) s[j] += x[j];
            CHECK(m[6] == 0 && m[7] == 0 && x[6] == 0 && x[7] == 0);
            CHECK(m[3] == (e == 6 ? 0 : 1));
            float expect = ((float)f->ds.X[rr * NF + 1] - t.era_mean[(size_t)e * NF + 1]) / sqrtf(2.0f);
            CHECK_NEAR(x[1], expect, 1e-6, 0);
        }
        for (int j = 0; j < NF; j++) worst = fmax(worst, fabs(s[j] / (double)f->ds.eras[e].count));
    }
    CHECK(worst < 1e-5);
    /* subset encoding picks the chosen columns in order */
    int sb[2] = {4, 1};
    ef_tasks_encode_row(&t, 0, sb, 2, 3, x, m);
    CHECK_NEAR(x[0], ((float)f->ds.X[4] - t.era_mean[4]) / sqrtf(2.0f), 1e-6, 0);
    CHECK_NEAR(x[1], ((float)f->ds.X[1] - t.era_mean[1]) / sqrtf(2.0f), 1e-6, 0);
    CHECK(m[2] == 0 && x[2] == 0);
    ef_tasks_free(&t);
    /* an unknown feature is an error naming it */
    char *bad_names[1] = {"feature_zz"};
    ef_error err = {0};
    CHECK(ef_tasks_init(&t, &f->ds, bad_names, 1, NULL, &err) == EF_ERR_INVALID);
    CHECK(strstr(err.msg, "feature_zz") != NULL);
}

/* Per-era rank-gauss encoding and feature-group aggregates. */
static void test_rankgauss_groups(const fake *f) {
    ef_tasks t;
    CHECK_OK(ef_tasks_init(&t, &f->ds, f->ds.feature_names, NF, NULL, NULL));
    /* groups: {0, 1, 2} and {3, 5} (feature 3 is missing in era 7) */
    int off[3] = {0, 3, 5}, idx[5] = {0, 1, 2, 3, 5};
    CHECK_OK(ef_tasks_set_encoding(&t, EF_FT_RANKGAUSS, 2, off, idx, NULL));
    CHECK(t.n_cols == NF + 2);
    float x[NF + 3];
    uint8_t m[NF + 3];
    long order_bad = 0, finite_bad = 0;
    double worst_mean = 0, worst_agg = 0;
    for (int e = 0; e < NE; e++) {
        const ef_era *er = &f->ds.eras[e];
        double s[NF] = {0};
        for (int64_t rr = er->start; rr < er->start + er->count; rr++) {
            ef_tasks_encode_row(&t, rr, NULL, NF + 2, NF + 3, x, m);
            for (int j = 0; j < NF; j++) {
                s[j] += x[j];
                finite_bad += !isfinite(x[j]);
            }
            /* aggregates: means of the observed encoded members */
            double g0 = (x[0] + x[1] + x[2]) / 3.0;
            double g1 = e == 6 ? x[5] : (x[3] + x[5]) / 2.0;
            worst_agg = fmax(worst_agg, fmax(fabs(x[NF] - g0), fabs(x[NF + 1] - g1)));
            CHECK(m[NF] == 1 && m[NF + 1] == 1 && m[NF + 2] == 0);
            /* monotone in the level: a higher value never gets a lower score */
            for (int64_t r2 = er->start; r2 < er->start + er->count; r2++) {
                float x2[NF + 3];
                ef_tasks_encode_row(&t, r2, NULL, NF, NF + 3, x2, NULL);
                for (int j = 0; j < NF; j++)
                    if (f->ds.X[rr * NF + j] < f->ds.X[r2 * NF + j] && !(x[j] < x2[j]) && !(e == 6 && j == 3)) order_bad++;
            }
        }
        /* normal scores of ranks are centred: their era mean is ~0 */
        for (int j = 0; j < NF; j++) worst_mean = fmax(worst_mean, fabs(s[j] / (double)er->count));
    }
    CHECK(order_bad == 0 && finite_bad == 0);
    CHECKF(worst_agg < 1e-5, "group aggregate off by %.3g", worst_agg);
    CHECKF(worst_mean < 0.15, "rank-gauss era mean up to %.3f", worst_mean);
    /* a level shared by every row of an era scores 0 (the middle rank) */
    CHECK(t.era_level[((size_t)6 * NF + 3) * 5 + 2] == 0.0f);
    /* a subset may pick an aggregate column */
    int sb[2] = {NF + 1, 0};
    ef_tasks_encode_row(&t, 0, sb, 2, 2, x, m);
    float full[NF + 2];
    ef_tasks_encode_row(&t, 0, NULL, NF + 2, NF + 2, full, NULL);
    CHECK(x[0] == full[NF + 1] && x[1] == full[0]);
    /* bad groups are refused */
    int off_bad[2] = {0, 0}, idx_bad[1] = {NF};
    CHECK(ef_tasks_set_encoding(&t, EF_FT_CENTRE, 1, off_bad, idx, NULL) == EF_ERR_INVALID);
    int off1[2] = {0, 1};
    CHECK(ef_tasks_set_encoding(&t, EF_FT_CENTRE, 1, off1, idx_bad, NULL) == EF_ERR_INVALID);
    /* back to centring: identical to a fresh ef_tasks */
    CHECK_OK(ef_tasks_set_encoding(&t, EF_FT_CENTRE, 0, NULL, NULL, NULL));
    ef_tasks t2;
    CHECK_OK(ef_tasks_init(&t2, &f->ds, f->ds.feature_names, NF, NULL, NULL));
    float a[NF], b[NF];
    ef_tasks_encode_row(&t, 5, NULL, NF, NF, a, NULL);
    ef_tasks_encode_row(&t2, 5, NULL, NF, NF, b, NULL);
    CHECK(!memcmp(a, b, sizeof a) && t.n_cols == NF);
    ef_tasks_free(&t2);
    ef_tasks_free(&t);
}

int main(void) {
    fake f;
    fake_build(&f);
    test_rules();
    test_embargo_draws(&f);
    test_subset_encode(&f);
    test_rankgauss_groups(&f);
    fake_free(&f);
    TEST_MAIN_END;
}
