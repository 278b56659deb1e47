/* Time-series classes of the prior: the k points of a task are ordered in time and the map
 * x -> y changes along the sequence:
 *   ar_drift  linear weights follow a stationary AR(1), w_t = phi w_{t-1} + sqrt(1-phi^2) eta_t
 *             (marginally N(0, I) at every t, so the Garg scale stays d);
 *   regime    linear weights jump to a fresh N(0, I) draw at random change points;
 *   lstm      a randomly initialised LSTM reads x_1..x_t and a random read-out gives y_t;
 *             targets are standardised over the task (mean 0, variance 1, like Garg's
 *             renormalised noisy regression), so its scale is 1. */
#include <math.h>
#include "prior/prior_internal.h"

// ---- weight paths -----------------------------------------------------------------------

void ef_prior_drift_path(ef_rng *r, int k, int d, double phi, double *W) {
    double innov = sqrt(fmax(0.0, 1.0 - phi * phi));
    for (int j = 0; j < d; j++) W[j] = ef_rng_normal(r);
    for (int t = 1; t < k; t++)
        for (int j = 0; j < d; j++)
            W[(size_t)t * d + j] = phi * W[(size_t)(t - 1) * d + j] + innov * ef_rng_normal(r);
}

int ef_prior_regime_path(ef_rng *r, int k, int d, double rate, double *W) {
    int switches = 0;
    for (int j = 0; j < d; j++) W[j] = ef_rng_normal(r);
    for (int t = 1; t < k; t++) {
        double *w = W + (size_t)t * d;
        if (ef_rng_uniform(r) < rate) {
            switches++;
            for (int j = 0; j < d; j++) w[j] = ef_rng_normal(r);
        } else {
            for (int j = 0; j < d; j++) w[j] = w[j - d];
        }
    }
    return switches;
}

// ---- LSTM -------------------------------------------------------------------------------

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

static ef_status eval_lstm(const ef_prior_config *cfg, ef_rng *r, const double *X, int k, int d,
                           double *y, ef_error *err) {
    int H = cfg->lstm_hidden, G = 4 * H;  /* gates i, f, g, o */
    double *Wx = ef_malloc((size_t)G * d * sizeof *Wx);  /* (4H, d) */
    double *Wh = ef_malloc((size_t)G * H * sizeof *Wh);  /* (4H, H) */
    double *b = ef_malloc((size_t)G * sizeof *b);
    double *v = ef_malloc((size_t)H * sizeof *v);
    double *h = ef_calloc((size_t)H, sizeof *h);
    double *c = ef_calloc((size_t)H, sizeof *c);
    double *pre = ef_malloc((size_t)G * sizeof *pre);
    ef_status st = EF_OK;
    if (!Wx || !Wh || !b || !v || !h || !c || !pre) {
        st = EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for an LSTM (d=%d, H=%d)", d, H);
        goto done;
    }
    double sx = 1.0 / sqrt((double)d), sh = 1.0 / sqrt((double)H);
    for (size_t i = 0; i < (size_t)G * d; i++) Wx[i] = sx * ef_rng_normal(r);
    for (size_t i = 0; i < (size_t)G * H; i++) Wh[i] = sh * ef_rng_normal(r);
    for (int i = 0; i < G; i++) b[i] = 0.1 * ef_rng_normal(r) + (i >= H && i < 2 * H ? 1.0 : 0.0);
    for (int i = 0; i < H; i++) v[i] = ef_rng_normal(r);
    double mean = 0;
    for (int t = 0; t < k; t++) {
        const double *x = X + (size_t)t * d;
        for (int g = 0; g < G; g++) {
            double s = b[g];
            for (int j = 0; j < d; j++) s += Wx[(size_t)g * d + j] * x[j];
            for (int j = 0; j < H; j++) s += Wh[(size_t)g * H + j] * h[j];
            pre[g] = s;
        }
        double out = 0;
        for (int u = 0; u < H; u++) {
            double ig = sigmoid(pre[u]), fg = sigmoid(pre[H + u]);
            double gg = tanh(pre[2 * H + u]), og = sigmoid(pre[3 * H + u]);
            c[u] = fg * c[u] + ig * gg;
            h[u] = og * tanh(c[u]);
            out += v[u] * h[u];
        }
        y[t] = out;
        mean += out;
    }
    mean /= k;
    double var = 0;
    for (int t = 0; t < k; t++) var += (y[t] - mean) * (y[t] - mean);
    var /= k;
    double inv = var > 1e-24 ? 1.0 / sqrt(var) : 0.0;
    for (int t = 0; t < k; t++) y[t] = (y[t] - mean) * inv;
done:
    ef_free(Wx);
    ef_free(Wh);
    ef_free(b);
    ef_free(v);
    ef_free(h);
    ef_free(c);
    ef_free(pre);
    return st;
}

// ---- dispatch ---------------------------------------------------------------------------

ef_status ef_prior_eval_timeseries(const ef_prior_config *cfg, ef_prior_class c, ef_rng *r,
                                   const double *X, int k, int d, double *y,
                                   ef_task_info *info, ef_error *err) {
    if (c == EF_PRIOR_LSTM) return eval_lstm(cfg, r, X, k, d, y, err);
    EF_CHECK(c == EF_PRIOR_DRIFT || c == EF_PRIOR_REGIME, err, EF_ERR_INVALID,
             "prior: %s is not a time-series class", ef_prior_class_name(c));
    double *W = ef_malloc((size_t)k * d * sizeof *W);
    if (!W) return EF_ERR(err, EF_ERR_NOMEM, "prior: out of memory for a (%d, %d) weight path", k, d);
    if (c == EF_PRIOR_DRIFT) {
        double phi = cfg->drift_phi_min + (cfg->drift_phi_max - cfg->drift_phi_min) * ef_rng_uniform(r);
        ef_prior_drift_path(r, k, d, phi, W);
        if (info) info->phi = phi;
    } else {
        int n = ef_prior_regime_path(r, k, d, cfg->regime_rate, W);
        if (info) info->n_switches = n;
    }
    for (int t = 0; t < k; t++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += X[(size_t)t * d + j] * W[(size_t)t * d + j];
        y[t] = s;
    }
    ef_free(W);
    return EF_OK;
}
