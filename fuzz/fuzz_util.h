/* For the fuzz targets whose parser takes a path: the input written to a scratch file of
 * this process (under TMPDIR, else /tmp), the same name every time. */
#ifndef EF_FUZZ_UTIL_H
#define EF_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data to "<TMPDIR>/ef_fuzz_<pid>_<tag><suffix>" and puts that path in path (cap bytes).
 * Returns 0, or -1 when the file cannot be written. */
static inline int fuzz_file_write(char *path, size_t cap, const char *tag, const char *suffix,
                                  const uint8_t *data, size_t size) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/ef_fuzz_%ld_%s%s", dir && *dir ? dir : "/tmp", (long)getpid(), tag, suffix);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    return fclose(f) == 0 && w == size ? 0 : -1;
}

#endif
