/*
 * phi_starts: where a match begins, for the most frequent value patterns,
 * found by walking back from its end instead of scanning a window with the
 * pattern's start-tracking database (each such scan costs a Hyperscan call,
 * several hundred nanoseconds, and these patterns make most of them).
 *
 * Each finder parses the match backwards over the shapes its pattern allows
 * and returns a start only when the whole text between start and end is a
 * match and no match can start further left; anything else (a time after a
 * date, a phone extension, an unexpected layout) returns SIZE_MAX and the
 * caller falls back to the window scan. test_phi_cscan compares every
 * finder with Hyperscan's leftmost start on random text.
 */
#include <string.h>

#include "phi_internal.h"

#define NONE SIZE_MAX

/* Digits ending at e (t[e-1], t[e-2], ...). */
static size_t run_back(const uint8_t *t, size_t e)
{
    size_t n = 0;
    while (n < e && phi_is_digit(t[e - 1 - n]))
        n++;
    return n;
}

/* Is t[p-1] (if any) a non-word byte, so that \b holds before p? */
static bool boundary_before(const uint8_t *t, size_t p)
{
    return p == 0 || !phi_is_hs_word(t[p - 1]);
}

/* 0?[1-9]|1[0-2] */
static bool month_ok(const uint8_t *p, size_t n)
{
    if (n == 1) return p[0] >= '1' && p[0] <= '9';
    if (n != 2) return false;
    return (p[0] == '0' && p[1] >= '1' && p[1] <= '9') || (p[0] == '1' && p[1] <= '2');
}

/* 0?[1-9]|[12][0-9]|3[01] */
static bool day_ok(const uint8_t *p, size_t n)
{
    if (n == 1) return p[0] >= '1' && p[0] <= '9';
    if (n != 2) return false;
    return (p[0] == '0' && p[1] >= '1') || p[0] == '1' || p[0] == '2' ||
           (p[0] == '3' && p[1] <= '1');
}

static bool sep_ok(uint8_t c, const char *set)
{
    return c && strchr(set, c) != NULL;
}

/* Parse "G1 S G2 S G3" backwards from e, the groups checked by the callbacks
 * (NULL: any), the separators from sets; returns the start of G1 or NONE. */
typedef bool (*group_fn)(const uint8_t *p, size_t n);

static bool year4(const uint8_t *p, size_t n)
{
    return n == 4 && ((p[0] == '1' && p[1] == '9') || (p[0] == '2' && p[1] == '0'));
}

static bool year4_ymd(const uint8_t *p, size_t n)
{
    return n == 4 &&
           ((p[0] == '1' && (p[1] == '8' || p[1] == '9')) || (p[0] == '2' && p[1] == '0'));
}

static bool year_mdy(const uint8_t *p, size_t n)
{
    return n == 2 || year4(p, n);
}

static size_t groups_back(const uint8_t *t, size_t e, int ng, const group_fn *g, const char *sep)
{
    size_t p = e;
    for (int i = ng - 1; i >= 0; i--) {
        size_t n = run_back(t, p);
        if (n == 0 || !g[i](t + p - n, n)) return NONE;
        p -= n;
        if (i > 0) {
            if (p == 0 || !sep_ok(t[p - 1], sep)) return NONE;
            p--;
        }
    }
    return boundary_before(t, p) ? p : NONE;
}

static bool is_month_word(const uint8_t *p, size_t n)
{
    static const char *const m[] = {
        "jan", "january", "feb", "february", "mar", "march",    "apr", "april", "may",
        "jun", "june",    "jul", "july",     "aug", "august",   "sep", "sept",  "september",
        "oct", "october", "nov", "november", "dec", "december", NULL};
    char w[10];
    if (n == 0 || n >= sizeof w) return false;
    for (size_t i = 0; i < n; i++)
        w[i] = (char)phi_lower(p[i]);
    w[n] = 0;
    return phi_in_list(w, m);
}

/* m/d/y followed by a time, \s{1,3}[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?(\s?[AaPp][Mm])?,
 * ending at e: peel the time from the right (each piece has one parse: the hour
 * follows white space, the minutes and seconds a colon), then the date. */
static size_t mdy_time(const uint8_t *t, size_t e)
{
    static const group_fn mdy[] = {month_ok, day_ok, year_mdy};
    size_t p = e;
    if (p >= 2 && phi_lower(t[p - 1]) == 'm' &&
        (phi_lower(t[p - 2]) == 'a' || phi_lower(t[p - 2]) == 'p')) {
        p -= 2;
        if (p > 0 && phi_is_hs_space(t[p - 1])) p--;
    }
    if (run_back(t, p) != 2 || p < 3 || t[p - 3] != ':') return NONE;
    p -= 3;
    size_t n = run_back(t, p);
    if (n == 2 && p >= 3 && t[p - 3] == ':') { /* seconds: these were the minutes */
        p -= 3;
        n = run_back(t, p);
    }
    if (n < 1 || n > 2) return NONE;
    p -= n;
    size_t sp = 0;
    while (p > 0 && phi_is_hs_space(t[p - 1]) && sp < 4)
        p--, sp++;
    if (sp < 1 || sp > 3) return NONE;
    return groups_back(t, p, 3, mdy, "/.-");
}

/* \bMON\.?\s{0,2}DAY(st|nd|rd|th)?\b(,?\s{0,2}((19|20)dd|'dd)\b)? */
static size_t month_day(const uint8_t *t, size_t e)
{
    size_t p = e, n = run_back(t, p);
    if (n == 4 || (n == 2 && p >= 3 && t[p - 3] == '\'')) { /* a year */
        if (n == 4 && !year4(t + p - 4, 4)) return NONE;
        p -= n == 4 ? 4 : 3;
        int sp = 0;
        while (p > 0 && phi_is_hs_space(t[p - 1]) && sp < 3)
            p--, sp++;
        if (sp > 2) return NONE;
        if (p > 0 && t[p - 1] == ',') p--;
        if (p == 0 || !phi_is_hs_word(t[p - 1])) return NONE; /* \b after the day */
    }
    /* the day, maybe with an ordinal suffix */
    if (p >= 2 && phi_is_alpha(t[p - 1])) {
        uint8_t a = phi_lower(t[p - 2]), b = phi_lower(t[p - 1]);
        if (!((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
              (a == 't' && b == 'h')))
            return NONE;
        p -= 2;
    }
    n = run_back(t, p);
    if (!day_ok(t + p - n, n)) return NONE;
    p -= n;
    int sp = 0;
    while (p > 0 && phi_is_hs_space(t[p - 1]) && sp < 3)
        p--, sp++;
    if (sp > 2) return NONE;
    if (p > 0 && t[p - 1] == '.') p--;
    size_t w = p;
    while (w > 0 && phi_is_alpha(t[w - 1]))
        w--;
    if (!is_month_word(t + w, p - w) || !boundary_before(t, w)) return NONE;
    return w;
}

/* (\+?1[\s.-]?)?(\([2-9]dd\)\s?|\b[2-9]dd[\s.-]?)[2-9]dd[\s.-]?dddd, no extension */
static size_t nanp(const uint8_t *t, size_t e)
{
    size_t p = e;
    if (run_back(t, p) != 4) return NONE;
    p -= 4;
    if (p > 0 && (phi_is_hs_space(t[p - 1]) || t[p - 1] == '.' || t[p - 1] == '-')) p--;
    if (run_back(t, p) != 3 || t[p - 3] < '2') return NONE;
    p -= 3;
    size_t s0;
    size_t q = p;
    if (q >= 1 && phi_is_hs_space(t[q - 1]) && q >= 2 && t[q - 2] == ')') q--;
    if (q >= 1 && t[q - 1] == ')') {
        /* "(617)" */
        if (q < 5 || t[q - 5] != '(' || run_back(t, q - 1) != 3 || t[q - 4] < '2') return NONE;
        s0 = q - 5;
    } else {
        size_t r = p;
        if (r > 0 && (phi_is_hs_space(t[r - 1]) || t[r - 1] == '.' || t[r - 1] == '-')) r--;
        if (run_back(t, r) != 3 || t[r - 3] < '2') return NONE;
        s0 = r - 3;
        if (!boundary_before(t, s0)) return NONE;
    }
    /* the optional country code: the leftmost start takes it */
    size_t s1 = s0;
    if (s0 >= 2 && (phi_is_hs_space(t[s0 - 1]) || t[s0 - 1] == '.' || t[s0 - 1] == '-') &&
        t[s0 - 2] == '1')
        s1 = s0 - 2;
    else if (s0 >= 1 && t[s0 - 1] == '1')
        s1 = s0 - 1;
    if (s1 < s0 && s1 >= 1 && t[s1 - 1] == '+') s1--;
    return s1;
}

/* The extension of a NANP number, (\s{0,3}(x|ext\.?|extension)\s{0,3}[0-9]{1,5}),
 * ending at e: the start of the number before it. The digits and each run of
 * spaces are whole runs (a digit or a space left over could match nothing
 * else), and the last byte of the word says which word it is. No layout
 * without an extension can end at the same place (its last four digits would
 * need three more right before them). */
static bool starts_ci(const uint8_t *t, size_t len, size_t p, const char *lit, size_t n);

static size_t nanp_ext(const uint8_t *t, size_t e)
{
    size_t n = run_back(t, e);
    if (n < 1 || n > 5) return NONE;
    size_t p = e - n, sp = 0;
    while (p > 0 && phi_is_hs_space(t[p - 1]) && sp < 4)
        p--, sp++;
    if (sp > 3 || p == 0) return NONE;
    static const char *const words[] = {"x", "ext", "ext.", "extension"};
    size_t w;
    switch (phi_lower(t[p - 1])) {
    case 'x': w = 0; break;
    case 't': w = 1; break;
    case '.': w = 2; break;
    case 'n': w = 3; break;
    default: return NONE;
    }
    size_t wl = strlen(words[w]);
    if (p < wl || !starts_ci(t, e, p - wl, words[w], wl)) return NONE;
    p -= wl;
    sp = 0;
    while (p > 0 && phi_is_hs_space(t[p - 1]) && sp < 4)
        p--, sp++;
    if (sp > 3) return NONE;
    return nanp(t, p);
}

/* \b[0-9]{2,4}(\s[0-9]{2,4}){1,3}\b */
static size_t digit_groups(const uint8_t *t, size_t e)
{
    size_t n = run_back(t, e);
    if (n < 2 || n > 4) return NONE;
    size_t start = e - n;
    int groups = 1;
    while (groups < 4 && start >= 2 && phi_is_hs_space(t[start - 1]) &&
           phi_is_digit(t[start - 2])) {
        size_t m = run_back(t, start - 1);
        size_t s = start - 1 - m;
        if (m < 2 || m > 4 || !boundary_before(t, s)) break;
        start = s;
        groups++;
    }
    return groups >= 2 ? start : NONE;
}

/* A byte of the URL body class [^\s<>"'()\[\]{}]. */
static bool url_char(uint8_t c)
{
    return !phi_is_hs_space(c) && !strchr("<>\"'()[]{}", c) && c != 0;
}

/* Does t[p..] start with lit (lower case), ignoring ASCII case? */
static bool starts_ci(const uint8_t *t, size_t len, size_t p, const char *lit, size_t n)
{
    if (p + n > len) return false;
    for (size_t i = 0; i < n; i++)
        if (phi_lower(t[p + i]) != (uint8_t)lit[i]) return false;
    return true;
}

/* \b(https?://|ftp://|www\.)[^\s<>"'()\[\]{}]+ : the first prefix, at a word
 * boundary, in the run of URL bytes that ends at e, with a byte after it. */
static size_t url(const uint8_t *t, size_t len, size_t e)
{
    size_t r = e;
    while (r > 0 && url_char(t[r - 1]))
        r--;
    static const struct {
        const char *s;
        size_t n;
    } pre[] = {{"http://", 7}, {"https://", 8}, {"ftp://", 6}, {"www.", 4}};
    for (size_t p = r; p < e; p++) {
        uint8_t c = phi_lower(t[p]);
        if ((c != 'h' && c != 'f' && c != 'w') || !boundary_before(t, p)) continue;
        for (size_t k = 0; k < 4; k++)
            if (p + pre[k].n < e && starts_ci(t, len, p, pre[k].s, pre[k].n)) return p;
    }
    return NONE;
}

/* [A-Za-z0-9-]: a byte of a domain label. */
static bool label_char(uint8_t c)
{
    return phi_is_alnum(c) || c == '-';
}

/* The leftmost start of \b[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.(com|...|fr)\b ending at
 * e: the top-level domain ending at e (no name of the list is a suffix of
 * another, so there is one), then the leftmost start at a word boundary in the
 * run of labels and single dots before it. */
static size_t domain_end(const uint8_t *t, size_t len, size_t e)
{
    static const char *const tld[] = {"com", "org",    "net",  "edu",   "gov", "io", "info", "biz",
                                      "us",  "health", "care", "co.uk", "ca",  "de", "fr",   NULL};
    if (e < len && phi_is_hs_word(t[e])) return NONE; /* \b after the domain */
    size_t dot = NONE;
    for (size_t k = 0; tld[k]; k++) {
        size_t n = strlen(tld[k]);
        if (e >= n + 2 && t[e - n - 1] == '.' && memcmp(t + e - n, tld[k], n) == 0) {
            dot = e - n - 1;
            break;
        }
    }
    if (dot == NONE || !label_char(t[dot - 1])) return NONE;
    size_t r = dot;
    while (r > 0 && (label_char(t[r - 1]) || (t[r - 1] == '.' && t[r] != '.')))
        r--;
    for (size_t p = r; p < dot; p++) {
        if (t[p] == '.') continue;
        bool w = phi_is_hs_word(t[p]);
        if (p == 0 ? w : phi_is_hs_word(t[p - 1]) != w) return p;
    }
    return NONE;
}

/* The domain expression with its optional path, (/[^\s<>"']*)?, ending at e.
 * Every byte of a match is a path byte, so a match lies in the run of path bytes
 * that ends at e. A domain that ends at a '/' of that run starts before it, and
 * so before any domain that ends further right: the first '/' with a domain
 * before it gives the leftmost start; without one, the domain must end at e.
 * Runs of 150 bytes or more, and matches longer than 100, are left to the
 * window scan (its window is 160 bytes). */
static size_t domain(const uint8_t *t, size_t len, size_t e)
{
    size_t r0 = e;
    while (r0 > 0 && e - r0 < 150) {
        uint8_t c = t[r0 - 1];
        if (phi_is_hs_space(c) || c == '<' || c == '>' || c == '"' || c == '\'') break;
        r0--;
    }
    if (e - r0 >= 150) return NONE;
    size_t best = NONE;
    for (size_t q = r0; q < e && best == NONE; q++)
        if (t[q] == '/') best = domain_end(t, len, q);
    if (best == NONE) best = domain_end(t, len, e);
    if (best == NONE || e - best > 100) return NONE;
    return best;
}

/* \([0-9]{2,4}\)\s?[0-9]{3,4}[\s-][0-9]{3,4}\b: each group is a whole run of
 * digits (a longer run leaves a digit where a separator must be), so there is
 * one parse, and it starts at the '('. */
static size_t paren_phone(const uint8_t *t, size_t e)
{
    size_t n = run_back(t, e);
    if (n < 3 || n > 4) return NONE;
    size_t p = e - n;
    if (p == 0 || !(phi_is_hs_space(t[p - 1]) || t[p - 1] == '-')) return NONE;
    p--;
    n = run_back(t, p);
    if (n < 3 || n > 4) return NONE;
    p -= n;
    if (p >= 2 && phi_is_hs_space(t[p - 1]) && t[p - 2] == ')') p--;
    if (p == 0 || t[p - 1] != ')') return NONE;
    p--;
    n = run_back(t, p);
    if (n < 2 || n > 4) return NONE;
    p -= n;
    if (p == 0 || t[p - 1] != '(') return NONE;
    return p - 1;
}

/* [\s.-] */
static bool phone_sep(uint8_t c)
{
    return phi_is_hs_space(c) || c == '.' || c == '-';
}

/* Does t[p, e) match ([\s.-]?[0-9]{2,4}){reps,4}, with reps more groups
 * still required (backtracking over the optional separators and the group
 * widths)? */
static bool intl_groups(const uint8_t *t, size_t p, size_t e, int done)
{
    if (p == e) return done >= 1;
    if (done == 4) return false;
    for (int sep = 0; sep <= 1; sep++) {
        size_t q = p;
        if (sep) {
            if (!phone_sep(t[q])) continue;
            q++;
        }
        for (size_t n = 2; n <= 4 && q + n <= e; n++) {
            if (!phi_is_digit(t[q + n - 1])) break;
            if (n >= 2 && !phi_is_digit(t[q])) break;
            if (intl_groups(t, q + n, e, done + 1)) return true;
        }
    }
    return false;
}

/* Does t[p, e) match the rest of the international number after "+[1-9]":
 * [0-9]{0,2}[\s.-]?(\(0\)\s?)?(\([0-9]{1,4}\)\s?)?[0-9]{1,4}(groups){1,4}? */
static bool intl_rest(const uint8_t *t, size_t p, size_t e)
{
    for (size_t cc = 0; cc <= 2; cc++) { /* more country-code digits */
        if (cc && (p + cc > e || !phi_is_digit(t[p + cc - 1]))) break;
        for (int sep = 0; sep <= 1; sep++) {
            size_t q = p + cc;
            if (sep) {
                if (q >= e || !phone_sep(t[q])) continue;
                q++;
            }
            for (int zero = 0; zero <= 1; zero++) { /* (0) */
                size_t r = q;
                if (zero) {
                    if (r + 3 > e || t[r] != '(' || t[r + 1] != '0' || t[r + 2] != ')') continue;
                    r += 3;
                }
                for (int zsp = 0; zsp <= zero; zsp++) {
                    size_t u = r;
                    if (zsp) {
                        if (u >= e || !phi_is_hs_space(t[u])) continue;
                        u++;
                    }
                    for (size_t an = 0; an <= 4; an++) { /* (area), an digits; 0: none */
                        size_t v = u;
                        if (an) {
                            if (v + an + 2 > e || t[v] != '(') continue;
                            size_t k = 0;
                            while (k < an && phi_is_digit(t[v + 1 + k]))
                                k++;
                            if (k < an || t[v + 1 + an] != ')') continue;
                            v += an + 2;
                        }
                        for (int asp = 0; asp <= (an ? 1 : 0); asp++) {
                            size_t x = v;
                            if (asp) {
                                if (x >= e || !phi_is_hs_space(t[x])) continue;
                                x++;
                            }
                            for (size_t dn = 1; dn <= 4 && x + dn <= e; dn++) {
                                if (!phi_is_digit(t[x + dn - 1])) break;
                                if (intl_groups(t, x + dn, e, 0)) return true;
                            }
                        }
                    }
                }
            }
        }
    }
    return false;
}

/* \+[1-9][0-9]{0,2}[\s.-]?(\(0\)\s?)?(\([0-9]{1,4}\)\s?)?[0-9]{1,4}([\s.-]?[0-9]{2,4}){1,4}\b:
 * every match starts at a '+'; the leftmost '+' within the longest match (40
 * bytes) from which the text matches up to e. */
static size_t intl_phone(const uint8_t *t, size_t e)
{
    for (size_t p = e > 40 ? e - 40 : 0; p + 1 < e; p++)
        if (t[p] == '+' && t[p + 1] >= '1' && t[p + 1] <= '9' && intl_rest(t, p + 2, e)) return p;
    return NONE;
}

/* Does t[p, e) match [\s,-]{1,3}(19|20)?[0-9]{2} (the year after a day and month)? */
static bool dm_year(const uint8_t *t, size_t p, size_t e)
{
    for (size_t k = 1; k <= 3 && p + k < e; k++) {
        uint8_t c = t[p + k - 1];
        if (!phi_is_hs_space(c) && c != ',' && c != '-') break;
        size_t y = p + k, n = e - y;
        if ((n == 2 ||
             (n == 4 && (t[y] == '1' || t[y] == '2') && t[y + 1] == (t[y] == '1' ? '9' : '0'))) &&
            run_back(t, e) >= n)
            return true;
    }
    return false;
}

/* Does t[p, e) match MON\b\.?(year)? (caseless month names)? */
static bool dm_month(const uint8_t *t, size_t p, size_t e)
{
    static const char *const m[] = {
        "jan", "january", "feb", "february", "mar", "march",    "apr", "april", "may",
        "jun", "june",    "jul", "july",     "aug", "august",   "sep", "sept",  "september",
        "oct", "october", "nov", "november", "dec", "december", NULL};
    for (size_t k = 0; m[k]; k++) {
        size_t n = strlen(m[k]);
        if (p + n > e || !starts_ci(t, e, p, m[k], n)) continue;
        size_t q = p + n;
        if (q < e && phi_is_hs_word(t[q])) continue; /* \b after the month */
        if (q == e || dm_year(t, q, e)) return true;
        if (t[q] == '.' && (q + 1 == e || dm_year(t, q + 1, e))) return true;
    }
    return false;
}

/* Does t[p, e) match DAY(st|nd|rd|th)?(\s{1,3}of)?[\s-]{1,2}MON... ? */
static bool dm_at(const uint8_t *t, size_t p, size_t e)
{
    for (size_t d = 1; d <= 2 && p + d < e; d++) {
        if ((d == 2 && !phi_is_digit(t[p + 1])) || !day_ok(t + p, d)) continue;
        size_t q0 = p + d;
        static const char *const ord[] = {"st", "nd", "rd", "th"};
        for (int o = -1; o < 4; o++) {
            size_t q = q0;
            if (o >= 0) {
                if (!starts_ci(t, e, q, ord[o], 2)) continue;
                q += 2;
            }
            for (size_t of = 0; of <= 3; of++) { /* 0: no "of"; else the spaces before it */
                size_t r = q;
                if (of) {
                    size_t k = 0;
                    while (k < of && r + k < e && phi_is_hs_space(t[r + k]))
                        k++;
                    if (k < of || !starts_ci(t, e, r + of, "of", 2)) continue;
                    r += of + 2;
                }
                for (size_t sp = 1; sp <= 2 && r + sp < e; sp++) {
                    uint8_t c = t[r + sp - 1];
                    if (!phi_is_hs_space(c) && c != '-') break;
                    if (dm_month(t, r + sp, e)) return true;
                }
            }
        }
    }
    return false;
}

/* \bDAY ORD?(\s{1,3}of)?[\s-]{1,2}MON\b\.?([\s,-]{1,3}((19|20)?[0-9]{2})\b)?: the
 * leftmost day at a word boundary from which a small backtracking matcher
 * reaches e. A match can be 28 bytes long; one that long that starts right
 * after a '_' (where the fallback's window would see a boundary that the
 * text does not have) is left to the window scan. */
static size_t day_month(const uint8_t *t, size_t e)
{
    enum { W = 28 };
    if (e > W && phi_is_digit(t[e - W]) && phi_is_hs_word(t[e - W - 1])) return NONE;
    for (size_t p = e > W ? e - W : 0; p < e; p++)
        if (phi_is_digit(t[p]) && boundary_before(t, p) && dm_at(t, p, e)) return p;
    return NONE;
}

/* Does t[p, e) match MON\.?,?\s{1,2}(of\s)?((19|20)[0-9]{2}|'[0-9]{2})? */
static bool my_at(const uint8_t *t, size_t p, size_t e)
{
    static const char *const m[] = {
        "jan", "january", "feb", "february", "mar", "march",    "apr", "april", "may",
        "jun", "june",    "jul", "july",     "aug", "august",   "sep", "sept",  "september",
        "oct", "october", "nov", "november", "dec", "december", NULL};
    size_t n = run_back(t, e), y; /* the year: a whole run of digits */
    if (n == 4 && year4(t + e - 4, 4))
        y = e - 4;
    else if (n == 2 && e >= 3 && t[e - 3] == '\'')
        y = e - 3;
    else
        return false;
    for (size_t k = 0; m[k]; k++) {
        size_t l = strlen(m[k]);
        if (p + l > y || !starts_ci(t, y, p, m[k], l)) continue;
        size_t q0 = p + l;
        for (int dot = 0; dot <= 1; dot++) {
            size_t q1 = q0;
            if (dot) {
                if (t[q1] != '.') continue;
                q1++;
            }
            for (int comma = 0; comma <= 1; comma++) {
                size_t q2 = q1;
                if (comma) {
                    if (q2 >= y || t[q2] != ',') continue;
                    q2++;
                }
                for (size_t sp = 1; sp <= 2 && q2 + sp <= y; sp++) {
                    if (!phi_is_hs_space(t[q2 + sp - 1])) break;
                    size_t q3 = q2 + sp;
                    if (q3 == y) return true;
                    if (q3 + 3 == y && starts_ci(t, y, q3, "of", 2) && phi_is_hs_space(t[q3 + 2]))
                        return true;
                }
            }
        }
    }
    return false;
}

/* \bMON\.?,?\s{1,2}(of\s)?((19|20)[0-9]{2}|'[0-9]{2})\b: the leftmost month word
 * at a word boundary from which the rest matches up to e (20 bytes at most). */
static size_t month_year(const uint8_t *t, size_t e)
{
    enum { W = 20 };
    if (e > W && phi_is_alpha(t[e - W]) && phi_is_hs_word(t[e - W - 1])) return NONE;
    for (size_t p = e > W ? e - W : 0; p < e; p++)
        if (phi_is_alpha(t[p]) && boundary_before(t, p) && my_at(t, p, e)) return p;
    return NONE;
}

/* \b(9[0-9]|1[01][0-9])(\s{0,3}-\s{0,3}|\s{1,3})?(y/?o\b|y\.o\.|yo\b|yrs?\b|years?\b|
 * year-old|yr-old|-year): the leftmost number at a word boundary from which a
 * separator and a suffix reach e exactly (18 bytes at most). */
static size_t age(const uint8_t *t, size_t e)
{
    enum { W = 18 };
    static const char *const suf[] = {"y/o",  "yo",    "y.o.",     "yr",     "yrs",
                                      "year", "years", "year-old", "yr-old", "-year"};
    if (e > W && phi_is_digit(t[e - W]) && phi_is_hs_word(t[e - W - 1])) return NONE;
    for (size_t p = e > W ? e - W : 0; p + 2 < e; p++) {
        if (!phi_is_digit(t[p]) || !boundary_before(t, p)) continue;
        size_t d = 0;
        if (t[p] == '9' && phi_is_digit(t[p + 1]))
            d = 2;
        else if (t[p] == '1' && (t[p + 1] == '0' || t[p + 1] == '1') && phi_is_digit(t[p + 2]))
            d = 3;
        if (!d) continue;
        size_t q = p + d;
        /* the separator: none, \s{1,3}, or \s{0,3}-\s{0,3}; then a suffix ending at e */
        for (size_t a = 0; a <= 3 && q + a < e; a++) {
            if (a && !phi_is_hs_space(t[q + a - 1])) break;
            for (int dash = 0; dash <= 1; dash++) {
                size_t r = q + a;
                if (dash) {
                    if (t[r] != '-') continue;
                    r++;
                    for (size_t b = 0; b <= 3 && r + b <= e; b++) {
                        if (b && !phi_is_hs_space(t[r + b - 1])) break;
                        for (size_t k = 0; k < sizeof suf / sizeof suf[0]; k++) {
                            size_t l = strlen(suf[k]);
                            if (r + b + l == e && starts_ci(t, e, r + b, suf[k], l)) return p;
                        }
                    }
                } else {
                    for (size_t k = 0; k < sizeof suf / sizeof suf[0]; k++) {
                        size_t l = strlen(suf[k]);
                        if (r + l == e && starts_ci(t, e, r, suf[k], l)) return p;
                    }
                }
            }
        }
    }
    return NONE;
}

/* Is t[a, b) exactly one of the words of list (compared ignoring case, or not)? */
static bool word_in(const uint8_t *t, size_t a, size_t b, const char *const *list, bool ci)
{
    for (size_t k = 0; list[k]; k++) {
        size_t n = strlen(list[k]);
        if (n != b - a) continue;
        if (ci ? starts_ci(t, b, a, list[k], n) : memcmp(t + a, list[k], n) == 0) return true;
    }
    return false;
}

/* Start of the run of letters ending at e. */
static size_t letters_back(const uint8_t *t, size_t e)
{
    while (e > 0 && phi_is_alpha(t[e - 1]))
        e--;
    return e;
}

/* \b(in|since|...|after)[\s-]{1,3}MONFULL\b (case as written): the month and the
 * cue are whole runs of letters (a letter before either would leave no
 * separator or no boundary), and so is the run of separators between. */
static size_t in_month(const uint8_t *t, size_t e)
{
    static const char *const months[] = {"January", "February", "March",    "April",
                                         "June",    "July",     "August",   "September",
                                         "October", "November", "December", NULL};
    static const char *const cues[] = {"in",   "since",  "during", "until", "till", "by",
                                       "of",   "early",  "late",   "mid",   "last", "next",
                                       "this", "before", "after",  NULL};
    size_t m = letters_back(t, e);
    if (!word_in(t, m, e, months, false)) return NONE;
    size_t p = m, k = 0;
    while (p > 0 && (phi_is_hs_space(t[p - 1]) || t[p - 1] == '-') && k < 4)
        p--, k++;
    if (k < 1 || k > 3) return NONE;
    size_t c = letters_back(t, p);
    if (!word_in(t, c, p, cues, false) || !boundary_before(t, c)) return NONE;
    return c;
}

/* \b(on|the|of|by|since|until)\s{1,3}(the\s{1,3})?([1-9]|[12][0-9]|3[01])ORD\b
 * (any case): the day and each run of spaces are whole runs; "on the 3rd"
 * starts at "on", "the 3rd" alone at "the". */
static size_t on_the(const uint8_t *t, size_t e)
{
    static const char *const cues[] = {"on", "the", "of", "by", "since", "until", NULL};
    static const char *const ords[] = {"st", "nd", "rd", "th", NULL};
    if (e < 3 || !word_in(t, e - 2, e, ords, true)) return NONE;
    size_t p = e - 2, n = run_back(t, p);
    if (n < 1 || n > 2) return NONE;
    if (n == 1 ? t[p - 1] == '0'
               : !(t[p - 2] == '1' || t[p - 2] == '2' || (t[p - 2] == '3' && t[p - 1] <= '1')))
        return NONE;
    p -= n;
    size_t k = 0;
    while (p > 0 && phi_is_hs_space(t[p - 1]) && k < 4)
        p--, k++;
    if (k < 1 || k > 3) return NONE;
    size_t w1 = letters_back(t, p);
    if (!word_in(t, w1, p, cues, true) || !boundary_before(t, w1)) return NONE;
    if (p - w1 == 3 && starts_ci(t, p, w1, "the", 3)) { /* a cue before "the"? */
        size_t q = w1;
        k = 0;
        while (q > 0 && phi_is_hs_space(t[q - 1]) && k < 4)
            q--, k++;
        size_t w2 = letters_back(t, q);
        if (k >= 1 && k <= 3 && word_in(t, w2, q, cues, true) && boundary_before(t, w2)) return w2;
    }
    return w1;
}

/* \b(age[ds]?|aged|age:)\s{0,3}:?\s{0,3}(9[0-9]|1[01][0-9])\b (any case): the
 * number is a whole run of digits, the word a whole run of letters. */
static size_t age_label(const uint8_t *t, size_t e)
{
    static const char *const words[] = {"age", "ages", "aged", NULL};
    size_t n = run_back(t, e);
    if (n == 2 ? t[e - 2] != '9'
               : n != 3 || t[e - 3] != '1' || (t[e - 2] != '0' && t[e - 2] != '1'))
        return NONE;
    size_t g = e - n; /* the gap [w, g) between the word and the number */
    size_t w = g;
    while (w > 0 && (phi_is_hs_space(t[w - 1]) || t[w - 1] == ':') && g - w < 8)
        w--;
    size_t a = letters_back(t, w);
    if (!word_in(t, a, w, words, true) || !boundary_before(t, a)) return NONE;
    /* the gap: (':' after "age")? \s{0,3} ':'? \s{0,3} */
    for (int lab = 0; lab <= 1; lab++) {
        size_t i = w;
        if (lab) {
            if (w - a != 3 || i >= g || t[i] != ':') continue;
            i++;
        }
        size_t k = 0;
        while (i < g && phi_is_hs_space(t[i]) && k < 3)
            i++, k++;
        if (i < g && t[i] == ':') i++;
        k = 0;
        while (i < g && phi_is_hs_space(t[i]) && k < 3)
            i++, k++;
        if (i == g) return a;
    }
    return NONE;
}

/*
 * IPv6, (?:\b[0-9A-Fa-f]{1,4}|::)(?::{1,2}[0-9A-Fa-f]{0,4}){2,7}(?:\b|::), exactly as
 * find_start's window scan sees it, so the result is the same: the window runs from w
 * (PHI_IPV6_MAX bytes before end, moved back over at most 64 letters and digits) to end;
 * \b holds at w (the start of the data) and at end after a word byte (its end). Every
 * match is found by walking the colon and hex runs; which (position, repetitions) can
 * still reach end exactly is remembered across the starts tried, so a long run of
 * "ab:ab:ab:..." (every position ends a candidate) costs a few hundred steps a candidate
 * instead of a window scan. A candidate that the window would not match (it ends after
 * a colon followed by a word byte: \b holds in the text but not at the window's end)
 * is PHI_START_DEAD, as the window scan would find.
 */
#define IPV6_SPAN (PHI_IPV6_MAX + 64)

typedef struct {
    const uint8_t *t;
    size_t w, end;
    int endb;                       /* \b at end */
    uint8_t memo[IPV6_SPAN + 1][8]; /* (pos - w, reps): 0 unknown, 1 reaches end, 2 not */
} ipv6_walk;

static int ipv6_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Can (?::{1,2}[0-9A-Fa-f]{0,4}){2-k..7-k}(?:\b|::) match t[pos, end) exactly? */
static int ipv6_rest(ipv6_walk *v, size_t pos, int k)
{
    uint8_t *m = &v->memo[pos - v->w][k];
    if (*m) return *m == 1;
    const uint8_t *t = v->t;
    int ok = 0;
    if (k >= 2 &&
        ((pos == v->end && v->endb) || (pos + 2 == v->end && t[pos] == ':' && t[pos + 1] == ':')))
        ok = 1;
    for (size_t c = 1; !ok && k < 7 && c <= 2 && pos + c <= v->end && t[pos + c - 1] == ':'; c++)
        for (size_t h = 0; !ok && h <= 4 && pos + c + h <= v->end; h++) {
            if (h && !ipv6_hex(t[pos + c + h - 1])) break;
            ok = ipv6_rest(v, pos + c + h, k + 1);
        }
    *m = ok ? 1 : 2;
    return ok;
}

static size_t ipv6(const uint8_t *t, size_t end)
{
    ipv6_walk v;
    v.t = t;
    v.end = end;
    v.w = end > PHI_IPV6_MAX ? end - PHI_IPV6_MAX : 0;
    for (size_t k = 0; v.w > 0 && k < 64 && phi_is_alnum(t[v.w - 1]); k++)
        v.w--;
    v.endb = phi_is_hs_word(t[end - 1]);
    /* Every match ends with \b (after a word byte, here) or "::". */
    if (!v.endb && !(end >= 2 && t[end - 2] == ':' && t[end - 1] == ':')) return PHI_START_DEAD;
    memset(v.memo, 0, sizeof v.memo);
    for (size_t s = v.w; s < end; s++) {
        if (s + 2 <= end && t[s] == ':' && t[s + 1] == ':' && ipv6_rest(&v, s + 2, 0)) return s;
        if (!ipv6_hex(t[s]) || (s > v.w && phi_is_hs_word(t[s - 1]))) continue;
        for (size_t n = 1; n <= 4 && s + n <= end && ipv6_hex(t[s + n - 1]); n++)
            if (ipv6_rest(&v, s + n, 0)) return s;
    }
    return PHI_START_DEAD; /* no match ends there, in the window scan's view either */
}

size_t phi_start_fast(const uint8_t *t, size_t len, uint16_t pat, size_t end)
{
    if (end == 0 || end > len ||
        (end < len && phi_is_hs_word(t[end]) && phi_is_hs_word(t[end - 1])))
        return NONE;
    static const group_fn mdy[] = {month_ok, day_ok, year_mdy};
    static const group_fn dmy[] = {day_ok, month_ok, year4};
    static const group_fn ymd[] = {year4_ymd, month_ok, day_ok};
    static const group_fn md[] = {month_ok, day_ok};
    static const group_fn my[] = {month_ok, year4};
    switch ((phi_start)phi_patterns[pat].start) {
    case PHI_S_MDY: {
        size_t st = groups_back(t, end, 3, mdy, "/.-");
        return st != NONE ? st : mdy_time(t, end);
    }
    case PHI_S_DMY: return groups_back(t, end, 3, dmy, "/.-");
    case PHI_S_YMD: return groups_back(t, end, 3, ymd, "/.-");
    case PHI_S_MD: return groups_back(t, end, 2, md, "/");
    case PHI_S_MY: return groups_back(t, end, 2, my, "/-");
    case PHI_S_MONTH_DAY: return month_day(t, end);
    case PHI_S_NANP: {
        size_t st = nanp(t, end);
        return st != NONE ? st : nanp_ext(t, end);
    }
    case PHI_S_GROUPS: return digit_groups(t, end);
    case PHI_S_URL: return url(t, len, end);
    case PHI_S_DOMAIN: return domain(t, len, end);
    case PHI_S_PAREN: return paren_phone(t, end);
    case PHI_S_INTL: return intl_phone(t, end);
    case PHI_S_DAY_MONTH: return day_month(t, end);
    case PHI_S_MONTH_YEAR: return month_year(t, end);
    case PHI_S_AGE: return age(t, end);
    case PHI_S_IN_MONTH: return in_month(t, end);
    case PHI_S_ON_THE: return on_the(t, end);
    case PHI_S_AGE_LABEL: return age_label(t, end);
    case PHI_S_IPV6: return ipv6(t, end);
    default: break; /* none, or a pattern matched in C (its start is known) */
    }
    return NONE;
}
