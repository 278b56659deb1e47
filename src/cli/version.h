/* `eraformer --version`: the version and what this build can do, for scripts and tests. */
#ifndef EF_CLI_VERSION_H
#define EF_CLI_VERSION_H

#include <stdio.h>

/* Prints "eraformer <version>", then one "key: value" line per capability, in this order:
 *   version: 0.1.0
 *   mpi: yes|no          data-parallel training under mpirun (EF_MPI and MPI found)
 *   openmp: yes|no       parallel loops (EF_OPENMP and OpenMP found)
 *   xgboost: yes|no      the xgboost baseline (libxgboost found)
 *   blas: <name>         the BLAS linked, e.g. OpenBLAS
 *   blas_version: <v>
 *   blas_core: <kernel>  the core OpenBLAS dispatched to at run time
 *   blas_threading: sequential|pthread|openmp
 * Keys are stable; new keys are only ever appended. Returns EF_EXIT_OK. */
int ef_cli_version(FILE *f);

#endif
