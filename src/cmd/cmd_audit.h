/*
 * cmd_audit: the server's side of the audit trail (src/audit): which events become records,
 * with what fields, and failing closed when the trail cannot be written.
 *
 * Data commands: the access decision of every command on a key under a record schema (and,
 * per audit-unclassified, on other keys) is one record: granted or denied, with the user,
 * role, client, command, key, the record's subject, the field names it named or was shown,
 * purpose and break-glass mark. A write's record is accepted before it runs; a read's after
 * it ran (so an enumeration records the fields it showed) and before its reply leaves: if
 * the record is refused the reply is replaced by an error, so no PHI leaves unrecorded.
 * With audit-fsync always the reply also waits until the record is on disk.
 */
#ifndef CMD_AUDIT_H
#define CMD_AUDIT_H

#include "audit/audit.h"
#include "cmd/cmd.h"

/* Open the trail and the alert rules (audit-dir ...), append the start record. */
int srv_audit_open(srv *s, char *err, size_t errlen);
/* Append the stop record, flush, close. */
void srv_audit_close(srv *s);
/* Every second: records the offline tools left in <audit-dir>/inbox (tools/tool_audit.c). */
void srv_audit_cron(srv *s);
/* Event loop: the trail's notification fd became readable. */
void srv_audit_notified(srv *s);

/* Before data command d runs: 0 to go on, -1 after an error reply (the trail cannot take
 * the record). */
int cmd_audit_before(client *c, const cmd_def *d);
/* After d ran; mark is c->out's length before it. */
void cmd_audit_after(client *c, const cmd_def *d, size_t mark);
/* The ACL or the policy refused d (reason: short text, no PHI). */
void cmd_audit_denied(client *c, const cmd_def *d, const char *reason);
/* dlp-mode found PHI in a write: the "dlp" alert (published and recorded; types only, at
 * most one a user a minute) and, when refused, the denied access record (reason "dlp"). */
void cmd_audit_dlp(client *c, const cmd_def *d, const char *in_keys, const char *in_values,
                   int refused);
/* 1 while the client's replies must wait for its records to reach the disk. */
int cmd_audit_waiting(client *c);
/* For a waiting client while the trail cannot write (disk full, I/O error): its unsent
 * replies are replaced by one -AUDITFAIL error and it is closed after that. Returns 1 when
 * done so, 0 while the trail is healthy (keep waiting). */
int cmd_audit_give_up(client *c);

/* An administrative change: detail {"name": what, "old": old, "new": new} (NULL: null).
 * Callers never pass passwords or secrets. */
void cmd_audit_change(srv *s, client *c, int type, const char *action, const char *what,
                      const char *old, const char *newv);
/* A change that was attempted and failed (why: the error): a failed record of type with action
 * and {"name": what}. Commands that fail before they record anything get one from
 * cmd_audit_after already; this is for failures found later (an ACL SETUSER whose password
 * was hashed on a worker). */
void cmd_audit_change_failed(srv *s, client *c, int type, const char *action, const char *what,
                             const char *why);
/* The "# Audit" section of INFO: health and its reason, fsync mode, the last sequence
 * number handed out and the last written, the syslog sink's state and counts (the sequence
 * numbers and counts only with counts: sessions that may count records). */
void srv_audit_info(srv *s, buf *out, int counts);
/* Append r (who: filled from c where r leaves it empty). */
void cmd_audit_record(srv *s, client *c, audit_rec *r);
/* Other events. user may be NULL (the client's). detail: JSON object text or NULL. */
void cmd_audit_event(srv *s, client *c, int type, int result, const char *user, const char *action,
                     const char *reason, const char *detail);

#endif
