/*
 * db_hash: hash values (see db.h). Small hashes are one compact buffer scanned
 * linearly (cache friendly, no per-field allocation); a hash with more than
 * DB_HASH_PACK_MAX_ENTRIES fields or a field or value longer than
 * DB_HASH_PACK_MAX_VALUE becomes a table of fields and never goes back, as in
 * Redis. Updates in the compact form keep the field's position.
 */
#include "db_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

db_entry *db_int_new_hash(db *d, const uint8_t *key, size_t klen);

/* Count every stored value of a pack or table out of (or into) its key version. */
static void count_pack(db *d, const db_hpack *pk, int delta);

static void field_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const db_hfield *f = (const db_hfield *)n;
    *k = f->data;
    *len = f->flen;
}

static const dict_type fields_type = {.keyof = field_keyof};

db_hash *db_hash_new(void)
{
    db_hash *h = mem_calloc(sizeof *h);
    h->packed = 1;
    dict_init(&h->fields, &fields_type);
    return h;
}

static void free_field_cb(dict_node *n, void *arg)
{
    db_hfield *hf = (db_hfield *)n;
    db_count(arg, hf->data + hf->flen, hf->vlen, -1);
    mem_free_wipe(n);
}

void db_hash_free(db *d, db_hash *h)
{
    if (h->packed) {
        count_pack(d, h->pack, -1);
        mem_free_wipe(h->pack);
    } else {
        dict_clear(&h->fields, free_field_cb, d);
    }
    mem_free(h);
}

/* ---- compact form ---- */

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Offset of field f in the pack, or -1. */
static long pack_find(const db_hpack *pk, const uint8_t *f, size_t flen)
{
    if (!pk) return -1;
    size_t off = 0;
    while (off < pk->used) {
        uint32_t fl = rd32(pk->data + off);
        uint32_t vl = rd32(pk->data + off + 4 + fl);
        if (fl == flen && memcmp(pk->data + off + 4, f, flen) == 0) return (long)off;
        off += 8 + fl + vl;
    }
    return -1;
}

static size_t pack_entry_size(const db_hpack *pk, size_t off)
{
    uint32_t fl = rd32(pk->data + off);
    uint32_t vl = rd32(pk->data + off + 4 + fl);
    return 8 + fl + vl;
}

static void pack_ref(const db_hpack *pk, size_t off, const uint8_t **f, size_t *flen,
                     db_ref *v)
{
    uint32_t fl = rd32(pk->data + off);
    *f = pk->data + off + 4;
    *flen = fl;
    v->len = rd32(pk->data + off + 4 + fl);
    v->p = pk->data + off + 8 + fl;
    v->field = *f;
    v->flen = fl;
}

static void count_pack(db *d, const db_hpack *pk, int delta)
{
    size_t off = 0;
    while (pk && off < pk->used) {
        const uint8_t *f;
        size_t flen;
        db_ref v;
        pack_ref(pk, off, &f, &flen, &v);
        db_count(d, v.p, v.len, delta);
        off += pack_entry_size(pk, off);
    }
}

/* A reference to a stored value of e's hash (key, field and sealing filled in). */
static db_ref field_ref(const db *d, const db_entry *e, const uint8_t *f, size_t flen,
                        const uint8_t *p, uint32_t len)
{
    db_ref r = {p, len, e->key, e->klen, f, (uint32_t)flen, d->seal != NULL};
    return r;
}

static db_hpack *pack_resize(db_hpack *pk, size_t used)
{
    size_t old = pk ? pk->used : 0;
    db_hpack *n = mem_alloc(sizeof *n + used);
    if (pk) {
        memcpy(n, pk, sizeof *n + (old < used ? old : used));
        mem_free_wipe(pk);
    } else {
        n->count = 0;
    }
    n->used = (uint32_t)used;
    return n;
}

/* Replace [off, off+oldsz) with a new entry (or append when off == used). */
static db_hpack *pack_put(db_hpack *pk, size_t off, size_t oldsz, const uint8_t *f, size_t flen,
                          const uint8_t *v, size_t vlen)
{
    size_t used = pk ? pk->used : 0;
    size_t newsz = 8 + flen + vlen;
    size_t tail = used - off - oldsz;
    db_hpack *n = mem_alloc(sizeof *n + used - oldsz + newsz);
    n->count = pk ? pk->count : 0;
    if (pk) {
        memcpy(n->data, pk->data, off);
        memcpy(n->data + off + newsz, pk->data + off + oldsz, tail);
        mem_free_wipe(pk);
    }
    wr32(n->data + off, (uint32_t)flen);
    memcpy(n->data + off + 4, f, flen);
    wr32(n->data + off + 4 + flen, (uint32_t)vlen);
    memcpy(n->data + off + 8 + flen, v, vlen);
    n->used = (uint32_t)(used - oldsz + newsz);
    return n;
}

/* ---- table form ---- */

static db_hfield *hfield_new(const uint8_t *f, size_t flen, const uint8_t *v, size_t vlen)
{
    db_hfield *hf = mem_alloc(sizeof *hf + flen + vlen);
    hf->node.next = NULL;
    hf->flen = (uint32_t)flen;
    hf->vlen = (uint32_t)vlen;
    memcpy(hf->data, f, flen);
    memcpy(hf->data + flen, v, vlen);
    return hf;
}

static void to_table(db_hash *h)
{
    db_hpack *pk = h->pack;
    size_t off = 0;
    while (pk && off < pk->used) {
        const uint8_t *f;
        size_t flen;
        db_ref v;
        pack_ref(pk, off, &f, &flen, &v);
        db_hfield *hf = hfield_new(f, flen, v.p, v.len);
        dict_insert(&h->fields, &hf->node, dict_hash(f, flen));
        off += pack_entry_size(pk, off);
    }
    mem_free_wipe(pk);
    h->pack = NULL;
    h->packed = 0;
}

/* ---- interface ---- */

int db_hash_packed(const db_entry *e)
{
    return ((const db_hash *)e->val)->packed;
}

size_t db_hash_len(const db_entry *e)
{
    const db_hash *h = e->val;
    return h->packed ? (h->pack ? h->pack->count : 0) : dict_size(&h->fields);
}

int db_hash_get(db *d, db_entry *e, const uint8_t *f, size_t flen, db_ref *out)
{
    db_hash *h = e->val;
    if (h->packed) {
        long off = pack_find(h->pack, f, flen);
        if (off < 0) return 0;
        const uint8_t *ff;
        size_t fl;
        db_ref v;
        pack_ref(h->pack, (size_t)off, &ff, &fl, &v);
        *out = field_ref(d, e, ff, fl, v.p, v.len);
        return 1;
    }
    db_hfield *hf = (db_hfield *)dict_find(&h->fields, f, flen, dict_hash(f, flen));
    if (!hf) return 0;
    *out = field_ref(d, e, hf->data, hf->flen, hf->data + hf->flen, hf->vlen);
    return 1;
}

int db_raw_hset(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen,
                const uint8_t *val, size_t vlen)
{
    db_entry *e = db_find_raw(d, key, klen);
    if (!e || e->type != DB_HASH)
        e = db_int_new_hash(d, key, klen);
    else
        db_snap_capture(d, e);
    db_hash *h = e->val;
    /* Compact limits apply to the plaintext sizes. */
    size_t plain = d->seal ? vlen - SEAL_OVERHEAD : vlen;
    if (h->packed) {
        long off = pack_find(h->pack, f, flen);
        size_t count = h->pack ? h->pack->count : 0;
        if (flen > DB_HASH_PACK_MAX_VALUE || plain > DB_HASH_PACK_MAX_VALUE ||
            (off < 0 && count + 1 > DB_HASH_PACK_MAX_ENTRIES)) {
            to_table(h);
        } else if (off >= 0) {
            const uint8_t *of;
            size_t ofl;
            db_ref old;
            pack_ref(h->pack, (size_t)off, &of, &ofl, &old);
            db_count(d, old.p, old.len, -1);
            h->pack = pack_put(h->pack, (size_t)off, pack_entry_size(h->pack, (size_t)off), f,
                               flen, val, vlen);
            db_count(d, val, vlen, +1);
            return 0;
        } else {
            h->pack = pack_put(h->pack, h->pack ? h->pack->used : 0, 0, f, flen, val, vlen);
            h->pack->count++;
            db_count(d, val, vlen, +1);
            return 1;
        }
    }
    uint64_t hv = dict_hash(f, flen);
    db_hfield *old = (db_hfield *)dict_find(&h->fields, f, flen, hv);
    if (old && old->vlen == vlen) {
        /* Same stored length (the usual overwrite): the value is replaced in place. */
        db_count(d, old->data + old->flen, old->vlen, -1);
        memcpy(old->data + old->flen, val, vlen);
        db_count(d, val, vlen, +1);
        return 0;
    }
    db_hfield *nf = hfield_new(f, flen, val, vlen);
    int added;
    if (old) {
        db_count(d, old->data + old->flen, old->vlen, -1);
        dict_replace(&h->fields, &old->node, &nf->node, hv);
        mem_free_wipe(old);
        added = 0;
    } else {
        dict_insert(&h->fields, &nf->node, hv);
        added = 1;
    }
    db_count(d, val, vlen, +1);
    return added;
}

int db_hash_set(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen,
                const uint8_t *val, size_t vlen)
{
    db_lookup(d, key, klen); /* an expired key goes first (and that is journaled) */
    size_t slen;
    uint8_t small[512];
    uint8_t *stored;
    if (d->seal && vlen + SEAL_OVERHEAD <= sizeof small) {
        /* Small values are sealed on the stack: no temporary allocation. */
        if (seal_seal(d->seal, val, vlen, key, klen, f, flen, small) != 0) return -1;
        d->sealed++;
        stored = small;
        slen = vlen + SEAL_OVERHEAD;
    } else {
        stored = db_seal_value(d, key, klen, f, flen, val, vlen, &slen);
        if (!stored) return -1;
    }
    int added = db_raw_hset(d, key, klen, f, flen, stored, slen);
    db_j_hset(d, key, klen, f, flen, stored, slen);
    if (stored != small) mem_free_wipe(stored);
    db_touch(d, key, klen);
    return added;
}

int db_hash_del(db *d, db_entry *e, const uint8_t *f, size_t flen)
{
    db_snap_capture(d, e);
    db_hash *h = e->val;
    int removed = 0;
    if (h->packed) {
        long off = pack_find(h->pack, f, flen);
        if (off >= 0) {
            size_t sz = pack_entry_size(h->pack, (size_t)off);
            db_hpack *pk = h->pack;
            const uint8_t *of;
            size_t ofl;
            db_ref old;
            pack_ref(pk, (size_t)off, &of, &ofl, &old);
            db_count(d, old.p, old.len, -1);
            memmove(pk->data + off, pk->data + (size_t)off + sz, pk->used - (size_t)off - sz);
            uint32_t count = pk->count - 1;
            h->pack = pack_resize(pk, pk->used - sz);
            h->pack->count = count;
            removed = 1;
        }
    } else {
        dict_node *n = dict_unlink(&h->fields, f, flen, dict_hash(f, flen));
        if (n) {
            db_hfield *hf = (db_hfield *)n;
            db_count(d, hf->data + hf->flen, hf->vlen, -1);
            mem_free_wipe(n);
            removed = 1;
        }
    }
    if (removed) {
        db_j_hdel(d, e->key, e->klen, f, flen);
        if (db_hash_len(e) == 0) {
            size_t klen;
            const uint8_t *key = db_entry_key(e, &klen);
            uint8_t small[256];
            uint8_t *copy = klen <= sizeof small ? small : mem_alloc(klen);
            memcpy(copy, key, klen);
            db_delete(d, copy, klen);
            if (copy != small) mem_free_wipe(copy);
        } else {
            db_touch(d, e->key, e->klen);
        }
    }
    return removed;
}

typedef struct {
    void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v);
    void *arg;
    const db *d;
    const db_entry *e;
} field_ctx;

static void field_cb(dict_node *n, void *arg)
{
    field_ctx *c = arg;
    db_hfield *hf = (db_hfield *)n;
    db_ref v = field_ref(c->d, c->e, hf->data, hf->flen, hf->data + hf->flen, hf->vlen);
    c->fn(c->arg, hf->data, hf->flen, &v);
}

static void field_scan_cb(void *arg, dict_node *n)
{
    field_cb(n, arg);
}

void db_hash_foreach(db *d, db_entry *e,
                     void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v),
                     void *arg)
{
    db_hash *h = e->val;
    if (h->packed) {
        db_hpack *pk = h->pack;
        size_t off = 0;
        while (pk && off < pk->used) {
            const uint8_t *f;
            size_t flen;
            db_ref v;
            pack_ref(pk, off, &f, &flen, &v);
            v = field_ref(d, e, f, flen, v.p, v.len);
            fn(arg, f, flen, &v);
            off += pack_entry_size(pk, off);
        }
        return;
    }
    field_ctx c = {fn, arg, d, e};
    dict_foreach(&h->fields, field_cb, &c);
}

static void field_prefetch(dict_node *n)
{
    for (int i = 1; i < 6; i++) /* the record's first line is already on its way */
        __builtin_prefetch((const char *)n + 64 * i);
}

uint64_t db_hash_scan_batch(db *d, db_entry *e, uint64_t cursor, int steps,
                            void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v),
                            void *arg)
{
    db_hash *h = e->val;
    if (h->packed) {
        /* Compact hashes are returned whole in one step, as Redis does. */
        db_hash_foreach(d, e, fn, arg);
        return 0;
    }
    field_ctx c = {fn, arg, d, e};
    return dict_scan_prefetch(&h->fields, cursor, steps, field_prefetch, field_scan_cb, &c);
}

uint64_t db_hash_scan(db *d, db_entry *e, uint64_t cursor,
                      void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v),
                      void *arg)
{
    return db_hash_scan_batch(d, e, cursor, 1, fn, arg); /* one step: a plain dict_scan */
}

int db_hash_random(db *d, db_entry *e, const uint8_t **f, size_t *flen, db_ref *v)
{
    db_hash *h = e->val;
    if (h->packed) {
        db_hpack *pk = h->pack;
        if (!pk || pk->count == 0) return -1;
        size_t pick = (size_t)random() % pk->count, off = 0;
        while (pick--)
            off += pack_entry_size(pk, off);
        pack_ref(pk, off, f, flen, v);
        *v = field_ref(d, e, *f, *flen, v->p, v->len);
        return 0;
    }
    db_hfield *hf = (db_hfield *)dict_random(&h->fields);
    if (!hf) return -1;
    *f = hf->data;
    *flen = hf->flen;
    *v = field_ref(d, e, hf->data, hf->flen, hf->data + hf->flen, hf->vlen);
    return 0;
}

/* ---- MEMORY USAGE ---- */

typedef struct {
    size_t n, bytes;
} mem_acc;

static void mem_field_cb(void *arg, dict_node *n)
{
    mem_acc *m = arg;
    m->n++;
    m->bytes += mem_size(n);
}

size_t db_int_hash_memory(const db_entry *e, size_t samples)
{
    const db_hash *h = e->val;
    size_t sz = mem_size(h);
    if (h->packed) return sz + (h->pack ? mem_size(h->pack) : 0);
    dict *t = (dict *)&h->fields; /* dict_scan takes no const; nothing is changed */
    mem_acc m = {0, 0};
    uint64_t cur = 0;
    /* The first scan steps until samples fields were seen (0: all), then their average. */
    do
        cur = dict_scan(t, cur, mem_field_cb, &m);
    while (cur && (samples == 0 || m.n < samples));
    size_t count = dict_size(t);
    sz += dict_overhead(t); /* the bucket array */
    if (m.n) sz += m.n >= count ? m.bytes : (size_t)((double)m.bytes / (double)m.n * (double)count);
    return sz;
}
