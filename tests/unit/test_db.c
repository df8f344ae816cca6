/* Unit tests for db: strings, hashes (both encodings), expiry, rename, scan, notification. */
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/db.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"
#include "util/buf.h"

static keyring *kr;
static sealer *vs;
static char krdir[64];

/* The throw-away keyring's directory goes when the process ends. */
static void remove_krdir(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/mk", krdir);
    unlink(p);
    snprintf(p, sizeof p, "%s/keyring", krdir);
    unlink(p);
    rmdir(krdir);
}

/* A keyspace sealing with a throw-away keyring. */
static db *new_db(void)
{
    if (!kr) {
        snprintf(krdir, sizeof krdir, "/tmp/phidb-dbt-XXXXXX");
        if (!mkdtemp(krdir)) abort();
        atexit(remove_krdir);
        char kf[128], path[128], err[256];
        snprintf(kf, sizeof kf, "%s/mk", krdir);
        FILE *f = fopen(kf, "w");
        fprintf(f, "%s\n", unit_hex_key(0));
        fclose(f);
        chmod(kf, 0600);
        snprintf(path, sizeof path, "%s/keyring", krdir);
        keyring_kek_source src = {kf, NULL, NULL};
        kr = keyring_open(path, &src, 1, err, sizeof err);
        if (!kr) abort();
        vs = seal_new(kr, KR_VALUES);
    }
    return db_new(vs);
}

#define K(s) (const uint8_t *)(s), strlen(s)

static int changes;
static void on_change(void *arg, const uint8_t *k, size_t n)
{
    (void)arg;
    (void)k;
    (void)n;
    changes++;
}

static int value_is(db *d, db_ref r, const char *want)
{
    uint8_t tmp[256];
    size_t n = db_ref_len(&r);
    if (n != strlen(want) || n > sizeof tmp) return 0;
    db_ref_open(d, &r, tmp);
    return memcmp(tmp, want, n) == 0;
}

TEST(strings_and_expiry)
{
    db *d = new_db();
    db_on_change(d, on_change, NULL);
    db_set_now(d, 1000000);
    db_str_set(d, K("a"), K("1"), DB_NO_EXPIRE, 0);
    db_str_set(d, K("b"), K("2"), 1000500, 0);
    CHECK_INT(db_size(d), 2);
    CHECK_INT(db_expires(d), 1);
    db_entry *e = db_lookup(d, K("b"));
    CHECK(e && value_is(d, db_str_ref(d, e), "2"));
    /* keep_ttl keeps, a plain set clears. */
    db_str_set(d, K("b"), K("22"), DB_NO_EXPIRE, 1);
    CHECK(db_get_expire(db_lookup(d, K("b"))) == 1000500);
    db_set_now(d, 1000500);
    CHECK(db_lookup(d, K("b")) == NULL); /* lazily expired */
    CHECK_INT(db_size(d), 1);
    CHECK(changes > 0);
    /* Active expiry removes keys nobody touches. */
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "t%d", i);
        db_str_set(d, K(k), K("v"), 1000600, 0);
    }
    db_set_now(d, 1000700);
    size_t removed = 0;
    for (int i = 0; i < 50 && db_expires(d); i++)
        removed += db_expire_cycle(d, 1000);
    CHECK_INT(removed, 100);
    CHECK_INT(db_size(d), 1);
    db_free(d);
}

TEST(rename_moves_ttl)
{
    db *d = new_db();
    db_set_now(d, 1000);
    db_str_set(d, K("src"), K("v"), 5000, 0);
    db_str_set(d, K("dst"), K("old"), DB_NO_EXPIRE, 0);
    CHECK_INT(db_rename(d, K("src"), K("dst")), 0);
    db_entry *e = db_lookup(d, K("dst"));
    CHECK(e && value_is(d, db_str_ref(d, e), "v") && db_get_expire(e) == 5000);
    CHECK(db_lookup(d, K("src")) == NULL);
    CHECK_INT(db_expires(d), 1);
    CHECK_INT(db_rename(d, K("nope"), K("x")), -1);
    db_free(d);
}

static void count_field(void *arg, const uint8_t *f, size_t flen, const db_ref *v)
{
    (void)f;
    (void)flen;
    (void)v;
    (*(int *)arg)++;
}

TEST(hashes_both_encodings)
{
    db *d = new_db();
    CHECK_INT(db_hash_set(d, K("h"), K("f1"), K("v1")), 1);
    CHECK_INT(db_hash_set(d, K("h"), K("f1"), K("v1b")), 0);
    CHECK_INT(db_hash_set(d, K("h"), K("f2"), K("v2")), 1);
    db_entry *e = db_lookup(d, K("h"));
    db_ref r;
    CHECK(db_hash_get(d, e, K("f1"), &r) && value_is(d, r, "v1b"));
    CHECK_INT(db_hash_len(e), 2);
    /* Grow past the compact limits. */
    for (int i = 0; i < 200; i++) {
        char f[16];
        snprintf(f, sizeof f, "field%d", i);
        db_hash_set(d, K("h"), K(f), K("x"));
    }
    e = db_lookup(d, K("h"));
    CHECK_INT(db_hash_len(e), 202);
    CHECK(db_hash_get(d, e, K("f1"), &r) && value_is(d, r, "v1b"));
    int n = 0;
    db_hash_foreach(d, e, count_field, &n);
    CHECK_INT(n, 202);
    /* A long value converts a small hash too. */
    char big[100];
    memset(big, 'z', 99);
    big[99] = '\0';
    db_hash_set(d, K("h2"), K("f"), K(big));
    e = db_lookup(d, K("h2"));
    CHECK(db_hash_get(d, e, K("f"), &r) && value_is(d, r, big));
    /* Deleting the last field deletes the key. */
    CHECK_INT(db_hash_del(d, e, K("f")), 1);
    CHECK(db_lookup(d, K("h2")) == NULL);
    db_free(d);
}

static void count_key(void *arg, db_entry *e)
{
    (void)e;
    (*(int *)arg)++;
}

TEST(scan_all)
{
    db *d = new_db();
    for (int i = 0; i < 5000; i++) {
        char k[16];
        snprintf(k, sizeof k, "key:%d", i);
        db_str_set(d, K(k), K("v"), DB_NO_EXPIRE, 0);
    }
    int n = 0;
    uint64_t cur = 0;
    do {
        cur = db_scan(d, cur, count_key, &n);
    } while (cur);
    CHECK(n >= 5000);
    db_flush(d);
    CHECK_INT(db_size(d), 0);
    db_free(d);
}

TEST(scan_raw_sees_expired)
{
    db *d = new_db();
    db_set_now(d, 1000);
    db_str_set(d, K("live"), K("v"), DB_NO_EXPIRE, 0);
    db_str_set(d, K("gone"), K("v"), 999, 0); /* expired, not removed yet */
    int live = 0, all = 0;
    uint64_t cur = 0;
    do {
        cur = db_scan(d, cur, count_key, &live);
    } while (cur);
    do {
        cur = db_scan_raw(d, cur, count_key, &all);
    } while (cur);
    CHECK_INT(live, 1);
    CHECK_INT(all, 2);
    CHECK_INT(db_size(d), 2); /* neither scan removes anything */
    db_free(d);
}

TEST(values_sealed_and_bound)
{
    db *d = new_db();
    db_str_set(d, K("patient:1"), K("MARKER-Jane-Doe"), DB_NO_EXPIRE, 0);
    db_hash_set(d, K("patient:2"), K("name"), K("MARKER-John-Roe"));
    db_entry *e = db_lookup(d, K("patient:1"));
    db_ref r = db_str_ref(d, e);
    CHECK(memmem(r.p, r.len, "MARKER", 6) == NULL); /* held sealed */
    CHECK_INT(db_ref_len(&r), 15);
    CHECK(value_is(d, r, "MARKER-Jane-Doe"));
    /* The same sealed bytes under another key or field do not open. */
    db_ref moved = r;
    moved.key = (const uint8_t *)"patient:9";
    uint8_t tmp[64];
    CHECK(db_ref_open(d, &moved, tmp) != 0);
    db_entry *h = db_lookup(d, K("patient:2"));
    db_ref fv;
    CHECK(db_hash_get(d, h, K("name"), &fv));
    fv.field = (const uint8_t *)"ssn";
    fv.flen = 3;
    CHECK(db_ref_open(d, &fv, tmp) != 0);
    /* RENAME re-seals for the new name. */
    CHECK_INT(db_rename(d, K("patient:1"), K("patient:3")), 0);
    CHECK(value_is(d, db_str_ref(d, db_lookup(d, K("patient:3"))), "MARKER-Jane-Doe"));
    CHECK_INT(db_rename(d, K("patient:2"), K("patient:4")), 0);
    h = db_lookup(d, K("patient:4"));
    CHECK(db_hash_get(d, h, K("name"), &fv) && value_is(d, fv, "MARKER-John-Roe"));
    CHECK_INT(db_version_count(d, 1), 2);
    db_free(d);
}

static void check_same(db *a, db *b, const char *key, const char *want);

/* A seal that fails (a new key version whose first nonces cannot be reserved: the keyring
 * file cannot be written) changes nothing: RENAME used to delete the source with part of
 * the hash copied. */
TEST(rename_copy_change_nothing_when_a_seal_fails)
{
    db *d = new_db();
    db_hash_set(d, K("h"), K("a"), K("1"));
    db_hash_set(d, K("h"), K("b"), K("2"));
    db_hash_set(d, K("h"), K("c"), K("3"));
    db_str_set(d, K("dst"), K("keep"), DB_NO_EXPIRE, 0);
    char err[256];
    CHECK(keyring_rotate(kr, KR_VALUES, err, sizeof err) >= 2); /* nothing reserved yet */
    struct rlimit old, none;
    getrlimit(RLIMIT_FSIZE, &old);
    none = old;
    none.rlim_cur = 0;
    signal(SIGXFSZ, SIG_IGN);
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &none), 0);
    int rename_rc = db_rename(d, K("h"), K("dst"));
    int copy_rc = db_copy(d, K("h"), K("dst"));
    int copy_new_rc = db_copy(d, K("h"), K("fresh"));
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_INT(rename_rc, -2);
    CHECK_INT(copy_rc, -2);
    CHECK_INT(copy_new_rc, -2);
    db_entry *h = db_lookup(d, K("h"));
    db_ref fv;
    CHECK(h && db_hash_len(h) == 3);
    CHECK(h && db_hash_get(d, h, K("c"), &fv) && value_is(d, fv, "3"));
    db_entry *t = db_lookup(d, K("dst"));
    CHECK(t && db_entry_type(t) == DB_STRING && value_is(d, db_str_ref(d, t), "keep"));
    CHECK(db_lookup(d, K("fresh")) == NULL);
    /* Once the keyring can be written again, both work. */
    CHECK_INT(db_copy(d, K("h"), K("fresh")), 0);
    CHECK_INT(db_rename(d, K("h"), K("dst")), 0);
    t = db_lookup(d, K("dst"));
    CHECK(t && db_hash_len(t) == 3 && db_lookup(d, K("h")) == NULL);
    db_free(d);
}

TEST(copy_reseals_and_keeps_source)
{
    db *d = new_db();
    buf frame = {0};
    db_journal_to(d, &frame);
    db_set_now(d, 1000);
    db_str_set(d, K("s"), K("MARKER-value"), 9000, 0);
    db_hash_set(d, K("h"), K("name"), K("MARKER-name"));
    db_hash_set(d, K("h"), K("dob"), K("1950-01-01"));
    db_str_set(d, K("taken"), K("old"), DB_NO_EXPIRE, 0);
    CHECK_INT(db_copy(d, K("s"), K("s2")), 0);
    CHECK_INT(db_copy(d, K("h"), K("taken")), 0); /* replaces the string */
    CHECK_INT(db_copy(d, K("nope"), K("x")), -1);
    CHECK(db_lookup(d, K("x")) == NULL);
    /* Source unchanged; the copy opens under its own name, with the same expiry. */
    CHECK(value_is(d, db_str_ref(d, db_lookup(d, K("s"))), "MARKER-value"));
    db_entry *c = db_lookup(d, K("s2"));
    CHECK(c && value_is(d, db_str_ref(d, c), "MARKER-value") && db_get_expire(c) == 9000);
    db_entry *h = db_lookup(d, K("taken"));
    db_ref fv;
    CHECK(h && db_entry_type(h) == DB_HASH && db_hash_len(h) == 2);
    CHECK(h && db_hash_get(d, h, K("name"), &fv) && value_is(d, fv, "MARKER-name"));
    CHECK(h && db_get_expire(h) == DB_NO_EXPIRE);
    /* Changing the source afterwards leaves the copy alone. */
    db_hash_set(d, K("h"), K("name"), K("changed"));
    h = db_lookup(d, K("taken"));
    CHECK(h && db_hash_get(d, h, K("name"), &fv) && value_is(d, fv, "MARKER-name"));
    db_journal_to(d, NULL);
    /* The log replays to the same keyspace. */
    db *r = new_db();
    db_set_now(r, 1000);
    char err[128];
    CHECK_INT(db_apply(r, frame.p, frame.len, err, sizeof err), 0);
    check_same(d, r, "s2", "MARKER-value");
    check_same(d, r, "s", "MARKER-value");
    check_same(d, r, "taken", "");
    buf_free(&frame);
    db_free(r);
    db_free(d);
}

static void check_same(db *a, db *b, const char *key, const char *want)
{
    db_entry *ea = db_lookup(a, K(key)), *eb = db_lookup(b, K(key));
    if (!want) {
        CHECK(ea == NULL && eb == NULL);
        return;
    }
    CHECK(ea && eb);
    if (!ea || !eb) return;
    CHECK(db_get_expire(ea) == db_get_expire(eb));
    if (db_entry_type(ea) == DB_STRING) {
        CHECK(value_is(a, db_str_ref(a, ea), want) && value_is(b, db_str_ref(b, eb), want));
    } else {
        CHECK_INT(db_hash_len(ea), db_hash_len(eb));
    }
}

TEST(journal_replay_is_equivalent)
{
    db *live = new_db();
    buf frame = {0};
    db_journal_to(live, &frame);
    db_set_now(live, 1000);
    db_str_set(live, K("a"), K("1"), DB_NO_EXPIRE, 0);
    db_str_set(live, K("b"), K("2"), 5000, 0);
    db_hash_set(live, K("h"), K("f1"), K("x"));
    db_hash_set(live, K("h"), K("f2"), K("y"));
    db_hash_del(live, db_lookup(live, K("h")), K("f1"));
    db_set_expire(live, db_lookup(live, K("h")), 9000);
    db_rename(live, K("a"), K("c"));
    db_str_set(live, K("gone"), K("z"), DB_NO_EXPIRE, 0);
    db_delete(live, K("gone"));
    /* A key expires, is noticed, and is created again: the old content must not return. */
    db_hash_set(live, K("e"), K("old"), K("1"));
    db_set_expire(live, db_lookup(live, K("e")), 1500);
    db_set_now(live, 2000);
    CHECK(db_lookup(live, K("e")) == NULL);
    db_hash_set(live, K("e"), K("new"), K("2"));
    db_journal_to(live, NULL);
    /* Replay into a fresh keyspace, at a much later time: same state. */
    db *replay = new_db();
    db_set_now(replay, 2000);
    char err[128];
    CHECK_INT(db_apply(replay, frame.p, frame.len, err, sizeof err), 0);
    check_same(live, replay, "b", "2");
    check_same(live, replay, "c", "1");
    check_same(live, replay, "a", NULL);
    check_same(live, replay, "gone", NULL);
    check_same(live, replay, "h", "");
    db_entry *e = db_lookup(replay, K("e"));
    CHECK(e && db_hash_len(e) == 1 && db_get_expire(e) == DB_NO_EXPIRE);
    /* A damaged frame is refused, whatever the damage. */
    for (size_t cut = 1; cut < frame.len; cut += 7) {
        db *x = new_db();
        db_apply(x, frame.p, cut, err, sizeof err); /* must not crash */
        db_free(x);
    }
    uint8_t junk[] = {0x7f, 1, 2, 3};
    CHECK(db_apply(replay, junk, sizeof junk, err, sizeof err) != 0);
    buf_free(&frame);
    db_free(live);
    db_free(replay);
}

TEST(snapshot_and_reseal)
{
    db *d = new_db();
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        db_str_set(d, K(k), K("value"), DB_NO_EXPIRE, 0);
        db_hash_set(d, K("big"), K(k), K("v"));
    }
    CHECK_INT(db_version_count(d, 1), 600);
    /* Snapshot every key into frames; replaying them rebuilds the same keyspace. */
    buf snap = {0};
    uint64_t cur = 0;
    db_entry *big = db_lookup(d, K("big"));
    db_snapshot_key(d, big, &snap);
    db *r = new_db();
    char err[128];
    CHECK_INT(db_apply(r, snap.p, snap.len, err, sizeof err), 0);
    CHECK_INT(db_hash_len(db_lookup(r, K("big"))), 300);
    buf_free(&snap);
    db_free(r);
    /* Rotate the values key and re-seal in steps: nothing left on version 1. */
    uint32_t v2 = keyring_rotate(kr, KR_VALUES, err, sizeof err);
    CHECK(v2 >= 2);
    cur = 0;
    size_t done = 0;
    int steps = 0;
    do {
        done += db_reseal_step(d, &cur, 16);
        steps++;
    } while (cur && steps < 10000);
    CHECK_INT(done, 600);
    CHECK_INT(db_version_count(d, 1), 0);
    CHECK_INT(db_version_count(d, v2), 600);
    CHECK(value_is(d, db_str_ref(d, db_lookup(d, K("k7"))), "value"));
    db_free(d);
}

static void collect(void *ud, const uint8_t *ops, size_t len)
{
    buf_append((buf *)ud, ops, len);
}

static int str_is(db *d, const char *key, const char *want)
{
    db_entry *e = db_lookup(d, K(key));
    if (!want) return e == NULL;
    return e && db_entry_type(e) == DB_STRING && value_is(d, db_str_ref(d, e), want);
}

TEST(snapshot_point_in_time)
{
    db *d = new_db();
    db_set_now(d, 1000);
    for (int i = 0; i < 2000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        db_str_set(d, K(k), K("before"), DB_NO_EXPIRE, 0);
    }
    db_hash_set(d, K("h"), K("f1"), K("v1"));
    db_hash_set(d, K("h"), K("f2"), K("v2"));
    db_str_set(d, K("ttl"), K("expires later"), 5000, 0);
    db_str_set(d, K("gone"), K("expired before the point"), 900, 0);
    buf out = {0};
    CHECK_INT(db_snapshot_begin(d, collect, &out), 0);
    CHECK(db_snapshot_begin(d, collect, &out) != 0); /* one at a time */
    /* Writes while the snapshot runs: none of them may show in it. */
    int steps = 0;
    db_set_now(d, 2000);
    while (db_snapshot_step(d, 1) && steps < 100000) {
        if (steps == 0) {
            db_str_set(d, K("k1"), K("after"), DB_NO_EXPIRE, 0);
            db_delete(d, K("k2"));
            db_str_set(d, K("new"), K("after"), DB_NO_EXPIRE, 0);
            db_hash_set(d, K("h"), K("f3"), K("v3"));
            db_hash_del(d, db_lookup(d, K("h")), K("f1"));
            db_set_expire(d, db_lookup(d, K("k3")), 1500); /* expires after the point */
            db_rename(d, K("k4"), K("renamed"));
        }
        steps++;
    }
    CHECK(!db_snapshot_running(d));
    db *r = new_db();
    db_set_now(r, 1000);
    char err[128];
    CHECK_INT(db_apply(r, out.p, out.len, err, sizeof err), 0);
    CHECK_INT(db_size(r), 2002); /* 2000 k*, h, ttl */
    CHECK(str_is(r, "k1", "before") && str_is(r, "k2", "before") && str_is(r, "k4", "before"));
    CHECK(str_is(r, "new", NULL) && str_is(r, "renamed", NULL) && str_is(r, "gone", NULL));
    CHECK(db_get_expire(db_lookup(r, K("k3"))) == DB_NO_EXPIRE);
    CHECK(db_get_expire(db_lookup(r, K("ttl"))) == 5000);
    db_entry *h = db_lookup(r, K("h"));
    db_ref v;
    CHECK(h && db_hash_len(h) == 2 && db_hash_get(r, h, K("f1"), &v) && value_is(r, v, "v1"));
    /* The live keyspace has every change. */
    CHECK(str_is(d, "k1", "after") && str_is(d, "k2", NULL) && str_is(d, "new", "after"));
    buf_wipe_free(&out);
    db_free(r);
    db_free(d);
}

/* Overwrites with a value of the same stored length are done in place: the snapshot still
 * gets the old value, TTL rules hold, and the hash table form behaves like a new field. */
TEST(overwrite_in_place)
{
    db *d = new_db();
    db_set_now(d, 1000);
    db_str_set(d, K("s"), K("first!"), 5000, 0);
    db_str_set(d, K("s"), K("second"), DB_NO_EXPIRE, 1); /* KEEPTTL */
    CHECK(str_is(d, "s", "second") && db_get_expire(db_lookup(d, K("s"))) == 5000);
    db_str_set(d, K("s"), K("third!"), DB_NO_EXPIRE, 0);
    CHECK(str_is(d, "s", "third!") && db_get_expire(db_lookup(d, K("s"))) == DB_NO_EXPIRE);
    db_str_set(d, K("old"), K("expire"), 1500, 0);
    db_set_now(d, 1600); /* expired: the overwrite makes a new key without the old TTL */
    db_str_set(d, K("old"), K("newval"), DB_NO_EXPIRE, 1);
    CHECK(str_is(d, "old", "newval") && db_get_expire(db_lookup(d, K("old"))) == DB_NO_EXPIRE);
    for (int i = 0; i < DB_HASH_PACK_MAX_ENTRIES + 10; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%03d", i);
        db_hash_set(d, K("h"), K(f), K("v-one"));
    }
    CHECK_INT(db_hash_set(d, K("h"), K("f007"), K("v-two")), 0);
    buf out = {0};
    CHECK_INT(db_snapshot_begin(d, collect, &out), 0);
    /* Changes after the snapshot point, before any key was visited. */
    db_str_set(d, K("s"), K("fourth"), DB_NO_EXPIRE, 0);
    db_hash_set(d, K("h"), K("f007"), K("v-new"));
    db_hash_set(d, K("h"), K("f008"), K("v-new"));
    while (db_snapshot_step(d, 1)) {
    }
    db *r = new_db();
    db_set_now(r, 1600);
    char err[128];
    CHECK_INT(db_apply(r, out.p, out.len, err, sizeof err), 0);
    db_ref v;
    db_entry *h = db_lookup(r, K("h"));
    CHECK(str_is(r, "s", "third!") && h && db_hash_get(r, h, K("f007"), &v) &&
          value_is(r, v, "v-two") && db_hash_get(r, h, K("f008"), &v) && value_is(r, v, "v-one"));
    h = db_lookup(d, K("h"));
    CHECK(str_is(d, "s", "fourth") && db_hash_get(d, h, K("f007"), &v) && value_is(d, v, "v-new") &&
          db_hash_get(d, h, K("f008"), &v) && value_is(d, v, "v-new"));
    CHECK_INT(db_hash_len(h), DB_HASH_PACK_MAX_ENTRIES + 10);
    CHECK_INT(db_version_count(d, keyring_current(kr, KR_VALUES)),
              2 + DB_HASH_PACK_MAX_ENTRIES + 10);
    buf_wipe_free(&out);
    db_free(r);
    db_free(d);
}

static void chunk_flush(void *arg, buf *out)
{
    buf *all = arg;
    CHECK(out->len >= 4096);
    buf_append(all, out->p, out->len);
    out->len = 0;
}

/* A key's snapshot in parts: the parts together are the whole snapshot, byte for byte. */
TEST(snapshot_key_chunked)
{
    db *d = new_db();
    for (int i = 0; i < 1000; i++) {
        char f[16];
        snprintf(f, sizeof f, "field%04d", i);
        db_hash_set(d, K("big"), K(f), K("some value of a field"));
    }
    db_set_expire(d, db_lookup(d, K("big")), 1LL << 45);
    db_entry *e = db_lookup(d, K("big"));
    buf whole = {0}, parts = {0}, out = {0};
    db_snapshot_key(d, e, &whole);
    db_snapshot_key_chunked(d, e, &out, 4096, chunk_flush, &parts);
    CHECK(parts.len >= 4096 * 10); /* it was flushed many times */
    buf_append(&parts, out.p, out.len);
    CHECK(parts.len == whole.len && memcmp(parts.p, whole.p, whole.len) == 0);
    buf_free(&whole);
    buf_free(&parts);
    buf_free(&out);
    db_free(d);
}

static int pieces;
static size_t max_piece;

static void collect_count(void *ud, const uint8_t *ops, size_t len)
{
    pieces++;
    if (len > max_piece) max_piece = len;
    buf_append((buf *)ud, ops, len);
}

/* An online snapshot hands a large hash out in parts; replayed, they give the whole hash. */
TEST(snapshot_large_hash_in_parts)
{
    db *d = new_db();
    for (int i = 0; i < 40000; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%05d", i);
        db_hash_set(d, K("big"), K(f), K("a value long enough"));
    }
    db_str_set(d, K("s"), K("v"), DB_NO_EXPIRE, 0);
    buf out = {0};
    pieces = 0;
    max_piece = 0;
    CHECK_INT(db_snapshot_begin(d, collect_count, &out), 0);
    while (db_snapshot_step(d, 1000)) {
    }
    CHECK(pieces >= 3);
    CHECK(max_piece < (1u << 20) + 4096); /* about 1 MB at most, however large the hash */
    db *r = new_db();
    char err[128];
    CHECK_INT(db_apply(r, out.p, out.len, err, sizeof err), 0);
    db_entry *h = db_lookup(r, K("big"));
    db_ref v;
    CHECK(h && db_hash_len(h) == 40000 && db_hash_get(r, h, K("f39999"), &v) &&
          value_is(r, v, "a value long enough") && str_is(r, "s", "v"));
    buf_wipe_free(&out);
    db_free(r);
    db_free(d);
}

/* A hash read in parts while it changes (what compaction does, the changes journaled into the
 * same stream in between): replayed, the stream gives the hash as it ends up. */
TEST(hash_parts_with_writes_between)
{
    db *d = new_db();
    for (int i = 0; i < 5000; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%04d", i);
        db_hash_set(d, K("big"), K(f), K("first value"));
    }
    db_set_expire(d, db_lookup(d, K("big")), 1LL << 45);
    buf stream = {0};
    int parts = 0;
    uint64_t cur = 0;
    do {
        db_entry *e = db_find_raw(d, K("big"));
        cur = db_snapshot_hash_part(d, e, cur, parts == 0, 2048, &stream);
        parts++;
        /* Writes between parts, journaled into the same stream. */
        db_journal_to(d, &stream);
        char f[16];
        snprintf(f, sizeof f, "f%04d", (parts * 997) % 5000);
        db_hash_set(d, K("big"), K(f), K("changed"));
        snprintf(f, sizeof f, "f%04d", (parts * 1499 + 7) % 5000);
        db_hash_del(d, db_lookup(d, K("big")), K(f));
        snprintf(f, sizeof f, "n%04d", parts);
        db_hash_set(d, K("big"), K(f), K("added"));
        if (parts == 5) db_set_expire(d, db_lookup(d, K("big")), 1LL << 46);
        db_journal_to(d, NULL);
    } while (cur);
    CHECK(parts > 10);
    db *r = new_db();
    char err[128];
    CHECK_INT(db_apply(r, stream.p, stream.len, err, sizeof err), 0);
    db_entry *a = db_lookup(d, K("big")), *b = db_lookup(r, K("big"));
    CHECK(a && b && db_hash_len(a) == db_hash_len(b));
    CHECK(db_get_expire(b) == 1LL << 46);
    int same = 1;
    for (int i = 0; i < 5000 + parts + 1 && same; i++) {
        char f[16];
        snprintf(f, sizeof f, i < 5000 ? "f%04d" : "n%04d", i < 5000 ? i : i - 5000);
        db_ref va, vb;
        int ha = db_hash_get(d, a, K(f), &va), hb = db_hash_get(r, b, K(f), &vb);
        uint8_t pa[64], pb[64];
        if (ha != hb) same = 0;
        if (ha && hb) {
            db_ref_open(d, &va, pa);
            db_ref_open(r, &vb, pb);
            same = db_ref_len(&va) == db_ref_len(&vb) && memcmp(pa, pb, db_ref_len(&va)) == 0;
        }
    }
    CHECK(same);
    buf_wipe_free(&stream);
    db_free(r);
    db_free(d);
}

/* UNLINK of a large hash: gone from the keyspace at once, freed on the lazy-free thread,
 * and the values per key version fall when its completion is drained; the same name can
 * be used again meanwhile. Without the thread (tools) it is freed at once. */
TEST(unlink_lazy)
{
    db *d = new_db();
    uint32_t v = keyring_current(kr, KR_VALUES);
    CHECK_INT(db_lazyfree_start(d), 0);
    CHECK(db_lazyfree_fd(d) >= 0);
    for (int i = 0; i < 500; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%d", i);
        db_hash_set(d, K("big"), K(f), K("value"));
        if (i < 10) db_hash_set(d, K("small"), K(f), K("v"));
    }
    db_str_set(d, K("s"), K("x"), DB_NO_EXPIRE, 0);
    CHECK_INT(db_version_count(d, v), 511);
    CHECK_INT(db_unlink(d, K("big")), 1);
    CHECK(db_lookup(d, K("big")) == NULL);
    CHECK_INT(db_unlink(d, K("small")), 1); /* small: freed at once */
    CHECK_INT(db_unlink(d, K("missing")), 0);
    for (int i = 0; i < 3; i++) {
        char f[16];
        snprintf(f, sizeof f, "n%d", i);
        db_hash_set(d, K("big"), K(f), K("new"));
    }
    for (int i = 0; i < 500 && db_version_count(d, v) != 4; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        db_lazyfree_drain(d);
    }
    CHECK_INT(db_version_count(d, v), 4); /* "s" and the new hash's three */
    CHECK_INT(db_hash_len(db_lookup(d, K("big"))), 3);
    db_ref r;
    CHECK(db_hash_get(d, db_lookup(d, K("big")), K("n1"), &r) && value_is(d, r, "new"));
    /* Expiry frees a large hash on the thread too. */
    for (int i = 0; i < 300; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%d", i);
        db_hash_set(d, K("exp"), K(f), K("value"));
    }
    db_set_now(d, 1000000);
    db_set_expire(d, db_lookup(d, K("exp")), 1000001);
    db_set_now(d, 1000002);
    CHECK(db_lookup(d, K("exp")) == NULL);
    for (int i = 0; i < 500 && db_version_count(d, v) != 4; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        db_lazyfree_drain(d);
    }
    CHECK_INT(db_version_count(d, v), 4);
    db_free(d);
    d = new_db(); /* no thread */
    for (int i = 0; i < 200; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%d", i);
        db_hash_set(d, K("big"), K(f), K("value"));
    }
    CHECK_INT(db_unlink(d, K("big")), 1);
    CHECK_INT(db_version_count(d, v), 0);
    db_free(d);
}

UNIT_MAIN(T(unlink_lazy), T(snapshot_point_in_time), T(strings_and_expiry), T(rename_moves_ttl),
          T(hashes_both_encodings), T(scan_all), T(scan_raw_sees_expired),
          T(values_sealed_and_bound), T(journal_replay_is_equivalent), T(snapshot_and_reseal),
          T(overwrite_in_place), T(snapshot_key_chunked), T(snapshot_large_hash_in_parts),
          T(hash_parts_with_writes_between), T(copy_reseals_and_keeps_source),
          T(rename_copy_change_nothing_when_a_seal_fails))
