/* net downloads against the fake server: fresh, skip-when-complete, resume from a partial
 * .temp (Range/206), dropped and stalled connections (retried, resumed), 500s, a server that
 * ignores Range, a .temp that is complete or too long (416), nested names, 404/403 errors,
 * a server that keeps dropping (bounded, .temp kept), and a .temp locked by another process.
 * The final file is always byte-identical and nothing half-written is ever at its name. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "eraformer/net.h"
#include "fake_server.h"
#include "test.h"

static fake_server srv;
static char api_url[64];
static const char *dir = "net_dl_test";
static uint64_t last_have, last_total;
static int progress_calls;

static void progress(void *ctx, uint64_t have, uint64_t total) {
    (void)ctx;
    last_have = have;
    last_total = total;
    progress_calls++;
}

static ef_net *client(int retries, long low_speed_limit) {
    ef_net_config cfg = {0};
    cfg.api_url = api_url;
    cfg.max_retries = retries;
    cfg.retry_base_s = 0.01;
    cfg.retry_max_s = 30;
    cfg.connect_timeout_s = 2;
    cfg.low_speed_limit = low_speed_limit;
    cfg.low_speed_time_s = 1;
    cfg.seed = 3;
    ef_net *n = NULL;
    ef_error err = {0};
    CHECKF(ef_net_create(&n, &cfg, &err) == EF_OK, "%s", err.msg);
    return n;
}

static int exists(const char *path) {
    return access(path, F_OK) == 0;
}

static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    fwrite(data, 1, len, fp);
    fclose(fp);
}

static char *url_of(ef_net *n, const char *name) {
    char *url = NULL;
    ef_error err = {0};
    CHECKF(ef_net_dataset_url(n, name, 0, &url, &err) == EF_OK, "%s", err.msg);
    return url;
}

static void test_download(void) {
    const fs_file *f = &srv.files[0];
    ef_net *n = client(3, 1);
    ef_error err = {0};
    char dest[512], temp[600];
    snprintf(dest, sizeof dest, "%s/out/%s", dir, f->name);
    snprintf(temp, sizeof temp, "%s.temp", dest);
    char *url = url_of(n, f->name);
    ef_net_download_result res;
    uint64_t from = 99;

    /* fresh: parents created, progress reported, no .temp left */
    CHECKF(ef_net_download(n, url, dest, progress, NULL, &res, &from, &err) == EF_OK, "%s", err.msg);
    CHECK(res == EF_NET_DOWNLOADED && from == 0);
    CHECK(fs_file_equals(dest, f) && !exists(temp));
    CHECK(progress_calls > 0 && last_have == f->len && last_total == f->len);

    /* complete already: skipped without writing */
    int gets = fs_get_int(&srv, &srv.n_get);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK && res == EF_NET_ALREADY_COMPLETE);
    CHECK(fs_get_int(&srv, &srv.n_get) == gets + 1 && fs_file_equals(dest, f) && !exists(temp));

    /* dest with the wrong size: fetched again, replaced only when complete */
    write_bytes(dest, "old", 3);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK && res == EF_NET_DOWNLOADED);
    CHECK(fs_file_equals(dest, f));

    /* a partial .temp is resumed with Range */
    unlink(dest);
    write_bytes(temp, f->data, 300000);
    int ranges = fs_get_int(&srv, &srv.n_range_get);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, &from, &err) == EF_OK && res == EF_NET_DOWNLOADED);
    CHECK(fs_idle(&srv) == 0);
    CHECK(from == 300000 && fs_get_int(&srv, &srv.n_range_get) == ranges + 1 && !strcmp(srv.last_range, "bytes=300000-"));
    CHECK(fs_file_equals(dest, f) && !exists(temp));

    /* a connection dropped mid-body: retried from where it stopped */
    unlink(dest);
    fs_set(&srv, &srv.drop_get_next, 1);
    ranges = fs_get_int(&srv, &srv.n_range_get);
    gets = fs_get_int(&srv, &srv.n_get);
    CHECKF(ef_net_download(n, url, dest, NULL, NULL, &res, &from, &err) == EF_OK, "%s", err.msg);
    CHECK(from == 0 && fs_get_int(&srv, &srv.n_get) == gets + 2 && fs_get_int(&srv, &srv.n_range_get) == ranges + 1);
    CHECK(fs_get_long(&srv, &srv.last_range_start) == (long)(f->len / 2));
    CHECK(fs_file_equals(dest, f) && !exists(temp));

    /* 500 first, then success */
    unlink(dest);
    fs_set(&srv, &srv.fail_500_get, 2);
    gets = fs_get_int(&srv, &srv.n_get);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK);
    CHECK(fs_get_int(&srv, &srv.n_get) == gets + 3 && fs_file_equals(dest, f));

    /* a server that ignores Range: the .temp is rewritten from the start */
    unlink(dest);
    write_bytes(temp, "garbage-garbage", 15);
    fs_set(&srv, &srv.ignore_range, 1);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, &from, &err) == EF_OK);
    fs_set(&srv, &srv.ignore_range, 0);
    CHECK(from == 15 && fs_file_equals(dest, f) && !exists(temp));

    /* a complete .temp that was never renamed (killed at the end): 416, then renamed */
    unlink(dest);
    write_bytes(temp, f->data, f->len);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK && res == EF_NET_DOWNLOADED);
    CHECK(fs_file_equals(dest, f) && !exists(temp));

    /* a .temp longer than the file: 416, restarted */
    unlink(dest);
    unsigned char *big = calloc(1, f->len + 10);
    write_bytes(temp, big, f->len + 10);
    free(big);
    CHECKF(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK, "%s", err.msg);
    CHECK(fs_file_equals(dest, f) && !exists(temp));

    /* errors that are not retried */
    char bad[512];
    snprintf(bad, sizeof bad, "http://127.0.0.1:%d/files/nope.bin?X-Amz-Signature=presignedSIG123", srv.port);
    gets = fs_get_int(&srv, &srv.n_get);
    CHECK(ef_net_download(n, bad, "net_dl_test/nope.bin", NULL, NULL, &res, NULL, &err) == EF_ERR_NET);
    CHECKF(strstr(err.msg, "404") && strstr(err.msg, "?<redacted>") && !strstr(err.msg, "presignedSIG"), "%s", err.msg);
    CHECK(fs_get_int(&srv, &srv.n_get) == gets + 1 && !exists("net_dl_test/nope.bin") && !exists("net_dl_test/nope.bin.temp"));
    snprintf(bad, sizeof bad, "http://127.0.0.1:%d/files/%s?X-Amz-Signature=expired", srv.port, f->name);
    CHECK(ef_net_download(n, bad, "net_dl_test/x.bin", NULL, NULL, &res, NULL, &err) == EF_ERR_AUTH);
    CHECK(strstr(err.msg, "403") != NULL);
    ef_free(url);
    ef_net_destroy(n);
}

static void test_stall_and_persistent_drop(void) {
    const fs_file *f = &srv.files[1];
    /* a high low-speed limit makes a stall visible within about a second */
    ef_net *n = client(3, 100000);
    ef_error err = {0};
    char dest[512], temp[600];
    snprintf(dest, sizeof dest, "%s/%s", dir, f->name);
    snprintf(temp, sizeof temp, "%s.temp", dest);
    char *url = url_of(n, f->name);
    ef_net_download_result res;
    fs_set_double(&srv, &srv.stall_s, 15);
    fs_set(&srv, &srv.stall_get_next, 1);
    int gets = fs_get_int(&srv, &srv.n_get);
    CHECKF(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK, "%s", err.msg);
    CHECK(fs_get_int(&srv, &srv.n_get) == gets + 2 && fs_get_long(&srv, &srv.last_range_start) == (long)(f->len / 2));
    CHECK(fs_file_equals(dest, f) && !exists(temp));
    ef_net_destroy(n);

    /* a server that drops every transfer: bounded, a clear error, the .temp kept for later */
    unlink(dest);
    n = client(2, 1);
    fs_set(&srv, &srv.drop_get_next, 1000);
    gets = fs_get_int(&srv, &srv.n_get);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_ERR_NET);
    CHECKF(strstr(err.msg, "run the command again to resume") != NULL, "%s", err.msg);
    CHECK(fs_get_int(&srv, &srv.n_get) - gets < 60);
    CHECK(!exists(dest) && exists(temp));
    fs_set(&srv, &srv.drop_get_next, 0);
    /* ... and the next run completes it */
    uint64_t from = 0;
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, &from, &err) == EF_OK);
    CHECK(from > f->len / 2 && fs_file_equals(dest, f) && !exists(temp));

    /* another process holds the .temp: refused, nothing touched */
    unlink(dest);
    write_bytes(temp, f->data, 1000);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(temp, O_RDWR);
        struct flock fl = {0};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        fcntl(fd, F_SETLK, &fl);
        (void)!write(pipefd[1], "x", 1);
        sleep(20);
        _exit(0);
    }
    char c;
    CHECK(read(pipefd[0], &c, 1) == 1);
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_ERR_IO);
    CHECKF(strstr(err.msg, "another process") != NULL, "%s", err.msg);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK(!exists(dest));
    CHECK(ef_net_download(n, url, dest, NULL, NULL, &res, NULL, &err) == EF_OK && fs_file_equals(dest, f));
    ef_free(url);
    ef_net_destroy(n);
}

int main(void) {
    ef_error err = {0};
    CHECK(ef_net_global_init(&err) == EF_OK);
    if (fs_start(&srv, "PUB", "SECRET") != 0) return 1;
    fs_add_file(&srv, "v5.2/train.parquet", 1000003, 11);
    fs_add_file(&srv, "v5.2/features.json", 400000, 12);
    snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", srv.port);
    (void)!system("rm -rf net_dl_test");
    mkdir(dir, 0755);
    test_download();
    test_stall_and_persistent_drop();
    fs_stop(&srv);
    (void)!system("rm -rf net_dl_test");
    TEST_MAIN_END;
}
