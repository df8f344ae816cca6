/*
 * db_int: the keyspace's internal structures, shared by db.c (keys, strings,
 * expiry) and db_hash.c (hashes). Nothing outside src/store includes this.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include "store/db.h"
#include "util/dict.h"

#define EXP_NONE UINT32_MAX

/* A string value: length then bytes (one allocation). */
typedef struct {
    uint32_t len;   /* stored length */
    uint8_t data[]; /* stored bytes */
} db_sval;

/* Compact hash: entries [u32 flen][field][u32 vlen][value] back to back. */
typedef struct {
    uint32_t count; /* fields */
    uint32_t used;  /* bytes of data[] in use */
    uint8_t data[]; /* entries */
} db_hpack;

/* A field of a hash held as a table: field then value bytes in one allocation. */
typedef struct {
    dict_node node; /* link in the hash's table */
    uint32_t flen;  /* field length */
    uint32_t vlen;  /* stored value length */
    uint8_t data[]; /* field bytes, then value bytes */
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
    uint64_t hash_scan_seed; /* unused, reserved */
};

/* Notify a change of key. */
void db_touch(db *d, const uint8_t *key, size_t klen);
/* Free a hash value. */
void db_hash_free(db_hash *h);
/* Create an empty hash value. */
db_hash *db_hash_new(void);

#endif
