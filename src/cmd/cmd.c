/*
 * cmd: lookup and dispatch (see cmd.h). The order of the checks matters and
 * follows Redis where Redis defines it: unknown command, arity,
 * authentication, then (queued inside MULTI, or run) access and limits.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd/cmd_audit.h"
#include "cmd/cmd_policy.h"
#include "cmd/persist.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

#define LOOKUP_BUCKETS 512

typedef struct lookup_ent {
    const cmd_def *d;        /* command */
    struct lookup_ent *next; /* chain */
} lookup_ent;

static lookup_ent *lookup[LOOKUP_BUCKETS];

static void index_cmd(const cmd_def *d)
{
    uint64_t h = hash_bytes_nocase((const uint8_t *)d->name, strlen(d->name));
    lookup_ent *e = mem_alloc(sizeof *e);
    e->d = d;
    e->next = lookup[h % LOOKUP_BUCKETS];
    lookup[h % LOOKUP_BUCKETS] = e;
}

const cmd_def *cmd_lookup(const uint8_t *name, size_t n)
{
    if (n == 0 || n > 64) return NULL;
    uint64_t h = hash_bytes_nocase(name, n);
    for (lookup_ent *e = lookup[h % LOOKUP_BUCKETS]; e; e = e->next)
        if (strlen(e->d->name) == n && strncasecmp(e->d->name, (const char *)name, n) == 0)
            return e->d;
    return NULL;
}

static const cmd_def *find_sub(const cmd_def *parent, const uint8_t *name, size_t n)
{
    for (int i = 0; i < parent->nsubs; i++)
        if (strlen(parent->subs[i].name) == n &&
            strncasecmp(parent->subs[i].name, (const char *)name, n) == 0)
            return &parent->subs[i];
    return NULL;
}

void cmd_init(srv *s)
{
    size_t n;
    const cmd_def *t = cmd_table(&n);
    size_t total = n;
    for (size_t i = 0; i < n; i++)
        total += (size_t)t[i].nsubs;
    s->catalog = mem_calloc(sizeof(acl_cmd) * total);
    s->cmdstats = mem_calloc(sizeof(cmd_stat) * total);
    size_t id = 0;
    for (size_t i = 0; i < n; i++) {
        cmd_def *d = (cmd_def *)&t[i];
        d->id = (int)id;
        s->catalog[id].name = d->name;
        s->catalog[id].parent = -1;
        s->catalog[id].categories = d->categories;
        s->catalog[id].by_name_only = (d->flags & CMD_DANGER) != 0;
        id++;
        index_cmd(d);
    }
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < t[i].nsubs; j++) {
            cmd_def *sd = (cmd_def *)&t[i].subs[j];
            sd->id = (int)id;
            char *full = mem_alloc(strlen(t[i].name) + strlen(sd->name) + 2);
            sprintf(full, "%s|%s", t[i].name, sd->name);
            s->catalog[id].name = full;
            s->catalog[id].parent = t[i].id;
            s->catalog[id].categories = sd->categories;
            s->catalog[id].by_name_only = (sd->flags & CMD_DANGER) != 0;
            id++;
        }
    }
    s->ncatalog = id;
}

void cmd_shutdown(srv *s)
{
    for (size_t i = 0; i < s->ncatalog; i++)
        if (s->catalog[i].parent >= 0) mem_free((void *)s->catalog[i].name);
    mem_free(s->catalog);
    s->catalog = NULL;
    mem_free(s->cmdstats);
    s->cmdstats = NULL;
    slowlog_free(s);
    latency_free(s);
    for (int i = 0; i < LOOKUP_BUCKETS; i++) {
        while (lookup[i]) {
            lookup_ent *e = lookup[i];
            lookup[i] = e->next;
            mem_free(e);
        }
    }
}

void cmd_fullname(const cmd_def *d, const cmd_def *parent, char *out, size_t outlen)
{
    if (parent)
        snprintf(out, outlen, "%s|%s", parent->name, d->name);
    else
        snprintf(out, outlen, "%s", d->name);
}

const char *cmd_catalog_name(const srv *s, const cmd_def *d)
{
    return d->id >= 0 && (size_t)d->id < s->ncatalog ? s->catalog[d->id].name : d->name;
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
}

const cmd_def *cmd_resolve(const arg *argv, int argc, const cmd_def **parent)
{
    *parent = NULL;
    const cmd_def *d = cmd_lookup(argv[0].p, argv[0].len);
    if (!d) return NULL;
    if (d->subs && argc >= 2) {
        const cmd_def *sd = find_sub(d, argv[1].p, argv[1].len);
        if (sd) {
            *parent = d;
            return sd;
        }
        /* PHI.BREAKGLASS <subject> <reason...>: the command itself takes other arguments.
         * COMMAND's unknown subcommand is an error before any ACL check, as in Redis. */
        if (d->proc && d->proc != command_cmd) return d;
        return NULL;
    }
    return d;
}

static void reply_unknown(client *c)
{
    buf b = {0};
    const arg *a = c->argv;
    /* Arguments are shown as C strings (up to a NUL), as Redis does. */
    buf_puts(&b, "ERR unknown command '");
    buf_append(&b, a[0].p, strnlen((const char *)a[0].p, a[0].len > 128 ? 128 : a[0].len));
    buf_puts(&b, "', with args beginning with: ");
    size_t argslen = 0;
    for (int i = 1; i < c->argc && argslen < 128; i++) {
        size_t room = 128 - argslen;
        size_t n = strnlen((const char *)c->argv[i].p, c->argv[i].len);
        if (n > room) n = room;
        buf_putc(&b, '\'');
        buf_append(&b, c->argv[i].p, n);
        buf_puts(&b, "' ");
        argslen += n + 3;
    }
    rep_err(c, buf_cstr(&b));
    buf_free(&b);
}

static void reply_unknown_sub(client *c, const cmd_def *parent)
{
    char name[64];
    snprintf(name, sizeof name, "%s", parent->name);
    upper(name);
    buf b = {0};
    buf_puts(&b, "ERR unknown subcommand '");
    buf_append(&b, c->argv[1].p, c->argv[1].len > 128 ? 128 : c->argv[1].len);
    buf_printf(&b, "'. Try %s HELP.", name);
    rep_err(c, buf_cstr(&b));
    buf_free(&b);
}

static int arity_ok(const cmd_def *d, int argc)
{
    return d->arity > 0 ? argc == d->arity : argc >= -d->arity;
}

static const char *client_info_short(client *c, char *out, size_t outlen)
{
    buf b = {0};
    client_describe(c, &b);
    snprintf(out, outlen, "%s", buf_cstr(&b));
    buf_free(&b);
    return out;
}

int cmd_key_access(const cmd_def *d, const arg *argv, int argc, int i)
{
    int access = i == d->first_key ? d->first_access : d->other_access;
    if (d->proc == set_cmd) {
        for (int j = 3; j < argc; j++)
            if (str_eq_nocase(argv[j].p, argv[j].len, "get")) access |= ACL_KEY_READ;
    }
    return access;
}

int cmd_access_denied(const acl_user *u, const cmd_def *d, const arg *argv, int argc,
                      int *keyidx)
{
    if (!acl_can_run(u, d->id)) return 1;
    if (d->first_key > 0) {
        int last = d->last_key < 0 ? argc + d->last_key : d->last_key;
        for (int i = d->first_key; i <= last && i < argc; i += d->key_step) {
            if (!acl_can_key(u, argv[i].p, argv[i].len, cmd_key_access(d, argv, argc, i))) {
                *keyidx = i;
                return 2;
            }
        }
    }
    /* Channels: every argument of SUBSCRIBE and PSUBSCRIBE, the first of PUBLISH (as Redis,
     * before the command runs, so that MULTI refuses it when queued and ACL DRYRUN sees it). */
    int pat = d->proc == psubscribe_cmd;
    int chans = d->proc == subscribe_cmd || pat ? argc - 1 : (d->proc == publish_cmd ? 1 : 0);
    for (int i = 1; i <= chans && i < argc; i++) {
        if (!(pat ? acl_can_channel_pattern(u, argv[i].p, argv[i].len)
                  : acl_can_channel(u, argv[i].p, argv[i].len))) {
            *keyidx = i;
            return 3;
        }
    }
    return 0;
}

/* The ACL check: 0 allowed, or -1 with the NOPERM text in msg (and an ACL LOG entry). */
static int access_denied(client *c, const cmd_def *d, const char *context, char *msg, size_t n)
{
    acl_user *u = c->user;
    if (!u) return 0;
    int keyidx = 0;
    int denied = cmd_access_denied(u, d, c->argv, c->argc, &keyidx);
    if (!denied) return 0;
    char info[512];
    client_info_short(c, info, sizeof info);
    if (denied == 1) {
        const cmd_def *parent = NULL;
        char full[96];
        cmd_resolve(c->argv, c->argc, &parent);
        if (parent && parent->subs != NULL && d->id != parent->id) {
            /* d is a subcommand of parent */
        } else {
            parent = NULL;
        }
        cmd_fullname(d, parent, full, sizeof full);
        acl_log_add(c->s->acl, "command", context, (const uint8_t *)full, strlen(full),
                    acl_user_name(u), info);
        snprintf(msg, n, "NOPERM this user has no permissions to run the '%s' command", full);
    } else if (denied == 2) {
        acl_log_add(c->s->acl, "key", context, c->argv[keyidx].p, c->argv[keyidx].len,
                    acl_user_name(u), info);
        snprintf(msg, n,
                 "NOPERM this user has no permissions to access one of the keys used as "
                 "arguments");
    } else {
        acl_log_add(c->s->acl, "channel", context, c->argv[keyidx].p, c->argv[keyidx].len,
                    acl_user_name(u), info);
        snprintf(msg, n,
                 "NOPERM this user has no permissions to access one of the channels used as "
                 "arguments");
    }
    return -1;
}

int cmd_check_access(client *c, const cmd_def *d, const char *context)
{
    char msg[200];
    if (access_denied(c, d, context, msg, sizeof msg) == 0) return 0;
    rep_err(c, msg);
    return -1;
}

/* The operator's switch for commands that can erase or list every record. */
static int check_dangerous(client *c, const cmd_def *d)
{
    srv *s = c->s;
    if (d->flags & CMD_DANGER) {
        int allowed = (d->proc == flushall_cmd && s->cfg->allow_flushall) ||
                      (d->proc == flushdb_cmd && s->cfg->allow_flushdb) ||
                      (d->proc == keys_cmd && s->cfg->allow_keys);
        if (!allowed) {
            char name[32];
            snprintf(name, sizeof name, "%s", d->name);
            upper(name);
            rep_errf(c,
                     "ERR %s is disabled: it can erase or list every record. List it in "
                     "allow-dangerous-commands in phidb.conf and grant it to the user by name "
                     "(+%s) to enable it",
                     name, d->name);
            return -1;
        }
    }
    return 0;
}

/* The memory limit, for commands that may grow the dataset; the durable log, for writes. */
static int check_limits(client *c, const cmd_def *d)
{
    srv *s = c->s;
    if ((d->flags & CMD_WRITE) && s->log) {
        char why[256];
        if (!persist_write_allowed(s, why, sizeof why)) {
            rep_errf(c, "MISCONF the durable log cannot be written (%s): write commands are "
                        "refused until it can; reads still work",
                     why);
            return -1;
        }
    }
    /* Every value a write seals takes a nonce, and every 4M nonces the keyring file is
     * written to reserve the next block. A command seals at most one value per argument
     * (RENAME and COPY of a large hash check their own, and change nothing if they run
     * short): with that many reserved first, it can no longer fail part-way, or answer OK
     * having written nothing. */
    if ((d->flags & CMD_WRITE) && s->values && seal_headroom(s->values, (uint64_t)c->argc) != 0) {
        rep_err(c, "MISCONF the keyring cannot be written (no nonces can be reserved for new "
                   "values): write commands are refused until it can; reads still work");
        return -1;
    }
    if ((d->flags & CMD_DENYOOM) && s->cfg->maxmemory > 0 &&
        (long long)mem_used() > s->cfg->maxmemory) {
        rep_err(c, "OOM command not allowed when used memory > 'maxmemory'.");
        return -1;
    }
    return 0;
}

void cmd_call(client *c, const cmd_def *d)
{
    srv *s = c->s;
    c->cmd = d;
    /* One clock reading gives the command's time (the wall clock, for expiry) and the start
     * of its duration (INFO commandstats). */
    long long t0 = clock_mono_us();
    db_set_now(s->db, (t0 + s->real_minus_mono_us) / 1000);
    /* Before running: CLIENT INFO shows itself, as in Redis. The commands EXEC runs leave
     * it at exec (Redis sets it when a command arrives). */
    if (!(c->flags & CL_IN_EXEC)) c->lastcmd = d;
    /* The audit record: a write's before it runs, a read's after (refused: no reply). */
    if (cmd_audit_before(c, d) != 0) {
        c->cmd = NULL;
        cmd_policy_done(c);
        return;
    }
    size_t mark = c->out.len;
    d->proc(c);
    cmd_stat *cs = &s->cmdstats[d->id];
    long long took = clock_mono_us() - t0;
    cs->usec += (unsigned long long)took;
    cs->calls++;
    if (s->cfg->slowlog_slower_than >= 0 && !(d->flags & CMD_SKIP_SLOWLOG) &&
        (took >= s->cfg->slowlog_slower_than || s->slowlog))
        slowlog_push(c, d, took);
    latency_command(s, d, took);
    /* Failed: its reply is an error (errors inside EXEC's reply count for the commands that
     * sent them, not for EXEC, as in Redis). */
    if (c->out.len > mark && c->out.p[mark] == '-') cs->failed++;
    c->cmd = NULL;
    s->st.commands++;
    cmd_audit_after(c, d, mark);
    cmd_policy_after(c, d); /* blind index of the records it wrote */
    cmd_policy_done(c);     /* give back the arguments pseudonyms stood for */
    /* Whatever the command changed goes to the log before its reply goes out. */
    persist_commit(s, c);
}

static void queue_command(client *c, const cmd_def *d)
{
    if (c->mq_len == c->mq_cap) {
        c->mq_cap = c->mq_cap ? c->mq_cap * 2 : 8;
        c->mq = mem_realloc(c->mq, sizeof(queued_cmd) * (size_t)c->mq_cap);
    }
    queued_cmd *q = &c->mq[c->mq_len++];
    q->cmd = d;
    q->argc = c->argc;
    q->argv = cmd_args_copy(c->argv, c->argc);
    rep_simple(c, "QUEUED");
}

arg *cmd_args_copy(const arg *argv, int argc)
{
    arg *out = mem_alloc(sizeof(arg) * (size_t)(argc ? argc : 1));
    for (int i = 0; i < argc; i++) {
        uint8_t *p = mem_alloc(argv[i].len + 1);
        memcpy(p, argv[i].p, argv[i].len);
        p[argv[i].len] = '\0';
        out[i].p = p;
        out[i].len = argv[i].len;
    }
    return out;
}

void cmd_args_free(arg *argv, int argc)
{
    for (int i = 0; i < argc; i++)
        mem_free_wipe((void *)argv[i].p);
    mem_free(argv);
}

/* Reply with a rejection. A rejected EXEC aborts the transaction, in or out of MULTI (as
 * Redis does: "EXECABORT Transaction discarded because of: <reason>"); other rejections
 * inside MULTI mark it so EXEC will abort. */
static void reject(client *c, const cmd_def *d, const char *msg)
{
    if (d && d->proc == exec_cmd) {
        const char *reason = strncmp(msg, "ERR ", 4) == 0 ? msg + 4 : msg;
        rep_errf(c, "EXECABORT Transaction discarded because of: %s", reason);
        tx_reset(c);
        return;
    }
    rep_err(c, msg);
    if (c->flags & CL_MULTI) c->flags |= CL_DIRTY_EXEC;
}

/* The checks of a command at top level (not queued) and its run. A write whose texts are
 * large waits for its dlp scan on the dlp worker (cmd_dlp_defer), then comes back through
 * cmd_resume, which checks it all again. */
static void run_toplevel(client *c, const cmd_def *d)
{
    char msg[200];
    if (check_dangerous(c, d) != 0) {
        cmd_audit_denied(c, d, "disabled"); /* an attempt to erase or list every record */
        return;
    }
    if (access_denied(c, d, "toplevel", msg, sizeof msg) != 0) {
        reject(c, d, msg); /* a refused EXEC discards the transaction, as in Redis */
        cmd_audit_denied(c, d, "acl");
        return;
    }
    if (check_limits(c, d) != 0) return;
    if (cmd_dlp_defer(c, d) == 0) return;
    if (cmd_policy_check(c, d) != 0) {
        cmd_audit_denied(c, d, cmd_policy_denied_why(c));
        return;
    }
    if (cmd_dlp_check(c, d) != 0) {
        cmd_policy_done(c);
        return;
    }
    cmd_call(c, d);
}

static void dispatch(client *c);

/* A command refused before it ran (an error and no run) counts as rejected in INFO
 * commandstats. */
static void count_rejected(client *c, unsigned long long nerr, long long ran)
{
    if (c->nerr != nerr && c->s->st.commands == ran && c->lastcmd)
        c->s->cmdstats[c->lastcmd->id].rejected++;
}

void cmd_dispatch(client *c)
{
    unsigned long long nerr = c->nerr;
    long long ran = c->s->st.commands;
    dispatch(c);
    count_rejected(c, nerr, ran);
}

static void dispatch(client *c)
{
    srv *s = c->s;
    const cmd_def *parent = NULL;
    const cmd_def *d = cmd_resolve(c->argv, c->argc, &parent);
    int in_multi = (c->flags & CL_MULTI) != 0;
    c->lastcmd = d; /* as Redis: the last command received, even if rejected or queued */

    if (!d) {
        const cmd_def *top = cmd_lookup(c->argv[0].p, c->argv[0].len);
        if (top && top->subs && c->argc >= 2)
            reply_unknown_sub(c, top);
        else if (top && top->subs)
            rep_errf(c, "ERR wrong number of arguments for '%s' command", top->name);
        else
            reply_unknown(c);
        if (in_multi) c->flags |= CL_DIRTY_EXEC;
        return;
    }
    if (!arity_ok(d, c->argc)) {
        char full[96], msg[160];
        cmd_fullname(d, parent, full, sizeof full);
        snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s' command", full);
        reject(c, d, msg);
        return;
    }
    if ((c->flags & CL_MFA_PENDING) && d->proc != phi_mfa_cmd && d->proc != quit_cmd &&
        d->proc != reset_cmd && !(d->proc == hello_cmd && c->argc <= 2)) {
        cmd_audit_denied(c, d, "mfa-pending"); /* the user is known: who tried matters */
        reject(c, d, "NOAUTH a TOTP code is required: send PHI.MFA <code>");
        return;
    }
    if (!(c->flags & CL_AUTHED) && !(d->flags & CMD_NOAUTH)) {
        reject(c, d, "NOAUTH Authentication required.");
        return;
    }
    if (c->user && c->acl_gen != acl_generation(s->acl) && client_refresh_user(c) != 0) {
        rep_err(c, "NOAUTH Authentication required.");
        return;
    }
    if (client_subscribed(c) && c->proto == 2 && d->proc != subscribe_cmd &&
        d->proc != unsubscribe_cmd && d->proc != psubscribe_cmd && d->proc != punsubscribe_cmd &&
        d->proc != ping_cmd && d->proc != quit_cmd && d->proc != reset_cmd) {
        char full[96], msg[256];
        cmd_fullname(d, parent, full, sizeof full);
        snprintf(msg, sizeof msg,
                 "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                 "RESET are allowed in this context",
                 full);
        reject(c, d, msg);
        return;
    }
    if (in_multi && !(d->flags & CMD_MULTICTL)) {
        if (d->flags & CMD_NOMULTI) {
            rep_err(c, "ERR Command not allowed inside a transaction");
            c->flags |= CL_DIRTY_EXEC;
            return;
        }
        if (check_dangerous(c, d) != 0) {
            c->flags |= CL_DIRTY_EXEC;
            cmd_audit_denied(c, d, "disabled");
            return;
        }
        if (cmd_check_access(c, d, "multi") != 0) {
            c->flags |= CL_DIRTY_EXEC;
            cmd_audit_denied(c, d, "acl"); /* as at top level: a probe in MULTI is seen */
            return;
        }
        if (check_limits(c, d) != 0) {
            c->flags |= CL_DIRTY_EXEC;
            return;
        }
        /* Over maxmemory nothing more is queued, reads included (the queue is memory too),
         * as in Redis. */
        if (s->cfg->maxmemory > 0 && (long long)mem_used() > s->cfg->maxmemory) {
            rep_err(c, "OOM command not allowed when used memory > 'maxmemory'.");
            c->flags |= CL_DIRTY_EXEC;
            return;
        }
        queue_command(c, d);
        return;
    }
    run_toplevel(c, d);
}

void cmd_resume(client *c, const cmd_def *d)
{
    srv *s = c->s;
    unsigned long long nerr = c->nerr;
    long long ran = s->st.commands;
    if (c->user && c->acl_gen != acl_generation(s->acl) && client_refresh_user(c) != 0)
        rep_err(c, "NOAUTH Authentication required.");
    else
        run_toplevel(c, d);
    count_rejected(c, nerr, ran);
}
