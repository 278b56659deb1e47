/* ef_version: the version of the library a program is running against. */
#include "eraformer/base.h"

const char *ef_version(void) { return EF_VERSION_STRING; }
