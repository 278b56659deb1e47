/* base: RNG reproducibility and statistics, atomic writes, alloc fault hook, errors. */
#include <string.h>
#include <unistd.h>
#include "base/ef_internal.h"
#include "test.h"

static void test_rng(void) {
    ef_rng a, b;
    ef_rng_init(&a, 42, 7);
    ef_rng_init(&b, 42, 7);
    for (int i = 0; i < 1000; i++) CHECK(ef_rng_u64(&a) == ef_rng_u64(&b));
    ef_rng_init(&b, 42, 8);
    int same = 0;
    for (int i = 0; i < 1000; i++) same += ef_rng_u64(&a) == ef_rng_u64(&b);
    CHECK(same == 0);
    /* moments of N(0,1) and U[0,1) */
    double s = 0, s2 = 0, u = 0;
    int n = 200000;
    ef_rng_init(&a, 1, 0);
    for (int i = 0; i < n; i++) { double z = ef_rng_normal(&a); s += z; s2 += z * z; }
    for (int i = 0; i < n; i++) u += ef_rng_uniform(&a);
    CHECK_NEAR(s / n, 0.0, 0.01, 0);
    CHECK_NEAR(s2 / n, 1.0, 0.02, 0);
    CHECK_NEAR(u / n, 0.5, 0.005, 0);
    /* ef_rng_below is in range and roughly uniform */
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[ef_rng_below(&a, 7)]++;
    for (int k = 0; k < 7; k++) CHECK_NEAR(counts[k], 10000, 400, 0);
    /* state copy resumes the exact stream (what checkpoints rely on) */
    ef_rng c = a;
    double x1 = ef_rng_normal(&a), x2 = ef_rng_normal(&c);
    CHECK(x1 == x2);
    int perm[10];
    for (int i = 0; i < 10; i++) perm[i] = i;
    ef_rng_shuffle_int(&a, perm, 10);
    int seen = 0;
    for (int i = 0; i < 10; i++) seen |= 1 << perm[i];
    CHECK(seen == 0x3ff);
}

static void test_atomic(void) {
    char path[] = "test_base_atomic.txt";
    ef_error err = {0};
    CHECK(ef_file_write_atomic(path, "hello", 5, &err) == EF_OK);
    char *data; size_t n;
    CHECK(ef_file_read_all(path, &data, &n, &err) == EF_OK);
    CHECK(n == 5 && memcmp(data, "hello", 5) == 0);
    ef_free(data);
    /* an aborted write leaves the old content */
    ef_atomic_file af;
    CHECK(ef_atomic_open(&af, path, &err) == EF_OK);
    fputs("partial", af.fp);
    ef_atomic_abort(&af);
    CHECK(ef_file_read_all(path, &data, &n, &err) == EF_OK);
    CHECK(n == 5 && memcmp(data, "hello", 5) == 0);
    ef_free(data);
    unlink(path);
    CHECK(ef_file_read_all("/nonexistent/x", &data, &n, &err) == EF_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent/x") != NULL);
    CHECK(ef_file_write_atomic("/nonexistent/dir/x", "a", 1, &err) == EF_ERR_IO);
}

static void test_alloc(void) {
    ef_alloc_fail_after(3);
    void *a = ef_malloc(10), *b = ef_malloc(10), *c = ef_malloc(10), *d = ef_malloc(10);
    CHECK(a && b && !c && !d);
    ef_alloc_fail_after(0);
    void *e = ef_malloc(10);
    CHECK(e != NULL);
    ef_free(a); ef_free(b); ef_free(e);
    void *al = ef_malloc_aligned(100);
    CHECK(al && ((uintptr_t)al % 64) == 0);
    ef_free_aligned(al);
    size_t out;
    CHECK(!ef_mul_ok(SIZE_MAX / 2, 3, &out));
    CHECK(ef_mul_ok(1000, 1000, &out) && out == 1000000);
}

static void test_error(void) {
    ef_error err = {0};
    ef_status s = EF_ERR(&err, EF_ERR_FORMAT, "bad byte at offset %d", 17);
    CHECK(s == EF_ERR_FORMAT && err.code == EF_ERR_FORMAT);
    ef_error_prefix(&err, "%s: ", "file.parquet");
    CHECK(strcmp(err.msg, "file.parquet: bad byte at offset 17") == 0);
    CHECK(strcmp(ef_status_str(EF_ERR_IO), "I/O error") == 0);
    CHECK(EF_ERR(NULL, EF_ERR_IO, "x") == EF_ERR_IO);
}

int main(void) {
    test_rng();
    test_atomic();
    test_alloc();
    test_error();
    TEST_MAIN_END;
}
