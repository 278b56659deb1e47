/* cli: eraformer validate-submission against Numerai's real v5.3 live example predictions
 * (../shared/numerai/v5.3_live_example_preds.csv): the file itself is valid, and copies with
 * each kind of violation exit 1 with a message naming it. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "eraformer/base.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_validate_tmp"
#define LIVE EF_SHARED_DIR "/numerai/v5.3_live_example_preds.csv"

static char out[1 << 16];
static char *live;
static size_t live_size;

static int run(const char *cmd) {
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes a copy of the live file with line `line` (1-based) replaced by repl (NULL: dropped),
 * plus an extra line appended when extra is non-NULL. Returns the validate exit code. */
static int variant(int line, const char *repl, const char *extra) {
    FILE *f = fopen(DIR "/sub.csv", "w");
    if (!f) return -1;
    const char *s = live;
    int ln = 1;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s + 1) : strlen(s);
        if (ln == line) {
            if (repl) fprintf(f, "%s\n", repl);
        } else {
            fwrite(s, 1, len, f);
        }
        s += len;
        ln++;
    }
    if (extra) fprintf(f, "%s\n", extra);
    fclose(f);
    return run(EF_CLI " validate-submission " DIR "/sub.csv --live " LIVE);
}

int main(void) {
    mkdir(DIR, 0777);
    if (ef_file_read_all(LIVE, &live, &live_size, NULL) != EF_OK) {
        fprintf(stderr, "cannot read %s\n", LIVE);
        return 1;
    }
    /* the example predictions are a valid submission for their own live ids */
    int rc = run(EF_CLI " validate-submission " LIVE " --live " LIVE);
    CHECKF(rc == 0, "rc %d: %s", rc, out);
    CHECK(strstr(out, "OK") && strstr(out, "7032 rows"));
    /* line 2 is the first data row: n00042159675a843 */
    CHECK(variant(1, "id,pred", NULL) == 1 && strstr(out, "header must be exactly id,prediction"));
    CHECK(variant(1, "id,probability", NULL) == 0);
    CHECK(variant(2, "n00042159675a843,nan", NULL) == 1 && strstr(out, "1 prediction(s) are NaN"));
    CHECK(variant(2, "n00042159675a843,1.5", NULL) == 1 && strstr(out, "outside [0, 1]"));
    CHECK(variant(2, "n00042159675a843,-0.1", NULL) == 1 && strstr(out, "outside [0, 1]"));
    CHECK(variant(2, NULL, NULL) == 1 && strstr(out, "live id(s) are missing (first: n00042159675a843)"));
    CHECK(variant(0, NULL, "n00042159675a843,0.5") == 1 && strstr(out, "duplicate id(s) (first: n00042159675a843)"));
    /* an id that is not live is allowed (reported as a note) */
    CHECK(variant(0, NULL, "nffffffffffffff0,0.5") == 0 && strstr(out, "not in the live data"));
    CHECK(variant(2, "n00042159675a843,abc", NULL) == 1 && strstr(out, "line 2"));
    /* constant predictions */
    FILE *f = fopen(DIR "/const.csv", "w");
    const char *s = strchr(live, '\n') + 1;
    fprintf(f, "id,prediction\n");
    while (*s) {
        const char *c = strchr(s, ',');
        fprintf(f, "%.*s,0.5\n", (int)(c - s), s);
        s = strchr(s, '\n');
        if (!s) break;
        s++;
    }
    fclose(f);
    rc = run(EF_CLI " validate-submission " DIR "/const.csv --live " LIVE);
    CHECK(rc == 1 && strstr(out, "constant"));
    CHECK(run(EF_CLI " validate-submission " LIVE) == 2);
    CHECK(run(EF_CLI " validate-submission --help") == 0 && strstr(out, "--live"));
    ef_free(live);
    TEST_MAIN_END;
}
