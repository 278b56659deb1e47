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

#define EF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EF_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
