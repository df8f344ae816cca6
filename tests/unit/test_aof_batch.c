/* Unit tests for the durable log's batches (format 2): the payloads appended between two
 * flushes are one sealed record, replayed in order; the batch size limit; a damaged or torn
 * batch is refused or cut whole; entries that do not fill a record exactly are damage; a
 * format-1 log (a record per payload) is read and appended to in its own format until a
 * rewrite turns it into format 2. */
#include <fcntl.h>

#include "aof_test.h"

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Append records first..first+n-1 without flushing. */
static void add_n(aof *a, unsigned first, unsigned n)
{
    char err[512];
    uint8_t p[1024];
    for (unsigned i = first; i < first + n; i++) {
        gen(p, len_of(i), i);
        if (aof_append(a, p, len_of(i), err, sizeof err) != 0)
            unit_fail(__FILE__, __LINE__, "aof_append %u: %s", i, err);
    }
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
    /* Appends keep format 1: a record per payload even without a flush between. */
    add_n(a, 30, 5);
    aof_close(a);
    CHECK_INT(count_records(), 35);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 35 && c.bad == 0);
    /* A rewrite writes format 2; appends after it are batched. */
    char err[512];
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

UNIT_MAIN(T(one_record_per_flush), T(batch_size_limit), T(damaged_and_torn_batches),
          T(malformed_entries), T(format_1_log))
