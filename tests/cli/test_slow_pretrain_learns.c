/* slow: the README's pretraining run learns linear regression in context. At d = 5, k = 11
 * (rows layout, 4 layers, d_model 64, curriculum from d = 2) the held-out normalised error at
 * the last point must fall well below the zero predictor's 1.0 within 3000 steps (measured:
 * 0.27 with seed 1, 0.26 with seed 2). The interleaved layout leaves its initial plateau at a
 * seed-dependent step: at 3000 steps seeds 1/2/3 give 0.73/0.86/0.34, and the first build of
 * the project 0.46/0.72/0.43 (the two logs print the same losses and gradient norms through
 * step 76, then drift apart: > 1e-4 from step 190), so a 3000-step threshold on it would test luck; the rows layout is what the
 * README shows. About a minute on 2 cores; run with `ctest -L slow`. */
#include "cli_util.h"
#include "test.h"

int main(void) {
    CHECK(cli_run("pretrain --task linear --d 5 --points 11 --layers 4 --d-model 64 --heads 4 --steps 3000 "
                  "--layout rows --eval-every 500 --out slow_learn.st", "slow_learn.json", NULL) == 0);
    char *js = cli_slurp("slow_learn.json");
    double last = 9, zero = 0;
    const char *p = js ? strstr(js, "\"eval_err_last\":") : NULL, *z = js ? strstr(js, "\"eval_err_zero\":") : NULL;
    if (p) last = atof(p + 16);
    if (z) zero = atof(z + 16);
    CHECKF(zero > 0.8 && last < 0.5, "error at k=11: %.4f (zero predictor %.4f)", last, zero);
    free(js);
    TEST_MAIN_END;
}
