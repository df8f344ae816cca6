/* strutil: numbers, globs and clocks (see strutil.h). */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int str_to_ull(const uint8_t *p, size_t n, unsigned long long *out)
{
    if (n == 0 || n > 20) return -1;
    if (n == 1 && p[0] == '0') {
        *out = 0;
        return 0;
    }
    if (p[0] < '1' || p[0] > '9') return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int str_to_ll(const uint8_t *p, size_t n, long long *out)
{
    if (n == 0) return -1;
    int neg = 0;
    if (p[0] == '-') {
        neg = 1;
        p++;
        n--;
        if (n == 0) return -1;
        if (p[0] == '0') return -1; /* "-0" and "-01" */
    }
    unsigned long long v;
    if (str_to_ull(p, n, &v) != 0) return -1;
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return -1;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return -1;
        *out = (long long)v;
    }
    return 0;
}

int str_to_ld(const uint8_t *p, size_t n, long double *out)
{
    char buf[STRUTIL_MAX_LD_CHARS + 1];
    if (n == 0 || n > STRUTIL_MAX_LD_CHARS) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (isspace((unsigned char)buf[0]) || isspace((unsigned char)buf[n - 1])) return -1;
    if (memchr(buf, '\0', n)) return -1;
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (*end != '\0') return -1;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return -1;
    if (isnan(v)) return -1;
    *out = v;
    return 0;
}

int str_to_d(const uint8_t *p, size_t n, double *out)
{
    char buf[STRUTIL_MAX_LD_CHARS + 1];
    if (n == 0 || n > STRUTIL_MAX_LD_CHARS) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (isspace((unsigned char)buf[0]) || isspace((unsigned char)buf[n - 1])) return -1;
    if (memchr(buf, '\0', n)) return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0') return -1;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO))
        return -1;
    if (isnan(v)) return -1;
    *out = v;
    return 0;
}

size_t str_from_ll(char *out, long long v)
{
    char tmp[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

size_t str_from_ld(char *out, size_t cap, long double v)
{
    int l;
    if (isinf(v)) {
        l = snprintf(out, cap, v > 0 ? "inf" : "-inf");
        return (size_t)l;
    }
    l = snprintf(out, cap, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > cap) {
        out[0] = '\0';
        return 0;
    }
    if (strchr(out, '.')) {
        char *p = out + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    out[l] = '\0';
    return (size_t)l;
}

size_t str_from_d(char *out, size_t cap, double v)
{
    int l;
    if (isinf(v))
        l = snprintf(out, cap, v > 0 ? "inf" : "-inf");
    else if (isnan(v))
        l = snprintf(out, cap, "nan");
    else /* the shortest form that reads back as v: 0.95, not 0.94999999999999996 */
        for (int prec = 15; prec <= 17; prec++) {
            l = snprintf(out, cap, "%.*g", prec, v);
            if (prec == 17 || (l > 0 && (size_t)l < cap && strtod(out, NULL) == v)) break;
        }
    return l < 0 ? 0 : (size_t)l;
}

static inline uint8_t fold(uint8_t c, int nocase)
{
    return nocase ? (uint8_t)tolower(c) : c;
}

/* Does byte c match the pattern element at pat[i] (anything but '*')? *next is set past
 * the element. A set left open ("[ab") runs to the end of the pattern, as in Redis, and
 * then must match the last byte of the string: *last says so. */
static int glob_one(const uint8_t *pat, size_t plen, size_t i, uint8_t c, int nocase, size_t *next,
                    int *last)
{
    *last = 0;
    c = fold(c, nocase);
    switch (pat[i]) {
    case '?': *next = i + 1; return 1;
    case '[': {
        int neg = 0, match = 0;
        i++;
        if (i < plen && pat[i] == '^') {
            neg = 1;
            i++;
        }
        for (;; i++) {
            if (i >= plen) {
                *last = 1;
                break;
            }
            if (pat[i] == '\\' && plen - i >= 2) {
                i++;
                if (fold(pat[i], nocase) == c) match = 1;
            } else if (pat[i] == ']') {
                break;
            } else if (plen - i >= 3 && pat[i + 1] == '-') {
                uint8_t lo = fold(pat[i], nocase), hi = fold(pat[i + 2], nocase);
                if (lo > hi) {
                    uint8_t t = lo;
                    lo = hi;
                    hi = t;
                }
                if (c >= lo && c <= hi) match = 1;
                i += 2;
            } else if (fold(pat[i], nocase) == c) {
                match = 1;
            }
        }
        *next = *last ? plen : i + 1;
        return neg ? !match : match;
    }
    case '\\':
        if (plen - i >= 2) i++;
        /* fall through */
    default: *next = i + 1; return fold(pat[i], nocase) == c;
    }
}

/*
 * Every element but '*' consumes exactly one byte, so only the latest '*' ever needs to
 * take more: on a mismatch the match restarts after that star, one byte further on.
 * When the string runs out first, a later start cannot help either. The time is at most
 * pattern length x string length, however many stars a pattern has (a recursive matcher
 * is exponential in them: "a*a*a*a*a*a*a*a*b" against 200 "a"s would stall the server).
 */
int str_glob(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, int nocase)
{
    unsigned long long unlimited = ~0ULL;
    return str_glob_budget(pat, plen, s, slen, nocase, &unlimited);
}

int str_glob_budget(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, int nocase,
                    unsigned long long *budget)
{
    size_t pi = 0, si = 0, star_p = 0, star_s = 0;
    int starred = 0, rc;
    /* Every step costs 1, and an element of the pattern what reading it costs (a class
     * "[...]" its length): the budget bounds the time whatever the pattern. */
    unsigned long long left = *budget;
#define SPEND(n)                                                                                   \
    do {                                                                                           \
        if ((n) > left) goto spent;                                                                \
        left -= (n);                                                                               \
    } while (0)
    while (si < slen) {
        SPEND(1);
        if (pi < plen && pat[pi] == '*') {
            size_t p0 = pi;
            while (pi < plen && pat[pi] == '*')
                pi++;
            SPEND(pi - p0);
            if (pi == plen) {
                rc = 1;
                goto out;
            }
            starred = 1;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < plen) {
            size_t next;
            int last;
            int m = glob_one(pat, plen, pi, s[si], nocase, &next, &last);
            SPEND(next - pi);
            if (m) {
                pi = next;
                si++;
                if (!last) continue;
                if (si == slen) {
                    rc = 1;
                    goto out;
                }
            }
        }
        if (!starred) {
            rc = 0;
            goto out;
        }
        pi = star_p;
        si = ++star_s;
    }
    {
        size_t p0 = pi;
        while (pi < plen && pat[pi] == '*')
            pi++;
        SPEND(pi - p0);
    }
    rc = pi == plen;
out:
    *budget = left;
    return rc;
spent:
    *budget = 0;
    return -1;
#undef SPEND
}

int str_eq_nocase(const uint8_t *p, size_t n, const char *s)
{
    size_t sl = strlen(s);
    return sl == n && strncasecmp((const char *)p, s, n) == 0;
}

int str_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int str_unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int a = str_hexval(s[2 * i]), b = str_hexval(s[2 * i + 1]);
        if (a < 0 || b < 0) return -1;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return 0;
}

long long clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t str_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xc2) return 0;
    if (c < 0xe0)
        len = 2, v = c & 0x1f;
    else if (c < 0xf0)
        len = 3, v = c & 0x0f;
    else if (c < 0xf5)
        len = 4, v = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (len == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return len;
}
