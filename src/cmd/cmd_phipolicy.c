/*
 * cmd_phipolicy: PHI.POLICY, PHI.PURPOSE, PHI.BREAKGLASS, PHI.FIND and PHI.MFA
 * (docs/policy.md, sections 2.1, 2.4, 2.8, 2.10 and 4).
 */
#include "cmd_audit.h"
#include "cmd_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "access/policy_totp.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

/* The policy as PHI.POLICY SHOW gives it, for the record of a change: the text itself when
 * short (schemas and roles, no PHI), else its SHA-256 (a record must stay a reasonable line
 * for the SIEM). */
#define POLICY_TEXT_IN_RECORD 4096
static json_t *policy_for_record(const policy *p)
{
    if (!p) return json_null();
    buf b = {0};
    policy_show(p, &b);
    json_t *v;
    if (b.len <= POLICY_TEXT_IN_RECORD) {
        v = json_stringn((const char *)b.p, b.len);
    } else {
        uint8_t h[32];
        char hex[65];
        SHA256(b.p, b.len, h);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", h[i]);
        v = json_pack("{s:s,s:I}", "sha256", hex, "bytes", (json_int_t)b.len);
    }
    buf_free(&b);
    return v;
}

int cmd_policy_reload_recorded(srv *s, client *c, const char *user, char *err, size_t errlen)
{
    json_t *old = policy_for_record(s->pol);
    if (cmd_policy_reload(s, err, errlen) != 0) {
        json_decref(old);
        cmd_audit_event(s, c, AUDIT_EV_POLICY, AUDIT_FAILED, user, "reload", err, NULL);
        return -1;
    }
    /* What changed: the policy before and after (README: old and new values). */
    json_t *d = json_pack("{s:I,s:o,s:o}", "generation", (json_int_t)policy_generation(s->pol),
                          "old", old, "new", policy_for_record(s->pol));
    char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    cmd_audit_event(s, c, AUDIT_EV_POLICY, AUDIT_GRANTED, user, "reload", NULL, detail);
    free(detail);
    return 0;
}

void phi_policy_reload_cmd(client *c)
{
    char err[1200];
    if (cmd_policy_reload_recorded(c->s, c, NULL, err, sizeof err) != 0) {
        rep_errf(c, "ERR %s", err);
        return;
    }
    rep_ok(c);
}

void phi_policy_show_cmd(client *c)
{
    if (!c->s->pol) {
        rep_verbatim(c, "# no policy-file is configured: keys are governed by the ACL alone\n", 67);
        return;
    }
    buf b = {0};
    policy_show(c->s->pol, &b);
    rep_verbatim(c, (const char *)b.p, b.len);
    buf_free(&b);
}

void phi_policy_help_cmd(client *c)
{
    static const char *const lines[] = {
        "PHI.POLICY <subcommand>. Subcommands are:",
        "RELOAD",
        "    Read policy-file again; a bad file is refused with its line and the old policy",
        "    stays.",
        "SHOW",
        "    The policy in force, as a policy file with every default spelled out.",
        NULL};
    cmd_help_reply(c, lines);
}

void phi_purpose_cmd(client *c)
{
    if (c->argc == 1) {
        rep_cstr(c, policy_purpose_name(c->purpose));
        return;
    }
    if (c->argc != 2) {
        rep_arity(c);
        return;
    }
    int p = policy_purpose_find(c->argv[1].p, c->argv[1].len);
    if (p < 0) {
        rep_errf(c,
                 "ERR unknown purpose '%.*s' (treatment, payment, operations, research, "
                 "public-health, legal, emergency)",
                 (int)(c->argv[1].len > 32 ? 32 : c->argv[1].len), (const char *)c->argv[1].p);
        return;
    }
    const policy_role *r = NULL;
    if (c->s->pol && c->user) {
        const char *name = acl_user_role(c->user);
        if (name) r = policy_role_find(c->s->pol, (const uint8_t *)name, strlen(name));
    }
    if (r && !policy_purpose_ok(r, (enum policy_purpose)p)) {
        buf b = {0};
        policy_deny_message(&b, POLICY_DENY_PURPOSE, r, NULL, NULL, 0, NULL, POLICY_READ, p);
        rep_err(c, buf_cstr(&b));
        buf_free(&b);
        return;
    }
    c->purpose = p;
    rep_ok(c);
}

void phi_breakglass_cmd(client *c)
{
    srv *s = c->s;
    const policy_role *r = NULL;
    if (s->pol && c->user) {
        const char *name = acl_user_role(c->user);
        if (name) r = policy_role_find(s->pol, (const uint8_t *)name, strlen(name));
    }
    if (!r || !policy_role_breakglass(r)) {
        buf b = {0};
        /* Without a role too: its text says "no role that may use break-glass access". */
        policy_deny_message(&b, POLICY_DENY_BREAKGLASS, r, NULL, NULL, 0, NULL, POLICY_READ,
                            c->purpose);
        rep_err(c, buf_cstr(&b));
        buf_free(&b);
        return;
    }
    buf reason = {0};
    for (int i = 2; i < c->argc; i++) {
        if (i > 2) buf_putc(&reason, ' ');
        buf_append(&reason, c->argv[i].p, c->argv[i].len);
    }
    policy_grant g;
    char err[256];
    long long now = clock_ms();
    int rc = policy_grant_add(s->grants, c->username, c->argv[1].p, c->argv[1].len,
                              reason.p ? reason.p : (const uint8_t *)"", reason.len,
                              (long long)s->cfg->breakglass_ttl * 1000, now, &g, err, sizeof err);
    audit_rec ar = {0};
    ar.type = AUDIT_EV_BREAKGLASS;
    ar.action = "grant";
    ar.subject = (const char *)c->argv[1].p;
    ar.subjectlen = c->argv[1].len;
    buf_putc(&reason, '\0');
    ar.reason = rc == 0 ? (const char *)reason.p : err;
    ar.result = rc == 0 ? AUDIT_GRANTED : AUDIT_FAILED;
    ar.emergency = rc == 0 ? g.id : NULL;
    char detail[64];
    if (rc == 0) {
        snprintf(detail, sizeof detail, "{\"expires\":%lld}", g.expires_ms / 1000);
        ar.detail = detail;
    }
    cmd_audit_record(s, c, &ar);
    buf_wipe_free(&reason);
    if (rc != 0) {
        rep_errf(c, "ERR %s", err);
        return;
    }
    log_warning("break-glass grant %s to user %s (role %s) for %lld s", g.id, c->username,
                policy_role_name(r), (long long)s->cfg->breakglass_ttl);
    c->pv.emergency = 1;
    snprintf(c->pv.grant_id, sizeof c->pv.grant_id, "%s", g.id);
    rep_array(c, 2);
    rep_cstr(c, g.id);
    rep_int(c, g.expires_ms / 1000);
}

void phi_breakglass_list_cmd(client *c)
{
    srv *s = c->s;
    long long now = clock_ms();
    size_t n = s->grants ? policy_grants_count(s->grants, now) : 0;
    rep_array(c, n);
    for (size_t i = 0; i < n; i++) {
        policy_grant g;
        if (policy_grant_at(s->grants, i, now, &g) != 0) {
            rep_null(c);
            continue;
        }
        rep_map(c, 6);
        rep_cstr(c, "id");
        rep_cstr(c, g.id);
        rep_cstr(c, "user");
        rep_cstr(c, g.user);
        rep_cstr(c, "subject");
        rep_bulk(c, g.subject, g.subject_len);
        rep_cstr(c, "reason");
        rep_bulk(c, g.reason, g.reason_len);
        rep_cstr(c, "created");
        rep_int(c, g.created_ms / 1000);
        rep_cstr(c, "expires");
        rep_int(c, g.expires_ms / 1000);
    }
}

void phi_breakglass_revoke_cmd(client *c)
{
    char err[256];
    int rc = policy_grant_revoke(c->s->grants, (const char *)c->argv[2].p, c->argv[2].len,
                                 clock_ms(), err, sizeof err);
    if (rc < 0) {
        rep_errf(c, "ERR grant revoked but not saved: %s", err);
        return;
    }
    if (rc == 1) {
        log_warning("break-glass grant %.*s revoked by user %s", (int)c->argv[2].len,
                    (const char *)c->argv[2].p, c->username ? c->username : "?");
        char id[40];
        snprintf(id, sizeof id, "%.*s", (int)(c->argv[2].len < 32 ? c->argv[2].len : 32),
                 (const char *)c->argv[2].p);
        audit_rec ar = {0};
        ar.type = AUDIT_EV_BREAKGLASS;
        ar.action = "revoke";
        ar.result = AUDIT_GRANTED;
        ar.emergency = id;
        cmd_audit_record(c->s, c, &ar);
    }
    rep_int(c, rc);
}

/* ---- grants of deleted users ---- */

typedef struct {
    srv *s;
    client *c;
} orphan_ctx;

static int user_exists(void *ud, const char *user)
{
    orphan_ctx *x = ud;
    return acl_find(x->s->acl, (const uint8_t *)user, strlen(user)) != NULL;
}

static void grant_dropped(void *ud, const char *id, const char *user)
{
    orphan_ctx *x = ud;
    log_warning("break-glass grant %s of user %s revoked: the user no longer exists", id, user);
    audit_rec ar = {0};
    ar.type = AUDIT_EV_BREAKGLASS;
    ar.action = "revoke";
    ar.result = AUDIT_GRANTED;
    ar.emergency = id;
    ar.reason = "user-deleted";
    /* The record's user is who deleted (or reloaded: none at start-up); the holder is in
     * detail, as JSON (a name that is not UTF-8 in hex). */
    json_t *o = json_object();
    json_t *h = json_string(user);
    if (h) {
        json_object_set_new(o, "holder", h);
    } else {
        char hex[2 * 128 + 1];
        size_t n = strlen(user) > 128 ? 128 : strlen(user);
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)user[i]);
        hex[2 * n] = '\0';
        json_object_set_new(o, "holder_hex", json_string(hex));
    }
    char *dt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ar.detail = dt;
    cmd_audit_record(x->s, x->c, &ar);
    free(dt);
}

void cmd_breakglass_orphans(srv *s, client *c)
{
    if (!s->grants) return;
    orphan_ctx x = {s, c};
    char err[256];
    if (policy_grants_drop_users(s->grants, user_exists, grant_dropped, &x, err, sizeof err) < 0)
        log_warning("break-glass grants of deleted users revoked but not saved: %s", err);
}

typedef struct {
    client *c;
    buf keys;
    size_t n;
    const policy_role *r;
} find_ctx;

static void found_key(void *ud, const uint8_t *key, size_t klen)
{
    find_ctx *x = ud;
    client *c = x->c;
    if (c->user && !acl_can_key(c->user, key, klen, ACL_KEY_READ)) return;
    const uint8_t *name;
    size_t nlen;
    char pseudo[192];
    c->pv.keyenum = 1;
    c->pv.role = x->r;
    int listed = pv_key_listed(c, key, klen, &name, &nlen, pseudo);
    c->pv.keyenum = 0;
    if (!listed) return;
    resp_bulk(&x->keys, name, nlen);
    x->n++;
}

int cmd_phi_find_check(client *c, const policy_role *r)
{
    srv *s = c->s;
    const policy_type *t = policy_type_find(s->pol, c->argv[1].p, c->argv[1].len);
    const policy_field *f = t ? policy_type_field(t, c->argv[2].p, c->argv[2].len) : NULL;
    if (!f || !policy_field_indexed(f)) return 0;
    const char *group = NULL;
    int rc = r ? policy_can(r, NULL, f, POLICY_READ, &group) : POLICY_DENY_NO_ROLE;
    if (rc == POLICY_ALLOW && !policy_purpose_ok(r, (enum policy_purpose)c->purpose))
        rc = POLICY_DENY_PURPOSE;
    if (rc != POLICY_ALLOW)
        return cmd_policy_refuse_read(c, rc, c->argv[2].p, c->argv[2].len, group);
    /* A de-identified role sees a date as its year, an age over 89 as "90+", a ZIP as three
     * digits, text redacted: looking a record up by the exact value would give back what the
     * view hides (a birth date, one guess at a time). Only fields the view keeps as stored
     * (no PHI kind) may be looked up. */
    if (policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED &&
        policy_field_kind(f) != POLICY_KIND_NONE) {
        rep_errf(c,
                 "NOPERM field '%.*s' is shown transformed in the de-identified view of role "
                 "'%s': records may not be looked up by its value",
                 (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len), (const char *)c->argv[2].p,
                 policy_role_name(r));
        c->pv.denied = POLICY_DENY_DEID;
        return -1;
    }
    return 0;
}

/* PHI.FIND type field value. Its policy decision was taken before it ran
 * (cmd_phi_find_check); what is left are the errors of a type or field it cannot look up
 * by, which the audit record shows as failed. */
void phi_find_cmd(client *c)
{
    srv *s = c->s;
    if (!s->pol) {
        rep_err(c, "ERR no policy-file is configured: there are no record types");
        return;
    }
    const policy_type *t = policy_type_find(s->pol, c->argv[1].p, c->argv[1].len);
    if (!t) {
        rep_errf(c, "ERR unknown record type '%.*s'",
                 (int)(c->argv[1].len > 64 ? 64 : c->argv[1].len), (const char *)c->argv[1].p);
        return;
    }
    const policy_field *f = policy_type_field(t, c->argv[2].p, c->argv[2].len);
    if (!f || !policy_field_indexed(f)) {
        rep_errf(c, "ERR field '%.*s' of '%s' has no blind index",
                 (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len), (const char *)c->argv[2].p,
                 policy_type_name(t));
        return;
    }
    const policy_role *r = c->pv.role; /* allowed: cmd_phi_find_check */
    uint8_t hmac[32];
    if (policy_blind_value(s->keys, keyring_current(s->keys, KR_INDEX), f, c->argv[3].p,
                           c->argv[3].len, hmac) != 0) {
        rep_array(c, 0);
        return;
    }
    find_ctx x = {c, {0}, 0, r};
    policy_index_find(s->pix, f, hmac, found_key, &x);
    /* Pseudonyms in the index's order would tell the order the records were written in
     * (sequential record numbers, admissions). */
    if (r && policy_role_view(r) == POLICY_VIEW_DEIDENTIFIED) sort_bulks(&x.keys, x.n, 1);
    rep_array(c, x.n);
    buf_append(&c->out, x.keys.p, x.keys.len);
    buf_free(&x.keys);
}

/* A user holding a live break-glass grant may not write a record's subject field to a
 * subject it holds a grant for: the grant follows the record's subject, so that would open
 * another patient's record to it (HSET patient:B id <A>, read B, set it back). HINCRBY and
 * HINCRBYFLOAT of the subject field (the value they make is not in the command) are refused
 * while it holds any live grant. (Declared in cmd_policy.h: the policy's write check.) */
int cmd_breakglass_write_ok(client *c, const cmd_def *d, const policy_schema *sch)
{
    srv *s = c->s;
    long long now = clock_ms();
    if (!s->grants || !c->username || !policy_grants_user_has(s->grants, c->username, now))
        return 1;
    const char *sf = policy_schema_subject(sch);
    size_t sfl = strlen(sf);
    int refuse = 0;
    if (d->proc == hincrby_cmd || d->proc == hincrbyfloat_cmd) {
        refuse = c->argc > 2 && c->argv[2].len == sfl && memcmp(c->argv[2].p, sf, sfl) == 0;
    } else if (d->proc == hset_cmd || d->proc == hmset_cmd || d->proc == hsetnx_cmd) {
        for (int i = 2; i + 1 < c->argc && !refuse; i += 2) {
            policy_grant g;
            refuse = c->argv[i].len == sfl && memcmp(c->argv[i].p, sf, sfl) == 0 &&
                     policy_grant_check(s->grants, c->username, c->argv[i + 1].p,
                                        c->argv[i + 1].len, now, &g);
            if (d->proc == hsetnx_cmd) break;
        }
    }
    if (!refuse) return 1;
    rep_errf(c,
             "NOPERM this user holds a break-glass grant: it may not set a record's subject "
             "field ('%s') to a subject it holds a grant for%s",
             sf,
             d->proc == hset_cmd || d->proc == hmset_cmd || d->proc == hsetnx_cmd
                 ? ""
                 : ", nor change it by arithmetic");
    c->pv.denied = POLICY_DENY_BREAKGLASS;
    snprintf(c->pv.denied_why, sizeof c->pv.denied_why, "breakglass-subject");
    return 0;
}

void phi_mfa_cmd(client *c)
{
    srv *s = c->s;
    if (!(c->flags & CL_MFA_PENDING) || !c->user) {
        rep_err(c, "ERR no TOTP code is expected on this connection");
        return;
    }
    int locked_now = 0;
    int rc = policy_mfa_verify(s->acl, c->user, s->values, c->argv[1].p, c->argv[1].len, clock_ms(),
                               s->totp_floor, &locked_now);
    if (rc == POLICY_TOTP_OK) {
        /* Kept for the next start, so that no code is accepted twice across a restart, and
         * for users made from now on (a deleted user made again). */
        long long step = acl_user_totp_step(c->user);
        acl_set_totp_floor(s->acl, step);
        if (step > s->totp_floor_saved) {
            if (policy_totp_floor_save(s->totp_floor_path, step) == 0)
                s->totp_floor_saved = step;
            else
                log_warning("cannot write %s (%s): a TOTP code accepted now could be accepted "
                            "again after a restart",
                            s->totp_floor_path, strerror(errno));
        }
        c->flags &= ~CL_MFA_PENDING;
        c->flags |= CL_AUTHED;
        cmd_policy_login(c);
        log_verbose("user %s completed MFA from %s", c->username, c->addr);
        cmd_audit_event(s, c, AUDIT_EV_MFA, AUDIT_GRANTED, NULL, "totp", NULL, NULL);
        rep_ok(c);
        return;
    }
    s->st.auth_fail++;
    log_notice("failed TOTP code for user '%s' from %s", c->username, c->addr);
    cmd_audit_event(s, c, AUDIT_EV_MFA, AUDIT_DENIED, NULL, "totp",
                    rc == POLICY_TOTP_REPLAY ? "replay" : "bad-code", NULL);
    if (locked_now) {
        cmd_audit_event(s, c, AUDIT_EV_LOCKOUT, AUDIT_DENIED, NULL, "totp", NULL, NULL);
        s->st.lockouts++;
        log_warning("user '%s' locked after consecutive failed logins (TOTP, last from %s)",
                    c->username, c->addr);
    }
    rep_err(c, "WRONGPASS invalid TOTP code");
}
