/*
 * cmd_policy: the access policy applied to commands (docs/policy.md, section 2), in the
 * one place dispatch calls for every command, plus the helpers hash handlers use to
 * honour the decision taken there (which fields an enumeration shows, the de-identified
 * view of a value, which keys a SCAN lists and under which name).
 *
 * Per command, dispatch calls cmd_policy_check after the ACL: it resolves the session's
 * role, translates pseudonyms (de-identified roles address records by pseudonym only),
 * finds each key's schema, and applies the rules of the command's class: explicit field
 * reads and writes (policy_can per field, before anything runs: one denial refuses the
 * whole command), enumerations (a filter the handler consults per field), record deletes,
 * renames, metadata, string commands (refused on records), then scope=self and
 * break-glass, which need the record's subject. The result is kept in c->pv for the
 * handler and the audit record.
 */
#ifndef CMD_POLICY_H
#define CMD_POLICY_H

#include "cmd/cmd.h"

/* Load the policy (policy-file), grants, blind index and pseudonyms at start-up.
 * Returns 0 or -1 with err. */
int cmd_policy_open(srv *s, char *err, size_t errlen);
/* Free them at shutdown. */
void cmd_policy_close(srv *s);
/* Reload the policy file (PHI.POLICY RELOAD, SIGHUP). Returns 0 or -1 with err (the old
 * policy stays). */
int cmd_policy_reload(srv *s, char *err, size_t errlen);
/* The same, with its audit record (the policy before and after; c and user may be NULL:
 * SIGHUP). */
int cmd_policy_reload_recorded(srv *s, client *c, const char *user, char *err, size_t errlen);
/* The decision for c's current command d: 0 allowed (c->pv set), -1 after a NOPERM reply. */
int cmd_policy_check(client *c, const cmd_def *d);
/* After a write command ran: keep the blind index current for the records it wrote. */
void cmd_policy_after(client *c, const cmd_def *d);
/* Keyspace change notification (pseudonyms, blind index on deletion/expiry). */
void cmd_policy_key_changed(srv *s, const uint8_t *key, size_t klen);
/* cmd_reseal.c: after a values key rotation, seal the TOTP secrets (users file and memory),
 * the users' subjects (users file) and the break-glass grants file again under the current
 * version. Returns 0, or -1 with err (the old version must then stay). */
int cmd_secrets_reseal(srv *s, char *err, size_t errlen);
/* How many of those secrets (or their files) are still sealed with values key version. */
size_t cmd_secrets_using(srv *s, uint32_t version);
/* Commit the nonces noted while reading items sealed with the values key (seal_nonces_commit)
 * and log a warning naming where (e.g. "the users file") when a counter had to be raised.
 * Returns how many versions were raised. */
int cmd_values_nonces_commit(srv *s, const char *where);
/* cmd_acl.c: after the users file was loaded into s->acl (start, ACL LOAD): commit the nonces
 * it holds, and when it held subjects in plaintext (written by hand, or by an older phidb),
 * write it again with them sealed and log it (a warning if that fails). */
void cmd_acl_loaded(srv *s);
/* cmd_phipolicy.c: may this write go on for a user holding a live break-glass grant? It may
 * not set a record's subject field to a subject it holds a grant for (the grant follows the
 * subject: it would open another patient's record), nor change it by HINCRBY(FLOAT). Returns
 * 1, or 0 after replying NOPERM (c->pv.denied set). */
int cmd_breakglass_write_ok(client *c, const cmd_def *d, const policy_schema *sch);
/* cmd_phipolicy.c: PHI.FIND's decision for role r (NULL: none), taken before it runs like
 * any command's, so that a refusal is a denied audit record: 0 allowed (or the type or
 * field is unknown, which the command answers), -1 after a NOPERM reply (c->pv.denied). */
int cmd_phi_find_check(client *c, const policy_role *r);
/* Refuse reading field (field, flen) of no particular record with policy result (and
 * group): the NOPERM reply, an ACL LOG entry and the audit reason. Returns -1. */
int cmd_policy_refuse_read(client *c, int result, const uint8_t *field, size_t flen,
                           const char *group);
/* The audit reason of the policy's refusal of the current command: "group \"x\"",
 * "purpose \"research\"", or the result's name ("scope", ...). */
const char *cmd_policy_denied_why(const client *c);
/* Periodic work: expire grants. */
void cmd_policy_cron(srv *s);
/* May this session count records (DBSIZE, and INFO's key counts and hit/miss/expiry
 * counters)? Without a policy, yes; under one, only a role that reads every record as
 * stored: for others the counts tell when records they may not see come, go or exist. */
int cmd_policy_may_count(client *c);
/* After an index-key rotation: the pseudonym key is derived again from the new current
 * version, and the blind index and pseudonym map are rebuilt from the keyspace (every
 * indexed field is opened: as long as the start-up pass). */
void cmd_policy_rekey(srv *s);
/* Revoke (and audit) the break-glass grants of users that no longer exist: after ACL
 * DELUSER, ACL LOAD and at start-up (c NULL). */
void cmd_breakglass_orphans(srv *s, client *c);
/* At login: the session's role and default purpose. */
void cmd_policy_login(client *c);
/* Undo pseudonym translation of c->argv after the command (restores the client's args). */
void cmd_policy_done(client *c);

/* For the audit record: the fields command d names (first, step, last argument index);
 * 0 when it names none. */
int cmd_policy_named_fields(const cmd_def *d, int argc, int *first, int *step, int *last);
/* The subject of record key into out (1), or 0 when the record has none. */
/* Remember, for the rest of the running command, that key's record has subject subj (the
 * first one only; too long ones are not kept). */
void cmd_policy_memo(client *c, const uint8_t *key, size_t klen, const uint8_t *subj, size_t slen);
int cmd_policy_subject(client *c, const policy_schema *sch, const uint8_t *key, size_t klen,
                       buf *out);
/* An enumeration showed field f (kept for the audit record). */
static inline void pv_shown(client *c, const uint8_t *f, size_t flen)
{
    if (c->nshown < 32) {
        c->shown[c->nshown] = f;
        c->shownlen[c->nshown] = flen;
    }
    c->nshown++;
}

/* ---- for handlers ---- */
/* 1 if field (f, flen) of the command's record is shown (enumerations); *pf gets its
 * declaration (NULL if undeclared or no policy). */
/* 1 if the session's role may read field f of the command's record (1 without a policy). */
int pv_field_readable(client *c, const uint8_t *f, size_t flen);
int pv_field_visible(client *c, const uint8_t *f, size_t flen, const void **pf);
/* Reply with a field's value as the session may see it (the de-identified view transforms
 * or withholds it: nil). */
/* rep_value of hash field f, keeping the record's subject for the audit record when f is
 * the subject field (cmd_policy_memo). */
void pv_rep_value(client *c, const uint8_t *f, size_t flen, const db_ref *v);
void rep_hvalue(client *c, const void *pf, const uint8_t *f, size_t flen, const db_ref *v);
/* The value as the session may see it, appended to out as a RESP bulk; returns 0, or -1
 * when the view withholds it (nothing appended). */
int pv_hvalue_into(client *c, const void *pf, const uint8_t *f, size_t flen, const db_ref *v,
                   buf *out);
/* Length of the value as the session may see it, or -1 when withheld (HSTRLEN). */
long long pv_hvalue_len(client *c, const void *pf, const uint8_t *f, size_t flen, const db_ref *v);
/* SCAN, KEYS, RANDOMKEY: 1 if key is listed for the session; *name and *nlen get the name to show
 * (the key, or its pseudonym in out for de-identified roles; out has at least 192 bytes). */
int pv_key_listed(client *c, const uint8_t *key, size_t klen, const uint8_t **name, size_t *nlen,
                  char *out);

#endif
