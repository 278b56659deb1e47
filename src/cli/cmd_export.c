/* eraformer export: a checkpoint's weights only (no AdamW moments, no training state), for
 * shipping a model: a third of a training checkpoint's size, loaded by every command. */
#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "eraformer/model.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer export --model IN.st --out OUT.st\n\n"
               "Writes the weights and config of a checkpoint without the optimiser state and the\n"
               "training state (atomically). The result is what models/ ships.\n");
}

int ef_cmd_export(int argc, char **argv) {
    static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {"model", required_argument, 0, 'm'},
                                       {"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *in = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return EF_EXIT_OK;
        case 'm': in = optarg; break;
        case 'o': out = optarg; break;
        default: return ef_cli_usage("export", "unknown option");
        }
    }
    if (optind < argc) return ef_cli_usage("export", "unexpected argument '%s'", argv[optind]);
    if (!in || !out) return ef_cli_usage("export", "--model and --out are required");
    ef_error err = {0};
    ef_model *m;
    if (ef_model_load(&m, in, 1, NULL, NULL, &err) != EF_OK) return ef_cli_fail(&err, NULL);
    ef_status s = ef_model_save(m, out, NULL, 0, &err);
    ef_model_destroy(m);
    if (s != EF_OK) return ef_cli_fail(&err, NULL);
    return EF_EXIT_OK;
}
