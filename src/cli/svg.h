/* A small SVG line-plot writer for the CLI's figures (error vs k curves with interval bands). */
#ifndef EF_CLI_SVG_H
#define EF_CLI_SVG_H

#include <stdio.h>

typedef struct ef_svg_series {
    const char *name;
    int n;
    const double *x, *y;
    const double *lo, *hi;   /* optional band (may be NULL) */
} ef_svg_series;

/* Writes a complete SVG document to f: one line per series with markers, optional shaded
 * bands, axes with ticks, a legend. log_y: logarithmic y axis (non-positive values clamped
 * to the smallest positive value). */
void ef_svg_line_plot(FILE *f, const char *title, const char *xlabel, const char *ylabel,
                      const ef_svg_series *series, int nseries, int log_y);

#endif
