/* eraformer: git-style command dispatch. Results go to stdout, logs and progress to stderr.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

typedef struct ef_command {
    const char *name;
    ef_cmd_fn fn;
    const char *summary;
} ef_command;

/* One line per command; keep alphabetical. */
static const ef_command commands[] = {
    {"bench", ef_cmd_bench, "measure training/forward throughput (tokens/s, GFLOP/s)"},
    {"pretrain", ef_cmd_pretrain, "pretrain the in-context transformer on synthetic tasks"},
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
    if (!strcmp(cmd, "--version")) {
        printf("eraformer %s\n", EF_VERSION_STRING);
        return EF_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "eraformer: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EF_EXIT_USAGE;
}
