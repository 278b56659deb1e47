/* libFuzzer target for the Thrift compact decoder. The first byte picks the structure:
 * even -> the rest is a FileMetaData footer; odd -> a sequence of page headers. */
#include <stdint.h>
#include "parquet/pq_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        ef_pq_reader *r = ef_calloc(1, sizeof *r);
        if (!r) return 0;
        r->fd = -1;
        r->path = ef_strdup("fuzz");
        ef_error err;
        (void)pq_parse_footer(r, p, n, 0, &err);
        ef_pq_reader_close(r);
    } else {
        pq_thrift th;
        pq_th_init(&th, p, n, 0);
        for (int k = 0; k < 64 && !th.fail && th.p < th.end; k++) {
            pq_page_header h;
            if (pq_parse_page_header(&th, &h)) break;
        }
    }
    return 0;
}
