/* base: an atomic write removes the temp files that killed writers of the same target left
 * ("<path>.tmp.<pid>" with a pid that no longer runs) and nothing else: a running pid's temp
 * file, other targets' temp files and names that only look alike stay. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "base/ef_internal.h"
#include "test.h"

#define DIR_ "test_atomic_temps"

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void touch(const char *path) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("partial", f);
        fclose(f);
    }
    CHECKF(exists(path), "%s", path);
}

/* A pid that has exited and been reaped (so kill(pid, 0) fails with ESRCH). */
static pid_t dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    int st;
    waitpid(p, &st, 0);
    return p;
}

/* A child that runs until killed. */
static pid_t live_pid(void) {
    pid_t p = fork();
    if (p == 0) {
        for (;;) pause();
    }
    return p;
}

static void test_stale_temps(void) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    CHECK(system(cmd) == 0);
    CHECK(mkdir(DIR_, 0755) == 0);
    pid_t dead = dead_pid(), dead2 = dead_pid(), live = live_pid();
    CHECK(dead > 0 && dead2 > 0 && live > 0);
    errno = 0;
    CHECKF(kill(dead, 0) != 0 && errno == ESRCH, "pid %ld should be gone", (long)dead);
    CHECK(kill(live, 0) == 0);

    char stale[256], stale2[256], running[256], init[256], other[256], lookalike[4][256];
    snprintf(stale, sizeof stale, DIR_ "/out.st.tmp.%ld", (long)dead);
    snprintf(stale2, sizeof stale2, DIR_ "/out.st.tmp.%ld", (long)dead2);
    snprintf(running, sizeof running, DIR_ "/out.st.tmp.%ld", (long)live);
    snprintf(init, sizeof init, DIR_ "/out.st.tmp.1");                  /* pid 1 always runs */
    snprintf(other, sizeof other, DIR_ "/other.st.tmp.%ld", (long)dead); /* another target's */
    snprintf(lookalike[0], 256, DIR_ "/out.st.last.st.tmp.%ld", (long)dead);
    snprintf(lookalike[1], 256, DIR_ "/out.st.tmp.%ldx", (long)dead);
    snprintf(lookalike[2], 256, DIR_ "/out.st.tmp.0%ld", (long)dead);
    snprintf(lookalike[3], 256, DIR_ "/out.st.tmp.");
    const char *keep[] = {running, init, other, lookalike[0], lookalike[1], lookalike[2], lookalike[3]};
    touch(stale);
    touch(stale2);
    for (int i = 0; i < 7; i++) touch(keep[i]);

    ef_error err = {0};
    CHECK(ef_file_write_atomic(DIR_ "/out.st", "hello", 5, &err) == EF_OK);
    CHECK(!exists(stale) && !exists(stale2));
    for (int i = 0; i < 7; i++) CHECKF(exists(keep[i]), "%s was removed", keep[i]);
    char *data;
    size_t n;
    CHECK(ef_file_read_all(DIR_ "/out.st", &data, &n, &err) == EF_OK && n == 5 && !memcmp(data, "hello", 5));
    ef_free(data);
    char mine[256];
    snprintf(mine, sizeof mine, DIR_ "/out.st.tmp.%ld", (long)getpid());
    CHECK(!exists(mine));

    /* the sweep happens at open, before anything is written: an aborted write removes them too */
    touch(stale);
    ef_atomic_file af;
    CHECK(ef_atomic_open(&af, DIR_ "/out.st", &err) == EF_OK);
    CHECK(!exists(stale) && exists(mine) && exists(running));
    ef_atomic_abort(&af);
    CHECK(!exists(mine));

    /* once the writer has died, its temp file is stale too */
    kill(live, SIGKILL);
    int st;
    waitpid(live, &st, 0);
    CHECK(ef_file_write_atomic(DIR_ "/out.st", "again", 5, &err) == EF_OK);
    CHECK(!exists(running) && exists(init) && exists(other));

    /* a target named without a folder: the current directory is swept */
    CHECK(chdir(DIR_) == 0);
    char rel[64];
    snprintf(rel, sizeof rel, "plain.csv.tmp.%ld", (long)dead);
    touch(rel);
    CHECK(ef_file_write_atomic("plain.csv", "a,b\n", 4, &err) == EF_OK);
    CHECK(!exists(rel) && exists("plain.csv"));
    CHECK(chdir("..") == 0);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_stale_temps();
    TEST_MAIN_END;
}
