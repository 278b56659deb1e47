/* Synthetic Numerai-like data, the non-factor generators: one era (ids, features, targets)
 * from the universe of stocks held by synth_zoo.c. Targets are sums of weekly shocks (eras
 * are weeks): a 20-day target adds the shocks of the 4 weeks after its era, a 60-day target
 * those of the 12 weeks after, so one stock's targets in eras e and e+1 share 3 of 4 shocks
 * (the reason for Numerai's embargo). See docs/synth.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/synth_internal.h"

#define MAIN_AUX 3
#define H20 4
#define H60 12
#define SHOCKS (1 + SYN_N_AUX)   /* per stock and week: a common shock, one per aux target */

typedef struct idslot {
    uint64_t id;
    int slot;
} idslot;

static int cmp_idslot(const void *a, const void *b) {
    uint64_t x = ((const idslot *)a)->id, y = ((const idslot *)b)->id;
    return (x > y) - (x < y);
}

/* Ids are obfuscated per era (as Numerai's): a hash of (era, stock), sorted within the era.
 * order[i] receives the slot of row i. */
static ef_status make_ids(const ef_synth *s, int e, size_t n, ef_data_builder *b, int *order,
                          uint64_t *stock, ef_error *err) {
    const syn_zoo *z = s->zoo;
    idslot *v = ef_malloc(n * sizeof *v);
    if (!v) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    uint64_t ke = ef_hash64(z->key + SYN_ZS_ID, (uint64_t)e);
    for (size_t i = 0; i < n; i++) {
        v[i].id = ef_hash64(ke, z->uid[i]) >> 4;
        v[i].slot = (int)i;
    }
    qsort(v, n, sizeof *v, cmp_idslot);
    for (size_t i = 1; i < n; i++)
        if (v[i].id <= v[i - 1].id) v[i].id = v[i - 1].id + 1;
    ef_status st = EF_OK;
    for (size_t i = 0; i < n && !st; i++) {
        char id[20];
        snprintf(id, sizeof id, "n%015llx", (unsigned long long)(v[i].id & 0xfffffffffffffffULL));
        st = ef_data_builder_id(b, (int64_t)i, id, 16, err);
        order[i] = v[i].slot;
        if (stock) stock[i] = z->uid[v[i].slot];
    }
    ef_free(v);
    return st;
}

static ef_status make_features(const ef_synth *s, int e, const int *order, size_t n,
                               ef_dataset *ds, ef_error *err) {
    const syn_zoo *z = s->zoo;
    size_t F = (size_t)s->F, L = (size_t)z->L;
    enum { BLOCK = 64 };
    double *v = ef_malloc(n * sizeof(double));
    double *scratch = ef_malloc(n * sizeof(double));
    int8_t *lv = ef_malloc(n * BLOCK);
    ef_status st = EF_OK;
    if (!v || !scratch || !lv) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (size_t j0 = 0; !st && j0 < F; j0 += BLOCK) {
        size_t nb = EF_MIN((size_t)BLOCK, F - j0);
        for (size_t bj = 0; bj < nb; bj++) {
            size_t j = j0 + bj;
            if (s->missing[(size_t)e * F + j]) {
                memset(lv + bj * n, 2, n);
                continue;
            }
            double a = z->a[j], b = z->b[j], c = z->cc[j];
            size_t p = (size_t)z->p[j], q = (size_t)z->q[j];
            for (size_t i = 0; i < n; i++) {
                size_t k = (size_t)order[i];
                const float *zi = z->z + k * L;
                v[i] = a * zi[p] + b * zi[q] + c * z->u[k * F + j];
            }
            ef_synth_bin(v, n, 1, EF_SYNTH_FEATURE_Q, 4, scratch, lv + bj * n, 1);
        }
        ef_synth_put_levels(ds->X, F, j0, lv, n, nb);
    }
    ef_free(lv);
    ef_free(v);
    ef_free(scratch);
    return st;
}

/* The main signal of the stock in slot k at era e (before standardizing). */
static double signal(const ef_synth *s, int e, size_t k) {
    const syn_zoo *z = s->zoo;
    const float *zi = z->z + k * (size_t)z->L;
    if (s->c.generator == EF_SYNTH_NONLINEAR) {
        const int *c = z->nl;
        double ushape = (zi[c[0]] * zi[c[0]] - 1.0) / sqrt(2.0);
        double inter = zi[c[1]] * zi[c[2]];
        double thresh = ((zi[c[3]] > 0.5f) - 0.3085) / 0.4619;
        return 0.6 * ushape + 0.6 * inter + 0.5 * thresh + 0.35 * zi[c[4]] + 0.25 * zi[c[5]];
    }
    size_t row = s->c.generator == EF_SYNTH_DRIFT ? (size_t)e : 0;
    const float *beta = z->beta + row * (size_t)z->L;
    const float *w = z->walpha + row * (size_t)z->n_alpha;
    double v = 0;
    for (int m = 0; m < z->L; m++) v += beta[m] * zi[m];
    for (int a = 0; a < z->n_alpha; a++) v += w[a] * z->u[k * (size_t)s->F + (size_t)z->alpha_j[a]];
    return v;
}

/* noise[(i * SYN_N_AUX + a) * 2 + h]: each target's sum of weekly shocks, unit variance. */
static void sum_shocks(const ef_synth *s, int e, size_t n, const int *order, double *wk,
                       double *noise) {
    const syn_zoo *z = s->zoo;
    size_t NA = SYN_N_AUX;
    memset(noise, 0, n * NA * 2 * sizeof(double));
    for (int w = 1; w <= H60; w++) {
        ef_rng r;
        ef_rng_init(&r, z->key, (uint64_t)(e + w) * SYN_STREAMS + SYN_ZS_SHOCK);
        for (size_t k = 0; k < n * SHOCKS; k++) wk[k] = ef_rng_normal(&r);   /* by slot */
        for (size_t i = 0; i < n; i++) {
            const double *sh = wk + (size_t)order[i] * SHOCKS;
            for (size_t a = 0; a < NA; a++) {
                double ka = z->aux_kappa[a];
                double x = ka * sh[0] + sqrt(1 - ka * ka) * sh[1 + a];
                if (w <= H20) noise[(i * NA + a) * 2] += x / sqrt((double)H20);
                noise[(i * NA + a) * 2 + 1] += x / sqrt((double)H60);
            }
        }
    }
}

static ef_status make_targets(const ef_synth *s, int e, const int *order, size_t n,
                              ef_dataset *ds, ef_error *err) {
    const syn_zoo *z = s->zoo;
    size_t T = (size_t)s->T, NA = SYN_N_AUX, L = (size_t)z->L;
    double *sig = ef_malloc(n * sizeof(double));
    double *noise = ef_malloc(n * NA * 2 * sizeof(double));
    double *raw = ef_malloc(n * NA * 2 * sizeof(double));
    double *wk = ef_malloc(n * SHOCKS * sizeof(double));
    double *scratch = ef_malloc(n * sizeof(double));
    int8_t *lvl = ef_malloc(n);
    ef_status st = EF_OK;
    if (!sig || !noise || !raw || !wk || !scratch || !lvl) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    if (!st) {
        for (size_t i = 0; i < n; i++) sig[i] = signal(s, e, (size_t)order[i]);
        ef_synth_standardize(sig, n);
        sum_shocks(s, e, n, order, wk, noise);
        double al = z->alpha_sd;
        for (size_t i = 0; i < n; i++) {
            size_t k = (size_t)order[i];
            const float *zi = z->z + k * L;
            for (size_t a = 0; a < NA; a++) {
                const float *w = z->aux_w + a * L;
                double o = 0;
                for (size_t m = 0; m < L; m++) o += w[m] * zi[m];
                double rho = z->aux_rho[a], r20 = z->r20, r60 = z->r60;
                double sa = rho * sig[i] + sqrt(1 - rho * rho) * o;
                double s60 = 0.8 * sa + 0.6 * zi[(a + 2) % L];
                double pa = al * z->alpha[k];
                raw[(i * NA + a) * 2] = r20 * sa + sqrt(1 - r20 * r20 - al * al) * noise[(i * NA + a) * 2] + pa;
                raw[(i * NA + a) * 2 + 1] =
                    r60 * s60 + sqrt(1 - r60 * r60 - al * al) * noise[(i * NA + a) * 2 + 1] + pa;
            }
        }
        ef_rng rn;
        ef_rng_init(&rn, z->key, (uint64_t)e * SYN_STREAMS + SYN_STREAM_TARGET + 4);
        for (size_t t = 0; t < 2 * NA; t++) {
            ef_synth_bin(raw + t, n, 2 * NA, EF_SYNTH_TARGET_Q, 4, scratch, lvl, 1);
            int a = (int)t / 2, h60 = (int)t % 2;
            for (size_t i = 0; i < n; i++)
                ds->y[i * T + t] = ef_synth_target_missing(s, e, a, h60, &rn) ? NAN : 0.25f * (float)lvl[i];
        }
        for (size_t i = 0; i < n; i++) ds->y[i * T + T - 1] = ds->y[i * T + 2 * MAIN_AUX];
    }
    ef_free(sig);
    ef_free(noise);
    ef_free(raw);
    ef_free(wk);
    ef_free(scratch);
    ef_free(lvl);
    return st;
}

ef_status ef_synth_zoo_era(const ef_synth *s, int e, ef_dataset *ds, ef_data_builder *b,
                           uint64_t *stock, ef_error *err) {
    size_t n = (size_t)s->rows[e];
    EF_TRY(ef_synth_zoo_seek(s, e, err));
    int *order = ef_malloc(n * sizeof(int));
    if (!order) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    ef_status st = make_ids(s, e, n, b, order, stock, err);
    if (!st) st = make_features(s, e, order, n, ds, err);
    if (!st) st = make_targets(s, e, order, n, ds, err);
    ef_free(order);
    return st;
}
