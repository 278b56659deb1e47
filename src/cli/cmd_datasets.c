/* eraformer datasets: list the files of the current (or a past) round (listDatasets). */
#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "cli/net_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer datasets [--round N] [connection options]\n\n"
               "Lists the dataset files Numerai offers (\"<version>/<file>\", one per line on stdout),\n"
               "for the current round or round N. Download them with 'eraformer download NAME...'.\n\n"
               "options:\n"
               "  --round N              a past round's files instead of the current round's\n"
               "  -h, --help             this help\n");
    ef_net_cli_help(f, 0);
}

int ef_cmd_datasets(int argc, char **argv) {
    static const struct option opts[] = {{"round", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
                                         EF_NET_LONGOPTS, {0, 0, 0, 0}};
    ef_net_cli o;
    ef_net_cli_init(&o, "datasets");
    long round = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        int rc = ef_net_cli_option(&o, c, optarg);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        switch (c) {
        case 'h': usage(stdout); return EF_EXIT_OK;
        case 'r':
            if (ef_cli_parse_long("datasets", "--round", optarg, 1, 1000000, &round)) return EF_EXIT_USAGE;
            break;
        default: return ef_cli_usage("datasets", "unknown option");
        }
    }
    if (optind < argc) return ef_cli_usage("datasets", "unexpected argument '%s'", argv[optind]);
    ef_net *n;
    int rc = ef_net_cli_connect(&o, 0, &n);
    if (rc) return rc;
    ef_error err = {0};
    char **names;
    size_t count;
    if (ef_net_list_datasets(n, round, &names, &count, &err) != EF_OK) {
        ef_net_destroy(n);
        return ef_net_cli_fail(&o, &err);
    }
    for (size_t i = 0; i < count; i++) printf("%s\n", names[i]);
    if (!count) fprintf(stderr, "eraformer datasets: the API listed no files\n");
    ef_net_strings_free(names, count);
    ef_net_destroy(n);
    return EF_EXIT_OK;
}
