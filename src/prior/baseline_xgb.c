/* XGBoost baseline through its C API (Garg et al. 2022: 50 trees, depth 4, learning rate 0.1):
 * reg:squarederror, tree_method exact, nthread 1, base_score 0, NaN as the missing marker (so
 * a masked x = 0 is an ordinary value). Without libxgboost (EF_HAVE_XGBOOST undefined) the
 * baseline reports EF_ERR_UNSUPPORTED. */
#include <math.h>
#include <stdio.h>
#include "prior/prior_internal.h"
#ifdef EF_HAVE_XGBOOST
#include <xgboost/c_api.h>
#endif

#ifdef EF_HAVE_XGBOOST
static float *to_float(const double *a, size_t n) {
    float *f = ef_malloc((n ? n : 1) * sizeof *f);
    if (f)
        for (size_t i = 0; i < n; i++) f[i] = (float)a[i];
    return f;
}

#define XGB_TRY(call)                                                                        \
    do {                                                                                     \
        if ((call) != 0) {                                                                   \
            st = EF_ERR(err, EF_ERR_INTERNAL, "baseline xgboost: %s failed: %s", #call,      \
                        XGBGetLastError());                                                  \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)
#endif

ef_status ef_bl_xgb(const ef_baseline *b, const double *X, const double *y, int n, int d,
                    const double *Xq, int m, double *pred, ef_error *err) {
#ifdef EF_HAVE_XGBOOST
    ef_status st = EF_OK;
    DMatrixHandle dtrain = NULL, dq = NULL;
    BoosterHandle bst = NULL;
    float *xf = to_float(X, (size_t)n * d), *yf = to_float(y, (size_t)n);
    float *qf = to_float(Xq, (size_t)m * d);
    if (!xf || !yf || !qf) {
        st = EF_ERR(err, EF_ERR_NOMEM, "baseline xgboost: out of memory (n=%d d=%d)", n, d);
        goto done;
    }
    char depth[32], eta[64];
    snprintf(depth, sizeof depth, "%d", b->xgb_depth);
    snprintf(eta, sizeof eta, "%.17g", b->xgb_eta);
    XGB_TRY(XGDMatrixCreateFromMat(xf, (bst_ulong)n, (bst_ulong)d, NAN, &dtrain));
    XGB_TRY(XGDMatrixSetFloatInfo(dtrain, "label", yf, (bst_ulong)n));
    XGB_TRY(XGBoosterCreate(&dtrain, 1, &bst));
    XGB_TRY(XGBoosterSetParam(bst, "nthread", "1"));
    XGB_TRY(XGBoosterSetParam(bst, "verbosity", "0"));
    XGB_TRY(XGBoosterSetParam(bst, "objective", "reg:squarederror"));
    XGB_TRY(XGBoosterSetParam(bst, "tree_method", "exact"));
    XGB_TRY(XGBoosterSetParam(bst, "base_score", "0"));
    XGB_TRY(XGBoosterSetParam(bst, "max_depth", depth));
    XGB_TRY(XGBoosterSetParam(bst, "eta", eta));
    for (int it = 0; it < b->xgb_trees; it++) XGB_TRY(XGBoosterUpdateOneIter(bst, it, dtrain));
    XGB_TRY(XGDMatrixCreateFromMat(qf, (bst_ulong)m, (bst_ulong)d, NAN, &dq));
    bst_ulong len = 0;
    const float *out = NULL;
    XGB_TRY(XGBoosterPredict(bst, dq, 0, 0, 0, &len, &out));
    if (len != (bst_ulong)m) {
        st = EF_ERR(err, EF_ERR_INTERNAL, "baseline xgboost: %llu predictions for %d rows",
                    (unsigned long long)len, m);
        goto done;
    }
    for (int q = 0; q < m; q++) pred[q] = out[q];
done:
    if (bst) XGBoosterFree(bst);
    if (dtrain) XGDMatrixFree(dtrain);
    if (dq) XGDMatrixFree(dq);
    ef_free(xf);
    ef_free(yf);
    ef_free(qf);
    return st;
#else
    (void)b; (void)X; (void)y; (void)n; (void)d; (void)Xq; (void)m; (void)pred;
    return EF_ERR(err, EF_ERR_UNSUPPORTED, "baseline xgboost: built without libxgboost");
#endif
}
