/*
 * cmd_acl: the ACL command family. ACL SETUSER with passwords hashes them on a
 * worker thread (the client waits, others do not); disabling or deleting a
 * user closes its open connections.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "cmd/cmd_audit.h"
#include "cmd/cmd_policy.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"


typedef struct {
    client *c;   /* waiting client */
    acl_op *op;  /* parsed change */
    workq *q;    /* the queue it runs on */
    int skipped; /* cancelled at shutdown: the change is not made */
} setuser_job;

static void setuser_finish(client *c, acl_op *op, const char *name)
{
    srv *s = c->s;
    char err[512];
    buf before = {0}, after = {0};
    acl_user *u = acl_find(s->acl, (const uint8_t *)name, strlen(name));
    if (u) acl_describe(s->acl, u, &before, 0);
    char role_before[80];
    snprintf(role_before, sizeof role_before, "%s", u && acl_user_role(u) ? acl_user_role(u) : "");
    if (acl_op_check(s->acl, op, err, sizeof err) != 0 ||
        acl_op_apply(s->acl, op, err, sizeof err) != 0) {
        buf_free(&before);
        /* The attempt is recorded as a change would be (the error holds no password). */
        cmd_audit_change_failed(s, c, AUDIT_EV_ACL, "setuser", name, err);
        if (c->conn) rep_errf(c, "ERR %s", err);
        return;
    }
    u = acl_find(s->acl, (const uint8_t *)name, strlen(name));
    if (u) acl_describe(s->acl, u, &after, 0);
    cmd_audit_change(s, c, AUDIT_EV_ACL, "setuser", name, before.len ? buf_cstr(&before) : NULL,
                     after.len ? buf_cstr(&after) : NULL);
    buf_free(&before);
    buf_free(&after);
    if (u && !acl_user_enabled(u)) client_kill_user(s, name, NULL);
    /* A new role: the user's sessions take its default purpose (docs/policy.md 2.1), as at
     * login; a purpose of the old role would be refused on every access. */
    const char *role_now = u && acl_user_role(u) ? acl_user_role(u) : "";
    if (u && strcmp(role_before, role_now) != 0)
        for (client *x = s->clients; x; x = x->next)
            if (x->username && strcmp(x->username, name) == 0) cmd_policy_login(x);
    if (u) pubsub_kill_disallowed(s, name);
    log_notice("ACL SETUSER %s by user %s", name, c->username ? c->username : "?");
    if (c->conn) rep_ok(c);
}

static void setuser_work(void *ud)
{
    setuser_job *j = ud;
    if (workq_cancelled(j->q)) {
        j->skipped = 1;
        return;
    }
    acl_op_work(j->op);
}

static void setuser_done(void *ud)
{
    setuser_job *j = ud;
    if (j->skipped) {
        if (j->c->conn) rep_err(j->c, "ERR the server is shutting down: the change was not made");
    } else {
        setuser_finish(j->c, j->op, acl_op_name(j->op));
    }
    acl_op_free(j->op);
    client *c = j->c;
    mem_free(j);
    client_unblock(c);
}

void acl_setuser_cmd(client *c)
{
    srv *s = c->s;
    int n = c->argc - 3;
    const uint8_t **rules = mem_alloc(sizeof(uint8_t *) * (size_t)(n ? n : 1));
    size_t *lens = mem_alloc(sizeof(size_t) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        rules[i] = c->argv[3 + i].p;
        lens[i] = c->argv[3 + i].len;
    }
    acl_op *op;
    char err[512];
    int rc = acl_op_parse(s->acl, c->argv[2].p, c->argv[2].len, rules, lens, n, &op, err,
                          sizeof err);
    mem_free(rules);
    mem_free(lens);
    if (rc != 0) {
        rep_errf(c, "ERR %s", err);
        return;
    }
    if (!acl_op_needs_work(op)) {
        setuser_finish(c, op, acl_op_name(op));
        acl_op_free(op);
        return;
    }
    setuser_job *j = mem_alloc(sizeof *j);
    j->c = c;
    j->op = op;
    j->q = s->authq;
    j->skipped = 0;
    client_block(c);
    if (workq_submit(s->authq, setuser_work, setuser_done, j) != 0) {
        rep_err(c, "ERR server busy: too many password operations in progress, try again later");
        acl_op_free(op);
        mem_free(j);
        client_unblock(c);
    }
}

void acl_getuser_cmd(client *c)
{
    acl_user *u = acl_find(c->s->acl, c->argv[2].p, c->argv[2].len);
    if (!u) {
        rep_null(c);
        return;
    }
    rep_map(c, 7);
    rep_cstr(c, "flags");
    rep_set(c, 1);
    rep_cstr(c, acl_user_enabled(u) ? "on" : "off");
    rep_cstr(c, "passwords");
    size_t np = acl_user_password_count(u);
    rep_array(c, np);
    for (size_t i = 0; i < np; i++)
        rep_cstr(c, "<argon2id hash hidden>");
    buf b = {0};
    rep_cstr(c, "commands");
    acl_describe_commands(c->s->acl, u, &b);
    rep_bulk(c, b.p ? (const char *)b.p : "", b.len);
    b.len = 0;
    rep_cstr(c, "keys");
    acl_describe_keys(u, &b);
    rep_bulk(c, b.p ? (const char *)b.p : "", b.len);
    b.len = 0;
    rep_cstr(c, "channels");
    acl_describe_channels(u, &b);
    rep_bulk(c, b.p ? (const char *)b.p : "", b.len);
    buf_free(&b);
    rep_cstr(c, "selectors");
    rep_array(c, 0);
    rep_cstr(c, "locked");
    rep_int(c, acl_user_locked(u, clock_ms()) ? 1 : 0);
}

void acl_deluser_cmd(client *c)
{
    long long n = 0;
    for (int i = 2; i < c->argc; i++) {
        char name[130];
        snprintf(name, sizeof name, "%.*s", (int)(c->argv[i].len > 128 ? 128 : c->argv[i].len),
                 (const char *)c->argv[i].p);
        buf before = {0};
        acl_user *u = acl_find(c->s->acl, c->argv[i].p, c->argv[i].len);
        if (u) acl_describe(c->s->acl, u, &before, 0);
        if (acl_deluser(c->s->acl, c->argv[i].p, c->argv[i].len)) {
            n++;
            cmd_audit_change(c->s, c, AUDIT_EV_ACL, "deluser", name,
                             before.len ? buf_cstr(&before) : NULL, NULL);
            client_kill_user(c->s, name, NULL);
            log_notice("ACL DELUSER %s by user %s", name, c->username ? c->username : "?");
        }
        buf_free(&before);
    }
    if (n) cmd_breakglass_orphans(c->s, c);
    rep_int(c, n);
}

void acl_list_cmd(client *c)
{
    acl *a = c->s->acl;
    size_t n = acl_user_count(a);
    rep_array(c, n);
    buf b = {0};
    for (size_t i = 0; i < n; i++) {
        b.len = 0;
        acl_describe(a, acl_user_at(a, i), &b, 0);
        rep_bulk(c, b.p, b.len);
    }
    buf_free(&b);
}

void acl_users_cmd(client *c)
{
    acl *a = c->s->acl;
    size_t n = acl_user_count(a);
    rep_array(c, n);
    for (size_t i = 0; i < n; i++)
        rep_cstr(c, acl_user_name(acl_user_at(a, i)));
}

void acl_whoami_cmd(client *c)
{
    rep_cstr(c, c->username ? c->username : "");
}

/* Too many arguments for an ACL subcommand, in Redis's words. */
static void acl_sub_syntax(client *c)
{
    rep_errf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try ACL HELP.",
             (int)(c->argv[1].len > 64 ? 64 : c->argv[1].len), (const char *)c->argv[1].p);
}

void acl_cat_cmd(client *c)
{
    if (c->argc > 3) {
        acl_sub_syntax(c);
        return;
    }
    if (c->argc == 2) {
        rep_array(c, ACL_CAT_COUNT);
        for (int i = 0; i < ACL_CAT_COUNT; i++)
            rep_cstr(c, acl_category_name(i));
        return;
    }
    int cat = -1;
    for (int i = 0; i < ACL_CAT_COUNT; i++)
        if (str_eq_nocase(c->argv[2].p, c->argv[2].len, acl_category_name(i))) cat = i;
    if (cat < 0) {
        rep_errf(c, "ERR Unknown category '%.*s'", (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len),
                 (const char *)c->argv[2].p);
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < c->s->ncatalog; i++)
        if (c->s->catalog[i].categories & (1ULL << cat)) count++;
    rep_array(c, count);
    for (size_t i = 0; i < c->s->ncatalog; i++)
        if (c->s->catalog[i].categories & (1ULL << cat)) rep_cstr(c, c->s->catalog[i].name);
}

void acl_genpass_cmd(client *c)
{
    long long bits = 256;
    if (c->argc > 3) {
        acl_sub_syntax(c);
        return;
    }
    if (c->argc == 3 && str_to_ll(c->argv[2].p, c->argv[2].len, &bits) != 0) {
        rep_not_int(c);
        return;
    }
    if (bits <= 0 || bits > 4096) {
        rep_err(c, "ERR ACL GENPASS argument must be the number of bits for the output "
                   "password, a positive number up to 4096");
        return;
    }
    size_t chars = (size_t)(bits + 3) / 4;
    uint8_t raw[512];
    char hex[1025];
    if (RAND_bytes(raw, (int)((chars + 1) / 2)) != 1) {
        rep_err(c, "ERR the random generator failed: no password was made");
        return;
    }
    for (size_t i = 0; i < chars; i++)
        hex[i] = "0123456789abcdef"[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 15];
    rep_bulk(c, hex, chars);
    explicit_bzero(raw, sizeof raw);
    explicit_bzero(hex, sizeof hex);
}

void acl_log_cmd(client *c)
{
    acl *a = c->s->acl;
    long long count = 10;
    if (c->argc > 3) {
        acl_sub_syntax(c);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(c, 2, "reset")) {
            acl_log_reset(a);
            rep_ok(c);
            return;
        }
        if (str_to_ll(c->argv[2].p, c->argv[2].len, &count) != 0) {
            rep_not_int(c);
            return;
        }
        if (count < 0) count = 0; /* as Redis */
    }
    size_t n = acl_log_len(a);
    if ((size_t)count < n) n = (size_t)count;
    long long now = clock_ms();
    rep_array(c, n);
    for (size_t i = 0; i < n; i++) {
        acl_log_view v;
        acl_log_get(a, i, &v);
        rep_map(c, 7);
        rep_cstr(c, "count");
        rep_int(c, v.count);
        rep_cstr(c, "reason");
        rep_cstr(c, v.reason);
        rep_cstr(c, "context");
        rep_cstr(c, v.context);
        rep_cstr(c, "object");
        rep_cstr(c, v.object);
        rep_cstr(c, "username");
        rep_cstr(c, v.user);
        rep_cstr(c, "age-seconds");
        rep_double(c, (double)(now - v.created_ms) / 1000.0);
        rep_cstr(c, "client-info");
        rep_cstr(c, v.client);
    }
}

void acl_save_cmd(client *c)
{
    char err[512];
    if (acl_save_file(c->s->acl, c->s->cfg->aclfile, err, sizeof err) != 0) {
        log_warning("ACL SAVE failed: %s", err);
        rep_errf(c, "ERR There was an error trying to save the ACLs: %s", err);
        return;
    }
    cmd_audit_change(c->s, c, AUDIT_EV_ACL, "save", c->s->cfg->aclfile, NULL, NULL);
    rep_ok(c);
}

void cmd_acl_loaded(srv *s)
{
    cmd_values_nonces_commit(s, "the users file");
    size_t n = acl_plain_subjects(s->acl);
    if (!n) return;
    char err[512];
    if (acl_save_file(s->acl, s->cfg->aclfile, err, sizeof err) != 0)
        log_warning("the users file %s holds %zu subject%s in plaintext, and writing it again "
                    "sealed failed: %s",
                    s->cfg->aclfile, n, n == 1 ? "" : "s", err);
    else
        log_notice("the users file %s held %zu subject%s in plaintext; written again with "
                   "them sealed (subject-sealed=)",
                   s->cfg->aclfile, n, n == 1 ? "" : "s");
}

void acl_load_cmd(client *c)
{
    char err[512];
    if (acl_load_file(c->s->acl, c->s->cfg->aclfile, err, sizeof err) != 0) {
        rep_errf(c, "ERR %s", err);
        return;
    }
    cmd_acl_loaded(c->s);
    cmd_audit_change(c->s, c, AUDIT_EV_ACL, "load", c->s->cfg->aclfile, NULL, NULL);
    /* Users may be gone or replaced: every client re-resolves its user (and goes if it
     * no longer exists) on its next command; do it now for those that are idle. */
    for (client *x = c->s->clients; x; x = x->next)
        if (x->username && x != c) client_refresh_user(x);
    if (c->username) client_refresh_user(c);
    pubsub_kill_disallowed(c->s, NULL);
    cmd_breakglass_orphans(c->s, c);
    rep_ok(c);
}

void acl_dryrun_cmd(client *c)
{
    acl_user *u = acl_find(c->s->acl, c->argv[2].p, c->argv[2].len);
    if (!u) {
        rep_errf(c, "ERR User '%.*s' not found", (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len),
                 (const char *)c->argv[2].p);
        return;
    }
    const cmd_def *parent;
    const cmd_def *d = cmd_resolve(c->argv + 3, c->argc - 3, &parent);
    if (!d) {
        rep_errf(c, "ERR Command '%.*s' not found", (int)(c->argv[3].len > 64 ? 64 : c->argv[3].len),
                 (const char *)c->argv[3].p);
        return;
    }
    int argc = c->argc - 3;
    if (d->arity > 0 ? argc != d->arity : argc < -d->arity) {
        rep_errf(c, "ERR wrong number of arguments for '%s' command", d->name);
        return;
    }
    int keyidx = 0;
    int denied = cmd_access_denied(u, d, c->argv + 3, argc, &keyidx);
    char full[96];
    cmd_fullname(d, parent, full, sizeof full);
    if (denied == 1) {
        char msg[256];
        snprintf(msg, sizeof msg, "This user has no permissions to run the '%s' command", full);
        rep_cstr(c, msg);
    } else if (denied == 2 || denied == 3) {
        buf b = {0};
        buf_printf(&b, "This user has no permissions to access the '");
        buf_append(&b, c->argv[3 + keyidx].p, c->argv[3 + keyidx].len);
        buf_puts(&b, denied == 2 ? "' key" : "' channel");
        rep_bulk(c, b.p, b.len);
        buf_free(&b);
    } else {
        rep_ok(c);
    }
}

void acl_help_cmd(client *c)
{
    static const char *const lines[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details (password hashes are never shown).",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes (phidb also accepts",
        "    'unlock' to end a lockout; 'nopass' is refused).",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
