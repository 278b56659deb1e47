/* Softmax rows for inference over a context cache: exp(s - max) with the vectorisable exp of
 * nn_internal.h (glibc's expf was a sixth of a prediction's time with 2,048 context rows)
 * and a sum in 16 interleaved partial sums, combined in a fixed order. */
#include <math.h>
#include "nn/nn_internal.h"

EF_CLONES static float row_max(const float *restrict s, long n, float m) {
    float acc[16];
    for (int j = 0; j < 16; j++) acc[j] = m;
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] = s[i + j] > acc[j] ? s[i + j] : acc[j];
    for (; i < n; i++) m = s[i] > m ? s[i] : m;
    for (int j = 0; j < 16; j++) m = acc[j] > m ? acc[j] : m;
    return m;
}

EF_CLONES static float row_exp_sum(float *restrict s, long n, float m) {
    float acc[16] = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            float e;
            EXP_NEG(m - s[i + j], e);
            s[i + j] = e;
            acc[j] += e;
        }
    float sum = 0.0f;
    for (; i < n; i++) {
        EXP_NEG(m - s[i], s[i]);
        sum += s[i];
    }
    for (int j = 0; j < 16; j++) sum += acc[j];
    return sum;
}

float ef_softmax_exp_block(float *s, long n, float *m_io, float *rescale) {
    float m_old = *m_io, m = row_max(s, n, m_old);
    if (m == -INFINITY) {
        *rescale = 1.0f;
        return 0.0f;
    }
    float sum = row_exp_sum(s, n, m);
    float r = 0.0f;
    if (m_old != -INFINITY) EXP_NEG(m - m_old, r);
    *rescale = r;
    *m_io = m;
    return sum;
}

/* A row with an extra logit is one block of the online softmax started at that logit: the
 * block's rescale factor exp(extra - max) is the extra logit's own weight. */
float ef_softmax_exp_row(float *s, long n, float extra, float *e_extra) {
    float m = extra, ex;
    float sum = ef_softmax_exp_block(s, n, &m, &ex);
    if (m == -INFINITY) ex = 0.0f;   /* nothing to attend */
    if (e_extra) *e_extra = ex;
    return sum + ex;
}

float ef_softmax_exp_row_ref(float *s, long n, float extra, float *e_extra) {
    float m = extra;
    for (long i = 0; i < n; i++) m = s[i] > m ? s[i] : m;
    if (m == -INFINITY) {
        if (e_extra) *e_extra = 0.0f;
        return 0.0f;
    }
    float sum = 0.0f;
    for (long i = 0; i < n; i++) {
        s[i] = expf(s[i] - m);
        sum += s[i];
    }
    float ex = extra == -INFINITY ? 0.0f : expf(extra - m);
    if (e_extra) *e_extra = ex;
    return sum + ex;
}
