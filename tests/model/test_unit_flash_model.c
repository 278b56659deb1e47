/* The rows layout's long batches through the memory-linear attention: a model taking it
 * (300 rows, over the flash threshold) against the same model on the dense path (the
 * threshold raised before creation): loss, predictions and every parameter's gradient;
 * 1 vs 2 threads bitwise over training steps; and the activation memory, linear in the
 * number of rows (no (T,T) matrix is allocated for long batches). */
#include <limits.h>
#include <math.h>
#include <string.h>
#include "eraformer/model.h"
#include "model/model_internal.h"
#include "par_util.h"
#include "test.h"

enum { B = 2, K = 300, NCTX = 220, D = 5 };
static float X[B * K * D], Y[B * K];

static ef_model *make_model(int flash_min_t) {
    ef_model_config cfg = {EF_LAYOUT_ROWS, 2, 32, 2, D, K, 0};
    ef_model *m = NULL;
    ef_error err = {0};
    ef_model_flash_min_t_set(flash_min_t);
    CHECK(ef_model_create(&m, &cfg, B, 17, &err) == EF_OK);
    ef_model_flash_min_t_set(0);
    if (!m) return NULL;
    /* away from the small init, so that attention is far from uniform */
    ef_rng r;
    ef_rng_init(&r, 3, 0);
    float *p = ef_model_params(m);
    for (size_t i = 0; i < ef_model_num_params(m); i++) p[i] += 0.15f * (float)ef_rng_normal(&r);
    return m;
}

static void step(ef_model *m, float *pred, double *loss) {
    ef_batch bt = {B, K, NCTX, X, Y, NULL, NULL};
    ef_error err = {0};
    CHECK(ef_model_forward(m, &bt, pred, loss, &err) == EF_OK);
    ef_model_zero_grad(m);
    CHECK(ef_model_backward(m, &err) == EF_OK);
}

static void test_flash_vs_dense(void) {
    ef_model *f = make_model(0), *d = make_model(INT_MAX);
    if (!f || !d) return;
    CHECK(f->flash_min_t <= K && d->flash_min_t > K);
    float pf[B * K], pd[B * K];
    double lf, ld;
    step(f, pf, &lf);
    step(d, pd, &ld);
    CHECK_NEAR(lf, ld, 0, 1e-5);
    double ep = 0;
    for (int i = 0; i < B * K; i++) ep = fmax(ep, fabs(pf[i] - pd[i]) / (1 + fabs(pd[i])));
    CHECKF(ep < 1e-5, "predictions flash vs dense: max rel err %.3g", ep);
    /* per tensor: ||g_flash - g_dense|| / ||g_dense|| */
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        const ef_param_info *pi = ef_model_param_info(f, i);
        if (!pi->size) continue;
        const float *gf = ef_model_grads(f) + pi->offset, *gd = ef_model_grads(d) + pi->offset;
        double num = 0, den = 0;
        for (size_t j = 0; j < pi->size; j++) {
            num += ((double)gf[j] - gd[j]) * ((double)gf[j] - gd[j]);
            den += (double)gd[j] * gd[j];
        }
        CHECKF(den > 0 && sqrt(num / den) < 1e-4, "%s: gradient flash vs dense: rel err %.3g (norm %.3g)", pi->name,
               sqrt(num / (den + 1e-300)), sqrt(den));
    }
    /* memory: the dense model holds L·B·NH·T² probabilities, the flash one L·B·NH·T lse */
    size_t dense_att = (size_t)2 * B * 2 * K * K;
    CHECKF(d->act_floats - f->act_floats + (size_t)2 * B * 2 * K >= dense_att - (size_t)2 * B * 2 * 255 * 255,
           "activations: flash %zu floats, dense %zu", f->act_floats, d->act_floats);
    ef_model_destroy(f);
    ef_model_destroy(d);
}

static void test_threads(void) {
    ef_model *a = make_model(0), *b = make_model(0);
    if (!a || !b) return;
    ef_adamw opt = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    par_force();
    ef_model *m[2] = {a, b};
    for (int r = 0; r < 2; r++) {
        par_threads_set(r + 1);
        long seen = ef_par_multi_count();
        for (int s = 0; s < 2; s++) {
            double loss;
            step(m[r], NULL, &loss);
            ef_model_adamw_step(m[r], &opt);
        }
        par_ran(seen, r, r ? "flash model, 2 threads" : "flash model, 1 thread");
    }
    par_restore();
    par_threads_set(2);
    CHECK(memcmp(ef_model_params(a), ef_model_params(b), ef_model_num_params(a) * 4) == 0);
    CHECK(memcmp(ef_model_grads(a), ef_model_grads(b), ef_model_num_params(a) * 4) == 0);
    ef_model_destroy(a);
    ef_model_destroy(b);
}

/* activations of the shipped numerai model's shape (3 layers, d_model 64, 4 heads) for one
 * task of T rows: linear in T (dense attention alone would be 3·4·T² floats, 3.2 GB at 8,192) */
static size_t act_bytes(int T) {
    ef_model_config cfg = {EF_LAYOUT_ROWS, 3, 64, 4, 16, T, 0};
    ef_model *m = NULL;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, 1, 1, &err) == EF_OK);
    size_t n = m ? m->act_floats * 4 : 0;
    ef_model_destroy(m);
    return n;
}
static void test_memory_linear(void) {
    size_t a2 = act_bytes(2048), a4 = act_bytes(4096), a8 = act_bytes(8192);
    printf("activations for one task: T=2048 %.1f MB, 4096 %.1f MB, 8192 %.1f MB\n", a2 / 1e6, a4 / 1e6, a8 / 1e6);
    CHECKF(a8 <= 2 * a4 && a4 <= 2 * a2, "activations not linear in T: %zu %zu %zu", a2, a4, a8);
    CHECKF(a8 < (size_t)200 << 20, "activations for 8,192 rows: %zu bytes", a8);
}

int main(void) {
    ef_rng r;
    ef_rng_init(&r, 9, 0);
    for (int i = 0; i < B * K * D; i++) X[i] = (float)ef_rng_normal(&r);
    for (int b = 0; b < B; b++)   /* a linear task per sequence */
        for (int i = 0; i < K; i++) {
            double y = 0;
            for (int j = 0; j < D; j++) y += (j + 1 - 2.5 * b) * X[(b * K + i) * D + j];
            Y[b * K + i] = (float)(0.3 * y);
        }
    par_threads_set(2);
    test_flash_vs_dense();
    test_threads();
    test_memory_linear();
    TEST_MAIN_END;
}
