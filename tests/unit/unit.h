/*
 * unit: the tiny test harness every tests/unit/test_<module>.c uses.
 *
 * A test file defines test functions with TEST(name) and lists them in
 * UNIT_MAIN(...). CHECK* macros record a failure with file and line and keep
 * going, so one run reports every broken expectation. Exit status is non-zero
 * when anything failed, which is what ctest looks at.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Number of failed checks so far (all tests in this process). */
extern int unit_failures;
/* Name of the running test, for messages. */
extern const char *unit_current;

/* Record a failure; used by the CHECK macros. */
void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                            \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, a_, b_);      \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",  \
                      b_ ? b_ : "(null)");                                                         \
    } while (0)

/* Compare a byte string (p, n) with a C string literal. */
#define CHECK_MEM(p, n, lit)                                                                       \
    do {                                                                                           \
        size_t n_ = (size_t)(n);                                                                   \
        if (n_ != strlen(lit) || memcmp((p), (lit), n_) != 0)                                      \
            unit_fail(__FILE__, __LINE__, "%s: %.*s, expected %s", #p, (int)n_,                    \
                      (const char *)(p), lit);                                                     \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} unit_test;

/* A test master key made at run time (64 hex characters), one per slot (0-3) and process:
 * test keys are never committed (the fuzz fixture's public key is the one exception). */
const char *unit_hex_key(int slot);

/* Run the listed tests (all, or those named on the command line). */
int unit_run(const unit_test *tests, size_t n, int argc, char **argv);

#define UNIT_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const unit_test tests_[] = {__VA_ARGS__};                                           \
        return unit_run(tests_, sizeof(tests_) / sizeof(tests_[0]), argc, argv);                   \
    }
#define T(fn) {#fn, fn}

#endif
