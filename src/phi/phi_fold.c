/*
 * phi_fold: the Unicode spellings of ASCII characters that identifiers are written with,
 * folded to ASCII before a scan, with the entities' offsets mapped back to the text.
 *
 * "123‑45‑6789" with non-breaking hyphens (U+2011), "９８７-６５-４３２１" in full-width
 * digits, a phone number with en dashes or no-break spaces: the patterns and validators
 * read ASCII, and these went through a scan (and a de-identified view) untouched. Text
 * copied from word processors, PDFs and East Asian input methods carries them.
 *
 * Folded: full-width ASCII (U+FF01..U+FF5E) to its ASCII character; the hyphens and dashes
 * U+2010..U+2015, the minus sign U+2212, the small and full-width hyphen-minus (U+FE63, in
 * the full-width range) to '-'; no-break and typographic spaces (U+00A0, U+2000..U+200A,
 * U+202F, U+3000) to ' '. Anything else, invalid UTF-8 included, is copied as it is.
 *
 * A text without such a character (any text without a byte >= 0xC2, checked eight bytes at
 * a time) is scanned as it is: nothing is copied. Otherwise the scan runs over a folded
 * copy in the scratch, and map[i] is the offset in the text of the character folded byte i
 * came from (map[folded length] = text length), so an entity [s, e) of the copy is
 * [map[s], map[e]) of the text: whole characters, valid UTF-8 offsets.
 */
#include <string.h>

#include "phi_internal.h"

/* The ASCII character of the foldable sequence at p (n bytes left) and its length, or 0. */
static int fold_at(const uint8_t *p, size_t n, uint8_t *ascii)
{
    if (n >= 2 && p[0] == 0xC2 && p[1] == 0xA0) return *ascii = ' ', 2;
    if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    uint32_t cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    if ((p[0] & 0xF0) != 0xE0) return 0;
    if (cp >= 0xFF01 && cp <= 0xFF5E) return *ascii = (uint8_t)(cp - 0xFF01 + 0x21), 3;
    if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE63) return *ascii = '-', 3;
    if ((cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x3000) return *ascii = ' ', 3;
    return 0;
}

/* 1 when (t, n) holds a foldable sequence. */
int phi_fold_needed(const uint8_t *t, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, t + i, 8);
        if (w & 0x8080808080808080ULL) break;
    }
    for (; i < n; i++) {
        uint8_t c;
        if (t[i] >= 0xC2 && fold_at(t + i, n - i, &c)) return 1;
    }
    return 0;
}

void phi_fold_append(phi_scratch *s, const uint8_t *text, size_t len, const uint8_t **out,
                     size_t *outlen, size_t *map_off)
{
    uint8_t *f = (uint8_t *)s->fold.p + s->fold.n;
    uint32_t *map = (uint32_t *)s->fold_map.p + s->fold_map.n;
    size_t j = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c;
        int k = text[i] >= 0xC2 ? fold_at(text + i, len - i, &c) : 0;
        map[j] = (uint32_t)i;
        if (k) {
            f[j++] = c;
            i += (size_t)k;
        } else {
            f[j++] = text[i++];
        }
    }
    map[j] = (uint32_t)len;
    *out = f;
    *outlen = j;
    *map_off = s->fold_map.n;
    s->fold.n += j;
    s->fold_map.n += j + 1;
}

void phi_fold_remap(const phi_scratch *s, size_t map_off, size_t flen, phi_entity *e, size_t n)
{
    const uint32_t *map = (const uint32_t *)s->fold_map.p + map_off;
    for (size_t i = 0; i < n; i++) {
        e[i].start = map[e[i].start <= flen ? e[i].start : flen];
        e[i].end = map[e[i].end <= flen ? e[i].end : flen];
    }
}
