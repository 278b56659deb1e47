/* Atomic file output (temp file, fsync, rename, fsync folder) and whole-file reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/ef_internal.h"

/* The process id in a temp file name "<base>.tmp.<pid>" (entry names this target's prefix),
 * or 0 when the rest is not a plain decimal pid. */
static long temp_pid(const char *entry, const char *base, size_t base_len) {
    if (strncmp(entry, base, base_len) != 0 || strncmp(entry + base_len, ".tmp.", 5) != 0) return 0;
    const char *d = entry + base_len + 5;
    if (d[0] == '0') return 0;   /* written as %ld: no leading zero */
    long pid = 0;
    size_t n = 0;
    for (; d[n]; n++) {
        if (d[n] < '0' || d[n] > '9' || n >= 10) return 0;
        pid = pid * 10 + (d[n] - '0');
    }
    return n > 0 && pid <= INT_MAX ? pid : 0;
}

/* Removes the temp files that earlier writers of this same target left when they were killed
 * between ef_atomic_open and commit (kill -9, power loss): the names "<path>.tmp.<pid>" whose
 * pid is not a running process (kill(pid, 0) fails with ESRCH). A live pid's file, ours, other
 * targets' files and any other name are left alone. Best effort: errors are ignored. */
static void remove_stale_temps(const char *path) {
    char dir[PATH_MAX];   /* no heap: the allocation fault hook counts only the write's own */
    size_t len = strlen(path);
    if (len >= sizeof dir) return;
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    const char *d = ".", *base = path;
    if (slash) {
        base = path + (slash - dir) + 1;
        if (slash == dir) slash[1] = 0; else *slash = 0;
        d = dir;
    }
    size_t base_len = strlen(base);
    DIR *dp = base_len ? opendir(d) : NULL;
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        long pid = temp_pid(e->d_name, base, base_len);
        if (pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* running (EPERM: another user's) */
        (void)unlinkat(dirfd(dp), e->d_name, 0);
    }
    closedir(dp);
}

ef_status ef_atomic_open(ef_atomic_file *af, const char *path, ef_error *err) {
    memset(af, 0, sizeof *af);
    remove_stale_temps(path);
    size_t n = strlen(path) + 32;
    af->path = ef_strdup(path);
    af->tmp_path = ef_malloc(n);
    if (!af->path || !af->tmp_path) {
        ef_atomic_abort(af);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory opening %s", path);
    }
    snprintf(af->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) {
        int e = errno;
        ef_atomic_abort(af);
        return EF_ERR(err, EF_ERR_IO, "cannot create %s.tmp.*: %s", path, strerror(e));
    }
    return EF_OK;
}

static void fsync_parent(const char *path) {
    char *dir = ef_strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        if (slash == dir) slash[1] = 0; else *slash = 0;
        d = dir;
    }
    int fd = open(d, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    ef_free(dir);
}

ef_status ef_atomic_commit(ef_atomic_file *af, ef_error *err) {
    if (!af->fp) return EF_ERR(err, EF_ERR_INTERNAL, "atomic file not open");
    int bad = fflush(af->fp) != 0 || ferror(af->fp);
    int e = errno;
    if (!bad && fsync(fileno(af->fp)) != 0) { bad = 1; e = errno; }
    if (fclose(af->fp) != 0 && !bad) { bad = 1; e = errno; }
    af->fp = NULL;
    if (bad) {
        ef_status s = EF_ERR(err, EF_ERR_IO, "writing %s failed: %s", af->path, strerror(e));
        ef_atomic_abort(af);
        return s;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        e = errno;
        ef_status s = EF_ERR(err, EF_ERR_IO, "renaming %s to %s failed: %s", af->tmp_path, af->path, strerror(e));
        ef_atomic_abort(af);
        return s;
    }
    fsync_parent(af->path);
    ef_free(af->tmp_path);
    ef_free(af->path);
    af->tmp_path = af->path = NULL;
    return EF_OK;
}

void ef_atomic_abort(ef_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    ef_free(af->tmp_path);
    ef_free(af->path);
    memset(af, 0, sizeof *af);
}

ef_status ef_file_read_all(const char *path, char **data, size_t *size, ef_error *err) {
    *data = NULL;
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return EF_ERR(err, EF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return EF_ERR(err, EF_ERR_IO, "%s is not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    char *buf = ef_malloc(n + 1);
    if (!buf) {
        fclose(fp);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory reading %s (%zu bytes)", path, n);
    }
    size_t got = fread(buf, 1, n, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || got != n) {
        ef_free(buf);
        return EF_ERR(err, EF_ERR_IO, "short read on %s: %zu of %zu bytes", path, got, n);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return EF_OK;
}

ef_status ef_file_write_atomic(const char *path, const void *data, size_t size, ef_error *err) {
    ef_atomic_file af;
    EF_TRY(ef_atomic_open(&af, path, err));
    if (size && fwrite(data, 1, size, af.fp) != size) {
        int e = errno;
        ef_atomic_abort(&af);
        return EF_ERR(err, EF_ERR_IO, "writing %s failed: %s", path, strerror(e));
    }
    return ef_atomic_commit(&af, err);
}
