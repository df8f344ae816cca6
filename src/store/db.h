/*
 * db: the keyspace. Strings and hashes, expiry (lazy on access and active by
 * sampling), scan cursors, and change notification for WATCH.
 *
 * The interface is deliberately narrow, so the keyspace can later move behind
 * another engine: callers look a key up, read a value by *opening* a reference
 * into their own buffer, and write values by handing plaintext in. How values
 * are held (sealed, once the encryption layer is in) is this module's
 * business; a reference (db_ref) is only valid until the next call that
 * modifies the keyspace.
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
    const uint8_t *p; /* stored form */
    uint32_t len;     /* stored length */
} db_ref;

#define DB_NO_EXPIRE (-1LL)

/* Limits for the compact hash encoding (beyond either, a hash becomes a table). */
#define DB_HASH_PACK_MAX_ENTRIES 128
#define DB_HASH_PACK_MAX_VALUE   64

/* Called when key (or every key, when key is NULL) changed, was deleted or expired. */
typedef void db_change_fn(void *arg, const uint8_t *key, size_t klen);

/* New empty keyspace. */
db *db_new(void);
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
/* Type of an entry. */
enum db_type db_entry_type(const db_entry *e);
/* Key of an entry (valid while the entry lives). */
const uint8_t *db_entry_key(const db_entry *e, size_t *klen);
/* Delete key; returns 1 if it existed. */
int db_delete(db *d, const uint8_t *key, size_t klen);
/* Expiry of an entry in ms since the epoch, or DB_NO_EXPIRE. */
long long db_get_expire(const db_entry *e);
/* Set (when_ms >= 0) or remove (DB_NO_EXPIRE) an entry's expiry. */
void db_set_expire(db *d, db_entry *e, long long when_ms);
/* Move src to dst (dst replaced; its expiry travels with it). Returns 0, or -1 if src absent. */
int db_rename(db *d, const uint8_t *src, size_t slen, const uint8_t *dst, size_t dlen);
/* Number of keys (expired but not yet removed ones included, as Redis counts). */
size_t db_size(const db *d);
/* Number of keys with an expiry. */
size_t db_expires(const db *d);
/* Remove every key. */
void db_flush(db *d);
/* One SCAN step: calls fn for each live key; returns the next cursor (0 = done). */
uint64_t db_scan(db *d, uint64_t cursor, void (*fn)(void *arg, db_entry *e), void *arg);
/* Active expiry: sample keys with a TTL for at most budget_us; returns keys removed. */
size_t db_expire_cycle(db *d, long long budget_us);
/* Incremental rehash work for at most ms. */
void db_rehash(db *d, int ms);

/* ---- values ---- */
/* Plaintext length of a stored value. */
size_t db_ref_len(const db_ref *r);
/* Open a stored value into dst (db_ref_len bytes). key/field are what it is bound to. */
void db_ref_open(db *d, const db_ref *r, uint8_t *dst);

/* ---- strings ---- */
/* The value of a string entry. */
db_ref db_str_ref(const db_entry *e);
/* Set key to a string value. keep_ttl keeps an existing expiry; otherwise expire_ms (or
 * DB_NO_EXPIRE) is applied. Returns the entry. */
db_entry *db_str_set(db *d, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                     long long expire_ms, int keep_ttl);

/* ---- hashes ---- */
/* Number of fields. */
size_t db_hash_len(const db_entry *e);
/* Value of field into *out; returns 1 if present, 0 if not. */
int db_hash_get(db *d, db_entry *e, const uint8_t *f, size_t flen, db_ref *out);
/* Set field (creating the hash if key is absent; caller checked the type). Returns 1 if
 * the field is new, 0 if updated. */
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
/* A random field of the hash (index into storage); returns 0 and fills f/v, or -1 if empty. */
int db_hash_random(db *d, db_entry *e, const uint8_t **f, size_t *flen, db_ref *v);

#endif
