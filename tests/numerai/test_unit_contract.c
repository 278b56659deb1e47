/* The input contract: JSON round trip of every field, checkpoint write/read (embedded in the
 * safetensors header; the header-only read agrees with the full load), an older two-file
 * model (no embedded contract, sidecar MODEL.json) and malformed contracts refused with the
 * field named. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "eraformer/numerai.h"
#include "test.h"

#define DIR "test_numerai_contract_tmp"

static char *feats[] = {"feature_a", "feature_b", "feature_c"};
static char *tnames[] = {"target", "target_jasper_60"};
static double tw[] = {1.0, 0.5};
static int goff[] = {0, 2, 3}, gidx[] = {0, 2, 1};

static ef_numerai_contract sample(void) {
    ef_numerai_contract c;
    memset(&c, 0, sizeof c);
    c.read_in = EF_NUMERAI_READIN_SUBSET;
    c.n_feat = 3;
    c.features = feats;
    c.targets = (ef_numerai_targets){2, tnames, tw};
    c.embargo = 16;
    c.window = 5;
    c.context_rows = 128;
    c.members = 3;
    c.seed = 18446744073709551557ull;   /* beyond a double's exact integers: kept as text */
    c.feature_dropout = 0.25;
    c.best_corr = 0.0123;
    c.best_step = 42;
    c.transform = EF_FT_RANKGAUSS;
    c.n_groups = 2;
    c.group_off = goff;
    c.group_idx = gidx;
    return c;
}

static int same(const ef_numerai_contract *a, const ef_numerai_contract *b) {
    int ok = a->read_in == b->read_in && a->n_feat == b->n_feat && a->targets.n == b->targets.n &&
             a->embargo == b->embargo && a->window == b->window && a->context_rows == b->context_rows &&
             a->members == b->members && a->seed == b->seed && a->feature_dropout == b->feature_dropout &&
             fabs(a->best_corr - b->best_corr) < 1e-12 && a->best_step == b->best_step &&
             a->transform == b->transform && a->n_groups == b->n_groups;
    for (int i = 0; ok && i < a->n_feat; i++) ok = !strcmp(a->features[i], b->features[i]);
    for (int i = 0; ok && i < a->targets.n; i++)
        ok = !strcmp(a->targets.names[i], b->targets.names[i]) && a->targets.w[i] == b->targets.w[i];
    for (int g = 0; ok && g <= a->n_groups; g++) ok = a->group_off[g] == b->group_off[g];
    for (int i = 0; ok && i < a->group_off[a->n_groups]; i++) ok = a->group_idx[i] == b->group_idx[i];
    return ok;
}

static void test_json_round_trip(void) {
    ef_numerai_contract c = sample(), back;
    ef_error err = {0};
    char *text = NULL;
    CHECK(ef_numerai_contract_to_json(&c, &text, &err) == EF_OK && text);
    CHECK(strstr(text, "eraformer-finetune-1") != NULL);
    CHECK(ef_numerai_contract_parse(&back, text, strlen(text), "mem", &err) == EF_OK);
    CHECK(same(&c, &back));
    ef_numerai_contract_free(&back);
    CHECK(back.features == NULL && back.n_feat == 0);
    ef_free(text);
}

static void test_malformed(void) {
    static const struct {
        const char *text, *field;
    } bad[] = {
        {"[1]", "not a JSON object"},
        {"1{}", "not a JSON object"},
        {"{\"read_in\":\"wide\",\"features\":[\"f\"],\"targets\":{\"t\":1}}", "seed"},
        {"{\"read_in\":\"wide\",\"features\":[\"f\"],\"targets\":{\"t\":1},\"seed\":\"1\",\"context_rows\":0,"
         "\"members\":1}", "context_rows"},
        {"{\"read_in\":\"wide\",\"features\":[\"f\"],\"targets\":{\"t\":1},\"seed\":\"1\",\"context_rows\":8,"
         "\"members\":1.5}", "members"},
        {"{\"read_in\":\"wide\",\"features\":[\"f\"],\"targets\":{\"t\":1},\"seed\":\"1\",\"context_rows\":8,"
         "\"members\":1,\"feature_dropout\":1}", "feature_dropout"},
        {"{\"read_in\":\"wide\",\"features\":[\"f\"],\"targets\":{\"t\":1},\"seed\":\"1\",\"context_rows\":8,"
         "\"members\":1,\"feature_groups\":[[0,7]]}", "feature_groups"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ef_numerai_contract c;
        ef_error err = {0};
        ef_status s = ef_numerai_contract_parse(&c, bad[i].text, strlen(bad[i].text), "where.json", &err);
        CHECKF(s == EF_ERR_FORMAT && strstr(err.msg, "where.json") && strstr(err.msg, bad[i].field) && c.n_feat == 0,
               "case %zu: status %d, '%s'", i, (int)s, err.msg);
    }
}

static void test_checkpoint(void) {
    CHECK(system("rm -rf " DIR " && mkdir -p " DIR) == 0);
    ef_numerai_contract c = sample(), back;
    ef_error err = {0};
    ef_model_config def = {EF_LAYOUT_ROWS, 1, 16, 2, 8, 24, 0};
    ef_model *m = NULL, *m2 = NULL;
    CHECK(ef_numerai_net_create(&m, NULL, EF_NUMERAI_READIN_SUBSET, 3, &def, 24, 1, 7, &err) == EF_OK);
    ef_train_state st;
    memset(&st, 0, sizeof st);
    st.step = 42;
    CHECK(ef_numerai_checkpoint_save(m, DIR "/m.st", &st, &c, &err) == EF_OK);
    /* embedded: the header-only read and the full load agree */
    CHECK(ef_numerai_contract_read(&back, DIR "/m.st", &err) == EF_OK && same(&c, &back));
    ef_numerai_contract_free(&back);
    CHECK(ef_numerai_checkpoint_load(&m2, &back, DIR "/m.st", 1, &err) == EF_OK && same(&c, &back));
    CHECK(m2 && ef_model_num_params(m2) == ef_model_num_params(m) &&
          !memcmp(ef_model_params(m2), ef_model_params(m), ef_model_num_params(m) * sizeof(float)));
    ef_numerai_contract_free(&back);
    ef_model_destroy(m2);
    m2 = NULL;
    /* the embedded copy wins over a damaged sidecar */
    CHECK(ef_file_write_atomic(DIR "/m.st.json", "{oops", 5, &err) == EF_OK);
    CHECK(ef_numerai_contract_read(&back, DIR "/m.st", &err) == EF_OK && same(&c, &back));
    ef_numerai_contract_free(&back);
    /* an older two-file model: weights without a contract, the sidecar beside them */
    CHECK(ef_model_save(m, DIR "/old.st", &st, 0, &err) == EF_OK);
    err.msg[0] = 0;
    CHECK(ef_numerai_contract_read(&back, DIR "/old.st", &err) != EF_OK && strstr(err.msg, "old.st"));
    char *text = NULL;
    CHECK(ef_numerai_contract_to_json(&c, &text, &err) == EF_OK);
    CHECK(ef_numerai_contract_save_sidecar(text, DIR "/old.st", &err) == EF_OK);
    ef_free(text);
    CHECK(ef_numerai_checkpoint_load(&m2, &back, DIR "/old.st", 1, &err) == EF_OK && same(&c, &back));
    ef_numerai_contract_free(&back);
    ef_model_destroy(m2);
    /* a damaged sidecar of an older model is refused, naming it; nothing is returned */
    CHECK(ef_file_write_atomic(DIR "/old.st.json", "{\"read_in\":1}", 13, &err) == EF_OK);
    m2 = (ef_model *)&c;   /* must be reset to NULL */
    err.msg[0] = 0;
    CHECK(ef_numerai_checkpoint_load(&m2, &back, DIR "/old.st", 1, &err) == EF_ERR_FORMAT && m2 == NULL &&
          strstr(err.msg, "old.st.json"));
    ef_model_destroy(m);
}

int main(void) {
    test_json_round_trip();
    test_malformed();
    test_checkpoint();
    TEST_MAIN_END;
}
