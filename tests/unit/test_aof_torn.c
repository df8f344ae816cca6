/* Unit tests for telling a torn tail from damage when the durable log loads: a flipped bit in
 * the length of an early record (its length runs past the end of the file, but later records
 * open: damage, not a torn write), the same flip in the last record (still torn), a length made
 * longer so that it swallows later records and ends in zero fill, a record sealed with a key
 * version the keyring lacks or has retired (damage, never torn), and the copy of a torn tail
 * kept before aof_load cuts it (phidb.log.torn-<ms>, 0600), or a refusal when no copy can be
 * made. The common torn tails (every cut offset, zero fill) are in test_aof.c. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aof_test.h"

/* Number of phidb.log.torn-* files in the log directory; the last one's path into path. */
static int torn_copies(char *path, size_t pathlen)
{
    int n = 0;
    DIR *d = opendir(data);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "phidb.log.torn-", 15) != 0) continue;
        n++;
        if (path) snprintf(path, pathlen, "%s/%s", data, e->d_name);
    }
    closedir(d);
    return n;
}

/* Load must fail naming offset off and containing why; the file must be unchanged and no torn
 * copy made; aof_check must agree (damage, not a torn tail). */
static void expect_bad(const uint8_t *img, size_t n, size_t off, const char *why, int line)
{
    char err[512], want[64];
    spit(logpath, img, n);
    aof *a = open_log(AOF_FSYNC_EVERYSEC);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    if (aof_load(a, collect, &c, &st, err, sizeof err) == 0) {
        unit_fail(__FILE__, line, "loaded: %zu records, %llu torn bytes", c.n, st.torn_bytes);
    } else {
        snprintf(want, sizeof want, "bad record at offset %zu ", off);
        if (!strstr(err, want) || !strstr(err, why) || !strstr(err, logpath) ||
            !strstr(err, "check-log"))
            unit_fail(__FILE__, line, "want \"%s\" and \"%s\", got \"%s\"", want, why, err);
    }
    aof_close(a);
    size_t m;
    uint8_t *after = slurp(logpath, &m);
    if (m != n || memcmp(after, img, n) != 0) unit_fail(__FILE__, line, "the log was changed");
    free(after);
    if (torn_copies(NULL, 0) != 0) unit_fail(__FILE__, line, "a torn copy was made");
    aof_check_report r;
    int rc = aof_check(logpath, ls, &r, err, sizeof err);
    if (rc != 1 || r.torn || r.good_end != off || !strstr(r.problem, why))
        unit_fail(__FILE__, line, "check: %d, torn %d, good_end %llu, \"%s\"", rc, r.torn,
                  r.good_end, r.problem);
}

/* Load must cut a torn tail at off (keeping `kept` records) and keep the dropped bytes in a
 * phidb.log.torn-* copy of mode 0600. */
static void expect_torn_kept(const uint8_t *img, size_t n, size_t off, size_t kept, int line)
{
    spit(logpath, img, n);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    if (!a || c.n != kept || c.bad || st.torn_bytes != n - off) {
        unit_fail(__FILE__, line, "%zu records, %llu torn bytes", c.n, a ? st.torn_bytes : 0);
        if (a) aof_close(a);
        return;
    }
    aof_close(a);
    char copy[512] = "";
    if (torn_copies(copy, sizeof copy) != 1) unit_fail(__FILE__, line, "no single torn copy");
    if (strcmp(copy, st.torn_copy) != 0)
        unit_fail(__FILE__, line, "copy %s, stats say %s", copy, st.torn_copy);
    struct stat sb;
    if (stat(copy, &sb) != 0 || (sb.st_mode & 0777) != 0600)
        unit_fail(__FILE__, line, "copy mode %o", (unsigned)(sb.st_mode & 0777));
    size_t cn, ln;
    uint8_t *cp = slurp(copy, &cn), *now = slurp(logpath, &ln);
    if (!cp || cn != n - off || memcmp(cp, img + off, cn) != 0)
        unit_fail(__FILE__, line, "the copy is not the dropped bytes (%zu of %zu)", cn, n - off);
    if (ln != off || memcmp(now, img, off) != 0) unit_fail(__FILE__, line, "log not cut at off");
    free(cp);
    free(now);
    unlink(copy);
}

static void put_len(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- tests ---- */

/* One flipped bit (bit 22) in the length of the first of 200 records makes it run past the end
 * of the file: the records after it open, so it is damage and nothing is cut. The same in a
 * record in the middle. */
TEST(length_flip_early_record_is_bad)
{
    setup();
    make_log(200);
    size_t n, off[256];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 256), 200);
    char why[160];
    uint8_t *bad = malloc(n);
    memcpy(bad, img, n);
    bad[off[0] + 1] ^= 0x40;
    CHECK(off[0] + rec_len(bad, off[0]) > n);
    snprintf(why, sizeof why,
             "record 1 is damaged (its length, %zu, runs past the end, but "
             "record 2 follows at offset %zu)",
             rec_len(bad, off[0]) - 4, off[1]);
    expect_bad(bad, n, off[0], why, __LINE__);
    memcpy(bad, img, n);
    bad[off[120] + 1] ^= 0x40;
    snprintf(why, sizeof why, "but record 122 follows at offset %zu", off[121]);
    expect_bad(bad, n, off[120], why, __LINE__);
    /* The next record damaged as well: a later one still shows the damage. */
    bad[off[121] + 30] ^= 1;
    snprintf(why, sizeof why, "but record 123 follows at offset %zu", off[122]);
    expect_bad(bad, n, off[120], why, __LINE__);
    free(bad);
    free(img);

    /* A first record of 3 MB: the record that proves the damage is three read windows on. */
    unlink(logpath);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    size_t blen = 3 * 1024 * 1024 + 5;
    uint8_t *big = malloc(blen);
    gen(big, blen, 0);
    CHECK_INT(aof_append(a, big, blen, why, sizeof why), 0);
    CHECK_INT(aof_flush(a), 0);
    append_n(a, 1, 5);
    aof_close(a);
    free(big);
    img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 256), 6);
    img[off[0] + 1] ^= 0x40;
    CHECK(off[0] + rec_len(img, off[0]) > n);
    snprintf(why, sizeof why, "but record 2 follows at offset %zu", off[1]);
    expect_bad(img, n, off[0], why, __LINE__);
    free(img);
    teardown();
}

/* The same flip in the last record: nothing follows it, so it is taken for a torn write and
 * cut, and the dropped bytes are kept. */
TEST(length_flip_last_record_is_torn)
{
    setup();
    make_log(6);
    size_t n, off[8];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 8), 6);
    img[off[5] + 1] ^= 0x40;
    CHECK(off[5] + rec_len(img, off[5]) > n);
    expect_torn_kept(img, n, off[5], 5, __LINE__);
    free(img);
    teardown();
}

/* A bit flipped inside the last record, whole: it fails to open with nothing after it
 * (torn, since a crash can leave such a tail; the message says it may be damage), or with
 * zero fill after it. */
TEST(flipped_last_record_wording)
{
    setup();
    make_log(6);
    size_t n, off[8];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 8), 6);
    img[off[5] + 4 + SEAL_HEADER] ^= 0x01;
    aof_check_report r;
    char err[512];
    spit(logpath, img, n);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 1);
    CHECK(r.torn && strstr(r.problem, "last record (6) fails to open and nothing follows it (a "
                                      "write cut short, or damage)") != NULL);
    uint8_t *z = calloc(1, n + 4096);
    memcpy(z, img, n);
    spit(logpath, z, n + 4096);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 1);
    CHECK(r.torn && strstr(r.problem, "fails to open and only zero bytes follow it") != NULL);
    free(z);
    free(img);
    teardown();
}

/* A truncated last record is cut, its bytes kept first; zero fill alone is cut with no copy;
 * when no copy can be made (a file size limit), nothing is cut and loading fails. */
TEST(torn_tail_copy_kept)
{
    setup();
    make_log(6);
    size_t n, off[8];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 8), 6);
    expect_torn_kept(img, off[5] + 50, off[5], 5, __LINE__);
    expect_torn_kept(img, off[5] + 10, off[5], 5, __LINE__); /* inside the seal header */

    uint8_t *z = calloc(1, n + 4096);
    memcpy(z, img, n);
    spit(logpath, z, n + 4096);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 6 && st.torn_bytes == 4096 && !st.torn_copy[0]);
    if (a) aof_close(a);
    CHECK_INT(torn_copies(NULL, 0), 0);

    CHECK(n - off[5] > 200);
    spit(logpath, img, off[5] + 200);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char err[512];
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim;
        getrlimit(RLIMIT_FSIZE, &lim);
        lim.rlim_cur = 100; /* the copy cannot be written */
        setrlimit(RLIMIT_FSIZE, &lim);
        aof *b = open_log(AOF_FSYNC_EVERYSEC);
        c = (coll){0, 0, 0, len_of};
        CHECK(aof_load(b, collect, &c, &st, err, sizeof err) != 0);
        CHECK(strstr(err, "not cut") && strstr(err, "no copy of it could be kept"));
        CHECK(strstr(err, "the log was not changed") && strstr(err, logpath));
        aof_close(b);
        _exit(unit_failures ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t m;
    uint8_t *now = slurp(logpath, &m);
    CHECK(m == off[5] + 200 && memcmp(now, img, m) == 0);
    CHECK_INT(torn_copies(NULL, 0), 0);
    free(now);
    free(z);
    free(img);
    teardown();
}

/* A length made longer, still inside the file, swallowing later records and ending in the zero
 * fill: the record fails to open and only zeros follow its claimed end, but the records inside
 * it open. */
TEST(length_into_zero_fill_is_bad)
{
    setup();
    make_log(12);
    size_t n, off[16];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 16), 12);
    uint8_t *bad = calloc(1, n + 4096);
    memcpy(bad, img, n);
    put_len(bad + off[3], (uint32_t)(n + 100 - off[3] - 4));
    char why[160];
    snprintf(why, sizeof why, "record 4 fails to open, and record 5 follows at offset %zu", off[4]);
    expect_bad(bad, n + 4096, off[3], why, __LINE__);
    free(bad);
    free(img);
    teardown();
}

/* The last (here: only) record sealed with a log key version the keyring does not have, or
 * has retired, with nothing after it: damage or the wrong keyring, never a torn write. */
TEST(unknown_key_version_is_bad)
{
    setup();
    char err[512], old[128], krp[128], kf[128];
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    snprintf(old, sizeof old, "%s/keyring.old", dir);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    size_t kn;
    uint8_t *kimg = slurp(krp, &kn);
    spit(old, kimg, kn);
    chmod(old, 0600);
    free(kimg);
    make_log(3);
    CHECK_INT(keyring_rotate(kr, KR_LOG, err, sizeof err), 2);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    append_n(a, 3, 1); /* record 4, under log key version 2 */
    aof_close(a);
    size_t n, off[8];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 8), 4);
    /* The keyring from before the rotation (copied back, or a lost rename). */
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k1 = keyring_open(old, &src, 0, err, sizeof err);
    CHECK(k1 != NULL);
    sealer *keep = ls;
    ls = seal_new(k1, KR_LOG);
    expect_bad(img, n, off[3],
               "record 4 is sealed with log key version 2, which this keyring "
               "does not have",
               __LINE__);
    /* The same record with a zero fill after it. */
    uint8_t *z = calloc(1, n + 4096);
    memcpy(z, img, n);
    expect_bad(z, n + 4096, off[3], "log key version 2, which this keyring does not have",
               __LINE__);
    /* A torn write of it (past the end) is still not cut: the keyring is the wrong one. */
    expect_bad(img, n - 10, off[3], "log key version 2, which this keyring does not have",
               __LINE__);
    seal_free(ls);
    ls = keep;
    keyring_close(k1);
    free(z);
    free(img);

    /* A compacted log of one record under version 2, then version 2 retired (and a new one
     * made current), as a wrong rotation would leave it. */
    make_log(0);
    CHECK_INT(keyring_rotate(kr, KR_LOG, err, sizeof err), 3);
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    append_n(a, 0, 1);
    aof_close(a);
    CHECK_INT(keyring_rotate(kr, KR_LOG, err, sizeof err), 4);
    CHECK_INT(keyring_retire(kr, KR_LOG, 3, err, sizeof err), 0);
    img = slurp(logpath, &n);
    expect_bad(img, n, AOF_HEADER_LEN,
               "record 1 is sealed with log key version 3, which this keyring has retired",
               __LINE__);
    free(img);
    teardown();
}

UNIT_MAIN(T(length_flip_early_record_is_bad), T(length_flip_last_record_is_torn),
          T(flipped_last_record_wording), T(torn_tail_copy_kept), T(length_into_zero_fill_is_bad),
          T(unknown_key_version_is_bad))
