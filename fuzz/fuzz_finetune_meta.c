/* libFuzzer target: the input is a fine-tuned model's input contract (the JSON text finetune
 * writes: read-in, features, targets and weights, seed, embargo/window/context/members, the
 * feature groups), read by predict through ef_numerai_contract_read in both places it can live:
 *   1. embedded in the model, as the string __metadata__["eraformer.contract"] of a
 *      header-only checkpoint (ef_model_read_contract, then ef_numerai_contract_parse);
 *   2. as the sidecar MODEL.json of an older two-file model, whose header has no contract.
 * Both must agree (when the input has no NUL byte, which a JSON string value cannot carry). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "eraformer/numerai.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A header-only eraformer checkpoint at path, with contract (NUL-terminated) unless NULL. */
static int write_header_only(char *path, size_t cap, const char *tag, const char *contract) {
    cJSON *h = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(m, "format", "eraformer");
    cJSON_AddStringToObject(m, "config", "{}");
    if (contract) cJSON_AddStringToObject(m, "eraformer.contract", contract);
    char *js = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!js) return -1;
    size_t n = strlen(js);
    uint8_t *b = malloc(8 + n);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, js, n);
    int rc = fuzz_file_write(path, cap, tag, ".st", b, 8 + n);
    free(b);
    cJSON_free(js);
    return rc;
}

static ef_status load_and_touch(const char *model) {
    ef_numerai_contract m;
    ef_error err;
    ef_status s = ef_numerai_contract_read(&m, model, &err);
    if (s == EF_OK) {
        size_t total = 0;
        for (int i = 0; i < m.n_feat; i++) total += strlen(m.features[i]);
        for (int g = 0; g < m.n_groups; g++)
            for (int j = m.group_off[g]; j < m.group_off[g + 1]; j++) total += (size_t)m.group_idx[j];
        (void)total;
        ef_numerai_contract_free(&m);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char emb[512], old[512], side[600];
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    ef_status s_emb = EF_OK, s_old = EF_OK;
    if (write_header_only(emb, sizeof emb, "emb", text) == 0) {
        s_emb = load_and_touch(emb);
        unlink(emb);
    }
    if (write_header_only(old, sizeof old, "old", NULL) == 0) {
        snprintf(side, sizeof side, "%s.json", old);
        FILE *f = fopen(side, "wb");
        if (f && (size == 0 || fwrite(data, 1, size, f) == size) && fclose(f) == 0) s_old = load_and_touch(old);
        else if (f) fclose(f);
        unlink(side);
        unlink(old);
    }
    /* the same text parses the same wherever it lives */
    if (!memchr(data, 0, size) && (s_emb == EF_OK) != (s_old == EF_OK)) abort();
    free(text);
    return 0;
}
