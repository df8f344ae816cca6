/*
 * cmd_hash: hash commands (Redis 7.0 semantics and error texts).
 */
#include "cmd.h"
#include "cmd_policy.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/mem.h"
#include "util/strutil.h"

/* 1 when the policy filters or transforms this command's fields (a record schema governs
 * its key); the plain paths below are taken otherwise. */
static int filtered(const client *c)
{
    return c->pv.active && c->pv.schema;
}

/* 1 if field f is shown to the session; *pf gets its declaration. Under the de-identified
 * view a field whose value the view withholds is not shown either. */
static int shown(client *c, const uint8_t *f, size_t flen, const db_ref *v, const void **pf)
{
    if (!pv_field_visible(c, f, flen, pf)) return 0;
    return !c->pv.deid || pv_hvalue_len(c, *pf, f, flen, v) >= 0;
}

/* Look key up for a hash command: 0 with *e (may be NULL), or -1 after WRONGTYPE. */
static int lookup_hash(client *c, db_entry **e, int count_stats)
{
    *e = db_lookup(c->s->db, c->argv[1].p, c->argv[1].len);
    if (count_stats) {
        if (*e)
            c->s->st.hits++;
        else
            c->s->st.misses++;
    }
    if (*e && db_entry_type(*e) != DB_HASH) {
        rep_wrongtype(c);
        return -1;
    }
    return 0;
}

void hset_cmd(client *c)
{
    if (c->argc % 2 == 1) {
        rep_arity(c);
        return;
    }
    db_entry *e;
    if (lookup_hash(c, &e, 0) != 0) return;
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2) {
        int r = db_hash_set(c->s->db, c->argv[1].p, c->argv[1].len, c->argv[i].p, c->argv[i].len,
                            c->argv[i + 1].p, c->argv[i + 1].len);
        if (r < 0) {
            rep_not_stored(c, c->out.len); /* the fields before it stay set */
            return;
        }
        /* A field the role may write but not read is not counted: the reply would tell
         * whether it was there. */
        if (r > 0 && pv_field_readable(c, c->argv[i].p, c->argv[i].len)) created += r;
    }
    if (c->cmd && c->cmd->proc == hmset_cmd)
        rep_ok(c);
    else
        rep_int(c, created);
}

void hmset_cmd(client *c)
{
    hset_cmd(c);
}

void hsetnx_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 0) != 0) return;
    db_ref r;
    if (e && db_hash_get(c->s->db, e, c->argv[2].p, c->argv[2].len, &r)) {
        rep_int(c, 0);
        return;
    }
    if (db_hash_set(c->s->db, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len,
                    c->argv[3].p, c->argv[3].len) < 0)
        rep_not_stored(c, c->out.len);
    else
        rep_int(c, 1);
}

void hget_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    db_ref r;
    if (!e || !db_hash_get(c->s->db, e, c->argv[2].p, c->argv[2].len, &r)) {
        rep_null(c);
        return;
    }
    rep_hvalue(c, NULL, c->argv[2].p, c->argv[2].len, &r);
}

void hmget_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    rep_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        if (rep_too_big(c)) return;
        db_ref r;
        if (e && db_hash_get(c->s->db, e, c->argv[i].p, c->argv[i].len, &r))
            rep_hvalue(c, NULL, c->argv[i].p, c->argv[i].len, &r);
        else
            rep_null(c);
    }
}

typedef struct {
    client *c;
    int fields, values;
    buf items; /* filtered: the reply's elements, counted in n */
    size_t n;
    int failed; /* a value did not open */
} emit_ctx;

static void emit_field(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    emit_ctx *x = ud;
    if (x->fields) rep_bulk(x->c, f, flen);
    if (x->values) rep_value(x->c, v);
}

static void count_visible(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    (void)v;
    emit_ctx *x = ud;
    if (pv_field_visible(x->c, f, flen, NULL)) x->n++;
}

static void emit_visible_direct(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    emit_ctx *x = ud;
    if (!pv_field_visible(x->c, f, flen, NULL)) return;
    if (x->fields) rep_bulk(x->c, f, flen);
    if (x->values) pv_rep_value(x->c, f, flen, v);
    pv_shown(x->c, f, flen);
}

/* The fields the session may see, as reply elements in x->items. */
static void emit_visible(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    emit_ctx *x = ud;
    const void *pf;
    if (!pv_field_visible(x->c, f, flen, &pf)) return;
    if (!x->values) {
        if (x->c->pv.deid && pv_hvalue_len(x->c, pf, f, flen, v) < 0) return;
        resp_bulk(&x->items, f, flen);
        x->n++;
        pv_shown(x->c, f, flen);
        return;
    }
    size_t mark = x->items.len;
    if (x->fields) resp_bulk(&x->items, f, flen);
    int r = pv_hvalue_into(x->c, pf, f, flen, v, &x->items);
    if (r == -2) x->failed = 1;
    if (r != 0) {
        OPENSSL_cleanse(x->items.p + mark, x->items.len - mark);
        x->items.len = mark; /* withheld by the view: the field is not shown */
        return;
    }
    x->n++;
    pv_shown(x->c, f, flen);
}

/* Keep the second of each of the n pairs of bulk strings in items (the values of
 * field-value pairs). */
static void drop_names(buf *items, size_t n)
{
    buf out = {0};
    const uint8_t *p = items->p;
    for (size_t i = 0; i < 2 * n; i++) {
        const uint8_t *crlf = memchr(p, '\r', items->len - (size_t)(p - items->p));
        long long l = 0;
        str_to_ll(p + 1, (size_t)(crlf - p - 1), &l);
        size_t blen = (size_t)(crlf - p) + 2 + (size_t)l + 2;
        if (i % 2) buf_append(&out, p, blen);
        p += blen;
    }
    buf_wipe_free(items);
    *items = out;
}

static void hgetall_generic(client *c, int fields, int values)
{
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    if (e && filtered(c) && !c->pv.deid && c->pv.flt.all) {
        /* Visibility does not depend on values: count, then reply straight away. */
        emit_ctx x = {c, fields, values, {0}, 0, 0};
        db_hash_foreach(c->s->db, e, count_visible, &x);
        if (fields && values)
            rep_map(c, x.n);
        else
            rep_array(c, x.n);
        db_hash_foreach(c->s->db, e, emit_visible_direct, &x);
        return;
    }
    if (e && filtered(c)) {
        /* A role that sees part of the record gets its fields sorted by name: their order in
         * the record follows its hidden fields too (a long hidden value moves the record
         * from its compact form to a table, which orders fields otherwise). HVALS is
         * collected with the names, sorted, then sent without them. */
        emit_ctx x = {c, 1, values, {0}, 0, 0};
        db_hash_foreach(c->s->db, e, emit_visible, &x);
        if (x.failed) {
            buf_wipe_free(&x.items);
            rep_unopenable(c);
            return;
        }
        sort_bulks(&x.items, x.n, values ? 2 : 1);
        if (!fields) drop_names(&x.items, x.n);
        if (fields && values)
            rep_map(c, x.n);
        else
            rep_array(c, x.n);
        buf_append(&c->out, x.items.p, x.items.len);
        buf_wipe_free(&x.items);
        return;
    }
    size_t n = e ? db_hash_len(e) : 0;
    if (fields && values)
        rep_map(c, n);
    else
        rep_array(c, n);
    if (!e) return;
    emit_ctx x = {c, fields, values, {0}, 0, 0};
    db_hash_foreach(c->s->db, e, emit_field, &x);
}

void hgetall_cmd(client *c)
{
    hgetall_generic(c, 1, 1);
}

void hkeys_cmd(client *c)
{
    hgetall_generic(c, 1, 0);
}

void hvals_cmd(client *c)
{
    hgetall_generic(c, 0, 1);
}

void hdel_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 0) != 0) return;
    long long n = 0;
    for (int i = 2; e && i < c->argc; i++) {
        int last = db_hash_len(e) == 1;
        if (db_hash_del(c->s->db, e, c->argv[i].p, c->argv[i].len)) {
            n++;
            if (last) break; /* the key is gone with its last field */
        }
    }
    rep_int(c, n);
}

void hexists_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    db_ref r;
    int there = e && db_hash_get(c->s->db, e, c->argv[2].p, c->argv[2].len, &r);
    /* A value the de-identified view withholds (a date it cannot read) is not there for the
     * session, as HGET gives nil and HSTRLEN 0. */
    const void *pf = NULL;
    if (there && c->pv.deid) there = shown(c, c->argv[2].p, c->argv[2].len, &r, &pf);
    rep_int(c, there ? 1 : 0);
}

void hlen_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    if (e && filtered(c)) {
        emit_ctx x = {c, 1, 0, {0}, 0, 0};
        db_hash_foreach(c->s->db, e, emit_visible, &x);
        buf_wipe_free(&x.items);
        rep_int(c, (long long)x.n);
        return;
    }
    rep_int(c, e ? (long long)db_hash_len(e) : 0);
}

void hstrlen_cmd(client *c)
{
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    db_ref r;
    if (!e || !db_hash_get(c->s->db, e, c->argv[2].p, c->argv[2].len, &r)) {
        rep_int(c, 0);
        return;
    }
    long long n = pv_hvalue_len(c, NULL, c->argv[2].p, c->argv[2].len, &r);
    rep_int(c, n < 0 ? 0 : n);
}

void hincrby_cmd(client *c)
{
    long long by, v = 0;
    if (arg_ll(c, 3, &by) != 0) return;
    db_entry *e;
    if (lookup_hash(c, &e, 0) != 0) return;
    db_ref r;
    if (e && db_hash_get(c->s->db, e, c->argv[2].p, c->argv[2].len, &r)) {
        size_t len = db_ref_len(&r);
        uint8_t tmp[32];
        int bad = len > 20;
        if (!bad) {
            if (db_ref_open(c->s->db, &r, tmp) != 0) {
                rep_unopenable(c);
                return;
            }
            bad = str_to_ll(tmp, len, &v) != 0;
            OPENSSL_cleanse(tmp, sizeof tmp);
        }
        if (bad) {
            rep_err(c, "ERR hash value is not an integer");
            return;
        }
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        rep_err(c, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    char out[24];
    size_t n = str_from_ll(out, v);
    if (db_hash_set(c->s->db, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len,
                    (const uint8_t *)out, n) < 0)
        rep_not_stored(c, c->out.len);
    else
        rep_int(c, v);
}

void hincrbyfloat_cmd(client *c)
{
    long double by, v = 0;
    if (str_to_ld(c->argv[3].p, c->argv[3].len, &by) != 0) {
        rep_err(c, "ERR value is not a valid float");
        return;
    }
    if (isnan(by) || isinf(by)) {
        rep_err(c, "ERR value is NaN or Infinity");
        return;
    }
    db_entry *e;
    if (lookup_hash(c, &e, 0) != 0) return;
    db_ref r;
    if (e && db_hash_get(c->s->db, e, c->argv[2].p, c->argv[2].len, &r)) {
        size_t len = db_ref_len(&r);
        uint8_t *tmp = mem_alloc(len + 1);
        if (db_ref_open(c->s->db, &r, tmp) != 0) {
            mem_free_wipe(tmp);
            rep_unopenable(c);
            return;
        }
        int bad = str_to_ld(tmp, len, &v) != 0;
        mem_free_wipe(tmp);
        if (bad) {
            rep_err(c, "ERR hash value is not a float");
            return;
        }
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        rep_err(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[STRUTIL_MAX_LD_CHARS];
    size_t n = str_from_ld(out, sizeof out, v);
    if (db_hash_set(c->s->db, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len,
                    (const uint8_t *)out, n) < 0)
        rep_not_stored(c, c->out.len);
    else
        rep_bulk(c, out, n);
}

typedef struct {
    buf items;
    size_t n;
    scan_opts *o;
    db *d;
    int failed; /* a value did not open */
    client *c;  /* set when the policy filters the fields */
} hscan_acc;

static void hscan_collect(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    hscan_acc *a = ud;
    const void *pf = NULL;
    if (a->o->glob_spent) return;
    /* A field the role may not read is passed over before the pattern is tried: matching
     * spends the command's glob budget, which would tell that the field exists. */
    if (a->c && !pv_field_visible(a->c, f, flen, &pf)) return;
    if (!scan_glob(a->o, f, flen)) return;
    if (a->c) {
        if (a->o->novalues) {
            if (a->c->pv.deid && pv_hvalue_len(a->c, pf, f, flen, v) < 0) return;
            resp_bulk(&a->items, f, flen);
            a->n++;
            pv_shown(a->c, f, flen);
            return;
        }
        size_t mark = a->items.len;
        resp_bulk(&a->items, f, flen);
        int r = pv_hvalue_into(a->c, pf, f, flen, v, &a->items);
        if (r == -2) a->failed = 1;
        if (r != 0) {
            OPENSSL_cleanse(a->items.p + mark, a->items.len - mark);
            a->items.len = mark;
            return;
        }
        a->n += 2;
        pv_shown(a->c, f, flen);
        return;
    }
    resp_bulk(&a->items, f, flen);
    a->n++;
    if (!a->o->novalues) {
        size_t vl = db_ref_len(v);
        buf_reserve(&a->items, vl + 32);
        buf_printf(&a->items, "$%zu\r\n", vl);
        if (db_ref_open(a->d, v, a->items.p + a->items.len) != 0) a->failed = 1;
        a->items.len += vl;
        buf_append(&a->items, "\r\n", 2);
        a->n++;
    }
}

void hscan_cmd(client *c)
{
    scan_opts o;
    if (scan_parse_cursor(c, 2, &o) != 0) return;
    /* Redis answers a missing key before it reads the options. Under the policy they are
     * read first: a missing record must answer as one the role sees nothing of does, or
     * bad options would tell which records exist. */
    int early = filtered(c);
    if (early && scan_parse_opts(c, 2, 0, &o) != 0) return;
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    if (!e) { /* as Redis: a missing key is an empty scan, whatever the options */
        rep_array(c, 2);
        rep_cstr(c, "0");
        rep_array(c, 0);
        return;
    }
    if (!early && scan_parse_opts(c, 2, 0, &o) != 0) return;
    hscan_acc a = {{0}, 0, &o, c->s->db, 0, filtered(c) ? c : NULL};
    uint64_t cur = 0;
    if (e && filtered(c) && (!c->pv.flt.all || c->pv.deid)) {
        /* A record the role sees in part: every field it may see in one reply, cursor 0.
         * The cursor of a step-by-step scan follows the size of the record's table, which
         * the fields it may not see make grow. */
        db_hash_foreach(c->s->db, e, hscan_collect, &a);
    } else if (e) {
        cur = o.cursor;
        long long iterations = o.count * 10;
        do {
            cur = db_hash_scan(c->s->db, e, cur, hscan_collect, &a);
        } while (cur && --iterations > 0 && (long long)a.n < o.count && !o.glob_spent);
    }
    if (a.failed) {
        buf_wipe_free(&a.items);
        rep_unopenable(c);
        return;
    }
    if (o.glob_spent) {
        buf_wipe_free(&a.items);
        rep_glob_spent(c);
        return;
    }
    rep_array(c, 2);
    char tmp[24];
    size_t tl = str_from_ll(tmp, (long long)cur);
    rep_bulk(c, tmp, tl);
    rep_array(c, a.n);
    buf_append(&c->out, a.items.p, a.items.len);
    buf_wipe_free(&a.items);
}

typedef struct {
    const uint8_t **f;
    size_t *flen;
    db_ref *v;
    size_t n;
    client *c; /* set when the policy filters the fields */
} collect_all;

static void collect_cb(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    collect_all *a = ud;
    const void *pf;
    if (a->c && !shown(a->c, f, flen, v, &pf)) return;
    a->f[a->n] = f;
    a->flen[a->n] = flen;
    a->v[a->n] = *v;
    a->n++;
}

/* HRANDFIELD under the policy: picks among the fields the session may see; single for the
 * form without a count (one field or nil), l the count otherwise. */
static void hrandfield_filtered(client *c, db_entry *e, int single, long long l, int withvalues)
{
    size_t size = db_hash_len(e);
    collect_all a = {mem_alloc(sizeof(*a.f) * size), mem_alloc(sizeof(*a.flen) * size),
                     mem_alloc(sizeof(*a.v) * size), 0, c};
    db_hash_foreach(c->s->db, e, collect_cb, &a);
    int resp3_pairs = withvalues && c->proto >= 3;
    if (single) {
        size_t j = a.n ? (size_t)random() % a.n : 0;
        if (a.n == 0)
            rep_null(c);
        else
            rep_bulk(c, a.f[j], a.flen[j]);
    } else if (a.n == 0) {
        rep_array(c, 0);
    } else {
        size_t count = l < 0 ? (size_t)(-l) : ((size_t)l < a.n ? (size_t)l : a.n);
        rep_array(c, withvalues && !resp3_pairs ? count * 2 : count);
        for (size_t i = 0; i < count && !rep_too_big(c); i++) {
            size_t j = i;
            if (l < 0)
                j = (size_t)random() % a.n;
            else if (count < a.n) { /* partial Fisher-Yates: distinct picks */
                j = i + (size_t)random() % (a.n - i);
                const uint8_t *tf = a.f[i];
                a.f[i] = a.f[j];
                a.f[j] = tf;
                size_t tl = a.flen[i];
                a.flen[i] = a.flen[j];
                a.flen[j] = tl;
                db_ref tv = a.v[i];
                a.v[i] = a.v[j];
                a.v[j] = tv;
                j = i;
            }
            if (resp3_pairs) rep_array(c, 2);
            rep_bulk(c, a.f[j], a.flen[j]);
            if (withvalues) rep_hvalue(c, NULL, a.f[j], a.flen[j], &a.v[j]);
        }
    }
    mem_free(a.f);
    mem_free(a.flen);
    mem_free(a.v);
}

/*
 * HRANDFIELD with a count of at most a third of the hash: distinct fields drawn at random,
 * a repeat drawn again (at most 1.5 draws a field on average), instead of copying the
 * whole hash as the general case does (120 ms for one field of a million-field hash).
 * Fields are told apart by where their names are stored, in a small open-addressing set.
 */
static void hrandfield_sample(client *c, db_entry *e, size_t count, int withvalues, int resp3_pairs)
{
    db *d = c->s->db;
    int bits = 4;
    while (((size_t)1 << bits) < count * 2)
        bits++;
    size_t cap = (size_t)1 << bits;
    const uint8_t **seen = mem_calloc(sizeof *seen * cap);
    rep_array(c, withvalues && !resp3_pairs ? count * 2 : count);
    for (size_t got = 0; got < count && !rep_too_big(c);) {
        const uint8_t *f;
        size_t flen;
        db_ref v;
        if (db_hash_random(d, e, &f, &flen, &v) != 0) break; /* not for a non-empty hash */
        size_t i = (size_t)(((uint64_t)(uintptr_t)f * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
        while (seen[i] && seen[i] != f)
            i = (i + 1) & (cap - 1);
        if (seen[i]) continue; /* drawn before */
        seen[i] = f;
        got++;
        if (resp3_pairs) rep_array(c, 2);
        rep_bulk(c, f, flen);
        if (withvalues) rep_value(c, &v);
    }
    mem_free(seen);
}

void hrandfield_cmd(client *c)
{
    db *d = c->s->db;
    if (c->argc == 2) {
        db_entry *e;
        if (lookup_hash(c, &e, 1) != 0) return;
        if (e && filtered(c)) {
            hrandfield_filtered(c, e, 1, 1, 0);
            return;
        }
        const uint8_t *f;
        size_t flen;
        db_ref v;
        if (!e || db_hash_random(d, e, &f, &flen, &v) != 0)
            rep_null(c);
        else
            rep_bulk(c, f, flen);
        return;
    }
    long long l;
    if (arg_ll(c, 2, &l) != 0) return;
    int withvalues = 0;
    if (c->argc == 4 && arg_is(c, 3, "withvalues"))
        withvalues = 1;
    else if (c->argc >= 4) {
        rep_syntax(c);
        return;
    }
    if (l == LLONG_MIN) {
        rep_err(c, "ERR value is out of range, value must between -9223372036854775807 and "
                   "9223372036854775807");
        return;
    }
    if (withvalues && l < -LLONG_MAX / 2) {
        rep_err(c, "ERR value is out of range");
        return;
    }
    db_entry *e;
    if (lookup_hash(c, &e, 1) != 0) return;
    if (!e || l == 0) {
        rep_array(c, 0);
        return;
    }
    if (filtered(c)) {
        hrandfield_filtered(c, e, 0, l, withvalues);
        return;
    }
    size_t size = db_hash_len(e);
    int resp3_pairs = withvalues && c->proto >= 3;
    if (l < 0) {
        /* Repetitions allowed: |count| independent picks. */
        size_t count = (size_t)(-l);
        rep_array(c, withvalues && !resp3_pairs ? count * 2 : count);
        for (size_t i = 0; i < count && !rep_too_big(c); i++) {
            const uint8_t *f;
            size_t flen;
            db_ref v;
            db_hash_random(d, e, &f, &flen, &v);
            if (resp3_pairs) rep_array(c, 2);
            rep_bulk(c, f, flen);
            if (withvalues) rep_value(c, &v);
        }
        return;
    }
    size_t count = (size_t)l < size ? (size_t)l : size;
    if (count * 3 <= size) {
        hrandfield_sample(c, e, count, withvalues, resp3_pairs);
        return;
    }
    collect_all a;
    a.f = mem_alloc(sizeof(*a.f) * size);
    a.flen = mem_alloc(sizeof(*a.flen) * size);
    a.v = mem_alloc(sizeof(*a.v) * size);
    a.n = 0;
    a.c = NULL;
    db_hash_foreach(d, e, collect_cb, &a);
    /* Partial Fisher-Yates: the first count slots become a random distinct sample. */
    for (size_t i = 0; i < count && count < size; i++) {
        size_t j = i + (size_t)random() % (size - i);
        const uint8_t *tf = a.f[i];
        a.f[i] = a.f[j];
        a.f[j] = tf;
        size_t tl = a.flen[i];
        a.flen[i] = a.flen[j];
        a.flen[j] = tl;
        db_ref tv = a.v[i];
        a.v[i] = a.v[j];
        a.v[j] = tv;
    }
    rep_array(c, withvalues && !resp3_pairs ? count * 2 : count);
    for (size_t i = 0; i < count; i++) {
        if (resp3_pairs) rep_array(c, 2);
        rep_bulk(c, a.f[i], a.flen[i]);
        if (withvalues) rep_value(c, &a.v[i]);
    }
    mem_free(a.f);
    mem_free(a.flen);
    mem_free(a.v);
}
