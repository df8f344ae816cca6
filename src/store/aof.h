/*
 * aof: the encrypted durable log ("append-only file").
 *
 * What it stores is opaque to this module: the keyspace hands it one payload
 * per command (a frame of the mutations that command made, see db.h), and
 * replays the same payloads at start-up. This module owns the file: framing,
 * sealing, ordering, durability, loading, repair and compaction.
 *
 * File layout (DIR = the `dir` directive):
 *   DIR/phidb.log            the active log
 *   DIR/phidb.log.rewrite    a compaction in progress (removed at start-up if found)
 *   DIR/phidb.log.bad.<ms>   copies kept by repair
 *   DIR/phidb.log.torn-<ms>  the bytes of a torn tail, kept when loading cut them
 *
 *   header (64 bytes, plaintext): "PHIDBLOG" | u32 format | u32 flags | 16-byte file id |
 *                                 u64 created (ms) | zero padding
 *   records: u32 length (big-endian) | sealed payload (seal.h format: version, nonce,
 *            ciphertext, tag)
 * Each record is sealed with the log key; the AAD is the file id and the record's
 * sequence number (1, 2, 3 ... within the file), so a record cannot be altered,
 * dropped from the middle, reordered, duplicated or moved from another file
 * without failing to open. Key names are inside the seal.
 *
 * Format 2 (written now): a record is a batch, the payloads appended during one
 * loop iteration (between two aof_flush calls, at most about 1 MB), each as
 * u32 length (big-endian) | payload; one seal per batch instead of one per
 * command. Format 1 (read, and appended to in its own format until the next
 * rewrite): a record is one payload. A batch is written whole or torn whole, so
 * a crash keeps a prefix of the flushed batches. A payload over the part size
 * (64 MB) is a chain: its parts in records of their own, each length but the
 * last with the top bit set (aof_int.h); it loads once its last part is read,
 * and a chain without its last part is a torn tail, cut from its first record.
 *
 * Durability: aof_append only buffers (and reserves the batch's nonce, so a keyring
 * that cannot reserve fails the command). aof_flush, called by the server before
 * replies are written, seals the batch and writes it; with
 * appendfsync always it also fsyncs (one fsync for every command of the loop
 * iteration: group commit); with everysec a background thread fsyncs once a
 * second. Disk space is preallocated ahead of the write position, so an
 * acknowledged record cannot be lost to ENOSPC; when space cannot be reserved
 * or a write fails, the log enters an error state: aof_append refuses (the
 * command gets a clear error), records already buffered are retried by
 * aof_cron until the disk recovers, and the caller holds their replies.
 *
 * Loading: a torn last record (short, or failing to open when nothing follows
 * it, and no later record opens: see aof_load.c) is copied aside, then cut off
 * with a warning giving the number of bytes dropped and where they are kept; a
 * bad record anywhere else, or one sealed with a key version the keyring lacks,
 * stops loading with the file name and offset.
 *
 * The process must ignore SIGXFSZ (signal(SIGXFSZ, SIG_IGN)): a file size limit
 * (RLIMIT_FSIZE) then makes a write fail with EFBIG, which is handled like a
 * full disk, instead of killing the server.
 */
#ifndef AOF_H
#define AOF_H

#include <stddef.h>
#include <stdint.h>

#include "store/seal.h"

typedef struct aof aof;

enum aof_fsync { AOF_FSYNC_EVERYSEC = 0, AOF_FSYNC_ALWAYS = 1 };

#define AOF_HEADER_LEN 64
#define AOF_MAX_RECORD (1024ULL * 1024 * 1024) /* larger lengths are damage, not data */

typedef struct {
    unsigned long long records;       /* records applied */
    unsigned long long bytes;         /* bytes of the file accepted */
    unsigned long long torn_bytes;    /* bytes cut off the end (0 if none) */
    long long load_ms;                /* time taken */
    char torn_copy[1024];             /* where the cut bytes were kept ("" if none, or zeros) */
} aof_load_stats;

/* Called for each record, in order, while loading; returns 0, or -1 to stop loading (the
 * payload did not apply: aof_load then fails naming the record's offset). */
typedef int aof_apply_fn(void *arg, const uint8_t *payload, size_t len);

/* Open (creating if absent) DIR/phidb.log for appending, with a log sealer. Removes a leftover
 * phidb.log.rewrite. Does not read records: call aof_load first. NULL with err on failure. */
aof *aof_open(const char *dir, sealer *s, enum aof_fsync policy, char *err, size_t errlen);
/* Flush, fsync and close. */
void aof_close(aof *a);
/* Replay every record through apply. A torn tail is copied to DIR/phidb.log.torn-<ms> (0600,
 * fsynced; not when it is all zeros) and then truncated (the count is in stats->torn_bytes, the
 * copy in stats->torn_copy); when no copy can be made, -1 and nothing is cut. Damage elsewhere
 * returns -1 with err naming the file and offset and changes nothing. */
int aof_load(aof *a, aof_apply_fn *apply, void *arg, aof_load_stats *stats, char *err,
             size_t errlen);
/* Seal and buffer one payload (of any size: one over 64 MB is written as a chain of records,
 * loaded whole or not at all). Returns 0, or -1 when the log is in an error state (err says
 * why; nothing was buffered). */
int aof_append(aof *a, const uint8_t *payload, size_t len, char *err, size_t errlen);
/* Write buffered records (and fsync with ALWAYS). Returns 0 when everything appended so far
 * is written as the policy requires; -1 when the log is in an error state (buffered records
 * are kept for aof_cron to retry). A refused reservation alone (disk full: new appends
 * refused) still returns 0 here, since every record accepted before it had its space
 * reserved and is written. */
int aof_flush(aof *a);
/* 1 when every record appended so far is durable as the policy requires: with ALWAYS written
 * and fsynced; with EVERYSEC written (the fsync follows within about a second). 0 after a
 * failed fsync until a rewrite commits. */
int aof_synced(const aof *a);
/* Bytes appended (accepted) but not written to the file yet. */
unsigned long long aof_unwritten(const aof *a);
/* Periodic work (call about every 100 ms): everysec bookkeeping, retrying after errors. */
void aof_cron(aof *a);
/* 1 after a failed fsync: only a completed rewrite (a fresh log written from memory) makes
 * the log trustworthy again, so the caller should start one. */
int aof_needs_rewrite(const aof *a);
/* 0 if healthy; otherwise -1 and the reason in err. */
int aof_status(const aof *a, char *err, size_t errlen);
/* Change the fsync policy. */
void aof_set_fsync(aof *a, enum aof_fsync policy);
/* Format of the active log: 1 (written by an older phidb: a record per payload, no chains,
 * until the next compaction) or 2. */
int aof_format(const aof *a);
/* Bytes in the active log (header included). */
unsigned long long aof_size(const aof *a);
/* Bytes the log had after the last load or rewrite (the base for auto-rewrite ratios). */
unsigned long long aof_base_size(const aof *a);
/* Successful fsyncs of the active log so far (for INFO and tests). */
unsigned long long aof_fsyncs(const aof *a);
/* Preallocation kept ahead of the end of the log, in bytes (default 64 MB; 0 turns it off).
 * For tests, which use small chunks. */
void aof_set_prealloc(aof *a, unsigned long long chunk);
/* The size of the parts a large payload is written in (default 64 MB; process-wide). For
 * tests, which use small parts; 0 restores the default. */
void aof_set_part_max(size_t n);

/* ---- compaction: the caller writes a fresh log (full key states) while appends continue
 * to go to the active log; at commit the fresh log atomically replaces the active one. ---- */
/* Start a rewrite into DIR/phidb.log.rewrite (new file id). Returns 0 or -1. */
int aof_rewrite_begin(aof *a, char *err, size_t errlen);
/* 1 while a rewrite is in progress. */
int aof_rewriting(const aof *a);
/* Seal and buffer a record into the rewrite file (written in bounded chunks, so memory
 * stays bounded). Returns 0 or -1 (the rewrite failed; call aof_rewrite_abort). */
int aof_rewrite_append(aof *a, const uint8_t *payload, size_t len, char *err, size_t errlen);
/* Finish: flush and fsync the rewrite file, rename it over the active log, fsync the
 * directory, and continue appending to it. Returns 0 or -1 (then the old log stays active
 * and nothing is lost). */
int aof_rewrite_commit(aof *a, char *err, size_t errlen);
/* Drop the rewrite file; the active log is untouched. */
void aof_rewrite_abort(aof *a);

/* ---- offline checking (phidb check-log) ---- */
typedef struct {
    unsigned long long records;   /* good records */
    unsigned long long good_end;  /* offset just past the last good record */
    unsigned long long size;      /* file size */
    int torn;                     /* the damage is a torn tail */
    char problem[256];            /* "" when the file is good */
    char copy[1024];              /* aof_repair: where the damaged file was copied ("" if not) */
} aof_check_report;
/* Check path without applying anything. Returns 0 when the file is fully good, 1 when damaged
 * (report says where and how), -1 when it cannot be read (err). */
int aof_check(const char *path, sealer *s, aof_check_report *r, char *err, size_t errlen);
/* Repair: copy path to path.bad.<ms>, then truncate path at the last good record. Returns 0
 * or -1 (err). */
int aof_repair(const char *path, sealer *s, aof_check_report *r, char *err, size_t errlen);

#endif
