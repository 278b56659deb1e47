/* Whole-model gradient check, both layouts: for every parameter tensor, the directional
 * derivative g·v along a random unit direction v (restricted to that tensor) must match the
 * central difference (L(θ+εv) − L(θ−εv)) / 2ε. Parameters are perturbed away from the
 * small GPT-2 init so every tensor gets a gradient well above float noise. Inputs include
 * missing features and widths d < d_max. The rows layout is checked with and without row
 * positions (the embed.wpe tensor exists, and is checked, only with them). */
#include <math.h>
#include <string.h>
#include "eraformer/model.h"
#include "eraformer/nn.h"
#include "model/model_internal.h"
#include "test.h"

static void check_layout(ef_layout layout, int row_positions) {
    ef_model_config cfg = {layout, 2, 16, 2, 5, 6, row_positions};
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

    /* backward from dL/dpred: the MSE's own gradient reproduces ef_model_backward */
    {
        float pred[B * K], dp[B * K];
        CHECK(ef_model_forward(m, &bt, pred, NULL, &err) == EF_OK);
        int q0 = layout == EF_LAYOUT_ROWS ? 3 : 0, nw = B * (K - q0);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < K; i++)
                dp[b * K + i] = i >= q0 ? (float)(2.0 * ((double)pred[b * K + i] - y[b * K + i]) / nw) : 0.0f;
        ef_model_zero_grad(m);
        CHECK(ef_model_backward_dpred(m, dp, &err) == EF_OK);
        double worst = 0;
        for (size_t i = 0; i < np; i++) worst = fmax(worst, fabs(ef_model_grads(m)[i] - g[i]) / (1e-3 + fabs(g[i])));
        CHECKF(worst < 1e-4, "%s: backward_dpred(MSE gradient) vs backward: %.3g", ef_layout_name(layout), worst);
    }
    /* the per-sequence correlation loss of the query rows (finetune --loss corr) through the
     * whole model, by finite differences along a random direction of all parameters */
    if (layout == EF_LAYOUT_ROWS) {
        float pred[B * K], dp[B * K];
        double L0 = 0;
        CHECK(ef_model_forward(m, &bt, pred, NULL, &err) == EF_OK);
        memset(dp, 0, sizeof dp);
        for (int b = 0; b < B; b++) {
            L0 += ef_corr_loss(dp + b * K + 3, pred + b * K + 3, y + b * K + 3, K - 3) / B;
            for (int i = 3; i < K; i++) dp[b * K + i] /= B;
        }
        ef_model_zero_grad(m);
        CHECK(ef_model_backward_dpred(m, dp, &err) == EF_OK);
        float *v = ef_malloc(np * sizeof(float)), *keep = ef_malloc(np * sizeof(float));
        double nv = 0, gv = 0;
        for (size_t i = 0; i < np; i++) { v[i] = (float)ef_rng_normal(&r); nv += (double)v[i] * v[i]; }
        for (size_t i = 0; i < np; i++) { v[i] = (float)(v[i] / sqrt(nv)); gv += (double)v[i] * ef_model_grads(m)[i]; }
        memcpy(keep, p, np * sizeof(float));
        double Lpm[2], eps = 1e-2;
        for (int sgn = 0; sgn < 2; sgn++) {
            for (size_t i = 0; i < np; i++) p[i] = keep[i] + (float)((sgn ? -eps : eps) * v[i]);
            ef_model_forward(m, &bt, pred, NULL, &err);
            Lpm[sgn] = 0;
            for (int b = 0; b < B; b++) Lpm[sgn] += ef_corr_loss(NULL, pred + b * K + 3, y + b * K + 3, K - 3) / B;
        }
        memcpy(p, keep, np * sizeof(float));
        double fd = (Lpm[0] - Lpm[1]) / (2 * eps);
        CHECKF(fabs(gv) > 1e-3 && fabs(fd - gv) <= 2e-4 + 1e-2 * fabs(gv), "corr loss: directional derivative %.8g vs fd %.8g (L %.4f)",
               gv, fd, L0);
        ef_free(v);
        ef_free(keep);
    }

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
    check_layout(EF_LAYOUT_INTERLEAVED, 0);
    check_layout(EF_LAYOUT_ROWS, 0);
    check_layout(EF_LAYOUT_ROWS, 1);
    /* the rows layout through the memory-linear attention (taken from 256 rows on): forced
     * for these 6 rows */
    ef_model_flash_min_t_set(1);
    check_layout(EF_LAYOUT_ROWS, 0);
    ef_model_flash_min_t_set(0);
    TEST_MAIN_END;
}
