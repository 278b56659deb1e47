/* eraformer submit: validate a predictions file against Numerai's submission rules, then
 * upload it the way numerapi does: submission_upload_auth -> PUT the bytes to the presigned
 * URL -> create_submission; prints the submission id. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli/cli.h"
#include "cli/net_common.h"
#include "eraformer/metrics.h"
#include "eraformer/parquet.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer submit FILE --model NAME|ID [--live FILE] [connection options]\n\n"
               "Uploads predictions for a model and prints the submission id on stdout.\n"
               "FILE is a CSV (or parquet) with exactly the columns id,prediction (id,probability is\n"
               "accepted too). It is validated first and nothing is uploaded when it breaks a rule:\n"
               "no NaN, values in [0, 1], not constant, no duplicate ids and, with --live, every live id\n"
               "present (extra ids are allowed and ignored by Numerai).\n\n"
               "options:\n"
               "  --model NAME|ID        the model (a name from 'eraformer models', or its id)\n"
               "  --live FILE            live.parquet or a CSV with an id column: check every live id\n"
               "  --trigger-id ID        sent as triggerId (default: env TRIGGER_ID)\n"
               "  -h, --help             this help\n");
    ef_net_cli_help(f, 1);
    fprintf(f, "  TRIGGER_ID             triggerId of create_submission (Numerai Compute)\n"
               "  NUMERAI_COMPUTE_ID     sent as the x_compute_id header of the upload\n");
}

// ---- reading files -----------------------------------------------------------------------

typedef struct table {
    char *buf;          /* the file's text (CSV) or the concatenated ids (parquet) */
    char **ids;
    double *vals;       /* NULL when only ids were read */
    size_t n;
} table;

static void table_free(table *t) {
    ef_free(t->buf);
    ef_free(t->ids);
    ef_free(t->vals);
    memset(t, 0, sizeof *t);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

/* Splits line (in place) on commas into at most cap fields; strips quotes and spaces. */
static size_t split(char *line, char **fields, size_t cap) {
    size_t k = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        while (*p == ' ') p++;
        size_t l = strlen(p);
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\r')) p[--l] = 0;
        if (l >= 2 && p[0] == '"' && p[l - 1] == '"') {
            p[l - 1] = 0;
            p++;
        }
        if (k < cap) fields[k] = p;
        k++;
        if (!comma) break;
        p = comma + 1;
    }
    return k;
}

/* CSV: want_values reads id,prediction (header checked); otherwise the "id" column only. */
static ef_status read_csv(const char *path, int want_values, table *t, ef_error *err) {
    size_t size;
    ef_status s = ef_file_read_all(path, &t->buf, &size, err);
    if (s != EF_OK) return s;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += t->buf[i] == '\n';
    t->ids = ef_calloc(lines, sizeof *t->ids);
    if (want_values) t->vals = ef_calloc(lines, sizeof *t->vals);
    if (!t->ids || (want_values && !t->vals)) return ef_error_set(err, EF_ERR_NOMEM, __FILE__, __LINE__, "out of memory");
    char *save = NULL, *line = strtok_r(t->buf, "\n", &save);
    if (!line) return ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s is empty", path);
    char *fields[64];
    size_t nf = split(line, fields, 64);
    if (nf > 64) nf = 64;
    if (nf && !strncmp(fields[0], "\xEF\xBB\xBF", 3)) fields[0] += 3;   /* a UTF-8 BOM */
    size_t id_col = 0;
    if (want_values) {
        s = ef_submission_check_header((const char *const *)fields, nf, err);
        if (s != EF_OK) {
            ef_error_prefix(err, "%s: ", path);
            return s;
        }
    } else {
        for (id_col = 0; id_col < nf && strcmp(fields[id_col], "id"); id_col++) {
        }
        if (id_col == nf) return ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s: no 'id' column in the header", path);
    }
    size_t lineno = 1;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        lineno++;
        if (line[0] == 0 || (line[0] == '\r' && line[1] == 0)) continue;
        size_t k = split(line, fields, 64);
        if (want_values && k != 2)
            return ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s line %zu: expected 2 fields (id,prediction), got %zu",
                                path, lineno, k);
        if (!want_values && k <= id_col)
            return ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s line %zu: no id field", path, lineno);
        t->ids[t->n] = fields[id_col];
        if (want_values) {
            const char *v = fields[1];
            char *end;
            double x = strtod(v, &end);
            if (!v[0] || !strcasecmp(v, "nan")) x = NAN;
            else if (end == v || *end)
                return ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s line %zu: prediction '%.40s' is not a number",
                                    path, lineno, v);
            t->vals[t->n] = x;
        }
        t->n++;
    }
    return EF_OK;
}

static ef_status read_parquet(const char *path, int want_values, table *t, ef_error *err) {
    ef_pq_reader *r = NULL;
    ef_pq_column_data ids = {0}, vals = {0};
    ef_status s = ef_pq_reader_open(&r, path, err);
    if (s != EF_OK) return s;
    int id_col = ef_pq_find_column(r, "id"), val_col = -1;
    if (want_values) {
        int nc = ef_pq_num_columns(r);
        const char *names[64];
        for (int i = 0; i < nc && i < 64; i++) names[i] = ef_pq_column(r, i)->name;
        s = ef_submission_check_header(names, (size_t)(nc < 64 ? nc : 64), err);
        if (s != EF_OK) {
            ef_error_prefix(err, "%s: ", path);
            goto done;
        }
        val_col = 1;
    }
    if (id_col < 0) {
        s = ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s: no 'id' column", path);
        goto done;
    }
    if (ef_pq_column(r, id_col)->type != EF_PQ_BYTE_ARRAY) {
        s = ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s: the id column is %s, expected strings", path,
                         ef_pq_type_name(ef_pq_column(r, id_col)->type));
        goto done;
    }
    if ((s = ef_pq_read_column_all(r, id_col, &ids, err)) != EF_OK) goto done;
    if (want_values) {
        ef_pq_type vt = ef_pq_column(r, val_col)->type;
        if (vt != EF_PQ_DOUBLE && vt != EF_PQ_FLOAT) {
            s = ef_error_set(err, EF_ERR_FORMAT, __FILE__, __LINE__, "%s: predictions are %s, expected FLOAT or DOUBLE",
                             path, ef_pq_type_name(vt));
            goto done;
        }
        if ((s = ef_pq_read_column_all(r, val_col, &vals, err)) != EF_OK) goto done;
    }
    size_t n = (size_t)ids.n;
    t->buf = ef_malloc(ids.data_size + n + 1);
    t->ids = ef_calloc(n ? n : 1, sizeof *t->ids);
    if (want_values) t->vals = ef_calloc(n ? n : 1, sizeof *t->vals);
    if (!t->buf || !t->ids || (want_values && !t->vals)) {
        s = ef_error_set(err, EF_ERR_NOMEM, __FILE__, __LINE__, "out of memory");
        goto done;
    }
    char *p = t->buf;
    for (size_t i = 0; i < n; i++) {
        size_t l = (size_t)(ids.offsets[i + 1] - ids.offsets[i]);
        memcpy(p, ids.data + ids.offsets[i], l);
        p[l] = 0;
        t->ids[i] = p;
        p += l + 1;
        if (want_values) {
            int valid = !vals.valid || vals.valid[i];
            double x = vals.type == EF_PQ_DOUBLE ? ((const double *)vals.values)[i] : ((const float *)vals.values)[i];
            t->vals[i] = valid ? x : NAN;
        }
    }
    t->n = n;
done:
    ef_pq_column_data_free(&ids);
    ef_pq_column_data_free(&vals);
    ef_pq_reader_close(r);
    return s;
}

static ef_status read_table(const char *path, int want_values, table *t, ef_error *err) {
    return ends_with(path, ".parquet") ? read_parquet(path, want_values, t, err) : read_csv(path, want_values, t, err);
}

/* Returns 0 when valid (a summary on stderr), else an exit code. */
static int validate(const char *file, const char *live) {
    table sub = {0}, lv = {0};
    ef_error err = {0};
    int rc = 0;
    if (read_table(file, 1, &sub, &err) != EF_OK || (live && read_table(live, 0, &lv, &err) != EF_OK)) {
        rc = ef_cli_fail(&err, "the file must be a CSV (or parquet) with the columns id,prediction");
        if (rc == EF_EXIT_USAGE) rc = EF_EXIT_RUNTIME;
        goto done;
    }
    ef_submission_report rep;
    /* without a live file the submission's own ids stand in: every rule but coverage */
    const char *const *live_ids = live ? (const char *const *)lv.ids : (const char *const *)sub.ids;
    size_t n_live = live ? lv.n : sub.n;
    ef_status s = ef_submission_validate((const char *const *)sub.ids, sub.vals, sub.n, live_ids, n_live, &rep, &err);
    if (s == EF_ERR_FORMAT) {
        fprintf(stderr, "eraformer: error: %s is not a valid submission:\n%s\n", file, rep.message[0] ? rep.message : err.msg);
        fprintf(stderr, "HINT: nothing was uploaded; fix the file (e.g. write rank/N over the live ids) and retry\n");
        rc = EF_EXIT_RUNTIME;
        goto done;
    }
    if (s != EF_OK) {
        rc = ef_cli_fail(&err, NULL);
        goto done;
    }
    if (live)
        fprintf(stderr, "eraformer submit: %s is valid: %zu rows cover all %zu live ids%s\n", file, sub.n, lv.n,
                rep.n_extra ? " (extra ids are ignored)" : "");
    else
        fprintf(stderr, "eraformer submit: %s is valid: %zu rows (no --live file: live-id coverage not checked)\n", file,
                sub.n);
done:
    table_free(&sub);
    table_free(&lv);
    return rc;
}

// ---- command -----------------------------------------------------------------------------

int ef_cmd_submit(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'}, {"live", required_argument, NULL, 'l'},
                                         {"trigger-id", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
                                         EF_NET_LONGOPTS, {0, 0, 0, 0}};
    ef_net_cli o;
    ef_net_cli_init(&o, "submit");
    const char *model = NULL, *live = NULL, *trigger = getenv("TRIGGER_ID");
    int c;
    while ((c = getopt_long(argc, argv, "hvm:", opts, NULL)) != -1) {
        int rc = ef_net_cli_option(&o, c, optarg);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        switch (c) {
        case 'h': usage(stdout); return EF_EXIT_OK;
        case 'm': model = optarg; break;
        case 'l': live = optarg; break;
        case 't': trigger = optarg; break;
        default: return ef_cli_usage("submit", "unknown option");
        }
    }
    if (optind >= argc) return ef_cli_usage("submit", "no predictions FILE given");
    if (argc - optind > 1) return ef_cli_usage("submit", "one FILE at a time (got '%s' too)", argv[optind + 1]);
    if (!model || !model[0]) return ef_cli_usage("submit", "--model NAME|ID is required (see 'eraformer models')");
    const char *file = argv[optind];
    int rc = validate(file, live);
    if (rc) return rc;

    ef_net *n;
    if ((rc = ef_net_cli_connect(&o, 1, &n)) != 0) return rc;
    ef_error err = {0};
    ef_net_model *models = NULL;
    size_t count = 0;
    char *fname = NULL, *url = NULL, *sid = NULL;
    const char *model_id = NULL, *model_name = NULL;
    if (ef_net_models(n, &models, &count, &err) != EF_OK) goto fail;
    for (size_t i = 0; i < count && !model_id; i++)
        if (!strcmp(models[i].name, model)) model_id = models[i].id, model_name = models[i].name;
    for (size_t i = 0; i < count && !model_id; i++)
        if (!strcmp(models[i].id, model)) model_id = models[i].id, model_name = models[i].name;
    if (!model_id) {
        char names[512] = "";
        for (size_t i = 0; i < count; i++) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", models[i].name);
        }
        fprintf(stderr, "eraformer: error: the account has no model named '%s' (nor with that id)\n", model);
        fprintf(stderr, "HINT: its models are: %s (see 'eraformer models')\n", count ? names : "none");
        rc = EF_EXIT_RUNTIME;
        goto out;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (ef_net_submission_upload_auth(n, base, model_id, &fname, &url, &err) != EF_OK) goto fail;
    if (ef_net_put_file(n, url, file, &err) != EF_OK) goto fail;
    if (ef_net_create_submission(n, fname, model_id, trigger, 0, &sid, &err) != EF_OK) goto fail;
    fprintf(stderr, "eraformer submit: uploaded %s for model %s (%s)\n", file, model_name, model_id);
    printf("%s\n", sid);
    goto out;
fail:
    rc = ef_net_cli_fail(&o, &err);
out:
    ef_free(fname);
    ef_free(url);
    ef_free(sid);
    ef_net_models_free(models, count);
    ef_net_destroy(n);
    return rc;
}
