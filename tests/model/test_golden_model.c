/* Golden test: eraformer's transformer against the PyTorch reference in tools/gen_golden.py
 * (an independent re-implementation of both layouts), for the tiny configs there
 * (L=2, C=32, NH=2, d_max=5, k=8, B=3, per-sequence d = 5,3,4, ~25% missing features;
 * rows: n_ctx = 5; interleaved: max_points 10 > k so unused positions are exercised).
 *
 * Per layout, from tests/model/golden/<layout>_{params,grads,steps}.safetensors:
 *   1. ef_model_load reads the torch-initialised parameters (eraformer's checkpoint format);
 *   2. one forward: predictions |a-b| <= 1e-5 + 1e-4|b|, loss to 1e-5 relative;
 *   3. one backward: every gradient of every tensor |a-b| <= 1e-5 + 1e-4|b|;
 *   4. 5 steps of clip_grad(1.0) + AdamW (lr 1e-3, betas 0.9/0.95, eps 1e-8, wd 0.1) on the
 *      same batch: each step's loss to 1e-5 relative, each pre-clip gradient norm to 1e-5
 *      relative, the final parameters |a-b| <= 1e-5 + 1e-4|b| (see KBIAS_ATOL below for the
 *      one exception);
 *   5. a negative control: a 1e-3 change of one weight must break the prediction check, so
 *      the tolerances above are known to be tight enough to see a real error.
 * Every mismatch is a hard failure (non-zero exit). Regenerate the files with
 * `/usr/bin/python3 tools/gen_golden.py` (see its docstring). */
#include <cjson/cJSON.h>
#include <string.h>
#include "eraformer/model.h"
#include "test.h"

#define ATOL 1e-5
#define RTOL 1e-4
#define LOSS_RTOL 1e-5
#define NSTEPS 5
#define LR 1e-3
/* The one exception, the key part of the qkv bias after the AdamW steps: adding b_k to
 * every key adds q·b_k to a whole row of scores, which softmax ignores, so its gradient is
 * analytically 0 and both implementations hold only rounding noise there (checked above by
 * the gradient comparison, |g| <= 1e-5). AdamW normalises noise to steps of about ±lr, in
 * directions that differ between the two, so after NSTEPS steps the two can differ by up to
 * 2·NSTEPS·lr (measured: 5e-4); that slice does not influence any output. */
#define KBIAS_ATOL (2.0 * NSTEPS * LR)

// ---- a minimal safetensors reader (F32 tensors only) ------------------------------------

typedef struct st_file {
    char path[512];
    char *buf;
    size_t size;
    cJSON *h;
    const unsigned char *data;
    size_t data_len;
} st_file;

static int st_open(st_file *f, const char *dir, const char *layout, const char *kind) {
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s/%s_%s.safetensors", dir, layout, kind);
    ef_error err = {0};
    if (ef_file_read_all(f->path, &f->buf, &f->size, &err) != EF_OK) {
        fprintf(stderr, "cannot read %s: %s\n", f->path, err.msg);
        return 0;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8 && f->size >= 8; i++) hlen |= (uint64_t)(unsigned char)f->buf[i] << (8 * i);
    if (f->size < 8 || hlen > f->size - 8 || !(f->h = cJSON_ParseWithLength(f->buf + 8, (size_t)hlen))) {
        fprintf(stderr, "%s: not a safetensors file\n", f->path);
        return 0;
    }
    f->data = (const unsigned char *)f->buf + 8 + hlen;
    f->data_len = f->size - 8 - (size_t)hlen;
    return 1;
}

static void st_close(st_file *f) {
    cJSON_Delete(f->h);
    ef_free(f->buf);
    memset(f, 0, sizeof *f);
}

/* The F32 tensor `name` with `want` elements (0: any; *n receives the count), or NULL after
 * a failed CHECK. shape (up to 4 dims) is filled when non-NULL. */
static const float *st_get(const st_file *f, const char *name, size_t want, size_t *n, int64_t shape[4]) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f->h, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    int ok = cJSON_IsString(dt) && !strcmp(dt->valuestring, "F32") && cJSON_IsArray(sh) &&
             cJSON_GetArraySize(sh) <= 4 && cJSON_IsArray(off) && cJSON_GetArraySize(off) == 2;
    size_t numel = 1;
    for (int i = 0; ok && i < cJSON_GetArraySize(sh); i++) {
        double v = cJSON_GetArrayItem(sh, i)->valuedouble;
        numel *= (size_t)v;
        if (shape) shape[i] = (int64_t)v;
    }
    double b = ok ? cJSON_GetArrayItem(off, 0)->valuedouble : 0, e = ok ? cJSON_GetArrayItem(off, 1)->valuedouble : 0;
    ok = ok && b >= 0 && e <= (double)f->data_len && e - b == 4.0 * (double)numel && (size_t)b % 4 == 0 &&
         (want == 0 || numel == want);
    CHECKF(ok, "%s: tensor '%s' missing, not F32, out of bounds or not %zu floats", f->path, name, want);
    if (!ok) return NULL;
    if (n) *n = numel;
    return (const float *)(const void *)(f->data + (size_t)b);
}

// ---- comparison ---------------------------------------------------------------------------

/* the largest |a-b| / (atol + rtol|b|) seen (reported: how much of the tolerance is used) */
static double tol_used;
static char tol_used_what[160];

/* Counts elements outside |a-b| <= atol + rtol|b|; reports the first few unless quiet. */
static size_t count_off(const char *what, const float *got, const float *want, size_t n, double atol, double rtol,
                        int quiet) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i], d = fabs(a - b);
        if (d > worst) worst = d;
        if (!quiet && d / (atol + rtol * fabs(b)) > tol_used) {
            tol_used = d / (atol + rtol * fabs(b));
            snprintf(tol_used_what, sizeof tol_used_what, "%s[%zu]", what, i);
        }
        if (!(d <= atol + rtol * fabs(b))) {
            if (!quiet && bad < 4) fprintf(stderr, "  %s[%zu]: eraformer %.9g torch %.9g\n", what, i, a, b);
            bad++;
        }
    }
    if (!quiet && bad) fprintf(stderr, "  %s: %zu of %zu off, max |diff| %.3g\n", what, bad, n, worst);
    return bad;
}

static void check_close(const char *what, const float *got, const float *want, size_t n) {
    size_t bad = count_off(what, got, want, n, ATOL, RTOL, 0);
    CHECKF(bad == 0, "%s: %zu of %zu values outside %g + %g|b|", what, bad, n, ATOL, RTOL);
}

static void check_rel(const char *what, double got, double want, double rtol) {
    if (fabs(got - want) / (rtol * fabs(want)) > tol_used) {
        tol_used = fabs(got - want) / (rtol * fabs(want));
        snprintf(tol_used_what, sizeof tol_used_what, "%s", what);
    }
    CHECKF(fabs(got - want) <= rtol * fabs(want), "%s: eraformer %.9g torch %.9g (rtol %g)", what, got, want, rtol);
}

// ---- one layout -------------------------------------------------------------------------

typedef struct inputs {
    int B, k, D, n_ctx;
    uint8_t *mask;
    int *d;
    ef_batch batch;
} inputs;

static int read_inputs(inputs *in, const st_file *g) {
    int64_t sx[4] = {0}, sy[4] = {0};
    size_t nx, nd;
    const float *x = st_get(g, "x", 0, &nx, sx), *y = st_get(g, "y", 0, NULL, sy);
    if (!x || !y) return 0;
    in->B = (int)sx[0];
    in->k = (int)sx[1];
    in->D = (int)sx[2];
    CHECK(sy[0] == in->B && sy[1] == in->k);
    const float *mk = st_get(g, "mask", nx, NULL, NULL), *d = st_get(g, "d", (size_t)in->B, &nd, NULL);
    const float *nc = st_get(g, "n_ctx", 1, NULL, NULL);
    if (!mk || !d || !nc) return 0;
    in->mask = ef_malloc(nx);
    in->d = ef_malloc((size_t)in->B * sizeof(int));
    if (!in->mask || !in->d) return 0;
    for (size_t i = 0; i < nx; i++) in->mask[i] = mk[i] != 0.0f;
    for (int b = 0; b < in->B; b++) in->d[b] = (int)d[b];
    in->n_ctx = (int)nc[0];
    ef_batch bt = {in->B, in->k, in->n_ctx, x, y, in->mask, in->d};
    in->batch = bt;
    return 1;
}

/* Compares every parameter-shaped tensor of block (params or grads) with "<prefix><name>".
 * kbias_atol > 0: the key slice of each layer's qkv bias is compared with that absolute
 * tolerance instead (see KBIAS_ATOL). */
static void check_block(ef_model *m, const float *block, const st_file *f, const char *prefix, double kbias_atol) {
    int C = ef_model_cfg(m)->d_model, L = ef_model_cfg(m)->n_layer;
    for (int i = 0; i < EF_NPARAM_TENSORS; i++) {
        const ef_param_info *pi = ef_model_param_info(m, i);
        if (!pi->size) continue;
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, pi->name);
        const float *want = st_get(f, name, pi->size, NULL, NULL);
        if (!want) continue;
        const float *got = block + pi->offset;
        if (i != EF_P_QKVB || kbias_atol <= 0) {
            check_close(name, got, want, pi->size);
            continue;
        }
        for (int l = 0; l < L; l++) {
            const float *g = got + (size_t)l * 3 * C, *w = want + (size_t)l * 3 * C;
            char part[160];
            snprintf(part, sizeof part, "%s[layer %d].q", name, l);
            check_close(part, g, w, (size_t)C);
            snprintf(part, sizeof part, "%s[layer %d].v", name, l);
            check_close(part, g + 2 * C, w + 2 * C, (size_t)C);
            snprintf(part, sizeof part, "%s[layer %d].k", name, l);
            size_t bad = count_off(part, g + C, w + C, (size_t)C, kbias_atol, 0.0, 0);
            CHECKF(bad == 0, "%s: %zu of %d values differ by more than %g", part, bad, C, kbias_atol);
        }
    }
}

static void test_layout(const char *layout) {
    const char *dir = EF_SOURCE_DIR "/tests/model/golden";
    st_file gf = {0}, sf = {0};
    inputs in = {0};
    ef_model *m = NULL;
    ef_error err = {0};
    fprintf(stderr, "== %s\n", layout);
    char path[512];
    snprintf(path, sizeof path, "%s/%s_params.safetensors", dir, layout);
    ef_status s = ef_model_load(&m, path, 8, NULL, NULL, &err);
    CHECKF(s == EF_OK, "ef_model_load(%s): %s", path, err.msg);
    int ok = s == EF_OK && st_open(&gf, dir, layout, "grads") && st_open(&sf, dir, layout, "steps");
    CHECKF(ok, "%s: golden files missing or unreadable", layout);
    if (!ok || !read_inputs(&in, &gf)) goto done;
    CHECK(!strcmp(ef_layout_name(ef_model_cfg(m)->layout), layout));
    CHECK(in.D == ef_model_cfg(m)->d_max);

    /* forward */
    size_t nk = (size_t)in.B * in.k;
    float pred[256];
    double loss = 0;
    CHECK(nk <= 256);
    if (nk > 256) goto done;
    CHECK_OK(ef_model_forward(m, &in.batch, pred, &loss, &err));
    const float *want_pred = st_get(&gf, "pred", nk, NULL, NULL), *want_loss = st_get(&gf, "loss", 1, NULL, NULL);
    if (!want_pred || !want_loss) goto done;
    check_close("pred", pred, want_pred, nk);
    check_rel("loss", loss, want_loss[0], LOSS_RTOL);

    /* backward */
    ef_model_zero_grad(m);
    CHECK_OK(ef_model_backward(m, &err));
    check_block(m, ef_model_grads(m), &gf, "grad.", 0.0);

    /* negative control: one weight moved by 1e-3 must show in the predictions */
    float *w = ef_model_params(m) + ef_model_param_info(m, EF_P_QKVW)->offset + 7;
    float keep = *w;
    float pred2[256];
    *w += 1e-3f;
    CHECK_OK(ef_model_forward(m, &in.batch, pred2, NULL, &err));
    *w = keep;
    size_t moved = count_off("perturbed pred", pred2, want_pred, nk, ATOL, RTOL, 1);
    CHECKF(moved > 0, "a 1e-3 change of one qkv weight went unnoticed by the tolerance");

    /* AdamW steps */
    const float *want_losses = st_get(&sf, "losses", NSTEPS, NULL, NULL);
    const float *want_norms = st_get(&sf, "grad_norms", NSTEPS, NULL, NULL);
    if (!want_losses || !want_norms) goto done;
    ef_adamw opt = {(float)LR, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int st = 0; st < NSTEPS; st++) {
        char what[64];
        ef_model_zero_grad(m);
        CHECK_OK(ef_model_forward(m, &in.batch, NULL, &loss, &err));
        CHECK_OK(ef_model_backward(m, &err));
        double norm = ef_model_clip_grad(m, 1.0);
        ef_model_adamw_step(m, &opt);
        snprintf(what, sizeof what, "step %d loss", st + 1);
        check_rel(what, loss, want_losses[st], LOSS_RTOL);
        snprintf(what, sizeof what, "step %d grad norm", st + 1);
        check_rel(what, norm, want_norms[st], LOSS_RTOL);
    }
    CHECK(ef_model_step(m) == NSTEPS);
    check_block(m, ef_model_params(m), &sf, "final.", KBIAS_ATOL);
    fprintf(stderr, "   largest error / tolerance: %.3g (%s)\n", tol_used, tol_used_what);
    tol_used = 0;

done:
    ef_free(in.mask);
    ef_free(in.d);
    ef_model_destroy(m);
    st_close(&gf);
    st_close(&sf);
}

int main(void) {
    test_layout("interleaved");
    test_layout("rows");
    TEST_MAIN_END;
}
