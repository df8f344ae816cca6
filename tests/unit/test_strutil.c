/* Unit tests for strutil: Redis's number rules and glob matching. */
#include <math.h>
#include <string.h>

#include "unit.h"
#include "util/strutil.h"

static int ll(const char *s, long long *v)
{
    return str_to_ll((const uint8_t *)s, strlen(s), v);
}

TEST(integers)
{
    long long v;
    CHECK(ll("0", &v) == 0 && v == 0);
    CHECK(ll("-9223372036854775808", &v) == 0 && v == (-9223372036854775807LL - 1));
    CHECK(ll("9223372036854775807", &v) == 0 && v == 9223372036854775807LL);
    CHECK(ll("9223372036854775808", &v) != 0);
    CHECK(ll("01", &v) != 0);
    CHECK(ll("-0", &v) != 0);
    CHECK(ll("+1", &v) != 0);
    CHECK(ll(" 1", &v) != 0);
    CHECK(ll("1 ", &v) != 0);
    CHECK(ll("", &v) != 0);
    CHECK(ll("-", &v) != 0);
    CHECK(ll("1e3", &v) != 0);
    char out[24];
    CHECK_INT(str_from_ll(out, -9223372036854775807LL - 1), 20);
    CHECK_STR(out, "-9223372036854775808");
}

TEST(long_doubles)
{
    long double v;
    CHECK(str_to_ld((const uint8_t *)"10.5", 4, &v) == 0 && v == 10.5L);
    CHECK(str_to_ld((const uint8_t *)" 1", 2, &v) != 0);
    CHECK(str_to_ld((const uint8_t *)"nan", 3, &v) != 0);
    CHECK(str_to_ld((const uint8_t *)"1e4000", 6, &v) == 0); /* long double range */
    CHECK(str_to_ld((const uint8_t *)"1e5000", 6, &v) != 0); /* overflow */
    char out[STRUTIL_MAX_LD_CHARS];
    str_from_ld(out, sizeof out, 10.5L);
    CHECK_STR(out, "10.5");
    str_from_ld(out, sizeof out, 3.0L);
    CHECK_STR(out, "3");
    str_from_ld(out, sizeof out, -0.0L);
    CHECK_STR(out, "0");
    str_from_ld(out, sizeof out, 5.0e3L);
    CHECK_STR(out, "5000");
    str_from_ld(out, sizeof out, 0.1L + 0.2L);
    CHECK_STR(out, "0.3");
}

static int g(const char *p, const char *s)
{
    return str_glob((const uint8_t *)p, strlen(p), (const uint8_t *)s, strlen(s), 0);
}

TEST(globs)
{
    CHECK(g("*", ""));
    CHECK(g("patient:*", "patient:17"));
    CHECK(!g("patient:*", "patients"));
    CHECK(g("h?llo", "hello"));
    CHECK(g("h[ae]llo", "hallo"));
    CHECK(!g("h[^e]llo", "hello"));
    CHECK(g("h[a-c]llo", "hbllo"));
    CHECK(g("a\\*b", "a*b"));
    CHECK(!g("a\\*b", "axb"));
    CHECK(g("**a", "bba"));
    CHECK(str_glob((const uint8_t *)"MAX*", 4, (const uint8_t *)"maxmemory", 9, 1));
    /* A pathological pattern ends quickly instead of exploding. */
    char pat[200], s[400];
    for (int i = 0; i < 100; i++) {
        pat[2 * i] = 'a';
        pat[2 * i + 1] = '*';
    }
    pat[199] = 'b';
    memset(s, 'a', 399);
    s[399] = '\0';
    pat[199] = '\0';
    g(pat, s);
}

UNIT_MAIN(T(integers), T(long_doubles), T(globs))
