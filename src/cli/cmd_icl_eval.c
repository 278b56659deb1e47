/* eraformer icl-eval: in-context evaluation in the protocol of Garg et al. 2022. For every
 * number of in-context examples i = 0..k-1, the normalised squared error of the prediction
 * of y_{i+1} (÷ the class's error scale, so predicting 0 scores ~1), averaged over --tasks
 * tasks, with a bootstrap 90 % interval, for the transformer and the classical baselines.
 * CSV on stdout (or --csv), an SVG plot with --plot. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/svg.h"
#include "eraformer/model.h"
#include "eraformer/prior.h"

#define MAX_EST 12

static void usage(FILE *f) {
    fprintf(f,
"usage: eraformer icl-eval --model FILE --class NAME [options]\n"
"\n"
"Normalised squared error vs number of in-context examples, transformer vs baselines.\n"
"\n"
"  --model FILE        checkpoint from 'eraformer pretrain'\n"
"  --class NAME        function class (linear, laplace, elasticnet, sparse, relu, tree, forest,\n"
"                      ar_drift, regime, lstm, sinusoid, quadratic)\n"
"  --d N               input dimension (default: the model's d_max)\n"
"  --points N          sequence length k (default: the model's max points)\n"
"  --tasks N           number of tasks (default 1280, Garg's)\n"
"  --baselines LIST    comma-separated baselines (default: the ones suited to the class):\n"
"                      zero lstsq ridge lasso elasticnet knn averaging cart2 cart4 nn rls\n"
"                      kalman xgboost\n"
"  --ood SPEC          out-of-distribution variant: scale-x=S (homogeneous classes),\n"
"                      scale-y=S, skewed (covariance eigenvalues ~ 1/i^2), noise=SIGMA,\n"
"                      combo=A+B[:ALPHA] (y = ALPHA f_A + (1-ALPHA) f_B on the same x, each at\n"
"                      unit scale, rescaled to A's; default ALPHA 0.5; --class may be omitted)\n"
"  --prior-params SPEC prior settings key=value,... as in 'pretrain'\n"
"  --bootstrap N       bootstrap resamples for the 90%% interval (default 1000)\n"
"  --seed N            task stream (default 7; pretrain's own streams are different)\n"
"  --ensemble N        transformer: mean of N passes over symmetric views of each task (member\n"
"                      1 as given; the others with the input columns permuted and sign-flipped\n"
"                      and the labels sign-flipped, mapped back); default 1\n"
"  --threads N         OpenMP threads\n"
"  --csv FILE          write the CSV there instead of stdout\n"
"  --plot FILE         write an SVG plot (error vs k, one line per estimator)\n");
}

static const char *default_baselines(ef_prior_class c) {
    switch (c) {
    case EF_PRIOR_LINEAR: case EF_PRIOR_QUADRATIC: return "zero,lstsq,ridge,averaging,knn";
    case EF_PRIOR_LAPLACE: return "zero,lstsq,ridge,lasso,knn";
    case EF_PRIOR_ELASTICNET: return "zero,lstsq,ridge,elasticnet,knn";
    case EF_PRIOR_SPARSE: return "zero,lstsq,lasso,averaging,knn";
    case EF_PRIOR_RELU: return "zero,lstsq,nn,xgboost,knn";
    case EF_PRIOR_TREE: case EF_PRIOR_FOREST: return "zero,lstsq,cart4,xgboost,knn";
    case EF_PRIOR_DRIFT: case EF_PRIOR_REGIME: return "zero,lstsq,rls,kalman";
    default: return "zero,lstsq,nn,xgboost,knn";
    }
}

/* degree of homogeneity of f in x (f(s x) = s^deg f(x)), or 0 if not homogeneous */
static int homogeneity(ef_prior_class c) {
    switch (c) {
    case EF_PRIOR_LINEAR: case EF_PRIOR_LAPLACE: case EF_PRIOR_ELASTICNET: case EF_PRIOR_SPARSE:
    case EF_PRIOR_RELU: case EF_PRIOR_DRIFT: case EF_PRIOR_REGIME: return 1;
    case EF_PRIOR_QUADRATIC: return 2;
    default: return 0;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int ef_cmd_icl_eval(int argc, char **argv) {
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'}, {"model", required_argument, 0, 'm'}, {"class", required_argument, 0, 'c'},
        {"d", required_argument, 0, 'd'}, {"points", required_argument, 0, 'k'}, {"tasks", required_argument, 0, 'n'},
        {"baselines", required_argument, 0, 'b'}, {"ood", required_argument, 0, 'o'}, {"prior-params", required_argument, 0, 'P'},
        {"bootstrap", required_argument, 0, 'B'}, {"seed", required_argument, 0, 'S'}, {"threads", required_argument, 0, 'T'},
        {"csv", required_argument, 0, 'C'}, {"plot", required_argument, 0, 'p'}, {"ensemble", required_argument, 0, 'E'},
        {0, 0, 0, 0}};
    const char *cmd = "icl-eval", *model_path = NULL, *cls_name = NULL, *bl_list = NULL, *ood = NULL, *pparams = NULL;
    const char *csv_path = NULL, *plot_path = NULL;
    long d = 0, k = 0, ntasks = 1280, nboot = 1000, threads = 0, members = 1;
    uint64_t seed = 7;
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'm': model_path = optarg; break;
        case 'c': cls_name = optarg; break;
        case 'd': rc = ef_cli_parse_long(cmd, "--d", optarg, 1, 4096, &d); break;
        case 'k': rc = ef_cli_parse_long(cmd, "--points", optarg, 1, 65536, &k); break;
        case 'n': rc = ef_cli_parse_long(cmd, "--tasks", optarg, 1, 10000000, &ntasks); break;
        case 'b': bl_list = optarg; break;
        case 'o': ood = optarg; break;
        case 'P': pparams = optarg; break;
        case 'B': rc = ef_cli_parse_long(cmd, "--bootstrap", optarg, 0, 1000000, &nboot); break;
        case 'S': rc = ef_cli_parse_u64(cmd, "--seed", optarg, &seed); break;
        case 'T': rc = ef_cli_parse_long(cmd, "--threads", optarg, 1, 1024, &threads); break;
        case 'C': csv_path = optarg; break;
        case 'p': plot_path = optarg; break;
        case 'E': rc = ef_cli_parse_long(cmd, "--ensemble", optarg, 1, 1024, &members); break;
        default: return ef_cli_usage(cmd, "unknown option");
        }
        if (rc) return rc;
    }
    if (optind < argc) return ef_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    /* --ood combo=A+B[:ALPHA]: a convex combination of two classes on the same inputs */
    int combo = ood && !strncmp(ood, "combo=", 6);
    ef_prior_class cls, cls_b = EF_PRIOR_LINEAR;
    double alpha = 0.5;
    if (combo) {
        char a[64] = "", b[64] = "";
        const char *plus = strchr(ood + 6, '+'), *colon = strchr(ood + 6, ':');
        if (!plus || (colon && colon < plus) || (size_t)(plus - (ood + 6)) >= sizeof a)
            return ef_cli_usage(cmd, "--ood combo expects A+B or A+B:ALPHA (e.g. combo=linear+tree), got '%s'", ood);
        memcpy(a, ood + 6, (size_t)(plus - (ood + 6)));
        size_t nb_ = colon ? (size_t)(colon - plus - 1) : strlen(plus + 1);
        if (nb_ >= sizeof b) return ef_cli_usage(cmd, "--ood combo: class name too long");
        memcpy(b, plus + 1, nb_);
        if (colon && (rc = ef_cli_parse_double(cmd, "--ood combo alpha", colon + 1, 0, 1, &alpha))) return rc;
        if (ef_prior_class_from_name(a, &cls) != 0) return ef_cli_usage(cmd, "unknown class '%s' in --ood combo", a);
        if (ef_prior_class_from_name(b, &cls_b) != 0) return ef_cli_usage(cmd, "unknown class '%s' in --ood combo", b);
        ef_prior_class given;
        if (cls_name && (ef_prior_class_from_name(cls_name, &given) != 0 || given != cls))
            return ef_cli_usage(cmd, "--class %s differs from the first class of --ood %s", cls_name, ood);
        cls_name = ef_prior_class_name(cls);
    }
    if (!model_path || !cls_name) return ef_cli_usage(cmd, "--model and --class are required");
    if (threads) ef_threads_set((int)threads);
    if (!combo && ef_prior_class_from_name(cls_name, &cls) != 0) return ef_cli_usage(cmd, "unknown class '%s'", cls_name);

    ef_error err = {0};
    ef_model *m;
    int MB = 64;
    if (ef_model_load(&m, model_path, MB, NULL, NULL, &err) != EF_OK) return ef_cli_fail(&err, NULL);
    const ef_model_config *mc = ef_model_cfg(m);
    if (!d) d = mc->d_max;
    if (!k) k = mc->max_points;
    if (d > mc->d_max || k > mc->max_points) {
        int dm = mc->d_max, km = mc->max_points;
        ef_model_destroy(m);
        return ef_cli_usage(cmd, "the model takes d <= %d and points <= %d", dm, km);
    }

    /* the prior: one class, plus the OOD variant */
    ef_prior_config pc;
    ef_prior_config_default(&pc);
    pc.d_max = mc->d_max;
    pc.n_points = (int)k;
    char mix[64];
    snprintf(mix, sizeof mix, "%s=1", ef_prior_class_name(cls));
    double scale_x = 1, scale_y = 1;
    int status = 0;
    if (ef_prior_config_parse_mixture(&pc, mix, &err) != EF_OK || (pparams && ef_prior_config_parse_params(&pc, pparams, &err) != EF_OK)) {
        ef_model_destroy(m);
        err.code = EF_ERR_INVALID;
        return ef_cli_fail(&err, NULL);
    }
    if (ood && !combo) {
        if (!strncmp(ood, "scale-x=", 8)) {
            rc = ef_cli_parse_double(cmd, "--ood scale-x", ood + 8, 1e-6, 1e6, &scale_x);
            if (!rc && !homogeneity(cls))
                rc = ef_cli_usage(cmd, "scale-x needs a class that is homogeneous in x (linear, laplace, elasticnet, sparse, "
                                       "relu, ar_drift, regime, quadratic); %s is not", cls_name);
        } else if (!strncmp(ood, "scale-y=", 8)) {
            rc = ef_cli_parse_double(cmd, "--ood scale-y", ood + 8, 1e-6, 1e6, &scale_y);
        } else if (!strcmp(ood, "skewed")) {
            for (int i = 0; i < EF_PRIOR_X_COUNT; i++) pc.x_weights[i] = 0;
            pc.x_weights[EF_PRIOR_X_CORRELATED] = 1;
            pc.x_skewed = 1;
        } else if (!strncmp(ood, "noise=", 6)) {
            double s;
            rc = ef_cli_parse_double(cmd, "--ood noise", ood + 6, 0, 100, &s);
            pc.noise_prob = 1;
            pc.noise_min = pc.noise_max = s;
        } else {
            rc = ef_cli_usage(cmd, "unknown --ood '%s' (scale-x=S, scale-y=S, skewed, noise=SIGMA, combo=A+B[:ALPHA])", ood);
        }
        if (rc) {
            ef_model_destroy(m);
            return rc;
        }
    }
    if (ef_prior_config_validate(&pc, &err) != EF_OK) {
        ef_model_destroy(m);
        err.code = EF_ERR_INVALID;
        return ef_cli_fail(&err, NULL);
    }

    /* estimators: the transformer, then the baselines */
    ef_baseline bls[MAX_EST];
    const char *names[MAX_EST + 2];
    char ens_name[48];
    char namebuf[MAX_EST][32];
    int nb = 0;
    char list[512];
    if (bl_list) {
        snprintf(list, sizeof list, "%s", bl_list);
    } else if (combo) {
        /* the union of both classes' baselines, first appearance order */
        snprintf(list, sizeof list, "%s", default_baselines(cls));
        char more[256];
        snprintf(more, sizeof more, "%s", default_baselines(cls_b));
        for (char *tok = strtok(more, ","); tok; tok = strtok(NULL, ",")) {
            char pat[40], hay[520];
            snprintf(pat, sizeof pat, ",%s,", tok);
            snprintf(hay, sizeof hay, ",%s,", list);
            if (!strstr(hay, pat) && strlen(list) + strlen(tok) + 2 < sizeof list) {
                strcat(list, ",");
                strcat(list, tok);
            }
        }
    } else {
        snprintf(list, sizeof list, "%s", default_baselines(cls));
    }
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (nb == MAX_EST - 1) { /* refused, not silently dropped */
            ef_model_destroy(m);
            return ef_cli_usage(cmd, "--baselines: at most %d baselines (from '%s' on, they would be dropped)",
                                MAX_EST - 1, tok);
        }
        if (ef_baseline_parse(&bls[nb], tok, &err) != EF_OK) {
            ef_model_destroy(m);
            err.code = EF_ERR_INVALID;
            return ef_cli_fail(&err, "see 'eraformer icl-eval --help' for the baseline names");
        }
        if (!ef_baseline_available(bls[nb].kind)) {
            fprintf(stderr, "icl-eval: baseline %s is not available in this build; skipped\n", tok);
            continue;
        }
        snprintf(namebuf[nb], sizeof namebuf[nb], "%s", tok);
        nb++;
    }
    /* with --ensemble N the single pass (the ensemble's first member) and the ensemble are
     * both reported: "transformer" and "transformer-ensN", then the baselines */
    int nt = members > 1 ? 2 : 1, ne = nb + nt;
    names[0] = "transformer";
    snprintf(ens_name, sizeof ens_name, "transformer-ens%ld", members);
    if (nt == 2) names[1] = ens_name;
    for (int i = 0; i < nb; i++) names[i + nt] = namebuf[i];

    size_t K = (size_t)k, D = (size_t)mc->d_max, NT = (size_t)ntasks;
    double *errs = ef_calloc((size_t)ne * NT * K, sizeof(double));   /* [estimator][task][i] */
    float *x = ef_malloc((size_t)MB * K * D * sizeof(float)), *y = ef_malloc((size_t)MB * K * sizeof(float));
    float *pred = ef_malloc((size_t)MB * K * sizeof(float)), *pred_ens = ef_malloc((size_t)MB * K * sizeof(float));
    float *bpred = ef_malloc((size_t)MB * nb * K * sizeof(float) + 4);
    /* rows layout: one pass per context size; its predictions for every row */
    float *rowp = ef_malloc((size_t)MB * K * sizeof(float)), *rowp_ens = ef_malloc((size_t)MB * K * sizeof(float));
    uint8_t *mask = ef_malloc((size_t)MB * K * D);
    int *dvec = ef_malloc((size_t)MB * sizeof(int));
    ef_task_info *info = ef_malloc((size_t)MB * sizeof(ef_task_info));
    /* the statistics' buffers too, before any task runs: the bootstrap indices are tasks x
     * resamples ints (--tasks 1e7 --bootstrap 1e6 would be 40 TB) */
    double *mean = ef_malloc((size_t)ne * K * sizeof(double)), *lo5 = ef_malloc((size_t)ne * K * sizeof(double));
    double *hi95 = ef_malloc((size_t)ne * K * sizeof(double)), *xs = ef_malloc(K * sizeof(double));
    double *boot = ef_malloc(((size_t)nboot + 1) * sizeof(double));
    size_t nidx;
    int idx_ok = ef_mul_ok(NT, nboot > 0 ? (size_t)nboot : 1, &nidx) && ef_mul_ok(nidx, sizeof(int), &nidx);
    int *idx = idx_ok ? ef_malloc(nidx) : NULL;
    if (!idx) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory for the bootstrap indices: %ld tasks x %ld resamples (%.3g GB)",
                 ntasks, nboot, (double)ntasks * (double)(nboot > 0 ? nboot : 1) * sizeof(int) / 1e9);
        status = ef_cli_fail(&err, "lower --bootstrap or --tasks");
        goto done;
    }
    if (!errs || !x || !y || !pred || !pred_ens || !rowp || !rowp_ens || !bpred || !mask || !dvec || !info || !mean ||
        !lo5 || !hi95 || !xs || !boot) {
        err.code = EF_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory for %ld tasks", ntasks);
        status = ef_cli_fail(&err, "lower --tasks");
        goto done;
    }
    fprintf(stderr, "icl-eval: %s, class %s, d %ld, k %ld, %ld tasks%s%s, estimators:", model_path, ef_prior_class_name(cls),
            d, k, ntasks, ood ? ", ood " : "", ood ? ood : "");
    for (int e = 0; e < ne; e++) fprintf(stderr, " %s", names[e]);
    if (members > 1) fprintf(stderr, " (transformer: %ld-member symmetry ensemble)", members);
    fputc('\n', stderr);
    ef_progress prog;
    ef_progress_start(&prog, "icl-eval", (double)ntasks, "tasks");
    for (size_t t0 = 0; t0 < NT; t0 += (size_t)MB) {
        int B = (int)(NT - t0 < (size_t)MB ? NT - t0 : (size_t)MB);
        ef_status sst = EF_OK;
        if (combo) {
            for (int b = 0; b < B && sst == EF_OK; b++)
                sst = ef_prior_sample_combo(&pc, cls, cls_b, alpha, seed, t0 + (uint64_t)b, (int)d, (int)k, x + (size_t)b * K * D,
                                            y + (size_t)b * K, mask + (size_t)b * K * D, info + b, &err);
        } else {
            sst = ef_prior_sample_batch(&pc, seed, t0, B, (int)d, (int)k, x, y, mask, info, &err);
        }
        if (sst != EF_OK) {
            status = ef_cli_fail(&err, NULL);
            goto done;
        }
        int deg = homogeneity(cls);
        for (int b = 0; b < B; b++) {
            dvec[b] = info[b].d;
            double fy = scale_y * (scale_x != 1 ? pow(scale_x, deg) : 1.0);
            for (size_t i = 0; i < K * D; i++) x[(size_t)b * K * D + i] *= (float)scale_x;
            for (size_t i = 0; i < K; i++) y[(size_t)b * K + i] *= (float)fy;
        }
        /* transformer */
        if (mc->layout == EF_LAYOUT_INTERLEAVED) {
            ef_batch bt = {B, (int)k, 0, x, y, mask, dvec};
            if (ef_model_forward_sym(m, &bt, (int)members, seed, t0, pred_ens, pred, &err) != EF_OK) { status = ef_cli_fail(&err, NULL); goto done; }
        } else {
            for (int n_ctx = 0; n_ctx < (int)k; n_ctx++) {
                ef_batch bt = {B, (int)k, n_ctx, x, y, mask, dvec};
                if (ef_model_forward_sym(m, &bt, (int)members, seed, t0, rowp_ens, rowp, &err) != EF_OK) {
                    status = ef_cli_fail(&err, NULL);
                    goto done;
                }
                for (int b = 0; b < B; b++) {
                    pred[(size_t)b * K + n_ctx] = rowp[(size_t)b * K + n_ctx];
                    pred_ens[(size_t)b * K + n_ctx] = rowp_ens[(size_t)b * K + n_ctx];
                }
            }
        }
        /* baselines, parallel over tasks (each task's fits are independent and seeded) */
        int fail = 0;
#pragma omp parallel for schedule(dynamic)
        for (int b = 0; b < B; b++) {
            for (int e = 0; e < nb; e++) {
                ef_baseline bl = bls[e];
                ef_baseline_set_oracle(&bl, &info[b]);
                ef_error e2 = {0};
                if (ef_baseline_predict_prefixes(&bl, x + (size_t)b * K * D, y + (size_t)b * K, (int)k, dvec[b], (int)D,
                                                 ef_hash64(seed, t0 + (size_t)b), bpred + ((size_t)b * nb + e) * K, &e2) != EF_OK) {
#pragma omp critical
                    { fail = 1; err = e2; }
                }
            }
        }
        if (fail) { status = ef_cli_fail(&err, NULL); goto done; }
        for (int b = 0; b < B; b++) {
            double sc = info[b].err_scale * scale_y * scale_y * pow(scale_x, 2.0 * homogeneity(cls));
            for (size_t i = 0; i < K; i++) {
                double yt = y[(size_t)b * K + i];
                double et = pred[(size_t)b * K + i] - yt;
                errs[((size_t)0 * NT + t0 + b) * K + i] = et * et / sc;
                if (nt == 2) {
                    double e1 = pred_ens[(size_t)b * K + i] - yt;
                    errs[((size_t)1 * NT + t0 + b) * K + i] = e1 * e1 / sc;
                }
                for (int e = 0; e < nb; e++) {
                    double eb = bpred[((size_t)b * nb + e) * K + i] - yt;
                    errs[((size_t)(e + nt) * NT + t0 + b) * K + i] = eb * eb / sc;
                }
            }
        }
        ef_progress_update(&prog, (double)(t0 + B), NULL);
    }
    ef_progress_finish(&prog, (double)NT, NULL);

    /* means and bootstrap intervals */
    {
        ef_rng br;
        ef_rng_init(&br, seed, 0xB007);
        for (long r = 0; r < nboot; r++)
            for (size_t t = 0; t < NT; t++) idx[(size_t)r * NT + t] = (int)ef_rng_below(&br, NT);
        for (int e = 0; e < ne; e++)
            for (size_t i = 0; i < K; i++) {
                const double *col = errs + (size_t)e * NT * K + i;
                double s = 0;
                for (size_t t = 0; t < NT; t++) s += col[t * K];
                mean[e * K + i] = s / NT;
                for (long r = 0; r < nboot; r++) {
                    double bs = 0;
                    for (size_t t = 0; t < NT; t++) bs += col[(size_t)idx[(size_t)r * NT + t] * K];
                    boot[r] = bs / NT;
                }
                qsort(boot, (size_t)nboot, sizeof *boot, cmp_double);
                lo5[e * K + i] = nboot ? boot[(size_t)(0.05 * (nboot - 1))] : mean[e * K + i];
                hi95[e * K + i] = nboot ? boot[(size_t)(0.95 * (nboot - 1))] : mean[e * K + i];
            }
        for (size_t i = 0; i < K; i++) xs[i] = (double)i;
        FILE *out = stdout;
        ef_atomic_file af = {0};
        if (csv_path) {
            if (ef_atomic_open(&af, csv_path, &err) != EF_OK) { status = ef_cli_fail(&err, NULL); goto stats_done; }
            out = af.fp;
        }
        fprintf(out, "in_context_examples,estimator,mean_sq_error,lo90,hi90\n");
        for (size_t i = 0; i < K; i++)
            for (int e = 0; e < ne; e++)
                fprintf(out, "%zu,%s,%.6g,%.6g,%.6g\n", i, names[e], mean[e * K + i], lo5[e * K + i], hi95[e * K + i]);
        if (csv_path && ef_atomic_commit(&af, &err) != EF_OK) { status = ef_cli_fail(&err, NULL); goto stats_done; }
        /* summary: error at the last point, best baseline */
        int best = nt;
        for (int e = nt + 1; e < ne; e++) if (mean[e * K + K - 1] < mean[best * K + K - 1]) best = e;
        fprintf(stderr, "icl-eval: at %ld in-context examples: transformer %.4g [%.4g, %.4g]", k - 1, mean[K - 1], lo5[K - 1], hi95[K - 1]);
        if (nt == 2) fprintf(stderr, ", %s %.4g [%.4g, %.4g]", names[1], mean[2 * K - 1], lo5[2 * K - 1], hi95[2 * K - 1]);
        if (ne > nt)
            fprintf(stderr, ", best baseline %s %.4g (ratio %.2f)", names[best], mean[best * K + K - 1],
                    mean[K - 1] / fmax(mean[best * K + K - 1], 1e-12));
        fputc('\n', stderr);
        if (plot_path) {
            ef_svg_series ser[MAX_EST + 2];
            for (int e = 0; e < ne; e++) ser[e] = (ef_svg_series){names[e], (int)K, xs, mean + e * K, lo5 + e * K, hi95 + e * K};
            ef_atomic_file pf;
            if (ef_atomic_open(&pf, plot_path, &err) != EF_OK) { status = ef_cli_fail(&err, NULL); goto stats_done; }
            char title[256];
            snprintf(title, sizeof title, "%s, d=%ld%s%s", ef_prior_class_name(cls), d, ood ? ", " : "", ood ? ood : "");
            ef_svg_line_plot(pf.fp, title, "in-context examples", "normalised squared error", ser, ne, 1);
            if (ef_atomic_commit(&pf, &err) != EF_OK) { status = ef_cli_fail(&err, NULL); goto stats_done; }
        }
    stats_done:;
    }
done:
    ef_free(mean); ef_free(lo5); ef_free(hi95); ef_free(xs); ef_free(boot); ef_free(idx);
    ef_free(errs); ef_free(x); ef_free(y); ef_free(pred); ef_free(pred_ens); ef_free(rowp); ef_free(rowp_ens); ef_free(bpred); ef_free(mask); ef_free(dvec); ef_free(info);
    ef_model_destroy(m);
    return status;
}
