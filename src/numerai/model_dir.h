/* The model directory that `eraformer train` writes and `predict --model DIR` / `evaluate
 * --model DIR` read: DIR/manifest.json plus its members (member-K.st and member-K.st.json,
 * as finetune writes them; the contract is embedded in member-K.st, the .json is its copy for
 * older readers, and a member sealed without one is read too). The manifest is the commit
 * point: it is rewritten atomically (temp file, fsync, rename, fsync of the folder) after
 * each member is finished, and it records each member file's size and CRC-32, so a member
 * damaged or replaced after it was sealed is refused with its file named. A member still
 * being trained is not in the list; `train --resume` continues it from its
 * member-K.st.last.st. Internal to the library (not installed): `train` writes it through
 * these functions, ef_numerai_model_load (include/eraformer/numerai.h) reads it. */
#ifndef EF_NUMERAI_MODEL_DIR_H
#define EF_NUMERAI_MODEL_DIR_H

#include <stdint.h>
#include "eraformer/base.h"

#define MD_MAX_MEMBERS 64
#define MD_MANIFEST "manifest.json"
#define MD_FORMAT "eraformer-model-dir-1"

typedef struct md_file {
    char name[64];        /* relative to the directory */
    uint64_t size;
    uint32_t crc32;
} md_file;

typedef struct md_member {
    md_file weights, meta;    /* member-K.st, member-K.st.json (meta.name "" = none sealed) */
    uint64_t seed;
    double selection_corr;    /* mean CORR on the selection eras at the chosen step */
    long best_step, steps;
    double seconds;
} md_member;

typedef struct md_manifest {
    int planned;              /* members planned */
    double budget_min;        /* the whole run's budget */
    double spent_s;           /* seconds of the budget used by finished members */
    int holdout, embargo;     /* selection: the newest `holdout` train eras, behind `embargo` */
    int sel_first, sel_last;  /* selection era numbers (inclusive) */
    char train[1024], validation[1024], features_json[1024], feature_set[256], targets[512];
    char base[1024];          /* the pretrained base ("" = fresh) */
    char recipe[512];         /* train's recipe: finetune options of every member, before
                               * member_opts ("" in directories written before it existed) */
    char member_opts[512];    /* extra finetune options of every member (--member-opts) */
    int ctx, query, batch;    /* task shape (0 = finetune's default) */
    uint64_t seed;            /* member K uses seed + K - 1 */
    int max_members;          /* > planned: more members while the budget lasts */
    int n_members;
    md_member members[MD_MAX_MEMBERS];
    int in_progress;          /* 1-based member being trained, 0 none */
    double in_progress_budget_min;
    int complete;             /* every planned member is sealed */
} md_manifest;

struct cJSON;
/* The number o[key], or NaN when absent or not a number (also train's summary reader). */
double md_json_num(const struct cJSON *o, const char *key);
/* 1 when path is a directory holding a manifest. */
int md_is_model_dir(const char *path);
/* Writes DIR/manifest.json atomically. */
ef_status md_manifest_save(const md_manifest *m, const char *dir, ef_error *err);
/* Reads DIR/manifest.json; errors name the file and what was wrong. */
ef_status md_manifest_load(md_manifest *m, const char *dir, ef_error *err);
/* Records the size and CRC-32 of DIR/name into f. */
ef_status md_file_seal(md_file *f, const char *dir, const char *name, ef_error *err);
/* Checks every member's files against the manifest: a missing, resized or changed file is
 * an error naming it. */
ef_status md_verify(const md_manifest *m, const char *dir, ef_error *err);
/* A model directory's member checkpoints as paths (DIR/member-K.st), verified; *paths is
 * an ef_strlist (ef_strlist_free(*paths, *n)). */
ef_status md_member_paths(const char *dir, char ***paths, int *n, ef_error *err);

#endif
