/* unit: runner and failure reporting for the unit tests (see unit.h). */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>

#include <openssl/rand.h>

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

const char *unit_hex_key(int slot)
{
    static char keys[4][65];
    if (slot < 0 || slot > 3) abort();
    if (!keys[slot][0]) {
        unsigned char k[32];
        if (RAND_bytes(k, sizeof k) != 1) abort();
        for (int i = 0; i < 32; i++)
            snprintf(keys[slot] + 2 * i, 3, "%02x", k[i]);
    }
    return keys[slot];
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
