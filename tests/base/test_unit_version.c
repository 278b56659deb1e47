/* ef_version(): the library's version string is the header's, in major.minor.patch form. */
#include <stdio.h>
#include <string.h>

#include "eraformer/base.h"
#include "test.h"

int main(void) {
    const char *v = ef_version();
    CHECK(v != NULL);
    CHECKF(v && strcmp(v, EF_VERSION_STRING) == 0, "ef_version() = %s", v ? v : "(null)");
    unsigned major, minor, patch;
    char tail;
    CHECKF(v && sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &tail) == 3, "%s", v ? v : "");
    CHECK(ef_version() == v);  /* static storage: the same pointer every call */
    TEST_MAIN_END;
}
