/* Shared plumbing of the Numerai API commands: the common options (--api-url,
 * --credentials, retry and timeout knobs, -v), credential lookup (flag > environment >
 * ~/.config/eraformer/credentials), the stderr log sink and error hints. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/net_common.h"

void ef_net_cli_init(ef_net_cli *o, const char *cmd) {
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->retries = 3;
    o->retry_delay = 5;
    o->retry_max_time = 300;
    o->connect_timeout = 30;
    o->stall_timeout = 60;
    o->stall_speed = 1;
    o->timeout = 120;
}

int ef_net_cli_option(ef_net_cli *o, int c, const char *arg) {
    const char *cmd = o->cmd;
    switch (c) {
    case 'v': o->verbosity++; return 0;
    case EF_NETOPT_API_URL: o->api_url = arg; return 0;
    case EF_NETOPT_CREDENTIALS: o->credentials = arg; return 0;
    case EF_NETOPT_RETRIES: return ef_cli_parse_long(cmd, "--retries", arg, 0, 100, &o->retries);
    case EF_NETOPT_RETRY_DELAY: return ef_cli_parse_double(cmd, "--retry-delay", arg, 0.001, 3600, &o->retry_delay);
    case EF_NETOPT_RETRY_MAX_TIME:
        return ef_cli_parse_double(cmd, "--retry-max-time", arg, 0.001, 86400, &o->retry_max_time);
    case EF_NETOPT_CONNECT_TIMEOUT: return ef_cli_parse_long(cmd, "--connect-timeout", arg, 1, 3600, &o->connect_timeout);
    case EF_NETOPT_STALL_TIMEOUT: return ef_cli_parse_long(cmd, "--stall-timeout", arg, 1, 86400, &o->stall_timeout);
    case EF_NETOPT_STALL_SPEED: return ef_cli_parse_long(cmd, "--stall-speed", arg, 1, 1L << 30, &o->stall_speed);
    case EF_NETOPT_TIMEOUT: return ef_cli_parse_long(cmd, "--timeout", arg, 1, 86400, &o->timeout);
    case EF_NETOPT_SEED: return ef_cli_parse_u64(cmd, "--seed", arg, &o->seed);
    default: return -1;
    }
}

void ef_net_cli_help(FILE *f, int needs_auth) {
    fprintf(f,
            "\nconnection options:\n"
            "  --api-url URL          GraphQL endpoint (default %s)\n"
            "  --credentials FILE     read public_id / secret_key from FILE (mode 600)\n"
            "  --retries N            retries on connection errors, timeouts and HTTP 5xx (default 3)\n"
            "  --retry-delay S        first backoff delay in seconds, doubled each retry, plus jitter (default 5)\n"
            "  --retry-max-time S     stop retrying once this many seconds have passed (default 300)\n"
            "  --connect-timeout S    connection timeout in seconds (default 30)\n"
            "  --stall-timeout S      abort a transfer slower than --stall-speed for S seconds (default 60)\n"
            "  --stall-speed B        bytes/s below which a transfer counts as stalled (default 1)\n"
            "  --timeout S            limit for one API request in seconds (default 120)\n"
            "  --seed N               seed of the retry jitter\n"
            "  -v, --verbose          log URLs, status codes and retries to stderr; -vv adds timings,\n"
            "                         -vvv HTTP headers (the key is always redacted)\n"
            "\nenvironment:\n"
            "  NUMERAI_API_URL        GraphQL endpoint when --api-url is not given\n",
            EF_NET_DEFAULT_API_URL);
    if (needs_auth)
        fprintf(f,
                "  NUMERAI_PUBLIC_ID      API key public id   } used when --credentials is not given;\n"
                "  NUMERAI_SECRET_KEY     API key secret      } otherwise ~/.config/eraformer/credentials\n"
                "                         (or $XDG_CONFIG_HOME/eraformer/credentials), which must not be\n"
                "                         readable by group or others, with lines 'public_id = ...' and\n"
                "                         'secret_key = ...'\n");
    else
        fprintf(f, "  (this command needs no API keys)\n");
}

static void log_stderr(void *ctx, int level, const char *msg) {
    (void)ctx;
    (void)level;
    fprintf(stderr, "eraformer: net: %s\n", msg);
}

/* Finds the keys: --credentials FILE, then the environment, then the default file. */
static ef_status find_keys(const ef_net_cli *o, char **pub, char **sec, char *source, size_t cap, ef_error *err) {
    *pub = *sec = NULL;
    if (o->credentials) {
        snprintf(source, cap, "%s", o->credentials);
        return ef_net_credentials_load(o->credentials, pub, sec, err);
    }
    const char *ep = getenv("NUMERAI_PUBLIC_ID"), *es = getenv("NUMERAI_SECRET_KEY");
    int hp = ep && ep[0], hs = es && es[0];
    if (hp || hs) {
        if (!hp || !hs)
            return ef_error_set(err, EF_ERR_AUTH, __FILE__, __LINE__, "%s is set but %s is not",
                                hp ? "NUMERAI_PUBLIC_ID" : "NUMERAI_SECRET_KEY", hp ? "NUMERAI_SECRET_KEY" : "NUMERAI_PUBLIC_ID");
        snprintf(source, cap, "the environment");
        *pub = ef_strdup(ep);
        *sec = ef_strdup(es);
        if (!*pub || !*sec) return ef_error_set(err, EF_ERR_NOMEM, __FILE__, __LINE__, "out of memory");
        return EF_OK;
    }
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char path[1024];
    if (xdg && xdg[0]) snprintf(path, sizeof path, "%s/eraformer/credentials", xdg);
    else if (home && home[0]) snprintf(path, sizeof path, "%s/.config/eraformer/credentials", home);
    else path[0] = 0;
    if (path[0] && access(path, F_OK) == 0) {
        snprintf(source, cap, "%s", path);
        return ef_net_credentials_load(path, pub, sec, err);
    }
    return ef_error_set(err, EF_ERR_AUTH, __FILE__, __LINE__,
                        "'%s' needs Numerai API keys and none were found", o->cmd);
}

int ef_net_cli_connect(ef_net_cli *o, int need_auth, ef_net **out) {
    *out = NULL;
    ef_error err = {0};
    char *pub = NULL, *sec = NULL;
    char source[1100] = "";
    if (need_auth) {
        ef_status s = find_keys(o, &pub, &sec, source, sizeof source, &err);
        if (s != EF_OK) {
            ef_net_secret_free(pub);
            ef_net_secret_free(sec);
            return ef_net_cli_fail(o, &err);
        }
    }
    ef_status s = ef_net_global_init(&err);
    if (s != EF_OK) return ef_net_cli_fail(o, &err);
    ef_net_config cfg = {0};
    const char *env_url = getenv("NUMERAI_API_URL");
    cfg.api_url = o->api_url ? o->api_url : (env_url && env_url[0] ? env_url : NULL);
    cfg.public_id = pub;
    cfg.secret_key = sec;
    cfg.max_retries = o->retries == 0 ? -1 : (int)o->retries;
    cfg.retry_base_s = o->retry_delay;
    cfg.retry_max_s = o->retry_max_time;
    cfg.connect_timeout_s = o->connect_timeout;
    cfg.low_speed_limit = o->stall_speed;
    cfg.low_speed_time_s = o->stall_timeout;
    cfg.api_timeout_s = o->timeout;
    cfg.seed = o->seed;
    cfg.verbosity = o->verbosity;
    cfg.log = log_stderr;
    s = ef_net_create(out, &cfg, &err);
    ef_net_secret_free(pub);
    ef_net_secret_free(sec);
    if (s != EF_OK) return ef_net_cli_fail(o, &err);
    if (o->verbosity >= 1) {
        fprintf(stderr, "eraformer: net: endpoint %s\n", cfg.api_url ? cfg.api_url : EF_NET_DEFAULT_API_URL);
        if (need_auth) fprintf(stderr, "eraformer: net: API keys from %s (secret not shown)\n", source);
    }
    return 0;
}

int ef_net_cli_fail(const ef_net_cli *o, const ef_error *err) {
    const char *hint = NULL;
    switch (err->code) {
    case EF_ERR_AUTH:
        hint = "set NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY (or --credentials FILE, or "
               "~/.config/eraformer/credentials with mode 600); create keys at numer.ai under Account > API keys";
        break;
    case EF_ERR_NET:
        hint = "check the connection and NUMERAI_API_URL/--api-url; -v shows each request and retry; "
               "an interrupted download resumes when run again";
        break;
    case EF_ERR_API: hint = "the message above is the Numerai API's own"; break;
    default: break;
    }
    (void)o;
    return ef_cli_fail(err, hint);
}

int ef_net_cli_parse_simple(ef_net_cli *o, int argc, char **argv, void (*usage)(FILE *)) {
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, EF_NET_LONGOPTS, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        int rc = ef_net_cli_option(o, c, optarg);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        if (c == 'h') {
            usage(stdout);
            return EF_EXIT_OK;
        }
        return ef_cli_usage(o->cmd, "unknown option");
    }
    if (optind < argc) return ef_cli_usage(o->cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

void ef_net_cli_download_progress(void *ctx, uint64_t have, uint64_t total) {
    ef_net_cli_progress *d = ctx;
    if (!d->started || have < d->base) {   /* first bytes, or the server restarted us at 0 */
        d->base = *d->resumed_from <= have ? *d->resumed_from : 0;
        ef_progress_start(&d->p, d->name, 0, "MB");
        d->p.t_last_print = d->p.t_start;   /* no line before a rate can be measured */
        d->started = 1;
    }
    /* MB so that the rate reads "9.5 MB/s"; the exact byte counts go in the extra column */
    d->p.total = total > d->base ? (double)(total - d->base) / 1e6 : 0;
    snprintf(d->extra, sizeof d->extra, "%" PRIu64 "/%" PRIu64 " bytes", have, total);
    ef_progress_update(&d->p, (double)(have - d->base) / 1e6, d->extra);
}
