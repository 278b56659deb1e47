/* 2-layer ReLU network baseline (Garg et al. 2022, App. A.3): f(x) = w2 . relu(W1 x + b1) + b2
 * with nn_hidden units, PyTorch's default init (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), trained on
 * the context by Adam (beta 0.9 / 0.999, eps 1e-8) on the MSE for nn_steps steps of
 * minibatches of min(nn_batch, n) points drawn without replacement. Deterministic in seed.
 * The two batch matrix products per step go through cblas_dgemm (small: OpenBLAS runs them
 * on the calling thread). */
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "prior/prior_internal.h"

/* a (H) = b1 + x W1 with W1 stored (d, H): axpy order, which vectorises without reassociation */
static void hidden(const double *W1, const double *b1, const double *x, int d, int H, double *a) {
    memcpy(a, b1, (size_t)H * sizeof *a);
    for (int j = 0; j < d; j++) {
        const double *row = W1 + (size_t)j * H;
        const double xj = x[j];
        for (int u = 0; u < H; u++) a[u] += xj * row[u];
    }
}

ef_status ef_bl_nn(const ef_baseline *b, const double *X, const double *y, int n, int d,
                   const double *Xq, int m, uint64_t seed, double *pred, ef_error *err) {
    const int H = b->nn_hidden;
    /* one block: W1 (d, H), b1 (H), w2 (H), b2 (1) */
    size_t np = (size_t)H * d + 2 * (size_t)H + 1;
    double *p = ef_malloc(np * sizeof *p), *g = ef_malloc(np * sizeof *g);
    double *m1 = ef_calloc(np, sizeof *m1), *m2 = ef_calloc(np, sizeof *m2);
    const int B = EF_MIN(b->nn_batch, n);
    double *a = ef_malloc((size_t)B * H * sizeof *a), *da = ef_malloc((size_t)B * H * sizeof *da);
    double *xb = ef_malloc((size_t)B * d * sizeof *xb), *dout = ef_malloc((size_t)B * sizeof *dout);
    int *idx = ef_malloc((size_t)n * sizeof *idx);
    ef_status st = EF_OK;
    if (!p || !g || !m1 || !m2 || !a || !da || !xb || !dout || !idx) {
        st = EF_ERR(err, EF_ERR_NOMEM, "baseline nn: out of memory (H=%d d=%d)", H, d);
        goto done;
    }
    double *W1 = p, *b1 = p + (size_t)H * d, *w2 = b1 + H, *b2 = w2 + H;
    double *gW1 = g, *gb1 = g + (size_t)H * d, *gw2 = gb1 + H, *gb2 = gw2 + H;
    ef_rng r;
    ef_rng_init(&r, seed, 0x6e6e);
    double s1 = 1.0 / sqrt((double)d), s2 = 1.0 / sqrt((double)H);
    for (size_t i = 0; i < (size_t)H * d + H; i++) p[i] = s1 * (2.0 * ef_rng_uniform(&r) - 1.0);
    for (int i = 0; i <= H; i++) w2[i] = s2 * (2.0 * ef_rng_uniform(&r) - 1.0);  /* w2 and b2 */
    for (int i = 0; i < n; i++) idx[i] = i;
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double bc1 = 1.0, bc2 = 1.0;
    for (int step = 0; step < b->nn_steps; step++) {
        if (B < n)  /* partial Fisher-Yates: idx[0..B) is a uniform B-subset */
            for (int i = 0; i < B; i++) {
                int j = i + (int)ef_rng_below(&r, (uint64_t)(n - i));
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        memset(g, 0, np * sizeof *g);
        /* forward: A (B, H) = Xb (B, d) W1 (d, H) + b1 */
        for (int bi = 0; bi < B; bi++) {
            memcpy(xb + (size_t)bi * d, X + (size_t)idx[bi] * d, (size_t)d * sizeof *xb);
            memcpy(a + (size_t)bi * H, b1, (size_t)H * sizeof *a);
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, d, 1.0, xb, d, W1, H, 1.0, a, H);
        for (int bi = 0; bi < B; bi++) {
            const double *ar = a + (size_t)bi * H;
            double out = *b2;
            for (int u = 0; u < H; u++) out += w2[u] * (ar[u] > 0 ? ar[u] : 0.0);
            dout[bi] = 2.0 * (out - y[idx[bi]]) / B;
            *gb2 += dout[bi];
        }
        /* backward: dA = dout w2' on active units; gW1 (d, H) = Xb' dA */
        for (int bi = 0; bi < B; bi++) {
            const double *ar = a + (size_t)bi * H;
            double *dar = da + (size_t)bi * H;
            for (int u = 0; u < H; u++) {
                int on = ar[u] > 0;
                gw2[u] += on ? dout[bi] * ar[u] : 0.0;
                dar[u] = on ? dout[bi] * w2[u] : 0.0;
                gb1[u] += dar[u];
            }
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, H, B, 1.0, xb, d, da, H, 0.0, gW1, H);
        bc1 *= beta1;
        bc2 *= beta2;
        for (size_t i = 0; i < np; i++) {  /* torch.optim.Adam */
            m1[i] = beta1 * m1[i] + (1.0 - beta1) * g[i];
            m2[i] = beta2 * m2[i] + (1.0 - beta2) * g[i] * g[i];
            p[i] -= b->nn_lr * (m1[i] / (1.0 - bc1)) / (sqrt(m2[i] / (1.0 - bc2)) + eps);
        }
    }
    for (int q = 0; q < m; q++) {
        hidden(W1, b1, Xq + (size_t)q * d, d, H, a);
        double out = *b2;
        for (int u = 0; u < H; u++) out += w2[u] * (a[u] > 0 ? a[u] : 0.0);
        pred[q] = out;
    }
done:
    ef_free(p);
    ef_free(g);
    ef_free(m1);
    ef_free(m2);
    ef_free(a);
    ef_free(da);
    ef_free(xb);
    ef_free(dout);
    ef_free(idx);
    return st;
}
