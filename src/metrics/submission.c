/* Submission validity, as numerai-tools submissions.py and numerai-predict check it:
 * header exactly id,prediction (or id,probability); no NaN; values in [0, 1] (np.isclose at
 * the edges); not constant (std ~ 0); ids unique; every live id present; ids not in the live
 * set are "invalid tickers": counted, allowed, ignored by Numerai. Ids compare as strings. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include "base/ef_internal.h"
#include "metrics/metrics_internal.h"

// ---- string hash set ----------------------------------------------------------------------------

typedef struct idset {
    const char *const *keys;  /* the strings (not owned) */
    size_t *slot;             /* index into keys + 1, 0 = empty */
    size_t cap;
} idset;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int idset_init(idset *h, const char *const *keys, size_t n) {
    h->keys = keys;
    h->cap = 16;
    while (h->cap < 2 * n + 1) h->cap *= 2;
    h->slot = ef_calloc(h->cap, sizeof(size_t));
    return h->slot != NULL;
}

/* Returns the index of an equal key already present, or inserts key i and returns SIZE_MAX. */
static size_t idset_insert(idset *h, size_t i) {
    size_t m = h->cap - 1, p = (size_t)hash_str(h->keys[i]) & m;
    while (h->slot[p]) {
        size_t j = h->slot[p] - 1;
        if (!strcmp(h->keys[j], h->keys[i])) return j;
        p = (p + 1) & m;
    }
    h->slot[p] = i + 1;
    return SIZE_MAX;
}

static size_t idset_find(const idset *h, const char *key) {
    size_t m = h->cap - 1, p = (size_t)hash_str(key) & m;
    while (h->slot[p]) {
        size_t j = h->slot[p] - 1;
        if (!strcmp(h->keys[j], key)) return j;
        p = (p + 1) & m;
    }
    return SIZE_MAX;
}

// ---- checks -------------------------------------------------------------------------------------

ef_status ef_submission_check_header(const char *const *cols, size_t ncols, ef_error *err) {
    int ok = ncols == 2 && !strcmp(cols[0], "id") &&
             (!strcmp(cols[1], "prediction") || !strcmp(cols[1], "probability"));
    if (ok) return EF_OK;
    char got[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < ncols && len + 4 < sizeof got; i++) {
        int w = snprintf(got + len, sizeof got - len, "%s\"%s\"", i ? "," : "", cols[i]);
        if (w < 0) break;
        len += (size_t)w;
        if (len >= sizeof got) len = sizeof got - 1;
    }
    return EF_ERR(err, EF_ERR_FORMAT,
                  "submission header must be exactly id,prediction (or id,probability); got %s",
                  ncols ? got : "no columns");
}

static void append(ef_submission_report *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void append(ef_submission_report *r, const char *fmt, ...) {
    size_t len = strlen(r->message);
    if (len + 2 >= sizeof r->message) return;
    if (len) r->message[len++] = '\n', r->message[len] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message + len, sizeof r->message - len, fmt, ap);
    va_end(ap);
}

static void copy_id(char *dst, size_t cap, const char *id) {
    if (dst[0]) return;
    snprintf(dst, cap, "%s", id);
}

static int isclose(double a, double b) { return fabs(a - b) <= 1e-8 + 1e-5 * fabs(b); }

ef_status ef_submission_validate(const char *const *ids, const double *values, size_t n,
                                 const char *const *live_ids, size_t n_live,
                                 ef_submission_report *rep, ef_error *err) {
    ef_submission_report local;
    ef_submission_report *r = rep ? rep : &local;
    memset(r, 0, sizeof *r);
    r->n_rows = n;
    r->n_live = n_live;
    if (n == 0) {
        append(r, "the submission has no rows");
        return EF_ERR(err, EF_ERR_FORMAT, "%s", r->message);
    }
    idset sub, live;
    if (!idset_init(&sub, ids, n)) return EF_ERR(err, EF_ERR_NOMEM, "validate: out of memory");
    if (!idset_init(&live, live_ids, n_live)) {
        ef_free(sub.slot);
        return EF_ERR(err, EF_ERR_NOMEM, "validate: out of memory");
    }
    for (size_t i = 0; i < n_live; i++) (void)idset_insert(&live, i);
    unsigned char *seen = ef_calloc(n_live ? n_live : 1, 1);
    if (!seen) {
        ef_free(sub.slot);
        ef_free(live.slot);
        return EF_ERR(err, EF_ERR_NOMEM, "validate: out of memory");
    }
    double sum = 0, sum2 = 0;
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        if (idset_insert(&sub, i) != SIZE_MAX) {
            r->n_duplicate++;
            copy_id(r->first_duplicate, sizeof r->first_duplicate, ids[i]);
        }
        size_t j = idset_find(&live, ids[i]);
        if (j == SIZE_MAX) {
            r->n_extra++;
            copy_id(r->first_extra, sizeof r->first_extra, ids[i]);
        } else {
            seen[j] = 1;
        }
        double v = values[i];
        if (isnan(v)) {
            r->n_nan++;
            copy_id(r->first_nan, sizeof r->first_nan, ids[i]);
            continue;
        }
        if ((v < 0 && !isclose(v, 0)) || (v > 1 && !isclose(v, 1))) {
            r->n_out_of_range++;
            copy_id(r->first_out_of_range, sizeof r->first_out_of_range, ids[i]);
        }
        sum += v;
        nv++;
    }
    double mean = nv ? sum / (double)nv : 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(values[i])) sum2 += (values[i] - mean) * (values[i] - mean);
    double sd = nv > 1 ? sqrt(sum2 / (double)(nv - 1)) : 0;
    r->constant = nv == 0 || isclose(sd, 0);
    for (size_t j = 0; j < n_live; j++)
        if (!seen[j]) {
            r->n_missing++;
            copy_id(r->first_missing, sizeof r->first_missing, live_ids[j]);
        }
    ef_free(seen);
    ef_free(sub.slot);
    ef_free(live.slot);

    if (r->n_nan) append(r, "%zu prediction(s) are NaN (first: id %s)", r->n_nan, r->first_nan);
    if (r->n_out_of_range)
        append(r, "%zu prediction(s) are outside [0, 1] (first: id %s)", r->n_out_of_range,
               r->first_out_of_range);
    if (r->constant) append(r, "the predictions are constant (std ~ 0): Numerai rejects them");
    if (r->n_duplicate)
        append(r, "%zu duplicate id(s) (first: %s): every live id must appear once",
               r->n_duplicate, r->first_duplicate);
    if (r->n_missing)
        append(r, "%zu of %zu live id(s) are missing (first: %s)", r->n_missing, n_live,
               r->first_missing);
    if (r->n_missing == n_live && n_live > 0 && r->n_extra == n)
        append(r, "no id matches the live ids: is this the right round's live file?");
    if (r->message[0]) return EF_ERR(err, EF_ERR_FORMAT, "%s", r->message);
    return EF_OK;
}
