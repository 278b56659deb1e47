/* Mean squared error over weighted items (weight 0 = not part of the loss), in double. */
#include <math.h>
#include "nn/nn_internal.h"

double ef_mse_forward(const float *pred, const float *target, const float *weight, size_t n) {
    double s = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = weight ? weight[i] : 1.0;
        if (w == 0.0) continue;
        double d = (double)pred[i] - target[i];
        s += w * d * d;
        wsum += w;
    }
    return wsum > 0 ? s / wsum : 0.0;
}

// d/dpred of scale · mean_w (pred - target)²
void ef_mse_backward(float *dpred, const float *pred, const float *target, const float *weight,
                     size_t n, float scale) {
    double wsum = 0.0;
    for (size_t i = 0; i < n; i++) wsum += weight ? weight[i] : 1.0;
    if (wsum <= 0) return;
    for (size_t i = 0; i < n; i++) {
        double w = weight ? weight[i] : 1.0;
        if (w == 0.0) continue;
        dpred[i] += (float)(scale * 2.0 * w * ((double)pred[i] - target[i]) / wsum);
    }
}

/* Negative Pearson correlation (Numerai scores per era): with a = p - mean p, b = y - mean y,
 * corr = Σab / sqrt(Σa² Σb²) and d corr/dp_i = b_i / sqrt(Σa² Σb²) - corr · a_i / Σa². */
double ef_corr_loss(float *dp, const float *p, const float *y, size_t n) {
    double mp = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mp += p[i];
        my += y[i];
    }
    mp /= (double)(n ? n : 1);
    my /= (double)(n ? n : 1);
    double saa = 0, sbb = 0, sab = 0;
    for (size_t i = 0; i < n; i++) {
        double a = p[i] - mp, b = y[i] - my;
        saa += a * a;
        sbb += b * b;
        sab += a * b;
    }
    if (n < 2 || !(saa > 0) || !(sbb > 0)) {
        for (size_t i = 0; dp && i < n; i++) dp[i] = 0.0f;
        return 0.0;
    }
    double den = sqrt(saa * sbb), corr = sab / den;
    for (size_t i = 0; dp && i < n; i++) dp[i] = (float)(-((y[i] - my) / den - corr * (p[i] - mp) / saa));
    return -corr;
}
