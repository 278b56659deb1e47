/* MPI data parallelism (see dist.h). Gradients are averaged in buckets of 4 Mi floats with
 * MPI_Allreduce(MPI_SUM); with OpenMPI's default algorithms the reduction order for a given
 * number of ranks is fixed, so runs are reproducible for the same rank count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/dist.h"
#include "eraformer/base.h"
#ifdef EF_HAVE_MPI
#include <mpi.h>
#endif

void ef_dist_init(ef_dist *d, int *argc, char ***argv) {
    d->rank = 0;
    d->size = 1;
    d->active = 0;
#ifdef EF_HAVE_MPI
    /* only under a launcher: a plain run must not need an MPI runtime */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    d->active = 1;
#else
    (void)argc;
    (void)argv;
#endif
}

void ef_dist_finalize(ef_dist *d) {
#ifdef EF_HAVE_MPI
    if (d->active) MPI_Finalize();
#endif
    d->active = 0;
}

int ef_dist_average(ef_dist *d, float *buf, size_t n) {
#ifdef EF_HAVE_MPI
    if (!d->active || d->size == 1) return 0;
    const size_t bucket = (size_t)4 << 20;
    for (size_t off = 0; off < n; off += bucket) {
        int cnt = (int)(n - off < bucket ? n - off : bucket);
        if (MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) return 1;
    }
    float inv = 1.0f / (float)d->size;
    for (size_t i = 0; i < n; i++) buf[i] *= inv;
#else
    (void)d;
    (void)buf;
    (void)n;
#endif
    return 0;
}

int ef_dist_same(ef_dist *d, double v) {
#ifdef EF_HAVE_MPI
    if (!d->active || d->size == 1) return 1;
    double lo = v, hi = v;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
#else
    (void)d;
    (void)v;
    return 1;
#endif
}

int ef_dist_bcast_int(ef_dist *d, int v) {
#ifdef EF_HAVE_MPI
    if (d->active && d->size > 1) MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
#else
    (void)d;
#endif
    return v;
}

double ef_dist_bcast_double(ef_dist *d, double v) {
#ifdef EF_HAVE_MPI
    if (d->active && d->size > 1) MPI_Bcast(&v, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
#else
    (void)d;
#endif
    return v;
}

int ef_dist_sum(ef_dist *d, double *v, int n) {
#ifdef EF_HAVE_MPI
    if (d->active && d->size > 1 && MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        return 1;
#else
    (void)d;
    (void)v;
    (void)n;
#endif
    return 0;
}

int ef_dist_allgatherv(ef_dist *d, const void *mine, int n, size_t elem, void **all, int *n_all, int *counts) {
    *all = NULL;
    *n_all = 0;
#ifdef EF_HAVE_MPI
    if (d->active && d->size > 1) {
        int P = d->size, bytes = (int)((size_t)n * elem), total = 0;
        int *cnt = ef_malloc((size_t)P * sizeof(int)), *disp = ef_malloc((size_t)P * sizeof(int));
        int ok = cnt && disp && MPI_Allgather(&bytes, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD) == MPI_SUCCESS;
        for (int r = 0; ok && r < P; r++) {
            disp[r] = total;
            total += cnt[r];
        }
        char *buf = ok ? ef_malloc(total ? (size_t)total : 1) : NULL;
        ok = buf && MPI_Allgatherv(mine, bytes, MPI_BYTE, buf, cnt, disp, MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS;
        if (ok) {
            *all = buf;
            *n_all = (int)((size_t)total / elem);
            for (int r = 0; counts && r < P; r++) counts[r] = (int)((size_t)cnt[r] / elem);
        } else {
            ef_free(buf);
        }
        ef_free(cnt);
        ef_free(disp);
        return !ok;
    }
#endif
    (void)d;
    *all = ef_malloc(n ? (size_t)n * elem : 1);
    if (!*all) return 1;
    if (n) memcpy(*all, mine, (size_t)n * elem);
    *n_all = n;
    if (counts) counts[0] = n;
    return 0;
}

void ef_dist_barrier(ef_dist *d) {
#ifdef EF_HAVE_MPI
    if (d->active && d->size > 1) MPI_Barrier(MPI_COMM_WORLD);
#else
    (void)d;
#endif
}

void ef_dist_abort(ef_dist *d, int code) {
#ifdef EF_HAVE_MPI
    if (d->active && d->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#else
    (void)d;
    (void)code;
#endif
}

static int hook_mean(void *ctx, float *buf, size_t n) { return ef_dist_average(ctx, buf, n); }
static int hook_sum(void *ctx, double *v, int n) { return ef_dist_sum(ctx, v, n); }
static int hook_same(void *ctx, double v) { return ef_dist_same(ctx, v); }
static int hook_gather(void *ctx, const void *mine, int n, size_t elem, void **all, int *n_all, int *counts) {
    return ef_dist_allgatherv(ctx, mine, n, elem, all, n_all, counts);
}

void ef_dist_trainer_hooks(ef_dist *d, ef_trainer_dist *td) {
    *td = (ef_trainer_dist){d->rank, d->size, d, hook_mean, hook_sum, hook_same, hook_gather};
}
