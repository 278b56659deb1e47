/* eraformer download: fetch dataset files by name (dataset query -> presigned URL -> GET),
 * resumably: data goes to DEST/NAME.temp, a partial .temp is resumed with Range, a complete
 * file is skipped, and only a complete file (size checked) is renamed to DEST/NAME. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "cli/net_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer download NAME... [--dest DIR] [--round N] [connection options]\n\n"
               "Downloads Numerai dataset files (names as 'eraformer datasets' lists them, e.g.\n"
               "v5.2/train.parquet) to DIR/NAME, keeping the version folder. Prints each final path\n"
               "on stdout; progress (bytes, rate, ETA) goes to stderr.\n\n"
               "  - data is written to DIR/NAME.temp and renamed only when its size matches the server's,\n"
               "    so DIR/NAME is never half-written;\n"
               "  - an interrupted download (killed, dropped connection) resumes from the .temp when run\n"
               "    again; dropped connections are also retried and resumed automatically;\n"
               "  - a file already complete (same size as on the server) is skipped.\n\n"
               "options:\n"
               "  --dest DIR             destination folder (default .)\n"
               "  --round N              a past round's files instead of the current round's\n"
               "  -h, --help             this help\n");
    ef_net_cli_help(f, 0);
}

/* NAME must stay under DEST: relative, no empty, "." or ".." components. */
static int name_ok(const char *name) {
    if (!name[0] || name[0] == '/') return 0;
    const char *p = name;
    while (*p) {
        size_t l = strcspn(p, "/");
        if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) return 0;
        p += l;
        if (*p == '/') p++;
        else break;
    }
    return name[strlen(name) - 1] != '/';
}

int ef_cmd_download(int argc, char **argv) {
    static const struct option opts[] = {{"dest", required_argument, NULL, 'd'}, {"round", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'}, EF_NET_LONGOPTS, {0, 0, 0, 0}};
    ef_net_cli o;
    ef_net_cli_init(&o, "download");
    const char *dest = ".";
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
        case 'd': dest = optarg; break;
        case 'r':
            if (ef_cli_parse_long("download", "--round", optarg, 1, 1000000, &round)) return EF_EXIT_USAGE;
            break;
        default: return ef_cli_usage("download", "unknown option");
        }
    }
    if (optind >= argc) return ef_cli_usage("download", "no dataset NAME given (see 'eraformer datasets')");
    for (int i = optind; i < argc; i++)
        if (!name_ok(argv[i]))
            return ef_cli_usage("download", "'%s' is not a dataset name (expected e.g. v5.2/train.parquet)", argv[i]);
    if (!dest[0]) return ef_cli_usage("download", "--dest must not be empty");
    ef_net *n;
    int rc = ef_net_cli_connect(&o, 0, &n);
    if (rc) return rc;
    for (int i = optind; i < argc && rc == 0; i++) {
        const char *name = argv[i];
        ef_error err = {0};
        char *url = NULL;
        size_t plen = strlen(dest) + strlen(name) + 2;
        char *path = ef_malloc(plen);
        if (!path) {
            ef_error_set(&err, EF_ERR_NOMEM, __FILE__, __LINE__, "out of memory");
            rc = ef_net_cli_fail(&o, &err);
            break;
        }
        snprintf(path, plen, "%s%s%s", dest, dest[strlen(dest) - 1] == '/' ? "" : "/", name);
        if (ef_net_dataset_url(n, name, round, &url, &err) != EF_OK) {
            rc = ef_net_cli_fail(&o, &err);
        } else {
            uint64_t resumed = 0;
            ef_net_cli_progress pr = {0};
            pr.name = name;
            pr.resumed_from = &resumed;
            ef_net_download_result res;
            if (ef_net_download(n, url, path, ef_net_cli_download_progress, &pr, &res, &resumed, &err) != EF_OK) {
                if (pr.started) fputc('\n', stderr);
                rc = ef_net_cli_fail(&o, &err);
            } else {
                struct stat st;
                long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
                if (res == EF_NET_ALREADY_COMPLETE) {
                    fprintf(stderr, "%s: already complete (%lld bytes), skipped\n", path, size);
                } else {
                    if (pr.started) ef_progress_finish(&pr.p, pr.p.total, pr.extra);
                    if (resumed) fprintf(stderr, "%s: resumed at byte %" PRIu64 ", ", path, resumed);
                    else fprintf(stderr, "%s: ", path);
                    fprintf(stderr, "complete (%lld bytes)\n", size);
                }
                printf("%s\n", path);
                fflush(stdout);
            }
        }
        ef_free(url);
        ef_free(path);
    }
    ef_net_destroy(n);
    return rc;
}
