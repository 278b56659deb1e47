/* unit: a model's contract (caller JSON text) in the checkpoint's __metadata__
 * (ef_model_save_contract / ef_model_load_contract / ef_model_read_contract): round trip of
 * quotes, backslashes, escapes, multi-byte UTF-8 and a contract past 64 KB; the header stays
 * valid safetensors JSON for an independent reader (Python's json module, when python3 is
 * there: header length, padding, string-only __metadata__, tensor offsets); files without a
 * contract are byte-identical to ef_model_save's and load with none; invalid contracts are
 * refused before anything is written; a damaged header or contract value is EF_ERR_FORMAT
 * naming the file; allocation failures leak nothing. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eraformer/model.h"
#include "test.h"

#define P_MODEL "test_contract.st"
#define P_PLAIN "test_contract_plain.st"
#define P_BAD "test_contract_bad.st"
#define P_WANT "test_contract_want.txt"

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* A contract of about `n` bytes: finetune's shape, with every kind of character a JSON
 * string may need escaped or may carry raw. */
static char *make_contract(size_t n) {
    static const char *head = "{\"format\":\"eraformer-finetune-1\",\"note\":\"quote \\\" backslash \\\\ slash \\/ "
                              "tab \\t nl \\n ctrl \\u0001 bmp \\u00e9 pair \\ud83d\\ude00\",\"raw\":\"caf\xc3\xa9 "
                              "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \\\\\\\"\",\"features\":[";
    char *s = malloc(n + 256);
    size_t k = (size_t)snprintf(s, n + 256, "%s", head);
    for (int i = 0; k < n; i++) k += (size_t)snprintf(s + k, n + 256 - k, "%s\"feature_\xc3\xb1_%d\"", i ? "," : "", i);
    snprintf(s + k, n + 256 - k, "]}");
    return s;
}

/* The independent reader: Python's json on the header, byte for byte. Returns 1 when it
 * agrees (or python3 is absent: then a note), 0 when it does not. */
static int python_agrees(const char *path, const char *want_path) {
    if (system("python3 -c 'import json' > /dev/null 2>&1") != 0) {
        printf("note: python3 not found, the independent header check is skipped\n");
        return 1;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "python3 - '%s' '%s' <<'EOF'\n"
             "import json, struct, sys, os\n"
             "b = open(sys.argv[1], 'rb').read()\n"
             "n = struct.unpack('<Q', b[:8])[0]\n"
             "assert n %% 8 == 0 and 8 + n <= len(b), n\n"
             "raw = b[8:8 + n]\n"
             "assert raw[:1] == b'{', raw[:1]\n"
             "h = json.loads(raw.decode('utf-8'))\n"
             "meta = h.pop('__metadata__')\n"
             "assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), meta.keys()\n"
             "want = open(sys.argv[2], 'rb').read().decode('utf-8')\n"
             "assert meta['eraformer.contract'] == want, 'contract differs'\n"
             "json.loads(want)\n"
             "spans = sorted(tuple(t['data_offsets']) for t in h.values())\n"
             "assert spans[0][0] == 0 and spans[-1][1] == len(b) - 8 - n, spans[-1]\n"
             "assert all(a[1] == b_[0] for a, b_ in zip(spans, spans[1:]))\n"
             "EOF",
             path, want_path);
    return system(cmd) == 0;
}

static ef_model *make_model(void) {
    ef_model_config cfg = {EF_LAYOUT_ROWS, 1, 16, 2, 8, 16, 0};
    ef_model *m = NULL;
    ef_error err = {0};
    CHECK(ef_model_create(&m, &cfg, 2, 7, &err) == EF_OK);
    return m;
}

static void test_round_trip(ef_model *m, size_t n) {
    ef_error err = {0};
    char *want = make_contract(n);
    CHECK(strlen(want) >= n);
    CHECK(ef_file_write_atomic(P_WANT, want, strlen(want), &err) == EF_OK);
    CHECKF(ef_model_save_contract(m, P_MODEL, NULL, 0, want, &err) == EF_OK, "%s", err.msg);
    ef_model *b = NULL;
    char *got = NULL;
    CHECKF(ef_model_load_contract(&b, P_MODEL, 2, NULL, NULL, &got, &err) == EF_OK, "%s", err.msg);
    CHECKF(got && !strcmp(got, want), "contract of %zu bytes differs after the round trip", strlen(want));
    size_t np = ef_model_num_params(m);
    CHECK(b && ef_model_num_params(b) == np && !memcmp(ef_model_params(b), ef_model_params(m), np * 4));
    ef_free(got);
    got = NULL;
    CHECK(ef_model_read_contract(P_MODEL, &got, &err) == EF_OK && got && !strcmp(got, want));
    ef_free(got);
    ef_model_destroy(b);
    /* ef_model_load ignores it */
    CHECK(ef_model_load(&b, P_MODEL, 2, NULL, NULL, &err) == EF_OK);
    ef_model_destroy(b);
    CHECKF(python_agrees(P_MODEL, P_WANT), "python's json disagrees with the header of %s (%zu-byte contract)",
           P_MODEL, n);
    free(want);
}

/* No contract: the bytes of ef_model_save, and readers get NULL. */
static void test_none(ef_model *m) {
    ef_error err = {0};
    CHECK(ef_model_save(m, P_PLAIN, NULL, 0, &err) == EF_OK);
    CHECK(ef_model_save_contract(m, P_MODEL, NULL, 0, NULL, &err) == EF_OK);
    char *a, *b;
    size_t na, nb;
    CHECK(ef_file_read_all(P_PLAIN, &a, &na, &err) == EF_OK && ef_file_read_all(P_MODEL, &b, &nb, &err) == EF_OK);
    CHECK(na == nb && !memcmp(a, b, na));
    CHECK(!strstr(a + 8, EF_MODEL_CONTRACT_KEY));
    ef_free(a);
    ef_free(b);
    ef_model *l = NULL;
    char *c = (char *)"x";
    CHECK(ef_model_load_contract(&l, P_PLAIN, 2, NULL, NULL, &c, &err) == EF_OK && l && c == NULL);
    ef_model_destroy(l);
    c = (char *)"x";
    CHECK(ef_model_read_contract(P_PLAIN, &c, &err) == EF_OK && c == NULL);
}

/* Not UTF-8, not JSON, JSON with something after it: EF_ERR_INVALID, nothing written. */
static void test_invalid(ef_model *m) {
    const char *bad[] = {"{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
                         "{\"a\":", "{} x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unlink(P_BAD);
        ef_error err = {0};
        ef_status s = ef_model_save_contract(m, P_BAD, NULL, 0, bad[i], &err);
        CHECKF(s == EF_ERR_INVALID && strstr(err.msg, P_BAD) && !exists(P_BAD), "bad contract %zu: status %d, %s", i,
               (int)s, err.msg);
    }
}

/* Writes buf with the first `from` in its header replaced by `to` (header length rewritten). */
static int write_edit(const char *dst, const char *buf, size_t size, const char *from, const char *to) {
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    const char *hit = strstr(buf + 8, from);   /* the buffer is NUL-terminated; data may hold NULs */
    if (!hit || (size_t)(hit - buf) >= 8 + hlen) return 0;
    size_t pre = (size_t)(hit - buf), lf = strlen(from), lt = strlen(to), nh = hlen - lf + lt;
    char *out = malloc(size - hlen + nh);
    for (int i = 0; i < 8; i++) out[i] = (char)(nh >> (8 * i));
    memcpy(out + 8, buf + 8, pre - 8);
    memcpy(out + pre, to, lt);
    memcpy(out + pre + lt, hit + lf, size - pre - lf);
    ef_error err = {0};
    ef_file_write_atomic(dst, out, size - hlen + nh, &err);
    free(out);
    return 1;
}

/* A contract value that is not a string, a torn header, a missing file. */
static void test_damaged(ef_model *m) {
    ef_error err = {0};
    CHECK(ef_model_save_contract(m, P_MODEL, NULL, 0, "{\"k\":1}", &err) == EF_OK);
    char *buf;
    size_t size;
    CHECK(ef_file_read_all(P_MODEL, &buf, &size, &err) == EF_OK);
    CHECK(write_edit(P_BAD, buf, size, "\"eraformer.contract\":\"{\\\"k\\\":1}\"", "\"eraformer.contract\":{\"k\":1}"));
    ef_model *l = NULL;
    char *c = NULL;
    ef_status s = ef_model_load_contract(&l, P_BAD, 2, NULL, NULL, &c, &err);
    CHECKF(s == EF_ERR_FORMAT && !l && !c && strstr(err.msg, P_BAD) && strstr(err.msg, "not a string"), "%d %s", s, err.msg);
    CHECK(ef_model_load(&l, P_BAD, 2, NULL, NULL, &err) == EF_ERR_FORMAT && strstr(err.msg, P_BAD));
    CHECK(ef_model_read_contract(P_BAD, &c, &err) == EF_ERR_FORMAT && !c && strstr(err.msg, "not a string"));
    /* the header cut anywhere: a format error naming the file, from both readers */
    size_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (size_t)(unsigned char)buf[i] << (8 * i);
    size_t cuts[] = {0, 5, 8, 9, 8 + hlen / 2, 8 + hlen - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        CHECK(ef_file_write_atomic(P_BAD, buf, cuts[i], &err) == EF_OK);
        s = ef_model_read_contract(P_BAD, &c, &err);
        CHECKF(s == EF_ERR_FORMAT && !c && strstr(err.msg, P_BAD), "cut %zu: %d %s", cuts[i], s, err.msg);
        s = ef_model_load_contract(&l, P_BAD, 2, NULL, NULL, &c, &err);
        CHECKF(s == EF_ERR_FORMAT && !c && !l, "cut %zu: %d %s", cuts[i], s, err.msg);
    }
    /* the header whole, the weights cut: the contract is readable, the model is not */
    CHECK(ef_file_write_atomic(P_BAD, buf, 8 + hlen + 4, &err) == EF_OK);
    CHECK(ef_model_read_contract(P_BAD, &c, &err) == EF_OK && c && !strcmp(c, "{\"k\":1}"));
    ef_free(c);
    c = NULL;
    CHECK(ef_model_load_contract(&l, P_BAD, 2, NULL, NULL, &c, &err) == EF_ERR_FORMAT && !c && !l);
    CHECK(ef_model_read_contract("does-not-exist.st", &c, &err) == EF_ERR_IO && !c && strstr(err.msg, "does-not-exist"));
    ef_free(buf);
}

/* Every allocation failing in turn: EF_ERR_NOMEM, nothing returned (ASan: nothing leaks). */
static void test_alloc_failures(void) {
    int done_load = 0, done_read = 0;
    for (long k = 1; k < 400 && !(done_load && done_read); k++) {
        ef_model *l = NULL;
        char *c = NULL, *c2 = NULL;
        ef_error err = {0};
        ef_alloc_fail_after(k);
        ef_status s1 = done_load ? EF_OK : ef_model_load_contract(&l, P_MODEL, 2, NULL, NULL, &c, &err);
        ef_alloc_fail_after(0);
        ef_alloc_fail_after(k);
        ef_status s2 = done_read ? EF_OK : ef_model_read_contract(P_MODEL, &c2, &err);
        ef_alloc_fail_after(0);
        CHECKF(s1 == EF_OK || (s1 == EF_ERR_NOMEM && !l && !c), "fail at %ld: load %d", k, (int)s1);
        CHECKF(s2 == EF_OK || (s2 == EF_ERR_NOMEM && !c2), "fail at %ld: read %d", k, (int)s2);
        if (!done_load && s1 == EF_OK) done_load = 1;
        if (!done_read && s2 == EF_OK) done_read = 1;
        ef_model_destroy(l);
        ef_free(c);
        ef_free(c2);
    }
    CHECK(done_load && done_read);
}

int main(void) {
    ef_model *m = make_model();
    if (!m) return ef_test_done();
    test_round_trip(m, 200);
    test_round_trip(m, 70 * 1024);    /* past 64 KB: finetune's 2,748 v5 feature names are ~100 KB */
    test_alloc_failures();            /* on the 70 KB file */
    test_none(m);
    test_invalid(m);
    test_damaged(m);
    ef_model_destroy(m);
    unlink(P_MODEL);
    unlink(P_PLAIN);
    unlink(P_BAD);
    unlink(P_WANT);
    return ef_test_done();
}
