/* finetune's batch loader: while step s trains, a thread samples the tasks of step s + 1 into
 * the other of two buffers. Task b of step s on rank q of P has the stream index
 * (s * P + q) * batch + b, so the batches do not depend on threads or timing. */
#include <string.h>
#include "base/ef_internal.h"
#include "cli/finetune.h"

/* Tasks of step `step` (this rank's share) into bt. */
static ef_status sample_batch(const ft_loader *L, long step, ft_batch *bt, ef_error *err) {
    const ft_run *r = L->r;
    const ft_opts *o = &r->o;
    int k = L->k, D = L->D;
    uint64_t B = (uint64_t)o->batch, first = ((uint64_t)step * (uint64_t)r->dist->size + (uint64_t)r->dist->rank) * B;
    for (int b = 0; b < o->batch; b++)
        EF_TRY(ef_numerai_task_sample(&r->tasks, r->q_eras, r->n_q, o->read_in, D, o->ctx, o->query, r->embargo, o->window,
                                    o->fdrop, o->seed, first + (uint64_t)b, bt->x + (size_t)b * k * D, bt->y + (size_t)b * k,
                                    bt->m + (size_t)b * k * D, &bt->d[b], err));
    return EF_OK;
}

static void *loader_main(void *arg) {
    ft_loader *L = arg;
    L->st = sample_batch(L, L->step, &L->buf[1 - L->cur], &L->err);
    return NULL;
}

ef_status ft_loader_init(ft_loader *L, const ft_run *r, int k, int D, ef_error *err) {
    memset(L, 0, sizeof *L);
    L->r = r;
    L->k = k;
    L->D = D;
    size_t B = (size_t)r->o.batch;
    for (int i = 0; i < 2; i++) {
        L->buf[i].x = ef_malloc(B * k * D * sizeof(float));
        L->buf[i].y = ef_malloc(B * k * sizeof(float));
        L->buf[i].m = ef_malloc(B * k * D);
        L->buf[i].d = ef_malloc(B * sizeof(int));
        EF_CHECK(L->buf[i].x && L->buf[i].y && L->buf[i].m && L->buf[i].d, err, EF_ERR_NOMEM,
                 "out of memory for the batches (2 x %zu x %d x %d)", B, k, D);
    }
    return EF_OK;
}

void ft_loader_start(ft_loader *L, long step) {
    L->step = step;
    L->st = EF_OK;
    if (pthread_create(&L->th, NULL, loader_main, L) == 0) L->running = 1;
    else loader_main(L);   /* no thread: sample here */
}

ef_status ft_loader_take(ft_loader *L, ft_batch **bt, ef_error *err) {
    double t = ef_time_now();
    if (L->running) pthread_join(L->th, NULL);
    L->running = 0;
    L->busy_s += ef_time_now() - t;
    if (L->st != EF_OK) {
        if (err) *err = L->err;
        return L->st;
    }
    L->cur = 1 - L->cur;
    *bt = &L->buf[L->cur];
    return EF_OK;
}

void ft_loader_free(ft_loader *L) {
    if (L->running) pthread_join(L->th, NULL);
    L->running = 0;
    for (int i = 0; i < 2; i++) {
        ef_free(L->buf[i].x); ef_free(L->buf[i].y); ef_free(L->buf[i].m); ef_free(L->buf[i].d);
    }
}
