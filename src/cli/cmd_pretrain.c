/* eraformer pretrain (placeholder until the model lands in this file). */
#include <stdio.h>
#include "cli/cli.h"
int ef_cmd_pretrain(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pretrain: not built yet\n"); return 1; }
