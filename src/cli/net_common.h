/* Options, credentials and client setup shared by the Numerai API commands (datasets,
 * download, round, models, submit). */
#ifndef EF_CLI_NET_COMMON_H
#define EF_CLI_NET_COMMON_H

#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include "cli/cli.h"
#include "eraformer/net.h"

/* getopt_long codes of the shared options */
enum {
    EF_NETOPT_API_URL = 0x4e00, EF_NETOPT_CREDENTIALS, EF_NETOPT_RETRIES, EF_NETOPT_RETRY_DELAY,
    EF_NETOPT_RETRY_MAX_TIME, EF_NETOPT_CONNECT_TIMEOUT, EF_NETOPT_STALL_TIMEOUT, EF_NETOPT_STALL_SPEED,
    EF_NETOPT_TIMEOUT, EF_NETOPT_SEED
};

/* Spliced into each command's struct option table (before its {0} terminator). */
#define EF_NET_LONGOPTS                                                              \
    {"api-url", required_argument, NULL, EF_NETOPT_API_URL},                         \
    {"credentials", required_argument, NULL, EF_NETOPT_CREDENTIALS},                 \
    {"retries", required_argument, NULL, EF_NETOPT_RETRIES},                         \
    {"retry-delay", required_argument, NULL, EF_NETOPT_RETRY_DELAY},                 \
    {"retry-max-time", required_argument, NULL, EF_NETOPT_RETRY_MAX_TIME},           \
    {"connect-timeout", required_argument, NULL, EF_NETOPT_CONNECT_TIMEOUT},         \
    {"stall-timeout", required_argument, NULL, EF_NETOPT_STALL_TIMEOUT},             \
    {"stall-speed", required_argument, NULL, EF_NETOPT_STALL_SPEED},                 \
    {"timeout", required_argument, NULL, EF_NETOPT_TIMEOUT},                         \
    {"seed", required_argument, NULL, EF_NETOPT_SEED},                               \
    {"verbose", no_argument, NULL, 'v'}

typedef struct ef_net_cli {
    const char *cmd;
    const char *api_url;        /* --api-url, else env NUMERAI_API_URL, else the default */
    const char *credentials;    /* --credentials FILE */
    int verbosity;
    long retries, connect_timeout, stall_timeout, stall_speed, timeout;
    double retry_delay, retry_max_time;
    uint64_t seed;
} ef_net_cli;

void ef_net_cli_init(ef_net_cli *o, const char *cmd);
/* Handles a shared option (c from getopt_long): 0 handled, 2 usage error, -1 not shared. */
int ef_net_cli_option(ef_net_cli *o, int c, const char *arg);
/* Help text for the shared options and the environment variables. */
void ef_net_cli_help(FILE *f, int needs_auth);
/* The whole command line of a command whose only options are --help and the connection
 * options (round, models): returns -1 to go on, or the exit code to return. */
int ef_net_cli_parse_simple(ef_net_cli *o, int argc, char **argv, void (*usage)(FILE *));
/* Builds the client; need_auth loads the keys (flag, env, config file) and fails without
 * them. Returns an exit code (0 on success). */
int ef_net_cli_connect(ef_net_cli *o, int need_auth, ef_net **out);
/* Prints the error (secret already scrubbed) with a hint for its kind; returns the exit code. */
int ef_net_cli_fail(const ef_net_cli *o, const ef_error *err);

/* A download's progress line on stderr (ef_net_download's callback): MB and MB/s of this
 * transfer (bytes of a resumed .temp are not counted), exact byte counts in the extra column.
 * Zero it, set name (the line's label) and resumed_from (the download's resumed-bytes output,
 * filled before the first callback), pass ef_net_cli_download_progress and its address. */
typedef struct ef_net_cli_progress {
    ef_progress p;
    const char *name;
    const uint64_t *resumed_from;
    uint64_t base;
    int started;
    char extra[64];
} ef_net_cli_progress;

void ef_net_cli_download_progress(void *ctx, uint64_t have, uint64_t total);

#endif
