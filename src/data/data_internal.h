/* Internals of the data module shared by its files (not part of the API). */
#ifndef EF_DATA_INTERNAL_H
#define EF_DATA_INTERNAL_H

#include "eraformer/data.h"

#define EF_DATA_MAX_NONNUM 64

/* Numeric value of an era label; non-numeric labels are numbered EF_ERA_LIVE_NUM + k in
 * order of first appearance (nonnum holds the k labels seen so far). */
int ef_data_era_num(const char *name, int *n_nonnum, char (*nonnum)[EF_ERA_NAME_MAX]);
/* Row filters of ef_load_options (opt may be NULL: keep everything). */
int ef_data_era_kept(const ef_load_options *o, int num);
int ef_data_row_kept(const ef_load_options *o, int era_num, int dtype, float req_target);
/* A float feature value as a level 0..4: NaN -> 2, times 4 when the column's values are 0..1
 * (scale4), rounded and clamped. The parquet loader and ef_dataset_from_arrays share it. */
int8_t ef_data_float_to_level(float x, int scale4);

/* CSV loader (dataset_csv.c), called by ef_dataset_load for *.csv. */
ef_status ef_dataset_load_csv(ef_dataset *ds, const char *const *paths, int n_paths,
                              const ef_load_options *opt, ef_error *err);

/* Growable-dataset helpers (dataset_build.c). */
typedef struct ef_data_builder {
    ef_dataset *ds;
    int64_t cap_rows;
    size_t cap_id;
    int cap_eras;
    int last_era;               /* cache for era lookup */
    int n_nonnum;
    char nonnum[EF_DATA_MAX_NONNUM][EF_ERA_NAME_MAX];
} ef_data_builder;

/* Sets names (copied) and empties ds. */
ef_status ef_data_builder_init(ef_data_builder *b, ef_dataset *ds, int nf, char *const *fnames,
                               int nt, char *const *tnames, ef_error *err);
/* Ensures room for n_rows rows in total (exact: no over-allocation). */
ef_status ef_data_builder_reserve(ef_data_builder *b, int64_t n_rows, ef_error *err);
/* Ensures room for id_bytes bytes of ids in total (NULs included). */
ef_status ef_data_builder_reserve_ids(ef_data_builder *b, size_t id_bytes, ef_error *err);
/* Index of the era with this label in ds->eras, appending it when new (-1 on OOM). */
int ef_data_builder_era(ef_data_builder *b, const char *name, size_t len);
/* Appends an id (len bytes, not NUL-terminated) as the id of row r. */
ef_status ef_data_builder_id(ef_data_builder *b, int64_t r, const char *id, size_t len, ef_error *err);

#endif
