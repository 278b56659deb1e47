/* ef_blas_begin / ef_blas_end: OpenBLAS single-threaded for the duration of a library call,
 * the caller's count restored afterwards (base/blas_threads.c). For the modules that link
 * OpenBLAS only: base itself does not. Every public function that runs BLAS, directly or
 * through the layers, brackets its work with one begin and one end (nesting is cheap). */
#ifndef EF_BLAS_H
#define EF_BLAS_H

#include "base/ef_internal.h"

/* OpenBLAS's own (the same declarations as its cblas.h, which is not included: it pulls in
 * <complex.h>, whose macro I clashes with ordinary names) */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

static inline void ef_blas_begin(void) { ef_blas_enter(openblas_get_num_threads, openblas_set_num_threads); }
static inline void ef_blas_end(void) { ef_blas_leave(openblas_set_num_threads); }

#endif
