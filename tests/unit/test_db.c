/* Unit tests for db: strings, hashes (both encodings), expiry, rename, scan, notification. */
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "unit.h"

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
    db *d = db_new();
    db_on_change(d, on_change, NULL);
    db_set_now(d, 1000000);
    db_str_set(d, K("a"), K("1"), DB_NO_EXPIRE, 0);
    db_str_set(d, K("b"), K("2"), 1000500, 0);
    CHECK_INT(db_size(d), 2);
    CHECK_INT(db_expires(d), 1);
    db_entry *e = db_lookup(d, K("b"));
    CHECK(e && value_is(d, db_str_ref(e), "2"));
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
    db *d = db_new();
    db_set_now(d, 1000);
    db_str_set(d, K("src"), K("v"), 5000, 0);
    db_str_set(d, K("dst"), K("old"), DB_NO_EXPIRE, 0);
    CHECK_INT(db_rename(d, K("src"), K("dst")), 0);
    db_entry *e = db_lookup(d, K("dst"));
    CHECK(e && value_is(d, db_str_ref(e), "v") && db_get_expire(e) == 5000);
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
    db *d = db_new();
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
    db *d = db_new();
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

UNIT_MAIN(T(strings_and_expiry), T(rename_moves_ttl), T(hashes_both_encodings), T(scan_all))
