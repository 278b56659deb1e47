/* The memory-linear (flash) attention against the naive references: outputs, log-sum-exp and
 * every gradient (dQ, dK, dV) for the context/query mask (several n_ctx, including 0 and T)
 * and the causal one, with the default blocks and with tiny blocks (many ragged blocks on
 * small problems); the mask (keys a row may not see change nothing in its output); and
 * bitwise equality for 1 and 2 threads with the second thread proven to have worked. */
#include <math.h>
#include <string.h>
#include "eraformer/nn.h"
#include "par_util.h"
#include "test.h"

static ef_rng rng;
static float *randv(size_t n, float s) {
    float *a = ef_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = s * (float)ef_rng_normal(&rng);
    return a;
}
static float *zeros(size_t n) { return ef_calloc(n, sizeof(float)); }
static float *copyv(const float *a, size_t n) {
    float *b = ef_malloc(n * sizeof(float));
    memcpy(b, a, n * sizeof(float));
    return b;
}
/* |a-b| / (1 + |b|): gradients are O(1..10) */
static double maxrel(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / (1.0 + fabs(b[i])));
    return m;
}

/* the log-sum-exp of each row in double, from qkv directly */
static double lse_ref(const float *qkv, ef_mask mask, int b, int h, int t, int T, int C, int NH) {
    int hs = C / NH;
    double mx = -INFINITY, sc[4096], sum = 0;
    const float *q = qkv + ((size_t)b * T + t) * 3 * C + (size_t)h * hs;
    for (int s = 0; s < T; s++) {
        sc[s] = -INFINITY;
        if (!ef_mask_allows(mask, t, s)) continue;
        const float *k = qkv + ((size_t)b * T + s) * 3 * C + C + (size_t)h * hs;
        double d = 0;
        for (int i = 0; i < hs; i++) d += (double)q[i] * k[i];
        sc[s] = d / sqrt((double)hs);
        mx = fmax(mx, sc[s]);
    }
    for (int s = 0; s < T; s++) sum += sc[s] == -INFINITY ? 0 : exp(sc[s] - mx);
    return mx + log(sum);
}

typedef struct run {
    float *out, *lse, *dqkv;
} run;

static run flash_run(const float *qkv, const float *dout, const float *dqkv0, ef_mask mask, int B, int T, int C, int NH,
                     float *scr, int nscr) {
    run r = {zeros((size_t)B * T * C), zeros((size_t)B * NH * T), copyv(dqkv0, (size_t)B * T * 3 * C)};
    ef_attention_flash_forward(r.out, r.lse, qkv, mask, scr, nscr, B, T, C, NH);
    ef_attention_flash_backward(r.dqkv, dout, r.out, qkv, r.lse, mask, scr, nscr, B, T, C, NH);
    return r;
}
static void run_free(run *r) { ef_free(r->out); ef_free(r->lse); ef_free(r->dqkv); }

/* one case: against the references, then 1 vs 2 threads bitwise */
static void test_case(const char *name, ef_mask mask, int B, int T, int C, int NH, int qb, int kb, float qk_scale) {
    ef_flash_blocks_set(qb, kb);
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
    int nscr = 2;
    float *scr = ef_malloc(nscr * ef_attention_flash_scratch_floats(C / NH) * sizeof(float));
    float *qkv = randv(nq, 1.0f), *dout = randv(no, 1.0f), *dqkv0 = randv(nq, 1.0f);
    for (size_t i = 0; i < nq; i++)   /* sharper softmaxes for the q and k thirds */
        if ((i % (3 * (size_t)C)) < 2 * (size_t)C) qkv[i] *= qk_scale;

    par_threads_set(2);
    long seen = ef_par_multi_count();
    run a = flash_run(qkv, dout, dqkv0, mask, B, T, C, NH, scr, nscr);
    par_ran(seen, 1, name);

    /* references: the dense forward in double, the full-Jacobian backward from its P */
    float *o2 = zeros(no), *att = zeros(na), *d2 = copyv(dqkv0, nq);
    ef_attention_forward_ref(o2, att, qkv, mask, B, T, C, NH);
    ef_attention_backward_ref(d2, dout, qkv, att, mask, B, T, C, NH);
    double eo = maxrel(a.out, o2, no), ed = maxrel(a.dqkv, d2, nq), el = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                double l = lse_ref(qkv, mask, b, h, t, T, C, NH);
                el = fmax(el, fabs(a.lse[((size_t)b * NH + h) * T + t] - l) / (1 + fabs(l)));
            }
    printf("%-34s max rel err: out %.2g  lse %.2g  dqkv %.2g\n", name, eo, el, ed);
    CHECKF(eo < 2e-5, "%s: forward vs ref: max rel err %.3g", name, eo);
    CHECKF(el < 2e-6, "%s: lse vs ref: max rel err %.3g", name, el);
    CHECKF(ed < 1e-4, "%s: backward vs ref: max rel err %.3g", name, ed);
    /* per third (dq, dk, dv), so that one of them cannot hide behind the others */
    for (int part = 0; part < 3; part++) {
        double e = 0;
        for (size_t r = 0; r < (size_t)B * T; r++)
            e = fmax(e, maxrel(a.dqkv + r * 3 * C + (size_t)part * C, d2 + r * 3 * C + (size_t)part * C, (size_t)C));
        CHECKF(e < 1e-4, "%s: d%c vs ref: max rel err %.3g", name, "qkv"[part], e);
    }

    par_threads_set(1);
    seen = ef_par_multi_count();
    run s = flash_run(qkv, dout, dqkv0, mask, B, T, C, NH, scr, nscr);
    par_ran(seen, 0, name);
    par_threads_set(2);
    CHECKF(memcmp(a.out, s.out, no * 4) == 0 && memcmp(a.lse, s.lse, (size_t)B * NH * T * 4) == 0 &&
               memcmp(a.dqkv, s.dqkv, nq * 4) == 0,
           "%s: 1 and 2 threads differ", name);
    run_free(&a);
    run_free(&s);
    float *all[] = {scr, qkv, dout, dqkv0, o2, att, d2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ef_free(all[i]);
    ef_flash_blocks_set(0, 0);
}

/* keys a row may not see: changing their k and v changes nothing in its output, bitwise */
static void test_mask_isolation(ef_mask mask, int T) {
    int B = 1, C = 16, NH = 2;
    ef_flash_blocks_set(8, 8);
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
    float *scr = ef_malloc(2 * ef_attention_flash_scratch_floats(C / NH) * sizeof(float));
    float *qkv = randv(nq, 1.0f), *o1 = zeros(no), *o2 = zeros(no), *l1 = zeros((size_t)NH * T), *l2 = zeros((size_t)NH * T);
    ef_attention_flash_forward(o1, l1, qkv, mask, scr, 2, B, T, C, NH);
    int u = mask.kind == EF_MASK_CAUSAL ? T / 2 : T - 3;   /* the key changed */
    for (int i = C; i < 3 * C; i++) qkv[(size_t)u * 3 * C + i] += 5.0f;
    ef_attention_flash_forward(o2, l2, qkv, mask, scr, 2, B, T, C, NH);
    int ok = 1, changed = 0;
    for (int t = 0; t < T; t++) {
        int same = memcmp(o1 + (size_t)t * C, o2 + (size_t)t * C, (size_t)C * 4) == 0;
        if (ef_mask_allows(mask, t, u)) changed += !same;
        else ok &= same;
    }
    CHECKF(ok, "mask %d: a row's output depends on a key it may not see", mask.kind);
    CHECKF(changed > 0, "mask %d: the changed key changed nothing (the test is blind)", mask.kind);
    float *all[] = {scr, qkv, o1, o2, l1, l2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ef_free(all[i]);
    ef_flash_blocks_set(0, 0);
}

int main(void) {
    ef_nn_init();
    ef_rng_init(&rng, 11, 0);
    par_force();
    /* The backward has two splits, chosen by B·NH (attention_flash.c): one pass per (b,h) from
     * 4 pairs on ("1-pass" below), query and key blocks below that ("2-pass"); both are
     * covered with the default and with tiny blocks. */
    /* default blocks (128 rows x 256 keys): 2 key blocks with a ragged end, 4-5 query blocks */
    test_case("2-pass ctx/query 450 of 600", (ef_mask){EF_MASK_CTX_QUERY, 450}, 1, 600, 32, 2, 0, 0, 1.5f);
    test_case("1-pass ctx/query 300 of 520", (ef_mask){EF_MASK_CTX_QUERY, 300}, 2, 520, 32, 2, 0, 0, 1.5f);
    test_case("2-pass causal 300", (ef_mask){EF_MASK_CAUSAL, 0}, 1, 300, 32, 2, 0, 0, 1.5f);
    test_case("2-pass ctx/query 37 of 60, blocks 7x5", (ef_mask){EF_MASK_CTX_QUERY, 37}, 1, 60, 24, 3, 7, 5, 2.0f);
    /* tiny blocks: many ragged blocks, the causal diagonal inside blocks, every n_ctx edge */
    test_case("1-pass ctx/query 37 of 60, blocks 7x5", (ef_mask){EF_MASK_CTX_QUERY, 37}, 2, 60, 24, 3, 7, 5, 2.0f);
    test_case("1-pass ctx/query 0 of 40, blocks 7x5", (ef_mask){EF_MASK_CTX_QUERY, 0}, 2, 40, 24, 3, 7, 5, 1.0f);
    test_case("1-pass ctx/query 40 of 40, blocks 7x5", (ef_mask){EF_MASK_CTX_QUERY, 40}, 2, 40, 24, 3, 7, 5, 1.0f);
    test_case("1-pass ctx/query 1 of 33, blocks 4x3", (ef_mask){EF_MASK_CTX_QUERY, 1}, 2, 33, 16, 2, 4, 3, 1.0f);
    test_case("1-pass causal 61, blocks 7x5", (ef_mask){EF_MASK_CAUSAL, 0}, 2, 61, 24, 3, 7, 5, 2.0f);
    test_case("2-pass causal 50, blocks 8x16", (ef_mask){EF_MASK_CAUSAL, 0}, 1, 50, 16, 1, 8, 16, 1.0f);
    test_mask_isolation((ef_mask){EF_MASK_CTX_QUERY, 30}, 50);
    test_mask_isolation((ef_mask){EF_MASK_CAUSAL, 0}, 50);
    par_restore();
    TEST_MAIN_END;
}
