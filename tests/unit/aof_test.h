/*
 * aof_test: shared fixtures of the durable log's unit tests (test_aof.c and
 * test_aof_durability.c): a temporary directory with a keyring, deterministic
 * payloads (record i is gen(i) of len_of(i) bytes), a collector that checks
 * what aof_load replays, and file helpers. Each test executable includes it
 * once, so the state below is per executable.
 */
#ifndef AOF_TEST_H
#define AOF_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/aof.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"

static char dir[64];      /* temp root: key file and keyring */
static char data[96];     /* the log directory */
static char logpath[128]; /* data/phidb.log */
static keyring *kr;       /* the test keyring (dir/keyring) */
static sealer *ls;        /* its log sealer */

#define K1 unit_hex_key(0) /* the test master key, made at run time */

static inline void setup(void)
{
    char kf[128], krp[128], err[512];
    snprintf(dir, sizeof dir, "/tmp/phidb-aof-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(kf, sizeof kf, "%s/mk", dir);
    FILE *f = fopen(kf, "w");
    fprintf(f, "%s\n", K1);
    fclose(f);
    chmod(kf, 0600);
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    kr = keyring_open(krp, &src, 1, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "keyring: %s\n", err);
        abort();
    }
    ls = seal_new(kr, KR_LOG);
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(data, 0700);
    snprintf(logpath, sizeof logpath, "%s/phidb.log", data);
}

static inline void teardown(void)
{
    char cmd[128];
    seal_free(ls);
    keyring_close(kr);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) abort();
}

/* ---- helpers ---- */

/* Deterministic payload bytes for record i. */
static inline void gen(uint8_t *out, size_t len, unsigned i)
{
    uint32_t x = 2463534242u ^ (i * 2654435761u);
    for (size_t k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[k] = (uint8_t)x;
    }
}

static inline size_t len_of(unsigned i)
{
    return (i * 37) % 700; /* includes 0 */
}

/* Collects what aof_load replays. */
typedef struct {
    size_t n;                /* records seen */
    size_t bad;              /* records that differ from gen(i) */
    size_t refuse;           /* refuse the record with this 1-based number (0: never) */
    size_t (*len)(unsigned); /* expected length of record i */
} coll;

static inline int collect(void *arg, const uint8_t *p, size_t len)
{
    coll *c = arg;
    unsigned i = (unsigned)c->n;
    if (c->refuse && c->n + 1 == c->refuse) return -1;
    c->n++;
    size_t want = c->len(i);
    if (len != want) {
        c->bad++;
        return 0;
    }
    uint8_t *exp = malloc(want ? want : 1);
    gen(exp, want, i);
    if (memcmp(exp, p, want) != 0) c->bad++;
    free(exp);
    return 0;
}

static inline aof *open_log(enum aof_fsync pol)
{
    char err[512];
    aof *a = aof_open(data, ls, pol, err, sizeof err);
    if (!a) {
        fprintf(stderr, "aof_open: %s\n", err);
        return NULL;
    }
    aof_set_prealloc(a, 64 * 1024);
    return a;
}

/* Open and load, checking it loads; returns the aof and fills c. */
static inline aof *open_load(enum aof_fsync pol, coll *c, aof_load_stats *st)
{
    char err[512];
    aof *a = open_log(pol);
    if (!a) return NULL;
    if (aof_load(a, collect, c, st, err, sizeof err) != 0) {
        unit_fail(__FILE__, __LINE__, "aof_load: %s", err);
        aof_close(a);
        return NULL;
    }
    return a;
}

/* Append records first..first+n-1 (gen/len_of), each flushed on its own, so each is one
 * sealed record of the file (one batch of one payload). */
static inline void append_n(aof *a, unsigned first, unsigned n)
{
    char err[512];
    uint8_t p[1024];
    for (unsigned i = first; i < first + n; i++) {
        gen(p, len_of(i), i);
        if (aof_append(a, p, len_of(i), err, sizeof err) != 0)
            unit_fail(__FILE__, __LINE__, "aof_append %u: %s", i, err);
        CHECK_INT(aof_flush(a), 0);
    }
}

/* Make a log holding records 0..n-1. */
static inline void make_log(unsigned n)
{
    unlink(logpath);
    aof *a = open_log(AOF_FSYNC_EVERYSEC);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    char err[512];
    CHECK_INT(aof_load(a, collect, &c, &st, err, sizeof err), 0);
    append_n(a, 0, n);
    aof_close(a);
}

static inline uint8_t *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz ? (size_t)sz : 1);
    *n = fread(p, 1, (size_t)sz, f);
    fclose(f);
    return p;
}

static inline void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (n) fwrite(p, 1, n, f);
    fclose(f);
}

/* Offsets of the records of a log image (up to max); returns how many. */
static inline size_t offsets(const uint8_t *p, size_t n, size_t *off, size_t max)
{
    size_t k = 0, o = AOF_HEADER_LEN;
    while (o + 4 <= n && k < max) {
        uint32_t len =
            (uint32_t)p[o] << 24 | (uint32_t)p[o + 1] << 16 | (uint32_t)p[o + 2] << 8 | p[o + 3];
        if (o + 4 + len > n) break;
        off[k++] = o;
        o += 4 + len;
    }
    return k;
}

static inline size_t rec_len(const uint8_t *p, size_t off)
{
    return 4 + ((uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 |
                p[off + 3]);
}

#endif
