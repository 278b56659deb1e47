/* eraformer round: the current round number and whether it is open for submissions. */
#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "cli/net_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer round [connection options]\n\n"
               "Prints the current round on stdout as 'key: value' lines:\n"
               "  round: 1234            (\"none\" between rounds)\n"
               "  open: yes|no           open for submissions: openTime < now < closeStakingTime\n"
               "  open_time: ...         ISO 8601, as the API gives them\n"
               "  close_staking_time: ...\n\n"
               "options:\n"
               "  -h, --help             this help\n");
    ef_net_cli_help(f, 0);
}

int ef_cmd_round(int argc, char **argv) {
    ef_net_cli o;
    ef_net_cli_init(&o, "round");
    int prc = ef_net_cli_parse_simple(&o, argc, argv, usage);
    if (prc >= 0) return prc;
    ef_net *n;
    int rc = ef_net_cli_connect(&o, 0, &n);
    if (rc) return rc;
    ef_error err = {0};
    ef_net_round r;
    if (ef_net_current_round(n, &r, &err) != EF_OK) {
        ef_net_destroy(n);
        return ef_net_cli_fail(&o, &err);
    }
    ef_net_destroy(n);
    if (r.number <= 0) {
        printf("round: none\nopen: no\n");
        return EF_EXIT_OK;
    }
    printf("round: %ld\nopen: %s\n", r.number, r.is_open ? "yes" : "no");
    if (r.open_time[0]) printf("open_time: %s\n", r.open_time);
    if (r.close_staking_time[0]) printf("close_staking_time: %s\n", r.close_staking_time);
    return EF_EXIT_OK;
}
