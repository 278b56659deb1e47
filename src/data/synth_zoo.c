/* Synthetic Numerai-like data, the non-factor generators ("the zoo", docs/synth.md): their
 * world (how features see the latents, the target's exposures) and their universe of stocks.
 * A stock lives in a slot; its latent state z and its features' own noise u follow AR(1)s
 * from era to era (eras are weeks), so features persist, and a slot's stock is replaced
 * (delisted, a new one listed) with a small probability per era. The state is a cache
 * behind the const ef_synth: era e is still a pure function of (config, seed, e), because
 * every draw is keyed by (generator key, era, stream) and the state is replayed from era 0
 * when the caller goes back in time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/synth_internal.h"

#define MAIN_AUX 3

void ef_synth_zoo_destroy(syn_zoo *z) {
    if (!z) return;
    ef_free(z->p);
    ef_free(z->q);
    ef_free(z->a);
    ef_free(z->b);
    ef_free(z->cc);
    ef_free(z->beta);
    ef_free(z->walpha);
    ef_free(z->aux_w);
    ef_free(z->z);
    ef_free(z->u);
    ef_free(z->alpha);
    ef_free(z->uid);
    ef_free(z);
}

static double sign_of(ef_rng *r) { return ef_rng_uniform(r) < 0.5 ? -1.0 : 1.0; }

/* Groups by size, largest first (ties: lower index first). */
static void groups_by_size(const ef_synth *s, int *order) {
    int size[SYN_MAX_GROUPS] = {0};
    for (int j = 0; j < s->F; j++) size[s->group[j]]++;
    for (int g = 0; g < SYN_MAX_GROUPS; g++) order[g] = g;
    for (int i = 1; i < SYN_MAX_GROUPS; i++)
        for (int k = i; k > 0 && size[order[k]] > size[order[k - 1]]; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
}

/* nonlinear: one latent per group; feature = z_group + noise with 10..20x the variance
 * (10% pure noise); the signal is a fixed nonlinear function of the 6 largest groups' latents. */
static void world_nonlinear(ef_synth *s, syn_zoo *z, ef_rng *r) {
    for (int j = 0; j < s->F; j++) {
        z->p[j] = s->group[j];
        z->q[j] = 0;
        z->a[j] = ef_rng_uniform(r) < 0.10 ? 0.0f : 1.0f;
        z->cc[j] = (float)sqrt(10.0 + 10.0 * ef_rng_uniform(r));
    }
    int order[SYN_MAX_GROUPS];
    groups_by_size(s, order);
    for (int k = 0; k < 6; k++) z->nl[k] = order[k];
}

/* drift: 6 style + 12 group latents seen linearly (like factor); exposures to the latents
 * and to 16 features' own noise wander as slow AR(1)s around a base, and 4 of the latent
 * exposures flip sign now and then (regimes). */
static void world_drift(ef_synth *s, syn_zoo *z, ef_rng *r) {
    for (int j = 0; j < s->F; j++) {
        z->p[j] = SYN_K + s->group[j];
        z->q[j] = (int)ef_rng_below(r, SYN_K);
        int noise = ef_rng_uniform(r) < 0.10;
        z->a[j] = noise ? 0.0f : (float)(0.35 + 0.5 * ef_rng_uniform(r));
        z->b[j] = noise ? 0.0f : (float)(ef_rng_uniform(r) - 0.5);
        z->cc[j] = (float)(0.8 + 0.6 * ef_rng_uniform(r));
    }
    int L = z->L, E = s->n_eras, A = z->n_alpha;
    double base[SYN_MAX_M + SYN_ZOO_MAX_ALPHA], d[SYN_MAX_M + SYN_ZOO_MAX_ALPHA],
        sg[SYN_MAX_M + SYN_ZOO_MAX_ALPHA];
    for (int m = 0; m < L + A; m++) {
        base[m] = (ef_rng_uniform(r) < 0.6 ? 1.0 : 0.2) * (0.5 + ef_rng_uniform(r)) * sign_of(r);
        if (m >= L) base[m] *= 0.8;
        d[m] = 0.5 * ef_rng_normal(r);
        sg[m] = 1.0;
    }
    const double rho = 0.985, innov = 0.5 * sqrt(1 - rho * rho);
    for (int e = 0; e < E; e++)
        for (int m = 0; m < L + A; m++) {
            d[m] = rho * d[m] + innov * ef_rng_normal(r);
            if (m < 4 && ef_rng_uniform(r) < 1.0 / 80) sg[m] = -sg[m];
            float v = (float)(sg[m] * base[m] + d[m]);
            if (m < L) z->beta[(size_t)e * (size_t)L + (size_t)m] = v;
            else z->walpha[(size_t)e * (size_t)A + (size_t)(m - L)] = v;
        }
}

/* weak: features in blocks of 6..14 inside their group, sharing a block latent (within-block
 * correlation 0.3..0.8); every block is a weak exposure, 5 features' own noise a strong one. */
static void world_weak(ef_synth *s, syn_zoo *z, ef_rng *r) {
    int L = 0;
    for (int g = 0; g < s->G; g++) {
        int left = 0;
        float ra = 0;
        for (int j = 0; j < s->F; j++) {
            if (s->group[j] != g) continue;
            if (left == 0) {
                left = 6 + (int)ef_rng_below(r, 9);
                ra = (float)(0.3 + 0.5 * ef_rng_uniform(r));
                L++;
            }
            z->p[j] = L - 1;
            z->a[j] = sqrtf(ra);
            z->cc[j] = sqrtf(1 - ra);
            left--;
        }
    }
    z->L = L;
    double ss = 0;
    for (int m = 0; m < L; m++) {
        z->beta[m] = (float)ef_rng_normal(r);
        ss += (double)z->beta[m] * z->beta[m];
    }
    for (int m = 0; m < L; m++) z->beta[m] = (float)(z->beta[m] * sqrt(0.55 / ss));
    double per = sqrt(0.45 / z->n_alpha);
    for (int k = 0; k < z->n_alpha; k++)
        z->walpha[k] = (float)(per / z->cc[z->alpha_j[k]] * sign_of(r));
}

static ef_status alloc_world(ef_synth *s, syn_zoo *z, int beta_rows, ef_error *err) {
    size_t F = (size_t)s->F;
    z->p = ef_calloc(F, sizeof(int));
    z->q = ef_calloc(F, sizeof(int));
    z->a = ef_calloc(F, sizeof(float));
    z->b = ef_calloc(F, sizeof(float));
    z->cc = ef_calloc(F, sizeof(float));
    z->beta = ef_calloc((size_t)beta_rows * (size_t)z->L, sizeof(float));
    z->walpha = ef_calloc((size_t)beta_rows * (size_t)EF_MAX(1, z->n_alpha), sizeof(float));
    z->aux_w = ef_calloc((size_t)SYN_N_AUX * (size_t)z->L, sizeof(float));
    if (!z->p || !z->q || !z->a || !z->b || !z->cc || !z->beta || !z->walpha || !z->aux_w)
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    return EF_OK;
}

/* Aux targets: how much of the main signal they share (rho), how much of its weekly shocks
 * (kappa), and their own direction in latent space. */
static void world_aux(syn_zoo *z, ef_rng *r) {
    int L = z->L;
    for (int a = 0; a < SYN_N_AUX; a++) {
        z->aux_rho[a] = a == MAIN_AUX ? 1.0f : (float)(0.5 + 0.35 * ef_rng_uniform(r));
        z->aux_kappa[a] = a == MAIN_AUX ? 1.0f : (float)(0.72 + 0.18 * ef_rng_uniform(r));
        float *w = z->aux_w + (size_t)a * (size_t)L;
        double norm = 0;
        for (int m = 0; m < L; m++) {
            w[m] = (float)(ef_rng_uniform(r) < 0.3 ? ef_rng_normal(r) : 0.0);
            norm += (double)w[m] * w[m];
        }
        if (norm == 0) {
            w[a % L] = 1.0f;
            norm = 1;
        }
        for (int m = 0; m < L; m++) w[m] = (float)(w[m] / sqrt(norm));
    }
}

ef_status ef_synth_zoo_create(ef_synth *s, ef_error *err) {
    syn_zoo *z = ef_calloc(1, sizeof *z);
    if (!z) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    s->zoo = z;
    int gen = (int)s->c.generator;
    z->key = ef_hash64(s->c.seed, 0x2000 + (uint64_t)gen);
    z->era = -1;
    for (int e = 0; e < s->n_eras; e++) z->U = EF_MAX(z->U, s->rows[e]);
    ef_rng r;
    ef_rng_init(&r, z->key, SYN_STREAM_WORLD + 2);
    /* features with their own exposure: distinct, drawn before the generator's world */
    z->n_alpha = gen == EF_SYNTH_NONLINEAR ? 0 : EF_MIN(s->F, gen == EF_SYNTH_DRIFT ? 16 : 5);
    int *perm = ef_malloc((size_t)s->F * sizeof(int));
    if (!perm) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int j = 0; j < s->F; j++) perm[j] = j;
    ef_rng_shuffle_int(&r, perm, (size_t)s->F);
    for (int k = 0; k < z->n_alpha; k++) z->alpha_j[k] = perm[k];
    ef_free(perm);
    ef_status st = EF_OK;
    if (gen == EF_SYNTH_NONLINEAR) {
        z->L = SYN_MAX_GROUPS;
        z->rho_z = 0.95f;
        z->rho_u = 0.90f;
        z->churn = 0.005f;
        z->r20 = 0.12f;
        z->r60 = 0.10f;
        st = alloc_world(s, z, 1, err);
        if (!st) world_nonlinear(s, z, &r);
    } else if (gen == EF_SYNTH_DRIFT) {
        z->L = SYN_MAX_M;
        z->rho_z = 0.95f;
        z->rho_u = 0.93f;
        z->churn = 0.005f;
        z->r20 = 0.09f;
        z->r60 = 0.075f;
        st = alloc_world(s, z, s->n_eras, err);
        if (!st) world_drift(s, z, &r);
    } else {
        z->L = s->F;   /* an upper bound on the number of blocks; world_weak sets it */
        z->rho_z = 0.97f;
        z->rho_u = 0.98f;
        z->churn = 0.005f;
        z->r20 = 0.08f;
        z->r60 = 0.07f;
        z->alpha_sd = 0.17f;
        st = alloc_world(s, z, 1, err);
        if (!st) world_weak(s, z, &r);
    }
    if (!st) world_aux(z, &r);
    size_t U = (size_t)z->U;
    if (!st) {
        z->z = ef_malloc(U * (size_t)z->L * sizeof(float));
        z->u = ef_malloc(U * (size_t)s->F * sizeof(float));
        z->alpha = ef_malloc(U * sizeof(float));
        z->uid = ef_malloc(U * sizeof(uint64_t));
        if (!z->z || !z->u || !z->alpha || !z->uid) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    return st;
}

// ---- the universe ---------------------------------------------------------------------

static void new_stock(syn_zoo *z, size_t i, ef_rng *r) {
    for (int m = 0; m < z->L; m++) z->z[i * (size_t)z->L + (size_t)m] = (float)ef_rng_normal(r);
    z->alpha[i] = (float)ef_rng_normal(r);
    z->uid[i] = z->next_uid++;
}

/* Era e's state from era e-1's (or, for e = 0, from the stationary distribution). */
static void step(const ef_synth *s, syn_zoo *z, int e) {
    size_t U = (size_t)z->U, L = (size_t)z->L, F = (size_t)s->F;
    ef_rng r, rf;
    ef_rng_init(&r, z->key, (uint64_t)e * SYN_STREAMS + SYN_ZS_STEP);
    ef_rng_init(&rf, z->key, (uint64_t)e * SYN_STREAMS + SYN_ZS_FEAT);
    if (e == 0) z->next_uid = 0;
    const double az = z->rho_z, bz = sqrt(1 - az * az), au = z->rho_u, bu = sqrt(1 - au * au);
    for (size_t i = 0; i < U; i++) {
        int fresh = e == 0 || ef_rng_uniform(&r) < z->churn;
        float *u = z->u + i * F;
        if (fresh) {
            new_stock(z, i, &r);
            for (size_t j = 0; j < F; j++) u[j] = (float)ef_rng_normal(&rf);
            continue;
        }
        float *zi = z->z + i * L;
        for (size_t m = 0; m < L; m++) zi[m] = (float)(az * zi[m] + bz * ef_rng_normal(&r));
        for (size_t j = 0; j < F; j++) u[j] = (float)(au * u[j] + bu * ef_rng_normal(&rf));
    }
    z->era = e;
}

ef_status ef_synth_zoo_seek(const ef_synth *s, int e, ef_error *err) {
    syn_zoo *z = s->zoo;
    EF_CHECK(z && e >= 0 && e < s->n_eras, err, EF_ERR_INVALID, "synth: era %d out of range", e);
    if (z->era > e) z->era = -1;
    while (z->era < e) step(s, z, z->era + 1);
    return EF_OK;
}
