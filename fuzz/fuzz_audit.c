/*
 * Fuzz target for the audit segment reader: the input is one segment file image, read by
 * audit_verify_mem (header, block frames, AES-GCM opening, zstd, record lines, chain,
 * checkpoint signatures) as the whole trail. Beyond "no crash, no leak, no read out of
 * bounds", results must be consistent: 0 (intact) or 1 (damaged, with a message naming a
 * segment), never -1 for an image; an intact image's records are consecutive, the callback
 * saw each exactly once, the bytes it saw add up to the reported total, and each line it
 * saw chains to the one before by its own prev member (for v2 segments: the lines were
 * rebuilt right).
 *
 * The audit key is the fixed one of fuzz/aof_fixture.h (so the seed corpus opens), the
 * checkpoint signing seed a constant below (test material only). With
 * PHIDB_AUDIT_WRITE_SEEDS=DIR the replay binary first writes fresh seeds into DIR: valid
 * segments (one block, several blocks, checkpoints, a binary key) and damaged ones, in
 * format v1 and v2 (v2_*), and the lines of a good, an altered and a malformed block.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof_fixture.h"
#include "audit/audit.h"
#include "audit/audit_seg.h"
#include "store/keyring.h"
#include "store/seal.h"

static const uint8_t sign_seed[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static char root[64];
static keyring *kr;
static sealer *as;
static audit_pubset pub = {.n = 1};

static void put(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    if (write(fd, p, n) != (ssize_t)n) abort();
    close(fd);
}

static void cleanup(void)
{
    char p[160];
    seal_free(as);
    keyring_close(kr);
    const char *files[] = {"mk", "keyring", "keyring.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        unlink(p);
    }
    rmdir(root);
}

/* A segment of format version (1 or 2) of n records (blocks of per_block), checkpoint every
 * ckpt records. */
static void make_segment(buf *out, int version, int n, int per_block, int ckpt, int binary_key)
{
    audit_seg_header h = {
        .version = version, .id = 1, .first_seq = 1, .created_us = 1796566622000000LL};
    audit_seg_header_encode(&h);
    buf_append(out, h.raw, AUDIT_SEG_HEADER);
    uint8_t prev[32] = {0};
    buf lines = {0}, tmp = {0};
    uint64_t first = 1, block = 0;
    int in_block = 0, since = 0;
    for (int i = 1; i <= n; i++) {
        size_t start = lines.len;
        if (ckpt && since == ckpt) {
            buf_printf(&lines,
                       "{\"seq\":%d,\"ts\":\"2026-12-06T14:17:02.000000Z\",\"ev\":"
                       "\"checkpoint\",\"res\":\"granted\",\"count\":%d",
                       i, since);
            uint8_t msg[sizeof AUDIT_SIGN_CTX - 1 + 40], sig[64];
            memcpy(msg, AUDIT_SIGN_CTX, sizeof AUDIT_SIGN_CTX - 1);
            for (int k = 0; k < 8; k++)
                msg[sizeof AUDIT_SIGN_CTX - 1 + k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
            memcpy(msg + sizeof AUDIT_SIGN_CTX - 1 + 8, prev, 32);
            audit_ed25519_sign(sign_seed, msg, sizeof msg, sig);
            char hex[129];
            audit_hex(sig, 64, hex);
            buf_printf(&lines, ",\"sig\":\"%s\"", hex);
            audit_format_suffix(prev, &lines);
            since = 0;
        } else {
            char key[32], subj[16];
            snprintf(key, sizeof key, binary_key ? "p\xff%d" : "patient:%d", i);
            snprintf(subj, sizeof subj, "%d", i);
            static const char *const f[] = {"name"};
            static const size_t fl[] = {4};
            audit_rec r = {.type = i % 3 ? AUDIT_EV_ACCESS : AUDIT_EV_AUTH,
                           .result = i % 5 ? AUDIT_GRANTED : AUDIT_DENIED,
                           .user = "fuzz",
                           .cmd = "hget",
                           .key = key,
                           .keylen = strlen(key),
                           .subject = subj,
                           .subjectlen = strlen(subj),
                           .fields = f,
                           .fieldlens = fl,
                           .nfields = 1};
            audit_format_body(&r, (uint64_t)i, 1796566622000000LL + i, NULL, &lines);
            audit_format_suffix(prev, &lines);
            since++;
        }
        audit_hash(lines.p + start, lines.len - start, prev);
        if (version == 2) { /* stored without the prev member */
            lines.len -= AUDIT_PREV_SUFFIX;
            buf_putc(&lines, '}');
        }
        buf_putc(&lines, '\n');
        if (++in_block == per_block || i == n) {
            if (audit_blk_build(as, &h, block++, first, (uint32_t)in_block, lines.p, lines.len, 3,
                                NULL, &tmp, out) != 0)
                abort();
            first = (uint64_t)i + 1;
            in_block = 0;
            lines.len = 0;
        }
    }
    buf_free(&lines);
    buf_free(&tmp);
}

static void write_seeds(const char *dir)
{
    struct {
        const char *name;
        int n, per, ckpt, bin;
        long flip; /* byte to flip (-1: none) */
        long cut;  /* bytes to drop at the end */
    } seeds[] = {
        {"one_block", 10, 10, 0, 0, -1, 0},    {"blocks", 40, 7, 0, 0, -1, 0},
        {"checkpoints", 60, 16, 20, 0, -1, 0}, {"binary_key", 5, 5, 0, 1, -1, 0},
        {"bad_flip", 20, 5, 0, 0, 150, 0},     {"bad_truncated", 20, 5, 0, 0, -1, 9},
        {"bad_header", 8, 8, 0, 0, 3, 0},
    };
    /* Lines-mode seeds: the lines of a good segment, one with a changed record (L: v1), and
     * for v2 (M) also one with a malformed stored line. */
    for (int i = 0; i < 5; i++) {
        int version = i < 2 ? 1 : 2, bad = i < 2 ? i : i - 2;
        buf b = {0}, plain = {0}, tmp = {0};
        make_segment(&b, version, 25, 25, 10, 0);
        audit_seg_header h;
        audit_blk_header bh;
        audit_seg_header_decode(b.p, &h);
        audit_blk_header_decode(b.p + AUDIT_SEG_HEADER, &bh);
        buf_putc(&plain, version == 1 ? 'L' : 'M');
        if (audit_blk_open(as, &h, &bh, b.p + AUDIT_SEG_HEADER + AUDIT_BLK_HEADER, NULL, &tmp,
                           &plain) != 0)
            abort();
        if (bad == 1) {
            uint8_t *u = memmem(plain.p, plain.len, "fuzz", 4);
            if (u) u[0] = 'F';
        } else if (bad == 2) {
            uint8_t *u = memmem(plain.p, plain.len, "}\n", 2);
            if (u) u[0] = ' ';
        }
        static const char *const kinds[] = {"good", "altered", "malformed"};
        char p[4200];
        snprintf(p, sizeof p, "%s/lines%s_%s", dir, version == 1 ? "" : "2", kinds[bad]);
        put(p, plain.p, plain.len);
        buf_free(&b);
        buf_free(&plain);
        buf_free(&tmp);
    }
    for (int version = 1; version <= 2; version++) {
        for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
            buf b = {0};
            make_segment(&b, version, seeds[i].n, seeds[i].per, seeds[i].ckpt, seeds[i].bin);
            if (seeds[i].flip >= 0 && (size_t)seeds[i].flip < b.len) b.p[seeds[i].flip] ^= 0x10;
            if (seeds[i].cut) b.len -= (size_t)seeds[i].cut;
            char p[4200];
            snprintf(p, sizeof p, "%s/%s%s", dir, version == 1 ? "" : "v2_", seeds[i].name);
            put(p, b.p, b.len);
            buf_free(&b);
        }
    }
}

static void init(void)
{
    char mk[160], krp[160], err[512];
    snprintf(root, sizeof root, "/tmp/phidb-fuzz-audit-XXXXXX");
    if (!mkdtemp(root)) abort();
    snprintf(mk, sizeof mk, "%s/mk", root);
    snprintf(krp, sizeof krp, "%s/keyring", root);
    put(mk, aof_fixture_master_key, strlen(aof_fixture_master_key));
    put(krp, aof_fixture_keyring, strlen(aof_fixture_keyring));
    keyring_kek_source src = {mk, NULL, NULL};
    kr = keyring_open(krp, &src, 0, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "fuzz_audit: %s\n", err);
        abort();
    }
    as = seal_new(kr, KR_AUDIT);
    if (audit_ed25519_pub(sign_seed, pub.k[0]) != 0) abort();
    atexit(cleanup);
    const char *seeds = getenv("PHIDB_AUDIT_WRITE_SEEDS");
    if (seeds && *seeds) write_seeds(seeds);
}

typedef struct {
    uint64_t n, bytes, last;
    uint8_t hash[32]; /* of the last line */
    int bad;
} seen;

static int on_line(void *ud, const char *line, size_t n, const audit_line_info *li)
{
    seen *s = ud;
    if (s->n && li->seq != s->last + 1) s->bad = 1;
    if (s->n && memcmp(li->prev, s->hash, 32) != 0) s->bad = 1;
    audit_hash((const uint8_t *)line, n, s->hash);
    s->last = li->seq;
    s->n++;
    s->bytes += n + 1;
    return 0;
}

/* Inputs starting with 'L' are record lines: they are sealed into a valid one-block segment
 * first (v1: full lines), so the fuzzer reaches the line parser, the chain and the
 * checkpoint checks that AES-GCM otherwise keeps it away from. 'M' likewise makes a v2
 * segment of stored lines (without prev members), for the rebuilding of lines. */
static size_t lines_to_segment(const uint8_t *data, size_t size, int version, buf *img)
{
    uint32_t nrec = 0;
    for (size_t i = 0; i < size; i++)
        nrec += data[i] == '\n';
    if (nrec == 0 || size > 65536) return 0;
    audit_seg_header h = {
        .version = version, .id = 1, .first_seq = 1, .created_us = 1796566622000000LL};
    audit_seg_header_encode(&h);
    buf_append(img, h.raw, AUDIT_SEG_HEADER);
    buf tmp = {0};
    uint64_t first = 1;
    audit_line_info li;
    if (version == 1 && audit_line_parse((const char *)data, size, &li) == 0) first = li.seq;
    if (version == 2 && size > 7 && memcmp(data, "{\"seq\":", 7) == 0) {
        uint64_t v = 0;
        for (size_t i = 7; i < size && i < 26 && data[i] >= '0' && data[i] <= '9'; i++)
            v = v * 10 + (uint64_t)(data[i] - '0');
        if (v) first = v;
    }
    int rc = audit_blk_build(as, &h, 0, first, nrec, data, size, 1, NULL, &tmp, img);
    buf_free(&tmp);
    return rc == 0 ? img->len : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!kr) init();
    buf img = {0};
    if (size > 0 && (data[0] == 'L' || data[0] == 'M')) {
        if (!lines_to_segment(data + 1, size - 1, data[0] == 'L' ? 1 : 2, &img)) {
            buf_free(&img);
            return 0;
        }
        data = img.p;
        size = img.len;
    }
    audit_verify_stats st;
    char err[512];
    seen s = {0};
    int rc = audit_verify_mem(data, size, as, &pub, on_line, &s, &st, err, sizeof err);
    if (getenv("PHIDB_AUDIT_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_audit: %zu bytes: rc %d, %llu records%s%s\n", size, rc,
                (unsigned long long)st.records, rc ? ": " : "", rc ? err : "");
    if (rc != 0 && rc != 1) abort();
    if (rc == 1 && strncmp(err, "segment ", 8) != 0 && strncmp(err, "removed", 7) != 0 &&
        strncmp(err, "missing", 7) != 0 && strncmp(err, "truncated", 9) != 0)
        abort();
    if (rc == 0 && (s.bad || s.n != st.records || s.bytes != st.bytes)) abort();
    /* The line parser on raw input. */
    audit_line_info li;
    (void)audit_line_parse((const char *)data, size, &li);
    buf_free(&img);
    return 0;
}
