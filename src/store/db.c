/*
 * db: keys, strings, sealing and expiry (see db.h; hashes are in db_hash.c,
 * the journal in db_journal.c).
 *
 * An entry is one allocation (link, value pointer, expiry, key bytes). Keys with
 * an expiry are also listed in an array so active expiry can sample them at
 * random in O(1); each entry remembers its index there for O(1) removal.
 */
#include "db_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/mem.h"
#include "util/strutil.h"

static void entry_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const db_entry *e = (const db_entry *)n;
    *k = e->key;
    *len = e->klen;
}

static const dict_type keys_type = {.keyof = entry_keyof};

db *db_new(sealer *s)
{
    db *d = mem_calloc(sizeof *d);
    dict_init(&d->keys, &keys_type);
    d->now = clock_ms();
    d->seal = s;
    return d;
}

/* Largest stored string value SET overwrites in place (sealed on the stack first). */
#define DB_SET_IN_PLACE_MAX 1024

/* ---- sealing ---- */

void db_count(db *d, const uint8_t *stored, size_t len, int delta)
{
    if (!d->seal) return;
    uint32_t v = seal_version(stored, len);
    if (v >= d->nvcount) {
        if (delta < 0) return;
        size_t n = v + 8;
        d->vcount = mem_realloc(d->vcount, n * sizeof *d->vcount);
        memset(d->vcount + d->nvcount, 0, (n - d->nvcount) * sizeof *d->vcount);
        d->nvcount = n;
    }
    if (delta > 0)
        d->vcount[v]++;
    else if (d->vcount[v])
        d->vcount[v]--;
}

void db_uncount(db *d, uint32_t v, size_t n)
{
    if (v < d->nvcount) d->vcount[v] = d->vcount[v] > n ? d->vcount[v] - n : 0;
}

size_t db_version_count(const db *d, uint32_t v)
{
    return v < d->nvcount ? d->vcount[v] : 0;
}

void db_seal_stats(const db *d, unsigned long long *sealed, unsigned long long *opened)
{
    *sealed = d->sealed;
    *opened = d->opened;
}

uint8_t *db_seal_value(db *d, const uint8_t *key, size_t klen, const uint8_t *field, size_t flen,
                       const uint8_t *v, size_t vlen, size_t *outlen)
{
    if (!d->seal) {
        uint8_t *p = mem_alloc(vlen ? vlen : 1);
        memcpy(p, v, vlen);
        *outlen = vlen;
        return p;
    }
    uint8_t *p = mem_alloc(vlen + SEAL_OVERHEAD);
    if (seal_seal(d->seal, v, vlen, key, klen, field, flen, p) != 0) {
        mem_free(p);
        return NULL;
    }
    d->sealed++;
    *outlen = vlen + SEAL_OVERHEAD;
    return p;
}

size_t db_ref_len(const db_ref *r)
{
    if (!r->sealed) return r->len;
    return r->len >= SEAL_OVERHEAD ? r->len - SEAL_OVERHEAD : 0;
}

int db_ref_open(db *d, const db_ref *r, uint8_t *dst)
{
    if (!r->sealed) {
        memcpy(dst, r->p, r->len);
        return 0;
    }
    if (r->len < SEAL_OVERHEAD) return -1;
    int rc = seal_open(d->seal, r->p, r->len, r->key, r->klen, r->field, r->flen, dst);
    if (rc == 0) d->opened++;
    return rc;
}

/* Without a sealer the stored form is the plaintext: lengths are equal. */
static size_t plain_len(const db *d, size_t stored)
{
    return d->seal ? stored - SEAL_OVERHEAD : stored;
}

void db_free(db *d);

static void free_value(db *d, db_entry *e)
{
    if (!e->val) return;
    if (e->type == DB_STRING) {
        db_sval *s = e->val;
        db_count(d, s->data, s->len, -1);
        /* A sealed value is ciphertext: wiping it would protect nothing. Without a sealer
         * (tests and tools) it is the plaintext. */
        if (d->seal)
            mem_free(s);
        else
            mem_free_wipe(s);
    } else {
        db_hash_free(d, e->val);
    }
    e->val = NULL;
}

static void free_entry_cb(dict_node *n, void *arg)
{
    db_entry *e = (db_entry *)n;
    free_value(arg, e);
    mem_free_wipe(e);
}

void db_free(db *d)
{
    if (!d) return;
    db_lazyfree_stop(d);
    buf_wipe_free(&d->snap_out);
    dict_clear(&d->keys, free_entry_cb, d);
    mem_free(d->exp);
    mem_free(d->vcount);
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

void db_journal_to(db *d, buf *frame)
{
    d->journal = frame;
}

void db_set_loading(db *d, int loading)
{
    d->loading = loading;
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

static void set_expire_field(db *d, db_entry *e, long long when)
{
    e->expire = when;
    if (when == DB_NO_EXPIRE)
        exp_remove(d, e);
    else
        exp_add(d, e);
}

/* ---- keys ---- */

static db_entry *find(db *d, const uint8_t *key, size_t klen, uint64_t h)
{
    return (db_entry *)dict_find(&d->keys, key, klen, h);
}

db_entry *db_find_raw(db *d, const uint8_t *key, size_t klen)
{
    return find(d, key, klen, dict_hash(key, klen));
}

void db_prefetch(db *d, const uint8_t *const *keys, const size_t *lens,
                 const uint8_t *const *fields, const size_t *flens, size_t n)
{
    dict_node *const *b[DB_PREFETCH_MAX][2];
    if (n > DB_PREFETCH_MAX) n = DB_PREFETCH_MAX;
    for (size_t i = 0; i < n; i++) {
        dict_buckets(&d->keys, dict_hash(keys[i], lens[i]), b[i]);
        for (int t = 0; t < 2; t++)
            if (b[i][t]) __builtin_prefetch(b[i][t]);
    }
    /* Each stage reads what the one before asked for (all n requests in flight at once)
     * and asks for the next level: bucket heads, entries, values, hash field buckets. */
    const db_entry *e[DB_PREFETCH_MAX];
    for (size_t i = 0; i < n; i++) {
        e[i] = b[i][0] ? (const db_entry *)*b[i][0] : NULL;
        if (!e[i] && b[i][1]) e[i] = (const db_entry *)*b[i][1];
        if (e[i]) __builtin_prefetch(e[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (e[i] && e[i]->klen != lens[i]) e[i] = NULL;
        if (!e[i]) continue;
        const uint8_t *v = e[i]->val;
        __builtin_prefetch(v);
        if (e[i]->type == DB_STRING) {
            __builtin_prefetch(v + 64);
            __builtin_prefetch(v + 128);
        }
    }
    if (!fields) return;
    for (size_t i = 0; i < n; i++) {
        b[i][0] = b[i][1] = NULL;
        if (!e[i] || e[i]->type != DB_HASH || !fields[i]) continue;
        const db_hash *h = e[i]->val;
        if (h->packed) {
            if (h->pack) __builtin_prefetch(h->pack);
            continue;
        }
        dict_buckets(&h->fields, dict_hash(fields[i], flens[i]), b[i]);
        for (int t = 0; t < 2; t++)
            if (b[i][t]) __builtin_prefetch(b[i][t]);
    }
    for (size_t i = 0; i < n; i++) {
        const dict_node *f = b[i][0] ? *b[i][0] : NULL;
        if (!f && b[i][1]) f = *b[i][1];
        if (f) __builtin_prefetch(f);
    }
}

static void remove_entry(db *d, db_entry *e, uint64_t h)
{
    db_snap_capture(d, e);
    dict_unlink(&d->keys, e->key, e->klen, h);
    exp_remove(d, e);
    free_value(d, e);
    mem_free_wipe(e);
}

/* A large hash about to be removed goes to the lazy-free thread (db_lazyfree.c) instead of
 * being freed by remove_entry. */
static void lazy_take(db *d, db_entry *e)
{
    if (!d->lazyq || e->type != DB_HASH || ((db_hash *)e->val)->packed ||
        db_hash_len(e) <= DB_LAZYFREE_MIN)
        return;
    db_snap_capture(d, e); /* as remove_entry, before the value goes */
    if (db_lazyfree_hash(d, e->val) == 0) e->val = NULL;
}

static int expired(const db *d, const db_entry *e)
{
    return !d->loading && e->expire != DB_NO_EXPIRE && e->expire <= d->now;
}

/* Remove an expired entry: journaled, so a later write cannot revive its old content. */
static void expire_entry(db *d, db_entry *e, uint64_t h)
{
    uint8_t small[256];
    size_t klen = e->klen;
    uint8_t *key = klen <= sizeof small ? small : mem_alloc(klen);
    memcpy(key, e->key, klen);
    d->expired_n++;
    lazy_take(d, e); /* expiry frees large hashes off the loop (Valkey's default too) */
    remove_entry(d, e, h);
    db_j_del(d, key, klen);
    db_touch(d, key, klen);
    if (key != small)
        mem_free_wipe(key);
    else
        OPENSSL_cleanse(small, klen);
}

unsigned long long db_expired_count(const db *d)
{
    return d->expired_n;
}

void db_expired_count_reset(db *d)
{
    d->expired_n = 0;
}

db_entry *db_lookup(db *d, const uint8_t *key, size_t klen)
{
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (e && expired(d, e)) {
        expire_entry(d, e, h);
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

static int delete_key(db *d, const uint8_t *key, size_t klen, int lazy)
{
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (!e) return 0;
    int live = !expired(d, e);
    if (lazy) lazy_take(d, e);
    remove_entry(d, e, h);
    db_j_del(d, key, klen);
    db_touch(d, key, klen);
    return live;
}

int db_delete(db *d, const uint8_t *key, size_t klen)
{
    return delete_key(d, key, klen, 0);
}

int db_unlink(db *d, const uint8_t *key, size_t klen)
{
    return delete_key(d, key, klen, 1);
}

long long db_get_expire(const db_entry *e)
{
    return e->expire;
}

void db_set_expire(db *d, db_entry *e, long long when_ms)
{
    db_snap_capture(d, e);
    set_expire_field(d, e, when_ms);
    db_j_expire(d, e->key, e->klen, when_ms);
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
    e->snap = 0;
    memcpy(e->key, key, klen);
    return e;
}

/* A hash's fields sealed for another key name, kept until all of them are (see copy_entry). */
typedef struct {
    uint8_t *f, *v; /* field name (copy), value sealed for the destination */
    size_t flen, vlen;
} resealed;

typedef struct {
    db *d;
    const uint8_t *dst;
    size_t dlen;
    resealed *items;
    size_t n, cap;
    int failed;
} reseal_ctx;

static void reseal_field(void *arg, const uint8_t *f, size_t flen, const db_ref *v)
{
    reseal_ctx *r = arg;
    if (r->failed) return;
    size_t pl = db_ref_len(v);
    uint8_t *plain = mem_alloc(pl ? pl : 1);
    if (db_ref_open(r->d, v, plain) != 0) {
        r->failed = 1;
        mem_free_wipe(plain);
        return;
    }
    size_t sl;
    uint8_t *stored = db_seal_value(r->d, r->dst, r->dlen, f, flen, plain, pl, &sl);
    mem_free_wipe(plain);
    if (!stored) {
        r->failed = 1; /* a nonce could not be reserved (keyring not writable), or a key */
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = mem_realloc(r->items, sizeof(resealed) * r->cap);
    }
    resealed *x = &r->items[r->n++];
    x->f = mem_alloc(flen ? flen : 1);
    memcpy(x->f, f, flen);
    x->flen = flen;
    x->v = stored;
    x->vlen = sl;
}

static void reseal_free(reseal_ctx *r)
{
    for (size_t i = 0; i < r->n; i++) {
        mem_free_wipe(r->items[i].f);
        mem_free_wipe(r->items[i].v);
    }
    mem_free(r->items);
}

/* src's value (and expiry) into dst, dst replaced, every value re-sealed for its new name
 * (values are bound to their key name) before anything changes: a value that does not open
 * or seal changes nothing (-2). src itself is left as it is. */
static int copy_entry(db *d, db_entry *e, const uint8_t *dst, size_t dlen)
{
    long long expire = e->expire;
    if (e->type == DB_STRING) {
        db_ref r = db_str_ref(d, e);
        size_t pl = db_ref_len(&r);
        uint8_t *plain = mem_alloc(pl ? pl : 1);
        if (db_ref_open(d, &r, plain) != 0) {
            mem_free_wipe(plain);
            return -2;
        }
        size_t sl;
        uint8_t *stored = db_seal_value(d, dst, dlen, NULL, 0, plain, pl, &sl);
        mem_free_wipe(plain);
        if (!stored) return -2;
        db_delete(d, dst, dlen);
        db_entry *n = db_raw_set_str(d, dst, dlen, stored, sl, expire, 0);
        mem_free_wipe(stored);
        db_j_str(d, n);
        return 0;
    }
    /* Every field opened and sealed for dst before anything changes: a value that does not
     * open, or a seal that fails (no nonce could be reserved), leaves both keys as they
     * were. */
    reseal_ctx r = {d, dst, dlen, NULL, 0, 0, 0};
    db_hash_foreach(d, e, reseal_field, &r);
    if (r.failed) {
        reseal_free(&r);
        return -2;
    }
    db_delete(d, dst, dlen);
    for (size_t i = 0; i < r.n; i++) {
        const resealed *x = &r.items[i];
        db_raw_hset(d, dst, dlen, x->f, x->flen, x->v, x->vlen);
        db_j_hset(d, dst, dlen, x->f, x->flen, x->v, x->vlen);
    }
    reseal_free(&r);
    db_entry *n = db_find_raw(d, dst, dlen);
    if (n && expire != DB_NO_EXPIRE) {
        set_expire_field(d, n, expire);
        db_j_expire(d, dst, dlen, expire);
    }
    return 0;
}

int db_copy(db *d, const uint8_t *src, size_t slen, const uint8_t *dst, size_t dlen)
{
    db_entry *e = db_lookup(d, src, slen);
    if (!e) return -1;
    if (slen == dlen && memcmp(src, dst, slen) == 0) return 0;
    int rc = copy_entry(d, e, dst, dlen);
    if (rc == 0) db_touch(d, dst, dlen);
    return rc;
}

int db_rename(db *d, const uint8_t *src, size_t slen, const uint8_t *dst, size_t dlen)
{
    int rc = db_copy(d, src, slen, dst, dlen);
    if (rc != 0 || (slen == dlen && memcmp(src, dst, slen) == 0)) return rc;
    db_delete(d, src, slen);
    db_touch(d, src, slen);
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

static void capture_cb(dict_node *n, void *ud)
{
    db_snap_capture(ud, (db_entry *)n);
}

void db_flush(db *d)
{
    db_touch(d, NULL, 0); /* before: a listener may look at what is going */
    if (d->snap_active) dict_foreach(&d->keys, capture_cb, d); /* the snapshot keeps them */
    dict_clear(&d->keys, free_entry_cb, d);
    d->exp_len = 0;
    db_j_flush(d);
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

static void scan_prefetch_val(dict_node *n)
{
    const db_entry *e = (const db_entry *)n;
    /* A sealed value of a few hundred bytes is read whole right after (prefetching past the
     * end of a smaller one is harmless: a prefetch never faults). */
    if (e->val)
        for (int i = 0; i < 6; i++)
            __builtin_prefetch((const char *)e->val + 64 * i);
}

uint64_t db_scan_batch(db *d, uint64_t cursor, int steps, void (*fn)(void *arg, db_entry *e),
                       void *arg)
{
    scan_ctx s = {d, fn, arg};
    return dict_scan_prefetch(&d->keys, cursor, steps, scan_prefetch_val, scan_cb, &s);
}

static void scan_raw_cb(void *arg, dict_node *n)
{
    scan_ctx *s = arg;
    s->fn(s->arg, (db_entry *)n);
}

uint64_t db_scan_raw(db *d, uint64_t cursor, void (*fn)(void *arg, db_entry *e), void *arg)
{
    scan_ctx s = {d, fn, arg};
    return dict_scan(&d->keys, cursor, scan_raw_cb, &s);
}

size_t db_expire_cycle(db *d, long long budget_us)
{
    if (d->loading) return 0;
    long long start = clock_mono_us();
    size_t removed = 0;
    for (int round = 0; d->exp_len > 0; round++) {
        int sampled = 0, hit = 0;
        for (; sampled < 20 && d->exp_len > 0; sampled++) {
            db_entry *e = d->exp[(size_t)random() % d->exp_len];
            if (e->expire <= d->now) {
                expire_entry(d, e, dict_hash(e->key, e->klen));
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

size_t db_key_memory(db *d, const db_entry *e, size_t samples)
{
    (void)d; /* (the keyspace's functions take it; this one needs only the entry) */
    size_t sz = mem_size(e) + sizeof(dict_node *); /* record with its name; its table slot */
    if (e->exp_idx != EXP_NONE) sz += sizeof(db_entry *);
    if (!e->val) return sz;
    if (e->type == DB_STRING) return sz + mem_size(e->val);
    return sz + db_int_hash_memory(e, samples);
}

/* ---- strings ---- */

db_ref db_str_ref(const db *d, const db_entry *e)
{
    const db_sval *s = e->val;
    db_ref r = {s->data, s->len, e->key, e->klen, NULL, 0, d->seal != NULL};
    return r;
}

/* Put an already built string value s (taken over) under key. */
/* Store s as the value of key (hash h; e: its entry as found, or NULL). */
static db_entry *set_sval_at(db *d, const uint8_t *key, size_t klen, uint64_t h, db_entry *e,
                             db_sval *s, long long expire, int keep_ttl)
{
    if (e && expired(d, e)) {
        expire_entry(d, e, h);
        e = NULL;
    }
    if (e) {
        db_snap_capture(d, e);
        free_value(d, e);
        e->type = DB_STRING;
    } else {
        e = entry_new(key, klen, DB_STRING);
        if (d->snap_active) e->snap = d->snap_epoch; /* born after the snapshot point */
        dict_insert(&d->keys, &e->node, h);
    }
    db_count(d, s->data, s->len, +1);
    e->val = s;
    if (!keep_ttl) set_expire_field(d, e, expire);
    return e;
}

static db_entry *set_sval(db *d, const uint8_t *key, size_t klen, db_sval *s, long long expire,
                          int keep_ttl)
{
    uint64_t h = dict_hash(key, klen);
    return set_sval_at(d, key, klen, h, find(d, key, klen, h), s, expire, keep_ttl);
}

db_entry *db_raw_set_str(db *d, const uint8_t *key, size_t klen, const uint8_t *stored, size_t slen,
                         long long expire, int keep_ttl)
{
    db_sval *s = mem_alloc(sizeof *s + slen);
    s->len = (uint32_t)slen;
    memcpy(s->data, stored, slen);
    return set_sval(d, key, klen, s, expire, keep_ttl);
}

db_entry *db_str_set(db *d, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                     long long expire_ms, int keep_ttl)
{
    size_t slen = d->seal ? vlen + SEAL_OVERHEAD : vlen;
    uint64_t h = dict_hash(key, klen);
    db_entry *e = find(d, key, klen, h);
    if (d->seal && e && e->type == DB_STRING && e->val && !expired(d, e) &&
        ((db_sval *)e->val)->len == slen && slen <= DB_SET_IN_PLACE_MAX) {
        /* Same stored length (the usual overwrite): sealed on the stack, then copied over
         * the old value, so a failed seal leaves it untouched. */
        uint8_t tmp[DB_SET_IN_PLACE_MAX];
        if (seal_seal(d->seal, val, vlen, key, klen, NULL, 0, tmp) != 0) return NULL;
        d->sealed++;
        db_snap_capture(d, e);
        db_sval *old = e->val;
        db_count(d, old->data, old->len, -1);
        memcpy(old->data, tmp, slen);
        db_count(d, old->data, old->len, +1);
        if (!keep_ttl) set_expire_field(d, e, expire_ms);
        db_j_str(d, e);
        db_touch(d, key, klen);
        return e;
    }
    /* Sealed straight into the stored value: no temporary copy. */
    db_sval *s = mem_alloc(sizeof *s + slen);
    s->len = (uint32_t)slen;
    if (!d->seal) {
        memcpy(s->data, val, vlen);
    } else if (seal_seal(d->seal, val, vlen, key, klen, NULL, 0, s->data) != 0) {
        mem_free(s);
        return NULL;
    } else {
        d->sealed++;
    }
    e = set_sval_at(d, key, klen, h, e, s, expire_ms, keep_ttl);
    db_j_str(d, e);
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
    if (d->snap_active) e->snap = d->snap_epoch; /* born after the snapshot point */
    e->val = db_hash_new();
    dict_insert(&d->keys, &e->node, h);
    return e;
}

/* ---- online point-in-time snapshot ---- */

#define SNAP_CHUNK (1u << 20) /* the snapshot stream is handed out in parts of about this */

static void snap_flush(db *d, int force)
{
    if (d->snap_out.len == 0 || (!force && d->snap_out.len < SNAP_CHUNK)) return;
    d->snap_emit(d->snap_ud, d->snap_out.p, d->snap_out.len);
    explicit_bzero(d->snap_out.p, d->snap_out.len);
    d->snap_out.len = 0;
}

static void snap_part(void *arg, buf *out)
{
    db *d = arg;
    (void)out; /* d->snap_out */
    snap_flush(d, 1);
}

void db_snap_capture(db *d, db_entry *e)
{
    if (!d->snap_active || e->snap == d->snap_epoch) return;
    e->snap = d->snap_epoch;
    if (e->expire != DB_NO_EXPIRE && e->expire <= d->snap_time) return; /* gone at the point */
    /* A large hash goes out in parts of about 1 MB as it is read, so it never sits in memory
     * whole (the parts follow each other in the stream: no write runs in between). */
    db_snapshot_key_chunked(d, e, &d->snap_out, SNAP_CHUNK, snap_part, d);
    snap_flush(d, 0);
}

int db_snapshot_begin(db *d, void (*emit)(void *ud, const uint8_t *ops, size_t len), void *ud)
{
    if (d->snap_active) return -1;
    d->snap_active = 1;
    d->snap_epoch++;
    if (d->snap_epoch == 0) d->snap_epoch = 1; /* 0 is what new entries start with */
    d->snap_time = d->now;
    d->snap_cursor = 0;
    d->snap_scanned = 0;
    d->snap_emit = emit;
    d->snap_ud = ud;
    return 0;
}

static void snap_scan_cb(void *ud, dict_node *n)
{
    db_snap_capture(ud, (db_entry *)n);
}

int db_snapshot_step(db *d, long long budget_us)
{
    if (!d->snap_active) return 0;
    long long start = clock_mono_us();
    while (!d->snap_scanned && clock_mono_us() - start < budget_us) {
        for (int i = 0; i < 64 && !d->snap_scanned; i++) {
            d->snap_cursor = dict_scan(&d->keys, d->snap_cursor, snap_scan_cb, d);
            if (d->snap_cursor == 0) d->snap_scanned = 1;
        }
    }
    if (!d->snap_scanned) return 1;
    snap_flush(d, 1);
    d->snap_active = 0;
    buf_wipe_free(&d->snap_out);
    return 0;
}

void db_snapshot_abort(db *d)
{
    d->snap_active = 0;
    buf_wipe_free(&d->snap_out);
}

int db_snapshot_running(const db *d)
{
    return d->snap_active;
}

size_t db_plain_len(const db *d, size_t stored);
size_t db_plain_len(const db *d, size_t stored)
{
    return plain_len(d, stored);
}
