/* eraformer inspect: a parquet-tools style summary of a parquet file: file facts, key/value
 * metadata, schema (physical type, annotations, repetition), then per row group and column
 * the codec, encodings, page counts (from walking the page headers), sizes and null counts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "eraformer/parquet.h"

static void usage(FILE *f) {
    fprintf(f, "usage: eraformer inspect FILE [--no-pages] [--row-group N]\n\n"
               "Prints the schema, row groups and, per column chunk, codec, encodings, page\n"
               "counts, sizes and null counts.\n\n"
               "  --no-pages       do not walk page headers (reads only the footer; fast on big files)\n"
               "  --row-group N    only this row group's chunks\n"
               "  --help           this text\n");
}

static void print_encodings(uint32_t mask) {
    int first = 1;
    for (int e = 0; e < 32; e++) {
        if (!(mask & (1u << e))) continue;
        printf("%s%s", first ? "" : ",", ef_pq_encoding_name(e));
        first = 0;
    }
    if (first) printf("-");
}

static void annotation(const ef_pq_column_info *ci, char *buf, size_t n) {
    if (ci->int_bits) snprintf(buf, n, "%sINT(%d)", ci->int_signed ? "" : "U", ci->int_bits);
    else if (ci->is_string) snprintf(buf, n, "STRING");
    else if (ci->converted_type != EF_PQ_CONVERTED_NONE) snprintf(buf, n, "converted=%d", ci->converted_type);
    else snprintf(buf, n, "-");
}

int ef_cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {
        {"no-pages", no_argument, 0, 'P'},
        {"row-group", required_argument, 0, 'g'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int pages = 1, opt;
    long only_rg = -1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "Pg:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'P': pages = 0; break;
        case 'g':
            if (ef_cli_parse_long("inspect", "--row-group", optarg, 0, 0x7fffffff, &only_rg)) return EF_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EF_EXIT_OK;
        default: return ef_cli_usage("inspect", "unknown option");
        }
    }
    if (optind != argc - 1) return ef_cli_usage("inspect", "expected exactly one FILE");
    const char *path = argv[optind];
    ef_error err = {0};
    ef_pq_reader *r = NULL;
    if (ef_pq_reader_open(&r, path, &err)) return ef_cli_fail(&err, "is it a parquet file?");
    int nc = ef_pq_num_columns(r), ng = ef_pq_num_row_groups(r);
    if (only_rg >= ng) {
        ef_pq_reader_close(r);
        return ef_cli_usage("inspect", "--row-group %ld: the file has %d row groups", only_rg, ng);
    }
    printf("file: %s\n", path);
    printf("created_by: %s\n", ef_pq_created_by(r));
    printf("rows: %lld\nrow_groups: %d\ncolumns: %d\n", (long long)ef_pq_num_rows(r), ng, nc);
    for (int i = 0; i < ef_pq_num_kv(r); i++) {
        const char *k, *v;
        ef_pq_kv(r, i, &k, &v);
        printf("kv: %s (%zu bytes)\n", k, v ? strlen(v) : (size_t)0);
    }
    printf("\nschema:\n  %-4s %-50s %-22s %-10s %s\n", "#", "name", "type", "annot", "repetition");
    for (int c = 0; c < nc; c++) {
        const ef_pq_column_info *ci = ef_pq_column(r, c);
        char ty[40], an[40];
        if (ci->type == EF_PQ_FIXED_LEN_BYTE_ARRAY) snprintf(ty, sizeof ty, "FIXED_LEN_BYTE_ARRAY(%d)", ci->type_length);
        else snprintf(ty, sizeof ty, "%s", ef_pq_type_name(ci->type));
        annotation(ci, an, sizeof an);
        printf("  %-4d %-50s %-22s %-10s %s\n", c, ci->name, ty, an, ci->nullable ? "OPTIONAL" : "REQUIRED");
    }
    int rc = EF_EXIT_OK;
    for (int g = 0; g < ng && rc == EF_EXIT_OK; g++) {
        if (only_rg >= 0 && g != only_rg) continue;
        printf("\nrow group %d: %lld rows, first row %lld\n", g, (long long)ef_pq_row_group_num_rows(r, g),
               (long long)ef_pq_row_group_first_row(r, g));
        printf("  %-50s %-12s %10s %10s %6s %5s %5s %5s  %s\n", "column", "codec", "compressed", "uncompr.",
               "nulls", "dict", "v1", "v2", "encodings (footer / data pages)");
        for (int c = 0; c < nc; c++) {
            ef_pq_chunk_info in;
            if (ef_pq_chunk_info_get(r, g, c, &in, &err)) { rc = ef_cli_fail(&err, NULL); break; }
            char nulls[24];
            if (in.null_count >= 0) snprintf(nulls, sizeof nulls, "%lld", (long long)in.null_count);
            else snprintf(nulls, sizeof nulls, "?");
            printf("  %-50s %-12s %10lld %10lld %6s", ef_pq_column(r, c)->name, ef_pq_codec_name(in.codec),
                   (long long)in.total_compressed_size, (long long)in.total_uncompressed_size, nulls);
            if (pages) {
                ef_pq_page_stats st;
                if (ef_pq_chunk_page_stats(r, g, c, &st, &err)) {
                    printf("\n");
                    fflush(stdout);
                    rc = ef_cli_fail(&err, "the file is corrupt");
                    break;
                }
                printf(" %5d %5d %5d  ", st.dict_pages, st.data_pages_v1, st.data_pages_v2);
                print_encodings(in.encodings_mask);
                printf(" / ");
                print_encodings(st.data_encodings_mask);
            } else {
                printf(" %5s %5s %5s  ", "-", "-", "-");
                print_encodings(in.encodings_mask);
            }
            printf("\n");
        }
    }
    ef_pq_reader_close(r);
    if (fflush(stdout) != 0) return EF_EXIT_RUNTIME;
    return rc;
}
