/*
 * cmd_string: string commands with Redis 7.0 semantics (option parsing order,
 * error texts, TTL handling: SET/GETSET/MSET clear a TTL, INCR/APPEND/SETRANGE
 * keep it). Values are read by opening them into wiped temporary buffers.
 */
#include "cmd.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/mem.h"
#include "util/strutil.h"

#define OPT_NX      (1 << 0)
#define OPT_XX      (1 << 1)
#define OPT_GET     (1 << 2)
#define OPT_KEEPTTL (1 << 3)
#define OPT_EX      (1 << 4)
#define OPT_PX      (1 << 5)
#define OPT_EXAT    (1 << 6)
#define OPT_PXAT    (1 << 7)
#define OPT_PERSIST (1 << 8)
#define OPT_ANY_EXP (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

static db_entry *lookup_read(client *c, int i)
{
    db_entry *e = db_lookup(c->s->db, c->argv[i].p, c->argv[i].len);
    if (e)
        c->s->st.hits++;
    else
        c->s->st.misses++;
    return e;
}

/* Open a string entry's value into a new buffer (caller wipes with mem_free_wipe); NULL after
 * replying with an error when it does not open. */
static uint8_t *open_str(client *c, db_entry *e, size_t *len)
{
    db_ref r = db_str_ref(c->s->db, e);
    *len = db_ref_len(&r);
    uint8_t *p = mem_alloc(*len + 1);
    if (db_ref_open(c->s->db, &r, p) != 0) {
        mem_free_wipe(p);
        rep_unopenable(c);
        return NULL;
    }
    p[*len] = '\0';
    return p;
}

/* Expire argument to an absolute ms time, as Redis 7.0's getExpireMillisecondsOrReply. */
static int expire_ms(client *c, const arg *a, int flags, long long *out)
{
    long long v;
    if (str_to_ll(a->p, a->len, &v) != 0) {
        rep_not_int(c);
        return -1;
    }
    const cmd_def *d = c->cmd;
    if (v <= 0 || ((flags & (OPT_EX | OPT_EXAT)) && (v > LLONG_MAX / 1000))) goto invalid;
    if (flags & (OPT_EX | OPT_EXAT)) v *= 1000;
    if (flags & (OPT_EX | OPT_PX)) {
        long long now = db_now(c->s->db);
        if (v > LLONG_MAX - now) goto invalid;
        v += now;
    }
    *out = v;
    return 0;
invalid:
    rep_errf(c, "ERR invalid expire time in '%s' command", d ? d->name : "set");
    return -1;
}

static int is_opt(const arg *a, const char *s)
{
    return str_eq_nocase(a->p, a->len, s);
}

/* SET's options (argv[3..]); on success *flags and *exp_arg describe them. */
static int parse_set_opts(client *c, int first, int *flags, const arg **exp_arg, int for_getex)
{
    *flags = 0;
    *exp_arg = NULL;
    for (int j = first; j < c->argc; j++) {
        const arg *a = &c->argv[j];
        const arg *next = j + 1 < c->argc ? &c->argv[j + 1] : NULL;
        int f = *flags;
        if (!for_getex && is_opt(a, "nx") && !(f & OPT_XX)) {
            *flags |= OPT_NX;
        } else if (!for_getex && is_opt(a, "xx") && !(f & OPT_NX)) {
            *flags |= OPT_XX;
        } else if (!for_getex && is_opt(a, "get")) {
            *flags |= OPT_GET;
        } else if (!for_getex && is_opt(a, "keepttl") && !(f & OPT_PERSIST) && !(f & OPT_ANY_EXP)) {
            *flags |= OPT_KEEPTTL;
        } else if (for_getex && is_opt(a, "persist") && !(f & OPT_ANY_EXP) && !(f & OPT_KEEPTTL)) {
            *flags |= OPT_PERSIST;
        } else if (is_opt(a, "ex") &&
                   !(f & (OPT_KEEPTTL | OPT_PERSIST | OPT_EXAT | OPT_PX | OPT_PXAT)) && next) {
            *flags |= OPT_EX;
            *exp_arg = next;
            j++;
        } else if (is_opt(a, "px") &&
                   !(f & (OPT_KEEPTTL | OPT_PERSIST | OPT_EX | OPT_EXAT | OPT_PXAT)) && next) {
            *flags |= OPT_PX;
            *exp_arg = next;
            j++;
        } else if (is_opt(a, "exat") &&
                   !(f & (OPT_KEEPTTL | OPT_PERSIST | OPT_EX | OPT_PX | OPT_PXAT)) && next) {
            *flags |= OPT_EXAT;
            *exp_arg = next;
            j++;
        } else if (is_opt(a, "pxat") &&
                   !(f & (OPT_KEEPTTL | OPT_PERSIST | OPT_EX | OPT_EXAT | OPT_PX)) && next) {
            *flags |= OPT_PXAT;
            *exp_arg = next;
            j++;
        } else {
            rep_syntax(c);
            return -1;
        }
    }
    return 0;
}

/* The string at argv[1] (GET, GETDEL, GETEX), or NULL once a missing key (nil) or another
 * type (WRONGTYPE) has been answered. */
static db_entry *string_or_reply(client *c)
{
    db_entry *e = lookup_read(c, 1);
    if (!e) {
        rep_null(c);
        return NULL;
    }
    if (db_entry_type(e) != DB_STRING) {
        rep_wrongtype(c);
        return NULL;
    }
    return e;
}

void get_cmd(client *c)
{
    db_entry *e = string_or_reply(c);
    if (!e) return;
    db_ref r = db_str_ref(c->s->db, e);
    rep_value(c, &r);
}

/* Reply with the current value for SET ... GET / GETSET; returns -1 on WRONGTYPE. */
static int reply_old(client *c)
{
    db_entry *e = lookup_read(c, 1);
    if (!e) {
        rep_null(c);
        return 0;
    }
    if (db_entry_type(e) != DB_STRING) {
        rep_wrongtype(c);
        return -1;
    }
    db_ref r = db_str_ref(c->s->db, e);
    rep_value(c, &r);
    return 0;
}

void set_cmd(client *c)
{
    int flags = 0;
    const arg *exp_arg = NULL;
    long long when = DB_NO_EXPIRE;
    if (c->argc > 3) {
        if (parse_set_opts(c, 3, &flags, &exp_arg, 0) != 0) return;
        if (exp_arg && expire_ms(c, exp_arg, flags, &when) != 0) return;
    }
    db *d = c->s->db;
    const arg *k = &c->argv[1], *v = &c->argv[2];
    size_t mark = c->out.len;
    if (flags & OPT_GET) {
        if (reply_old(c) != 0) return;
    }
    if (flags & (OPT_NX | OPT_XX)) {
        int found = db_lookup(d, k->p, k->len) != NULL;
        if (((flags & OPT_NX) && found) || ((flags & OPT_XX) && !found)) {
            if (!(flags & OPT_GET)) rep_null(c);
            return;
        }
    }
    if (!db_str_set(d, k->p, k->len, v->p, v->len, when, (flags & OPT_KEEPTTL) != 0)) {
        rep_not_stored(c, mark);
        return;
    }
    if (!(flags & OPT_GET)) rep_ok(c);
}

void setnx_cmd(client *c)
{
    db *d = c->s->db;
    if (db_lookup(d, c->argv[1].p, c->argv[1].len)) {
        rep_int(c, 0);
        return;
    }
    if (!db_str_set(d, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len, DB_NO_EXPIRE,
                    0)) {
        rep_not_stored(c, c->out.len);
        return;
    }
    rep_int(c, 1);
}

static void setex_generic(client *c, int unit_flag)
{
    long long when;
    if (expire_ms(c, &c->argv[2], unit_flag, &when) != 0) return;
    if (!db_str_set(c->s->db, c->argv[1].p, c->argv[1].len, c->argv[3].p, c->argv[3].len, when,
                    0)) {
        rep_not_stored(c, c->out.len);
        return;
    }
    rep_ok(c);
}

void setex_cmd(client *c)
{
    setex_generic(c, OPT_EX);
}

void psetex_cmd(client *c)
{
    setex_generic(c, OPT_PX);
}

void getset_cmd(client *c)
{
    size_t mark = c->out.len;
    if (reply_old(c) != 0) return;
    if (!db_str_set(c->s->db, c->argv[1].p, c->argv[1].len, c->argv[2].p, c->argv[2].len,
                    DB_NO_EXPIRE, 0))
        rep_not_stored(c, mark);
}

/* Prefetch the keys argv[from], argv[from + step] ... (at most DB_PREFETCH_MAX of them) that a
 * multi-key command is about to look up, so their cache misses overlap. */
void cmd_prefetch_keys(client *c, int from, int step)
{
    const uint8_t *k[DB_PREFETCH_MAX];
    size_t l[DB_PREFETCH_MAX], n = 0;
    for (int i = from; i < c->argc && n < DB_PREFETCH_MAX; i += step) {
        k[n] = c->argv[i].p;
        l[n++] = c->argv[i].len;
    }
    if (n > 1) db_prefetch(c->s->db, k, l, NULL, NULL, n);
}

void mget_cmd(client *c)
{
    rep_array(c, (size_t)(c->argc - 1));
    for (int i = 1; i < c->argc; i++) {
        if ((i - 1) % DB_PREFETCH_MAX == 0) cmd_prefetch_keys(c, i, 1);
        if (rep_too_big(c)) return;
        db_entry *e = lookup_read(c, i);
        if (!e || db_entry_type(e) != DB_STRING) {
            rep_null(c);
            continue;
        }
        db_ref r = db_str_ref(c->s->db, e);
        rep_value(c, &r);
    }
}

void mset_cmd(client *c)
{
    if (c->argc % 2 == 0) {
        rep_arity(c);
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        if ((i - 1) / 2 % DB_PREFETCH_MAX == 0) cmd_prefetch_keys(c, i, 2);
        if (!db_str_set(c->s->db, c->argv[i].p, c->argv[i].len, c->argv[i + 1].p,
                        c->argv[i + 1].len, DB_NO_EXPIRE, 0)) {
            rep_not_stored(c, c->out.len); /* the keys before it stay set */
            return;
        }
    }
    rep_ok(c);
}

void msetnx_cmd(client *c)
{
    if (c->argc % 2 == 0) {
        rep_arity(c);
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        if ((i - 1) / 2 % DB_PREFETCH_MAX == 0) cmd_prefetch_keys(c, i, 2);
        if (db_lookup(c->s->db, c->argv[i].p, c->argv[i].len)) {
            rep_int(c, 0);
            return;
        }
    }
    for (int i = 1; i < c->argc; i += 2) {
        if (!db_str_set(c->s->db, c->argv[i].p, c->argv[i].len, c->argv[i + 1].p,
                        c->argv[i + 1].len, DB_NO_EXPIRE, 0)) {
            rep_not_stored(c, c->out.len); /* the keys before it stay set */
            return;
        }
    }
    rep_int(c, 1);
}

void getdel_cmd(client *c)
{
    db_entry *e = string_or_reply(c);
    if (!e) return;
    db_ref r = db_str_ref(c->s->db, e);
    rep_value(c, &r);
    db_delete(c->s->db, c->argv[1].p, c->argv[1].len);
}

void getex_cmd(client *c)
{
    int flags;
    const arg *exp_arg;
    if (parse_set_opts(c, 2, &flags, &exp_arg, 1) != 0) return;
    db_entry *e = string_or_reply(c);
    if (!e) return;
    long long when = 0;
    if (exp_arg && expire_ms(c, exp_arg, flags, &when) != 0) return;
    db_ref r = db_str_ref(c->s->db, e);
    rep_value(c, &r);
    db *d = c->s->db;
    if ((flags & (OPT_EXAT | OPT_PXAT)) && when <= db_now(d)) {
        db_delete(d, c->argv[1].p, c->argv[1].len);
    } else if (exp_arg) {
        db_set_expire(d, e, when);
    } else if ((flags & OPT_PERSIST) && db_get_expire(e) != DB_NO_EXPIRE) {
        db_set_expire(d, e, DB_NO_EXPIRE);
    }
}

/* A string of size + append bytes may be made (size >= 0), as Redis's checkStringLength:
 * the sum is unsigned so that SETRANGE at an offset near LLONG_MAX does not wrap. */
static int check_len(client *c, long long size, size_t append)
{
    unsigned long long total = (unsigned long long)size + append;
    if (total > (unsigned long long)c->s->cfg->proto_max_bulk_len) {
        rep_err(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

void append_cmd(client *c)
{
    db *d = c->s->db;
    const arg *k = &c->argv[1], *v = &c->argv[2];
    db_entry *e = db_lookup(d, k->p, k->len);
    if (!e) {
        if (!db_str_set(d, k->p, k->len, v->p, v->len, DB_NO_EXPIRE, 0))
            rep_not_stored(c, c->out.len);
        else
            rep_int(c, (long long)v->len);
        return;
    }
    if (db_entry_type(e) != DB_STRING) {
        rep_wrongtype(c);
        return;
    }
    db_ref r = db_str_ref(c->s->db, e);
    size_t old = db_ref_len(&r);
    if (check_len(c, (long long)old, v->len) != 0) return;
    uint8_t *nv = mem_alloc(old + v->len + 1);
    if (db_ref_open(d, &r, nv) != 0) {
        mem_free_wipe(nv);
        rep_unopenable(c);
        return;
    }
    memcpy(nv + old, v->p, v->len);
    int ok = db_str_set(d, k->p, k->len, nv, old + v->len, DB_NO_EXPIRE, 1) != NULL;
    mem_free_wipe(nv);
    if (!ok)
        rep_not_stored(c, c->out.len);
    else
        rep_int(c, (long long)(old + v->len));
}

void setrange_cmd(client *c)
{
    db *d = c->s->db;
    long long off;
    if (str_to_ll(c->argv[2].p, c->argv[2].len, &off) != 0) {
        rep_not_int(c);
        return;
    }
    if (off < 0) {
        rep_err(c, "ERR offset is out of range");
        return;
    }
    const arg *k = &c->argv[1], *v = &c->argv[3];
    db_entry *e = db_lookup(d, k->p, k->len);
    size_t old = 0;
    uint8_t *cur = NULL;
    if (e) {
        if (db_entry_type(e) != DB_STRING) {
            rep_wrongtype(c);
            return;
        }
        cur = open_str(c, e, &old);
        if (!cur) return;
        if (v->len == 0) {
            rep_int(c, (long long)old);
            mem_free_wipe(cur);
            return;
        }
    } else if (v->len == 0) {
        rep_int(c, 0);
        return;
    }
    if (check_len(c, off, v->len) != 0) {
        mem_free_wipe(cur);
        return;
    }
    size_t nlen = (size_t)off + v->len > old ? (size_t)off + v->len : old;
    uint8_t *nv = mem_calloc(nlen + 1);
    if (cur) memcpy(nv, cur, old);
    memcpy(nv + off, v->p, v->len);
    int ok = db_str_set(d, k->p, k->len, nv, nlen, DB_NO_EXPIRE, 1) != NULL;
    mem_free_wipe(nv);
    mem_free_wipe(cur);
    if (!ok)
        rep_not_stored(c, c->out.len);
    else
        rep_int(c, (long long)nlen);
}

void strlen_cmd(client *c)
{
    db_entry *e = lookup_read(c, 1);
    if (!e) {
        rep_int(c, 0);
        return;
    }
    if (db_entry_type(e) != DB_STRING) {
        rep_wrongtype(c);
        return;
    }
    db_ref r = db_str_ref(c->s->db, e);
    rep_int(c, (long long)db_ref_len(&r));
}

void getrange_cmd(client *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) != 0 || arg_ll(c, 3, &end) != 0) return;
    db_entry *e = lookup_read(c, 1);
    if (!e) {
        rep_bulk(c, "", 0);
        return;
    }
    if (db_entry_type(e) != DB_STRING) {
        rep_wrongtype(c);
        return;
    }
    size_t len;
    uint8_t *s = open_str(c, e, &len);
    if (!s) return;
    long long n = (long long)len;
    if (start < 0 && end < 0 && start > end) {
        rep_bulk(c, "", 0);
    } else {
        if (start < 0) start = n + start;
        if (end < 0) end = n + end;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= n) end = n - 1;
        if (start > end || n == 0)
            rep_bulk(c, "", 0);
        else
            rep_bulk(c, s + start, (size_t)(end - start + 1));
    }
    mem_free_wipe(s);
}

static void incr_generic(client *c, long long by)
{
    db *d = c->s->db;
    const arg *k = &c->argv[1];
    db_entry *e = db_lookup(d, k->p, k->len);
    long long v = 0;
    if (e) {
        if (db_entry_type(e) != DB_STRING) {
            rep_wrongtype(c);
            return;
        }
        db_ref r = db_str_ref(c->s->db, e);
        size_t len = db_ref_len(&r);
        uint8_t tmp[32];
        if (len > 20) {
            rep_not_int(c);
            return;
        }
        if (db_ref_open(d, &r, tmp) != 0) {
            rep_unopenable(c);
            return;
        }
        int bad = str_to_ll(tmp, len, &v) != 0;
        OPENSSL_cleanse(tmp, sizeof tmp);
        if (bad) {
            rep_not_int(c);
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
    if (!db_str_set(d, k->p, k->len, (const uint8_t *)out, n, DB_NO_EXPIRE, 1))
        rep_not_stored(c, c->out.len);
    else
        rep_int(c, v);
}

void incr_cmd(client *c)
{
    incr_generic(c, 1);
}

void decr_cmd(client *c)
{
    incr_generic(c, -1);
}

void incrby_cmd(client *c)
{
    long long by;
    if (arg_ll(c, 2, &by) != 0) return;
    incr_generic(c, by);
}

void decrby_cmd(client *c)
{
    long long by;
    if (arg_ll(c, 2, &by) != 0) return;
    if (by == LLONG_MIN) {
        rep_err(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -by);
}

void incrbyfloat_cmd(client *c)
{
    db *d = c->s->db;
    const arg *k = &c->argv[1];
    db_entry *e = db_lookup(d, k->p, k->len);
    long double v = 0, by;
    if (e) {
        if (db_entry_type(e) != DB_STRING) {
            rep_wrongtype(c);
            return;
        }
        size_t len;
        uint8_t *s = open_str(c, e, &len);
        if (!s) return;
        int bad = str_to_ld(s, len, &v) != 0;
        mem_free_wipe(s);
        if (bad) {
            rep_err(c, "ERR value is not a valid float");
            return;
        }
    }
    if (str_to_ld(c->argv[2].p, c->argv[2].len, &by) != 0) {
        rep_err(c, "ERR value is not a valid float");
        return;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        rep_err(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[STRUTIL_MAX_LD_CHARS];
    size_t n = str_from_ld(out, sizeof out, v);
    if (!db_str_set(d, k->p, k->len, (const uint8_t *)out, n, DB_NO_EXPIRE, 1))
        rep_not_stored(c, c->out.len);
    else
        rep_bulk(c, out, n);
}
