/*
 * test_phi_fold: identifiers written with Unicode spellings of ASCII characters (full-width
 * forms, non-breaking and other hyphens and dashes, no-break spaces) are found as their ASCII
 * spelling is, with offsets in the original text (phi_fold.c); a batch finds the same as
 * single scans; texts without such characters are scanned as before.
 */
#include <stdlib.h>
#include <string.h>

#include "phi/phi.h"
#include "unit.h"

static phi_detector *det;
static phi_scratch *scr;

static void setup(void)
{
    if (det) return;
    if (phi_detector_new(NULL, &det) != 0 || phi_scratch_new(det, &scr) != 0) {
        fprintf(stderr, "cannot create detector\n");
        exit(1);
    }
}

/* The entity of type over exactly (what) in text, by its bytes: 1 when found. */
static int found(const char *text, const char *what, phi_type type)
{
    const phi_entity *e;
    size_t n;
    setup();
    if (phi_scan_view(det, scr, (const uint8_t *)text, strlen(text), &e, &n) != 0) return 0;
    const char *at = strstr(text, what);
    if (!at) return 0;
    size_t a = (size_t)(at - text), b = a + strlen(what);
    for (size_t i = 0; i < n; i++)
        if (e[i].start == a && e[i].end == b && e[i].type == type) return 1;
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  have %u-%u %s '%.*s'\n", e[i].start, e[i].end, phi_type_name(e[i].type),
                (int)(e[i].end - e[i].start), text + e[i].start);
    return 0;
}

#define NBH   "\xe2\x80\x91" /* U+2011 non-breaking hyphen */
#define ENDSH "\xe2\x80\x93" /* U+2013 en dash */
#define NBSP  "\xc2\xa0"     /* U+00A0 no-break space */
#define FW(c) "\xef\xbc" c   /* full-width digit or sign U+FF10.. (second byte 0x90..) */

TEST(unicode_spellings_are_found)
{
    CHECK(found("SSN 123" NBH "45" NBH "6789 on file", "123" NBH "45" NBH "6789", PHI_SSN));
    CHECK(found("ssn " FW("\x91") FW("\x92") FW("\x93") FW("\x8d") FW("\x94") FW("\x95") FW("\x8d")
                    FW("\x96") FW("\x97") FW("\x98") FW("\x99") " noted",
                FW("\x91") FW("\x92") FW("\x93") FW("\x8d") FW("\x94") FW("\x95") FW("\x8d")
                    FW("\x96") FW("\x97") FW("\x98") FW("\x99"),
                PHI_SSN));
    CHECK(found("call 617" ENDSH "555" ENDSH "0199 today", "617" ENDSH "555" ENDSH "0199",
                PHI_PHONE));
    CHECK(
        found("phone" NBSP "617" NBSP "555" NBSP "0199.", "617" NBSP "555" NBSP "0199", PHI_PHONE));
    /* Entities after a folded one keep their offsets in the original text. */
    CHECK(found("SSN 123" NBH "45" NBH "6789, seen 03/02/2024", "03/02/2024", PHI_DATE));
    /* The SSA rules still apply to the folded digits: a 9xx area is no SSN. */
    CHECK(!found("ssn 987" NBH "65" NBH "4321", "987" NBH "65" NBH "4321", PHI_SSN));
}

TEST(invalid_and_partial_sequences)
{
    const phi_entity *e;
    size_t n;
    setup();
    /* A cut sequence at the end, a lone lead byte, continuation bytes alone: copied, and the
     * SSN before them is found with valid offsets. */
    const char *texts[] = {"ssn 123" NBH "45" NBH "6789 \xe2\x80",
                           "ssn 123" NBH "45" NBH "6789 \xef",
                           "\x80\x80 ssn 123" NBH "45" NBH "6789 \xc2", NBH NBH NBH};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t len = strlen(texts[i]);
        CHECK_INT(phi_scan_view(det, scr, (const uint8_t *)texts[i], len, &e, &n), PHI_OK);
        for (size_t k = 0; k < n; k++)
            CHECK(e[k].start < e[k].end && e[k].end <= len);
        if (i < 3) CHECK_INT(n, 1);
    }
}

TEST(batch_finds_what_single_scans_find)
{
    setup();
    const char *texts[] = {"SSN 123" NBH "45" NBH "6789 and 617" ENDSH "555" ENDSH "0199",
                           "plain ascii: SSN 123-45-6789, Dr. John Carter",
                           "ssn " FW("\x91") FW("\x92") FW("\x93") "-45-6789", "nothing here", ""};
    enum { N = sizeof texts / sizeof texts[0] };
    phi_entity single[N][16];
    size_t ns[N];
    for (size_t i = 0; i < N; i++) {
        const phi_entity *e;
        CHECK_INT(phi_scan_view(det, scr, (const uint8_t *)texts[i], strlen(texts[i]), &e, &ns[i]),
                  PHI_OK);
        CHECK(ns[i] <= 16);
        memcpy(single[i], e, (ns[i] < 16 ? ns[i] : 16) * sizeof *e);
    }
    phi_batch_doc docs[N];
    for (size_t i = 0; i < N; i++)
        docs[i] = (phi_batch_doc){(const uint8_t *)texts[i], strlen(texts[i]), NULL, 0, 0};
    CHECK_INT(phi_scan_batch(det, scr, docs, N), PHI_OK);
    for (size_t i = 0; i < N; i++) {
        CHECK(docs[i].text == (const uint8_t *)texts[i]); /* the caller's text given back */
        CHECK_INT(docs[i].len, strlen(texts[i]));
        CHECK_INT(docs[i].status, PHI_OK);
        CHECK_INT(docs[i].n, ns[i]);
        for (size_t k = 0; k < docs[i].n && k < ns[i]; k++)
            CHECK(docs[i].ents[k].start == single[i][k].start &&
                  docs[i].ents[k].end == single[i][k].end &&
                  docs[i].ents[k].type == single[i][k].type);
    }
    CHECK(ns[0] == 2 && ns[2] == 1);
}

TEST(redaction_replaces_the_original_bytes)
{
    setup();
    const char *text = "SSN 123" NBH "45" NBH "6789 on file";
    uint8_t *out = NULL;
    size_t olen = 0;
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)text, strlen(text), NULL, &out, &olen), PHI_OK);
    CHECK(out && olen == strlen("SSN [SSN] on file") &&
          memcmp(out, "SSN [SSN] on file", olen) == 0);
    free(out);
}

static void teardown(void)
{
    phi_scratch_free(scr);
    phi_detector_free(det);
}

int main(int argc, char **argv)
{
    static const unit_test tests[] = {
        T(unicode_spellings_are_found), T(invalid_and_partial_sequences),
        T(batch_finds_what_single_scans_find), T(redaction_replaces_the_original_bytes)};
    int rc = unit_run(tests, sizeof tests / sizeof tests[0], argc, argv);
    teardown();
    return rc;
}
