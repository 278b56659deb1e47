/* Internals of the synthetic data generator (synth*.c). */
#ifndef EF_SYNTH_INTERNAL_H
#define EF_SYNTH_INTERNAL_H

#include "eraformer/data.h"

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

struct ef_synth {
    ef_synth_config c;
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

/* Quantile binning (see synth.c). */
void ef_synth_bin(const double *v, size_t n, size_t vs, const double *q, int ncut, double *scratch,
                  int8_t *out, size_t os);
const char *ef_synth_group_name(int g);

#endif
