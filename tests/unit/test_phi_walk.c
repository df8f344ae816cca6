/*
 * test_phi_walk: the small helpers the word walk uses to save work, each against
 * the plain definition it replaces (the walk as a whole is compared with its
 * pieces in test_phi_cscan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phi/phi_internal.h"
#include "unit.h"

/* The gap kind as the name pass first defined it: count the bytes of each kind. */
static uint8_t gap_ref(const uint8_t *t, size_t a, size_t b)
{
    if (b <= a) return PHI_G_OTHER;
    if (b - a > 6) {
        for (size_t i = a; i < b; i++)
            if (t[i] == '\n') return PHI_G_NEWLINE;
        return PHI_G_OTHER;
    }
    int dot = 0, comma = 0, colon = 0, nl = 0, other = 0;
    for (size_t i = a; i < b; i++) {
        uint8_t c = t[i];
        if (c == ' ' || c == '\t' || c == '\r') continue;
        if (c == '.')
            dot++;
        else if (c == ',')
            comma++;
        else if (c == ':')
            colon++;
        else if (c == '\n')
            nl++;
        else
            other++;
    }
    if (nl) return colon ? PHI_G_COLON : PHI_G_NEWLINE;
    if (other) return PHI_G_OTHER;
    if (colon) return PHI_G_COLON;
    if (comma == 1 && !dot) return PHI_G_COMMA;
    if (dot == 1 && !comma) return PHI_G_DOTSPACE;
    if (!dot && !comma) return PHI_G_SPACE;
    return PHI_G_OTHER;
}

/* phi_names_gap (a count per byte from a table) says what the plain count says, for
 * every gap of up to 6 bytes over the bytes that matter and some longer ones, and
 * for every single byte. */
TEST(gap_kinds)
{
    static const uint8_t al[] = {' ', '\t', '\r', '.', ',', ':', '\n', 'x', 0x80, '1'};
    enum { NA = sizeof al };
    uint8_t t[64];
    long n = 0;
    int bad = 0;
    for (size_t len = 0; len <= 6; len++) {
        size_t combos = 1;
        for (size_t i = 0; i < len; i++)
            combos *= NA;
        for (size_t c = 0; c < combos; c++) {
            size_t x = c;
            for (size_t i = 0; i < len; i++, x /= NA)
                t[i] = al[x % NA];
            if (phi_names_gap(t, 0, len) != gap_ref(t, 0, len) && bad++ < 5)
                fprintf(stderr, "  gap of %zu bytes (combination %zu) differs\n", len, c);
            n++;
        }
    }
    for (int c = 0; c < 256; c++) {
        t[0] = (uint8_t)c;
        if (phi_names_gap(t, 0, 1) != gap_ref(t, 0, 1) && bad++ < 5)
            fprintf(stderr, "  gap [%02x] differs\n", c);
    }
    unsigned seed = 99;
    for (int it = 0; it < 100000; it++) {
        size_t len = 7 + (size_t)(rand_r(&seed) % 50);
        for (size_t i = 0; i < len; i++)
            t[i] = rand_r(&seed) % 40 ? al[rand_r(&seed) % 6] : '\n';
        if (phi_names_gap(t, 0, len) != gap_ref(t, 0, len) && bad++ < 5)
            fprintf(stderr, "  long gap differs\n");
    }
    CHECK(phi_names_gap(t, 5, 5) == PHI_G_OTHER);
    CHECK(phi_names_gap(t, 6, 5) == PHI_G_OTHER);
    CHECK_INT(bad, 0);
    CHECK(n > 1000000);
}

UNIT_MAIN(T(gap_kinds))
