/*
 * tool_audit: the audit records of what the offline tools do to an instance's data
 * (backup, backup verify, restore, restore --drill).
 *
 * tool_audit_for(DIR) makes every backup_audit() call of the tool a record in DIR's audit
 * trail: appended directly when no server runs on DIR (the tool takes the data directory
 * lock for the moment), or, when its server runs (it owns the trail), left as a small JSON
 * file in <audit-dir>/inbox that the server turns into the record within a second (and at
 * its next start if it stops first). The record names the tool, the operating-system user,
 * the backup's path and the outcome; never a passphrase.
 */
#ifndef TOOL_AUDIT_H
#define TOOL_AUDIT_H

/* Record this tool's actions in the trail of the instance at dir_arg (its init directory,
 * phidb.conf, or data directory). NULL: nothing is recorded (the tool says so). */
void tool_audit_for(const char *dir_arg);
/* 1 when the last action of this tool could not be recorded (printed already), else 0. */
int tool_audit_failed(void);

#endif
