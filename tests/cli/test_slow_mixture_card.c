/* slow: the shipped models/mixture-d10.st reproduces its card. For the two cells of the
 * evaluation closest to the 1.2x target (noisy sparse against lasso, noise-free AR drift
 * against the Kalman filter), icl-eval on the same 1,280 tasks must print the transformer's
 * errors (one pass and the 4-member ensemble, every k) that docs/icl/mixture-d10/ holds, and
 * there the ensemble's error at k = 20 must be within 1.2x of the best baseline. The baselines
 * are not rerun (lasso by cross-validation over 1,280 tasks takes minutes); the tasks are keyed
 * by (seed, task index), so they are the ones the committed baselines saw. About 2 minutes on
 * 2 cores; run with `ctest -L slow`. */
#include "cli_util.h"
#include "test.h"

#define DOC EF_SOURCE_DIR "/docs/icl/mixture-d10/"
#define MAXR 256

typedef struct row {
    int k;
    char est[32];
    char mean[32];   /* as printed: the runs are deterministic, so the text must match */
} row;

/* Rows of an icl-eval CSV (in_context_examples,estimator,mean_sq_error,lo90,hi90). */
static int read_csv(const char *path, row *rows, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    int n = 0;
    if (!fgets(line, sizeof line, f) || strncmp(line, "in_context_examples,estimator,mean_sq_error", 43)) {
        fclose(f);
        return -1;
    }
    while (n < cap && fgets(line, sizeof line, f)) {
        char *a = strtok(line, ","), *b = strtok(NULL, ","), *c = strtok(NULL, ",\n");
        if (!a || !b || !c) continue;
        rows[n].k = atoi(a);
        snprintf(rows[n].est, sizeof rows[n].est, "%s", b);
        snprintf(rows[n].mean, sizeof rows[n].mean, "%s", c);
        n++;
    }
    fclose(f);
    return n;
}

static void check_case(const char *cls, const char *params, const char *doc_name) {
    char args[1024], out[256], doc[512];
    snprintf(out, sizeof out, EF_BINARY_DIR "/slow_card_%s.csv", doc_name);
    snprintf(doc, sizeof doc, DOC "%s.csv", doc_name);
    snprintf(args, sizeof args,
             "icl-eval --model " EF_SOURCE_DIR "/models/mixture-d10.st --class %s %s --tasks 1280 --ensemble 4 "
             "--baselines zero --threads 2 --csv %s",
             cls, params, out);
    CHECKF(cli_run(args, NULL, NULL) == 0, "%s", args);
    static row got[MAXR], want[MAXR];
    int ng = read_csv(out, got, MAXR), nw = read_csv(doc, want, MAXR);
    CHECKF(ng > 40 && nw > ng, "%s: %d rows, %s: %d rows", out, ng, doc, nw);
    int compared = 0;
    for (int i = 0; i < ng; i++) {
        if (strncmp(got[i].est, "transformer", 11)) continue;
        int found = 0;
        for (int j = 0; j < nw; j++) {
            if (want[j].k != got[i].k || strcmp(want[j].est, got[i].est)) continue;
            found = 1;
            CHECKF(!strcmp(want[j].mean, got[i].mean), "%s k=%d %s: %s, the card's CSV has %s", doc_name, got[i].k,
                   got[i].est, got[i].mean, want[j].mean);
        }
        CHECKF(found, "%s k=%d %s is not in %s", doc_name, got[i].k, got[i].est, doc);
        compared++;
    }
    CHECKF(compared == 2 * 21, "%s: %d transformer rows compared (want 2 x 21)", doc_name, compared);
    /* the card's claim at k = 2d = 20 */
    double ens = NAN, best = INFINITY;
    const char *best_name = "";
    for (int j = 0; j < nw; j++) {
        if (want[j].k != 20) continue;
        double v = atof(want[j].mean);
        if (!strcmp(want[j].est, "transformer-ens4")) ens = v;
        else if (strncmp(want[j].est, "transformer", 11) && v < best) {
            best = v;
            best_name = want[j].est;
        }
    }
    CHECKF(ens <= 1.2 * best, "%s: ensemble %.6g vs %s %.6g: ratio %.4f > 1.2", doc_name, ens, best_name, best, ens / best);
    printf("%s: transformer-ens4 %.6g / %s %.6g = %.4f\n", doc_name, ens, best_name, best, ens / best);
}

int main(void) {
    check_case("sparse", "--prior-params noise_prob=1,noise_min=0.25,noise_max=0.25", "sparse.noise");
    check_case("ar_drift", "", "ar_drift");
    TEST_MAIN_END;
}
