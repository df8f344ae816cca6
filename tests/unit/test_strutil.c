/* Unit tests for strutil: Redis's number rules and glob matching. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/glob_ref.h"
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

/* Doubles in replies: the shortest form that reads back as the same double. */
TEST(doubles)
{
    char out[64];
    CHECK_INT(str_from_d(out, sizeof out, 0.95), 4);
    CHECK_STR(out, "0.95");
    str_from_d(out, sizeof out, 0.1 + 0.2);
    CHECK_STR(out, "0.30000000000000004");
    str_from_d(out, sizeof out, 1.7976931348623157e308);
    CHECK_STR(out, "1.7976931348623157e+308");
    str_from_d(out, sizeof out, 11.199);
    CHECK_STR(out, "11.199");
    str_from_d(out, sizeof out, 5e-324);
    CHECK(strtod(out, NULL) == 5e-324);
    str_from_d(out, sizeof out, -1.0 / 0.0);
    CHECK_STR(out, "-inf");
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
    CHECK(g("[abc", "b")); /* a set left open ends the pattern (Redis) */
    CHECK(!g("[abc", "bx"));
    CHECK(g("*[abc", "xxb"));
    CHECK(g("a\\", "a\\")); /* a trailing backslash is itself */
}

/* Patterns with many stars that cannot match: a recursive matcher tries every way to
 * split the string among the stars (exponential); str_glob must not. The case behind
 * it: SCAN MATCH "a*a*a*a*a*a*a*a*b" against a 200-byte key stalled the server. Each
 * call here would take longer than the test's time-out if the time grew that way. */
TEST(globs_many_stars)
{
    static uint8_t s[20000];
    memset(s, 'a', sizeof s);
    uint8_t pat[2002];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        pat[n++] = 'a';
        pat[n++] = '*';
    }
    pat[n++] = 'b';
    CHECK(!str_glob(pat, n, s, 200, 0));
    CHECK(!str_glob((const uint8_t *)"a*a*a*a*a*a*a*a*b", 17, s, sizeof s, 0));
    CHECK(!str_glob(pat, n, s, sizeof s, 1));
    CHECK(str_glob(pat, n - 1, s, sizeof s, 0)); /* without the b: a match */
    s[sizeof s - 1] = 'b';
    CHECK(str_glob(pat, n, s, sizeof s, 0));
    CHECK(str_glob((const uint8_t *)"*?*?*?*?*[^a]", 13, s, sizeof s, 0));
    CHECK(!str_glob((const uint8_t *)"*?*?*?*?*[^b]", 13, s, sizeof s, 0));
}

/* str_glob against the recursive oracle on every pattern of up to 5 symbols and every
 * string of up to 4 bytes over small alphabets (sets, ranges, negation, escapes, open
 * sets, case folding). */
TEST(globs_oracle)
{
    static const char pa[] = "aA*?[]^-\\", sa[] = "ab-";
    const size_t np = sizeof pa - 1, ns = sizeof sa - 1;
    uint8_t pat[5], str[4];
    size_t checked = 0, differ = 0;
    for (size_t plen = 0; plen <= 5; plen++) {
        size_t pcount = 1;
        for (size_t i = 0; i < plen; i++)
            pcount *= np;
        for (size_t pc = 0; pc < pcount; pc++) {
            size_t x = pc;
            for (size_t i = 0; i < plen; i++, x /= np)
                pat[i] = (uint8_t)pa[x % np];
            for (size_t slen = 0; slen <= 4; slen++) {
                size_t scount = 1;
                for (size_t i = 0; i < slen; i++)
                    scount *= ns;
                for (size_t sc = 0; sc < scount; sc++) {
                    size_t y = sc;
                    for (size_t i = 0; i < slen; i++, y /= ns)
                        str[i] = (uint8_t)sa[y % ns];
                    for (int nocase = 0; nocase <= 1; nocase++) {
                        checked++;
                        if (str_glob(pat, plen, str, slen, nocase) !=
                            glob_ref(pat, plen, str, slen, nocase)) {
                            if (differ++ < 5)
                                fprintf(stderr, "  differs: pattern \"%.*s\" string \"%.*s\"%s\n",
                                        (int)plen, (const char *)pat, (int)slen, (const char *)str,
                                        nocase ? " nocase" : "");
                        }
                    }
                }
            }
        }
    }
    CHECK(checked > 10000000);
    CHECK(differ == 0);
}

/* A budget bounds the quadratic cases ("*aaa...ab*" against a run of a's: length^2/2
 * steps); with enough budget the answer is str_glob's, and the budget falls by the steps. */
TEST(globs_budget)
{
    static uint8_t s[20000], pat[10003];
    memset(s, 'a', sizeof s);
    size_t n = 0;
    pat[n++] = '*';
    memset(pat + n, 'a', 10000);
    n += 10000;
    pat[n++] = 'b';
    pat[n++] = '*';
    unsigned long long b = 1000000;
    CHECK_INT(str_glob_budget(pat, n, s, sizeof s, 0, &b), -1); /* would be 10^8 steps */
    CHECK(b == 0);
    b = ~0ULL;
    CHECK_INT(str_glob_budget(pat, n, s, sizeof s, 0, &b), 0);
    CHECK(~0ULL - b > 50000000ULL); /* it did cost that much */
    /* Long classes cost their length at every step. */
    static uint8_t cls[100003];
    cls[0] = '*';
    cls[1] = '[';
    memset(cls + 2, 'c', 100000);
    cls[100002] = ']';
    b = 1000000;
    CHECK_INT(str_glob_budget(cls, sizeof cls, s, 100, 0, &b), -1);
    const char *pats[] = {"*", "a*", "*a", "a?a*", "[ab]*", "*b*", "user:*:name", "\\*"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        b = 1000;
        const uint8_t *p = (const uint8_t *)pats[i];
        CHECK_INT(str_glob_budget(p, strlen(pats[i]), s, 50, 0, &b),
                  str_glob(p, strlen(pats[i]), s, 50, 0));
        CHECK(b > 0 && b < 1000);
    }
}

UNIT_MAIN(T(integers), T(doubles), T(globs_budget), T(long_doubles), T(globs), T(globs_many_stars),
          T(globs_oracle))
