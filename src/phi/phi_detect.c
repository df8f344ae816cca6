/*
 * phi_detect: the scan. One Hyperscan pass collects value candidates, one
 * walk over the words (phi_walk.c) the context keywords (phi_labels.c), the
 * "in X" places, the shapes, the id tokens and the name pass's words; each
 * candidate is then validated (checksums, calendar, SSA rules) and scored
 * with the keywords just before or after it; the name pass adds person names;
 * overlaps are resolved and the survivors become the entities of the result.
 *
 * The scan is a list of passes over the document's state in the scratch;
 * phi_detect_batch runs each pass over many documents before the next one
 * (their caches stay warm: about a fifth faster on short notes), swapping each
 * document's state in and out, so every document gets what it would alone.
 *
 * Nothing here allocates per match: candidates, keywords and results live in
 * arrays owned by the scratch, which grow geometrically only when a document
 * needs more room than any earlier one. The Hyperscan callback only appends
 * (or extends the previous report of the same pattern and start, since a
 * pattern with optional parts reports each end it reaches).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phi_internal.h"

/* ---- collecting ---- */

#define START_UNKNOWN PHI_START_UNKNOWN

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)flags;
    (void)from; /* no start-of-match tracking in the main database */
    phi_scratch *s = ctx;
    const phi_pattern *p = &phi_patterns[id];
    if ((++s->tick & 0xFFF) == 0 && phi_cancelled(s)) {
        s->cancelled = 1;
        return 1; /* stop the scan */
    }
    /* Context labels are not in the database: phi_labels_scan finds them. */
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
    unsigned long long end;  /* wanted end, relative to the window */
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
    if (phi_patterns[c->pat].start) { /* a walk back instead of a window scan */
        size_t st = phi_start_fast(s->text, s->len, c->pat, c->end);
        if (st == PHI_START_DEAD) { /* no match ends there: the window scan would say so */
            c->dead = 1;
            return PHI_OK;
        }
        if (st != SIZE_MAX) {
            c->start = (uint32_t)st;
            return PHI_OK;
        }
    }
    const hs_database_t *db = d->db.som[c->pat];
    size_t max = d->db.width[c->pat];
    if (d->db.minw[c->pat] == max && max <= c->end) { /* fixed length: no scan needed */
        c->start = (uint32_t)(c->end - max);
        return PHI_OK;
    }
    size_t w = c->end > max ? c->end - max : 0;
    /* Begin the window at a word boundary so \b means what it means in the text. */
    for (size_t k = 0; w > 0 && k < 64 && phi_is_alnum(s->text[w - 1]); k++)
        w--;
    som_q q = {c->end - w, (unsigned long long)-1};
    if (!db || hs_scan(db, (const char *)s->text + w, (unsigned)(c->end - w), 0, s->hs, on_som,
                       &q) != HS_SUCCESS)
        return PHI_EENGINE;
    if (q.best == (unsigned long long)-1)
        c->dead = 1;
    else
        c->start = (uint32_t)(w + q.best);
    return PHI_OK;
}

static int cmp_cand(const void *a, const void *b)
{
    const phi_cand *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    return x->pat < y->pat ? -1 : x->pat > y->pat;
}

/* Merge the sorted runs a[lo, mid) and a[mid, hi) into b[lo, hi); on equal keys the
 * left run's element comes first (the sort is stable). */
static void merge_runs(const phi_cand *a, phi_cand *b, size_t lo, size_t mid, size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        b[k++] = cmp_cand(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < mid)
        b[k++] = a[i++];
    while (j < hi)
        b[k++] = a[j++];
}

/* Sort candidates by cmp_cand without allocating (glibc's qsort may malloc), stably
 * (candidates equal by cmp_cand keep their order, so any stable sort gives the same
 * array). The candidates come as a few sorted runs (Hyperscan's by end, then the
 * word walk's, the id tokens' and the name pass's by position): the runs are found
 * once and merged pairwise through a buffer owned by the scratch, about log2(runs)
 * passes; a text with more runs than the run table holds is sorted bottom-up. */
static int sort_cands(phi_scratch *s)
{
    size_t n = s->cands.n;
    if (n < 2) return PHI_OK;
    if (phi_vec_reserve(&s->tmp, n, sizeof(phi_cand)) != PHI_OK) return PHI_ENOMEM;
    phi_cand *a = s->cands.p, *b = s->tmp.p;
    enum { MAXRUNS = 64 };
    size_t run[MAXRUNS + 1], nr = 0; /* run r is [run[r], run[r + 1]) */
    run[0] = 0;
    for (size_t i = 1; i <= n && nr < MAXRUNS; i++)
        if (i == n || cmp_cand(&a[i - 1], &a[i]) > 0) run[++nr] = i;
    if (nr == 1) return PHI_OK; /* already sorted */
    if (run[nr] == n) {
        while (nr > 1) { /* merge runs 2k and 2k+1 of a into b */
            size_t m = 0;
            for (size_t r = 0; r < nr; r += 2) {
                if (r + 1 < nr)
                    merge_runs(a, b, run[r], run[r + 1], run[r + 2]);
                else
                    memcpy(b + run[r], a + run[r], (run[r + 1] - run[r]) * sizeof *a);
                run[m++] = run[r];
            }
            run[m] = n, nr = m;
            phi_cand *t = a;
            a = b, b = t;
        }
    } else {
        for (size_t w = 1; w < n; w *= 2) { /* bottom-up: blocks of w, 2w, ... */
            for (size_t lo = 0; lo < n; lo += 2 * w) {
                size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
                if (mid >= hi || cmp_cand(&a[mid - 1], &a[mid]) <= 0)
                    memcpy(b + lo, a + lo, (hi - lo) * sizeof *a);
                else
                    merge_runs(a, b, lo, mid, hi);
            }
            phi_cand *t = a;
            a = b, b = t;
        }
    }
    if (a != s->cands.p) {
        /* the sorted data is in tmp: swap the buffers (capacities travel with them) */
        phi_vec v = s->cands;
        s->cands.p = s->tmp.p, s->cands.cap = s->tmp.cap;
        s->tmp.p = v.p, s->tmp.cap = v.cap;
    }
    return PHI_OK;
}

static int cmp_kw(const void *a, const void *b)
{
    const phi_kw *x = a, *y = b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- context ---- */

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
        phi_trim_to_last_token(t, c);
        return;
    }
    if (v == PHI_V_ORDINAL) {
        phi_trim_to_last_token(t, c);
        size_t n = phi_next_word(t, len, c->end, w, sizeof w);
        /* "the 3rd time", "the 2nd floor", "the 4th digit": ordinals of things. */
        static const char *const things[] = {
            "time",       "times",      "floor",       "day",           "days",      "degree",
            "grade",      "dose",       "doses",       "digit",         "toe",       "finger",
            "rib",        "ribs",       "trimester",   "week",          "weeks",     "cycle",
            "nerve",      "ventricle",  "intercostal", "space",         "cranial",   "percentile",
            "generation", "party",      "person",      "round",         "attempt",   "line",
            "stage",      "place",      "year",        "years",         "month",     "visit",
            "try",        "session",    "quarter",     "component",     "heart",     "sound",
            "metatarsal", "metacarpal", "lumbar",      "cervical",      "thoracic",  "sacral",
            "position",   "order",      "edition",     "quadrant",      "pregnancy", "baby",
            "child",      "opinion",    "shift",       "postoperative", "post",      "hospital",
            "admission",  "episode",    "fracture",    "vertebra",      "lumbrical", "branch",
            "division",   "interspace", "decade",      "grader",        "graders",   "course",
            "infusion",   "injection",  "level",       "layer",         "most",      "largest",
            "highest",    "lowest",     "best",        "worst",         "one",       "ones",
            "st",         "ave",        "street",      "avenue",        "floor",     "ward",
            "unit",       "step",       "phase",       "arch",          "webspace",  "mtp",
            "pip",        "dip",        "mcp",         "cmc",           "ic",        "ics",
            NULL};
        if (n && phi_in_list(w, things)) kill(c);
        return;
    }
    /* Numbers glued to other numbers are not dates (versions, decimals, ranges). */
    if (c->start > 0) {
        uint8_t p = t[c->start - 1];
        if (phi_is_digit(p) || p == '/' ||
            ((p == '.' || p == '-' || p == ',') && c->start > 1 && phi_is_digit(t[c->start - 2])))
            return kill(c);
        if (p == '$' || p == '#') return kill(c);
    }
    if (c->end < len) {
        uint8_t q = t[c->end];
        if (q == '/' || q == '%' ||
            ((q == '.' || q == '-') && c->end + 1 < len && phi_is_digit(t[c->end + 1])))
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
                while (i < c->end && !phi_is_digit(t[i]))
                    i++;
            } else {
                i++;
            }
        }
        if (sep[0] != sep[1]) return kill(c);
        if (!dt.m || !dt.d) return kill(c);
        if (sep[0] == '.' || sep[0] == '-') {
            /* 1.2.10 or 3-4-12 can be values or ranges: need a four-digit year or context. */
            if (dt.yd != 4 && !(phi_ctx_before(d, s, c->start, 30) & CB(PHI_C_DATE)))
                c->score = 0.45f;
        }
        return;
    }
    if (v == PHI_V_DATE_MD) {
        uint32_t before = phi_ctx_before(d, s, c->start, 24);
        uint32_t after = phi_ctx_after(d, s, c->end, 12);
        if (!dt.m || !dt.d) return kill(c);
        if ((before | after) & CB(PHI_C_NODATE)) return kill(c);
        if (phi_next_is_unit(d, t, len, c->end)) return kill(c); /* false with no word after */
        {
            /* "on 7/22", "since 3/4", "by 6/1": short date cues right before. */
            size_t b = c->start;
            while (b > 0 && t[b - 1] == ' ')
                b--;
            size_t e = b;
            while (b > 0 && phi_is_alpha(t[b - 1]))
                b--;
            char pw[8];
            if (e > b && e - b < sizeof pw) {
                for (size_t k = 0; k < e - b; k++)
                    pw[k] = (char)phi_lower(t[b + k]);
                pw[e - b] = 0;
                static const char *const cue[] = {"on",    "since", "by",  "from", "until", "til",
                                                  "dated", "dos",   "dob", "of",   "thru",  NULL};
                if (phi_in_list(pw, cue)) before |= CB(PHI_C_DATE);
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
    /* Month names in lower case: "dec 2" is "decreased", "may 3" a verb, "mar", "sep"
     * shorthand; "aug 16", "june 3rd" and any with a year are dates. */
    {
        size_t i = c->start;
        while (i < c->end && !phi_is_alpha(t[i]))
            i++;
        size_t used = 0;
        int m = phi_month_name(t + i, c->end - i, &used);
        if (m && !(t[i] >= 'A' && t[i] <= 'Z') && !dt.y) {
            bool risky = m == 5 || ((m == 3 || m == 9 || m == 12) && used <= 4);
            if (risky && !(phi_ctx_before(d, s, c->start, 24) & CB(PHI_C_DATE))) return kill(c);
        }
        if (!dt.m) return kill(c);
        /* "Mar 5 mg" or "5 Mar" inside a dose line: units right after. */
        if (phi_next_is_unit(d, t, len, c->end) && !dt.y) return kill(c);
    }
}

static void validate_phone(const phi_detector *d, phi_scratch *s, phi_cand *c, phi_val v)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    int nd, nl;
    /* Glued to more digits: part of something longer. */
    if (c->start > 0) {
        uint8_t p = t[c->start - 1];
        if (phi_is_digit(p) ||
            ((p == '-' || p == '.' || p == '/') && c->start > 1 && phi_is_digit(t[c->start - 2])))
            return kill(c);
        if (phi_is_alpha(p) && p != 'x' && p != 'X') return kill(c);
    }
    if (c->end < len) {
        uint8_t q = t[c->end];
        if (q == '/' || q == '%' ||
            ((q == '-' || q == '.' || q == '/') && c->end + 1 < len && phi_is_digit(t[c->end + 1])))
            return kill(c);
    }
    phi_count_chars(t, c->start, c->end, &nd, &nl);
    uint32_t before = phi_ctx_before(d, s, c->start, 40);
    if (phi_next_is_unit(d, t, len, c->end)) return kill(c); /* false with no word after */
    /* "416 60 039 office", "... 8211-Office": a label right after counts too */
    uint32_t after = phi_ctx_after(d, s, c->end, 3);
    bool phone_ctx = (before | after) & (CB(PHI_C_PHONE) | CB(PHI_C_FAX));
    /* "-Fax", " (fax)" right after the number; a label after a comma belongs
     * to the next number. */
    size_t q = c->end;
    while (q < len && q < c->end + 3 && (t[q] == ' ' || t[q] == '-' || t[q] == '('))
        q++;
    bool fax_after = q + 3 <= len && phi_lower(t[q]) == 'f' && phi_lower(t[q + 1]) == 'a' &&
                     phi_lower(t[q + 2]) == 'x';
    bool fax = fax_after;
    if (before & CB(PHI_C_FAX)) {
        /* The nearest label wins: "phone 555-1234, fax 555-9999". */
        bool phone_nearer = phi_ctx_before(d, s, c->start, 12) & CB(PHI_C_PHONE);
        fax = !phone_nearer || (phi_ctx_before(d, s, c->start, 12) & CB(PHI_C_FAX));
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
        if (phone_ctx)
            c->score = c->score < 0.85f ? 0.85f : c->score;
        else if (c->score < 0.5f)
            return kill(c);
        else if (c->score == 0.5f)
            c->score = 0.45f; /* ###-#### without a cue */
        if (before & CB(PHI_C_NODATE)) return kill(c);
    }
    if (fax) c->type = PHI_FAX;
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
        while (i < c->end && !phi_is_digit(t[i]))
            i++;
        size_t j = i;
        while (j < c->end && phi_is_digit(t[j]))
            j++;
        if (j < c->end && t[j] == '\'') j++;
        if (j < c->end && t[j] == 's') j++;
        if (i == j) return kill(c);
        c->start = (uint32_t)i, c->end = (uint32_t)j;
        char w[24];
        size_t after = j;
        while (after < len && phi_is_alpha(t[after]))
            after++;
        while (after < len && (phi_is_alpha(t[after]) || t[after] == '-' || t[after] == ' '))
            after++;
        if (c->start > 0 && (t[c->start - 1] == '.' || phi_is_digit(t[c->start - 1])))
            return kill(c);
        if (phi_next_word(t, len, after, w, sizeof w) && strcmp(w, "ago") == 0) return kill(c);
        if (p->score < 0.7f) { /* "92 F": temperatures look alike */
            size_t b = c->start > 16 ? c->start - 16 : 0;
            for (size_t k = b; k + 1 < c->start; k++)
                if (phi_lower(t[k]) == 't' &&
                    (phi_lower(t[k + 1]) == 'e' || t[k + 1] == ':' || phi_lower(t[k + 1]) == 'm'))
                    return kill(c);
        }
        return;
    }
    case PHI_V_PHONE:
    case PHI_V_PHONE_LOOSE: validate_phone(d, s, c, v); return;
    case PHI_V_EMAIL: return;
    case PHI_V_URL: {
        while (c->end > c->start && strchr(".,;:!?)'\"", t[c->end - 1]))
            c->end--;
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
        uint32_t before = phi_ctx_before(d, s, c->start, 40);
        if (before & CB(PHI_C_SSN))
            c->score = 0.95f;
        else if (p->score < 0.7f)
            return kill(c); /* spaced digits need the label */
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
        uint32_t before = phi_ctx_before(d, s, c->start, 40);
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
        if (phi_ctx_before(d, s, c->start, 30) & CB(PHI_C_DEA)) c->score = 0.95f;
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
        if (phi_ctx_before(d, s, c->start, 30) & CB(PHI_C_VEHICLE)) {
            int nd, nl;
            phi_count_chars(t, c->start, c->end, &nd, &nl);
            if (nd >= 3 && nl >= 2) {
                c->score = 0.8f;
                return;
            }
        }
        return kill(c);
    case PHI_V_IDVAL: phi_validate_id(d, s, c); return;
    case PHI_V_ADDRESS: phi_validate_address(d, s, c); return;
    case PHI_V_CITY_STATE: phi_validate_city_state(d, s, c); return;
    case PHI_V_ZIP_STATE:
    case PHI_V_ZIP_CTX: {
        /* "ZIP: 394 13", "postal code B0J 2H0": the value starts at its first digit, or
         * at a letter followed by a digit. */
        size_t i = c->start;
        while (i < c->end && !phi_is_digit(t[i]) &&
               !(phi_is_alpha(t[i]) && i + 1 < c->end && phi_is_digit(t[i + 1]) &&
                 (i == c->start || !phi_is_alpha(t[i - 1]))))
            i++;
        if (i >= c->end) return kill(c);
        c->start = (uint32_t)i;
        return;
    }
    case PHI_V_CITY_CTX: phi_validate_city_ctx(d, s, c); return;
    case PHI_V_FACILITY: phi_validate_facility(d, s, c); return;
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

/* ---- the passes ---- */

/* Each pass reads and writes only the document's own state in s (text, len,
 * cands, kws, toks, ents, ids_pos, ids_kc) and buffers it empties or resets
 * before use (tmp, prep, nameset, named), so the passes of several documents can be
 * interleaved (phi_detect_batch). */
typedef int (*pass_fn)(const phi_detector *d, phi_scratch *s);

/* Hyperscan's main pass: value candidates by their ends. */
static int pass_regex(const phi_detector *d, phi_scratch *s)
{
    s->cands.n = s->kws.n = s->toks.n = s->caps.n = s->ents.n = 0;
    s->oom = s->cancelled = 0;
    if (s->len > 0) {
        hs_error_t e =
            hs_scan(d->db.main, (const char *)s->text, (unsigned)s->len, 0, s->hs, on_match, s);
        if (s->oom) return PHI_ENOMEM;
        if (s->cancelled) return PHI_ECANCELED;
        if (e != HS_SUCCESS) return PHI_EENGINE;
        /* After the pass, so its candidates never stand in on_match's window. */
        int rc = phi_shapes_zero_groups(d, s);
        if (rc) return rc;
    }
    /* Hyperscan reports in order of end; sort only if that ever changes. */
    const phi_kw *k = s->kws.p;
    bool sorted = true;
    for (size_t i = 1; i < s->kws.n && sorted; i++)
        sorted = cmp_kw(&k[i - 1], &k[i]) <= 0;
    if (!sorted) qsort(s->kws.p, s->kws.n, sizeof(phi_kw), cmp_kw);
    return PHI_OK;
}

/* The starts of the value candidates, then their validation. */
static int pass_validate(const phi_detector *d, phi_scratch *s)
{
    phi_cand *c = s->cands.p;
    for (size_t i = 0; i < s->cands.n; i++) {
        if ((i & 0xFFF) == 0xFFF && phi_cancelled(s)) return PHI_ECANCELED;
        int rc = find_start(d, s, &c[i]);
        if (rc) return rc;
    }
    for (size_t i = 0; i < s->cands.n; i++) {
        if ((i & 0xFFF) == 0xFFF && phi_cancelled(s)) return PHI_ECANCELED;
        if (c[i].dead || c[i].pat == 0xFFFF) continue; /* final already (phi_lower_state_zip) */
        validate(d, s, &c[i]);
        if (c[i].end <= c[i].start || c[i].end > s->len) c[i].dead = 1;
    }
    return PHI_OK;
}

/* Overlaps, then the entities of the result. */
static int pass_resolve(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *text = s->text;
    /* The dead candidates out first, in order: the stable sort of the rest puts them
     * where sorting all would have (and the sweep passes over the dead anyway). */
    phi_cand *c = s->cands.p;
    size_t live = 0;
    for (size_t i = 0; i < s->cands.n; i++)
        if (!c[i].dead) c[live++] = c[i];
    s->cands.n = live;
    int rc = sort_cands(s);
    if (rc) return rc;
    c = s->cands.p;
    /* Greedy sweep: keep a stack of accepted candidates; a newcomer that
     * overlaps the top merges with it (same type), or the better of the two
     * keeps the overlap and the other keeps what lies outside it (an address
     * block that runs into a city keeps its street part). */
    size_t top = 0; /* accepted are c[0..top) (compacted in place) */
    for (size_t i = 0; i < s->cands.n; i++) {
        phi_cand x = c[i];
        if (x.dead) continue;
        bool keep = true;
        while (keep && top > 0 && c[top - 1].end > x.start) {
            phi_cand *y = &c[top - 1];
            if (y->type == x.type) {
                if (x.end > y->end) y->end = x.end;
                if (x.score > y->score) y->score = x.score;
                keep = false;
            } else if (better(&x, y)) {
                size_t e = x.start;
                while (e > y->start && !phi_is_alnum(text[e - 1]) && text[e - 1] < 0x80)
                    e--;
                if (e > y->start) {
                    y->end = (uint32_t)e;
                    break;
                }
                top--;
            } else {
                size_t b = y->end;
                while (b < x.end && !phi_is_alnum(text[b]) && text[b] < 0x80)
                    b++;
                if (b >= x.end)
                    keep = false;
                else
                    x.start = (uint32_t)b;
            }
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

/* A birth year alone ("born in 1931", "year of birth: 1931", "DOB 1931"): plain years are
 * not dates, but a year of birth 90 or more years back tells an age over 89, which Safe
 * Harbor removes with the year (164.514(b)(2)(i)(C)). Such years become DATE findings. */
static int pass_birth_years(const phi_detector *d, phi_scratch *s)
{
    (void)d;
    const uint8_t *t = s->text;
    size_t len = s->len;
    const phi_kw *k = s->kws.p;
    int limit = 0;
    for (size_t i = 0; i < s->kws.n; i++) {
        if (k[i].cls != PHI_C_DATE) continue;
        size_t a = k[i].start, e = k[i].end;
        if ((t[a] | 0x20) != 'b' && (t[a] | 0x20) != 'd') continue;
        if (!(phi_word_is(t, a, e, "born") || phi_word_is(t, a, e, "birth") ||
              phi_word_is(t, a, e, "dob") || phi_word_is(t, a, e, "d.o.b")))
            continue;
        /* up to two small words between: "born in", "birth year", "dob is" */
        size_t p = e;
        for (int w = 0; w < 3 && p < len; w++) {
            while (p < len && (t[p] == ' ' || t[p] == ':' || t[p] == '-' || t[p] == '.'))
                p++;
            size_t q = p;
            while (q < len && phi_is_alpha(t[q]))
                q++;
            if (q == p || w == 2) break;
            if (!(phi_word_is(t, p, q, "in") || phi_word_is(t, p, q, "year") ||
                  phi_word_is(t, p, q, "yr") || phi_word_is(t, p, q, "is") ||
                  phi_word_is(t, p, q, "was") || phi_word_is(t, p, q, "of")))
                break;
            p = q;
        }
        if (p + 4 > len || (p > 0 && phi_is_alnum(t[p - 1]))) continue;
        size_t q = p;
        while (q < len && phi_is_digit(t[q]))
            q++;
        if (q - p != 4 || (q < len && (phi_is_alnum(t[q]) || t[q] == '/' || t[q] == '-'))) continue;
        int y =
            (t[p] - '0') * 1000 + (t[p + 1] - '0') * 100 + (t[p + 2] - '0') * 10 + (t[p + 3] - '0');
        if (!limit) {
            time_t now = time(NULL);
            struct tm tmv;
            gmtime_r(&now, &tmv);
            limit = tmv.tm_year + 1900 - 90;
        }
        if (y < 1850 || y > limit) continue;
        phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
        if (!c) return PHI_ENOMEM;
        k = s->kws.p;
        c->start = (uint32_t)p, c->end = (uint32_t)q, c->pat = 0xFFFF;
        c->type = PHI_DATE, c->dead = 0, c->score = 0.85f;
    }
    return PHI_OK;
}

static const pass_fn passes[] = {pass_regex,    phi_walk_run,     pass_validate, phi_names_run,
                                 phi_addr_grab, pass_birth_years, pass_resolve};
enum { NPASSES = sizeof passes / sizeof passes[0] };

int phi_detect_run(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len)
{
    s->text = text;
    s->len = len;
    for (size_t p = 0; p < NPASSES; p++) {
        if (phi_cancelled(s)) return PHI_ECANCELED;
        int rc = passes[p](d, s);
        if (rc) return rc;
    }
    return PHI_OK;
}

/* Exchange the document state of s with st (before and after each pass). */
static void doc_swap(phi_scratch *s, phi_docst *st)
{
    phi_docst t = {s->text, s->len,  s->cands,   s->kws,    s->toks,
                   s->caps, s->ents, s->ids_pos, s->ids_kc, 0};
    s->text = st->text, s->len = st->len, s->cands = st->cands, s->kws = st->kws;
    s->toks = st->toks, s->caps = st->caps, s->ents = st->ents, s->ids_pos = st->ids_pos;
    s->ids_kc = st->ids_kc;
    t.rc = st->rc;
    *st = t;
}

int phi_detect_batch(const phi_detector *d, phi_scratch *s, phi_batch_doc *docs, size_t n)
{
    if (!s->docst) {
        s->docst = calloc(PHI_BATCH_CHUNK, sizeof *s->docst);
        if (!s->docst) return PHI_ENOMEM;
    }
    s->batch_ents.n = 0;
    for (size_t c0 = 0; c0 < n; c0 += PHI_BATCH_CHUNK) {
        size_t m = n - c0 < PHI_BATCH_CHUNK ? n - c0 : PHI_BATCH_CHUNK;
        for (size_t k = 0; k < m; k++) {
            phi_docst *st = &s->docst[k];
            const phi_batch_doc *doc = &docs[c0 + k];
            st->text = doc->text ? doc->text : (const uint8_t *)"", st->len = doc->len;
            st->rc = PHI_OK;
            if (!doc->text && doc->len) st->rc = PHI_EINVAL;
            if (doc->len > PHI_MAX_INPUT) st->rc = PHI_ETOOBIG;
        }
        /* Each pass over every document of the chunk before the next pass: the
         * pass's code and tables stay in the caches. */
        for (size_t p = 0; p < NPASSES; p++)
            for (size_t k = 0; k < m; k++) {
                phi_docst *st = &s->docst[k];
                if (st->rc) continue;
                if (phi_cancelled(s)) {
                    st->rc = PHI_ECANCELED;
                    continue;
                }
                doc_swap(s, st);
                int rc = passes[p](d, s);
                doc_swap(s, st);
                st->rc = rc;
            }
        for (size_t k = 0; k < m; k++) {
            phi_docst *st = &s->docst[k];
            phi_batch_doc *doc = &docs[c0 + k];
            doc->n = 0, doc->ents = NULL;
            if (!st->rc && phi_vec_reserve(&s->batch_ents, s->batch_ents.n + st->ents.n + 1,
                                           sizeof(phi_entity)) != PHI_OK)
                st->rc = PHI_ENOMEM;
            doc->status = st->rc;
            if (st->rc) continue;
            memcpy((phi_entity *)s->batch_ents.p + s->batch_ents.n, st->ents.p,
                   st->ents.n * sizeof(phi_entity));
            s->batch_ents.n += st->ents.n;
            doc->n = st->ents.n;
        }
    }
    /* The results are in order in one array, which may have moved while it grew. */
    const phi_entity *e = s->batch_ents.p;
    for (size_t i = 0; i < n; i++) {
        docs[i].ents = docs[i].status ? NULL : e;
        e += docs[i].n;
    }
    return PHI_OK;
}
