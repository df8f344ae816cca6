/*
 * persist: the durable log as the server uses it, between the keyspace's journal, the
 * aof module and the clients' replies.
 *
 *   - after every command (and every background task that changes data), the journal
 *     frame the keyspace filled is sealed into the log (persist_commit); a transaction's
 *     commands make one frame, so EXEC is replayed all or nothing;
 *   - before replies are written, the log is written (and fsynced with appendfsync always:
 *     one fsync for the whole batch, i.e. group commit); a client whose command wrote data
 *     gets no reply until its record is written as the policy requires (persist_flush);
 *   - while the log cannot be written (disk full, I/O error), write commands are refused
 *     with a clear error (persist_write_allowed); reads go on; it recovers by itself;
 *   - compaction runs incrementally on the event loop (no fork): a snapshot of every key
 *     is written to a fresh log while new frames are mirrored into it;
 *   - key rotation: re-sealing values in the background, then a compaction, then
 *     retirement of versions nothing uses any more.
 */
#ifndef PERSIST_H
#define PERSIST_H

#include "cmd/cmd.h"

/* Open and load the log at start-up (dir from the config). Returns 0 or -1 with err. */
int persist_open(srv *s, char *err, size_t errlen);
/* Flush and close at shutdown. */
int persist_close(srv *s);
/* Seal the journal frame (if any) into the log; c (may be NULL) waits for it. */
void persist_commit(srv *s, client *c);
/* 1 if write commands may run now; otherwise 0 with the reason in err. */
int persist_write_allowed(srv *s, char *err, size_t errlen);
/* Write the log as the policy requires; returns 1 when every committed frame is written,
 * so waiting replies may go out. */
int persist_flush(srv *s);
/* Periodic work: retries, fsync bookkeeping, automatic compaction, re-sealing. */
void persist_cron(srv *s);
/* Do a slice of a running compaction (called from the loop). Returns 1 if one is running. */
int persist_step(srv *s, long long budget_us);
/* Start a compaction now. Returns 0, or -1 (err) if one is running or it cannot start. */
int persist_rewrite_start(srv *s, char *err, size_t errlen);
/* INFO persistence fields. */
void persist_info(srv *s, buf *out, int sizes);

#endif
