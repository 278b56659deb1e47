/* Data parallelism over MPI for the training commands (OpenMPI from Debian). Built when
 * CMake finds MPI (EF_HAVE_MPI); otherwise every function is the single-process identity,
 * so commands behave exactly as without MPI. Ranks sample different tasks, gradients are
 * averaged with MPI_Allreduce, rank 0 alone logs, shows progress and writes checkpoints. */
#ifndef EF_CLI_DIST_H
#define EF_CLI_DIST_H

#include <stddef.h>
#include "eraformer/model.h"

typedef struct ef_dist {
    int rank, size;
    int active;        /* MPI initialised by us */
} ef_dist;

/* Initialises MPI when the process was started by mpirun (or always when built with MPI);
 * safe to call once per process. */
void ef_dist_init(ef_dist *d, int *argc, char ***argv);
void ef_dist_finalize(ef_dist *d);
/* In place: buf (n floats) <- average over ranks (sum in fixed rank order, then /size). */
int ef_dist_average(ef_dist *d, float *buf, size_t n);
/* 1 when every rank holds the same value (a parameter checksum), else 0. */
int ef_dist_same(ef_dist *d, double v);
/* Broadcast an int from rank 0 (e.g. a stop decision). */
int ef_dist_bcast_int(ef_dist *d, int v);
/* Broadcast a double from rank 0. */
double ef_dist_bcast_double(ef_dist *d, double v);
/* In place: v (n doubles) <- sum over ranks. */
int ef_dist_sum(ef_dist *d, double *v, int n);
/* Every rank contributes n elements of elem bytes; every rank receives the concatenation in
 * rank order in *all (ef_malloc'd, caller ef_frees) with *n_all elements, and, if counts is not
 * NULL, the per-rank element counts (size entries). Without MPI: a copy of its own. */
int ef_dist_allgatherv(ef_dist *d, const void *mine, int n, size_t elem, void **all, int *n_all, int *counts);
void ef_dist_barrier(ef_dist *d);
/* The trainer's data-parallel hooks (ef_trainer_dist) over these functions: grad_mean is
 * ef_dist_average, sum ef_dist_sum, same ef_dist_same, gather ef_dist_allgatherv; ctx is d, which must outlive *td. */
void ef_dist_trainer_hooks(ef_dist *d, ef_trainer_dist *td);
/* On a runtime error in a multi-rank run: stop every rank (others would wait forever). */
void ef_dist_abort(ef_dist *d, int code);

#endif
