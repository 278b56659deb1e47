/* Internal helpers shared by the modules (not part of the public API). */
#ifndef EF_INTERNAL_H
#define EF_INTERNAL_H

#include <stdio.h>
#include <stdlib.h>
#include "eraformer/base.h"

#define EF_ERR(err, code, ...) ef_error_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Return the status of expr if it is not EF_OK. */
#define EF_TRY(expr)                     \
    do {                                 \
        ef_status ef_try_s_ = (expr);    \
        if (ef_try_s_ != EF_OK) return ef_try_s_; \
    } while (0)

/* If cond is false: set err and return code. */
#define EF_CHECK(cond, err, code, ...)                             \
    do {                                                           \
        if (!(cond)) return ef_error_set((err), (code), __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* Programmer errors only (never input data); stays on in release builds. */
#define EF_ASSERT(cond)                                                               \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "eraformer: internal error: %s:%d: assertion '%s' failed\n", \
                    __FILE__, __LINE__, #cond);                                       \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* The OpenBLAS thread count per call (blas_threads.c): the first enter of any thread saves
 * get() and sets 1, the last leave restores it; nested calls in one thread only count. Called
 * through ef_blas_begin / ef_blas_end (base/blas.h) by the modules that link OpenBLAS. */
void ef_blas_enter(int (*get)(void), void (*set)(int));
void ef_blas_leave(void (*set)(int));

#define EF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EF_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
