/* prior: mixture / x / parameter parsing, validation, description, error scale, curriculum. */
#include <limits.h>
#include <string.h>
#include "eraformer/prior.h"
#include "test.h"

static void test_mixture(void) {
    ef_prior_config c;
    ef_error e = {0};
    ef_prior_config_default(&c);
    CHECK(c.class_weights[EF_PRIOR_LINEAR] == 1.0 && c.d_max == 20 && c.n_points == 41);
    CHECK_OK(ef_prior_config_validate(&c, &e));
    CHECK_OK(ef_prior_config_parse_mixture(&c, "linear=0.2,sparse=0.3,relu=0.2,tree=0.2,timeseries=0.1", &e));
    CHECK_NEAR(c.class_weights[EF_PRIOR_LINEAR], 0.2, 1e-15, 0);
    CHECK_NEAR(c.class_weights[EF_PRIOR_SPARSE], 0.3, 1e-15, 0);
    CHECK_NEAR(c.class_weights[EF_PRIOR_DRIFT], 0.1 / 3, 1e-15, 0);
    CHECK_NEAR(c.class_weights[EF_PRIOR_REGIME], 0.1 / 3, 1e-15, 0);
    CHECK_NEAR(c.class_weights[EF_PRIOR_LSTM], 0.1 / 3, 1e-15, 0);
    CHECK(c.class_weights[EF_PRIOR_FOREST] == 0.0 && c.class_weights[EF_PRIOR_LAPLACE] == 0.0);
    CHECK_OK(ef_prior_config_parse_mixture(&c, "drift,quadratic=2", &e));
    CHECK(c.class_weights[EF_PRIOR_DRIFT] == 1.0 && c.class_weights[EF_PRIOR_QUADRATIC] == 2.0);
    CHECK(c.class_weights[EF_PRIOR_LINEAR] == 0.0);
    CHECK_OK(ef_prior_config_parse_mixture(&c, " tree = 0.5 , forest=0.5 ", &e));  /* blanks */
    CHECK(c.class_weights[EF_PRIOR_TREE] == 0.5 && c.class_weights[EF_PRIOR_FOREST] == 0.5);
    CHECK(ef_prior_config_parse_mixture(&c, "tree=1, bad", &e) == EF_ERR_INVALID);
    CHECK(strstr(e.msg, "column 9") != NULL);
    /* every class name round-trips */
    for (int k = 0; k < EF_PRIOR_CLASS_COUNT; k++) {
        ef_prior_class out;
        CHECK(ef_prior_class_from_name(ef_prior_class_name((ef_prior_class)k), &out) == 0 && (int)out == k);
    }
    /* errors leave cfg unchanged and name the item */
    ef_prior_config before = c;
    CHECK(ef_prior_config_parse_mixture(&c, "linear=0.5,bogus=1", &e) == EF_ERR_INVALID);
    CHECK(strstr(e.msg, "bogus") != NULL && strstr(e.msg, "column 12") != NULL);
    CHECK(ef_prior_config_parse_mixture(&c, "linear=-1", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_mixture(&c, "linear=abc", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_mixture(&c, "linear=nan", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_mixture(&c, "linear=0", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_mixture(&c, "", &e) == EF_ERR_INVALID);
    CHECK(memcmp(&before, &c, sizeof c) == 0);
    /* x sampler mixture */
    CHECK_OK(ef_prior_config_parse_x(&c, "gaussian=0.5,numerai=0.5", &e));
    CHECK(c.x_weights[EF_PRIOR_X_NUMERAI] == 0.5 && c.x_weights[EF_PRIOR_X_CORRELATED] == 0.0);
    CHECK(ef_prior_config_parse_x(&c, "linear=1", &e) == EF_ERR_INVALID);
}

static void test_params(void) {
    ef_prior_config c;
    ef_error e = {0};
    ef_prior_config_default(&c);
    CHECK_OK(ef_prior_config_parse_params(&c, "sparse_s_max=5,noise_prob=0.5,target_norm=unit,d_max=32", &e));
    CHECK(c.sparse_s_max == 5 && c.noise_prob == 0.5 && c.target_norm == EF_PRIOR_TARGET_UNIT && c.d_max == 32);
    CHECK_OK(ef_prior_config_parse_params(&c, "tree_depth = 3, x_skewed=1", &e));
    CHECK(c.tree_depth == 3 && c.x_skewed == 1);
    CHECK_OK(ef_prior_config_validate(&c, &e));
    ef_prior_config before = c;
    CHECK(ef_prior_config_parse_params(&c, "noise_prob=0.1,no_such_key=1", &e) == EF_ERR_INVALID);
    CHECK(strstr(e.msg, "no_such_key") != NULL);
    CHECK(ef_prior_config_parse_params(&c, "noise_prob=1.5", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_params(&c, "relu_hidden=2.5", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_params(&c, "relu_hidden=", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_params(&c, "target_norm=zscore", &e) == EF_ERR_INVALID);
    CHECK(ef_prior_config_parse_params(&c, "tree_depth", &e) == EF_ERR_INVALID);
    CHECK(memcmp(&before, &c, sizeof c) == 0);  /* noise_prob=0.1 was not applied */
    /* cross-field checks */
    c.sparse_s_min = 6;
    CHECK(ef_prior_config_validate(&c, &e) == EF_ERR_INVALID);
    c = before;
    c.class_weights[EF_PRIOR_TREE] = -1;
    CHECK(ef_prior_config_validate(&c, &e) == EF_ERR_INVALID);
    c = before;
    c.x_cond = 0.5;
    CHECK(ef_prior_config_validate(&c, &e) == EF_ERR_INVALID);
    /* description */
    char buf[4096];
    ef_prior_config_default(&c);
    CHECK_OK(ef_prior_config_parse_mixture(&c, "linear=0.5,tree=0.5", &e));
    ef_prior_config_describe(&c, buf, sizeof buf);
    CHECK(strcmp(buf, "classes linear=0.5,tree=0.5 x gaussian=1 d_max=20 n_points=41") == 0);
    CHECK_OK(ef_prior_config_parse_params(&c, "relu_hidden=7,target_norm=unit,noise_max=0.25", &e));
    ef_prior_config_describe(&c, buf, sizeof buf);
    CHECK(strstr(buf, " relu_hidden=7") != NULL && strstr(buf, " target_norm=unit") != NULL &&
          strstr(buf, " noise_max=0.25") != NULL && strstr(buf, "tree_depth") == NULL);
    /* the description parses back to the same config */
    ef_prior_config back;
    ef_prior_config_default(&back);
    char *params = strstr(buf, " d_max=") + 1;
    for (char *s = params; *s; s++)
        if (*s == ' ') *s = ',';
    CHECK_OK(ef_prior_config_parse_params(&back, params, &e));
    CHECK_OK(ef_prior_config_parse_mixture(&back, "linear=0.5,tree=0.5", &e));
    CHECK(memcmp(&back, &c, sizeof c) == 0);
    char small[16];
    ef_prior_config_describe(&c, small, sizeof small);
    CHECK(strlen(small) == 15);
}

static void test_scale_and_curriculum(void) {
    CHECK(ef_prior_error_scale(EF_PRIOR_LINEAR, 20, 3) == 20.0);
    CHECK(ef_prior_error_scale(EF_PRIOR_RELU, 20, 3) == 20.0);
    CHECK(ef_prior_error_scale(EF_PRIOR_SPARSE, 20, 3) == 3.0);
    CHECK(ef_prior_error_scale(EF_PRIOR_TREE, 20, 4) == 1.0);
    CHECK(ef_prior_error_scale(EF_PRIOR_LSTM, 20, 0) == 1.0);
    CHECK(ef_prior_error_scale(EF_PRIOR_DRIFT, 7, 0) == 7.0);

    ef_curriculum cur;
    ef_error e = {0};
    ef_curriculum_default(&cur, 20, 41);
    CHECK(cur.d_start == 5 && cur.k_start == 11 && cur.d_inc == 1 && cur.k_inc == 2 && cur.every_steps == 2000);
    CHECK_OK(ef_curriculum_validate(&cur, &e));
    int d, k;
    ef_curriculum_at(&cur, 0, &d, &k);
    CHECK(d == 5 && k == 11);
    ef_curriculum_at(&cur, 1999, &d, &k);
    CHECK(d == 5 && k == 11);
    ef_curriculum_at(&cur, 2000, &d, &k);
    CHECK(d == 6 && k == 13);
    ef_curriculum_at(&cur, 29999, &d, &k);
    CHECK(d == 19 && k == 39);
    ef_curriculum_at(&cur, 30000, &d, &k);  /* Garg: full size at step 30000 */
    CHECK(d == 20 && k == 41);
    ef_curriculum_at(&cur, LONG_MAX, &d, &k);
    CHECK(d == 20 && k == 41);
    /* trees / ReLU: points 26 -> 101 by 5 */
    ef_curriculum t = {5, 20, 1, 26, 101, 5, 2000};
    ef_curriculum_at(&t, 14000, &d, &k);
    CHECK(d == 12 && k == 61);
    ef_curriculum_at(&t, 1000000, &d, &k);
    CHECK(d == 20 && k == 101);
    t.k_start = 0;
    CHECK(ef_curriculum_validate(&t, &e) == EF_ERR_INVALID);
    ef_curriculum_default(&cur, 3, 10);
    CHECK(cur.d_start == 3 && cur.k_start == 10);
}

int main(void) {
    test_mixture();
    test_params();
    test_scale_and_curriculum();
    TEST_MAIN_END;
}
