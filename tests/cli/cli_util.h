/* Helpers for CLI tests: run the built binary (EF_CLI) through the shell and capture
 * stdout/stderr and the exit code. */
#ifndef EF_CLI_UTIL_H
#define EF_CLI_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "eraformer/base.h"

/* Runs `EF_CLI args` with stdout to out_path and stderr to err_path (either may be NULL:
 * discarded). Returns the exit code (or -1). */
static inline int cli_run(const char *args, const char *out_path, const char *err_path) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", EF_CLI, args, out_path ? out_path : "/dev/null",
             err_path ? err_path : "/dev/null");
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* Runs a shell command with stdout (and stderr too when err2) captured into out (cap bytes,
 * NUL-terminated, truncated if longer). Returns the exit code (or -1). */
static inline int cli_capture(const char *cmd, int err2, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "%s%s", cmd, err2 ? " 2>&1" : " 2>/dev/null");
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The value of the line "key: value" printed by `eraformer --version` (the build's
 * capability probe) into val (cap bytes). Returns 0, or -1 if the probe fails or lacks key. */
static inline int cli_probe(const char *key, char *val, size_t cap) {
    char out[4096], pat[64];
    if (cli_capture(EF_CLI " --version", 0, out, sizeof out) != 0) return -1;
    snprintf(pat, sizeof pat, "\n%s: ", key);
    const char *p = strstr(out, pat);
    if (!p) return -1;
    p += strlen(pat);
    size_t n = strcspn(p, "\n");
    if (n >= cap) n = cap - 1;
    memcpy(val, p, n);
    val[n] = 0;
    return 0;
}

/* The MPI tests' gate: -1 to go on when the build has MPI (eraformer --version) and mpirun is
 * on PATH; else the exit code: 77 (skip) without MPI, 1 when the probe fails or MPI was built
 * but mpirun is missing. */
static inline int cli_require_mpi(void) {
    char mpi[16];
    if (cli_probe("mpi", mpi, sizeof mpi) != 0) {
        fprintf(stderr, "FAIL: eraformer --version has no 'mpi:' line\n");
        return 1;
    }
    if (strcmp(mpi, "yes")) {
        printf("SKIP: eraformer was built without MPI (eraformer --version: mpi: %s)\n", mpi);
        return 77;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        fprintf(stderr, "FAIL: eraformer was built with MPI but mpirun is not on PATH (install openmpi-bin)\n");
        return 1;
    }
    return -1;
}

/* Whole file as a string (caller frees), or NULL. */
static inline char *cli_slurp(const char *path) {
    char *d;
    size_t n;
    if (ef_file_read_all(path, &d, &n, NULL) != EF_OK) return NULL;
    return d;
}

/* The number after "key": in a JSON text (a command's summary line), or NaN. */
static inline double cli_json_number(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

static inline int cli_files_equal(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (ef_file_read_all(a, &x, &nx, NULL) != EF_OK) return 0;
    if (ef_file_read_all(b, &y, &ny, NULL) != EF_OK) { ef_free(x); return 0; }
    int eq = nx == ny && memcmp(x, y, nx) == 0;
    ef_free(x);
    ef_free(y);
    return eq;
}

#endif
