/* Parquet footer (FileMetaData) and page-header parsing on top of the Thrift decoder:
 * schema flattening into leaf columns (definition/repetition levels, dotted paths, logical
 * and converted type annotations), row groups and column-chunk metadata, key/value pairs.
 * Field numbers follow apache/parquet-format parquet.thrift. Unknown fields are skipped. */
#include <stdio.h>
#include "parquet/pq_internal.h"

// ---- schema ----------------------------------------------------------------------------

typedef struct schema_el {
    int type;            /* -1 for groups */
    int type_length;
    int repetition;      /* 0 REQUIRED, 1 OPTIONAL, 2 REPEATED, -1 absent */
    char *name;
    int num_children;
    int converted;
    int logical;         /* LogicalType union field id, 0 if absent */
    int int_bits, int_signed;
} schema_el;

static void parse_int_type(pq_thrift *th, schema_el *e) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) {
        if (id == 1 && t == TH_BYTE) e->int_bits = (int)pq_th_int(th, t);
        else if (id == 2 && (t == TH_TRUE || t == TH_FALSE)) e->int_signed = t == TH_TRUE;
        else pq_th_skip(th, t);
    }
    pq_th_struct_end(th);
}

static void parse_logical(pq_thrift *th, schema_el *e) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) {
        if (t == TH_STRUCT && !e->logical) {
            e->logical = id;
            if (id == 10) parse_int_type(th, e);
            else pq_th_skip(th, t);
        } else {
            pq_th_skip(th, t);
        }
    }
    pq_th_struct_end(th);
}

static void parse_schema_el(pq_thrift *th, schema_el *e) {
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->repetition = -1;
    e->converted = EF_PQ_CONVERTED_NONE;
    e->int_signed = 1;
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) {
        switch (id) {
        case 1: e->type = pq_th_i32(th, t); break;
        case 2: e->type_length = pq_th_i32(th, t); break;
        case 3: e->repetition = pq_th_i32(th, t); break;
        case 4:
            if (t != TH_BINARY) { pq_th_error(th, "schema name is not a string"); break; }
            ef_free(e->name);
            e->name = pq_th_strdup(th);
            if (!e->name && !th->fail) pq_th_error(th, "out of memory");
            break;
        case 5: e->num_children = pq_th_i32(th, t); break;
        case 6: e->converted = pq_th_i32(th, t); break;
        case 10:
            if (t == TH_STRUCT) parse_logical(th, e);
            else pq_th_skip(th, t);
            break;
        default: pq_th_skip(th, t); break;
        }
    }
    pq_th_struct_end(th);
}

/* Depth-first walk of the flattened schema, producing leaves. Returns -1 on a bad tree. */
static int walk_schema(ef_pq_reader *r, schema_el *els, int nel, int *pos, int def, int rep,
                       const char *prefix, int depth, int *leaf_cap) {
    if (*pos >= nel || depth > 64) return -1;
    schema_el *e = &els[(*pos)++];
    if (e->repetition == 1) def++;
    if (e->repetition == 2) { def++; rep++; }
    size_t plen = prefix ? strlen(prefix) + 1 : 0;
    size_t nlen = e->name ? strlen(e->name) : 0;
    char *path = ef_malloc(plen + nlen + 1);
    if (!path) return -2;
    if (prefix) {
        memcpy(path, prefix, plen - 1);
        path[plen - 1] = '.';
    }
    if (nlen) memcpy(path + plen, e->name, nlen);
    path[plen + nlen] = 0;
    if (e->num_children > 0) {
        if (e->num_children > nel) { ef_free(path); return -1; }
        for (int c = 0; c < e->num_children; c++) {
            int s = walk_schema(r, els, nel, pos, def, rep, path, depth + 1, leaf_cap);
            if (s) { ef_free(path); return s; }
        }
        ef_free(path);
        return 0;
    }
    if (e->type < 0 || e->type > 7) { ef_free(path); return -1; }
    if (r->ncols == *leaf_cap) {
        int nc = *leaf_cap ? *leaf_cap * 2 : 64;
        ef_pq_column_info *ci = ef_realloc(r->cols, (size_t)nc * sizeof *ci);
        if (!ci) { ef_free(path); return -2; }
        r->cols = ci;
        int *mr = ef_realloc(r->max_rep, (size_t)nc * sizeof *mr);
        if (!mr) { ef_free(path); return -2; }
        r->max_rep = mr;
        *leaf_cap = nc;
    }
    ef_pq_column_info *ci = &r->cols[r->ncols];
    memset(ci, 0, sizeof *ci);
    r->max_rep[r->ncols] = rep;
    r->ncols++;
    ci->name = path;
    ci->type = (ef_pq_type)e->type;
    ci->type_length = e->type_length;
    ci->max_def = def;
    ci->nullable = def > 0;
    ci->converted_type = e->converted;
    /* integer annotation: LogicalType INTEGER wins; else ConvertedType INT_x / UINT_x */
    if (e->logical == 10 && (e->int_bits == 8 || e->int_bits == 16 || e->int_bits == 32 ||
                             e->int_bits == 64)) {
        ci->int_bits = e->int_bits;
        ci->int_signed = e->int_signed;
    } else if (e->converted >= 11 && e->converted <= 18) {
        static const int bits[] = {8, 16, 32, 64, 8, 16, 32, 64};
        ci->int_bits = bits[e->converted - 11];
        ci->int_signed = e->converted >= 15;
    }
    /* strings: STRING/ENUM/JSON logical types or UTF8/ENUM/JSON converted types */
    if (e->type == EF_PQ_BYTE_ARRAY &&
        (e->logical == 1 || e->logical == 4 || e->logical == 12 || e->converted == 0 ||
         e->converted == 4 || e->converted == 19))
        ci->is_string = 1;
    return 0;
}

// ---- column chunks and row groups --------------------------------------------------------

static void parse_statistics(pq_thrift *th, pq_chunk_meta *m) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) {
        if (id == 3 && t >= TH_BYTE && t <= TH_I64) m->null_count = pq_th_int(th, t);
        else pq_th_skip(th, t);
    }
    pq_th_struct_end(th);
}

static void parse_col_meta(pq_thrift *th, pq_chunk_meta *m) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    m->has_meta = 1;
    while (pq_th_field(th, &last, &id, &t)) {
        switch (id) {
        case 1: m->type = pq_th_i32(th, t); break;
        case 2: {
            if (t != TH_LIST) { pq_th_skip(th, t); break; }
            int et;
            uint32_t n = pq_th_list(th, &et);
            for (uint32_t i = 0; i < n && !th->fail; i++) {
                int64_t e = pq_th_int(th, et);
                if (e >= 0 && e < 32) m->enc_mask |= 1u << e;
            }
            break;
        }
        case 4: m->codec = pq_th_i32(th, t); break;
        case 5: m->num_values = pq_th_int(th, t); break;
        case 6: m->total_uncompressed = pq_th_int(th, t); break;
        case 7: m->total_compressed = pq_th_int(th, t); break;
        case 9: m->data_page_offset = pq_th_int(th, t); break;
        case 11: m->dict_page_offset = pq_th_int(th, t); break;
        case 12:
            if (t == TH_STRUCT) parse_statistics(th, m);
            else pq_th_skip(th, t);
            break;
        default: pq_th_skip(th, t); break;
        }
    }
    pq_th_struct_end(th);
}

static void parse_chunk(pq_thrift *th, pq_chunk_meta *m) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) {
        if (id == 3 && t == TH_STRUCT) parse_col_meta(th, m);
        else if (id == 1 && t == TH_BINARY) pq_th_error(th, "column chunk in another file (file_path) is not supported");
        else pq_th_skip(th, t);
    }
    pq_th_struct_end(th);
}

static void parse_row_group(pq_thrift *th, pq_row_group *g, int ncols) {
    pq_th_struct_begin(th);
    int last = 0, id, t, seen_cols = 0;
    while (pq_th_field(th, &last, &id, &t)) {
        if (id == 1 && t == TH_LIST && !seen_cols) {
            int et;
            uint32_t n = pq_th_list(th, &et);
            seen_cols = 1;
            if (th->fail) break;
            if ((int64_t)n != ncols || (n && et != TH_STRUCT)) {
                pq_th_error(th, "row group's column count differs from the schema's leaf count");
                break;
            }
            for (uint32_t i = 0; i < n && !th->fail; i++) {
                pq_chunk_meta *m = &g->chunks[i];
                m->dict_page_offset = -1;
                m->null_count = -1;
                parse_chunk(th, m);
            }
        } else if (id == 3) {
            g->num_rows = pq_th_int(th, t);
        } else {
            pq_th_skip(th, t);
        }
    }
    if (!seen_cols && !th->fail) pq_th_error(th, "row group without columns");
    pq_th_struct_end(th);
}

// ---- FileMetaData -------------------------------------------------------------------------

static ef_status fail_at(ef_pq_reader *r, pq_thrift *th, ef_error *err) {
    return EF_ERR(err, EF_ERR_FORMAT, "%s: corrupt footer at byte %lld: %s", r->path,
                  (long long)th->fail_offset, th->why ? th->why : "?");
}

ef_status pq_parse_footer(ef_pq_reader *r, const uint8_t *buf, size_t n, int64_t footer_offset,
                          ef_error *err) {
    pq_thrift th;
    pq_th_init(&th, buf, n, footer_offset);
    schema_el *els = NULL;
    int nel = 0, have_schema = 0, have_rgs = 0;
    ef_status st = EF_OK;
    const uint8_t *rg_pos = NULL;   /* row groups need the schema first: parse them after */
    uint32_t rg_count = 0;
    pq_thrift rg_th;
    pq_th_struct_begin(&th);
    int last = 0, id, t;
    while (pq_th_field(&th, &last, &id, &t)) {
        if (id == 2 && t == TH_LIST && !have_schema) {
            int et;
            uint32_t cnt = pq_th_list(&th, &et);
            if (th.fail) break;
            if (cnt == 0 || et != TH_STRUCT) { pq_th_error(&th, "empty or malformed schema"); break; }
            els = ef_calloc(cnt, sizeof *els);
            if (!els) { st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for the schema", r->path); goto done; }
            nel = (int)cnt;
            for (int i = 0; i < nel && !th.fail; i++) parse_schema_el(&th, &els[i]);
            have_schema = 1;
        } else if (id == 3) {
            r->num_rows = pq_th_int(&th, t);
        } else if (id == 4 && t == TH_LIST && !have_rgs) {
            int et;
            rg_count = pq_th_list(&th, &et);
            if (rg_count && et != TH_STRUCT) { pq_th_error(&th, "row groups are not structs"); break; }
            rg_th = th;
            rg_pos = th.p;
            for (uint32_t i = 0; i < rg_count && !th.fail; i++) pq_th_skip(&th, TH_STRUCT);
            have_rgs = 1;
        } else if (id == 5 && t == TH_LIST && !r->kv_keys) {
            int et;
            uint32_t cnt = pq_th_list(&th, &et);
            if (th.fail) break;
            if (cnt && et != TH_STRUCT) { pq_th_error(&th, "key/value list is not structs"); break; }
            r->kv_keys = ef_calloc(cnt ? cnt : 1, sizeof *r->kv_keys);
            r->kv_vals = ef_calloc(cnt ? cnt : 1, sizeof *r->kv_vals);
            if (!r->kv_keys || !r->kv_vals) { st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", r->path); goto done; }
            for (uint32_t i = 0; i < cnt && !th.fail; i++) {
                pq_th_struct_begin(&th);
                int l2 = 0, i2, t2;
                while (pq_th_field(&th, &l2, &i2, &t2)) {
                    char **dst = i2 == 1 ? &r->kv_keys[i] : i2 == 2 ? &r->kv_vals[i] : NULL;
                    if (dst && t2 == TH_BINARY) {
                        ef_free(*dst);
                        *dst = pq_th_strdup(&th);
                    } else {
                        pq_th_skip(&th, t2);
                    }
                }
                pq_th_struct_end(&th);
                r->nkv = (int)i + 1;
                if (!r->kv_keys[i] && !th.fail) pq_th_error(&th, "key/value entry without a key");
            }
        } else if (id == 6 && t == TH_BINARY && !r->created_by) {
            r->created_by = pq_th_strdup(&th);
        } else {
            pq_th_skip(&th, t);
        }
    }
    pq_th_struct_end(&th);
    if (th.fail) { st = fail_at(r, &th, err); goto done; }
    if (!have_schema) { st = EF_ERR(err, EF_ERR_FORMAT, "%s: footer has no schema", r->path); goto done; }
    if (r->num_rows < 0) { st = EF_ERR(err, EF_ERR_FORMAT, "%s: negative row count %lld in the footer", r->path, (long long)r->num_rows); goto done; }

    /* schema tree -> leaves; element 0 is the root */
    {
        int pos = 0, cap = 0;
        if (els[0].num_children <= 0 && nel > 1) {
            st = EF_ERR(err, EF_ERR_FORMAT, "%s: schema root has no children", r->path);
            goto done;
        }
        pos = 1;
        for (int c = 0; c < els[0].num_children; c++) {
            int s = walk_schema(r, els, nel, &pos, 0, 0, NULL, 0, &cap);
            if (s == -2) { st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory for the schema", r->path); goto done; }
            if (s) { st = EF_ERR(err, EF_ERR_FORMAT, "%s: malformed schema (element %d: bad type or child count)", r->path, pos - 1); goto done; }
        }
        if (pos != nel) { st = EF_ERR(err, EF_ERR_FORMAT, "%s: schema has %d elements but the tree uses %d", r->path, nel, pos); goto done; }
    }

    /* row groups */
    if (have_rgs && rg_count) {
        r->rgs = ef_calloc(rg_count, sizeof *r->rgs);
        if (!r->rgs) { st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", r->path); goto done; }
        r->nrg = (int)rg_count;
        rg_th.p = rg_pos;
        int64_t first = 0;
        for (int g = 0; g < r->nrg; g++) {
            r->rgs[g].chunks = ef_calloc(r->ncols ? (size_t)r->ncols : 1, sizeof(pq_chunk_meta));
            if (!r->rgs[g].chunks) { st = EF_ERR(err, EF_ERR_NOMEM, "%s: out of memory", r->path); goto done; }
            parse_row_group(&rg_th, &r->rgs[g], r->ncols);
            if (rg_th.fail) { st = fail_at(r, &rg_th, err); goto done; }
            if (r->rgs[g].num_rows < 0 || r->rgs[g].num_rows > INT32_MAX) {
                st = EF_ERR(err, EF_ERR_FORMAT, "%s: row group %d has a bad row count %lld", r->path, g, (long long)r->rgs[g].num_rows);
                goto done;
            }
            r->rgs[g].first_row = first;
            first += r->rgs[g].num_rows;
            for (int c = 0; c < r->ncols; c++) {
                pq_chunk_meta *m = &r->rgs[g].chunks[c];
                if (!m->has_meta) {
                    st = EF_ERR(err, EF_ERR_FORMAT, "%s: row group %d column '%s' has no metadata", r->path, g, r->cols[c].name);
                    goto done;
                }
                if (m->type != (int)r->cols[c].type) {
                    st = EF_ERR(err, EF_ERR_FORMAT, "%s: row group %d column '%s': chunk type %d differs from schema type %d", r->path, g, r->cols[c].name, m->type, (int)r->cols[c].type);
                    goto done;
                }
            }
        }
        if (first != r->num_rows) {
            st = EF_ERR(err, EF_ERR_FORMAT, "%s: footer says %lld rows but the row groups hold %lld", r->path, (long long)r->num_rows, (long long)first);
            goto done;
        }
    } else if (r->num_rows != 0) {
        st = EF_ERR(err, EF_ERR_FORMAT, "%s: footer says %lld rows but has no row groups", r->path, (long long)r->num_rows);
        goto done;
    }
done:
    for (int i = 0; i < nel; i++) ef_free(els[i].name);
    ef_free(els);
    return st;
}

// ---- page headers -------------------------------------------------------------------------

static void parse_data_v1(pq_thrift *th, pq_page_header *h) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    h->has_data = 1;
    while (pq_th_field(th, &last, &id, &t)) {
        switch (id) {
        case 1: h->num_values = pq_th_i32(th, t); break;
        case 2: h->encoding = pq_th_i32(th, t); break;
        case 3: h->def_encoding = pq_th_i32(th, t); break;
        case 4: h->rep_encoding = pq_th_i32(th, t); break;
        default: pq_th_skip(th, t); break;
        }
    }
    pq_th_struct_end(th);
}

static void parse_data_v2(pq_thrift *th, pq_page_header *h) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    h->has_v2 = 1;
    while (pq_th_field(th, &last, &id, &t)) {
        switch (id) {
        case 1: h->num_values = pq_th_i32(th, t); break;
        case 2: h->num_nulls = pq_th_i32(th, t); break;
        case 3: h->num_rows = pq_th_i32(th, t); break;
        case 4: h->encoding = pq_th_i32(th, t); break;
        case 5: h->def_len = pq_th_i32(th, t); break;
        case 6: h->rep_len = pq_th_i32(th, t); break;
        case 7: h->is_compressed = (int)pq_th_int(th, t) != 0; break;
        default: pq_th_skip(th, t); break;
        }
    }
    pq_th_struct_end(th);
}

static void parse_dict(pq_thrift *th, pq_page_header *h) {
    pq_th_struct_begin(th);
    int last = 0, id, t;
    h->has_dict = 1;
    while (pq_th_field(th, &last, &id, &t)) {
        if (id == 1) h->num_values = pq_th_i32(th, t);
        else if (id == 2) h->encoding = pq_th_i32(th, t);
        else pq_th_skip(th, t);
    }
    pq_th_struct_end(th);
}

int pq_parse_page_header(pq_thrift *th, pq_page_header *h) {
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncompressed_size = h->compressed_size = -1;
    h->is_compressed = 1;
    pq_th_struct_begin(th);
    int last = 0, id, t;
    while (pq_th_field(th, &last, &id, &t)) {
        switch (id) {
        case 1: h->type = pq_th_i32(th, t); break;
        case 2: h->uncompressed_size = pq_th_i32(th, t); break;
        case 3: h->compressed_size = pq_th_i32(th, t); break;
        case 5: if (t == TH_STRUCT) parse_data_v1(th, h); else pq_th_skip(th, t); break;
        case 7: if (t == TH_STRUCT) parse_dict(th, h); else pq_th_skip(th, t); break;
        case 8: if (t == TH_STRUCT) parse_data_v2(th, h); else pq_th_skip(th, t); break;
        default: pq_th_skip(th, t); break;
        }
    }
    pq_th_struct_end(th);
    if (th->fail) return -1;
    if (h->uncompressed_size < 0 || h->compressed_size < 0) {
        pq_th_error(th, "page header without sizes (or negative sizes)");
        return -1;
    }
    if (h->num_values < 0 || h->num_nulls < 0 || h->num_rows < 0 || h->def_len < 0 || h->rep_len < 0) {
        pq_th_error(th, "page header with negative counts");
        return -1;
    }
    return 0;
}
