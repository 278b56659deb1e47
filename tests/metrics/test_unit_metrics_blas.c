/* The per-era drivers and the OpenBLAS thread count. They set it to 1 for the duration of the
 * call and give the caller's count back (base/blas_threads.c): reference counted, so with
 * concurrent callers nobody restores N threads while another is still inside its parallel
 * region (the sets strictly alternate 1, N, 1, N ...), and the program ends with its own count.
 * The test interposes openblas_set_num_threads (the executable's definition wins over
 * libopenblas's, calls are forwarded) to see every call, and runs the drivers from several
 * threads at once: results must equal a serial run's bitwise, and a run with OpenBLAS at one
 * thread throughout (the library's former process-wide setting). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "eraformer/metrics.h"
#include "test.h"

static atomic_int n_calls, n_repeat;
static int last_set = -1; /* the library calls under its mutex; the test's own calls are serial */

void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n) {
    atomic_fetch_add(&n_calls, 1);
    if (n == last_set) atomic_fetch_add(&n_repeat, 1);
    last_set = n;
    void (*real)(int) = NULL;
    void *sym = dlsym(RTLD_NEXT, "openblas_set_num_threads");
    if (sym) memcpy(&real, &sym, sizeof real); /* POSIX's object-to-function pointer idiom */
    if (real) real(n);
}

enum { E = 9, PER = 120, NF = 5, N = E * PER, NTHREADS = 4 };
static double P[N], T[N];
static float F[N * NF];
static size_t OFF[E + 1];

typedef struct job {
    double corr[E], fnc[E], neutral[N];
    int ok;
} job;

static void run(job *j) {
    ef_score_input in = {0};
    in.n_rows = N;
    in.n_eras = E;
    in.era_off = OFF;
    in.pred = P;
    in.target = T;
    in.features = F;
    in.n_features = NF;
    ef_era_scores sc;
    j->ok = ef_era_scores_compute(&sc, &in, NULL) == EF_OK;
    if (j->ok) {
        memcpy(j->corr, sc.corr, sizeof j->corr);
        memcpy(j->fnc, sc.fnc, sizeof j->fnc);
        ef_era_scores_free(&sc);
    }
    j->ok &= ef_predictions_neutralize_per_era(j->neutral, P, F, NF, OFF, E, 0.5, NULL) == EF_OK;
}

static void *run_thread(void *arg) {
    for (int r = 0; r < 3; r++) run(arg);
    return NULL;
}

int main(void) {
    ef_rng g;
    ef_rng_init(&g, 17, 0);
    for (int e = 0; e <= E; e++) OFF[e] = (size_t)e * PER;
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < NF; k++) F[i * NF + k] = (float)ef_rng_below(&g, 5);
        P[i] = ef_rng_uniform(&g) + 0.05 * F[i * NF];
        T[i] = 0.25 * (double)ef_rng_below(&g, 5);
    }
    ef_threads_set(2);
    openblas_set_num_threads(1);
    static job ref, serial, par[NTHREADS];
    run(&ref);
    CHECK(ref.ok);

    openblas_set_num_threads(3); /* the program's own choice */
    atomic_store(&n_calls, 0);
    atomic_store(&n_repeat, 0);
    run(&serial);
    CHECK(serial.ok);
    CHECK(!memcmp(&serial, &ref, sizeof ref));
    CHECKF(openblas_get_num_threads() == 3, "after one run: %d OpenBLAS threads", openblas_get_num_threads());
    /* one set to 1 and one restore per driver call, nested neutralizes only count */
    CHECKF(atomic_load(&n_calls) == 4, "openblas_set_num_threads called %d times", atomic_load(&n_calls));
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, run_thread, &par[i]);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) {
        CHECKF(par[i].ok, "thread %d failed", i);
        CHECKF(!memcmp(par[i].corr, serial.corr, sizeof serial.corr) && !memcmp(par[i].fnc, serial.fnc, sizeof serial.fnc) &&
                   !memcmp(par[i].neutral, serial.neutral, sizeof serial.neutral),
               "thread %d differs from the serial run", i);
    }
    CHECKF(atomic_load(&n_repeat) == 0, "%d sets repeated the previous value (a restore while another caller was "
           "inside, or a second set to 1)", atomic_load(&n_repeat));
    CHECKF(openblas_get_num_threads() == 3, "after the threads: %d OpenBLAS threads", openblas_get_num_threads());
    TEST_MAIN_END;
}
