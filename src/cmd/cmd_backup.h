/*
 * cmd_backup: PHI.BACKUP in the server, scheduled backups and their retention (see
 * cmd_backup.c for the decisions, docs/backup.md for the user's view).
 */
#ifndef CMD_BACKUP_H
#define CMD_BACKUP_H

#include "cmd/cmd.h"

/* Set up (after the event loop exists). Returns 0, or -1 with err (bad backup-schedule). */
int cmd_backup_init(srv *s, char *err, size_t errlen);
/* Stop a running backup (its file is removed) and free everything. */
void cmd_backup_close(srv *s);
/* A slice of a running backup's snapshot (before each wait of the loop). */
void cmd_backup_step(srv *s);
/* Periodic work: the schedule. */
void cmd_backup_cron(srv *s);
/* 1 while a backup runs (key rotation is refused then). */
int cmd_backup_running(const srv *s);
/* A key retirement was put off because a backup runs: compact again when it ends. */
void cmd_backup_defer_retire(srv *s);
/* 1 if spec is a valid backup-schedule ("" included). */
int cmd_backup_schedule_valid(const char *spec);

#endif
