/* Unit tests for aof: round trips (many records, empty and large ones), torn tails at every
 * byte of the last record, damage in the middle (flipped byte, spliced, swapped, duplicated and
 * dropped records), header errors, check and repair, rewrite commit and abort, the leftover
 * rewrite file, phidb check-log end to end, and the fuzz corpus fixture. Durability (fsync
 * policies, fsync failure, full disk) is in test_aof_durability.c. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../fuzz/aof_fixture.h"
#include "aof_test.h"
#include "util/log.h"

/* Load must fail naming offset off; the file must be unchanged. */
static void expect_bad_at(const uint8_t *img, size_t n, size_t off, const char *line)
{
    char err[512], want[64];
    spit(logpath, img, n);
    aof *a = open_log(AOF_FSYNC_EVERYSEC);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    CHECK(aof_load(a, collect, &c, &st, err, sizeof err) != 0);
    snprintf(want, sizeof want, "bad record at offset %zu ", off);
    if (!strstr(err, want)) unit_fail(__FILE__, __LINE__, "%s: got \"%s\"", line, err);
    CHECK(strstr(err, "check-log") != NULL);
    CHECK(strstr(err, logpath) != NULL);
    char dummy[8];
    CHECK(aof_append(a, (const uint8_t *)"x", 1, dummy, sizeof dummy) != 0); /* not loaded */
    aof_close(a);
    size_t m;
    uint8_t *after = slurp(logpath, &m);
    CHECK(m == n && memcmp(after, img, n) == 0);
    free(after);
}

/* ---- tests ---- */

static size_t big_len(unsigned i)
{
    return i == 7 ? 3 * 1024 * 1024 + 5 : len_of(i);
}

TEST(roundtrip)
{
    setup();
    char err[512];
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && st.records == 0 && st.torn_bytes == 0);
    CHECK_INT(aof_size(a), AOF_HEADER_LEN);
    append_n(a, 0, 5000);
    unsigned long long size = aof_size(a);
    aof_close(a);
    struct stat sb;
    CHECK(stat(logpath, &sb) == 0 && (unsigned long long)sb.st_size == size);
    CHECK_INT(sb.st_mode & 0777, 0600);
    /* Ciphertext only: a recognisable payload is nowhere in the file. */
    a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
    CHECK_INT(c.n, 5000);
    CHECK_INT(c.bad, 0);
    CHECK_INT(st.records, 5000);
    CHECK_INT(st.bytes, size);
    CHECK_INT(st.torn_bytes, 0);
    CHECK_INT(aof_base_size(a), size);
    const char *secret = "PATIENT Jane Doe SSN 123-45-6789";
    CHECK_INT(aof_append(a, (const uint8_t *)secret, strlen(secret), err, sizeof err), 0);
    CHECK_INT(aof_flush(a), 0);
    aof_close(a);
    size_t n;
    uint8_t *img = slurp(logpath, &n);
    CHECK(memmem(img, n, "Jane", 4) == NULL);
    free(img);

    /* A record larger than the loader's read window, between small ones. */
    unlink(logpath);
    c = (coll){0, 0, 0, big_len};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    uint8_t *p = malloc(big_len(7));
    for (unsigned i = 0; i < 10; i++) {
        gen(p, big_len(i), i);
        CHECK_INT(aof_append(a, p, big_len(i), err, sizeof err), 0);
    }
    free(p);
    CHECK_INT(aof_flush(a), 0);
    aof_close(a);
    c = (coll){0, 0, 0, big_len};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK_INT(c.n, 10);
    CHECK_INT(c.bad, 0);
    /* (A payload over the part size is a chain: test_aof_batch.c.) */
    aof_close(a);
    teardown();
}

TEST(continue_after_reload)
{
    setup();
    make_log(10);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    append_n(a, 10, 10); /* sequence numbers continue at 11 */
    aof_close(a);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK_INT(c.n, 20);
    CHECK_INT(c.bad, 0);
    aof_close(a);
    /* Appending before loading an existing log is refused (the sequence is unknown). */
    char err[512];
    a = open_log(AOF_FSYNC_EVERYSEC);
    CHECK(aof_append(a, (const uint8_t *)"x", 1, err, sizeof err) != 0);
    CHECK(strstr(err, "not loaded") != NULL);
    aof_close(a);
    teardown();
}

TEST(torn_tail_every_offset)
{
    setup();
    make_log(6); /* record 5 has 185 payload bytes */
    size_t n, off[8];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 8), 6);
    size_t last = off[5];
    CHECK_INT(last + rec_len(img, last), n);
    log_set_level((enum log_level)(LOG_WARNING + 1)); /* one warning per cut otherwise */
    for (size_t cut = last + 1; cut < n; cut++) {
        spit(logpath, img, cut);
        coll c = {0, 0, 0, len_of};
        aof_load_stats st;
        aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        if (!a) continue;
        if (c.n != 5 || c.bad || st.torn_bytes != cut - last || st.bytes != last)
            unit_fail(__FILE__, __LINE__, "cut %zu: %zu records, torn %llu", cut, c.n,
                      st.torn_bytes);
        /* The log is cut and usable: the next record takes the dropped one's place. */
        append_n(a, 5, 1);
        aof_close(a);
        c = (coll){0, 0, 0, len_of};
        a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        if (!a || c.n != 6 || c.bad || st.torn_bytes)
            unit_fail(__FILE__, __LINE__, "cut %zu: reload has %zu records", cut, c.n);
        aof_close(a);
    }
    log_set_level(LOG_NOTICE);
    /* The last record altered with nothing after it: cut as torn. */
    uint8_t *alt = malloc(n + 4096);
    memcpy(alt, img, n);
    alt[n - 3] ^= 0x40;
    spit(logpath, alt, n);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 5 && st.torn_bytes == n - last);
    aof_close(a);
    /* Zeros after the last record (space the filesystem allocated but never filled). */
    memcpy(alt, img, n);
    memset(alt + n, 0, 4096);
    spit(logpath, alt, n + 4096);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 6 && st.torn_bytes == 4096);
    aof_close(a);
    struct stat sb;
    CHECK(stat(logpath, &sb) == 0 && (size_t)sb.st_size == n);
    free(alt);
    free(img);
    teardown();
}

TEST(damage_in_the_middle)
{
    setup();
    make_log(12);
    size_t n, off[16];
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 16), 12);
    uint8_t *bad = malloc(n * 2);

    /* A flipped byte in the ciphertext of record 5 (0-based 4). */
    memcpy(bad, img, n);
    bad[off[4] + 4 + 20] ^= 1;
    expect_bad_at(bad, n, off[4], "flip");
    /* A flipped byte in the tag. */
    memcpy(bad, img, n);
    bad[off[4] + rec_len(img, off[4]) - 1] ^= 0x80;
    expect_bad_at(bad, n, off[4], "tag");
    /* A length field made shorter (still inside the file). */
    memcpy(bad, img, n);
    bad[off[4] + 3] -= 1;
    expect_bad_at(bad, n, off[4], "length");
    /* A zero length with records after it. */
    memcpy(bad, img, n);
    memset(bad + off[4], 0, 4);
    expect_bad_at(bad, n, off[4], "zero length");
    /* A length over the limit. */
    memcpy(bad, img, n);
    bad[off[4]] = 0xff;
    expect_bad_at(bad, n, off[4], "huge length");

    /* Two records swapped (records 2 and 3). */
    size_t sa = rec_len(img, off[2]), sb = rec_len(img, off[3]);
    memcpy(bad, img, off[2]);
    memcpy(bad + off[2], img + off[3], sb);
    memcpy(bad + off[2] + sb, img + off[2], sa);
    memcpy(bad + off[2] + sa + sb, img + off[4], n - off[4]);
    expect_bad_at(bad, n, off[2], "swap");

    /* A record duplicated (record 2 repeated right after itself). */
    memcpy(bad, img, off[3]);
    memcpy(bad + off[3], img + off[2], sa);
    memcpy(bad + off[3] + sa, img + off[3], n - off[3]);
    expect_bad_at(bad, n + sa, off[3], "duplicate");

    /* A record dropped from the middle. */
    memcpy(bad, img, off[3]);
    memcpy(bad + off[3], img + off[4], n - off[4]);
    expect_bad_at(bad, n - sb, off[3], "drop");

    /* A record spliced in from another log sealed with the same key: same position, same
     * sequence number, same length, but another file id. */
    char other[128], cmd[300];
    snprintf(other, sizeof other, "%s/other", dir);
    mkdir(other, 0700);
    char err[512];
    aof *o = aof_open(other, ls, AOF_FSYNC_EVERYSEC, err, sizeof err);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    CHECK_INT(aof_load(o, collect, &c, &st, err, sizeof err), 0);
    append_n(o, 0, 12);
    aof_close(o);
    snprintf(cmd, sizeof cmd, "%s/phidb.log", other);
    size_t on, ooff[16];
    uint8_t *oimg = slurp(cmd, &on);
    CHECK_INT(offsets(oimg, on, ooff, 16), 12);
    CHECK_INT(on, n);
    memcpy(bad, img, n);
    memcpy(bad + off[6], oimg + ooff[6], rec_len(img, off[6]));
    expect_bad_at(bad, n, off[6], "splice");
    /* The other log's header with this log's records: the first record fails. */
    memcpy(bad, img, n);
    memcpy(bad, oimg, AOF_HEADER_LEN);
    expect_bad_at(bad, n, AOF_HEADER_LEN, "header swap");
    free(oimg);

    /* aof_load refusing a record (apply failed) names its offset. */
    spit(logpath, img, n);
    aof *a = open_log(AOF_FSYNC_EVERYSEC);
    c = (coll){0, 0, 3, len_of};
    CHECK(aof_load(a, collect, &c, &st, err, sizeof err) != 0);
    char want[64];
    snprintf(want, sizeof want, "offset %zu", off[2]);
    CHECK(strstr(err, want) != NULL);
    aof_close(a);
    free(bad);
    free(img);
    teardown();
}

TEST(header_errors)
{
    setup();
    make_log(3);
    size_t n;
    uint8_t *img = slurp(logpath, &n);
    char err[512];
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    struct {
        size_t len;      /* bytes kept */
        int off;         /* byte to change (-1: none) */
        uint8_t val;     /* its new value */
        const char *msg; /* expected in the error */
    } cases[] = {
        {30, -1, 0, "truncated header (30 of 64 bytes)"},
        {0, 11, 3, "format 3 is newer"}, /* format is bytes 8..11, big-endian */
        {0, 0, 'X', "not a phidb log"},
        {0, 15, 1, "unknown log header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : n;
        uint8_t *m = malloc(n);
        memcpy(m, img, n);
        if (cases[i].off >= 0) m[cases[i].off] = cases[i].val;
        spit(logpath, m, len);
        aof *a = open_log(AOF_FSYNC_EVERYSEC);
        CHECK(a != NULL);
        if (a) {
            CHECK(aof_load(a, collect, &c, &st, err, sizeof err) != 0);
            if (!strstr(err, cases[i].msg))
                unit_fail(__FILE__, __LINE__, "case %zu: \"%s\"", i, err);
            aof_close(a);
        }
        size_t after;
        uint8_t *now = slurp(logpath, &after);
        CHECK(after == len && memcmp(now, m, len) == 0);
        free(now);
        free(m);
    }
    /* A log of 0 bytes was truncated (phidb writes none): refused, and left alone. */
    spit(logpath, img, 0);
    CHECK(aof_open(data, ls, AOF_FSYNC_EVERYSEC, err, sizeof err) == NULL);
    CHECK(strstr(err, "empty (0 bytes)") != NULL);
    size_t zlen;
    uint8_t *z = slurp(logpath, &zlen);
    CHECK(zlen == 0);
    free(z);
    /* A missing log is a fresh start. */
    unlink(logpath);
    c = (coll){0, 0, 0, len_of};
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 0 && aof_size(a) == AOF_HEADER_LEN);
    aof_close(a);
    /* A missing directory is reported. */
    CHECK(aof_open("/nonexistent/phidb", ls, AOF_FSYNC_EVERYSEC, err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/phidb") != NULL);
    free(img);
    teardown();
}

TEST(check_and_repair)
{
    setup();
    make_log(8);
    size_t n, off[8];
    uint8_t *img = slurp(logpath, &n);
    offsets(img, n, off, 8);
    char err[512];
    aof_check_report r;
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 0);
    CHECK(r.records == 8 && r.good_end == n && r.size == n && !r.torn && !r.problem[0]);
    /* Repair of a good file does nothing. */
    CHECK_INT(aof_repair(logpath, ls, &r, err, sizeof err), 0);
    CHECK(r.copy[0] == '\0');

    /* Damage in the middle: check says where; repair keeps a copy and cuts there. */
    uint8_t *bad = malloc(n);
    memcpy(bad, img, n);
    bad[off[5] + 30] ^= 4;
    spit(logpath, bad, n);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 1);
    CHECK(r.records == 5 && r.good_end == off[5] && !r.torn);
    char want[64];
    snprintf(want, sizeof want, "bad record at offset %zu", off[5]);
    CHECK(strstr(r.problem, want) != NULL);
    /* Not while the log is open. */
    aof *a = open_log(AOF_FSYNC_EVERYSEC);
    CHECK(aof_repair(logpath, ls, &r, err, sizeof err) != 0);
    CHECK(strstr(err, "in use") != NULL);
    aof_close(a);
    CHECK_INT(aof_repair(logpath, ls, &r, err, sizeof err), 0);
    CHECK(r.copy[0] != '\0');
    size_t cn, fn;
    uint8_t *copy = slurp(r.copy, &cn);
    CHECK(copy && cn == n && memcmp(copy, bad, n) == 0);
    free(copy);
    uint8_t *fixed = slurp(logpath, &fn);
    CHECK(fn == off[5] && memcmp(fixed, img, fn) == 0);
    free(fixed);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 0);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(a && c.n == 5 && c.bad == 0);
    aof_close(a);

    /* A torn tail: check reports it as torn. */
    spit(logpath, img, n - 7);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 1);
    CHECK(r.torn && r.good_end == off[7] && strstr(r.problem, "torn") != NULL);
    /* Unreadable: not a log. */
    spit(logpath, (const uint8_t *)"hello world, this is not a log at all......................",
         60);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), 1); /* too short for a header */
    memcpy(bad, img, n);
    bad[0] = 'Q';
    spit(logpath, bad, n);
    CHECK_INT(aof_check(logpath, ls, &r, err, sizeof err), -1);
    CHECK(strstr(err, "not a phidb log") != NULL);
    CHECK(aof_repair(logpath, ls, &r, err, sizeof err) != 0);
    free(bad);
    free(img);
    teardown();
}

TEST(rewrite_commit_and_abort)
{
    setup();
    char err[512], rw[160];
    snprintf(rw, sizeof rw, "%s.rewrite", logpath);
    make_log(100);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    size_t n;
    uint8_t *old = slurp(logpath, &n);

    /* Abort: the rewrite file goes, the log is untouched and still in use. */
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    CHECK(aof_rewriting(a));
    CHECK(aof_rewrite_begin(a, err, sizeof err) != 0);
    CHECK_INT(aof_rewrite_append(a, (const uint8_t *)"x", 1, err, sizeof err), 0);
    aof_rewrite_abort(a);
    CHECK(!aof_rewriting(a));
    CHECK(access(rw, F_OK) != 0);
    append_n(a, 100, 1);

    /* Commit: records 0..2999 as the fresh state (over 1 MB, so written in chunks), while
     * records 101..103 still go to the active log. */
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    uint8_t p[1024];
    for (unsigned i = 0; i < 3000; i++) {
        gen(p, len_of(i), i);
        CHECK_INT(aof_rewrite_append(a, p, len_of(i), err, sizeof err), 0);
        if (i % 1000 == 0) append_n(a, 101 + i / 1000, 1);
    }
    struct stat sb;
    /* Written as it goes (by the compaction's writer thread: wait for it, up to 10 s). */
    for (int i = 0; i < 1000 && (stat(rw, &sb) != 0 || sb.st_size == 0); i++)
        usleep(10000);
    CHECK(stat(rw, &sb) == 0 && sb.st_size > 0);
    unsigned long long before = aof_size(a);
    CHECK(before > n);
    CHECK_INT(aof_rewrite_commit(a, err, sizeof err), 0);
    CHECK(!aof_rewriting(a));
    CHECK(access(rw, F_OK) != 0);
    CHECK(aof_size(a) == aof_base_size(a));
    CHECK(aof_synced(a));
    size_t nn;
    uint8_t *now = slurp(logpath, &nn);
    CHECK(nn == aof_size(a));
    CHECK(memcmp(now + 16, old + 16, 16) != 0); /* new file id */
    free(now);
    /* Appends continue in the new file, numbered after the rewrite's records. */
    append_n(a, 3000, 50);
    aof_close(a);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK_INT(c.n, 3050);
    CHECK_INT(c.bad, 0);
    aof_close(a);
    free(old);
    teardown();
}

TEST(leftover_rewrite_removed)
{
    setup();
    make_log(3);
    char rw[160];
    snprintf(rw, sizeof rw, "%s.rewrite", logpath);
    spit(rw, (const uint8_t *)"half a rewrite", 14);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK(access(rw, F_OK) != 0);
    CHECK_INT(c.n, 3);
    /* A second open of a log in use is refused, and leaves the live rewrite alone. */
    char err[512];
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    CHECK(aof_open(data, ls, AOF_FSYNC_EVERYSEC, err, sizeof err) == NULL);
    CHECK(strstr(err, "in use") != NULL);
    CHECK(access(rw, F_OK) == 0);
    aof_close(a); /* aborts the rewrite */
    CHECK(access(rw, F_OK) != 0);
    teardown();
}

/* ---- phidb check-log ---- */

/* Run the phidb tool next to this test binary with args; output into out. Exit status, or -1
 * when the tool is not there. */
static int run_tool(const char *args, char *out, size_t outlen)
{
    char exe[512], cmd[1536], outp[160];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    snprintf(slash, sizeof exe - (size_t)(slash - exe), "/phidb");
    if (access(exe, X_OK) != 0) return -1;
    snprintf(outp, sizeof outp, "%s/tool.out", dir);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>&1", exe, args, outp);
    int st = system(cmd);
    size_t len = 0;
    uint8_t *o = slurp(outp, &len);
    snprintf(out, outlen, "%.*s", (int)len, o ? (const char *)o : "");
    free(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(checklog_tool)
{
    setup();
    char conf[160], kf[160], krp[160], err[512], out[4096], args[512], want[128];
    /* The init layout: DIR/phidb.conf, DIR/mk, DIR/data/keyring, DIR/data/phidb.log. */
    snprintf(conf, sizeof conf, "%s/phidb.conf", dir);
    spit(conf, (const uint8_t *)"dir data\nmaster-key-file mk\n", 28);
    snprintf(args, sizeof args, "check-log %s", dir);
    int rc = run_tool(args, out, sizeof out);
    if (rc < 0) {
        printf("skip checklog_tool: no phidb binary beside the test\n");
        teardown();
        return;
    }
    CHECK_INT(rc, 1);
    CHECK(strstr(out, "no keyring") != NULL);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(krp, sizeof krp, "%s/keyring", data);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k2 = keyring_open(krp, &src, 1, err, sizeof err);
    sealer *s2 = seal_new(k2, KR_LOG);
    sealer *keep = ls;
    ls = s2;
    make_log(12);
    ls = keep;
    seal_free(s2);
    keyring_close(k2);

    CHECK_INT(run_tool(args, out, sizeof out), 0);
    CHECK(strstr(out, "OK:") && strstr(out, "12 records"));
    size_t n, off[16] = {0};
    uint8_t *img = slurp(logpath, &n);
    CHECK_INT(offsets(img, n, off, 16), 12);
    img[off[7] + 10] ^= 1;
    spit(logpath, img, n);
    snprintf(want, sizeof want, "bad record at offset %zu", off[7]);
    CHECK_INT(run_tool(args, out, sizeof out), 1);
    CHECK(strstr(out, "DAMAGED") && strstr(out, want) && strstr(out, "--repair"));
    /* The data directory (what the server's load error names) and the config file work too. */
    snprintf(args, sizeof args, "check-log %s", data);
    CHECK_INT(run_tool(args, out, sizeof out), 1);
    CHECK(strstr(out, want) != NULL);
    snprintf(args, sizeof args, "check-log %s --repair", conf);
    CHECK_INT(run_tool(args, out, sizeof out), 0);
    CHECK(strstr(out, "REPAIRED") && strstr(out, "copied to") && strstr(out, want));
    snprintf(want, sizeof want, "dropped %zu bytes from offset %zu", n - off[7], off[7]);
    CHECK(strstr(out, want) != NULL);
    snprintf(args, sizeof args, "check-log %s", dir);
    CHECK_INT(run_tool(args, out, sizeof out), 0);
    CHECK(strstr(out, "7 records") != NULL);
    /* Usage errors. */
    CHECK_INT(run_tool("check-log", out, sizeof out), 2);
    snprintf(args, sizeof args, "check-log %s --frobnicate", dir);
    CHECK_INT(run_tool(args, out, sizeof out), 2);
    CHECK_INT(run_tool("check-log /nonexistent/dir", out, sizeof out), 2);
    free(img);
    teardown();
}

/* ---- the fuzz corpus ---- */

/* Like setup(), but with the fixed keyring of fuzz/aof_fixture.h. */
static void fixture_setup(void)
{
    char kf[128], krp[128], err[512];
    snprintf(dir, sizeof dir, "/tmp/phidb-aof-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    spit(kf, (const uint8_t *)aof_fixture_master_key, strlen(aof_fixture_master_key));
    spit(krp, (const uint8_t *)aof_fixture_keyring, strlen(aof_fixture_keyring));
    chmod(kf, 0600);
    chmod(krp, 0600);
    keyring_kek_source src = {kf, NULL, NULL};
    kr = keyring_open(krp, &src, 0, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "fixture keyring: %s\n", err);
        abort();
    }
    ls = seal_new(kr, KR_LOG);
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(data, 0700);
    snprintf(logpath, sizeof logpath, "%s/phidb.log", data);
}

static void seed(const char *out, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out, name);
    spit(path, p, n);
}

/* Write the seed corpus of fuzz_aof into out. */
static void write_seeds(const char *out)
{
    size_t n, one, off[32];
    make_log(0);
    uint8_t *img = slurp(logpath, &n);
    seed(out, "valid_empty", img, n);
    free(img);
    make_log(1);
    img = slurp(logpath, &one);
    seed(out, "valid_one", img, one);
    free(img);
    make_log(20);
    img = slurp(logpath, &n);
    if (!img || n < 1000 || offsets(img, n, off, 32) != 20) {
        unit_fail(__FILE__, __LINE__, "cannot make the seed log");
        free(img);
        return;
    }
    seed(out, "valid_many", img, n);
    seed(out, "torn_length", img, off[19] + 2);
    seed(out, "torn_body", img, off[19] + rec_len(img, off[19]) / 2);
    uint8_t *m = calloc(1, n + 100);
    memcpy(m, img, n);
    seed(out, "torn_zero_fill", m, n + 100);
    m[n - 5] ^= 1;
    seed(out, "torn_last_bad", m, n);
    memcpy(m, img, n);
    m[off[9] + 30] ^= 1;
    seed(out, "bad_flip", m, n);
    memcpy(m, img, n);
    m[off[9] + 1] ^= 0x40; /* its length runs past the end, but record 11 opens */
    seed(out, "bad_length_past_end", m, n);
    size_t sa = rec_len(img, off[2]), sb = rec_len(img, off[3]);
    memcpy(m, img, n);
    memcpy(m + off[2], img + off[3], sb);
    memcpy(m + off[2] + sb, img + off[2], sa);
    seed(out, "bad_swap", m, n);
    memcpy(m, img, n);
    memset(m + off[5], 0xff, 4);
    seed(out, "bad_huge_length", m, n);
    memset(m + off[5], 0, 4);
    seed(out, "bad_zero_length", m, n);
    free(m);
    m = malloc(n + sa);
    memcpy(m, img, off[3]);
    memcpy(m + off[3], img + off[2], sa);
    memcpy(m + off[3] + sa, img + off[3], n - off[3]);
    seed(out, "bad_duplicate", m, n + sa);
    memcpy(m, img, n);
    seed(out, "header_short", m, 30);
    m[11] = 3;
    seed(out, "header_newer", m, n);
    m[11] = 2;
    m[7] = 'X';
    seed(out, "header_magic", m, n);
    for (size_t i = 0; i < 256; i++)
        m[i] = (uint8_t)(i * 167 + 13);
    seed(out, "garbage", m, 256);
    seed(out, "empty", m, 0);
    free(m);
    free(img);
    /* Zero-length payloads. */
    unlink(logpath);
    aof *a = open_log(AOF_FSYNC_EVERYSEC);
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    char err[512];
    CHECK_INT(aof_load(a, collect, &c, &st, err, sizeof err), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(aof_append(a, NULL, 0, err, sizeof err), 0);
    aof_close(a);
    img = slurp(logpath, &n);
    seed(out, "valid_zero_length", img, n);
    free(img);
}

/* The seeds of fuzz/corpus/aof are what their names say with the fixture keyring (so the
 * fuzzer starts from real logs); PHIDB_AOF_WRITE_SEEDS=DIR writes them afresh. */
TEST(fuzz_corpus_fixture)
{
    fixture_setup();
    const char *out = getenv("PHIDB_AOF_WRITE_SEEDS");
    if (out) write_seeds(out);
    const char *srcdir = getenv("PHIDB_SOURCE");
    char cdir[1024];
    if (out)
        snprintf(cdir, sizeof cdir, "%s", out);
    else
        snprintf(cdir, sizeof cdir, "%s/fuzz/corpus/aof", srcdir ? srcdir : ".");
    DIR *d = opendir(cdir);
    if (!d) {
        printf("skip fuzz_corpus_fixture: no %s\n", cdir);
        teardown();
        return;
    }
    struct dirent *e;
    int seen = 0;
    while ((e = readdir(d)) != NULL) {
        char path[1300], err[512];
        aof_check_report r;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", cdir, e->d_name);
        int rc = aof_check(path, ls, &r, err, sizeof err);
        int ok = 1;
        if (strncmp(e->d_name, "valid_", 6) == 0) ok = rc == 0 && r.records > 0;
        if (strcmp(e->d_name, "valid_empty") == 0) ok = rc == 0 && r.records == 0;
        if (strncmp(e->d_name, "torn_", 5) == 0) ok = rc == 1 && r.torn;
        if (strncmp(e->d_name, "bad_", 4) == 0) ok = rc == 1 && !r.torn && r.records > 0;
        if (strncmp(e->d_name, "header_", 7) == 0) ok = rc != 0;
        if (!ok) unit_fail(__FILE__, __LINE__, "seed %s: check %d (%s)", e->d_name, rc, r.problem);
        seen++;
    }
    closedir(d);
    CHECK(seen >= 12);
    teardown();
}

UNIT_MAIN(T(roundtrip), T(continue_after_reload), T(torn_tail_every_offset),
          T(damage_in_the_middle), T(header_errors), T(check_and_repair),
          T(rewrite_commit_and_abort), T(leftover_rewrite_removed), T(checklog_tool),
          T(fuzz_corpus_fixture))
