/* finetune's batch loader (numerai.h): while step s trains, a thread samples the tasks of step
 * s + 1 into the other of two buffers. Task b of step s on rank q of P has the stream index
 * (s * P + q) * batch + b, so the batches do not depend on threads or timing. */
#include <pthread.h>
#include <string.h>
#include "base/ef_internal.h"
#include "eraformer/numerai.h"

struct ef_numerai_loader {
    const ef_numerai_ft_data *d;
    ef_numerai_loader_opts o;
    int k;                   /* rows per task */
    ef_numerai_batch buf[2];
    long step;               /* the step whose batch the thread is sampling */
    int cur, running;
    pthread_t th;
    ef_status st;
    ef_error err;
    double wait_s;           /* seconds the trainer waited for a batch */
};

/* Tasks of step `step` (this rank's share) into bt. */
static ef_status sample_batch(const ef_numerai_loader *L, long step, ef_numerai_batch *bt, ef_error *err) {
    const ef_numerai_ft_data *d = L->d;
    const ef_numerai_loader_opts *o = &L->o;
    int k = L->k, D = o->D;
    uint64_t B = (uint64_t)o->batch, first = ((uint64_t)step * (uint64_t)o->ranks + (uint64_t)o->rank) * B;
    for (int b = 0; b < o->batch; b++)
        EF_TRY(ef_numerai_task_sample(&d->tasks, d->q_eras, d->n_q, o->read_in, D, o->context_rows, o->query_rows,
                                      o->embargo, o->window, o->feature_dropout, o->seed, first + (uint64_t)b,
                                      bt->x + (size_t)b * k * D, bt->y + (size_t)b * k, bt->mask + (size_t)b * k * D,
                                      &bt->d[b], err));
    return EF_OK;
}

static void *loader_main(void *arg) {
    ef_numerai_loader *L = arg;
    L->st = sample_batch(L, L->step, &L->buf[1 - L->cur], &L->err);
    return NULL;
}

ef_status ef_numerai_loader_create(ef_numerai_loader **out, const ef_numerai_ft_data *d,
                                   const ef_numerai_loader_opts *o, ef_error *err) {
    *out = NULL;
    EF_CHECK(o->batch > 0 && o->D > 0 && o->context_rows >= 0 && o->query_rows > 0 && o->ranks >= 1 && o->rank >= 0 &&
             o->rank < o->ranks, err, EF_ERR_INVALID, "loader: batch %d, D %d, rows %d+%d, rank %d of %d", o->batch,
             o->D, o->context_rows, o->query_rows, o->rank, o->ranks);
    ef_numerai_loader *L = ef_calloc(1, sizeof *L);
    EF_CHECK(L, err, EF_ERR_NOMEM, "out of memory");
    L->d = d;
    L->o = *o;
    L->k = o->context_rows + o->query_rows;
    size_t B = (size_t)o->batch, k = (size_t)L->k, D = (size_t)o->D;
    for (int i = 0; i < 2; i++) {
        L->buf[i].x = ef_malloc(B * k * D * sizeof(float));
        L->buf[i].y = ef_malloc(B * k * sizeof(float));
        L->buf[i].mask = ef_malloc(B * k * D);
        L->buf[i].d = ef_malloc(B * sizeof(int));
        if (!L->buf[i].x || !L->buf[i].y || !L->buf[i].mask || !L->buf[i].d) {
            ef_numerai_loader_destroy(L);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory for the batches (2 x %zu x %zu x %zu)", B, k, D);
        }
    }
    *out = L;
    return EF_OK;
}

void ef_numerai_loader_start(ef_numerai_loader *L, long step) {
    L->step = step;
    L->st = EF_OK;
    if (pthread_create(&L->th, NULL, loader_main, L) == 0) L->running = 1;
    else loader_main(L);   /* no thread: sample here */
}

ef_status ef_numerai_loader_take(ef_numerai_loader *L, const ef_numerai_batch **bt, ef_error *err) {
    double t = ef_time_now();
    if (L->running) pthread_join(L->th, NULL);
    L->running = 0;
    L->wait_s += ef_time_now() - t;
    if (L->st != EF_OK) {
        if (err) *err = L->err;
        return L->st;
    }
    L->cur = 1 - L->cur;
    *bt = &L->buf[L->cur];
    return EF_OK;
}

double ef_numerai_loader_wait_s(const ef_numerai_loader *L) { return L->wait_s; }

void ef_numerai_loader_destroy(ef_numerai_loader *L) {
    if (!L) return;
    if (L->running) pthread_join(L->th, NULL);
    for (int i = 0; i < 2; i++) {
        ef_free(L->buf[i].x); ef_free(L->buf[i].y); ef_free(L->buf[i].mask); ef_free(L->buf[i].d);
    }
    ef_free(L);
}
