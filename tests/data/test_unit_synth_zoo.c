/* The generator zoo (factor, nonlinear, drift, weak; docs/synth.md). For each generator,
 * statistics computed directly from the generated eras: exact per-era feature bins (5 equal
 * counts) and target bins (5/20/50/20/5 %), the correlation of each auxiliary _20 target with
 * `target`, the NaN pattern (unresolved validation eras, live), late-starting features all 2
 * in early eras, determinism (two worlds give the same eras, also after going back in time),
 * and, for the stock-universe generators, the persistence that makes the embargo matter:
 * one stock's targets are correlated at lag 1 and not at lag >= 5 (20-day) or >= 13
 * (60-day), and its features persist. The generators must also differ from each other. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data/synth_internal.h"
#include "eraformer/data.h"
#include "test.h"

enum { ET = 40, EV = 14, NF = 48, ROWS = 200, MAXLAG = 14 };

/* the documented bands of corr(target_<aux>_20, target), pooled over resolved eras */
static const double AUX_LO[EF_SYNTH_N_GENERATORS] = {0.20, 0.55, 0.55, 0.55};
static const double AUX_HI[EF_SYNTH_N_GENERATORS] = {0.75, 0.85, 0.85, 0.85};

static ef_synth_config config(int gen, uint64_t seed) {
    ef_synth_config c;
    ef_synth_config_default(&c);
    c.eras_train = ET;
    c.eras_validation = EV;
    c.rows_per_era = ROWS;
    c.n_features = NF;
    c.seed = seed;
    c.generator = (ef_synth_generator)gen;
    return c;
}

static size_t ceil_q(double q, size_t n) { return (size_t)ceil(q * (double)n - 1e-9); }

static void bin_counts(const double *q, size_t n, size_t *want) {
    want[0] = ceil_q(q[0], n);
    for (int l = 1; l < 4; l++) want[l] = ceil_q(q[l], n) - ceil_q(q[l - 1], n);
    want[4] = n - ceil_q(q[3], n);
}

/* pooled Pearson correlation accumulator */
typedef struct acc {
    double n, sx, sy, sxx, syy, sxy;
} acc;

static void acc_add(acc *a, double x, double y) {
    a->n++;
    a->sx += x;
    a->sy += y;
    a->sxx += x * x;
    a->syy += y * y;
    a->sxy += x * y;
}

static double acc_corr(const acc *a) {
    double cx = a->sxx - a->sx * a->sx / a->n, cy = a->syy - a->sy * a->sy / a->n;
    return (a->sxy - a->sx * a->sy / a->n) / sqrt(cx * cy);
}

static int col(const ef_dataset *ds, const char *name) {
    for (int t = 0; t < ds->n_targets; t++)
        if (!strcmp(ds->target_names[t], name)) return t;
    return -1;
}

/* layout statistics of one era: feature bins, target bins, NaN pattern; returns the number of
 * all-2 feature columns */
static int check_era_layout(const ef_dataset *ds, int e, int *bins_ok, int *tbins_ok, int *nan_ok) {
    size_t n = (size_t)ds->n_rows, F = (size_t)ds->n_features, T = (size_t)ds->n_targets;
    static const double fq[4] = {0.2, 0.4, 0.6, 0.8}, tq[4] = {0.05, 0.25, 0.75, 0.95};
    size_t fwant[5], twant[5];
    bin_counts(fq, n, fwant);
    bin_counts(tq, n, twant);
    int all2 = 0;
    for (size_t f = 0; f < F; f++) {
        size_t c[5] = {0};
        for (size_t i = 0; i < n; i++) {
            int8_t x = ds->X[i * F + f];
            if (x >= 0 && x <= 4) c[x]++;
            else *bins_ok = 0;
        }
        if (c[2] == n) {
            all2++;
            continue;
        }
        for (int l = 0; l < 5; l++) *bins_ok &= c[l] == fwant[l];
    }
    int from_end = ET + EV - e;
    for (size_t t = 0; t < T; t++) {
        const char *nm = ds->target_names[t];
        int h60 = strstr(nm, "_60") != NULL;
        int expect_nan = e >= ET + EV || (e >= ET && from_end <= (h60 ? 12 : 4)) ||
                         (strstr(nm, "jasper") && e < ET / 4);
        size_t c[5] = {0}, nans = 0;
        for (size_t i = 0; i < n; i++) {
            float y = ds->y[i * T + t];
            if (isnan(y)) {
                nans++;
                continue;
            }
            int l = (int)lroundf(y * 4);
            *tbins_ok &= y * 4 == (float)l && l >= 0 && l <= 4;
            if (l >= 0 && l <= 4) c[l]++;
        }
        int random_nan = strstr(nm, "agnes") || strstr(nm, "teager2b");
        if (expect_nan) *nan_ok &= nans == n;
        else if (random_nan) *nan_ok &= nans < n / 10;
        else {
            *nan_ok &= nans == 0;
            for (int l = 0; l < 5; l++) *tbins_ok &= c[l] == twant[l];
        }
    }
    return all2;
}

/* one era's (stock, target, target_ender_60) rows and mean feature level per row, by stock */
typedef struct stock_row {
    uint64_t stock;
    float t20, t60;
    int8_t x[NF];
} stock_row;

static int cmp_stock(const void *a, const void *b) {
    uint64_t x = ((const stock_row *)a)->stock, y = ((const stock_row *)b)->stock;
    return (x > y) - (x < y);
}

/* same-stock correlations between eras e and e-k (both sorted by stock) */
static void match(const stock_row *a, int na, const stock_row *b, int nb, acc *t20, acc *t60, acc *feat) {
    int i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i].stock < b[j].stock) i++;
        else if (a[i].stock > b[j].stock) j++;
        else {
            acc_add(t20, a[i].t20, b[j].t20);
            acc_add(t60, a[i].t60, b[j].t60);
            if (feat)
                for (int f = 0; f < NF; f++) acc_add(&feat[f], a[i].x[f], b[j].x[f]);
            i++;
            j++;
        }
    }
}

typedef struct gen_stats {
    int bins_ok, tbins_ok, nan_ok, main_eq;
    int all2_first, all2_last_train;
    acc aux[SYN_N_AUX];
    acc t20[MAXLAG + 1], t60[MAXLAG + 1];
    double feat_lag1;   /* mean same-stock lag-1 correlation of the features */
} gen_stats;

static void run_generator(int gen, gen_stats *gs, int8_t *first_X) {
    memset(gs, 0, sizeof *gs);
    gs->bins_ok = gs->tbins_ok = gs->nan_ok = gs->main_eq = 1;
    ef_synth_config c = config(gen, 11);
    ef_synth *s = NULL;
    ef_error err = {0};
    CHECK_OK(ef_synth_create(&s, &c, &err));
    if (!s) return;
    int n_eras = ef_synth_num_eras(s);
    stock_row *hist[ET + EV + 1] = {0};
    int nh[ET + EV + 1] = {0};
    acc feat[NF];
    memset(feat, 0, sizeof feat);
    ef_dataset ds;
    memset(&ds, 0, sizeof ds);
    for (int e = 0; e < n_eras; e++) {
        uint64_t *stock = NULL;
        ef_status st = gen == EF_SYNTH_FACTOR ? ef_synth_era(s, e, &ds, &err)
                                              : ef_synth_era_stocks(s, e, &ds, &stock, &err);
        CHECKF(st == EF_OK, "%s era %d: %s", ef_synth_generator_name(gen), e, err.msg);
        if (st) break;
        if (e == 0) memcpy(first_X, ds.X, (size_t)ROWS / 2 * NF);
        int all2 = check_era_layout(&ds, e, &gs->bins_ok, &gs->tbins_ok, &gs->nan_ok);
        if (e == 0) gs->all2_first = all2;
        if (e == ET - 1) gs->all2_last_train = all2;
        size_t n = (size_t)ds.n_rows, T = (size_t)ds.n_targets;
        int tm = col(&ds, "target"), te = col(&ds, "target_ender_20"), t60 = col(&ds, "target_ender_60");
        for (size_t i = 0; i < n; i++) {
            float y = ds.y[i * T + (size_t)tm];
            gs->main_eq &= (isnan(y) && isnan(ds.y[i * T + (size_t)te])) || y == ds.y[i * T + (size_t)te];
            for (int a = 0; a < SYN_N_AUX && !isnan(y); a++) {
                float ya = ds.y[i * T + 2 * (size_t)a];
                if (!isnan(ya)) acc_add(&gs->aux[a], ya, y);
            }
        }
        if (stock && e < ET) {
            hist[e] = malloc(n * sizeof(stock_row));
            nh[e] = (int)n;
            for (size_t i = 0; i < n; i++) {
                hist[e][i].stock = stock[i];
                hist[e][i].t20 = ds.y[i * T + (size_t)tm];
                hist[e][i].t60 = ds.y[i * T + (size_t)t60];
                memcpy(hist[e][i].x, ds.X + i * NF, NF);
            }
            qsort(hist[e], n, sizeof(stock_row), cmp_stock);
            for (int k = 1; k <= MAXLAG && k <= e; k++)
                match(hist[e], nh[e], hist[e - k], nh[e - k], &gs->t20[k], &gs->t60[k], k == 1 ? feat : NULL);
        }
        ef_free(stock);
    }
    double fsum = 0;
    int fn = 0;
    for (int f = 0; f < NF; f++)
        if (feat[f].n > 0) {
            double r = acc_corr(&feat[f]);
            if (!isnan(r)) fsum += r, fn++;
        }
    gs->feat_lag1 = fn ? fsum / fn : 0;
    for (int e = 0; e < ET + EV + 1; e++) free(hist[e]);
    ef_dataset_free(&ds);
    ef_synth_destroy(s);
}

static int eras_equal(const ef_dataset *a, const ef_dataset *b) {
    if (a->n_rows != b->n_rows || a->n_features != b->n_features || a->n_targets != b->n_targets) return 0;
    if (memcmp(a->X, b->X, (size_t)a->n_rows * (size_t)a->n_features)) return 0;
    for (int64_t i = 0; i < a->n_rows * a->n_targets; i++) {
        float x = a->y[i], y = b->y[i];
        if (!((isnan(x) && isnan(y)) || x == y)) return 0;
    }
    for (int64_t r = 0; r < a->n_rows; r++)
        if (strcmp(ef_dataset_id(a, r), ef_dataset_id(b, r))) return 0;
    return 1;
}

/* two worlds from the same config give the same eras, in order and after going back */
static void check_determinism(int gen) {
    ef_synth_config c = config(gen, 5);
    ef_synth *s1 = NULL, *s2 = NULL;
    ef_error err = {0};
    CHECK_OK(ef_synth_create(&s1, &c, &err));
    CHECK_OK(ef_synth_create(&s2, &c, &err));
    if (!s1 || !s2) return;
    ef_dataset a, b, back;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&back, 0, sizeof back);
    int same = 1;
    for (int e = 0; e < 12; e++) {
        CHECK_OK(ef_synth_era(s1, e, &a, &err));
        CHECK_OK(ef_synth_era(s2, e, &b, &err));
        same &= eras_equal(&a, &b);
        if (e == 3) CHECK_OK(ef_synth_era(s2, 3, &back, &err));
    }
    CHECKF(same, "%s: two runs differ", ef_synth_generator_name(gen));
    CHECK_OK(ef_synth_era(s1, 3, &a, &err));   /* back in time: replayed from era 0 */
    CHECKF(eras_equal(&a, &back), "%s: era 3 differs after going back", ef_synth_generator_name(gen));
    ef_dataset_free(&a);
    ef_dataset_free(&b);
    ef_dataset_free(&back);
    ef_synth_destroy(s1);
    ef_synth_destroy(s2);
}

static void check_generator(int gen, int8_t *first_X) {
    const char *name = ef_synth_generator_name(gen);
    gen_stats *gs = calloc(1, sizeof *gs);
    run_generator(gen, gs, first_X);
    CHECKF(gs->bins_ok, "%s: feature bins", name);
    CHECKF(gs->tbins_ok, "%s: target bins", name);
    CHECKF(gs->nan_ok, "%s: NaN pattern", name);
    CHECKF(gs->main_eq, "%s: target != target_ender_20", name);
    /* 6% of 48 features start late (all 2 before their start era); outages are rare */
    CHECKF(gs->all2_first >= 3 && gs->all2_last_train < gs->all2_first, "%s: all-2 columns %d -> %d", name,
           gs->all2_first, gs->all2_last_train);
    static const char *aux[] = {"agnes", "bravo", "cyrusd", "ender", "jasper", "teager2b"};
    for (int a = 0; a < SYN_N_AUX; a++) {
        if (a == 3) continue;   /* ender is target */
        double r = acc_corr(&gs->aux[a]);
        printf("%-9s corr(target_%s_20, target) = %.3f\n", name, aux[a], r);
        CHECKF(r >= AUX_LO[gen] && r <= AUX_HI[gen], "%s: corr(target_%s_20, target) = %.3f", name, aux[a], r);
    }
    if (gen != EF_SYNTH_FACTOR) {
        double r[MAXLAG + 1], r60[MAXLAG + 1];
        for (int k = 1; k <= MAXLAG; k++) {
            r[k] = acc_corr(&gs->t20[k]);
            r60[k] = acc_corr(&gs->t60[k]);
        }
        printf("%-9s same-stock autocorr target  lag 1..6: %.3f %.3f %.3f %.3f %.3f %.3f\n", name, r[1], r[2],
               r[3], r[4], r[5], r[6]);
        printf("%-9s same-stock autocorr ender60 lag 1,6,11,13,14: %.3f %.3f %.3f %.3f %.3f; features lag 1: %.3f\n",
               name, r60[1], r60[6], r60[11], r60[13], r60[14], gs->feat_lag1);
        CHECKF(r[1] > 0.3 && r[2] > r[3] && r[3] > 0.1, "%s: 20-day lag 1..3 %.3f %.3f %.3f", name, r[1], r[2], r[3]);
        for (int k = 5; k <= 7; k++) CHECKF(fabs(r[k]) < 0.1, "%s: 20-day lag %d %.3f", name, k, r[k]);
        CHECKF(r60[1] > 0.6 && r60[6] > 0.25, "%s: 60-day lag 1 %.3f, 6 %.3f", name, r60[1], r60[6]);
        for (int k = 13; k <= 14; k++) CHECKF(fabs(r60[k]) < 0.1, "%s: 60-day lag %d %.3f", name, k, r60[k]);
        CHECKF(gs->feat_lag1 > 0.3, "%s: features lag-1 %.3f", name, gs->feat_lag1);
    }
    free(gs);
    check_determinism(gen);
}

/* ef_synth_write for a zoo generator: byte-identical files twice */
static void check_files(void) {
    char d1[512], d2[512];
    snprintf(d1, sizeof d1, "%s/test_zoo_%ld_a", EF_BINARY_DIR, (long)getpid());
    snprintf(d2, sizeof d2, "%s/test_zoo_%ld_b", EF_BINARY_DIR, (long)getpid());
    mkdir(d1, 0777);
    mkdir(d2, 0777);
    ef_synth_config c = config(EF_SYNTH_DRIFT, 3);
    c.eras_train = 8;
    c.eras_validation = 4;
    ef_error err = {0};
    CHECK_OK(ef_synth_write(&c, d1, NULL, NULL, &err));
    CHECK_OK(ef_synth_write(&c, d2, NULL, NULL, &err));
    const char *files[] = {"train.parquet", "validation.parquet", "live.parquet", "features.json"};
    for (int i = 0; i < 4; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/%s", d1, files[i]);
        snprintf(b, sizeof b, "%s/%s", d2, files[i]);
        char *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        int eq = !ef_file_read_all(a, &x, &nx, NULL) && !ef_file_read_all(b, &y, &ny, NULL) && nx == ny &&
                 !memcmp(x, y, nx);
        CHECKF(eq, "%s differs between runs", files[i]);
        free(x);
        free(y);
        unlink(a);
        unlink(b);
    }
    rmdir(d1);
    rmdir(d2);
    /* allocation failures while generating: an error, never a crash or a leak (ASan) */
    c.eras_train = 3;
    c.eras_validation = 1;
    c.rows_per_era = 20;
    c.n_features = 8;
    int fails = 0;
    for (int g = 1; g < EF_SYNTH_N_GENERATORS; g++) {
        c.generator = (ef_synth_generator)g;
        for (long k = 1; k < 120; k += 2) {
            ef_synth *s = NULL;
            ef_dataset ds;
            memset(&ds, 0, sizeof ds);
            ef_alloc_fail_after(k);
            ef_status st = ef_synth_create(&s, &c, NULL);
            if (!st) st = ef_synth_era(s, 2, &ds, NULL);
            ef_alloc_fail_after(0);
            fails += st != EF_OK;
            CHECK(st == EF_OK || st == EF_ERR_NOMEM);
            ef_dataset_free(&ds);
            ef_synth_destroy(s);
        }
    }
    CHECK(fails > 30);
}

int main(void) {
    /* names */
    CHECK(!strcmp(ef_synth_generator_name(0), "factor") && !strcmp(ef_synth_generator_name(3), "weak"));
    CHECK(ef_synth_generator_name(EF_SYNTH_N_GENERATORS) == NULL && ef_synth_generator_name(-1) == NULL);
    for (int g = 0; g < EF_SYNTH_N_GENERATORS; g++)
        CHECK(ef_synth_generator_from_name(ef_synth_generator_name(g)) == g);
    CHECK(ef_synth_generator_from_name("bogus") == -1 && ef_synth_generator_from_name(NULL) == -1);
    ef_synth_config d;
    ef_synth_config_default(&d);
    CHECK(d.generator == EF_SYNTH_FACTOR);
    ef_synth_config bad = config(EF_SYNTH_N_GENERATORS, 1);
    ef_synth *s = NULL;
    ef_error err = {0};
    CHECK(ef_synth_create(&s, &bad, &err) == EF_ERR_INVALID && strstr(err.msg, "generator"));
    ef_synth_config fac = config(EF_SYNTH_FACTOR, 1);
    CHECK_OK(ef_synth_create(&s, &fac, &err));
    uint64_t *stock = NULL;
    ef_dataset ds;
    memset(&ds, 0, sizeof ds);
    CHECK(s && ef_synth_era_stocks(s, 0, &ds, &stock, &err) == EF_ERR_INVALID && !stock);
    ef_synth_destroy(s);

    static int8_t first[EF_SYNTH_N_GENERATORS][ROWS / 2 * NF];
    for (int g = 0; g < EF_SYNTH_N_GENERATORS; g++) check_generator(g, first[g]);
    /* the generators are different worlds: their first train eras differ */
    for (int g = 0; g < EF_SYNTH_N_GENERATORS; g++)
        for (int h = g + 1; h < EF_SYNTH_N_GENERATORS; h++) {
            int differ = 0;
            for (size_t i = 0; i < sizeof first[0]; i++) differ += first[g][i] != first[h][i];
            CHECKF(differ > (int)sizeof first[0] / 2, "%s vs %s: %d of %zu cells differ", ef_synth_generator_name(g),
                   ef_synth_generator_name(h), differ, sizeof first[0]);
        }
    check_files();
    TEST_MAIN_END;
}
