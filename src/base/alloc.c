/* Allocation with a fail-after-N hook (SQLite-style malloc fault injection for tests). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"

static atomic_long fail_countdown; /* 0: disabled; k > 0: the k-th call from now fails */

void ef_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }

static int should_fail(void) {
    long c = atomic_load(&fail_countdown);
    if (c <= 0) return 0;
    if (c == 1) return 1;  /* stays at 1: every later allocation fails too */
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void *ef_malloc(size_t n) {
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *ef_calloc(size_t count, size_t size) {
    if (should_fail()) return NULL;
    if (count == 0 || size == 0) return calloc(1, 1);
    return calloc(count, size);
}

void *ef_realloc(void *p, size_t n) {
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void ef_free(void *p) { free(p); }

void *ef_malloc_aligned(size_t n) {
    if (should_fail()) return NULL;
    void *p = NULL;
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n) return NULL;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) return NULL;
    return p;
}

void ef_free_aligned(void *p) { free(p); }

char *ef_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ef_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int ef_mul_ok(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
