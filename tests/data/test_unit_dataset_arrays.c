/* ef_dataset_from_arrays: a dataset from columns in memory equals the CSV loader's on the
 * same data (features: int8 levels, float32 0..1 with NaN, float64 levels with NaN, uint8;
 * targets float64 and float32 with NaN; eras out of order, a live era, ids, data types), for
 * every combination of absent ids/eras/data types; bad dtypes, NULL columns, widths and long
 * era labels are EF_ERR_INVALID with a message; every allocation failure returns an error and
 * leaks nothing (ASan). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "eraformer/data.h"
#include "test.h"

enum { N = 7, F = 4, T = 2 };
static const int8_t FA[N] = {0, 4, 2, 1, 3, 7, -1};          /* int8 levels (7, -1 clamped) */
static const float FB[N] = {0.0f, 0.25f, NAN, 1.0f, 0.75f, 0.5f, 0.125f}; /* unit floats; 0.125 -> .5 -> 1 */
static const double FC[N] = {4, 3, NAN, 0, 1, 2.5, 2};        /* float64 levels (max > 1) */
static const uint8_t FD[N] = {1, 2, 3, 4, 0, 2, 9};
static const double TA[N] = {0.5, NAN, 0.25, 1, 0.1, 0.75, 0.3333333333333333};
static const float TB[N] = {1, 0, NAN, 0.5f, 0.25f, 0.75f, 1};
static const char ERAS[N][5] = {"0003", "0001", "X", "0001", "0002", "0003", "0010"};
static const char IDS[N][3] = {"n0", "n1", "n2", "n3", "n4", "n5", "n6"};
static const char TYPES[N][11] = {"train", "validation", "live", "train", "train", "validation", "train"};

static const char *FN[F] = {"feature_a", "feature_b", "feature_c", "feature_d"};
static const char *TN[T] = {"target", "target_b"};

static void arrays(ef_dataset_arrays *a, const void **xc, int *xd, const void **yc, int *yd) {
    xc[0] = FA, xc[1] = FB, xc[2] = FC, xc[3] = FD;
    xd[0] = EF_DTYPE_INT8, xd[1] = EF_DTYPE_FLOAT32, xd[2] = EF_DTYPE_FLOAT64, xd[3] = EF_DTYPE_UINT8;
    yc[0] = TA, yc[1] = TB;
    yd[0] = EF_DTYPE_FLOAT64, yd[1] = EF_DTYPE_FLOAT32;
    memset(a, 0, sizeof *a);
    a->n_rows = N;
    a->n_features = F, a->feature_names = FN, a->x_cols = xc, a->x_dtypes = xd;
    a->n_targets = T, a->target_names = TN, a->y_cols = yc, a->y_dtypes = yd;
    a->eras = &ERAS[0][0], a->era_width = sizeof ERAS[0];
    a->ids = &IDS[0][0], a->id_width = sizeof IDS[0];
    a->data_types = &TYPES[0][0], a->data_type_width = sizeof TYPES[0];
}

/* the same data as CSV text (unit floats with a '.', levels as integers, blanks for NaN) */
static void write_csv(const char *path, int with_id, int with_era, int with_type) {
    FILE *f = fopen(path, "w");
    fprintf(f, "%s%s%sfeature_a,feature_b,feature_c,feature_d,target,target_b\n", with_id ? "id," : "",
            with_era ? "era," : "", with_type ? "data_type," : "");
    for (int r = 0; r < N; r++) {
        if (with_id) fprintf(f, "%s,", IDS[r]);
        if (with_era) fprintf(f, "%s,", ERAS[r]);
        if (with_type) fprintf(f, "%s,", TYPES[r]);
        fprintf(f, "%d,", FA[r]);
        if (isnan(FB[r])) fputs(",", f);
        else fprintf(f, "%.9g,", (double)FB[r]); /* 0.25 etc.: the column has a '.', so 0..1 */
        if (isnan(FC[r])) fputs(",", f);
        else fprintf(f, "%d,", (int)FC[r] == FC[r] ? (int)FC[r] : 3); /* 2.5 rounds to 3 */
        fprintf(f, "%d,", FD[r] > 4 ? 4 : FD[r]);
        if (isnan(TA[r])) fputs(",", f);
        else fprintf(f, "%.9g,", (double)(float)TA[r]);
        if (isnan(TB[r])) fputs("\n", f);
        else fprintf(f, "%.9g\n", (double)TB[r]);
    }
    fclose(f);
}

static int same(const ef_dataset *a, const ef_dataset *b) {
    if (a->n_rows != b->n_rows || a->n_features != b->n_features || a->n_targets != b->n_targets ||
        a->n_eras != b->n_eras)
        return 0;
    size_t n = (size_t)a->n_rows;
    if (memcmp(a->X, b->X, n * (size_t)a->n_features) || memcmp(a->row_type, b->row_type, n) ||
        memcmp(a->row_era, b->row_era, n * sizeof(int32_t)))
        return 0;
    for (size_t i = 0; i < n * (size_t)a->n_targets; i++)
        if (!(a->y[i] == b->y[i] || (isnan(a->y[i]) && isnan(b->y[i])))) return 0;
    for (int e = 0; e < a->n_eras; e++)
        if (strcmp(a->eras[e].name, b->eras[e].name) || a->eras[e].num != b->eras[e].num ||
            a->eras[e].start != b->eras[e].start || a->eras[e].count != b->eras[e].count)
            return 0;
    for (int64_t r = 0; r < a->n_rows; r++)
        if (strcmp(ef_dataset_id(a, r), ef_dataset_id(b, r))) return 0;
    return !memcmp(a->missing, b->missing, (size_t)a->n_eras * (size_t)a->n_features);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/test_dataset_arrays_%ld.csv", EF_BINARY_DIR, (long)getpid());
    const void *xc[F], *yc[T];
    int xd[F], yd[T];
    ef_dataset_arrays a;
    ef_error err = {0};
    /* 0.125 * 4 = 0.5 rounds away from zero (roundf) in both loaders */
    for (int mask = 0; mask < 8; mask++) {
        int wi = mask & 1, we = mask & 2, wt = mask & 4;
        write_csv(path, wi, we, wt);
        ef_dataset want, got;
        const char *paths[1] = {path};
        ef_load_options lo = {0};
        lo.features = FN, lo.n_features = F, lo.targets = TN, lo.n_targets = T;
        CHECKF(ef_dataset_load(&want, paths, 1, &lo, &err) == EF_OK, "csv: %s", err.msg);
        arrays(&a, xc, xd, yc, yd);
        if (!wi) a.ids = NULL;
        if (!we) a.eras = NULL;
        if (!wt) a.data_types = NULL;
        CHECKF(ef_dataset_from_arrays(&got, &a, &err) == EF_OK, "arrays: %s", err.msg);
        CHECKF(same(&got, &want), "ids %d eras %d types %d: differs from the CSV loader", wi, we, wt);
        if (we) CHECK(got.n_eras == 5 && !strcmp(got.eras[0].name, "0001") && !strcmp(got.eras[4].name, "X"));
        ef_dataset_free(&want);
        ef_dataset_free(&got);
    }
    unlink(path);

    /* errors: a message naming the input, no dataset */
    ef_dataset ds;
    arrays(&a, xc, xd, yc, yd);
    xd[1] = 9;
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_ERR_INVALID && strstr(err.msg, "feature_b") &&
          strstr(err.msg, "dtype code 9"));
    arrays(&a, xc, xd, yc, yd);
    yd[0] = EF_DTYPE_INT8;
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_ERR_INVALID && strstr(err.msg, "target"));
    arrays(&a, xc, xd, yc, yd);
    xc[2] = NULL;
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_ERR_INVALID && strstr(err.msg, "feature_c"));
    arrays(&a, xc, xd, yc, yd);
    a.id_width = 0;
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_ERR_INVALID && strstr(err.msg, "ids"));
    arrays(&a, xc, xd, yc, yd);
    static const char LONG[N][20] = {"0001", "0001", "0001", "era_far_too_long_x", "0001", "0001", "0001"};
    a.eras = &LONG[0][0], a.era_width = sizeof LONG[0];
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_ERR_INVALID && strstr(err.msg, "row 3"));
    arrays(&a, xc, xd, yc, yd);
    a.n_rows = -2;
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_ERR_INVALID);
    CHECK(ef_dataset_from_arrays(&ds, NULL, &err) == EF_ERR_INVALID);
    arrays(&a, xc, xd, yc, yd);
    a.n_rows = 0; /* empty: fine, no data read */
    CHECK(ef_dataset_from_arrays(&ds, &a, &err) == EF_OK && ds.n_rows == 0);
    ef_dataset_free(&ds);

    /* every allocation failure: an error, no leak */
    int fails = 0, oks = 0;
    arrays(&a, xc, xd, yc, yd);
    for (long k = 1; k < 60; k++) {
        ef_alloc_fail_after(k);
        ef_status st = ef_dataset_from_arrays(&ds, &a, NULL);
        ef_alloc_fail_after(0);
        if (st) fails++;
        else {
            oks++;
            ef_dataset_free(&ds);
        }
    }
    CHECK(fails > 5 && oks > 0);
    TEST_MAIN_END;
}
