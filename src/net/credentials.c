/* net credentials: reading the API key pair from a private config file. The file must not
 * be accessible by group or others (like ssh keys); its secret never reaches a message. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "net/net_internal.h"

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = 0;
    if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
        s[n - 1] = 0;
        s++;
    }
    return s;
}

static ef_status parse(const char *path, char *text, char **public_id, char **secret_key, ef_error *err) {
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#' || *l == '[') continue;
        char *eq = strpbrk(l, "=:");
        /* the line may hold the secret: never quote it back */
        if (!eq) return EF_ERR(err, EF_ERR_FORMAT, "%s line %d: expected 'key = value'", path, lineno);
        *eq = 0;
        char *key = trim(l), *val = trim(eq + 1);
        char **dst = NULL;
        if (!strcasecmp(key, "public_id") || !strcasecmp(key, "NUMERAI_PUBLIC_ID")) dst = public_id;
        else if (!strcasecmp(key, "secret_key") || !strcasecmp(key, "NUMERAI_SECRET_KEY")) dst = secret_key;
        else return EF_ERR(err, EF_ERR_FORMAT, "%s line %d: unknown key (expected public_id or secret_key)", path, lineno);
        if (*dst) ef_net_secret_free(*dst);
        *dst = ef_strdup(val);
        if (!*dst) return EF_ERR(err, EF_ERR_NOMEM, "out of memory reading %s", path);
    }
    if (!*public_id || !**public_id || !*secret_key || !**secret_key)
        return EF_ERR(err, EF_ERR_FORMAT, "%s: needs both 'public_id = ...' and 'secret_key = ...'", path);
    return EF_OK;
}

ef_status ef_net_credentials_load(const char *path, char **public_id, char **secret_key, ef_error *err) {
    *public_id = *secret_key = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return EF_ERR(err, EF_ERR_IO, "cannot open credentials file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return EF_ERR(err, EF_ERR_IO, "credentials file %s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return EF_ERR(err, EF_ERR_AUTH,
                      "credentials file %s has mode %04o: it must not be readable or writable by group or "
                      "others (run: chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
    }
    if (st.st_size > 65536) {
        close(fd);
        return EF_ERR(err, EF_ERR_FORMAT, "credentials file %s is too large (%lld bytes)", path, (long long)st.st_size);
    }
    char *text = ef_calloc(1, (size_t)st.st_size + 1);
    if (!text) {
        close(fd);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    text[got] = 0;
    ef_status s = parse(path, text, public_id, secret_key, err);
    memset(text, 0, got);
    ef_free(text);
    if (s != EF_OK) {
        ef_net_secret_free(*public_id);
        ef_net_secret_free(*secret_key);
        *public_id = *secret_key = NULL;
    }
    return s;
}
