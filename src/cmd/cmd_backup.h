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
/* Run work(ud) on the backup worker thread (after a backup's close and verify, if one is
 * in progress) and done(ud) on the loop thread afterwards; at shutdown a queued job gets
 * done without work. Returns 0, or -1 when the queue is full. */
int cmd_backup_submit(srv *s, void (*work)(void *), void (*done)(void *), void *ud);
/* 0 if path ("" or NULL: none) holds a usable backup passphrase: a regular file readable by
 * its owner only, outside the data directory datadir, 12 characters or more; else -1 with
 * err (which never holds the passphrase). */
int cmd_backup_passphrase_check(const char *path, const char *datadir, char *err, size_t errlen);

#endif
