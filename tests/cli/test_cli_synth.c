/* eraformer synth from the command line: the four files in Numerai's layout, readable by
 * `eraformer cat`, deterministic for a seed, --generator, and usage errors. */
#include <sys/stat.h>
#include "cli_util.h"
#include "test.h"

int main(void) {
    system("rm -rf synth_a synth_b");
    CHECK(cli_run("synth --out synth_a --eras-train 12 --eras-validation 4 --rows-per-era 60 --features 20 --seed 3 -q", NULL,
                  NULL) == 0);
    const char *files[] = {"train.parquet", "validation.parquet", "live.parquet", "features.json"};
    struct stat st;
    char path[256];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "synth_a/%s", files[i]);
        CHECKF(stat(path, &st) == 0 && st.st_size > 0, "%s missing", path);
    }
    CHECK(cli_run("cat synth_a/train.parquet --limit 3", "synth_cat.csv", NULL) == 0);
    char *csv = cli_slurp("synth_cat.csv");
    CHECK(csv && !strncmp(csv, "id,era,data_type,feature_", 25) && strstr(csv, ",target"));
    CHECK(csv && strstr(csv, "\nn") && strstr(csv, ",0001,train,"));
    free(csv);
    CHECK(cli_run("cat synth_a/live.parquet --columns era,data_type --limit 1", "synth_live.csv", NULL) == 0);
    csv = cli_slurp("synth_live.csv");
    CHECK(csv && strstr(csv, "live"));
    free(csv);
    /* same seed, same bytes; another seed, other bytes */
    CHECK(cli_run("synth --out synth_b --eras-train 12 --eras-validation 4 --rows-per-era 60 --features 20 --seed 3 -q", NULL,
                  NULL) == 0);
    CHECK(cli_files_equal("synth_a/train.parquet", "synth_b/train.parquet"));
    CHECK(cli_run("synth --out synth_b --eras-train 12 --eras-validation 4 --rows-per-era 60 --features 20 --seed 4 -q", NULL,
                  NULL) == 0);
    CHECK(!cli_files_equal("synth_a/train.parquet", "synth_b/train.parquet"));
    /* --generator: a valid name writes a readable dataset, other than the default's */
    system("rm -rf synth_g");
    CHECK(cli_run("synth --out synth_g --generator weak --eras-train 12 --eras-validation 4 --rows-per-era 60 --features 20 --seed 3 -q",
                  NULL, NULL) == 0);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "synth_g/%s", files[i]);
        CHECKF(stat(path, &st) == 0 && st.st_size > 0, "%s missing", path);
    }
    CHECK(!cli_files_equal("synth_a/train.parquet", "synth_g/train.parquet"));
    CHECK(cli_run("cat synth_g/validation.parquet --columns era,data_type --limit 1", "synth_g.csv", NULL) == 0);
    csv = cli_slurp("synth_g.csv");
    CHECK(csv && strstr(csv, ",validation"));
    free(csv);
    /* an unknown name: a usage error that lists the valid ones */
    CHECK(cli_run("synth --out synth_c --generator bogus", NULL, "synth_gen.err") == 2);
    char *msg = cli_slurp("synth_gen.err");
    CHECK(msg && strstr(msg, "bogus") && strstr(msg, "factor") && strstr(msg, "nonlinear") && strstr(msg, "drift") &&
          strstr(msg, "weak"));
    free(msg);
    CHECK(cli_run("synth --help", "synth_help.txt", NULL) == 0);
    msg = cli_slurp("synth_help.txt");
    CHECK(msg && strstr(msg, "--generator"));
    free(msg);
    CHECK(cli_run("synth --out synth_c --rows-per-era 5", NULL, NULL) == 2);
    CHECK(cli_run("synth --out synth_c --features abc", NULL, NULL) == 2);
    CHECK(cli_run("synth", NULL, NULL) == 2);
    TEST_MAIN_END;
}
