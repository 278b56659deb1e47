/* Text outputs of evaluate: the summary table on stdout (Numerai's validation diagnostics
 * order: CORR mean/std/sharpe/max drawdown, MMC and BMC mean/sharpe, FNC mean, max feature
 * exposure, corr with example preds, APY), summary.json and per_era.csv. */
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "base/ef_internal.h"
#include "cli/report.h"

// ---- stdout ---------------------------------------------------------------------------------------

static void line(FILE *f, const char *name, double v, int prec) {
    if (isnan(v)) fprintf(f, "%-28s %12s\n", name, "n/a");
    else fprintf(f, "%-28s %12.*f\n", name, prec, v);
}

void ef_report_print_summary(FILE *f, const ef_report_data *d) {
    fprintf(f, "%-28s %12s\n", "metric", "value");
    line(f, "corr_mean", d->corr->mean, 6);
    line(f, "corr_std", d->corr->std, 6);
    line(f, "corr_sharpe", d->corr->sharpe, 4);
    line(f, "corr_max_drawdown", d->corr->max_drawdown, 6);
    if (d->mmc) {
        line(f, "mmc_mean", d->mmc->mean, 6);
        line(f, "mmc_sharpe", d->mmc->sharpe, 4);
    }
    if (d->bmc) {
        line(f, "bmc_mean", d->bmc->mean, 6);
        line(f, "bmc_sharpe", d->bmc->sharpe, 4);
    }
    if (d->fnc) line(f, "fnc_mean", d->fnc->mean, 6);
    if (d->n_features) line(f, "max_feature_exposure", d->max_exposure_mean, 6);
    if (!isnan(d->example_corr_mean)) line(f, "corr_with_example_preds", d->example_corr_mean, 4);
    line(f, "apy", d->corr->apy, 2);
    line(f, "corr_smart_sharpe", d->corr->smart_sharpe, 4);
    fprintf(f, "%-28s %12zu\n", "eras", d->corr->count);
    fprintf(f, "%-28s %12zu\n", "rows", d->n_rows);
}

// ---- summary.json ---------------------------------------------------------------------------------

static void add_num(cJSON *o, const char *k, double v) {
    if (isnan(v) || isinf(v)) cJSON_AddNullToObject(o, k);
    else cJSON_AddNumberToObject(o, k, v);
}

static void add_summary(cJSON *root, const char *k, const ef_era_summary *s) {
    if (!s) return;
    cJSON *o = cJSON_AddObjectToObject(root, k);
    if (!o) return;
    cJSON_AddNumberToObject(o, "eras", (double)s->count);
    add_num(o, "mean", s->mean);
    add_num(o, "std", s->std);
    add_num(o, "sharpe", s->sharpe);
    add_num(o, "max_drawdown", s->max_drawdown);
    add_num(o, "smart_sharpe", s->smart_sharpe);
    add_num(o, "autocorr", s->autocorr);
    add_num(o, "apy", s->apy);
    add_num(o, "min", s->min);
    add_num(o, "max", s->max);
    add_num(o, "frac_positive", s->frac_positive);
}

ef_status ef_report_write_summary_json(const ef_report_data *d, const char *path, ef_error *err) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return EF_ERR(err, EF_ERR_NOMEM, "summary.json: out of memory");
    cJSON_AddNumberToObject(root, "rows", (double)d->n_rows);
    cJSON_AddNumberToObject(root, "eras", (double)d->n_eras);
    if (d->n_eras) {
        cJSON_AddStringToObject(root, "first_era", d->era_names[0]);
        cJSON_AddStringToObject(root, "last_era", d->era_names[d->n_eras - 1]);
    }
    add_num(root, "corr_mean", d->corr->mean);
    add_num(root, "corr_std", d->corr->std);
    add_num(root, "corr_sharpe", d->corr->sharpe);
    add_num(root, "corr_max_drawdown", d->corr->max_drawdown);
    if (d->mmc) {
        add_num(root, "mmc_mean", d->mmc->mean);
        add_num(root, "mmc_sharpe", d->mmc->sharpe);
    }
    if (d->bmc) {
        add_num(root, "bmc_mean", d->bmc->mean);
        add_num(root, "bmc_sharpe", d->bmc->sharpe);
    }
    if (d->fnc) add_num(root, "fnc_mean", d->fnc->mean);
    if (d->n_features) add_num(root, "max_feature_exposure", d->max_exposure_mean);
    if (!isnan(d->example_corr_mean)) add_num(root, "corr_with_example_preds", d->example_corr_mean);
    add_num(root, "apy", d->corr->apy);
    add_summary(root, "corr", d->corr);
    add_summary(root, "mmc", d->mmc);
    add_summary(root, "bmc", d->bmc);
    add_summary(root, "fnc", d->fnc);
    if (d->n_features && d->feature_corr_mean) {
        cJSON *fe = cJSON_AddObjectToObject(root, "feature_exposure_mean");
        for (size_t j = 0; fe && j < d->n_features; j++)
            add_num(fe, d->feature_names[j], d->feature_corr_mean[j]);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return EF_ERR(err, EF_ERR_NOMEM, "summary.json: out of memory");
    size_t len = strlen(text);
    text[len] = 0;
    ef_status st;
    {
        ef_atomic_file af;
        st = ef_atomic_open(&af, path, err);
        if (!st) {
            fputs(text, af.fp);
            fputc('\n', af.fp);
            st = ef_atomic_commit(&af, err);
        }
    }
    cJSON_free(text);
    return st;
}

// ---- per_era.csv ----------------------------------------------------------------------------------

static void cell(FILE *f, double v) {
    if (isnan(v)) fputs(",", f);
    else fprintf(f, ",%.17g", v);
}

ef_status ef_report_write_per_era_csv(const ef_report_data *d, const char *path, ef_error *err) {
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    FILE *f = af.fp;
    const ef_era_scores *s = d->scores;
    fputs("era,rows,corr", f);
    if (d->mmc) fputs(",mmc", f);
    if (d->bmc) fputs(",bmc", f);
    if (d->fnc) fputs(",fnc", f);
    if (d->n_features) fputs(",max_feature_exposure,rms_feature_exposure", f);
    if (!isnan(d->example_corr_mean)) fputs(",corr_with_example_preds", f);
    fputs(",cumulative_corr\n", f);
    double cum = 0;
    for (size_t e = 0; e < d->n_eras; e++) {
        fprintf(f, "%s,%.0f", d->era_names[e], s->n_rows[e]);
        cell(f, s->corr[e]);
        if (d->mmc) cell(f, s->mmc[e]);
        if (d->bmc) cell(f, s->bmc[e]);
        if (d->fnc) cell(f, s->fnc[e]);
        if (d->n_features) {
            cell(f, s->max_exposure[e]);
            cell(f, s->rms_exposure[e]);
        }
        if (!isnan(d->example_corr_mean)) cell(f, s->example_corr[e]);
        if (!isnan(s->corr[e])) cum += s->corr[e];
        cell(f, cum);
        fputc('\n', f);
    }
    return ef_atomic_commit(&af, err);
}
