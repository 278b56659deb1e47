/* net client against the fake server: each GraphQL call, auth, the error paths (GraphQL
 * errors, malformed JSON, 500s then success, stalls, refused connections, wrong keys), no
 * retry on 4xx/GraphQL errors, secret redaction in errors and logs, credentials files. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eraformer/net.h"
#include "fake_server.h"
#include "test.h"

#define PUB "PUBLICID0123456789"
#define SECRET "SECRETKEY_s3cr3t_XYZ_987654321"

static fake_server srv;
static char api_url[64];
static char logbuf[1 << 16];

static void log_cb(void *ctx, int level, const char *msg) {
    (void)ctx;
    size_t l = strlen(logbuf);
    snprintf(logbuf + l, sizeof logbuf - l, "[%d] %s\n", level, msg);
}

static ef_net *client(const char *pub, const char *secret, int retries) {
    ef_net_config cfg = {0};
    cfg.api_url = api_url;
    cfg.public_id = pub;
    cfg.secret_key = secret;
    cfg.max_retries = retries;
    cfg.retry_base_s = 0.01;
    cfg.retry_max_s = 20;
    cfg.connect_timeout_s = 2;
    cfg.low_speed_limit = 1;
    cfg.low_speed_time_s = 1;
    cfg.api_timeout_s = 2;
    cfg.seed = 7;
    cfg.verbosity = 3;
    cfg.log = log_cb;
    ef_net *n = NULL;
    ef_error err = {0};
    CHECKF(ef_net_create(&n, &cfg, &err) == EF_OK, "%s", err.msg);
    return n;
}

static void test_calls(void) {
    ef_net *n = client(PUB, SECRET, 3);
    ef_error err = {0};
    char **names;
    size_t count;
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_OK);
    CHECK(count == 2 && !strcmp(names[0], "v5.2/train.parquet") && !strcmp(names[1], "v5.2/live.parquet"));
    ef_net_strings_free(names, count);
    CHECK(ef_net_list_datasets(n, 500, &names, &count, &err) == EF_OK);
    CHECK(count == 2 && !strcmp(names[0], "v4.3/train_int8.parquet"));
    ef_net_strings_free(names, count);
    CHECK(fs_idle(&srv) == 0);
    CHECK(strstr(srv.last_query, "listDatasets(round: $round tournament: $tournament)") != NULL);

    char *url = NULL;
    CHECK(ef_net_dataset_url(n, "v5.2/live.parquet", 0, &url, &err) == EF_OK);
    CHECK(url && strstr(url, "/files/v5.2/live.parquet?") != NULL);
    ef_free(url);
    CHECK(ef_net_dataset_url(n, "v9/nope.parquet", 0, &url, &err) == EF_ERR_API);
    CHECKF(strstr(err.msg, "Dataset not found") != NULL, "%s", err.msg);

    ef_net_round r;
    CHECK(ef_net_current_round(n, &r, &err) == EF_OK);
    CHECK(r.number == 1234 && r.is_open == 1);
    fs_set(&srv, &srv.round_state, 1);
    CHECK(ef_net_current_round(n, &r, &err) == EF_OK);
    CHECK(r.number == 1234 && r.is_open == 0);
    fs_set(&srv, &srv.round_state, 2);
    CHECK(ef_net_current_round(n, &r, &err) == EF_OK);
    CHECK(r.number == 0 && r.is_open == 0);
    fs_set(&srv, &srv.round_state, 0);

    ef_net_model *m;
    CHECK(ef_net_models(n, &m, &count, &err) == EF_OK);
    CHECK(count == 2 && !strcmp(m[0].name, "alpha_model") && !strcmp(m[1].name, "beta_model"));
    CHECK(count == 2 && !strcmp(m[0].id, "a1b2c3d4-0000-4000-8000-000000000002"));
    ef_net_models_free(m, count);

    /* raw GraphQL pass-through */
    char *data = NULL;
    CHECK(ef_net_graphql(n, "query { account { models { id name tournament } } }", NULL, 1, &data, &err) == EF_OK);
    CHECK(data && strstr(data, "\"account\"") && strstr(data, "alpha_model"));
    ef_free(data);
    CHECK(ef_net_graphql(n, "query { x }", "{not json", 0, &data, &err) == EF_ERR_INVALID);

    /* the submission calls */
    const char *csv = "submission_test_upload.csv";
    FILE *f = fopen(csv, "wb");
    fputs("id,prediction\nn1,0.25\nn2,0.75\n", f);
    fclose(f);
    char *fname = NULL, *put_url = NULL, *sid = NULL;
    CHECK(ef_net_submission_upload_auth(n, "preds.csv", "a1b2c3d4-0000-4000-8000-000000000001", &fname, &put_url,
                                        &err) == EF_OK);
    CHECK(fname && !strcmp(fname, "a1b2c3d4-0000-4000-8000-000000000001/preds.csv"));
    CHECKF(ef_net_put_file(n, put_url, csv, &err) == EF_OK, "%s", err.msg);
    CHECK(fs_idle(&srv) == 0);
    CHECK(srv.uploaded_len == 30 && !memcmp(srv.uploaded, "id,prediction\nn1,0.25\nn2,0.75\n", 30));
    CHECK(fs_get_int(&srv, &srv.upload_had_content_type) == 0);
    CHECK(ef_net_create_submission(n, fname, "a1b2c3d4-0000-4000-8000-000000000001", NULL, 0, &sid, &err) == EF_OK);
    CHECK(sid && !strcmp(sid, "sub-0001-5e6f"));
    CHECK(fs_idle(&srv) == 0);
    CHECK(strstr(srv.last_query, "source: \"numerapi\"") != NULL);
    ef_free(sid);
    /* a PUT that fails with 500 once is retried */
    fs_set(&srv, &srv.fail_500_put, 1);
    int puts0 = fs_get_int(&srv, &srv.n_put);
    CHECKF(ef_net_put_file(n, put_url, csv, &err) == EF_OK, "%s", err.msg);
    CHECK(fs_get_int(&srv, &srv.n_put) == puts0 + 2);
    /* a bad signature is a 403: not retried */
    char bad_url[256];
    snprintf(bad_url, sizeof bad_url, "http://127.0.0.1:%d/upload/sub.csv?X-Amz-Signature=wrong", srv.port);
    puts0 = fs_get_int(&srv, &srv.n_put);
    CHECK(ef_net_put_file(n, bad_url, csv, &err) == EF_ERR_AUTH);
    CHECK(fs_get_int(&srv, &srv.n_put) == puts0 + 1);
    CHECK(strstr(err.msg, "403") != NULL && strstr(err.msg, "wrong") == NULL);
    ef_free(fname);
    ef_free(put_url);
    CHECK(ef_net_submission_upload_auth(n, "preds.csv", "no-such-model", &fname, &put_url, &err) == EF_ERR_API);
    CHECK(fname == NULL && put_url == NULL);
    unlink(csv);
    ef_net_destroy(n);
}

static void test_faults(void) {
    ef_net *n = client(PUB, SECRET, 3);
    ef_error err = {0};
    char **names = NULL;
    size_t count = 0;
    /* two 500s, then success: three requests */
    int before = fs_get_int(&srv, &srv.n_graphql);
    fs_set(&srv, &srv.fail_500_graphql, 2);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_OK && count == 2);
    ef_net_strings_free(names, count);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 3);
    CHECK(strstr(logbuf, "retry 1/3") && strstr(logbuf, "retry 2/3") && strstr(logbuf, "HTTP 500"));
    /* persistent 500s: 1 + 3 attempts, then a clear failure */
    before = fs_get_int(&srv, &srv.n_graphql);
    fs_set(&srv, &srv.fail_500_graphql, 100);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_ERR_NET);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 4);
    CHECKF(strstr(err.msg, "HTTP 500") && strstr(err.msg, "4 attempts"), "%s", err.msg);
    fs_set(&srv, &srv.fail_500_graphql, 0);
    /* GraphQL errors and malformed JSON are not retried */
    before = fs_get_int(&srv, &srv.n_graphql);
    fs_set_error_msg(&srv, "Invalid round \x1b[31mnumber");
    fs_set(&srv, &srv.gql_error_next, 1);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_ERR_API);
    CHECKF(strstr(err.msg, "Invalid round") && !strchr(err.msg, '\x1b'), "%s", err.msg);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 1);
    fs_set(&srv, &srv.malformed_next, 1);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_ERR_API);
    CHECKF(strstr(err.msg, "malformed JSON") != NULL, "%s", err.msg);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 2);
    /* a stalled response hits the low-speed timeout and is retried */
    logbuf[0] = 0;
    fs_set_double(&srv, &srv.stall_s, 4);
    fs_set(&srv, &srv.stall_graphql_next, 1);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_OK && count == 2);
    ef_net_strings_free(names, count);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 4);
    CHECKF(strstr(logbuf, "Timeout") != NULL || strstr(logbuf, "timed out") != NULL, "%s", logbuf);
    ef_net_destroy(n);

    /* retries disabled: a 500 fails at once */
    n = client(PUB, SECRET, -1);
    before = fs_get_int(&srv, &srv.n_graphql);
    fs_set(&srv, &srv.fail_500_graphql, 1);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_ERR_NET);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 1);
    ef_net_destroy(n);

    /* connection refused (a port nobody listens on) is retried, bounded, and then fails */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);   /* the port is now (almost certainly) closed */
    char saved[64];
    snprintf(saved, sizeof saved, "%s", api_url);
    snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    logbuf[0] = 0;
    n = client(PUB, SECRET, 2);
    CHECK(ef_net_list_datasets(n, 0, &names, &count, &err) == EF_ERR_NET);
    CHECKF(strstr(err.msg, "3 attempts") && strstr(err.msg, "onnect"), "%s", err.msg);
    CHECK(strstr(logbuf, "retry 2/2") && strstr(logbuf, "giving up"));
    ef_net_destroy(n);
    snprintf(api_url, sizeof api_url, "%s", saved);
}

static void test_auth_and_secrets(void) {
    ef_error err = {0};
    ef_net_model *m = NULL;
    size_t count;
    logbuf[0] = 0;
    /* no keys: authenticated calls refuse locally, anonymous ones work */
    ef_net *n = client(NULL, NULL, 3);
    CHECK(!ef_net_has_auth(n));
    CHECK(ef_net_models(n, &m, &count, &err) == EF_ERR_AUTH);
    ef_net_destroy(n);
    /* only one key is a configuration error */
    ef_net_config cfg = {0};
    cfg.public_id = PUB;
    ef_net *n2 = NULL;
    CHECK(ef_net_create(&n2, &cfg, &err) == EF_ERR_INVALID && n2 == NULL);
    cfg.public_id = NULL;
    cfg.api_url = "ftp://x";
    CHECK(ef_net_create(&n2, &cfg, &err) == EF_ERR_INVALID);

    /* a wrong key: GraphQL auth error, then HTTP 401; neither retried */
    const char *wrong = "WRONGSECRET_abcdefgh";
    n = client(PUB, wrong, 3);
    int before = fs_get_int(&srv, &srv.n_graphql);
    CHECK(ef_net_models(n, &m, &count, &err) == EF_ERR_AUTH);
    CHECKF(strstr(err.msg, "session is invalid") != NULL, "%s", err.msg);
    fs_set(&srv, &srv.auth_401, 1);
    CHECK(ef_net_models(n, &m, &count, &err) == EF_ERR_AUTH);
    CHECKF(strstr(err.msg, "Invalid token") != NULL, "%s", err.msg);
    fs_set(&srv, &srv.auth_401, 0);
    CHECK(fs_get_int(&srv, &srv.n_graphql) == before + 2);
    CHECK(strstr(err.msg, wrong) == NULL);
    ef_net_destroy(n);

    /* the server echoes the Authorization header back: it is scrubbed from the error */
    n = client(PUB, SECRET, 3);
    fs_set(&srv, &srv.echo_auth_next, 1);
    CHECK(ef_net_models(n, &m, &count, &err) != EF_OK);
    CHECKF(strstr(err.msg, SECRET) == NULL && strstr(err.msg, "<redacted>") && strstr(err.msg, PUB), "%s", err.msg);
    /* a full authenticated session at verbosity 3: headers are logged, the secret is not */
    CHECK(ef_net_models(n, &m, &count, &err) == EF_OK);
    ef_net_models_free(m, count);
    CHECK(strstr(logbuf, "Authorization: <redacted>") != NULL);
    CHECK(strstr(logbuf, "> POST / HTTP/1.1") != NULL);
    CHECK(strstr(logbuf, SECRET) == NULL);
    CHECK(strstr(logbuf, "presignedSIG123") == NULL);
    ef_net_destroy(n);

    /* redaction helper, including truncation that cuts a second occurrence */
    char buf[64];
    snprintf(buf, sizeof buf, "a secretkey b secretkey c");
    ef_net_redact(buf, sizeof buf, "secretkey");
    CHECK(!strcmp(buf, "a <redacted> b <redacted> c"));
    snprintf(buf, sizeof buf, "xx secretkey");
    ef_net_redact(buf, 14, "secretkey");
    CHECKF(strstr(buf, "secr") == NULL, "%s", buf);
    snprintf(buf, 20, "0123456789ab secret");
    ef_net_redact(buf, 20, "secretkey");   /* a prefix of the secret at the end is cut */
    CHECKF(!strcmp(buf, "0123456789ab "), "'%s'", buf);
}

static void test_credentials(void) {
    const char *path = "net_test_credentials";
    ef_error err = {0};
    char *pub = NULL, *sec = NULL;
    FILE *f = fopen(path, "w");
    fprintf(f, "# numerai keys\npublic_id = %s\nsecret_key = \"%s\"\n", PUB, SECRET);
    fclose(f);
    chmod(path, 0644);
    CHECK(ef_net_credentials_load(path, &pub, &sec, &err) == EF_ERR_AUTH);
    CHECKF(strstr(err.msg, "chmod 600") && strstr(err.msg, "0644") && !strstr(err.msg, SECRET), "%s", err.msg);
    chmod(path, 0640);
    CHECK(ef_net_credentials_load(path, &pub, &sec, &err) == EF_ERR_AUTH);
    chmod(path, 0600);
    CHECKF(ef_net_credentials_load(path, &pub, &sec, &err) == EF_OK, "%s", err.msg);
    CHECK(pub && sec && !strcmp(pub, PUB) && !strcmp(sec, SECRET));
    ef_net_secret_free(pub);
    ef_net_secret_free(sec);
    f = fopen(path, "w");
    fprintf(f, "NUMERAI_PUBLIC_ID=%s\nbogus %s\n", PUB, SECRET);
    fclose(f);
    CHECK(ef_net_credentials_load(path, &pub, &sec, &err) == EF_ERR_FORMAT);
    CHECKF(strstr(err.msg, "line 2") && !strstr(err.msg, SECRET), "%s", err.msg);
    f = fopen(path, "w");
    fprintf(f, "public_id: %s\n", PUB);
    fclose(f);
    CHECK(ef_net_credentials_load(path, &pub, &sec, &err) == EF_ERR_FORMAT);
    unlink(path);
    CHECK(ef_net_credentials_load(path, &pub, &sec, &err) == EF_ERR_IO);
}

static void test_time(void) {
    int64_t t;
    CHECK(ef_net_parse_time("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
    CHECK(ef_net_parse_time("2024-02-29T12:30:15+00:00", &t) == 0 && t == 1709209815);
    CHECK(ef_net_parse_time("2024-02-29T13:30:15.123+01:00", &t) == 0 && t == 1709209815);
    CHECK(ef_net_parse_time("2024-02-29 12:30:15", &t) == 0 && t == 1709209815);
    CHECK(ef_net_parse_time("2024-13-01T00:00:00Z", &t) != 0);
    CHECK(ef_net_parse_time("yesterday", &t) != 0);
}

int main(void) {
    ef_error err = {0};
    CHECK(ef_net_global_init(&err) == EF_OK);
    if (fs_start(&srv, PUB, SECRET) != 0) {
        fprintf(stderr, "cannot start the fake server\n");
        return 1;
    }
    fs_add_file(&srv, "v5.2/train.parquet", 1000, 1);
    fs_add_file(&srv, "v5.2/live.parquet", 100, 2);
    snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", srv.port);
    test_calls();
    test_faults();
    test_auth_and_secrets();
    test_credentials();
    test_time();
    fs_stop(&srv);
    TEST_MAIN_END;
}
