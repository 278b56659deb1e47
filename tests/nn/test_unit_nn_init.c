/* ef_nn_init from several threads at once: the BLAS setting runs exactly once, and no caller
 * returns before it is done. The test interposes openblas_set_num_threads (the executable's
 * definition wins over libopenblas's) with a slow version that counts its calls, and releases
 * the threads together from a barrier, so an unsynchronised "if (!done)" flag lets several
 * threads in deterministically; under TSan it is also reported as a data race. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "eraformer/nn.h"
#include "test.h"

enum { NTHREADS = 8 };
static atomic_int n_set_calls, n_set_done, last_value = -1;
static pthread_barrier_t start;

void openblas_set_num_threads(int n);
void openblas_set_num_threads(int n) {
    atomic_fetch_add(&n_set_calls, 1);
    struct timespec ts = {0, 50 * 1000 * 1000}; /* the other threads arrive meanwhile */
    nanosleep(&ts, NULL);
    void (*real)(int) = NULL;
    void *sym = dlsym(RTLD_NEXT, "openblas_set_num_threads");
    if (sym) memcpy(&real, &sym, sizeof real); /* POSIX's object-to-function pointer idiom */
    if (real) real(n);
    atomic_store(&last_value, n);
    atomic_fetch_add(&n_set_done, 1);
}

static void *caller(void *arg) {
    int *done_seen = arg;
    pthread_barrier_wait(&start);
    ef_nn_init();
    *done_seen = atomic_load(&n_set_done); /* the setting must be complete on return */
    return NULL;
}

int main(void) {
    pthread_t th[NTHREADS];
    int done_seen[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, caller, &done_seen[i]);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    CHECKF(atomic_load(&n_set_calls) == 1, "openblas_set_num_threads ran %d times", atomic_load(&n_set_calls));
    CHECK(atomic_load(&last_value) == 1);
    for (int i = 0; i < NTHREADS; i++) CHECKF(done_seen[i] >= 1, "thread %d returned before the setting was done", i);
    ef_nn_init(); /* later calls do nothing */
    CHECK(atomic_load(&n_set_calls) == 1);
    TEST_MAIN_END;
}
