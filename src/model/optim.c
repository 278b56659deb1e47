/* AdamW (PyTorch's torch.optim.AdamW arithmetic), global-norm clipping, LR schedule. */
#include <math.h>
#include <string.h>
#include "model/model_internal.h"
#include "nn/nn_internal.h"

/* Weight decay applies to matrices (read-in, positions, attention and MLP weights, head),
 * not to biases, LayerNorm parameters or the row-type embeddings. */
static int decays(int tensor) {
    switch (tensor) {
    case EF_P_WIN: case EF_P_WPE: case EF_P_QKVW: case EF_P_ATTPROJW: case EF_P_FCW: case EF_P_FCPROJW: case EF_P_WOUT:
        return 1;
    default:
        return 0;
    }
}

void ef_model_adamw_step(ef_model *m, const ef_adamw *o) {
    m->step++;
    double bc1 = 1.0 - pow((double)o->beta1, (double)m->step);
    double bc2 = 1.0 - pow((double)o->beta2, (double)m->step);
    float step_size = (float)(o->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    for (int t = 0; t < EF_NPARAM_TENSORS; t++) {
        long n = (long)m->info[t].size;
        size_t off = m->info[t].offset;
        float *p = m->params + off, *g = m->grads + off, *mm = m->m + off, *vv = m->v + off;
        float keep = decays(t) ? 1.0f - o->lr * o->weight_decay : 1.0f;
#pragma omp parallel if (n > ef_par_min_elems())
        {
            EF_PAR_NOTE();
#pragma omp for schedule(static, 4096)
            for (long i = 0; i < n; i++) {
                float pi = p[i] * keep;
                mm[i] = mm[i] * b1 + (1.0f - b1) * g[i];
                vv[i] = vv[i] * b2 + (1.0f - b2) * g[i] * g[i];
                float denom = sqrtf(vv[i]) / bc2_sqrt + eps;
                p[i] = pi - step_size * (mm[i] / denom);
            }
        }
    }
}

double ef_model_clip_grad(ef_model *m, double max_norm) {
    /* fixed chunks summed in order: the norm does not depend on the thread count */
    enum { CH = 1 << 16 };
    long n = (long)m->n_params, nch = (n + CH - 1) / CH;
    double *part = ef_calloc((size_t)nch, sizeof(double));
    double ss = 0.0;
    if (part) {
#pragma omp parallel for schedule(static) if (nch > 1)
        for (long c = 0; c < nch; c++) {
            double s = 0.0;
            long e = EF_MIN(n, (c + 1) * CH);
            for (long i = c * CH; i < e; i++) s += (double)m->grads[i] * m->grads[i];
            part[c] = s;
        }
        for (long c = 0; c < nch; c++) ss += part[c];
        ef_free(part);
    } else {
        for (long i = 0; i < n; i++) ss += (double)m->grads[i] * m->grads[i];
    }
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float coef = (float)(max_norm / (norm + 1e-6));
#pragma omp parallel if (n > ef_par_min_elems())
        {
            EF_PAR_NOTE();
#pragma omp for schedule(static, 4096)
            for (long i = 0; i < n; i++) m->grads[i] *= coef;
        }
    }
    return norm;
}

float ef_lr_schedule(float lr, long step, long warmup, long total, float min_ratio) {
    if (warmup > 0 && step < warmup) return lr * (float)(step + 1) / (float)warmup;
    if (total <= warmup) return lr;
    double prog = (double)(step - warmup) / (double)(total - warmup);
    if (prog > 1.0) prog = 1.0;
    double cosv = 0.5 * (1.0 + cos(EF_PI * prog));
    return (float)(lr * (min_ratio + (1.0 - min_ratio) * cosv));
}
