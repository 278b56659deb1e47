/* The OpenBLAS thread count is set per call, never left behind (base/blas_threads.c):
 *  - ef_blas_enter / ef_blas_leave with a fake get/set: the first enter saves and sets 1, the
 *    last leave restores, nesting in one thread only counts, and 8 threads released together
 *    from a barrier (a slow set widens every race) never see a restore while one is inside;
 *  - ef_nn_init no longer touches OpenBLAS;
 *  - the layers run every sgemm with one OpenBLAS thread (the test interposes cblas_sgemm: the
 *    executable's definition wins over libopenblas's, calls are forwarded) and give the
 *    caller's count (2) back, from one thread and from several at once. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "base/blas.h"
#include "eraformer/nn.h"
#include "test.h"

enum { NTHREADS = 8, ITERS = 40 };

// ---- the facility with a fake OpenBLAS ------------------------------------------------------

static atomic_int fake_count = 4, n_sets, n_bad_alternation, n_inside_not_one;
static int last_set = 4; /* written under the facility's mutex only */

static int fake_get(void) { return atomic_load(&fake_count); }
static void fake_set(int n) {
    struct timespec ts = {0, 200 * 1000}; /* others arrive meanwhile */
    nanosleep(&ts, NULL);
    if (n == last_set) atomic_fetch_add(&n_bad_alternation, 1); /* 1,4,1,4...: never twice */
    last_set = n;
    atomic_fetch_add(&n_sets, 1);
    atomic_store(&fake_count, n);
}

static pthread_barrier_t start;

static void *fake_caller(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < ITERS; i++) {
        ef_blas_enter(fake_get, fake_set);
        ef_blas_enter(fake_get, fake_set); /* nested: counts only */
        if (atomic_load(&fake_count) != 1) atomic_fetch_add(&n_inside_not_one, 1);
        ef_blas_leave(fake_set);
        if (atomic_load(&fake_count) != 1) atomic_fetch_add(&n_inside_not_one, 1);
        ef_blas_leave(fake_set);
    }
    return NULL;
}

static void test_facility(void) {
    ef_blas_enter(fake_get, fake_set);
    CHECK(fake_get() == 1 && atomic_load(&n_sets) == 1);
    ef_blas_enter(fake_get, fake_set);
    ef_blas_leave(fake_set);
    CHECK(fake_get() == 1 && atomic_load(&n_sets) == 1); /* the inner leave restores nothing */
    ef_blas_leave(fake_set);
    CHECK(fake_get() == 4 && atomic_load(&n_sets) == 2);

    pthread_t th[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, fake_caller, NULL);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    CHECKF(atomic_load(&n_inside_not_one) == 0, "%d times a caller inside saw the count restored",
           atomic_load(&n_inside_not_one));
    CHECKF(atomic_load(&n_bad_alternation) == 0, "%d sets repeated the previous value", atomic_load(&n_bad_alternation));
    CHECKF(fake_get() == 4, "count after the threads: %d", fake_get());

    /* a caller already single-threaded: nothing is set at all */
    atomic_store(&fake_count, 1);
    last_set = 4;
    int before = atomic_load(&n_sets);
    ef_blas_enter(fake_get, fake_set);
    ef_blas_leave(fake_set);
    CHECK(atomic_load(&n_sets) == before && fake_get() == 1);
}

// ---- the layers on the real OpenBLAS ---------------------------------------------------------

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

enum { B = 2, T = 24, C = 32, NH = 4, N = B * T, OC = 3 * C };

typedef struct layer_job {
    float inp[N * C], w[OC * C], b[OC], out[N * OC], dinp[N * C], dw[OC * C], db[OC];
    float att_out[N * C], att[B * NH * T * T], datt[N * OC], *scratch;
} layer_job;

static void run_layers(layer_job *j) {
    ef_linear_forward(j->out, j->inp, j->w, j->b, N, C, OC);
    ef_linear_backward(j->dinp, j->dw, j->db, j->out, j->inp, j->w, N, C, OC);
    ef_attention_forward(j->att_out, j->att, j->out, (ef_mask){EF_MASK_CAUSAL, 0}, j->scratch, 1, B, T, C, NH);
    ef_attention_backward(j->datt, j->att_out, j->out, j->att, (ef_mask){EF_MASK_CAUSAL, 0}, j->scratch, 1, B, T, C, NH);
}

static void *layer_caller(void *arg) {
    pthread_barrier_wait(&start);
    for (int i = 0; i < 5; i++) run_layers(arg);
    return NULL;
}

static void test_layers(void) {
    openblas_set_num_threads(2); /* the program's own choice */
    ef_nn_init();
    CHECKF(openblas_get_num_threads() == 2, "ef_nn_init changed the OpenBLAS threads to %d", openblas_get_num_threads());
    static layer_job jobs[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        layer_job *j = &jobs[t];
        for (int i = 0; i < N * C; i++) j->inp[i] = (float)((i * 7 + t) % 13) / 13.0f - 0.5f;
        for (int i = 0; i < OC * C; i++) j->w[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
        for (int i = 0; i < OC; i++) j->b[i] = 0.01f * (float)i;
        j->scratch = ef_malloc(ef_attention_scratch_floats(T, C / NH) * sizeof(float));
        CHECK(j->scratch != NULL);
    }
    run_layers(&jobs[0]);
    CHECK(atomic_load(&n_sgemm) > 0);
    CHECKF(openblas_get_num_threads() == 2, "after the layers: %d OpenBLAS threads", openblas_get_num_threads());

    pthread_t th[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, layer_caller, &jobs[i]);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    CHECKF(atomic_load(&n_sgemm_multi) == 0, "%d of %d sgemm calls ran with more than one OpenBLAS thread",
           atomic_load(&n_sgemm_multi), atomic_load(&n_sgemm));
    CHECKF(openblas_get_num_threads() == 2, "after the threads: %d OpenBLAS threads", openblas_get_num_threads());
    for (int t = 0; t < NTHREADS; t++) ef_free(jobs[t].scratch);
}

int main(void) {
    test_facility();
    test_layers();
    TEST_MAIN_END;
}
