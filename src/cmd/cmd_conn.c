/*
 * cmd_conn: connection commands (PING ECHO HELLO AUTH QUIT RESET SELECT CLIENT).
 *
 * AUTH and HELLO ... AUTH verify passwords on worker threads: the client is
 * blocked (its later commands wait in its buffer), the job runs Argon2id, and
 * the reply is sent from the loop when the job is done. An address that keeps
 * failing has its next attempts delayed by a timer before the job is queued.
 * A client that disconnects while its login is checked still has the failure
 * counted, so hanging up cannot be used to guess without being locked out.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "cmd/cmd_audit.h"
#include "cmd/cmd_policy.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

#define REDIS_COMPAT_VERSION "7.0.0"

void ping_cmd(client *c)
{
    if (c->argc > 2) {
        rep_arity(c);
        return;
    }
    if (client_subscribed(c) && c->proto == 2) {
        /* In subscribed mode Redis answers PING with a two-element array. */
        rep_array(c, 2);
        rep_cstr(c, "pong");
        if (c->argc == 2)
            rep_bulk(c, c->argv[1].p, c->argv[1].len);
        else
            rep_bulk(c, "", 0);
        return;
    }
    if (c->argc == 2)
        rep_bulk(c, c->argv[1].p, c->argv[1].len);
    else
        rep_simple(c, "PONG");
}

void echo_cmd(client *c)
{
    rep_bulk(c, c->argv[1].p, c->argv[1].len);
}

/* ---- logins ---- */

typedef struct {
    client *c;          /* waiting client (may become a zombie) */
    acl_auth *job;      /* the acl's job */
    int hello;          /* reply as HELLO (else AUTH) */
    int proto;          /* HELLO protocol (0: unchanged) */
    char *setname;      /* HELLO SETNAME value (owned) */
    int has_setname;    /* SETNAME was given */
    workq *q;           /* the queue it runs on */
    int skipped;        /* cancelled at shutdown before its password was checked */
} login;

static void hello_reply(client *c)
{
    rep_map(c, 7);
    rep_cstr(c, "server");
    rep_cstr(c, "phidb");
    rep_cstr(c, "version");
    rep_cstr(c, REDIS_COMPAT_VERSION);
    rep_cstr(c, "proto");
    rep_int(c, c->proto);
    rep_cstr(c, "id");
    rep_int(c, (long long)c->id);
    rep_cstr(c, "mode");
    rep_cstr(c, "standalone");
    rep_cstr(c, "role");
    rep_cstr(c, "master");
    rep_cstr(c, "modules");
    rep_array(c, 0);
}

static int valid_name(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '!' || p[i] > '~') return 0;
    return 1;
}

static void set_name(client *c, const uint8_t *p, size_t n)
{
    mem_free(c->name);
    c->name = n ? mem_strndup((const char *)p, n) : NULL;
}

static const char *why_text(enum acl_auth_why why)
{
    switch (why) {
    case ACL_WHY_BADPASS: return "wrong password";
    case ACL_WHY_NOUSER: return "no such user";
    case ACL_WHY_DISABLED: return "user disabled";
    case ACL_WHY_LOCKED: return "user locked";
    default: return "";
    }
}

static void login_done_common(login *l, int ok)
{
    client *c = l->c;
    if (ok) {
        if (l->proto) c->proto = l->proto;
        if (l->has_setname) set_name(c, (const uint8_t *)l->setname, strlen(l->setname));
        if (l->hello)
            hello_reply(c);
        else
            rep_ok(c);
    } else {
        rep_err(c, "WRONGPASS invalid username-password pair or user is disabled.");
        /* (INFO commandstats counts the AUTH or HELLO as failed: client_unblock) */
    }
}

/* A session logged in as another user than user is switching: that one's name into prev
 * ("" when not). */
static void switching_from(client *c, const char *user, char *prev, size_t n)
{
    *prev = '\0';
    if ((c->flags & CL_AUTHED) && c->username && strcmp(c->username, user) != 0)
        snprintf(prev, n, "%s", c->username);
}

/* ... and once the new login stands, the previous user is logged out (an audit record). */
static void switched(client *c, const char *prev)
{
    if (*prev) cmd_audit_event(c->s, c, AUDIT_EV_LOGOUT, AUDIT_GRANTED, prev, "switch", NULL, NULL);
}

/* After a correct password: the user's other conditions (a client certificate whose CN
 * matches cert=, a TOTP code for mfa=totp), then the session. Returns NULL if the login
 * stands (possibly waiting for PHI.MFA), else why it is refused (for the audit record). */
static const char *accept_login(client *c, acl_user *u)
{
    const char *cert = acl_user_cert(u);
    if (cert) {
        char cn[256];
        if (!c->conn || conn_peer_cn(c->conn, cn, sizeof cn) != 0 || strcmp(cn, cert) != 0) {
            log_notice("login for user '%s' from %s refused: it needs a client certificate "
                       "for CN '%s'",
                       acl_user_name(u), c->addr, cert);
            return "cert";
        }
    }
    /* A subscribed connection logging in as another user keeps its subscriptions only if
     * the new user's channel rules allow them all (else the new user would receive what
     * its rules deny). */
    if (!pubsub_allowed(c, u)) {
        log_notice("login for user '%s' from %s on a connection with subscriptions that "
                   "user's channel rules do not allow: the connection is closed",
                   acl_user_name(u), c->addr);
        client_close_async(c);
        return "subscriptions";
    }
    client_set_user(c, u);
    if (acl_user_mfa(u) == ACL_MFA_TOTP) {
        /* The password is right; the session opens with PHI.MFA <code>. */
        c->flags &= ~CL_AUTHED;
        c->flags |= CL_MFA_PENDING;
    }
    cmd_policy_login(c);
    return NULL;
}

/* The reason a granted password login carries when the session still needs its TOTP code:
 * the login is complete only with the mfa record that follows. */
static const char *mfa_pending(const client *c)
{
    return (c->flags & CL_MFA_PENDING) ? "mfa-pending" : NULL;
}

static void login_work(void *ud)
{
    login *l = ud;
    if (workq_cancelled(l->q)) {
        l->skipped = 1; /* no failed login counted, nothing recorded: it never ran */
        return;
    }
    acl_auth_work(l->job);
}

static void login_done(void *ud)
{
    login *l = ud;
    client *c = l->c;
    srv *s = c->s;
    if (l->skipped) {
        s->st.auth_cancelled++;
        if (c->conn) rep_err(c, "ERR the server is shutting down");
        acl_auth_free(l->job);
        mem_free(l->setname);
        mem_free(l);
        client_unblock(c);
        return;
    }
    enum acl_auth_why why;
    int locked_now;
    int rc = acl_auth_finish(s->acl, l->job, &why, &locked_now);
    const char *user = acl_auth_user(l->job);
    if (rc == ACL_AUTH_OK) {
        s->st.auth_ok++;
        acl_user *u = acl_find(s->acl, (const uint8_t *)user, strlen(user));
        char prev[256];
        switching_from(c, user, prev, sizeof prev);
        const char *refused = u && c->conn ? accept_login(c, u) : NULL;
        if (refused) rc = ACL_AUTH_FAIL;
        if (rc == ACL_AUTH_OK) switched(c, prev);
        log_verbose("user %s authenticated from %s", user, c->addr);
        cmd_audit_event(s, c, AUDIT_EV_AUTH, rc == ACL_AUTH_OK ? AUDIT_GRANTED : AUDIT_DENIED, user,
                        "password", refused ? refused : mfa_pending(c), NULL);
    } else {
        cmd_audit_event(s, c, AUDIT_EV_AUTH, AUDIT_DENIED, user, "password", why_text(why),
                        NULL);
        if (locked_now)
            cmd_audit_event(s, c, AUDIT_EV_LOCKOUT, AUDIT_DENIED, user, "password", NULL, NULL);
        s->st.auth_fail++;
        /* A name that is no user may be a password typed into the wrong field: the plain
         * server log does not get it (the audit trail, which is encrypted, does). */
        if (why == ACL_WHY_NOUSER)
            log_notice("failed login for a user name that does not exist from %s", c->addr);
        else
            log_notice("failed login for user '%s' from %s (%s)", user, c->addr, why_text(why));
        if (locked_now) {
            s->st.lockouts++;
            log_warning("user '%s' locked for %d s after %d consecutive failed logins (last "
                        "from %s)",
                        user, s->cfg->auth_lockout_time, s->cfg->auth_max_failures, c->addr);
        }
        char info[512];
        buf b = {0};
        client_describe(c, &b);
        snprintf(info, sizeof info, "%s", buf_cstr(&b));
        buf_free(&b);
        acl_log_add(s->acl, "auth", "toplevel", (const uint8_t *)"AUTH", 4, user, info);
    }
    if (c->conn) login_done_common(l, rc == ACL_AUTH_OK);
    acl_auth_free(l->job);
    mem_free(l->setname);
    mem_free(l);
    client_unblock(c);
}

/* The client went away while its throttled login waited for its timer: the job (which
 * holds the password) is freed and the client's hold on its structure released. */
static void login_forget(client *c, void *ud)
{
    login *l = ud;
    acl_auth_free(l->job);
    mem_free(l->setname);
    mem_free(l);
    c->pending_jobs--; /* the caller frees the structure once none is left */
}

static long long login_delayed(ev_loop *loop, long long id, void *ud)
{
    (void)loop;
    (void)id;
    login *l = ud;
    l->c->reply_timer = 0;
    l->c->reply_timer_cancel = NULL;
    if (workq_submit(l->c->s->authq, login_work, login_done, l) != 0) {
        /* Queue full: fail this attempt without counting it against the user. */
        client *c = l->c;
        if (c->conn) rep_err(c, "ERR server busy: too many logins in progress, try again later");
        acl_auth_free(l->job);
        mem_free(l->setname);
        mem_free(l);
        client_unblock(c);
    }
    return -1;
}

/* Start a login for user/pass; replies now (cache hit) or later. */
static void start_login(client *c, const arg *user, const arg *pass, login *proto)
{
    srv *s = c->s;
    acl_auth *job = NULL;
    int rc = acl_auth_begin(s->acl, user->p, user->len, pass->p, pass->len, c->addr, &job);
    if (rc == ACL_AUTH_OK) {
        s->st.auth_ok++;
        s->st.auth_cached++;
        acl_user *u = acl_find(s->acl, user->p, user->len);
        char prev[256];
        switching_from(c, acl_user_name(u), prev, sizeof prev);
        const char *refused = accept_login(c, u);
        int ok = refused == NULL;
        if (ok) switched(c, prev);
        cmd_audit_event(s, c, AUDIT_EV_AUTH, ok ? AUDIT_GRANTED : AUDIT_DENIED, acl_user_name(u),
                        "password", refused ? refused : mfa_pending(c), NULL);
        login l = *proto;
        l.c = c;
        login_done_common(&l, ok);
        mem_free(proto->setname);
        return;
    }
    login *l = mem_alloc(sizeof *l);
    *l = *proto;
    l->c = c;
    l->job = job;
    l->q = s->authq;
    l->skipped = 0;
    client_block(c);
    long long delay = acl_auth_delay_ms(s->acl, c->addr);
    if (delay > 0) {
        c->reply_timer = ev_timer_add(s->loop, delay, login_delayed, l);
        c->reply_timer_cancel = login_forget;
        c->reply_timer_ud = l;
        return;
    }
    login_delayed(s->loop, 0, l);
}

void auth_cmd(client *c)
{
    if (c->argc > 3) {
        rep_syntax(c);
        return;
    }
    static const arg def = {(const uint8_t *)"default", 7};
    const arg *user = c->argc == 3 ? &c->argv[1] : &def;
    const arg *pass = c->argc == 3 ? &c->argv[2] : &c->argv[1];
    login proto = {0};
    start_login(c, user, pass, &proto);
}

void hello_cmd(client *c)
{
    long long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (str_to_ll(c->argv[1].p, c->argv[1].len, &ver) != 0) {
            rep_err(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            rep_err(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    const arg *user = NULL, *pass = NULL, *name = NULL;
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c, j, "auth") && more >= 2) {
            user = &c->argv[j + 1];
            pass = &c->argv[j + 2];
            j += 2;
        } else if (arg_is(c, j, "setname") && more >= 1) {
            name = &c->argv[j + 1];
            j++;
        } else {
            rep_errf(c, "ERR Syntax error in HELLO option '%.*s'",
                     (int)(c->argv[j].len > 64 ? 64 : c->argv[j].len),
                     (const char *)c->argv[j].p);
            return;
        }
    }
    if (name && !valid_name(name->p, name->len)) {
        rep_err(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    if (user) {
        login proto = {0};
        proto.hello = 1;
        proto.proto = (int)ver;
        if (name) {
            proto.has_setname = 1;
            proto.setname = mem_strndup((const char *)name->p, name->len);
        }
        start_login(c, user, pass, &proto);
        return;
    }
    if (!(c->flags & CL_AUTHED)) {
        rep_err(c, "NOAUTH HELLO must be called with the client already authenticated, "
                   "otherwise the HELLO AUTH <user> <pass> option can be used to "
                   "authenticate the client and select the RESP protocol version at the same "
                   "time");
        return;
    }
    if (name) set_name(c, name->p, name->len);
    if (ver) c->proto = (int)ver;
    hello_reply(c);
}

void quit_cmd(client *c)
{
    c->bye = "quit";
    rep_ok(c);
    c->flags |= CL_CLOSE_AFTER;
}

void reset_cmd(client *c)
{
    tx_reset(c);
    pubsub_unsubscribe_all(c);
    c->proto = 2;
    set_name(c, NULL, 0);
    if (c->username && (c->flags & (CL_AUTHED | CL_MFA_PENDING)))
        cmd_audit_event(c->s, c, AUDIT_EV_LOGOUT, AUDIT_GRANTED, NULL, "reset", NULL, NULL);
    c->user = NULL;
    mem_free(c->username);
    c->username = NULL;
    c->flags &= ~(CL_AUTHED | CL_MFA_PENDING);
    rep_simple(c, "RESET");
}

void select_cmd(client *c)
{
    long long idx;
    if (str_to_ll(c->argv[1].p, c->argv[1].len, &idx) != 0) {
        rep_err(c, "ERR value is not an integer or out of range");
        return;
    }
    if (idx != 0) {
        rep_err(c, "ERR DB index is out of range");
        return;
    }
    rep_ok(c);
}

/* ---- CLIENT ---- */

void client_id_cmd(client *c)
{
    rep_int(c, (long long)c->id);
}

void client_setname_cmd(client *c)
{
    if (!valid_name(c->argv[2].p, c->argv[2].len)) {
        rep_err(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_name(c, c->argv[2].p, c->argv[2].len);
    rep_ok(c);
}

void client_getname_cmd(client *c)
{
    if (c->name)
        rep_cstr(c, c->name);
    else
        rep_null(c);
}

void client_info_cmd(client *c)
{
    buf b = {0};
    client_describe(c, &b);
    buf_putc(&b, '\n');
    rep_verbatim(c, (const char *)b.p, b.len);
    buf_free(&b);
}

/* Client classes as Redis names them (CLIENT LIST TYPE, CLIENT KILL TYPE): 0 normal, 1 pubsub
 * (a client with subscriptions), 2 master or replica (phidb has none); -1 unknown. */
static int client_class_by_name(const arg *v)
{
    if (str_eq_nocase(v->p, v->len, "normal")) return 0;
    if (str_eq_nocase(v->p, v->len, "pubsub")) return 1;
    if (str_eq_nocase(v->p, v->len, "master") || str_eq_nocase(v->p, v->len, "replica") ||
        str_eq_nocase(v->p, v->len, "slave"))
        return 2;
    return -1;
}

static int client_class(const client *x)
{
    return client_subscribed(x) ? 1 : 0;
}

static void unknown_type(client *c, const arg *v)
{
    rep_errf(c, "ERR Unknown client type '%.*s'", (int)(v->len > 64 ? 64 : v->len),
             (const char *)v->p);
}

static void list_one(const client *x, buf *b)
{
    client_describe(x, b);
    buf_putc(b, '\n');
}

/* CLIENT LIST [TYPE type | ID id ...], with Redis's forms: TYPE takes exactly one value;
 * ID lists the clients in the order given (an id that is no client lists nothing). */
void client_list_cmd(client *c)
{
    buf b = {0};
    if (c->argc == 4 && arg_is(c, 2, "type")) {
        int type = client_class_by_name(&c->argv[3]);
        if (type < 0) {
            unknown_type(c, &c->argv[3]);
            return;
        }
        for (client *x = c->s->clients; x; x = x->next)
            if (!(x->flags & CL_HANDSHAKE) && client_class(x) == type) list_one(x, &b);
    } else if (c->argc > 3 && arg_is(c, 2, "id")) {
        for (int j = 3; j < c->argc; j++) {
            long long id;
            if (str_to_ll(c->argv[j].p, c->argv[j].len, &id) != 0) {
                rep_err(c, "ERR Invalid client ID");
                buf_free(&b);
                return;
            }
            for (client *x = c->s->clients; x; x = x->next)
                if (!(x->flags & CL_HANDSHAKE) && x->id == (uint64_t)id && id > 0) list_one(x, &b);
        }
    } else if (c->argc != 2) {
        rep_syntax(c);
        return;
    } else {
        for (client *x = c->s->clients; x; x = x->next)
            if (!(x->flags & CL_HANDSHAKE)) list_one(x, &b);
    }
    rep_verbatim(c, b.p ? (const char *)b.p : "", b.len);
    buf_free(&b);
}

void client_kill_cmd(client *c)
{
    srv *s = c->s;
    if (c->argc == 3) {
        /* Old form: CLIENT KILL addr:port */
        for (client *x = s->clients; x; x = x->next) {
            if (x->flags & (CL_CLOSE_ASAP | CL_HANDSHAKE)) continue;
            if (strlen(x->addr) == c->argv[2].len &&
                memcmp(x->addr, c->argv[2].p, c->argv[2].len) == 0) {
                if (x == c)
                    c->flags |= CL_CLOSE_AFTER;
                else
                    client_close_async(x);
                rep_ok(c);
                return;
            }
        }
        rep_err(c, "ERR No such client");
        return;
    }
    long long id = 0, maxage = 0;
    const arg *addr = NULL, *laddr = NULL, *user = NULL;
    int skipme = 1, type = -1;
    /* Filters are read in order, as Redis does: the first bad one is the error. */
    for (int j = 2; j < c->argc; j += 2) {
        if (j + 1 >= c->argc) {
            rep_syntax(c);
            return;
        }
        const arg *v = &c->argv[j + 1];
        if (arg_is(c, j, "id")) {
            if (str_to_ll(v->p, v->len, &id) != 0 || id <= 0) {
                rep_err(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (arg_is(c, j, "addr")) {
            addr = v;
        } else if (arg_is(c, j, "laddr")) {
            laddr = v;
        } else if (arg_is(c, j, "user")) {
            user = v;
            if (!acl_find(s->acl, v->p, v->len)) {
                rep_errf(c, "ERR No such user '%.*s'", (int)(v->len > 64 ? 64 : v->len),
                         (const char *)v->p);
                return;
            }
        } else if (arg_is(c, j, "type")) {
            type = client_class_by_name(v);
            if (type < 0) {
                unknown_type(c, v);
                return;
            }
        } else if (arg_is(c, j, "skipme")) {
            if (str_eq_nocase(v->p, v->len, "yes"))
                skipme = 1;
            else if (str_eq_nocase(v->p, v->len, "no"))
                skipme = 0;
            else {
                rep_syntax(c);
                return;
            }
        } else if (arg_is(c, j, "maxage")) {
            if (str_to_ll(v->p, v->len, &maxage) != 0 || maxage < 0) {
                rep_not_int(c);
                return;
            }
        } else {
            rep_syntax(c);
            return;
        }
    }
    long long killed = 0;
    long long now = clock_ms();
    for (client *x = s->clients; x; x = x->next) {
        if (x->flags & (CL_CLOSE_ASAP | CL_HANDSHAKE)) continue;
        if (id && x->id != (uint64_t)id) continue;
        if (type >= 0 && client_class(x) != type) continue;
        if (addr && !(strlen(x->addr) == addr->len && memcmp(x->addr, addr->p, addr->len) == 0))
            continue;
        if (laddr &&
            !(strlen(x->laddr) == laddr->len && memcmp(x->laddr, laddr->p, laddr->len) == 0))
            continue;
        if (user && !(x->username && strlen(x->username) == user->len &&
                      memcmp(x->username, user->p, user->len) == 0))
            continue;
        if (maxage && (now - x->ctime) / 1000 < maxage) continue;
        if (x == c && skipme) continue;
        if (x == c)
            c->flags |= CL_CLOSE_AFTER;
        else
            client_close_async(x);
        killed++;
    }
    rep_int(c, killed);
}

static void help_reply(client *c, const char *const *lines)
{
    size_t n = 0;
    while (lines[n])
        n++;
    rep_array(c, n);
    for (size_t i = 0; i < n; i++)
        rep_simple(c, lines[i]);
}

/* CLIENT NO-EVICT ON|OFF: phidb evicts no client (maxmemory-policy noeviction), so there is
 * nothing to protect; the syntax is Redis's. */
void client_noevict_cmd(client *c)
{
    if (arg_is(c, 2, "on"))
        c->flags |= CL_NO_EVICT;
    else if (arg_is(c, 2, "off"))
        c->flags &= ~CL_NO_EVICT;
    else {
        rep_syntax(c);
        return;
    }
    rep_ok(c);
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: phidb has no blocking commands (BLPOP ...), so no
 * client is ever blocked in one: 0. A login or a scan waiting for a worker thread is not
 * interrupted. */
void client_unblock_cmd(client *c)
{
    /* In Redis's order: the count, the reason, then the id. */
    if (c->argc > 4) {
        rep_errf(c,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT "
                 "HELP.",
                 (int)c->argv[1].len, (const char *)c->argv[1].p);
        return;
    }
    if (c->argc == 4 && !arg_is(c, 3, "timeout") && !arg_is(c, 3, "error")) {
        rep_err(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        return;
    }
    long long id;
    if (arg_ll(c, 2, &id) != 0) return;
    rep_int(c, 0);
}

/* CLIENT GETREDIR and TRACKINGINFO: client-side caching (CLIENT TRACKING) is not offered,
 * so tracking is always off, as Redis reports it for a connection that did not turn it on. */
void client_getredir_cmd(client *c)
{
    rep_int(c, -1);
}

void client_trackinginfo_cmd(client *c)
{
    rep_map(c, 3);
    rep_bulk(c, "flags", 5);
    rep_set(c, 1);
    rep_bulk(c, "off", 3);
    rep_bulk(c, "redirect", 8);
    rep_int(c, -1);
    rep_bulk(c, "prefixes", 8);
    rep_array(c, 0);
}

void client_help_cmd(client *c)
{
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, USER, TYPE, SKIPME, MAXAGE.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "HELP",
        "    Prints this help.",
        NULL};
    help_reply(c, lines);
}

/* Shared with cmd_server.c and cmd_acl.c. */
void cmd_help_reply(client *c, const char *const *lines)
{
    help_reply(c, lines);
}
