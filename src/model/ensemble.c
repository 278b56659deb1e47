/* Test-time ensembles over the symmetries of the prior (as TabPFN ensembles over feature
 * orders): every function class of the prior is invariant in distribution under permuting
 * the input coordinates, flipping their signs and flipping the sign of y, so a model trained
 * on it should be equivariant under them too. It is only approximately; averaging the
 * members' predictions, each mapped back, removes part of the error that depends on the
 * representation of the task rather than on the task. */
#include <string.h>
#include "base/blas.h"
#include "model/model_internal.h"

void ef_sym_transform(const ef_batch *in, int member, uint64_t seed, uint64_t task0, int D, int *perm, float *x,
                      float *y, uint8_t *mask, float *ysign) {
    size_t K = (size_t)in->k;
    for (int b = 0; b < in->B; b++) {
        const float *xb = in->x + (size_t)b * K * D, *yb = in->y + (size_t)b * K;
        const uint8_t *mb = in->mask ? in->mask + (size_t)b * K * D : NULL;
        float *xo = x + (size_t)b * K * D, *yo = y + (size_t)b * K;
        uint8_t *mo = mask ? mask + (size_t)b * K * D : NULL;
        int d = in->d ? in->d[b] : D;
        float sy = 1.0f;
        for (int j = 0; j < D; j++) perm[j] = j;
        if (member > 0) {  /* member 0 is the task as given */
            ef_rng r;
            ef_rng_init(&r, ef_hash64(seed, task0 + (uint64_t)b), 0x5A11E000ull + (uint64_t)member);
            ef_rng_shuffle_int(&r, perm, (size_t)d);
            for (int j = 0; j < d; j++)  /* a flipped column is stored as -(source + 1) */
                if (ef_rng_below(&r, 2)) perm[j] = -perm[j] - 1;
            sy = ef_rng_below(&r, 2) ? -1.0f : 1.0f;
        }
        for (size_t t = 0; t < K; t++) {
            for (int j = 0; j < D; j++) {
                int src = perm[j] < 0 ? -perm[j] - 1 : perm[j];
                float v = xb[t * D + src];
                xo[t * D + j] = perm[j] < 0 ? -v : v;
                if (mo) mo[t * D + j] = mb ? mb[t * D + src] : 1;
            }
            yo[t] = sy * yb[t];
        }
        ysign[b] = sy;
    }
}

static ef_status forward_sym(ef_model *m, const ef_batch *bt, int members, uint64_t seed, uint64_t task0, float *pred,
                             float *pred_first, ef_error *err);

ef_status ef_model_forward_sym(ef_model *m, const ef_batch *bt, int members, uint64_t seed, uint64_t task0, float *pred,
                               float *pred_first, ef_error *err) {
    ef_blas_begin(); /* once for the N passes, not per pass */
    ef_status st = forward_sym(m, bt, members, seed, task0, pred, pred_first, err);
    ef_blas_end();
    return st;
}

static ef_status forward_sym(ef_model *m, const ef_batch *bt, int members, uint64_t seed, uint64_t task0, float *pred,
                             float *pred_first, ef_error *err) {
    EF_CHECK(members >= 1, err, EF_ERR_INVALID, "symmetry ensemble: need at least 1 member, got %d", members);
    if (members == 1) {
        ef_status st = ef_model_forward(m, bt, pred, NULL, err);
        if (st == EF_OK && pred && pred_first) memcpy(pred_first, pred, (size_t)bt->B * (size_t)bt->k * sizeof *pred);
        return st;
    }
    int D = m->cfg.d_max;
    size_t BK = (size_t)bt->B * (size_t)bt->k;
    float *x = ef_malloc(BK * D * sizeof *x), *y = ef_malloc(BK * sizeof *y), *p = ef_malloc(BK * sizeof *p);
    float *acc = ef_malloc(BK * sizeof *acc), *ys = ef_malloc((size_t)bt->B * sizeof *ys);
    int *perm = ef_malloc((size_t)D * sizeof *perm);
    uint8_t *mask = bt->mask ? ef_malloc(BK * D) : NULL;
    ef_status st = EF_OK;
    if (!x || !y || !p || !acc || !ys || !perm || (bt->mask && !mask)) {
        st = EF_ERR(err, EF_ERR_NOMEM, "symmetry ensemble: out of memory (%zu rows)", BK);
        goto done;
    }
    /* member 0 is the batch itself: no copy */
    st = ef_model_forward(m, bt, acc, NULL, err);
    if (st == EF_OK && pred_first) memcpy(pred_first, acc, BK * sizeof *acc);
    for (int e = 1; e < members && st == EF_OK; e++) {
        ef_sym_transform(bt, e, seed, task0, D, perm, x, y, mask, ys);
        ef_batch tb = *bt;
        tb.x = x;
        tb.y = y;
        tb.mask = mask;
        st = ef_model_forward(m, &tb, p, NULL, err);
        for (size_t i = 0; st == EF_OK && i < BK; i++) acc[i] += ys[i / (size_t)bt->k] * p[i];
    }
    if (st == EF_OK && pred)
        for (size_t i = 0; i < BK; i++) pred[i] = acc[i] / (float)members;
done:
    ef_free(x);
    ef_free(y);
    ef_free(p);
    ef_free(acc);
    ef_free(ys);
    ef_free(perm);
    ef_free(mask);
    return st;
}
