/* cli: the fine-tuned model's input contract lives in the model file (safetensors
 * __metadata__["eraformer.contract"], exactly the text of the sidecar MODEL.st.json that
 * finetune still writes for older readers). A model predicts the same with and without its
 * sidecar; an older two-file model (the contract stripped, the sidecar beside it) still
 * predicts bit-identically; a damaged sidecar of an older model and a damaged embedded
 * contract (not JSON, a bad field, not a string) are refused naming the file, and a damaged
 * sidecar beside an embedded contract is ignored; export keeps the contract and embeds an
 * older model's sidecar; model directories with members of either kind, or sealed without a
 * sidecar, predict the same. The header edits here are byte-level (no JSON library): an
 * independent writer of the format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "eraformer/base.h"
#include "cli_util.h"
#include "test.h"

#define DIR EF_BINARY_DIR "/test_cli_contract_tmp"
#define TINY "--train " DIR "/train.parquet --validation " DIR "/validation.parquet --features-json " DIR \
             "/features.json --context-rows 32 --query-rows 16 --batch 2 --layers 1 --d-model 16 --heads 2 "  \
             "--embargo 4 --threads 1 --members 3 --ema 0"
#define CTX " --context " DIR "/train.parquet," DIR "/validation.parquet --data " DIR "/live.parquet --threads 1"
#define KEY "\"eraformer.contract\":"

static char out[1 << 16];

static int run(const char *cmd, int err2) { return cli_capture(cmd, err2, out, sizeof out); }

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* `eraformer predict --model model` of live into csv; returns the exit code (output in out). */
static int predict(const char *model, const char *csv) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, EF_CLI " predict --model %s" CTX " --out %s", model, csv);
    return run(cmd, 1);
}

static uint64_t header_len(const char *buf) {
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    return h;
}

/* text as a JSON string body, escaped the way the writer (cJSON) escapes: malloc'd */
static char *json_escape(const char *text) {
    char *e = malloc(strlen(text) * 6 + 1), *p = e;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        const char *rep = *s == '"' ? "\\\"" : *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : *s == '\t' ? "\\t"
                        : *s == '\r' ? "\\r" : *s == '\b' ? "\\b" : *s == '\f' ? "\\f" : NULL;
        if (rep) p += sprintf(p, "%s", rep);
        else if (*s < 0x20) p += sprintf(p, "\\u%04x", *s);
        else *p++ = (char)*s;
    }
    *p = 0;
    return e;
}

/* Copies model src to dst with its contract entry replaced by KEY + value (raw JSON), or
 * removed (value NULL: the file an older eraformer wrote). The header is re-padded to 8
 * bytes; the data offsets are relative to its end. Returns 0 when src has no contract. */
static int rewrite_contract(const char *src, const char *dst, const char *value) {
    char *buf;
    size_t size;
    if (ef_file_read_all(src, &buf, &size, NULL) != EF_OK) return 0;
    uint64_t hlen = header_len(buf);
    char *hdr = malloc(hlen + 1), *k;
    memcpy(hdr, buf + 8, hlen);
    hdr[hlen] = 0;
    if (!(k = strstr(hdr, KEY)) || k[strlen(KEY)] != '"') {
        free(hdr);
        ef_free(buf);
        return 0;
    }
    char *e = k + strlen(KEY) + 1;   /* the string's end: the first unescaped quote */
    while (*e != '"') e += *e == '\\' ? 2 : 1;
    e++;
    char *from = value ? k : k - 1;  /* removing: the comma before the key too */
    size_t pre = (size_t)(from - hdr), post_len = strlen(e);
    while (post_len && e[post_len - 1] == ' ') post_len--;   /* the old padding */
    size_t body = pre + (value ? strlen(KEY) + strlen(value) : 0) + post_len, nh = (body + 7) / 8 * 8;
    char *o = malloc(8 + nh + (size - 8 - hlen)), *p = o + 8;
    for (int i = 0; i < 8; i++) o[i] = (char)((uint64_t)nh >> (8 * i));
    memcpy(p, hdr, pre);
    p += pre;
    if (value) p += sprintf(p, "%s%s", KEY, value);
    memcpy(p, e, post_len);
    memset(p + post_len, ' ', nh - body);
    memcpy(o + 8 + nh, buf + 8 + hlen, size - 8 - hlen);
    ef_file_write_atomic(dst, o, 8 + nh + (size - 8 - hlen), NULL);
    free(o);
    free(hdr);
    ef_free(buf);
    return 1;
}

/* 1 when model's header holds the text of file side as its contract, byte for byte. */
static int embeds_file(const char *model, const char *side) {
    char *buf, *text;
    size_t size, n;
    if (ef_file_read_all(model, &buf, &size, NULL) != EF_OK) return 0;
    if (ef_file_read_all(side, &text, &n, NULL) != EF_OK) {
        ef_free(buf);
        return 0;
    }
    char *esc = json_escape(text), *want = malloc(strlen(esc) + 64);
    sprintf(want, KEY "\"%s\"", esc);
    buf[8 + header_len(buf)] = 0;
    int ok = strstr(buf + 8, want) != NULL;
    free(want);
    free(esc);
    ef_free(text);
    ef_free(buf);
    return ok;
}

/* CRC-32 (zlib's) of a file, and its size. */
static uint32_t file_crc(const char *path, size_t *size) {
    char *b;
    *size = 0;
    if (ef_file_read_all(path, &b, size, NULL) != EF_OK) return 0;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < *size; i++) {
        c ^= (unsigned char)b[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    ef_free(b);
    return ~c;
}

/* A one-member model directory (what train writes) around DIR/<model> (+ its sidecar when
 * with_meta), sealed by size and CRC-32. */
static void make_model_dir(const char *dir, const char *model, int with_meta) {
    char cmd[2048], p[1024], meta[256] = "";
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s && cp " DIR "/%s %s/member-1.st", dir, dir, model, dir);
    CHECK(run(cmd, 0) == 0);
    size_t ws, ms;
    snprintf(p, sizeof p, "%s/member-1.st", dir);
    uint32_t wc = file_crc(p, &ws);
    if (with_meta) {
        snprintf(cmd, sizeof cmd, "cp " DIR "/%s.json %s/member-1.st.json", model, dir);
        CHECK(run(cmd, 0) == 0);
        snprintf(p, sizeof p, "%s/member-1.st.json", dir);
        uint32_t mc = file_crc(p, &ms);
        snprintf(meta, sizeof meta, ", \"meta\": {\"file\": \"member-1.st.json\", \"bytes\": %zu, \"crc32\": \"%08x\"}", ms, mc);
    }
    char man[4096];
    int n = snprintf(man, sizeof man,
                     "{\"format\": \"eraformer-model-dir-1\", \"train\": \"" DIR "/train.parquet\", \"validation\": \"\", "
                     "\"task\": {\"context_rows\": 32, \"query_rows\": 16, \"batch\": 2}, \"seed\": \"1\", "
                     "\"max_members\": 1, \"budget_min\": 1, \"spent_s\": 1, \"planned_members\": 1, "
                     "\"selection\": {\"holdout_eras\": 6, \"embargo\": 4, \"first_era\": 35, \"last_era\": 40}, "
                     "\"members\": [{\"weights\": {\"file\": \"member-1.st\", \"bytes\": %zu, \"crc32\": \"%08x\"}%s, "
                     "\"seed\": \"1\", \"selection_corr\": 0, \"best_step\": 2, \"steps\": 4, \"seconds\": 1}], "
                     "\"complete\": true}",
                     ws, wc, meta);
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    CHECK(ef_file_write_atomic(p, man, (size_t)n, NULL) == EF_OK);
}

/* The model finetune writes, with and without its sidecar, and as an older two-file model. */
static void test_embedded_and_old(void) {
    CHECK(embeds_file(DIR "/m.st", DIR "/m.st.json"));
    CHECK(predict(DIR "/m.st", DIR "/a.csv") == 0);
    CHECK(run("mv " DIR "/m.st.json " DIR "/m.side", 0) == 0);
    CHECK(predict(DIR "/m.st", DIR "/b.csv") == 0);
    CHECK(cli_files_equal(DIR "/a.csv", DIR "/b.csv"));
    CHECK(run("cp " DIR "/m.side " DIR "/m.st.json", 0) == 0);
    /* the older format: weights without a contract, the sidecar beside them */
    CHECK(rewrite_contract(DIR "/m.st", DIR "/old.st", NULL));
    CHECK(!rewrite_contract(DIR "/old.st", DIR "/x.st", NULL));   /* no contract left */
    CHECK(run("cp " DIR "/m.st.json " DIR "/old.st.json", 0) == 0);
    CHECK(predict(DIR "/old.st", DIR "/c.csv") == 0);
    CHECK(cli_files_equal(DIR "/a.csv", DIR "/c.csv"));
    /* without its sidecar an older model is refused, naming the missing file */
    CHECK(run("rm " DIR "/old.st.json", 0) == 0);
    CHECK(predict(DIR "/old.st", DIR "/x.csv") == 1);
    CHECKF(strstr(out, "old.st.json") && strstr(out, "no embedded contract"), "%s", out);
}

/* A damaged sidecar of an older model: refused naming the sidecar and the field, exit 1. */
static void test_damaged_sidecar(void) {
    static const char *const seds[] = {
        "s/\"feature_groups\":.*/\"feature_groups\": [[0, 999]]/",
        "s/\"rankgauss\"/\"zscore\"/",
        /* counts beyond int (they were narrowed by an undefined double -> int cast) */
        "s/\"context_rows\":[[:space:]]*[0-9]*/\"context_rows\": 1e12/",
    };
    static const char *const want[] = {"feature_groups[0]", "feature_transform", "context_rows must be a whole number"};
    for (int i = 0; i < 3; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "sed '%s' " DIR "/m.st.json > " DIR "/old.st.json", seds[i]);
        CHECK(run(cmd, 0) == 0);
        CHECK(predict(DIR "/old.st", DIR "/x.csv") == 1);
        CHECKF(strstr(out, "old.st.json") && strstr(out, want[i]), "%s", out);
        /* the same damage beside a model with its contract embedded is ignored */
        snprintf(cmd, sizeof cmd, "cp " DIR "/m.st " DIR "/new.st && cp " DIR "/old.st.json " DIR "/new.st.json");
        CHECK(run(cmd, 0) == 0);
        CHECK(predict(DIR "/new.st", DIR "/x.csv") == 0 && cli_files_equal(DIR "/a.csv", DIR "/x.csv"));
    }
}

/* A damaged embedded contract: refused naming the model file, even with a valid sidecar. */
static void test_damaged_embedded(void) {
    char *text, *esc, *val;
    size_t n;
    CHECK(run("sed 's/\"feature_groups\":.*/\"feature_groups\": [[0, 999]]/' " DIR "/m.st.json > " DIR "/g.json", 0) == 0);
    CHECK(ef_file_read_all(DIR "/g.json", &text, &n, NULL) == EF_OK);
    esc = json_escape(text);
    val = malloc(strlen(esc) + 3);
    sprintf(val, "\"%s\"", esc);
    const char *values[] = {"\"{\\\"read_in\\\":\"", val, "12"};
    const char *want[] = {"not a JSON object", "feature_groups[0]", "not a string"};
    for (int i = 0; i < 3; i++) {
        CHECK(rewrite_contract(DIR "/m.st", DIR "/bad.st", values[i]));
        CHECK(run("cp " DIR "/m.st.json " DIR "/bad.st.json", 0) == 0);
        CHECK(predict(DIR "/bad.st", DIR "/x.csv") == 1);
        CHECKF(strstr(out, DIR "/bad.st") && !strstr(out, "bad.st.json") && strstr(out, want[i]), "%d: %s", i, out);
    }
    CHECK(strstr(out, "eraformer.contract") != NULL);
    free(val);
    free(esc);
    ef_free(text);
}

/* export keeps the contract, and embeds an older model's checked sidecar. */
static void test_export(void) {
    CHECK(run(EF_CLI " export --model " DIR "/m.st --out " DIR "/e.st", 1) == 0);
    CHECK(!exists(DIR "/e.st.json") && embeds_file(DIR "/e.st", DIR "/m.st.json"));
    CHECK(predict(DIR "/e.st", DIR "/x.csv") == 0 && cli_files_equal(DIR "/a.csv", DIR "/x.csv"));
    CHECK(run("cp " DIR "/m.st.json " DIR "/old.st.json", 0) == 0);
    CHECK(run(EF_CLI " export --model " DIR "/old.st --out " DIR "/e2.st", 1) == 0);
    CHECK(embeds_file(DIR "/e2.st", DIR "/m.st.json"));
    CHECK(predict(DIR "/e2.st", DIR "/x.csv") == 0 && cli_files_equal(DIR "/a.csv", DIR "/x.csv"));
    CHECK(run("sed 's/\"rankgauss\"/\"zscore\"/' " DIR "/m.st.json > " DIR "/old.st.json", 0) == 0);
    CHECK(run(EF_CLI " export --model " DIR "/old.st --out " DIR "/e3.st", 1) == 1);
    CHECKF(strstr(out, "old.st.json") && strstr(out, "feature_transform") && !exists(DIR "/e3.st"), "%s", out);
    CHECK(run("cp " DIR "/m.st.json " DIR "/old.st.json", 0) == 0);
}

/* train's model directory: members of the older kind, of the new kind, or sealed without a
 * sidecar, all predict the same; a member replaced after sealing is refused. */
static void test_model_dirs(void) {
    make_model_dir(DIR "/d_new", "m.st", 1);
    make_model_dir(DIR "/d_old", "old.st", 1);
    make_model_dir(DIR "/d_one", "m.st", 0);
    CHECK(predict(DIR "/d_new", DIR "/dn.csv") == 0);
    CHECK(predict(DIR "/d_old", DIR "/do.csv") == 0);
    CHECK(predict(DIR "/d_one", DIR "/d1.csv") == 0);
    CHECK(cli_files_equal(DIR "/dn.csv", DIR "/do.csv") && cli_files_equal(DIR "/dn.csv", DIR "/d1.csv"));
    CHECK(cli_files_equal(DIR "/dn.csv", DIR "/a.csv"));
    CHECK(run("cp " DIR "/old.st " DIR "/d_one/member-1.st", 0) == 0);
    CHECK(predict(DIR "/d_one", DIR "/x.csv") != 0);
    CHECKF(strstr(out, "d_one/member-1.st is damaged"), "%s", out);
    CHECK(run("echo '{}' > " DIR "/d_new/member-1.st.json", 0) == 0);   /* a sealed sidecar changed */
    CHECK(predict(DIR "/d_new", DIR "/x.csv") != 0);
    CHECKF(strstr(out, "d_new/member-1.st.json is damaged"), "%s", out);
}

int main(void) {
    CHECK(run("rm -rf " DIR " && mkdir -p " DIR, 0) == 0);
    CHECK(run(EF_CLI " synth --out " DIR " --eras-train 40 --eras-validation 12 --rows-per-era 60 --features 24 -q", 0) == 0);
    CHECK(run(EF_CLI " finetune " TINY " --feature-transform rankgauss --feature-groups --steps 4 --eval-every 2 --out " DIR
              "/m.st", 1) == 0);
    CHECK(exists(DIR "/m.st") && exists(DIR "/m.st.json"));
    test_embedded_and_old();
    test_damaged_sidecar();
    test_damaged_embedded();
    test_export();
    test_model_dirs();
    if (!getenv("EF_KEEP_TMP")) run("rm -rf " DIR, 0);
    TEST_MAIN_END;
}
