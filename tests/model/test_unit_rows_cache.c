/* The context cache gives the predictions of a full rows-layout forward pass (queries
 * appended after the context), for any context size including 0, across query chunks, and
 * the same bits for 1 and 2 threads (every region parallel, a second thread checked to have
 * done work). */
#include <math.h>
#include <string.h>
#include "eraformer/model.h"
#include "par_util.h"
#include "test.h"

static void check(int n_ctx, int n_q, int d) {
    enum { D = 7 };
    int k = n_ctx + n_q;
    ef_model_config cfg = {EF_LAYOUT_ROWS, 2, 24, 3, D, k, 0};
    ef_model *m;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, 1, 5, &err) == EF_OK);
    ef_rng r;
    ef_rng_init(&r, (uint64_t)n_ctx, (uint64_t)n_q);
    float *p = ef_model_params(m);
    for (size_t i = 0; i < ef_model_num_params(m); i++) p[i] += 0.1f * (float)ef_rng_normal(&r);
    float *x = ef_malloc((size_t)k * D * 4), *y = ef_malloc((size_t)k * 4), *full = ef_malloc((size_t)k * 4);
    float *cached = ef_malloc((size_t)(n_q + 1) * 4), *cached1 = ef_malloc((size_t)(n_q + 1) * 4);
    uint8_t *mask = ef_malloc((size_t)k * D);
    for (int i = 0; i < k * D; i++) {
        x[i] = (float)ef_rng_normal(&r);
        mask[i] = ef_rng_uniform(&r) > 0.1;
    }
    for (int i = 0; i < k; i++) y[i] = (float)ef_rng_normal(&r);
    int dv[1] = {d};
    ef_batch bt = {1, k, n_ctx, x, y, mask, dv};
    CHECK(ef_model_forward(m, &bt, full, NULL, &err) == EF_OK);
    ef_rows_cache *c;
    CHECK(ef_rows_cache_create(&c, m, n_ctx, &err) == EF_OK);
    long seen = ef_par_multi_count();
    CHECK(ef_rows_cache_set_context(c, x, y, mask, d, n_ctx, &err) == EF_OK);
    CHECK(ef_rows_cache_predict(c, x + (size_t)n_ctx * D, mask + (size_t)n_ctx * D, d, n_q, cached, &err) == EF_OK);
    par_ran(seen, 1, "rows cache, 2 threads");
    double maxd = 0;
    for (int i = 0; i < n_q; i++) maxd = fmax(maxd, fabs(cached[i] - full[n_ctx + i]) / (1 + fabs(full[n_ctx + i])));
    CHECKF(maxd < 2e-5, "n_ctx %d n_q %d: cache vs full forward max diff %.3g", n_ctx, n_q, maxd);
    par_threads_set(1);
    seen = ef_par_multi_count();
    CHECK(ef_rows_cache_set_context(c, x, y, mask, d, n_ctx, &err) == EF_OK);
    CHECK(ef_rows_cache_predict(c, x + (size_t)n_ctx * D, mask + (size_t)n_ctx * D, d, n_q, cached1, &err) == EF_OK);
    par_ran(seen, 0, "rows cache, 1 thread");
    par_threads_set(2);
    CHECK(memcmp(cached, cached1, (size_t)n_q * 4) == 0);
    /* embeddings once, predictions from them: exactly the one-call values */
    float *emb = ef_malloc((size_t)(n_q + 1) * ef_model_cfg(m)->d_model * 4);
    CHECK(ef_rows_cache_embed_queries(c, x + (size_t)n_ctx * D, mask + (size_t)n_ctx * D, d, n_q, emb, &err) == EF_OK);
    CHECK(ef_rows_cache_predict_embedded(c, emb, n_q, cached1, &err) == EF_OK);
    CHECK(memcmp(cached, cached1, (size_t)n_q * 4) == 0);
    ef_free(emb);
    CHECK(ef_rows_cache_set_context(c, x, y, NULL, d, n_ctx + 1, &err) == EF_ERR_INVALID);
    ef_rows_cache_destroy(c);
    ef_free(x); ef_free(y); ef_free(full); ef_free(cached); ef_free(cached1); ef_free(mask);
    ef_model_destroy(m);
}

int main(void) {
    par_threads_set(2);
    par_force();
    check(37, 50, 7);
    check(0, 5, 4);
    check(70, 600, 5);   /* several attention chunks, two query passes */
    check(1100, 40, 6);  /* three online-softmax key blocks (512 keys each) */
    /* an interleaved model is refused */
    ef_model_config cfg = {EF_LAYOUT_INTERLEAVED, 1, 8, 2, 3, 4, 0};
    ef_model *m;
    ef_rows_cache *c;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, 1, 1, &err) == EF_OK);
    CHECK(ef_rows_cache_create(&c, m, 4, &err) == EF_ERR_INVALID);
    ef_model_destroy(m);
    TEST_MAIN_END;
}
