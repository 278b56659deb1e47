/* eraformer synth: writes a synthetic Numerai-like dataset (train.parquet,
 * validation.parquet, live.parquet, features.json; optionally CSV copies) in Numerai's
 * layout. The generative story is in docs/synth.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"
#include "eraformer/data.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: eraformer synth --out DIR [options]\n\n"
            "Writes DIR/train.parquet, DIR/validation.parquet, DIR/live.parquet and DIR/features.json\n"
            "in Numerai's layout (id, era, data_type, int8 feature_* 0..4, targets in {0,.25,.5,.75,1}).\n"
            "Deterministic for a given seed and options. See docs/synth.md.\n\n"
            "options:\n"
            "  --out DIR              output folder (created if missing)\n"
            "  --eras-train N         train eras (default 150)\n"
            "  --eras-validation N    validation eras (default 50); live is one more era\n"
            "  --rows-per-era N       mean rows per era (default 400; eras grow 0.7x..1.3x)\n"
            "  --features N           number of features (default 160)\n"
            "  --seed S               random seed (default 42)\n"
            "  --generator NAME       the world that generates the data (default factor):\n"
            "                           factor     iid rows; drifting linear signal, an interaction, |z|\n"
            "                           nonlinear  persistent stocks; U-shape, interaction, threshold of\n"
            "                                      latents seen through many very noisy features\n"
            "                           drift      persistent stocks; linear exposures that drift slowly\n"
            "                                      and flip sign in rare regimes\n"
            "                           weak       persistent stocks; blocks of correlated weak features,\n"
            "                                      a few strong ones, persistent per-stock noise\n"
            "                         the last three make 20/60-day targets from 4/12 weekly shocks, so a\n"
            "                         stock's targets in neighbouring eras overlap (the embargo matters)\n"
            "  --codec C              snappy (default), zstd or none\n"
            "  --csv                  also write train.csv, validation.csv, live.csv\n"
            "  -q, --quiet            no progress on stderr\n"
            "  -h, --help             this help\n");
}

typedef struct prog {
    ef_progress p;
    int quiet;
} prog;

static void on_era(void *ctx, int era, int n) {
    prog *pg = ctx;
    (void)n;
    if (!pg->quiet) ef_progress_update(&pg->p, era, NULL);
}

int ef_cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},           {"eras-train", required_argument, 0, 't'},
        {"eras-validation", required_argument, 0, 'v'}, {"rows-per-era", required_argument, 0, 'r'},
        {"features", required_argument, 0, 'f'},      {"seed", required_argument, 0, 's'},
        {"codec", required_argument, 0, 'c'},         {"csv", no_argument, 0, 'C'},
        {"quiet", no_argument, 0, 'q'},               {"help", no_argument, 0, 'h'},
        {"generator", required_argument, 0, 'g'},
        {0, 0, 0, 0}};
    ef_synth_config cfg;
    ef_synth_config_default(&cfg);
    const char *out = NULL;
    int quiet = 0, c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't':
            if (ef_cli_parse_long("synth", "--eras-train", optarg, 1, 5000, &v)) return EF_EXIT_USAGE;
            cfg.eras_train = (int)v;
            break;
        case 'v':
            if (ef_cli_parse_long("synth", "--eras-validation", optarg, 0, 5000, &v)) return EF_EXIT_USAGE;
            cfg.eras_validation = (int)v;
            break;
        case 'r':
            if (ef_cli_parse_long("synth", "--rows-per-era", optarg, 10, 1000000, &v)) return EF_EXIT_USAGE;
            cfg.rows_per_era = (int)v;
            break;
        case 'f':
            if (ef_cli_parse_long("synth", "--features", optarg, 1, 20000, &v)) return EF_EXIT_USAGE;
            cfg.n_features = (int)v;
            break;
        case 's':
            if (ef_cli_parse_u64("synth", "--seed", optarg, &cfg.seed)) return EF_EXIT_USAGE;
            break;
        case 'c':
            if (!strcmp(optarg, "snappy")) cfg.codec = EF_PQW_SNAPPY;
            else if (!strcmp(optarg, "zstd")) cfg.codec = EF_PQW_ZSTD;
            else if (!strcmp(optarg, "none")) cfg.codec = EF_PQW_UNCOMPRESSED;
            else return ef_cli_usage("synth", "--codec must be snappy, zstd or none, got '%s'", optarg);
            break;
        case 'g': {
            int g = ef_synth_generator_from_name(optarg);
            if (g < 0) {
                char names[128] = "";
                for (int i = 0; ef_synth_generator_name(i); i++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                             ef_synth_generator_name(i));
                return ef_cli_usage("synth", "--generator must be one of %s, got '%s'", names, optarg);
            }
            cfg.generator = (ef_synth_generator)g;
            break;
        }
        case 'C': cfg.write_csv = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EF_EXIT_OK;
        default: return ef_cli_usage("synth", "unknown option");
        }
    }
    if (optind < argc) return ef_cli_usage("synth", "unexpected argument '%s'", argv[optind]);
    if (!out) return ef_cli_usage("synth", "--out DIR is required");
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        ef_error e = {0};
        e.code = EF_ERR_IO;
        snprintf(e.msg, sizeof e.msg, "cannot create %s: %s", out, strerror(errno));
        return ef_cli_fail(&e, "check the path and its permissions");
    }
    if (!quiet)
        fprintf(stderr, "synth: %s generator, seed %llu, %d train + %d validation + 1 live eras, ~%d rows/era, %d features -> %s\n",
                ef_synth_generator_name(cfg.generator), (unsigned long long)cfg.seed, cfg.eras_train, cfg.eras_validation, cfg.rows_per_era,
                cfg.n_features, out);
    prog pg = {.quiet = quiet};
    int total = cfg.eras_train + cfg.eras_validation + 1;
    ef_progress_start(&pg.p, "synth", total, "eras");
    ef_error err = {0};
    double t0 = ef_time_now();
    ef_status st = ef_synth_write(&cfg, out, on_era, &pg, &err);
    if (st) return ef_cli_fail(&err, NULL);
    if (!quiet) ef_progress_finish(&pg.p, total, NULL);
    const char *files[] = {"train.parquet", "validation.parquet", "live.parquet", "features.json"};
    for (int i = 0; i < 4; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        if (stat(path, &sb) == 0) printf("%s\t%lld bytes\n", path, (long long)sb.st_size);
    }
    if (!quiet) fprintf(stderr, "synth: done in %.2f s\n", ef_time_now() - t0);
    return EF_EXIT_OK;
}
