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

#define START_UNKNOWN UINT32_MAX

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)flags;
    (void)from; /* no start-of-match tracking in the main database */
    phi_scratch *s = ctx;
    const phi_pattern *p = &phi_patterns[id];
    if (p->kind == PHI_PK_CONTEXT) {
        /* A keyword's start: back over its last word (enough for the gap checks). */
        size_t a = to;
        while (a > 0 && phi_is_alpha(s->text[a - 1])) a--;
        if (a == to && a > 0) a--; /* "#" */
        phi_kw *k = s->kws.p;
        size_t n = s->kws.n;
        if (n && k[n - 1].cls == p->what && k[n - 1].end == to) return 0;
        phi_kw *nk = phi_vec_push(&s->kws, sizeof *nk);
        if (!nk) goto oom;
        nk->start = (uint32_t)a, nk->end = (uint32_t)to, nk->cls = p->what;
        return 0;
    }
    phi_cand *c = s->cands.p;
    size_t n = s->cands.n;
    /* A pattern ending in an open class ("[^\s]+") reports every byte: keep the last. */
    for (size_t i = n; i > 0 && i + 8 > n && p->kind == PHI_PK_VALUE; i--) {
        if (c[i - 1].pat == id && c[i - 1].end + 1 == to) {
            c[i - 1].end = (uint32_t)to;
            return 0;
        }
    }
    phi_cand *nc = phi_vec_push(&s->cands, sizeof *nc);
    if (!nc) goto oom;
    /* End-anchored values get their start from their validator. */
    nc->start = p->kind == PHI_PK_VALUE_END ? (uint32_t)to : START_UNKNOWN;
    nc->end = (uint32_t)to, nc->pat = (uint16_t)id;
    nc->type = p->what, nc->dead = 0, nc->score = p->score;
    return 0;
oom:
    s->oom = 1;
    return 1; /* stop the scan */
}

/* Window scan: the leftmost start of a match that ends exactly at `end`. */
typedef struct som_q {
    unsigned long long end; /* wanted end, relative to the window */
    unsigned long long best; /* leftmost start found */
} som_q;

static int on_som(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                  void *ctx)
{
    (void)id;
    (void)flags;
    som_q *q = ctx;
    if (to == q->end && from < q->best) q->best = from;
    return 0;
}

/* Find the start of candidate c (pattern with its own start-tracking database). */
static int find_start(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    if (c->start != START_UNKNOWN) return PHI_OK;
    const hs_database_t *db = d->db.som[c->pat];
    size_t max = d->db.width[c->pat];
    if (d->db.minw[c->pat] == max && max <= c->end) { /* fixed length: no scan needed */
        c->start = (uint32_t)(c->end - max);
        return PHI_OK;
    }
    size_t w = c->end > max ? c->end - max : 0;
    /* Begin the window at a word boundary so \b means what it means in the text. */
    for (size_t k = 0; w > 0 && k < 64 && phi_is_alnum(s->text[w - 1]); k++) w--;
    som_q q = {c->end - w, (unsigned long long)-1};
    if (!db || hs_scan(db, (const char *)s->text + w, (unsigned)(c->end - w), 0, s->hs, on_som, &q) !=
                   HS_SUCCESS)
        return PHI_EENGINE;
    if (q.best == (unsigned long long)-1) c->dead = 1;
    else c->start = (uint32_t)(w + q.best);
    return PHI_OK;
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

/* Of the classes in mask, the bit of the keyword ending nearest before pos
 * (0 when none qualifies). */
static uint32_t ctx_nearest(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window,
                            uint32_t mask)
{
    const phi_kw *k = s->kws.p;
    size_t lo = 0, hi = s->kws.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k[mid].end <= pos) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i > 0; i--) {
        const phi_kw *w = &k[i - 1];
        if (w->end + window < pos) break;
        if ((mask & (1u << w->cls)) && w->start < pos && gap_ok(d, s->text, w->end, pos))
            return 1u << w->cls;
    }
    return 0;
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

/* Walk back from pos (first byte of an anchor word) over up to maxw words
 * written with a capital ("Mercy General", "St. Brigid's"), separated by
 * single spaces; upper = capitals only. Returns the new start (pos if none)
 * and the number of words in *nw. */
static size_t walk_caps(const uint8_t *t, size_t pos, int maxw, bool upper, int *nw)
{
    size_t start = pos;
    *nw = 0;
    while (*nw < maxw && start >= 2 && (t[start - 1] == ' ' || t[start - 1] == '-')) {
        size_t e = start - 1, b = e;
        while (b > 0 && (phi_is_alpha(t[b - 1]) || t[b - 1] == '\'' || t[b - 1] == '.' ||
                         t[b - 1] >= 0x80))
            b--;
        if (b == e || !(t[b] >= 'A' && t[b] <= 'Z')) break;
        if (t[e - 1] == '.' && !(e - b == 3 && (t[b + 1] == 't' || t[b + 1] == 'T'))) break;
        bool ok = true;
        if (upper)
            for (size_t q = b; q < e && ok; q++) ok = !(t[q] >= 'a' && t[q] <= 'z');
        if (!ok) break;
        start = b;
        (*nw)++;
    }
    return start;
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
        /* "the 3rd time", "the 2nd floor", "the 4th digit": ordinals of things. */
        static const char *const things[] = {
            "time", "times", "floor", "day", "days", "degree", "grade", "dose", "doses", "digit",
            "toe", "finger", "rib", "ribs", "trimester", "week", "weeks", "cycle", "nerve",
            "ventricle", "intercostal", "space", "cranial", "percentile", "generation", "party",
            "person", "round", "attempt", "line", "stage", "place", "year", "years", "month",
            "visit", "try", "session", "quarter", "component", "heart", "sound", "metatarsal",
            "metacarpal", "lumbar", "cervical", "thoracic", "sacral", "position", "order",
            "edition", "quadrant", "pregnancy", "baby", "child", "opinion", "shift", "postoperative",
            "post", "hospital", "admission", "episode", "fracture", "vertebra", "lumbrical",
            "branch", "division", "interspace", "decade", "grader", "graders", "course", "infusion",
            "injection", "level", "layer", "most", "largest", "highest", "lowest", "best", "worst",
            "one", "ones", "st", "ave", "street", "avenue", "floor", "ward", "unit", "step",
            "phase", "arch", "webspace", "mtp", "pip", "dip", "mcp", "cmc", "ic", "ics", NULL};
        if (n && in_list(w, things)) kill(c);
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
        {
            /* "on 7/22", "since 3/4", "by 6/1": short date cues right before. */
            size_t b = c->start;
            while (b > 0 && t[b - 1] == ' ') b--;
            size_t e = b;
            while (b > 0 && phi_is_alpha(t[b - 1])) b--;
            char pw[8];
            if (e > b && e - b < sizeof pw) {
                for (size_t k = 0; k < e - b; k++) pw[k] = (char)phi_lower(t[b + k]);
                pw[e - b] = 0;
                static const char *const cue[] = {"on", "since", "by", "from", "until", "til",
                                                  "dated", "dos", "dob", "of", "thru", NULL};
                if (in_list(pw, cue)) before |= CB(PHI_C_DATE);
            }
        }
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
void phi_validate_id(const phi_detector *d, phi_scratch *s, phi_cand *c)
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
    /* "0700-1900": a shift, not an id. */
    if (L == 9 && nl == 0 && t[c->start + 4] == '-') {
        int h1 = (t[c->start] - '0') * 10 + (t[c->start + 1] - '0');
        int m1 = (t[c->start + 2] - '0') * 10 + (t[c->start + 3] - '0');
        int h2 = (t[c->start + 5] - '0') * 10 + (t[c->start + 6] - '0');
        int m2 = (t[c->start + 7] - '0') * 10 + (t[c->start + 8] - '0');
        if (h1 <= 24 && h2 <= 24 && m1 < 60 && m2 < 60) return kill(c);
    }
    if ((before & CB(PHI_C_PAGER)) && nl == 0 && nd >= 4 && nd <= 7) {
        c->type = PHI_PHONE, c->score = 0.85f;
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
    /* Several labels before the value ("License plate"): the nearest decides. */
    uint32_t generic = CB(PHI_C_ID) | CB(PHI_C_PHONE) | CB(PHI_C_FAX) | CB(PHI_C_DATE) |
                       CB(PHI_C_NODATE) | CB(PHI_C_PAGER);
    uint32_t near = ctx_nearest(d, s, c->start, 40, before & ~generic);
    if (near) before = near | (before & generic);
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
            c->type = PHI_ID, c->score = 0.6f; /* fails Luhn: not a card, still an identifier */
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
    case PHI_V_IDVAL: phi_validate_id(d, s, c); return;
    case PHI_V_ADDRESS: {
        /* [number] [direction] Name... Suffix[.] [direction] [, unit] */
        size_t sfx = c->end;
        while (sfx > 0 && (phi_is_alpha(t[sfx - 1]) || t[sfx - 1] == '.')) sfx--;
        size_t i = sfx;
        int words = 0;
        for (;;) {
            if (i < 2 || t[i - 1] != ' ') break;
            size_t e = i - 1, b = e;
            while (b > 0 && (phi_is_alnum(t[b - 1]) || t[b - 1] == '\'' || t[b - 1] == '-' || t[b - 1] == '.'))
                b--;
            if (b == e) break;
            if (phi_is_digit(t[b])) {
                /* an ordinal street name ("5th") or the house number */
                size_t q = b;
                while (q < e && phi_is_digit(t[q])) q++;
                if (e - q == 2 && phi_is_alpha(t[q]) && words < 4) {
                    i = b, words++;
                    continue;
                }
                /* house number: 1-6 digits, then nothing, one letter, or -digits */
                bool house = q - b <= 6 && (e - q == 0 || (e - q == 1 && phi_is_alpha(t[q])));
                if (!house && t[q] == '-' && e - q >= 2 && e - q <= 5) {
                    house = true;
                    for (size_t r = q + 1; r < e; r++) house = house && phi_is_digit(t[r]);
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
            while (q < c->end && phi_is_digit(t[q])) q++;
            char w[24];
            if (next_word(t, len, q, w, sizeof w) && in_list(w, units)) return kill(c);
        }
        /* forward: direction, then a unit ("Apt 4B", "Suite 200", "# 12") */
        size_t q = c->end;
        {
            size_t r = q;
            while (r < len && t[r] == ' ') r++;
            size_t wb = r;
            while (r < len && phi_is_alpha(t[r])) r++;
            if (r - wb <= 2 && r > wb && t[wb] >= 'A' && t[wb] <= 'Z' &&
                (r - wb == 1 ? strchr("NSEW", t[wb]) != NULL : strchr("NS", t[wb]) && strchr("EW", t[wb + 1])) &&
                (r == len || !phi_is_alnum(t[r]))) {
                q = r;
                if (q < len && t[q] == '.') q++;
            }
        }
        {
            size_t r = q;
            if (r < len && t[r] == ',') r++;
            while (r < len && t[r] == ' ') r++;
            static const char *const unitw[] = {"apt", "apartment", "suite", "ste", "unit", "fl", "floor",
                                                "rm", "room", "bldg", "building", "lot", NULL};
            size_t wb = r;
            while (r < len && phi_is_alpha(t[r])) r++;
            char w[16];
            size_t wl = r - wb;
            bool unit = false;
            if (wl > 0 && wl < sizeof w) {
                for (size_t k = 0; k < wl; k++) w[k] = (char)phi_lower(t[wb + k]);
                w[wl] = 0;
                unit = in_list(w, unitw);
            } else if (wl == 0 && r < len && t[r] == '#') {
                unit = true;
            }
            if (unit) {
                if (r < len && t[r] == '.') r++;
                while (r < len && (t[r] == ' ' || t[r] == '#')) r++;
                size_t vb = r;
                while (r < len && r - vb < 6 && (phi_is_alnum(t[r]) || t[r] == '-')) r++;
                if (r > vb && (r == len || !phi_is_alnum(t[r]))) q = r;
            }
        }
        c->end = (uint32_t)q;
        return;
    }
    case PHI_V_CITY_STATE: {
        /* The match is ", ST" or ", State": find the comma, then the city before it. */
        size_t comma = c->end;
        while (comma > 0 && c->end - comma < 24 && t[comma - 1] != ',') comma--;
        if (comma == 0 || t[comma - 1] != ',') return kill(c);
        comma--;
        /* "Smith, MD" / "Jones, PA": credentials, not states, unless a ZIP follows. */
        size_t st = comma + 1;
        while (st < c->end && (t[st] == ' ' || t[st] == '\t')) st++;
        size_t sl = c->end - st;
        size_t k = c->end;
        while (k < len && (t[k] == ' ' || t[k] == ',')) k++;
        bool zip = k + 5 <= len && phi_is_digit(t[k]) && phi_is_digit(t[k + 4]);
        if (sl == 2) {
            static const char *const cred_like[] = {"MD", "PA", "DO", "ME", "OR", "IN", "ID", "OK", "HI",
                                                    "MS", "CT", "MA", "DE", "SC", "SD", "CO", "AL",
                                                    "MT", "NE", "LA", "GA", "VA", NULL};
            char ab[3] = {(char)t[st], (char)t[st + 1], 0};
            if (in_list(ab, cred_like) && !zip) return kill(c);
        }
        if (zip) c->score = 0.95f;
        int nw;
        c->end = (uint32_t)comma;
        c->start = (uint32_t)walk_caps(t, comma + 1 > 0 ? comma : 0, 3, false, &nw);
        /* walk_caps expects an anchor after a space: handle "City," directly */
        {
            size_t b = comma;
            while (b > 0 && (phi_is_alpha(t[b - 1]) || t[b - 1] >= 0x80)) b--;
            if (b == comma || !(t[b] >= 'A' && t[b] <= 'Z')) return kill(c);
            c->start = (uint32_t)walk_caps(t, b, 2, false, &nw);
        }
        trim_lead_words(d, t, c);
        if (c->end <= c->start) return kill(c);
        /* A name before a comma and a state ("Boston, MA") vs a person ("Smith, MA"). */
        size_t wb = c->end;
        while (wb > c->start && phi_is_alpha(t[wb - 1])) wb--;
        uint64_t h = phi_hash_word(t + wb, c->end - wb);
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
    case PHI_V_FACILITY: {
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
                while (b > 0 && (phi_is_alpha(t[b - 1]) || t[b - 1] == '\'')) b--;
                words++;
                if (b == e) break;
                /* stop at the phrase's first word: the word before is not part of FACWORD */
                size_t q = b;
                if (q < 2 || t[q - 1] != ' ') break;
                size_t pb = q - 1;
                while (pb > 0 && (phi_is_alpha(t[pb - 1]) || t[pb - 1] == '\'')) pb--;
                char w[24];
                size_t wl = q - 1 - pb;
                if (wl == 0 || wl >= sizeof w) break;
                for (size_t k = 0; k < wl; k++) w[k] = (char)phi_lower(t[pb + k]);
                w[wl] = 0;
                static const char *const inner[] = {"medical", "health", "nursing", "rehabilitation",
                                                    "rehab", "surgical", "surgery", "urgent", "care",
                                                    "cancer", "children's", "memorial", "family",
                                                    "dialysis", "skilled", "assisted", "psychiatric",
                                                    NULL};
                if (!in_list(w, inner)) break;
                b = q - 1;
            }
            fw = b;
            int nw;
            bool upper = t[c->end - 1] >= 'A' && t[c->end - 1] <= 'Z';
            c->start = (uint32_t)walk_caps(t, fw, 4, upper, &nw);
            if (nw == 0) return kill(c);
            trim_lead_words(d, t, c);
            if (c->start >= fw) return kill(c);
            return;
        }
        trim_lead_words(d, t, c);
        return;
    }
    case PHI_V_PLAIN:
    case PHI_V_NONE: return;
    }
}

/* ---- the id scanner ---- */

/* Id-shaped tokens: runs of letters and digits joined by single - / . that
 * hold at least three digits ("4471823", "XJH449210", "PM-448812-A"). A
 * plain loop finds them faster than any regex, and they are frequent. */
int phi_ids_run(const phi_detector *d, phi_scratch *s)
{
    (void)d;
    static uint16_t pat = 0xFFFF;
    if (pat == 0xFFFF)
        for (size_t i = 0; i < phi_patterns_count; i++)
            if (phi_patterns[i].kind == PHI_PK_TOKEN) pat = (uint16_t)i;
    const uint8_t *t = s->text;
    const phi_kw *kw = s->kws.p;
    size_t len = s->len, i = 0, kc = 0;
    while (i < len) {
        if (!phi_is_alnum(t[i])) {
            i++;
            continue;
        }
        if (i > 0 && t[i - 1] >= 0x80) { /* glued to a non-ASCII word */
            while (i < len && (phi_is_alnum(t[i]) || t[i] >= 0x80)) i++;
            continue;
        }
        size_t a = i;
        int nd = 0;
        while (i < len) {
            if (phi_is_digit(t[i])) nd++, i++;
            else if (phi_is_alpha(t[i])) i++;
            else if ((t[i] == '-' || t[i] == '/' || t[i] == '.') && i + 1 < len &&
                     phi_is_alnum(t[i + 1]) && i > a)
                i++;
            else break;
        }
        if (i < len && t[i] >= 0x80) continue;
        /* Short numbers matter only after an id label (checked cheaply here:
         * a keyword that ends within 40 bytes before, found by a moving cursor). */
        bool keep = nd >= 7 || (nd >= 4 && i - a > (size_t)nd);
        if (!keep && nd >= 3) {
            while (kc < s->kws.n && kw[kc].end <= a) kc++;
            keep = kc > 0 && kw[kc - 1].end + 40 >= a;
        }
        if (keep && i - a <= 40) {
            phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
            if (!c) return PHI_ENOMEM;
            c->start = (uint32_t)a, c->end = (uint32_t)i, c->pat = pat;
            c->type = PHI_ID, c->dead = 0, c->score = 0.5f;
        }
    }
    return PHI_OK;
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
        hs_error_t e = hs_scan(d->db.main, (const char *)text, (unsigned)len, 0, s->hs, on_match, s);
        if (s->oom) return PHI_ENOMEM;
        if (e != HS_SUCCESS) return PHI_EENGINE;
    }
    if (s->kws.n > 1) qsort(s->kws.p, s->kws.n, sizeof(phi_kw), cmp_kw);
    phi_cand *c = s->cands.p;
    for (size_t i = 0; i < s->cands.n; i++) {
        int rc = find_start(d, s, &c[i]);
        if (rc) return rc;
    }
    int rc = phi_ids_run(d, s);
    if (rc) return rc;
    c = s->cands.p;
    for (size_t i = 0; i < s->cands.n; i++) {
        if (c[i].dead) continue;
        validate(d, s, &c[i]);
        if (c[i].end <= c[i].start || c[i].end > len) c[i].dead = 1;
    }
    rc = phi_names_run(d, s);
    if (rc) return rc;
    c = s->cands.p;
    if (s->cands.n > 1) qsort(c, s->cands.n, sizeof *c, cmp_cand);
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
