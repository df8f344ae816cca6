/* unit: runner and failure reporting for the unit tests (see unit.h). */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>

int unit_failures;
const char *unit_current = "";

void unit_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s (%s:%d): ", unit_current, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    unit_failures++;
}

int unit_run(const unit_test *tests, size_t n, int argc, char **argv)
{
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++)
                if (strcmp(argv[a], tests[i].name) == 0) wanted = 1;
            if (!wanted) continue;
        }
        int before = unit_failures;
        unit_current = tests[i].name;
        tests[i].fn();
        ran++;
        printf("%s %s\n", unit_failures == before ? "ok  " : "FAIL", tests[i].name);
    }
    printf("%zu tests, %d failed checks\n", ran, unit_failures);
    return unit_failures ? 1 : 0;
}
