/* finetune's data and loader (ef_numerai_ft_*, ef_numerai_loader_*) on synthetic eras: query
 * eras are resolved train eras, selection eras validation eras; --holdout-eras selects exactly
 * the N newest train eras (sorted here) and keeps query eras the embargo before them, without
 * reading the validation file; era_every and eval_eras thin the lists as documented; the
 * loader's batch of step s on rank q of P is tasks (s·P + q)·B + b of the stream, whatever the
 * order the steps are asked in; the selection CORR is the mean of per-era scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eraformer/metrics.h"
#include "eraformer/numerai.h"
#include "test.h"

#define DIR "test_numerai_ft_data_tmp"

static ef_error err;

static ef_numerai_ft_opts base_opts(void) {
    ef_numerai_ft_opts o = {DIR "/train.parquet", DIR "/validation.parquet", DIR "/features.json", "all", "target",
                            "target", 0, 4, 0, 32, 1, 0, 0, EF_FT_RANKGAUSS};
    return o;
}

static int era_num(const ef_numerai_ft_data *d, int e) { return d->ds.eras[e].num; }
static int era_type(const ef_numerai_ft_data *d, int e) { return d->ds.row_type[d->ds.eras[e].start]; }

static int cmp_desc(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

static void test_validation_eras(ef_numerai_ft_data *d) {
    ef_numerai_ft_opts o = base_opts();
    CHECKF(ef_numerai_ft_load(d, &o, NULL, &err) == EF_OK, "%s", err.msg);
    CHECK(d->n_q > 0 && d->n_v > 0 && d->embargo == 4);
    for (int i = 0; i < d->n_q; i++) {
        CHECK(era_type(d, d->q_eras[i]) == EF_DT_TRAIN && d->tasks.era_resolved[d->q_eras[i]]);
        if (i) CHECK(era_num(d, d->q_eras[i]) > era_num(d, d->q_eras[i - 1]));
    }
    for (int i = 0; i < d->n_v; i++) CHECK(era_type(d, d->v_eras[i]) == EF_DT_VALIDATION);
    /* era_every 3 keeps every third query era, eval_eras 2 the two newest selection eras */
    ef_numerai_ft_data t;
    o.era_every = 3;
    o.eval_eras = 2;
    CHECK(ef_numerai_ft_load(&t, &o, NULL, &err) == EF_OK);
    CHECK(t.n_q == (d->n_q + 2) / 3 && t.n_v == 2);
    for (int i = 0; i < t.n_q; i++) CHECK(t.q_eras[i] == d->q_eras[3 * i]);
    CHECK(t.v_eras[0] == d->v_eras[d->n_v - 2] && t.v_eras[1] == d->v_eras[d->n_v - 1]);
    ef_numerai_ft_free(&t);
    /* more context than any era has behind the embargo: refused, saying what to change */
    o = base_opts();
    o.context_rows = 1 << 20;
    CHECK(ef_numerai_ft_load(&t, &o, NULL, &err) == EF_ERR_INVALID && strstr(err.msg, "--context-rows"));
    ef_numerai_ft_free(&t);
    ef_trainer_dist two = {0, 2, NULL, NULL, NULL, NULL, NULL};
    CHECK(ef_numerai_ft_load(&t, &o, &two, &err) == EF_ERR_INVALID && strstr(err.msg, "gather"));
    ef_numerai_ft_free(&t);
}

static void test_holdout(void) {
    ef_numerai_ft_opts o = base_opts();
    o.validation = DIR "/no_such_file.parquet";   /* not read */
    o.holdout = 5;
    ef_numerai_ft_data d;
    CHECKF(ef_numerai_ft_load(&d, &o, NULL, &err) == EF_OK, "%s", err.msg);
    int nums[256], n = 0;
    for (int e = 0; e < d.ds.n_eras && n < 256; e++) {
        CHECK(era_type(&d, e) == EF_DT_TRAIN);
        nums[n++] = era_num(&d, e);
    }
    qsort(nums, (size_t)n, sizeof(int), cmp_desc);
    int h0 = nums[4];
    CHECK(d.n_v == 5);
    for (int i = 0; i < d.n_v; i++) CHECK(era_num(&d, d.v_eras[i]) == nums[4 - i]);
    for (int i = 0; i < d.n_q; i++) CHECK(era_num(&d, d.q_eras[i]) <= h0 - d.embargo);
    ef_numerai_ft_free(&d);
    o.holdout = 1000;
    CHECK(ef_numerai_ft_load(&d, &o, NULL, &err) == EF_ERR_INVALID && strstr(err.msg, "holdout"));
    ef_numerai_ft_free(&d);
}

static void test_loader(const ef_numerai_ft_data *d) {
    enum { B = 3, C = 32, Q = 16, Dm = 12, K = C + Q };
    for (int ranks = 1; ranks <= 2; ranks++) {
        int rank = ranks - 1;
        ef_numerai_loader_opts lo = {B, EF_NUMERAI_READIN_WIDE, Dm, C, Q, d->embargo, 0, 0.2, 9, rank, ranks};
        ef_numerai_loader *L = NULL;
        CHECK(ef_numerai_loader_create(&L, d, &lo, &err) == EF_OK);
        static float x[K * Dm], y[K];
        static uint8_t m[K * Dm];
        const long steps[] = {5, 2, 3};
        for (int i = 0; i < 3; i++) {
            const ef_numerai_batch *bt = NULL;
            ef_numerai_loader_start(L, steps[i]);
            CHECK(ef_numerai_loader_take(L, &bt, &err) == EF_OK);
            for (int b = 0; b < B; b++) {
                int dd = 0;
                uint64_t idx = ((uint64_t)steps[i] * ranks + rank) * B + b;
                CHECK(ef_numerai_task_sample(&d->tasks, d->q_eras, d->n_q, EF_NUMERAI_READIN_WIDE, Dm, C, Q, d->embargo, 0,
                                             0.2, 9, idx, x, y, m, &dd, &err) == EF_OK);
                CHECK(!memcmp(x, bt->x + (size_t)b * K * Dm, sizeof x) && !memcmp(y, bt->y + (size_t)b * K, sizeof y) &&
                      !memcmp(m, bt->mask + (size_t)b * K * Dm, sizeof m) && dd == bt->d[b]);
            }
        }
        CHECK(ef_numerai_loader_wait_s(L) >= 0);
        ef_numerai_loader_start(L, 7);   /* destroy joins a running sample */
        ef_numerai_loader_destroy(L);
    }
    ef_numerai_loader_opts bad = {0, EF_NUMERAI_READIN_WIDE, Dm, C, Q, 4, 0, 0, 9, 0, 1};
    ef_numerai_loader *L = NULL;
    CHECK(ef_numerai_loader_create(&L, d, &bad, &err) == EF_ERR_INVALID && !L);
    ef_numerai_loader_destroy(NULL);
}

static void test_evaluate(ef_numerai_ft_data *d) {
    ef_model_config def = {EF_LAYOUT_ROWS, 1, 16, 2, 8, 48, 0};
    ef_model *m = NULL;
    ef_rows_cache *cache = NULL;
    CHECK(ef_numerai_net_create(&m, NULL, EF_NUMERAI_READIN_WIDE, d->tasks.n_cols, &def, 48, 2, 3, &err) == EF_OK);
    CHECK(ef_rows_cache_create(&cache, m, 32, &err) == EF_OK);
    ef_numerai_era_opts po = {EF_NUMERAI_READIN_WIDE, 2, 32, d->embargo, 0, 5, 0};
    double mean = 0, sd = 0, sum = 0, ss = 0;
    int n = 0, k = 0;
    CHECK(ef_numerai_ft_evaluate(d, m, cache, &po, NULL, &mean, &sd, &n, &err) == EF_OK);
    /* the oracle: each era by itself, then a plain mean */
    for (int i = 0; i < d->n_v; i++) {
        const ef_era *er = &d->ds.eras[d->v_eras[i]];
        double *p = malloc((size_t)er->count * sizeof(double)), *t = malloc((size_t)er->count * sizeof(double));
        CHECK(ef_numerai_era_predict(m, cache, &d->tasks, &d->tasks, d->v_eras[i], &po, p, &err) == EF_OK);
        size_t c = 0;
        for (int64_t j = 0; j < er->count; j++) {
            double v = d->ds.y[(size_t)(er->start + j) * d->ds.n_targets + d->eval_col];
            if (!isnan(v)) {
                p[c] = p[j];
                t[c++] = v;
            }
        }
        double v;
        if (ef_metrics_numerai_corr(&v, p, t, c, NULL, NULL) == EF_OK && isfinite(v)) {
            sum += v;
            ss += v * v;
            k++;
        }
        free(p);
        free(t);
    }
    CHECK(n == k && k > 1);
    CHECK_NEAR(mean, sum / k, 1e-12, 1e-9);
    CHECK(sd > 0 && isfinite(sd));
    ef_rows_cache_destroy(cache);
    ef_model_destroy(m);
}

int main(void) {
    CHECK(system("rm -rf " DIR " && mkdir -p " DIR) == 0);
    ef_synth_config sc;
    ef_synth_config_default(&sc);
    sc.eras_train = 30;
    sc.eras_validation = 8;
    sc.rows_per_era = 60;
    sc.n_features = 12;
    CHECK(ef_synth_write(&sc, DIR, NULL, NULL, &err) == EF_OK);
    ef_numerai_ft_data d;
    test_validation_eras(&d);
    test_holdout();
    test_loader(&d);
    test_evaluate(&d);
    ef_numerai_ft_free(&d);
    CHECK(system("rm -rf " DIR) == 0);
    TEST_MAIN_END;
}
