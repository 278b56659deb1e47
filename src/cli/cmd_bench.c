/* eraformer bench (placeholder). */
#include <stdio.h>
#include "cli/cli.h"
int ef_cmd_bench(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bench: not built yet\n"); return 1; }
