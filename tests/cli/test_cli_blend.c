/* cli: eraformer blend end to end. The oracle is written here from Numerai's definitions
 * (tie-kept average rank, (rank - 0.5)/n, normal quantile by bisection on erfc, standardise,
 * weighted sum, rank / n): per era with --data, the whole file without it; rows of the second
 * file shuffled; weights (1, 0) give the first file's own per-era rank; the output keeps the
 * first file's ids and order; bad input exits non-zero naming the file and leaves no output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eraformer/base.h"
#include "cli_util.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_blend_tmp"
#define N 60
#define ERAS 3

static char out[1 << 16];
static double pa[N], pb[N];
static int era_of[N];

static double u01(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) + 0.5) / 16777216.0;
}

/* Normal quantile by bisection on 0.5 erfc(-x / sqrt 2) (independent of the library's ppf). */
static double ppf(double p) {
    double lo = -10, hi = 10;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Average rank (1-based, ties averaged) of x[i] among the rows of rows[0..n). */
static double avg_rank(const double *x, const int *rows, int n, int i) {
    int less = 0, eq = 0;
    for (int k = 0; k < n; k++) {
        less += x[rows[k]] < x[i];
        eq += x[rows[k]] == x[i];
    }
    return less + (eq + 1) / 2.0;
}

/* Expected blend of (pa, pb) with weights wa, wb; one era when per_era is 0. Sums within 1e-9
 * of each other are a tie the library may break either way (its arithmetic order differs):
 * the rank / n of row i must lie in [lo[i], hi[i]]. */
static void oracle(double *lo, double *hi, double wa, double wb, int per_era) {
    for (int e = 0; e < (per_era ? ERAS : 1); e++) {
        int rows[N], n = 0;
        for (int i = 0; i < N; i++)
            if (!per_era || era_of[i] == e) rows[n++] = i;
        double za[N], zb[N], s[N], ma = 0, mb = 0, va = 0, vb = 0;
        for (int k = 0; k < n; k++) {
            za[k] = ppf((avg_rank(pa, rows, n, rows[k]) - 0.5) / n);
            zb[k] = ppf((avg_rank(pb, rows, n, rows[k]) - 0.5) / n);
            ma += za[k] / n;
            mb += zb[k] / n;
        }
        for (int k = 0; k < n; k++) {
            va += (za[k] - ma) * (za[k] - ma) / n;
            vb += (zb[k] - mb) * (zb[k] - mb) / n;
        }
        for (int k = 0; k < n; k++) s[k] = wa * (za[k] - ma) / sqrt(va) + wb * (zb[k] - mb) / sqrt(vb);
        for (int k = 0; k < n; k++) {
            int less = 0, near = 0;
            for (int j = 0; j < n; j++) {
                less += s[j] < s[k] - 1e-9;
                near += fabs(s[j] - s[k]) <= 1e-9;
            }
            lo[rows[k]] = (less + 1.0) / n;
            hi[rows[k]] = (double)(less + near) / n;
        }
    }
}

static void write_files(void) {
    unsigned s = 7;
    FILE *a = fopen(DIR "/a.csv", "w"), *b = fopen(DIR "/b.csv", "w"), *d = fopen(DIR "/data.csv", "w");
    if (!a || !b || !d) exit(1);
    fprintf(a, "id,prediction\n");
    fprintf(b, "id,prediction\n");
    fprintf(d, "id,era,target\n");
    for (int i = 0; i < N; i++) {
        era_of[i] = (i * 7) % ERAS;                        /* eras interleaved in the file */
        pa[i] = u01(&s);
        pb[i] = 0.6 * pa[i] + 0.4 * u01(&s);               /* correlated, no ties */
        if (i == 5) pa[i] = pa[4];                          /* one tie in a (within era?) */
        fprintf(a, "id%02d,%.17g\n", i, pa[i]);
    }
    for (int k = 0; k < N; k++) {                           /* b: shuffled order */
        int i = (k * 17 + 3) % N;
        fprintf(b, "id%02d,%.17g\n", i, pb[i]);
    }
    for (int k = N - 1; k >= 0; k--) fprintf(d, "id%02d,era%d,0.5\n", k, era_of[k] + 1);
    fclose(a);
    fclose(b);
    fclose(d);
}

/* Reads DIR/out.csv: ids must be id00..id59 in order; values into v. Returns rows read. */
static int read_out(double *v) {
    FILE *f = fopen(DIR "/out.csv", "r");
    if (!f) return -1;
    char line[256];
    int n = 0, ok = fgets(line, sizeof line, f) && !strcmp(line, "id,prediction\n");
    while (ok && fgets(line, sizeof line, f) && n < N) {
        char want[16];
        snprintf(want, sizeof want, "id%02d,", n);
        ok = !strncmp(line, want, strlen(want));
        v[n++] = strtod(line + strlen(want), NULL);
    }
    fclose(f);
    return ok ? n : -1;
}

static void check_blend(const char *args, double wa, double wb, int per_era) {
    char cmd[2048];
    unlink(DIR "/out.csv");
    snprintf(cmd, sizeof cmd, "%s blend --predictions " DIR "/a.csv," DIR "/b.csv --out " DIR "/out.csv %s",
             EF_CLI, args);
    CHECKF(cli_capture(cmd, 1, out, sizeof out) == 0, "%s: %s", args, out);
    double got[N], lo[N], hi[N];
    CHECKF(read_out(got) == N, "%s: output rows/ids", args);
    oracle(lo, hi, wa, wb, per_era);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += got[i] < lo[i] - 1e-8 || got[i] > hi[i] + 1e-8;
    CHECKF(bad == 0, "%s: %d rows outside the oracle's rank", args, bad);
}

static void check_fails(const char *args, int code, const char *msg) {
    char cmd[2048];
    unlink(DIR "/out.csv");
    snprintf(cmd, sizeof cmd, "%s blend --out " DIR "/out.csv %s", EF_CLI, args);
    int rc = cli_capture(cmd, 1, out, sizeof out);
    CHECKF(rc == code, "%s: exit %d, want %d (%s)", args, rc, code, out);
    CHECKF(strstr(out, msg) != NULL, "%s: message lacks '%s': %s", args, msg, out);
    CHECKF(access(DIR "/out.csv", F_OK) != 0, "%s: left an output", args);
}

int main(void) {
    if (system("rm -rf " DIR) != 0 || mkdir(DIR, 0755)) return 1;
    write_files();
    check_blend("--data " DIR "/data.csv", 0.5, 0.5, 1);
    check_blend("--data " DIR "/data.csv --weights 2,1", 2, 1, 1);
    check_blend("--weights 1,3", 1, 3, 0);
    check_blend("--data " DIR "/data.csv --weights 1,0", 1, 0, 1);
    /* weights (1, 0): exactly a's own per-era rank / n */
    double got[N];
    int ok = read_out(got) == N;
    for (int i = 0; ok && i < N; i++) {
        int rows[N], n = 0;
        for (int k = 0; k < N; k++)
            if (era_of[k] == era_of[i]) rows[n++] = k;
        ok = fabs(got[i] - avg_rank(pa, rows, n, i) / n) < 1e-8;
    }
    CHECK(ok);

    /* bad input */
    FILE *f = fopen(DIR "/short.csv", "w"), *g = fopen(DIR "/nan.csv", "w"), *h = fopen(DIR "/dup.csv", "w");
    if (!f || !g || !h) return 1;
    fprintf(f, "id,prediction\n");
    fprintf(g, "id,prediction\n");
    fprintf(h, "id,prediction\n");
    for (int i = 0; i < N; i++) {
        if (i != 17) fprintf(f, "id%02d,0.5\n", i);
        else fprintf(f, "other,0.5\n");
        fprintf(g, "id%02d,%s\n", i, i == 9 ? "nan" : "0.25");
        fprintf(h, "id%02d,0.5\n", i == 30 ? 31 : i);
    }
    fclose(f);
    fclose(g);
    fclose(h);
    check_fails("--predictions " DIR "/a.csv," DIR "/short.csv", 2, "id 'other' is not in");
    check_fails("--predictions " DIR "/a.csv," DIR "/nan.csv", 1, "nan.csv: row 10 (id 'id09')");
    check_fails("--predictions " DIR "/a.csv," DIR "/dup.csv", 2, "id 'id31' appears twice");
    check_fails("--predictions " DIR "/a.csv," DIR "/missing.csv", 1, "missing.csv");
    check_fails("--predictions " DIR "/a.csv", 2, "at least two files");
    check_fails("--predictions " DIR "/a.csv," DIR "/b.csv --weights 1", 2, "1 --weights for 2");
    check_fails("--predictions " DIR "/a.csv," DIR "/b.csv --weights 0,0", 2, "must not all be 0");
    check_fails("--predictions " DIR "/a.csv," DIR "/b.csv --weights 1,x", 2, "--weights");
    /* --data without one of the ids */
    FILE *d = fopen(DIR "/data_short.csv", "w");
    if (!d) return 1;
    fprintf(d, "id,era\n");
    for (int i = 1; i < N; i++) fprintf(d, "id%02d,era1\n", i);
    fclose(d);
    check_fails("--predictions " DIR "/a.csv," DIR "/b.csv --data " DIR "/data_short.csv", 2,
                "id 'id00' (row 1) is not in");
    TEST_MAIN_END;
}
