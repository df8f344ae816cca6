/*
 * phi_detect: the scan. One Hyperscan pass collects value candidates and
 * context keywords; each candidate is then validated (checksums, calendar,
 * SSA rules) and scored with the keywords just before or after it; the name
 * pass adds person names; overlaps are resolved and the survivors become the
 * entities of the result.
 *
 * Nothing here allocates per match: candidates, keywords and results live in
 * arrays owned by the scratch, which grow geometrically only when a document
 * needs more room than any earlier one. The Hyperscan callback only appends
 * (or extends the previous report of the same pattern and start, since a
 * pattern with optional parts reports each end it reaches).
 */
#include <stdlib.h>
#include <string.h>

#include "phi_internal.h"

/* ---- collecting ---- */

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)flags;
    phi_scratch *s = ctx;
    const phi_pattern *p = &phi_patterns[id];
    if (p->kind == PHI_PK_CONTEXT) {
        phi_kw *k = s->kws.p;
        size_t n = s->kws.n;
        /* Same keyword, same start, longer end ("medical record" -> "... number"). */
        for (size_t i = n; i > 0 && i + 4 > n; i--) {
            if (k[i - 1].start == from && k[i - 1].cls == p->what) {
                k[i - 1].end = (uint32_t)to;
                return 0;
            }
        }
        phi_kw *nk = phi_vec_push(&s->kws, sizeof *nk);
        if (!nk) goto oom;
        nk->start = (uint32_t)from, nk->end = (uint32_t)to, nk->cls = p->what;
        return 0;
    }
    phi_cand *c = s->cands.p;
    size_t n = s->cands.n;
    for (size_t i = n; i > 0 && i + 16 > n; i--) {
        if (c[i - 1].pat == id && c[i - 1].start == from) {
            if (to > c[i - 1].end) c[i - 1].end = (uint32_t)to;
            return 0;
        }
    }
    phi_cand *nc = phi_vec_push(&s->cands, sizeof *nc);
    if (!nc) goto oom;
    nc->start = (uint32_t)from, nc->end = (uint32_t)to, nc->pat = (uint16_t)id;
    nc->type = p->what, nc->dead = 0, nc->score = p->score;
    return 0;
oom:
    s->oom = 1;
    return 1; /* stop the scan */
}

static int cmp_cand(const void *a, const void *b)
{
    const phi_cand *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    return x->pat < y->pat ? -1 : x->pat > y->pat;
}

static int cmp_kw(const void *a, const void *b)
{
    const phi_kw *x = a, *y = b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- context ---- */

/* Is text[a, b) only separators and filler words ("is", "number", ...)? */
static bool gap_ok(const phi_detector *d, const uint8_t *t, size_t a, size_t b)
{
    size_t i = a;
    int words = 0;
    while (i < b) {
        uint8_t c = t[i];
        if (c == ' ' || c == '\t' || c == ':' || c == '#' || c == '.' || c == '-' || c == '=' ||
            c == '(' || c == ')' || c == ',' || c == '/' || c == '\r' || c == '\n' || c == '\'' ||
            c == '"' || c == '[' || c == ']' || c == '>') {
            i++;
            continue;
        }
        if (!phi_is_alpha(c)) return false;
        size_t j = i;
        while (j < b && (phi_is_alpha(t[j]) || t[j] == '\'')) j++;
        if (!(phi_dict_get(&d->ctx, phi_hash_word(t + i, j - i)) & PHI_W_FILLER)) return false;
        if (++words > 4) return false;
        i = j;
    }
    return true;
}

/* Classes of keywords that end within `window` bytes before pos, with only
 * separators and filler words between them and pos (bit mask of phi_ctx). */
static uint32_t ctx_before(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window)
{
    const phi_kw *k = s->kws.p;
    size_t lo = 0, hi = s->kws.n;
    while (lo < hi) { /* first keyword with end > pos */
        size_t mid = (lo + hi) / 2;
        if (k[mid].end <= pos) lo = mid + 1;
        else hi = mid;
    }
    uint32_t m = 0;
    for (size_t i = lo; i > 0; i--) {
        const phi_kw *w = &k[i - 1];
        if (w->end + window < pos) break;
        if (w->start < pos && gap_ok(d, s->text, w->end, pos)) m |= 1u << w->cls;
    }
    return m;
}

/* Classes of keywords that start within `window` bytes after pos (separators only between). */
static uint32_t ctx_after(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window)
{
    const phi_kw *k = s->kws.p;
    size_t lo = 0, hi = s->kws.n;
    while (lo < hi) { /* keywords are sorted by end; start >= pos implies end > pos */
        size_t mid = (lo + hi) / 2;
        if (k[mid].end <= pos) lo = mid + 1;
        else hi = mid;
    }
    uint32_t m = 0;
    for (size_t i = lo; i < s->kws.n; i++) {
        const phi_kw *w = &k[i];
        if (w->start > pos + window + 24) break;
        if (w->start >= pos && w->start <= pos + window && gap_ok(d, s->text, pos, w->start))
            m |= 1u << w->cls;
    }
    return m;
}

#define CB(c) (1u << (c))

/* Next word after pos (skipping spaces), lower-cased into buf; returns its length. */
static size_t next_word(const uint8_t *t, size_t len, size_t pos, char *buf, size_t cap)
{
    while (pos < len && (t[pos] == ' ' || t[pos] == '\t')) pos++;
    size_t n = 0;
    while (pos < len && phi_is_alpha(t[pos]) && n + 1 < cap) buf[n++] = (char)phi_lower(t[pos++]);
    buf[n] = 0;
    return n;
}

static bool in_list(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(w, *list) == 0) return true;
    return false;
}

static const char *const units[] = {
    "mg", "mcg", "g", "kg", "ml", "l", "cc", "units", "unit", "u", "iu", "meq", "mmol", "tabs",
    "tab", "tablets", "tablet", "caps", "capsules", "puffs", "drops", "mm", "cm", "hours", "hrs",
    "minutes", "min", "mins", "days", "weeks", "times", "x", "percent", "beats", "bpm", "mmhg",
    "cells", "copies", "ng", "pg", "lbs", "lb", "oz", "steps", "feet", "ft", "miles", "calories",
    "kcal", "ms", "sec", "seconds", "doses", "patients", "people", "cases", "visits", "dollars",
    "strength", "pain", "murmur", "systolic", "diastolic", "reflexes", "pulses", "ratio",
    "vision", "of", "nodes", "ribs", "score", "power", "motor", "grade", "cups", "drinks",
    "packs", "years", "yrs", "year", "months", "mos", "grams", "liters", "inches", "in", NULL};

/* Count digits and letters of t[a, b). */
static void count_chars(const uint8_t *t, size_t a, size_t b, int *nd, int *nl)
{
    *nd = *nl = 0;
    for (size_t i = a; i < b; i++) {
        if (phi_is_digit(t[i])) (*nd)++;
        else if (phi_is_alpha(t[i])) (*nl)++;
    }
}

/* Trim the candidate to its last word-ish token (label patterns). */
static void trim_to_last_token(const uint8_t *t, phi_cand *c)
{
    size_t i = c->end;
    while (i > c->start && (phi_is_alnum(t[i - 1]) || t[i - 1] == '-' || t[i - 1] == '\'')) i--;
    c->start = (uint32_t)i;
}

/* Trim leading words that cannot start a place or facility name. */
static void trim_lead_words(const phi_detector *d, const uint8_t *t, phi_cand *c)
{
    static const char *const lead[] = {"the", "a", "an", "at", "to", "from", "in", "on", "of",
                                       "and", "with", "by", "for", "patient", "pt", "seen",
                                       "admitted", "transferred", "discharged", "presented",
                                       "went", "called", "via", "per", "visited", "saw", NULL};
    for (;;) {
        size_t i = c->start, j = i;
        while (j < c->end && (phi_is_alpha(t[j]) || t[j] == '\'')) j++;
        if (j == i || j >= c->end) return;
        char w[24];
        size_t n = j - i;
        if (n >= sizeof w) return;
        for (size_t k = 0; k < n; k++) w[k] = (char)phi_lower(t[i + k]);
        w[n] = 0;
        (void)d;
        if (!in_list(w, lead)) return;
        while (j < c->end && (t[j] == ' ' || t[j] == '\t' || t[j] == '\n')) j++;
        c->start = (uint32_t)j;
    }
}

/* Is the word at [a, b) a place that is not PHI (a state or a country)? */
static bool not_phi_place(const phi_detector *d, const uint8_t *t, size_t a, size_t b)
{
    /* Check the whole span as words: every word must be a state/country word. */
    size_t i = a;
    bool any = false;
    while (i < b) {
        while (i < b && !phi_is_alpha(t[i])) i++;
        size_t j = i;
        while (j < b && phi_is_alpha(t[j])) j++;
        if (j > i) {
            uint16_t f = phi_dict_get(&d->ctx, phi_hash_word(t + i, j - i));
            static const char *const joiners[] = {"new", "north", "south", "west", "united",
                                                  "states", "kingdom", "republic", "of", "the",
                                                  "island", "rhode", "carolina", "dakota",
                                                  "hampshire", "jersey", "mexico", "york", NULL};
            char w[16];
            size_t n = j - i;
            bool join = false;
            if (n < sizeof w) {
                for (size_t k = 0; k < n; k++) w[k] = (char)phi_lower(t[i + k]);
                w[n] = 0;
                join = in_list(w, joiners);
            }
            if (!(f & PHI_W_STATE) && !join) return false;
            any = true;
        }
        i = j;
    }
    return any;
}

/* ---- validation ---- */

static void kill(phi_cand *c)
{
    c->dead = 1;
}

static void validate_date(const phi_detector *d, phi_scratch *s, phi_cand *c, phi_val v)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    phi_date dt;
    char w[24];
    if (v == PHI_V_MONTH_ONLY) {
        trim_to_last_token(t, c);
        return;
    }
    if (v == PHI_V_ORDINAL) {
        trim_to_last_token(t, c);
        size_t n = next_word(t, len, c->end, w, sizeof w);
        static const char *const ok[] = {"of", "at", "and", "or", "in", "to", "when", "with",
                                         "after", "before", "for", "we", "she", "he", "the",
                                         "patient", "pt", "i", "they", NULL};
        if (n && !in_list(w, ok)) kill(c);
        return;
    }
    /* Numbers glued to other numbers are not dates (versions, decimals, ranges). */
    if (c->start > 0) {
        uint8_t p = t[c->start - 1];
        if (phi_is_digit(p) || p == '/' || ((p == '.' || p == '-' || p == ',') && c->start > 1 &&
                                           phi_is_digit(t[c->start - 2])))
            return kill(c);
        if (p == '$' || p == '#') return kill(c);
    }
    if (c->end < len) {
        uint8_t q = t[c->end];
        if (q == '/' || q == '%' || ((q == '.' || q == '-') && c->end + 1 < len && phi_is_digit(t[c->end + 1])))
            return kill(c);
    }
    if (phi_date_parse(t + c->start, c->end - c->start, &dt) != PHI_OK) return kill(c);
    if (v == PHI_V_DATE_NUM) {
        /* Both separators the same ("7/22-21" is not a date). */
        size_t i = c->start, seps = 0;
        uint8_t sep[2] = {0, 0};
        while (i < c->end && seps < 2) {
            if (!phi_is_digit(t[i])) {
                sep[seps++] = t[i];
                while (i < c->end && !phi_is_digit(t[i])) i++;
            } else {
                i++;
            }
        }
        if (sep[0] != sep[1]) return kill(c);
        if (!dt.m || !dt.d) return kill(c);
        if (sep[0] == '.' || sep[0] == '-') {
            /* 1.2.10 or 3-4-12 can be values or ranges: need a four-digit year or context. */
            if (dt.yd != 4 && !(ctx_before(d, s, c->start, 30) & CB(PHI_C_DATE))) c->score = 0.45f;
        }
        return;
    }
    if (v == PHI_V_DATE_MD) {
        uint32_t before = ctx_before(d, s, c->start, 24);
        uint32_t after = ctx_after(d, s, c->end, 12);
        size_t n = next_word(t, len, c->end, w, sizeof w);
        if (!dt.m || !dt.d) return kill(c);
        if ((before | after) & CB(PHI_C_NODATE)) return kill(c);
        if (n && in_list(w, units)) return kill(c);
        if (before & CB(PHI_C_DATE)) c->score = 0.85f;
        /* "x/10", "x/5": scores and fractions, unless a date cue is right before. */
        if (!(before & CB(PHI_C_DATE)) && (dt.d == 10 || dt.d == 5 || dt.d == 6 || dt.d == 4))
            c->score = 0.4f;
        return;
    }
    if (v == PHI_V_DATE_MY) {
        if (!dt.m) return kill(c);
        return;
    }
    /* Month names: abbreviations and "may" must be capitalized ("dec 2" is "decreased"). */
    {
        size_t i = c->start;
        while (i < c->end && !phi_is_alpha(t[i])) i++;
        size_t used = 0;
        if (phi_month_name(t + i, c->end - i, &used)) {
            bool cap = t[i] >= 'A' && t[i] <= 'Z';
            if (!cap && (used <= 4 || dt.m == 5)) return kill(c);
        }
        if (!dt.m) return kill(c);
        /* "Mar 5 mg" or "5 Mar" inside a dose line: units right after. */
        size_t n = next_word(t, len, c->end, w, sizeof w);
        if (n && in_list(w, units) && !dt.y) return kill(c);
    }
}

static void validate_phone(const phi_detector *d, phi_scratch *s, phi_cand *c, phi_val v)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    int nd, nl;
    char w[24];
    /* Glued to more digits: part of something longer. */
    if (c->start > 0) {
        uint8_t p = t[c->start - 1];
        if (phi_is_digit(p) || ((p == '-' || p == '.' || p == '/') && c->start > 1 &&
                                phi_is_digit(t[c->start - 2])))
            return kill(c);
        if (phi_is_alpha(p) && p != 'x' && p != 'X') return kill(c);
    }
    if (c->end < len) {
        uint8_t q = t[c->end];
        if (q == '/' || q == '%' || ((q == '-' || q == '.' || q == '/') && c->end + 1 < len && phi_is_digit(t[c->end + 1])))
            return kill(c);
    }
    count_chars(t, c->start, c->end, &nd, &nl);
    uint32_t before = ctx_before(d, s, c->start, 40);
    size_t n = next_word(t, len, c->end, w, sizeof w);
    if (n && in_list(w, units)) return kill(c);
    bool phone_ctx = before & (CB(PHI_C_PHONE) | CB(PHI_C_FAX));
    /* "-Fax", " (fax)" right after the number; a label after a comma belongs
     * to the next number. */
    size_t q = c->end;
    while (q < len && q < c->end + 3 && (t[q] == ' ' || t[q] == '-' || t[q] == '(')) q++;
    bool fax_after = q + 3 <= len && phi_lower(t[q]) == 'f' && phi_lower(t[q + 1]) == 'a' &&
                     phi_lower(t[q + 2]) == 'x';
    bool fax = fax_after;
    if (before & CB(PHI_C_FAX)) {
        /* The nearest label wins: "phone 555-1234, fax 555-9999". */
        bool phone_nearer = ctx_before(d, s, c->start, 12) & CB(PHI_C_PHONE);
        fax = !phone_nearer || (ctx_before(d, s, c->start, 12) & CB(PHI_C_FAX));
    }
    uint32_t idctx = CB(PHI_C_MRN) | CB(PHI_C_ACCOUNT) | CB(PHI_C_PLAN) | CB(PHI_C_LICENSE) |
                     CB(PHI_C_DEVICE) | CB(PHI_C_NPI) | CB(PHI_C_SSN) | CB(PHI_C_CARD) |
                     CB(PHI_C_ROUTING) | CB(PHI_C_VEHICLE);
    if ((before & idctx) && !phone_ctx) return kill(c);
    if (v == PHI_V_PHONE) {
        if (nd != 10 && nd != 11 && !(nd > 11 && nl)) return kill(c);
        /* Ten bare digits: could be any id. */
        bool bare = true;
        for (size_t i = c->start; i < c->end; i++)
            if (!phi_is_digit(t[i])) bare = false;
        if (bare && !phone_ctx) c->score = 0.6f;
        if (phone_ctx) c->score = 0.95f;
    } else {
        if (nd < 7 || nd > 15) return kill(c);
        if (phone_ctx) c->score = c->score < 0.85f ? 0.85f : c->score;
        else if (c->score < 0.5f) return kill(c);
        else if (c->score == 0.5f) c->score = 0.45f; /* ###-#### without a cue */
        if (before & CB(PHI_C_NODATE)) return kill(c);
    }
    if (fax) c->type = PHI_FAX;
}

/* Labelled or long identifiers. */
static void validate_id(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    int nd, nl;
    char w[24];
    /* Decimal numbers and glued values are not ids. */
    if (c->start > 0 && (t[c->start - 1] == '.' || t[c->start - 1] == '/' || t[c->start - 1] == '$'))
        return kill(c);
    while (c->end > c->start && (t[c->end - 1] == '.' || t[c->end - 1] == '-')) c->end--;
    count_chars(t, c->start, c->end, &nd, &nl);
    size_t L = c->end - c->start;
    if (nd == 0) return kill(c);
    bool dotted = false;
    for (size_t i = c->start; i < c->end; i++)
        if (t[i] == '.' || t[i] == '/') dotted = true;
    uint32_t before = ctx_before(d, s, c->start, 40);
    size_t n = next_word(t, len, c->end, w, sizeof w);
    bool unit = n && in_list(w, units);
    if (before & CB(PHI_C_SSN) && nd == 9) {
        if (phi_ssn_ok(t + c->start, L)) {
            c->type = PHI_SSN, c->score = 0.95f;
            return;
        }
        return kill(c);
    }
    if (dotted && nl == 0) return kill(c); /* decimals, dates, fractions */
    uint8_t dg[40];
    size_t ndg = 0;
    for (size_t i = c->start; i < c->end && ndg < sizeof dg; i++)
        if (phi_is_digit(t[i])) dg[ndg++] = (uint8_t)(t[i] - '0');
    if ((before & CB(PHI_C_NPI)) && ndg == 10) {
        c->type = PHI_ID, c->score = phi_npi_ok(dg, ndg) ? 0.95f : 0.8f;
        return;
    }
    if ((before & CB(PHI_C_ROUTING)) && ndg == 9 && nl == 0) {
        c->type = PHI_ACCOUNT, c->score = phi_aba_ok(dg, ndg) ? 0.95f : 0.7f;
        return;
    }
    if (before & CB(PHI_C_DEA) && L == 9) {
        c->type = PHI_ID, c->score = phi_dea_ok(t + c->start, L) ? 0.95f : 0.75f;
        return;
    }
    bool sizable = L >= 4 && nd >= 3 && !unit;
    static const struct {
        uint8_t ctx, type;
        float score;
    } map[] = {{PHI_C_MRN, PHI_MRN, 0.95f},         {PHI_C_ACCOUNT, PHI_ACCOUNT, 0.9f},
               {PHI_C_PLAN, PHI_HEALTH_PLAN, 0.9f},   {PHI_C_LICENSE, PHI_LICENSE, 0.9f},
               {PHI_C_VEHICLE, PHI_VEHICLE, 0.85f},  {PHI_C_DEVICE, PHI_DEVICE, 0.85f},
               {PHI_C_CARD, PHI_CARD, 0.8f},         {PHI_C_ID, PHI_ID, 0.8f}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!(before & CB(map[i].ctx))) continue;
        if (!sizable) break;
        if (map[i].ctx == PHI_C_VEHICLE && nl == 0 && nd < 5) break;
        if (map[i].ctx == PHI_C_DEVICE && L < 5) break;
        if (map[i].ctx == PHI_C_CARD && (ndg < 12 || ndg > 19)) break;
        c->type = map[i].type, c->score = map[i].score;
        return;
    }
    if ((before & CB(PHI_C_ZIP)) && nd == 5 && L == 5) {
        c->type = PHI_ZIP, c->score = 0.9f;
        return;
    }
    if (before & (CB(PHI_C_PHONE) | CB(PHI_C_FAX))) return kill(c);
    /* Unlabelled: long digit runs and letter+digit codes are identifiers. */
    if (unit) return kill(c);
    if (ndg >= 12 && ndg <= 19 && phi_luhn_ok(dg, ndg) && nl == 0) {
        c->type = PHI_CARD, c->score = 0.8f;
        return;
    }
    if (nd >= 7 || (nl >= 1 && nd >= 5 && L >= 7)) {
        /* An SSN shape that failed the SSA rules is not an id either. */
        if (L == 11 && t[c->start + 3] == '-' && t[c->start + 6] == '-') return kill(c);
        c->type = PHI_ID, c->score = 0.55f;
        return;
    }
    kill(c);
}

static void validate(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const phi_pattern *p = &phi_patterns[c->pat];
    const uint8_t *t = s->text;
    size_t len = s->len;
    phi_val v = p->val;
    switch (v) {
    case PHI_V_DATE_NUM:
    case PHI_V_DATE_MD:
    case PHI_V_DATE_MY:
    case PHI_V_DATE_TEXT:
    case PHI_V_MONTH_ONLY:
    case PHI_V_ORDINAL: validate_date(d, s, c, v); return;
    case PHI_V_AGE: {
        /* Keep only the number (90..119, or "90s"). */
        size_t i = c->start;
        while (i < c->end && !phi_is_digit(t[i])) i++;
        size_t j = i;
        while (j < c->end && phi_is_digit(t[j])) j++;
        if (j < c->end && t[j] == '\'') j++;
        if (j < c->end && t[j] == 's') j++;
        if (i == j) return kill(c);
        c->start = (uint32_t)i, c->end = (uint32_t)j;
        char w[24];
        size_t after = j;
        while (after < len && phi_is_alpha(t[after])) after++;
        while (after < len && (phi_is_alpha(t[after]) || t[after] == '-' || t[after] == ' ')) after++;
        if (c->start > 0 && (t[c->start - 1] == '.' || phi_is_digit(t[c->start - 1]))) return kill(c);
        if (next_word(t, len, after, w, sizeof w) && strcmp(w, "ago") == 0) return kill(c);
        if (p->score < 0.7f) { /* "92 F": temperatures look alike */
            size_t b = c->start > 16 ? c->start - 16 : 0;
            for (size_t k = b; k + 1 < c->start; k++)
                if (phi_lower(t[k]) == 't' && (phi_lower(t[k + 1]) == 'e' || t[k + 1] == ':' ||
                                               phi_lower(t[k + 1]) == 'm'))
                    return kill(c);
        }
        return;
    }
    case PHI_V_PHONE:
    case PHI_V_PHONE_LOOSE: validate_phone(d, s, c, v); return;
    case PHI_V_EMAIL: return;
    case PHI_V_URL: {
        while (c->end > c->start && strchr(".,;:!?)'\"", t[c->end - 1])) c->end--;
        if (c->start > 0 && (t[c->start - 1] == '@' || t[c->start - 1] == '.')) return kill(c);
        if (c->end - c->start < 5) return kill(c);
        return;
    }
    case PHI_V_IPV4:
        if (!phi_ipv4_ok(t + c->start, c->end - c->start)) return kill(c);
        if ((c->start > 0 && (t[c->start - 1] == '.' || phi_is_alpha(t[c->start - 1]))) ||
            (c->end + 1 < len && t[c->end] == '.' && phi_is_digit(t[c->end + 1])))
            return kill(c);
        return;
    case PHI_V_IPV6:
        if (!phi_ipv6_ok(t + c->start, c->end - c->start)) return kill(c);
        return;
    case PHI_V_SSN: {
        if (!phi_ssn_ok(t + c->start, c->end - c->start)) return kill(c);
        if ((c->start > 0 && (phi_is_digit(t[c->start - 1]) || t[c->start - 1] == '-')) ||
            (c->end < len && (t[c->end] == '-' || phi_is_digit(t[c->end]))))
            return kill(c);
        uint32_t before = ctx_before(d, s, c->start, 40);
        if (before & CB(PHI_C_SSN)) c->score = 0.95f;
        else if (p->score < 0.7f) return kill(c); /* spaced digits need the label */
        else if (before & (CB(PHI_C_MRN) | CB(PHI_C_ACCOUNT) | CB(PHI_C_PLAN) | CB(PHI_C_LICENSE) |
                           CB(PHI_C_PHONE) | CB(PHI_C_DEVICE) | CB(PHI_C_ID)))
            return kill(c); /* the id pass types it from its label */
        return;
    }
    case PHI_V_DIGITS: {
        uint8_t dg[24];
        size_t n = 0;
        for (size_t i = c->start; i < c->end && n < sizeof dg; i++)
            if (phi_is_digit(t[i])) dg[n++] = (uint8_t)(t[i] - '0');
        if (n < 12 || n > 19) return kill(c);
        uint32_t before = ctx_before(d, s, c->start, 40);
        if (phi_luhn_ok(dg, n)) {
            c->score = (before & CB(PHI_C_CARD)) ? 0.95f : 0.85f;
            if (before & (CB(PHI_C_ACCOUNT) | CB(PHI_C_PLAN) | CB(PHI_C_MRN))) kill(c);
        } else if (before & CB(PHI_C_CARD)) {
            c->score = 0.6f;
        } else {
            kill(c);
        }
        return;
    }
    case PHI_V_DEA:
        if (!phi_dea_ok(t + c->start, c->end - c->start)) return kill(c);
        if (ctx_before(d, s, c->start, 30) & CB(PHI_C_DEA)) c->score = 0.95f;
        return;
    case PHI_V_IBAN: {
        uint8_t buf[40];
        size_t n = 0;
        for (size_t i = c->start; i < c->end && n < sizeof buf; i++)
            if (t[i] != ' ') buf[n++] = t[i];
        if (!phi_iban_ok(buf, n)) return kill(c);
        return;
    }
    case PHI_V_VIN:
        if (phi_vin_ok(t + c->start, c->end - c->start)) return;
        if (ctx_before(d, s, c->start, 30) & CB(PHI_C_VEHICLE)) {
            int nd, nl;
            count_chars(t, c->start, c->end, &nd, &nl);
            if (nd >= 3 && nl >= 2) {
                c->score = 0.8f;
                return;
            }
        }
        return kill(c);
    case PHI_V_IDVAL: validate_id(d, s, c); return;
    case PHI_V_ADDRESS: {
        while (c->end > c->start && (t[c->end - 1] == ',' || t[c->end - 1] == ' ')) c->end--;
        /* "2 Tylenol Extra Strength Road"? A street word needs a capitalized name before it,
         * which the pattern ensures; reject number words glued to units ("5 mg Pl"). */
        size_t i = c->start;
        while (i < c->end && phi_is_digit(t[i])) i++;
        char w[24];
        if (next_word(t, len, i, w, sizeof w) && in_list(w, units)) return kill(c);
        return;
    }
    case PHI_V_CITY_STATE: {
        size_t comma = c->start;
        while (comma < c->end && t[comma] != ',') comma++;
        /* "Smith, MD" / "Jones, PA": credentials, not states, unless a ZIP follows. */
        size_t st = comma + 1;
        while (st < c->end && t[st] == ' ') st++;
        size_t sl = c->end - st;
        if (sl == 2) {
            char ab[3] = {(char)t[st], (char)t[st + 1], 0};
            if (!strcmp(ab, "MD") || !strcmp(ab, "PA") || !strcmp(ab, "DO") || !strcmp(ab, "ME") ||
                !strcmp(ab, "OR") || !strcmp(ab, "IN") || !strcmp(ab, "ID") || !strcmp(ab, "OK") ||
                !strcmp(ab, "HI") || !strcmp(ab, "MS") || !strcmp(ab, "CT") || !strcmp(ab, "MA") ||
                !strcmp(ab, "NP") || !strcmp(ab, "RN") || !strcmp(ab, "DE") || !strcmp(ab, "OT") ||
                !strcmp(ab, "SC") || !strcmp(ab, "SD") || !strcmp(ab, "CO") || !strcmp(ab, "AL")) {
                size_t k = c->end;
                while (k < len && (t[k] == ' ' || t[k] == ',')) k++;
                if (!(k + 5 <= len && phi_is_digit(t[k]) && phi_is_digit(t[k + 4]))) return kill(c);
            }
        }
        c->end = (uint32_t)comma;
        trim_lead_words(d, t, c);
        if (c->end <= c->start) return kill(c);
        /* A name before a comma and a state ("Boston, MA") vs a person ("Smith, MA"). */
        uint64_t h = phi_hash_word(t + c->start, c->end - c->start);
        uint16_t wf = phi_dict_get(&d->ctx, h);
        if (wf & (PHI_W_NOTNAME | PHI_W_STATE | PHI_W_CRED)) return kill(c);
        return;
    }
    case PHI_V_ZIP_STATE:
    case PHI_V_ZIP_CTX: trim_to_last_token(t, c); return;
    case PHI_V_CITY_CTX: {
        /* Keep the capitalized words after the preposition. */
        size_t i = c->end, start = c->end;
        for (;;) {
            size_t j = i;
            while (j > c->start && phi_is_alpha(t[j - 1])) j--;
            if (j == i || !(t[j] >= 'A' && t[j] <= 'Z')) break;
            start = j;
            if (j == c->start || !(t[j - 1] == ' ' || t[j - 1] == '-')) break;
            i = j - 1;
            /* stop at the preposition (lower-case word) */
            size_t k = i;
            while (k > c->start && phi_is_alpha(t[k - 1])) k--;
            if (!(t[k] >= 'A' && t[k] <= 'Z')) break;
        }
        c->start = (uint32_t)start;
        if (c->end <= c->start) return kill(c);
        if (not_phi_place(d, t, c->start, c->end)) return kill(c);
        uint64_t h = phi_hash_word(t + c->start, 0);
        (void)h;
        /* First word: a known city, or not an ordinary word. */
        size_t j = c->start;
        while (j < c->end && phi_is_alpha(t[j])) j++;
        uint64_t hw = phi_hash_word(t + c->start, j - c->start);
        uint16_t df = phi_dict_get(&d->words, hw);
        uint16_t wf = phi_dict_get(&d->ctx, hw);
        if (wf & (PHI_W_NOTNAME | PHI_W_MONTH | PHI_W_TITLE)) return kill(c);
        if ((df & PHI_D_COMMON) && !(df & PHI_D_CITY)) c->score = 0.45f;
        return;
    }
    case PHI_V_FACILITY: trim_lead_words(d, t, c); return;
    case PHI_V_PLAIN:
    case PHI_V_NONE: return;
    }
}

/* ---- overlaps ---- */

static bool better(const phi_cand *a, const phi_cand *b)
{
    if (a->score != b->score) return a->score > b->score;
    return (a->end - a->start) > (b->end - b->start);
}

int phi_detect_run(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len)
{
    s->cands.n = s->kws.n = s->toks.n = s->ents.n = 0;
    s->oom = 0;
    s->text = text;
    s->len = len;
    if (len > 0) {
        hs_error_t e = hs_scan(d->db, (const char *)text, (unsigned)len, 0, s->hs, on_match, s);
        if (s->oom) return PHI_ENOMEM;
        if (e != HS_SUCCESS) return PHI_EENGINE;
    }
    qsort(s->kws.p, s->kws.n, sizeof(phi_kw), cmp_kw);
    phi_cand *c = s->cands.p;
    for (size_t i = 0; i < s->cands.n; i++) {
        validate(d, s, &c[i]);
        if (c[i].end <= c[i].start || c[i].end > len) c[i].dead = 1;
    }
    int rc = phi_names_run(d, s);
    if (rc) return rc;
    c = s->cands.p;
    qsort(c, s->cands.n, sizeof *c, cmp_cand);
    /* Greedy sweep: keep a stack of accepted candidates; a newcomer that
     * overlaps the top either merges (same type), replaces it (better) or
     * is dropped. */
    size_t top = 0; /* accepted are c[0..top) (compacted in place) */
    for (size_t i = 0; i < s->cands.n; i++) {
        phi_cand x = c[i];
        if (x.dead) continue;
        bool keep = true;
        while (top > 0 && c[top - 1].end > x.start) {
            phi_cand *y = &c[top - 1];
            if (y->type == x.type) {
                if (x.end > y->end) y->end = x.end;
                if (x.score > y->score) y->score = x.score;
                keep = false;
                break;
            }
            if (better(&x, y)) {
                top--;
                continue;
            }
            keep = false;
            break;
        }
        if (keep) c[top++] = x;
    }
    uint32_t types = d->cfg.types;
    float min = d->cfg.min_score;
    size_t n = 0;
    for (size_t i = 0; i < top; i++)
        if (c[i].score >= min && (types & PHI_TYPE_BIT(c[i].type))) n++;
    if (phi_vec_reserve(&s->ents, n ? n : 1, sizeof(phi_entity)) != PHI_OK) return PHI_ENOMEM;
    phi_entity *e = s->ents.p;
    n = 0;
    for (size_t i = 0; i < top; i++) {
        if (c[i].score < min || !(types & PHI_TYPE_BIT(c[i].type))) continue;
        e[n].start = c[i].start, e[n].end = c[i].end;
        e[n].type = (phi_type)c[i].type, e[n].score = c[i].score > 1 ? 1 : c[i].score;
        n++;
    }
    s->ents.n = n;
    return PHI_OK;
}
