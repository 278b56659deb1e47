/* Data-parallel fine-tuning over MPI: 2 ranks read disjoint shards of eras that together are
 * exactly the eras and rows a 1-rank run reads; the validation CORR is computed over every
 * rank's eras (as many as the 1-rank run scores); rank 0 alone logs and prints; --resume
 * works across rank counts (1 -> 2 and 2 -> 1 ranks) and continues at the saved step.
 * Skipped (exit 77) only when `eraformer --version` says the binary was built without MPI;
 * a build with MPI but no mpirun on PATH fails. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eraformer/base.h"
#include "cli_util.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_mpi_finetune_tmp"
#define ARGS " finetune --train " DIR "/train.parquet --validation " DIR "/validation.parquet --features-json " DIR \
             "/features.json --context-rows 32 --query-rows 16 --batch 2 --layers 1 --d-model 16 --heads 2 "    \
             "--embargo 4 --threads 1 --members 2 --ema 0 --eval-every 5 --patience 100"
/* Open MPI's runtime leaks a few KB by design, which LeakSanitizer would report in a
 * sanitizer build: leaks are checked by the 1-rank runs */
#define MPI2 "ASAN_OPTIONS=detect_leaks=0 OMPI_MCA_btl=self,vader OMPI_MCA_plm_rsh_agent=false " \
             "mpirun --allow-run-as-root --oversubscribe -np 2 "

static char out[1 << 16];
static char logbuf[1 << 20];

/* The eras of every "shard" record of a finetune log: marks[era] |= 1 << shard; rows summed. */
static int read_shards(const char *path, unsigned char *marks, int cap, double *rows, int *n_shards) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    *rows = 0;
    *n_shards = 0;
    memset(marks, 0, (size_t)cap);
    while (fgets(logbuf, sizeof logbuf, f)) {
        if (strncmp(logbuf, "{\"shard\":", 9)) continue;
        int sh = atoi(logbuf + 9);
        (*n_shards)++;
        char *p = strstr(logbuf, "\"rows\":");
        if (p) *rows += strtod(p + 7, NULL);
        p = strstr(logbuf, "\"eras\":[");
        if (!p) continue;
        p += 8;
        while (*p && *p != ']') {
            int e = (int)strtol(p, &p, 10);
            if (e >= 0 && e < cap) {
                if (marks[e] & (1u << sh)) marks[e] |= 0x80;   /* an era twice in one shard */
                marks[e] |= (unsigned char)(1u << sh);
            }
            if (*p == ',') p++;
        }
    }
    fclose(f);
    return 0;
}

/* The last value of key in the log's records that contain it (NaN if none), and their count. */
static double last_value(const char *path, const char *key, int *count) {
    FILE *f = fopen(path, "r");
    double v = NAN;
    *count = 0;
    if (!f) return v;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    while (fgets(logbuf, sizeof logbuf, f)) {
        char *p = strstr(logbuf, pat);
        if (!p) continue;
        v = strtod(p + strlen(pat), NULL);
        (*count)++;
    }
    fclose(f);
    return v;
}

static int count_lines(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

int main(void) {
    int gate = cli_require_mpi();
    if (gate >= 0) return gate;
    CHECK(cli_capture("rm -rf " DIR " && mkdir -p " DIR, 0, out, sizeof out) == 0);
    CHECK(cli_capture(EF_CLI " synth --out " DIR " --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q",
                      0, out, sizeof out) == 0);

    /* 1 rank reads everything */
    CHECK(cli_capture(EF_CLI ARGS " --steps 10 --out " DIR "/one.st 2>/dev/null", 0, out, sizeof out) == 0);
    unsigned char m1[128], m2[128];
    double rows1, rows2;
    int ns1, ns2, n;
    CHECK(read_shards(DIR "/one.st.log.jsonl", m1, 128, &rows1, &ns1) == 0);
    CHECK(ns1 == 1 && rows1 > 0);
    int eras1 = 0;
    for (int e = 0; e < 128; e++) eras1 += m1[e] == 1;
    CHECK(eras1 == 52);   /* 40 train + 12 validation eras */
    double val1 = last_value(DIR "/one.st.log.jsonl", "val_eras", &n);
    CHECK(n == 2 && val1 > 0);

    /* 2 ranks: disjoint shards whose union is the 1-rank data */
    CHECK(cli_capture(MPI2 EF_CLI ARGS " --steps 10 --out " DIR "/two.st", 1, out, sizeof out) == 0);
    CHECK(count_lines(out, "\"best_validation_corr\"") == 1);   /* rank 0 alone prints the result */
    CHECK(count_lines(out, "finetune: rank ") == 2);
    CHECK(read_shards(DIR "/two.st.log.jsonl", m2, 128, &rows2, &ns2) == 0);
    CHECK(ns2 == 2);
    int disjoint = 1, same_union = 1, both = 0;
    for (int e = 0; e < 128; e++) {
        disjoint &= m2[e] != 3 && !(m2[e] & 0x80);
        same_union &= (m1[e] != 0) == (m2[e] != 0);
        both += (m2[e] & 1) && (m2[e] & 2);
    }
    CHECK(disjoint && both == 0);
    CHECKF(same_union, "the two ranks' eras are not the 1-rank eras");
    CHECKF(rows2 == rows1, "rows: 2 ranks %.0f, 1 rank %.0f", rows2, rows1);
    int shard0 = 0, shard1 = 0;
    for (int e = 0; e < 128; e++) {
        shard0 += m2[e] == 1;
        shard1 += m2[e] == 2;
    }
    CHECKF(shard0 == 26 && shard1 == 26, "shards of %d and %d eras (interleaved: 26 each)", shard0, shard1);
    /* the validation CORR is gathered over both ranks' eras */
    double val2 = last_value(DIR "/two.st.log.jsonl", "val_eras", &n);
    CHECKF(n == 2 && val2 == val1, "validation eras scored: 2 ranks %g, 1 rank %g", val2, val1);
    int steps2 = 0;
    last_value(DIR "/two.st.log.jsonl", "loss", &steps2);
    CHECK(steps2 == 10);   /* one log, written by rank 0 only */

    /* resume across rank counts: 1 rank -> 2 ranks, 2 ranks -> 1 rank */
    CHECK(cli_capture(MPI2 EF_CLI ARGS " --steps 20 --resume " DIR "/one.st.last.st --out " DIR "/one.st 2>/dev/null", 0,
                      out, sizeof out) == 0);
    CHECK(cli_json_number(out, "steps") == 20);
    int nl = 0;
    last_value(DIR "/one.st.log.jsonl", "loss", &nl);
    CHECKF(nl == 20, "1 -> 2 ranks: %d training steps logged (10 + 10)", nl);
    CHECK(cli_capture(EF_CLI ARGS " --steps 15 --resume " DIR "/two.st.last.st --out " DIR "/two.st 2>/dev/null", 0, out,
                      sizeof out) == 0);
    CHECK(cli_json_number(out, "steps") == 15);
    last_value(DIR "/two.st.log.jsonl", "loss", &nl);
    CHECKF(nl == 15, "2 -> 1 ranks: %d training steps logged (10 + 5)", nl);

    /* an impossible shard: 2 ranks x too few eras for the context -> a clear error, exit 1 */
    int rc = cli_capture(MPI2 EF_CLI ARGS " --steps 2 --context-rows 100000 --out " DIR "/bad.st", 1, out, sizeof out);
    CHECK(rc != 0);
    CHECK(strstr(out, "context rows") != NULL);
    CHECK(cli_capture("rm -rf " DIR, 0, out, sizeof out) == 0);
    TEST_MAIN_END;
}
