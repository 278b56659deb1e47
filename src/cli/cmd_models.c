/* eraformer models: the account's tournament models, name -> id (needs API keys). */
#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "cli/net_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer models [connection options]\n\n"
               "Lists the account's Numerai (classic tournament) models on stdout, one 'name<TAB>id'\n"
               "line each, sorted by name. Needs API keys with the read_user_info scope.\n\n"
               "options:\n"
               "  -h, --help             this help\n");
    ef_net_cli_help(f, 1);
}

int ef_cmd_models(int argc, char **argv) {
    ef_net_cli o;
    ef_net_cli_init(&o, "models");
    int prc = ef_net_cli_parse_simple(&o, argc, argv, usage);
    if (prc >= 0) return prc;
    ef_net *n;
    int rc = ef_net_cli_connect(&o, 1, &n);
    if (rc) return rc;
    ef_error err = {0};
    ef_net_model *m;
    size_t count;
    if (ef_net_models(n, &m, &count, &err) != EF_OK) {
        ef_net_destroy(n);
        return ef_net_cli_fail(&o, &err);
    }
    for (size_t i = 0; i < count; i++) printf("%s\t%s\n", m[i].name, m[i].id);
    if (!count) fprintf(stderr, "eraformer models: the account has no tournament models\n");
    ef_net_models_free(m, count);
    ef_net_destroy(n);
    return EF_EXIT_OK;
}
