/* A consumer of the installed library: built only with `pkg-config --cflags --libs eraformer`.
 * Checks that the headers and the library it links agree, and that a real function works. */
#include <stdio.h>
#include <string.h>

#include "eraformer/base.h"
#include "eraformer/metrics.h"

int main(void) {
    const char *v = ef_version();
    if (!v || strcmp(v, EF_VERSION_STRING) != 0) {
        fprintf(stderr, "ef_version() = %s, header says %s\n", v ? v : "(null)", EF_VERSION_STRING);
        return 1;
    }
    const double x[4] = {1, 2, 3, 4}, y[4] = {2, 4, 6, 8};
    double r = ef_metrics_pearson(x, y, 4);
    if (!(r > 1 - 1e-12 && r < 1 + 1e-12)) {
        fprintf(stderr, "ef_metrics_pearson = %.17g, expected 1\n", r);
        return 1;
    }
    printf("eraformer %s\n", v);
    return 0;
}
