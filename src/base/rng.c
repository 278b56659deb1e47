/* Counter-based RNG: value_i = mix(key + i * golden), i.e. splitmix64 started at a key that
 * hashes (seed, stream). Every draw is a pure function of (key, counter), so streams are
 * reproducible, independent of thread scheduling, and resumable from three integers.
 * Reference: Steele, Lea, Flood, "Fast splittable pseudorandom number generators" (2014). */
#include <math.h>
#include "base/ef_internal.h"

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ef_hash64(uint64_t a, uint64_t b) {
    return mix64(mix64(a + 0x9e3779b97f4a7c15ULL) ^ (b * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL));
}

void ef_rng_init(ef_rng *r, uint64_t seed, uint64_t stream) {
    r->key = ef_hash64(seed, stream);
    r->counter = 0;
    r->has_spare = 0;
    r->spare = 0.0;
}

uint64_t ef_rng_u64(ef_rng *r) {
    r->counter++;
    return mix64(r->key + r->counter * 0x9e3779b97f4a7c15ULL);
}

double ef_rng_uniform(ef_rng *r) { return (double)(ef_rng_u64(r) >> 11) * 0x1.0p-53; }

double ef_rng_normal(ef_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1, u2;
    do u1 = ef_rng_uniform(r); while (u1 <= 0.0);
    u2 = ef_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    r->spare = rad * sin(2.0 * EF_PI * u2);
    r->has_spare = 1;
    return rad * cos(2.0 * EF_PI * u2);
}

uint64_t ef_rng_below(ef_rng *r, uint64_t n) {
    /* rejection sampling on the top of the range: unbiased */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = ef_rng_u64(r); while (v >= limit);
    return v % n;
}

void ef_rng_shuffle_int(ef_rng *r, int *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ef_rng_below(r, i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
