/*
 * cmd_tx: MULTI/EXEC/DISCARD and optimistic locking with WATCH.
 *
 * WATCHed keys live in a table (key -> clients). The keyspace reports every
 * change, deletion and expiry through tx_key_changed, which marks the
 * watching clients dirty; EXEC of a dirty client replies with a null array.
 * The table is empty unless someone watches, so the notification costs one
 * size check on the write path.
 *
 * As in Redis 7, a key that was already expired (but not yet removed) when a
 * client WATCHed it reads as absent to that client, so its removal is no
 * change for it; any later write is.
 */
#include "cmd.h"

#include <string.h>

#include "cmd/cmd_audit.h"
#include "cmd/cmd_policy.h"
#include "cmd/persist.h"
#include "util/mem.h"

typedef struct {
    dict_node node;   /* link in srv.watched */
    client **cl;      /* clients watching */
    uint8_t *expired; /* per client: the key was already expired when it WATCHed */
    int n, cap;       /* their count */
    uint32_t klen;    /* key length */
    uint8_t key[];    /* key bytes */
} wkey;

static void wkey_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const wkey *w = (const wkey *)n;
    *k = w->key;
    *len = w->klen;
}

const dict_type tx_watch_type = {.keyof = wkey_keyof};

/* A flush is about to empty the keyspace: as in Redis 7.0, only the watchers of keys that
 * exist are dirty (a flush changes nothing for a key that was absent). A watcher that
 * WATCHed its key already expired sees no change either, and from now on the key is just
 * absent to it. */
static void mark_flushed(dict_node *n, void *ud)
{
    srv *s = ud;
    wkey *w = (wkey *)n;
    if (!db_find_raw(s->db, w->key, w->klen)) return;
    for (int i = 0; i < w->n; i++) {
        if (w->expired[i])
            w->expired[i] = 0;
        else
            w->cl[i]->flags |= CL_DIRTY_CAS;
    }
}

/* Key w changed: its watchers are dirty, except those that WATCHed it already expired. For
 * them the removal of that expired key is no change (and what follows it is). */
static void mark_watchers(srv *s, wkey *w)
{
    for (int i = 0; i < w->n; i++) {
        if (w->expired[i]) {
            if (!db_find_raw(s->db, w->key, w->klen)) w->expired[i] = 0;
            continue;
        }
        w->cl[i]->flags |= CL_DIRTY_CAS;
    }
}

void tx_key_changed(void *ud, const uint8_t *key, size_t klen)
{
    srv *s = ud;
    if (dict_size(&s->watched) == 0) return;
    if (!key) { /* a flush, before it empties the keyspace */
        dict_foreach(&s->watched, mark_flushed, s);
        return;
    }
    wkey *w = (wkey *)dict_find(&s->watched, key, klen, dict_hash(key, klen));
    if (w) mark_watchers(s, w);
}

static void watch_key(client *c, const arg *k)
{
    srv *s = c->s;
    for (int i = 0; i < c->nwatched; i++)
        if (c->watched[i].len == k->len && memcmp(c->watched[i].p, k->p, k->len) == 0) return;
    uint64_t h = dict_hash(k->p, k->len);
    wkey *w = (wkey *)dict_find(&s->watched, k->p, k->len, h);
    if (!w) {
        w = mem_calloc(sizeof *w + k->len);
        w->klen = (uint32_t)k->len;
        memcpy(w->key, k->p, k->len);
        dict_insert(&s->watched, &w->node, h);
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->cl = mem_realloc(w->cl, sizeof(client *) * (size_t)w->cap);
        w->expired = mem_realloc(w->expired, (size_t)w->cap);
    }
    db_entry *e = db_find_raw(s->db, k->p, k->len);
    long long when = e ? db_get_expire(e) : DB_NO_EXPIRE;
    w->expired[w->n] = when != DB_NO_EXPIRE && when <= db_now(s->db);
    w->cl[w->n++] = c;
    c->watched = mem_realloc(c->watched, sizeof(arg) * (size_t)(c->nwatched + 1));
    uint8_t *copy = mem_alloc(k->len ? k->len : 1);
    memcpy(copy, k->p, k->len);
    c->watched[c->nwatched].p = copy;
    c->watched[c->nwatched].len = k->len;
    c->nwatched++;
}

static void unwatch_all(client *c)
{
    srv *s = c->s;
    for (int i = 0; i < c->nwatched; i++) {
        const arg *k = &c->watched[i];
        uint64_t h = dict_hash(k->p, k->len);
        wkey *w = (wkey *)dict_find(&s->watched, k->p, k->len, h);
        if (w) {
            for (int j = 0; j < w->n; j++) {
                if (w->cl[j] == c) {
                    w->cl[j] = w->cl[--w->n];
                    w->expired[j] = w->expired[w->n];
                    break;
                }
            }
            if (w->n == 0) {
                dict_unlink(&s->watched, k->p, k->len, h);
                mem_free(w->cl);
                mem_free(w->expired);
                mem_free_wipe(w);
            }
        }
        mem_free_wipe((void *)k->p);
    }
    mem_free(c->watched);
    c->watched = NULL;
    c->nwatched = 0;
    c->flags &= ~CL_DIRTY_CAS;
}

static void discard_queue(client *c)
{
    for (int i = 0; i < c->mq_len; i++)
        cmd_args_free(c->mq[i].argv, c->mq[i].argc);
    c->mq_len = 0;
    c->flags &= ~(CL_MULTI | CL_DIRTY_EXEC);
}

void tx_reset(client *c)
{
    discard_queue(c);
    unwatch_all(c);
}

void multi_cmd(client *c)
{
    if (c->flags & CL_MULTI) {
        rep_err(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= CL_MULTI;
    rep_ok(c);
}

void discard_cmd(client *c)
{
    if (!(c->flags & CL_MULTI)) {
        rep_err(c, "ERR DISCARD without MULTI");
        return;
    }
    tx_reset(c);
    rep_ok(c);
}

void exec_cmd(client *c)
{
    if (!(c->flags & CL_MULTI)) {
        rep_err(c, "ERR EXEC without MULTI");
        return;
    }
    if (c->flags & CL_DIRTY_EXEC) {
        rep_err(c, "EXECABORT Transaction discarded because of previous errors.");
        tx_reset(c);
        return;
    }
    /* A watched key that expired since WATCH counts as changed: looking it up removes it,
     * which notifies the watchers (not those that WATCHed it already expired). */
    for (int i = 0; i < c->nwatched && !(c->flags & CL_DIRTY_CAS); i++)
        db_lookup(c->s->db, c->watched[i].p, c->watched[i].len);
    if (c->flags & CL_DIRTY_CAS) {
        rep_null_array(c);
        tx_reset(c);
        return;
    }
    /* A transaction with writes needs a writable log (checked again here: it may have failed
     * since the commands were queued). */
    for (int i = 0; i < c->mq_len; i++) {
        char why[256];
        if ((c->mq[i].cmd->flags & CMD_WRITE) && c->s->log &&
            !persist_write_allowed(c->s, why, sizeof why)) {
            rep_errf(c, "MISCONF the durable log cannot be written (%s): write commands are "
                        "refused until it can; reads still work",
                     why);
            tx_reset(c);
            return;
        }
    }
    /* The nonces every queued write may take, reserved at once (each was checked alone when
     * it was queued): the transaction must not fail part-way for want of them. */
    uint64_t seals = 0;
    for (int i = 0; i < c->mq_len; i++)
        if (c->mq[i].cmd->flags & CMD_WRITE) seals += (uint64_t)c->mq[i].argc;
    if (seals && c->s->values && seal_headroom(c->s->values, seals) != 0) {
        rep_err(c, "MISCONF the keyring cannot be written (no nonces can be reserved for new "
                   "values): write commands are refused until it can; reads still work");
        tx_reset(c);
        return;
    }
    /* Memory may have passed maxmemory since the writes were queued: as Redis, the whole
     * transaction is discarded then. */
    if (c->s->cfg->maxmemory > 0 && (long long)mem_used() > c->s->cfg->maxmemory) {
        for (int i = 0; i < c->mq_len; i++) {
            if (!(c->mq[i].cmd->flags & CMD_DENYOOM)) continue;
            rep_err(c, "EXECABORT Transaction discarded because of: OOM command not allowed "
                       "when used memory > 'maxmemory'.");
            tx_reset(c);
            return;
        }
    }
    /* Run the queue. WATCH is released first so our own writes do not matter. */
    unwatch_all(c);
    arg *saved_argv = c->argv;
    int saved_argc = c->argc;
    int n = c->mq_len;
    queued_cmd *q = c->mq;
    c->mq = NULL;
    c->mq_len = c->mq_cap = 0;
    c->flags &= ~CL_MULTI;
    rep_array(c, (size_t)n);
    c->s->frame_hold++; /* the whole transaction is one log record: replayed all or nothing */
    c->flags |= CL_IN_EXEC;
    c->exec_scanned = 0;
    for (int i = 0; i < n; i++) {
        c->argv = q[i].argv;
        c->argc = q[i].argc;
        if (cmd_check_access(c, q[i].cmd, "multi") != 0) {
            cmd_audit_denied(c, q[i].cmd, "acl");
            continue;
        }
        /* The policy decides when the command runs: the policy or a record's subject
         * may have changed since it was queued. */
        if (cmd_policy_check(c, q[i].cmd) != 0) {
            cmd_audit_denied(c, q[i].cmd, cmd_policy_denied_why(c));
            continue;
        }
        /* dlp-mode, as at top level: a queued write was never checked. */
        if (cmd_dlp_check(c, q[i].cmd) != 0) {
            cmd_policy_done(c);
            continue;
        }
        cmd_call(c, q[i].cmd);
    }
    c->flags &= ~CL_IN_EXEC;
    c->s->frame_hold--;
    persist_commit(c->s, c);
    c->argv = saved_argv;
    c->argc = saved_argc;
    for (int i = 0; i < n; i++)
        cmd_args_free(q[i].argv, q[i].argc);
    mem_free(q);
}

void watch_cmd(client *c)
{
    if (c->flags & CL_MULTI) {
        rep_err(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++)
        watch_key(c, &c->argv[i]);
    rep_ok(c);
}

void unwatch_cmd(client *c)
{
    unwatch_all(c);
    rep_ok(c);
}
