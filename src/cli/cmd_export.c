/* eraformer export: a checkpoint's weights only (no AdamW moments, no training state), for
 * shipping a model: a third of a training checkpoint's size, loaded by every command. A
 * fine-tuned model's input contract is kept; an older two-file model's sidecar (IN.json) is
 * checked and embedded, so the result is one file. */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include "base/ef_internal.h"
#include "cli/cli.h"
#include "eraformer/numerai.h"
#include "eraformer/model.h"

/* *contract: the embedded one, else the checked sidecar of an older two-file model, else NULL. */
static ef_status export_contract(const char *in, char **contract, ef_error *err) {
    char side[4200];
    struct stat sb;
    snprintf(side, sizeof side, "%s.json", in);
    if (*contract || stat(side, &sb) != 0) return EF_OK;
    ef_numerai_contract meta;
    EF_TRY(ef_numerai_contract_read(&meta, in, err));   /* errors name the sidecar */
    ef_numerai_contract_free(&meta);
    size_t n;
    return ef_file_read_all(side, contract, &n, err);
}

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer export --model IN.st --out OUT.st\n\n"
               "Writes the weights and config of a checkpoint without the optimiser state and the\n"
               "training state (atomically). The result is what models/ ships. A fine-tuned\n"
               "model keeps its input contract; an older one's IN.json is embedded into OUT.\n");
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
    char *contract = NULL;   /* a fine-tuned model's input contract travels with its weights */
    if (ef_model_load_contract(&m, in, 1, NULL, NULL, &contract, &err) != EF_OK) return ef_cli_fail(&err, NULL);
    ef_status s = export_contract(in, &contract, &err);
    if (s == EF_OK) s = ef_model_save_contract(m, out, NULL, 0, contract, &err);
    ef_free(contract);
    ef_model_destroy(m);
    if (s != EF_OK) return ef_cli_fail(&err, NULL);
    return EF_EXIT_OK;
}
