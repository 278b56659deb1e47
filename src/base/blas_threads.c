/* The OpenBLAS thread count, per call: a library call that runs BLAS inside its own OpenMP
 * regions sets OpenBLAS to one thread on entry and gives the caller's count back on return, so
 * the library leaves no process-wide setting behind (inside Python, numpy shares the same
 * OpenBLAS: a count set once and never restored made numpy single-threaded for good).
 *
 * Reference counted under a mutex: the first of any number of concurrent callers saves the
 * count and sets 1, the last restores the saved count, so one caller never restores N threads
 * while another is still inside its parallel region. Nested calls in one thread (a model
 * forward calling the layers) only count a thread-local depth and take no lock.
 *
 * base does not link OpenBLAS (the module graph): the modules that do pass its get/set
 * functions through the static inlines of base/blas.h. */
#include <pthread.h>
#include "base/ef_internal.h"

static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_active;         /* callers inside, all threads; under blas_mu */
static int blas_saved = 1;      /* the count to restore when the last one leaves; under blas_mu */
static _Thread_local int blas_depth; /* this thread's nesting */

void ef_blas_enter(int (*get)(void), void (*set)(int)) {
    if (blas_depth++ > 0) return; /* this thread already holds a reference */
    pthread_mutex_lock(&blas_mu);
    if (blas_active++ == 0) {
        blas_saved = get();
        if (blas_saved != 1) set(1);
    }
    pthread_mutex_unlock(&blas_mu);
}

void ef_blas_leave(void (*set)(int)) {
    EF_ASSERT(blas_depth > 0);
    if (--blas_depth > 0) return;
    pthread_mutex_lock(&blas_mu);
    EF_ASSERT(blas_active > 0);
    if (--blas_active == 0 && blas_saved != 1) set(blas_saved);
    pthread_mutex_unlock(&blas_mu);
}
