/* Finite-difference check of every nn backward. For each op the loss is L = Σ r ⊙ out with a
 * fixed random r; the reference gradient is a central difference (h = 1e-5) of a
 * double-precision forward written here independently of src/nn; the float backward must
 * match it to |a-b| <= atol + rtol·|b| (per-op tolerances below). */
#include <math.h>
#include <string.h>
#include "eraformer/nn.h"
#include "nn/nn_internal.h"
#include "test.h"

static ef_rng rng;
static void fill(float *a, size_t n, float s) { for (size_t i = 0; i < n; i++) a[i] = s * (float)ef_rng_normal(&rng); }
static void to_d(double *d, const float *f, size_t n) { for (size_t i = 0; i < n; i++) d[i] = f[i]; }

/* central difference of f over every coordinate of theta (double), compared with g (float) */
typedef double (*loss_fn)(void *ctx);
static int check_fd(const char *name, double *theta, size_t n, const float *g, loss_fn f, void *ctx, double atol, double rtol) {
    int bad = 0;
    double maxerr = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = theta[i], h = 1e-5;
        theta[i] = keep + h;
        double lp = f(ctx);
        theta[i] = keep - h;
        double lm = f(ctx);
        theta[i] = keep;
        double fd = (lp - lm) / (2 * h), err = fabs(fd - g[i]);
        if (err > maxerr) maxerr = err;
        if (err > atol + rtol * fabs(fd)) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: analytic %.8g fd %.8g\n", name, i, g[i], fd);
            bad++;
        }
    }
    CHECKF(bad == 0, "%s: %d of %zu gradients off (max abs err %.3g)", name, bad, n, maxerr);
    return bad;
}

// ---- linear ---------------------------------------------------------------------------
enum { LN_N = 7, LN_C = 5, LN_OC = 4 };
static struct { double inp[LN_N * LN_C], w[LN_OC * LN_C], b[LN_OC], r[LN_N * LN_OC]; } lin;
static double lin_loss(void *ctx) {
    (void)ctx;
    double L = 0;
    for (int n = 0; n < LN_N; n++)
        for (int o = 0; o < LN_OC; o++) {
            double s = lin.b[o];
            for (int c = 0; c < LN_C; c++) s += lin.inp[n * LN_C + c] * lin.w[o * LN_C + c];
            L += lin.r[n * LN_OC + o] * s;
        }
    return L;
}
static void test_linear(void) {
    float inp[LN_N * LN_C], w[LN_OC * LN_C], b[LN_OC], r[LN_N * LN_OC], out[LN_N * LN_OC];
    float dinp[LN_N * LN_C] = {0}, dw[LN_OC * LN_C] = {0}, db[LN_OC] = {0};
    fill(inp, LN_N * LN_C, 1); fill(w, LN_OC * LN_C, 1); fill(b, LN_OC, 1); fill(r, LN_N * LN_OC, 1);
    ef_linear_forward(out, inp, w, b, LN_N, LN_C, LN_OC);
    ef_linear_backward(dinp, dw, db, r, inp, w, LN_N, LN_C, LN_OC);
    to_d(lin.inp, inp, LN_N * LN_C); to_d(lin.w, w, LN_OC * LN_C); to_d(lin.b, b, LN_OC); to_d(lin.r, r, LN_N * LN_OC);
    check_fd("linear.dinp", lin.inp, LN_N * LN_C, dinp, lin_loss, NULL, 1e-6, 1e-5);
    check_fd("linear.dw", lin.w, LN_OC * LN_C, dw, lin_loss, NULL, 1e-6, 1e-5);
    check_fd("linear.db", lin.b, LN_OC, db, lin_loss, NULL, 1e-6, 1e-5);
}

// ---- layernorm ------------------------------------------------------------------------
enum { LNN = 6, LNC = 9 };
static struct { double inp[LNN * LNC], w[LNC], b[LNC], r[LNN * LNC]; } lnd;
static double ln_loss(void *ctx) {
    (void)ctx;
    double L = 0;
    for (int n = 0; n < LNN; n++) {
        double m = 0, v = 0;
        for (int c = 0; c < LNC; c++) m += lnd.inp[n * LNC + c];
        m /= LNC;
        for (int c = 0; c < LNC; c++) v += (lnd.inp[n * LNC + c] - m) * (lnd.inp[n * LNC + c] - m);
        v /= LNC;
        double s = 1 / sqrt(v + 1e-5);
        for (int c = 0; c < LNC; c++) L += lnd.r[n * LNC + c] * ((lnd.inp[n * LNC + c] - m) * s * lnd.w[c] + lnd.b[c]);
    }
    return L;
}
static void test_layernorm(void) {
    float inp[LNN * LNC], w[LNC], b[LNC], r[LNN * LNC], out[LNN * LNC], mean[LNN], rstd[LNN];
    float dinp[LNN * LNC] = {0}, dw[LNC] = {0}, db[LNC] = {0};
    fill(inp, LNN * LNC, 2); fill(w, LNC, 1); fill(b, LNC, 1); fill(r, LNN * LNC, 1);
    ef_layernorm_forward(out, mean, rstd, inp, w, b, LNN, LNC);
    ef_layernorm_backward(dinp, dw, db, r, inp, w, mean, rstd, LNN, LNC);
    to_d(lnd.inp, inp, LNN * LNC); to_d(lnd.w, w, LNC); to_d(lnd.b, b, LNC); to_d(lnd.r, r, LNN * LNC);
    /* forward agrees with the double reference */
    double L = ln_loss(NULL), Lf = 0;
    for (int i = 0; i < LNN * LNC; i++) Lf += (double)r[i] * out[i];
    CHECK_NEAR(Lf, L, 1e-5, 1e-5);
    check_fd("layernorm.dinp", lnd.inp, LNN * LNC, dinp, ln_loss, NULL, 1e-5, 1e-4);
    check_fd("layernorm.dw", lnd.w, LNC, dw, ln_loss, NULL, 1e-5, 1e-4);
    check_fd("layernorm.db", lnd.b, LNC, db, ln_loss, NULL, 1e-5, 1e-4);
}

// ---- gelu -----------------------------------------------------------------------------
enum { GN = 400 };
static struct { double inp[GN], r[GN]; } gd;
static double gelu_loss(void *ctx) {
    (void)ctx;
    double L = 0;
    for (int i = 0; i < GN; i++) {
        double x = gd.inp[i];
        L += gd.r[i] * 0.5 * x * (1 + tanh(sqrt(2 / EF_PI) * (x + 0.044715 * x * x * x)));
    }
    return L;
}
static void test_gelu(void) {
    float inp[GN], r[GN], out[GN], ref[GN], dinp[GN] = {0};
    for (int i = 0; i < GN; i++) inp[i] = -10.0f + 20.0f * (float)i / GN + 0.01f * (float)ef_rng_normal(&rng);
    fill(r, GN, 1);
    ef_gelu_forward(out, inp, GN);
    ef_gelu_forward_ref(ref, inp, GN);
    double maxd = 0;
    for (int i = 0; i < GN; i++) maxd = fmax(maxd, fabs(out[i] - ref[i]) / (1e-24 + fabs(ref[i])));
    /* in the left tail sigma(2u) ~ e^{2u} turns the float rounding of u (~|2u|*6e-8) into relative error */
    CHECKF(maxd < 1e-5, "gelu fast vs reference: max rel err %.3g", maxd);
    ef_gelu_backward(dinp, inp, r, GN);
    to_d(gd.inp, inp, GN); to_d(gd.r, r, GN);
    check_fd("gelu.dinp", gd.inp, GN, dinp, gelu_loss, NULL, 1e-6, 1e-5);
}

// ---- attention (both masks) -------------------------------------------------------------
enum { AB = 2, AT = 7, AC = 8, ANH = 2 };
static struct { double qkv[AB * AT * 3 * AC], r[AB * AT * AC]; ef_mask mask; } ad;
static double attn_loss(void *ctx) {
    (void)ctx;
    int hs = AC / ANH;
    double L = 0;
    for (int b = 0; b < AB; b++)
        for (int h = 0; h < ANH; h++)
            for (int t = 0; t < AT; t++) {
                double sc[AT], mx = -INFINITY, sum = 0;
                for (int s = 0; s < AT; s++) {
                    if (!ef_mask_allows(ad.mask, t, s)) continue;
                    double d = 0;
                    for (int i = 0; i < hs; i++)
                        d += ad.qkv[(b * AT + t) * 3 * AC + h * hs + i] * ad.qkv[(b * AT + s) * 3 * AC + AC + h * hs + i];
                    sc[s] = d / sqrt((double)hs);
                    mx = fmax(mx, sc[s]);
                }
                for (int s = 0; s < AT; s++) {
                    sc[s] = ef_mask_allows(ad.mask, t, s) ? exp(sc[s] - mx) : 0;
                    sum += sc[s];
                }
                for (int i = 0; i < hs; i++) {
                    double o = 0;
                    for (int s = 0; s < AT; s++) o += sc[s] / sum * ad.qkv[(b * AT + s) * 3 * AC + 2 * AC + h * hs + i];
                    L += ad.r[(b * AT + t) * AC + h * hs + i] * o;
                }
            }
    return L;
}
static void test_attention(ef_mask mask, const char *name) {
    float qkv[AB * AT * 3 * AC], r[AB * AT * AC], out[AB * AT * AC], att[AB * ANH * AT * AT];
    float dqkv[AB * AT * 3 * AC] = {0};
    size_t per = ef_attention_scratch_floats(AT, AC / ANH);
    float *scratch = ef_malloc(4 * per * sizeof(float));
    fill(qkv, AB * AT * 3 * AC, 1); fill(r, AB * AT * AC, 1);
    ef_attention_forward(out, att, qkv, mask, scratch, 4, AB, AT, AC, ANH);
    ef_attention_backward(dqkv, r, qkv, att, mask, scratch, 4, AB, AT, AC, ANH);
    /* masked probabilities are exactly zero, rows sum to one */
    int mask_ok = 1;
    for (int bh = 0; bh < AB * ANH; bh++)
        for (int t = 0; t < AT; t++) {
            double s = 0;
            for (int u = 0; u < AT; u++) {
                float p = att[(bh * AT + t) * AT + u];
                if (!ef_mask_allows(mask, t, u) && p != 0.0f) mask_ok = 0;
                s += p;
            }
            if (fabs(s - 1) > 1e-5) mask_ok = 0;
        }
    CHECKF(mask_ok, "%s: masked probabilities zero and rows normalised", name);
    to_d(ad.qkv, qkv, AB * AT * 3 * AC); to_d(ad.r, r, AB * AT * AC);
    ad.mask = mask;
    double L = attn_loss(NULL), Lf = 0;
    for (int i = 0; i < AB * AT * AC; i++) Lf += (double)r[i] * out[i];
    CHECK_NEAR(Lf, L, 1e-5, 1e-5);
    check_fd(name, ad.qkv, AB * AT * 3 * AC, dqkv, attn_loss, NULL, 1e-5, 1e-4);
    ef_free(scratch);
}

/* The flash (memory-linear) attention against the same double forward, with blocks of 2 rows
 * x 3 keys so that the 7 tokens span several query and key blocks (ragged, the causal
 * diagonal inside a block). Its backward reads the forward's out and lse. */
static void test_attention_flash(ef_mask mask, const char *name) {
    float qkv[AB * AT * 3 * AC], r[AB * AT * AC], out[AB * AT * AC], lse[AB * ANH * AT];
    float dqkv[AB * AT * 3 * AC] = {0};
    float *scratch = ef_malloc(2 * ef_attention_flash_scratch_floats(AC / ANH) * sizeof(float));
    fill(qkv, AB * AT * 3 * AC, 1); fill(r, AB * AT * AC, 1);
    ef_flash_blocks_set(2, 3);
    ef_attention_flash_forward(out, lse, qkv, mask, scratch, 2, AB, AT, AC, ANH);
    ef_attention_flash_backward(dqkv, r, out, qkv, lse, mask, scratch, 2, AB, AT, AC, ANH);
    ef_flash_blocks_set(0, 0);
    to_d(ad.qkv, qkv, AB * AT * 3 * AC); to_d(ad.r, r, AB * AT * AC);
    ad.mask = mask;
    double L = attn_loss(NULL), Lf = 0;
    for (int i = 0; i < AB * AT * AC; i++) Lf += (double)r[i] * out[i];
    CHECK_NEAR(Lf, L, 1e-5, 1e-5);
    check_fd(name, ad.qkv, AB * AT * 3 * AC, dqkv, attn_loss, NULL, 1e-5, 1e-4);
    ef_free(scratch);
}

// ---- mse ------------------------------------------------------------------------------
static struct { double p[10], t[10], w[10]; } md;
static double mse_loss(void *ctx) {
    (void)ctx;
    double s = 0, ws = 0;
    for (int i = 0; i < 10; i++) { s += md.w[i] * (md.p[i] - md.t[i]) * (md.p[i] - md.t[i]); ws += md.w[i]; }
    return s / ws;
}
static void test_mse(void) {
    float p[10], t[10], w[10], dp[10] = {0};
    fill(p, 10, 1); fill(t, 10, 1);
    for (int i = 0; i < 10; i++) w[i] = (float)(i % 3 != 0);
    double L = ef_mse_forward(p, t, w, 10);
    ef_mse_backward(dp, p, t, w, 10, 1.0f);
    to_d(md.p, p, 10); to_d(md.t, t, 10); to_d(md.w, w, 10);
    CHECK_NEAR(L, mse_loss(NULL), 1e-12, 1e-9);
    check_fd("mse.dpred", md.p, 10, dp, mse_loss, NULL, 1e-7, 1e-6);
    for (int i = 0; i < 10; i += 3) CHECK(dp[i] == 0.0f);  /* weight 0 = not in the loss */
}

// ---- correlation loss ------------------------------------------------------------------
static struct { double p[12], y[12]; } cd;
static double corr_loss_ref(void *ctx) {
    (void)ctx;
    double mp = 0, my = 0, saa = 0, sbb = 0, sab = 0;
    for (int i = 0; i < 12; i++) { mp += cd.p[i] / 12; my += cd.y[i] / 12; }
    for (int i = 0; i < 12; i++) {
        saa += (cd.p[i] - mp) * (cd.p[i] - mp);
        sbb += (cd.y[i] - my) * (cd.y[i] - my);
        sab += (cd.p[i] - mp) * (cd.y[i] - my);
    }
    return -sab / sqrt(saa * sbb);
}
static void test_corr_loss(void) {
    float p[12], y[12], dp[12];
    fill(p, 12, 1); fill(y, 12, 1);
    for (int i = 0; i < 12; i++) y[i] += 0.5f * p[i];   /* a correlation well away from 0 */
    double L = ef_corr_loss(dp, p, y, 12);
    to_d(cd.p, p, 12); to_d(cd.y, y, 12);
    CHECK_NEAR(L, corr_loss_ref(NULL), 1e-12, 1e-9);
    CHECK(L < -0.2 && L > -1);
    check_fd("corr.dpred", cd.p, 12, dp, corr_loss_ref, NULL, 1e-7, 1e-5);
    /* invariant to shifting and scaling p: the gradient sums to 0 and is orthogonal to p */
    double s = 0, sp = 0;
    for (int i = 0; i < 12; i++) { s += dp[i]; sp += dp[i] * p[i]; }
    CHECK(fabs(s) < 1e-6 && fabs(sp) < 1e-6);
    /* constant predictions: no signal, no gradient */
    for (int i = 0; i < 12; i++) p[i] = 0.3f;
    CHECK(ef_corr_loss(dp, p, y, 12) == 0.0);
    for (int i = 0; i < 12; i++) CHECK(dp[i] == 0.0f);
}

static void test_residual(void) {
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {5, 4, 3, 2, 1}, o[5], da[5] = {0}, db[5] = {1, 1, 1, 1, 1}, d[5] = {1, 2, 3, 4, 5};
    ef_residual_forward(o, a, b, 5);
    for (int i = 0; i < 5; i++) CHECK(o[i] == 6.0f);
    ef_residual_backward(da, db, d, 5);
    for (int i = 0; i < 5; i++) CHECK(da[i] == d[i] && db[i] == 1 + d[i]);
}

int main(void) {
    ef_nn_init();
    ef_rng_init(&rng, 2024, 0);
    test_linear();
    test_layernorm();
    test_gelu();
    test_attention((ef_mask){EF_MASK_CAUSAL, 0}, "attention.causal.dqkv");
    test_attention((ef_mask){EF_MASK_CTX_QUERY, 4}, "attention.ctxquery.dqkv");
    test_attention((ef_mask){EF_MASK_CTX_QUERY, 0}, "attention.ctxquery0.dqkv");
    test_attention_flash((ef_mask){EF_MASK_CAUSAL, 0}, "attention_flash.causal.dqkv");
    test_attention_flash((ef_mask){EF_MASK_CTX_QUERY, 4}, "attention_flash.ctxquery.dqkv");
    test_attention_flash((ef_mask){EF_MASK_CTX_QUERY, 0}, "attention_flash.ctxquery0.dqkv");
    test_attention_flash((ef_mask){EF_MASK_CTX_QUERY, 7}, "attention_flash.ctxquery7.dqkv");
    test_mse();
    test_corr_loss();
    test_residual();
    TEST_MAIN_END;
}
