/*
 * db_int: the keyspace's internal structures, shared by db.c (keys, strings,
 * expiry), db_hash.c (hashes) and db_journal.c (journal, replay, snapshots,
 * re-sealing). Nothing outside src/store includes this.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include "store/db.h"
#include "store/seal.h"
#include "util/dict.h"

#define EXP_NONE UINT32_MAX

/* Journal operations (one byte each, then their fields; lengths are u32 big-endian). */
enum db_op {
    OP_STR = 1,    /* key, stored value, i64 expire */
    OP_HSET = 2,   /* key, field, stored value */
    OP_HDEL = 3,   /* key, field */
    OP_DEL = 4,    /* key */
    OP_EXPIRE = 5, /* key, i64 expire (-1: none) */
    OP_FLUSH = 6,  /* (nothing) */
    OP_NONCE = 7,  /* a seal header (version, nonce): the values sealer's counter stays above */
};

/* A string value: length then stored bytes (one allocation). */
typedef struct {
    uint32_t len;   /* stored length */
    uint8_t data[]; /* stored bytes (sealed unless the keyspace has no sealer) */
} db_sval;

/* Compact hash: entries [u32 flen][field][u32 vlen][stored value] back to back. */
typedef struct {
    uint32_t count; /* fields */
    uint32_t used;  /* bytes of data[] in use */
    uint8_t data[]; /* entries */
} db_hpack;

/* A field of a hash held as a table: field then stored value in one allocation. */
typedef struct {
    dict_node node; /* link in the hash's table */
    uint32_t flen;  /* field length */
    uint32_t vlen;  /* stored value length */
    uint8_t data[]; /* field bytes, then stored value bytes */
} db_hfield;

/* A hash value. */
typedef struct {
    uint8_t packed; /* 1: pack is used; 0: fields is used */
    db_hpack *pack; /* compact form */
    dict fields;    /* table form (db_hfield records) */
} db_hash;

struct db_entry {
    dict_node node;    /* link in the keyspace table */
    void *val;         /* db_sval or db_hash */
    long long expire;  /* ms since the epoch, or DB_NO_EXPIRE */
    uint32_t klen;     /* key length */
    uint32_t exp_idx;  /* index in db.exp, EXP_NONE when no expiry */
    uint32_t snap;     /* snapshot epoch that already has this key (captured, or created
                          after the snapshot point) */
    uint8_t type;      /* enum db_type */
    uint8_t key[];     /* key bytes */
};

struct db {
    dict keys;               /* db_entry records */
    db_entry **exp;          /* entries with an expiry (for sampling) */
    size_t exp_len, exp_cap; /* its size */
    long long now;           /* command time, ms */
    db_change_fn *on_change; /* WATCH notification */
    void *on_change_arg;     /* its argument */
    sealer *seal;            /* values sealer (NULL: clear, unit tests) */
    buf *journal;            /* frame the current command's operations go to (NULL: off) */
    int loading;             /* replaying the log: no expiry, no journal */
    size_t *vcount;          /* stored values per values-key version (index = version) */
    struct workq *lazyq;     /* the lazy-free thread (db_lazyfree.c), or NULL */
    size_t nvcount;          /* its size */
    unsigned long long sealed, opened; /* counters */
    unsigned long long expired_n;      /* keys removed because they expired (lazily or not) */
    /* online point-in-time snapshot (backups) */
    int snap_active;         /* a snapshot is being taken */
    uint32_t snap_epoch;     /* its epoch (entries with snap == epoch are done) */
    long long snap_time;     /* the snapshot point (ms): keys expired by then are left out */
    uint64_t snap_cursor;    /* scan position */
    int snap_scanned;        /* the scan is complete */
    buf snap_out;            /* operations not yet handed to emit */
    void (*snap_emit)(void *ud, const uint8_t *ops, size_t len); /* receives batches */
    void *snap_ud;           /* its argument */
};

/* Before e changes (or goes): if a snapshot is running and does not have e yet, hand it e's
 * current state. */
void db_snap_capture(db *d, db_entry *e);
/* Notify a change of key. */
void db_touch(db *d, const uint8_t *key, size_t klen);
/* Free a hash value (counting its values out). */
void db_hash_free(db *d, db_hash *h);
/* MEMORY USAGE of a hash value (db_key_memory). */
size_t db_int_hash_memory(const db_entry *e, size_t samples);
/* Create an empty hash value. */
db_hash *db_hash_new(void);
/* Count a stored value in (+1) or out (-1) of its key version. */
void db_count(db *d, const uint8_t *stored, size_t len, int delta);
/* Take n values of version v out of the counts (a lazy free's tally). */
void db_uncount(db *d, uint32_t v, size_t n);
/* Hand hash h (already out of the keyspace) to the lazy-free thread; 0, or -1 (not taken:
 * the caller frees it). */
int db_lazyfree_hash(db *d, db_hash *h);
/* Seal value for (key, field) into a new allocation of *outlen bytes; NULL on failure.
 * field NULL means a string value. */
uint8_t *db_seal_value(db *d, const uint8_t *key, size_t klen, const uint8_t *field,
                       size_t flen, const uint8_t *v, size_t vlen, size_t *outlen);
/* Raw setters used by normal writes and by replay: they take stored (sealed) bytes. */
db_entry *db_raw_set_str(db *d, const uint8_t *key, size_t klen, const uint8_t *stored,
                         size_t slen, long long expire, int keep_ttl);
int db_raw_hset(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen,
                const uint8_t *stored, size_t slen);
/* Entry for key without expiring it (replay, journal). */
db_entry *db_find_raw(db *d, const uint8_t *key, size_t klen);
/* Journal emitters (no-ops when journaling is off). */
void db_j_str(db *d, const db_entry *e);
void db_j_hset(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen,
               const uint8_t *stored, size_t slen);
void db_j_hdel(db *d, const uint8_t *key, size_t klen, const uint8_t *f, size_t flen);
void db_j_del(db *d, const uint8_t *key, size_t klen);
void db_j_expire(db *d, const uint8_t *key, size_t klen, long long when);
void db_j_flush(db *d);

#endif
