/* The trainer shared by pretrain and finetune (model.h): the gradient all-reduce through the
 * caller's hooks, clipping, the learning-rate schedule, the AdamW step, the weight average,
 * early-stopping bookkeeping and resumable checkpoints. No printing, no MPI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/model.h"

ef_status ef_trainer_init(ef_trainer *t, ef_model *m, const ef_trainer_config *cfg, const ef_trainer_dist *dist,
                          ef_error *err) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->cfg = *cfg;
    t->dist = dist ? *dist : (ef_trainer_dist){0, 1, NULL, NULL, NULL, NULL, NULL};
    EF_CHECK(t->dist.size >= 1 && t->dist.rank >= 0 && t->dist.rank < t->dist.size, err, EF_ERR_INVALID,
             "trainer: rank %d of %d ranks", t->dist.rank, t->dist.size);
    EF_CHECK(t->dist.size == 1 || (t->dist.grad_mean && t->dist.sum && t->dist.same), err, EF_ERR_INVALID,
             "trainer: %d ranks need the grad_mean, sum and same hooks", t->dist.size);
    t->opt = (ef_adamw){(float)cfg->lr, EF_TRAINER_BETA1, EF_TRAINER_BETA2, EF_TRAINER_EPS, (float)cfg->weight_decay};
    t->best = -INFINITY;
    if (cfg->ema > 0) {
        size_t np = ef_model_num_params(m);
        t->ema = ef_malloc(np * sizeof(float));
        t->swap = ef_malloc(np * sizeof(float));
        if (!t->ema || !t->swap) {
            ef_trainer_free(t);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory for the weight average");
        }
        memcpy(t->ema, ef_model_params(m), np * sizeof(float));
    }
    return EF_OK;
}

void ef_trainer_free(ef_trainer *t) {
    ef_free(t->ema);
    ef_free(t->swap);
    t->ema = t->swap = NULL;
}

float ef_trainer_lr(const ef_trainer *t, long step) {
    return ef_lr_schedule((float)t->cfg.lr, step, t->cfg.warmup, t->cfg.steps, (float)t->cfg.min_lr_ratio);
}

static void ema_update(ef_trainer *t, long step) {
    if (!t->ema) return;
    size_t n = ef_model_num_params(t->m);
    const float *p = ef_model_params(t->m);
    /* short memory at first so the average is not dominated by the initial weights */
    double d = EF_MIN(t->cfg.ema, (1.0 + (double)step) / (10.0 + (double)step));
    float a = (float)d, b = (float)(1.0 - d);
    for (size_t i = 0; i < n; i++) t->ema[i] = a * t->ema[i] + b * p[i];
}

/* Every rank must hold the same parameters: a cheap weighted checksum compared over ranks. */
static int params_agree(const ef_trainer *t) {
    const float *p = ef_model_params(t->m);
    double cs = 0;
    for (size_t i = 0, n = ef_model_num_params(t->m); i < n; i++) cs += (double)p[i] * (double)((i % 7) + 1);
    return t->dist.same(t->dist.ctx, cs);
}

ef_status ef_trainer_step(ef_trainer *t, long step, double *loss, double *gnorm, ef_error *err) {
    const ef_trainer_dist *d = &t->dist;
    if (d->size > 1) {
        /* the average gradient of the global batch; the loss only for the caller's log */
        double t0 = ef_time_now();
        int bad = d->grad_mean(d->ctx, ef_model_grads(t->m), ef_model_num_params(t->m));
        t->comm_s += ef_time_now() - t0;
        EF_CHECK(!bad && !(loss && d->sum(d->ctx, loss, 1)), err, EF_ERR_IO,
                 "gradient all-reduce over %d ranks failed at step %ld", d->size, step + 1);
        if (loss) *loss /= d->size;
    }
    double norm = ef_model_clip_grad(t->m, t->cfg.clip);
    if (gnorm) *gnorm = norm;
    t->opt.lr = ef_trainer_lr(t, step);
    ef_model_adamw_step(t->m, &t->opt);
    ema_update(t, step);
    if (d->size > 1 && (step + 1) % EF_TRAINER_CHECK_EVERY == 0)
        EF_CHECK(params_agree(t), err, EF_ERR_INVALID, "rank %d: parameters diverged between ranks at step %ld", d->rank,
                 step + 1);
    return EF_OK;
}

void ef_trainer_ema_swap(ef_trainer *t) {
    if (!t->ema) return;
    size_t n = ef_model_num_params(t->m);
    float *p = ef_model_params(t->m);
    memcpy(t->swap, p, n * sizeof(float));
    memcpy(p, t->ema, n * sizeof(float));
    memcpy(t->ema, t->swap, n * sizeof(float));
}

int ef_trainer_record(ef_trainer *t, double value, long step, int final) {
    int improved;
    if (final) {
        improved = value > t->best || !isfinite(t->best);
    } else {
        improved = value > t->best;
        t->bad = improved ? 0 : t->bad + 1;
    }
    if (improved) {
        t->best = value;
        t->best_step = step;
    }
    return improved;
}

int ef_trainer_should_stop(const ef_trainer *t) { return t->cfg.patience > 0 && t->bad >= t->cfg.patience; }

int ef_trainer_state_json(const ef_trainer *t, double elapsed_s, char *buf, size_t n) {
    return snprintf(buf, n, "\"best_corr\":%.17g,\"best_step\":%ld,\"bad_evals\":%d,\"elapsed_s\":%.3f",
                    isfinite(t->best) ? t->best : -1e300, t->best_step, t->bad, elapsed_s);
}

/* A number of the flat JSON written by ef_trainer_state_json (def when absent). */
static double json_num(const char *json, const char *key, double def) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : def;
}

long ef_trainer_resume(ef_trainer *t, const ef_train_state *st, double *elapsed_s) {
    t->best = json_num(st->extra, "best_corr", -INFINITY);
    if (t->best < -1e299) t->best = -INFINITY;
    t->best_step = (long)json_num(st->extra, "best_step", 0);
    t->bad = (int)json_num(st->extra, "bad_evals", 0);
    if (elapsed_s) *elapsed_s = json_num(st->extra, "elapsed_s", 0);
    return st->step;
}

ef_status ef_trainer_save(const ef_trainer *t, const char *path, long step, uint64_t seed, const char *extra,
                          ef_error *err) {
    if (t->dist.rank != 0) return EF_OK;
    ef_train_state st;
    memset(&st, 0, sizeof st);
    st.step = step;
    st.seed = seed;
    ef_rng_init(&st.rng, seed, (uint64_t)step);
    snprintf(st.extra, sizeof st.extra, "%s", extra ? extra : "");
    return ef_model_save(t->m, path, &st, 1, err);
}

ef_status ef_trainer_run(ef_trainer *t, const ef_trainer_loop *lp, long start, long end, long *steps_done, int *reason,
                         ef_error *err) {
    long step;
    *reason = 0;
    for (step = start; step < end; step++) {
        int why = lp->stop ? lp->stop(lp->ctx, step) : 0;
        if (why) {
            *reason = why;
            break;
        }
        ef_trainer_step_info info = {step + 1, 0, 0, 0};
        ef_status s = lp->gradients(lp->ctx, step, &info.loss, err);
        if (s == EF_OK) s = ef_trainer_step(t, step, lp->mean_loss ? &info.loss : NULL, &info.grad_norm, err);
        info.lr = t->opt.lr;
        if (s == EF_OK && lp->progress) s = lp->progress(lp->ctx, &info, err);
        int eval = lp->evaluate && lp->eval_every > 0 && ((step + 1) % lp->eval_every == 0 || step + 1 == t->cfg.steps);
        if (s == EF_OK && eval) s = lp->evaluate(lp->ctx, step + 1, err);
        if (s == EF_OK && eval && ef_trainer_should_stop(t)) {
            *reason = EF_TRAINER_EARLY_STOP;
            step++;
            break;
        }
        if (s == EF_OK && lp->checkpoint && lp->checkpoint_every > 0 && (step + 1) % lp->checkpoint_every == 0 &&
            step + 1 < t->cfg.steps)
            s = lp->checkpoint(lp->ctx, step + 1, err);
        if (s != EF_OK) {
            *steps_done = step;
            return s;
        }
    }
    *steps_done = step;
    return EF_OK;
}
