/*
 * dict: an intrusive chained hash table with incremental rehashing and a
 * stateless scan cursor.
 *
 * Intrusive: the caller's record starts with a dict_node, so an entry of the
 * keyspace is one allocation (no separate node). The table never owns records:
 * it links and unlinks them; freeing is the caller's job.
 *
 * Growth and shrinking move one bucket per operation (and more from a timer via
 * dict_rehash_ms), so a table of millions of keys never stalls the event loop.
 *
 * dict_scan implements the reverse-binary cursor: every record present for the
 * whole iteration is returned at least once even when the table is resized in
 * between calls; records may be returned more than once. This is what SCAN and
 * HSCAN promise.
 */
#ifndef DICT_H
#define DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict_node {
    struct dict_node *next; /* chain in a bucket; owned by the dict while linked */
} dict_node;

typedef struct {
    /* The key of a linked record: bytes and length, valid while the record lives. */
    void (*keyof)(const dict_node *n, const uint8_t **k, size_t *len);
} dict_type;

typedef struct {
    const dict_type *type; /* how to read keys of records */
    dict_node **t[2];      /* t[0] main table; t[1] target while rehashing */
    size_t size[2];        /* bucket counts (powers of two, 0 when absent) */
    size_t used[2];        /* records in each table */
    long rehashidx;        /* next bucket of t[0] to move, -1 when not rehashing */
    int iterators;         /* safe iterators running: rehash steps are paused */
} dict;

/* Initialize an empty table of the given type. */
void dict_init(dict *d, const dict_type *type);
/* Number of records. */
size_t dict_size(const dict *d);
/* Hash of a key as used by the table (SipHash-1-3, process key). */
uint64_t dict_hash(const uint8_t *k, size_t len);
/* Find the record with key k (hash h from dict_hash); NULL if absent. */
dict_node *dict_find(dict *d, const uint8_t *k, size_t len, uint64_t h);
/* Link record n (whose key hashes to h). The key must not be present already. */
void dict_insert(dict *d, dict_node *n, uint64_t h);
/* Unlink and return the record with key k; NULL if absent. Caller frees it. */
dict_node *dict_unlink(dict *d, const uint8_t *k, size_t len, uint64_t h);
/* Replace linked record old by nn (same key) in place, e.g. after a realloc. */
void dict_replace(dict *d, dict_node *old, dict_node *nn, uint64_t h);
/* One scan step from cursor; calls fn for each record; returns the next cursor (0 = done). */
uint64_t dict_scan(dict *d, uint64_t cursor, void (*fn)(void *arg, dict_node *n), void *arg);
/* Up to steps scan steps from cursor at once (as many dict_scan calls would make), for a
 * walk over a large table: the records of several buckets are gathered and prefetched, then
 * pf (if not NULL, e.g. to prefetch what a record points to) is called on each of a group,
 * then fn. Between gathering and fn, nothing may insert or unlink records: fn must not,
 * nor pf. While the table is rehashing this is one dict_scan step. */
uint64_t dict_scan_prefetch(dict *d, uint64_t cursor, int steps, void (*pf)(dict_node *n),
                            void (*fn)(void *arg, dict_node *n), void *arg);
/* A random record (roughly uniform); NULL when empty. */
dict_node *dict_random(dict *d);
/* Do rehash steps for about ms milliseconds; returns 1 if more remain. */
int dict_rehash_ms(dict *d, int ms);
/* Call fn on every record (in no order) and empty the table; fn may free the record. */
void dict_clear(dict *d, void (*fn)(dict_node *n, void *arg), void *arg);
/* Call fn on every record without modifying the table; fn must not insert or unlink. */
void dict_foreach(dict *d, void (*fn)(dict_node *n, void *arg), void *arg);
/* Where the chain for hash h starts in each table (NULL for a table not in use), for
 * callers that prefetch: nothing is read through them here. */
void dict_buckets(const dict *d, uint64_t h, dict_node *const *b[2]);
/* Bytes used by the bucket arrays (for memory reports). */
size_t dict_overhead(const dict *d);

#endif
