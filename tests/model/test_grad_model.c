/* Whole-model gradient check, both layouts: for every parameter tensor, the directional
 * derivative g·v along a random unit direction v (restricted to that tensor) must match the
 * central difference (L(θ+εv) − L(θ−εv)) / 2ε. Parameters are perturbed away from the
 * small GPT-2 init so every tensor gets a gradient well above float noise. Inputs include
 * missing features and widths d < d_max. */
#include <math.h>
#include <string.h>
#include "eraformer/model.h"
#include "test.h"

static void check_layout(ef_layout layout) {
    ef_model_config cfg = {layout, 2, 16, 2, 5, 6};
    ef_model *m;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, 3, 11, &err) == EF_OK);
    if (!m) return;
    ef_rng r;
    ef_rng_init(&r, 99, 0);
    float *p = ef_model_params(m);
    size_t np = ef_model_num_params(m);
    for (size_t i = 0; i < np; i++) p[i] += 0.15f * (float)ef_rng_normal(&r);

    enum { B = 3, K = 6, D = 5 };
    float x[B * K * D], y[B * K];
    uint8_t mask[B * K * D];
    int d[B] = {5, 3, 4};
    for (int i = 0; i < B * K * D; i++) {
        x[i] = (float)ef_rng_normal(&r);
        mask[i] = (uint8_t)(ef_rng_uniform(&r) > 0.15);
    }
    for (int i = 0; i < B * K; i++) y[i] = (float)ef_rng_normal(&r);
    ef_batch bt = {B, K, 3, x, y, mask, d};

    double loss;
    CHECK(ef_model_forward(m, &bt, NULL, &loss, &err) == EF_OK);
    ef_model_zero_grad(m);
    CHECK(ef_model_backward(m, &err) == EF_OK);
    float *g = ef_malloc(np * sizeof(float));
    memcpy(g, ef_model_grads(m), np * sizeof(float));

    for (int t = 0; t < EF_NPARAM_TENSORS; t++) {
        const ef_param_info *pi = ef_model_param_info(m, t);
        if (!pi->size) continue;
        float *v = ef_malloc(pi->size * sizeof(float));
        double nv = 0, gv = 0, gn = 0;
        for (size_t i = 0; i < pi->size; i++) { v[i] = (float)ef_rng_normal(&r); nv += (double)v[i] * v[i]; }
        nv = sqrt(nv);
        for (size_t i = 0; i < pi->size; i++) {
            v[i] = (float)(v[i] / nv);
            gv += (double)v[i] * g[pi->offset + i];
            gn += (double)g[pi->offset + i] * g[pi->offset + i];
        }
        double eps = 1e-2, lp, lm;
        float *q = p + pi->offset;
        float *keep = ef_malloc(pi->size * sizeof(float));
        memcpy(keep, q, pi->size * sizeof(float));
        for (size_t i = 0; i < pi->size; i++) q[i] = keep[i] + (float)eps * v[i];
        ef_model_forward(m, &bt, NULL, &lp, &err);
        for (size_t i = 0; i < pi->size; i++) q[i] = keep[i] - (float)eps * v[i];
        ef_model_forward(m, &bt, NULL, &lm, &err);
        memcpy(q, keep, pi->size * sizeof(float));
        double fd = (lp - lm) / (2 * eps);
        CHECKF(sqrt(gn) > 1e-3, "%s/%s: gradient norm %.3g too small to test", ef_layout_name(layout), pi->name, sqrt(gn));
        CHECKF(fabs(fd - gv) <= 2e-4 + 1e-2 * fabs(gv), "%s/%s: directional derivative %.8g vs finite difference %.8g",
               ef_layout_name(layout), pi->name, gv, fd);
        ef_free(v);
        ef_free(keep);
    }
    ef_free(g);
    ef_model_destroy(m);
}

int main(void) {
    check_layout(EF_LAYOUT_INTERLEAVED);
    check_layout(EF_LAYOUT_ROWS);
    TEST_MAIN_END;
}
