/* Per-era aggregation of scores (Numerai validation diagnostics): mean, std (ddof 0), sharpe,
 * max drawdown on the cumulative sum (running peak from the first era), lag-1 autocorrelation,
 * smart sharpe (forum.numer.ai/t/era-boosted-models/189), legacy APY (example-scripts
 * utils.py @6b72e4ae), plus churn between two prediction sets. */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

void ef_era_summary_compute(ef_era_summary *out, const double *scores, size_t n_eras) {
    memset(out, 0, sizeof *out);
    out->mean = out->std = out->sharpe = out->max_drawdown = out->autocorr = NAN;
    out->smart_sharpe = out->apy = out->min = out->max = out->frac_positive = NAN;
    double *c = ef_malloc((n_eras ? n_eras : 1) * sizeof(double));
    if (!c) return;   /* count stays 0: every field NaN */
    size_t E = 0;
    for (size_t e = 0; e < n_eras; e++)
        if (!isnan(scores[e])) c[E++] = scores[e];
    out->count = E;
    if (E == 0) {
        ef_free(c);
        return;
    }
    double mean = ef_metrics_mean(c, E), sd = ef_metrics_std(c, E);
    out->mean = mean;
    out->std = sd;
    out->sharpe = sd > 0 ? mean / sd : NAN;
    /* drawdown: running peak of the cumulative sum starts at cum_1 */
    double cum = 0, peak = -INFINITY, dd = 0, mn = INFINITY, mx = -INFINITY, logp = 0;
    size_t pos = 0;
    for (size_t e = 0; e < E; e++) {
        cum += c[e];
        if (cum > peak) peak = cum;
        if (peak - cum > dd) dd = peak - cum;
        mn = EF_MIN(mn, c[e]);
        mx = EF_MAX(mx, c[e]);
        pos += c[e] > 0;
        double cl = EF_MIN(EF_MAX(c[e], -0.25), 0.25);
        logp += log1p(cl);
    }
    out->max_drawdown = dd;
    out->min = mn;
    out->max = mx;
    out->frac_positive = (double)pos / (double)E;
    /* APY: ((prod(1 + clip(c)))^(1/E))^49 - 1) * 100; product via logs to avoid overflow */
    out->apy = (exp(49.0 * logp / (double)E) - 1.0) * 100.0;
    if (E >= 3) {
        double rho = ef_mx_pearson(c, c + 1, E - 1);
        out->autocorr = rho;
        double sd1 = sd * sqrt((double)E / (double)(E - 1));
        double pen = 0, rp = 1;
        for (size_t i = 1; i < E; i++) {
            rp *= rho;
            pen += ((double)(E - i) / (double)E) * rp;
        }
        double denom = sd1 * sqrt(1.0 + 2.0 * pen);
        out->smart_sharpe = denom > 0 ? mean / denom : NAN;
    }
    ef_free(c);
}

ef_status ef_metrics_churn(double *out, const double *a, const double *b, size_t n,
                           ef_error *err) {
    double s;
    EF_TRY(ef_metrics_spearman(&s, a, b, n, err));
    *out = 1.0 - s;
    return EF_OK;
}
