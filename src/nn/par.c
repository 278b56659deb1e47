/* The parallel-region thresholds (settable, for tests) and the count of regions that ran on
 * more than one thread (the tests' proof that the parallel path ran). See nn_internal.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include "nn/nn_internal.h"

static _Atomic double min_flops = EF_PAR_MIN_FLOPS, min_elems = EF_PAR_MIN_ELEMS;
static atomic_long multi_regions;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void par_report(void) {
    fprintf(stderr, "ef_par: %ld parallel regions ran on more than one thread\n",
            atomic_load_explicit(&multi_regions, memory_order_relaxed));
}

/* EF_PAR_MIN=<number>: both thresholds (0: every region parallel), and the count printed to
 * stderr at exit. A value that is not a number >= 0 is refused with a warning. */
static void par_read_env(void) {
    const char *s = getenv("EF_PAR_MIN");
    if (!s) return;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0)) {
        fprintf(stderr, "warning: EF_PAR_MIN=%s is not a number >= 0; ignored\n", s);
        return;
    }
    atomic_store(&min_flops, v);
    atomic_store(&min_elems, v);
    atexit(par_report);
}

double ef_par_min_flops(void) {
    pthread_once(&env_once, par_read_env);
    return atomic_load_explicit(&min_flops, memory_order_relaxed);
}

double ef_par_min_elems(void) {
    pthread_once(&env_once, par_read_env);
    return atomic_load_explicit(&min_elems, memory_order_relaxed);
}

void ef_par_min_set(double flops, double elems) {
    pthread_once(&env_once, par_read_env);
    atomic_store(&min_flops, flops);
    atomic_store(&min_elems, elems);
}

void ef_par_multi_note(void) { atomic_fetch_add_explicit(&multi_regions, 1, memory_order_relaxed); }

long ef_par_multi_count(void) { return atomic_load_explicit(&multi_regions, memory_order_relaxed); }
