/* The predict pipeline (ef_numerai_model_load, ef_numerai_data_load, ef_numerai_context_load,
 * ef_numerai_predict) on synthetic eras with small fresh models saved with their contracts:
 * the same inputs and seed give the same bits, 1 and 2 threads give the same bits (the rows
 * cache's parallel loop runs with 2), another seed or ensemble size other predictions, every
 * era ranked into (0, 1]; a two-model ensemble; reading only the newest eras of the context
 * for live data changes nothing; models that read different inputs, context without the
 * model's target and eras without allowed context are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eraformer/numerai.h"
#include "test.h"

#define DIR "test_numerai_predict_tmp"

static ef_error err;

/* A fresh model over the features of ds saved with a contract at path. */
static void make_model(const char *path, const ef_dataset *ds, int read_in, int n_feat, uint64_t seed, double fdrop) {
    ef_model_config def = {EF_LAYOUT_ROWS, 1, 16, 2, 8, 48, 0};
    ef_model *m = NULL;
    CHECK(ef_numerai_net_create(&m, NULL, read_in, n_feat, &def, 48, 1, seed, &err) == EF_OK);
    static char *tn[] = {"target"};
    static double tw[] = {1.0};
    ef_numerai_contract c;
    memset(&c, 0, sizeof c);
    c.read_in = read_in;
    c.n_feat = n_feat;
    c.features = ds->feature_names;
    c.targets = (ef_numerai_targets){1, tn, tw};
    c.embargo = 4;
    c.context_rows = 40;
    c.members = 3;
    c.seed = seed;
    c.feature_dropout = fdrop;
    c.transform = EF_FT_RANKGAUSS;
    ef_train_state st;
    memset(&st, 0, sizeof st);
    CHECK(ef_numerai_checkpoint_save(m, path, &st, &c, &err) == EF_OK);
    ef_model_destroy(m);
}

/* Predictions of spec on data with context files ctx (o may be NULL); pred ef_malloc'd. */
static ef_status predict(const char *spec, const char *data, const char *const *ctx, int n_ctx,
                         const ef_numerai_predict_opts *o, double **pred, int64_t *n, ef_dataset *keep_q) {
    ef_numerai_model *nm = NULL;
    ef_dataset q = {0}, c = {0};
    *pred = NULL;
    ef_status s = ef_numerai_model_load(&nm, spec, &err);
    if (!s) s = ef_numerai_data_load(nm, &data, 1, &q, &err);
    if (!s) s = ef_numerai_context_load(nm, &q, o, ctx, n_ctx, &c, &err);
    if (!s) {
        *n = q.n_rows;
        *pred = ef_malloc((size_t)q.n_rows * sizeof(double));
        s = ef_numerai_predict(nm, &q, &c, o, *pred, &err);
    }
    if (keep_q && !s) {
        *keep_q = q;
        memset(&q, 0, sizeof q);
    }
    ef_dataset_free(&q);
    ef_dataset_free(&c);
    ef_numerai_model_destroy(nm);
    return s;
}

static int same_bits(const double *a, const double *b, int64_t n) { return !memcmp(a, b, (size_t)n * sizeof(double)); }

int main(void) {
    CHECK(system("rm -rf " DIR " && mkdir -p " DIR) == 0);
    ef_synth_config sc;
    ef_synth_config_default(&sc);
    sc.eras_train = 24;
    sc.eras_validation = 6;
    sc.rows_per_era = 60;
    sc.n_features = 12;
    CHECK(ef_synth_write(&sc, DIR, NULL, NULL, &err) == EF_OK);
    const char *ctx[] = {DIR "/train.parquet", DIR "/validation.parquet"};
    ef_dataset tr = {0};
    CHECK(ef_dataset_load(&tr, ctx, 1, NULL, &err) == EF_OK);
    make_model(DIR "/a.st", &tr, EF_NUMERAI_READIN_WIDE, tr.n_features, 1, 0.0);
    make_model(DIR "/b.st", &tr, EF_NUMERAI_READIN_WIDE, tr.n_features, 2, 0.0);
    make_model(DIR "/s.st", &tr, EF_NUMERAI_READIN_SUBSET, tr.n_features, 3, 0.0);   /* 8 of 12 per member */
    make_model(DIR "/f.st", &tr, EF_NUMERAI_READIN_WIDE, tr.n_features - 1, 4, 0.0); /* other inputs */
    ef_dataset_free(&tr);

    double *p1, *p2, *p3;
    int64_t n = 0, n2 = 0;
    ef_numerai_predict_opts o1, o2;
    ef_numerai_predict_opts_init(&o1);
    ef_numerai_predict_opts_init(&o2);
    o1.threads = 1;
    o2.threads = 2;
    const char *specs[] = {DIR "/a.st", DIR "/s.st", DIR "/a.st," DIR "/b.st"};
    for (int k = 0; k < 3; k++) {
        ef_dataset q = {0};
        CHECKF(predict(specs[k], DIR "/validation.parquet", ctx, 2, &o1, &p1, &n, &q) == EF_OK, "%s", err.msg);
        CHECK(predict(specs[k], DIR "/validation.parquet", ctx, 2, &o1, &p2, &n2, NULL) == EF_OK && n2 == n);
        CHECKF(same_bits(p1, p2, n), "%s: not deterministic", specs[k]);
        ef_free(p2);
        CHECK(predict(specs[k], DIR "/validation.parquet", ctx, 2, &o2, &p2, &n2, NULL) == EF_OK && n2 == n);
        CHECKF(same_bits(p1, p2, n), "%s: 1 and 2 threads differ", specs[k]);
        ef_free(p2);
        /* every era ranked into (0, 1], its top row exactly 1 */
        int ok = q.n_eras == 6;
        for (int e = 0; e < q.n_eras; e++) {
            double mx = 0;
            for (int64_t r = q.eras[e].start; r < q.eras[e].start + q.eras[e].count; r++) {
                ok &= p1[r] > 0 && p1[r] <= 1;
                mx = fmax(mx, p1[r]);
            }
            ok &= mx == 1.0;
        }
        CHECKF(ok, "%s: predictions not ranked per era", specs[k]);
        /* another seed, another ensemble size: other predictions */
        ef_numerai_predict_opts o3 = o1;
        o3.has_seed = 1;
        o3.seed = 99;
        CHECK(predict(specs[k], DIR "/validation.parquet", ctx, 2, &o3, &p3, &n2, NULL) == EF_OK && !same_bits(p1, p3, n));
        ef_free(p3);
        o3 = o1;
        o3.members = 1;
        CHECK(predict(specs[k], DIR "/validation.parquet", ctx, 2, &o3, &p3, &n2, NULL) == EF_OK && !same_bits(p1, p3, n));
        ef_free(p3);
        if (k == 2) {   /* the ensemble differs from its first model */
            CHECK(predict(specs[0], DIR "/validation.parquet", ctx, 2, &o1, &p3, &n2, NULL) == EF_OK &&
                  !same_bits(p1, p3, n));
            ef_free(p3);
        }
        ef_free(p1);
        ef_dataset_free(&q);
    }

    /* live with a window: the context loader reads the newest window + 32 eras only, and the
     * predictions are those of a run with all of them */
    ef_numerai_predict_opts ow;
    ef_numerai_predict_opts_init(&ow);
    ow.window = 3;
    CHECK(predict(specs[0], DIR "/live.parquet", ctx, 2, &ow, &p1, &n, NULL) == EF_OK && n > 10);
    ef_numerai_model *nm = NULL;
    CHECK(ef_numerai_model_load(&nm, specs[0], &err) == EF_OK);
    ef_dataset q = {0}, c = {0};
    const char *live = DIR "/live.parquet";
    CHECK(ef_numerai_data_load(nm, &live, 1, &q, &err) == EF_OK);
    CHECK(ef_numerai_context_load(nm, NULL, &ow, ctx, 2, &c, &err) == EF_OK && c.n_eras == 30);   /* all */
    p2 = ef_malloc((size_t)n * sizeof(double));
    CHECK(ef_numerai_predict(nm, &q, &c, &ow, p2, &err) == EF_OK && same_bits(p1, p2, n));
    ef_dataset_free(&c);
    CHECK(ef_numerai_context_load(nm, &q, &ow, ctx, 2, &c, &err) == EF_OK && c.n_eras == 30);   /* 3 + 32 > 30 */
    ef_dataset_free(&c);
    ef_free(p1);
    ef_free(p2);

    /* errors: context without the model's target; an era without allowed context */
    ef_dataset nt = {0};
    ef_load_options lo = {0};
    lo.no_targets = 1;
    CHECK(ef_dataset_load(&nt, ctx, 1, &lo, &err) == EF_OK);
    double *pp = ef_malloc((size_t)q.n_rows * sizeof(double));
    err.msg[0] = 0;
    CHECK(ef_numerai_predict(nm, &q, &nt, NULL, pp, &err) == EF_ERR_INVALID && strstr(err.msg, "target"));
    ef_dataset_free(&nt);
    ef_dataset_free(&q);
    const char *val = DIR "/validation.parquet", *only_val[] = {DIR "/validation.parquet"};
    CHECK(ef_numerai_data_load(nm, &val, 1, &q, &err) == EF_OK);
    CHECK(ef_numerai_context_load(nm, &q, NULL, only_val, 1, &c, &err) == EF_OK);
    ef_free(pp);
    pp = ef_malloc((size_t)q.n_rows * sizeof(double));
    err.msg[0] = 0;
    CHECK(ef_numerai_predict(nm, &q, &c, NULL, pp, &err) == EF_ERR_INVALID && strstr(err.msg, "no resolved context"));
    ef_free(pp);
    ef_dataset_free(&q);
    ef_dataset_free(&c);
    CHECK(ef_numerai_model_count(nm) == 1 && !strcmp(ef_numerai_model_path(nm, 0), specs[0]) &&
          ef_numerai_model_contract(nm, 0)->members == 3 && ef_numerai_model_contract(nm, 1) == NULL);
    ef_numerai_model_destroy(nm);

    /* models that read different inputs; a missing file; an empty spec */
    nm = (ef_numerai_model *)&err;
    CHECK(ef_numerai_model_load(&nm, DIR "/a.st," DIR "/f.st", &err) == EF_ERR_INVALID && nm == NULL &&
          strstr(err.msg, "f.st"));
    CHECK(ef_numerai_model_load(&nm, DIR "/nope.st", &err) == EF_ERR_IO && nm == NULL);
    CHECK(ef_numerai_model_load(&nm, ",", &err) == EF_ERR_INVALID);
    TEST_MAIN_END;
}
