/*
 * phi_context: the context helpers the validators share: which labels stand
 * just before or after a value (with only separators and filler words such
 * as "is" or "number" between), the next word, unit words, and walks over
 * the capitalized words before a place or facility word.
 */
#include <string.h>

#include "phi_internal.h"

/* Separators between a label and its value: space, tab, CR, LF and : # . - = ( ) , / ' " [ ] >
 * (a bit per byte, two words for the bytes below 128: one test instead of 18 compares). */
#define SEP_BIT(c) (1ull << ((c)&63))
static const uint64_t sep_lo = SEP_BIT(' ') | SEP_BIT('\t') | SEP_BIT(':') | SEP_BIT('#') |
                               SEP_BIT('.') | SEP_BIT('-') | SEP_BIT('=') | SEP_BIT('(') |
                               SEP_BIT(')') | SEP_BIT(',') | SEP_BIT('/') | SEP_BIT('\r') |
                               SEP_BIT('\n') | SEP_BIT('\'') | SEP_BIT('"') | SEP_BIT('>');
static const uint64_t sep_hi = SEP_BIT('[') | SEP_BIT(']');

static inline bool gap_sep(uint8_t c)
{
    return c < 64 ? (sep_lo >> c) & 1 : c < 128 ? (sep_hi >> (c - 64)) & 1 : false;
}

enum { GAP_OK = 0, GAP_NO, GAP_BYTE };

/* Is text[a, b) only separators and filler words ("is", "number", ...)? GAP_OK when it
 * is; GAP_BYTE when a byte that is neither a separator nor a letter is in the way
 * (then no longer gap [a', b), a' <= a, is fine either: no word holds that byte);
 * GAP_NO otherwise. */
static inline int gap_check(const phi_detector *d, const uint8_t *t, size_t a, size_t b)
{
    size_t i = a;
    int words = 0;
    while (i < b) {
        uint8_t c = t[i];
        if (gap_sep(c)) {
            i++;
            continue;
        }
        if (!phi_is_alpha(c)) return GAP_BYTE;
        size_t j = i;
        while (j < b && (phi_is_alpha(t[j]) || t[j] == '\''))
            j++;
        if (!(phi_dict_get(&d->ctx, phi_hash_word(t + i, j - i)) & PHI_W_FILLER)) return GAP_NO;
        if (++words > 4) return GAP_NO;
        i = j;
    }
    return GAP_OK;
}

bool phi_gap_ok(const phi_detector *d, const uint8_t *t, size_t a, size_t b)
{
    return gap_check(d, t, a, b) == GAP_OK;
}

/* Classes of keywords that end within `window` bytes before pos, with only
 * separators and filler words between them and pos (bit mask of phi_ctx). */
uint32_t phi_ctx_before(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window)
{
    size_t n;
    return phi_ctx_before_list(d, s, pos, window, NULL, 0, &n);
}

uint32_t phi_ctx_before_list(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window,
                             uint8_t *cls, size_t cap, size_t *n)
{
    const phi_kw *k = s->kws.p;
    size_t lo = 0, hi = s->kws.n;
    while (lo < hi) { /* first keyword with end > pos */
        size_t mid = (lo + hi) / 2;
        if (k[mid].end <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t m = 0;
    *n = 0;
    for (size_t i = lo; i > 0; i--) {
        const phi_kw *w = &k[i - 1];
        if (w->end + window < pos) break;
        if (w->start >= pos) continue;
        int g = gap_check(d, s->text, w->end, pos);
        if (g == GAP_BYTE) break; /* the labels further back end before that byte */
        if (g == GAP_OK) {
            m |= 1u << w->cls;
            if (*n < cap) cls[*n] = w->cls;
            ++*n;
        }
    }
    return m;
}

/* Of the classes in mask, the bit of the keyword ending nearest before pos
 * (0 when none qualifies). */
uint32_t phi_ctx_nearest(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window,
                         uint32_t mask)
{
    const phi_kw *k = s->kws.p;
    size_t lo = 0, hi = s->kws.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k[mid].end <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i > 0; i--) {
        const phi_kw *w = &k[i - 1];
        if (w->end + window < pos) break;
        if ((mask & (1u << w->cls)) && w->start < pos && phi_gap_ok(d, s->text, w->end, pos))
            return 1u << w->cls;
    }
    return 0;
}

/* Classes of keywords that start within `window` bytes after pos (separators only between). */
uint32_t phi_ctx_after(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window)
{
    const phi_kw *k = s->kws.p;
    size_t lo = 0, hi = s->kws.n;
    while (lo < hi) { /* keywords are sorted by end; start >= pos implies end > pos */
        size_t mid = (lo + hi) / 2;
        if (k[mid].end <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t m = 0;
    for (size_t i = lo; i < s->kws.n; i++) {
        const phi_kw *w = &k[i];
        if (w->start > pos + window + 24) break;
        if (w->start >= pos && w->start <= pos + window && phi_gap_ok(d, s->text, pos, w->start))
            m |= 1u << w->cls;
    }
    return m;
}

bool phi_next_is_unit(const phi_detector *d, const uint8_t *t, size_t len, size_t pos)
{
    while (pos < len && (t[pos] == ' ' || t[pos] == '\t'))
        pos++;
    size_t e = pos;
    while (e < len && phi_is_alpha(t[e]))
        e++;
    if (e == pos || e - pos > 16) return false;
    return (phi_dict_get(&d->ctx, phi_hash_word(t + pos, e - pos)) & PHI_W_UNIT) != 0;
}

/* Next word after pos (skipping spaces), lower-cased into buf; returns its length. */
size_t phi_next_word(const uint8_t *t, size_t len, size_t pos, char *buf, size_t cap)
{
    while (pos < len && (t[pos] == ' ' || t[pos] == '\t'))
        pos++;
    size_t n = 0;
    while (pos < len && phi_is_alpha(t[pos]) && n + 1 < cap)
        buf[n++] = (char)phi_lower(t[pos++]);
    buf[n] = 0;
    return n;
}

bool phi_in_list(const char *w, const char *const *list)
{
    for (; *list; list++) /* the first byte first: most entries differ there */
        if ((*list)[0] == w[0] && strcmp(w, *list) == 0) return true;
    return false;
}

const char *const phi_units[] = {
    "mg",      "mcg",     "g",        "kg",      "ml",     "l",        "cc",        "units",
    "unit",    "u",       "iu",       "meq",     "mmol",   "tabs",     "tab",       "tablets",
    "tablet",  "caps",    "capsules", "puffs",   "drops",  "mm",       "cm",        "hours",
    "hrs",     "minutes", "min",      "mins",    "days",   "weeks",    "times",     "x",
    "percent", "beats",   "bpm",      "mmhg",    "cells",  "copies",   "ng",        "pg",
    "lbs",     "lb",      "oz",       "steps",   "feet",   "ft",       "miles",     "calories",
    "kcal",    "ms",      "sec",      "seconds", "doses",  "patients", "people",    "cases",
    "visits",  "dollars", "strength", "pain",    "murmur", "systolic", "diastolic", "reflexes",
    "pulses",  "ratio",   "vision",   "of",      "nodes",  "ribs",     "score",     "power",
    "motor",   "grade",   "cups",     "drinks",  "packs",  "years",    "yrs",       "year",
    "months",  "mos",     "grams",    "liters",  "inches", "in",       NULL};

/* Count digits and letters of t[a, b). */
void phi_count_chars(const uint8_t *t, size_t a, size_t b, int *nd, int *nl)
{
    *nd = *nl = 0;
    for (size_t i = a; i < b; i++) {
        if (phi_is_digit(t[i]))
            (*nd)++;
        else if (phi_is_alpha(t[i]))
            (*nl)++;
    }
}

/* Trim the candidate to its last word-ish token (label patterns). */
void phi_trim_to_last_token(const uint8_t *t, phi_cand *c)
{
    size_t i = c->end;
    while (i > c->start && (phi_is_alnum(t[i - 1]) || t[i - 1] == '-' || t[i - 1] == '\''))
        i--;
    c->start = (uint32_t)i;
}

/* Trim leading words that cannot start a place or facility name. */
void phi_trim_lead_words(const phi_detector *d, const uint8_t *t, phi_cand *c)
{
    static const char *const lead[] = {
        "the",    "a",    "an",       "at",          "to",         "from",      "in",
        "on",     "of",   "and",      "with",        "by",         "for",       "patient",
        "pt",     "seen", "admitted", "transferred", "discharged", "presented", "went",
        "called", "via",  "per",      "visited",     "saw",        NULL};
    for (;;) {
        size_t i = c->start, j = i;
        while (j < c->end && (phi_is_alpha(t[j]) || t[j] == '\''))
            j++;
        if (j == i || j >= c->end) return;
        char w[24];
        size_t n = j - i;
        if (n >= sizeof w) return;
        for (size_t k = 0; k < n; k++)
            w[k] = (char)phi_lower(t[i + k]);
        w[n] = 0;
        (void)d;
        if (!phi_in_list(w, lead)) return;
        while (j < c->end && (t[j] == ' ' || t[j] == '\t' || t[j] == '\n'))
            j++;
        c->start = (uint32_t)j;
    }
}

/* Is the word at [a, b) a place that is not PHI (a state or a country)? */
bool phi_not_phi_place(const phi_detector *d, const uint8_t *t, size_t a, size_t b)
{
    /* Check the whole span as words: every word must be a state/country word. */
    size_t i = a;
    bool any = false;
    while (i < b) {
        while (i < b && !phi_is_alpha(t[i]))
            i++;
        size_t j = i;
        while (j < b && phi_is_alpha(t[j]))
            j++;
        if (j > i) {
            uint16_t f = phi_dict_get(&d->ctx, phi_hash_word(t + i, j - i));
            static const char *const joiners[] = {
                "new",       "north",  "south",  "west",   "united", "states",   "kingdom",
                "republic",  "of",     "the",    "island", "rhode",  "carolina", "dakota",
                "hampshire", "jersey", "mexico", "york",   NULL};
            char w[16];
            size_t n = j - i;
            bool join = false;
            if (n < sizeof w) {
                for (size_t k = 0; k < n; k++)
                    w[k] = (char)phi_lower(t[i + k]);
                w[n] = 0;
                join = phi_in_list(w, joiners);
            }
            if (!(f & PHI_W_STATE) && !join) return false;
            any = true;
        }
        i = j;
    }
    return any;
}

/* Walk back from pos (first byte of an anchor word) over up to maxw words
 * written with a capital ("Mercy General", "St. Brigid's"), separated by
 * single spaces; upper = capitals only. Returns the new start (pos if none)
 * and the number of words in *nw. */
size_t phi_walk_caps(const uint8_t *t, size_t pos, int maxw, bool upper, int *nw)
{
    size_t start = pos;
    *nw = 0;
    while (*nw < maxw && start >= 2 && (t[start - 1] == ' ' || t[start - 1] == '-')) {
        size_t e = start - 1, b = e;
        while (b > 0 &&
               (phi_is_alpha(t[b - 1]) || t[b - 1] == '\'' || t[b - 1] == '.' || t[b - 1] >= 0x80))
            b--;
        if (b == e || !(t[b] >= 'A' && t[b] <= 'Z')) break;
        if (t[e - 1] == '.' && !(e - b == 3 && (t[b + 1] == 't' || t[b + 1] == 'T'))) break;
        bool ok = true;
        if (upper)
            for (size_t q = b; q < e && ok; q++)
                ok = !(t[q] >= 'a' && t[q] <= 'z');
        if (!ok) break;
        start = b;
        (*nw)++;
    }
    return start;
}
