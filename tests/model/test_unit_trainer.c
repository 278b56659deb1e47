/* The trainer (ef_trainer_*, model.h) against oracles written here: the schedule against its
 * formula in double, clipping against a naive norm, the first AdamW step against its closed
 * form, the weight average against a naive loop, the early-stopping bookkeeping against a
 * hand-worked sequence, resume from a checkpoint against an uninterrupted run (bitwise), the
 * data-parallel hooks with a fake second rank, and the loop's order of callbacks. */
#include <math.h>
#include <string.h>
#include "eraformer/model.h"
#include "test.h"

enum { B = 4, K = 9, D = 4 };
static float X[B * K * D], Y[B * K];

/* A batch that depends only on step: linear tasks from the stream (7, step). */
static void batch_of(long step) {
    ef_rng r;
    ef_rng_init(&r, 7, (uint64_t)step);
    for (int b = 0; b < B; b++) {
        double w[D];
        for (int j = 0; j < D; j++) w[j] = ef_rng_normal(&r);
        for (int i = 0; i < K; i++) {
            double y = 0;
            for (int j = 0; j < D; j++) {
                X[(b * K + i) * D + j] = (float)ef_rng_normal(&r);
                y += w[j] * X[(b * K + i) * D + j];
            }
            Y[b * K + i] = (float)y;
        }
    }
}

static ef_model *tiny(uint64_t seed) {
    ef_model_config cfg = {EF_LAYOUT_ROWS, 1, 16, 2, D, K, 0};
    ef_model *m = NULL;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, B, seed, &err) == EF_OK);
    return m;
}

/* forward and backward of step's batch */
static void grads_of(ef_model *m, long step) {
    ef_error err = {0};
    double loss;
    batch_of(step);
    ef_batch bt = {B, K, 4, X, Y, NULL, NULL};
    CHECK(ef_model_forward(m, &bt, NULL, &loss, &err) == EF_OK);
    ef_model_zero_grad(m);
    CHECK(ef_model_backward(m, &err) == EF_OK);
}

static void test_schedule(void) {
    ef_model *m = tiny(1);
    ef_trainer t;
    ef_trainer_config c = {2e-3, 10, 110, 0.1, 0, 0, 0, 0};
    ef_error err = {0};
    CHECK(ef_trainer_init(&t, m, &c, NULL, &err) == EF_OK);
    for (long s = 0; s < 130; s++) {
        double want;
        if (s < 10) want = 2e-3 * (double)(s + 1) / 10.0;
        else {
            double prog = s >= 110 ? 1.0 : (double)(s - 10) / 100.0;
            want = 2e-3 * (0.1 + 0.9 * 0.5 * (1.0 + cos(3.14159265358979323846 * prog)));
        }
        CHECK_NEAR(ef_trainer_lr(&t, s), want, 0, 1e-6);
    }
    CHECK_NEAR(ef_trainer_lr(&t, 9), 2e-3, 0, 1e-6);      /* the end of the warmup: the peak */
    CHECK_NEAR(ef_trainer_lr(&t, 500), 2e-4, 0, 1e-6);    /* past the end: the floor */
    ef_trainer_free(&t);
    ef_model_destroy(m);
}

/* Clipping: the returned norm is the naive one, grads are scaled to the clip; the first AdamW
 * step (no decay) has m̂ = g, v̂ = g², so it moves each parameter by lr·g / (|g| + eps). */
static void test_clip_and_adamw(void) {
    for (int clip_on = 0; clip_on < 2; clip_on++) {
        ef_model *m = tiny(2);
        size_t n = ef_model_num_params(m);
        float *g = ef_model_grads(m), *p0 = malloc(n * sizeof(float)), *g0 = malloc(n * sizeof(float));
        ef_rng r;
        ef_rng_init(&r, 3, 0);
        double ss = 0;
        for (size_t i = 0; i < n; i++) {
            g[i] = (float)(ef_rng_normal(&r) * 0.01);
            ss += (double)g[i] * g[i];
        }
        memcpy(g0, g, n * sizeof(float));
        memcpy(p0, ef_model_params(m), n * sizeof(float));
        double norm = sqrt(ss), clip = clip_on ? norm / 4 : 0;
        ef_trainer t;
        ef_trainer_config c = {1e-3, 0, 100, 0.1, 0, clip, 0, 0};
        ef_error err = {0};
        double gn = 0;
        CHECK(ef_trainer_init(&t, m, &c, NULL, &err) == EF_OK);
        CHECK(ef_trainer_step(&t, 0, NULL, &gn, &err) == EF_OK);
        CHECK_NEAR(gn, norm, 0, 1e-9);
        double ss2 = 0, worst = 0, worst_p = 0;
        float lr = ef_trainer_lr(&t, 0);
        CHECK(t.opt.lr == lr);
        for (size_t i = 0; i < n; i++) {
            ss2 += (double)g[i] * g[i];
            double want = clip_on ? g0[i] * clip / (norm + 1e-6) : g0[i];
            worst = fmax(worst, fabs(g[i] - want) / (fabs(want) + 1e-12));
            double step = lr * want / (fabs(want) + 1e-8);
            double tol = 2.5e-7 * (fabs(p0[i]) + 1.0) + 1e-5 * lr;
            worst_p = fmax(worst_p, fabs((p0[i] - ef_model_params(m)[i]) - step) / tol);
        }
        CHECKF(worst < 1e-5, "clipped gradients: worst relative error %g", worst);
        CHECKF(worst_p <= 1, "AdamW step: worst error %g of the tolerance", worst_p);
        CHECK_NEAR(sqrt(ss2), clip_on ? clip : norm, 0, 1e-5);
        CHECK(ef_model_step(m) == 1);
        ef_trainer_free(&t);
        ef_model_destroy(m);
        free(p0);
        free(g0);
    }
}

/* The weight average against a double-precision loop; swapping twice restores. */
static void test_ema(void) {
    ef_model *m = tiny(4);
    size_t n = ef_model_num_params(m);
    double *e = malloc(n * sizeof(double));
    float *keep = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) e[i] = ef_model_params(m)[i];
    ef_trainer t;
    ef_trainer_config c = {1e-2, 2, 20, 0.1, 0.01, 1.0, 0.5, 0};   /* the cap 0.5 binds from step 8 */
    ef_error err = {0};
    CHECK(ef_trainer_init(&t, m, &c, NULL, &err) == EF_OK);
    for (long s = 0; s < 12; s++) {
        grads_of(m, s);
        CHECK(ef_trainer_step(&t, s, NULL, NULL, &err) == EF_OK);
        double d = (1.0 + s) / (10.0 + s) < 0.5 ? (1.0 + s) / (10.0 + s) : 0.5;
        for (size_t i = 0; i < n; i++) e[i] = d * e[i] + (1 - d) * ef_model_params(m)[i];
    }
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(t.ema[i] - e[i]) / (fabs(e[i]) + 1e-3));
    CHECKF(worst < 1e-5, "worst relative error %g", worst);
    memcpy(keep, ef_model_params(m), n * sizeof(float));
    ef_trainer_ema_swap(&t);
    worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ef_model_params(m)[i] - e[i]) / (fabs(e[i]) + 1e-3));
    CHECK(worst < 1e-5);
    ef_trainer_ema_swap(&t);
    CHECK(memcmp(keep, ef_model_params(m), n * sizeof(float)) == 0);
    ef_trainer_free(&t);
    ef_model_destroy(m);
    free(e);
    free(keep);
}

/* Patience 2 over a worked sequence: best, its step, the count, the stop; a final evaluation
 * does not count; the bookkeeping survives a JSON round trip. */
static void test_early_stopping(void) {
    ef_model *m = tiny(5);
    ef_trainer t;
    ef_trainer_config c = {1e-3, 0, 10, 0.1, 0, 0, 0, 2};
    ef_error err = {0};
    CHECK(ef_trainer_init(&t, m, &c, NULL, &err) == EF_OK);
    CHECK(isinf(t.best) && t.best < 0 && t.bad == 0 && !ef_trainer_should_stop(&t));
    const double v[] = {0.01, 0.03, 0.02, 0.04, 0.04, 0.00};
    const int improved[] = {1, 1, 0, 1, 0, 0}, bad[] = {0, 0, 1, 0, 1, 2}, stop[] = {0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 6; i++) {
        CHECK(ef_trainer_record(&t, v[i], 10L * (i + 1), 0) == improved[i]);
        CHECK(t.bad == bad[i] && ef_trainer_should_stop(&t) == stop[i]);
    }
    CHECK(t.best == 0.04 && t.best_step == 40);
    char js[256], ex[512];
    ef_trainer_state_json(&t, 12.5, js, sizeof js);
    ef_train_state st = {0};
    st.step = 60;
    snprintf(st.extra, sizeof st.extra, "{%s,\"embargo\":4}", js);
    CHECK(ef_trainer_record(&t, 0.05, 65, 1) == 1 && t.bad == 2 && t.best_step == 65);   /* final: no count */
    ef_trainer u;
    CHECK(ef_trainer_init(&u, m, &c, NULL, &err) == EF_OK);
    double el = 0;
    CHECK(ef_trainer_resume(&u, &st, &el) == 60);
    CHECK(u.best == 0.04 && u.best_step == 40 && u.bad == 2 && el == 12.5 && ef_trainer_should_stop(&u));
    /* no evaluation yet: -inf round-trips; a final one is a best even when not finite */
    ef_trainer w;
    CHECK(ef_trainer_init(&w, m, &c, NULL, &err) == EF_OK);
    ef_trainer_state_json(&w, 0, js, sizeof js);
    snprintf(ex, sizeof ex, "{%s}", js);
    snprintf(st.extra, sizeof st.extra, "%s", ex);
    CHECK(ef_trainer_resume(&u, &st, NULL) == 60 && isinf(u.best) && u.best < 0 && u.bad == 0);
    CHECK(ef_trainer_record(&w, NAN, 5, 0) == 0 && w.bad == 1);
    CHECK(ef_trainer_record(&w, NAN, 5, 1) == 1 && w.best_step == 5);
    ef_trainer_free(&t);
    ef_trainer_free(&u);
    ef_trainer_free(&w);
    ef_model_destroy(m);
}

/* 8 steps in one run against 3 steps, a checkpoint, a fresh process's load and 5 more:
 * the same parameters bit for bit (AdamW moments and step are in the checkpoint). */
static void test_resume(void) {
    ef_trainer_config c = {3e-3, 2, 8, 0.1, 0.01, 1.0, 0, 0};
    ef_error err = {0};
    ef_model *a = tiny(6), *b = tiny(6), *l = NULL;
    ef_trainer ta, tb, tl;
    CHECK(ef_trainer_init(&ta, a, &c, NULL, &err) == EF_OK && ef_trainer_init(&tb, b, &c, NULL, &err) == EF_OK);
    for (long s = 0; s < 8; s++) {
        grads_of(a, s);
        CHECK(ef_trainer_step(&ta, s, NULL, NULL, &err) == EF_OK);
    }
    for (long s = 0; s < 3; s++) {
        grads_of(b, s);
        CHECK(ef_trainer_step(&tb, s, NULL, NULL, &err) == EF_OK);
    }
    CHECK(ef_trainer_save(&tb, "trainer_resume.st", 3, 11, "{\"x\":1}", &err) == EF_OK);
    ef_train_state st;
    int has_optim = 0;
    CHECK(ef_model_load(&l, "trainer_resume.st", B, &st, &has_optim, &err) == EF_OK && has_optim);
    ef_rng want;
    ef_rng_init(&want, 11, 3);
    CHECK(st.seed == 11 && st.rng.key == want.key && !strcmp(st.extra, "{\"x\":1}"));
    CHECK(ef_trainer_init(&tl, l, &c, NULL, &err) == EF_OK);
    long start = ef_trainer_resume(&tl, &st, NULL);
    CHECK(start == 3);
    for (long s = start; s < 8; s++) {
        grads_of(l, s);
        CHECK(ef_trainer_step(&tl, s, NULL, NULL, &err) == EF_OK);
    }
    size_t n = ef_model_num_params(a);
    CHECK(ef_model_num_params(l) == n && memcmp(ef_model_params(a), ef_model_params(l), n * sizeof(float)) == 0);
    CHECK(ef_model_step(l) == 8);
    ef_trainer_free(&ta);
    ef_trainer_free(&tb);
    ef_trainer_free(&tl);
    ef_model_destroy(a);
    ef_model_destroy(b);
    ef_model_destroy(l);
    remove("trainer_resume.st");
}

/* A fake second rank whose gradients are zero and whose loss is 3: the mean halves the
 * gradients, the loss becomes (l + 3) / 2; the checksum is asked every 100 steps. */
typedef struct fake {
    int means, sums, sames, agree;
} fake;
static int f_mean(void *ctx, float *buf, size_t n) {
    ((fake *)ctx)->means++;
    for (size_t i = 0; i < n; i++) buf[i] *= 0.5f;
    return 0;
}
static int f_sum(void *ctx, double *v, int n) {
    ((fake *)ctx)->sums++;
    for (int i = 0; i < n; i++) v[i] += 3;
    return 0;
}
static int f_same(void *ctx, double v) {
    (void)v;
    ((fake *)ctx)->sames++;
    return ((fake *)ctx)->agree;
}

static void test_dist_hooks(void) {
    ef_model *m = tiny(8), *ref = tiny(8);
    fake f = {0, 0, 0, 1};
    ef_trainer_dist d = {0, 2, &f, f_mean, f_sum, f_same, NULL}, none = {0, 2, NULL, NULL, NULL, NULL, NULL};
    ef_trainer_config c = {1e-3, 0, 1000, 0.1, 0, 0, 0, 0};
    ef_error err = {0};
    ef_trainer t, r;
    CHECK(ef_trainer_init(&t, m, &c, &none, &err) == EF_ERR_INVALID);
    CHECK(ef_trainer_init(&t, m, &c, &d, &err) == EF_OK && ef_trainer_init(&r, ref, &c, NULL, &err) == EF_OK);
    size_t n = ef_model_num_params(m);
    for (long s = 0; s < 100; s++) {
        grads_of(m, s);
        grads_of(ref, s);
        float *g = ef_model_grads(ref);
        for (size_t i = 0; i < n; i++) g[i] *= 0.5f;   /* what the mean of the two ranks is */
        double loss = 1.0, gn = 0, gr = 0;
        CHECK(ef_trainer_step(&t, s, &loss, &gn, &err) == EF_OK && ef_trainer_step(&r, s, NULL, &gr, &err) == EF_OK);
        if (s == 0) CHECK(loss == 2.0 && gn == gr);
    }
    CHECK(f.means == 100 && f.sums == 100 && f.sames == 1);
    CHECK(memcmp(ef_model_params(m), ef_model_params(ref), n * sizeof(float)) == 0);
    f.agree = 0;
    for (long s = 100; s < 200; s++) {
        grads_of(m, s);
        ef_status st = ef_trainer_step(&t, s, NULL, NULL, &err);
        CHECK(st == (s == 199 ? EF_ERR_INVALID : EF_OK));
    }
    CHECK(f.sums == 100 && strstr(err.msg, "diverged") != NULL);
    ef_trainer_free(&t);
    ef_trainer_free(&r);
    ef_model_destroy(m);
    ef_model_destroy(ref);
}

/* The loop: which callbacks run after which step, by a hand-worked schedule. */
typedef struct rec {
    ef_model *m;
    ef_trainer *t;
    char log[512];
    long stop_at, fail_at;
    const double *vals;
    int n_eval;
} rec;
static void note(rec *r, char what, long v) {
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof r->log - n, "%c%ld", what, v);
}
static int l_stop(void *ctx, long step) { return ((rec *)ctx)->stop_at == step ? 7 : 0; }
static ef_status l_grad(void *ctx, long step, double *loss, ef_error *err) {
    rec *r = ctx;
    if (step == r->fail_at) return ef_error_set(err, EF_ERR_IO, __FILE__, __LINE__, "step %ld failed", step);
    grads_of(r->m, step);
    *loss = 1.5;
    note(r, 'g', step);
    return EF_OK;
}
static ef_status l_prog(void *ctx, const ef_trainer_step_info *in, ef_error *err) {
    (void)err;
    rec *r = ctx;
    CHECK(in->loss == 1.5 && in->lr == r->t->opt.lr && in->grad_norm > 0);
    note(r, 'p', in->steps);
    return EF_OK;
}
static ef_status l_eval(void *ctx, long steps, ef_error *err) {
    (void)err;
    rec *r = ctx;
    if (r->vals) ef_trainer_record(r->t, r->vals[r->n_eval++], steps, 0);
    note(r, 'E', steps);
    return EF_OK;
}
static ef_status l_ckpt(void *ctx, long steps, ef_error *err) {
    (void)err;
    note((rec *)ctx, 'C', steps);
    return EF_OK;
}

static void test_loop(void) {
    ef_model *m = tiny(9);
    ef_trainer t;
    ef_trainer_config c = {1e-3, 1, 7, 0.1, 0, 1.0, 0, 2};
    ef_error err = {0};
    CHECK(ef_trainer_init(&t, m, &c, NULL, &err) == EF_OK);
    rec r = {m, &t, "", -1, -1, NULL, 0};
    ef_trainer_loop lp = {&r, 3, 2, 0, l_stop, l_grad, l_prog, l_eval, l_ckpt};
    long done = -1;
    int why = -5;
    /* steps 0..6 of 7: evaluations after 3, 6 and 7 (the last); checkpoints after 2, 4, 6 */
    CHECK(ef_trainer_run(&t, &lp, 0, 7, &done, &why, &err) == EF_OK && done == 7 && why == 0);
    CHECKF(!strcmp(r.log, "g0p1g1p2C2g2p3E3g3p4C4g4p5g5p6E6C6g6p7E7"), "%s", r.log);
    CHECK(ef_model_step(m) == 7);
    /* a stop before step 2 of a resumed run from 1 */
    r = (rec){m, &t, "", 2, -1, NULL, 0};
    CHECK(ef_trainer_run(&t, &lp, 1, 7, &done, &why, &err) == EF_OK && done == 2 && why == 7);
    CHECKF(!strcmp(r.log, "g1p2C2"), "%s", r.log);
    /* patience 2: 0.1 (best), 0.05, 0.02: stops after the third evaluation, 9 steps done */
    const double vals[] = {0.1, 0.05, 0.02, 0.3};
    ef_trainer u;
    c.steps = 100;
    CHECK(ef_trainer_init(&u, m, &c, NULL, &err) == EF_OK);
    r = (rec){m, &u, "", -1, -1, vals, 0};
    ef_trainer_loop le = {&r, 3, 0, 1, NULL, l_grad, NULL, l_eval, NULL};
    CHECK(ef_trainer_run(&u, &le, 0, 100, &done, &why, &err) == EF_OK && done == 9 && why == EF_TRAINER_EARLY_STOP);
    CHECKF(!strcmp(r.log, "g0g1g2E3g3g4g5E6g6g7g8E9"), "%s", r.log);
    CHECK(u.best == 0.1 && u.best_step == 3 && u.bad == 2);
    /* a failing callback ends the loop with its status */
    r = (rec){m, &t, "", -1, 4, NULL, 0};
    CHECK(ef_trainer_run(&t, &lp, 3, 7, &done, &why, &err) == EF_ERR_IO && done == 4 && strstr(err.msg, "step 4"));
    ef_trainer_free(&t);
    ef_trainer_free(&u);
    ef_model_destroy(m);
}

int main(void) {
    test_schedule();
    test_clip_and_adamw();
    test_ema();
    test_early_stopping();
    test_resume();
    test_dist_hooks();
    test_loop();
    TEST_MAIN_END;
}
