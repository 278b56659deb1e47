/* Internals of the synthetic data generator (synth*.c). */
#ifndef EF_SYNTH_INTERNAL_H
#define EF_SYNTH_INTERNAL_H

#include "eraformer/data.h"
#include "data/data_internal.h"

#define SYN_K 6              /* global "style" latent factors */
#define SYN_MAX_GROUPS 12    /* feature groups (Numerai's v5 groups), one latent each */
#define SYN_MAX_M (SYN_K + SYN_MAX_GROUPS)
#define SYN_N_AUX 6          /* target names; each has a _20 and a _60 target */

/* rng streams: the world, then per era (era * SYN_STREAMS + k) */
#define SYN_STREAM_WORLD 0x5e7ea5ULL
enum { SYN_STREAM_LATENT = 1, SYN_STREAM_FEATURE = 2, SYN_STREAM_TARGET = 3, SYN_STREAM_ID = 4,
       SYN_STREAMS = 8 };

enum { SYN_LINEAR = 0, SYN_ABS = 1, SYN_NOISE = 2 };

typedef struct syn_feature {
    int kind;
    int p1, p2;          /* latents: the group's factor, a global style factor */
    float l1, l2, noise;
    int start_era;       /* all 2 (missing) before this era */
} syn_feature;

/* The non-factor generators (synth_zoo.c, synth_zoo_era.c): a universe of U stock slots
 * whose latent state z (L per stock) and idiosyncratic feature noise u (F per stock) follow
 * AR(1)s across eras; targets add weekly shocks (4 for _20, 12 for _60). */
#define SYN_ZOO_MAX_ALPHA 24     /* features with their own drifting / strong exposure */
enum { SYN_ZS_STEP = 1, SYN_ZS_FEAT = 2, SYN_ZS_SHOCK = 3, SYN_ZS_ID = 4 };

typedef struct syn_zoo {
    uint64_t key;        /* rng seed of this generator: hash(seed, generator) */
    int L, U;            /* latents per stock, stock slots (the largest era) */
    float rho_z, rho_u;  /* persistence of latents and of feature noise, per era */
    float churn;         /* probability per era that a slot's stock is replaced */
    float r20, r60;      /* corr(raw target, signal) */
    float alpha_sd;      /* persistent per-stock target effect (weak) */
    /* feature j: a_j * h(z[p_j]) + b_j * z[q_j] + c_j * u_j, h = identity */
    int *p, *q;          /* F */
    float *a, *b, *cc;   /* F */
    /* signal: linear exposures to latents and to a few features' own noise u_j */
    float *beta;         /* n_eras x L */
    int n_alpha;
    int alpha_j[SYN_ZOO_MAX_ALPHA];
    float *walpha;       /* n_eras x n_alpha */
    int nl[6];           /* nonlinear: latents of the U-shape, interaction, threshold, ... */
    float aux_rho[SYN_N_AUX], aux_kappa[SYN_N_AUX];
    float *aux_w;        /* SYN_N_AUX x L: each aux target's own direction */
    /* the universe at era `era` (-1: not started); mutable cache behind a const ef_synth */
    int era;
    float *z, *u, *alpha;/* U x L, U x F, U */
    uint64_t *uid;       /* U: persistent stock ids */
    uint64_t next_uid;
} syn_zoo;

struct ef_synth {
    ef_synth_config c;
    syn_zoo *zoo;        /* NULL for EF_SYNTH_FACTOR */
    int n_eras, F, G, M, T;
    char **fnames;       /* sorted */
    int *group;          /* F */
    syn_feature *feat;   /* F */
    char **tnames;       /* T: target_<aux>_20, _60 ..., target */
    float *beta;         /* n_eras x M: main signal coefficients */
    float *gamma, *delta;/* n_eras: interaction z_ia*z_ib, nonlinearity |z_ic| */
    int ia, ib, ic;
    float aux_rho[SYN_N_AUX], aux_noise_c[SYN_N_AUX];
    float aux_w[SYN_N_AUX][SYN_MAX_M];
    int *rows;           /* n_eras */
    uint8_t *missing;    /* n_eras x F: feature all 2 */
};

/* synth_zoo.c: the world and universe of the non-factor generators. */
ef_status ef_synth_zoo_create(ef_synth *s, ef_error *err);
void ef_synth_zoo_destroy(syn_zoo *z);
/* Brings the universe to era e (replaying from era 0 if it is past e). */
ef_status ef_synth_zoo_seek(const ef_synth *s, int e, ef_error *err);
/* synth_zoo_era.c: features, targets and ids of era e into ds (reserved, s->rows[e] rows);
 * stock, if non-NULL, receives each row's persistent stock id. */
ef_status ef_synth_zoo_era(const ef_synth *s, int e, ef_dataset *ds, ef_data_builder *b,
                           uint64_t *stock, ef_error *err);
/* Era e like ef_synth_era, plus each row's persistent stock id in *stock (ef_malloc'ed,
 * out->n_rows entries); for the tests of persistence. Not for EF_SYNTH_FACTOR. */
ef_status ef_synth_era_stocks(const ef_synth *s, int e, ef_dataset *out, uint64_t **stock,
                              ef_error *err);

/* shared by the generators (synth_era.c) */
int ef_synth_target_missing(const ef_synth *s, int e, int a, int h60, ef_rng *r);
void ef_synth_standardize(double *v, size_t n);
extern const double EF_SYNTH_FEATURE_Q[4], EF_SYNTH_TARGET_Q[4];

/* Quantile binning (see synth.c). */
void ef_synth_bin(const double *v, size_t n, size_t vs, const double *q, int ncut, double *scratch,
                  int8_t *out, size_t os);
/* Stores nb features' levels, binned column-major (lv[b * n + i], row i of feature j0 + b),
 * into the row-major n x F matrix X in one pass (strided single-byte writes would touch a
 * cache line each). */
void ef_synth_put_levels(int8_t *X, size_t F, size_t j0, const int8_t *lv, size_t n, size_t nb);
const char *ef_synth_group_name(int g);

#endif
