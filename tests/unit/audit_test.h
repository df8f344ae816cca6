/*
 * audit_test: shared fixtures of the audit unit tests: a temporary directory with a
 * keyring, an audit trail in DIR/audit, helpers that read a segment's lines (full lines,
 * whatever the segment's version) and write them back re-sealed (what an attacker holding
 * the audit key could do), in the segment's version or another one, and a chain
 * re-computation. Included once per test executable.
 */
#ifndef AUDIT_TEST_H
#define AUDIT_TEST_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_seg.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"
#include "util/mem.h"

static char tdir[64];    /* temp root */
static char adir[96];    /* the audit dir */
static keyring *kr;      /* test keyring */
static sealer *asl;      /* audit sealer for the tests' own reading */
static audit_pubset apub; /* the published key */

/* Open (or create) the test keyring TDIR/keyring and the tests' audit sealer. */
static inline void open_keyring(int create)
{
    char kf[128], krp[128], err[512];
    snprintf(kf, sizeof kf, "%s/mk", tdir);
    snprintf(krp, sizeof krp, "%s/keyring", tdir);
    keyring_kek_source src = {kf, NULL, NULL};
    kr = keyring_open(krp, &src, create, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "keyring: %s\n", err);
        abort();
    }
    asl = seal_new(kr, KR_AUDIT);
}

static inline void setup(void)
{
    char kf[128];
    snprintf(tdir, sizeof tdir, "/tmp/phidb-audit-XXXXXX");
    if (!mkdtemp(tdir)) abort();
    snprintf(kf, sizeof kf, "%s/mk", tdir);
    FILE *f = fopen(kf, "w");
    fprintf(f, "%s\n", unit_hex_key(0));
    fclose(f);
    chmod(kf, 0600);
    open_keyring(1);
    snprintf(adir, sizeof adir, "%s/audit", tdir);
    apub.n = 1;
    audit_ed25519_pub(keyring_key(kr, KR_SIGN, keyring_current(kr, KR_SIGN)), apub.k[0]);
}

static inline void teardown(void)
{
    char cmd[128];
    seal_free(asl);
    keyring_close(kr);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tdir);
    if (system(cmd) != 0) abort();
}

static inline audit *open_trail(audit_opts *o)
{
    char err[512];
    o->dir = adir;
    audit *a = audit_open(o, kr, err, sizeof err);
    if (!a) unit_fail(__FILE__, __LINE__, "audit_open: %s", err);
    return a;
}

/* A typical access record for user u on patient i. */
static inline audit_rec access_rec(const char *u, int i, char *keyb, char *subjb)
{
    static const char *const fields[] = {"name", "dob", "diagnosis"};
    static const size_t lens[] = {4, 3, 9};
    sprintf(keyb, "patient:%d", i);
    sprintf(subjb, "%d", i);
    audit_rec r = {.type = AUDIT_EV_ACCESS,
                   .result = AUDIT_GRANTED,
                   .user = u,
                   .role = "nurse",
                   .addr = "10.1.2.3:51234",
                   .session = 42,
                   .cmd = "hmget",
                   .key = keyb,
                   .keylen = strlen(keyb),
                   .subject = subjb,
                   .subjectlen = strlen(subjb),
                   .fields = fields,
                   .fieldlens = lens,
                   .nfields = 3,
                   .purpose = "treatment"};
    return r;
}

/* Append n access records and wait until they are written. */
static inline void append_n(audit *a, int n, int first)
{
    char k[64], s[64];
    for (int i = 0; i < n; i++) {
        audit_rec r = access_rec("alice", first + i, k, s);
        CHECK_INT(audit_append(a, &r), 0);
    }
    CHECK_INT(audit_flush(a, 10000), 0);
}

/* Verify the test trail; returns audit_verify_dir's result, the message in err. */
static inline int verify(audit_verify_stats *st, char *err, size_t errlen)
{
    return audit_verify_dir(adir, asl, &apub, NULL, NULL, st, err, errlen);
}

/* A trail of several segments, several blocks each, checkpoints every 30 records. */
static inline void build_trail(void)
{
    audit_opts o;
    audit_opts_default(&o);
    o.checkpoint_records = 30;
    o.segment_max_bytes = 3000;
    audit *a = open_trail(&o);
    if (!a) return;
    for (int i = 0; i < 12; i++)
        append_n(a, 20, i * 20);
    audit_close(a);
    audit_verify_stats st;
    char err[512];
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK(st.segments >= 3);
}

/* ---- segment surgery ---- */

typedef struct {
    char **v; /* full lines without '\n' (mem_strndup) */
    int n;
    audit_seg_header h; /* seg_write writes h.version (and re-encodes the header) */
} seg_lines;

static inline void seg_path(int idx, char *out, size_t cap)
{
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(adir, &ids, &names);
    if (idx < 0) idx += n;
    snprintf(out, cap, "%s/%s", adir, idx >= 0 && idx < n ? names[idx] : "none");
    audit_seg_list_free(ids, names, n);
}

static inline uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static inline void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static inline int seg_read(const char *path, seg_lines *sl)
{
    size_t n;
    uint8_t *d = slurp(path, &n);
    memset(sl, 0, sizeof *sl);
    if (!d || audit_seg_header_decode(d, &sl->h) != 0) return -1;
    size_t off = AUDIT_SEG_HEADER;
    buf plain = {0}, tmp = {0};
    audit_lines it;
    memset(&it, 0, sizeof it);
    memcpy(it.prev, sl->h.prev, 32);
    while (off + AUDIT_BLK_HEADER <= n) {
        audit_blk_header b;
        if (audit_blk_header_decode(d + off, &b) != 0) break;
        plain.len = 0;
        if (audit_blk_open(asl, &sl->h, &b, d + off + AUDIT_BLK_HEADER, NULL, &tmp, &plain) != 0)
            break;
        audit_lines_start(&it, sl->h.version, plain.p, plain.len, it.prev);
        const char *line;
        size_t len;
        uint8_t hash[32];
        while (audit_lines_next(&it, &line, &len, hash) == 1) {
            sl->v = realloc(sl->v, sizeof(char *) * (size_t)(sl->n + 1));
            sl->v[sl->n++] = mem_strndup(line, len);
        }
        off += AUDIT_BLK_HEADER + b.sealed_len;
    }
    audit_lines_free(&it);
    buf_free(&plain);
    buf_free(&tmp);
    free(d);
    return 0;
}

/* Write the lines back as one block (same header, in version h.version), re-sealed with
 * the audit key. In a v2 segment a line is stored without its prev member, and as it is
 * when it has none (so tests can store malformed lines). */
static inline void seg_write(const char *path, seg_lines *sl)
{
    buf lines = {0}, out = {0}, tmp = {0};
    for (int i = 0; i < sl->n; i++) {
        if (sl->h.version == 1 || audit_line_store(sl->v[i], strlen(sl->v[i]), &lines) != 0)
            buf_puts(&lines, sl->v[i]);
        buf_putc(&lines, '\n');
    }
    audit_seg_header_encode(&sl->h);
    buf_append(&out, sl->h.raw, AUDIT_SEG_HEADER);
    audit_line_info li;
    uint64_t first = sl->n && audit_line_parse(sl->v[0], strlen(sl->v[0]), &li) == 0 ? li.seq : 1;
    if (sl->n && audit_blk_build(asl, &sl->h, 0, first, (uint32_t)sl->n, lines.p, lines.len, 3,
                                 NULL, &tmp, &out) != 0)
        abort();
    spit(path, out.p, out.len);
    buf_free(&lines);
    buf_free(&out);
    buf_free(&tmp);
}

/* Rewrite segments [from, to) of the trail (to < 0: counted from the end) in version
 * `version` (one block each), as an older or newer writer would have written them. */
static inline void trail_convert(int from, int to, int version)
{
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(adir, &ids, &names);
    audit_seg_list_free(ids, names, n);
    if (to < 0) to += n + 1;
    for (int i = from; i < to && i < n; i++) {
        char p[256];
        seg_lines sl;
        seg_path(i, p, sizeof p);
        if (seg_read(p, &sl) != 0) abort();
        sl.h.version = version;
        seg_write(p, &sl);
        for (int k = 0; k < sl.n; k++)
            mem_free(sl.v[k]);
        free(sl.v);
    }
}

/* The version of segment idx (as seg_path), or -1. */
static inline int seg_version(int idx)
{
    char p[256];
    size_t n;
    seg_path(idx, p, sizeof p);
    uint8_t *d = slurp(p, &n);
    audit_seg_header h;
    int v = d && n >= AUDIT_SEG_HEADER && audit_seg_header_decode(d, &h) == 0 ? h.version : -1;
    free(d);
    return v;
}

static inline void seg_free(seg_lines *sl)
{
    for (int i = 0; i < sl->n; i++)
        mem_free(sl->v[i]);
    free(sl->v);
}

/* Replace line i's text (keeping nothing of the old). */
static inline void seg_set(seg_lines *sl, int i, const char *text)
{
    mem_free(sl->v[i]);
    sl->v[i] = mem_strdup(text);
}

/* Recompute the "prev" of lines from..n-1 from line from-1 (or prev0 when from is 0). */
static inline void rechain(seg_lines *sl, int from, const uint8_t prev0[32])
{
    uint8_t h[32];
    if (from == 0)
        memcpy(h, prev0, 32);
    else
        audit_hash((const uint8_t *)sl->v[from - 1], strlen(sl->v[from - 1]), h);
    for (int i = from; i < sl->n; i++) {
        size_t n = strlen(sl->v[i]);
        char hex[65];
        audit_hex(h, 32, hex);
        memcpy(sl->v[i] + n - AUDIT_PREV_SUFFIX + 9, hex, 64);
        audit_hash((const uint8_t *)sl->v[i], n, h);
    }
}

#endif
