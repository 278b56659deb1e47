/* The model's public calls leave the caller's OpenBLAS thread count as it was (2 here), run
 * every sgemm with one OpenBLAS thread (the test interposes cblas_sgemm: the executable's
 * definition wins over libopenblas's, calls are forwarded), and give the same bits as before
 * the per-call setting: forward, backward, backward_dpred, the symmetry ensemble, the rows
 * cache, from one thread and from four at once (parallel regions forced on). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <cblas.h>
#include "eraformer/model.h"
#include "par_util.h"
#include "test.h"

static atomic_int n_sgemm, n_sgemm_multi;

void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N,
                 OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha, OPENBLAS_CONST float *A,
                 OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *B, OPENBLAS_CONST blasint ldb,
                 OPENBLAS_CONST float beta, float *C, OPENBLAS_CONST blasint ldc) {
    atomic_fetch_add(&n_sgemm, 1);
    if (openblas_get_num_threads() != 1) atomic_fetch_add(&n_sgemm_multi, 1);
    typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint,
                             blasint, float, const float *, blasint, const float *, blasint, float, float *,
                             blasint);
    sgemm_fn real = NULL;
    void *sym = dlsym(RTLD_NEXT, "cblas_sgemm");
    if (sym) memcpy(&real, &sym, sizeof real); /* POSIX's object-to-function pointer idiom */
    if (real) real(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

enum { NB = 2, NK = 40, NCTX = 25, ND = 5, NTHREADS = 4 };
static float X[NB * NK * ND], Y[NB * NK], DP[NB * NK];

typedef struct job {
    float pred[NB * NK], sym[NB * NK], cached[NK], grad0;
    int ok;
} job;

static void run(job *j) {
    ef_model_config cfg = {EF_LAYOUT_ROWS, 2, 32, 4, ND, NK, 0};
    ef_model *m = NULL;
    ef_rows_cache *c = NULL;
    j->ok = ef_model_create(&m, &cfg, NB, 3, NULL) == EF_OK;
    if (!j->ok) return;
    ef_batch bt = {NB, NK, NCTX, X, Y, NULL, NULL};
    double loss;
    j->ok &= ef_model_forward(m, &bt, j->pred, &loss, NULL) == EF_OK;
    ef_model_zero_grad(m);
    j->ok &= ef_model_backward(m, NULL) == EF_OK;
    j->ok &= ef_model_backward_dpred(m, DP, NULL) == EF_OK;
    j->grad0 = ef_model_grads(m)[0];
    j->ok &= ef_model_forward_sym(m, &bt, 3, 7, 0, j->sym, NULL, NULL) == EF_OK;
    j->ok &= ef_rows_cache_create(&c, m, NCTX, NULL) == EF_OK;
    if (c) {
        j->ok &= ef_rows_cache_set_context(c, X, Y, NULL, ND, NCTX, NULL) == EF_OK;
        j->ok &= ef_rows_cache_predict(c, X + NCTX * ND, NULL, ND, NK - NCTX, j->cached, NULL) == EF_OK;
    }
    ef_rows_cache_destroy(c);
    ef_model_destroy(m);
}

static void *run_thread(void *arg) {
    for (int i = 0; i < 3; i++) run(arg);
    return NULL;
}

int main(void) {
    ef_rng r;
    ef_rng_init(&r, 11, 0);
    for (int i = 0; i < NB * NK * ND; i++) X[i] = (float)ef_rng_normal(&r);
    for (int i = 0; i < NB * NK; i++) Y[i] = (float)ef_rng_normal(&r), DP[i] = (float)ef_rng_normal(&r);
    par_threads_set(2);
    par_force();

    /* the reference bits: the library's old policy, OpenBLAS at one thread throughout */
    openblas_set_num_threads(1);
    static job ref, serial, par[NTHREADS];
    run(&ref);
    CHECK(ref.ok);

    openblas_set_num_threads(2); /* the program's own choice */
    run(&serial);
    CHECK(serial.ok);
    CHECK(atomic_load(&n_sgemm) > 0);
    CHECKF(openblas_get_num_threads() == 2, "after the model calls: %d OpenBLAS threads", openblas_get_num_threads());
    CHECK(!memcmp(&serial, &ref, sizeof ref));

    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, run_thread, &par[i]);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) CHECKF(par[i].ok && !memcmp(&par[i], &ref, sizeof ref), "thread %d differs", i);
    CHECKF(atomic_load(&n_sgemm_multi) == 0, "%d of %d sgemm calls ran with more than one OpenBLAS thread",
           atomic_load(&n_sgemm_multi), atomic_load(&n_sgemm));
    CHECKF(openblas_get_num_threads() == 2, "after the threads: %d OpenBLAS threads", openblas_get_num_threads());
    TEST_MAIN_END;
}
