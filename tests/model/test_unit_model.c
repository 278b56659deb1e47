/* Model: determinism (same seed twice; 1 vs 2 threads bitwise), checkpoint round trip and
 * exact resume, rejection of corrupt checkpoints, optimiser and schedule behaviour, row
 * positions (order-sensitive rows layout) against the permutation-invariant default, depth
 * growth (a grown model starts as its source and trains its new blocks). */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "eraformer/model.h"
#include "par_util.h"
#include "test.h"

enum { B = 4, K = 9, D = 6 };
static float X[B * K * D], Y[B * K];

static void make_data(void) {
    ef_rng r;
    ef_rng_init(&r, 5, 0);
    for (int b = 0; b < B; b++) {
        double w[D];
        for (int j = 0; j < D; j++) w[j] = ef_rng_normal(&r);
        for (int i = 0; i < K; i++) {
            double y = 0;
            for (int j = 0; j < D; j++) {
                float x = (float)ef_rng_normal(&r);
                X[(b * K + i) * D + j] = x;
                y += w[j] * x;
            }
            Y[b * K + i] = (float)y;
        }
    }
}

static void train(ef_model *m, int steps, double *last_loss) {
    ef_batch bt = {B, K, 4, X, Y, NULL, NULL};
    ef_adamw opt = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    ef_error err = {0};
    for (int s = 0; s < steps; s++) {
        double loss;
        ef_model_forward(m, &bt, NULL, &loss, &err);
        ef_model_zero_grad(m);
        ef_model_backward(m, &err);
        ef_model_clip_grad(m, 1.0);
        ef_model_adamw_step(m, &opt);
        if (last_loss) *last_loss = loss;
    }
}

static void test_determinism(ef_layout layout) {
    ef_model_config cfg = {layout, 2, 32, 4, D, K, 0};
    ef_model *a, *b;
    ef_error err = {0};
    CHECK(ef_model_create(&a, &cfg, B, 3, &err) == EF_OK);
    CHECK(ef_model_create(&b, &cfg, B, 3, &err) == EF_OK);
    size_t n = ef_model_num_params(a);
    CHECK(memcmp(ef_model_params(a), ef_model_params(b), n * 4) == 0);
    par_force();  /* this small model takes the parallel path, 2 threads doing work */
    par_threads_set(1);
    long seen = ef_par_multi_count();
    train(a, 3, NULL);
    par_ran(seen, 0, "model training, 1 thread");
    par_threads_set(2);
    seen = ef_par_multi_count();
    train(b, 3, NULL);
    par_ran(seen, 1, "model training, 2 threads");
    par_restore();
    CHECKF(memcmp(ef_model_params(a), ef_model_params(b), n * 4) == 0, "%s: 1 vs 2 threads differ", ef_layout_name(layout));
    ef_model *c;
    CHECK(ef_model_create(&c, &cfg, B, 4, &err) == EF_OK);
    CHECK(memcmp(ef_model_params(a), ef_model_params(c), n * 4) != 0); /* another seed, another init */
    ef_model_destroy(a);
    ef_model_destroy(b);
    ef_model_destroy(c);
}

/* Writes checkpoint buf (size bytes) to dst with the first `from` in its JSON header replaced by
 * `to` (any length: the header length is rewritten). Returns 0 when from is not in the header. */
static int write_header_edit(const char *dst, const char *buf, size_t size, const char *from, const char *to) {
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    char *hdr = ef_malloc(hlen + 1);
    memcpy(hdr, buf + 8, hlen);
    hdr[hlen] = 0;
    char *hit = strstr(hdr, from);
    if (!hit) {
        ef_free(hdr);
        return 0;
    }
    size_t pre = (size_t)(hit - hdr), lf = strlen(from), lt = strlen(to), nh = hlen - lf + lt;
    char *out = ef_malloc(size - hlen + nh);
    for (int i = 0; i < 8; i++) out[i] = (char)(nh >> (8 * i));
    memcpy(out + 8, hdr, pre);
    memcpy(out + 8 + pre, to, lt);
    memcpy(out + 8 + pre + lt, hit + lf, hlen - pre - lf);
    memcpy(out + 8 + nh, buf + 8 + hlen, size - 8 - hlen);
    ef_error err = {0};
    ef_file_write_atomic(dst, out, size - hlen + nh, &err);
    ef_free(out);
    ef_free(hdr);
    return 1;
}

static void test_checkpoint(ef_layout layout) {
    const char *path = layout == EF_LAYOUT_ROWS ? "test_model_rows.st" : "test_model_il.st";
    ef_model_config cfg = {layout, 2, 16, 2, D, K, 0};
    ef_model *a, *b;
    ef_error err = {0};
    CHECK(ef_model_create(&a, &cfg, B, 9, &err) == EF_OK);
    train(a, 2, NULL);
    ef_train_state st;
    memset(&st, 0, sizeof st);
    st.step = 2;
    st.seed = 12345678901234567ull;
    ef_rng_init(&st.rng, 1, 2);
    ef_rng_normal(&st.rng); /* leaves a spare normal in the state */
    snprintf(st.extra, sizeof st.extra, "{\"note\":\"x\"}");
    CHECK(ef_model_save(a, path, &st, 1, &err) == EF_OK);
    ef_train_state st2;
    int has_optim = 0;
    CHECK(ef_model_load(&b, path, B, &st2, &has_optim, &err) == EF_OK);
    if (!b) return;
    CHECK(has_optim == 1);
    CHECK(st2.step == 2 && st2.seed == st.seed && st2.rng.key == st.rng.key && st2.rng.counter == st.rng.counter);
    CHECK(st2.rng.has_spare == 1 && st2.rng.spare == st.rng.spare);
    CHECK(strcmp(st2.extra, st.extra) == 0);
    CHECK(ef_model_step(b) == 2);
    CHECK(ef_model_cfg(b)->layout == layout && ef_model_cfg(b)->d_model == 16);
    size_t n = ef_model_num_params(a);
    CHECK(memcmp(ef_model_params(a), ef_model_params(b), n * 4) == 0);
    /* resumed training is bitwise the same as uninterrupted training */
    train(a, 3, NULL);
    train(b, 3, NULL);
    CHECK(memcmp(ef_model_params(a), ef_model_params(b), n * 4) == 0);
    ef_model_destroy(b);
    ef_model_destroy(a);

    /* ---- corrupt files: every one rejected with EF_ERR_FORMAT naming the file */
    char *buf;
    size_t size;
    CHECK(ef_file_read_all(path, &buf, &size, &err) == EF_OK);
    const char *bad = "test_model_bad.st";
    size_t cuts[] = {0, 4, 8, 20, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        ef_file_write_atomic(bad, buf, cuts[i], &err);
        ef_status s = ef_model_load(&b, bad, B, NULL, NULL, &err);
        CHECKF(s == EF_ERR_FORMAT && strstr(err.msg, bad), "truncated at %zu: status %d msg %s", cuts[i], s, err.msg);
    }
    struct { const char *from, *to; } edits[] = {
        {"\"F32\"", "\"F16\""},               /* dtype */
        {"\"shape\":[2,16]", "\"shape\":[3,16]"}, /* shape against config */
        {"\"d_model\\\":16", "\"d_model\\\":17"}, /* config no longer divisible / shapes differ */
        {"\"eraformer\"", "\"eraformxr\""},   /* format tag */
        {"data_offsets\":[0,", "data_offsets\":[9,"},
        /* JSON that parses as a number, not an object: leaked before (ASan, fuzz_checkpoint) */
        {"\"state\":\"{", "\"state\":\"1"},
        {"\"config\":\"{", "\"config\":\"1"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        int hit = write_header_edit(bad, buf, size, edits[i].from, edits[i].to);
        CHECKF(hit, "edit %zu: pattern %s not in header", i, edits[i].from);
        ef_status s = ef_model_load(&b, bad, B, NULL, NULL, &err);
        CHECKF(!hit || (s == EF_ERR_FORMAT && strstr(err.msg, bad)), "edit %zu (%s): status %d msg %s", i, edits[i].to, s,
               err.msg);
    }
    /* an integer far outside int: was converted to int before its range check (undefined: clang's
     * UBSan in fuzz_checkpoint; gcc gave INT_MIN and the message "not an integer") */
    CHECK(write_header_edit(bad, buf, size, "\"n_layer\\\":2,", "\"n_layer\\\":1e99,"));
    CHECKF(ef_model_load(&b, bad, B, NULL, NULL, &err) == EF_ERR_FORMAT && strstr(err.msg, "'n_layer' = 1e+99 outside [1, 256]"),
           "n_layer 1e99: %s", err.msg);
    /* a valid config far larger than the file (16384 x 256 layers: ~3 TB of weights) is refused
     * from the file size, before anything is allocated (the loader allocated the model first:
     * a 14 KB file asking for 48 GB, seen while writing fuzz_checkpoint) */
    CHECK(write_header_edit(bad, buf, size, "\"n_layer\\\":2,\\\"d_model\\\":16,", "\"n_layer\\\":256,\\\"d_model\\\":16384,"));
    ef_status s = ef_model_load(&b, bad, B, NULL, NULL, &err);
    CHECKF(s == EF_ERR_FORMAT && strstr(err.msg, bad) && strstr(err.msg, "parameters"), "huge config: status %d msg %s", s,
           err.msg);
    /* header length larger than the file */
    char *copy = ef_malloc(size);
    memcpy(copy, buf, size);
    copy[5] = 0x7f;
    ef_file_write_atomic(bad, copy, size, &err);
    CHECK(ef_model_load(&b, bad, B, NULL, NULL, &err) == EF_ERR_FORMAT && strstr(err.msg, "offset 0"));
    ef_free(copy);
    CHECK(ef_model_load(&b, "does-not-exist.st", B, NULL, NULL, &err) == EF_ERR_IO);
    ef_free(buf);
    unlink(bad);
    unlink(path);
}

/* Fault injection (SQLite-style): fail the k-th allocation, for every k until creation and
 * loading succeed. Each failure returns EF_ERR_NOMEM and no model; nothing crashes, and the
 * ASan build (detect_leaks=1) checks that nothing leaks. */
static void test_alloc_failures(ef_layout layout) {
    ef_model_config cfg = {layout, 2, 16, 2, D, K, 0};
    ef_error err = {0};
    ef_model *m = NULL;
    int fails = 0, ok = 0;
    for (long k = 1; k < 100 && !ok; k++) {
        m = (ef_model *)&cfg; /* must be reset to NULL on failure */
        ef_alloc_fail_after(k);
        ef_status st = ef_model_create(&m, &cfg, B, 3, &err);
        ef_alloc_fail_after(0);
        if (st == EF_OK) ok = 1;
        else {
            fails++;
            CHECKF(st == EF_ERR_NOMEM && m == NULL, "create, allocation %ld failing: status %d", k, st);
        }
    }
    CHECK(ok && fails >= 6);
    const char *path = "test_model_alloc.st";
    CHECK(ef_model_save(m, path, NULL, 1, &err) == EF_OK);
    ef_model_destroy(m);
    fails = ok = 0;
    for (long k = 1; k < 100 && !ok; k++) {
        ef_train_state st2;
        int has_optim = -1;
        m = (ef_model *)&cfg;
        ef_alloc_fail_after(k);
        ef_status st = ef_model_load(&m, path, B, &st2, &has_optim, &err);
        ef_alloc_fail_after(0);
        if (st == EF_OK) {
            ok = 1;
            CHECK(has_optim == 1);
            ef_model_destroy(m);
        } else {
            fails++;
            CHECKF(st == EF_ERR_NOMEM && m == NULL, "load, allocation %ld failing: status %d", k, st);
        }
    }
    CHECK(ok && fails >= 7);
    unlink(path);
}

static void test_learning(void) {
    ef_model_config cfg = {EF_LAYOUT_ROWS, 2, 32, 4, D, K, 0};
    ef_model *m;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, B, 1, &err) == EF_OK);
    double l0, l1;
    ef_batch bt = {B, K, 4, X, Y, NULL, NULL};
    ef_model_forward(m, &bt, NULL, &l0, &err);
    train(m, 200, &l1);
    CHECKF(l1 < 0.2 * l0, "memorising one batch: loss %.4g -> %.4g", l0, l1);
    ef_model_destroy(m);
}

static void test_schedule_and_errors(void) {
    CHECK_NEAR(ef_lr_schedule(1.0f, 0, 10, 100, 0.1f), 0.1, 1e-7, 0);
    CHECK_NEAR(ef_lr_schedule(1.0f, 9, 10, 100, 0.1f), 1.0, 1e-7, 0);
    CHECK_NEAR(ef_lr_schedule(1.0f, 55, 10, 100, 0.1f), 0.55, 1e-6, 0);
    CHECK_NEAR(ef_lr_schedule(1.0f, 100, 10, 100, 0.1f), 0.1, 1e-7, 0);
    ef_model_config bad = {EF_LAYOUT_ROWS, 2, 30, 4, D, K, 0};
    ef_model *m;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &bad, B, 1, &err) == EF_ERR_INVALID && strstr(err.msg, "n_head"));
    /* activation memory beyond 1 TB is refused; the message names the token count */
    ef_model_config huge = {EF_LAYOUT_INTERLEAVED, 1, 8, 2, D, 65536, 0};
    CHECK(ef_model_create(&m, &huge, 1 << 20, 1, &err) == EF_ERR_INVALID && strstr(err.msg, "131072 tokens"));
    ef_model_config cfg = {EF_LAYOUT_INTERLEAVED, 1, 8, 2, D, K, 0};
    CHECK(ef_model_create(&m, &cfg, 2, 1, &err) == EF_OK);
    ef_batch bt = {3, K, 0, X, Y, NULL, NULL};
    CHECK(ef_model_forward(m, &bt, NULL, NULL, &err) == EF_ERR_INVALID); /* batch above max */
    ef_batch bt2 = {2, K + 1, 0, X, Y, NULL, NULL};
    CHECK(ef_model_forward(m, &bt2, NULL, NULL, &err) == EF_ERR_INVALID);
    CHECK(ef_model_backward(m, &err) == EF_ERR_INVALID); /* no forward yet */
    /* clipping: the returned norm is the pre-clip norm and the new norm is max_norm */
    ef_batch ok = {2, K, 0, X, Y, NULL, NULL};
    ef_model_forward(m, &ok, NULL, NULL, &err);
    ef_model_zero_grad(m);
    ef_model_backward(m, &err);
    double n0 = ef_model_clip_grad(m, 1e-3);
    double n1 = ef_model_clip_grad(m, 0);
    CHECK(n0 > 1e-3 && fabs(n1 - 1e-3) < 1e-8);
    ef_model_destroy(m);
}

/* Swapping two context rows: the default rows layout predicts the queries exactly as before
 * (up to summation order); with row positions the prediction changes. A positional model
 * round-trips through a checkpoint, is refused by the interleaved layout and by the context
 * cache, and a file without the key loads as a permutation-invariant model. */
static void test_row_positions(void) {
    ef_error err = {0};
    float Xs[B * K * D], Ys[B * K];
    memcpy(Xs, X, sizeof X);
    memcpy(Ys, Y, sizeof Y);
    for (int b = 0; b < B; b++) { /* swap context rows 0 and 2 of every sequence */
        for (int j = 0; j < D; j++) {
            float t = Xs[(b * K) * D + j];
            Xs[(b * K) * D + j] = Xs[(b * K + 2) * D + j];
            Xs[(b * K + 2) * D + j] = t;
        }
        float t = Ys[b * K];
        Ys[b * K] = Ys[b * K + 2];
        Ys[b * K + 2] = t;
    }
    ef_batch bt = {B, K, 4, X, Y, NULL, NULL}, bs = {B, K, 4, Xs, Ys, NULL, NULL};
    for (int pos = 0; pos <= 1; pos++) {
        ef_model_config cfg = {EF_LAYOUT_ROWS, 2, 16, 2, D, K, pos};
        ef_model *m;
        CHECK(ef_model_create(&m, &cfg, B, 3, &err) == EF_OK);
        CHECK((ef_model_param_info(m, EF_P_WPE)->size > 0) == pos);
        float p1[B * K], p2[B * K];
        CHECK(ef_model_forward(m, &bt, p1, NULL, &err) == EF_OK);
        CHECK(ef_model_forward(m, &bs, p2, NULL, &err) == EF_OK);
        double diff = 0;
        for (int b = 0; b < B; b++)
            for (int i = 4; i < K; i++) diff = fmax(diff, fabs(p1[b * K + i] - p2[b * K + i]));
        if (pos) CHECKF(diff > 1e-4, "row positions: swapping context rows changed the queries by only %.3g", diff);
        else CHECKF(diff < 1e-5, "no positions: swapping context rows changed the queries by %.3g", diff);
        const char *path = "test_model_rowpos.st";
        CHECK(ef_model_save(m, path, NULL, 0, &err) == EF_OK);
        ef_model *l = NULL;
        CHECK(ef_model_load(&l, path, B, NULL, NULL, &err) == EF_OK);
        if (l) {
            CHECK(ef_model_cfg(l)->row_positions == pos);
            CHECK(memcmp(ef_model_params(l), ef_model_params(m), ef_model_num_params(m) * 4) == 0);
            ef_model_destroy(l);
        }
        char *buf;
        size_t size;
        CHECK(ef_file_read_all(path, &buf, &size, &err) == EF_OK);
        CHECK((strstr(buf + 8, "row_positions") != NULL) == pos); /* absent from default files */
        ef_free(buf);
        ef_rows_cache *c = NULL;
        ef_status s = ef_rows_cache_create(&c, m, 16, &err);
        if (pos) CHECKF(s == EF_ERR_INVALID && strstr(err.msg, "row positions"), "cache: %d %s", s, err.msg);
        else CHECK(s == EF_OK);
        ef_rows_cache_destroy(c);
        unlink(path);
        ef_model_destroy(m);
    }
    ef_model_config il = {EF_LAYOUT_INTERLEAVED, 1, 8, 2, D, K, 1};
    ef_model *m = NULL;
    CHECK(ef_model_create(&m, &il, B, 1, &err) == EF_ERR_INVALID && strstr(err.msg, "row positions"));
}

/* Depth growth (pretrain --init --layers): the grown model predicts bitwise as the source,
 * every new block receives a gradient and moves, and mismatched targets are refused. */
static void test_grow(ef_layout layout) {
    ef_error err = {0};
    ef_model_config c2 = {layout, 2, 16, 2, D, K, 0}, c4 = {layout, 4, 16, 2, D, K, 0};
    ef_model *a, *g;
    CHECK(ef_model_create(&a, &c2, B, 7, &err) == EF_OK);
    train(a, 5, NULL);
    CHECK(ef_model_create(&g, &c4, B, 8, &err) == EF_OK);
    CHECK(ef_model_copy_grow(g, a, &err) == EF_OK);
    ef_batch bt = {B, K, 4, X, Y, NULL, NULL};
    float pa[B * K], pg[B * K];
    double la, lg;
    CHECK(ef_model_forward(a, &bt, pa, &la, &err) == EF_OK);
    CHECK(ef_model_forward(g, &bt, pg, &lg, &err) == EF_OK);
    CHECKF(la == lg && memcmp(pa, pg, sizeof pa) == 0, "grown model: loss %.9g vs %.9g", lg, la);
    ef_model_zero_grad(g);
    CHECK(ef_model_backward(g, &err) == EF_OK);
    const ef_param_info *pw = ef_model_param_info(g, EF_P_ATTPROJW), *pf = ef_model_param_info(g, EF_P_FCPROJW),
                        *fc = ef_model_param_info(g, EF_P_FCW);
    for (int l = 2; l < 4; l++) {
        double ga = 0, gf = 0;
        for (size_t j = 0; j < pw->size / 4; j++) ga += fabs(ef_model_grads(g)[pw->offset + l * pw->size / 4 + j]);
        for (size_t j = 0; j < pf->size / 4; j++) gf += fabs(ef_model_grads(g)[pf->offset + l * pf->size / 4 + j]);
        CHECKF(ga > 0 && gf > 0, "new layer %d: zero gradient on its output projections (%g, %g)", l, ga, gf);
    }
    float before = ef_model_params(g)[fc->offset + 3 * fc->size / 4];
    train(g, 3, NULL);
    CHECKF(ef_model_params(g)[fc->offset + 3 * fc->size / 4] != before, "new layer 3: the MLP did not move");
    /* refused: fewer layers, another width */
    ef_model_config c1 = {layout, 1, 16, 2, D, K, 0}, w = {layout, 4, 32, 2, D, K, 0};
    ef_model *s1, *sw;
    CHECK(ef_model_create(&s1, &c1, B, 1, &err) == EF_OK && ef_model_create(&sw, &w, B, 1, &err) == EF_OK);
    CHECK(ef_model_copy_grow(s1, a, &err) == EF_ERR_INVALID && strstr(err.msg, "layers"));
    CHECK(ef_model_copy_grow(sw, a, &err) == EF_ERR_INVALID);
    ef_model_destroy(s1);
    ef_model_destroy(sw);
    ef_model_destroy(a);
    ef_model_destroy(g);
}

int main(void) {
    make_data();
    test_row_positions();
    test_grow(EF_LAYOUT_ROWS);
    test_grow(EF_LAYOUT_INTERLEAVED);
    test_determinism(EF_LAYOUT_INTERLEAVED);
    test_determinism(EF_LAYOUT_ROWS);
    test_checkpoint(EF_LAYOUT_INTERLEAVED);
    test_checkpoint(EF_LAYOUT_ROWS);
    test_alloc_failures(EF_LAYOUT_INTERLEAVED);
    test_alloc_failures(EF_LAYOUT_ROWS);
    test_learning();
    test_schedule_and_errors();
    TEST_MAIN_END;
}
