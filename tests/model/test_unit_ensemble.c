/* Symmetry ensemble (icl-eval --ensemble): each member's view of a task is the task under a
 * permutation and sign flips of its active input columns and a sign flip of its labels (the
 * padding columns untouched, the mask moved along, member 0 the identity, deterministic per
 * (seed, task)); a linear task stays a linear task that, refitted, predicts the original
 * labels once mapped back; one member is exactly the plain forward pass. */
#include <math.h>
#include <string.h>
#include "eraformer/model.h"
#include "test.h"

enum { B = 3, K = 9, D = 6 };
static float X[B * K * D], Y[B * K];
static uint8_t M[B * K * D];
static const int DV[B] = {4, 6, 3};

/* least squares on the first d columns through the normal equations (k > d, well posed) */
static void fit(const float *x, const float *y, int n, int d, double *w) {
    double A[D][D + 1];
    for (int a = 0; a < d; a++) {
        for (int b = 0; b < d; b++) {
            A[a][b] = 0;
            for (int t = 0; t < n; t++) A[a][b] += (double)x[t * D + a] * x[t * D + b];
        }
        A[a][d] = 0;
        for (int t = 0; t < n; t++) A[a][d] += (double)x[t * D + a] * y[t];
    }
    for (int c = 0; c < d; c++)
        for (int r = c + 1; r < d; r++) {
            double f = A[r][c] / A[c][c];
            for (int j = c; j <= d; j++) A[r][j] -= f * A[c][j];
        }
    for (int r = d - 1; r >= 0; r--) {
        double s = A[r][d];
        for (int j = r + 1; j < d; j++) s -= A[r][j] * w[j];
        w[r] = s / A[r][r];
    }
}

static void make_data(void) {
    ef_rng r;
    ef_rng_init(&r, 11, 0);
    for (int b = 0; b < B; b++) {
        double w[D];
        for (int j = 0; j < D; j++) w[j] = ef_rng_normal(&r);
        for (int t = 0; t < K; t++) {
            double y = 0;
            for (int j = 0; j < D; j++) {
                float v = j < DV[b] ? (float)ef_rng_normal(&r) : 0.0f;
                X[(b * K + t) * D + j] = v;
                M[(b * K + t) * D + j] = j < DV[b];
                y += j < DV[b] ? w[j] * v : 0;
            }
            Y[b * K + t] = (float)y;
        }
    }
}

static void test_transform(void) {
    ef_batch bt = {B, K, 5, X, Y, M, DV};
    float x[B * K * D], y[B * K], ys[B], x2[B * K * D], y2[B * K], ys2[B];
    uint8_t m[B * K * D], m2[B * K * D];
    int perm[D];
    ef_sym_transform(&bt, 0, 42, 100, D, perm, x, y, m, ys);
    CHECK(!memcmp(x, X, sizeof x) && !memcmp(y, Y, sizeof y) && !memcmp(m, M, sizeof m));
    int moved = 0, flipped_y = 0;
    for (int e = 1; e <= 8; e++) {
        ef_sym_transform(&bt, e, 42, 100, D, perm, x, y, m, ys);
        ef_sym_transform(&bt, e, 42, 100, D, perm, x2, y2, m2, ys2);
        CHECK(!memcmp(x, x2, sizeof x) && !memcmp(y, y2, sizeof y) && !memcmp(ys, ys2, sizeof ys));
        for (int b = 0; b < B; b++) {
            flipped_y += ys[b] < 0;
            CHECK(fabsf(ys[b]) == 1.0f);
            /* every output column is ± one input column of the active block, each used once */
            int used[D] = {0};
            for (int j = 0; j < D; j++) {
                int src = -1;
                float sg = 0;
                for (int i = 0; i < D && src < 0; i++)
                    for (int s = -1; s <= 1 && src < 0; s += 2) {
                        int ok = 1;
                        for (int t = 0; t < K && ok; t++)
                            ok = x[(b * K + t) * D + j] == s * X[(b * K + t) * D + i] && m[(b * K + t) * D + j] == M[(b * K + t) * D + i];
                        if (ok && !used[i] && (j >= DV[b]) == (i >= DV[b])) src = i, sg = (float)s;
                    }
                CHECKF(src >= 0, "member %d task %d column %d is not a signed input column", e, b, j);
                if (src < 0) continue;
                used[src] = 1;
                if (j >= DV[b]) CHECKF(src == j, "padding column %d moved to %d", src, j);
                moved += src != j || (sg < 0 && j < DV[b]);
            }
            for (int t = 0; t < K; t++) CHECK(y[b * K + t] == ys[b] * Y[b * K + t]);
            /* the transformed task is linear: refit on 8 rows, predict the 9th, map back */
            double w[D];
            fit(x + (size_t)b * K * D, y + (size_t)b * K, K - 1, DV[b], w);
            double p = 0;
            for (int j = 0; j < DV[b]; j++) p += w[j] * x[(b * K + K - 1) * D + j];
            CHECKF(fabs(ys[b] * p - Y[b * K + K - 1]) < 1e-3, "member %d task %d: %g vs %g", e, b, ys[b] * p, Y[b * K + K - 1]);
        }
    }
    CHECKF(moved > 0 && flipped_y > 0 && flipped_y < 8 * B, "the members do not transform (%d columns, %d label flips)",
           moved, flipped_y);
    /* another task index gives another view */
    ef_sym_transform(&bt, 1, 42, 100, D, perm, x, y, m, ys);
    ef_sym_transform(&bt, 1, 42, 101, D, perm, x2, y2, m2, ys2);
    CHECK(memcmp(x, x2, sizeof x) != 0);
}

static void test_forward(void) {
    ef_error err = {0};
    ef_model_config cfg = {EF_LAYOUT_ROWS, 2, 16, 2, D, K, 0};
    ef_model *mdl;
    CHECK(ef_model_create(&mdl, &cfg, B, 3, &err) == EF_OK);
    ef_batch bt = {B, K, 5, X, Y, M, DV};
    float p0[B * K], p1[B * K], p4[B * K], p4b[B * K];
    CHECK(ef_model_forward(mdl, &bt, p0, NULL, &err) == EF_OK);
    CHECK(ef_model_forward_sym(mdl, &bt, 1, 42, 0, p1, NULL, &err) == EF_OK);
    CHECK(!memcmp(p0, p1, sizeof p0));
    CHECK(ef_model_forward_sym(mdl, &bt, 4, 42, 0, p4, NULL, &err) == EF_OK);
    CHECK(ef_model_forward_sym(mdl, &bt, 4, 42, 0, p4b, p1, &err) == EF_OK);
    CHECK(!memcmp(p4, p4b, sizeof p4) && memcmp(p4, p0, sizeof p0) != 0);
    CHECK(!memcmp(p1, p0, sizeof p0)); /* the first member is the single pass */
    /* the ensemble is the mean of the mapped-back members */
    float x[B * K * D], y[B * K], ys[B], q[B * K], mean[B * K] = {0};
    uint8_t m[B * K * D];
    int perm[D];
    for (int e = 0; e < 4; e++) {
        ef_sym_transform(&bt, e, 42, 0, D, perm, x, y, m, ys);
        ef_batch tb = {B, K, 5, x, y, m, DV};
        CHECK(ef_model_forward(mdl, &tb, q, NULL, &err) == EF_OK);
        for (int i = 0; i < B * K; i++) mean[i] += ys[i / K] * q[i] / 4;
    }
    double md = 0;
    for (int i = 0; i < B * K; i++) md = fmax(md, fabs(mean[i] - p4[i]));
    CHECKF(md < 1e-6, "ensemble vs mean of members: %g", md);
    CHECK(ef_model_forward_sym(mdl, &bt, 0, 42, 0, p4, NULL, &err) == EF_ERR_INVALID);
    ef_model_destroy(mdl);
}

int main(void) {
    make_data();
    test_transform();
    test_forward();
    TEST_MAIN_END;
}
