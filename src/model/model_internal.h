/* model internals shared by model.c, optim.c and checkpoint.c */
#ifndef EF_MODEL_INTERNAL_H
#define EF_MODEL_INTERNAL_H

#include "base/ef_internal.h"
#include "eraformer/model.h"

/* named pointers into a parameter-shaped block (params or grads) */
typedef struct ef_ptrs {
    float *p[EF_NPARAM_TENSORS];
} ef_ptrs;

struct ef_model {
    ef_model_config cfg;
    int max_B, max_T, F;       /* F = 2*d_max: values then missing indicators */
    ef_param_info info[EF_NPARAM_TENSORS];
    size_t n_params;
    float *params, *grads, *m, *v;
    ef_ptrs P, G;
    long step;

    /* activations, sized for (max_B, max_T) */
    float *act;                /* one block */
    float *u, *enc, *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *att, *res2, *ln2, *ln2_mean,
          *ln2_rstd, *fch, *fch_gelu, *res3, *lnf, *lnf_mean, *lnf_rstd, *out, *tok_y, *tok_w,
          *proj, *dres, *dc, *dqkv, *dfch, *dfch_gelu, *dout, *att_scratch, *att_lse;
    int n_scratch;
    /* rows layout: a batch of at least flash_min_t tokens takes the memory-linear attention
     * (att_lse (L,B,NH,T) saved, no att); shorter ones the dense path, whose att holds
     * (L, max_B, NH, T, T) for T < flash_min_t only. Fixed at creation. */
    int flash_min_t;
    size_t act_floats;         /* the activation block's size */

    /* the last forward's shape, for backward */
    int cur_B, cur_T, cur_k, cur_nctx;
    const float *cur_y;        /* rows layout: labels of the context rows (embedding) */
    int have_forward;
};

/* The rows layout's default flash_min_t: from this many tokens on, attention is the
 * memory-linear path (attention_flash.c). Below it the dense path, as fast and bitwise as
 * before (the short pretraining tasks); from here on its (T,T) matrices would dominate the
 * activations (L·B·NH·T² floats: 3.2 GB at T = 8,192 for 3 layers, 4 heads, one task). */
#define EF_FLASH_MIN_T 256
/* Tests only, before ef_model_create (not concurrent): the threshold that models created
 * afterwards take (1: always flash; INT_MAX: never; 0: back to EF_FLASH_MIN_T). */
void ef_model_flash_min_t_set(int t);

/* Parameters of a model with this (checked) config, without creating it. */
size_t ef_model_config_num_params(const ef_model_config *cfg);

void ef_model_fill_u_row(float *u, const float *x, const uint8_t *mask, int d, int D);

#endif
