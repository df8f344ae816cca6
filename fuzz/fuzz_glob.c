/*
 * fuzz_glob: libFuzzer target for str_glob, the matcher behind SCAN/HSCAN MATCH, KEYS,
 * ACL key and channel patterns, policy schemas, CONFIG GET and COMMAND LIST patterns.
 * Input: a flags byte (bit 0: case-insensitive), then the pattern and the string,
 * split at the first 0 byte (without one, the input is both).
 *
 * Checked:
 * - with at most 3 stars and a string of at most 64 bytes, the result equals the
 *   recursive oracle's (fuzz/glob_ref.h);
 * - any pattern with any number of stars ends (libFuzzer's -timeout catches a stall);
 * - the string escaped byte by byte matches itself, and so does any piece of it put
 *   between two stars.
 * A broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glob_ref.h"
#include "util/strutil.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_glob: invariant broken: %s\n", what);
    abort();
}

/* pat = [*] escaped(s) [*]; pat has room for 2 * n + 2 bytes. */
static size_t escaped(const uint8_t *s, size_t n, int stars, uint8_t *pat)
{
    size_t k = 0;
    if (stars) pat[k++] = '*';
    for (size_t i = 0; i < n; i++) {
        pat[k++] = '\\';
        pat[k++] = s[i];
    }
    if (stars) pat[k++] = '*';
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int nocase = data[0] & 1;
    const uint8_t *p = data + 1, *s = p;
    size_t plen = size - 1, slen = plen;
    const uint8_t *zero = memchr(p, 0, plen);
    if (zero) {
        plen = (size_t)(zero - p);
        s = zero + 1;
        slen = size - 1 - plen - 1;
    }
    int r = str_glob(p, plen, s, slen, nocase);
    if (r != 0 && r != 1) fail("result is neither 0 nor 1");

    size_t stars = 0;
    for (size_t i = 0; i < plen; i++)
        stars += p[i] == '*';
    if (stars <= 3 && slen <= 64 && r != glob_ref(p, plen, s, slen, nocase))
        fail("str_glob and the oracle differ");

    uint8_t *pat = malloc(2 * slen + 2);
    if (!pat) return 0;
    if (!str_glob(pat, escaped(s, slen, 0, pat), s, slen, nocase))
        fail("the escaped string does not match itself");
    size_t from = slen ? p[0] % (slen + 1) : 0, to = from + (slen - from) / 2;
    if (!str_glob(pat, escaped(s + from, to - from, 1, pat), s, slen, nocase))
        fail("*piece* does not match the string it came from");
    free(pat);
    return 0;
}
