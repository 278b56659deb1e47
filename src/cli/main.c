/* eraformer: git-style command dispatch. Results go to stdout, logs and progress to stderr.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/version.h"

typedef struct ef_command {
    const char *name;
    ef_cmd_fn fn;
    const char *summary;
} ef_command;

/* One line per command; keep alphabetical. */
static const ef_command commands[] = {
    {"baseline", ef_cmd_baseline, "ridge or XGBoost baseline predictions (Numerai's example parameters)"},
    {"bench", ef_cmd_bench, "measure training/forward throughput (tokens/s, GFLOP/s)"},
    {"blend", ef_cmd_blend, "blend prediction files per era (e.g. eraformer + XGBoost), ranked to (0, 1]"},
    {"cat", ef_cmd_cat, "print the rows of a parquet file as CSV/TSV"},
    {"datasets", ef_cmd_datasets, "list the Numerai dataset files of the current or a past round"},
    {"download", ef_cmd_download, "download Numerai dataset files (resumable, size-checked)"},
    {"evaluate", ef_cmd_evaluate, "score predictions per era like Numerai's diagnostics (CORR, MMC, BMC, FNC)"},
    {"export", ef_cmd_export, "a checkpoint's weights only (no optimiser state), for shipping"},
    {"finetune", ef_cmd_finetune, "fine-tune the transformer on Numerai eras (embargoed context, early stopping)"},
    {"icl-eval", ef_cmd_icl_eval, "in-context error vs number of examples: transformer vs baselines"},
    {"icl-predict", ef_cmd_icl_predict, "in-context regression on any numeric table (CSV/parquet in, CSV out)"},
    {"inspect", ef_cmd_inspect, "show a parquet file's schema, row groups, codecs, encodings and pages"},
    {"models", ef_cmd_models, "list your Numerai models (name and id)"},
    {"predict", ef_cmd_predict, "predict eras with context ensembles of a fine-tuned model (id,prediction)"},
    {"pretrain", ef_cmd_pretrain, "pretrain the in-context transformer on synthetic tasks"},
    {"round", ef_cmd_round, "show the current Numerai round and whether it is open"},
    {"submit", ef_cmd_submit, "validate and upload predictions for a model"},
    {"synth", ef_cmd_synth, "write a synthetic Numerai-like dataset (train/validation/live parquet, features.json)"},
    {"train", ef_cmd_train, "the recommended recipe in one command: a model directory trained within a time budget"},
    {"validate-submission", ef_cmd_validate_submission, "check a submission CSV against Numerai's rules and the live ids"},
    {"weekly", ef_cmd_weekly, "for cron: current round -> live file -> predict -> validate -> submit, once per round"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer <command> [options]\n\n"
               "eraformer %s: an in-context-learning transformer for the Numerai tournament.\n\n"
               "commands:\n", EF_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'eraformer <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EF_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EF_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) return ef_cli_version(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "eraformer: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EF_EXIT_USAGE;
}
