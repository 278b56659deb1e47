/* SVG line plots: plain text output, no dependencies, opens in any browser. */
#include <math.h>
#include <string.h>
#include "cli/svg.h"

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

void ef_svg_line_plot(FILE *f, const char *title, const char *xlabel, const char *ylabel,
                      const ef_svg_series *series, int nseries, int log_y) {
    const double W = 760, H = 480, L = 70, R = 190, T = 40, Bm = 55;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY, ypos = INFINITY;
    for (int s = 0; s < nseries; s++)
        for (int i = 0; i < series[s].n; i++) {
            double lo = series[s].lo ? series[s].lo[i] : series[s].y[i];
            double hi = series[s].hi ? series[s].hi[i] : series[s].y[i];
            xmin = fmin(xmin, series[s].x[i]);
            xmax = fmax(xmax, series[s].x[i]);
            ymin = fmin(ymin, lo);
            ymax = fmax(ymax, hi);
            if (series[s].y[i] > 0) ypos = fmin(ypos, series[s].y[i]);
            if (lo > 0) ypos = fmin(ypos, lo);
        }
    if (!isfinite(xmin)) { xmin = 0; xmax = 1; }
    if (xmax == xmin) xmax = xmin + 1;
    if (log_y) {
        if (!isfinite(ypos)) ypos = 1e-3;
        ymin = log10(ypos);
        ymax = log10(fmax(ymax, ypos * 10));
        ymin = floor(ymin);
        ymax = ceil(ymax);
    } else {
        if (!isfinite(ymin)) { ymin = 0; ymax = 1; }
        if (ymin > 0) ymin = 0;
        if (ymax == ymin) ymax = ymin + 1;
        ymax += 0.05 * (ymax - ymin);
    }
#define PX(v) (L + ((v) - xmin) / (xmax - xmin) * (W - L - R))
#define PY(v) (T + (1 - ((log_y ? log10(fmax((v), ypos)) : (v)) - ymin) / (ymax - ymin)) * (H - T - Bm))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%.0f\" y=\"22\" font-size=\"15\" "
               "text-anchor=\"middle\">", (L + W - R) / 2);
    xml_text(f, title);
    fputs("</text>\n", f);
    /* axes and ticks */
    fprintf(f, "<g stroke=\"#444\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>\n",
            L, H - Bm, W - R, H - Bm, L, T, L, H - Bm);
    for (int i = 0; i <= 5; i++) {
        double xv = xmin + (xmax - xmin) * i / 5.0;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                PX(xv), H - Bm, PX(xv), H - Bm + 5, PX(xv), H - Bm + 19, round(xv * 100) / 100);
    }
    if (log_y) {
        for (int e = (int)ymin; e <= (int)ymax; e++) {
            double py = T + (1 - (e - ymin) / (ymax - ymin)) * (H - T - Bm);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n",
                    L, py, W - R, py, L - 6, py + 4, e);
        }
    } else {
        for (int i = 0; i <= 5; i++) {
            double yv = ymin + (ymax - ymin) * i / 5.0;
            double py = T + (1 - (yv - ymin) / (ymax - ymin)) * (H - T - Bm);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n",
                    L, py, W - R, py, L - 6, py + 4, yv);
        }
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (L + W - R) / 2, H - 12);
    xml_text(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">", (T + H - Bm) / 2);
    xml_text(f, ylabel);
    fputs("</text>\n", f);
    for (int s = 0; s < nseries; s++) {
        const ef_svg_series *se = &series[s];
        const char *col = palette[s % 10];
        if (se->lo && se->hi && se->n > 0) {
            fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"", col);
            for (int i = 0; i < se->n; i++) fprintf(f, "%.1f,%.1f ", PX(se->x[i]), PY(se->hi[i]));
            for (int i = se->n - 1; i >= 0; i--) fprintf(f, "%.1f,%.1f ", PX(se->x[i]), PY(se->lo[i]));
            fputs("\"/>\n", f);
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int i = 0; i < se->n; i++) fprintf(f, "%.1f,%.1f ", PX(se->x[i]), PY(se->y[i]));
        fputs("\"/>\n", f);
        for (int i = 0; i < se->n; i++)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", PX(se->x[i]), PY(se->y[i]), col);
        double ly = T + 10 + 20.0 * s;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\">", W - R + 15, ly, W - R + 40, ly, col, W - R + 46, ly + 4);
        xml_text(f, se->name);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
#undef PX
#undef PY
}
