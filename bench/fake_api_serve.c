/* The fake Numerai API of the net tests (tests/net/fake_server.h) as a standalone process, for
 * bench/crash_loop.sh: it serves one dataset file of deterministic pseudo-random bytes, slowly
 * if asked, so that a kill -9 of 'eraformer download' lands mid-transfer. Loopback only.
 *
 *   fake_api_serve NAME BYTES [BYTES_PER_S [COPY]]
 *
 * Prints the port on stdout (one line, flushed), writes the file's exact bytes to COPY when
 * given (the reference for byte comparison), then serves until SIGTERM or SIGINT. Point
 * eraformer at it with NUMERAI_API_URL=http://127.0.0.1:PORT; 'download NAME' needs no keys. */
#include <signal.h>
#include "net/fake_server.h"

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s NAME BYTES [BYTES_PER_S [COPY]]\n", argv[0]);
        return 2;
    }
    char *end;
    unsigned long long bytes = strtoull(argv[2], &end, 10);
    long bps = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    if (*end || bytes == 0 || bytes > (1ull << 31) || bps < 0) {
        fprintf(stderr, "error: BYTES must be in [1, 2^31], BYTES_PER_S >= 0\n");
        return 2;
    }
    /* SIGTERM/SIGINT are taken by sigwait below: block them before any thread starts */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    static fake_server srv;
    if (fs_start(&srv, "PUBID_unused", "SECRET_unused") != 0) {
        fprintf(stderr, "error: cannot listen on 127.0.0.1\n");
        return 1;
    }
    const fs_file *f = fs_add_file(&srv, argv[1], (size_t)bytes, 19);
    if (!f) {
        fprintf(stderr, "error: out of memory\n");
        fs_stop(&srv);
        return 1;
    }
    fs_set_long(&srv, &srv.throttle_bps, bps);
    if (argc > 4) {
        FILE *c = fopen(argv[4], "wb");
        int ok = c && fwrite(f->data, 1, f->len, c) == f->len;
        if (c && fclose(c) != 0) ok = 0;
        if (!ok) {
            fprintf(stderr, "error: cannot write %s\n", argv[4]);
            fs_stop(&srv);
            return 1;
        }
    }
    printf("%d\n", srv.port);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    fs_stop(&srv);
    return 0;
}
