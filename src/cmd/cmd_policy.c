/*
 * cmd_policy: the access policy applied to commands (see cmd_policy.h and
 * docs/policy.md, section 2, which this follows rule by rule).
 */
#include "cmd_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "access/policy_totp.h"
#include "phi/phi.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

/* Command classes (docs/policy.md 2.3). */
enum pclass {
    PC_NONE = 0,  /* no record keys */
    PC_FREAD,     /* explicit field reads */
    PC_ENUM,      /* enumerations of a record's fields */
    PC_FWRITE,    /* explicit field writes */
    PC_RMW,       /* read-modify-write of a field */
    PC_DELETE,    /* whole-record delete / expire */
    PC_RENAME,    /* RENAME, RENAMENX */
    PC_META,      /* existence and TTL, WATCH */
    PC_STRING,    /* string commands: refused on records */
    PC_KEYENUM,   /* SCAN, KEYS, RANDOMKEY */
    PC_FLUSH,     /* FLUSHDB, FLUSHALL */
    PC_COUNT,     /* DBSIZE */
    PC_UNCOVERED, /* any other command on keys: refused on records (deny by default) */
};

static enum pclass class_of(const cmd_def *d)
{
    cmd_proc *p = d->proc;
    if (p == hget_cmd || p == hmget_cmd || p == hstrlen_cmd || p == hexists_cmd) return PC_FREAD;
    if (p == hgetall_cmd || p == hkeys_cmd || p == hvals_cmd || p == hscan_cmd || p == hlen_cmd ||
        p == hrandfield_cmd || p == memory_usage_cmd)
        return PC_ENUM;
    if (p == hset_cmd || p == hmset_cmd || p == hsetnx_cmd || p == hdel_cmd) return PC_FWRITE;
    if (p == hincrby_cmd || p == hincrbyfloat_cmd) return PC_RMW;
    if (p == del_cmd || p == unlink_cmd || p == expire_cmd || p == pexpire_cmd ||
        p == expireat_cmd || p == pexpireat_cmd || p == persist_cmd)
        return PC_DELETE;
    if (p == rename_cmd || p == renamenx_cmd) return PC_RENAME;
    if (p == exists_cmd || p == type_cmd || p == ttl_cmd || p == pttl_cmd || p == expiretime_cmd ||
        p == pexpiretime_cmd || p == watch_cmd || p == object_encoding_cmd ||
        p == object_refcount_cmd || p == object_idletime_cmd || p == object_freq_cmd)
        return PC_META;
    if (p == scan_cmd || p == keys_cmd || p == randomkey_cmd) return PC_KEYENUM;
    if (p == flushdb_cmd || p == flushall_cmd) return PC_FLUSH;
    if (p == dbsize_cmd) return PC_COUNT;
    if (d->first_key > 0 && (d->categories & ACL_CAT(STRING))) return PC_STRING;
    /* Deny by default: a command on keys that is none of the above (one added later without
     * a class here) is refused on records rather than let through. */
    if (d->first_key > 0) return PC_UNCOVERED;
    return PC_NONE;
}

static void named_fields(const cmd_def *d, int argc, int *first, int *step, int *last);

int cmd_policy_named_fields(const cmd_def *d, int argc, int *first, int *step, int *last)
{
    cmd_proc *p = d->proc;
    if (p != hget_cmd && p != hmget_cmd && p != hstrlen_cmd && p != hexists_cmd && p != hset_cmd &&
        p != hmset_cmd && p != hsetnx_cmd && p != hdel_cmd && p != hincrby_cmd &&
        p != hincrbyfloat_cmd)
        return 0;
    named_fields(d, argc, first, step, last);
    return 1;
}

/* Fields named by a field command: first index and step (HSET pairs: 2, step 2). */
static void named_fields(const cmd_def *d, int argc, int *first, int *step, int *last)
{
    *first = 2;
    *step = 1;
    *last = argc - 1;
    if (d->proc == hset_cmd || d->proc == hmset_cmd) *step = 2;
    if (d->proc == hsetnx_cmd || d->proc == hget_cmd || d->proc == hstrlen_cmd ||
        d->proc == hexists_cmd || d->proc == hincrby_cmd || d->proc == hincrbyfloat_cmd)
        *last = 2;
}

/* ---- pseudonyms ---- */

typedef struct {
    dict_node node; /* link in srv.pseudo */
    uint32_t plen;  /* pseudonym length */
    uint32_t klen;  /* key length */
    uint8_t data[]; /* pseudonym, then key */
} pseudo_ent;

static void pseudo_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const pseudo_ent *p = (const pseudo_ent *)n;
    *k = p->data;
    *len = p->plen;
}

static const dict_type pseudo_type = {.keyof = pseudo_keyof};

static void pseudo_free_cb(dict_node *n, void *ud)
{
    (void)ud;
    mem_free_wipe(n);
}

static int make_pseudonym(srv *s, const policy_schema *sch, const uint8_t *key, size_t klen,
                          char *out, size_t cap)
{
    return policy_pseudonym(policy_schema_type(sch), key, klen, s->pkey, out, cap);
}

static void pseudo_add(srv *s, const policy_schema *sch, const uint8_t *key, size_t klen)
{
    char name[192];
    int n = make_pseudonym(s, sch, key, klen, name, sizeof name);
    if (n <= 0) return;
    uint64_t h = dict_hash((const uint8_t *)name, (size_t)n);
    if (dict_find(&s->pseudo, (const uint8_t *)name, (size_t)n, h)) return;
    pseudo_ent *p = mem_alloc(sizeof *p + (size_t)n + klen);
    p->plen = (uint32_t)n;
    p->klen = (uint32_t)klen;
    memcpy(p->data, name, (size_t)n);
    memcpy(p->data + n, key, klen);
    dict_insert(&s->pseudo, &p->node, h);
}

static void pseudo_remove(srv *s, const policy_schema *sch, const uint8_t *key, size_t klen)
{
    char name[192];
    int n = make_pseudonym(s, sch, key, klen, name, sizeof name);
    if (n <= 0) return;
    dict_node *x = dict_unlink(&s->pseudo, (const uint8_t *)name, (size_t)n,
                               dict_hash((const uint8_t *)name, (size_t)n));
    if (x) mem_free_wipe(x);
}

static const pseudo_ent *pseudo_lookup(srv *s, const uint8_t *name, size_t n)
{
    return (const pseudo_ent *)dict_find(&s->pseudo, name, n, dict_hash(name, n));
}

/* ---- blind index ---- */

typedef struct {
    srv *s;
    const policy_schema *sch;
    db_entry *e;
    int failed;
} reindex_ctx;

static void reindex_field(void *ud, const uint8_t *f, size_t flen, const db_ref *v)
{
    reindex_ctx *x = ud;
    const policy_field *pf = policy_field_find(x->sch, f, flen);
    if (!pf || !policy_field_indexed(pf)) return;
    size_t n = db_ref_len(v);
    uint8_t *plain = mem_alloc(n ? n : 1);
    if (db_ref_open(x->s->db, v, plain) == 0) {
        uint8_t hmac[32];
        size_t klen;
        const uint8_t *key = db_entry_key(x->e, &klen);
        if (policy_blind_value(x->s->keys, keyring_current(x->s->keys, KR_INDEX), pf, plain, n,
                               hmac) == 0)
            policy_index_set(x->s->pix, pf, key, klen, hmac);
    } else {
        x->failed = 1;
    }
    mem_free_wipe(plain);
}

/* Re-index key from its current fields (forget first: HDEL and overwrites are covered). */
static void reindex_key(srv *s, const policy_schema *sch, const uint8_t *key, size_t klen)
{
    if (!s->pix) return;
    policy_index_forget(s->pix, key, klen);
    db_entry *e = db_lookup(s->db, key, klen);
    if (!e || db_entry_type(e) != DB_HASH) return;
    reindex_ctx x = {s, sch, e, 0};
    db_hash_foreach(s->db, e, reindex_field, &x);
}

typedef struct {
    srv *s;
} rebuild_ctx;

static void rebuild_key(void *ud, db_entry *e)
{
    rebuild_ctx *x = ud;
    size_t klen;
    const uint8_t *key = db_entry_key(e, &klen);
    const policy_schema *sch = policy_schema_for(x->s->pol, key, klen);
    if (!sch) return;
    if (x->s->pseudo_on) pseudo_add(x->s, sch, key, klen);
    if (db_entry_type(e) != DB_HASH || !x->s->pix) return;
    reindex_ctx r = {x->s, sch, e, 0};
    db_hash_foreach(x->s->db, e, reindex_field, &r);
}

/* Build the blind index and the pseudonym map from the keyspace. */
static void rebuild(srv *s)
{
    if (s->pix) policy_index_clear(s->pix);
    dict_clear(&s->pseudo, pseudo_free_cb, NULL);
    if (!s->pol) return;
    rebuild_ctx x = {s};
    uint64_t cur = 0;
    do {
        cur = db_scan(s->db, cur, rebuild_key, &x);
    } while (cur);
}

/* Does the policy have a de-identified role (so pseudonyms are needed)? */
static int has_deid_role(srv *s)
{
    buf b = {0};
    policy_show(s->pol, &b);
    int yes = strstr(buf_cstr(&b), "view=deidentified") != NULL;
    buf_free(&b);
    return yes;
}

/* ---- lifetime ---- */

int cmd_policy_open(srv *s, char *err, size_t errlen)
{
    dict_init(&s->pseudo, &pseudo_type);
    char path[4200];
    snprintf(path, sizeof path, "%s/breakglass.sealed", s->cfg->dir);
    s->grant_path = mem_strdup(path);
    s->grants = policy_grants_new(s->grant_path, s->values);
    if (policy_grants_load(s->grants, clock_ms(), err, errlen) != 0) return -1;
    cmd_values_nonces_commit(s, "the break-glass grants file");
    snprintf(path, sizeof path, "%s/totp.floor", s->cfg->dir);
    s->totp_floor_path = mem_strdup(path);
    if (policy_totp_floor_load(path, clock_ms() / 1000, &s->totp_floor) != 0)
        log_warning("%s cannot be read: TOTP codes are accepted again from the next time step "
                    "but one",
                    path);
    s->totp_floor_saved = s->totp_floor;
    acl_set_totp_floor(s->acl, s->totp_floor);
    if (!s->cfg->policy_file || !*s->cfg->policy_file) return 0;
    if (policy_load_owned_file(s->cfg->policy_file, &s->pol, err, errlen) != 0) return -1;
    s->pkey = keyring_secure_alloc(32);
    if (!s->pkey || policy_pseudonym_key(s->keys, s->pkey) != 0) {
        snprintf(err, errlen, "cannot derive the pseudonym key");
        return -1;
    }
    s->pix = policy_index_new(s->pol);
    s->pseudo_on = has_deid_role(s);
    rebuild(s);
    log_notice("policy %s loaded: %zu blind-index entries", s->cfg->policy_file,
               policy_index_entries(s->pix));
    return 0;
}

void cmd_policy_close(srv *s)
{
    dict_clear(&s->pseudo, pseudo_free_cb, NULL);
    policy_index_free(s->pix);
    s->pix = NULL;
    policy_grants_free(s->grants);
    s->grants = NULL;
    policy_unref(s->pol);
    s->pol = NULL;
    keyring_secure_free(s->pkey, 32);
    s->pkey = NULL;
    mem_free(s->grant_path);
    s->grant_path = NULL;
    mem_free(s->totp_floor_path);
    s->totp_floor_path = NULL;
}

int cmd_policy_reload(srv *s, char *err, size_t errlen)
{
    if (!s->cfg->policy_file || !*s->cfg->policy_file) {
        snprintf(err, errlen, "no policy-file is configured");
        return -1;
    }
    policy *np;
    char why[1024];
    if (policy_load_owned_file(s->cfg->policy_file, &np, why, sizeof why) != 0) {
        snprintf(err, errlen, "policy not reloaded: %s", why);
        return -1;
    }
    policy *old = s->pol;
    s->pol = np;
    if (!s->pkey) {
        s->pkey = keyring_secure_alloc(32);
        policy_pseudonym_key(s->keys, s->pkey);
    }
    if (s->pix && policy_index_compatible(s->pix, np)) {
        policy_index_rebind(s->pix, np);
        s->pseudo_on = has_deid_role(s);
        dict_clear(&s->pseudo, pseudo_free_cb, NULL);
        if (s->pseudo_on) rebuild(s);
    } else {
        policy_index_free(s->pix);
        s->pix = policy_index_new(np);
        s->pseudo_on = has_deid_role(s);
        rebuild(s);
    }
    log_notice("policy reloaded from %s (generation %llu, was %llu)", s->cfg->policy_file,
               (unsigned long long)policy_generation(np),
               (unsigned long long)(old ? policy_generation(old) : 0));
    policy_unref(old);
    return 0;
}

void cmd_policy_rekey(srv *s)
{
    if (s->pkey && policy_pseudonym_key(s->keys, s->pkey) != 0)
        log_warning("cannot derive the pseudonym key from the new index key: pseudonyms keep "
                    "the old key until a restart");
    if (!s->pol) return;
    rebuild(s);
    log_notice("blind index and pseudonyms rebuilt under the new index key: %zu entries",
               s->pix ? policy_index_entries(s->pix) : (size_t)0);
}

void cmd_policy_cron(srv *s)
{
    if (!s->grants) return;
    char err[256];
    if (policy_grants_expire(s->grants, clock_ms(), err, sizeof err) < 0)
        log_warning("break-glass grants: %s", err);
}

static const policy_role *session_role(client *c)
{
    srv *s = c->s;
    if (!s->pol || !c->user) return NULL;
    const char *name = acl_user_role(c->user);
    if (!name) return NULL;
    return policy_role_find(s->pol, (const uint8_t *)name, strlen(name));
}

int cmd_policy_may_count(client *c)
{
    srv *s = c->s;
    if (!s->pol) return 1;
    const policy_role *r = session_role(c);
    return r && policy_role_reads_all(r) && !policy_role_self(r) &&
           policy_role_view(r) != POLICY_VIEW_DEIDENTIFIED;
}

void cmd_policy_login(client *c)
{
    const policy_role *r = session_role(c);
    c->purpose = r ? (int)policy_role_default_purpose(r) : POLICY_PURPOSE_TREATMENT;
}

void cmd_policy_key_changed(srv *s, const uint8_t *key, size_t klen)
{
    if (!s->pol) return;
    if (!key) { /* flush */
        if (s->pix) policy_index_clear(s->pix);
        dict_clear(&s->pseudo, pseudo_free_cb, NULL);
        return;
    }
    const policy_schema *sch = policy_schema_for(s->pol, key, klen);
    if (!sch) return;
    int exists = db_find_raw(s->db, key, klen) != NULL;
    if (!exists && s->pix) policy_index_forget(s->pix, key, klen);
    if (s->pseudo_on) {
        if (exists)
            pseudo_add(s, sch, key, klen);
        else
            pseudo_remove(s, sch, key, klen);
    }
}

/* ---- decisions ---- */

static int deny(client *c, int result, const policy_schema *sch, const uint8_t *field, size_t flen,
                const char *group, enum policy_op op)
{
    buf b = {0};
    policy_deny_message(&b, result, c->pv.role, sch, field, flen, group, op, c->purpose);
    rep_err(c, buf_cstr(&b));
    buf_free(&b);
    char info[256];
    snprintf(info, sizeof info, "id=%llu addr=%s", (unsigned long long)c->id, c->addr);
    const char *what = field ? "field" : "key";
    acl_log_add(c->s->acl, what, (c->flags & CL_MULTI) ? "multi" : "toplevel",
                field ? field : (const uint8_t *)policy_strerror(result),
                field ? flen : strlen(policy_strerror(result)), c->username ? c->username : "",
                info);
    c->pv.denied = result;
    /* The audit record names the group (or the purpose) too, as the reply does. */
    if (result == POLICY_DENY_GROUP && group)
        snprintf(c->pv.denied_why, sizeof c->pv.denied_why, "group \"%.64s\"", group);
    else if (result == POLICY_DENY_PURPOSE)
        snprintf(c->pv.denied_why, sizeof c->pv.denied_why, "purpose \"%s\"",
                 policy_purpose_name(c->purpose));
    return -1;
}

int cmd_policy_refuse_read(client *c, int result, const uint8_t *field, size_t flen,
                           const char *group)
{
    return deny(c, result, NULL, field, flen, group, POLICY_READ);
}

const char *cmd_policy_denied_why(const client *c)
{
    return c->pv.denied_why[0] ? c->pv.denied_why : policy_strerror(c->pv.denied);
}

void cmd_policy_memo(client *c, const uint8_t *key, size_t klen, const uint8_t *subj, size_t slen)
{
    if (c->pv.memo_have || klen + slen > sizeof c->pv.memo) return;
    memcpy(c->pv.memo, key, klen);
    memcpy(c->pv.memo + klen, subj, slen);
    c->pv.memo_klen = (uint16_t)klen;
    c->pv.memo_slen = (uint16_t)slen;
    c->pv.memo_have = 1;
}

/* The record's subject field value into out; 1 when the record exists and has one. Taken
 * from the command's memo when it already opened it. */
static int record_subject(client *c, const policy_schema *sch, const uint8_t *key, size_t klen,
                          buf *out)
{
    if (c->pv.memo_have && c->pv.memo_klen == klen && memcmp(c->pv.memo, key, klen) == 0) {
        buf_append(out, c->pv.memo + klen, c->pv.memo_slen);
        return 1;
    }
    db_entry *e = db_lookup(c->s->db, key, klen);
    if (!e || db_entry_type(e) != DB_HASH) return 0;
    const char *sf = policy_schema_subject(sch);
    db_ref v;
    if (!db_hash_get(c->s->db, e, (const uint8_t *)sf, strlen(sf), &v)) return 0;
    size_t n = db_ref_len(&v);
    buf_reserve(out, n + 1);
    if (db_ref_open(c->s->db, &v, out->p + out->len) != 0) return 0;
    cmd_policy_memo(c, key, klen, out->p + out->len, n);
    out->len += n;
    return 1;
}

int cmd_policy_subject(client *c, const policy_schema *sch, const uint8_t *key, size_t klen,
                       buf *out)
{
    return record_subject(c, sch, key, klen, out);
}

static int scope_ok(client *c, const policy_schema *sch, const uint8_t *key, size_t klen)
{
    const policy_role *r = c->pv.role;
    if (!policy_role_self(r)) return 1;
    const char *us = acl_user_subject(c->user);
    buf rs = {0};
    int have = record_subject(c, sch, key, klen, &rs);
    int ok = policy_scope_ok(r, (const uint8_t *)us, us ? strlen(us) : 0, have ? rs.p : NULL,
                             have ? rs.len : 0);
    buf_wipe_free(&rs);
    return ok;
}

/* A live break-glass grant of this user for the record's subject? Marks the command as an
 * emergency access when so. */
static int breakglass(client *c, const policy_schema *sch, const uint8_t *key, size_t klen)
{
    srv *s = c->s;
    const policy_role *r = c->pv.role;
    long long now = clock_ms();
    if (!r || !policy_role_breakglass(r) || !s->grants ||
        !policy_grants_user_has(s->grants, c->username, now))
        return 0;
    buf subj = {0};
    int ok = 0;
    if (record_subject(c, sch, key, klen, &subj)) {
        policy_grant g;
        if (policy_grant_check(s->grants, c->username, subj.p, subj.len, now, &g)) {
            ok = 1;
            c->pv.emergency = 1;
            snprintf(c->pv.grant_id, sizeof c->pv.grant_id, "%s", g.id);
        }
    }
    buf_wipe_free(&subj);
    return ok;
}

/* Writes under scope=self reach only the user's own existing records, and none may change
 * the record's subject field. Creating a record is refused, with the same error as another
 * patient's record: if a record were created where none exists and refused where another
 * patient's is, the reply would tell which records exist. */
static int self_write_ok(client *c, const cmd_def *d, const policy_schema *sch, const uint8_t *key,
                         size_t klen)
{
    const policy_role *r = c->pv.role;
    if (!policy_role_self(r)) return 1;
    const char *us = acl_user_subject(c->user);
    size_t ul = us ? strlen(us) : 0;
    const char *sf = policy_schema_subject(sch);
    size_t sfl = strlen(sf);
    if (!scope_ok(c, sch, key, klen)) return 0; /* another's, or no record */
    if (d->proc == hset_cmd || d->proc == hmset_cmd || d->proc == hsetnx_cmd) {
        for (int i = 2; i + 1 < c->argc; i += 2) {
            if (c->argv[i].len == sfl && memcmp(c->argv[i].p, sf, sfl) == 0 &&
                (!us || c->argv[i + 1].len != ul || memcmp(c->argv[i + 1].p, us, ul) != 0))
                return 0; /* someone else's subject */
            if (d->proc == hsetnx_cmd) break;
        }
    } else if (d->proc == hdel_cmd) {
        for (int i = 2; i < c->argc; i++)
            if (c->argv[i].len == sfl && memcmp(c->argv[i].p, sf, sfl) == 0) return 0;
    }
    return 1;
}

/* Replace pseudonym arguments by the keys they stand for (de-identified roles). */
static int translate(client *c, const cmd_def *d, int first, int last, int step)
{
    srv *s = c->s;
    for (int i = first; i <= last && i < c->argc; i += step) {
        const arg *a = &c->argv[i];
        const pseudo_ent *p = pseudo_lookup(s, a->p, a->len);
        if (p) {
            c->pv.saved = mem_realloc(c->pv.saved, sizeof(arg) * (size_t)(c->pv.nsaved + 1));
            c->pv.saved_idx =
                mem_realloc(c->pv.saved_idx, sizeof(int) * (size_t)(c->pv.nsaved + 1));
            c->pv.saved[c->pv.nsaved] = *a;
            c->pv.saved_idx[c->pv.nsaved] = i;
            c->pv.nsaved++;
            c->argv[i].p = p->data + p->plen;
            c->argv[i].len = p->klen;
            /* The ACL's key patterns apply to the key the pseudonym stands for (they were
             * checked on the pseudonym only): without this a pseudonym reached records the
             * user's ~patterns exclude. */
            if (c->user && !acl_can_key(c->user, c->argv[i].p, c->argv[i].len,
                                        cmd_key_access(d, c->argv, c->argc, i))) {
                rep_err(c, "NOPERM this user has no permissions to access one of the keys "
                           "used as arguments");
                c->pv.denied = POLICY_DENY_VIEW;
                return -1;
            }
        } else if (policy_schema_for(s->pol, a->p, a->len)) {
            /* A real record name from a de-identified role: refused, so record numbers
             * cannot be probed. */
            rep_errf(c,
                     "NOPERM this user's role '%s' has a de-identified view and addresses "
                     "records by their pseudonyms only",
                     policy_role_name(c->pv.role));
            c->pv.denied = POLICY_DENY_VIEW;
            return -1;
        }
    }
    return 0;
}

void cmd_policy_done(client *c)
{
    if (c->pv.memo_have) {
        OPENSSL_cleanse(c->pv.memo, sizeof c->pv.memo);
        c->pv.memo_have = 0;
    }
    for (int i = 0; i < c->pv.nsaved; i++)
        c->argv[c->pv.saved_idx[i]] = c->pv.saved[i];
    mem_free(c->pv.saved);
    mem_free(c->pv.saved_idx);
    c->pv.saved = NULL;
    c->pv.saved_idx = NULL;
    c->pv.nsaved = 0;
}

/* Check one record key of the command. */
static int check_key(client *c, const cmd_def *d, enum pclass cls, int i, const policy_schema *sch)
{
    const policy_role *r = c->pv.role;
    const uint8_t *key = c->argv[i].p;
    size_t klen = c->argv[i].len;
    const char *group = NULL;
    if (!r) return deny(c, POLICY_DENY_NO_ROLE, sch, NULL, 0, NULL, POLICY_READ);
    if (!policy_purpose_ok(r, (enum policy_purpose)c->purpose))
        return deny(c, POLICY_DENY_PURPOSE, sch, NULL, 0, NULL, POLICY_READ);
    if (!c->pv.schema) c->pv.schema = sch;
    int rc;
    switch (cls) {
    case PC_STRING:
        return deny(c, POLICY_DENY_COMMAND, sch, (const uint8_t *)d->name, strlen(d->name), NULL,
                    POLICY_READ);
    case PC_UNCOVERED: {
        rep_errf(c,
                 "NOPERM command '%s' is not covered by the access policy, so it may not be "
                 "used on '%s' records",
                 d->name, policy_type_name(policy_schema_type(sch)));
        char info[256];
        snprintf(info, sizeof info, "id=%llu addr=%s", (unsigned long long)c->id, c->addr);
        const char *why = policy_strerror(POLICY_DENY_COMMAND);
        acl_log_add(c->s->acl, "key", (c->flags & CL_MULTI) ? "multi" : "toplevel",
                    (const uint8_t *)why, strlen(why), c->username ? c->username : "", info);
        c->pv.denied = POLICY_DENY_COMMAND;
        return -1;
    }
    case PC_FREAD:
    case PC_RMW: {
        int first, step, last;
        named_fields(d, c->argc, &first, &step, &last);
        int need_bg = 0;
        const uint8_t *bad_f = NULL;
        size_t bad_fl = 0;
        const char *bad_g = NULL;
        int bad_rc = 0;
        for (int j = first; j <= last; j += step) {
            const policy_field *f = policy_field_find(sch, c->argv[j].p, c->argv[j].len);
            rc = policy_can(r, sch, f, POLICY_READ, &group);
            if (rc == POLICY_DENY_GROUP) {
                /* A break-glass grant may open it (every group): decided once, below. The
                 * refusal, if any, names the first such field. */
                need_bg = 1;
                if (!bad_rc) bad_f = c->argv[j].p, bad_fl = c->argv[j].len, bad_g = group;
                bad_rc = rc;
            } else if (rc != POLICY_ALLOW) {
                return deny(c, rc, sch, c->argv[j].p, c->argv[j].len, group, POLICY_READ);
            }
            if (cls == PC_RMW) {
                rc = policy_can(r, sch, f, POLICY_WRITE, &group);
                if (rc != POLICY_ALLOW)
                    return deny(c, rc, sch, c->argv[j].p, c->argv[j].len, group, POLICY_WRITE);
                /* Under scope=self no write changes the subject field (self_write_ok for the
                 * others): HINCRBY of a numeric subject would hand the record to another
                 * patient. */
                const char *sf = policy_schema_subject(sch);
                if (policy_role_self(r) && strlen(sf) == c->argv[j].len &&
                    memcmp(sf, c->argv[j].p, c->argv[j].len) == 0)
                    return deny(c, POLICY_DENY_SCOPE, sch, NULL, 0, NULL, POLICY_WRITE);
            }
        }
        if (!scope_ok(c, sch, key, klen))
            return deny(c, POLICY_DENY_SCOPE, sch, NULL, 0, NULL, POLICY_READ);
        if (need_bg && (cls == PC_RMW || !breakglass(c, sch, key, klen)))
            return deny(c, bad_rc, sch, bad_f, bad_fl, bad_g, POLICY_READ);
        if (cls == PC_RMW && !cmd_breakglass_write_ok(c, d, sch)) return -1;
        c->pv.active = 1;
        c->pv.deid = policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED && !c->pv.emergency;
        return 0;
    }
    case PC_ENUM: {
        if (!scope_ok(c, sch, key, klen))
            return deny(c, POLICY_DENY_SCOPE, sch, NULL, 0, NULL, POLICY_READ);
        policy_filter_init(&c->pv.flt, r, sch, 0);
        if (!c->pv.flt.all && breakglass(c, sch, key, klen))
            policy_filter_init(&c->pv.flt, r, sch, 1);
        c->pv.active = 1;
        c->pv.deid = c->pv.flt.deid;
        return 0;
    }
    case PC_FWRITE: {
        if (policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED)
            return deny(c, POLICY_DENY_VIEW, sch, NULL, 0, NULL, POLICY_WRITE);
        int first, step, last;
        named_fields(d, c->argc, &first, &step, &last);
        if (d->proc == hsetnx_cmd) last = 2;
        for (int j = first; j <= last; j += step) {
            const policy_field *f = policy_field_find(sch, c->argv[j].p, c->argv[j].len);
            rc = policy_can(r, sch, f, POLICY_WRITE, &group);
            if (rc != POLICY_ALLOW)
                return deny(c, rc, sch, c->argv[j].p, c->argv[j].len, group, POLICY_WRITE);
            /* HSETNX and HDEL answer whether the field was there: they need read too (HSET
             * counts only the readable fields it created: pv_field_readable). */
            if (d->proc == hsetnx_cmd || d->proc == hdel_cmd) {
                rc = policy_can(r, sch, f, POLICY_READ, &group);
                if (rc != POLICY_ALLOW)
                    return deny(c, rc, sch, c->argv[j].p, c->argv[j].len, group, POLICY_READ);
            }
        }
        if (!self_write_ok(c, d, sch, key, klen))
            return deny(c, POLICY_DENY_SCOPE, sch, NULL, 0, NULL, POLICY_WRITE);
        if (!cmd_breakglass_write_ok(c, d, sch)) return -1;
        c->pv.active = 1;
        return 0;
    }
    case PC_DELETE:
        rc = policy_can(r, sch, NULL, POLICY_DELETE, &group);
        if (rc != POLICY_ALLOW) return deny(c, rc, sch, NULL, 0, group, POLICY_DELETE);
        /* DEL, EXPIRE and PERSIST answer whether the record was there: a role that may see
         * nothing of the type (delete=* read=none) would learn it. */
        if (!policy_key_visible(r, sch))
            return deny(c, POLICY_DENY_GROUP, sch, NULL, 0, NULL, POLICY_READ);
        if (!scope_ok(c, sch, key, klen))
            return deny(c, POLICY_DENY_SCOPE, sch, NULL, 0, NULL, POLICY_DELETE);
        c->pv.active = 1;
        return 0;
    case PC_META:
        if (!policy_key_visible(r, sch))
            return deny(c, POLICY_DENY_GROUP, sch, NULL, 0, NULL, POLICY_READ);
        if (!scope_ok(c, sch, key, klen))
            return deny(c, POLICY_DENY_SCOPE, sch, NULL, 0, NULL, POLICY_READ);
        if ((d->proc == ttl_cmd || d->proc == pttl_cmd || d->proc == expiretime_cmd ||
             d->proc == pexpiretime_cmd) &&
            policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED) {
            /* An expiry set from a date of care (admission + N days) gives that date back
             * to the millisecond: Safe Harbor leaves only years. */
            rep_errf(c,
                     "NOPERM this user's role '%s' has a de-identified view, which shows no "
                     "expiry times of records",
                     policy_role_name(r));
            c->pv.denied = POLICY_DENY_GROUP;
            return -1;
        }
        if (d->proc == watch_cmd || d->proc == object_encoding_cmd) {
            /* WATCH then EXEC tells whether the record changed, any field of it; OBJECT
             * ENCODING whether it holds over 128 fields or a long value: only a role that
             * reads the whole record as stored may ask (else hidden fields would show). */
            policy_filter flt;
            policy_filter_init(&flt, r, sch, 0);
            if (!flt.all || flt.deid) {
                rep_errf(c,
                         "NOPERM this user's role '%s' does not read every field of '%s' "
                         "records as stored, so it may not %s them",
                         policy_role_name(r), policy_type_name(policy_schema_type(sch)),
                         d->proc == watch_cmd ? "WATCH" : "ask for the ENCODING of");
                c->pv.denied = POLICY_DENY_GROUP;
                return -1;
            }
        }
        c->pv.active = 1;
        return 0;
    default: return 0;
    }
}

static int check(client *c, const cmd_def *d);

int cmd_policy_check(client *c, const cmd_def *d)
{
    cmd_policy_done(c);
    memset(&c->pv, 0, sizeof c->pv);
    c->nshown = 0;
    if (!c->s->pol) return 0;
    if (check(c, d) == 0) return 0;
    cmd_policy_done(c); /* a refusal gives the arguments back at once (EXEC moves on) */
    return -1;
}

static int check(client *c, const cmd_def *d)
{
    srv *s = c->s;
    enum pclass cls = class_of(d);
    if (cls == PC_NONE && d->proc != phi_find_cmd) return 0;
    c->pv.role = session_role(c);
    const policy_role *r = c->pv.role;
    if (d->proc == phi_find_cmd) return cmd_phi_find_check(c, r);
    if (cls == PC_KEYENUM) {
        c->pv.keyenum = 1;
        return 0;
    }
    if (cls == PC_COUNT) {
        /* DBSIZE counts every record: polled, it tells when records the role may not see
         * are created or removed. Only a role that reads them all, as stored, may count. */
        if (!r) return deny(c, POLICY_DENY_NO_ROLE, NULL, NULL, 0, NULL, POLICY_READ);
        if (!cmd_policy_may_count(c)) {
            rep_errf(c,
                     "NOPERM this user's role '%s' does not read every record as stored, so "
                     "it may not count them (%s)",
                     policy_role_name(r), d->name);
            c->pv.denied = POLICY_DENY_GROUP;
            return -1;
        }
        return 0;
    }
    if (cls == PC_FLUSH) {
        /* Refused while the policy protects records, unless the role may delete them all:
         * checked on every schema the keyspace has keys of would need a walk; the policy
         * asks for delete on every group, which is what a record delete needs. */
        if (!r) return deny(c, POLICY_DENY_NO_ROLE, NULL, NULL, 0, NULL, POLICY_DELETE);
        if (!policy_role_deletes_all(r) || policy_role_self(r)) {
            rep_errf(c,
                     "NOPERM this user's role '%s' may not delete every record (%s needs "
                     "delete on every field group)",
                     policy_role_name(r), d->name);
            c->pv.denied = POLICY_DENY_GROUP;
            return -1;
        }
        return 0;
    }
    int last = d->last_key < 0 ? c->argc + d->last_key : d->last_key;
    int step = d->key_step ? d->key_step : 1;
    if (r && policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED &&
        translate(c, d, d->first_key, last, step) != 0)
        return -1;
    if (cls == PC_RENAME) {
        const policy_schema *a = policy_schema_for(s->pol, c->argv[1].p, c->argv[1].len);
        const policy_schema *b = policy_schema_for(s->pol, c->argv[2].p, c->argv[2].len);
        if (!a && !b) return 0;
        if (!a || !b || policy_schema_type(a) != policy_schema_type(b))
            return deny(c, POLICY_DENY_MOVE, a ? a : b, NULL, 0, NULL, POLICY_DELETE);
        if (check_key(c, d, PC_DELETE, 1, a) != 0) return -1;
        /* Under scope=self the destination must be the user's own record too: a new name is
         * a record created, refused like another patient's name (the reply would tell which
         * exist, as for HSET). */
        if ((policy_role_self(r) || db_lookup(s->db, c->argv[2].p, c->argv[2].len)) &&
            check_key(c, d, PC_DELETE, 2, b) != 0)
            return -1;
        return 0;
    }
    for (int i = d->first_key; i <= last && i < c->argc; i += step) {
        const policy_schema *sch = policy_schema_for(s->pol, c->argv[i].p, c->argv[i].len);
        if (!sch) continue;
        if (check_key(c, d, cls, i, sch) != 0) return -1;
        if (cls == PC_ENUM || cls == PC_FREAD || cls == PC_FWRITE || cls == PC_RMW) break;
    }
    return 0;
}

void cmd_policy_after(client *c, const cmd_def *d)
{
    srv *s = c->s;
    if (!s->pol || !s->pix || !(d->flags & CMD_WRITE) || d->first_key <= 0) return;
    if (d->proc != rename_cmd && d->proc != renamenx_cmd) {
        /* Only a field command that names an indexed field changes the index (deletions
         * go through cmd_policy_key_changed). */
        int first, step, last;
        if (!cmd_policy_named_fields(d, c->argc, &first, &step, &last)) return;
        const policy_schema *sch = policy_schema_for(s->pol, c->argv[1].p, c->argv[1].len);
        if (!sch) return;
        int indexed = 0;
        for (int j = first; j <= last && j < c->argc && !indexed; j += step) {
            const policy_field *f = policy_field_find(sch, c->argv[j].p, c->argv[j].len);
            indexed = f && policy_field_indexed(f);
        }
        if (indexed) reindex_key(s, sch, c->argv[1].p, c->argv[1].len);
        return;
    }
    {
        const policy_schema *sch = policy_schema_for(s->pol, c->argv[2].p, c->argv[2].len);
        if (sch) reindex_key(s, sch, c->argv[2].p, c->argv[2].len);
    }
    if (d->proc == rename_cmd || d->proc == renamenx_cmd) {
        const policy_schema *sch = policy_schema_for(s->pol, c->argv[1].p, c->argv[1].len);
        if (sch) reindex_key(s, sch, c->argv[1].p, c->argv[1].len);
    }
}

/* ---- for handlers ---- */

int pv_field_readable(client *c, const uint8_t *f, size_t flen)
{
    if (!c->pv.active || !c->pv.schema || !c->pv.role) return 1;
    const policy_field *pf = policy_field_find(c->pv.schema, f, flen);
    return policy_can(c->pv.role, c->pv.schema, pf, POLICY_READ, NULL) == POLICY_ALLOW;
}

int pv_field_visible(client *c, const uint8_t *f, size_t flen, const void **pf)
{
    if (pf) *pf = NULL;
    if (!c->pv.active || !c->pv.schema) return 1;
    if (c->pv.flt.s) return policy_filter_field(&c->pv.flt, f, flen, (const policy_field **)pf);
    if (pf) *pf = policy_field_find(c->pv.schema, f, flen);
    return 1;
}

/* f names the subject field of the command's schema? */
static int is_subject_field(const client *c, const uint8_t *f, size_t flen)
{
    if (!c->pv.schema || c->pv.memo_have || !f) return 0;
    const char *sf = policy_schema_subject(c->pv.schema);
    return sf && strlen(sf) == flen && memcmp(sf, f, flen) == 0;
}

/* The view value of v into out (bulk or nothing): 1 sent as stored, 2 transformed, 0 withheld,
 * -1 the value did not open. */
static int view_of(client *c, const void *pf, const db_ref *v, buf *plain, buf *out)
{
    size_t n = db_ref_len(v);
    /* Free text is redacted on the event loop: at most deid-text-max bytes of it for one
     * reply (HGETALL of many notes, HMGET of one many times); the rest is withheld. */
    size_t max = (size_t)c->s->cfg->deid_text_max;
    if (max && policy_field_kind(pf) == POLICY_KIND_TEXT) {
        if (n > max - (c->pv.deid_text < max ? c->pv.deid_text : max)) return 0;
        if (cmd_phi_exec_budget(c, n) != 0) return 0; /* and 1 MB for a whole EXEC */
        c->pv.deid_text += n;
    }
    buf_reserve(plain, n + 1);
    if (db_ref_open(c->s->db, v, plain->p) != 0) return -1;
    plain->len = n;
    policy_view_ctx ctx = {c->s->phi, c->s->phi_scratch, 0, 0}; /* the bound is above */
    int a = policy_view_value(c->s->pol, pf, plain->p, n, &ctx, out);
    if (a == POLICY_VIEW_KEEP) {
        buf_append(out, plain->p, n);
        return 1;
    }
    return a == POLICY_VIEW_TRANSFORM ? 2 : 0;
}

int pv_hvalue_into(client *c, const void *pf, const uint8_t *f, size_t flen, const db_ref *v,
                   buf *out)
{
    (void)f;
    (void)flen;
    if (!c->pv.deid) {
        size_t n = db_ref_len(v);
        buf_reserve(out, n + 32);
        char hdr[24];
        hdr[0] = '$';
        size_t hl = 1 + str_from_ll(hdr + 1, (long long)n);
        hdr[hl++] = '\r';
        hdr[hl++] = '\n';
        if (db_ref_open(c->s->db, v, out->p + out->len + hl) != 0) return -2;
        if (is_subject_field(c, f, flen))
            cmd_policy_memo(c, v->key, v->klen, out->p + out->len + hl, n);
        memcpy(out->p + out->len, hdr, hl);
        out->len += hl + n;
        out->p[out->len++] = '\r';
        out->p[out->len++] = '\n';
        return 0;
    }
    buf plain = {0}, val = {0};
    int r = view_of(c, pf, v, &plain, &val);
    if (r > 0) resp_bulk(out, val.p, val.len);
    buf_wipe_free(&plain);
    buf_wipe_free(&val);
    return r > 0 ? 0 : (r == 0 ? -1 : -2);
}

void pv_rep_value(client *c, const uint8_t *f, size_t flen, const db_ref *v)
{
    size_t mark = c->out.len, n = db_ref_len(v);
    rep_value(c, v);
    if (!is_subject_field(c, f, flen)) return;
    /* The reply is "$<n>\r\n<value>\r\n" when the value opened: keep the subject. */
    char hdr[24];
    hdr[0] = '$';
    size_t hl = 1 + str_from_ll(hdr + 1, (long long)n);
    if (c->out.len - mark == hl + 2 + n + 2 && memcmp(c->out.p + mark, hdr, hl) == 0)
        cmd_policy_memo(c, v->key, v->klen, c->out.p + mark + hl + 2, n);
}

void rep_hvalue(client *c, const void *pf, const uint8_t *f, size_t flen, const db_ref *v)
{
    if (!c->pv.deid) {
        pv_rep_value(c, f, flen, v);
        return;
    }
    if (!pf) pf = policy_field_find(c->pv.schema, f, flen);
    int r = pv_hvalue_into(c, pf, f, flen, v, &c->out);
    if (r == -1) rep_null(c);
    if (r == -2) rep_unopenable(c);
}

long long pv_hvalue_len(client *c, const void *pf, const uint8_t *f, size_t flen, const db_ref *v)
{
    if (!c->pv.deid) return (long long)db_ref_len(v);
    if (!pf) pf = policy_field_find(c->pv.schema, f, flen);
    buf plain = {0}, val = {0};
    int r = view_of(c, pf, v, &plain, &val);
    long long n = r > 0 ? (long long)val.len : -1;
    buf_wipe_free(&plain);
    buf_wipe_free(&val);
    return n;
}

int pv_key_listed(client *c, const uint8_t *key, size_t klen, const uint8_t **name, size_t *nlen,
                  char *out)
{
    *name = key;
    *nlen = klen;
    if (!c->pv.keyenum) return 1;
    const policy_schema *sch = policy_schema_for(c->s->pol, key, klen);
    if (!sch) return 1;
    const policy_role *r = c->pv.role;
    if (!r || !policy_key_visible(r, sch)) return 0;
    if (!policy_purpose_ok(r, (enum policy_purpose)c->purpose)) return 0;
    if (policy_role_self(r) && !scope_ok(c, sch, key, klen)) return 0;
    if (policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED) {
        /* Listed under a pseudonym, the key escapes the MATCH of the ACL's patterns: list
         * only records the user's patterns allow reading. */
        if (c->user && !acl_can_key(c->user, key, klen, ACL_KEY_READ)) return 0;
        int n = make_pseudonym(c->s, sch, key, klen, out, 192);
        if (n <= 0) return 0;
        *name = (const uint8_t *)out;
        *nlen = (size_t)n;
    }
    return 1;
}
