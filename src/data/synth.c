/* Synthetic Numerai-like data: the generative world and one era at a time. The story
 * (docs/synth.md): each stock-era row has latent factors (global "style" factors and one
 * factor per feature group); features are noisy, partly nonlinear views of them, binned per
 * era into 5 equal-count levels; the targets load on the latents with coefficients that
 * drift from era to era and occasionally flip sign, plus an interaction and a nonlinearity,
 * under heavy noise, binned 5/20/50/20/5 %. Every draw is keyed by (seed, era, stream) with
 * the counter-based ef_rng, so an era is a pure function of (seed, config, era). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/synth_internal.h"

// ---- word lists for realistic names -------------------------------------------------------

static const char *const ADJ1[] = {
    "abating", "bicameral", "bridal", "collectivist", "concurring", "crosscut", "departmental",
    "dialectal", "donnard", "elusive", "fabled", "gleeful", "honoured", "inimitable", "jovial",
    "kinglike", "lovesick", "mannish", "nodical", "ochreous", "palaeozoic", "quaggy", "ruffled",
    "sallow", "tonal", "unwary", "vapoury", "wintry", "xerophytic", "yestern", "zonked", "antistrophic"};
static const char *const ADJ2[] = {
    "unadaptable", "showery", "fingered", "flaxen", "homely", "whilom", "striate", "groutier",
    "observational", "sublunar", "leisurable", "tinkling", "unprovable", "overneat", "fervent",
    "crenate", "lyric", "chartered", "scalable", "tuneless", "muggy", "sceptred", "scaled",
    "brusque", "cressy", "unbarbed", "festal", "hallucinatory", "reformed", "ungenerous", "weedier", "hoar"};
static const char *const NOUN[] = {
    "weakfish", "wallaba", "pensioner", "gueux", "adapter", "ataxy", "sentencer", "cambodia",
    "twinkle", "accomplice", "balaamite", "conscriptionist", "dogmatism", "egret", "farthingale",
    "gasometer", "hexapod", "inkling", "jerboa", "kinkajou", "lamplighter", "mastoid", "nightcap",
    "octuple", "pentagon", "quadrille", "rotifer", "samovar", "teasel", "urchin", "vizier", "wombat"};

/* Relative sizes of Numerai's v5 groups (v5.2 counts), in synth_write.c's name order. */
static const int GROUP_SIZE[SYN_MAX_GROUPS] = {35, 290, 135, 51, 335, 140, 145, 95, 325, 666, 244, 372};

/* Auxiliary target names (alphabetical); "ender" is the main one (target == target_ender_20). */
static const char *const AUX[SYN_N_AUX] = {"agnes", "bravo", "cyrusd", "ender", "jasper", "teager2b"};
#define MAIN_AUX 3

void ef_synth_config_default(ef_synth_config *c) {
    memset(c, 0, sizeof *c);
    c->eras_train = 150;
    c->eras_validation = 50;
    c->rows_per_era = 400;
    c->n_features = 160;
    c->seed = 42;
    c->codec = EF_PQW_SNAPPY;
}

static const char *const GENERATOR_NAMES[EF_SYNTH_N_GENERATORS] = {"factor", "nonlinear", "drift", "weak"};

const char *ef_synth_generator_name(int i) {
    return i >= 0 && i < EF_SYNTH_N_GENERATORS ? GENERATOR_NAMES[i] : NULL;
}

int ef_synth_generator_from_name(const char *name) {
    for (int i = 0; name && i < EF_SYNTH_N_GENERATORS; i++)
        if (!strcmp(name, GENERATOR_NAMES[i])) return i;
    return -1;
}

int ef_synth_num_eras(const ef_synth *s) { return s->n_eras; }

void ef_synth_destroy(ef_synth *s) {
    if (!s) return;
    ef_synth_zoo_destroy(s->zoo);
    ef_strlist_free(s->fnames, s->F);
    ef_strlist_free(s->tnames, s->T);
    ef_free(s->group);
    ef_free(s->feat);
    ef_free(s->beta);
    ef_free(s->gamma);
    ef_free(s->delta);
    ef_free(s->rows);
    ef_free(s->missing);
    ef_free(s);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// ---- the world ----------------------------------------------------------------------------

static ef_status make_names(ef_synth *s, ef_rng *r, ef_error *err) {
    int F = s->F;
    s->fnames = ef_calloc((size_t)F, sizeof(char *));
    if (!s->fnames) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int j = 0; j < F; j++) {
        char nm[128];
        for (;;) {
            snprintf(nm, sizeof nm, "feature_%s_%s_%s", ADJ1[ef_rng_below(r, 32)],
                     ADJ2[ef_rng_below(r, 32)], NOUN[ef_rng_below(r, 32)]);
            int dup = 0;
            for (int k = 0; k < j && !dup; k++) dup = !strcmp(s->fnames[k], nm);
            if (!dup) break;
        }
        if (!(s->fnames[j] = ef_strdup(nm))) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    /* files and "all" list features alphabetically */
    qsort(s->fnames, (size_t)F, sizeof(char *), cmp_cstr);
    return EF_OK;
}

static ef_status make_groups_and_features(ef_synth *s, ef_rng *r, ef_error *err) {
    int F = s->F, G = s->G;
    s->group = ef_malloc((size_t)F * sizeof(int));
    s->feat = ef_calloc((size_t)F, sizeof *s->feat);
    int *order = ef_malloc((size_t)F * sizeof(int));
    if (!s->group || !s->feat || !order) {
        ef_free(order);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    /* group sizes proportional to Numerai's, at least one feature each */
    int total = 0, assigned = 0;
    for (int g = 0; g < G; g++) total += GROUP_SIZE[g];
    int size[SYN_MAX_GROUPS];
    for (int g = 0; g < G; g++) {
        size[g] = 1 + (int)((double)(F - G) * GROUP_SIZE[g] / total);
        assigned += size[g];
    }
    for (int g = 0; assigned < F; g = (g + 1) % G, assigned++) size[g]++;
    for (int j = 0; j < F; j++) order[j] = j;
    ef_rng_shuffle_int(r, order, (size_t)F);
    int k = 0;
    for (int g = 0; g < G; g++)
        for (int i = 0; i < size[g]; i++) s->group[order[k++]] = g;
    int late_last = EF_MAX(2, s->c.eras_train / 5);
    for (int j = 0; j < F; j++) {
        syn_feature *f = &s->feat[j];
        double u = ef_rng_uniform(r);
        f->kind = u < 0.10 ? SYN_NOISE : u < 0.27 ? SYN_ABS : SYN_LINEAR;
        f->p1 = SYN_K + s->group[j];
        f->p2 = (int)ef_rng_below(r, SYN_K);
        f->l1 = (float)(0.35 + 0.5 * ef_rng_uniform(r));
        f->l2 = (float)(ef_rng_uniform(r) - 0.5);
        if (f->kind == SYN_NOISE) f->l1 = f->l2 = 0;
        f->noise = (float)(0.8 + 0.6 * ef_rng_uniform(r));
    }
    /* 6% of features (at least one) arrive late: all 2 (missing) in the first eras */
    ef_rng_shuffle_int(r, order, (size_t)F);
    int n_late = (F * 6 + 99) / 100;
    for (int i = 0; i < n_late; i++) s->feat[order[i]].start_era = 1 + (int)ef_rng_below(r, (uint64_t)late_last);
    ef_free(order);
    return EF_OK;
}

/* Era-varying target coefficients: a stable base, AR(1) drift, sign flips in regimes. */
static ef_status make_coefficients(ef_synth *s, ef_rng *r, ef_error *err) {
    int E = s->n_eras, M = s->M;
    s->beta = ef_calloc((size_t)E * (size_t)M, sizeof(float));
    s->gamma = ef_malloc((size_t)E * sizeof(float));
    s->delta = ef_malloc((size_t)E * sizeof(float));
    if (!s->beta || !s->gamma || !s->delta) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    /* signal latents: 3 global styles + up to 3 group factors; 2 of them unstable */
    int sig[6], nsig = 0;
    double base[6];
    for (int k = 0; k < 3; k++) sig[nsig++] = k;
    for (int g = 0; g < EF_MIN(3, s->G); g++) sig[nsig++] = SYN_K + (int)((g * 5 + 1) % s->G);
    for (int i = 0; i < nsig; i++) base[i] = (0.5 + ef_rng_uniform(r)) * (ef_rng_uniform(r) < 0.5 ? -1 : 1);
    double drift[6], sign[6];
    for (int i = 0; i < nsig; i++) {
        drift[i] = 1.0;
        sign[i] = 1.0;
    }
    int unstable[6] = {0, 1, 0, 0, 1, 0};
    double gsign = 1.0;
    s->ia = SYN_K + (int)(2 % s->G);
    s->ib = 3 % SYN_K;
    s->ic = 4 % SYN_K;
    for (int e = 0; e < E; e++) {
        for (int i = 0; i < nsig; i++) {
            drift[i] = 1.0 + 0.9 * (drift[i] - 1.0) + 0.25 * ef_rng_normal(r);
            if (unstable[i] && ef_rng_uniform(r) < 1.0 / 40) sign[i] = -sign[i];
            s->beta[(size_t)e * (size_t)M + (size_t)sig[i]] = (float)(base[i] * drift[i] * sign[i]);
        }
        if (ef_rng_uniform(r) < 1.0 / 80) gsign = -gsign;
        s->gamma[e] = (float)(0.7 * gsign * (1.0 + 0.3 * ef_rng_normal(r)));
        s->delta[e] = (float)(0.6 * (1.0 + 0.3 * ef_rng_normal(r)));
    }
    /* aux targets: how much of the main signal they share, their own stable direction */
    for (int a = 0; a < SYN_N_AUX; a++) {
        s->aux_rho[a] = a == MAIN_AUX ? 1.0f : (float)(0.45 + 0.4 * ef_rng_uniform(r));
        s->aux_noise_c[a] = a == MAIN_AUX ? 1.0f : (float)(0.3 + 0.4 * ef_rng_uniform(r));
        double norm = 0;
        for (int m = 0; m < M; m++) {
            s->aux_w[a][m] = (float)(ef_rng_uniform(r) < 0.3 ? ef_rng_normal(r) : 0.0);
            norm += (double)s->aux_w[a][m] * s->aux_w[a][m];
        }
        if (norm == 0) {
            s->aux_w[a][a % M] = 1.0f;
            norm = 1;
        }
        for (int m = 0; m < M; m++) s->aux_w[a][m] = (float)(s->aux_w[a][m] / sqrt(norm));
    }
    return EF_OK;
}

ef_status ef_synth_create(ef_synth **out, const ef_synth_config *c, ef_error *err) {
    *out = NULL;
    EF_CHECK(c->eras_train >= 1 && c->eras_train <= 5000, err, EF_ERR_INVALID,
             "synth: eras_train must be in [1, 5000], got %d", c->eras_train);
    EF_CHECK(c->eras_validation >= 0 && c->eras_validation <= 5000, err, EF_ERR_INVALID,
             "synth: eras_validation must be in [0, 5000], got %d", c->eras_validation);
    EF_CHECK(c->rows_per_era >= 10 && c->rows_per_era <= 1000000, err, EF_ERR_INVALID,
             "synth: rows_per_era must be in [10, 1000000], got %d", c->rows_per_era);
    EF_CHECK(c->n_features >= 1 && c->n_features <= 20000, err, EF_ERR_INVALID,
             "synth: n_features must be in [1, 20000], got %d", c->n_features);
    EF_CHECK((int)c->generator >= 0 && (int)c->generator < EF_SYNTH_N_GENERATORS, err, EF_ERR_INVALID,
             "synth: unknown generator %d", (int)c->generator);
    ef_synth *s = ef_calloc(1, sizeof *s);
    if (!s) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    s->c = *c;
    s->F = c->n_features;
    s->G = EF_MIN(SYN_MAX_GROUPS, s->F);
    s->M = SYN_K + s->G;
    s->n_eras = c->eras_train + c->eras_validation + 1;
    ef_rng r;
    ef_rng_init(&r, c->seed, SYN_STREAM_WORLD);
    ef_status st = make_names(s, &r, err);
    if (!st) st = make_groups_and_features(s, &r, err);
    if (!st) st = make_coefficients(s, &r, err);
    if (!st) {
        /* targets: target_<aux>_20, target_<aux>_60 (alphabetical), then target */
        s->T = 2 * SYN_N_AUX + 1;
        s->tnames = ef_calloc((size_t)s->T, sizeof(char *));
        if (!s->tnames) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int a = 0; !st && a < SYN_N_AUX; a++)
            for (int h = 0; h < 2 && !st; h++) {
                char nm[64];
                snprintf(nm, sizeof nm, "target_%s_%d", AUX[a], h ? 60 : 20);
                if (!(s->tnames[2 * a + h] = ef_strdup(nm))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            }
        if (!st && !(s->tnames[s->T - 1] = ef_strdup("target"))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        s->rows = ef_malloc((size_t)s->n_eras * sizeof(int));
        if (!s->rows) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        /* eras grow over time like Numerai's (2,314 rows in 0001, ~7,000 now): 0.7x .. 1.3x */
        for (int e = 0; !st && e < s->n_eras; e++) {
            double t = s->n_eras > 2 ? (double)EF_MIN(e, s->n_eras - 2) / (s->n_eras - 2) : 0.5;
            s->rows[e] = EF_MAX(10, (int)lround(c->rows_per_era * (0.7 + 0.6 * t)));
        }
        /* occasional one-era outages of a feature (all 2), beside the late starters */
        size_t cells = (size_t)s->n_eras * (size_t)s->F;
        s->missing = ef_calloc(cells, 1);
        if (!s->missing) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int e = 0; !st && e < s->n_eras; e++)
            for (int j = 0; j < s->F; j++)
                s->missing[(size_t)e * (size_t)s->F + (size_t)j] =
                    (uint8_t)(e < s->feat[j].start_era || ef_rng_uniform(&r) < 0.002);
    }
    if (!st && c->generator != EF_SYNTH_FACTOR) st = ef_synth_zoo_create(s, err);
    if (st) {
        ef_synth_destroy(s);
        return st;
    }
    *out = s;
    return EF_OK;
}

// ---- quantile binning -------------------------------------------------------------------

/* k-th smallest of a[0..n) (a is reordered). Quickselect with a median-of-3 pivot and a
 * branch-free Lomuto partition (swap always, advance on "less"): random data makes a
 * branchy partition mispredict about half of its comparisons. Deterministic. */
static double select_kth(double *a, size_t n, size_t kk) {
    long lo = 0, hi = (long)n - 1, k = (long)kk;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        /* median of a[lo], a[mid], a[hi] into a[hi] */
        if (a[mid] < a[lo]) { double t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
        if (a[hi] < a[lo]) { double t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
        if (a[mid] < a[hi]) { double t = a[mid]; a[mid] = a[hi]; a[hi] = t; }
        double p = a[hi];
        long j = lo;
        for (long i = lo; i < hi; i++) {
            double x = a[i];
            a[i] = a[j];
            a[j] = x;
            j += x < p;
        }
        a[hi] = a[j];
        a[j] = p;
        if (k == j) return p;
        if (k < j) hi = j - 1;
        else lo = j + 1;
    }
    return a[k];
}

/* Bins v[0..n) (stride vs) into levels: level = #{cuts c : v >= c}, cut c at the value
 * of rank ceil(q_c * n). Values are continuous (no ties). */
void ef_synth_bin(const double *v, size_t n, size_t vs, const double *q, int ncut, double *scratch,
                  int8_t *out, size_t os) {
    for (size_t i = 0; i < n; i++) scratch[i] = v[i * vs];
    /* increasing cuts: after selecting rank k, ranks >= k lie in scratch[k..n) */
    double cut[8];
    size_t from = 0;
    for (int c = 0; c < ncut; c++) {
        size_t k = (size_t)ceil(q[c] * (double)n - 1e-9);
        if (k >= n) k = n - 1;
        if (k < from) k = from;
        cut[c] = select_kth(scratch + from, n - from, k - from);
        from = k;
    }
    for (size_t i = 0; i < n; i++) {
        int l = 0;
        for (int c = 0; c < ncut; c++) l += v[i * vs] >= cut[c];
        out[i * os] = (int8_t)l;
    }
}

void ef_synth_put_levels(int8_t *X, size_t F, size_t j0, const int8_t *lv, size_t n, size_t nb) {
    for (size_t i = 0; i < n; i++) {
        int8_t *x = X + i * F + j0;
        for (size_t b = 0; b < nb; b++) x[b] = lv[b * n + i];
    }
}
