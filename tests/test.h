/* Minimal test harness: every CHECK counts; the test exits non-zero if any failed and
 * ends with the "N passed, N failed" line that ctest-reading tools understand. */
#ifndef EF_TEST_H
#define EF_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int ef_test_passed_, ef_test_failed_;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (cond) ef_test_passed_++;                                                     \
        else {                                                                           \
            ef_test_failed_++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                                \
    } while (0)

#define CHECKF(cond, ...)                                                                \
    do {                                                                                 \
        if (cond) ef_test_passed_++;                                                     \
        else {                                                                           \
            ef_test_failed_++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_NEAR(a, b, atol, rtol)                                                     \
    do {                                                                                 \
        double a_ = (double)(a), b_ = (double)(b);                                       \
        CHECKF(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_), "%s = %.9g, %s = %.9g",      \
               #a, a_, #b, b_);                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        ef_error e_ = {0};                                                               \
        ef_status s_ = (expr);                                                           \
        (void)e_;                                                                        \
        CHECKF(s_ == EF_OK, "%s -> status %d", #expr, (int)s_);                         \
    } while (0)

static inline int ef_test_done(void) {
    printf("%d passed, %d failed\n", ef_test_passed_, ef_test_failed_);
    return ef_test_failed_ ? 1 : (ef_test_passed_ ? 0 : 1);
}

#define TEST_MAIN_END return ef_test_done()

/* Tests write scratch files relative to the working directory. ctest runs them in the build
 * tree; a test binary started by hand from anywhere else (the source tree) runs there too, so
 * no test can leave files in the source tree. */
#ifdef EF_BINARY_DIR
#include <unistd.h>
__attribute__((constructor)) static void ef_test_enter_build_dir_(void) {
    if (chdir(EF_BINARY_DIR) != 0) {
        perror("chdir " EF_BINARY_DIR);
        exit(1);
    }
}
#endif

#endif
