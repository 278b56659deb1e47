/* libFuzzer target: the input is a safetensors checkpoint. Loads it with
 * ef_model_load_contract (the header's JSON and metadata, the embedded contract, every offset
 * and shape, the optimiser state and the train state) and reads its contract alone with
 * ef_model_read_contract (header only): whatever the full loader accepts the header reader
 * must accept too, with the same contract, which is then parsed the way predict parses it
 * (ef_numerai_contract_parse). When the model loads and is small, runs one forward pass on a tiny batch,
 * so that a config that passed the checks but does not fit its tensors shows up as a
 * sanitizer report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "eraformer/numerai.h"
#include "eraformer/model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* A valid config may size the activations far beyond the file (the rows layout's weights do
 * not grow with max_points, its attention buffers grow with its square): such allocations
 * must fail (NULL, EF_ERR_NOMEM, which the loader handles) rather than count as the
 * fuzzer's out-of-memory crash. */
const char *__asan_default_options(void) { return "allocator_may_return_null=1:max_allocation_size_mb=1536"; }

static void forward_once(ef_model *m) {
    const ef_model_config *c = ef_model_cfg(m);
    int k = c->max_points < 4 ? c->max_points : 4, D = c->d_max;
    if (k < 2 || D > 64 || (double)c->n_layer * c->d_model * c->d_model > 1e6) return;
    float x[4 * 64], y[4];
    uint8_t mask[4 * 64];
    for (int i = 0; i < k * D; i++) {
        x[i] = (float)(i % 7) * 0.25f - 0.75f;
        mask[i] = 1;
    }
    for (int i = 0; i < k; i++) y[i] = (float)i * 0.5f;
    int d[1] = {D};
    ef_batch bt = {1, k, k - 1, x, y, mask, d};
    float pred[4];
    double loss;
    ef_error err;
    (void)ef_model_forward(m, &bt, pred, &loss, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    if (fuzz_file_write(path, sizeof path, "model", ".st", data, size) != 0) return 0;
    ef_model *m = NULL;
    ef_train_state st;
    int has_optim = 0;
    ef_error err;
    char *contract = NULL, *alone = NULL;
    ef_status s_load = ef_model_load_contract(&m, path, 1, &st, &has_optim, &contract, &err);
    ef_status s_read = ef_model_read_contract(path, &alone, &err);
    if (s_load == EF_OK) {
        /* the header reader agrees with the full loader */
        if (s_read != EF_OK || (!contract) != (!alone) || (contract && strcmp(contract, alone))) abort();
        forward_once(m);
        ef_model_destroy(m);
    }
    if (contract) {
        ef_numerai_contract meta;
        if (ef_numerai_contract_parse(&meta, contract, strlen(contract), path, &err) == EF_OK) ef_numerai_contract_free(&meta);
    }
    ef_free(contract);
    ef_free(alone);
    unlink(path);
    return 0;
}
