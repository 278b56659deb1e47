/* Optimised kernels against their naive references, and bitwise equality of every kernel's
 * output for 1 and 2 threads (the partition is fixed, not per thread). The parallel
 * thresholds are set to 0 so that these small problems run the parallel path, and each
 * 2-thread run is checked to have used a second thread. */
#include <math.h>
#include <string.h>
#include "eraformer/nn.h"
#include "par_util.h"
#include "test.h"

static ef_rng rng;
static float *randv(size_t n) {
    float *a = ef_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = (float)ef_rng_normal(&rng);
    return a;
}
static float *zeros(size_t n) { return ef_calloc(n, sizeof(float)); }
static double maxrel(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / (1.0 + fabs(b[i]))); /* values are O(1..30) */
    return m;
}

static void test_linear(void) {
    int N = 600, C = 48, OC = 150;  /* several row chunks and column chunks, ragged ends */
    float *inp = randv((size_t)N * C), *w = randv((size_t)OC * C), *b = randv(OC), *dout = randv((size_t)N * OC);
    float *o1 = zeros((size_t)N * OC), *o2 = zeros((size_t)N * OC);
    long seen = ef_par_multi_count();
    ef_linear_forward(o1, inp, w, b, N, C, OC);
    ef_linear_forward_ref(o2, inp, w, b, N, C, OC);
    CHECKF(maxrel(o1, o2, (size_t)N * OC) < 1e-4, "linear forward vs ref %.3g", maxrel(o1, o2, (size_t)N * OC));
    float *di1 = zeros((size_t)N * C), *dw1 = zeros((size_t)OC * C), *db1 = zeros(OC);
    float *di2 = zeros((size_t)N * C), *dw2 = zeros((size_t)OC * C), *db2 = zeros(OC);
    ef_linear_backward(di1, dw1, db1, dout, inp, w, N, C, OC);
    par_ran(seen, 1, "linear, 2 threads");
    ef_linear_backward_ref(di2, dw2, db2, dout, inp, w, N, C, OC);
    CHECK(maxrel(di1, di2, (size_t)N * C) < 1e-4);
    CHECKF(maxrel(dw1, dw2, (size_t)OC * C) < 1e-3, "dw %.3g", maxrel(dw1, dw2, (size_t)OC * C));
    CHECK(maxrel(db1, db2, OC) < 1e-3);
    /* 1 vs 2 threads: bitwise */
    float *di3 = zeros((size_t)N * C), *dw3 = zeros((size_t)OC * C), *db3 = zeros(OC), *o3 = zeros((size_t)N * OC);
    par_threads_set(1);
    seen = ef_par_multi_count();
    ef_linear_forward(o3, inp, w, b, N, C, OC);
    ef_linear_backward(di3, dw3, db3, dout, inp, w, N, C, OC);
    par_ran(seen, 0, "linear, 1 thread");
    par_threads_set(2);
    CHECK(memcmp(o1, o3, (size_t)N * OC * 4) == 0);
    CHECK(memcmp(di1, di3, (size_t)N * C * 4) == 0);
    CHECK(memcmp(dw1, dw3, (size_t)OC * C * 4) == 0);
    CHECK(memcmp(db1, db3, (size_t)OC * 4) == 0);
    float *all[] = {inp, w, b, dout, o1, o2, o3, di1, dw1, db1, di2, dw2, db2, di3, dw3, db3};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ef_free(all[i]);
}

static void test_attention(ef_mask mask, int T) {
    int B = 3, C = 24, NH = 3;
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
    int nscr = 4;
    float *scr = ef_malloc(nscr * ef_attention_scratch_floats(T, C / NH) * sizeof(float));
    float *qkv = randv(nq), *dout = randv(no);
    float *o1 = zeros(no), *o2 = zeros(no), *a1 = zeros(na), *a2 = zeros(na), *d1 = zeros(nq), *d2 = zeros(nq);
    long seen = ef_par_multi_count();
    ef_attention_forward(o1, a1, qkv, mask, scr, nscr, B, T, C, NH);
    par_ran(seen, 1, "attention forward, 2 threads");
    ef_attention_forward_ref(o2, a2, qkv, mask, B, T, C, NH);
    CHECK(maxrel(o1, o2, no) < 1e-4);
    CHECK(maxrel(a1, a2, na) < 1e-4);
    seen = ef_par_multi_count();
    ef_attention_backward(d1, dout, qkv, a1, mask, scr, nscr, B, T, C, NH);
    par_ran(seen, 1, "attention backward, 2 threads");
    ef_attention_backward_ref(d2, dout, qkv, a1, mask, B, T, C, NH);
    CHECKF(maxrel(d1, d2, nq) < 1e-4, "attention backward vs ref (mask %d) %.3g", mask.kind, maxrel(d1, d2, nq));
    float *o3 = zeros(no), *a3 = zeros(na), *d3 = zeros(nq);
    par_threads_set(1);
    seen = ef_par_multi_count();
    ef_attention_forward(o3, a3, qkv, mask, scr, nscr, B, T, C, NH);
    ef_attention_backward(d3, dout, qkv, a3, mask, scr, nscr, B, T, C, NH);
    par_ran(seen, 0, "attention, 1 thread");
    par_threads_set(2);
    CHECK(memcmp(o1, o3, no * 4) == 0 && memcmp(a1, a3, na * 4) == 0 && memcmp(d1, d3, nq * 4) == 0);
    float *all[] = {scr, qkv, dout, o1, o2, a1, a2, d1, d2, o3, a3, d3};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ef_free(all[i]);
}

static void test_layernorm_threads(void) {
    int N = 300, C = 70;
    float *inp = randv((size_t)N * C), *w = randv(C), *b = randv(C), *dout = randv((size_t)N * C);
    float *o[2], *mean[2], *rstd[2], *di[2], *dw[2], *db[2];
    for (int r = 0; r < 2; r++) {
        par_threads_set(r + 1);
        o[r] = zeros((size_t)N * C); mean[r] = zeros(N); rstd[r] = zeros(N);
        di[r] = zeros((size_t)N * C); dw[r] = zeros(C); db[r] = zeros(C);
        long seen = ef_par_multi_count();
        ef_layernorm_forward(o[r], mean[r], rstd[r], inp, w, b, N, C);
        par_ran(seen, r, r ? "layernorm forward, 2 threads" : "layernorm forward, 1 thread");
        seen = ef_par_multi_count();
        ef_layernorm_backward(di[r], dw[r], db[r], dout, inp, w, mean[r], rstd[r], N, C);
        par_ran(seen, r, r ? "layernorm backward, 2 threads" : "layernorm backward, 1 thread");
    }
    CHECK(memcmp(o[0], o[1], (size_t)N * C * 4) == 0);
    CHECK(memcmp(di[0], di[1], (size_t)N * C * 4) == 0);
    CHECK(memcmp(dw[0], dw[1], (size_t)C * 4) == 0 && memcmp(db[0], db[1], (size_t)C * 4) == 0);
    for (int r = 0; r < 2; r++) { ef_free(o[r]); ef_free(mean[r]); ef_free(rstd[r]); ef_free(di[r]); ef_free(dw[r]); ef_free(db[r]); }
    ef_free(inp); ef_free(w); ef_free(b); ef_free(dout);
}

/* GELU (several 8192-element chunks, a ragged end) and the residual: 1 vs 2 threads */
static void test_elementwise_threads(void) {
    size_t n = 20000;
    float *x = randv(n), *dy = randv(n), *out[2], *dx[2], *ra[2], *rb[2];
    for (int r = 0; r < 2; r++) {
        par_threads_set(r + 1);
        out[r] = zeros(n); dx[r] = zeros(n); ra[r] = zeros(n); rb[r] = zeros(n);
        long seen = ef_par_multi_count();
        ef_gelu_forward(out[r], x, n);
        ef_gelu_backward(dx[r], x, dy, n);
        ef_residual_forward(ra[r], x, dy, n);
        ef_residual_backward(ra[r], rb[r], out[r], n);
        par_ran(seen, r, r ? "gelu and residual, 2 threads" : "gelu and residual, 1 thread");
    }
    CHECK(memcmp(out[0], out[1], n * 4) == 0 && memcmp(dx[0], dx[1], n * 4) == 0);
    CHECK(memcmp(ra[0], ra[1], n * 4) == 0 && memcmp(rb[0], rb[1], n * 4) == 0);
    for (int r = 0; r < 2; r++) { ef_free(out[r]); ef_free(dx[r]); ef_free(ra[r]); ef_free(rb[r]); }
    ef_free(x); ef_free(dy);
}

/* The vectorised softmax row against expf: relative error per element and of the sum;
 * every length around the 16-wide blocks; the extra logit; empty rows. */
static void test_softmax_row(void) {
    double worst = 0;
    for (long n = 0; n <= 70; n++) {
        for (int with_extra = 0; with_extra < 2; with_extra++) {
            float a[80], b[80], ea, eb;
            for (long i = 0; i < n; i++) a[i] = b[i] = (float)(8.0 * ef_rng_normal(&rng));
            float extra = with_extra ? (float)(8.0 * ef_rng_normal(&rng)) : -INFINITY;
            float sa = ef_softmax_exp_row(a, n, extra, &ea);
            float sb = ef_softmax_exp_row_ref(b, n, extra, &eb);
            for (long i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / fmax(b[i], 1e-30));
            if (with_extra) worst = fmax(worst, fabs(ea - eb) / fmax(eb, 1e-30));
            CHECK(fabsf(sa - sb) <= 1e-5f * sb);
            CHECK(with_extra || ea == 0.0f);
        }
    }
    CHECKF(worst < 1e-6, "softmax row: max relative error %.3g", worst);
    /* blocked (online) softmax: blocks of 16 with rescaling give the row's normalised values */
    {
        enum { N = 70 };
        float a[N], b[N], e;
        for (int i = 0; i < N; i++) a[i] = b[i] = (float)(6.0 * ef_rng_normal(&rng)) + (i > 40 ? 9.0f : 0.0f);
        float sb = ef_softmax_exp_row_ref(b, N, -INFINITY, &e);
        float m = -INFINITY, l = 0, w[N];   /* w: each element's accumulated rescaling */
        for (int i = 0; i < N; i++) w[i] = 1.0f;
        for (int k0 = 0; k0 < N; k0 += 16) {
            int nb = N - k0 < 16 ? N - k0 : 16;
            float resc;
            float sum = ef_softmax_exp_block(a + k0, nb, &m, &resc);
            l = l * resc + sum;
            for (int i = 0; i < k0; i++) w[i] *= resc;
        }
        double wb = 0;
        for (int i = 0; i < N; i++) wb = fmax(wb, fabs(a[i] * w[i] / l - b[i] / sb));
        CHECKF(wb < 1e-6, "blocked softmax: max |p - p_ref| %.3g", wb);
    }
    /* an infinite logit: inf - inf is a negative-signed NaN, whose conversion to int was
     * undefined (UBSan via fuzz_checkpoint, a checkpoint with infinite weights); NaN keys
     * get the weight of y = 80, as positive NaN always did */
    {
        float s2[5] = {INFINITY, 0.0f, -1.0f, INFINITY, NAN}, e2;
        float sum2 = ef_softmax_exp_row(s2, 5, -INFINITY, &e2);
        CHECK(isfinite(sum2));
        for (int i = 0; i < 5; i++) CHECKF(isfinite(s2[i]) && s2[i] >= 0 && s2[i] < 1e-30f, "s2[%d] = %g", i, s2[i]);
        float b2[3] = {-NAN, 2.0f, 1.0f}, m2 = -INFINITY, r2;
        (void)ef_softmax_exp_block(b2, 3, &m2, &r2);
        CHECK(isfinite(r2));
    }
    /* very negative logits underflow to (almost) zero, not NaN */
    float s[3] = {0.0f, -200.0f, -1e30f}, e;
    float sum = ef_softmax_exp_row(s, 3, -INFINITY, &e);
    CHECK(s[0] == 1.0f && s[1] < 1e-30f && s[2] < 1e-30f && s[1] >= 0 && sum >= 1.0f && sum < 1.0f + 1e-6f);
}

int main(void) {
    ef_nn_init();
    ef_rng_init(&rng, 7, 0);
    par_threads_set(2);
    par_force();
    test_linear();
    /* one path for every T (a cblas_sgemm per (batch, head)); a short and a long sequence,
     * with either mask */
    test_attention((ef_mask){EF_MASK_CAUSAL, 0}, 37);
    test_attention((ef_mask){EF_MASK_CTX_QUERY, 20}, 37);
    test_attention((ef_mask){EF_MASK_CAUSAL, 0}, 150);
    test_attention((ef_mask){EF_MASK_CTX_QUERY, 90}, 150);
    test_layernorm_threads();
    test_elementwise_threads();
    par_threads_set(2);
    test_softmax_row();
    TEST_MAIN_END;
}
