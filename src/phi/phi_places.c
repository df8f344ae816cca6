/*
 * phi_places: streets, cities and facilities. Their patterns end on a
 * literal anchor (a street suffix, ", MA", "Hospital") so Hyperscan can find
 * them fast; the validators here walk back from the anchor over the house
 * number and the capitalized words of the name, and forward over a unit
 * ("Apt 4B"). Also the address grabber for free-form (often non-US)
 * addresses after an address cue ("lives at", "Address:").
 */
#include <string.h>

#include "phi_internal.h"

static void kill(phi_cand *c)
{
    c->dead = 1;
}

/* "[number] [direction] Name... Suffix [direction] [, unit]": find the number, extend over the
 * unit. */
void phi_validate_address(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    (void)len;
    /* [number] [direction] Name... Suffix[.] [direction] [, unit] */
    size_t sfx = c->end;
    while (sfx > 0 && (phi_is_alpha(t[sfx - 1]) || t[sfx - 1] == '.'))
        sfx--;
    size_t i = sfx;
    int words = 0;
    for (;;) {
        if (i < 2 || t[i - 1] != ' ') break;
        size_t e = i - 1, b = e;
        while (b > 0 &&
               (phi_is_alnum(t[b - 1]) || t[b - 1] == '\'' || t[b - 1] == '-' || t[b - 1] == '.'))
            b--;
        if (b == e) break;
        if (phi_is_digit(t[b])) {
            /* an ordinal street name ("5th") or the house number */
            size_t q = b;
            while (q < e && phi_is_digit(t[q]))
                q++;
            if (e - q == 2 && phi_is_alpha(t[q]) && words < 4) {
                i = b, words++;
                continue;
            }
            /* house number: 1-6 digits, then nothing, one letter, or -digits */
            bool house = q - b <= 6 && (e - q == 0 || (e - q == 1 && phi_is_alpha(t[q])));
            if (!house && t[q] == '-' && e - q >= 2 && e - q <= 5) {
                house = true;
                for (size_t r = q + 1; r < e; r++)
                    house = house && phi_is_digit(t[r]);
            }
            if (b > 0 && (t[b - 1] == ')' || t[b - 1] == '-' || t[b - 1] == '.')) house = false;
            if (house && words >= 1 && (b == 0 || !phi_is_alnum(t[b - 1]))) {
                c->start = (uint32_t)b;
                break;
            }
            return kill(c);
        }
        if (!(t[b] >= 'A' && t[b] <= 'Z') || words >= 4) return kill(c);
        i = b, words++;
    }
    if (c->start == c->end) return kill(c);
    /* number glued to a unit: "5 mg Pl" */
    {
        size_t q = c->start;
        while (q < c->end && phi_is_digit(t[q]))
            q++;
        if (phi_next_is_unit(d, t, len, q)) return kill(c);
    }
    /* forward: direction, then a unit ("Apt 4B", "Suite 200", "# 12") */
    size_t q = c->end;
    {
        size_t r = q;
        while (r < len && t[r] == ' ')
            r++;
        size_t wb = r;
        while (r < len && phi_is_alpha(t[r]))
            r++;
        if (r - wb <= 2 && r > wb && t[wb] >= 'A' && t[wb] <= 'Z' &&
            (r - wb == 1 ? strchr("NSEW", t[wb]) != NULL
                         : strchr("NS", t[wb]) && strchr("EW", t[wb + 1])) &&
            (r == len || !phi_is_alnum(t[r]))) {
            q = r;
            if (q < len && t[q] == '.') q++;
        }
    }
    {
        size_t r = q;
        if (r < len && t[r] == ',') r++;
        while (r < len && t[r] == ' ')
            r++;
        static const char *const unitw[] = {"apt",      "apartment", "suite", "ste",  "unit",
                                            "fl",       "floor",     "rm",    "room", "bldg",
                                            "building", "lot",       NULL};
        size_t wb = r;
        while (r < len && phi_is_alpha(t[r]))
            r++;
        char w[16];
        size_t wl = r - wb;
        bool unit = false;
        if (wl > 0 && wl < sizeof w) {
            for (size_t k = 0; k < wl; k++)
                w[k] = (char)phi_lower(t[wb + k]);
            w[wl] = 0;
            unit = phi_in_list(w, unitw);
        } else if (wl == 0 && r < len && t[r] == '#') {
            unit = true;
        }
        if (unit) {
            if (r < len && t[r] == '.') r++;
            while (r < len && (t[r] == ' ' || t[r] == '#'))
                r++;
            size_t vb = r;
            while (r < len && r - vb < 6 && (phi_is_alnum(t[r]) || t[r] == '-'))
                r++;
            if (r > vb && (r == len || !phi_is_alnum(t[r]))) q = r;
        }
    }
    c->end = (uint32_t)q;
    return;
}

/* ", MA" / ", Ohio": the city is the capitalized words before the comma. */
void phi_validate_city_state(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    (void)len;
    /* The match is ", ST" or ", State": find the comma, then the city before it. */
    size_t comma = c->end;
    while (comma > 0 && c->end - comma < 24 && t[comma - 1] != ',')
        comma--;
    if (comma == 0 || t[comma - 1] != ',') return kill(c);
    comma--;
    /* "Smith, MD" / "Jones, PA": credentials, not states, unless a ZIP follows. */
    size_t st = comma + 1;
    while (st < c->end && (t[st] == ' ' || t[st] == '\t'))
        st++;
    size_t sl = c->end - st;
    size_t k = c->end;
    while (k < len && (t[k] == ' ' || t[k] == ','))
        k++;
    bool zip = k + 5 <= len && phi_is_digit(t[k]) && phi_is_digit(t[k + 4]);
    if (sl == 2) {
        static const char *const cred_like[] = {"MD", "PA", "DO", "ME", "OR", "IN", "ID", "OK",
                                                "HI", "MS", "CT", "MA", "DE", "SC", "SD", "CO",
                                                "AL", "MT", "NE", "LA", "GA", "VA", NULL};
        char ab[3] = {(char)t[st], (char)t[st + 1], 0};
        if (phi_in_list(ab, cred_like) && !zip) return kill(c);
    }
    if (zip) c->score = 0.95f;
    int nw;
    c->end = (uint32_t)comma;
    c->start = (uint32_t)phi_walk_caps(t, comma + 1 > 0 ? comma : 0, 3, false, &nw);
    /* walk_caps expects an anchor after a space: handle "City," directly */
    {
        size_t b = comma;
        while (b > 0 && (phi_is_alpha(t[b - 1]) || t[b - 1] >= 0x80))
            b--;
        if (b == comma || !(t[b] >= 'A' && t[b] <= 'Z')) return kill(c);
        c->start = (uint32_t)phi_walk_caps(t, b, 2, false, &nw);
    }
    phi_trim_lead_words(d, t, c);
    if (c->end <= c->start) return kill(c);
    /* A name before a comma and a state ("Boston, MA") vs a person ("Smith, MA"). */
    size_t wb = c->end;
    while (wb > c->start && phi_is_alpha(t[wb - 1]))
        wb--;
    uint64_t h = phi_hash_word(t + wb, c->end - wb);
    uint16_t wf = phi_dict_get(&d->ctx, h);
    if (wf & (PHI_W_NOTNAME | PHI_W_STATE | PHI_W_CRED)) return kill(c);
    return;
}

/* "lives in Springfield": keep the place, not the verb. */
void phi_validate_city_ctx(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    (void)len;
    /* Keep the capitalized words after the preposition (UTF-8 letters count). */
    size_t i = c->end, start = c->end;
#define LET(x) (phi_is_alpha(x) || (x) >= 0x80)
#define CAP(x) (((x) >= 'A' && (x) <= 'Z') || (x) >= 0xC0)
    for (;;) {
        size_t j = i;
        while (j > c->start && LET(t[j - 1]))
            j--;
        if (j == i || !CAP(t[j])) break;
        start = j;
        if (j == c->start || !(t[j - 1] == ' ' || t[j - 1] == '-')) break;
        i = j - 1;
        /* stop at the preposition (lower-case word) */
        size_t k = i;
        while (k > c->start && LET(t[k - 1]))
            k--;
        if (!CAP(t[k])) break;
    }
#undef LET
#undef CAP
    c->start = (uint32_t)start;
    if (c->end <= c->start) return kill(c);
    if (phi_not_phi_place(d, t, c->start, c->end)) return kill(c);
    uint64_t h = phi_hash_word(t + c->start, 0);
    (void)h;
    /* First word: a known city, or not an ordinary word. */
    size_t j = c->start;
    while (j < c->end && phi_is_alpha(t[j]))
        j++;
    uint64_t hw = phi_hash_word(t + c->start, j - c->start);
    uint16_t df = phi_dict_get(&d->words, hw);
    uint16_t wf = phi_dict_get(&d->ctx, hw);
    if (wf & (PHI_W_NOTNAME | PHI_W_MONTH | PHI_W_TITLE | PHI_W_STATE)) return kill(c);
    if ((df & PHI_D_COMMON) && !(df & PHI_D_CITY)) c->score = 0.45f;
    /* The bare "in X" pattern: only words no dictionary knows (or known cities). */
    if (phi_patterns[c->pat].score < 0.6f && !(df & PHI_D_CITY) &&
        (df & (PHI_D_COMMON | PHI_D_FIRST | PHI_D_LAST)))
        return kill(c);
    return;
}

/* "Mercy General Hospital": walk back from the facility word over the name. */
void phi_validate_facility(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    (void)len;
    if (c->start == c->end) {
        /* End-anchored: walk back from the facility word over the name. */
        size_t fw = c->end;
        /* the facility phrase may be several words ("Medical Center"): find its first */
        const char *re = phi_patterns[c->pat].re;
        (void)re;
        size_t b = c->end;
        int words = 0;
        while (b > 0 && words < 4) {
            size_t e = b;
            while (b > 0 && (phi_is_alpha(t[b - 1]) || t[b - 1] == '\''))
                b--;
            words++;
            if (b == e) break;
            /* stop at the phrase's first word: the word before is not part of FACWORD */
            size_t q = b;
            if (q < 2 || t[q - 1] != ' ') break;
            size_t pb = q - 1;
            while (pb > 0 && (phi_is_alpha(t[pb - 1]) || t[pb - 1] == '\''))
                pb--;
            char w[24];
            size_t wl = q - 1 - pb;
            if (wl == 0 || wl >= sizeof w) break;
            for (size_t k = 0; k < wl; k++)
                w[k] = (char)phi_lower(t[pb + k]);
            w[wl] = 0;
            static const char *const inner[] = {
                "medical", "health",   "nursing", "rehabilitation", "rehab",       "surgical",
                "surgery", "urgent",   "care",    "cancer",         "children's",  "memorial",
                "family",  "dialysis", "skilled", "assisted",       "psychiatric", NULL};
            if (!phi_in_list(w, inner)) break;
            b = q - 1;
        }
        fw = b;
        int nw;
        bool upper = t[c->end - 1] >= 'A' && t[c->end - 1] <= 'Z';
        c->start = (uint32_t)phi_walk_caps(t, fw, 4, upper, &nw);
        if (nw == 0) return kill(c);
        phi_trim_lead_words(d, t, c);
        if (c->start >= fw) return kill(c);
        return;
    }
    phi_trim_lead_words(d, t, c);
    return;
}

/* ---- free-form addresses ---- */

/* Lower-case words that may stand inside an address ("Rua do Arenque",
 * "Eleftheriou Venizelou str", "Apt. 12"). */
static const char *const addr_lower[] = {
    "str",   "st",     "ave",     "rd",    "u",     "utca",    "ul",       "rue",   "via",
    "rua",   "do",     "da",      "dos",   "das",   "de",      "del",      "della", "la",
    "le",    "les",    "van",     "von",   "der",   "den",     "am",       "an",    "apt",
    "suite", "unit",   "box",     "and",   "of",    "the",     "corner",   "nan",   "bus",
    "no",    "nr",     "strasse", "gasse", "vej",   "gade",    "katu",     "tie",   "street",
    "road",  "avenue", "lane",    "drive", "floor", "fl",      "building", "bldg",  "room",
    "rm",    "po",     "p",       "o",     "calle", "avenida", "plaza",    "piso",  NULL};

/* Street and unit words that make a word-poor region an address anyway. */
static const char *const addr_strong[] = {
    "street", "st",  "str",     "avenue", "ave",       "road", "rd",    "lane",    "ln",
    "drive",  "dr",  "court",   "ct",     "boulevard", "blvd", "way",   "place",   "pl",
    "square", "sq",  "terrace", "apt",    "suite",     "unit", "box",   "po",      "psc",
    "apo",    "fpo", "dpo",     "floor",  "strasse",   "utca", "rua",   "rue",     "via",
    "calle",  "vej", "gade",    "katu",   "highway",   "hwy",  "route", "parkway", NULL};

int phi_places_build_dict(phi_dict *d)
{
    int rc = phi_dict_init(d, 256);
    for (size_t i = 0; !rc && addr_lower[i]; i++)
        rc = phi_dict_add(d, addr_lower[i], PHI_A_LOWER);
    for (size_t i = 0; !rc && addr_strong[i]; i++)
        rc = phi_dict_add(d, addr_strong[i], PHI_A_STRONG);
    return rc;
}

/* Scan an address-like region from p; returns its end (== p when none). */
static size_t addr_region(const phi_detector *d, const uint8_t *t, size_t len, size_t p, bool lowok,
                          int *numbers, int *good_words, int *strong_words)
{
    size_t i = p, end = p;
    int nl = 0, words = 0;
    *numbers = 0, *good_words = 0, *strong_words = 0;
    while (i < len && i - p < 160) {
        uint8_t c = t[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '\n') {
            if (++nl > 4) break;
            /* a blank line ends the block unless the next line is clearly part of it */
            i++;
            continue;
        }
        if (c == ',' && lowok && *strong_words >= 1) { /* lowok: see below */
            /* "12 oak street, boston, ma": in lower case the street ends at its comma (a
             * city and state are found apart, phi_places's lower_city_zip) */
            size_t q = i + 1;
            while (q < len && t[q] == ' ')
                q++;
            if (q < len && t[q] >= 'a' && t[q] <= 'z') break;
        }
        if (c == ',' || c == '#' || c == '-' || c == '/' || (c == '>' && nl)) {
            i++;
            continue;
        }
        if (c == '.') {
            /* "Apt. 5", "u. 15.": a dot not followed by the end of a sentence */
            size_t q = i + 1;
            while (q < len && (t[q] == ' ' || t[q] == '\t'))
                q++;
            if (q < len && t[q] == '\n') {
                size_t r = q + 1;
                while (r < len && (t[r] == ' ' || t[r] == '\t'))
                    r++;
                if (r < len &&
                    (phi_is_digit(t[r]) || (t[r] >= 'A' && t[r] <= 'Z') || t[r] >= 0xC0)) {
                    i = q;
                    continue;
                }
            }
            if (q >= len || t[q] == '\n' || (t[q] >= 'a' && t[q] <= 'z' && q > i + 1)) {
                end = i + 1 > end && words ? end : end;
                break;
            }
            i++;
            continue;
        }
        if (phi_is_digit(c)) {
            size_t j = i;
            while (j < len && (phi_is_alnum(t[j])))
                j++;
            if (j - i > 10) break;
            (*numbers)++;
            i = end = j;
            continue;
        }
        if (phi_is_alpha(c) || c >= 0x80) {
            size_t j = i;
            while (j < len && (phi_is_alpha(t[j]) || t[j] >= 0x80 || t[j] == '\''))
                j++;
            size_t wl = j - i;
            bool lower = c >= 'a' && c <= 'z';
            /* An address written in lower case (its first word is): lowok stays only then. */
            if (words == 0 && !lower) lowok = false;
            /* one hash per word for the three tables (lists hold words under 24 bytes) */
            uint64_t h = phi_hash_word(t + i, wl);
            uint16_t af = wl < 24 ? phi_dict_get(&d->addrw, h) : 0;
            bool strong = af & PHI_A_STRONG;
            uint16_t f = phi_dict_get(&d->words, h);
            if (lower && !(af & PHI_A_LOWER)) {
                /* foreign street words: "tér", "hersnapvej", "midtvollen" */
                bool nonascii = false;
                for (size_t q = i; q < j && !nonascii; q++)
                    nonascii = t[q] >= 0x80;
                if (!(nonascii || (*numbers >= 1 && wl >= 4 && f == 0))) {
                    /* After a strong cue, in a text written in lower case ("lives at 12 oak
                     * street, boston, ma 02118"): any word but the small words that go on
                     * with the sentence; the region ends only at a number or a street word
                     * after it. */
                    uint16_t sw = phi_dict_get(&d->ctx, h);
                    if (!lowok || *numbers < 1 || wl > 20 ||
                        (sw & (PHI_W_NOTNAME | PHI_W_BY | PHI_W_FILLER | PHI_W_INTRO | PHI_W_UNIT |
                               PHI_W_CONTACT | PHI_W_RELATION | PHI_W_MONTH)))
                        break;
                    words++;
                    if (af & PHI_A_STRONG)
                        (*strong_words)++, (*good_words)++, end = j; /* "oak terrace" */
                    else if (wl >= 3 && !(f & PHI_D_COMMON))
                        (*good_words)++;
                    i = j;
                    continue;
                }
            }
            if (strong) (*strong_words)++;
            if (wl == 2 && (phi_lower(t[i]) == 'a' || phi_lower(t[i]) == 'p') &&
                phi_lower(t[i + 1]) == 'm' && !lower)
                break;
            uint16_t cf = phi_dict_get(&d->ctx, h);
            if (!lower && (cf & (PHI_W_MONTH | PHI_W_TITLE)) && !strong) break;
            words++;
            if (strong || (wl >= 3 && (!(f & PHI_D_COMMON) || c >= 0x80))) (*good_words)++;
            i = end = j;
            continue;
        }
        break;
    }
    (void)nl;
    return end;
}

/* The first newline after i (len when none). */
static size_t next_newline(const uint8_t *t, size_t len, size_t i)
{
    const uint8_t *nl = memchr(t + i + 1, '\n', len - i - 1);
    return nl ? (size_t)(nl - t) : len;
}

/* Words that open two-word city names ("new york", "san diego"). */
static const char *const city_first[] = {
    "new",  "san",   "santa", "los",   "las",    "st",   "saint", "fort", "ft",
    "east", "west",  "north", "south", "lake",   "palm", "salt",  "el",   "la",
    "port", "mount", "mt",    "grand", "little", "glen", NULL};

static bool word_in(const uint8_t *t, size_t a, size_t b, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == b - a && strncmp((const char *)t + a, *list, b - a) == 0) return true;
    return false;
}

/* A lower-case state abbreviation at t[k] ("ma", then ' ' or ','), then a ZIP ("02118" or
 * "02118-1234") not run on into a word: 1 with the ZIP in [*z, *e), else 0. */
static int lower_state_zip_at(const uint8_t *t, size_t len, size_t k, size_t *z, size_t *e)
{
    if (k + 8 > len || t[k] < 'a' || t[k] > 'z' || t[k + 1] < 'a' || t[k + 1] > 'z' ||
        !phi_state_abbr((uint8_t)(t[k] - 32), (uint8_t)(t[k + 1] - 32)))
        return 0;
    size_t p = k + 2;
    if (t[p] == ',') p++;
    size_t sp = p;
    while (p < len && t[p] == ' ' && p - sp < 3)
        p++;
    if (p == sp || p + 5 > len) return 0;
    size_t q = p;
    while (q < len && phi_is_digit(t[q]))
        q++;
    if (q - p != 5) return 0;
    if (q + 5 <= len && t[q] == '-' && phi_is_digit(t[q + 1]) && phi_is_digit(t[q + 2]) &&
        phi_is_digit(t[q + 3]) && phi_is_digit(t[q + 4]) &&
        (q + 5 == len || !phi_is_alnum(t[q + 5])))
        q += 5;
    else if (q < len && phi_is_alnum(t[q]))
        return 0;
    *z = p;
    *e = q;
    return 1;
}

/* May the lower-case word t[a, b) be a city before a state and ZIP? Not a word that is no
 * name, a filler, relation or unit; a known city, or no ordinary word ("wbc improving, in
 * 11000 range" is no address). */
static int lower_city_word(const phi_detector *d, const uint8_t *t, size_t a, size_t b)
{
    if (b - a < 3) return 0;
    uint64_t h = phi_hash_word(t + a, b - a);
    uint16_t sw = phi_dict_get(&d->ctx, h);
    if (sw & (PHI_W_NOTNAME | PHI_W_BY | PHI_W_FILLER | PHI_W_RELATION | PHI_W_UNIT)) return 0;
    uint16_t wf = phi_dict_get(&d->words, h);
    return !((wf & PHI_D_COMMON) && !(wf & PHI_D_CITY));
}

/* Where a two-word city begins when the word ending at t[a - 1] ... opens one: "new",
 * "san", "st." ... before the word at a (else a). */
static size_t lower_city_first(const uint8_t *t, size_t a)
{
    if (a < 2 || t[a - 1] != ' ') return a;
    size_t w = a - 1;
    if (w > 0 && t[w - 1] == '.') w--; /* "st. louis" */
    size_t a2 = w;
    while (a2 > 0 && t[a2 - 1] >= 'a' && t[a2 - 1] <= 'z' && w - a2 < 8)
        a2--;
    return word_in(t, a2, w, city_first) && (a2 == 0 || !phi_is_alnum(t[a2 - 1])) ? a2 : a;
}

static int push_city_zip(phi_scratch *s, size_t a, size_t b, size_t z, size_t e)
{
    phi_cand *zc = phi_vec_push(&s->cands, sizeof *zc);
    if (!zc) return PHI_ENOMEM;
    zc->start = (uint32_t)z, zc->end = (uint32_t)e, zc->pat = 0xFFFF;
    zc->type = PHI_ZIP, zc->dead = 0, zc->score = 0.8f;
    phi_cand *cc = phi_vec_push(&s->cands, sizeof *cc);
    if (!cc) return PHI_ENOMEM;
    cc->start = (uint32_t)a, cc->end = (uint32_t)b, cc->pat = 0xFFFF;
    cc->type = PHI_CITY, cc->dead = 0, cc->score = 0.75f;
    return PHI_OK;
}

/* ", ma 02118" in lower case at the comma t[i] (the capitalized form is matched as
 * Hyperscan's expressions say, phi_shapes.c): the ZIP, and the city before the comma
 * ("boston, ma 02118"); or ", cambridge ma 02139" (the comma before the city, as after a
 * street: "77 mass ave, cambridge ma 02139"). Called by the walk at each comma; final
 * candidates (no pattern). */
int phi_lower_state_zip(const phi_detector *d, phi_scratch *s, size_t i)
{
    const uint8_t *t = s->text;
    size_t len = s->len, k = i + 1, z, e;
    while (k < len && t[k] == ' ' && k - i < 4)
        k++;
    if (k == i + 1) return PHI_OK;
    if (lower_state_zip_at(t, len, k, &z, &e)) {
        /* the city: the lower-case word before the comma (required: "2 tabs, or 10000
         * units" is no address), with "new", "san" ... before it */
        size_t b = i, a = i;
        while (a > 0 && t[a - 1] >= 'a' && t[a - 1] <= 'z' && i - a < 30)
            a--;
        if ((a > 0 && phi_is_alnum(t[a - 1])) || !lower_city_word(d, t, a, b) ||
            phi_next_is_unit(d, t, len, e))
            return PHI_OK;
        return push_city_zip(s, lower_city_first(t, a), b, z, e);
    }
    /* ", city st 02139": one word, or two when the first opens a city name (the state and
     * ZIP are looked for first: most commas have neither after the next word or two) */
    size_t a = k, b = k, c = k;
    while (b < len && t[b] >= 'a' && t[b] <= 'z' && b - a < 30)
        b++;
    if (b == a || b + 1 >= len) return PHI_OK;
    if (!(t[b] == ' ' && lower_state_zip_at(t, len, b + 1, &z, &e))) {
        c = t[b] == '.' ? b + 1 : b;
        if (c + 1 >= len || t[c] != ' ') return PHI_OK;
        size_t w = ++c;
        while (w < len && t[w] >= 'a' && t[w] <= 'z' && w - c < 30)
            w++;
        if (w + 1 >= len || t[w] != ' ' || !lower_state_zip_at(t, len, w + 1, &z, &e) ||
            !word_in(t, a, b, city_first))
            return PHI_OK;
        b = w;
    }
    if (!lower_city_word(d, t, c, b) || phi_next_is_unit(d, t, len, e)) return PHI_OK;
    return push_city_zip(s, a, b, z, e);
}

int phi_addr_grab(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    const phi_kw *k = s->kws.p;
    size_t nk = s->kws.n, last_end = 0;
    for (size_t i = 0; i < nk; i++) {
        if ((k[i].cls != PHI_C_ADDR && k[i].cls != PHI_C_ADDR_WEAK) || k[i].end < last_end)
            continue;
        size_t p = k[i].end;
        while (p < len && (t[p] == ' ' || t[p] == ':' || t[p] == '\n' || t[p] == '\t'))
            p++;
        /* "the corner of 159 ..." */
        if (p + 14 < len && strncmp((const char *)t + p, "the corner of ", 14) == 0) p += 14;
        if (p < len && !phi_is_digit(t[p])) {
            /* "The address of Persint is 6750 ...": skip to " is " or ": " before a number */
            size_t lim = len > 4 ? len - 4 : 0; /* q + 4 < len, q < p + 60 */
            if (lim > p + 60) lim = p + 60;
            for (size_t q = p; q < lim; q++) {
                uint8_t c = t[q];
                if (c == '\n' || c == '.') break;
                if ((c == ' ' && t[q + 1] == 'i' && t[q + 2] == 's' && t[q + 3] == ' ' &&
                     phi_is_digit(t[q + 4])) ||
                    (c == ':' && t[q + 1] == ' ' && phi_is_digit(t[q + 2]))) {
                    p = q + (c == ':' ? 2 : 4);
                    break;
                }
            }
        }
        if (p >= len || !(phi_is_digit(t[p]) || (t[p] >= 'A' && t[p] <= 'Z') || t[p] >= 0x80))
            continue;
        int nums, good, strong;
        bool weak = k[i].cls == PHI_C_ADDR_WEAK;
        if (weak && k[i].end > 0 && phi_is_digit(t[k[i].end - 1])) p = k[i].end - 1;
        size_t e = addr_region(d, t, len, p, !weak, &nums, &good, &strong);
        if (e <= p || nums < 1 || good < 1) continue;
        if (weak && !(nums >= 2 || strong >= 1)) continue;
        /* "at 5 PM", "with 2 L": need a real word next to the number */
        while (e > p && (t[e - 1] == ',' || t[e - 1] == ' ' || t[e - 1] == '\n' || t[e - 1] == '-'))
            e--;
        phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
        if (!c) return PHI_ENOMEM;
        k = s->kws.p;
        c->start = (uint32_t)p, c->end = (uint32_t)e, c->pat = 0xFFFF;
        c->type = PHI_ADDRESS, c->dead = 0, c->score = good >= 2 || nums >= 2 ? 0.75f : 0.55f;
        last_end = e;
    }
    /* A line that opens with a house number and a street name ("20789 Allika 46"). */
    for (size_t i = 0; i < len; i = next_newline(t, len, i)) {
        size_t p = t[i] == '\n' ? i + 1 : 0;
        while (p < len && (t[p] == ' ' || t[p] == '\t' || t[p] == '>')) /* "> " quoting */
            p++;
        if (p >= len || !phi_is_digit(t[p]) || p < last_end) continue;
        size_t q = p;
        while (q < len && phi_is_digit(t[q]))
            q++;
        if (q - p > 6 || q >= len || t[q] != ' ') continue;
        size_t w = q + 1;
        if (w >= len || !((t[w] >= 'A' && t[w] <= 'Z') || t[w] >= 0x80)) continue;
        size_t we = w;
        while (we < len && (phi_is_alpha(t[we]) || t[we] >= 0x80))
            we++;
        uint16_t f = phi_dict_get(&d->words, phi_hash_word(t + w, we - w));
        if ((f & PHI_D_COMMON) && t[w] < 0x80) continue;
        int nums, good, strong;
        size_t e = addr_region(d, t, len, p, false, &nums, &good, &strong);
        if (e <= p || nums < 2 || good < 1) continue;
        while (e > p && (t[e - 1] == ',' || t[e - 1] == ' ' || t[e - 1] == '\n' || t[e - 1] == '-'))
            e--;
        phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
        if (!c) return PHI_ENOMEM;
        c->start = (uint32_t)p, c->end = (uint32_t)e, c->pat = 0xFFFF;
        c->type = PHI_ADDRESS, c->dead = 0, c->score = 0.6f;
        last_end = e;
    }
    return PHI_OK;
}

/* ---- "in X", "at X", "from X", "to X" without Hyperscan ----
 *
 * The expression
 *   \b(?:in|at|from|to)\s{1,3}W(?:[ -]W){0,2}
 *   W = [A-Z\xc0-\xff][a-z\x80-\xff]{1,30} | [A-Z\x80-\xff]{3,30}
 * matched at nearly every capitalized word after a preposition: in the
 * Hyperscan pass it reported a match at every byte of those words, and the
 * start of each candidate cost a window scan. The same matches are cheap to
 * find directly: every end the expression can reach from each preposition,
 * the leftmost start for each end, and (as the Hyperscan callback did) one
 * candidate per run of consecutive ends. */

/* A found end and its start (leftmost wins). */
typedef struct prep_m {
    uint32_t start, end;
} prep_m;

/* Record every end reachable from a W at pos, with up to `more` further words. */
static int prep_words(phi_scratch *s, phi_vec *v, uint32_t start, size_t pos, int more)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    if (pos >= len) return PHI_OK;
    uint8_t c0 = t[pos];
    /* alternative 1: [A-Z\xc0-\xff][a-z\x80-\xff]{1,30} */
    if ((c0 >= 'A' && c0 <= 'Z') || c0 >= 0xC0) {
        size_t k = 0;
        while (pos + 1 + k < len && k < 30 &&
               ((t[pos + 1 + k] >= 'a' && t[pos + 1 + k] <= 'z') || t[pos + 1 + k] >= 0x80))
            k++;
        for (size_t q = 1; q <= k; q++) {
            prep_m *m = phi_vec_push(v, sizeof *m);
            if (!m) return PHI_ENOMEM;
            m->start = start, m->end = (uint32_t)(pos + 1 + q);
        }
        size_t e = pos + 1 + k;
        if (k >= 1 && more > 0 && e < len && (t[e] == ' ' || t[e] == '-')) {
            int rc = prep_words(s, v, start, e + 1, more - 1);
            if (rc) return rc;
        }
    }
    /* alternative 2: [A-Z\x80-\xff]{3,30} */
    {
        size_t m = 0;
        while (pos + m < len && m < 30 &&
               ((t[pos + m] >= 'A' && t[pos + m] <= 'Z') || t[pos + m] >= 0x80))
            m++;
        for (size_t q = 3; q <= m; q++) {
            prep_m *r = phi_vec_push(v, sizeof *r);
            if (!r) return PHI_ENOMEM;
            r->start = start, r->end = (uint32_t)(pos + q);
        }
        size_t e = pos + m;
        if (m >= 3 && more > 0 && e < len && (t[e] == ' ' || t[e] == '-')) {
            int rc = prep_words(s, v, start, e + 1, more - 1);
            if (rc) return rc;
        }
    }
    return PHI_OK;
}

static bool prep_less(const prep_m *x, const prep_m *y)
{
    return x->end != y->end ? x->end < y->end : x->start < y->start;
}

int phi_city_prep_at(phi_scratch *s, size_t i)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    if (i + 3 >= len) return PHI_OK;
    uint8_t c = t[i];
    size_t w = 0;
    if ((c == 'i' && t[i + 1] == 'n') || (c == 'a' && t[i + 1] == 't') ||
        (c == 't' && t[i + 1] == 'o'))
        w = 2;
    else if (c == 'f' && i + 4 < len && t[i + 1] == 'r' && t[i + 2] == 'o' && t[i + 3] == 'm')
        w = 4;
    if (!w || !phi_is_hs_space(t[i + w])) return PHI_OK;
    size_t p = i + w, sp = 0;
    while (p < len && sp < 3 && phi_is_hs_space(t[p]))
        p++, sp++;
    return prep_words(s, &s->prep, (uint32_t)i, p, 2); /* a space cannot start a word */
}

int phi_city_prep_finish(phi_scratch *s, uint16_t pat)
{
    phi_vec *v = &s->prep;
    if (v->n == 0) return PHI_OK;
    prep_m *m = v->p;
    size_t n = v->n;
    /* Nearly sorted already (starts ascend, a start's ends mostly ascend): an
     * insertion sort costs about one comparison each and never allocates. */
    for (size_t k = 1; k < n; k++) {
        prep_m x = m[k];
        size_t j = k;
        while (j > 0 && prep_less(&x, &m[j - 1])) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = x;
    }
    /* unique ends (leftmost start), then one candidate per run of consecutive ends */
    size_t u = 0;
    for (size_t k = 0; k < n; k++)
        if (u == 0 || m[u - 1].end != m[k].end) m[u++] = m[k];
    for (size_t k = 0; k < u; k++) {
        if (k + 1 < u && m[k + 1].end == m[k].end + 1) continue; /* the run goes on */
        phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
        if (!c) return PHI_ENOMEM;
        c->start = m[k].start, c->end = m[k].end, c->pat = pat;
        c->type = phi_patterns[pat].what, c->dead = 0, c->score = phi_patterns[pat].score;
    }
    v->n = 0;
    return PHI_OK;
}

int phi_city_prep_scan(const phi_detector *d, phi_scratch *s, uint16_t pat)
{
    (void)d;
    const uint8_t *t = s->text;
    size_t len = s->len;
    s->prep.n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = t[i];
        /* an 'i', 'a', 'f' or 't' that starts a word */
        if ((c == 'i' || c == 'a' || c == 'f' || c == 't') &&
            (i == 0 || !phi_is_hs_word(t[i - 1]))) {
            int rc = phi_city_prep_at(s, i);
            if (rc) return rc;
        }
    }
    return phi_city_prep_finish(s, pat);
}
