/* libFuzzer target: the manifest of a model directory written by `eraformer train`
 * (DIR/manifest.json), read by predict, evaluate and train --resume through md_manifest_load,
 * then md_verify (every member file is absent here, so each listed member must be refused
 * cleanly, naming its file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "numerai/model_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ef_fuzz_%ld_model_dir", t && *t ? t : "/tmp", (long)getpid());
        if (mkdir(dir, 0700) != 0) {
            dir[0] = 0;
            return 0;
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, MD_MANIFEST);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size) return 0;
    md_manifest *m = malloc(sizeof *m);
    if (!m) return 0;
    ef_error err;
    if (md_manifest_load(m, dir, &err) == EF_OK) {
        ef_status s = md_verify(m, dir, &err);
        if (m->n_members > 0 && s == EF_OK) abort();   /* listed members do not exist here */
    }
    free(m);
    return 0;
}
