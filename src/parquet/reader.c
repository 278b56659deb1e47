/* Parquet reader object: open (magic, footer length, footer parse), close, schema and
 * row-group accessors, whole-column reads, and the enum name tables. The loader-oriented
 * matrix readers live in project.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "parquet/pq_internal.h"

// ---- names ---------------------------------------------------------------------------------

const char *ef_pq_type_name(ef_pq_type t) {
    static const char *names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE",
                                  "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return (unsigned)t < 8 ? names[t] : "UNKNOWN";
}

const char *ef_pq_codec_name(int codec) {
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
    return codec >= 0 && codec < 8 ? names[codec] : "UNKNOWN";
}

const char *ef_pq_encoding_name(int e) {
    static const char *names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                  "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                  "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? names[e] : "UNKNOWN";
}

// ---- I/O -------------------------------------------------------------------------------------

ef_status pq_read_at(const ef_pq_reader *r, int64_t off, size_t n, uint8_t *dst, ef_error *err) {
    if (off < 0 || (uint64_t)off > r->file_size || n > r->file_size - (uint64_t)off)
        return EF_ERR(err, EF_ERR_FORMAT, "%s: read of %zu bytes at offset %lld runs past the end of the file (%llu bytes)",
                      r->path, n, (long long)off, (unsigned long long)r->file_size);
    if (r->mem) {
        if (n) memcpy(dst, r->mem + off, n);
        return EF_OK;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(r->fd, dst + done, n - done, (off_t)(off + (int64_t)done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            return EF_ERR(err, EF_ERR_IO, "%s: read at offset %lld failed: %s", r->path,
                          (long long)(off + (int64_t)done), got < 0 ? strerror(errno) : "unexpected end of file");
        done += (size_t)got;
    }
    return EF_OK;
}

// ---- open / close ------------------------------------------------------------------------------

static ef_status open_common(ef_pq_reader *r, ef_error *err) {
    uint8_t tail[8], head[4];
    if (r->file_size < 12)
        return EF_ERR(err, EF_ERR_FORMAT, "%s: %llu bytes is too short for a parquet file (needs at least 12)",
                      r->path, (unsigned long long)r->file_size);
    EF_TRY(pq_read_at(r, 0, 4, head, err));
    EF_TRY(pq_read_at(r, (int64_t)r->file_size - 8, 8, tail, err));
    if (memcmp(head, "PAR1", 4))
        return EF_ERR(err, EF_ERR_FORMAT, "%s: not a parquet file (no PAR1 magic at byte 0)", r->path);
    if (!memcmp(tail + 4, "PARE", 4))
        return EF_ERR(err, EF_ERR_UNSUPPORTED, "%s: encrypted parquet files are not supported", r->path);
    if (memcmp(tail + 4, "PAR1", 4))
        return EF_ERR(err, EF_ERR_FORMAT, "%s: no PAR1 magic at the end (byte %llu): truncated file?",
                      r->path, (unsigned long long)r->file_size - 4);
    uint32_t flen = pq_le32(tail);
    if ((uint64_t)flen > r->file_size - 12)
        return EF_ERR(err, EF_ERR_FORMAT, "%s: footer length %u exceeds the file size %llu",
                      r->path, flen, (unsigned long long)r->file_size);
    int64_t foff = (int64_t)r->file_size - 8 - flen;
    uint8_t *buf = ef_malloc((size_t)flen + 1);
    if (!buf) return EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for a %u-byte footer", r->path, flen);
    ef_status s = pq_read_at(r, foff, flen, buf, err);
    if (!s) s = pq_parse_footer(r, buf, flen, foff, err);
    ef_free(buf);
    return s;
}

static ef_pq_reader *reader_new(const char *name) {
    ef_pq_reader *r = ef_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = -1;
    r->path = ef_strdup(name ? name : "(memory)");
    if (!r->path) {
        ef_free(r);
        return NULL;
    }
    return r;
}

ef_status ef_pq_reader_open(ef_pq_reader **out, const char *path, ef_error *err) {
    *out = NULL;
    ef_pq_reader *r = reader_new(path);
    if (!r) return EF_ERR(err, EF_ERR_NOMEM, "out of memory opening %s", path);
    r->fd = open(path, O_RDONLY);
    if (r->fd < 0) {
        int e = errno;
        ef_pq_reader_close(r);
        return EF_ERR(err, EF_ERR_IO, "cannot open %s: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ef_pq_reader_close(r);
        return EF_ERR(err, EF_ERR_IO, "%s is not a regular file", path);
    }
    r->file_size = (uint64_t)sb.st_size;
    ef_status s = open_common(r, err);
    if (s) {
        ef_pq_reader_close(r);
        return s;
    }
    *out = r;
    return EF_OK;
}

ef_status ef_pq_reader_open_memory(ef_pq_reader **out, const void *data, size_t size,
                                   const char *name, ef_error *err) {
    *out = NULL;
    ef_pq_reader *r = reader_new(name);
    if (!r) return EF_ERR(err, EF_ERR_NOMEM, "out of memory opening %s", name ? name : "(memory)");
    static const uint8_t empty[1] = {0};
    r->mem = data ? data : empty;
    r->file_size = data ? size : 0;
    ef_status s = open_common(r, err);
    if (s) {
        ef_pq_reader_close(r);
        return s;
    }
    *out = r;
    return EF_OK;
}

void ef_pq_reader_close(ef_pq_reader *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    for (int i = 0; i < r->ncols; i++) ef_free((void *)r->cols[i].name);
    ef_free(r->cols);
    ef_free(r->max_rep);
    for (int g = 0; g < r->nrg; g++) ef_free(r->rgs[g].chunks);
    ef_free(r->rgs);
    for (int i = 0; i < r->nkv; i++) {
        ef_free(r->kv_keys[i]);
        ef_free(r->kv_vals[i]);
    }
    ef_free(r->kv_keys);
    ef_free(r->kv_vals);
    ef_free(r->created_by);
    ef_free(r->path);
    ef_free(r);
}

// ---- accessors -----------------------------------------------------------------------------

const char *ef_pq_reader_path(const ef_pq_reader *r) { return r->path; }
int64_t ef_pq_num_rows(const ef_pq_reader *r) { return r->num_rows; }
int ef_pq_num_columns(const ef_pq_reader *r) { return r->ncols; }
int ef_pq_num_row_groups(const ef_pq_reader *r) { return r->nrg; }
const char *ef_pq_created_by(const ef_pq_reader *r) { return r->created_by ? r->created_by : ""; }
int ef_pq_num_kv(const ef_pq_reader *r) { return r->nkv; }

int64_t ef_pq_row_group_num_rows(const ef_pq_reader *r, int g) {
    return g >= 0 && g < r->nrg ? r->rgs[g].num_rows : 0;
}

int64_t ef_pq_row_group_first_row(const ef_pq_reader *r, int g) {
    return g >= 0 && g < r->nrg ? r->rgs[g].first_row : 0;
}

const ef_pq_column_info *ef_pq_column(const ef_pq_reader *r, int c) {
    return c >= 0 && c < r->ncols ? &r->cols[c] : NULL;
}

void ef_pq_kv(const ef_pq_reader *r, int i, const char **key, const char **value) {
    *key = i >= 0 && i < r->nkv ? r->kv_keys[i] : NULL;
    *value = i >= 0 && i < r->nkv ? r->kv_vals[i] : NULL;
}

int ef_pq_find_column(const ef_pq_reader *r, const char *name) {
    for (int i = 0; i < r->ncols; i++)
        if (!strcmp(r->cols[i].name, name)) return i;
    return -1;
}

ef_status ef_pq_find_columns(const ef_pq_reader *r, const char *const *names, int n, int *cols,
                             ef_error *err) {
    for (int i = 0; i < n; i++) {
        cols[i] = ef_pq_find_column(r, names[i]);
        if (cols[i] < 0) return EF_ERR(err, EF_ERR_INVALID, "%s: no column named '%s'", r->path, names[i]);
    }
    return EF_OK;
}

static ef_status check_rc(const ef_pq_reader *r, int g, int c, ef_error *err) {
    if (g < 0 || g >= r->nrg) return EF_ERR(err, EF_ERR_INVALID, "%s: row group %d out of range [0, %d)", r->path, g, r->nrg);
    if (c < 0 || c >= r->ncols) return EF_ERR(err, EF_ERR_INVALID, "%s: column %d out of range [0, %d)", r->path, c, r->ncols);
    return EF_OK;
}

ef_status ef_pq_chunk_info_get(const ef_pq_reader *r, int g, int c, ef_pq_chunk_info *out,
                               ef_error *err) {
    EF_TRY(check_rc(r, g, c, err));
    const pq_chunk_meta *m = &r->rgs[g].chunks[c];
    out->codec = m->codec;
    out->num_values = m->num_values;
    out->total_compressed_size = m->total_compressed;
    out->total_uncompressed_size = m->total_uncompressed;
    out->data_page_offset = m->data_page_offset;
    out->dictionary_page_offset = m->dict_page_offset;
    out->encodings_mask = m->enc_mask;
    out->null_count = m->null_count;
    return EF_OK;
}

ef_status ef_pq_chunk_page_stats(const ef_pq_reader *r, int g, int c, ef_pq_page_stats *out,
                                 ef_error *err) {
    EF_TRY(check_rc(r, g, c, err));
    return pq_chunk_pages(r, g, c, out, err);
}

// ---- whole columns ---------------------------------------------------------------------------

void ef_pq_column_data_free(ef_pq_column_data *c) {
    if (!c) return;
    ef_free(c->values);
    ef_free(c->valid);
    ef_free(c->offsets);
    ef_free(c->data);
    memset(c, 0, sizeof *c);
}

static void column_begin(const ef_pq_reader *r, int c, ef_pq_column_data *out) {
    memset(out, 0, sizeof *out);
    out->type = r->cols[c].type;
    out->type_length = r->cols[c].type_length;
}

/* Drops the validity mask of a column without nulls. */
static void column_end(ef_pq_column_data *out) {
    if (out->null_count == 0 && out->valid) {
        ef_free(out->valid);
        out->valid = NULL;
    }
    if (!out->offsets && (out->type == EF_PQ_BYTE_ARRAY || out->type == EF_PQ_FIXED_LEN_BYTE_ARRAY)) {
        out->offsets = ef_calloc(1, sizeof *out->offsets);
    }
}

ef_status ef_pq_read_column(const ef_pq_reader *r, int g, int c, ef_pq_column_data *out,
                            ef_error *err) {
    EF_TRY(check_rc(r, g, c, err));
    column_begin(r, c, out);
    ef_status s = pq_decode_chunk(r, g, c, out, err);
    if (s) {
        ef_pq_column_data_free(out);
        return s;
    }
    column_end(out);
    return EF_OK;
}

ef_status ef_pq_read_column_all(const ef_pq_reader *r, int c, ef_pq_column_data *out,
                                ef_error *err) {
    if (c < 0 || c >= r->ncols) return EF_ERR(err, EF_ERR_INVALID, "%s: column %d out of range [0, %d)", r->path, c, r->ncols);
    column_begin(r, c, out);
    for (int g = 0; g < r->nrg; g++) {
        ef_status s = pq_decode_chunk(r, g, c, out, err);
        if (s) {
            ef_pq_column_data_free(out);
            return s;
        }
    }
    column_end(out);
    return EF_OK;
}
