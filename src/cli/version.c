/* The capability probe behind `eraformer --version` (format in version.h). Each answer is
 * fixed at build time (preprocessor flags CMake sets for this binary) except the BLAS lines,
 * which ask the linked OpenBLAS. */
#include "cli/version.h"
#include <cblas.h>
#include <string.h>
#include "cli/cli.h"

#ifdef EF_HAVE_MPI
#define HAVE_MPI 1
#else
#define HAVE_MPI 0
#endif
#ifdef _OPENMP
#define HAVE_OPENMP 1
#else
#define HAVE_OPENMP 0
#endif
#ifdef EF_HAVE_XGBOOST
#define HAVE_XGBOOST 1
#else
#define HAVE_XGBOOST 0
#endif

static const char *yes_no(int b) { return b ? "yes" : "no"; }

static const char *blas_threading(void) {
    switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthread";
    case 2: return "openmp";
    default: return "unknown";
    }
}

/* openblas_get_config() reads "OpenBLAS 0.3.21 DYNAMIC_ARCH ...": name, then version */
static void print_blas(FILE *f) {
    char cfg[256], *save = NULL;
    snprintf(cfg, sizeof cfg, "%s", openblas_get_config());
    const char *name = strtok_r(cfg, " ", &save);
    const char *ver = strtok_r(NULL, " ", &save);
    fprintf(f, "blas: %s\nblas_version: %s\n", name ? name : "OpenBLAS", ver ? ver : "unknown");
    fprintf(f, "blas_core: %s\nblas_threading: %s\n", openblas_get_corename(), blas_threading());
}

int ef_cli_version(FILE *f) {
    fprintf(f, "eraformer %s\nversion: %s\n", EF_VERSION_STRING, EF_VERSION_STRING);
    fprintf(f, "mpi: %s\nopenmp: %s\nxgboost: %s\n", yes_no(HAVE_MPI), yes_no(HAVE_OPENMP), yes_no(HAVE_XGBOOST));
    print_blas(f);
    return EF_EXIT_OK;
}
