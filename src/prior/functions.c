/* Static function classes of the prior (Garg et al. 2022, dtsip:src/tasks.py, and extensions):
 * dense linear, Laplace (lasso prior), elastic-net (Laplace/Gaussian mixture), k-sparse
 * linear, 2-layer ReLU net, random full decision tree, random forest, sinusoid, quadratic.
 * Every function returns noiseless targets at the class's Garg scale (see prior.h). */
#include <math.h>
#include <string.h>
#include "prior/prior_internal.h"

// ---- small random helpers ---------------------------------------------------------------

double ef_prior_laplace(ef_rng *r) {
    const double b = 1.0 / sqrt(2.0);
    double u;
    do u = ef_rng_uniform(r) - 0.5; while (u == -0.5);
    double a = fabs(u);
    return (u < 0 ? 1.0 : -1.0) * b * log(1.0 - 2.0 * a);
}

int ef_prior_uniform_int(ef_rng *r, int lo, int hi) {
    return lo + (int)ef_rng_below(r, (uint64_t)((int64_t)hi - lo + 1));
}

int ef_prior_pick(ef_rng *r, const double *w, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += w[i];
    double u = ef_rng_uniform(r) * sum, acc = 0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (w[i] <= 0) continue;
        acc += w[i];
        last = i;
        if (u < acc) return i;
    }
    return last;  /* rounding at the top end */
}

// ---- linear family ----------------------------------------------------------------------

void ef_prior_draw_weights(const ef_prior_config *cfg, ef_prior_class c, ef_rng *r, int d,
                           int s, double *w) {
    switch (c) {
    case EF_PRIOR_LAPLACE:
        for (int j = 0; j < d; j++) w[j] = ef_prior_laplace(r);
        break;
    case EF_PRIOR_ELASTICNET:
        for (int j = 0; j < d; j++)
            w[j] = ef_rng_uniform(r) < cfg->enet_l1_share ? ef_prior_laplace(r) : ef_rng_normal(r);
        break;
    case EF_PRIOR_SPARSE: {
        /* Knuth's selection sampling: a uniform s-subset of the d coordinates */
        int need = EF_MIN(s, d);
        for (int j = 0; j < d; j++) {
            w[j] = 0.0;
            if ((double)(d - j) * ef_rng_uniform(r) < need) {
                w[j] = ef_rng_normal(r);
                if (w[j] == 0.0) w[j] = 1e-300;  /* keep exactly s non-zeros */
                need--;
            }
        }
        break;
    }
    default:
        for (int j = 0; j < d; j++) w[j] = ef_rng_normal(r);
        break;
    }
}

// ---- trees ------------------------------------------------------------------------------

ef_status ef_prior_tree_draw(ef_prior_tree *t, int depth, ef_rng *r, const double *X, int k,
                             int d, double quantile_prob, ef_error *err) {
    memset(t, 0, sizeof *t);
    EF_CHECK(depth >= 1 && depth <= 20, err, EF_ERR_INVALID, "prior: tree depth %d not in [1, 20]",
             depth);
    size_t n_int = ((size_t)1 << depth) - 1, n_leaf = (size_t)1 << depth;
    t->depth = depth;
    t->coord = ef_malloc(n_int * sizeof *t->coord);
    t->thresh = ef_malloc(n_int * sizeof *t->thresh);
    t->leaf = ef_malloc(n_leaf * sizeof *t->leaf);
    if (!t->coord || !t->thresh || !t->leaf) {
        ef_prior_tree_free(t);
        return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for a tree of depth %d", depth);
    }
    for (size_t i = 0; i < n_int; i++) {
        t->coord[i] = (int)ef_rng_below(r, (uint64_t)d);
        t->thresh[i] = 0.0;
        if (quantile_prob > 0 && ef_rng_uniform(r) < quantile_prob && X && k > 0) {
            /* a random empirical quantile: the coordinate's value at a random context row */
            size_t row = (size_t)ef_rng_below(r, (uint64_t)k);
            t->thresh[i] = X[row * d + t->coord[i]];
        }
    }
    for (size_t i = 0; i < n_leaf; i++) t->leaf[i] = ef_rng_normal(r);
    return EF_OK;
}

void ef_prior_tree_free(ef_prior_tree *t) {
    ef_free(t->coord);
    ef_free(t->thresh);
    ef_free(t->leaf);
    memset(t, 0, sizeof *t);
}

int ef_prior_tree_leaf(const ef_prior_tree *t, const double *x) {
    size_t node = 0;
    for (int l = 0; l < t->depth; l++)
        node = x[t->coord[node]] > t->thresh[node] ? 2 * node + 2 : 2 * node + 1;
    return (int)(node - (((size_t)1 << t->depth) - 1));
}

static ef_status eval_trees(const ef_prior_config *cfg, int n_trees, int depth, ef_rng *r,
                            const double *X, int k, int d, double *y, ef_error *err) {
    for (int i = 0; i < k; i++) y[i] = 0.0;
    double scale = 1.0 / sqrt((double)n_trees);
    for (int m = 0; m < n_trees; m++) {
        ef_prior_tree t;
        EF_TRY(ef_prior_tree_draw(&t, depth, r, X, k, d, cfg->tree_quantile_prob, err));
        for (int i = 0; i < k; i++) y[i] += scale * t.leaf[ef_prior_tree_leaf(&t, X + (size_t)i * d)];
        ef_prior_tree_free(&t);
    }
    return EF_OK;
}

// ---- ReLU network -----------------------------------------------------------------------

static ef_status eval_relu(const ef_prior_config *cfg, ef_rng *r, const double *X, int k, int d,
                           double *y, ef_error *err) {
    int h = cfg->relu_hidden;
    double *W1 = ef_malloc((size_t)d * h * sizeof *W1);  /* (d, h) */
    double *W2 = ef_malloc((size_t)h * sizeof *W2);
    double *a = ef_malloc((size_t)h * sizeof *a);
    if (!W1 || !W2 || !a) {
        ef_free(W1);
        ef_free(W2);
        ef_free(a);
        return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for a (%d, %d) ReLU net", d, h);
    }
    for (size_t i = 0; i < (size_t)d * h; i++) W1[i] = ef_rng_normal(r);
    for (int i = 0; i < h; i++) W2[i] = ef_rng_normal(r);
    double scale = sqrt(2.0 / h);
    for (int t = 0; t < k; t++) {
        const double *x = X + (size_t)t * d;
        for (int u = 0; u < h; u++) a[u] = 0.0;
        for (int j = 0; j < d; j++) {
            const double *row = W1 + (size_t)j * h;
            for (int u = 0; u < h; u++) a[u] += x[j] * row[u];
        }
        double s = 0;
        for (int u = 0; u < h; u++) s += (a[u] > 0 ? a[u] : 0.0) * W2[u];
        y[t] = scale * s;
    }
    ef_free(W1);
    ef_free(W2);
    ef_free(a);
    return EF_OK;
}

// ---- dispatch ---------------------------------------------------------------------------

ef_status ef_prior_eval_static(const ef_prior_config *cfg, ef_prior_class c, ef_rng *r,
                               const double *X, int k, int d, int s, double *y,
                               ef_error *err) {
    switch (c) {
    case EF_PRIOR_LINEAR:
    case EF_PRIOR_LAPLACE:
    case EF_PRIOR_ELASTICNET:
    case EF_PRIOR_SPARSE:
    case EF_PRIOR_QUADRATIC:
    case EF_PRIOR_SINUSOID: {
        double *w = ef_malloc((size_t)d * sizeof *w);
        if (!w) return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for weights (d=%d)", d);
        double omega = 0, phase = 0;
        if (c == EF_PRIOR_SINUSOID) {
            /* direction u uniform on the sphere; omega, phase uniform */
            double nrm = 0;
            for (int j = 0; j < d; j++) {
                w[j] = ef_rng_normal(r);
                nrm += w[j] * w[j];
            }
            nrm = sqrt(nrm);
            if (nrm < 1e-300) nrm = 1;
            for (int j = 0; j < d; j++) w[j] /= nrm;
            omega = cfg->sin_freq_min + (cfg->sin_freq_max - cfg->sin_freq_min) * ef_rng_uniform(r);
            phase = 2.0 * EF_PI * ef_rng_uniform(r);
        } else {
            ef_prior_draw_weights(cfg, c == EF_PRIOR_QUADRATIC ? EF_PRIOR_LINEAR : c, r, d, s, w);
        }
        for (int t = 0; t < k; t++) {
            const double *x = X + (size_t)t * d;
            double v = 0;
            if (c == EF_PRIOR_QUADRATIC)
                for (int j = 0; j < d; j++) v += x[j] * x[j] * w[j];
            else
                for (int j = 0; j < d; j++) v += x[j] * w[j];
            if (c == EF_PRIOR_QUADRATIC) v /= sqrt(3.0);
            if (c == EF_PRIOR_SINUSOID) v = sqrt(2.0) * sin(omega * v + phase);
            y[t] = v;
        }
        ef_free(w);
        return EF_OK;
    }
    case EF_PRIOR_RELU: return eval_relu(cfg, r, X, k, d, y, err);
    case EF_PRIOR_TREE: return eval_trees(cfg, 1, cfg->tree_depth, r, X, k, d, y, err);
    case EF_PRIOR_FOREST:
        return eval_trees(cfg, cfg->forest_trees, cfg->forest_depth, r, X, k, d, y, err);
    default:
        return EF_ERR(err, EF_ERR_INVALID, "prior: %s is not a static class", ef_prior_class_name(c));
    }
}
