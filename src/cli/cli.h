/* CLI internals: the command table, option parsing helpers, error reporting and the
 * progress line. Only the CLI prints; library code returns ef_status + ef_error. */
#ifndef EF_CLI_H
#define EF_CLI_H

#include <stdint.h>
#include "eraformer/base.h"

/* exit codes */
enum { EF_EXIT_OK = 0, EF_EXIT_RUNTIME = 1, EF_EXIT_USAGE = 2 };

typedef int (*ef_cmd_fn)(int argc, char **argv);

/* Each command lives in src/cli/cmd_<name>.c and is listed in the table in main.c.
 * argv[0] is the command name; getopt_long parsing starts at argv[1]. */
int ef_cmd_pretrain(int argc, char **argv);
int ef_cmd_bench(int argc, char **argv);
int ef_cmd_export(int argc, char **argv);
int ef_cmd_icl_eval(int argc, char **argv);
int ef_cmd_icl_predict(int argc, char **argv);
int ef_cmd_synth(int argc, char **argv);
int ef_cmd_train(int argc, char **argv);
int ef_cmd_datasets(int argc, char **argv);
int ef_cmd_download(int argc, char **argv);
int ef_cmd_models(int argc, char **argv);
int ef_cmd_round(int argc, char **argv);
int ef_cmd_submit(int argc, char **argv);
int ef_cmd_cat(int argc, char **argv);
int ef_cmd_inspect(int argc, char **argv);
int ef_cmd_evaluate(int argc, char **argv);
int ef_cmd_validate_submission(int argc, char **argv);
int ef_cmd_finetune(int argc, char **argv);
int ef_cmd_predict(int argc, char **argv);
int ef_cmd_baseline(int argc, char **argv);
int ef_cmd_weekly(int argc, char **argv);
int ef_cmd_blend(int argc, char **argv);

/* Prints "eraformer: error: <msg>" (+ "HINT: <hint>" when hint is non-NULL) on stderr and
 * returns the exit code for the status (2 for EF_ERR_INVALID, 1 otherwise). */
int ef_cli_fail(const ef_error *err, const char *hint);
/* Usage error: prints the message and "see 'eraformer CMD --help'"; returns 2. */
int ef_cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Checked number parsing: the whole string must be a number within [lo, hi].
 * Return 0 on success, otherwise print a usage error and return 2. */
int ef_cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int ef_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
int ef_cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);

/* Runs another command in this process with its stdout sent to stderr (a command that uses
 * another, e.g. train -> predict, keeps its own stdout for its summary). Returns its exit code. */
int ef_cli_run_stdout_to_stderr(ef_cmd_fn fn, int argc, char **argv);

/* Progress line on stderr: "label  step/total  rate unit/s  ETA mm:ss  extra".
 * Redraws in place on a terminal, prints one line every few seconds otherwise. */
typedef struct ef_progress {
    const char *label;
    const char *unit;
    double total;
    double first;            /* work already done when the job (re)started: excluded from the rate */
    double t_start, t_last_print;
    int is_tty;
} ef_progress;

void ef_progress_start(ef_progress *p, const char *label, double total, const char *unit);
/* done = work finished so far (same unit as total); extra may be NULL. */
void ef_progress_update(ef_progress *p, double done, const char *extra);
void ef_progress_finish(ef_progress *p, double done, const char *extra);

#endif
