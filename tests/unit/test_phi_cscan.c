/*
 * test_phi_cscan: expressions of the pattern table that C code matches
 * instead of Hyperscan (phi_city_prep_scan) give the same candidates as
 * Hyperscan would: for every reachable end, the leftmost start, and one
 * candidate per run of consecutive ends. Compared on random strings built
 * from the pieces the expressions care about (prepositions, capitals, spaces
 * of every kind, hyphens, UTF-8 and stray high bytes, underscores, digits).
 */
#include <stdlib.h>
#include <string.h>

#include "phi/phi_internal.h"
#include "unit.h"

static phi_detector *det;
static phi_scratch *scr;

typedef struct hit {
    unsigned long long from, to;
} hit;

typedef struct hits {
    hit h[4096]; /* matches reported by Hyperscan */
    size_t n;    /* count */
} hits;

static int on_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                  void *ctx)
{
    (void)id;
    (void)fl;
    hits *hs = ctx;
    if (hs->n < 4096) hs->h[hs->n].from = from, hs->h[hs->n].to = to, hs->n++;
    return 0;
}

/* Expected candidates "start-end " from Hyperscan's start-tracking matches. */
static void expected(const hits *hs, char *out, size_t cap)
{
    unsigned long long es[4096], st[4096];
    size_t ne = 0;
    for (size_t i = 0; i < hs->n; i++) {
        size_t j = 0;
        while (j < ne && es[j] != hs->h[i].to)
            j++;
        if (j == ne)
            es[ne] = hs->h[i].to, st[ne] = hs->h[i].from, ne++;
        else if (hs->h[i].from < st[j])
            st[j] = hs->h[i].from;
    }
    for (size_t a = 1; a < ne; a++) {
        unsigned long long x = es[a], y = st[a];
        size_t b = a;
        while (b > 0 && es[b - 1] > x)
            es[b] = es[b - 1], st[b] = st[b - 1], b--;
        es[b] = x, st[b] = y;
    }
    out[0] = 0;
    size_t used = 0;
    for (size_t a = 0; a < ne; a++) {
        if (a + 1 < ne && es[a + 1] == es[a] + 1) continue;
        used += (size_t)snprintf(out + used, cap - used, "%llu-%llu ", st[a], es[a]);
        if (used >= cap) return;
    }
}

TEST(city_prep_scan_matches_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    const phi_pattern *p = &phi_patterns[det->prep_pat];
    CHECK(p->kind == PHI_PK_CSCAN);
    hs_database_t *db = NULL;
    hs_compile_error_t *err = NULL;
    hs_scratch_t *hss = NULL;
    CHECK_INT(hs_compile(p->re, p->flags | HS_FLAG_SOM_LEFTMOST, HS_MODE_BLOCK, NULL, &db, &err),
              HS_SUCCESS);
    CHECK_INT(hs_alloc_scratch(db, &hss), HS_SUCCESS);
    static const char *const pieces[] = {
        "in",     "at", "from", "to",  " ",    "  ",         "   ",      "    ",
        "-",      "Ab", "Bo",   "ABC", "NEW",  "\xc3\x89to", "\xc3\x89", "\x80",
        "x",      "In", "\t",   "\n",  "\v",   "_",          "9",        "McDonald",
        "O'Neil", "aa", "Z",    "New", "York", "into",       "Boston"};
    size_t np = sizeof pieces / sizeof pieces[0];
    static hits hs;
    char buf[1024], want[8192], got[8192];
    unsigned seed = 20261206;
    int bad = 0;
    for (int it = 0; it < 20000 && bad < 3; it++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        int n = 1 + (int)((seed >> 16) % 30);
        for (int k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = pieces[(seed >> 16) % np];
            memcpy(buf + len, w, strlen(w));
            len += strlen(w);
        }
        hs.n = 0;
        CHECK_INT(hs_scan(db, buf, (unsigned)len, 0, hss, on_hit, &hs), HS_SUCCESS);
        expected(&hs, want, sizeof want);
        scr->text = (const uint8_t *)buf, scr->len = len, scr->cands.n = 0;
        CHECK_INT(phi_city_prep_scan(det, scr, det->prep_pat), PHI_OK);
        got[0] = 0;
        size_t used = 0;
        const phi_cand *c = scr->cands.p;
        for (size_t a = 0; a < scr->cands.n && used < sizeof got; a++)
            used += (size_t)snprintf(got + used, sizeof got - used, "%u-%u ", c[a].start, c[a].end);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "  text [%.*s]\n  hyperscan %s\n  C         %s\n", (int)len, buf, want,
                    got);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    hs_free_scratch(hss);
    hs_free_database(db);
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

UNIT_MAIN(T(city_prep_scan_matches_hyperscan))
