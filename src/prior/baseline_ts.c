/* Online baselines for the time-series classes, run over the context in time order:
 *   rls     recursive least squares with exponential forgetting lambda (Haykin, Adaptive
 *           Filter Theory, ch. 10): P_0 = I / delta, k = P x / (lambda + x'P x),
 *           w += k (y - x'w), P = (P - k x'P) / lambda;
 *   kalman  the Kalman filter for the ar_drift prior: state w_t = phi w_{t-1} + N(0, q I),
 *           observation y_t = x_t'w_t + N(0, r), w_0 ~ N(0, p0 I). The one-step prediction of y_t
 *           is x_t' E[w_t | y_1..y_{t-1}], the Bayes predictor when (phi, q, r) are the true
 *           ones (an oracle baseline: icl-eval may pass info.phi, q = 1 - phi^2). */
#include <string.h>
#include "prior/prior_internal.h"

ef_status ef_bl_online(const ef_baseline *b, const double *X, const double *y, int n, int d,
                       double *prefix, double *w_out, ef_error *err) {
    const int kalman = b->kind == EF_BASELINE_KALMAN;
    double *w = ef_calloc((size_t)d, sizeof *w);
    double *P = ef_calloc((size_t)d * d, sizeof *P);
    double *Px = ef_malloc((size_t)d * sizeof *Px);
    if (!w || !P || !Px) {
        ef_free(w);
        ef_free(P);
        ef_free(Px);
        return EF_ERR(err, EF_ERR_NOMEM, "baseline %s: out of memory (d=%d)",
                      ef_baseline_kind_name(b->kind), d);
    }
    double p0 = kalman ? b->kalman_p0 : 1.0 / b->rls_delta;
    for (int j = 0; j < d; j++) P[(size_t)j * d + j] = p0;
    const double phi = b->kalman_phi, q = b->kalman_q, lam = b->rls_forget;
    for (int t = 0; t <= n; t++) {
        if (kalman && t > 0) {  /* time update: w_t | y_1..y_{t-1} */
            for (int j = 0; j < d; j++) w[j] *= phi;
            for (size_t i = 0; i < (size_t)d * d; i++) P[i] *= phi * phi;
            for (int j = 0; j < d; j++) P[(size_t)j * d + j] += q;
        }
        if (t == n) break;
        const double *x = X + (size_t)t * d;
        double yhat = 0, xPx = 0;
        for (int j = 0; j < d; j++) yhat += x[j] * w[j];
        if (prefix) prefix[t] = yhat;
        for (int i = 0; i < d; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += P[(size_t)i * d + j] * x[j];
            Px[i] = s;
            xPx += x[i] * s;
        }
        double den = kalman ? xPx + b->kalman_r : lam + xPx;
        if (den <= 0) continue;  /* x = 0 with r = 0: nothing to learn from this point */
        double e = y[t] - yhat;
        for (int i = 0; i < d; i++) w[i] += Px[i] / den * e;
        /* P - Px Px' / den (P symmetric, so x'P = Px') */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) P[(size_t)i * d + j] -= Px[i] * Px[j] / den;
        if (!kalman)
            for (size_t i = 0; i < (size_t)d * d; i++) P[i] /= lam;
    }
    if (w_out) memcpy(w_out, w, (size_t)d * sizeof *w);
    ef_free(w);
    ef_free(P);
    ef_free(Px);
    return EF_OK;
}
