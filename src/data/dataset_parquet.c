/* Loading Numerai parquet files into a dataset, and era-sharded iteration. Row group by
 * row group with column projection: pass 1 reads only era, data_type and the required
 * target to count the kept rows, so the int8 matrix is allocated once at its final size;
 * pass 2 decodes features straight into the matrix (a column batch at a time through a
 * small buffer when a row group has dropped rows). CSV files go to dataset_csv.c. */
#include <math.h>
#include <string.h>
#include "base/ef_internal.h"
#include "data/data_internal.h"
#include "eraformer/parquet.h"

#define FEATURE_BATCH 256

/* The columns of one file, resolved by name. */
typedef struct pq_file {
    ef_pq_reader *r;
    const char *path;
    int c_id, c_era, c_dtype, c_req;
    int nf, nt;
    int *feat;        /* nf column indices */
    uint8_t *feat_float;
    int *targ;        /* nt */
} pq_file;

static void pq_file_close(pq_file *f) {
    ef_pq_reader_close(f->r);
    ef_free(f->feat);
    ef_free(f->feat_float);
    ef_free(f->targ);
    memset(f, 0, sizeof *f);
}

static int is_target_name(const char *s) { return !strcmp(s, "target") || !strncmp(s, "target_", 7); }

/* Default column lists from the first file: every feature_* and target / target_*. */
static ef_status default_names(const ef_pq_reader *r, const char *prefix_kind, char ***out, int *n,
                               ef_error *err) {
    int nc = ef_pq_num_columns(r), cnt = 0;
    char **v = ef_calloc((size_t)(nc ? nc : 1), sizeof *v);
    if (!v) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    for (int c = 0; c < nc; c++) {
        const char *nm = ef_pq_column(r, c)->name;
        int take = prefix_kind[0] == 'f' ? !strncmp(nm, "feature_", 8) : is_target_name(nm);
        if (take && !(v[cnt++] = ef_strdup(nm))) {
            ef_strlist_free(v, cnt - 1);
            return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        }
    }
    *out = v;
    *n = cnt;
    return EF_OK;
}

/* The first file must have every selected column; later files may lack target columns
 * (live files without targets): their rows get NaN there. */
static ef_status pq_file_open(pq_file *f, const char *path, int nf, char *const *fn, int nt,
                              char *const *tn, const ef_load_options *opt, int first, ef_error *err) {
    memset(f, 0, sizeof *f);
    f->path = path;
    f->c_req = -1;
    EF_TRY(ef_pq_reader_open(&f->r, path, err));
    f->c_id = ef_pq_find_column(f->r, "id");
    if (f->c_id < 0) f->c_id = ef_pq_find_column(f->r, "__index_level_0__");
    f->c_era = ef_pq_find_column(f->r, "era");
    f->c_dtype = ef_pq_find_column(f->r, "data_type");
    f->nf = nf;
    f->nt = nt;
    f->feat = ef_malloc((size_t)(nf ? nf : 1) * sizeof(int));
    f->feat_float = ef_calloc((size_t)(nf ? nf : 1), 1);
    f->targ = ef_malloc((size_t)(nt ? nt : 1) * sizeof(int));
    if (!f->feat || !f->feat_float || !f->targ) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    EF_TRY(ef_pq_find_columns(f->r, (const char *const *)fn, nf, f->feat, err));
    for (int j = 0; j < nt; j++) {
        f->targ[j] = ef_pq_find_column(f->r, tn[j]);
        EF_CHECK(f->targ[j] >= 0 || !first, err, EF_ERR_INVALID, "%s: no target column '%s'", path, tn[j]);
    }
    for (int j = 0; j < nf; j++) {
        ef_pq_type t = ef_pq_column(f->r, f->feat[j])->type;
        f->feat_float[j] = t == EF_PQ_FLOAT || t == EF_PQ_DOUBLE;
    }
    if (opt && opt->require_target) {
        f->c_req = ef_pq_find_column(f->r, opt->require_target);
        EF_CHECK(f->c_req >= 0 || !first, err, EF_ERR_INVALID, "%s: no target column '%s' to filter on",
                 path, opt->require_target);
    }
    int cols[3] = {f->c_id, f->c_era, f->c_dtype};
    for (int k = 0; k < 3; k++)
        if (cols[k] >= 0)
            EF_CHECK(ef_pq_column(f->r, cols[k])->type == EF_PQ_BYTE_ARRAY, err, EF_ERR_FORMAT,
                     "%s: column '%s' is not a string column", path, ef_pq_column(f->r, cols[k])->name);
    return EF_OK;
}

/* The per-row meta data of one row group. */
typedef struct rg_meta {
    int64_t n;
    ef_pq_column_data era, dtype, id, req;
    uint8_t *keep;
    int64_t kept;
} rg_meta;

static void rg_meta_free(rg_meta *m) {
    ef_pq_column_data_free(&m->era);
    ef_pq_column_data_free(&m->dtype);
    ef_pq_column_data_free(&m->id);
    ef_pq_column_data_free(&m->req);
    ef_free(m->keep);
    memset(m, 0, sizeof *m);
}

static void str_at(const ef_pq_column_data *c, int64_t i, const char **s, size_t *len) {
    *s = (const char *)c->data + c->offsets[i];
    *len = (size_t)(c->offsets[i + 1] - c->offsets[i]);
}

/* Reads era/data_type/required target (and ids when want_ids) and the keep mask. */
static ef_status rg_meta_read(const pq_file *f, int rg, const ef_load_options *opt, int want_ids,
                              ef_data_builder *b, rg_meta *m, ef_error *err) {
    memset(m, 0, sizeof *m);
    m->n = ef_pq_row_group_num_rows(f->r, rg);
    if (f->c_era >= 0) EF_TRY(ef_pq_read_column(f->r, rg, f->c_era, &m->era, err));
    if (f->c_dtype >= 0) EF_TRY(ef_pq_read_column(f->r, rg, f->c_dtype, &m->dtype, err));
    if (f->c_req >= 0) {
        int c = f->c_req;
        /* as float, whatever its physical type */
        m->req.n = 0;
        float *tv = ef_malloc((size_t)(m->n ? m->n : 1) * sizeof(float));
        if (!tv) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        ef_status st = ef_pq_read_rowgroup_f32(f->r, rg, &c, 1, tv, 1, err);
        m->req.values = tv;
        m->req.type = EF_PQ_FLOAT;
        EF_TRY(st);
    }
    if (want_ids && f->c_id >= 0) EF_TRY(ef_pq_read_column(f->r, rg, f->c_id, &m->id, err));
    m->keep = ef_malloc((size_t)(m->n ? m->n : 1));
    if (!m->keep) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    char nonnum_dummy[EF_DATA_MAX_NONNUM][EF_ERA_NAME_MAX];
    int n_nonnum = 0;
    for (int64_t i = 0; i < m->n; i++) {
        int num;
        if (f->c_era >= 0 && !(m->era.valid && !m->era.valid[i])) {
            const char *s;
            size_t L;
            str_at(&m->era, i, &s, &L);
            char nm[EF_ERA_NAME_MAX];
            if (L >= sizeof nm) L = sizeof nm - 1;
            memcpy(nm, s, L);
            nm[L] = 0;
            if (b) {
                int e = ef_data_builder_era(b, nm, L);
                if (e < 0) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
                num = b->ds->eras[e].num;
            } else {
                num = ef_data_era_num(nm, &n_nonnum, nonnum_dummy);
            }
        } else {
            num = EF_ERA_LIVE_NUM;
        }
        int dt = EF_DT_OTHER;
        if (f->c_dtype >= 0 && !(m->dtype.valid && !m->dtype.valid[i])) {
            const char *s;
            size_t L;
            str_at(&m->dtype, i, &s, &L);
            char nm[32];
            if (L >= sizeof nm) L = sizeof nm - 1;
            memcpy(nm, s, L);
            nm[L] = 0;
            dt = (int)ef_data_type_parse(nm);
        }
        float t = f->c_req >= 0 ? ((float *)m->req.values)[i] : opt && opt->require_target ? NAN : 0.0f;
        m->keep[i] = (uint8_t)ef_data_row_kept(opt, num, dt, t);
        m->kept += m->keep[i];
    }
    return EF_OK;
}

int8_t ef_data_float_to_level(float x, int scale4) {
    if (isnan(x)) return 2;
    float v = scale4 ? x * 4.0f : x;
    v = roundf(v);
    if (v < 0) v = 0;
    if (v > 4) v = 4;
    return (int8_t)v;
}

/* Decodes features of row group rg for the kept rows into X rows [w, w + kept). */
static ef_status decode_features(const pq_file *f, int rg, const rg_meta *m, int8_t *X, size_t F,
                                 int64_t w, ef_error *err) {
    int all = m->kept == m->n;
    size_t n = (size_t)m->n;
    int8_t *tmp = NULL;
    float *ftmp = NULL;
    ef_status st = EF_OK;
    if (!all) {
        tmp = ef_malloc(n * FEATURE_BATCH + 1);
        if (!tmp) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    for (int j0 = 0; j0 < f->nf && !st; j0 += FEATURE_BATCH) {
        int nb = EF_MIN(FEATURE_BATCH, f->nf - j0);
        int any_float = 0;
        for (int j = j0; j < j0 + nb; j++) any_float |= f->feat_float[j];
        int8_t *dst = all ? X + (size_t)w * F + (size_t)j0 : tmp;
        size_t ld = all ? F : (size_t)nb;
        if (!any_float) {
            st = ef_pq_read_rowgroup_i8(f->r, rg, f->feat + j0, nb, dst, ld, 2, err);
        } else {
            /* legacy float features: one column at a time through a float buffer */
            if (!ftmp && !(ftmp = ef_malloc((n ? n : 1) * sizeof(float)))) {
                st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
                break;
            }
            for (int j = j0; j < j0 + nb && !st; j++) {
                if (!f->feat_float[j]) {
                    st = ef_pq_read_rowgroup_i8(f->r, rg, f->feat + j, 1, dst + (j - j0), ld, 2, err);
                    continue;
                }
                st = ef_pq_read_rowgroup_f32(f->r, rg, f->feat + j, 1, ftmp, 1, err);
                float mx = 0;
                for (size_t i = 0; i < n; i++)
                    if (ftmp[i] > mx) mx = ftmp[i];
                for (size_t i = 0; i < n && !st; i++) dst[i * ld + (size_t)(j - j0)] = ef_data_float_to_level(ftmp[i], mx <= 1.0f);
            }
        }
        if (!st && !all) {
            int64_t o = w;
            for (size_t i = 0; i < n; i++)
                if (m->keep[i]) memcpy(X + (size_t)o++ * F + (size_t)j0, tmp + i * (size_t)nb, (size_t)nb);
        }
    }
    ef_free(tmp);
    ef_free(ftmp);
    return st;
}

/* Appends the kept rows of row group rg to the builder (capacity must be reserved). */
static ef_status append_rowgroup(const pq_file *f, int rg, const ef_load_options *opt,
                                 ef_data_builder *b, ef_error *err) {
    ef_dataset *ds = b->ds;
    rg_meta m;
    ef_status st = rg_meta_read(f, rg, opt, 1, b, &m, err);
    float *yt = NULL;
    if (st) goto done;
    if (m.kept == 0) goto done;
    if ((st = ef_data_builder_reserve(b, ds->n_rows + m.kept, err))) goto done;
    size_t T = (size_t)ds->n_targets, F = (size_t)ds->n_features;
    /* targets one column at a time: straight into the dataset when every row is kept, else
     * through a one-column buffer; a column the file lacks is NaN */
    if (T && m.kept < m.n && !(yt = ef_malloc((size_t)(m.n ? m.n : 1) * sizeof(float)))) {
        st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < T && !st; t++) {
        float *dst = ds->y + (size_t)ds->n_rows * T + t;
        if (f->targ[t] < 0) {
            for (int64_t i = 0; i < m.kept; i++) dst[(size_t)i * T] = NAN;
        } else if (m.kept == m.n) {
            st = ef_pq_read_rowgroup_f32(f->r, rg, f->targ + t, 1, dst, T, err);
        } else {
            st = ef_pq_read_rowgroup_f32(f->r, rg, f->targ + t, 1, yt, 1, err);
            int64_t o = 0;
            for (int64_t i = 0; i < m.n && !st; i++)
                if (m.keep[i]) dst[(size_t)o++ * T] = yt[i];
        }
    }
    if (st) goto done;
    if ((st = decode_features(f, rg, &m, ds->X, F, ds->n_rows, err))) goto done;
    int64_t first = ef_pq_row_group_first_row(f->r, rg);
    for (int64_t i = 0; i < m.n && !st; i++) {
        if (!m.keep[i]) continue;
        int64_t r = ds->n_rows;
        int e;
        if (f->c_era >= 0 && !(m.era.valid && !m.era.valid[i])) {
            const char *s;
            size_t L;
            str_at(&m.era, i, &s, &L);
            e = ef_data_builder_era(b, s, L);
        } else {
            e = ef_data_builder_era(b, "X", 1);
        }
        if (e < 0) {
            st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            break;
        }
        ds->row_era[r] = e;
        int dt = EF_DT_OTHER;
        if (f->c_dtype >= 0 && !(m.dtype.valid && !m.dtype.valid[i])) {
            const char *s;
            size_t L;
            str_at(&m.dtype, i, &s, &L);
            char nm[32];
            if (L >= sizeof nm) L = sizeof nm - 1;
            memcpy(nm, s, L);
            nm[L] = 0;
            dt = (int)ef_data_type_parse(nm);
        }
        ds->row_type[r] = (uint8_t)dt;
        if (f->c_id >= 0 && !(m.id.valid && !m.id.valid[i])) {
            const char *s;
            size_t L;
            str_at(&m.id, i, &s, &L);
            st = ef_data_builder_id(b, r, s, L, err);
        } else {
            char tmp[32];
            int L = snprintf(tmp, sizeof tmp, "row%lld", (long long)(first + i));
            st = ef_data_builder_id(b, r, tmp, (size_t)L, err);
        }
        ds->n_rows++;
    }
done:
    if (st) ef_error_prefix(err, "%s, row group %d: ", f->path, rg);
    ef_free(yt);
    rg_meta_free(&m);
    return st;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Column names: the options' lists, or the defaults from the first file. */
static ef_status resolve_names(const char *path0, const ef_load_options *opt, char ***fn, int *nf,
                               char ***tn, int *nt, ef_error *err) {
    *fn = *tn = NULL;
    *nf = *nt = 0;
    ef_pq_reader *r = NULL;
    int need_file = !(opt && opt->features) || !(opt && (opt->targets || opt->no_targets));
    if (need_file) EF_TRY(ef_pq_reader_open(&r, path0, err));
    ef_status st = EF_OK;
    if (opt && opt->features) {
        *fn = ef_calloc((size_t)(opt->n_features ? opt->n_features : 1), sizeof(char *));
        if (!*fn) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int i = 0; !st && i < opt->n_features; i++, (*nf)++)
            if (!((*fn)[i] = ef_strdup(opt->features[i]))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    } else {
        st = default_names(r, "f", fn, nf, err);
    }
    if (!st && opt && opt->no_targets) {
        *tn = ef_calloc(1, sizeof(char *));
        if (!*tn) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    } else if (!st && opt && opt->targets) {
        *tn = ef_calloc((size_t)(opt->n_targets ? opt->n_targets : 1), sizeof(char *));
        if (!*tn) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int i = 0; !st && i < opt->n_targets; i++, (*nt)++)
            if (!((*tn)[i] = ef_strdup(opt->targets[i]))) st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    } else if (!st) {
        st = default_names(r, "t", tn, nt, err);
    }
    ef_pq_reader_close(r);
    return st;
}

static int cmp_int_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* era_newest: the smallest of the `newest` largest distinct numbers in nums (sorted in place);
 * 1 when there are none. */
static int newest_era_bound(int *nums, int n, int newest) {
    qsort(nums, (size_t)n, sizeof *nums, cmp_int_desc);
    int d = 0, bound = 1;
    for (int i = 0; i < n && d < newest; i++)
        if (i == 0 || nums[i] != nums[i - 1]) {
            d++;
            bound = nums[i];
        }
    return bound;
}

ef_status ef_dataset_load(ef_dataset *ds, const char *const *paths, int n_paths,
                          const ef_load_options *opt, ef_error *err) {
    memset(ds, 0, sizeof *ds);
    EF_CHECK(n_paths > 0, err, EF_ERR_INVALID, "no files to load");
    if (ends_with(paths[0], ".csv")) {
        if (!opt || opt->era_newest <= 0) return ef_dataset_load_csv(ds, paths, n_paths, opt, err);
        /* CSV: load, then keep the newest eras */
        ef_load_options o2 = *opt;
        o2.era_newest = 0;
        EF_TRY(ef_dataset_load_csv(ds, paths, n_paths, &o2, err));
        int *nums = ef_malloc((size_t)(ds->n_eras > 0 ? ds->n_eras : 1) * sizeof(int)), n = 0;
        ef_status st = nums ? EF_OK : EF_ERR(err, EF_ERR_NOMEM, "out of memory");
        for (int e = 0; nums && e < ds->n_eras; e++)
            if (ds->eras[e].num < EF_ERA_LIVE_NUM) nums[n++] = ds->eras[e].num;
        ef_load_options f2 = {0};
        if (!st) f2.era_min = newest_era_bound(nums, n, opt->era_newest);
        ef_free(nums);
        if (!st) st = ef_dataset_filter(ds, &f2, err);
        if (st) ef_dataset_free(ds);
        return st;
    }
    for (int i = 0; i < n_paths; i++)
        EF_CHECK(!ends_with(paths[i], ".csv"), err, EF_ERR_INVALID,
                 "cannot mix CSV and parquet files (%s)", paths[i]);
    char **fn = NULL, **tn = NULL;
    int nf = 0, nt = 0;
    ef_status st = resolve_names(paths[0], opt, &fn, &nf, &tn, &nt, err);
    ef_data_builder b;
    pq_file f;
    memset(&f, 0, sizeof f);
    if (!st) st = ef_data_builder_init(&b, ds, nf, fn, nt, tn, err);
    ef_strlist_free(fn, nf);
    ef_strlist_free(tn, nt);
    if (st) return st;
    ef_load_options newest;
    if (opt && opt->era_newest > 0) {
        /* pass 0: the era numbers of the kept rows, then a lower bound that keeps the newest */
        int cap = 0, n = 0, *nums = NULL;
        for (int p = 0; p < n_paths && !st; p++) {
            st = pq_file_open(&f, paths[p], ds->n_features, ds->feature_names, ds->n_targets, ds->target_names, opt,
                              p == 0, err);
            for (int rg = 0; !st && rg < ef_pq_num_row_groups(f.r); rg++) {
                rg_meta m;
                st = rg_meta_read(&f, rg, opt, 0, NULL, &m, err);
                for (int64_t i = 0; !st && i < m.n && f.c_era >= 0; i++) {
                    if (!m.keep[i] || (m.era.valid && !m.era.valid[i])) continue;
                    const char *sv;
                    size_t L;
                    str_at(&m.era, i, &sv, &L);
                    char nm[EF_ERA_NAME_MAX];
                    if (L >= sizeof nm) L = sizeof nm - 1;
                    memcpy(nm, sv, L);
                    nm[L] = 0;
                    int num = ef_era_parse(nm);
                    if (num < 0 || (n > 0 && nums[n - 1] == num)) continue;   /* rows are era-grouped */
                    if (n == cap) {
                        int *g = ef_realloc(nums, (size_t)(cap ? 2 * cap : 256) * sizeof(int));
                        if (!g) {
                            st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
                            break;
                        }
                        nums = g;
                        cap = cap ? 2 * cap : 256;
                    }
                    nums[n++] = num;
                }
                rg_meta_free(&m);
            }
            pq_file_close(&f);
        }
        newest = *opt;
        newest.era_newest = 0;
        if (!st) newest.era_min = EF_MAX(newest.era_min, newest_era_bound(nums, n, opt->era_newest));
        ef_free(nums);
        opt = &newest;
        if (st) {
            ef_dataset_free(ds);
            return st;
        }
    }
    /* pass 1: count the kept rows of every file */
    int64_t total = 0;
    size_t id_bytes = 0;
    for (int p = 0; p < n_paths && !st; p++) {
        st = pq_file_open(&f, paths[p], ds->n_features, ds->feature_names, ds->n_targets,
                          ds->target_names, opt, p == 0, err);
        for (int rg = 0; !st && rg < ef_pq_num_row_groups(f.r); rg++) {
            rg_meta m;
            st = rg_meta_read(&f, rg, opt, 1, NULL, &m, err);
            total += m.kept;
            for (int64_t i = 0; !st && i < m.n; i++)
                if (m.keep[i])
                    id_bytes += f.c_id >= 0 && !(m.id.valid && !m.id.valid[i])
                                    ? (size_t)(m.id.offsets[i + 1] - m.id.offsets[i]) + 1 : 24;
            rg_meta_free(&m);
        }
        pq_file_close(&f);
    }
    if (!st) st = ef_data_builder_reserve(&b, total, err);
    if (!st) st = ef_data_builder_reserve_ids(&b, id_bytes, err);
    /* pass 2: decode */
    for (int p = 0; p < n_paths && !st; p++) {
        st = pq_file_open(&f, paths[p], ds->n_features, ds->feature_names, ds->n_targets,
                          ds->target_names, opt, p == 0, err);
        for (int rg = 0; !st && rg < ef_pq_num_row_groups(f.r); rg++) st = append_rowgroup(&f, rg, opt, &b, err);
        pq_file_close(&f);
    }
    if (!st && ds->n_rows != total)
        st = EF_ERR(err, EF_ERR_INTERNAL, "row count changed between passes (%lld vs %lld)",
                    (long long)ds->n_rows, (long long)total);
    if (!st) st = ef_dataset_finish(ds, err);
    if (st) ef_dataset_free(ds);
    return st;
}

// ---- era-sharded reading ------------------------------------------------------------------

struct ef_era_reader {
    pq_file f;
    ef_load_options opt;
    char *req;                 /* owned copy of opt.require_target */
    int rg, eof;
    ef_dataset pending;
    ef_data_builder b;
};

ef_status ef_era_reader_open(ef_era_reader **out, const char *path, const ef_load_options *opt,
                             ef_error *err) {
    *out = NULL;
    ef_era_reader *r = ef_calloc(1, sizeof *r);
    if (!r) return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    if (opt) r->opt = *opt;
    r->opt.features = NULL;   /* names are copied into pending; do not keep the caller's */
    r->opt.targets = NULL;
    if (opt && opt->require_target && !(r->req = ef_strdup(opt->require_target))) {
        ef_free(r);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    r->opt.require_target = r->req;
    char **fn = NULL, **tn = NULL;
    int nf = 0, nt = 0;
    ef_status st = resolve_names(path, opt, &fn, &nf, &tn, &nt, err);
    if (!st) st = ef_data_builder_init(&r->b, &r->pending, nf, fn, nt, tn, err);
    ef_strlist_free(fn, nf);
    ef_strlist_free(tn, nt);
    if (!st) st = pq_file_open(&r->f, path, nf, r->pending.feature_names, nt, r->pending.target_names,
                               &r->opt, 1, err);
    if (st) {
        ef_era_reader_close(r);
        return st;
    }
    *out = r;
    return EF_OK;
}

void ef_era_reader_close(ef_era_reader *r) {
    if (!r) return;
    pq_file_close(&r->f);
    ef_dataset_free(&r->pending);
    ef_free(r->req);
    ef_free(r);
}

/* Moves rows [0, k) of pending into shard and shifts the rest down. */
static ef_status take_rows(ef_era_reader *r, int64_t k, ef_dataset *shard, ef_error *err) {
    ef_dataset *p = &r->pending;
    ef_data_builder sb;
    EF_TRY(ef_data_builder_init(&sb, shard, p->n_features, p->feature_names, p->n_targets,
                                p->target_names, err));
    ef_status st = ef_data_builder_reserve(&sb, k, err);
    size_t F = (size_t)p->n_features, T = (size_t)p->n_targets;
    if (!st) {
        memcpy(shard->X, p->X, (size_t)k * F);
        memcpy(shard->y, p->y, (size_t)k * T * sizeof(float));
        memcpy(shard->row_type, p->row_type, (size_t)k);
    }
    for (int64_t i = 0; i < k && !st; i++) {
        const char *en = p->eras[p->row_era[i]].name;
        int e = ef_data_builder_era(&sb, en, strlen(en));
        if (e < 0) {
            st = EF_ERR(err, EF_ERR_NOMEM, "out of memory");
            break;
        }
        shard->eras[e].num = p->eras[p->row_era[i]].num;
        shard->row_era[i] = e;
        const char *id = ef_dataset_id(p, i);
        st = ef_data_builder_id(&sb, i, id, strlen(id), err);
        shard->n_rows++;
    }
    if (!st) st = ef_dataset_finish(shard, err);
    if (st) {
        ef_dataset_free(shard);
        return st;
    }
    /* shift pending down */
    int64_t rest = p->n_rows - k;
    size_t id0 = k < p->n_rows ? (size_t)p->id_off[k] : p->id_bytes;
    memmove(p->X, p->X + (size_t)k * F, (size_t)rest * F);
    memmove(p->y, p->y + (size_t)k * T, (size_t)rest * T * sizeof(float));
    memmove(p->row_era, p->row_era + k, (size_t)rest * sizeof *p->row_era);
    memmove(p->row_type, p->row_type + k, (size_t)rest);
    memmove(p->id_data, p->id_data + id0, p->id_bytes - id0);
    for (int64_t i = 0; i < rest; i++) p->id_off[i] = p->id_off[i + k] - (int64_t)id0;
    p->id_bytes -= id0;
    p->n_rows = rest;
    return EF_OK;
}

ef_status ef_era_reader_next(ef_era_reader *r, ef_dataset *shard, int *done, ef_error *err) {
    ef_dataset_free(shard);
    *done = 0;
    for (;;) {
        ef_dataset *p = &r->pending;
        if (p->n_rows > 0) {
            int64_t k = 1;
            while (k < p->n_rows && p->row_era[k] == p->row_era[0]) k++;
            if (k < p->n_rows || r->eof) return take_rows(r, k, shard, err);
        }
        if (r->eof) {
            *done = 1;
            return EF_OK;
        }
        if (r->rg >= ef_pq_num_row_groups(r->f.r)) {
            r->eof = 1;
            continue;
        }
        /* append_rowgroup reserves exactly; pending settles at about two eras */
        EF_TRY(append_rowgroup(&r->f, r->rg++, &r->opt, &r->b, err));
    }
}
