/*
 * glob_ref: the recursive glob matcher str_glob replaced (its time is exponential in the
 * number of stars), kept only as an oracle: test_strutil compares str_glob with it on
 * every small pattern and string, fuzz_glob on fuzzed ones of at most a few stars.
 * It gives up (no match) past 1000 nested stars; callers stay far below that.
 */
#ifndef GLOB_REF_H
#define GLOB_REF_H

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>

static inline uint8_t ref_fold(uint8_t c, int nocase)
{
    return nocase ? (uint8_t)tolower(c) : c;
}

static int glob_ref_rec(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, int nocase,
                        int depth)
{
    if (depth > 1000) return 0; /* pathological patterns: give up rather than recurse forever */
    while (plen && slen) {
        switch (pat[0]) {
        case '*':
            while (plen > 1 && pat[1] == '*') {
                pat++;
                plen--;
            }
            if (plen == 1) return 1;
            while (slen) {
                if (glob_ref_rec(pat + 1, plen - 1, s, slen, nocase, depth + 1)) return 1;
                s++;
                slen--;
            }
            return 0;
        case '?':
            s++;
            slen--;
            break;
        case '[': {
            pat++;
            plen--;
            int neg = 0, match = 0;
            if (plen && pat[0] == '^') {
                neg = 1;
                pat++;
                plen--;
            }
            for (;;) {
                if (plen == 0) {
                    /* Unterminated set: treat as end of pattern (as Redis does). */
                    break;
                }
                if (pat[0] == '\\' && plen >= 2) {
                    pat++;
                    plen--;
                    if (ref_fold(pat[0], nocase) == ref_fold(s[0], nocase)) match = 1;
                } else if (pat[0] == ']') {
                    break;
                } else if (plen >= 3 && pat[1] == '-') {
                    uint8_t lo = ref_fold(pat[0], nocase), hi = ref_fold(pat[2], nocase);
                    uint8_t c = ref_fold(s[0], nocase);
                    if (lo > hi) {
                        uint8_t t = lo;
                        lo = hi;
                        hi = t;
                    }
                    if (c >= lo && c <= hi) match = 1;
                    pat += 2;
                    plen -= 2;
                } else if (ref_fold(pat[0], nocase) == ref_fold(s[0], nocase)) {
                    match = 1;
                }
                pat++;
                plen--;
            }
            if (neg) match = !match;
            if (!match) return 0;
            s++;
            slen--;
            if (plen == 0) {
                /* The set ran to the end of the pattern. */
                return slen == 0;
            }
            break;
        }
        case '\\':
            if (plen >= 2) {
                pat++;
                plen--;
            }
            /* fall through */
        default:
            if (ref_fold(pat[0], nocase) != ref_fold(s[0], nocase)) return 0;
            s++;
            slen--;
            break;
        }
        pat++;
        plen--;
    }
    if (slen == 0) {
        while (plen && pat[0] == '*') {
            pat++;
            plen--;
        }
    }
    return plen == 0 && slen == 0;
}

static inline int glob_ref(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen,
                           int nocase)
{
    return glob_ref_rec(pat, plen, s, slen, nocase, 0);
}

#endif
