/* The evaluate report: one self-contained HTML page with inline SVG plots (no scripts, no
 * external files): the summary table, cumulative CORR (and MMC/BMC/FNC) over eras, per-era
 * CORR bars, a histogram of per-era CORR and the mean per-feature exposure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/report.h"

#define W 960
#define H 320
#define ML 70   /* margins: left, right, top, bottom */
#define MR 20
#define MT 30
#define MB 50

// ---- helpers ------------------------------------------------------------------------------------

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double nice_step(double range, int target) {
    if (!(range > 0)) return 1;
    double raw = range / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

typedef struct frame {
    double x0, x1, y0, y1;   /* data range */
    int w, h;
} frame;

static double sx(const frame *fr, double x) {
    return ML + (x - fr->x0) / (fr->x1 - fr->x0 ? fr->x1 - fr->x0 : 1) * (fr->w - ML - MR);
}
static double sy(const frame *fr, double y) {
    return fr->h - MB - (y - fr->y0) / (fr->y1 - fr->y0 ? fr->y1 - fr->y0 : 1) * (fr->h - MT - MB);
}

/* y grid, y tick labels and the axis box; y range extended to nice ticks. */
static void axes(FILE *f, frame *fr, const char *title, const char *ylabel) {
    if (!(fr->y1 > fr->y0)) { fr->y0 -= 0.01; fr->y1 += 0.01; }
    double st = nice_step(fr->y1 - fr->y0, 5);
    fr->y0 = floor(fr->y0 / st) * st;
    fr->y1 = ceil(fr->y1 / st) * st;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
            fr->w, fr->h, fr->w, fr->h);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", fr->w, fr->h);
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">", ML);
    esc(f, title);
    fprintf(f, "</text>\n");
    for (double y = fr->y0; y <= fr->y1 + st * 1e-9; y += st) {
        double py = sy(fr, y);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", ML,
                fr->w - MR, py, py, fabs(y) < st * 1e-6 ? "#888" : "#e5e5e5");
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", ML - 6, py + 4,
                fabs(y) < st * 1e-6 ? 0.0 : y);
    }
    fprintf(f, "<text transform=\"translate(14,%d) rotate(-90)\" text-anchor=\"middle\">", fr->h / 2);
    esc(f, ylabel);
    fprintf(f, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#444\"/>\n", ML, MT, fr->w - ML - MR, fr->h - MT - MB);
}

/* era labels along x: about 10 of them */
static void era_ticks(FILE *f, const frame *fr, const ef_report_data *d) {
    size_t E = d->n_eras, step = E > 10 ? (E + 9) / 10 : 1;
    for (size_t e = 0; e < E; e += step) {
        double px = sx(fr, (double)e);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", px, px, fr->h - MB,
                fr->h - MB + 5, px, fr->h - MB + 18);
        esc(f, d->era_names[e]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">era</text>\n", (fr->w + ML) / 2,
            fr->h - 8);
}

// ---- plots --------------------------------------------------------------------------------------

static void plot_cumulative(FILE *f, const ef_report_data *d) {
    const char *names[4] = {"CORR", "MMC", "BMC", "FNC"};
    const char *colors[4] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"};
    const double *series[4] = {d->scores->corr, d->mmc ? d->scores->mmc : NULL,
                               d->bmc ? d->scores->bmc : NULL, d->fnc ? d->scores->fnc : NULL};
    size_t E = d->n_eras;
    frame fr = {0, E > 1 ? (double)(E - 1) : 1, 0, 0, W, H};
    for (int s = 0; s < 4; s++) {
        if (!series[s]) continue;
        double c = 0;
        for (size_t e = 0; e < E; e++) {
            if (!isnan(series[s][e])) c += series[s][e];
            fr.y0 = EF_MIN(fr.y0, c);
            fr.y1 = EF_MAX(fr.y1, c);
        }
    }
    axes(f, &fr, "Cumulative score over eras", "cumulative sum");
    era_ticks(f, &fr, d);
    int legend = 0;
    for (int s = 0; s < 4; s++) {
        if (!series[s]) continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[s]);
        double c = 0;
        for (size_t e = 0; e < E; e++) {
            if (!isnan(series[s][e])) c += series[s][e];
            fprintf(f, "%.1f,%.1f ", sx(&fr, (double)e), sy(&fr, c));
        }
        fprintf(f, "\"/>\n");
        int lx = ML + 10 + legend * 90;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                   "<text x=\"%d\" y=\"%d\">%s</text>\n", lx, MT + 10, colors[s], lx + 18, MT + 15,
                names[s]);
        legend++;
    }
    fprintf(f, "</svg>\n");
}

static void plot_bars(FILE *f, const ef_report_data *d) {
    size_t E = d->n_eras;
    const double *c = d->scores->corr;
    frame fr = {-0.5, (double)E - 0.5, 0, 0, W, H};
    for (size_t e = 0; e < E; e++)
        if (!isnan(c[e])) {
            fr.y0 = EF_MIN(fr.y0, c[e]);
            fr.y1 = EF_MAX(fr.y1, c[e]);
        }
    axes(f, &fr, "Per-era CORR", "CORR");
    era_ticks(f, &fr, d);
    double bw = (W - ML - MR) / (double)(E ? E : 1) * 0.85;
    for (size_t e = 0; e < E; e++) {
        if (isnan(c[e])) continue;
        double y0 = sy(&fr, 0), y1 = sy(&fr, c[e]);
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                   "<title>era ", sx(&fr, (double)e) - bw / 2, EF_MIN(y0, y1), bw, fabs(y1 - y0),
                c[e] >= 0 ? "#2ca02c" : "#d62728");
        esc(f, d->era_names[e]);
        fprintf(f, ": %.5f</title></rect>\n", c[e]);
    }
    fprintf(f, "</svg>\n");
}

static void plot_hist(FILE *f, const ef_report_data *d) {
    enum { BINS = 30 };
    const double *c = d->scores->corr;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t e = 0; e < d->n_eras; e++)
        if (!isnan(c[e])) {
            lo = EF_MIN(lo, c[e]);
            hi = EF_MAX(hi, c[e]);
        }
    if (!(hi >= lo)) lo = hi = 0;
    if (hi - lo < 1e-12) { lo -= 0.01; hi += 0.01; }
    int cnt[BINS] = {0}, top = 1;
    for (size_t e = 0; e < d->n_eras; e++) {
        if (isnan(c[e])) continue;
        int b = (int)((c[e] - lo) / (hi - lo) * BINS);
        b = EF_MIN(EF_MAX(b, 0), BINS - 1);
        top = EF_MAX(top, ++cnt[b]);
    }
    frame fr = {lo, hi, 0, (double)top, W, H};
    axes(f, &fr, "Histogram of per-era CORR", "eras");
    double bw = (hi - lo) / BINS;
    for (int b = 0; b < BINS; b++) {
        double x0 = sx(&fr, lo + b * bw), x1 = sx(&fr, lo + (b + 1) * bw);
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#1f77b4\" "
                   "stroke=\"#fff\"><title>[%.4f, %.4f): %d eras</title></rect>\n", x0,
                sy(&fr, cnt[b]), x1 - x0, sy(&fr, 0) - sy(&fr, cnt[b]), lo + b * bw,
                lo + (b + 1) * bw, cnt[b]);
    }
    double st = nice_step(hi - lo, 6);
    for (double x = ceil(lo / st) * st; x <= hi + 1e-12; x += st)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n", sx(&fr, x),
                H - MB + 18, fabs(x) < st * 1e-6 ? 0.0 : x);
    if (d->corr && !isnan(d->corr->mean)) {
        double px = sx(&fr, d->corr->mean);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#d62728\" "
                   "stroke-dasharray=\"4,3\"/><text x=\"%.1f\" y=\"%d\" fill=\"#d62728\">mean "
                   "%.4f</text>\n", px, px, MT, H - MB, px + 4, MT + 12, d->corr->mean);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">per-era CORR</text>\n</svg>\n",
            (W + ML) / 2, H - 8);
}

static int cmp_abs_desc(const void *a, const void *b, const double *v) {
    double x = fabs(v[*(const size_t *)a]), y = fabs(v[*(const size_t *)b]);
    return x < y ? 1 : x > y ? -1 : 0;
}

static void plot_exposure(FILE *f, const ef_report_data *d) {
    size_t nf = d->n_features, show = EF_MIN(nf, 40);
    size_t *idx = ef_malloc((nf ? nf : 1) * sizeof(size_t));
    if (!idx) return;
    for (size_t j = 0; j < nf; j++) idx[j] = j;
    /* insertion sort by |mean corr| (nf is at most a few thousand) */
    for (size_t i = 1; i < nf; i++) {
        size_t t = idx[i], j = i;
        while (j > 0 && cmp_abs_desc(&idx[j - 1], &t, d->feature_corr_mean) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = t;
    }
    double vmax = 1e-6;
    for (size_t k = 0; k < show; k++)
        if (!isnan(d->feature_corr_mean[idx[k]])) vmax = EF_MAX(vmax, fabs(d->feature_corr_mean[idx[k]]));
    int rowh = 16, left = 300, h = MT + 20 + (int)show * rowh + 20, w = W;
    double mid = left + (w - left - MR) / 2.0, half = (w - left - MR) / 2.0 - 60;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
               "%d %d\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"%d\" "
               "height=\"%d\" fill=\"#fff\"/>\n", w, h, w, h, w, h);
    fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Feature exposure: "
               "mean per-era corr(prediction, feature), top %zu of %zu by |value|</text>\n", show, nf);
    fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", mid, mid,
            MT + 10, h - 10);
    for (size_t k = 0; k < show; k++) {
        size_t j = idx[k];
        double v = d->feature_corr_mean[j], y = MT + 20 + (double)k * rowh;
        double len = isnan(v) ? 0 : fabs(v) / vmax * half;
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", left - 8, y + 11);
        esc(f, d->feature_names[j]);
        fprintf(f, "</text><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\"%s>%.4f</text>\n", v >= 0 ? mid : mid - len, y + 2,
                len, rowh - 4, v >= 0 ? "#1f77b4" : "#ff7f0e", v >= 0 ? mid + len + 4 : mid - len - 4,
                y + 11, v >= 0 ? "" : " text-anchor=\"end\"", v);
    }
    fprintf(f, "</svg>\n");
    ef_free(idx);
}

// ---- page ---------------------------------------------------------------------------------------

static void row(FILE *f, const char *name, double v, int prec) {
    fprintf(f, "<tr><td>%s</td><td>", name);
    if (isnan(v)) fputs("n/a", f);
    else fprintf(f, "%.*f", prec, v);
    fputs("</td></tr>\n", f);
}

ef_status ef_report_html_write(const ef_report_data *d, const char *path, ef_error *err) {
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    FILE *f = af.fp;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    esc(f, d->title);
    fprintf(f, "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}"
               "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;"
               "padding:4px 10px;text-align:right}td:first-child{text-align:left}"
               "h2{margin-top:28px}svg{display:block;margin:8px 0;border:1px solid #ddd}"
               "</style></head><body>\n<h1>");
    esc(f, d->title);
    fprintf(f, "</h1>\n<p>%zu rows over %zu eras", d->n_rows, d->n_eras);
    if (d->n_eras) {
        fputs(" (", f);
        esc(f, d->era_names[0]);
        fputs(" to ", f);
        esc(f, d->era_names[d->n_eras - 1]);
        fputs(")", f);
    }
    fputs(". Scores as numerai-tools computes them, per era.</p>\n<table>\n"
          "<tr><th>metric</th><th>value</th></tr>\n", f);
    const ef_era_summary *c = d->corr;
    row(f, "CORR mean", c->mean, 5);
    row(f, "CORR std", c->std, 5);
    row(f, "CORR sharpe", c->sharpe, 4);
    row(f, "CORR max drawdown", c->max_drawdown, 5);
    if (d->mmc) {
        row(f, "MMC mean", d->mmc->mean, 5);
        row(f, "MMC sharpe", d->mmc->sharpe, 4);
    }
    if (d->bmc) {
        row(f, "BMC mean", d->bmc->mean, 5);
        row(f, "BMC sharpe", d->bmc->sharpe, 4);
    }
    if (d->fnc) row(f, "FNC mean", d->fnc->mean, 5);
    if (d->n_features) row(f, "max feature exposure", d->max_exposure_mean, 5);
    if (!isnan(d->example_corr_mean)) row(f, "corr with example preds", d->example_corr_mean, 4);
    row(f, "APY (%)", c->apy, 2);
    row(f, "smart sharpe", c->smart_sharpe, 4);
    fputs("</table>\n<h2>Cumulative score</h2>\n", f);
    plot_cumulative(f, d);
    fputs("<h2>Per-era CORR</h2>\n", f);
    plot_bars(f, d);
    fputs("<h2>Distribution of per-era CORR</h2>\n", f);
    plot_hist(f, d);
    if (d->n_features && d->feature_corr_mean) {
        fputs("<h2>Feature exposure</h2>\n", f);
        plot_exposure(f, d);
    }
    fputs("</body></html>\n", f);
    return ef_atomic_commit(&af, err);
}
