/* Prior configuration: defaults, class / x-sampler names, the mixture and "key=value"
 * parsers, validation, a one-line description, Garg's error scale and the curriculum. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "prior/prior_internal.h"

// ---- names ----------------------------------------------------------------------------

static const char *const class_names[EF_PRIOR_CLASS_COUNT] = {
    "linear", "laplace", "elasticnet", "sparse", "relu",     "tree",
    "forest", "ar_drift", "regime",    "lstm",   "sinusoid", "quadratic"};
static const char *const xdist_names[EF_PRIOR_X_COUNT] = {"gaussian", "correlated", "uniform",
                                                          "numerai"};

const char *ef_prior_class_name(ef_prior_class c) {
    return (int)c >= 0 && c < EF_PRIOR_CLASS_COUNT ? class_names[c] : "?";
}

const char *ef_prior_xdist_name(ef_prior_xdist x) {
    return (int)x >= 0 && x < EF_PRIOR_X_COUNT ? xdist_names[x] : "?";
}

int ef_prior_class_from_name(const char *name, ef_prior_class *out) {
    for (int c = 0; c < EF_PRIOR_CLASS_COUNT; c++)
        if (strcmp(name, class_names[c]) == 0) {
            *out = (ef_prior_class)c;
            return 0;
        }
    if (strcmp(name, "drift") == 0) {
        *out = EF_PRIOR_DRIFT;
        return 0;
    }
    return -1;
}

// ---- defaults ---------------------------------------------------------------------------

void ef_prior_config_default(ef_prior_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->class_weights[EF_PRIOR_LINEAR] = 1.0;
    cfg->x_weights[EF_PRIOR_X_GAUSSIAN] = 1.0;
    cfg->d_max = 20;
    cfg->n_points = 41;
    cfg->x_cond = 100.0;
    cfg->x_skewed = 0;
    cfg->numerai_factors = 4;
    cfg->numerai_noise = 0.5;
    cfg->penalized_collinear = 1;
    cfg->enet_l1_share = 0.5;
    cfg->sparse_s_min = 3;
    cfg->sparse_s_max = 3;
    cfg->relu_hidden = 100;
    cfg->tree_depth = 4;
    cfg->tree_quantile_prob = 0.0;
    cfg->forest_trees = 10;
    cfg->forest_depth = 3;
    cfg->drift_phi_min = 0.9;
    cfg->drift_phi_max = 0.99;
    cfg->regime_rate = 0.05;
    cfg->lstm_hidden = 8;
    cfg->sin_freq_min = 0.5;
    cfg->sin_freq_max = 2.0;
    cfg->noise_prob = 0.0;
    cfg->noise_min = 0.05;
    cfg->noise_max = 0.5;
    cfg->quantize_prob = 0.0;
    cfg->mask_prob = 0.0;
    cfg->mask_rate_max = 0.3;
    cfg->permute_prob = 0.0;
    cfg->random_d_prob = 0.0;
    cfg->random_d_min = 1;
    cfg->target_norm = EF_PRIOR_TARGET_GARG;
}

// ---- parsing helpers --------------------------------------------------------------------

/* Copies the next comma-separated item of *p into buf, without surrounding blanks; *col is
 * the item's offset within the remaining text. Returns 0 at the end of the list. */
static int next_item(const char **p, char *buf, size_t n, size_t *col) {
    const char *s = *p;
    if (!*s) return 0;
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    *p = e ? e + 1 : s + len;
    *col = 0;
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
        (*col)++;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len >= n) len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 1;
}

/* Trims blanks on both sides in place. */
static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -1000000000L || v > 1000000000L) return -1;
    *out = (int)v;
    return 0;
}

/* Parses "name=w,..." into weights (n entries, zeroed first). names_ok(name, weights, w)
 * adds w for name, returning 0 or -1 for an unknown name. */
typedef int (*weight_adder)(const char *name, double *weights, double w);

static ef_status parse_weights(const char *what, const char *spec, weight_adder add,
                               double *weights, int n, ef_error *err) {
    double tmp[(int)EF_PRIOR_CLASS_COUNT > (int)EF_PRIOR_X_COUNT ? (int)EF_PRIOR_CLASS_COUNT : (int)EF_PRIOR_X_COUNT];
    memset(tmp, 0, sizeof tmp);
    if (!spec || !*spec) return EF_ERR(err, EF_ERR_INVALID, "%s: empty specification", what);
    const char *p = spec;
    char item[128];
    size_t col = 0, base = 0;
    while (next_item(&p, item, sizeof item, &col)) {
        size_t at = base + col + 1;  /* 1-based column of the item */
        base = (size_t)(p - spec);
        char *eq = strchr(item, '='), *name = item;
        double w = 1.0;
        if (eq) {
            *eq = '\0';
            name = trim(item);
            char *val = trim(eq + 1);
            if (parse_double(val, &w) != 0 || w < 0)
                return EF_ERR(err, EF_ERR_INVALID,
                              "%s: '%s' at column %zu: expected a finite weight >= 0 after '='",
                              what, val, at);
        }
        if (add(name, tmp, w) != 0)
            return EF_ERR(err, EF_ERR_INVALID, "%s: unknown name '%s' at column %zu", what, name, at);
    }
    double sum = 0;
    for (int i = 0; i < n; i++) sum += tmp[i];
    if (!(sum > 0)) return EF_ERR(err, EF_ERR_INVALID, "%s: the weights must have a positive sum", what);
    memcpy(weights, tmp, (size_t)n * sizeof *weights);
    return EF_OK;
}

static int add_class(const char *name, double *weights, double w) {
    if (strcmp(name, "timeseries") == 0) {
        weights[EF_PRIOR_DRIFT] += w / 3;
        weights[EF_PRIOR_REGIME] += w / 3;
        weights[EF_PRIOR_LSTM] += w / 3;
        return 0;
    }
    ef_prior_class c;
    if (ef_prior_class_from_name(name, &c) != 0) return -1;
    weights[c] += w;
    return 0;
}

static int add_xdist(const char *name, double *weights, double w) {
    for (int i = 0; i < EF_PRIOR_X_COUNT; i++)
        if (strcmp(name, xdist_names[i]) == 0) {
            weights[i] += w;
            return 0;
        }
    return -1;
}

ef_status ef_prior_config_parse_mixture(ef_prior_config *cfg, const char *spec, ef_error *err) {
    return parse_weights("prior mixture", spec, add_class, cfg->class_weights,
                         EF_PRIOR_CLASS_COUNT, err);
}

ef_status ef_prior_config_parse_x(ef_prior_config *cfg, const char *spec, ef_error *err) {
    return parse_weights("x sampler mixture", spec, add_xdist, cfg->x_weights, EF_PRIOR_X_COUNT,
                         err);
}

// ---- scalar parameters ------------------------------------------------------------------

enum { P_INT, P_DOUBLE, P_NORM };
typedef struct param_desc {
    const char *name;
    int type;
    size_t off;
    double lo, hi;
} param_desc;

#define PI_(f, lo, hi) {#f, P_INT, offsetof(ef_prior_config, f), lo, hi}
#define PD_(f, lo, hi) {#f, P_DOUBLE, offsetof(ef_prior_config, f), lo, hi}
static const param_desc params[] = {
    PI_(d_max, 1, 4096),
    PI_(n_points, 1, 1000000),
    PD_(x_cond, 1, 1e12),
    PI_(x_skewed, 0, 1),
    PI_(numerai_factors, 1, 4096),
    PD_(numerai_noise, 0, 1),
    PI_(penalized_collinear, 0, 1),
    PD_(enet_l1_share, 0, 1),
    PI_(sparse_s_min, 1, 4096),
    PI_(sparse_s_max, 1, 4096),
    PI_(relu_hidden, 1, 100000),
    PI_(tree_depth, 1, 16),
    PD_(tree_quantile_prob, 0, 1),
    PI_(forest_trees, 1, 10000),
    PI_(forest_depth, 1, 16),
    PD_(drift_phi_min, -1, 1),
    PD_(drift_phi_max, -1, 1),
    PD_(regime_rate, 0, 1),
    PI_(lstm_hidden, 1, 4096),
    PD_(sin_freq_min, 0, 1e6),
    PD_(sin_freq_max, 0, 1e6),
    PD_(noise_prob, 0, 1),
    PD_(noise_min, 0, 1e6),
    PD_(noise_max, 0, 1e6),
    PD_(quantize_prob, 0, 1),
    PD_(mask_prob, 0, 1),
    PD_(mask_rate_max, 0, 1),
    PD_(permute_prob, 0, 1),
    PD_(random_d_prob, 0, 1),
    PI_(random_d_min, 1, 4096),
    {"target_norm", P_NORM, offsetof(ef_prior_config, target_norm), 0, 1},
};
#undef PI_
#undef PD_

static ef_status set_param(ef_prior_config *cfg, const char *key, const char *val, size_t col,
                           ef_error *err) {
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        const param_desc *p = &params[i];
        if (strcmp(key, p->name) != 0) continue;
        char *field = (char *)cfg + p->off;
        if (p->type == P_NORM) {
            ef_prior_target_norm v;
            if (strcmp(val, "garg") == 0) v = EF_PRIOR_TARGET_GARG;
            else if (strcmp(val, "unit") == 0) v = EF_PRIOR_TARGET_UNIT;
            else
                return EF_ERR(err, EF_ERR_INVALID,
                              "prior params: column %zu: target_norm expects 'garg' or 'unit', "
                              "got '%s'", col, val);
            memcpy(field, &v, sizeof v);
        } else if (p->type == P_INT) {
            int v;
            if (parse_int(val, &v) != 0 || v < p->lo || v > p->hi)
                return EF_ERR(err, EF_ERR_INVALID,
                              "prior params: column %zu: %s expects an integer in [%g, %g], got "
                              "'%s'", col, key, p->lo, p->hi, val);
            memcpy(field, &v, sizeof v);
        } else {
            double v;
            if (parse_double(val, &v) != 0 || v < p->lo || v > p->hi)
                return EF_ERR(err, EF_ERR_INVALID,
                              "prior params: column %zu: %s expects a number in [%g, %g], got "
                              "'%s'", col, key, p->lo, p->hi, val);
            memcpy(field, &v, sizeof v);
        }
        return EF_OK;
    }
    return EF_ERR(err, EF_ERR_INVALID, "prior params: column %zu: unknown parameter '%s'", col,
                  key);
}

ef_status ef_prior_config_parse_params(ef_prior_config *cfg, const char *spec, ef_error *err) {
    if (!spec || !*spec) return EF_ERR(err, EF_ERR_INVALID, "prior params: empty specification");
    ef_prior_config tmp = *cfg;
    const char *p = spec;
    char item[160];
    size_t col, base = 0;
    while (next_item(&p, item, sizeof item, &col)) {
        size_t at = base + col + 1;  /* 1-based column of the item */
        base = (size_t)(p - spec);
        char *eq = strchr(item, '=');
        if (!eq)
            return EF_ERR(err, EF_ERR_INVALID, "prior params: column %zu: expected key=value, got '%s'",
                          at, item);
        *eq = '\0';
        EF_TRY(set_param(&tmp, trim(item), trim(eq + 1), at, err));
    }
    *cfg = tmp;
    return EF_OK;
}

// ---- validation and description ---------------------------------------------------------

static ef_status check_weights(const char *what, const double *w, int n, ef_error *err) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
        EF_CHECK(isfinite(w[i]) && w[i] >= 0, err, EF_ERR_INVALID,
                 "prior config: %s weight %d is %g (expected finite and >= 0)", what, i, w[i]);
        sum += w[i];
    }
    EF_CHECK(sum > 0, err, EF_ERR_INVALID, "prior config: %s weights sum to 0", what);
    return EF_OK;
}

ef_status ef_prior_config_validate(const ef_prior_config *cfg, ef_error *err) {
    EF_CHECK(cfg != NULL, err, EF_ERR_INVALID, "prior config: NULL");
    EF_TRY(check_weights("class", cfg->class_weights, EF_PRIOR_CLASS_COUNT, err));
    EF_TRY(check_weights("x sampler", cfg->x_weights, EF_PRIOR_X_COUNT, err));
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        const param_desc *p = &params[i];
        const char *field = (const char *)cfg + p->off;
        double v;
        if (p->type == P_DOUBLE) {
            memcpy(&v, field, sizeof v);
        } else if (p->type == P_INT) {
            int iv;
            memcpy(&iv, field, sizeof iv);
            v = iv;
        } else {
            ef_prior_target_norm tn;
            memcpy(&tn, field, sizeof tn);
            v = (double)tn;
        }
        EF_CHECK(isfinite(v) && v >= p->lo && v <= p->hi, err, EF_ERR_INVALID,
                 "prior config: %s = %g is outside [%g, %g]", p->name, v, p->lo, p->hi);
    }
    EF_CHECK(cfg->sparse_s_min <= cfg->sparse_s_max, err, EF_ERR_INVALID,
             "prior config: sparse_s_min %d > sparse_s_max %d", cfg->sparse_s_min, cfg->sparse_s_max);
    EF_CHECK(cfg->drift_phi_min <= cfg->drift_phi_max, err, EF_ERR_INVALID,
             "prior config: drift_phi_min > drift_phi_max");
    EF_CHECK(cfg->sin_freq_min <= cfg->sin_freq_max, err, EF_ERR_INVALID,
             "prior config: sin_freq_min > sin_freq_max");
    EF_CHECK(cfg->noise_min <= cfg->noise_max, err, EF_ERR_INVALID,
             "prior config: noise_min > noise_max");
    return EF_OK;
}

static size_t append(char *buf, size_t n, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static size_t append(char *buf, size_t n, size_t at, const char *fmt, ...) {
    if (at >= n) return at;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + at, n - at, fmt, ap);
    va_end(ap);
    if (w < 0) return at;
    return at + (size_t)w;
}

void ef_prior_config_describe(const ef_prior_config *cfg, char *buf, size_t n) {
    if (!buf || n == 0) return;
    buf[0] = '\0';
    size_t at = append(buf, n, 0, "classes ");
    int first = 1;
    for (int c = 0; c < EF_PRIOR_CLASS_COUNT; c++) {
        if (cfg->class_weights[c] <= 0) continue;
        at = append(buf, n, at, "%s%s=%g", first ? "" : ",", class_names[c], cfg->class_weights[c]);
        first = 0;
    }
    at = append(buf, n, at, " x ");
    first = 1;
    for (int i = 0; i < EF_PRIOR_X_COUNT; i++) {
        if (cfg->x_weights[i] <= 0) continue;
        at = append(buf, n, at, "%s%s=%g", first ? "" : ",", xdist_names[i], cfg->x_weights[i]);
        first = 0;
    }
    /* d_max and n_points always, then only the settings that differ from the defaults */
    ef_prior_config def;
    ef_prior_config_default(&def);
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        const param_desc *p = &params[i];
        const char *field = (const char *)cfg + p->off, *dfield = (const char *)&def + p->off;
        int always = strcmp(p->name, "d_max") == 0 || strcmp(p->name, "n_points") == 0;
        if (p->type == P_DOUBLE) {
            double v, dv;
            memcpy(&v, field, sizeof v);
            memcpy(&dv, dfield, sizeof dv);
            if (always || v != dv) at = append(buf, n, at, " %s=%g", p->name, v);
        } else if (p->type == P_INT) {
            int v, dv;
            memcpy(&v, field, sizeof v);
            memcpy(&dv, dfield, sizeof dv);
            if (always || v != dv) at = append(buf, n, at, " %s=%d", p->name, v);
        } else if (cfg->target_norm != def.target_norm) {
            at = append(buf, n, at, " %s=%s", p->name,
                        cfg->target_norm == EF_PRIOR_TARGET_UNIT ? "unit" : "garg");
        }
    }
    if (at >= n) buf[n - 1] = '\0';
}

// ---- error scale ------------------------------------------------------------------------

double ef_prior_error_scale(ef_prior_class c, int d, int s) {
    switch (c) {
    case EF_PRIOR_LINEAR:
    case EF_PRIOR_LAPLACE:
    case EF_PRIOR_ELASTICNET:
    case EF_PRIOR_RELU:
    case EF_PRIOR_QUADRATIC:
    case EF_PRIOR_DRIFT:
    case EF_PRIOR_REGIME: return d > 0 ? (double)d : 1.0;
    case EF_PRIOR_SPARSE: return s > 0 ? (double)s : 1.0;
    default: return 1.0;
    }
}

// ---- curriculum -------------------------------------------------------------------------

void ef_curriculum_default(ef_curriculum *c, int d_end, int k_end) {
    c->d_end = d_end;
    c->d_start = d_end < 5 ? d_end : 5;
    c->d_inc = 1;
    c->k_end = k_end;
    c->k_inc = 2;
    int k0 = k_end - 2 * (d_end - c->d_start);
    c->k_start = k0 < 1 ? 1 : k0;
    c->every_steps = 2000;
}

ef_status ef_curriculum_validate(const ef_curriculum *c, ef_error *err) {
    EF_CHECK(c->d_start >= 1 && c->d_start <= c->d_end && c->d_inc >= 0, err, EF_ERR_INVALID,
             "curriculum: need 1 <= d_start <= d_end and d_inc >= 0 (got %d, %d, %d)", c->d_start,
             c->d_end, c->d_inc);
    EF_CHECK(c->k_start >= 1 && c->k_start <= c->k_end && c->k_inc >= 0, err, EF_ERR_INVALID,
             "curriculum: need 1 <= k_start <= k_end and k_inc >= 0 (got %d, %d, %d)", c->k_start,
             c->k_end, c->k_inc);
    EF_CHECK(c->every_steps >= 1, err, EF_ERR_INVALID, "curriculum: every_steps must be >= 1");
    return EF_OK;
}

/* start + inc * stage, capped at end, without overflow for any stage. */
static int grow(int start, int end, int inc, long stage) {
    if (inc <= 0 || stage <= 0) return start;
    long need = ((long)end - start + inc - 1) / inc;  /* stages to reach end */
    if (stage >= need) return end;
    return (int)(start + (long)inc * stage);
}

void ef_curriculum_at(const ef_curriculum *c, long step, int *d, int *k) {
    long stage = step > 0 && c->every_steps > 0 ? step / c->every_steps : 0;
    if (d) *d = grow(c->d_start, c->d_end, c->d_inc, stage);
    if (k) *k = grow(c->k_start, c->k_end, c->k_inc, stage);
}
