/* The transformer: parameter layout, activation memory, forward and backward.
 * ef_model_forward is a plain list of layer calls and ef_model_backward the same list
 * reversed (llm.c's structure). Dims: B sequences, k rows, T tokens (2k interleaved, k rows),
 * C = d_model, NH heads, L layers, F = 2·d_max input width, N = B·T. */
#include <limits.h>
#include <math.h>
#include <string.h>
#include "base/blas.h"
#include "model/model_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

const char *ef_layout_name(ef_layout l) { return l == EF_LAYOUT_ROWS ? "rows" : "interleaved"; }

ef_status ef_layout_parse(const char *s, ef_layout *out, ef_error *err) {
    if (!strcmp(s, "interleaved")) *out = EF_LAYOUT_INTERLEAVED;
    else if (!strcmp(s, "rows")) *out = EF_LAYOUT_ROWS;
    else return EF_ERR(err, EF_ERR_INVALID, "unknown layout '%s' (expected interleaved or rows)", s);
    return EF_OK;
}

ef_status ef_model_config_check(const ef_model_config *c, ef_error *err) {
    EF_CHECK(c->layout == EF_LAYOUT_INTERLEAVED || c->layout == EF_LAYOUT_ROWS, err, EF_ERR_INVALID, "bad layout %d", (int)c->layout);
    EF_CHECK(c->n_layer >= 1 && c->n_layer <= 256, err, EF_ERR_INVALID, "n_layer must be in [1, 256], got %d", c->n_layer);
    EF_CHECK(c->d_model >= 1 && c->d_model <= 16384, err, EF_ERR_INVALID, "d_model must be in [1, 16384], got %d", c->d_model);
    EF_CHECK(c->n_head >= 1 && c->d_model % c->n_head == 0, err, EF_ERR_INVALID,
             "n_head (%d) must divide d_model (%d)", c->n_head, c->d_model);
    EF_CHECK(c->d_max >= 1 && c->d_max <= 100000, err, EF_ERR_INVALID, "d_max must be in [1, 100000], got %d", c->d_max);
    EF_CHECK(c->max_points >= 1 && c->max_points <= 65536, err, EF_ERR_INVALID,
             "max_points must be in [1, 65536], got %d", c->max_points);
    EF_CHECK(c->row_positions == 0 || (c->row_positions == 1 && c->layout == EF_LAYOUT_ROWS), err, EF_ERR_INVALID,
             "row positions (%d) need the rows layout and are 0 or 1", c->row_positions);
    return EF_OK;
}

const ef_model_config *ef_model_cfg(const ef_model *m) { return &m->cfg; }
size_t ef_model_num_params(const ef_model *m) { return m->n_params; }
float *ef_model_params(ef_model *m) { return m->params; }
float *ef_model_grads(ef_model *m) { return m->grads; }

unsigned ef_model_copy_matching(ef_model *dst, ef_model *src) {
    unsigned missed = 0;
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        const ef_param_info *a = &dst->info[i], *b = &src->info[i];
        if (!a->size) continue;
        if (a->size == b->size) memcpy(dst->params + a->offset, src->params + b->offset, a->size * sizeof(float));
        else missed |= 1u << i;
    }
    return missed;
}
static int is_layer_tensor(int i) { return i >= EF_P_LN1W && i <= EF_P_FCPROJB; }

ef_status ef_model_copy_grow(ef_model *dst, ef_model *src, ef_error *err) {
    const ef_model_config *a = &dst->cfg, *b = &src->cfg;
    int L0 = b->n_layer, L = a->n_layer;
    EF_CHECK(a->layout == b->layout && a->d_model == b->d_model && a->n_head == b->n_head && a->d_max == b->d_max &&
             a->max_points == b->max_points && L >= L0, err, EF_ERR_INVALID,
             "model growth: the target must have the source's layout, width, heads, d_max and points and at "
             "least its %d layers (got %d)", L0, L);
    unsigned missed = ef_model_copy_matching(dst, src);
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        if (!(missed & (1u << i))) continue;
        float *p = dst->params + dst->info[i].offset;
        size_t n = dst->info[i].size;
        if (!is_layer_tensor(i)) {  /* a tensor the source lacks (row positions added) starts at zero */
            memset(p, 0, n * sizeof(float));
            continue;
        }
        /* (L, ...) stacks: layer l of the source is layer l of the target; the new layers
         * keep their fresh initialisation except the two output projections, which start at
         * zero so that each new block adds nothing to the residual stream */
        size_t per = n / (size_t)L;
        memcpy(p, src->params + src->info[i].offset, (size_t)L0 * per * sizeof(float));
        if (i == EF_P_ATTPROJW || i == EF_P_ATTPROJB || i == EF_P_FCPROJW || i == EF_P_FCPROJB)
            memset(p + (size_t)L0 * per, 0, (size_t)(L - L0) * per * sizeof(float));
    }
    return EF_OK;
}
const ef_param_info *ef_model_param_info(const ef_model *m, int i) { return &m->info[i]; }
int ef_model_max_batch(const ef_model *m) { return m->max_B; }
long ef_model_step(const ef_model *m) { return m->step; }

static int tokens_per_seq(const ef_model_config *c, int k) { return c->layout == EF_LAYOUT_INTERLEAVED ? 2 * k : k; }

static int flash_min_t_next = EF_FLASH_MIN_T;
void ef_model_flash_min_t_set(int t) { flash_min_t_next = t > 0 ? t : EF_FLASH_MIN_T; }

/* the memory-linear attention for this batch length (rows layout, long batches) */
static int use_flash(const ef_model *m, int T) { return m->cfg.layout == EF_LAYOUT_ROWS && T >= m->flash_min_t; }

// ---- parameter table ----------------------------------------------------------------

static void set_info(ef_param_info *pi, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    pi->name = name;
    pi->ndim = ndim;
    pi->shape[0] = d0;
    pi->shape[1] = d1;
    pi->shape[2] = d2;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)pi->shape[i];
    pi->size = n;
}

static void fill_param_table(ef_model *m) {
    const ef_model_config *c = &m->cfg;
    int64_t C = c->d_model, L = c->n_layer, F = m->F;
    int il = c->layout == EF_LAYOUT_INTERLEAVED;
    ef_param_info *I = m->info;
    set_info(&I[EF_P_WIN], "embed.w_in", 2, C, F, 0);
    set_info(&I[EF_P_BIN], "embed.b_in", 1, C, 0, 0);
    set_info(&I[EF_P_WPE], "embed.wpe", 2, il ? m->max_T : (c->row_positions ? c->max_points : 0), C, 0);
    set_info(&I[EF_P_WY], "embed.w_y", 1, il ? 0 : C, 0, 0);
    set_info(&I[EF_P_ECTX], "embed.e_ctx", 1, il ? 0 : C, 0, 0);
    set_info(&I[EF_P_EQUERY], "embed.e_query", 1, il ? 0 : C, 0, 0);
    set_info(&I[EF_P_LN1W], "blocks.ln1.weight", 2, L, C, 0);
    set_info(&I[EF_P_LN1B], "blocks.ln1.bias", 2, L, C, 0);
    set_info(&I[EF_P_QKVW], "blocks.attn.qkv.weight", 3, L, 3 * C, C);
    set_info(&I[EF_P_QKVB], "blocks.attn.qkv.bias", 2, L, 3 * C, 0);
    set_info(&I[EF_P_ATTPROJW], "blocks.attn.proj.weight", 3, L, C, C);
    set_info(&I[EF_P_ATTPROJB], "blocks.attn.proj.bias", 2, L, C, 0);
    set_info(&I[EF_P_LN2W], "blocks.ln2.weight", 2, L, C, 0);
    set_info(&I[EF_P_LN2B], "blocks.ln2.bias", 2, L, C, 0);
    set_info(&I[EF_P_FCW], "blocks.mlp.fc.weight", 3, L, 4 * C, C);
    set_info(&I[EF_P_FCB], "blocks.mlp.fc.bias", 2, L, 4 * C, 0);
    set_info(&I[EF_P_FCPROJW], "blocks.mlp.proj.weight", 3, L, C, 4 * C);
    set_info(&I[EF_P_FCPROJB], "blocks.mlp.proj.bias", 2, L, C, 0);
    set_info(&I[EF_P_LNFW], "ln_f.weight", 1, C, 0, 0);
    set_info(&I[EF_P_LNFB], "ln_f.bias", 1, C, 0, 0);
    set_info(&I[EF_P_WOUT], "head.weight", 2, 1, C, 0);
    set_info(&I[EF_P_BOUT], "head.bias", 1, 1, 0, 0);
    size_t off = 0;
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        I[i].offset = off;
        off += I[i].size;
    }
    m->n_params = off;
}

size_t ef_model_config_num_params(const ef_model_config *cfg) {
    ef_model m;
    memset(&m, 0, sizeof m);
    m.cfg = *cfg;
    m.max_T = tokens_per_seq(cfg, cfg->max_points);
    m.F = 2 * cfg->d_max;
    fill_param_table(&m);
    return m.n_params;
}

static void point(ef_ptrs *p, float *block, const ef_param_info *info) {
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) p->p[i] = block + info[i].offset;
}

static void init_params(ef_model *m, uint64_t seed) {
    int L = m->cfg.n_layer;
    float resid_std = 0.02f / sqrtf(2.0f * (float)L);
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        float *p = m->P.p[i];
        size_t n = m->info[i].size;
        ef_rng r;
        ef_rng_init(&r, seed, 1000 + (uint64_t)i);
        float std = 0.02f;
        int normal = 1, one = 0;
        switch (i) {
        case EF_P_BIN: case EF_P_QKVB: case EF_P_ATTPROJB: case EF_P_FCB: case EF_P_FCPROJB:
        case EF_P_LN1B: case EF_P_LN2B: case EF_P_LNFB: case EF_P_BOUT:
            normal = 0; break;
        case EF_P_LN1W: case EF_P_LN2W: case EF_P_LNFW:
            normal = 0; one = 1; break;
        case EF_P_ATTPROJW: case EF_P_FCPROJW:
            std = resid_std; break;
        default: break;
        }
        for (size_t j = 0; j < n; j++) p[j] = normal ? std * (float)ef_rng_normal(&r) : (one ? 1.0f : 0.0f);
    }
}

// ---- creation -------------------------------------------------------------------------

ef_status ef_model_create(ef_model **out, const ef_model_config *cfg, int max_B, uint64_t seed, ef_error *err) {
    *out = NULL;
    EF_TRY(ef_model_config_check(cfg, err));
    EF_CHECK(max_B >= 1 && max_B <= 1 << 20, err, EF_ERR_INVALID, "max batch must be >= 1, got %d", max_B);
    ef_nn_init();
    ef_model *m = ef_calloc(1, sizeof *m);
    if (!m) return EF_ERR(err, EF_ERR_NOMEM, "out of memory creating the model");
    m->cfg = *cfg;
    m->max_B = max_B;
    m->max_T = tokens_per_seq(cfg, cfg->max_points);
    m->F = 2 * cfg->d_max;
    fill_param_table(m);
    size_t bytes;
    if (!ef_mul_ok(m->n_params, sizeof(float), &bytes)) goto nomem;
    m->params = ef_malloc_aligned(bytes);
    m->grads = ef_malloc_aligned(bytes);
    m->m = ef_malloc_aligned(bytes);
    m->v = ef_malloc_aligned(bytes);
    if (!m->params || !m->grads || !m->m || !m->v) goto nomem;
    memset(m->grads, 0, bytes);
    memset(m->m, 0, bytes);
    memset(m->v, 0, bytes);
    point(&m->P, m->params, m->info);
    point(&m->G, m->grads, m->info);
    init_params(m, seed);

    /* activations */
    size_t N = (size_t)max_B * m->max_T, C = (size_t)cfg->d_model, L = (size_t)cfg->n_layer;
    size_t T = (size_t)m->max_T, NH = (size_t)cfg->n_head, F = (size_t)m->F;
    int nth = ef_threads_get();
#ifdef _OPENMP
    if (omp_get_num_procs() > nth) nth = omp_get_num_procs();
#endif
    m->n_scratch = nth < 1 ? 1 : nth;
    /* attention: the dense path's probabilities for the batch lengths below the flash
     * threshold, the flash path's log-sum-exp from it on (rows layout) */
    m->flash_min_t = cfg->layout == EF_LAYOUT_ROWS ? flash_min_t_next : INT_MAX;
    size_t Td = T < (size_t)m->flash_min_t ? T : (size_t)m->flash_min_t - 1;   /* longest dense batch */
    size_t Tf = T >= (size_t)m->flash_min_t ? T : 0;                           /* longest flash batch */
    size_t per_scratch = ef_attention_scratch_floats((int)Td, (int)(C / NH));
    if (Tf && ef_attention_flash_scratch_floats((int)(C / NH)) > per_scratch)
        per_scratch = ef_attention_flash_scratch_floats((int)(C / NH));
    struct { float **p; double n; } tab[] = {
        {&m->u, (double)N * F}, {&m->enc, (double)N * C},
        {&m->ln1, (double)L * N * C}, {&m->ln1_mean, (double)L * N}, {&m->ln1_rstd, (double)L * N},
        {&m->qkv, (double)L * N * 3 * C}, {&m->atty, (double)L * N * C},
        {&m->att, (double)L * max_B * NH * Td * Td}, {&m->att_lse, (double)L * max_B * NH * Tf}, {&m->res2, (double)L * N * C},
        {&m->ln2, (double)L * N * C}, {&m->ln2_mean, (double)L * N}, {&m->ln2_rstd, (double)L * N},
        {&m->fch, (double)L * N * 4 * C}, {&m->fch_gelu, (double)L * N * 4 * C}, {&m->res3, (double)L * N * C},
        {&m->lnf, (double)N * C}, {&m->lnf_mean, (double)N}, {&m->lnf_rstd, (double)N},
        {&m->out, (double)N}, {&m->tok_y, (double)N}, {&m->tok_w, (double)N}, {&m->proj, (double)N * C},
        {&m->dres, (double)N * C}, {&m->dc, (double)N * C}, {&m->dqkv, (double)N * 3 * C},
        {&m->dfch, (double)N * 4 * C}, {&m->dfch_gelu, (double)N * 4 * C}, {&m->dout, (double)N},
        {&m->att_scratch, (double)m->n_scratch * per_scratch},
    };
    size_t ntab = sizeof tab / sizeof tab[0];
    double total = 0;
    for (size_t i = 0; i < ntab; i++) total += ceil(tab[i].n / 16.0) * 16.0; /* 64-byte aligned pieces */
    if (total * 4.0 > 1e12) {
        int max_T = m->max_T; /* read before m is freed */
        ef_model_destroy(m);
        return EF_ERR(err, EF_ERR_INVALID, "activation memory for batch %d x %d tokens would be %.1f GB",
                      max_B, max_T, total * 4.0 / 1e9);
    }
    m->act_floats = (size_t)total;
    m->act = ef_malloc_aligned((size_t)total * sizeof(float));
    if (!m->act) goto nomem;
    float *p = m->act;
    for (size_t i = 0; i < ntab; i++) {
        *tab[i].p = p;
        p += (size_t)(ceil(tab[i].n / 16.0) * 16.0);
    }
    *out = m;
    return EF_OK;
nomem:;
    size_t n_params = m->n_params; /* read before m is freed */
    ef_model_destroy(m);
    return EF_ERR(err, EF_ERR_NOMEM, "out of memory allocating a model of %zu parameters", n_params);
}

void ef_model_destroy(ef_model *m) {
    if (!m) return;
    ef_free_aligned(m->params);
    ef_free_aligned(m->grads);
    ef_free_aligned(m->m);
    ef_free_aligned(m->v);
    ef_free_aligned(m->act);
    ef_free(m);
}

// ---- embedding ------------------------------------------------------------------------

/* One row's read-in input u (F = 2·D, zeroed by the caller): observed values scaled by
 * sqrt(D/d) in [0, d), missing indicators in [D, D+d). */
void ef_model_fill_u_row(float *u, const float *x, const uint8_t *mask, int d, int D) {
    float sc = sqrtf((float)D / (float)d);
    for (int j = 0; j < d; j++) {
        if (mask && !mask[j]) u[D + j] = 1.0f;
        else u[j] = x[j] * sc;
    }
}

/* batch -> u (B,T,F), per-token targets and loss weights */
static void build_inputs(ef_model *m, const ef_batch *bt) {
    const ef_model_config *c = &m->cfg;
    int B = bt->B, k = bt->k, D = c->d_max, F = m->F, T = tokens_per_seq(c, k);
    int il = c->layout == EF_LAYOUT_INTERLEAVED;
    memset(m->u, 0, (size_t)B * T * F * sizeof(float));
    for (int b = 0; b < B; b++) {
        int d = bt->d ? bt->d[b] : D;
        for (int i = 0; i < k; i++) {
            int t = il ? 2 * i : i;
            size_t row = (size_t)b * k + i;
            ef_model_fill_u_row(m->u + ((size_t)b * T + t) * F, bt->x + row * D, bt->mask ? bt->mask + row * D : NULL, d, D);
            float y = bt->y ? bt->y[row] : 0.0f;
            if (il) {
                m->u[((size_t)b * T + t + 1) * F] = y;
                m->tok_y[(size_t)b * T + t] = y;
                m->tok_w[(size_t)b * T + t] = 1.0f;
                m->tok_y[(size_t)b * T + t + 1] = 0.0f;
                m->tok_w[(size_t)b * T + t + 1] = 0.0f;
            } else {
                m->tok_y[(size_t)b * T + t] = y;
                m->tok_w[(size_t)b * T + t] = i >= bt->n_ctx ? 1.0f : 0.0f;
            }
        }
    }
}

// u (B,T,F) -> enc (B,T,C)
static void embed_forward(ef_model *m) {
    const ef_model_config *c = &m->cfg;
    int B = m->cur_B, T = m->cur_T, C = c->d_model, N = B * T;
    ef_linear_forward(m->enc, m->u, m->P.p[EF_P_WIN], m->P.p[EF_P_BIN], N, m->F, C);
    if (c->layout == EF_LAYOUT_INTERLEAVED) {
        const float *wpe = m->P.p[EF_P_WPE];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                float *e = m->enc + ((size_t)b * T + t) * C;
                for (int i = 0; i < C; i++) e[i] += wpe[(size_t)t * C + i];
            }
    } else {
        const float *wy = m->P.p[EF_P_WY], *ec = m->P.p[EF_P_ECTX], *eq = m->P.p[EF_P_EQUERY];
        const float *wpe = c->row_positions ? m->P.p[EF_P_WPE] : NULL;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                float *e = m->enc + ((size_t)b * T + t) * C;
                if (wpe)
                    for (int i = 0; i < C; i++) e[i] += wpe[(size_t)t * C + i];
                if (t < m->cur_nctx) {
                    float y = m->cur_y ? m->cur_y[(size_t)b * m->cur_k + t] : 0.0f;
                    for (int i = 0; i < C; i++) e[i] += y * wy[i] + ec[i];
                } else {
                    for (int i = 0; i < C; i++) e[i] += eq[i];
                }
            }
    }
}

// denc (B,T,C) -> gradients of w_in, b_in, wpe | w_y, e_ctx, e_query
static void embed_backward(ef_model *m, const float *denc) {
    const ef_model_config *c = &m->cfg;
    int B = m->cur_B, T = m->cur_T, C = c->d_model, N = B * T;
    ef_linear_backward(NULL, m->G.p[EF_P_WIN], m->G.p[EF_P_BIN], denc, m->u, m->P.p[EF_P_WIN], N, m->F, C);
    if (c->layout == EF_LAYOUT_INTERLEAVED) {
        float *dwpe = m->G.p[EF_P_WPE];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const float *d = denc + ((size_t)b * T + t) * C;
                for (int i = 0; i < C; i++) dwpe[(size_t)t * C + i] += d[i];
            }
    } else {
        float *dwy = m->G.p[EF_P_WY], *dec = m->G.p[EF_P_ECTX], *deq = m->G.p[EF_P_EQUERY];
        float *dwpe = c->row_positions ? m->G.p[EF_P_WPE] : NULL;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const float *d = denc + ((size_t)b * T + t) * C;
                if (dwpe)
                    for (int i = 0; i < C; i++) dwpe[(size_t)t * C + i] += d[i];
                if (t < m->cur_nctx) {
                    float y = m->cur_y ? m->cur_y[(size_t)b * m->cur_k + t] : 0.0f;
                    for (int i = 0; i < C; i++) {
                        dwy[i] += y * d[i];
                        dec[i] += d[i];
                    }
                } else {
                    for (int i = 0; i < C; i++) deq[i] += d[i];
                }
            }
    }
}

static ef_mask model_mask(const ef_model *m) {
    ef_mask mk;
    if (m->cfg.layout == EF_LAYOUT_INTERLEAVED) {
        mk.kind = EF_MASK_CAUSAL;
        mk.n_ctx = 0;
    } else {
        mk.kind = EF_MASK_CTX_QUERY;
        mk.n_ctx = m->cur_nctx;
    }
    return mk;
}

// ---- forward --------------------------------------------------------------------------

ef_status ef_model_forward(ef_model *m, const ef_batch *bt, float *pred, double *loss, ef_error *err) {
    const ef_model_config *c = &m->cfg;
    EF_CHECK(bt->B >= 1 && bt->B <= m->max_B, err, EF_ERR_INVALID, "batch size %d outside [1, %d]", bt->B, m->max_B);
    EF_CHECK(bt->k >= 1 && bt->k <= c->max_points, err, EF_ERR_INVALID, "points per sequence %d outside [1, %d]", bt->k, c->max_points);
    EF_CHECK(bt->x != NULL, err, EF_ERR_INVALID, "batch without x");
    if (c->layout == EF_LAYOUT_ROWS)
        EF_CHECK(bt->n_ctx >= 0 && bt->n_ctx <= bt->k, err, EF_ERR_INVALID, "n_ctx %d outside [0, %d]", bt->n_ctx, bt->k);
    if (bt->d)
        for (int b = 0; b < bt->B; b++)
            EF_CHECK(bt->d[b] >= 1 && bt->d[b] <= c->d_max, err, EF_ERR_INVALID, "d[%d] = %d outside [1, %d]", b, bt->d[b], c->d_max);

    int B = bt->B, k = bt->k, T = tokens_per_seq(c, k), C = c->d_model, NH = c->n_head, L = c->n_layer;
    int N = B * T;
    m->cur_B = B; m->cur_T = T; m->cur_k = k;
    m->cur_nctx = c->layout == EF_LAYOUT_ROWS ? bt->n_ctx : 0;
    m->cur_y = bt->y;
    ef_mask mask = model_mask(m);
    int flash = use_flash(m, T);

    ef_blas_begin(); /* BLAS single-threaded for this call only (base/blas.h) */
    build_inputs(m, bt);
    embed_forward(m);
    size_t NC = (size_t)N * C;
    for (int l = 0; l < L; l++) {
        const float *res = l == 0 ? m->enc : m->res3 + (size_t)(l - 1) * NC;
        float *ln1 = m->ln1 + l * NC, *ln1_mean = m->ln1_mean + (size_t)l * N, *ln1_rstd = m->ln1_rstd + (size_t)l * N;
        float *qkv = m->qkv + l * NC * 3, *atty = m->atty + l * NC;
        float *att = flash ? NULL : m->att + (size_t)l * B * NH * T * T;
        float *lse = flash ? m->att_lse + (size_t)l * B * NH * T : NULL;
        float *res2 = m->res2 + l * NC, *ln2 = m->ln2 + l * NC;
        float *ln2_mean = m->ln2_mean + (size_t)l * N, *ln2_rstd = m->ln2_rstd + (size_t)l * N;
        float *fch = m->fch + l * NC * 4, *fch_gelu = m->fch_gelu + l * NC * 4, *res3 = m->res3 + l * NC;
        ef_layernorm_forward(ln1, ln1_mean, ln1_rstd, res, m->P.p[EF_P_LN1W] + l * C, m->P.p[EF_P_LN1B] + l * C, N, C);
        ef_linear_forward(qkv, ln1, m->P.p[EF_P_QKVW] + (size_t)l * 3 * C * C, m->P.p[EF_P_QKVB] + (size_t)l * 3 * C, N, C, 3 * C);
        if (flash) ef_attention_flash_forward(atty, lse, qkv, mask, m->att_scratch, m->n_scratch, B, T, C, NH);
        else ef_attention_forward(atty, att, qkv, mask, m->att_scratch, m->n_scratch, B, T, C, NH);
        ef_linear_forward(m->proj, atty, m->P.p[EF_P_ATTPROJW] + (size_t)l * C * C, m->P.p[EF_P_ATTPROJB] + l * C, N, C, C);
        ef_residual_forward(res2, res, m->proj, NC);
        ef_layernorm_forward(ln2, ln2_mean, ln2_rstd, res2, m->P.p[EF_P_LN2W] + l * C, m->P.p[EF_P_LN2B] + l * C, N, C);
        ef_linear_forward(fch, ln2, m->P.p[EF_P_FCW] + (size_t)l * 4 * C * C, m->P.p[EF_P_FCB] + (size_t)l * 4 * C, N, C, 4 * C);
        ef_gelu_forward(fch_gelu, fch, NC * 4);
        ef_linear_forward(m->proj, fch_gelu, m->P.p[EF_P_FCPROJW] + (size_t)l * 4 * C * C, m->P.p[EF_P_FCPROJB] + l * C, N, 4 * C, C);
        ef_residual_forward(res3, res2, m->proj, NC);
    }
    ef_layernorm_forward(m->lnf, m->lnf_mean, m->lnf_rstd, m->res3 + (size_t)(L - 1) * NC,
                         m->P.p[EF_P_LNFW], m->P.p[EF_P_LNFB], N, C);
    ef_linear_forward(m->out, m->lnf, m->P.p[EF_P_WOUT], m->P.p[EF_P_BOUT], N, C, 1);

    if (pred) {
        int il = c->layout == EF_LAYOUT_INTERLEAVED;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < k; i++) pred[(size_t)b * k + i] = m->out[(size_t)b * T + (il ? 2 * i : i)];
    }
    if (loss) *loss = bt->y ? ef_mse_forward(m->out, m->tok_y, m->tok_w, (size_t)N) : 0.0;
    m->have_forward = bt->y != NULL;
    ef_blas_end();
    return EF_OK;
}

void ef_model_zero_grad(ef_model *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }

// ---- backward -------------------------------------------------------------------------

static ef_status backward(ef_model *m, const float *dpred, ef_error *err);

ef_status ef_model_backward(ef_model *m, ef_error *err) {
    EF_CHECK(m->have_forward, err, EF_ERR_INVALID, "backward needs a forward pass with labels first");
    ef_blas_begin();
    ef_status st = backward(m, NULL, err);
    ef_blas_end();
    return st;
}

ef_status ef_model_backward_dpred(ef_model *m, const float *dpred, ef_error *err) {
    EF_CHECK(m->cur_B > 0 && dpred, err, EF_ERR_INVALID, "backward needs a forward pass and dpred");
    ef_blas_begin();
    ef_status st = backward(m, dpred, err);
    ef_blas_end();
    return st;
}

/* dpred NULL: the MSE loss of the last forward; else dL/dpred (B,k) in the layout of pred. */
static ef_status backward(ef_model *m, const float *dpred, ef_error *err) {
    const ef_model_config *c = &m->cfg;
    int B = m->cur_B, T = m->cur_T, C = c->d_model, NH = c->n_head, L = c->n_layer, N = B * T;
    size_t NC = (size_t)N * C;
    ef_mask mask = model_mask(m);
    int flash = use_flash(m, T);

    memset(m->dout, 0, (size_t)N * sizeof(float));
    if (dpred) {
        int il = c->layout == EF_LAYOUT_INTERLEAVED, k = m->cur_k;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < k; i++) m->dout[(size_t)b * T + (il ? 2 * i : i)] = dpred[(size_t)b * k + i];
    } else {
        ef_mse_backward(m->dout, m->out, m->tok_y, m->tok_w, (size_t)N, 1.0f);
    }
    memset(m->dc, 0, NC * sizeof(float));
    ef_linear_backward(m->dc, m->G.p[EF_P_WOUT], m->G.p[EF_P_BOUT], m->dout, m->lnf, m->P.p[EF_P_WOUT], N, C, 1);
    memset(m->dres, 0, NC * sizeof(float));
    ef_layernorm_backward(m->dres, m->G.p[EF_P_LNFW], m->G.p[EF_P_LNFB], m->dc, m->res3 + (size_t)(L - 1) * NC,
                          m->P.p[EF_P_LNFW], m->lnf_mean, m->lnf_rstd, N, C);
    for (int l = L - 1; l >= 0; l--) {
        const float *res = l == 0 ? m->enc : m->res3 + (size_t)(l - 1) * NC;
        float *ln1 = m->ln1 + l * NC, *ln1_mean = m->ln1_mean + (size_t)l * N, *ln1_rstd = m->ln1_rstd + (size_t)l * N;
        float *qkv = m->qkv + l * NC * 3, *atty = m->atty + l * NC;
        float *att = flash ? NULL : m->att + (size_t)l * B * NH * T * T;
        float *lse = flash ? m->att_lse + (size_t)l * B * NH * T : NULL;
        float *res2 = m->res2 + l * NC, *ln2 = m->ln2 + l * NC;
        float *ln2_mean = m->ln2_mean + (size_t)l * N, *ln2_rstd = m->ln2_rstd + (size_t)l * N;
        float *fch = m->fch + l * NC * 4, *fch_gelu = m->fch_gelu + l * NC * 4;
        /* MLP branch: dres is d(res3) and also d(res2) through the residual */
        memset(m->dfch_gelu, 0, NC * 4 * sizeof(float));
        ef_linear_backward(m->dfch_gelu, m->G.p[EF_P_FCPROJW] + (size_t)l * 4 * C * C, m->G.p[EF_P_FCPROJB] + l * C,
                           m->dres, fch_gelu, m->P.p[EF_P_FCPROJW] + (size_t)l * 4 * C * C, N, 4 * C, C);
        memset(m->dfch, 0, NC * 4 * sizeof(float));
        ef_gelu_backward(m->dfch, fch, m->dfch_gelu, NC * 4);
        memset(m->dc, 0, NC * sizeof(float));
        ef_linear_backward(m->dc, m->G.p[EF_P_FCW] + (size_t)l * 4 * C * C, m->G.p[EF_P_FCB] + (size_t)l * 4 * C,
                           m->dfch, ln2, m->P.p[EF_P_FCW] + (size_t)l * 4 * C * C, N, C, 4 * C);
        ef_layernorm_backward(m->dres, m->G.p[EF_P_LN2W] + l * C, m->G.p[EF_P_LN2B] + l * C, m->dc, res2,
                              m->P.p[EF_P_LN2W] + l * C, ln2_mean, ln2_rstd, N, C);
        /* attention branch: dres is now d(res2), also d(res) through the residual */
        memset(m->dc, 0, NC * sizeof(float));
        ef_linear_backward(m->dc, m->G.p[EF_P_ATTPROJW] + (size_t)l * C * C, m->G.p[EF_P_ATTPROJB] + l * C,
                           m->dres, atty, m->P.p[EF_P_ATTPROJW] + (size_t)l * C * C, N, C, C);
        memset(m->dqkv, 0, NC * 3 * sizeof(float));
        if (flash)
            ef_attention_flash_backward(m->dqkv, m->dc, atty, qkv, lse, mask, m->att_scratch, m->n_scratch, B, T, C, NH);
        else ef_attention_backward(m->dqkv, m->dc, qkv, att, mask, m->att_scratch, m->n_scratch, B, T, C, NH);
        memset(m->dc, 0, NC * sizeof(float));
        ef_linear_backward(m->dc, m->G.p[EF_P_QKVW] + (size_t)l * 3 * C * C, m->G.p[EF_P_QKVB] + (size_t)l * 3 * C,
                           m->dqkv, ln1, m->P.p[EF_P_QKVW] + (size_t)l * 3 * C * C, N, C, 3 * C);
        ef_layernorm_backward(m->dres, m->G.p[EF_P_LN1W] + l * C, m->G.p[EF_P_LN1B] + l * C, m->dc, res,
                              m->P.p[EF_P_LN1W] + l * C, ln1_mean, ln1_rstd, N, C);
    }
    embed_backward(m, m->dres);
    return EF_OK;
}

// ---- FLOPs ----------------------------------------------------------------------------

double ef_model_forward_flops(const ef_model_config *c, int B, int k) {
    double T = tokens_per_seq(c, k), N = (double)B * T, C = c->d_model, L = c->n_layer, F = 2.0 * c->d_max;
    double per_layer = 2.0 * N * C * (3 * C + C + 4 * C + 4 * C)      /* qkv, proj, fc, fcproj */
                       + 2.0 * 2.0 * B * T * T * C;                     /* QKᵀ and PV over all heads */
    return L * per_layer + 2.0 * N * F * C + 2.0 * N * C;
}
