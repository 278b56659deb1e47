/* Page decompression through the Debian codec libraries: snappy (C API), zlib (gzip/zlib
 * streams, concatenated gzip members), zstd, brotli, LZ4_RAW (raw LZ4 blocks) and the
 * deprecated parquet LZ4 codec, which in practice is the Hadoop framing: blocks of
 * [u32 BE uncompressed length][u32 BE compressed length][raw LZ4 block]...; when the bytes
 * do not fit that framing we fall back to one raw LZ4 block, as other readers do.
 * Every codec must produce exactly the page's uncompressed size. LZO is unsupported. */
#include <brotli/decode.h>
#include <limits.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include "parquet/pq_internal.h"

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *gzip_inflate(const uint8_t *src, size_t n, uint8_t *dst, size_t dn) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (n > UINT_MAX || dn > UINT_MAX) return "gzip page larger than 4 GiB";
    if (inflateInit2(&s, 15 + 32) != Z_OK) return "zlib init failed";
    s.next_in = (Bytef *)(uintptr_t)src;
    s.avail_in = (uInt)n;
    s.next_out = dst;
    s.avail_out = (uInt)dn;
    const char *why = NULL;
    for (;;) {
        int rc = inflate(&s, Z_FINISH);
        if (rc == Z_STREAM_END) {
            /* another gzip member may follow (concatenated streams) */
            if (s.avail_in > 0 && s.avail_out > 0) {
                if (inflateReset(&s) != Z_OK) { why = "zlib reset failed"; break; }
                continue;
            }
            break;
        }
        if (rc == Z_BUF_ERROR && s.avail_out == 0) { why = "gzip data larger than the page size"; break; }
        why = rc == Z_DATA_ERROR ? "corrupt gzip data" : rc == Z_MEM_ERROR ? "out of memory in zlib"
                                                                           : "truncated gzip data";
        break;
    }
    if (!why && s.total_out != dn) why = "gzip data shorter than the page size";
    inflateEnd(&s);
    return why;
}

static const char *lz4_raw(const uint8_t *src, size_t n, uint8_t *dst, size_t dn) {
    if (n > INT_MAX || dn > INT_MAX) return "LZ4 block larger than 2 GiB";
    if (dn == 0 && n == 1 && src[0] == 0) return NULL;  /* an empty block is one 0x00 token */
    int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dn);
    if (got < 0) return "corrupt LZ4 data";
    if ((size_t)got != dn) return "LZ4 data does not match the page size";
    return NULL;
}

/* Hadoop framing; returns 0 if it decoded exactly, -1 if the framing does not fit. */
static int lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t dn) {
    size_t ip = 0, op = 0;
    if (n < 8) return -1;
    while (ip < n) {
        if (n - ip < 8) return -1;
        uint32_t ulen = be32(src + ip);
        ip += 4;
        if (ulen > dn - op) return -1;
        size_t block_end = op + ulen;
        if (ulen == 0) {
            /* an empty block still carries one compressed sub-block (a lone 0x00 token) */
            if (n - ip < 4) return -1;
            uint32_t clen = be32(src + ip);
            ip += 4;
            if (clen > n - ip) return -1;
            ip += clen;
            continue;
        }
        while (op < block_end) {
            if (n - ip < 4) return -1;
            uint32_t clen = be32(src + ip);
            ip += 4;
            if (clen > n - ip || clen > INT_MAX) return -1;
            int got = LZ4_decompress_safe((const char *)src + ip, (char *)dst + op, (int)clen,
                                          (int)EF_MIN(block_end - op, (size_t)INT_MAX));
            if (got <= 0) return -1;
            ip += clen;
            op += (size_t)got;
        }
    }
    return op == dn ? 0 : -1;
}

const char *pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dn) {
    switch (codec) {
    case EF_PQ_UNCOMPRESSED:
        if (n != dn) return "uncompressed page: compressed and uncompressed sizes differ";
        if (n) memcpy(dst, src, n);
        return NULL;
    case EF_PQ_SNAPPY: {
        size_t len = 0;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK) return "corrupt snappy header";
        if (len != dn) return "snappy length does not match the page size";
        if (dn == 0) return NULL;
        len = dn;
        if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK || len != dn)
            return "corrupt snappy data";
        return NULL;
    }
    case EF_PQ_GZIP: return gzip_inflate(src, n, dst, dn);
    case EF_PQ_ZSTD: {
        size_t got = ZSTD_decompress(dst, dn, src, n);
        if (ZSTD_isError(got)) return "corrupt zstd data";
        if (got != dn) return "zstd data does not match the page size";
        return NULL;
    }
    case EF_PQ_BROTLI: {
        size_t got = dn;
        if (BrotliDecoderDecompress(n, src, &got, dst) != BROTLI_DECODER_RESULT_SUCCESS)
            return "corrupt brotli data (or larger than the page size)";
        if (got != dn) return "brotli data does not match the page size";
        return NULL;
    }
    case EF_PQ_LZ4_RAW: return lz4_raw(src, n, dst, dn);
    case EF_PQ_LZ4:
        if (lz4_hadoop(src, n, dst, dn) == 0) return NULL;
        return lz4_raw(src, n, dst, dn);
    case EF_PQ_LZO: return "the LZO codec is not supported";
    default: return "unknown compression codec";
    }
}
