/*
 * fuzz_phi: libFuzzer target for the PHI scanner. Any bytes go through scan,
 * the three redaction modes and the field de-identifiers; the invariants the
 * server relies on are checked (entities sorted, non-overlapping, inside the
 * input; masking keeps the length; tags and surrogates produce output; a
 * batch scan of the input and its lines gives each what a scan of it alone
 * gives) and a violation aborts so the fuzzer reports it. The detector is
 * built once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phi/phi.h"

static phi_detector *det;
static phi_scratch *scr;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_phi: invariant broken: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!det) {
        if (phi_detector_new(NULL, &det) != 0 || phi_scratch_new(det, &scr) != 0) fail("setup");
    }
    const phi_entity *e;
    size_t n;
    if (phi_scan_view(det, scr, data, size, &e, &n) != 0) fail("scan");
    for (size_t i = 0; i < n; i++) {
        if (e[i].start >= e[i].end || e[i].end > size) fail("entity bounds");
        if (i && e[i - 1].end > e[i].start) fail("entities overlap or unsorted");
        if ((unsigned)e[i].type >= PHI_TYPE_COUNT) fail("type");
        if (!(e[i].score >= 0 && e[i].score <= 1)) fail("score");
    }
    /* A second scan of the same bytes must give the same result. */
    phi_entity copy[64];
    size_t k = n < 64 ? n : 64, n2;
    memcpy(copy, e, k * sizeof *e);
    if (phi_scan_view(det, scr, data, size, &e, &n2) != 0 || n2 != n ||
        memcmp(copy, e, k * sizeof *e) != 0)
        fail("scan not deterministic");
    /* A batch of the whole input and its first lines: each document gets what it
     * gets alone. */
    enum { MAXDOCS = 9 };
    phi_batch_doc docs[MAXDOCS];
    size_t nd = 0, at = 0;
    docs[nd].text = data, docs[nd++].len = size;
    while (nd < MAXDOCS && at <= size) {
        const uint8_t *nl = size > at ? memchr(data + at, '\n', size - at) : NULL;
        size_t end = nl ? (size_t)(nl - data) : size;
        docs[nd].text = data + at, docs[nd++].len = end - at;
        at = end + 1;
    }
    if (phi_scan_batch(det, scr, docs, nd) != 0) fail("batch");
    for (size_t i = 0; i < nd; i++) {
        const phi_entity *one;
        size_t n1;
        if (docs[i].status != 0) fail("batch status");
        if (phi_scan_view(det, scr, docs[i].text, docs[i].len, &one, &n1) != 0 || n1 != docs[i].n ||
            (n1 && memcmp(one, docs[i].ents, n1 * sizeof *one) != 0))
            fail("batch differs from one scan");
    }
    static const phi_redact_mode modes[] = {PHI_REDACT_TAG, PHI_REDACT_MASK, PHI_REDACT_SURROGATE};
    for (size_t m = 0; m < 3; m++) {
        phi_redact_opts o = {modes[m], 1234};
        uint8_t *out;
        size_t ol;
        if (phi_redact(det, scr, data, size, &o, &out, &ol) != 0) fail("redact");
        if (modes[m] == PHI_REDACT_MASK && ol != size) fail("mask changed the length");
        if (out[ol] != 0) fail("redact output not terminated");
        free(out);
    }
    char b[16];
    size_t bl;
    phi_deid_date(data, size, b, sizeof b, &bl);
    phi_deid_age(data, size, b, sizeof b, &bl);
    phi_deid_zip(NULL, data, size, b, sizeof b, &bl);
    return 0;
}
