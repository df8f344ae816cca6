/*
 * cmd_keys: commands on keys of any type (Redis 7.0 semantics), and the
 * option parser shared by SCAN and HSCAN.
 */
#include "cmd.h"
#include "cmd_policy.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/mem.h"
#include "util/strutil.h"

static void del_generic(client *c, int (*del)(db *, const uint8_t *, size_t))
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        if (c->argc > 2 && (i - 1) % DB_PREFETCH_MAX == 0) cmd_prefetch_keys(c, i, 1);
        n += del(c->s->db, c->argv[i].p, c->argv[i].len);
    }
    rep_int(c, n);
}

void del_cmd(client *c)
{
    del_generic(c, db_delete);
}

/* As DEL, but a large hash is freed on the lazy-free thread (db_unlink). */
void unlink_cmd(client *c)
{
    del_generic(c, db_unlink);
}

void exists_cmd(client *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++) {
        if (c->argc > 2 && (i - 1) % DB_PREFETCH_MAX == 0) cmd_prefetch_keys(c, i, 1);
        if (db_lookup(c->s->db, c->argv[i].p, c->argv[i].len)) {
            n++;
            c->s->st.hits++;
        } else {
            c->s->st.misses++;
        }
    }
    rep_int(c, n);
}

/* A read lookup that counts in INFO keyspace_hits/misses, as Redis counts EXISTS, TYPE,
 * TTL and the like. */
static db_entry *lookup_counted(client *c)
{
    db_entry *e = db_lookup(c->s->db, c->argv[1].p, c->argv[1].len);
    if (e)
        c->s->st.hits++;
    else
        c->s->st.misses++;
    return e;
}

void type_cmd(client *c)
{
    db_entry *e = lookup_counted(c);
    if (!e)
        rep_simple(c, "none");
    else
        rep_simple(c, db_entry_type(e) == DB_STRING ? "string" : "hash");
}

#define EXP_NX 1
#define EXP_XX 2
#define EXP_GT 4
#define EXP_LT 8

static void expire_generic(client *c, long long base, int seconds)
{
    int flags = 0;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "nx"))
            flags |= EXP_NX;
        else if (arg_is(c, j, "xx"))
            flags |= EXP_XX;
        else if (arg_is(c, j, "gt"))
            flags |= EXP_GT;
        else if (arg_is(c, j, "lt"))
            flags |= EXP_LT;
        else {
            rep_errf(c, "ERR Unsupported option %.*s",
                     (int)(c->argv[j].len > 64 ? 64 : c->argv[j].len), (const char *)c->argv[j].p);
            return;
        }
    }
    if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
        rep_err(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & EXP_GT) && (flags & EXP_LT)) {
        rep_err(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    long long when;
    if (arg_ll(c, 2, &when) != 0) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) goto invalid;
        when *= 1000;
    }
    if (when > LLONG_MAX - base) goto invalid;
    when += base;
    db *d = c->s->db;
    db_entry *e = db_lookup(d, c->argv[1].p, c->argv[1].len);
    if (!e) {
        rep_int(c, 0);
        return;
    }
    long long cur = db_get_expire(e);
    if (flags) {
        if ((flags & EXP_NX) && cur != DB_NO_EXPIRE) goto zero;
        if ((flags & EXP_XX) && cur == DB_NO_EXPIRE) goto zero;
        if ((flags & EXP_GT) && (cur == DB_NO_EXPIRE || when <= cur)) goto zero;
        if ((flags & EXP_LT) && cur != DB_NO_EXPIRE && when >= cur) goto zero;
    }
    if (when <= db_now(d))
        db_delete(d, c->argv[1].p, c->argv[1].len);
    else
        db_set_expire(d, e, when);
    rep_int(c, 1);
    return;
zero:
    rep_int(c, 0);
    return;
invalid:
    rep_errf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
}

void expire_cmd(client *c)
{
    expire_generic(c, db_now(c->s->db), 1);
}

void pexpire_cmd(client *c)
{
    expire_generic(c, db_now(c->s->db), 0);
}

void expireat_cmd(client *c)
{
    expire_generic(c, 0, 1);
}

void pexpireat_cmd(client *c)
{
    expire_generic(c, 0, 0);
}

static void ttl_generic(client *c, int ms, int absolute)
{
    db_entry *e = lookup_counted(c);
    if (!e) {
        rep_int(c, -2);
        return;
    }
    long long exp = db_get_expire(e);
    if (exp == DB_NO_EXPIRE) {
        rep_int(c, -1);
        return;
    }
    if (absolute) {
        /* Rounded, as Redis does TTL too; exp + 500 would overflow near LLONG_MAX. */
        rep_int(c, ms ? exp : exp / 1000 + (exp % 1000 >= 500));
        return;
    }
    long long ttl = exp - db_now(c->s->db);
    if (ttl < 0) ttl = 0;
    rep_int(c, ms ? ttl : (ttl + 500) / 1000);
}

void ttl_cmd(client *c)
{
    ttl_generic(c, 0, 0);
}

void pttl_cmd(client *c)
{
    ttl_generic(c, 1, 0);
}

void expiretime_cmd(client *c)
{
    ttl_generic(c, 0, 1);
}

void pexpiretime_cmd(client *c)
{
    ttl_generic(c, 1, 1);
}

void persist_cmd(client *c)
{
    db_entry *e = db_lookup(c->s->db, c->argv[1].p, c->argv[1].len);
    if (!e || db_get_expire(e) == DB_NO_EXPIRE) {
        rep_int(c, 0);
        return;
    }
    db_set_expire(c->s->db, e, DB_NO_EXPIRE);
    rep_int(c, 1);
}

static void rename_generic(client *c, int nx)
{
    db *d = c->s->db;
    const arg *src = &c->argv[1], *dst = &c->argv[2];
    int same = src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0;
    if (!db_lookup(d, src->p, src->len)) {
        rep_err(c, "ERR no such key");
        return;
    }
    if (same) {
        if (nx)
            rep_int(c, 0);
        else
            rep_ok(c);
        return;
    }
    if (nx && db_lookup(d, dst->p, dst->len)) {
        rep_int(c, 0);
        return;
    }
    if (db_rename(d, src->p, src->len, dst->p, dst->len) != 0) {
        rep_unopenable(c); /* nothing was changed */
        return;
    }
    if (nx)
        rep_int(c, 1);
    else
        rep_ok(c);
}

/* COPY source destination [DB destination-db] [REPLACE]: as Redis 6.2+, within database 0
 * (the only one). The copy's values are re-sealed for its name. On records (keys under a
 * schema) the policy refuses it: it has no class there (cmd_policy, deny by default; a copy
 * would need read on every group of the source and write on every group of the
 * destination, and would make a record scope=self roles could not have made). */
void copy_cmd(client *c)
{
    db *d = c->s->db;
    int replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "replace")) {
            replace = 1;
        } else if (arg_is(c, j, "db") && j + 1 < c->argc) {
            long long dbid;
            if (arg_ll(c, j + 1, &dbid) != 0) return;
            if (dbid < INT_MIN || dbid > INT_MAX) {
                rep_err(c, "ERR value is out of range, value must between -2147483648 and "
                           "2147483647");
                return;
            }
            if (dbid != 0) {
                rep_err(c, "ERR DB index is out of range");
                return;
            }
            j++;
        } else {
            rep_syntax(c);
            return;
        }
    }
    const arg *src = &c->argv[1], *dst = &c->argv[2];
    if (src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0) {
        rep_err(c, "ERR source and destination objects are the same");
        return;
    }
    if (!db_lookup(d, src->p, src->len) || (!replace && db_lookup(d, dst->p, dst->len))) {
        rep_int(c, 0);
        return;
    }
    if (db_copy(d, src->p, src->len, dst->p, dst->len) != 0) {
        rep_unopenable(c); /* nothing was changed */
        return;
    }
    rep_int(c, 1);
}

void rename_cmd(client *c)
{
    rename_generic(c, 0);
}

void renamenx_cmd(client *c)
{
    rename_generic(c, 1);
}

int scan_glob(scan_opts *o, const uint8_t *s, size_t n)
{
    if (!o->match || (o->match->len == 1 && o->match->p[0] == '*')) return 1;
    int r = str_glob_budget(o->match->p, o->match->len, s, n, 0, &o->glob_left);
    if (r < 0) o->glob_spent = 1;
    return r == 1;
}

void rep_glob_spent(client *c)
{
    rep_errf(c,
             "ERR the pattern takes too long to match (over %llu steps in one call); "
             "use a simpler pattern",
             STR_GLOB_BUDGET);
}

void rep_listing(client *c, buf *items, size_t n, int spent)
{
    if (spent)
        rep_glob_spent(c);
    else {
        rep_array(c, n);
        buf_append(&c->out, items->p, items->len);
    }
    buf_free(items);
}

int scan_parse_cursor(client *c, int first, scan_opts *o)
{
    memset(o, 0, sizeof *o);
    o->count = 10;
    o->glob_left = STR_GLOB_BUDGET;
    /* Parsed as Redis does (strtoul up to the first NUL): a sign is accepted, "-1" wraps
     * around, and an empty cursor is 0. */
    char tmp[64];
    const arg *ca = &c->argv[first];
    if (ca->len >= sizeof tmp || (ca->len && isspace(ca->p[0]))) {
        rep_err(c, "ERR invalid cursor");
        return -1;
    }
    memcpy(tmp, ca->p, ca->len);
    tmp[ca->len] = '\0';
    char *end;
    errno = 0;
    unsigned long long cur = strtoull(tmp, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        rep_err(c, "ERR invalid cursor");
        return -1;
    }
    o->cursor = cur;
    return 0;
}

int scan_parse(client *c, int first, int allow_type, scan_opts *o)
{
    if (scan_parse_cursor(c, first, o) != 0) return -1;
    return scan_parse_opts(c, first, allow_type, o);
}

int scan_parse_opts(client *c, int first, int allow_type, scan_opts *o)
{
    for (int j = first + 1; j < c->argc;) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "count") && left >= 1) {
            long long n;
            if (arg_ll(c, j + 1, &n) != 0) return -1;
            if (n < 1) {
                rep_syntax(c);
                return -1;
            }
            /* The scans visit up to 10 * COUNT buckets: keep that product in range (no
             * keyspace comes near either bound). */
            o->count = n > LLONG_MAX / 10 ? LLONG_MAX / 10 : n;
            j += 2;
        } else if (arg_is(c, j, "match") && left >= 1) {
            o->match = &c->argv[j + 1];
            j += 2;
        } else if (allow_type && arg_is(c, j, "type") && left >= 1) {
            o->type = &c->argv[j + 1];
            j += 2;
        } else if (!allow_type && arg_is(c, j, "novalues")) {
            o->novalues = 1;
            j += 1;
        } else {
            rep_syntax(c);
            return -1;
        }
    }
    return 0;
}

typedef struct {
    buf keys; /* collected key replies (bulk strings) */
    size_t n; /* how many */
    scan_opts *o;
    client *c;     /* set when the policy lists keys (roles, pseudonyms) */
    long long now; /* command time (db_scan_raw steps only: 0 otherwise) */
    buf expired;   /* expired keys met that match: [u32 length][key] each */
} scan_acc;

static void scan_collect(void *ud, db_entry *e)
{
    scan_acc *a = ud;
    size_t klen;
    const uint8_t *k = db_entry_key(e, &klen);
    long long exp = db_get_expire(e);
    /* Under a policy, a key the role may not list is passed over before the pattern is
     * tried: matching spends the command's glob budget, which would tell that it exists. */
    const uint8_t *name = k;
    size_t nlen = klen;
    char alias[192];
    if (a->c && !pv_key_listed(a->c, k, klen, &name, &nlen, alias)) return;
    if (exp != DB_NO_EXPIRE && exp <= a->now) {
        /* Expired, not removed yet: as Redis's SCAN, remove it if it matches the pattern
         * (after the step: the table must not change under the scan). */
        if (scan_glob(a->o, name, nlen)) {
            uint32_t l = (uint32_t)klen;
            buf_append(&a->expired, &l, sizeof l);
            buf_append(&a->expired, k, klen);
        }
        return;
    }
    k = name;
    klen = nlen;
    if (!scan_glob(a->o, k, klen)) return;
    if (a->o->type) {
        const char *t = db_entry_type(e) == DB_STRING ? "string" : "hash";
        if (!str_eq_nocase(a->o->type->p, a->o->type->len, t)) return;
    }
    resp_bulk(&a->keys, k, klen);
    a->n++;
}

/* A de-identified view lists records under pseudonyms, but the order of a walk of the key
 * table, and SCAN's cursors, tell where each real key lies: a user learns the buckets of
 * names of its choice from a hash of its own (HSCAN cursors, the same table hashing) and
 * matches them. So such a session gets every key it may list at once, sorted by the name
 * shown (SCAN answers cursor 0, as HSCAN does for a filtered record), and RANDOMKEY picks
 * among all of them. */
static int lists_pseudonyms(const client *c)
{
    return c->pv.keyenum && c->pv.role && policy_role_view(c->pv.role) == POLICY_VIEW_DEIDENTIFIED;
}

typedef struct {
    const uint8_t *bulk; /* the whole RESP bulk */
    size_t blen;
    const uint8_t *s; /* its contents */
    size_t len;
} bulk_ref;

static int bulk_ref_cmp(const void *x, const void *y)
{
    const bulk_ref *a = x, *b = y;
    int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* The n bulk strings of keys (RESP, as resp_bulk writes them) as references. */
static bulk_ref *bulk_refs(const buf *keys, size_t n)
{
    bulk_ref *r = mem_alloc((n ? n : 1) * sizeof *r);
    const uint8_t *p = keys->p;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *crlf = memchr(p, '\r', keys->len - (size_t)(p - keys->p));
        long long l = 0;
        str_to_ll(p + 1, (size_t)(crlf - p - 1), &l);
        r[i] = (bulk_ref){p, (size_t)(crlf - p) + 2 + (size_t)l + 2, crlf + 2, (size_t)l};
        p += r[i].blen;
    }
    return r;
}

void sort_bulks(buf *items, size_t n, size_t group)
{
    if (n < 2) return;
    bulk_ref *r = bulk_refs(items, n * group);
    /* each group as one reference: its first bulk's contents, all its bytes */
    for (size_t g = 0; g < n; g++) {
        bulk_ref first = r[g * group];
        for (size_t j = 1; j < group; j++)
            first.blen += r[g * group + j].blen;
        r[g] = first;
    }
    qsort(r, n, sizeof *r, bulk_ref_cmp);
    buf out = {0};
    buf_reserve(&out, items->len);
    for (size_t i = 0; i < n; i++)
        buf_append(&out, r[i].bulk, r[i].blen);
    mem_free(r);
    buf_wipe_free(items); /* field values: wiped as their buffers always are */
    *items = out;
}

void scan_cmd(client *c)
{
    scan_opts o;
    if (scan_parse(c, 1, 1, &o) != 0) return;
    scan_acc a = {{0}, 0, &o, c->pv.keyenum ? c : NULL, db_now(c->s->db), {0}};
    uint64_t cur = o.cursor;
    int whole = lists_pseudonyms(c);
    if (whole && cur != 0) {
        cur = 0; /* every key was in the reply to cursor 0 */
    } else if (whole) {
        o.glob_left = STR_GLOB_BUDGET + 64ULL * db_size(c->s->db);
        do {
            cur = db_scan_raw(c->s->db, cur, scan_collect, &a);
        } while (cur && !o.glob_spent);
    } else {
        long long iterations = o.count * 10;
        do {
            cur = db_scan_raw(c->s->db, cur, scan_collect, &a);
        } while (cur && --iterations > 0 && (long long)a.n < o.count && !o.glob_spent);
    }
    if (whole) sort_bulks(&a.keys, a.n, 1);
    /* The lookup removes each (journaled, watchers told). */
    for (size_t off = 0; off < a.expired.len;) {
        uint32_t l;
        memcpy(&l, a.expired.p + off, sizeof l);
        db_lookup(c->s->db, a.expired.p + off + sizeof l, l);
        off += sizeof l + l;
    }
    buf_wipe_free(&a.expired);
    if (o.glob_spent) {
        buf_free(&a.keys);
        rep_glob_spent(c);
        return;
    }
    rep_array(c, 2);
    char tmp[24];
    size_t tl = str_from_ll(tmp, (long long)cur);
    if (cur > (uint64_t)LLONG_MAX)
        tl = (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)cur);
    rep_bulk(c, tmp, tl);
    rep_array(c, a.n);
    buf_append(&c->out, a.keys.p, a.keys.len);
    buf_free(&a.keys);
}

typedef struct {
    buf keys;
    size_t n;
    scan_opts pat; /* its MATCH is the pattern (for scan_glob's budget) */
    long long now;
    client *c; /* set when the policy lists keys */
} keys_acc;

static void keys_collect(void *ud, db_entry *e)
{
    keys_acc *a = ud;
    size_t klen;
    const uint8_t *k = db_entry_key(e, &klen);
    long long exp = db_get_expire(e);
    if (exp != DB_NO_EXPIRE && exp <= a->now) return;
    char alias[192];
    if (a->c && !pv_key_listed(a->c, k, klen, &k, &klen, alias)) return;
    if (a->pat.glob_spent || !scan_glob(&a->pat, k, klen)) return;
    resp_bulk(&a->keys, k, klen);
    a->n++;
}

void keys_cmd(client *c)
{
    keys_acc a = {{0}, 0, {0}, db_now(c->s->db), c->pv.keyenum ? c : NULL};
    a.pat.match = &c->argv[1];
    /* KEYS reads every key: the budget grows with the keyspace (a plain pattern takes a
     * few steps a key), so only a pathological pattern runs out. */
    a.pat.glob_left = STR_GLOB_BUDGET + 64ULL * db_size(c->s->db);
    uint64_t cur = 0;
    do {
        cur = db_scan(c->s->db, cur, (void (*)(void *, db_entry *))keys_collect, &a);
    } while (cur && !a.pat.glob_spent);
    if (lists_pseudonyms(c)) sort_bulks(&a.keys, a.n, 1);
    rep_listing(c, &a.keys, a.n, a.pat.glob_spent);
}

/* Reply with one of the n bulk strings of keys, drawn uniformly. */
static void rep_one_of(client *c, const buf *keys, size_t n)
{
    bulk_ref *r = bulk_refs(keys, n);
    const bulk_ref *one = &r[(size_t)random() % n];
    buf_append(&c->out, one->bulk, one->blen);
    mem_free(r);
}

void randomkey_cmd(client *c)
{
    /* Sample through a scan step from a random cursor: no full walk. */
    db *d = c->s->db;
    if (db_size(d) == 0) {
        rep_null(c);
        return;
    }
    if (lists_pseudonyms(c)) {
        /* One of the keys the session may list, each as likely as any other: a random
         * bucket (one scan step when the table is not being resized), kept with odds
         * n / RK_K for its n listed keys, then one of them. Taking the first key after a
         * random bucket instead would favour keys after runs of empty buckets, which tells
         * where they lie. When listed keys are too sparse for that to succeed soon, every
         * listed key is collected and one drawn. */
        enum { RK_TRIES = 1024, RK_K = 8 };
        for (int tries = 0; tries < RK_TRIES; tries++) {
            scan_opts o = {0};
            scan_acc a = {{0}, 0, &o, c, 0, {0}};
            db_scan(d, ((uint64_t)random() << 32) ^ (uint64_t)random(), scan_collect, &a);
            if (a.n > 0 && (a.n >= RK_K || (size_t)random() % RK_K < a.n)) {
                rep_one_of(c, &a.keys, a.n);
                buf_free(&a.keys);
                return;
            }
            buf_free(&a.keys);
        }
        scan_opts o = {0};
        scan_acc a = {{0}, 0, &o, c, 0, {0}};
        uint64_t cur = 0;
        do {
            cur = db_scan(d, cur, scan_collect, &a);
        } while (cur);
        if (a.n == 0)
            rep_null(c);
        else
            rep_one_of(c, &a.keys, a.n);
        buf_free(&a.keys);
        return;
    }
    for (int tries = 0; tries < 100; tries++) {
        scan_opts o = {0};
        o.count = 1;
        scan_acc a = {{0}, 0, &o, c->pv.keyenum ? c : NULL, 0, {0}};
        uint64_t cur = ((uint64_t)random() << 32) ^ (uint64_t)random();
        db_scan(d, cur, scan_collect, &a);
        if (a.n > 0) {
            /* The first collected key. */
            const uint8_t *p = a.keys.p;
            buf_append(&c->out, p, a.keys.len);
            /* Several may have been collected: keep only the first reply. */
            if (a.n > 1) {
                c->out.len -= a.keys.len;
                const uint8_t *crlf = memchr(p, '\n', a.keys.len);
                long long l = 0;
                str_to_ll(p + 1, (size_t)(crlf - p - 2), &l);
                buf_append(&c->out, p, (size_t)(crlf - p + 1) + (size_t)l + 2);
            }
            buf_free(&a.keys);
            return;
        }
        buf_free(&a.keys);
    }
    rep_null(c);
}

/* ---- MEMORY USAGE, MEMORY HELP ---- */

/* What MEMORY USAGE tells a role that sees only part of a record (or a de-identified view):
 * a figure made only of what it is shown, so it moves with nothing hidden (a field it may
 * not read, the original of a transformed value, the storage form the hidden fields chose,
 * the real key name, an expiry). */
#define MEM_VIEW_KEY   64 /* bytes counted for the record itself */
#define MEM_VIEW_FIELD 16 /* ... and for each field shown, beside its name and value */

typedef struct {
    client *c;
    size_t n, bytes;
} mem_view;

static void mem_view_field(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    mem_view *m = ud;
    const void *pf;
    if (!pv_field_visible(m->c, f, flen, &pf)) return;
    long long shown =
        m->c->pv.deid ? pv_hvalue_len(m->c, pf, f, flen, v) : (long long)db_ref_len(v);
    if (shown < 0) return; /* withheld by the view */
    m->n++;
    m->bytes += MEM_VIEW_FIELD + flen + (size_t)shown;
}

/* MEMORY USAGE key [SAMPLES count] (the last SAMPLES wins, as in Redis). On a record under a
 * schema that the role sees whole it is the record's memory; seen in part, it is counted
 * from what the role is shown (mem_view_field), and nil when it is shown nothing. */
void memory_usage_cmd(client *c)
{
    long long samples = 5; /* Redis's default */
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "samples") && j + 1 < c->argc) {
            if (arg_ll(c, j + 1, &samples) != 0) return;
            if (samples < 0) {
                rep_syntax(c);
                return;
            }
            j++;
        } else {
            rep_syntax(c);
            return;
        }
    }
    db_entry *e = db_lookup(c->s->db, c->argv[2].p, c->argv[2].len);
    if (!e) {
        rep_null(c);
        return;
    }
    if (c->pv.active && c->pv.schema && (!c->pv.flt.all || c->pv.deid)) {
        mem_view m = {c, 0, 0};
        if (db_entry_type(e) == DB_HASH) db_hash_foreach(c->s->db, e, mem_view_field, &m);
        if (m.n == 0)
            rep_null(c);
        else
            rep_int(c, (long long)(MEM_VIEW_KEY + m.bytes));
        return;
    }
    rep_int(c, (long long)db_key_memory(c->s->db, e, (size_t)samples));
}

void memory_help_cmd(client *c)
{
    static const char *const lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}

/* ---- OBJECT ---- */

/* The key argv[2] of an OBJECT subcommand, or NULL after a nil reply (Redis looks the key up
 * before anything else). */
static db_entry *object_lookup(client *c)
{
    db_entry *e = db_lookup(c->s->db, c->argv[2].p, c->argv[2].len);
    if (e)
        c->s->st.hits++;
    else
        c->s->st.misses++;
    if (!e) rep_null(c);
    return e;
}

/* Whether Redis would keep a string as an integer ("int" encoding), and which one. The value
 * is opened into a wiped buffer: only its shape leaves this function. */
static int string_is_int(client *c, db_entry *e, long long *v)
{
    db_ref r = db_str_ref(c->s->db, e);
    size_t n = db_ref_len(&r);
    uint8_t tmp[32];
    if (n == 0 || n > 20 || db_ref_open(c->s->db, &r, tmp) != 0) return 0;
    int ok = str_to_ll(tmp, n, v) == 0;
    OPENSSL_cleanse(tmp, sizeof tmp);
    return ok;
}

/* OBJECT ENCODING: what Redis 7.0 would use for the value. A hash is "listpack" while it is
 * in phidb's compact form (128 fields, where Redis's listpack holds 512; names and values up
 * to 64 bytes, as Redis), "hashtable" after; a string is "int", "embstr" (up to 44 bytes) or
 * "raw" by its value (Redis also says "raw" after APPEND or SETRANGE; phidb does not keep
 * that history). Under a schema only a role that reads the whole record as stored may ask:
 * the form follows the hidden fields too (cmd_policy). */
void object_encoding_cmd(client *c)
{
    db_entry *e = object_lookup(c);
    if (!e) return;
    if (db_entry_type(e) == DB_HASH) {
        rep_bulk(c, db_hash_packed(e) ? "listpack" : "hashtable", db_hash_packed(e) ? 8 : 9);
        return;
    }
    long long v;
    db_ref r = db_str_ref(c->s->db, e);
    /* A string under a schema (left from before the policy) is never read by anyone (string
     * commands are refused on records): its value is not opened, its length decides. */
    int under_schema = c->pv.schema != NULL;
    const char *enc = !under_schema && string_is_int(c, e, &v) ? "int"
                      : db_ref_len(&r) <= 44                   ? "embstr"
                                                               : "raw";
    rep_bulk(c, enc, strlen(enc));
}

/* OBJECT REFCOUNT: phidb shares no values, so 1; but Redis shares the integers 0 to 9999
 * and answers INT_MAX for them, which clients may compare with. */
void object_refcount_cmd(client *c)
{
    db_entry *e = object_lookup(c);
    if (!e) return;
    long long v;
    int shared = db_entry_type(e) == DB_STRING && !c->pv.schema && string_is_int(c, e, &v) &&
                 v >= 0 && v < 10000; /* under a schema: not opened (see ENCODING) */
    rep_int(c, shared ? INT_MAX : 1);
}

void object_idletime_cmd(client *c)
{
    if (!object_lookup(c)) return;
    rep_err(c, "ERR phidb does not track when keys were last accessed, so it has no idle time "
               "to report");
}

void object_freq_cmd(client *c)
{
    if (!object_lookup(c)) return;
    rep_err(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
               "Please note that when switching between policies at runtime LRU and LFU data "
               "will take some time to adjust.");
}

void object_help_cmd(client *c)
{
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "    (phidb keeps no access times: an error)",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
