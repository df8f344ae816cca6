/*
 * test_phi_walk: the small helpers the word walk uses to save work, each against
 * the plain definition it replaces (the walk as a whole is compared with its
 * pieces in test_phi_cscan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

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

/* phi_ctx_before_list as first written: every label in the window whose gap to pos is
 * only separators and filler words, nearest first. */
static uint32_t before_ref(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window,
                           uint8_t *cls, size_t cap, size_t *n)
{
    const phi_kw *k = s->kws.p;
    uint32_t m = 0;
    *n = 0;
    for (size_t i = s->kws.n; i > 0; i--) {
        const phi_kw *w = &k[i - 1];
        if (w->end > pos) continue;
        if (w->end + window < pos) break;
        if (w->start < pos && phi_gap_ok(d, s->text, w->end, pos)) {
            m |= 1u << w->cls;
            if (*n < cap) cls[*n] = w->cls;
            ++*n;
        }
    }
    return m;
}

/* The labels before a value (phi_ctx_before_list, which stops at the first byte in a gap
 * that no word holds) are those of the plain definition: on random texts of filler and
 * other words, separators, digits and other bytes, with labels ending anywhere. */
TEST(labels_before)
{
    phi_detector *det = NULL;
    phi_scratch *scr = NULL;
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const piece[] = {
        "is",   "number", "no", "the", "mrn", "Patient", ": ", " ",  "#",   "-",  ".",  "12",
        "4471", "x",      "'s", "(",   "\n",  "O'Brien", "%",  "of", "his", "my", ", ", "\xc3\xa9"};
    static char text[256];
    unsigned seed = 4711;
    long found = 0;
    int bad = 0;
    for (int it = 0; it < 100000 && det && scr; it++) {
        size_t len = 0, np = 1 + (size_t)(rand_r(&seed) % 30);
        for (size_t q = 0; q < np; q++) {
            const char *p = piece[(size_t)rand_r(&seed) % (sizeof piece / sizeof piece[0])];
            size_t m = strlen(p);
            if (len + m > sizeof text) break;
            memcpy(text + len, p, m);
            len += m;
        }
        if (len < 2) continue;
        scr->text = (const uint8_t *)text, scr->len = len, scr->kws.n = 0;
        size_t nk = (size_t)(rand_r(&seed) % 8), end = 0;
        for (size_t q = 0; q < nk; q++) {
            end += (size_t)(rand_r(&seed) % 12);
            if (end > len) break;
            phi_kw *k = phi_vec_push(&scr->kws, sizeof *k);
            CHECK(k != NULL);
            if (!k) break;
            size_t st = end > 3 ? end - (size_t)(rand_r(&seed) % 4) : 0;
            k->start = (uint32_t)st, k->end = (uint32_t)end, k->cls = (uint8_t)(rand_r(&seed) % 20);
        }
        size_t pos = (size_t)(rand_r(&seed) % (len + 1)), n1, n2;
        uint8_t c1[4], c2[4];
        uint32_t m1 = phi_ctx_before_list(det, scr, pos, 40, c1, sizeof c1, &n1);
        uint32_t m2 = before_ref(det, scr, pos, 40, c2, sizeof c2, &n2);
        found += (long)n2;
        if ((m1 != m2 || n1 != n2 || memcmp(c1, c2, n1 < 4 ? n1 : 4)) && bad++ < 5)
            fprintf(stderr, "  labels before %zu differ in [%.*s]\n", pos, (int)len, text);
    }
    CHECK_INT(bad, 0);
    CHECK(found > 10000);
    if (scr) scr->kws.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

/* The IPv6 start finder against what it replaces, find_start's window scan (the
 * pattern's start-tracking database over the window it would scan), at every end the
 * main scan can report in random texts of hex groups, colons, word bytes and separators:
 * the same start, or PHI_START_DEAD where the window finds no match; it must agree
 * wherever it answers, answer for almost every end, and the window must be PHI_IPV6_MAX
 * wide. */
typedef struct {
    unsigned long long end, best;
} som_want;

static int on_som_want(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                       void *ctx)
{
    (void)id;
    (void)fl;
    som_want *q = ctx;
    if (to == q->end && from < q->best) q->best = from;
    return 0;
}

static int on_end(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                  void *ctx)
{
    (void)id;
    (void)from;
    (void)fl;
    ((uint8_t *)ctx)[to] = 1;
    return 0;
}

TEST(ipv6_start_as_window)
{
    size_t pat = 0;
    while (pat < phi_patterns_count && phi_patterns[pat].start != PHI_S_IPV6)
        pat++;
    CHECK(pat < phi_patterns_count);
    if (pat == phi_patterns_count) return;
    phi_detector *det;
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(det->db.width[pat], PHI_IPV6_MAX);
    hs_database_t *db = NULL;
    hs_compile_error_t *err = NULL;
    hs_scratch_t *hss = NULL;
    CHECK_INT(hs_compile(phi_patterns[pat].re, phi_patterns[pat].flags | HS_FLAG_SOM_LEFTMOST,
                         HS_MODE_BLOCK, NULL, &db, &err),
              HS_SUCCESS);
    CHECK_INT(hs_alloc_scratch(db, &hss), HS_SUCCESS);
    static const char *const tok[] = {"a",  "ab", "1",   "1234", "fe80", "ABCD", "12345",
                                      ":",  "::", ":::", ":",    "::",   "_",    "x",
                                      "g1", " ",  ".",   "0",    "db8",  "ffff:"};
    const size_t ntok = sizeof tok / sizeof tok[0];
    char buf[300];
    unsigned seed = 7;
    long agree = 0, fallback = 0, bad = 0, matches = 0;
    for (int it = 0; it < 40000 && bad < 5; it++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        int n = 1 + (int)((seed >> 16) % 40);
        for (int k = 0; k < n && len + 8 < sizeof buf; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = tok[(seed >> 16) % ntok];
            memcpy(buf + len, w, strlen(w));
            len += strlen(w);
        }
        /* The ends the detector's main scan can report (matches in the whole text). */
        uint8_t ends[sizeof buf + 1] = {0};
        CHECK_INT(hs_scan(db, buf, (unsigned)len, 0, hss, on_end, ends), HS_SUCCESS);
        for (size_t end = 1; end <= len; end++) {
            if (!ends[end]) continue;
            size_t w = end > PHI_IPV6_MAX ? end - PHI_IPV6_MAX : 0;
            for (size_t k = 0; w > 0 && k < 64 && phi_is_alnum((uint8_t)buf[w - 1]); k++)
                w--;
            som_want q = {end - w, (unsigned long long)-1};
            CHECK_INT(hs_scan(db, buf + w, (unsigned)(end - w), 0, hss, on_som_want, &q),
                      HS_SUCCESS);
            size_t want = q.best == (unsigned long long)-1 ? PHI_START_DEAD : w + q.best;
            size_t got = phi_start_fast((const uint8_t *)buf, len, (uint16_t)pat, end);
            matches++;
            if (got == SIZE_MAX) {
                fallback++;
                continue;
            }
            if (got == want) {
                agree++;
                continue;
            }
            fprintf(stderr, "  text [%.*s] end %zu: window %zu, C %zu\n", (int)len, buf, end, want,
                    got);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(matches > 20000);
    CHECK(agree * 10 > matches * 9); /* the finder answers for almost every match */
    if (getenv("PHI_CSCAN_VERBOSE"))
        fprintf(stderr, "  %ld matches: %ld by walking, %ld by the window scan\n", matches, agree,
                fallback);
    hs_free_scratch(hss);
    hs_free_database(db);
    phi_detector_free(det);
}

UNIT_MAIN(T(gap_kinds), T(labels_before), T(ipv6_start_as_window))
