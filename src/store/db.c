/*
 * db: keys, strings and expiry (see db.h; hashes are in db_hash.c).
 *
 * An entry is one allocation (link, value pointer, expiry, key bytes). Keys with
 * an expiry are also listed in an array so active expiry can sample them at
 * random in O(1); each entry remembers its index there for O(1) removal.
 */
#include "db_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/strutil.h"

static void entry_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const db_entry *e = (const db_entry *)n;
    *k = e->key;
    *len = e->klen;
}

static const dict_type keys_type = {.keyof = entry_keyof};

db *db_new(void)
{
    db *d = mem_calloc(sizeof *d);
    dict_init(&d->keys, &keys_type);
    d->now = clock_ms();
    return d;
}

static void free_value(db_entry *e)
{
    if (!e->val) return;
    if (e->type == DB_STRING)
        mem_free_wipe(e->val);
    else
        db_hash_free(e->val);
    e->val = NULL;
}

static void free_entry_cb(dict_node *n, void *arg)
{
    (void)arg;
    db_entry *e = (db_entry *)n;
    free_value(e);
    mem_free_wipe(e);
}

void db_free(db *d)
{
    if (!d) return;
    dict_clear(&d->keys, free_entry_cb, NULL);
    mem_free(d->exp);
    mem_free(d);
}

void db_on_change(db *d, db_change_fn *fn, void *arg)
{
    d->on_change = fn;
    d->on_change_arg = arg;
}

void db_set_now(db *d, long long now_ms)
{
    d->now = now_ms;
}

long long db_now(const db *d)
{
    return d->now;
}

void db_touch(db *d, const uint8_t *key, size_t klen)
{
    if (d->on_change) d->on_change(d->on_change_arg, key, klen);
}

/* ---- expiry index ---- */

static void exp_add(db *d, db_entry *e)
{
    if (e->exp_idx != EXP_NONE) return;
    if (d->exp_len == d->exp_cap) {
        d->exp_cap = d->exp_cap ? d->exp_cap * 2 : 64;
        d->exp = mem_realloc(d->exp, d->exp_cap * sizeof *d->exp);
    }
    e->exp_idx = (uint32_t)d->exp_len;
    d->exp[d->exp_len++] = e;
}

static void exp_remove(db *d, db_entry *e)
{
    if (e->exp_idx == EXP_NONE) return;
    size_t i = e->exp_idx;
    db_entry *last = d->exp[--d->exp_len];
    d->exp[i] = last;
    last->exp_idx = (uint32_t)i;
    e->exp_idx = EXP_NONE;
}

/* ---- keys ---- */

static db_entry *find(db *d, const uint8_t *key, size_t klen, uint64_t h)
{
    return (db_entry *)dict_find(&d->keys, key, klen, h);
}

static void remove_entry(db *d, db_entry *e, uint64_t h)
{
    dict_unlink(&d->keys, e->key, e->klen, h);
    exp_remove(d, e);
    free_value(e);
    mem_free_wipe(e);
}

static int expired(const db *d, const db_entry *e)
{
    return e->expire != DB_NO_EXPIRE && e->expire <= d->now;
}

db_entry *db_lookup(db *d, const uint8_t *key, size_t klen)
{
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (e && expired(d, e)) {
        remove_entry(d, e, h);
        db_touch(d, key, klen);
        return NULL;
    }
    return e;
}

enum db_type db_entry_type(const db_entry *e)
{
    return (enum db_type)e->type;
}

const uint8_t *db_entry_key(const db_entry *e, size_t *klen)
{
    *klen = e->klen;
    return e->key;
}

int db_delete(db *d, const uint8_t *key, size_t klen)
{
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (!e) return 0;
    int live = !expired(d, e);
    remove_entry(d, e, h);
    db_touch(d, key, klen);
    return live;
}

long long db_get_expire(const db_entry *e)
{
    return e->expire;
}

void db_set_expire(db *d, db_entry *e, long long when_ms)
{
    e->expire = when_ms;
    if (when_ms == DB_NO_EXPIRE)
        exp_remove(d, e);
    else
        exp_add(d, e);
    db_touch(d, e->key, e->klen);
}

static db_entry *entry_new(const uint8_t *key, size_t klen, enum db_type type)
{
    db_entry *e = mem_alloc(sizeof *e + klen);
    e->node.next = NULL;
    e->val = NULL;
    e->expire = DB_NO_EXPIRE;
    e->klen = (uint32_t)klen;
    e->exp_idx = EXP_NONE;
    e->type = (uint8_t)type;
    memcpy(e->key, key, klen);
    return e;
}

int db_rename(db *d, const uint8_t *src, size_t slen, const uint8_t *dst, size_t dlen)
{
    db_entry *e = db_lookup(d, src, slen);
    if (!e) return -1;
    if (slen == dlen && memcmp(src, dst, slen) == 0) return 0;
    db_delete(d, dst, dlen);
    uint64_t hs = dict_hash(src, slen);
    dict_unlink(&d->keys, src, slen, hs);
    db_entry *n = entry_new(dst, dlen, (enum db_type)e->type);
    n->val = e->val;
    n->expire = e->expire;
    if (e->exp_idx != EXP_NONE) {
        n->exp_idx = e->exp_idx;
        d->exp[n->exp_idx] = n;
    }
    e->val = NULL;
    e->exp_idx = EXP_NONE;
    mem_free_wipe(e);
    dict_insert(&d->keys, &n->node, dict_hash(dst, dlen));
    db_touch(d, src, slen);
    db_touch(d, dst, dlen);
    return 0;
}

size_t db_size(const db *d)
{
    return dict_size(&d->keys);
}

size_t db_expires(const db *d)
{
    return d->exp_len;
}

void db_flush(db *d)
{
    dict_clear(&d->keys, free_entry_cb, NULL);
    d->exp_len = 0;
    db_touch(d, NULL, 0);
}

typedef struct {
    db *d;
    void (*fn)(void *arg, db_entry *e);
    void *arg;
} scan_ctx;

static void scan_cb(void *arg, dict_node *n)
{
    scan_ctx *s = arg;
    db_entry *e = (db_entry *)n;
    if (expired(s->d, e)) return; /* removed lazily by a later lookup */
    s->fn(s->arg, e);
}

uint64_t db_scan(db *d, uint64_t cursor, void (*fn)(void *arg, db_entry *e), void *arg)
{
    scan_ctx s = {d, fn, arg};
    return dict_scan(&d->keys, cursor, scan_cb, &s);
}

size_t db_expire_cycle(db *d, long long budget_us)
{
    long long start = clock_mono_us();
    size_t removed = 0;
    for (int round = 0; d->exp_len > 0; round++) {
        int sampled = 0, hit = 0;
        for (; sampled < 20 && d->exp_len > 0; sampled++) {
            db_entry *e = d->exp[(size_t)random() % d->exp_len];
            if (e->expire <= d->now) {
                uint8_t keybuf[256];
                size_t klen = e->klen;
                /* The entry (and its key) is freed: keep a copy for the notification. */
                const uint8_t *key = e->key;
                uint8_t *heap = NULL;
                if (klen <= sizeof keybuf) {
                    memcpy(keybuf, key, klen);
                    key = keybuf;
                } else {
                    heap = mem_alloc(klen);
                    memcpy(heap, key, klen);
                    key = heap;
                }
                remove_entry(d, e, dict_hash(e->key, e->klen));
                db_touch(d, key, klen);
                mem_free_wipe(heap);
                hit++;
                removed++;
            }
        }
        if (hit * 4 <= sampled) break; /* fewer than a quarter expired: enough for now */
        if ((round & 15) == 15 && clock_mono_us() - start > budget_us) break;
    }
    return removed;
}

void db_rehash(db *d, int ms)
{
    dict_rehash_ms(&d->keys, ms);
}

/* ---- values ---- */

size_t db_ref_len(const db_ref *r)
{
    return r->len;
}

void db_ref_open(db *d, const db_ref *r, uint8_t *dst)
{
    (void)d;
    memcpy(dst, r->p, r->len);
}

/* ---- strings ---- */

db_ref db_str_ref(const db_entry *e)
{
    const db_sval *s = e->val;
    db_ref r = {s->data, s->len};
    return r;
}

static db_sval *sval_new(const uint8_t *val, size_t vlen)
{
    db_sval *s = mem_alloc(sizeof *s + vlen);
    s->len = (uint32_t)vlen;
    memcpy(s->data, val, vlen);
    return s;
}

db_entry *db_str_set(db *d, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                     long long expire_ms, int keep_ttl)
{
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (e && expired(d, e)) {
        remove_entry(d, e, h);
        e = NULL;
    }
    if (e) {
        free_value(e);
        e->type = DB_STRING;
    } else {
        e = entry_new(key, klen, DB_STRING);
        dict_insert(&d->keys, &e->node, h);
    }
    e->val = sval_new(val, vlen);
    if (!keep_ttl) {
        e->expire = expire_ms;
        if (expire_ms == DB_NO_EXPIRE)
            exp_remove(d, e);
        else
            exp_add(d, e);
    }
    db_touch(d, key, klen);
    return e;
}

/* Used by db_hash.c to create a hash key. */
db_entry *db_int_new_hash(db *d, const uint8_t *key, size_t klen);
db_entry *db_int_new_hash(db *d, const uint8_t *key, size_t klen)
{
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (e) remove_entry(d, e, h);
    e = entry_new(key, klen, DB_HASH);
    e->val = db_hash_new();
    dict_insert(&d->keys, &e->node, h);
    return e;
}
