/*
 * test_backup: the backup file: writing through the online snapshot, verifying, and every
 * kind of damage refused with a clear message (flipped byte, missing record, wrong key,
 * truncation, a newer format), no plaintext in the file, passphrase copies.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: a generator that fails */
#include <sys/stat.h>

#include <openssl/rand.h>

#include "backup_test.h"
#include "rand_fail.h"

static int contains(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

TEST(roundtrip_counts)
{
    setup();
    fill(400);
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/b1.phib", dir);
    backup_report rep;
    CHECK_INT(make_backup(path, NULL, &rep), 0);
    CHECK_INT(rep.counts.keys, 500);
    CHECK_INT(rep.counts.strings, 400);
    CHECK_INT(rep.counts.hashes, 100);
    CHECK_INT(rep.counts.fields, 300);
    CHECK_INT(rep.counts.expires, 40);
    backup_keys k = master_keys();
    backup_info info;
    int rc = backup_verify(path, &k, &info, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(info.counts.keys, 500);
    CHECK_INT(info.manifest.keys, 500);
    CHECK_INT(info.counts.parts, 1);
    CHECK_STR(info.made_by, "unit test");
    CHECK_INT(info.passphrase, 0);
    CHECK(strlen(info.sign_pub) == 64);
    /* No plaintext: neither values nor key names appear in the file. */
    size_t n = 0;
    unsigned char *p = bt_read(path, &n);
    CHECK(p && memmem(p, n, MARKER, strlen(MARKER)) == NULL);
    CHECK(p && memmem(p, n, "s:17", 4) == NULL);
    CHECK(p && memmem(p, n, "user admin", 10) == NULL);
    free(p);
    /* With the writer's own keyring instead of the master key (a server whose master key
     * was a passphrase): the same checks, and a flipped byte is still found. */
    backup_keys live = {{NULL, NULL, NULL}, NULL, kr};
    rc = backup_verify(path, &live, &info, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(info.counts.keys, 500);
    CHECK(keyring_key(kr, KR_VALUES, keyring_current(kr, KR_VALUES)) != NULL); /* kept open */
    p = bt_read(path, &n);
    if (p) {
        char flipped[140];
        snprintf(flipped, sizeof flipped, "%s.flipped", path);
        p[n / 2] ^= 1;
        FILE *f = fopen(flipped, "wb");
        CHECK(f && fwrite(p, 1, n, f) == n);
        if (f) fclose(f);
        CHECK(backup_verify(flipped, &live, &info, err, sizeof err) != 0);
        unlink(flipped);
        free(p);
    }
    /* A backup never overwrites. */
    backup_opts o = {0};
    CHECK(backup_writer_open(path, kr, &o, err, sizeof err) == NULL);
    CHECK(contains(err, "already exists"));
    /* Nor does it follow a symlink planted at its temporary name. */
    char sym[160], victim[160], target[160];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(sym, sizeof sym, "%s/sym.phib.tmp", dir);
    snprintf(target, sizeof target, "%s/sym.phib", dir);
    FILE *vf = fopen(victim, "w");
    CHECK(vf && fputs("keep", vf) >= 0);
    if (vf) fclose(vf);
    CHECK_INT(symlink(victim, sym), 0);
    CHECK(backup_writer_open(target, kr, &o, err, sizeof err) == NULL);
    struct stat vst;
    CHECK(stat(victim, &vst) == 0 && vst.st_size == 4);
    teardown();
}

TEST(empty_keyspace)
{
    setup();
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/empty.phib", dir);
    backup_report rep;
    CHECK_INT(make_backup(path, NULL, &rep), 0);
    backup_keys k = master_keys();
    backup_info info;
    CHECK_INT(backup_verify(path, &k, &info, err, sizeof err), 0);
    CHECK_INT(info.counts.keys, 0);
    teardown();
}

/* A random generator that fails: no backup is written (its file key would be zero). */
TEST(random_failure)
{
    setup();
    char path[128], err[512] = "";
    snprintf(path, sizeof path, "%s/norand.phib", dir);
    CHECK_INT(RAND_set_rand_method(&rand_fail_method), 1);
    backup_opts o = {0};
    backup_writer *w = backup_writer_open(path, kr, &o, err, sizeof err);
    RAND_set_rand_method(NULL); /* OpenSSL's own again */
    CHECK(w == NULL);
    if (w) backup_writer_abort(w);
    CHECK(contains(err, "random generator"));
    CHECK(access(path, F_OK) != 0);
    char tmp[140];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    teardown();
}

/* Copy src to dst with a change: flip byte at off, or cut to len, or drop [off, off+len). */
static void mutate(const char *src, const char *dst, long flip, long cut, long drop_off,
                   long drop_len)
{
    size_t n = 0;
    unsigned char *p = bt_read(src, &n);
    if (flip >= 0) p[flip] ^= 0x01;
    if (cut >= 0) n = (size_t)cut;
    if (drop_off >= 0 && drop_len >= 0 && (size_t)drop_off + (size_t)drop_len <= n) {
        memmove(p + drop_off, p + drop_off + drop_len, n - (size_t)drop_off - (size_t)drop_len);
        n -= (size_t)drop_len;
    }
    bt_write(dst, p, n, 0600);
    free(p);
}

TEST(damage_refused)
{
    setup();
    fill(3000);
    char path[128], bad[128], err[512];
    snprintf(path, sizeof path, "%s/b.phib", dir);
    snprintf(bad, sizeof bad, "%s/bad.phib", dir);
    backup_report rep;
    CHECK_INT(make_backup(path, NULL, &rep), 0);
    size_t n = 0;
    unsigned char *p = bt_read(path, &n);
    free(p);
    backup_keys k = master_keys();
    backup_info info;
    /* A flipped byte anywhere: in a record, in the keyring, in the header, in the trailer. */
    long spots[] = {(long)n / 2, 200, 50, (long)n - 70, (long)n - 1 - 128};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        mutate(path, bad, spots[i], -1, -1, 0);
        CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
        CHECK(strlen(err) > 10);
    }
    mutate(path, bad, (long)n / 2, -1, -1, 0);
    backup_verify(bad, &k, &info, err, sizeof err);
    CHECK(contains(err, "altered") || contains(err, "damaged"));
    /* Truncated. */
    mutate(path, bad, -1, (long)n - 300, -1, 0);
    CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
    CHECK(contains(err, "truncated"));
    mutate(path, bad, -1, 100, -1, 0);
    CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
    CHECK(contains(err, "truncated"));
    /* A record (the first DATA record after the keyring) missing. */
    p = bt_read(path, &n);
    uint32_t klen =
        (uint32_t)p[128] << 24 | (uint32_t)p[129] << 16 | (uint32_t)p[130] << 8 | p[131];
    long rec = 128 + 4 + (long)klen;
    uint32_t rlen = (uint32_t)p[rec] << 24 | (uint32_t)p[rec + 1] << 16 |
                    (uint32_t)p[rec + 2] << 8 | p[rec + 3];
    free(p);
    mutate(path, bad, -1, -1, rec, 5 + (long)rlen);
    CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
    if (!(contains(err, "missing") || contains(err, "altered"))) fprintf(stderr, "err: %s\n", err);
    CHECK(contains(err, "missing") || contains(err, "altered"));
    char want[64];
    snprintf(want, sizeof want, "%lu bytes shorter", 5 + (unsigned long)rlen);
    CHECK(contains(err, want));
    /* A signed length of 2^63 in the trailer (the difference overflowed a signed integer). */
    p = bt_read(path, &n);
    memset(p + n - BACKUP_TRAILER_LEN + 8, 0, 8);
    p[n - BACKUP_TRAILER_LEN + 8] = 0x80;
    bt_write(bad, p, n, 0600);
    free(p);
    CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
    CHECK(contains(err, "altered") && contains(err, "bytes shorter"));
    /* A newer format. */
    p = bt_read(path, &n);
    p[11] = 9;
    bt_write(bad, p, n, 0600);
    free(p);
    CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
    CHECK(contains(err, "newer phidb"));
    /* Not a backup. */
    bt_write(bad, "hello world, not a backup", 25, 0600);
    CHECK(backup_verify(bad, &k, &info, err, sizeof err) != 0);
    CHECK(contains(err, "not a phidb backup"));
    /* Wrong master key. */
    char other[128];
    snprintf(other, sizeof other, "%s/mk2", dir);
    const char *mk2 = unit_hex_key(1); /* another master key */
    bt_write(other, mk2, strlen(mk2), 0600);
    backup_keys wrong = {{other, NULL, NULL}, NULL, NULL};
    CHECK(backup_verify(path, &wrong, &info, err, sizeof err) != 0);
    CHECK(contains(err, "wrong master key"));
    /* The original still verifies. */
    CHECK_INT(backup_verify(path, &k, &info, err, sizeof err), 0);
    teardown();
}

TEST(passphrase_copy)
{
    setup();
    fill(200);
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/pp.phib", dir);
    backup_report rep;
    backup_opts o = {.passphrase = "short"};
    CHECK(backup_writer_open(path, kr, &o, err, sizeof err) == NULL);
    CHECK(contains(err, "at least 12"));
    CHECK_INT(make_backup(path, "correct horse battery", &rep), 0);
    backup_info info;
    backup_keys k = master_keys();
    CHECK(backup_verify(path, &k, &info, err, sizeof err) != 0);
    CHECK(contains(err, "passphrase"));
    backup_keys wrong = {{NULL, NULL, NULL}, "incorrect horse battery", NULL};
    CHECK(backup_verify(path, &wrong, &info, err, sizeof err) != 0);
    CHECK(contains(err, "wrong passphrase"));
    backup_keys right = {{NULL, NULL, NULL}, "correct horse battery", NULL};
    CHECK_INT(backup_verify(path, &right, &info, err, sizeof err), 0);
    CHECK_INT(info.passphrase, 1);
    CHECK_INT(info.counts.keys, 250);
    backup_keys live = {{NULL, NULL, NULL}, NULL, kr}; /* not for a passphrase copy */
    CHECK(backup_verify(path, &live, &info, err, sizeof err) != 0);
    CHECK(contains(err, "passphrase"));
    teardown();
}

/* Writes during the snapshot: the backup holds the state at the point, nothing later. */
static backup_writer *gw;
static void emit_g(void *ud, const uint8_t *ops, size_t len)
{
    (void)ud;
    char err[256];
    if (backup_writer_frame(gw, ops, len, err, sizeof err) != 0) abort();
}

typedef struct {
    db *d;
    int bad;
} cmp_ctx;

static int apply_frame(void *ud, const uint8_t *f, size_t n, char *err, size_t errlen)
{
    cmp_ctx *x = ud;
    return db_apply(x->d, f, n, err, errlen);
}

TEST(point_in_time)
{
    setup();
    fill(2000);
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/pit.phib", dir);
    backup_opts o = {0};
    gw = backup_writer_open(path, kr, &o, err, sizeof err);
    CHECK(gw != NULL);
    CHECK_INT(db_snapshot_begin(kdb, emit_g, NULL), 0);
    int step = 0;
    while (db_snapshot_step(kdb, 50)) {
        /* After the point: change, delete and add keys. */
        char k[32];
        int kl = snprintf(k, sizeof k, "s:%d", step);
        db_str_set(kdb, (uint8_t *)k, (size_t)kl, (const uint8_t *)"after", 5, DB_NO_EXPIRE, 0);
        kl = snprintf(k, sizeof k, "s:%d", 1999 - step);
        db_delete(kdb, (uint8_t *)k, (size_t)kl);
        kl = snprintf(k, sizeof k, "new:%d", step);
        db_str_set(kdb, (uint8_t *)k, (size_t)kl, (const uint8_t *)"after", 5, DB_NO_EXPIRE, 0);
        step++;
    }
    backup_report rep;
    CHECK_INT(backup_writer_close(gw, NULL, &rep, err, sizeof err), 0);
    CHECK_INT(rep.counts.keys, 2500);
    /* Read it back into a fresh keyspace and compare with what was there at the point. */
    db *d2 = db_new(vs);
    db_set_loading(d2, 1);
    cmp_ctx x = {d2, 0};
    backup_keys k = master_keys();
    backup_info info;
    keyring *k2 = NULL;
    CHECK_INT(backup_read(path, &k, apply_frame, NULL, &x, &k2, &info, err, sizeof err), 0);
    CHECK(k2 != NULL);
    if (k2) keyring_close(k2);
    CHECK_INT(db_size(d2), 2500);
    db_set_now(d2, 1700000000000LL);
    for (int i = 0; i < 2000; i++) {
        char key[32], want[64];
        int kl = snprintf(key, sizeof key, "s:%d", i);
        int wl = snprintf(want, sizeof want, MARKER "%d", i);
        db_entry *e = db_lookup(d2, (uint8_t *)key, (size_t)kl);
        if (!e) {
            unit_fail(__FILE__, __LINE__, "key %s missing", key);
            break;
        }
        db_ref r = db_str_ref(d2, e);
        uint8_t got[64];
        CHECK_INT(db_ref_len(&r), wl);
        CHECK_INT(db_ref_open(d2, &r, got), 0);
        CHECK(memcmp(got, want, (size_t)wl) == 0);
    }
    CHECK(db_lookup(d2, (const uint8_t *)"new:0", 5) == NULL);
    db_free(d2);
    CHECK(step > 0);
    teardown();
}

/* The fuzz corpus (fuzz/corpus/backup/): real backups under the fixture master key (the same
 * key as MK here). PHIDB_BACKUP_WRITE_SEEDS=DIR writes them afresh; otherwise the committed
 * valid seeds must still verify. */
TEST(fuzz_seeds)
{
    setup();
    const char *out = getenv("PHIDB_BACKUP_WRITE_SEEDS");
    const char *src = getenv("PHIDB_SOURCE");
    char path[256], err[512];
    backup_keys k = master_keys();
    backup_info info;
    if (out) {
        backup_report rep;
        snprintf(path, sizeof path, "%s/empty.phib", out);
        unlink(path);
        CHECK_INT(make_backup(path, NULL, &rep), 0);
        fill(12);
        db_str_set(kdb, (const uint8_t *)"bin\0key", 7, (const uint8_t *)"\0\1\2", 3, DB_NO_EXPIRE,
                   0);
        snprintf(path, sizeof path, "%s/valid.phib", out);
        unlink(path);
        CHECK_INT(make_backup(path, NULL, &rep), 0);
        size_t n = 0;
        unsigned char *p = bt_read(path, &n);
        char bad[256];
        snprintf(bad, sizeof bad, "%s/truncated.phib", out);
        bt_write(bad, p, n - 100, 0600);
        p[n / 2] ^= 4;
        snprintf(bad, sizeof bad, "%s/flipped.phib", out);
        bt_write(bad, p, n, 0600);
        free(p);
        return teardown();
    }
    if (!src) {
        teardown();
        return;
    }
    static const char *const valid[] = {"empty.phib", "valid.phib"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/fuzz/corpus/backup/%s", src, valid[i]);
        int rc = backup_verify(path, &k, &info, err, sizeof err);
        if (rc) fprintf(stderr, "%s\n", err);
        CHECK_INT(rc, 0);
    }
    teardown();
}

UNIT_MAIN(T(fuzz_seeds), T(roundtrip_counts), T(empty_keyspace), T(random_failure),
          T(damage_refused), T(passphrase_copy), T(point_in_time))
