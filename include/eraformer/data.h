/* eraformer data: Numerai's features.json, the dataset in memory (int8 feature matrix,
 * float targets, eras, ids, data_type), loading from parquet (via eraformer/parquet.h) or
 * CSV with filters, era-sharded iteration for data larger than memory, writing datasets to
 * parquet/CSV, and the synthetic Numerai-like dataset (docs/synth.md).
 *
 * Conventions: functions return ef_status and fill err (may be NULL). Structs documented
 * as "caller-owned" are zero-initialised by the caller or by the function that fills them,
 * and freed with their _free function (which accepts a zeroed struct). Nothing here keeps
 * global state; different objects may be used from different threads. */
#ifndef EF_DATA_H
#define EF_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "eraformer/base.h"
#include "eraformer/parquet_writer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- features.json ------------------------------------------------------------------ *
 * v5.x: {"feature_sets": {name: [features...]}, "targets": [...]}.
 * v4.x: {"feature_stats": {feature: {stat: number|NaN}}, "feature_sets": {...}} where the
 * bare NaN tokens (not JSON) are accepted. A missing "all" set is derived: the
 * feature_stats keys in file order, else the sorted union of every set. */
typedef struct ef_feature_set {
    char *name;
    int n;
    char **features;
} ef_feature_set;

typedef struct ef_features_json {
    int n_sets;
    ef_feature_set *sets;     /* file order (plus a derived "all" at the end when absent) */
    int n_targets;
    char **targets;           /* file order; empty for v4 */
    int n_stat_features;      /* v4 feature_stats: rows */
    char **stat_features;
    int n_stat_keys;          /* columns: legacy_uniqueness, spearman_..._mean, ... */
    char **stat_keys;
    double *stats;            /* n_stat_features x n_stat_keys; NaN for NaN/null/absent */
} ef_features_json;

/* Parses text (need not be NUL-terminated). name is used in messages. */
ef_status ef_features_json_parse(ef_features_json *fj, const char *text, size_t len,
                                 const char *name, ef_error *err);
ef_status ef_features_json_load(ef_features_json *fj, const char *path, ef_error *err);
void ef_features_json_free(ef_features_json *fj);
/* The set with this name, or NULL. */
const ef_feature_set *ef_features_json_find(const ef_features_json *fj, const char *name);
/* Resolves a selection: a comma-separated list whose items are set names ("small",
 * "medium", "all", "intelligence", "v2_equivalent_features", ...) or feature names
 * ("feature_..."; must be in "all" when the file has one). The result is the union in
 * order of first appearance, without duplicates. *names is caller-owned
 * (ef_strlist_free). Unknown items are EF_ERR_INVALID naming the item. */
ef_status ef_features_json_select(const ef_features_json *fj, const char *spec, char ***names,
                                  int *n, ef_error *err);
void ef_strlist_free(char **names, int n);

/* Copies text, replacing the non-JSON tokens NaN, -NaN, Infinity, -Infinity outside
 * strings with null. Returns a NUL-terminated ef_malloc'd buffer (NULL on OOM);
 * *replaced counts the replacements. */
char *ef_json_nonfinite_to_null(const char *text, size_t len, size_t *out_len, int *replaced);

/* ---- dataset -------------------------------------------------------------------------- */
typedef enum ef_data_type {
    EF_DT_TRAIN = 0,
    EF_DT_VALIDATION = 1,
    EF_DT_TEST = 2,
    EF_DT_LIVE = 3,
    EF_DT_OTHER = 4
} ef_data_type;

const char *ef_data_type_name(ef_data_type t);
ef_data_type ef_data_type_parse(const char *s);   /* unknown -> EF_DT_OTHER */

#define EF_ERA_NAME_MAX 16
/* Number given to non-numeric era labels (live "X"): after every numeric era. */
#define EF_ERA_LIVE_NUM 1000000000

typedef struct ef_era {
    char name[EF_ERA_NAME_MAX];  /* as in the file: "0001", "X" */
    int num;                     /* numeric value; EF_ERA_LIVE_NUM (+k) for non-numeric */
    int64_t start, count;        /* rows [start, start+count) */
} ef_era;

/* Caller-owned. Rows are grouped by era in numeric era order (stable within an era). */
typedef struct ef_dataset {
    int64_t n_rows;
    int n_features;
    char **feature_names;
    int8_t *X;              /* n_rows x n_features row-major, 0..4; 64-byte aligned */
    int n_targets;
    char **target_names;
    float *y;               /* n_rows x n_targets row-major; NaN = missing */
    int32_t *row_era;       /* n_rows: index into eras */
    uint8_t *row_type;      /* n_rows: ef_data_type */
    char *id_data;          /* ids, each NUL-terminated: id_data + id_off[r] */
    int64_t *id_off;        /* n_rows */
    size_t id_bytes;
    int n_eras;
    ef_era *eras;           /* numeric order */
    uint8_t *missing;       /* n_eras x n_features: 1 when the feature is all 2 in the era
                             * (Numerai's "missing"; computed on eras with > 1 row) */
} ef_dataset;

void ef_dataset_free(ef_dataset *ds);
static inline const char *ef_dataset_id(const ef_dataset *ds, int64_t r) {
    return ds->id_data + ds->id_off[r];
}
int ef_dataset_find_target(const ef_dataset *ds, const char *name);   /* -1 if absent */
int ef_dataset_find_feature(const ef_dataset *ds, const char *name);  /* -1 if absent */
int ef_dataset_find_era(const ef_dataset *ds, const char *name);      /* -1 if absent */
/* Parses an era label: "0042" -> 42; non-numeric ("X") -> -1. */
int ef_era_parse(const char *s);

typedef struct ef_load_options {
    /* columns: NULL = every "feature_*" column of the first file */
    const char *const *features;
    int n_features;
    /* NULL = every "target" / "target_*" column of the first file; no_targets = none */
    const char *const *targets;
    int n_targets;
    int no_targets;
    /* row filters */
    int era_min, era_max;       /* inclusive numeric bounds; 0 = unbounded. A bounded
                                 * range drops non-numeric (live) eras */
    int era_every;              /* > 1: keep eras with (num - 1 - era_offset) % era_every == 0
                                 * (every 4th: 0001, 0005, ...); live eras always kept */
    int era_offset;
    int era_shards;             /* > 1: keep the eras of shard era_shard only: numeric eras
                                 * with num % era_shards == era_shard (interleaved, so every
                                 * shard spans the whole history; MPI ranks), non-numeric
                                 * (live) eras in shard 0. Row groups without a kept row are
                                 * never decoded */
    int era_shard;
    int era_newest;             /* > 0: keep only the era_newest newest numeric eras among the
                                 * rows the other filters keep (non-numeric eras dropped); for
                                 * parquet an extra pass over the era column finds them, so
                                 * older row groups are never decoded (weekly live context) */
    uint32_t data_types;        /* bitmask of 1u << ef_data_type; 0 = all */
    const char *require_target; /* drop rows whose value of this target is NaN */
} ef_load_options;

/* Loads and concatenates files (parquet, or CSV when the name ends in .csv) into ds.
 * The first file must have every selected column (and require_target); later files may
 * lack target columns (a live file): their rows get NaN targets. Parquet: two passes over the row groups (filters,
 * then decode), the int8 matrix is allocated once at its final size and features are
 * decoded straight into it, so peak memory is the matrix plus one row group's projected
 * chunks. Features stored as FLOAT/DOUBLE in {0, .25, .., 1} map to 0..4; null features
 * become 2. */
ef_status ef_dataset_load(ef_dataset *ds, const char *const *paths, int n_paths,
                          const ef_load_options *opt, ef_error *err);
/* ---- datasets from memory (bindings: numpy, pandas) ------------------------------------ */
typedef enum ef_dtype {
    EF_DTYPE_INT8 = 0,
    EF_DTYPE_UINT8 = 1,
    EF_DTYPE_FLOAT32 = 2,
    EF_DTYPE_FLOAT64 = 3
} ef_dtype;

/* Borrowed arrays of n_rows rows: one contiguous array per column, each with its own dtype
 * (a pandas DataFrame's columns pass without a copy, mixed dtypes included). Strings are
 * numpy 'S' arrays: n_rows entries of width bytes each, NUL-padded (an entry of exactly width
 * bytes has no NUL). */
typedef struct ef_dataset_arrays {
    int64_t n_rows;
    int n_features;
    const char *const *feature_names;
    const void *const *x_cols;           /* n_features columns */
    const int *x_dtypes;                 /* ef_dtype of each */
    int n_targets;                       /* 0: none */
    const char *const *target_names;
    const void *const *y_cols;           /* float32 or float64, NaN = missing */
    const int *y_dtypes;
    const char *eras;                    /* era labels (1..15 bytes); NULL: every row "X" */
    size_t era_width;
    const char *ids;                     /* NULL: "row<r>" */
    size_t id_width;
    const char *data_types;              /* "train", "validation", ...; NULL: other */
    size_t data_type_width;
} ef_dataset_arrays;

/* Builds ds (caller-owned, ef_dataset_free) from a: the values the file loaders give for the
 * same data. Integer features are levels 0..4 (clamped); float features as the parquet loader
 * maps FLOAT/DOUBLE columns (NaN -> 2; a column whose maximum is <= 1 holds 0, .25, .., 1 and
 * is scaled by 4; rounded, clamped); float64 features and targets are rounded to float32
 * first. Rows are grouped by era in numeric order, stable within an era. A bad dtype, a NULL
 * column, a width outside [1, 4096], an era label longer than 15 bytes: EF_ERR_INVALID naming
 * the column or row; nothing is read out of bounds when the counts and widths describe the
 * arrays. Thread-safe (no shared state). */
ef_status ef_dataset_from_arrays(ef_dataset *ds, const ef_dataset_arrays *a, ef_error *err);

/* Applies the row filters of opt to a loaded dataset, in place. */
ef_status ef_dataset_filter(ef_dataset *ds, const ef_load_options *opt, ef_error *err);
/* Recomputes eras[] (start/count) and missing[] after rows changed; sorts rows by era
 * number when they are not grouped. Used by the loaders. */
ef_status ef_dataset_finish(ef_dataset *ds, ef_error *err);

/* ---- era-sharded reading ---------------------------------------------------------------
 * Iterates one parquet file era by era (Numerai files are era-ordered; a row group may hold
 * several eras and an era may span row groups). Memory: one era plus one row group's rows.
 * An era label that reappears after another era is returned again as a separate shard. */
typedef struct ef_era_reader ef_era_reader;
ef_status ef_era_reader_open(ef_era_reader **r, const char *path, const ef_load_options *opt,
                             ef_error *err);
/* Fills *shard (freed and overwritten) with the next era's rows after filters; *done = 1
 * (and an empty shard) at the end. */
ef_status ef_era_reader_next(ef_era_reader *r, ef_dataset *shard, int *done, ef_error *err);
void ef_era_reader_close(ef_era_reader *r);

/* ---- writing datasets ------------------------------------------------------------------ *
 * Numerai's layout: id, era, data_type (strings), feature_* (INT8), targets (FLOAT,
 * OPTIONAL; a NaN target is written as a null, as pyarrow writes a pandas NaN). One row
 * group per call. */
typedef struct ef_dataset_writer ef_dataset_writer;
ef_status ef_dataset_writer_open(ef_dataset_writer **w, const char *path, int n_features,
                                 char *const *feature_names, int n_targets,
                                 char *const *target_names, ef_pqw_codec codec, ef_error *err);
/* Appends rows [r0, r1) of ds (same columns) as one row group. */
ef_status ef_dataset_writer_append(ef_dataset_writer *w, const ef_dataset *ds, int64_t r0,
                                   int64_t r1, ef_error *err);
ef_status ef_dataset_writer_close(ef_dataset_writer *w, ef_error *err);
void ef_dataset_writer_abort(ef_dataset_writer *w);

/* CSV in the same layout: header id,era,data_type,features...,targets...; a NaN target is an
 * empty field; numbers in shortest form (0..4, 0.25). header != 0 writes the header line first. */
ef_status ef_dataset_write_csv(const ef_dataset *ds, FILE *fp, int header, ef_error *err);

/* ---- synthetic Numerai-like data (docs/synth.md) ----------------------------------------- */
/* Structurally different generators ("a zoo"), so that a recipe can be chosen on some and
 * reported on the others. FACTOR is the original one (the default, unchanged). */
typedef enum ef_synth_generator {
    EF_SYNTH_FACTOR = 0,     /* "factor": iid rows, drifting linear + interaction + |z| signal */
    EF_SYNTH_NONLINEAR,      /* "nonlinear": stable U-shape/interaction/threshold of latents
                                seen through many very noisy features */
    EF_SYNTH_DRIFT,          /* "drift": linear exposures that drift slowly, rare sign flips */
    EF_SYNTH_WEAK,           /* "weak": blocks of correlated weak features, a few strong ones,
                                persistent per-stock noise */
    EF_SYNTH_N_GENERATORS
} ef_synth_generator;

/* "factor", "nonlinear", ... ; NULL outside [0, EF_SYNTH_N_GENERATORS). */
const char *ef_synth_generator_name(int i);
/* The generator called name, or -1. */
int ef_synth_generator_from_name(const char *name);

typedef struct ef_synth_config {
    int eras_train;          /* 150 */
    int eras_validation;     /* 50 */
    int rows_per_era;        /* 400 (mean; eras grow from ~0.7x to ~1.3x) */
    int n_features;          /* 160 */
    uint64_t seed;           /* 42 */
    ef_pqw_codec codec;      /* SNAPPY, like pyarrow */
    int write_csv;           /* also write train.csv, validation.csv, live.csv */
    ef_synth_generator generator;  /* EF_SYNTH_FACTOR */
} ef_synth_config;

void ef_synth_config_default(ef_synth_config *c);

typedef struct ef_synth ef_synth;
/* Draws the world (feature names and groups, latent structure, per-era coefficients). */
ef_status ef_synth_create(ef_synth **s, const ef_synth_config *c, ef_error *err);
void ef_synth_destroy(ef_synth *s);
/* Eras are numbered 0 .. n-1: train, then validation, then one live era. */
int ef_synth_num_eras(const ef_synth *s);
/* Generates era e (a pure function of (config, seed, e)) into *out (overwritten). The
 * non-factor generators follow a universe of stocks whose state persists across eras: eras
 * in increasing order cost one step each; going back replays from era 0. Not thread-safe
 * on one ef_synth for those (use one ef_synth per thread). */
ef_status ef_synth_era(const ef_synth *s, int e, ef_dataset *out, ef_error *err);
/* features.json text (v5 layout); caller frees with ef_free. */
char *ef_synth_features_json(const ef_synth *s);
/* Writes train.parquet, validation.parquet, live.parquet, features.json (and CSVs) into
 * out_dir (which must exist). progress, if non-NULL, is called after each era. */
ef_status ef_synth_write(const ef_synth_config *c, const char *out_dir,
                         void (*progress)(void *ctx, int era, int n_eras), void *ctx,
                         ef_error *err);

#ifdef __cplusplus
}
#endif
#endif
