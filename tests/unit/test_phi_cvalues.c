/*
 * test_phi_cvalues: the value expressions that C code matches instead of the main
 * Hyperscan database (kind PHI_PK_VALUE_C: the digit groups after a leading 0, "on the
 * 3rd", URLs) give exactly the ends Hyperscan reports for them, on random texts built from
 * the pieces each expression cares about (digit runs of every length, cue words in any
 * case, separators and white space of every kind, letters, underscores, high bytes) and
 * on every clinical note. Their starts still come from phi_start_fast or the window
 * scan, as before, so the ends are what is compared.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "phi/phi_internal.h"
#include "unit.h"

static phi_detector *det;
static phi_scratch *scr;

typedef struct ends {
    unsigned long long e[4096]; /* ends Hyperscan reported, in its order */
    size_t n;                   /* count */
} ends;

static int on_end(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                  void *ctx)
{
    (void)id;
    (void)from;
    (void)fl;
    ends *x = ctx;
    if (x->n < 4096) x->e[x->n++] = to;
    return 0;
}

typedef int (*scan_fn)(const phi_detector *d, phi_scratch *s);

/* Hyperscan's ends of pattern pat (with runs: the last end of each run of consecutive
 * ends, which the callback merged into one candidate) and the ends of the candidates
 * scan makes on buf; 0 when equal. Adds the ends to *found. */
static int differ(hs_database_t *db, hs_scratch_t *hss, uint16_t pat, scan_fn scan, bool runs,
                  const char *buf, size_t len, long *found)
{
    static ends want;
    want.n = 0;
    if (hs_scan(db, buf, (unsigned)len, 0, hss, on_end, &want) != HS_SUCCESS) return 1;
    /* distinct ends in order (Hyperscan reports each end of a pattern once, by end) */
    size_t m = 0;
    for (size_t i = 0; i < want.n; i++)
        if (m == 0 || want.e[m - 1] != want.e[i]) want.e[m++] = want.e[i];
    if (runs) {
        size_t r = 0;
        for (size_t i = 0; i < m; i++)
            if (i + 1 == m || want.e[i + 1] != want.e[i] + 1) want.e[r++] = want.e[i];
        m = r;
    }
    scr->text = (const uint8_t *)buf, scr->len = len, scr->cands.n = 0;
    if (scan(det, scr) != PHI_OK) return 1;
    const phi_cand *c = scr->cands.p;
    int bad = scr->cands.n != m;
    for (size_t i = 0; !bad && i < m; i++)
        bad = c[i].end != want.e[i] || c[i].start != PHI_START_UNKNOWN || c[i].pat != pat;
    *found += (long)m;
    if (bad) {
        fprintf(stderr, "  pattern %u text [%.*s]\n  hyperscan:", pat, (int)(len > 300 ? 300 : len),
                buf);
        for (size_t i = 0; i < m && i < 40; i++)
            fprintf(stderr, " %llu", want.e[i]);
        fprintf(stderr, "\n  C:        ");
        for (size_t i = 0; i < scr->cands.n && i < 40; i++)
            fprintf(stderr, " %u", c[i].end);
        fprintf(stderr, "\n");
    }
    return bad;
}

/* Compare scan with pattern pat's expression on 50,000 texts of the pieces val and sep
 * (alternated; common separators most of the time) and on the clinical notes. */
static void compare(uint16_t pat, scan_fn scan, bool runs, const char *const *val, size_t nv,
                    const char *const *sep, size_t ns, const char *const *common, size_t nc)
{
    const phi_pattern *p = &phi_patterns[pat];
    CHECK(p->kind == PHI_PK_VALUE_C);
    /* its start comes from phi_start_fast or the window scan, as before */
    CHECK(det->db.som[pat] != NULL);
    hs_database_t *db = NULL;
    hs_compile_error_t *err = NULL;
    hs_scratch_t *hss = NULL;
    CHECK_INT(hs_compile(p->re, p->flags, HS_MODE_BLOCK, NULL, &db, &err), HS_SUCCESS);
    CHECK_INT(hs_alloc_scratch(db, &hss), HS_SUCCESS);
    static char buf[8192];
    unsigned seed = 20261207 + pat;
    long found = 0;
    int bad = 0;
    for (int it = 0; it < 50000 && bad < 3; it++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        int n = 1 + (int)((seed >> 16) % 32);
        for (int q = 0; q < n; q++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = (q & 1) ? sep[(seed >> 16) % ns] : val[(seed >> 16) % nv];
            if ((q & 1) && (seed >> 8) % 4) w = common[(seed >> 4) % nc]; /* mostly these */
            memcpy(buf + len, w, strlen(w));
            len += strlen(w);
        }
        bad += differ(db, hss, pat, scan, runs, buf, len, &found);
    }
    CHECK_INT(bad, 0);
    if (getenv("PHI_CSCAN_VERBOSE")) fprintf(stderr, "  pattern %u: %ld ends\n", pat, found);
    CHECK(found > 1000); /* the texts do reach the expression */
    /* and the clinical notes, line by line (real text) */
    const char *src = getenv("PHIDB_SOURCE");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/phi/clinical-notes.jsonl", src ? src : ".");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    int notes = 0;
    while (f && fgets(buf, sizeof buf, f) && bad < 3) {
        bad += differ(db, hss, pat, scan, runs, buf, strlen(buf), &found);
        notes++;
    }
    if (f) fclose(f);
    CHECK(notes > 100);
    CHECK_INT(bad, 0);
    hs_free_scratch(hss);
    hs_free_database(db);
}

TEST(zero_groups_match_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const num[] = {"0",     "01",    "012",  "0123", "01234",   "012345",
                                      "0161",  "496",   "0000", "12",   "123",     "1234",
                                      "12345", "1",     "00",   "030",  "9",       "a",
                                      "x0123", "0123a", "_",    "A0",   "\xc3\xa9"};
    static const char *const sep[] = {" ",  "-",  ".", "\t", "\n", "\v", "\f", "\r",
                                      "  ", "--", "_", "/",  ",",  "",   "a",  "\x80"};
    static const char *const common[] = {" ", "-", "."};
    compare(det->cscan.zero_groups, phi_shapes_zero_groups, false, num, sizeof num / sizeof num[0],
            sep, sizeof sep / sizeof sep[0], common, sizeof common / sizeof common[0]);
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

TEST(ordinals_match_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const val[] = {
        "on",   "the",   "of",    "by",   "since", "until", "On",   "THE",   "Of",   "bY",  "the",
        "the",  "3rd",   "1st",   "2nd",  "4th",   "21st",  "31st", "32nd",  "30TH", "0th", "9Th",
        "10th", "100th", "3rds",  "3rd_", "x3rd",  "ton",   "them", "onthe", "one",  "3",   "rd",
        "3r",   "12",    "3\xc3", "_on",  "a",     "19th",  "29th", "\xe9",  "1st",  "on",  "the"};
    static const char *const sep[] = {" ",  "  ",  "   ", "    ", "\t", "\n", "\v", "\f",
                                      "\r", " \t", ", ",  "-",    "",   ".",  "_",  "\x80"};
    static const char *const common[] = {" ", "  ", " "};
    compare(det->cscan.ordinal, phi_shapes_ordinal_scan, false, val, sizeof val / sizeof val[0],
            sep, sizeof sep / sizeof sep[0], common, sizeof common / sizeof common[0]);
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

TEST(urls_match_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const val[] = {
        "http://", "https://", "ftp://",   "www.", "HTTP://", "Www.",  "hTtPs://", "http:/",
        "http//",  "htp://",   "ftps://",  "ww.",  "wwww.",   "xwww.", "_http://", "www",
        "a",       "x.com",    "/path",    "a.b",  "9",       ".",     "..",       ":",
        "://",     "@",        "\xc3\xa9", "\x80", "?q=1",    "#f",    "%20",      "-"};
    static const char *const sep[] = {" ", "\t", "\n", "\v", "\f", "\r", "<", ">", "\"", "'",
                                      "(", ")",  "[",  "]",  "{",  "}",  "",  ",", ";",  "."};
    static const char *const common[] = {"", "", " "};
    compare(det->cscan.url, phi_shapes_urls, true, val, sizeof val / sizeof val[0], sep,
            sizeof sep / sizeof sep[0], common, sizeof common / sizeof common[0]);
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

UNIT_MAIN(T(zero_groups_match_hyperscan), T(ordinals_match_hyperscan), T(urls_match_hyperscan))
