/*
 * db: the keyspace. Strings and hashes, expiry (lazy on access and active by
 * sampling), scan cursors, and change notification for WATCH.
 *
 * The interface is deliberately narrow, so the keyspace can later move behind
 * another engine: callers look a key up, read a value by *opening* a reference
 * into their own buffer, and write values by handing plaintext in. Values are
 * held sealed (AES-256-GCM with the values key, see seal.h) with their key name
 * and field name as AAD, so a sealed value moved to another key or field fails
 * to open; a reference (db_ref) is only valid until the next call that
 * modifies the keyspace.
 *
 * Journal: every mutation appends an operation with its *effect* to the frame
 * buffer set by db_journal_to (a string's new sealed value and absolute expiry,
 * a field set or deleted, a key deleted or expired, a flush). The caller seals
 * the frame into the durable log after each command. Replaying frames with
 * db_apply is deterministic and does not depend on the time it runs at: it
 * never expires anything and stores the sealed values as they are, without
 * opening them. Expiry deletions are journaled too, so a key that expired and
 * was created again cannot come back with its old content.
 *
 * Time: the caller sets the command time with db_set_now before each command;
 * every expiry decision during that command uses it (as Redis does), so a key
 * cannot expire half-way through a transaction's command.
 *
 * The keyspace never calls up into commands or access control. It reports
 * changes through one callback (db_on_change) that the command layer uses for
 * WATCH.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct db db;
typedef struct db_entry db_entry;

enum db_type { DB_STRING = 0, DB_HASH = 1 };

/* A stored value: what db_ref_open needs. Valid until the keyspace is modified. */
typedef struct {
    const uint8_t *p;     /* stored (sealed) form */
    uint32_t len;         /* stored length */
    const uint8_t *key;   /* key the value is bound to */
    uint32_t klen;        /* its length */
    const uint8_t *field; /* field it is bound to (NULL for a string value) */
    uint32_t flen;        /* its length */
    uint8_t sealed;       /* 1 when p is sealed (0 only in keyspaces without a sealer) */
} db_ref;

typedef struct sealer sealer;

#define DB_NO_EXPIRE (-1LL)

/* Limits for the compact hash encoding (beyond either, a hash becomes a table). */
#define DB_HASH_PACK_MAX_ENTRIES 128
#define DB_HASH_PACK_MAX_VALUE   64

/* Called when key changed, was deleted or expired (after the change), or with key NULL when
 * every key is about to go (a flush: called before it, with the keys still there). */
typedef void db_change_fn(void *arg, const uint8_t *key, size_t klen);

/* New empty keyspace sealing values with s (NULL keeps values in the clear: unit tests only).
 * The sealer must outlive the keyspace. */
db *db_new(sealer *s);
/* Free the keyspace and every value (wiped). */
void db_free(db *d);
/* Set the change callback. */
void db_on_change(db *d, db_change_fn *fn, void *arg);
/* Set the time (ms since the epoch) used for expiry decisions until the next call. */
void db_set_now(db *d, long long now_ms);
/* The time set by db_set_now. */
long long db_now(const db *d);

/* ---- keys ---- */
/* Live entry for key, or NULL (an expired key is deleted here). */
db_entry *db_lookup(db *d, const uint8_t *key, size_t klen);
/* Entry for key even when expired, never deleting (change callbacks use it). */
db_entry *db_find_raw(db *d, const uint8_t *key, size_t klen);
/* A hint that keys[0..n) (at most DB_PREFETCH_MAX) are about to be looked up, with
 * fields[i] (NULL: none) of a hash: buckets, entries, values and hash fields are
 * prefetched into the cache in stages, so the misses of a pipeline of commands overlap
 * instead of coming one after another. Changes nothing. */
#define DB_PREFETCH_MAX 16
void db_prefetch(db *d, const uint8_t *const *keys, const size_t *lens,
                 const uint8_t *const *fields, const size_t *flens, size_t n);
/* Type of an entry. */
enum db_type db_entry_type(const db_entry *e);
/* Key of an entry (valid while the entry lives). */
const uint8_t *db_entry_key(const db_entry *e, size_t *klen);
/* Delete key; returns 1 if it existed. */
int db_delete(db *d, const uint8_t *key, size_t klen);
/* Delete key as UNLINK does: the same, except that a hash of more than DB_LAZYFREE_MIN
 * fields is gone from the keyspace at once and freed (wiped) on the lazy-free thread, so
 * the call takes the same short time whatever its size. Without db_lazyfree_start, or
 * when that thread's queue is full, the hash is freed here. */
#define DB_LAZYFREE_MIN 64
int db_unlink(db *d, const uint8_t *key, size_t klen);
/* Start the lazy-free thread (0, or -1); db_lazyfree_stop waits until everything handed
 * to it is freed (before db_free). Completions run from db_lazyfree_fd's readiness:
 * call db_lazyfree_drain then, on the thread that owns d. */
int db_lazyfree_start(db *d);
void db_lazyfree_stop(db *d);
int db_lazyfree_fd(const db *d);
void db_lazyfree_drain(db *d);
/* Expiry of an entry in ms since the epoch, or DB_NO_EXPIRE. */
long long db_get_expire(const db_entry *e);
/* Set (when_ms >= 0) or remove (DB_NO_EXPIRE) an entry's expiry. */
void db_set_expire(db *d, db_entry *e, long long when_ms);
/* Move src to dst (dst replaced; its expiry travels with it; values are re-sealed for their
 * new name). Returns 0, -1 if src is absent, -2 if a value did not open. */
int db_rename(db *d, const uint8_t *src, size_t slen, const uint8_t *dst, size_t dlen);
/* Copy src to dst as db_rename moves it, src left in place. Returns 0, -1 if src is
 * absent, -2 if a value did not open (nothing changed). */
int db_copy(db *d, const uint8_t *src, size_t slen, const uint8_t *dst, size_t dlen);
/* Number of keys (expired but not yet removed ones included, as Redis counts). */
size_t db_size(const db *d);
/* Number of keys with an expiry. */
size_t db_expires(const db *d);
/* Remove every key. */
void db_flush(db *d);
/* One SCAN step: calls fn for each live key; returns the next cursor (0 = done). */
uint64_t db_scan(db *d, uint64_t cursor, void (*fn)(void *arg, db_entry *e), void *arg);
/* Up to steps db_scan steps at once, with the entries and their values prefetched (a walk
 * over the whole keyspace: log compaction). fn must not add, remove or replace keys. */
uint64_t db_scan_batch(db *d, uint64_t cursor, int steps, void (*fn)(void *arg, db_entry *e),
                       void *arg);
/* The same, but fn also sees keys that expired and are not removed yet (it must not change
 * the keyspace: remove them after the step). */
uint64_t db_scan_raw(db *d, uint64_t cursor, void (*fn)(void *arg, db_entry *e), void *arg);
/* Keys removed because they expired, on access or by active expiry (INFO expired_keys),
 * and its reset (CONFIG RESETSTAT). */
unsigned long long db_expired_count(const db *d);
void db_expired_count_reset(db *d);
/* Active expiry: sample keys with a TTL for at most budget_us; returns keys removed. */
size_t db_expire_cycle(db *d, long long budget_us);
/* Incremental rehash work for at most ms. */
void db_rehash(db *d, int ms);

/* ---- values ---- */
/* Plaintext length of a stored value. */
size_t db_ref_len(const db_ref *r);
/* Open a stored value into dst (db_ref_len bytes). Returns 0, or -1 if it does not open
 * (damaged, or sealed with a retired key): dst is wiped then. */
int db_ref_open(db *d, const db_ref *r, uint8_t *dst);

/* ---- journal, replay, compaction, keys ---- */
/* Append mutation operations to frame from now on (NULL: stop journaling). */
void db_journal_to(db *d, buf *frame);
/* Loading mode: nothing expires and nothing is journaled (set while replaying the log). */
void db_set_loading(db *d, int loading);
/* Replay one journal frame. Returns 0, or -1 (malformed frame; err says why). */
int db_apply(db *d, const uint8_t *frame, size_t len, char *err, size_t errlen);
/* One journal operation, as db_frame_foreach reports it. */
typedef struct {
    int op;                /* 1 string set, 2 field set, 3 field delete, 4 key delete,
                              5 expiry, 6 flush */
    const uint8_t *key;    /* key (NULL for a flush) */
    size_t klen;           /* its length */
    const uint8_t *field;  /* field (ops 2 and 3), else NULL */
    size_t flen;           /* its length */
    const uint8_t *stored; /* stored (sealed) value (ops 1 and 2), else NULL */
    size_t slen;           /* its length */
    long long expire;      /* ops 1 and 5: absolute ms, or DB_NO_EXPIRE */
} db_op_view;
/* Walk the operations of a journal frame without applying them (for tools that check or
 * convert frames). fn returns 0 to go on. Returns 0, -1 if the frame is malformed (err), or
 * what fn returned when it stopped the walk. Pointers are into frame. */
int db_frame_foreach(const uint8_t *frame, size_t len, int (*fn)(void *ud, const db_op_view *op),
                     void *ud, char *err, size_t errlen);
/* Open a stored value that a frame carries, for key and field (NULL for a string), with the
 * values sealer s, into dst (slen - SEAL_OVERHEAD bytes). Returns 0 or -1. */
int db_open_stored(sealer *s, const uint8_t *key, size_t klen, const uint8_t *field,
                   size_t flen, const uint8_t *stored, size_t slen, uint8_t *dst);
/* Append an operation recording a nonce already used by the values sealer (hdr: a seal
 * header, SEAL_HEADER bytes: version and nonce). Replaying it raises the keyring's counter
 * above it (seal_nonce_note); the keyspace does not change. */
void db_snapshot_nonce(buf *out, const uint8_t *hdr);
/* Append the full state of e (delete, then contents and expiry) to out as journal operations,
 * for a compacted log. */
void db_snapshot_key(db *d, db_entry *e, buf *out);
/* The same, handing out to flush (which must empty it) whenever it holds chunk bytes or more
 * between two fields, so a large hash never sits in memory whole. */
void db_snapshot_key_chunked(db *d, db_entry *e, buf *out, size_t chunk,
                             void (*flush)(void *arg, buf *out), void *arg);
/* Part of the state of hash e from scan cursor on (first: the delete, from cursor 0), about
 * max bytes of it, and the expiry with the last part. Returns the cursor to go on from, 0
 * when done. Between parts the caller may let writes run, provided they reach the same
 * stream (the journal holds states, not commands, so any write of the hash is re-applied
 * over the parts; a compact hash is returned whole). */
uint64_t db_snapshot_hash_part(db *d, db_entry *e, uint64_t cursor, int first, size_t max,
                               buf *out);
/* ---- online point-in-time snapshot (backups) ----
 * A snapshot records the keyspace as it is when db_snapshot_begin is called, while writes
 * go on: before a key the snapshot does not have yet is changed, deleted or expires, its
 * state is handed to emit first; keys created afterwards are never emitted; an incremental
 * scan (db_snapshot_step) hands over the rest. emit receives batches of journal operations
 * (each key's full state; at most about 1 MB at a time), so memory stays bounded. */
/* Start one (the point is the current command time). Returns 0, or -1 if one is running. */
int db_snapshot_begin(db *d, void (*emit)(void *ud, const uint8_t *ops, size_t len), void *ud);
/* Scan for about budget_us; returns 1 while there is more, 0 once everything is emitted. */
int db_snapshot_step(db *d, long long budget_us);
/* Stop a snapshot (what was emitted is the caller's to discard). */
void db_snapshot_abort(db *d);
/* 1 while a snapshot is being taken. */
int db_snapshot_running(const db *d);

/* Number of stored values sealed with values-key version v. */
size_t db_version_count(const db *d, uint32_t v);
/* Re-seal up to max_keys keys whose values use another version than the current one,
 * starting at *cursor (0 the first time; set to 0 when the keyspace was walked). Journaled
 * like any write. Returns the number of values re-sealed. */
size_t db_reseal_step(db *d, uint64_t *cursor, size_t max_keys);
/* Values sealed and opened (for INFO and benchmarks). */
void db_seal_stats(const db *d, unsigned long long *sealed, unsigned long long *opened);

/* ---- strings ---- */
/* The value of a string entry. */
db_ref db_str_ref(const db *d, const db_entry *e);
/* Set key to a string value. keep_ttl keeps an existing expiry; otherwise expire_ms (or
 * DB_NO_EXPIRE) is applied. Returns the entry, or NULL if sealing failed (nothing changed). */
db_entry *db_str_set(db *d, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                     long long expire_ms, int keep_ttl);

/* Bytes the key takes (MEMORY USAGE): its record and name, its value and, for a hash, its
 * fields. A hash table of more than samples fields (0: all) is estimated from the fields
 * of its first scan steps, as Redis samples. */
size_t db_key_memory(db *d, const db_entry *e, size_t samples);

/* ---- hashes ---- */
/* Number of fields. */
size_t db_hash_len(const db_entry *e);
/* 1 while the hash is in its compact form (Redis's listpack), 0 once it is a table. */
int db_hash_packed(const db_entry *e);
/* Value of field into *out; returns 1 if present, 0 if not. */
int db_hash_get(db *d, db_entry *e, const uint8_t *f, size_t flen, db_ref *out);
/* Set field (creating the hash if key is absent; caller checked the type). Returns 1 if
 * the field is new, 0 if updated, -1 if sealing failed (nothing changed). */
int db_hash_set(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen,
                const uint8_t *val, size_t vlen);
/* Delete field; returns 1 if removed. The key is deleted when its last field goes. */
int db_hash_del(db *d, db_entry *e, const uint8_t *f, size_t flen);
/* Call fn for every field of the hash (in storage order). fn must not modify the keyspace. */
void db_hash_foreach(db *d, db_entry *e,
                     void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v),
                     void *arg);
/* One HSCAN step (same contract as db_scan). */
uint64_t db_hash_scan(db *d, db_entry *e, uint64_t cursor,
                      void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v),
                      void *arg);
/* Up to steps HSCAN steps at once, the fields prefetched (see db_scan_batch); fn must not
 * modify the keyspace. */
uint64_t db_hash_scan_batch(db *d, db_entry *e, uint64_t cursor, int steps,
                            void (*fn)(void *arg, const uint8_t *f, size_t flen, const db_ref *v),
                            void *arg);
/* A random field of the hash (index into storage); returns 0 and fills f/v, or -1 if empty. */
int db_hash_random(db *d, db_entry *e, const uint8_t **f, size_t *flen, db_ref *v);

#endif
