/* eraformer validate-submission: checks a submission CSV against Numerai's rules (numerai-tools
 * submissions.py): header exactly id,prediction (or id,probability), every live id exactly
 * once, no NaN, values in [0, 1], not constant. The rules are ef_submission_validate (metrics);
 * this command reads the files and prints one line per violation. Exit 0 valid, 1 invalid. */
#include <getopt.h>
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "cli/report.h"
#include "eraformer/metrics.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: eraformer validate-submission FILE --live FILE\n\n"
        "Checks a submission CSV the way Numerai does: header exactly id,prediction (or\n"
        "id,probability), every live id exactly once, no NaN, values in [0, 1], not constant.\n"
        "Ids that are not live are reported but allowed (Numerai ignores them).\n\n"
        "  --live FILE    the round's live data (live.parquet or a CSV with an id column)\n"
        "  --help         this text\n\n"
        "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.\n");
}

int ef_cmd_validate_submission(int argc, char **argv) {
    static const struct option opts[] = {
        {"live", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *live_path = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': live_path = optarg; break;
        case 'h': usage(stdout); return EF_EXIT_OK;
        default: return ef_cli_usage("validate-submission", "unknown option");
        }
    }
    if (optind != argc - 1) return ef_cli_usage("validate-submission", "expected exactly one FILE");
    if (!live_path) return ef_cli_usage("validate-submission", "--live FILE is required");
    const char *path = argv[optind];
    ef_error err = {0};
    int rc = EF_EXIT_RUNTIME;
    ef_report_csv c = {0};
    ef_report_table live = {0};
    char **ids = NULL, *arena = NULL;
    double *vals = NULL;
    if (ef_report_csv_open(&c, path, &err)) return ef_cli_fail(&err, "is it a CSV file?");
    if (ef_submission_check_header((const char *const *)c.header, c.ncols, &err)) {
        ef_report_csv_close(&c);
        fprintf(stderr, "eraformer: error: %s: %s\n", path, err.msg);
        fprintf(stderr, "HINT: write the file with the header line 'id,prediction'\n");
        return EF_EXIT_RUNTIME;
    }
    ids = ef_calloc(c.nrows ? c.nrows : 1, sizeof(char *));
    vals = ef_malloc((c.nrows ? c.nrows : 1) * sizeof(double));
    if (!ids || !vals) {
        EF_ERR(&err, EF_ERR_NOMEM, "out of memory");
        goto fail;
    }
    ef_report_csv_sink sinks[2] = {{0, EF_REPORT_STR, ids, NULL, NULL, 0},
                                   {1, EF_REPORT_NUM, NULL, vals, NULL, 0}};
    if (ef_report_csv_extract(&c, sinks, 2, &arena, &err)) goto fail;
    ef_report_table_spec sp = {"id", NULL, 0, NULL, 0, NULL, 0, NULL};
    if (ef_report_table_load(&live, live_path, &sp, &err)) goto fail;
    ef_submission_report rep;
    ef_status st = ef_submission_validate((const char *const *)ids, vals, c.nrows,
                                          (const char *const *)live.ids, live.n, &rep, &err);
    if (st == EF_ERR_NOMEM) goto fail;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < c.nrows; i++)
        if (!isnan(vals[i])) {
            lo = EF_MIN(lo, vals[i]);
            hi = EF_MAX(hi, vals[i]);
        }
    if (st == EF_OK) {
        printf("OK: %s is a valid submission: %zu rows, all %zu live ids once, values in [%.6g, %.6g]\n",
               path, rep.n_rows, rep.n_live, lo, hi);
        if (rep.n_extra)
            printf("note: %zu id(s) are not in the live data (first: %s); Numerai ignores them\n",
                   rep.n_extra, rep.first_extra);
        rc = EF_EXIT_OK;
    } else {
        printf("INVALID: %s (%zu rows, %zu live ids)\n", path, rep.n_rows, rep.n_live);
        const char *m = rep.message;
        while (*m) {
            const char *e = strchr(m, '\n');
            size_t len = e ? (size_t)(e - m) : strlen(m);
            printf("  - %.*s\n", (int)len, m);
            m += len + (e ? 1 : 0);
        }
        if (rep.n_extra)
            printf("  note: %zu id(s) are not in the live data (first: %s)\n", rep.n_extra,
                   rep.first_extra);
        rc = EF_EXIT_RUNTIME;
    }
    goto done;
fail:
    rc = ef_cli_fail(&err, NULL);
    if (rc == EF_EXIT_OK) rc = EF_EXIT_RUNTIME;
done:
    ef_free(ids);
    ef_free(vals);
    ef_free(arena);
    ef_report_table_free(&live);
    ef_report_csv_close(&c);
    return rc;
}
