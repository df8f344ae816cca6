/* Unit tests for the durable log's batches (format 2): the payloads appended between two
 * flushes are one sealed record, replayed in order; the batch size limit; a damaged or torn
 * batch is refused or cut whole; entries that do not fill a record exactly are damage; a
 * format-1 log (a record per payload) is read and appended to in its own format until a
 * rewrite turns it into format 2; a payload over the part size is a chain of records, loaded
 * whole, and cut off whole when its last part is missing. */
#include <fcntl.h>

#include "aof_test.h"

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Append records first..first+n-1 of lengths len(i) (at most 5000) without flushing. */
static void add_lens(aof *a, unsigned first, unsigned n, size_t (*len)(unsigned))
{
    char err[512];
    uint8_t p[5000];
    for (unsigned i = first; i < first + n; i++) {
        gen(p, len(i), i);
        if (aof_append(a, p, len(i), err, sizeof err) != 0)
            unit_fail(__FILE__, __LINE__, "aof_append %u: %s", i, err);
    }
}

static void add_n(aof *a, unsigned first, unsigned n)
{
    add_lens(a, first, n, len_of);
}

static size_t count_records(void)
{
    size_t n, off[64];
    uint8_t *img = slurp(logpath, &n);
    size_t k = img ? offsets(img, n, off, 64) : 0;
    free(img);
    return k;
}

TEST(one_record_per_flush)
{
    setup();
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    add_n(a, 0, 300); /* about 100 KB: one batch */
    CHECK_INT(aof_flush(a), 0);
    add_n(a, 300, 200);
    CHECK_INT(aof_flush(a), 0);
    CHECK_INT(aof_flush(a), 0); /* nothing new: no empty record */
    unsigned long long size = aof_size(a);
    aof_close(a);
    struct stat sb;
    CHECK(stat(logpath, &sb) == 0 && (unsigned long long)sb.st_size == size);
    CHECK_INT(count_records(), 2);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK_INT(c.n, 500);
    CHECK_INT(c.bad, 0);
    CHECK_INT(st.records, 500);
    /* Appends continue after the batches (sequence numbers 3, 4 ...). */
    add_n(a, 500, 10);
    aof_close(a); /* close seals and writes the open batch */
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 510 && c.bad == 0);
    aof_close(a);
    CHECK_INT(count_records(), 3);
    /* check-log counts payloads. */
    aof_check_report r;
    char err[512];
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 0);
    CHECK_INT(r.records, 510);
    teardown();
}

static size_t big(unsigned i)
{
    return 300 * 1024 + i;
}

TEST(batch_size_limit)
{
    setup();
    coll c = {0, 0, 0, big};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    char err[512];
    uint8_t *p = malloc(big(20));
    for (unsigned i = 0; i < 20; i++) { /* 6 MB: at most 3 payloads of 300 KB a batch */
        gen(p, big(i), i);
        CHECK_INT(aof_append(a, p, big(i), err, sizeof err), 0);
    }
    free(p);
    CHECK_INT(aof_flush(a), 0);
    aof_close(a);
    size_t n, off[64];
    uint8_t *img = slurp(logpath, &n);
    size_t k = offsets(img, n, off, 64);
    CHECK_INT(k, 7);
    for (size_t i = 0; i < k; i++)
        CHECK(rec_len(img, off[i]) <= 4 + 1024 * 1024 + SEAL_OVERHEAD);
    free(img);
    c = (coll){0, 0, 0, big};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 20 && c.bad == 0);
    aof_close(a);
    teardown();
}

TEST(damaged_and_torn_batches)
{
    setup();
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    add_n(a, 0, 40);
    CHECK_INT(aof_flush(a), 0);
    add_n(a, 40, 40);
    CHECK_INT(aof_flush(a), 0);
    add_n(a, 80, 40);
    aof_close(a);
    size_t n, off[8] = {0};
    uint8_t *img = slurp(logpath, &n);
    if (!img || offsets(img, n, off, 8) != 3 || n < off[2] + 300) {
        unit_fail(__FILE__, __LINE__, "expected 3 batches");
        free(img);
        teardown();
        return;
    }
    char err[512];
    /* A flipped byte in the middle batch: loading stops at it, nothing changes. */
    uint8_t *m = malloc(n);
    memcpy(m, img, n);
    m[off[1] + 200] ^= 1;
    spit(logpath, m, n);
    a = open_log(AOF_FSYNC_EVERYSEC);
    c = (coll){0, 0, 0, len_of};
    CHECK(aof_load(a, collect, &c, &st, err, sizeof err) != 0);
    char want[64];
    snprintf(want, sizeof want, "bad record at offset %zu ", off[1]);
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, "record 2 fails to open") != NULL);
    aof_close(a);
    /* The last batch torn: all of it is cut, the first two stay. */
    for (size_t cut = off[2] + 1; cut < n; cut += 97) {
        spit(logpath, img, cut);
        c = (coll){0, 0, 0, len_of};
        a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        if (!a || c.n != 80 || c.bad || st.torn_bytes != cut - off[2])
            unit_fail(__FILE__, __LINE__, "cut %zu: %zu records", cut, c.n);
        aof_close(a);
    }
    /* apply refusing an entry in the middle of a batch names the batch's offset. */
    spit(logpath, img, n);
    a = open_log(AOF_FSYNC_EVERYSEC);
    c = (coll){0, 0, 50, len_of};
    CHECK(aof_load(a, collect, &c, &st, err, sizeof err) != 0);
    snprintf(want, sizeof want, "offset %zu", off[1]);
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, "entry 10 of it") != NULL);
    aof_close(a);
    free(m);
    free(img);
    teardown();
}

/* A log written by hand: header of the given format, then records sealed from the given
 * plaintexts (exactly as aof.c seals: AAD file id and sequence number). */
static void hand_log(uint32_t format, const uint8_t *const *pt, const size_t *len, size_t n)
{
    uint8_t h[AOF_HEADER_LEN] = "PHIDBLOG";
    put32be(h + 8, format);
    for (int i = 0; i < 16; i++)
        h[16 + i] = (uint8_t)(i * 7 + 1);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(write(fd, h, sizeof h) == (ssize_t)sizeof h);
    for (size_t i = 0; i < n; i++) {
        uint8_t *rec = malloc(4 + len[i] + SEAL_OVERHEAD), seq[8] = {0};
        put32be(rec, (uint32_t)(len[i] + SEAL_OVERHEAD));
        put32be(seq + 4, (uint32_t)(i + 1));
        CHECK_INT(seal_seal(ls, pt[i], len[i], h + 16, 16, seq, 8, rec + 4), 0);
        CHECK(write(fd, rec, 4 + len[i] + SEAL_OVERHEAD) == (ssize_t)(4 + len[i] + SEAL_OVERHEAD));
        free(rec);
    }
    close(fd);
}

TEST(malformed_entries)
{
    setup();
    /* Entries that run past the record, and a record with 2 bytes left over. */
    uint8_t run[12], rest[10];
    put32be(run, 4);
    memcpy(run + 4, "abcd", 4);
    put32be(run + 8, 9); /* 9 bytes announced, 0 present */
    put32be(rest, 4);
    memcpy(rest + 4, "abcd", 4);
    rest[8] = rest[9] = 0;
    const uint8_t *pts[][2] = {{run, NULL}, {rest, NULL}};
    size_t lens[] = {sizeof run, sizeof rest};
    for (int i = 0; i < 2; i++) {
        const uint8_t *pt[2] = {(const uint8_t *)"\0\0\0\1x", pts[i][0]};
        size_t len[2] = {5, lens[i]};
        hand_log(2, pt, len, 2);
        char err[512];
        aof_load_stats st;
        aof *a = open_log(AOF_FSYNC_EVERYSEC);
        CHECK(aof_load(a, NULL, NULL, &st, err, sizeof err) != 0);
        CHECK(strstr(err, "record 2 opens but its entries are malformed") != NULL);
        CHECK(strstr(err, "offset 105 ") != NULL); /* just past record 1: 64 + 4 + 5 + 32 */
        aof_close(a);
    }
    teardown();
}

TEST(format_1_log)
{
    setup();
    const uint8_t *pt[30];
    size_t len[30];
    uint8_t store[30][700];
    for (unsigned i = 0; i < 30; i++) {
        len[i] = len_of(i);
        gen(store[i], len[i], i);
        pt[i] = store[i];
    }
    hand_log(1, pt, len, 30);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 30 && c.bad == 0);
    /* Appends keep format 1: a record per payload even without a flush between. It has no
     * chains: a payload over its record limit is refused, nothing buffered. */
    add_n(a, 30, 5);
    char err[512];
    CHECK(aof_append(a, (const uint8_t *)"", AOF_MAX_RECORD, err, sizeof err) != 0);
    CHECK(strstr(err, "over the limit of a log in format 1") != NULL);
    aof_close(a);
    CHECK_INT(count_records(), 35);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 35 && c.bad == 0);
    /* A rewrite writes format 2; appends after it are batched. */
    uint8_t p[1024];
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    for (unsigned i = 0; i < 35; i++) {
        gen(p, len_of(i), i);
        CHECK_INT(aof_rewrite_append(a, p, len_of(i), err, sizeof err), 0);
    }
    CHECK_INT(aof_rewrite_commit(a, err, sizeof err), 0);
    add_n(a, 35, 5);
    aof_close(a);
    size_t n;
    uint8_t *img = slurp(logpath, &n);
    CHECK(n > 12 && img[11] == 2);
    free(img);
    CHECK_INT(count_records(), 2); /* the rewrite's batch and the 5 appends */
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 40 && c.bad == 0);
    aof_close(a);
    teardown();
}

/* ---- chains: payloads over the part size (lowered to 1000 bytes here) ---- */

static size_t chain_len(unsigned i)
{
    static const size_t big[] = {1000, 1001, 4500}; /* entries 10-12: 1, 2 and 5 parts */
    return i >= 10 && i <= 12 ? big[i - 10] : len_of(i);
}

static void add_chained(aof *a, unsigned first, unsigned n)
{
    add_lens(a, first, n, chain_len);
}

TEST(chains)
{
    setup();
    aof_set_part_max(1000);
    coll c = {0, 0, 0, chain_len};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    add_chained(a, 0, 14);
    CHECK_INT(aof_flush(a), 0);
    aof_close(a);
    /* Entries 0-10 in one batch; entry 11 in 2 records, 12 in 5; entry 13 in a batch. */
    size_t n, off[64];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 64), 9);
    c = (coll){0, 0, 0, chain_len};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 14 && c.bad == 0 && st.records == 14 && st.torn_bytes == 0);
    aof_close(a);
    aof_check_report r;
    char err[512];
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 0);
    CHECK_INT(r.records, 14);
    /* Cut after the whole chain: nothing torn. Cut after 2 of entry 12's 5 parts, or in its
     * third: the chain is a torn tail, cut off from its first record. */
    size_t cuts[] = {off[8], off[5], off[5] + 10};
    for (int k = 0; k < 3; k++) {
        spit(logpath, img, cuts[k]);
        int whole = k == 0;
        CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), whole ? 0 : 1);
        if (!whole) CHECK(r.torn && r.good_end == off[3] && strstr(r.problem, "cut short") != NULL);
        c = (coll){0, 0, 0, chain_len};
        a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        CHECK(a && c.n == (whole ? 13u : 12u) && c.bad == 0);
        CHECK_INT(st.torn_bytes, whole ? 0 : cuts[k] - off[3]);
        CHECK_INT(st.bytes, whole ? off[8] : off[3]);
        /* Appends go on after it (the sequence numbers continue from the cut). */
        add_chained(a, (unsigned)c.n, 14 - (unsigned)c.n);
        aof_close(a);
        c = (coll){0, 0, 0, chain_len};
        a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        CHECK(a && c.n == 14 && c.bad == 0 && st.torn_bytes == 0);
        aof_close(a);
        if (st.torn_copy[0]) unlink(st.torn_copy);
    }
    /* A compaction writes chains too. */
    a = open_load(AOF_FSYNC_EVERYSEC, &(coll){0, 0, 0, chain_len}, &st);
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    uint8_t p[5000];
    for (unsigned i = 0; i < 14; i++) {
        gen(p, chain_len(i), i);
        CHECK_INT(aof_rewrite_append(a, p, chain_len(i), err, sizeof err), 0);
    }
    CHECK_INT(aof_rewrite_commit(a, err, sizeof err), 0);
    add_chained(a, 12, 1); /* and appends after it */
    aof_close(a);
    c = (coll){0, 0, 0, chain_len};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 15 && c.bad == 1); /* the 15th is entry 12 again */
    aof_close(a);
    free(img);
    aof_set_part_max(0);
    teardown();
}

/* Joins what a hand-made log replays into one string: entries separated by '|'. */
static int join(void *arg, const uint8_t *p, size_t len)
{
    char *out = arg;
    size_t at = strlen(out);
    if (at + len + 2 > 64) return -1;
    memcpy(out + at, p, len);
    out[at + len] = '|';
    out[at + len + 1] = '\0';
    return 0;
}

TEST(hand_made_chains)
{
    setup();
    /* Parts: u32 length with the top bit set while more follow. A part that is not the last
     * fills its record alone; every part begins a record; the last may have entries after
     * it. */
    static const struct {
        const char *recs[3]; /* records: entries as "+abc" (more follows) or "abc" */
        const char *want;    /* what loads, or NULL: malformed */
    } cases[] = {
        {{"+abc", "def", "gh"}, "abcdef|gh|"}, {{"+abc", "+def", "gh x"}, "abcdefgh|x|"},
        {{"ab", "+cd", NULL}, NULL},       /* torn: the chain's last part is missing */
        {{"+abc x", "def", NULL}, "bad"},  /* an entry after a part that is not the last */
        {{"x +abc", "def", NULL}, "bad"},  /* a part after another entry */
        {{"+abc", "+def x", NULL}, "bad"}, /* the same, in the middle of a chain */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t store[3][64];
        const uint8_t *pt[3];
        size_t len[3], nrec = 0;
        for (; nrec < 3 && cases[k].recs[nrec]; nrec++) {
            size_t at = 0;
            char words[32], *save = NULL;
            snprintf(words, sizeof words, "%s", cases[k].recs[nrec]);
            for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                uint32_t more = w[0] == '+' ? 0x80000000u : 0;
                w += more ? 1 : 0;
                put32be(store[nrec] + at, (uint32_t)strlen(w) | more);
                memcpy(store[nrec] + at + 4, w, strlen(w));
                at += 4 + strlen(w);
            }
            pt[nrec] = store[nrec];
            len[nrec] = at;
        }
        hand_log(2, pt, len, nrec);
        char got[64] = "", err[512];
        aof_load_stats st;
        aof *a = open_log(AOF_FSYNC_EVERYSEC);
        int rc = aof_load(a, join, got, &st, err, sizeof err), ok;
        if (!cases[k].want) /* only the entry before the chain loads; the rest is cut */
            ok = rc == 0 && strcmp(got, "ab|") == 0 && st.torn_bytes > 0;
        else if (strcmp(cases[k].want, "bad") == 0)
            ok = rc != 0 && strstr(err, "entries are malformed") != NULL;
        else
            ok = rc == 0 && strcmp(got, cases[k].want) == 0;
        if (!ok)
            unit_fail(__FILE__, __LINE__, "case %zu: rc %d, got \"%s\" (%s)", k, rc, got,
                      rc ? err : "");
        aof_close(a);
        if (st.torn_copy[0]) unlink(st.torn_copy);
    }
    teardown();
}

UNIT_MAIN(T(one_record_per_flush), T(batch_size_limit), T(damaged_and_torn_batches),
          T(malformed_entries), T(format_1_log), T(chains), T(hand_made_chains))
