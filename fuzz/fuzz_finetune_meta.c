/* libFuzzer target: the input is the sidecar metadata that finetune writes next to a model
 * (FILE.st.json), read by predict through nt_meta_load: JSON with the read-in, features,
 * targets and weights, seed, embargo/window/context/members and the feature groups. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "cli/numerai_tasks.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char model[512], path[512];
    /* nt_meta_load reads MODEL.json: write the input there, MODEL itself need not exist */
    if (fuzz_file_write(path, sizeof path, "meta", ".st.json", data, size) != 0) return 0;
    size_t n = strlen(path) - strlen(".json");
    memcpy(model, path, n);
    model[n] = 0;
    nt_meta m;
    ef_error err;
    if (nt_meta_load(&m, model, &err) == EF_OK) {
        size_t total = 0;
        for (int i = 0; i < m.n_feat; i++) total += strlen(m.features[i]);
        for (int g = 0; g < m.n_groups; g++)
            for (int j = m.group_off[g]; j < m.group_off[g + 1]; j++) total += (size_t)m.group_idx[j];
        (void)total;
        nt_meta_free(&m);
    }
    unlink(path);
    return 0;
}
