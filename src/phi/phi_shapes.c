/*
 * phi_shapes: value patterns of a fixed, simple shape matched in C instead
 * of Hyperscan: e-mail addresses, IPv4 dotted quads, SSNs (123-45-6789,
 * 123 45 6789), DEA numbers, VINs, phones
 * 555-0142, 617.555.0142 and 001-617-555-0142, street suffix words, ", ST"
 * after a city and "ST 02115"; and digit groups after a leading 0 ("0161 496 0000"),
 * which alone made every Hyperscan pass about 12 % dearer (see phi_shapes_zero_groups).
 *
 * In the Hyperscan database the two-letter state abbreviations (which match
 * "HR", "BP", "IV" and every other pair of capitals) cost about a quarter
 * of the whole pass, and the fixed-width number shapes (and the street
 * suffix words) another good part; here
 * they are a few comparisons at each comma, each word start and each word.
 * The expressions stay in phi_patterns.c (kind PHI_PK_CSCAN) as the
 * definition; test_phi_cscan checks on random text that these loops produce
 * exactly the candidates the Hyperscan pass made from them.
 */
#include <string.h>

#include "phi_internal.h"

/* Two capitals at p that are a state abbreviation of STATE_ABBR. */
static bool state_abbr(const uint8_t *t, size_t len, size_t p)
{
    if (p + 2 > len) return false;
    return phi_state_abbr(t[p], t[p + 1]);
}

bool phi_state_abbr(uint8_t a, uint8_t b)
{
    switch (a) {
    case 'A': return b == 'L' || b == 'K' || b == 'Z' || b == 'R';
    case 'C': return b == 'A' || b == 'O' || b == 'T';
    case 'D': return b == 'E' || b == 'C';
    case 'F': return b == 'L';
    case 'G': return b == 'A';
    case 'H': return b == 'I';
    case 'I': return b == 'D' || b == 'L' || b == 'N' || b == 'A';
    case 'K': return b == 'S' || b == 'Y';
    case 'L': return b == 'A';
    case 'M':
        return b == 'E' || b == 'D' || b == 'A' || b == 'I' || b == 'N' || b == 'S' || b == 'O' ||
               b == 'T';
    case 'N':
        return b == 'E' || b == 'V' || b == 'H' || b == 'J' || b == 'M' || b == 'Y' || b == 'C' ||
               b == 'D';
    case 'O': return b == 'H' || b == 'K' || b == 'R';
    case 'P': return b == 'A';
    case 'R': return b == 'I';
    case 'S': return b == 'C' || b == 'D';
    case 'T': return b == 'N' || b == 'X';
    case 'U': return b == 'T';
    case 'V': return b == 'T' || b == 'A';
    case 'W': return b == 'A' || b == 'V' || b == 'I' || b == 'Y';
    default: return false;
    }
}

/* The state names of the ", State" expression (case as written there). */
static const char *const state_names[] = {"Alabama",        "Alaska",        "Arizona",
                                          "Arkansas",       "California",    "Colorado",
                                          "Connecticut",    "Delaware",      "Florida",
                                          "Georgia",        "Hawaii",        "Idaho",
                                          "Illinois",       "Indiana",       "Iowa",
                                          "Kansas",         "Kentucky",      "Louisiana",
                                          "Maine",          "Maryland",      "Massachusetts",
                                          "Michigan",       "Minnesota",     "Mississippi",
                                          "Missouri",       "Montana",       "Nebraska",
                                          "Nevada",         "New Hampshire", "New Jersey",
                                          "New Mexico",     "New York",      "North Carolina",
                                          "North Dakota",   "Ohio",          "Oklahoma",
                                          "Oregon",         "Pennsylvania",  "Rhode Island",
                                          "South Carolina", "South Dakota",  "Tennessee",
                                          "Texas",          "Utah",          "Vermont",
                                          "Virginia",       "Washington",    "West Virginia",
                                          "Wisconsin",      "Wyoming",       NULL};
enum { NSTATES = sizeof state_names / sizeof state_names[0] - 1 };

/* Index in state_names and street_words of the first word that does not start
 * before the letter A..Z (the words that start with it follow); written out from
 * the lists (test_phi_cscan compares both expressions with Hyperscan). */
static const uint8_t state_first[26] = {0,  4,  4,  7,  8,  8,  9,  10, 11, 15, 15, 17, 18,
                                        26, 34, 37, 38, 38, 39, 41, 43, 44, 46, 50, 50, 50};
static const uint8_t street_first[26] = {0,  3,  6,  12, 14, 15, 15, 16, 19, 19, 19, 19, 22,
                                         22, 22, 22, 29, 29, 34, 38, 44, 44, 44, 46, 46, 46};

static int push(phi_scratch *s, uint16_t pat, size_t start, size_t end)
{
    phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
    if (!c) return PHI_ENOMEM;
    c->start = (uint32_t)start, c->end = (uint32_t)end, c->pat = pat;
    c->type = phi_patterns[pat].what, c->dead = 0, c->score = phi_patterns[pat].score;
    return PHI_OK;
}

/* ",[ \t]+(STATE_ABBR|State name)\b" at the comma i: ends of the matches. */
static int comma_state(phi_scratch *s, uint16_t pat, size_t i)
{
    const uint8_t *t = s->text;
    size_t len = s->len, k = i + 1;
    if (k >= len || (t[k] != ' ' && t[k] != '\t')) return PHI_OK;
    while (k < len && (t[k] == ' ' || t[k] == '\t'))
        k++;
    if (k >= len || t[k] < 'A' || t[k] > 'Z') return PHI_OK;
    /* an end-anchored value: its validator finds the start (start == end here) */
    if (state_abbr(t, len, k) && (k + 2 == len || !phi_is_hs_word(t[k + 2]))) {
        int rc = push(s, pat, k + 2, k + 2);
        if (rc) return rc;
    }
    /* Every state name has 4+ letters: compare two before the rest. */
    for (const char *const *n = state_names + state_first[t[k] - 'A'];
         k + 1 < len && *n && (uint8_t)(*n)[0] == t[k]; n++) {
        if ((uint8_t)(*n)[1] != t[k + 1]) continue;
        size_t l = strlen(*n);
        if (k + l <= len && memcmp(t + k, *n, l) == 0 &&
            (k + l == len || !phi_is_hs_word(t[k + l]))) {
            int rc = push(s, pat, k + l, k + l);
            if (rc) return rc;
        }
    }
    return PHI_OK;
}

/* "\bSTATE_ABBR,?\s{1,3}[0-9]{5}(-[0-9]{4})?\b" with the abbreviation at p. */
static int state_zip(phi_scratch *s, uint16_t pat, size_t p)
{
    const uint8_t *t = s->text;
    size_t len = s->len, k = p + 2;
    if (k < len && t[k] == ',') k++;
    size_t sp = 0;
    while (k < len && phi_is_hs_space(t[k]) && sp < 4)
        k++, sp++;
    if (sp < 1 || sp > 3) return PHI_OK;
    size_t d = 0;
    while (k + d < len && phi_is_digit(t[k + d]) && d < 6)
        d++;
    if (d != 5) return PHI_OK;
    size_t e = k + 5;
    if (e < len && phi_is_hs_word(t[e])) return PHI_OK;
    int rc = push(s, pat, p, e);
    if (rc) return rc;
    if (e + 5 <= len && t[e] == '-') {
        size_t q = 0;
        while (q < 5 && e + 1 + q < len && phi_is_digit(t[e + 1 + q]))
            q++;
        if (q == 4 && (e + 5 == len || !phi_is_hs_word(t[e + 5]))) return push(s, pat, p, e + 5);
    }
    return PHI_OK;
}

/* The street suffix words of the STREET expression (case as written there), in
 * byte order (street_first finds a letter's words). */
static const char *const street_words[] = {
    "Alley",   "Ave",     "Avenue",   "Blvd",     "Boulevard", "Broadway", "Cir",        "Circle",
    "Close",   "Court",   "Crescent", "Ct",       "Dr",        "Drive",    "Expressway", "Gardens",
    "Heights", "Highway", "Hwy",      "Lane",     "Ln",        "Loop",     "Parkway",    "Path",
    "Pike",    "Pkwy",    "Pl",       "Place",    "Plaza",     "Rd",       "Ridge",      "Road",
    "Row",     "Run",     "Sq",       "Square",   "St",        "Street",   "Ter",        "Terrace",
    "Tpke",    "Trail",   "Trl",      "Turnpike", "Walk",      "Way",      NULL};

/* Lengths of the street words by first letter, A..Z (bit n: a word of n letters),
 * and their second letters (bit x - 'a'); written out from street_words
 * (test_phi_cscan checks every word against both). phi_shapes_maybe reads them, so
 * the walk calls phi_shapes_word for few capitalized words. */
const uint16_t phi_shapes_street_lens[26] = {0x68, 0x310, 0x16c, 0x24, 0x400, 0x0, 0x80, 0x88, 0x0,
                                             0x0,  0x0,   0x14,  0x0,  0x0,   0x0, 0xb4, 0x0,  0x3c,
                                             0x44, 0x1b8, 0x0,   0x0,  0x18,  0x0, 0x0,  0x0};
const uint32_t phi_shapes_street_second[26] = {
    0x200800, 0x24800,  0xa4900, 0x20000, 0x800000, 0x0, 0x1,   0x400110, 0x0,
    0x0,      0x0,      0x6001,  0x0,     0x0,      0x0, 0xd01, 0x0,      0x104108,
    0x90000,  0x128010, 0x0,     0x0,     0x1,      0x0, 0x0,   0x0};

enum { NSTREET = sizeof street_words / sizeof street_words[0] - 1 };
_Static_assert(NSTATES == 50 && NSTREET == 46, "state_first and street_first follow the lists");

/* Is t[0, n) (starting with a capital) one of the street words? */
static bool street_word(const uint8_t *t, size_t n)
{
    if (n < 2 || n > 10 || !(phi_shapes_street_lens[t[0] - 'A'] & (1u << n))) return false;
    for (const char *const *w = street_words + street_first[t[0] - 'A'];
         *w && (uint8_t)(*w)[0] == t[0]; w++) {
        size_t j = 1;
        while (j < n && (*w)[j] && (uint8_t)(*w)[j] == t[j])
            j++;
        if (j == n && (*w)[n] == 0) return true; /* (*w)[n] exists: the word has n bytes */
    }
    return false;
}

/* Digits t[p, p+n) (all inside the text)? */
static bool digits(const uint8_t *t, size_t len, size_t p, size_t n)
{
    if (p + n > len) return false;
    for (size_t i = 0; i < n; i++)
        if (!phi_is_digit(t[p + i])) return false;
    return true;
}

/* A VIN character: [A-HJ-NPR-Za-hj-npr-z0-9]. */
static bool vin_char(uint8_t c)
{
    uint8_t l = phi_lower(c);
    return phi_is_digit(c) || (phi_is_alpha(c) && l != 'i' && l != 'o' && l != 'q');
}

/* Length of the word (\b-delimited run) starting at p. */
static size_t word_len(const uint8_t *t, size_t len, size_t p)
{
    size_t m = 0;
    while (p + m < len && phi_is_hs_word(t[p + m]))
        m++;
    return m;
}

/* The shapes that open with a 3-digit word [i, e): SSNs, 555-0142, 617.555.0142(x12). */
static int three_digits(phi_scratch *s, const phi_cscan_pats *pp, size_t i, size_t e)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    int rc = PHI_OK;
    if (e + 8 <= len && digits(t, len, e + 1, 2) && digits(t, len, e + 4, 4) &&
        (e + 8 == len || !phi_is_hs_word(t[e + 8]))) {
        /* 123-45-6789, or 123 45 6789 with any white-space byte each time */
        if (t[e] == '-' && t[e + 3] == '-')
            rc = push(s, pp->ssn, i, e + 8);
        else if (phi_is_hs_space(t[e]) && phi_is_hs_space(t[e + 3]))
            rc = push(s, pp->ssn_spaced, i, e + 8);
        if (rc) return rc;
    }
    if (e >= len) return PHI_OK;
    if (t[e] == '-' && t[i] >= '2' && word_len(t, len, e + 1) == 4 && digits(t, len, e + 1, 4))
        rc = push(s, pp->phone_dash, i, e + 5); /* 555-0142 */
    if (!rc && t[e] == '.' && word_len(t, len, e + 1) == 3 && digits(t, len, e + 1, 3) &&
        e + 5 < len && t[e + 4] == '.') {
        /* 617.555.0142, 617.555.0142x12 */
        size_t q = e + 5, m = word_len(t, len, q);
        if (m >= 4 && digits(t, len, q, 4) &&
            (m == 4 || (m >= 6 && m <= 10 && t[q + 4] == 'x' && digits(t, len, q + 5, m - 5))))
            rc = push(s, pp->phone_dots, i, q + m);
    }
    return rc;
}

/* 001-617-555-0142 or 01-617-555-0142 with the "0(0)1" word at [i, e). */
static int zero_zero_one(phi_scratch *s, const phi_cscan_pats *pp, size_t i, size_t e)
{
    const uint8_t *t = s->text;
    size_t len = s->len, q = e;
    static const size_t groups[3] = {3, 3, 4};
    for (int g = 0; g < 3; g++) {
        if (q >= len || t[q] != '-') return PHI_OK;
        q++;
        if (word_len(t, len, q) != groups[g] || !digits(t, len, q, groups[g])) return PHI_OK;
        q += groups[g];
    }
    return push(s, pp->phone_001, i, q);
}

/* A dotted-quad octet: 25[0-5] | 2[0-4][0-9] | 1?[0-9]{1,2} (the whole digit word). */
static bool octet(const uint8_t *t, size_t n)
{
    if (n == 1 || n == 2) return true;
    if (n != 3) return false;
    if (t[0] == '1') return true;
    if (t[0] != '2') return false;
    return t[1] < '5' || (t[1] == '5' && t[2] <= '5');
}

/* Dotted quads that start with the digit word [i, e). */
static int dotted_quad(phi_scratch *s, uint16_t pat, size_t i, size_t e)
{
    const uint8_t *t = s->text;
    size_t len = s->len, q = i, w = e - i;
    for (int k = 0; k < 4; k++) {
        if (!octet(t + q, w) || !digits(t, len, q, w)) return PHI_OK;
        q += w;
        if (k == 3) break;
        if (q >= len || t[q] != '.') return PHI_OK;
        q++;
        w = word_len(t, len, q);
    }
    return push(s, pat, i, q); /* q ends a word: \b holds */
}

/* E-mail addresses around the '@' at a: every end its domain can take, with the
 * leftmost start of the local part where \b holds. */
static int email_at(phi_scratch *s, uint16_t pat, size_t a)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
#define LOCAL(c)                                                                                   \
    (phi_is_alnum(c) || (c) == '.' || (c) == '_' || (c) == '%' || (c) == '+' || (c) == '-')
#define DOM(c) (phi_is_alnum(c) || (c) == '-')
    size_t r0 = a;
    while (r0 > 0 && LOCAL(t[r0 - 1]))
        r0--;
    size_t p = r0;
    while (p < a &&
           (p == 0 ? !phi_is_hs_word(t[p]) : phi_is_hs_word(t[p - 1]) == phi_is_hs_word(t[p])))
        p++;
    if (p >= a) return PHI_OK; /* no word boundary in the local part */
    size_t q = a + 1;
    size_t lab = 0;
    while (q + lab < len && DOM(t[q + lab]))
        lab++;
    if (lab == 0) return PHI_OK;
    q += lab;
    while (q < len && t[q] == '.') {
        size_t r = q + 1, l = 0;
        while (r + l < len && phi_is_alpha(t[r + l]))
            l++;
        if (l >= 2 && (r + l == len || !phi_is_hs_word(t[r + l]))) {
            int rc = push(s, pat, p, r + l);
            if (rc) return rc;
        }
        l = 0;
        while (r + l < len && DOM(t[r + l]))
            l++;
        if (l == 0) break;
        q = r + l;
    }
#undef LOCAL
#undef DOM
    return PHI_OK;
}

int phi_shapes_punct(const phi_detector *d, phi_scratch *s, size_t i)
{
    uint8_t c = s->text[i];
    if (c == ',') {
        int rc = comma_state(s, d->cscan.comma_state, i);
        const uint8_t *t = s->text;
        /* ", ma 02118" and ", boston ma 02118": a lower-case letter after ", " */
        if (rc == PHI_OK && i + 9 < s->len && t[i + 1] == ' ' && t[i + 2] >= 'a' && t[i + 2] <= 'z')
            rc = phi_lower_state_zip(d, s, i);
        return rc;
    }
    if (c == '@') return email_at(s, d->cscan.email, i);
    return PHI_OK;
}

int phi_shapes_word(const phi_detector *d, phi_scratch *s, size_t i, size_t e)
{
    const phi_cscan_pats *pp = &d->cscan;
    const uint8_t *t = s->text;
    size_t len = s->len, n = e - i;
    int rc = PHI_OK;
    if (n <= 3 && e < len && t[e] == '.' && phi_is_digit(t[i])) {
        rc = dotted_quad(s, pp->ipv4, i, e);
        if (rc) return rc;
    }
    if (n == 2 && state_abbr(t, len, i)) {
        rc = state_zip(s, pp->state_zip, i);
    } else if (n == 3 && digits(t, len, i, 3)) {
        rc = three_digits(s, pp, i, e);
    } else if (n == 9 && phi_is_alpha(t[i]) && (phi_is_alpha(t[i + 1]) || t[i + 1] == '9') &&
               digits(t, len, i + 2, 7)) {
        rc = push(s, pp->dea, i, e);
    } else if (n == 17) {
        bool ok = true;
        for (size_t q = i; q < e && ok; q++)
            ok = vin_char(t[q]);
        if (ok) rc = push(s, pp->vin, i, e);
    }
    if (!rc && (n == 2 || n == 3) && t[i] == '0' && t[e - 1] == '1' && (n == 2 || t[i + 1] == '0'))
        rc = zero_zero_one(s, pp, i, e); /* 01-... or 001-... */
    if (!rc && t[i] >= 'A' && t[i] <= 'Z' && street_word(t + i, n)) {
        /* an end-anchored value: the validator finds the house number; "St." ends twice */
        rc = push(s, pp->street, e, e);
        if (!rc && e < len && t[e] == '.') rc = push(s, pp->street, e + 1, e + 1);
    }
    return rc;
}

int phi_shapes_scan(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    size_t len = s->len, i = 0;
    while (i < len) {
        if (!phi_is_hs_word(t[i])) {
            int rc = phi_shapes_punct(d, s, i);
            if (rc) return rc;
            i++;
            continue;
        }
        size_t e = i; /* a word (the run \b delimits): [i, e) */
        while (e < len && phi_is_hs_word(t[e]))
            e++;
        int rc = phi_shapes_word(d, s, i, e);
        if (rc) return rc;
        i = e;
    }
    return PHI_OK;
}

/* Length of the run of ASCII digits at t[p] (t has len bytes), counted up to 6 (no
 * group is longer: a long run of digits is not read again for each of its zeros). */
static size_t digit_run(const uint8_t *t, size_t len, size_t p)
{
    size_t q = p;
    while (q < len && q - p < 6 && phi_is_digit(t[q]))
        q++;
    return q - p;
}

/* "\b0[0-9]{2,4}[\s.-][0-9]{2,4}(?:[\s.-][0-9]{2,4}){1,3}\b": every group is followed by
 * a separator or a non-word byte, so it is a whole run of digits, and a match is a chain
 * of runs: the first starts with 0 after a non-word byte and has 3-5 digits, the others
 * 2-4, one separator before each; the third, fourth and fifth runs end a match when a
 * non-word byte (or the end) follows. A run of the chain that starts with 0 starts
 * chains of its own, and their ends up to the last end reported are ends of the earlier
 * chain (reported once, as Hyperscan did); the window scan finds the leftmost start. */
int phi_shapes_zero_groups(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text, *z = t;
    size_t len = s->len, last = 0;
    while (len > 0 && (z = memchr(z, '0', len - (size_t)(z - t))) != NULL) {
        size_t i = (size_t)(z++ - t);
        if (i > 0 && phi_is_hs_word(t[i - 1])) continue; /* \b first: runs are read once */
        size_t q = i + digit_run(t, len, i);
        if (q - i < 3 || q - i > 5) continue;
        for (int g = 2; g <= 5; g++) {
            if (q >= len || !(phi_is_hs_space(t[q]) || t[q] == '.' || t[q] == '-')) break;
            size_t n = digit_run(t, len, q + 1);
            if (n < 2 || n > 4) break;
            q += 1 + n;
            if (g >= 3 && q > last && (q == len || !phi_is_hs_word(t[q]))) {
                int rc = push(s, d->cscan.zero_groups, PHI_START_UNKNOWN, q);
                if (rc) return rc;
                last = q;
            }
        }
    }
    return PHI_OK;
}

/* "\b(?:on|the|of|by|since|until)\s{1,3}(?:the\s{1,3})?(?:[1-9]|[12][0-9]|3[01])ORD\b",
 * any case, with the word [i, e) as the ordinal: the number follows white space, so it
 * starts a word, and \b ends that word after ORD. The optional "the" is a cue itself,
 * so a match ends at e exactly when the word before the 1-3 spaces is a cue. */
int phi_shapes_ordinal(const phi_detector *d, phi_scratch *s, size_t i, size_t e)
{
    static const char *const cues[] = {"on", "the", "of", "by", "since", "until"};
    static const char *const ords[] = {"st", "nd", "rd", "th"};
    const uint8_t *t = s->text;
    size_t n = e - i - 2; /* digits */
    if (e - i < 3 || e - i > 4 || i == 0 || (e < s->len && phi_is_hs_word(t[e]))) return PHI_OK;
    if (n == 1 ? t[i] < '1' || t[i] > '9'
               : !phi_is_digit(t[i + 1]) ||
                     !(t[i] == '1' || t[i] == '2' || (t[i] == '3' && t[i + 1] <= '1')))
        return PHI_OK;
    bool ord = false;
    for (size_t k = 0; k < 4 && !ord; k++)
        ord = phi_word_is(t, e - 2, e, ords[k]);
    size_t p = i, sp = 0;
    while (p > 0 && sp < 4 && phi_is_hs_space(t[p - 1]))
        p--, sp++;
    if (!ord || sp < 1 || sp > 3) return PHI_OK;
    size_t w = p;
    while (w > 0 && phi_is_hs_word(t[w - 1]))
        w--;
    for (size_t k = 0; k < 6; k++)
        if (phi_word_is(t, w, p, cues[k])) return push(s, d->cscan.ordinal, PHI_START_UNKNOWN, e);
    return PHI_OK;
}

int phi_shapes_ordinal_scan(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    size_t len = s->len, i = 0;
    while (i < len) {
        if (!phi_is_hs_word(t[i])) {
            i++;
            continue;
        }
        size_t e = i;
        while (e < len && phi_is_hs_word(t[e]))
            e++;
        int rc = phi_shapes_ordinal(d, s, i, e);
        if (rc) return rc;
        i = e;
    }
    return PHI_OK;
}

/* A byte that ends a URL's body: [\s<>"'()\[\]{}]. */
static bool url_stop(uint8_t c)
{
    return phi_is_hs_space(c) || c == '<' || c == '>' || c == '"' || c == '\'' || c == '(' ||
           c == ')' || c == '[' || c == ']' || c == '{' || c == '}';
}

/* The length of the URL prefix (any case) at p after \b, else 0. */
static size_t url_prefix(const uint8_t *t, size_t len, size_t p)
{
    static const char *const pre[] = {"http://", "https://", "ftp://", "www."};
    if (p > 0 && phi_is_hs_word(t[p - 1])) return 0;
    for (int k = 0; k < 4; k++) {
        size_t n = strlen(pre[k]), q = 0;
        while (q < n && p + q < len && phi_lower(t[p + q]) == (uint8_t)pre[k][q])
            q++;
        if (q == n) return n;
    }
    return 0;
}

/* "\b(?:https?://|ftp://|www\.)[^\s<>"'()\[\]{}]+", any case, with the prefix at the word
 * start p: the expression ends at every byte of the body, and the callback merged those
 * ends into one candidate, so there is one candidate per run of body bytes that holds a
 * prefix, ending where the run ends (a later prefix in the run adds nothing: s->url_end);
 * phi_start_fast finds its start. */
int phi_shapes_url_at(const phi_detector *d, phi_scratch *s, size_t p)
{
    const uint8_t *t = s->text;
    size_t len = s->len, m;
    if (p < s->url_end || (m = url_prefix(t, len, p)) == 0) return PHI_OK;
    size_t e = p + m;
    while (e < len && !url_stop(t[e]))
        e++;
    if (e == p + m) return PHI_OK; /* no body */
    s->url_end = e;
    return push(s, d->cscan.url, PHI_START_UNKNOWN, e);
}

int phi_shapes_urls(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    s->url_end = 0;
    for (size_t i = 0; i < s->len; i++)
        if (phi_is_hs_word(t[i]) && (i == 0 || !phi_is_hs_word(t[i - 1]))) {
            int rc = phi_shapes_url_at(d, s, i);
            if (rc) return rc;
        }
    return PHI_OK;
}
