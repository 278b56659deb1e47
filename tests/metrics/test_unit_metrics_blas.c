/* The per-era drivers and the process-wide OpenBLAS thread count. They used to save the count,
 * set 1 and restore the saved value on return: with concurrent callers one restored N threads
 * while another was still inside its parallel region, and the count a program ended with
 * depended on the interleaving. Now (OpenMP builds) the first call sets 1, once, and nothing
 * restores it. The test interposes openblas_set_num_threads (the executable's definition wins
 * over libopenblas's, calls are forwarded) to see every call, and runs the drivers from several
 * threads at once: results must equal a serial run's bitwise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "eraformer/metrics.h"
#include "test.h"

static atomic_int n_calls, n_not_one;

void openblas_set_num_threads(int n);
void openblas_set_num_threads(int n) {
    atomic_fetch_add(&n_calls, 1);
    if (n != 1) atomic_fetch_add(&n_not_one, 1);
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
    openblas_set_num_threads(3); /* the program's own choice */
    atomic_store(&n_calls, 0);
    atomic_store(&n_not_one, 0);

    static job serial, par[NTHREADS];
    run(&serial);
    CHECK(serial.ok);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, run_thread, &par[i]);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) {
        CHECKF(par[i].ok, "thread %d failed", i);
        CHECKF(!memcmp(par[i].corr, serial.corr, sizeof serial.corr) && !memcmp(par[i].fnc, serial.fnc, sizeof serial.fnc) &&
                   !memcmp(par[i].neutral, serial.neutral, sizeof serial.neutral),
               "thread %d differs from the serial run", i);
    }
    /* never a restore (a call with n != 1), and at most the one setting */
    CHECKF(atomic_load(&n_not_one) == 0, "%d calls set OpenBLAS to more than one thread", atomic_load(&n_not_one));
#ifdef _OPENMP
    CHECKF(atomic_load(&n_calls) == 1, "openblas_set_num_threads called %d times", atomic_load(&n_calls));
#else
    CHECKF(atomic_load(&n_calls) == 0, "openblas_set_num_threads called %d times", atomic_load(&n_calls));
#endif
    TEST_MAIN_END;
}
