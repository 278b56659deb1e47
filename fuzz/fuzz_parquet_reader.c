/* libFuzzer target: the input is a parquet file. Opens it from memory, decodes every column
 * chunk, and runs the projected float reader over every row group. Any crash, sanitizer
 * report or leak is a bug; errors are the expected outcome for most inputs. */
#include <stdint.h>
#include <stdlib.h>
#include "eraformer/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ef_pq_reader *r = NULL;
    ef_error err;
    if (ef_pq_reader_open_memory(&r, data, size, "fuzz.parquet", &err) != EF_OK) return 0;
    int nc = ef_pq_num_columns(r);
    for (int g = 0; g < ef_pq_num_row_groups(r); g++) {
        /* a valid file may hold billions of RLE-encoded rows in a few bytes; keep the
         * fuzzer's memory bounded by skipping such row groups */
        if (ef_pq_row_group_num_rows(r, g) > (1 << 20)) continue;
        for (int c = 0; c < nc; c++) {
            ef_pq_column_data d;
            if (ef_pq_read_column(r, g, c, &d, &err) == EF_OK) {
                char buf[64];
                for (int64_t i = 0; i < d.n && i < 4; i++) ef_pq_value_format(&d, ef_pq_column(r, c), i, buf, sizeof buf);
                ef_pq_column_data_free(&d);
            }
            ef_pq_page_stats st;
            (void)ef_pq_chunk_page_stats(r, g, c, &st, &err);
        }
        int64_t nr = ef_pq_row_group_num_rows(r, g);
        if (nc > 0 && nr > 0 && nr < (1 << 20)) {
            int cols[2] = {0, nc - 1};
            float *m = malloc((size_t)nr * 2 * sizeof *m);
            int8_t *m8 = malloc((size_t)nr * 2);
            if (m && m8) {
                (void)ef_pq_read_rowgroup_f32(r, g, cols, 2, m, 2, &err);
                /* the fused int8 path, column by column (a string column fails at once) */
                for (int c = 0; c < nc; c++) (void)ef_pq_read_rowgroup_i8(r, g, &c, 1, m8, 1, -1, &err);
            }
            free(m);
            free(m8);
        }
    }
    ef_pq_reader_close(r);
    return 0;
}
