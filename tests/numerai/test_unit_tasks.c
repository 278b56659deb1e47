/* Task sampling for finetune (ef_numerai_task_sample) on synthetic eras: the query rows of a
 * task come from one query era, its context rows from eras at least the embargo before it
 * (and, with a window, the newest W of those), without repeats; the task is a pure function
 * of (seed, task index). Each row's label here encodes its era and row (era + row/1000), so
 * the sampled labels say where every row came from. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eraformer/numerai.h"
#include "test.h"

#define DIR "test_numerai_tasks_tmp"

enum { NCTX = 48, NQ = 16, K = NCTX + NQ, DMAX = 16 };

static ef_dataset ds;
static float *ylab;
static ef_tasks tasks;

static void setup(void) {
    CHECK(system("rm -rf " DIR " && mkdir -p " DIR) == 0);
    ef_synth_config sc;
    ef_synth_config_default(&sc);
    sc.eras_train = 30;
    sc.eras_validation = 4;
    sc.rows_per_era = 40;
    sc.n_features = 12;
    ef_error err = {0};
    CHECK(ef_synth_write(&sc, DIR, NULL, NULL, &err) == EF_OK);
    const char *paths[] = {DIR "/train.parquet"};
    CHECK(ef_dataset_load(&ds, paths, 1, NULL, &err) == EF_OK);
    ylab = malloc((size_t)ds.n_rows * sizeof(float));
    for (int e = 0; e < ds.n_eras; e++)
        for (int64_t i = 0; i < ds.eras[e].count; i++) ylab[ds.eras[e].start + i] = (float)(ds.eras[e].num + i / 1000.0);
    CHECK(ef_tasks_init(&tasks, &ds, ds.feature_names, ds.n_features, ylab, &err) == EF_OK);
}

/* Samples tasks and checks the embargo and window rules on every one. */
static void check_rules(int read_in, int embargo, int window, double fdrop) {
    /* wide: the model reads every feature; subset: 8 of the 12 */
    int D = read_in == EF_NUMERAI_READIN_WIDE ? ds.n_features : 8;
    int q_eras[64], nq = 0;
    int emb = embargo > 1 ? embargo : 1;
    for (int e = 0; e < ds.n_eras; e++)   /* query eras with enough context behind the embargo */
        if (ds.eras[e].num - ds.eras[0].num >= emb + 2) q_eras[nq++] = e;
    CHECK(nq > 5);
    float x[K * DMAX], y[K], x2[K * DMAX], y2[K];
    uint8_t m[K * DMAX], m2[K * DMAX];
    int bad_query = 0, bad_ctx = 0, dup = 0, bad_window = 0, n_masked = 0;
    for (uint64_t ti = 0; ti < 200; ti++) {
        int d = 0;
        ef_error err = {0};
        ef_status s = ef_numerai_task_sample(&tasks, q_eras, nq, read_in, D, NCTX, NQ, embargo, window, fdrop, 11, ti, x, y,
                                             m, &d, &err);
        CHECKF(s == EF_OK, "task %llu: %s", (unsigned long long)ti, err.msg);
        if (s) return;
        CHECK(d == D);
        int q = (int)floorf(y[NCTX]);
        for (int i = NCTX; i < K; i++) bad_query += (int)floorf(y[i]) != q;
        for (int i = 0; i < NCTX; i++) {
            int c = (int)floorf(y[i]);
            bad_ctx += c > q - emb;
            if (window > 0) bad_window += c <= q - emb - window;
            for (int j = 0; j < i; j++) dup += y[j] == y[i];
        }
        for (int i = 0; i < K * D; i++) n_masked += !m[i];
        /* a pure function of (seed, index) */
        int dd = 0;
        CHECK(ef_numerai_task_sample(&tasks, q_eras, nq, read_in, D, NCTX, NQ, embargo, window, fdrop, 11, ti, x2, y2, m2,
                                     &dd, &err) == EF_OK);
        CHECK(dd == d && !memcmp(x, x2, (size_t)K * D * sizeof(float)) && !memcmp(y, y2, sizeof y) &&
              !memcmp(m, m2, (size_t)K * D));
    }
    CHECKF(bad_query == 0 && bad_ctx == 0 && dup == 0 && bad_window == 0,
           "embargo %d window %d: %d query rows from another era, %d context rows inside the embargo, %d repeated, "
           "%d outside the window", embargo, window, bad_query, bad_ctx, dup, bad_window);
    if (fdrop > 0) CHECK(n_masked > 0);
    /* another seed samples other tasks */
    int d = 0;
    CHECK(ef_numerai_task_sample(&tasks, q_eras, nq, read_in, D, NCTX, NQ, embargo, window, fdrop, 11, 0, x, y, m, &d,
                                 NULL) == EF_OK);
    CHECK(ef_numerai_task_sample(&tasks, q_eras, nq, read_in, D, NCTX, NQ, embargo, window, fdrop, 12, 0, x2, y2, m2, &d,
                                 NULL) == EF_OK);
    CHECK(memcmp(y, y2, sizeof y) != 0);
}

static void test_rules_against_allowed_eras(void) {
    /* the helper the sampler relies on: allowed eras end max(embargo, 1) before the query */
    int out[64];
    int n = ef_tasks_context_eras(&tasks, ds.eras[20].num, 4, 0, out);
    CHECK(n == 20 - 4 + 1 - 0 && ds.eras[out[n - 1]].num == ds.eras[20].num - 4);
    n = ef_tasks_context_eras(&tasks, ds.eras[20].num, 0, 0, out);
    CHECK(ds.eras[out[n - 1]].num == ds.eras[20].num - 1);
    n = ef_tasks_context_eras(&tasks, ds.eras[20].num, 4, 3, out);
    CHECK(n == 3 && ds.eras[out[0]].num == ds.eras[20].num - 6);
}

int main(void) {
    setup();
    test_rules_against_allowed_eras();
    check_rules(EF_NUMERAI_READIN_WIDE, 8, 0, 0.0);
    check_rules(EF_NUMERAI_READIN_WIDE, 0, 0, 0.3);
    check_rules(EF_NUMERAI_READIN_SUBSET, 4, 3, 0.0);
    check_rules(EF_NUMERAI_READIN_WIDE, 12, 5, 0.0);
    ef_tasks_free(&tasks);
    ef_dataset_free(&ds);
    free(ylab);
    TEST_MAIN_END;
}
