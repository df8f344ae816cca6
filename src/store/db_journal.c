/*
 * db_journal: the keyspace's journal of effects, its replay, key snapshots for
 * compaction, and re-sealing after a key rotation (see db.h).
 *
 * Operation encoding: one byte op code, then fields; byte strings are a u32
 * big-endian length and the bytes; times are i64 big-endian. Values travel in
 * their stored (sealed) form, so replaying the log never opens a value.
 * db_apply checks every length against the frame before reading, since a frame
 * comes from disk.
 */
#include "db_int.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"

/* ---- encoding ---- */

static void put8(buf *b, uint8_t v)
{
    buf_putc(b, v);
}

static void put_bytes(buf *b, const uint8_t *p, size_t n)
{
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    buf_append(b, hdr, 4);
    buf_append(b, p, n);
}

static void put_i64(buf *b, long long v)
{
    uint64_t u = (uint64_t)v;
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(u >> (56 - 8 * i));
    buf_append(b, x, 8);
}

static int on(const db *d)
{
    return d->journal && !d->loading;
}

static void emit_str(buf *b, const db_entry *e)
{
    const db_sval *s = e->val;
    put8(b, OP_STR);
    put_bytes(b, e->key, e->klen);
    put_bytes(b, s->data, s->len);
    put_i64(b, e->expire);
}

void db_j_str(db *d, const db_entry *e)
{
    if (on(d) && e) emit_str(d->journal, e);
}

void db_j_hset(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen,
               const uint8_t *stored, size_t slen)
{
    if (!on(d)) return;
    put8(d->journal, OP_HSET);
    put_bytes(d->journal, key, klen);
    put_bytes(d->journal, f, flen);
    put_bytes(d->journal, stored, slen);
}

void db_j_hdel(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen)
{
    if (!on(d)) return;
    put8(d->journal, OP_HDEL);
    put_bytes(d->journal, key, klen);
    put_bytes(d->journal, f, flen);
}

void db_j_del(db *d, const uint8_t *key, size_t klen)
{
    if (!on(d)) return;
    put8(d->journal, OP_DEL);
    put_bytes(d->journal, key, klen);
}

void db_j_expire(db *d, const uint8_t *key, size_t klen, long long when)
{
    if (!on(d)) return;
    put8(d->journal, OP_EXPIRE);
    put_bytes(d->journal, key, klen);
    put_i64(d->journal, when);
}

void db_j_flush(db *d)
{
    if (on(d)) put8(d->journal, OP_FLUSH);
}

/* ---- replay ---- */

typedef struct {
    const uint8_t *p; /* frame */
    size_t len, pos;  /* size and read position */
} reader;

static int get8(reader *r, uint8_t *v)
{
    if (r->pos + 1 > r->len) return -1;
    *v = r->p[r->pos++];
    return 0;
}

static int get_bytes(reader *r, const uint8_t **p, size_t *n)
{
    if (r->pos + 4 > r->len) return -1;
    const uint8_t *h = r->p + r->pos;
    size_t l = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (l > r->len - r->pos - 4) return -1;
    *p = r->p + r->pos + 4;
    *n = l;
    r->pos += 4 + l;
    return 0;
}

static int get_i64(reader *r, long long *v)
{
    if (r->pos + 8 > r->len) return -1;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | r->p[r->pos + (size_t)i];
    r->pos += 8;
    *v = (long long)u;
    return 0;
}

int db_apply(db *d, const uint8_t *frame, size_t len, char *err, size_t errlen)
{
    reader r = {frame, len, 0};
    int saved = d->loading;
    d->loading = 1; /* no expiry, no journal while replaying */
    int rc = 0;
    while (r.pos < r.len && rc == 0) {
        uint8_t op = 0;
        const uint8_t *k, *f, *v;
        size_t kl, fl, vl;
        long long t;
        get8(&r, &op);
        switch (op) {
        case OP_STR:
            if (get_bytes(&r, &k, &kl) || get_bytes(&r, &v, &vl) || get_i64(&r, &t) ||
                (d->seal && vl < SEAL_OVERHEAD) || t < DB_NO_EXPIRE)
                goto bad;
            if (d->seal) seal_nonce_note(d->seal, v, vl);
            db_raw_set_str(d, k, kl, v, vl, t, 0);
            break;
        case OP_HSET:
            if (get_bytes(&r, &k, &kl) || get_bytes(&r, &f, &fl) || get_bytes(&r, &v, &vl) ||
                (d->seal && vl < SEAL_OVERHEAD))
                goto bad;
            if (d->seal) seal_nonce_note(d->seal, v, vl);
            db_raw_hset(d, k, kl, f, fl, v, vl);
            break;
        case OP_HDEL: {
            if (get_bytes(&r, &k, &kl) || get_bytes(&r, &f, &fl)) goto bad;
            db_entry *e = db_find_raw(d, k, kl);
            if (e && e->type == DB_HASH) db_hash_del(d, e, f, fl);
            break;
        }
        case OP_DEL:
            if (get_bytes(&r, &k, &kl)) goto bad;
            db_delete(d, k, kl);
            break;
        case OP_EXPIRE: {
            if (get_bytes(&r, &k, &kl) || get_i64(&r, &t) || t < DB_NO_EXPIRE) goto bad;
            db_entry *e = db_find_raw(d, k, kl);
            if (e) db_set_expire(d, e, t);
            break;
        }
        case OP_FLUSH: db_flush(d); break;
        case OP_NONCE:
            if (get_bytes(&r, &v, &vl) || vl != SEAL_HEADER) goto bad;
            if (d->seal) seal_nonce_note(d->seal, v, vl);
            break;
        default: goto bad;
        }
        continue;
    bad:
        snprintf(err, errlen, "malformed journal operation at byte %zu of the record", r.pos);
        rc = -1;
    }
    d->loading = saved;
    return rc;
}

int db_frame_foreach(const uint8_t *frame, size_t len, int (*fn)(void *ud, const db_op_view *op),
                     void *ud, char *err, size_t errlen)
{
    reader r = {frame, len, 0};
    while (r.pos < r.len) {
        db_op_view v = {0};
        uint8_t op = 0;
        get8(&r, &op);
        v.op = op;
        v.expire = DB_NO_EXPIRE;
        int bad = 0;
        switch (op) {
        case OP_STR:
            bad = get_bytes(&r, &v.key, &v.klen) || get_bytes(&r, &v.stored, &v.slen) ||
                  get_i64(&r, &v.expire) || v.expire < DB_NO_EXPIRE;
            break;
        case OP_HSET:
            bad = get_bytes(&r, &v.key, &v.klen) || get_bytes(&r, &v.field, &v.flen) ||
                  get_bytes(&r, &v.stored, &v.slen);
            break;
        case OP_HDEL:
            bad = get_bytes(&r, &v.key, &v.klen) || get_bytes(&r, &v.field, &v.flen);
            break;
        case OP_DEL: bad = get_bytes(&r, &v.key, &v.klen); break;
        case OP_EXPIRE:
            bad = get_bytes(&r, &v.key, &v.klen) || get_i64(&r, &v.expire) ||
                  v.expire < DB_NO_EXPIRE;
            break;
        case OP_FLUSH: break;
        case OP_NONCE: /* not a keyspace change: passed over */
            bad = get_bytes(&r, &v.stored, &v.slen) || v.slen != SEAL_HEADER;
            if (!bad) continue;
            break;
        default: bad = 1;
        }
        if (bad) {
            snprintf(err, errlen, "malformed journal operation at byte %zu of the record", r.pos);
            return -1;
        }
        int rc = fn(ud, &v);
        if (rc != 0) return rc;
    }
    return 0;
}

int db_open_stored(sealer *s, const uint8_t *key, size_t klen, const uint8_t *field,
                   size_t flen, const uint8_t *stored, size_t slen, uint8_t *dst)
{
    if (slen < SEAL_OVERHEAD) return -1;
    return seal_open(s, stored, slen, key, klen, field, flen, dst);
}

/* ---- snapshots ---- */

typedef struct {
    buf *out;
    const db_entry *e;
    size_t chunk;
    void (*flush)(void *arg, buf *out);
    void *arg;
} snap_ctx;

static void snap_field(void *arg, const uint8_t *f, size_t flen, const db_ref *v)
{
    snap_ctx *s = arg;
    put8(s->out, OP_HSET);
    put_bytes(s->out, s->e->key, s->e->klen);
    put_bytes(s->out, f, flen);
    put_bytes(s->out, v->p, v->len);
    if (s->flush && s->out->len >= s->chunk) s->flush(s->arg, s->out);
}

void db_snapshot_nonce(buf *out, const uint8_t *hdr)
{
    put8(out, OP_NONCE);
    put_bytes(out, hdr, SEAL_HEADER);
}

void db_snapshot_key(db *d, db_entry *e, buf *out)
{
    db_snapshot_key_chunked(d, e, out, 0, NULL, NULL);
}

void db_snapshot_key_chunked(db *d, db_entry *e, buf *out, size_t chunk,
                             void (*flush)(void *arg, buf *out), void *arg)
{
    /* Replace semantics: whatever the compacted log held for this key before goes. */
    put8(out, OP_DEL);
    put_bytes(out, e->key, e->klen);
    if (e->type == DB_STRING) {
        emit_str(out, e);
        return;
    }
    snap_ctx s = {out, e, chunk, flush, arg};
    db_hash_foreach(d, e, snap_field, &s);
    if (e->expire != DB_NO_EXPIRE) {
        put8(out, OP_EXPIRE);
        put_bytes(out, e->key, e->klen);
        put_i64(out, e->expire);
    }
}

uint64_t db_snapshot_hash_part(db *d, db_entry *e, uint64_t cursor, int first, size_t max,
                               buf *out)
{
    if (first) {
        put8(out, OP_DEL);
        put_bytes(out, e->key, e->klen);
    }
    snap_ctx s = {out, e, 0, NULL, NULL};
    size_t start = out->len;
    do {
        cursor = db_hash_scan_batch(d, e, cursor, 32, snap_field, &s);
    } while (cursor && out->len - start < max);
    if (!cursor && e->expire != DB_NO_EXPIRE) {
        put8(out, OP_EXPIRE);
        put_bytes(out, e->key, e->klen);
        put_i64(out, e->expire);
    }
    return cursor;
}

/* ---- re-sealing after rotation ---- */

typedef struct {
    db *d;
    uint32_t current;
    db_entry **todo;   /* keys with values to re-seal, collected during one scan step */
    size_t n, cap;
} reseal_ctx;

typedef struct {
    db *d;
    uint32_t current;
    int found;
} any_old_ctx;

static void any_old_field(void *arg, const uint8_t *f, size_t flen, const db_ref *v)
{
    (void)f;
    (void)flen;
    any_old_ctx *a = arg;
    if (seal_version(v->p, v->len) != a->current) a->found = 1;
}

static void reseal_collect(void *arg, db_entry *e)
{
    reseal_ctx *r = arg;
    int old;
    if (e->type == DB_STRING) {
        const db_sval *s = e->val;
        old = seal_version(s->data, s->len) != r->current;
    } else {
        any_old_ctx a = {r->d, r->current, 0};
        db_hash_foreach(r->d, e, any_old_field, &a);
        old = a.found;
    }
    if (!old) return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->todo = mem_realloc(r->todo, sizeof(db_entry *) * r->cap);
    }
    r->todo[r->n++] = e;
}

typedef struct {
    db *d;
    const db_entry *e;
    uint32_t current;
    uint8_t **fields;  /* copies of fields to re-seal */
    size_t *flens;
    size_t n;
} field_list;

static void list_old_field(void *arg, const uint8_t *f, size_t flen, const db_ref *v)
{
    field_list *l = arg;
    if (seal_version(v->p, v->len) == l->current) return;
    l->fields = mem_realloc(l->fields, sizeof(uint8_t *) * (l->n + 1));
    l->flens = mem_realloc(l->flens, sizeof(size_t) * (l->n + 1));
    l->fields[l->n] = mem_alloc(flen ? flen : 1);
    memcpy(l->fields[l->n], f, flen);
    l->flens[l->n] = flen;
    l->n++;
}

static size_t reseal_entry(db *d, db_entry *e, uint32_t current)
{
    size_t done = 0;
    if (e->type == DB_STRING) {
        db_ref r = db_str_ref(d, e);
        size_t pl = db_ref_len(&r);
        uint8_t *plain = mem_alloc(pl ? pl : 1);
        if (db_ref_open(d, &r, plain) == 0) {
            size_t sl;
            uint8_t *stored = db_seal_value(d, e->key, e->klen, NULL, 0, plain, pl, &sl);
            if (stored) {
                db_entry *n = db_raw_set_str(d, e->key, e->klen, stored, sl, e->expire, 1);
                db_j_str(d, n);
                mem_free_wipe(stored);
                done = 1;
            }
        }
        mem_free_wipe(plain);
        return done;
    }
    field_list l = {d, e, current, NULL, NULL, 0};
    db_hash_foreach(d, e, list_old_field, &l);
    for (size_t i = 0; i < l.n; i++) {
        db_ref v;
        if (db_hash_get(d, e, l.fields[i], l.flens[i], &v)) {
            size_t pl = db_ref_len(&v);
            uint8_t *plain = mem_alloc(pl ? pl : 1);
            if (db_ref_open(d, &v, plain) == 0) {
                size_t sl;
                uint8_t *stored =
                    db_seal_value(d, e->key, e->klen, l.fields[i], l.flens[i], plain, pl, &sl);
                if (stored) {
                    db_raw_hset(d, e->key, e->klen, l.fields[i], l.flens[i], stored, sl);
                    db_j_hset(d, e->key, e->klen, l.fields[i], l.flens[i], stored, sl);
                    mem_free_wipe(stored);
                    done++;
                }
            }
            mem_free_wipe(plain);
        }
        mem_free_wipe(l.fields[i]);
    }
    mem_free(l.fields);
    mem_free(l.flens);
    return done;
}

size_t db_reseal_step(db *d, uint64_t *cursor, size_t max_keys)
{
    if (!d->seal) {
        *cursor = 0;
        return 0;
    }
    uint32_t current = keyring_current(seal_keyring(d->seal), seal_purpose(d->seal));
    reseal_ctx r = {d, current, NULL, 0, 0};
    uint64_t cur = *cursor;
    do {
        cur = db_scan(d, cur, reseal_collect, &r);
    } while (cur && r.n < max_keys);
    size_t done = 0;
    for (size_t i = 0; i < r.n; i++)
        done += reseal_entry(d, r.todo[i], current);
    mem_free(r.todo);
    *cursor = cur;
    return done;
}
