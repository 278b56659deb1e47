/* Mean squared error over weighted items (weight 0 = not part of the loss), in double. */
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
