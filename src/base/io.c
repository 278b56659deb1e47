/* Atomic file output (temp file, fsync, rename, fsync folder) and whole-file reads. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/ef_internal.h"

ef_status ef_atomic_open(ef_atomic_file *af, const char *path, ef_error *err) {
    memset(af, 0, sizeof *af);
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
