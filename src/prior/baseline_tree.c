/* CART regression tree baseline (Breiman et al.; scikit-learn's DecisionTreeRegressor with
 * max_depth): greedy splits minimising the sum of squared errors, thresholds at midpoints of
 * consecutive distinct values, go right if x[coord] > threshold, leaves predict the mean.
 * Ties between equally good splits go to the lowest coordinate, then the lowest threshold,
 * so the tree is deterministic. */
#include <stdlib.h>
#include <string.h>
#include "prior/prior_internal.h"

typedef struct node {
    int coord;        /* -1 for a leaf */
    double thresh, value;
    int left, right;
} node;

typedef struct builder {
    const ef_baseline *b;
    const double *X, *y;
    int d;
    node *nodes;
    int n_nodes;
    int *tmp;        /* (n) scratch for sorting */
    double *keys;    /* (n) */
} builder;

typedef struct ki {
    double v;
    int i;
} ki;

static int cmp_ki(const void *a, const void *b) {
    const ki *p = a, *q = b;
    if (p->v < q->v) return -1;
    if (p->v > q->v) return 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* Builds the subtree of the points idx[0..m) at the given depth; returns its node index.
 * idx is reordered (left points first). sorted is (m) scratch. */
static int build(builder *bd, int *idx, int m, int depth, ki *sorted) {
    int me = bd->n_nodes++;
    node *nd = &bd->nodes[me];
    double sum = 0, sum2 = 0;
    for (int i = 0; i < m; i++) {
        sum += bd->y[idx[i]];
        sum2 += bd->y[idx[i]] * bd->y[idx[i]];
    }
    nd->coord = -1;
    nd->value = sum / m;
    nd->left = nd->right = -1;
    int min_leaf = bd->b->tree_min_leaf;
    if (depth >= bd->b->tree_depth || m < 2 * min_leaf) return me;
    double parent_sse = sum2 - sum * sum / m;
    if (parent_sse <= 1e-12 * (sum2 > 0 ? sum2 : 1)) return me;
    int best_c = -1;
    double best_sse = parent_sse, best_t = 0;
    const int d = bd->d;
    for (int c = 0; c < d; c++) {
        for (int i = 0; i < m; i++) {
            sorted[i].v = bd->X[(size_t)idx[i] * d + c];
            sorted[i].i = idx[i];
        }
        qsort(sorted, (size_t)m, sizeof *sorted, cmp_ki);
        double ls = 0, ls2 = 0;
        for (int i = 0; i < m - 1; i++) {
            double yi = bd->y[sorted[i].i];
            ls += yi;
            ls2 += yi * yi;
            int nl = i + 1, nr = m - nl;
            if (nl < min_leaf || nr < min_leaf || sorted[i].v == sorted[i + 1].v) continue;
            double rs = sum - ls, rs2 = sum2 - ls2;
            double sse = (ls2 - ls * ls / nl) + (rs2 - rs * rs / nr);
            if (sse < best_sse - 1e-12 * parent_sse) {
                best_sse = sse;
                best_c = c;
                best_t = 0.5 * (sorted[i].v + sorted[i + 1].v);
            }
        }
    }
    if (best_c < 0) return me;
    /* partition idx: left (<= t) first, stable */
    int nl = 0;
    for (int i = 0; i < m; i++)
        if (bd->X[(size_t)idx[i] * d + best_c] <= best_t) bd->tmp[nl++] = idx[i];
    int nr = 0;
    for (int i = 0; i < m; i++)
        if (bd->X[(size_t)idx[i] * d + best_c] > best_t) bd->tmp[nl + nr++] = idx[i];
    if (nl == 0 || nr == 0) return me;  /* midpoint rounded onto a value: keep the leaf */
    memcpy(idx, bd->tmp, (size_t)m * sizeof *idx);
    nd->coord = best_c;
    nd->thresh = best_t;
    int l = build(bd, idx, nl, depth + 1, sorted);
    int r = build(bd, idx + nl, nr, depth + 1, sorted);
    bd->nodes[me].left = l;
    bd->nodes[me].right = r;
    return me;
}

ef_status ef_bl_cart(const ef_baseline *b, const double *X, const double *y, int n, int d,
                     const double *Xq, int m, double *pred, ef_error *err) {
    builder bd = {b, X, y, d, NULL, 0, NULL, NULL};
    int *idx = ef_malloc((size_t)n * sizeof *idx);
    ki *sorted = ef_malloc((size_t)n * sizeof *sorted);
    bd.nodes = ef_malloc((size_t)(2 * n + 1) * sizeof *bd.nodes);  /* every leaf holds >= 1 point */
    bd.tmp = ef_malloc((size_t)n * sizeof *bd.tmp);
    ef_status st = EF_OK;
    if (!idx || !sorted || !bd.nodes || !bd.tmp) {
        st = EF_ERR(err, EF_ERR_NOMEM, "baseline cart: out of memory (n=%d)", n);
        goto done;
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    build(&bd, idx, n, 0, sorted);
    for (int q = 0; q < m; q++) {
        const double *x = Xq + (size_t)q * d;
        int v = 0;
        while (bd.nodes[v].coord >= 0)
            v = x[bd.nodes[v].coord] > bd.nodes[v].thresh ? bd.nodes[v].right : bd.nodes[v].left;
        pred[q] = bd.nodes[v].value;
    }
done:
    ef_free(idx);
    ef_free(sorted);
    ef_free(bd.nodes);
    ef_free(bd.tmp);
    return st;
}
