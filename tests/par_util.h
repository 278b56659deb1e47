/* For the 1-vs-N-threads determinism tests: the thread count, and the proof that the
 * parallel path ran. The kernels skip their parallel regions below a work threshold; a test
 * sets the thresholds to 0 (par_force) so that its small problems take the parallel path,
 * then checks with par_ran that a second thread really did work (nn_internal.h's count)
 * before comparing results bit for bit. Without OpenMP there is no second thread: par_ran
 * says so on stdout and checks nothing. */
#ifndef EF_TEST_PAR_UTIL_H
#define EF_TEST_PAR_UTIL_H

#include <stdio.h>
#include "nn/nn_internal.h"
#include "test.h"

static inline void par_threads_set(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static inline void par_force(void) { ef_par_min_set(0, 0); }
static inline void par_restore(void) { ef_par_min_set(EF_PAR_MIN_FLOPS, EF_PAR_MIN_ELEMS); }

/* since: ef_par_multi_count() before the multi-threaded work; want: whether that work ran
 * with 2 threads (1: it must have been noted; 0: it must not) */
static inline void par_ran(long since, int want, const char *what) {
#ifdef _OPENMP
    long now = ef_par_multi_count();
    if (want) CHECKF(now > since, "%s: no parallel region ran on more than one thread", what);
    else CHECKF(now == since, "%s: %ld regions ran on more than one thread with 1 thread set", what, now - since);
#else
    printf("SKIP (built without OpenMP, no second thread exists): %s: the >1-thread check\n", what);
    (void)since;
    (void)want;
#endif
}

#endif
