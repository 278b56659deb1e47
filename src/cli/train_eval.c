/* eraformer train: the train-era count (default selection size), scoring --validation with
 * the finished ensemble by the predict and evaluate commands, and the JSON summary. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/train.h"
#include "eraformer/data.h"

ef_status tr_count_train_eras(const char *path, int *n, ef_error *err) {
    static const char *const none[1] = {NULL};
    ef_load_options lo = {0};
    lo.features = none;   /* no feature and no target column: just the eras */
    lo.n_features = 0;
    lo.no_targets = 1;
    lo.data_types = 1u << EF_DT_TRAIN;
    ef_dataset ds = {0};
    const char *paths[1] = {path};
    EF_TRY(ef_dataset_load(&ds, paths, 1, &lo, err));
    *n = ds.n_eras;
    ef_dataset_free(&ds);
    return EF_OK;
}

static ef_status read_summary(const char *path, tr_score *sc, ef_error *err) {
    char *text = NULL;
    size_t size;
    EF_TRY(ef_file_read_all(path, &text, &size, err));
    cJSON *o = cJSON_ParseWithLength(text, size);
    ef_free(text);
    EF_CHECK(o, err, EF_ERR_INVALID, "%s: not valid JSON", path);
    double eras = md_json_num(cJSON_GetObjectItem(o, "corr"), "eras");   /* eras with a score */
    sc->eras = eras >= 0 && eras < 1e9 ? (int)eras : 0;
    sc->corr_mean = md_json_num(o, "corr_mean");
    sc->corr_std = md_json_num(o, "corr_std");
    sc->sharpe = md_json_num(o, "corr_sharpe");
    sc->max_drawdown = md_json_num(o, "corr_max_drawdown");
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(o, "first_era"));
    const char *l = cJSON_GetStringValue(cJSON_GetObjectItem(o, "last_era"));
    sc->first_era = f ? atoi(f) : 0;
    sc->last_era = l ? atoi(l) : 0;
    cJSON_Delete(o);
    return EF_OK;
}

int tr_score_validation(const tr_opts *o, const md_manifest *m, tr_score *sc, ef_error *err) {
    char vdir[4200], pred[4300], ctx[2100], sum[4300], thr[32];
    snprintf(vdir, sizeof vdir, "%s/validation", o->out);
    if (mkdir(vdir, 0777) != 0 && errno != EEXIST) {
        err->code = EF_ERR_IO;
        snprintf(err->msg, sizeof err->msg, "cannot create %.1000s: %s", vdir, strerror(errno));
        return ef_cli_fail(err, NULL);
    }
    snprintf(pred, sizeof pred, "%s/predictions.csv", vdir);
    snprintf(ctx, sizeof ctx, "%s,%s", m->train, m->validation);
    snprintf(thr, sizeof thr, "%d", o->threads);
    fprintf(stderr, "train: scoring %s with the %d-member ensemble (no selection looked at these eras)\n", m->validation,
            m->n_members);
    char *pargv[] = {"predict", "--model", (char *)o->out, "--data", (char *)m->validation, "--context", ctx, "--out", pred,
                     "--threads", thr, NULL};
    int pargc = o->threads ? 11 : 9;
    pargv[pargc] = NULL;
    int rc = ef_cli_run_stdout_to_stderr(ef_cmd_predict, pargc, pargv);
    if (rc) return rc;
    char *eargv[] = {"evaluate", "--predictions", pred, "--data", (char *)m->validation, "--out", vdir, "--threads", thr, NULL};
    int eargc = o->threads ? 9 : 7;
    eargv[eargc] = NULL;
    if ((rc = ef_cli_run_stdout_to_stderr(ef_cmd_evaluate, eargc, eargv)) != 0) return rc;
    snprintf(sum, sizeof sum, "%s/summary.json", vdir);
    if (read_summary(sum, sc, err) != EF_OK) return ef_cli_fail(err, NULL);
    return 0;
}

void tr_print_summary(const tr_opts *o, const md_manifest *m, const tr_score *sc, double seconds) {
    cJSON *r = cJSON_CreateObject();
    if (!r) return;
    cJSON_AddStringToObject(r, "model_dir", o->out);
    cJSON_AddNumberToObject(r, "members", m->n_members);
    cJSON_AddBoolToObject(r, "complete", m->complete);
    cJSON *s = cJSON_AddObjectToObject(r, "selection");
    cJSON_AddNumberToObject(s, "holdout_eras", m->holdout);
    cJSON_AddNumberToObject(s, "first_era", m->sel_first);
    cJSON_AddNumberToObject(s, "last_era", m->sel_last);
    cJSON *mc = cJSON_AddArrayToObject(s, "member_corr");   /* early stopping looked at these: optimistic */
    for (int i = 0; i < m->n_members; i++) cJSON_AddItemToArray(mc, cJSON_CreateNumber(m->members[i].selection_corr));
    if (sc) {
        cJSON *v = cJSON_AddObjectToObject(r, "validation");
        cJSON_AddNumberToObject(v, "eras", sc->eras);
        cJSON_AddNumberToObject(v, "first_era", sc->first_era);
        cJSON_AddNumberToObject(v, "last_era", sc->last_era);
        cJSON_AddNumberToObject(v, "corr_mean", isfinite(sc->corr_mean) ? sc->corr_mean : 0);
        cJSON_AddNumberToObject(v, "corr_std", isfinite(sc->corr_std) ? sc->corr_std : 0);
        cJSON_AddNumberToObject(v, "sharpe", isfinite(sc->sharpe) ? sc->sharpe : 0);
        cJSON_AddNumberToObject(v, "max_drawdown", isfinite(sc->max_drawdown) ? sc->max_drawdown : 0);
    } else {
        cJSON_AddNullToObject(r, "validation");
    }
    cJSON_AddNumberToObject(r, "budget_s", m->budget_min * 60.0);
    cJSON_AddNumberToObject(r, "train_s", m->spent_s);
    cJSON_AddNumberToObject(r, "elapsed_s", seconds);
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    if (text) printf("%s\n", text);
    cJSON_free(text);
}
