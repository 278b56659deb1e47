/* eraformer base: status codes, errors, allocation, counter-based RNG, atomic file output,
 * monotonic time. Every other module depends on this one and on nothing else below it.
 *
 * Conventions (see docs/architecture.md):
 *  - library functions return ef_status and fill an optional ef_error *err (may be NULL);
 *  - they never print, never exit, never abort on bad input;
 *  - all allocation goes through ef_malloc & co, which have a fail-after-N hook for tests. */
#ifndef EF_BASE_H
#define EF_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EF_VERSION_STRING "0.1.0"
#define EF_PI 3.14159265358979323846

/* ---- version --------------------------------------------------------------------- */
/* The library's version, "major.minor.patch": EF_VERSION_STRING as the library was built
 * (CMake checks that it equals the project version). A program that loads liberaformer.so
 * at run time can compare it with the EF_VERSION_STRING it was compiled with. Static
 * storage, never NULL; thread safe. */
const char *ef_version(void);

/* ---- status and errors ----------------------------------------------------------- */
typedef enum ef_status {
    EF_OK = 0,
    EF_ERR_NOMEM,       /* allocation failed */
    EF_ERR_IO,          /* open/read/write/fsync/rename failed (errno in the message) */
    EF_ERR_FORMAT,      /* a file's bytes are not what the format says */
    EF_ERR_INVALID,     /* a bad argument or configuration value (a usage error at the CLI) */
    EF_ERR_UNSUPPORTED, /* valid but not implemented (codec, encoding, type) */
    EF_ERR_NET,         /* connection, timeout, HTTP status */
    EF_ERR_AUTH,        /* missing or rejected credentials */
    EF_ERR_API,         /* the remote API answered with an error */
    EF_ERR_INTERNAL,    /* a broken invariant: a bug */
    EF_STATUS_COUNT
} ef_status;

typedef struct ef_error {
    ef_status code;
    char msg[1024];     /* human readable: what, where (file, offset, column), what was expected */
    const char *src_file; /* where in eraformer's source the error was raised */
    int src_line;
} ef_error;

const char *ef_status_str(ef_status s);
/* Sets err (if non-NULL) and returns code. printf-style message. */
ef_status ef_error_set(ef_error *err, ef_status code, const char *src_file, int src_line,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* Prefixes context ("reading model.st: ") to an existing message. */
void ef_error_prefix(ef_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- allocation ------------------------------------------------------------------ */
void *ef_malloc(size_t n);
void *ef_calloc(size_t count, size_t size);
void *ef_realloc(void *p, size_t n);
void ef_free(void *p);
/* 64-byte aligned; free with ef_free_aligned. Returns NULL on failure or n == 0 overflow. */
void *ef_malloc_aligned(size_t n);
void ef_free_aligned(void *p);
/* Test hook: the n-th allocation from now on (1-based) and all later ones fail; 0 disables. */
void ef_alloc_fail_after(long n);
char *ef_strdup(const char *s);
/* a*b without overflow; returns 0 and leaves *out untouched on overflow. */
int ef_mul_ok(size_t a, size_t b, size_t *out);

/* ---- counter-based RNG ----------------------------------------------------------- *
 * A stream is fully determined by (seed, stream). Drawing is a pure function of
 * (key, counter), so a task i keyed by (seed, i) is the same whatever thread draws it,
 * and the state is three integers that checkpoints store exactly. */
typedef struct ef_rng {
    uint64_t key;
    uint64_t counter;
    int has_spare;      /* Box-Muller's second normal, kept so the stream is exact */
    double spare;
} ef_rng;

void ef_rng_init(ef_rng *r, uint64_t seed, uint64_t stream);
uint64_t ef_rng_u64(ef_rng *r);
double ef_rng_uniform(ef_rng *r);            /* [0, 1) with 53 random bits */
double ef_rng_normal(ef_rng *r);             /* N(0, 1) */

/* Inverse standard normal CDF (scipy.stats.norm.ppf): AS241 + one Newton step, relative
 * error ~1e-15. ppf(0) = -inf, ppf(1) = +inf, NaN outside [0, 1]. */
double ef_norm_ppf(double p);
uint64_t ef_rng_below(ef_rng *r, uint64_t n);  /* uniform in [0, n), unbiased; n > 0 */
/* Fisher-Yates shuffle of an int array. */
void ef_rng_shuffle_int(ef_rng *r, int *a, size_t n);
/* Stateless mixing of several integers (splitmix64 finaliser chain). */
uint64_t ef_hash64(uint64_t a, uint64_t b);

/* ---- files ----------------------------------------------------------------------- */
/* Writes go to "<path>.tmp.<pid>" in the same folder; commit fsyncs, renames over path
 * and fsyncs the folder, so a crash leaves either the old file or the new one. A crash
 * leaves the temp file behind: ef_atomic_open first removes the "<path>.tmp.<pid>" files of
 * the same path whose pid is not a running process on this machine (kill(pid, 0): ESRCH).
 * A writer on another machine (a shared network folder) or in another pid namespace looks
 * dead here: two such writers of one path can fail each other's commit (an error, never a
 * partial file at path). */
typedef struct ef_atomic_file {
    FILE *fp;
    char *path;
    char *tmp_path;
} ef_atomic_file;

ef_status ef_atomic_open(ef_atomic_file *af, const char *path, ef_error *err);
ef_status ef_atomic_commit(ef_atomic_file *af, ef_error *err);
void ef_atomic_abort(ef_atomic_file *af);   /* removes the temp file; safe after commit */
/* Reads a whole file into a NUL-terminated buffer (size excludes the NUL). */
ef_status ef_file_read_all(const char *path, char **data, size_t *size, ef_error *err);
/* Writes a buffer atomically (ef_atomic_*). */
ef_status ef_file_write_atomic(const char *path, const void *data, size_t size, ef_error *err);

/* ---- time ------------------------------------------------------------------------ */
double ef_time_now(void);     /* CLOCK_MONOTONIC seconds */

/* ---- threads --------------------------------------------------------------------- *
 * One thread pool: OpenMP. BLAS runs single-threaded inside our parallel regions: each call
 * that runs it sets OpenBLAS to one thread and restores the caller's count on return. */
void ef_threads_set(int n);   /* n <= 0: all cores */
int ef_threads_get(void);

#ifdef __cplusplus
}
#endif
#endif
