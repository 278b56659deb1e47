/* `eraformer --version`: the first line is "eraformer <version>", then the capability probe's
 * "key: value" lines in their documented order (src/cli/version.h), each yes/no answer
 * agreeing with the build: OpenMP with this test's own compile flags (the same CMake
 * option), MPI and XGBoost with the libraries the binary is linked against (ldd). */
#include <string.h>
#include "cli_util.h"
#include "test.h"

static const char *keys[] = {"version", "mpi", "openmp", "xgboost", "blas", "blas_version", "blas_core", "blas_threading"};

/* 1 when the binary links a shared library whose name contains lib */
static int links(const char *lib) {
    char cmd[1024], out[16];
    snprintf(cmd, sizeof cmd, "ldd %s | grep -c '%s'", EF_CLI, lib);
    cli_capture(cmd, 0, out, sizeof out);
    return atoi(out) > 0;
}

static void check_yes_no(const char *key, int want) {
    char v[64] = "";
    CHECKF(cli_probe(key, v, sizeof v) == 0, "no '%s:' line", key);
    CHECKF(!strcmp(v, want ? "yes" : "no"), "%s: %s, want %s", key, v, want ? "yes" : "no");
}

int main(void) {
    char out[4096];
    CHECK(cli_capture(EF_CLI " --version", 0, out, sizeof out) == 0);
    CHECKF(!strncmp(out, "eraformer " EF_VERSION_STRING "\n", strlen("eraformer " EF_VERSION_STRING "\n")), "%s", out);
    /* every key once, in order, one "key: value" line each and nothing else */
    const char *p = strchr(out, '\n');
    int nlines = 0;
    for (const char *q = p; q && q[1]; q = strchr(q + 1, '\n')) nlines++;
    CHECKF(nlines == (int)(sizeof keys / sizeof *keys), "%d lines after the first:\n%s", nlines, out);
    for (size_t i = 0; i < sizeof keys / sizeof *keys && p; i++) {
        size_t n = strlen(keys[i]);
        CHECKF(!strncmp(p + 1, keys[i], n) && !strncmp(p + 1 + n, ": ", 2) && p[3 + n] != '\n', "line %zu is not '%s: ...'",
               i + 2, keys[i]);
        p = strchr(p + 1, '\n');
    }
    char v[256];
    CHECK(cli_probe("version", v, sizeof v) == 0 && !strcmp(v, EF_VERSION_STRING));
#ifdef _OPENMP
    check_yes_no("openmp", 1);
#else
    check_yes_no("openmp", 0);
#endif
    check_yes_no("mpi", links("libmpi"));
    check_yes_no("xgboost", links("libxgboost"));
    CHECK(cli_probe("blas", v, sizeof v) == 0 && !strcmp(v, "OpenBLAS"));
    CHECK(cli_probe("blas_threading", v, sizeof v) == 0 &&
          (!strcmp(v, "sequential") || !strcmp(v, "pthread") || !strcmp(v, "openmp")));
    CHECK(cli_probe("no_such_key", v, sizeof v) == -1);
    TEST_MAIN_END;
}
