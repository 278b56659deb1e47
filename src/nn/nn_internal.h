/* nn internals: fixed work partitions (thread-count independent) and BLAS include. */
#ifndef EF_NN_INTERNAL_H
#define EF_NN_INTERNAL_H

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "base/ef_internal.h"
#include "eraformer/nn.h"

/* Rows per work item for row-parallel GEMMs, and output columns per work item for the
 * weight-gradient GEMMs. Fixed numbers: the partition, hence every rounding, is the same
 * for 1 or N threads. */
#ifndef EF_ROW_CHUNK
#define EF_ROW_CHUNK 256
#endif
#ifndef EF_COL_CHUNK
#define EF_COL_CHUNK 64
#endif

static inline int ef_nchunks(int n, int chunk) { return (n + chunk - 1) / chunk; }

/* Threads for a region that owns n per-thread scratch blocks: at most n and at most the pool;
 * and the calling thread's index (0 without OpenMP). */
static inline int ef_thread_cap(int n) {
#ifdef _OPENMP
    int m = omp_get_max_threads();
    return m < n ? m : n;
#else
    return n;
#endif
}
static inline int ef_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* A parallel region costs a few microseconds on an idle machine and up to a scheduler tick
 * per barrier when another process holds a core (perf.md's thread-pool trap): loops with
 * less work than this many multiply-adds (or elements) run on the calling thread. The
 * partition is the same either way, so results do not change. */
#define EF_PAR_MIN_FLOPS 2e6
#define EF_PAR_MIN_ELEMS 65536

#endif
