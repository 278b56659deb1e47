/* nn internals: fixed work partitions (thread-count independent) and BLAS include. */
#ifndef EF_NN_INTERNAL_H
#define EF_NN_INTERNAL_H

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "base/blas.h"
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
 * partition is the same either way, so results do not change. These are the defaults: the
 * regions' if clauses read ef_par_min_flops() / ef_par_min_elems(), which tests lower (so
 * that small problems take the parallel path) with ef_par_min_set, or, for a whole process
 * such as the CLI, with the environment variable EF_PAR_MIN=<n> (both thresholds, read once;
 * the process then prints "ef_par: N parallel regions ran on more than one thread" to
 * stderr at exit). */
#define EF_PAR_MIN_FLOPS 2e6
#define EF_PAR_MIN_ELEMS 65536
double ef_par_min_flops(void);
double ef_par_min_elems(void);
/* Not for concurrent use with running kernels: set it before the work, from one thread. */
void ef_par_min_set(double flops, double elems);

/* Every thresholded region starts with EF_PAR_NOTE(): thread 1 (which exists only when the
 * region has more than one thread) counts the region, so a test can assert that the parallel
 * path really ran (ef_par_multi_count() grew) before it compares 1 vs N threads bitwise.
 * Without OpenMP the count stays 0. */
void ef_par_multi_note(void);
long ef_par_multi_count(void);
#ifdef _OPENMP
#define EF_PAR_NOTE()                                \
    do {                                             \
        if (omp_get_thread_num() == 1) ef_par_multi_note(); \
    } while (0)
#else
#define EF_PAR_NOTE() ((void)0)
#endif

/* Tests only (not concurrent with running kernels): smaller flash-attention blocks (query
 * rows qb, keys kb; each clamped to [1, default], 0 restores the default) so that small
 * problems span many blocks. The scratch size does not change. attention_flash.c */
void ef_flash_blocks_set(int qb, int kb);

// ---- a branch-free, vectorisable exp (GELU, softmax rows) ---------------------------------
/* 2^-n and the polynomial p ~ e^r such that e^-y = 2^-n / p, for 0 <= y (clamped to 80:
 * e^-80 ~ 1.8e-35 is still a normal float). y = n·ln2 + r, |r| <= ln2/2, e^r by its
 * degree-7 Taylor polynomial (< 1e-8 relative). Returning the pair lets the callers fold
 * the division into the one they need anyway. */
/* A macro, not a function: an inline function compiled for the baseline target cannot be
 * inlined into the AVX2 clones below, and a call per element defeats vectorisation. */
#define EXP_NEG_PARTS(y_in, t_out, p_out)                                                        \
    do {                                                                                         \
        /* min(y, 80) on the bit pattern (monotonic for y >= 0; NaN -> 80): an integer select  \
         * vectorises where gcc keeps a float compare as a branch. Patterns with the sign bit   \
         * above -0 (-NaN, as inf - inf gives, and y < 0) go to 80 first: converting NaN to int \
         * is undefined (UBSan, fuzz_checkpoint) */                                             \
        union { float f; int32_t i; } c_;                                                        \
        c_.f = (y_in);                                                                           \
        c_.i = (uint32_t)c_.i > 0x80000000u ? 0x42a00000 : c_.i;                                 \
        c_.i = c_.i < 0x42a00000 ? c_.i : 0x42a00000;                                            \
        float y_ = c_.f;                                                                         \
        int n_ = (int)(y_ * 1.44269504088896341f + 0.5f);                                        \
        float r_ = y_ - (float)n_ * 0.693145751953125f - (float)n_ * 1.428606765330187045e-06f;  \
        (p_out) = 1.0f + r_ * (1.0f + r_ * (0.5f + r_ * (1.0f / 6 + r_ * (1.0f / 24 +           \
                  r_ * (1.0f / 120 + r_ * (1.0f / 720 + r_ * (1.0f / 5040)))))));               \
        union { int32_t i; float f; } s_;                                                        \
        s_.i = (127 - n_) << 23;                                                                 \
        (t_out) = s_.f;                                                                          \
    } while (0)

/* The chunk kernels are compiled twice (AVX2 and baseline x86-64) and picked at load time.
 * Both evaluate the same IEEE operations in the same order (no FMA contraction in ISO C
 * mode), so they give identical results. */
/* Not under the sanitizers: the ifunc resolvers run during relocation, before their runtime
 * is initialised, and an instrumented resolver crashes there (ThreadSanitizer: SIGSEGV). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define EF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EF_CLONES
#endif

/* e^-y for y >= 0 (clamped to 80 like EXP_NEG_PARTS, NaN of either sign and y < 0 too) without
 * a division: y = n·ln2 + r, e^-y = 2^-n · e^-r with e^-r by the same degree-7 Taylor
 * polynomial in -r. */
#define EXP_NEG(y_in, e_out)                                                                     \
    do {                                                                                         \
        union { float f; int32_t i; } c_;                                                        \
        c_.f = (y_in);                                                                           \
        c_.i = (uint32_t)c_.i > 0x80000000u ? 0x42a00000 : c_.i;                                 \
        c_.i = c_.i < 0x42a00000 ? c_.i : 0x42a00000;                                            \
        float y_ = c_.f;                                                                         \
        int n_ = (int)(y_ * 1.44269504088896341f + 0.5f);                                        \
        float r_ = (float)n_ * 0.693145751953125f - y_ + (float)n_ * 1.428606765330187045e-06f;  \
        float p_ = 1.0f + r_ * (1.0f + r_ * (0.5f + r_ * (1.0f / 6 + r_ * (1.0f / 24 +           \
                   r_ * (1.0f / 120 + r_ * (1.0f / 720 + r_ * (1.0f / 5040)))))));              \
        union { int32_t i; float f; } s_;                                                        \
        s_.i = (127 - n_) << 23;                                                                 \
        (e_out) = s_.f * p_;                                                                     \
    } while (0)

#endif
