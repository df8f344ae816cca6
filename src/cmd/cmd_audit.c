/*
 * cmd_audit: what the server records in the audit trail (see cmd_audit.h).
 */
#include "cmd_audit.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "audit/alert.h"
#include "audit/audit_conf.h"
#include "cmd/cmd_backup.h"
#include "cmd/cmd_policy.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

/* Longest key, subject and field name a record holds: a client must not be able to make a
 * record too big for the trail (a key may be 512 MB). Longer ones are cut, and the record
 * says how long they were. */
#define MAX_NAME 1024

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* ---- alerts ---- */

static void on_alert(void *ud, const char *json, size_t len)
{
    srv *s = ud;
    static const char ch[] = "__phidb:alerts";
    pubsub_publish(s, (const uint8_t *)ch, sizeof ch - 1, (const uint8_t *)json, len);
    if (!s->audit) return;
    char *detail = mem_alloc(len + 1);
    memcpy(detail, json, len);
    detail[len] = '\0';
    audit_rec r = {0};
    r.type = AUDIT_EV_ALERT;
    r.result = AUDIT_GRANTED;
    r.detail = detail;
    r.keep = 1; /* an alert about the trail itself fires while it is unhealthy */
    /* The user (and role) the alert is about in the record's own fields too, so that
     * report --user and export --user find it. */
    json_t *j = json_loadb(json, len, 0, NULL);
    r.user = j ? json_string_value(json_object_get(j, "user")) : NULL;
    r.role = j ? json_string_value(json_object_get(j, "role")) : NULL;
    audit_append(s->audit, &r);
    json_decref(j);
    mem_free(detail);
}

/* Append r and let the alert rules see it. 0 accepted, -1 refused. */
static int append(srv *s, client *c, const audit_rec *r)
{
    if (!s->audit) return 0;
    audit_rec t = *r; /* one clock reading for the record and the alert rules */
    if (!t.ts_us) t.ts_us = now_us();
    /* Events that happen whether or not they can be recorded now are kept for the trail to
     * write when it recovers (commands on PHI and changes are refused instead). */
    switch (t.type) {
    case AUDIT_EV_AUTH:
    case AUDIT_EV_MFA:
    case AUDIT_EV_LOCKOUT:
    case AUDIT_EV_LOGOUT:
    case AUDIT_EV_TIMEOUT:
    case AUDIT_EV_START:
    case AUDIT_EV_STOP: t.keep = 1; break;
    default: t.keep = t.result == AUDIT_DENIED; /* a refusal returns nothing */
    }
    if (audit_append(s->audit, &t) != 0) return -1;
    if (c && s->cfg->audit_fsync == 1) c->audit_seq = audit_last_seq(s->audit);
    if (s->alerts) alert_observe(s->alerts, &t, t.ts_us, on_alert, s);
    return 0;
}

static void fill_who(audit_rec *r, client *c)
{
    if (!c) return;
    r->user = c->username;
    r->addr = c->addr;
    r->session = (unsigned long long)c->id;
    /* The role from the user, not c->pv.role (which may point into a replaced policy).
     * c->user is only valid while the ACL has not changed since it was resolved (a deleted
     * user is freed before its sessions are torn down): otherwise look the name up. */
    const acl_user *u = NULL;
    if (c->user && c->acl_gen == acl_generation(c->s->acl))
        u = c->user;
    else if (c->username)
        u = acl_find(c->s->acl, (const uint8_t *)c->username, strlen(c->username));
    if (u) {
        const char *role = acl_user_role(u);
        r->role = role && *role ? role : NULL;
    }
    if (c->s->pol && c->user) r->purpose = policy_purpose_name(c->purpose);
}

/* ---- lifetime ---- */

int srv_audit_open(srv *s, char *err, size_t errlen)
{
    audit_opts o;
    audit_opts_from_config(s->cfg, &o);
    s->audit = audit_open(&o, s->keys, err, errlen);
    if (!s->audit) return -1;
    alert_opts ao;
    alert_opts_from_config(s->cfg, &ao);
    char why[256];
    s->alerts = alert_new(&ao, why, sizeof why);
    if (!s->alerts) log_warning("alerts are off: %s", why);
    s->audit_was_healthy = 1;
    cmd_audit_event(s, NULL, AUDIT_EV_START, AUDIT_GRANTED, NULL, NULL, NULL, NULL);
    return 0;
}

void srv_audit_close(srv *s)
{
    if (!s->audit) return;
    cmd_audit_event(s, NULL, AUDIT_EV_STOP, AUDIT_GRANTED, NULL, NULL, NULL, NULL);
    audit_close(s->audit);
    s->audit = NULL;
    alert_free(s->alerts);
    s->alerts = NULL;
}

void srv_audit_notified(srv *s)
{
    uint64_t v;
    if (read(audit_notify_fd(s->audit), &v, sizeof v) < 0) { /* nothing to read: fine */
    }
    int ok = audit_healthy(s->audit);
    if (ok == s->audit_was_healthy) return;
    s->audit_was_healthy = ok;
    if (!ok)
        log_warning("audit trail cannot be written (%s): commands on PHI are refused until it "
                    "recovers",
                    audit_error(s->audit));
    else
        log_notice("audit trail writable again: service resumed");
    if (s->alerts)
        alert_health(s->alerts, "audit", ok, ok ? NULL : audit_error(s->audit), now_us(), on_alert,
                     s);
}

/* ---- data commands ---- */

/* Commands on the whole keyspace: FLUSHDB and FLUSHALL erase every record, DBSIZE counts
 * them. */
static int is_keyspace(const cmd_def *d)
{
    return d->proc == flushdb_cmd || d->proc == flushall_cmd || d->proc == dbsize_cmd;
}

/* Commands that touch data: keyed commands, key enumerations, PHI.FIND, the keyspace. */
static int is_data(const cmd_def *d)
{
    return d->first_key > 0 || d->proc == scan_cmd || d->proc == keys_cmd ||
           d->proc == randomkey_cmd || d->proc == phi_find_cmd || is_keyspace(d);
}

/* Is the command in the trail's scope? Keys under a schema always; others per
 * audit-unclassified (0 none, 1 writes, 2 all). */
static int in_scope(client *c, const cmd_def *d)
{
    srv *s = c->s;
    if (!is_data(d)) return 0;
    if (c->pv.active || c->pv.keyenum) return 1;
    if (d->proc == phi_find_cmd && s->pol) return 1; /* a lookup in PHI */
    if (is_keyspace(d) && s->pol) return 1;          /* every record */
    if (s->pol && d->first_key > 0) {
        int last = d->last_key < 0 ? c->argc + d->last_key : d->last_key;
        int step = d->key_step ? d->key_step : 1;
        for (int i = d->first_key; i <= last && i < c->argc; i += step)
            if (policy_schema_for(s->pol, c->argv[i].p, c->argv[i].len)) return 1;
    }
    int mode = s->cfg->audit_unclassified;
    return mode == 2 || (mode == 1 && (d->flags & CMD_WRITE));
}

/* The value an HSET, HMSET or HSETNX gives the record's subject field, or NULL. HSET and
 * HMSET may name the field twice: the last value is the one stored. */
static const arg *subject_in_args(client *c, const cmd_def *d, const policy_schema *sch)
{
    if (d->proc != hset_cmd && d->proc != hmset_cmd && d->proc != hsetnx_cmd) return NULL;
    const char *sf = policy_schema_subject(sch);
    size_t sfl = strlen(sf);
    const arg *v = NULL;
    for (int j = 2; j + 1 < c->argc; j += 2) {
        if (c->argv[j].len == sfl && memcmp(c->argv[j].p, sf, sfl) == 0) v = &c->argv[j + 1];
        if (d->proc == hsetnx_cmd) break;
    }
    return v;
}

/* The subject an HINCRBY or HINCRBYFLOAT of the subject field leaves: the stored one (or 0
 * when there is none, has == 0) plus the increment, as the command computes it, into out and
 * *a. NULL when the command is another, or will fail (not a number, overflow) and so
 * changes nothing. */
static const arg *subject_by_incr(client *c, const cmd_def *d, const policy_schema *sch,
                                  const buf *stored, int has, char *out, size_t cap, arg *a)
{
    if ((d->proc != hincrby_cmd && d->proc != hincrbyfloat_cmd) || c->argc != 4) return NULL;
    const char *sf = policy_schema_subject(sch);
    if (c->argv[2].len != strlen(sf) || memcmp(c->argv[2].p, sf, c->argv[2].len) != 0) return NULL;
    size_t n;
    if (d->proc == hincrby_cmd) {
        long long v = 0, by;
        if (str_to_ll(c->argv[3].p, c->argv[3].len, &by) != 0 ||
            (has && (stored->len > 20 || str_to_ll(stored->p, stored->len, &v) != 0)))
            return NULL;
        if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v))
            return NULL;
        n = str_from_ll(out, v + by);
    } else {
        long double v = 0, by;
        if (str_to_ld(c->argv[3].p, c->argv[3].len, &by) != 0 || isnan(by) || isinf(by) ||
            (has && str_to_ld(stored->p, stored->len, &v) != 0))
            return NULL;
        v += by;
        if (isnan(v) || isinf(v)) return NULL;
        n = str_from_ld(out, cap, v);
    }
    a->p = (const uint8_t *)out;
    a->len = n;
    return a;
}

/* The records of one access decision: one per record key (with its subject and fields),
 * or one naming the first key for commands on unclassified keys. */
static int append_access(client *c, const cmd_def *d, int result, const char *reason)
{
    srv *s = c->s;
    audit_rec r = {0};
    r.type = AUDIT_EV_ACCESS;
    r.result = result;
    fill_who(&r, c);
    r.cmd = cmd_catalog_name(c->s, d);
    r.reason = reason;
    if (c->pv.emergency) {
        /* An access only the grant allows is an emergency, whatever the session's purpose
         * (an accounting of disclosures leaves treatment out, and must list it). */
        r.emergency = c->pv.grant_id;
        r.purpose = "emergency";
    }
    /* Fields: named by the command, or shown by an enumeration. */
    const char *fp[64];
    size_t fl[64];
    int nf = 0;
    int first, step, last;
    if (d->proc == phi_find_cmd && c->argc == 4) {
        fp[nf] = (const char *)c->argv[2].p; /* PHI.FIND type field value: the field */
        fl[nf++] = c->argv[2].len < MAX_NAME ? c->argv[2].len : MAX_NAME;
    } else if (cmd_policy_named_fields(d, c->argc, &first, &step, &last)) {
        for (int j = first; j <= last && j < c->argc && nf < 64; j += step) {
            fp[nf] = (const char *)c->argv[j].p;
            fl[nf++] = c->argv[j].len < MAX_NAME ? c->argv[j].len : MAX_NAME;
        }
    } else {
        for (int j = 0; j < c->nshown && j < 32 && nf < 64; j++) {
            fp[nf] = (const char *)c->shown[j];
            fl[nf++] = c->shownlen[j] < MAX_NAME ? c->shownlen[j] : MAX_NAME;
        }
    }
    r.fields = fp;
    r.fieldlens = fl;
    r.nfields = nf;
    char erased[48];
    if (d->proc == flushdb_cmd || d->proc == flushall_cmd) {
        /* Recorded before it runs: the keys it erases (or, refused, would have erased). */
        snprintf(erased, sizeof erased, "{\"keys\":%zu}", db_size(s->db));
        r.action = "delete";
        r.detail = erased;
    }
    if (d->first_key <= 0) return append(s, c, &r);
    int lastk = d->last_key < 0 ? c->argc + d->last_key : d->last_key;
    int stepk = d->key_step ? d->key_step : 1;
    int done = 0;
    for (int i = d->first_key; i <= lastk && i < c->argc; i += stepk) {
        const policy_schema *sch =
            s->pol ? policy_schema_for(s->pol, c->argv[i].p, c->argv[i].len) : NULL;
        if (!sch && done) continue; /* keys outside every schema: the first one only */
        r.key = (const char *)c->argv[i].p;
        r.keylen = c->argv[i].len;
        char cut[48];
        r.detail = NULL;
        if (r.keylen > MAX_NAME) {
            snprintf(cut, sizeof cut, "{\"key_length\":%zu}", r.keylen);
            r.keylen = MAX_NAME;
            r.detail = cut;
        }
        buf subj = {0};
        r.subject = NULL;
        r.subjectlen = 0;
        /* The record's subject as stored (a write is recorded before it runs). A write that
         * sets the subject field names the new one too: alone when it creates the record
         * (or the subject), in a second record when it moves an existing record from one
         * subject to another, so each patient's accounting shows the change. HSETNX
         * changes nothing when the field exists; HINCRBY and HINCRBYFLOAT of the subject
         * field set it to what they compute. */
        const arg *set = sch ? subject_in_args(c, d, sch) : NULL;
        int stored = sch && cmd_policy_subject(c, sch, c->argv[i].p, c->argv[i].len, &subj);
        char incr[STRUTIL_MAX_LD_CHARS];
        arg ia;
        if (!set && sch && (d->flags & CMD_WRITE))
            set = subject_by_incr(c, d, sch, &subj, stored, incr, sizeof incr, &ia);
        if (stored) {
            r.subject = (const char *)subj.p;
            r.subjectlen = subj.len < MAX_NAME ? subj.len : MAX_NAME;
        } else if (set) {
            r.subject = (const char *)set->p;
            r.subjectlen = set->len < MAX_NAME ? set->len : MAX_NAME;
        }
        int rc = append(s, c, &r);
        if (rc == 0 && stored && set && d->proc != hsetnx_cmd &&
            (set->len != subj.len || memcmp(set->p, subj.p, subj.len) != 0)) {
            audit_rec n = r;
            n.subject = (const char *)set->p;
            n.subjectlen = set->len < MAX_NAME ? set->len : MAX_NAME;
            rc = append(s, c, &n);
        }
        if (rc == 0 && c->pv.emergency && sch) {
            /* Before subj is freed: the break-glass record names the same subject. */
            audit_rec u = r;
            u.type = AUDIT_EV_BREAKGLASS;
            u.action = "use";
            rc = append(s, c, &u);
        }
        buf_wipe_free(&subj);
        if (rc != 0) return -1;
        if (!sch) done = 1;
    }
    return 0;
}

static void refuse(client *c)
{
    rep_errf(c, "AUDITFAIL %s; commands on PHI are refused until it recovers",
             audit_error(c->s->audit));
}

/* Commands that change who may do what, or the keys, and are recorded once done: while the
 * trail cannot take records they would run unrecorded, so they are refused instead. Not
 * PHI.AUDIT PRUNE: it may be what frees the disk. With the event type and action their
 * records carry (for an attempt that failed before the command recorded anything). */
static const struct change_cmd {
    cmd_proc *proc;
    int type;
    const char *action;
} change_cmds[] = {
    {acl_setuser_cmd, AUDIT_EV_ACL, "setuser"},
    {acl_deluser_cmd, AUDIT_EV_ACL, "deluser"},
    {acl_save_cmd, AUDIT_EV_ACL, "save"},
    {acl_load_cmd, AUDIT_EV_ACL, "load"},
    {config_set_cmd, AUDIT_EV_CONFIG, "set"},
    {config_rewrite_cmd, AUDIT_EV_CONFIG, "rewrite"},
    {phi_policy_reload_cmd, AUDIT_EV_POLICY, "reload"},
    {phi_breakglass_cmd, AUDIT_EV_BREAKGLASS, "grant"},
    {phi_breakglass_revoke_cmd, AUDIT_EV_BREAKGLASS, "revoke"},
    {phi_keyring_rotate_cmd, AUDIT_EV_KEYROTATE, "rotate"},
    {phi_backup_cmd, AUDIT_EV_BACKUP, "backup"},
};

static const struct change_cmd *change_cmd(const cmd_def *d)
{
    for (size_t i = 0; i < sizeof change_cmds / sizeof change_cmds[0]; i++)
        if (d->proc == change_cmds[i].proc) return &change_cmds[i];
    return NULL;
}

static int audited_change(const cmd_def *d)
{
    return change_cmd(d) != NULL;
}

/* The error the command's reply (from mark on) begins with, into why; NULL when it is not
 * an error. */
static const char *reply_error(client *c, size_t mark, char *why, size_t cap)
{
    if (c->out.len <= mark || c->out.p[mark] != '-') return NULL;
    size_t n = 0;
    for (size_t i = mark + 1; i < c->out.len && n + 1 < cap; i++) {
        char ch = (char)c->out.p[i];
        if (ch == '\r' || ch == '\n') break;
        why[n++] = ch;
    }
    why[n] = '\0';
    return why;
}

/* An audited change that answered with an error and recorded nothing (bad arguments, a
 * refusal of its own): one failed record with the error, so that attempts show in the
 * trail as well as changes. Error texts never hold a password (ACL rules show '>***'). */
static void record_failed_change(client *c, const cmd_def *d, size_t mark)
{
    const struct change_cmd *cc = change_cmd(d);
    char why[256];
    if (!cc || c->audit_evented || !reply_error(c, mark, why, sizeof why)) return;
    const char *what = NULL;
    char name[130];
    if ((cc->proc == acl_setuser_cmd || cc->proc == acl_deluser_cmd) && c->argc > 2) {
        snprintf(name, sizeof name, "%.*s", (int)(c->argv[2].len > 128 ? 128 : c->argv[2].len),
                 (const char *)c->argv[2].p);
        what = name;
    }
    const cmd_def *was = c->cmd;
    c->cmd = d; /* the record's command (c->lastcmd is EXEC's inside a transaction) */
    cmd_audit_change_failed(c->s, c, cc->type, cc->action, what, why);
    c->cmd = was;
}

int cmd_audit_before(client *c, const cmd_def *d)
{
    c->audit_scope = 0;
    c->audit_done = 0;
    c->audit_evented = 0;
    if (c->s->audit && audited_change(d) && !audit_healthy(c->s->audit)) {
        refuse(c);
        return -1;
    }
    if (!c->s->audit || !in_scope(c, d)) return 0;
    c->audit_scope = 1;
    if (!audit_healthy(c->s->audit)) {
        refuse(c);
        return -1;
    }
    if (d->flags & CMD_WRITE) {
        /* A write is recorded before it runs: it never happens unrecorded. */
        if (append_access(c, d, AUDIT_GRANTED, NULL) != 0) {
            refuse(c);
            return -1;
        }
        c->audit_done = 1;
    }
    return 0;
}

void cmd_audit_after(client *c, const cmd_def *d, size_t mark)
{
    if (c->s->audit && !c->audit_scope) record_failed_change(c, d, mark);
    if (!c->audit_scope || c->audit_done) return;
    c->audit_scope = 0;
    /* A read that answered with an error showed nothing (a WRONGTYPE HGET of a record, a
     * PHI.FIND of an unknown type or of a field without a blind index; refusals are
     * decided before a command runs and recorded denied): failed, with the error. */
    char why[256];
    const char *err = reply_error(c, mark, why, sizeof why);
    if (append_access(c, d, err ? AUDIT_FAILED : AUDIT_GRANTED, err) == 0) return;
    /* Not recorded: the reply (PHI) does not leave. */
    if (c->out.len > mark) {
        OPENSSL_cleanse(c->out.p + mark, c->out.len - mark);
        c->out.len = mark;
    }
    refuse(c);
}

void cmd_audit_denied(client *c, const cmd_def *d, const char *reason)
{
    /* Nothing was shown; and after an ACL refusal (or one before the second factor, or of a
     * disabled command) the policy has not looked at this command, so what c->pv holds is
     * the previous command's. */
    c->nshown = 0;
    if (strcmp(reason, "acl") == 0 || strcmp(reason, "mfa-pending") == 0 ||
        strcmp(reason, "disabled") == 0) {
        cmd_policy_done(c);
        memset(&c->pv, 0, sizeof c->pv);
    }
    /* Data commands per their scope; an attempt at an audited change (ACL, CONFIG, policy,
     * ...) refused by the ACL always: who tried to give themselves rights matters. */
    if (!c->s->audit || (!in_scope(c, d) && !audited_change(d))) return;
    append_access(c, d, AUDIT_DENIED, reason); /* refused anyway if it cannot be recorded */
}

void cmd_audit_dlp(client *c, const cmd_def *d, const char *in_keys, const char *in_values,
                   int refused)
{
    srv *s = c->s;
    if (s->alerts) {
        audit_rec r = {0};
        r.type = AUDIT_EV_ACCESS;
        r.result = refused ? AUDIT_DENIED : AUDIT_GRANTED;
        r.cmd = cmd_catalog_name(c->s, d);
        fill_who(&r, c);
        alert_dlp(s->alerts, &r, in_keys, in_values, refused, now_us(), on_alert, s);
    }
    if (refused) cmd_audit_denied(c, d, "dlp");
}

int cmd_audit_waiting(client *c)
{
    srv *s = c->s;
    return s->audit && s->cfg->audit_fsync == 1 && c->audit_seq > audit_durable_seq(s->audit);
}

int cmd_audit_give_up(client *c)
{
    srv *s = c->s;
    if (audit_healthy(s->audit)) return 0;
    /* Nothing has been sent since the first reply began waiting (a waiting client writes
     * nothing), so what is unsent is whole replies: drop them all (they may hold PHI), and
     * close, since the client would otherwise miss replies to its pipeline. */
    if (c->out.len > c->sent) {
        OPENSSL_cleanse(c->out.p + c->sent, c->out.len - c->sent);
        c->out.len = c->sent;
    }
    c->audit_seq = 0;
    rep_errf(c,
             "AUDITFAIL %s; the replies that waited for their records were dropped and the "
             "connection is closed",
             audit_error(s->audit));
    c->flags |= CL_CLOSE_AFTER;
    return 1;
}

/* ---- other events ---- */

/* A record that could not be written: said in the log at most once a second. */
static void lost(srv *s, int type)
{
    static long long last_ms;
    static unsigned long long n;
    n++;
    long long now = clock_ms();
    if (now - last_ms < 1000) return;
    last_ms = now;
    log_warning("audit: %llu record(s) could not be written, the last a %s record (%s)", n,
                audit_event_name(type), audit_error(s->audit));
    n = 0;
}

void cmd_audit_change(srv *s, client *c, int type, const char *action, const char *what,
                      const char *old, const char *newv)
{
    if (!s->audit) return;
    json_t *j = json_object();
    json_object_set_new(j, "name", what ? json_string(what) : json_null());
    json_object_set_new(j, "old", old ? json_string(old) : json_null());
    json_object_set_new(j, "new", newv ? json_string(newv) : json_null());
    char *t = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    cmd_audit_event(s, c, type, AUDIT_GRANTED, NULL, action, NULL, t);
    free(t);
}

void cmd_audit_change_failed(srv *s, client *c, int type, const char *action, const char *what,
                             const char *why)
{
    if (!s->audit) return;
    json_t *j = json_object();
    json_object_set_new(j, "name", what ? json_string(what) : json_null());
    char *t = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    cmd_audit_event(s, c, type, AUDIT_FAILED, NULL, action, why, t);
    free(t);
}

void cmd_audit_record(srv *s, client *c, audit_rec *r)
{
    if (!s->audit) return;
    if (c) c->audit_evented = 1;
    audit_rec w = {0};
    fill_who(&w, c);
    if (!r->user) r->user = w.user;
    if (!r->role) r->role = w.role;
    if (!r->addr) r->addr = w.addr;
    if (!r->session) r->session = w.session;
    if (!r->purpose) r->purpose = w.purpose;
    if (!r->cmd && c && (c->cmd || c->lastcmd))
        r->cmd = cmd_catalog_name(s, c->cmd ? c->cmd : c->lastcmd);
    if (append(s, c, r) != 0) lost(s, r->type);
}

void cmd_audit_event(srv *s, client *c, int type, int result, const char *user, const char *action,
                     const char *reason, const char *detail)
{
    if (!s->audit) return;
    if (c) c->audit_evented = 1;
    audit_rec r = {0};
    r.type = type;
    r.result = result;
    fill_who(&r, c);
    if (user && (!r.user || strcmp(user, r.user) != 0)) {
        /* About another user than the session's (a failed AUTH as someone else, the user a
         * switch logs out): that user's role, not the session's. */
        const acl_user *u = acl_find(s->acl, (const uint8_t *)user, strlen(user));
        const char *role = u ? acl_user_role(u) : NULL;
        r.role = role && *role ? role : NULL;
    }
    if (user) r.user = user;
    if (c && (c->cmd || c->lastcmd)) r.cmd = cmd_catalog_name(s, c->cmd ? c->cmd : c->lastcmd);
    r.action = action;
    r.reason = reason;
    r.detail = detail;
    if (append(s, c, &r) != 0) lost(s, type);
}

/* ---- records left by the offline tools (tools/tool_audit.c) ---- */

static int inbox_type(const char *action)
{
    if (strcmp(action, "restore") == 0 || strcmp(action, "drill") == 0) return AUDIT_EV_RESTORE;
    if (strcmp(action, "export") == 0) return AUDIT_EV_EXPORT;
    return AUDIT_EV_BACKUP;
}

/* A syslog sink that is not required can be down with the trail healthy: the SIEM's copy
 * has a gap, which is an audit-failure alert of component "syslog" once it lasts 10 s (a
 * start or a reconnect takes less). */
static void sink_watch(srv *s)
{
    if (!s->alerts || !s->cfg->audit_syslog_host || !*s->cfg->audit_syslog_host) return;
    int connected;
    uint64_t sent, dropped;
    audit_sink_stats(s->audit, &connected, &sent, &dropped);
    long long now = clock_ms();
    if (connected) {
        s->sink_down_ms = 0;
        alert_health(s->alerts, "syslog", 1, NULL, now_us(), on_alert, s);
    } else if (!s->sink_down_ms) {
        s->sink_down_ms = now;
    } else if (now - s->sink_down_ms >= 10000) {
        alert_health(s->alerts, "syslog", 0, "the syslog sink is not connected", now_us(), on_alert,
                     s);
    }
}

void srv_audit_cron(srv *s)
{
    if (!s->audit) return;
    sink_watch(s);
    if (!audit_healthy(s->audit)) return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/inbox", s->cfg->audit_dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL && n < 100) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        char path[4500];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_error_t jerr;
        json_t *j = json_load_file(path, 0, &jerr);
        const char *action = j ? json_string_value(json_object_get(j, "action")) : NULL;
        if (!action) {
            log_warning("audit inbox: %s is not a tool record; left in place", e->d_name);
            json_decref(j);
            continue;
        }
        const char *bpath = json_string_value(json_object_get(j, "path"));
        json_t *det = json_pack("{s:s, s:O?}", "path", bpath ? bpath : "", "tool_ts_us",
                                json_object_get(j, "ts_us"));
        char *dt = det ? json_dumps(det, JSON_COMPACT) : NULL;
        json_decref(det);
        const char *why = json_string_value(json_object_get(j, "why"));
        audit_rec r = {0};
        r.type = inbox_type(action);
        r.result = json_is_true(json_object_get(j, "ok")) ? AUDIT_GRANTED : AUDIT_FAILED;
        r.user = json_string_value(json_object_get(j, "who"));
        r.action = action;
        r.reason = why && *why ? why : NULL;
        r.detail = dt;
        if (append(s, NULL, &r) == 0) unlink(path);
        free(dt);
        json_decref(j);
        n++;
    }
    closedir(d);
}

/* ---- INFO ---- */

void srv_audit_info(srv *s, buf *out, int counts)
{
    buf_puts(out, "# Audit\r\n");
    if (!s->audit) {
        buf_puts(out, "audit_enabled:0\r\n\r\n");
        return;
    }
    int up = 0;
    uint64_t sent = 0, dropped = 0;
    audit_sink_stats(s->audit, &up, &sent, &dropped);
    int sink = s->cfg->audit_syslog_host && *s->cfg->audit_syslog_host;
    buf_printf(out, "audit_enabled:1\r\naudit_healthy:%d\r\naudit_error:%s\r\naudit_fsync:%s\r\n",
               audit_healthy(s->audit), audit_error(s->audit),
               s->cfg->audit_fsync ? "always" : "everysec");
    /* Sequence numbers count every access: for sessions that may count records. */
    if (counts)
        buf_printf(out, "audit_last_seq:%llu\r\naudit_written_seq:%llu\r\n",
                   (unsigned long long)audit_last_seq(s->audit),
                   (unsigned long long)audit_durable_seq(s->audit));
    buf_printf(out, "audit_sink:%s\r\naudit_sink_connected:%d\r\n", sink ? "syslog" : "none",
               sink && up);
    if (counts)
        buf_printf(out, "audit_sink_sent:%llu\r\naudit_sink_dropped:%llu\r\n",
                   (unsigned long long)sent, (unsigned long long)dropped);
    buf_puts(out, "\r\n");
}

/* ---- PHI.AUDIT ---- */

/* PHI.AUDIT PRUNE: remove the segments past audit-retention-days, as `phidb audit prune`
 * does offline; the prune is recorded in this trail first. It waits for the writer to write
 * that record, so it runs on the backup worker thread while the client waits (blocked, as
 * for PHI.BACKUP) and the others are served. */
typedef struct {
    srv *s;
    client *c;
    audit_opts o; /* directory and retention, from the config when the command came */
    char user[128], role[128], addr[64], purpose[32];
    unsigned long long session;
    int64_t now;
    int removed, rc;
    char err[512];
} prune_job;

static void prune_work(void *ud)
{
    prune_job *j = ud;
    audit_rec who = {.user = j->user[0] ? j->user : NULL,
                     .role = j->role[0] ? j->role : NULL,
                     .addr = j->addr[0] ? j->addr : NULL,
                     .purpose = j->purpose[0] ? j->purpose : NULL,
                     .session = j->session};
    j->rc = audit_prune_live(j->s->audit, &j->o, j->now, &who, &j->removed, j->err, sizeof j->err);
}

static void prune_done(void *ud)
{
    prune_job *j = ud;
    client *c = j->c;
    if (j->rc != 0) {
        /* Recorded too (when the trail can take it): who tried, and why it did not happen. */
        cmd_audit_event(j->s, c, AUDIT_EV_PRUNE, AUDIT_FAILED, NULL, "prune", j->err, NULL);
    }
    if (c->conn) {
        if (j->rc != 0) {
            rep_errf(c, "ERR audit prune: %s", j->err);
        } else {
            rep_map(c, 2);
            rep_cstr(c, "removed");
            rep_int(c, j->removed);
            rep_cstr(c, "retention_days");
            rep_int(c, j->o.retention_days);
        }
    }
    client_unblock(c);
    mem_free(j);
}

void phi_audit_prune_cmd(client *c)
{
    srv *s = c->s;
    if (!s->audit) {
        rep_err(c, "ERR the audit trail is off (no audit-dir)");
        return;
    }
    prune_job *j = mem_calloc(sizeof *j);
    j->s = s;
    j->c = c;
    audit_opts_from_config(s->cfg, &j->o);
    audit_rec who = {0};
    fill_who(&who, c);
    /* Copies: the user (and its role) may be deleted before the worker gets to it. */
    snprintf(j->user, sizeof j->user, "%s", who.user ? who.user : "");
    snprintf(j->role, sizeof j->role, "%s", who.role ? who.role : "");
    snprintf(j->addr, sizeof j->addr, "%s", who.addr ? who.addr : "");
    snprintf(j->purpose, sizeof j->purpose, "%s", who.purpose ? who.purpose : "");
    j->session = who.session;
    j->now = now_us();
    j->rc = -1; /* unless the work runs (a shutdown completes queued jobs without it) */
    snprintf(j->err, sizeof j->err, "the server is shutting down");
    if (cmd_backup_submit(s, prune_work, prune_done, j) != 0) {
        mem_free(j);
        rep_err(c, "ERR audit prune: the worker is busy (a backup is closing); try again");
        return;
    }
    client_block(c);
}

void phi_audit_help_cmd(client *c)
{
    static const char *const lines[] = {
        "PHI.AUDIT <subcommand> [<arg> ...]. Subcommands are:",
        "PRUNE",
        "    Remove the audit segments whose day is more than audit-retention-days ago",
        "    (oldest first, never the newest), after recording the prune in the trail.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
