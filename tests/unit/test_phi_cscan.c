/*
 * test_phi_cscan: expressions of the pattern table that C code matches
 * instead of Hyperscan (phi_city_prep_scan, phi_labels_scan, phi_shapes_scan) and the
 * start finders (phi_start_fast) give the same results as
 * Hyperscan would: for every reachable end, the leftmost start, and one
 * candidate per run of consecutive ends. Compared on random strings built
 * from the pieces the expressions care about (prepositions, capitals, spaces
 * of every kind, hyphens, UTF-8 and stray high bytes, underscores, digits).
 */
#include <stdio.h>
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

/* ---- context labels ---- */

typedef struct kwlist {
    phi_kw k[8192]; /* keywords as the Hyperscan callback made them */
    size_t n;       /* count */
    const uint8_t *text;
} kwlist;

/* The callback phi_detect.c used for context patterns before phi_labels_scan. */
static int on_label(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                    void *ctx)
{
    (void)from;
    (void)fl;
    kwlist *l = ctx;
    size_t a = to;
    while (a > 0 && phi_is_alpha(l->text[a - 1]))
        a--;
    if (a == to && a > 0) a--;
    uint8_t cls = phi_patterns[id].what;
    if (l->n && l->k[l->n - 1].cls == cls && l->k[l->n - 1].end == to) return 0;
    if (l->n < 8192) {
        l->k[l->n].start = (uint32_t)a, l->k[l->n].end = (uint32_t)to, l->k[l->n].cls = cls;
        l->n++;
    }
    return 0;
}

static int cmp_kw(const void *a, const void *b)
{
    const phi_kw *x = a, *y = b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/* Compare phi_labels_scan with the context expressions on one text; 0 when equal. */
static int labels_differ(hs_database_t *db, hs_scratch_t *hss, const char *buf, size_t len)
{
    static kwlist want;
    want.n = 0, want.text = (const uint8_t *)buf;
    if (hs_scan(db, buf, (unsigned)len, 0, hss, on_label, &want) != HS_SUCCESS) return 1;
    /* Hyperscan orders by end; within one end the order is its own: compare sorted sets */
    qsort(want.k, want.n, sizeof want.k[0], cmp_kw);
    scr->text = (const uint8_t *)buf, scr->len = len, scr->kws.n = 0;
    if (phi_labels_scan(det, scr) != PHI_OK) return 1;
    const phi_kw *g = scr->kws.p;
    int bad = scr->kws.n != want.n;
    for (size_t i = 0; !bad && i < want.n; i++)
        bad =
            g[i].start != want.k[i].start || g[i].end != want.k[i].end || g[i].cls != want.k[i].cls;
    if (bad) {
        fprintf(stderr, "  text [%.*s]\n  hyperscan:", (int)(len > 300 ? 300 : len), buf);
        for (size_t i = 0; i < want.n && i < 40; i++)
            fprintf(stderr, " %u-%u/%u", want.k[i].start, want.k[i].end, want.k[i].cls);
        fprintf(stderr, "\n  C:        ");
        for (size_t i = 0; i < scr->kws.n && i < 40; i++)
            fprintf(stderr, " %u-%u/%u", g[i].start, g[i].end, g[i].cls);
        fprintf(stderr, "\n");
    }
    return bad;
}

TEST(labels_match_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    const char *ex[64];
    unsigned fl[64], ids[64], n = 0;
    for (size_t i = 0; i < phi_patterns_count && n < 64; i++)
        if (phi_patterns[i].kind == PHI_PK_CONTEXT)
            ex[n] = phi_patterns[i].re, fl[n] = phi_patterns[i].flags, ids[n] = (unsigned)i, n++;
    CHECK(n >= 20);
    hs_database_t *db = NULL;
    hs_compile_error_t *err = NULL;
    hs_scratch_t *hss = NULL;
    CHECK_INT(hs_compile_multi(ex, fl, ids, n, HS_MODE_BLOCK, NULL, &db, &err), HS_SUCCESS);
    CHECK_INT(hs_alloc_scratch(db, &hss), HS_SUCCESS);
    /* random texts from label words, their pieces, separators and look-alikes */
    static const char *const pieces[] = {
        "MRN",      "mr",        "#",         " ",        "  ",        "\n",      "\t",
        "\v",       ".",         ":",         "-",        "/",         "_",       "1",
        "42",       "medical",   "record",    "Record",   "number",    "no",      "No.",
        "med",      "rec",       "chart",     "unit",     "hospital",  "id",      "ID",
        "patient",  "pt",        "encounter", "visit",    "csn",       "fin",     "har",
        "a/c",      "a",         "c",         "acct",     "account",   "billing", "claim",
        "bank",     "iban",      "member",    "health",   "plan",      "united",  "healthcare",
        "driver",   "driver's",  "drivers",   "'",        "s",         "lic",     "license",
        "licence",  "state",     "s/n",       "sn",       "mac",       "address", "hearing",
        "aid",      "plate",     "vin",       "ss#",      "ss",        "social",  "security",
        "soc",      "sec",       "phone",     "ph",       "cell",      "text",    "fax",
        "fx",       "card",      "american",  "express",  "cc",        "npi",     "dea",
        "aba",      "ref",       "order",     "dob",      "d.o.b",     "D.O.B.",  "d",
        "o",        "b",         "follow",    "up",       "follow-up", "f/u",     "f",
        "u",        "pain",      "blood",     "pressure", "spo2",      "SpO2",    "fio2",
        "zip",      "code",      "zipcode",   "postal",   "pager",     "pg",      "addresses",
        "is",       "lives",     "at",        "live",     "on",        "in",      "to",
        "from",     "of",        "are",       "meet",     "you",       "us",      "me",
        "off",      "send",      "it",        "a",        "new",       "one",     "return",
        "deliver",  "delivered", "mail",      "ship",     "shipped",   "with",    "here",
        "they",     "refers",    "corner",    "arrived",  "based",     "drops",   "x",
        "\xc3\xa9", "\x80",      "Mrn2",      "withheld", "phones",    "#5",      "7"};
    size_t np = sizeof pieces / sizeof pieces[0];
    char buf[2048];
    unsigned seed = 7301;
    int bad = 0;
    for (int it = 0; it < 20000 && bad < 3; it++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        int m = 1 + (int)((seed >> 16) % 40);
        for (int k = 0; k < m; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = pieces[(seed >> 16) % np];
            memcpy(buf + len, w, strlen(w));
            len += strlen(w);
        }
        bad += labels_differ(db, hss, buf, len);
    }
    CHECK_INT(bad, 0);
    /* and the clinical notes, line by line (real text, real label density) */
    const char *src = getenv("PHIDB_SOURCE");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/phi/clinical-notes.jsonl", src ? src : ".");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    int lines = 0;
    while (f && fgets(buf, sizeof buf, f) && bad < 3) {
        bad += labels_differ(db, hss, buf, strlen(buf));
        lines++;
    }
    if (f) fclose(f);
    CHECK(lines > 200);
    CHECK_INT(bad, 0);
    hs_free_scratch(hss);
    hs_free_database(db);
    scr->kws.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

/* ---- start finders ---- */

TEST(start_finders_match_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    /* per family: value pieces and the separators between them, alternated, so
     * that random strings often match */
    static const char *const dnum[] = {"1",  "2",    "3",  "0",  "9",    "12",   "31",
                                       "07", "13",   "19", "20", "2021", "1999", "1899",
                                       "21", "2120", "05", "00", "123"};
    static const char *const dsep[] = {"/",  "-", ".", " ",  "  ", ":", "T", "Z",
                                       "AM", "a", "_", "\n", "/",  "-", "/"};
    static const char *const pnum[] = {"617", "555", "0142", "1", "212",     "55",
                                       "01",  "12",  "1617", "0", "5550142", "9"};
    static const char *const inum[] = {"617", "555",  "0142", "1", "212", "55",  "01",
                                       "12",  "1617", "0",    "9", "+41", "(0)", "+1"};
    static const char *const psep[] = {"-",  ".", " ",   "(",  ")",  "+",  "x", "ext. ", "\t",
                                       "  ", "a", "+1 ", "1-", ") ", " (", "-", " "};
    static const char *const mnum[] = {"Jan", "Sept", "May", "jan", "xJan", "September", "5",
                                       "12",  "31",   "32",  "th",  "st",   "Th",        "2021",
                                       "'21", "1999", "3",   "0",   "5th",  "a"};
    static const char *const msep[] = {" ", "  ", "   ", ".", ",", ", ", ". ", "_", "\n", ""};
    static const char *const gnum[] = {"12", "123", "1234", "12345", "1", "a", "9", "98"};
    static const char *const gsep[] = {" ", "  ", "\t", ".", "_", "\n", " ", " "};
    static const char *const uv[] = {"http://", "https://", "HTTP://", "ftp://",  "www.",
                                     "xwww.",   "a",        "b.com",   "/x",      "9",
                                     "_",       "Www.",     "http:/",  "\xc3\xa9"};
    static const char *const us[] = {"", "", " ", "(", ")", "\"", "<", "'", ".", "/", "\n", "{"};
    static const char *const nv[] = {"example", "a",  "b-c",   "-",    "com", "org",      "co",
                                     "uk",      "us", "ca",    "care", "9",   "x_y",      "COM",
                                     "de",      "fr", "co.uk", "info", "io",  "\xc3\xa9", "health"};
    static const char *const qv[] = {"030", "12", "1234", "617", "5", "12345", "0142", "a1"};
    static const char *const qs[] = {"(", ")", ") ", "-", " ", "(", ")", "-", "\t", "", "_"};
    /* dates followed by times, numbers followed by extensions (every other text) */
    static const char *const tnum[] = {"7",  "07", "12", "22",   "31", "2021", "21", "10",
                                       "30", "45", "9",  "1999", "13", "5",    "123"};
    static const char *const tsep[] = {"/",  "-",   ".",  " ",    "  ", ":", ":", " AM",
                                       "am", " pm", "PM", "    ", "\t", "/", " ", "a"};
    static const char *const xsep[] = {"-",    ".",     " ",     "x",         "X",  "ext",
                                       "ext.", "Ext. ", " ext ", "extension", "  ", "   x",
                                       "\t",   " ",     "-",     "ex"};
    static const char *const dmnum[] = {
        "5",  "12",  "31",      "32",   "3",   "0",   "22", "1st",  "2nd",  "3rd", "4th", "5TH",
        "of", "Jan", "January", "sept", "MAY", "Dec", "21", "2021", "1999", "19",  "x"};
    static const char *const dmsep[] = {" ", "  ", "   ", "-",   "--", ".", ", ",
                                        ",", "-",  "",    " - ", "\t", "_"};
    static const char *const mynum[] = {"Jan",  "January", "sept", "MAY", "Dec", "of",  "2021",
                                        "1999", "'21",     "'9",   "21",  "x",   "1850"};
    static const char *const mysep[] = {" ",  "  ", ".",  ",",   ", ", ". ",
                                        ".,", "",   "\t", "   ", "_"};
    static const char *const agnum[] = {
        "92", "95",  "101",  "119",   "120",      "9",      "89",    "y/o", "yo", "y.o.",
        "yr", "yrs", "year", "years", "year-old", "yr-old", "-year", "YO",  "old"};
    static const char *const agsep[] = {"", " ", "  ", "-", " - ", "   ", "\t", "_", "/", "    "};
    static const char *const imnum[] = {"in",   "since",    "In",    "during", "after",
                                        "xin",  "January",  "March", "May",    "march",
                                        "Sept", "December", "_",     "of"};
    static const char *const imsep[] = {" ", "-", "  ", "--", " - ", "   -", "", "\t", "."};
    static const char *const otnum[] = {"on", "the", "THE", "of", "by",  "since", "until", "x",
                                        "1",  "3",   "21",  "31", "32",  "0",     "01",    "st",
                                        "nd", "rd",  "th",  "TH", "3rd", "21st"};
    static const char *const otsep[] = {" ", "  ", "   ", "    ", "", "\t", "-"};
    static const char *const alnum[] = {"age", "ages", "aged", "Age", "AGE", "x",
                                        "92",  "101",  "119",  "120", "9",   "1992"};
    static const char *const alsep[] = {" ", ":", ": ", " : ", "   ", "    :", "", "::", "\t", "-"};
    static const char *const ns_[] = {".", ".", ".", "..", "/", " ", "-", "", "_", "\"", "x", "\n"};
    static hits hs;
    char buf[512];
    unsigned seed = 99;
    int bad = 0, pats = 0;
    long handled = 0, total = 0;
    for (size_t pat = 0; pat < phi_patterns_count; pat++) {
        uint8_t kind = phi_patterns[pat].kind; /* values whose starts are still to find */
        if (!phi_patterns[pat].start || (kind != PHI_PK_VALUE && kind != PHI_PK_VALUE_C)) continue;
        pats++;
        long handled0 = handled, total0 = total;
        const char *const *num = dnum, *const *sep = dsep;
        size_t nn = sizeof dnum / sizeof dnum[0], ns = sizeof dsep / sizeof dsep[0];
        switch ((phi_start)phi_patterns[pat].start) {
        case PHI_S_INTL:
            num = inum, sep = psep, nn = sizeof inum / sizeof inum[0];
            ns = sizeof psep / sizeof psep[0];
            break;
        case PHI_S_NANP:
            num = pnum, sep = psep, nn = sizeof pnum / sizeof pnum[0];
            ns = sizeof psep / sizeof psep[0];
            break;
        case PHI_S_IN_MONTH:
            num = imnum, sep = imsep, nn = sizeof imnum / sizeof imnum[0];
            ns = sizeof imsep / sizeof imsep[0];
            break;
        case PHI_S_ON_THE:
            num = otnum, sep = otsep, nn = sizeof otnum / sizeof otnum[0];
            ns = sizeof otsep / sizeof otsep[0];
            break;
        case PHI_S_AGE_LABEL:
            num = alnum, sep = alsep, nn = sizeof alnum / sizeof alnum[0];
            ns = sizeof alsep / sizeof alsep[0];
            break;
        case PHI_S_MONTH_YEAR:
            num = mynum, sep = mysep, nn = sizeof mynum / sizeof mynum[0];
            ns = sizeof mysep / sizeof mysep[0];
            break;
        case PHI_S_AGE:
            num = agnum, sep = agsep, nn = sizeof agnum / sizeof agnum[0];
            ns = sizeof agsep / sizeof agsep[0];
            break;
        case PHI_S_DAY_MONTH:
            num = dmnum, sep = dmsep, nn = sizeof dmnum / sizeof dmnum[0];
            ns = sizeof dmsep / sizeof dmsep[0];
            break;
        case PHI_S_MONTH_DAY:
            num = mnum, sep = msep, nn = sizeof mnum / sizeof mnum[0];
            ns = sizeof msep / sizeof msep[0];
            break;
        case PHI_S_URL:
            num = uv, sep = us, nn = sizeof uv / sizeof uv[0];
            ns = sizeof us / sizeof us[0];
            break;
        case PHI_S_GROUPS:
            num = gnum, sep = gsep, nn = sizeof gnum / sizeof gnum[0];
            ns = sizeof gsep / sizeof gsep[0];
            break;
        case PHI_S_PAREN:
            num = qv, sep = qs, nn = sizeof qv / sizeof qv[0];
            ns = sizeof qs / sizeof qs[0];
            break;
        case PHI_S_DOMAIN:
            num = nv, sep = ns_, nn = sizeof nv / sizeof nv[0];
            ns = sizeof ns_ / sizeof ns_[0];
            break;
        default: break;
        }
        hs_database_t *db = NULL;
        hs_compile_error_t *err = NULL;
        hs_scratch_t *hss = NULL;
        CHECK_INT(hs_compile(phi_patterns[pat].re, phi_patterns[pat].flags | HS_FLAG_SOM_LEFTMOST,
                             HS_MODE_BLOCK, NULL, &db, &err),
                  HS_SUCCESS);
        CHECK_INT(hs_alloc_scratch(db, &hss), HS_SUCCESS);
        /* families whose layouts need a rare order of pieces: more texts */
        int iters = phi_patterns[pat].start == PHI_S_GROUPS || phi_patterns[pat].start == PHI_S_URL
                        ? 30000
                        : 300000;
        for (int it = 0; it < iters && bad < 5; it++) {
            size_t len = 0;
            seed = seed * 1103515245u + 12345u;
            int n = 1 + (int)((seed >> 16) % 12);
            const char *const *fnum = num, *const *fsep = sep;
            size_t fnn = nn, fns = ns;
            if ((it & 1) && phi_patterns[pat].start == PHI_S_MDY)
                fnum = tnum, fsep = tsep, fnn = sizeof tnum / sizeof tnum[0],
                fns = sizeof tsep / sizeof tsep[0];
            if ((it & 1) && phi_patterns[pat].start == PHI_S_NANP)
                fsep = xsep, fns = sizeof xsep / sizeof xsep[0];
            for (int k = 0; k < n; k++) {
                seed = seed * 1103515245u + 12345u;
                const char *w = (k & 1) ? fsep[(seed >> 16) % fns] : fnum[(seed >> 16) % fnn];
                memcpy(buf + len, w, strlen(w));
                len += strlen(w);
            }
            hs.n = 0;
            CHECK_INT(hs_scan(db, buf, (unsigned)len, 0, hss, on_hit, &hs), HS_SUCCESS);
            for (size_t i = 0; i < hs.n; i++) {
                unsigned long long best = hs.h[i].from;
                for (size_t j = 0; j < hs.n; j++)
                    if (hs.h[j].to == hs.h[i].to && hs.h[j].from < best) best = hs.h[j].from;
                size_t got = phi_start_fast((const uint8_t *)buf, len, (uint16_t)pat, hs.h[i].to);
                total++;
                /* DEAD: the window scan would not match (its end is the text's end); the
                 * IPv6 finder's own test checks those against the window */
                if (got == SIZE_MAX || got == PHI_START_DEAD) continue;
                handled++;
                if (got != best) {
                    fprintf(stderr, "  pattern %zu text [%.*s] end %llu: hyperscan %llu, C %zu\n",
                            pat, (int)len, buf, hs.h[i].to, best, got);
                    bad++;
                }
            }
        }
        if (getenv("PHI_CSCAN_VERBOSE"))
            fprintf(stderr, "  pattern %zu: %ld of %ld matches by walking back\n", pat,
                    handled - handled0, total - total0);
        hs_free_scratch(hss);
        hs_free_database(db);
    }
    CHECK(pats >= 18);
    CHECK_INT(bad, 0);
    CHECK(handled * 2 > total); /* the finders take most matches, not just a few */
    phi_detector_free(det);
}

/* ---- number shapes and states ---- */

TEST(shapes_match_hyperscan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    const phi_cscan_pats *pp = &det->cscan;
    uint16_t pats[] = {pp->ssn,         pp->ssn_spaced, pp->dea,        pp->vin,
                       pp->comma_state, pp->state_zip,  pp->phone_dash, pp->phone_001,
                       pp->phone_dots,  pp->street,     pp->email,      pp->ipv4};
    /* per pattern: value pieces and separators, alternated */
    static const char *const ssn_v[] = {"123", "45", "6789", "12", "1234", "a", "1", "123456"};
    static const char *const ssn_s[] = {"-", "-", "-", " ", " ", "\t", "_", "", "\n"};
    static const char *const tok_v[] = {
        "AB1234567",         "Ab91234567",       "A91234567",          "AB12345678",
        "ab1234567",         "1B1234567",        "AB123456",           "x",
        "1HGCM82633A004352", "1HGCM82633A00435", "1HGCM82633A0043522", "IHGCM82633A004352",
        "1hgcm82633a004352"};
    static const char *const tok_s[] = {" ", "_", "", "-", "\xc3\xa9", "."};
    static const char *const st_v[] = {
        "Boston",        "MA",       "NY",    "Ohio",   "New York",  "New",
        "West Virginia", "Virginia", "MAINE", "ME",     "MEDICAL",   "x",
        "01103",         "0110",     "1234",  "123456", "01103-1234"};
    static const char *const st_s[] = {",", ", ", ",  ", ",\t",  " ", "",  "_",
                                       ".", "\n", "  ",  "    ", "-", ", "};
    static const char *const ph_v[] = {"555", "0142", "617",     "123",         "001",
                                       "01",  "1",    "0142x12", "0142x123456", "01421",
                                       "x",   "5550", "a555",    "1555"};
    static const char *const ph_s[] = {"-", "-", ".", ".", " ", "", "_", "x", "\n"};
    static const char *const str_v[] = {"Street",   "St",    "Ave",    "Avenue",  "Stone",
                                        "STREET",   "Rd",    "Run",    "Ridge",   "Heights",
                                        "Broadway", "Close", "Ter",    "Terrace", "x",
                                        "12",       "Dr",    "street", "Sts"};
    static const char *const str_s[] = {" ", ".", ". ", "_", "", "-", "\n", "..", "5", " ", ". "};
    static const char *const em_v[] = {"hope", "h.k", "a", "x1",  ".",    "_",       "%+", "-",
                                       "com",  "co",  "c", "b-c", "net1", "example", "uk", "Z9"};
    static const char *const em_s[] = {"@", "@", ".", ".", "-", " ", "", "_", "..", "@@", "+"};
    static const char *const ip_v[] = {"10",  "0",   "255", "256", "192",  "168", "1", "012",
                                       "199", "249", "250", "300", "1234", "a1",  "09"};
    static const char *const ip_s[] = {".", ".", ".", ".", " ", "", "..", "_", "a", "-"};
    static hits hs;
    static char buf[1024], want[8192], got[8192];
    unsigned seed = 4242;
    int bad = 0;
    for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++) {
        const phi_pattern *p = &phi_patterns[pats[k]];
        CHECK(p->kind == PHI_PK_CSCAN);
        bool end_anchored = pats[k] == pp->comma_state || pats[k] == pp->street;
        const char *const *num = st_v, *const *sep = st_s;
        size_t nn = sizeof st_v / sizeof st_v[0], ns = sizeof st_s / sizeof st_s[0];
        if (k < 2) {
            num = ssn_v, sep = ssn_s;
            nn = sizeof ssn_v / sizeof ssn_v[0], ns = sizeof ssn_s / sizeof ssn_s[0];
        } else if (k < 4) {
            num = tok_v, sep = tok_s;
            nn = sizeof tok_v / sizeof tok_v[0], ns = sizeof tok_s / sizeof tok_s[0];
        } else if (k >= 6 && k < 9) {
            num = ph_v, sep = ph_s;
            nn = sizeof ph_v / sizeof ph_v[0], ns = sizeof ph_s / sizeof ph_s[0];
        } else if (k == 9) {
            num = str_v, sep = str_s;
            nn = sizeof str_v / sizeof str_v[0], ns = sizeof str_s / sizeof str_s[0];
        } else if (k == 10) {
            num = em_v, sep = em_s;
            nn = sizeof em_v / sizeof em_v[0], ns = sizeof em_s / sizeof em_s[0];
        } else if (k == 11) {
            num = ip_v, sep = ip_s;
            nn = sizeof ip_v / sizeof ip_v[0], ns = sizeof ip_s / sizeof ip_s[0];
        }
        hs_database_t *db = NULL;
        hs_compile_error_t *err = NULL;
        hs_scratch_t *hss = NULL;
        CHECK_INT(hs_compile(p->re, p->flags | (end_anchored ? 0 : HS_FLAG_SOM_LEFTMOST),
                             HS_MODE_BLOCK, NULL, &db, &err),
                  HS_SUCCESS);
        CHECK_INT(hs_alloc_scratch(db, &hss), HS_SUCCESS);
        long matched = 0;
        for (int it = 0; it < 20000 && bad < 3; it++) {
            size_t len = 0;
            seed = seed * 1103515245u + 12345u;
            int n = 1 + (int)((seed >> 16) % 10);
            for (int q = 0; q < n; q++) {
                seed = seed * 1103515245u + 12345u;
                const char *w = (q & 1) ? sep[(seed >> 16) % ns] : num[(seed >> 16) % nn];
                if ((k == 7 || k == 8) && (q & 1)) {
                    static const char *const dash[] = {"-", "-", "-", " ", "."};
                    static const char *const dot[] = {".", ".", ".", " ", "-"};
                    w = (k == 7 ? dash : dot)[(seed >> 16) % 5];
                }
                if ((k == 7 || k == 8) && !(q & 1)) { /* phone groups in their order */
                    static const char *const g7[4][4] = {{"001", "01", "1", "0011"},
                                                         {"617", "61", "617", "6170"},
                                                         {"555", "5555", "555", "555"},
                                                         {"0142", "014", "0142", "0142a"}};
                    static const char *const g8[3][4] = {
                        {"617", "61", "617", "a617"},
                        {"555", "55", "555", "555"},
                        {"0142", "0142x12", "0142x123456", "01421"}};
                    w = k == 7 ? g7[(q / 2) % 4][(seed >> 16) % 4]
                               : g8[(q / 2) % 3][(seed >> 16) % 4];
                }
                if (k < 2 && !(q & 1)) { /* SSN groups in their order, with near misses */
                    static const char *const g[3][4] = {{"123", "123", "1234", "a123"},
                                                        {"45", "4", "456", "45"},
                                                        {"6789", "6789", "67890", "6789a"}};
                    w = g[(q / 2) % 3][(seed >> 16) % 4];
                }
                memcpy(buf + len, w, strlen(w));
                len += strlen(w);
            }
            hs.n = 0;
            CHECK_INT(hs_scan(db, buf, (unsigned)len, 0, hss, on_hit, &hs), HS_SUCCESS);
            matched += (long)hs.n;
            if (end_anchored) {
                /* every end is its own candidate, start == end (the validator finds the
                 * start); the Hyperscan callback never merged these */
                unsigned long long es[4096];
                size_t ne = 0;
                for (size_t i = 0; i < hs.n; i++) {
                    size_t j = 0;
                    while (j < ne && es[j] != hs.h[i].to)
                        j++;
                    if (j == ne) es[ne++] = hs.h[i].to;
                }
                for (size_t a = 1; a < ne; a++)
                    for (size_t b = a; b > 0 && es[b - 1] > es[b]; b--) {
                        unsigned long long x = es[b];
                        es[b] = es[b - 1], es[b - 1] = x;
                    }
                size_t used = 0;
                want[0] = 0;
                for (size_t a = 0; a < ne && used < sizeof want; a++)
                    used += (size_t)snprintf(want + used, sizeof want - used, "%llu-%llu ", es[a],
                                             es[a]);
            } else {
                expected(&hs, want, sizeof want);
            }
            scr->text = (const uint8_t *)buf, scr->len = len, scr->cands.n = 0;
            CHECK_INT(phi_shapes_scan(det, scr), PHI_OK);
            got[0] = 0;
            size_t used = 0;
            const phi_cand *c = scr->cands.p;
            for (size_t a = 0; a < scr->cands.n && used < sizeof got; a++)
                if (c[a].pat == pats[k])
                    used += (size_t)snprintf(got + used, sizeof got - used, "%u-%u ", c[a].start,
                                             c[a].end);
            if (strcmp(want, got) != 0) {
                fprintf(stderr, "  pattern %u text [%.*s]\n  hyperscan %s\n  C         %s\n",
                        pats[k], (int)len, buf, want, got);
                bad++;
            }
        }
        if (getenv("PHI_CSCAN_VERBOSE"))
            fprintf(stderr, "  pattern %u: %ld matches\n", pats[k], matched);
        CHECK(matched > 100);
        hs_free_scratch(hss);
        hs_free_database(db);
    }
    CHECK_INT(bad, 0);
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

/* ---- the walk's shape filter ---- */

/* phi_shapes_maybe is false only for words in which phi_shapes_word finds nothing:
 * every street suffix word, every two-byte word of letters and digits, digit words
 * and nine- and seventeen-byte words, each before the bytes the shapes look at. */
TEST(shapes_maybe_misses_nothing)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const word[] = {"Alley",
                                       "Ave",
                                       "Avenue",
                                       "Blvd",
                                       "Boulevard",
                                       "Broadway",
                                       "Cir",
                                       "Circle",
                                       "Close",
                                       "Court",
                                       "Crescent",
                                       "Ct",
                                       "Dr",
                                       "Drive",
                                       "Expressway",
                                       "Gardens",
                                       "Heights",
                                       "Highway",
                                       "Hwy",
                                       "Lane",
                                       "Ln",
                                       "Loop",
                                       "Parkway",
                                       "Path",
                                       "Pike",
                                       "Pkwy",
                                       "Pl",
                                       "Place",
                                       "Plaza",
                                       "Rd",
                                       "Ridge",
                                       "Road",
                                       "Row",
                                       "Run",
                                       "Sq",
                                       "Square",
                                       "St",
                                       "Street",
                                       "Ter",
                                       "Terrace",
                                       "Tpke",
                                       "Trail",
                                       "Trl",
                                       "Turnpike",
                                       "Walk",
                                       "Way",
                                       "Streets",
                                       "Stre",
                                       "0",
                                       "1",
                                       "01",
                                       "001",
                                       "555",
                                       "617",
                                       "123",
                                       "10",
                                       "255",
                                       "1234",
                                       "AB1234563",
                                       "ab1234563",
                                       "A91234563",
                                       "123456789",
                                       "Boulevars",
                                       "abcdefghj",
                                       "1HGCM82633A004352",
                                       "1hgcm82633a004352",
                                       "abcdefghjklmnprst",
                                       "M",
                                       "Mr",
                                       "MRN"};
    static const char *const after[] = {"",           " ",
                                        ".",          "-",
                                        "-45-6789",   " 45 6789",
                                        "\t45\n6789", "-0142",
                                        ".555.0142",  ".555.0142x12",
                                        ".0.0.1",     "-617-555-0142",
                                        " 02115",     ",",
                                        "_",          " 1"};
    static char text[64];
    int bad = 0;
    long found = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t nw = pass ? 62 * 62 : sizeof word / sizeof word[0];
        for (size_t w = 0; w < nw; w++) {
            char two[3] = {0};
            const char *wd = word[pass ? 0 : w];
            if (pass) {
                static const char al[] =
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                two[0] = al[w / 62], two[1] = al[w % 62];
                wd = two;
            }
            for (size_t a = 0; a < sizeof after / sizeof after[0]; a++) {
                int len = snprintf(text, sizeof text, "x %s%s", wd, after[a]);
                size_t i = 2, e = 2 + strlen(wd);
                scr->text = (const uint8_t *)text, scr->len = (size_t)len;
                scr->cands.n = 0;
                CHECK_INT(phi_shapes_word(det, scr, i, e), PHI_OK);
                found += (long)scr->cands.n;
                if (scr->cands.n && !phi_shapes_maybe(scr->text, scr->len, i, e) && bad++ < 5)
                    fprintf(stderr, "  the filter passes over [%s]\n", text);
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK(found > 200); /* the words above make many shapes */
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

/* ---- id tokens in pieces ---- */

/* The id tokens of the scan's word walk (phi_ids_word for the words that hold
 * a digit) are those of phi_ids_run over the whole text, in the same order. */
TEST(ids_by_word_match_whole_scan)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const piece[] = {"12",        "1234567",
                                        "4471823",   "AB",
                                        "x",         "-",
                                        "/",         ".",
                                        "_",         " ",
                                        "  ",        "\n",
                                        "\xc3\xa9",  "\x80",
                                        "MRN",       "mrn: ",
                                        "#",         "a1b2c3",
                                        "--",        "..",
                                        "9",         "PM-448812-A",
                                        "Acct",      "member id ",
                                        "0700-1900", "\xe2\x80\x99s",
                                        "'",         "A",
                                        "z9"};
    static char text[512];
    static phi_cand want[512];
    unsigned seed = 777;
    long bad = 0, kept = 0;
    for (int it = 0; it < 200000; it++) {
        size_t len = 0, np = 1 + (size_t)(rand_r(&seed) % 40);
        for (size_t k = 0; k < np; k++) {
            const char *p = piece[(size_t)rand_r(&seed) % (sizeof piece / sizeof piece[0])];
            size_t n = strlen(p);
            if (len + n > sizeof text) break;
            memcpy(text + len, p, n);
            len += n;
        }
        scr->text = (const uint8_t *)text, scr->len = len;
        scr->kws.n = 0, scr->cands.n = 0;
        CHECK_INT(phi_labels_scan(det, scr), PHI_OK);
        CHECK_INT(phi_ids_run(det, scr), PHI_OK);
        size_t nw = scr->cands.n;
        if (nw) memcpy(want, scr->cands.p, nw * sizeof *want);
        kept += (long)nw;
        scr->cands.n = 0;
        phi_ids_reset(scr);
        const uint8_t *t = scr->text;
        for (size_t i = 0; i < len;) {
            if (!phi_is_hs_word(t[i])) {
                i++;
                continue;
            }
            size_t e = i, digit = 0;
            while (e < len && phi_is_hs_word(t[e]))
                digit |= (size_t)phi_is_digit(t[e++]);
            if (digit) CHECK_INT(phi_ids_word(det, scr, i, e), PHI_OK);
            i = e;
        }
        const phi_cand *got = scr->cands.p;
        bool same = scr->cands.n == nw;
        for (size_t k = 0; same && k < nw; k++)
            same = got[k].start == want[k].start && got[k].end == want[k].end;
        if (!same && bad++ < 5) fprintf(stderr, "  ids differ on [%.*s]\n", (int)len, text);
    }
    CHECK_INT(bad, 0);
    CHECK(kept > 100000); /* the texts hold many kept tokens, not a few */
    scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

/* ---- the walk ---- */

static int cmp_cand3(const void *a, const void *b)
{
    const phi_cand *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->pat < y->pat ? -1 : x->pat > y->pat;
}

/* Does phi_walk_run give text what the pieces it replaces give: the name pass's
 * tokens of phi_names_tokenize (in order, every field), the labels of
 * phi_labels_scan and the candidates of phi_shapes_scan, phi_city_prep_scan,
 * phi_ids_run, phi_shapes_ordinal_scan and phi_shapes_urls? 1 (and a message) when not. */
static int walk_differs(const char *text, size_t len)
{
    static phi_tok tok[4096];
    static phi_kw kw[4096];
    static phi_cand cand[4096], got[4096];
    scr->text = (const uint8_t *)text, scr->len = len;
    scr->toks.n = scr->kws.n = scr->cands.n = 0;
    CHECK_INT(phi_names_tokenize(det, scr), PHI_OK);
    CHECK_INT(phi_labels_scan(det, scr), PHI_OK);
    CHECK_INT(phi_shapes_scan(det, scr), PHI_OK);
    CHECK_INT(phi_city_prep_scan(det, scr, det->prep_pat), PHI_OK);
    CHECK_INT(phi_ids_run(det, scr), PHI_OK);
    CHECK_INT(phi_shapes_ordinal_scan(det, scr), PHI_OK);
    CHECK_INT(phi_shapes_urls(det, scr), PHI_OK);
    size_t nt = scr->toks.n, nk = scr->kws.n, nc = scr->cands.n;
    if (nt > 4096 || nk > 4096 || nc > 4096) return 1;
    memcpy(tok, scr->toks.p, nt * sizeof *tok);
    memcpy(kw, scr->kws.p, nk * sizeof *kw);
    memcpy(cand, scr->cands.p, nc * sizeof *cand);
    scr->toks.n = scr->kws.n = scr->cands.n = 0;
    CHECK_INT(phi_walk_run(det, scr), PHI_OK);
    const char *what = NULL;
    const phi_tok *t = scr->toks.p;
    if (scr->toks.n != nt) what = "token count";
    for (size_t i = 0; !what && i < nt; i++)
        if (t[i].start != tok[i].start || t[i].end != tok[i].end || t[i].hash != tok[i].hash ||
            t[i].wflags != tok[i].wflags || t[i].dflags != tok[i].dflags ||
            t[i].shape != tok[i].shape || t[i].foreign != tok[i].foreign ||
            t[i].surname != tok[i].surname || t[i].score != tok[i].score || t[i].gap != tok[i].gap)
            what = "a token";
    const phi_kw *k = scr->kws.p;
    if (!what && scr->kws.n != nk) what = "label count";
    for (size_t i = 0; !what && i < nk; i++)
        if (k[i].start != kw[i].start || k[i].end != kw[i].end || k[i].cls != kw[i].cls)
            what = "a label";
    if (!what && scr->cands.n != nc) what = "candidate count";
    if (!what && nc) {
        memcpy(got, scr->cands.p, nc * sizeof *got);
        qsort(got, nc, sizeof *got, cmp_cand3);
        qsort(cand, nc, sizeof *cand, cmp_cand3);
        for (size_t i = 0; !what && i < nc; i++)
            if (cmp_cand3(&got[i], &cand[i]) || got[i].score != cand[i].score ||
                got[i].type != cand[i].type)
                what = "a candidate";
    }
    if (what) fprintf(stderr, "  walk differs (%s) on [%.*s]\n", what, (int)len, text);
    return what != NULL;
}

/* The walk gives what the name tokenizer, the label scan, the shapes, the "in X"
 * places and the id tokens give each by its own loop: on random texts of words,
 * apostrophes and hyphens (straight and curly), digits, underscores, UTF-8 and
 * stray bytes, and on the clinical notes. */
TEST(walk_matches_its_pieces)
{
    CHECK_INT(phi_detector_new(NULL, &det), PHI_OK);
    CHECK_INT(phi_scratch_new(det, &scr), PHI_OK);
    static const char *const pieces[] = {"Hope",
                                         "O",
                                         "Brien",
                                         "'",
                                         "'s",
                                         "'S",
                                         "-",
                                         "--",
                                         "\xe2\x80\x99s",
                                         "\xe2\x80\x99",
                                         "s",
                                         "S",
                                         "K",
                                         "\xc3\xb3",
                                         "\xc3\x93",
                                         "nya",
                                         "\xce\x91",
                                         "\xd0\x94",
                                         "\xd0\xb4",
                                         "\x80",
                                         "\xff",
                                         "\xc3",
                                         " ",
                                         "  ",
                                         "\n",
                                         "\t",
                                         ",",
                                         ", ",
                                         "@",
                                         "#",
                                         ".",
                                         ":",
                                         "_",
                                         "1",
                                         "42",
                                         "4471823",
                                         "M3535549",
                                         "2nd",
                                         "MRN",
                                         "mrn: ",
                                         "phone",
                                         "DOB",
                                         "at 12",
                                         "in",
                                         "In",
                                         "Boston",
                                         "from",
                                         "to",
                                         "Street",
                                         "St",
                                         "St.",
                                         "Ave",
                                         "MA",
                                         "02115",
                                         "555-0142",
                                         "123-45-6789",
                                         "a@b.com",
                                         "10.0.0.1",
                                         "AB1234563",
                                         "Dr",
                                         "Mr.",
                                         "wife",
                                         "mary",
                                         "I",
                                         "I'm",
                                         "don't",
                                         "ve",
                                         "abcdefghijklmnopqrst",
                                         "x",
                                         "A",
                                         "DUNMORROW",
                                         "CLIFF",
                                         "Kowalski"};
    size_t np = sizeof pieces / sizeof pieces[0];
    char buf[2048];
    unsigned seed = 4242;
    int bad = 0;
    for (int it = 0; it < 100000 && bad < 3; it++) {
        size_t len = 0;
        int m = 1 + rand_r(&seed) % 40;
        for (int q = 0; q < m; q++) {
            const char *w = pieces[(size_t)rand_r(&seed) % np];
            memcpy(buf + len, w, strlen(w));
            len += strlen(w);
        }
        bad += walk_differs(buf, len);
    }
    CHECK_INT(bad, 0);
    /* a word longer than a token can be (it is ignored either way) */
    static char big[70010];
    memset(big, 'a', sizeof big);
    memcpy(big, "Dr Hope ", 8);
    memcpy(big + sizeof big - 6, " Fox.", 5);
    CHECK_INT(walk_differs(big, sizeof big), 0);
    const char *src = getenv("PHIDB_SOURCE");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/phi/clinical-notes.jsonl", src ? src : ".");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    int lines = 0;
    while (f && fgets(buf, sizeof buf, f) && bad < 3) {
        bad += walk_differs(buf, strlen(buf));
        lines++;
    }
    if (f) fclose(f);
    CHECK(lines > 200);
    CHECK_INT(bad, 0);
    scr->toks.n = scr->kws.n = scr->cands.n = 0;
    phi_scratch_free(scr);
    phi_detector_free(det);
}

UNIT_MAIN(T(city_prep_scan_matches_hyperscan), T(labels_match_hyperscan),
          T(start_finders_match_hyperscan), T(shapes_match_hyperscan),
          T(shapes_maybe_misses_nothing), T(ids_by_word_match_whole_scan),
          T(walk_matches_its_pieces))
