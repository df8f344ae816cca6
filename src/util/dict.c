/*
 * dict: intrusive chained hash table (see dict.h).
 *
 * Load factor: grow to twice the records when used >= size; shrink when fewer
 * than one record per eight buckets. While rehashing, lookups consult both
 * tables and inserts go to the new one.
 */
#include "dict.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "mem.h"

#define DICT_MIN_SIZE 4

uint64_t dict_hash(const uint8_t *k, size_t len)
{
    return hash_bytes(k, len);
}

void dict_init(dict *d, const dict_type *type)
{
    memset(d, 0, sizeof *d);
    d->type = type;
    d->rehashidx = -1;
}

size_t dict_size(const dict *d)
{
    return d->used[0] + d->used[1];
}

static inline int rehashing(const dict *d)
{
    return d->rehashidx != -1;
}

static uint64_t node_hash(const dict *d, const dict_node *n)
{
    const uint8_t *k;
    size_t len;
    d->type->keyof(n, &k, &len);
    return dict_hash(k, len);
}

static int node_is(const dict *d, const dict_node *n, const uint8_t *k, size_t len)
{
    const uint8_t *nk;
    size_t nlen;
    d->type->keyof(n, &nk, &nlen);
    return nlen == len && memcmp(nk, k, len) == 0;
}

/* Move up to n non-empty buckets from t[0] to t[1]; returns 1 if more remain. */
static int rehash_step(dict *d, int n)
{
    int empty_visits = n * 10;
    if (!rehashing(d)) return 0;
    while (n-- && d->used[0] != 0) {
        while (d->t[0][d->rehashidx] == NULL) {
            d->rehashidx++;
            if (--empty_visits == 0) return 1;
        }
        dict_node *e = d->t[0][d->rehashidx];
        while (e) {
            dict_node *next = e->next;
            size_t idx = node_hash(d, e) & (d->size[1] - 1);
            e->next = d->t[1][idx];
            d->t[1][idx] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->t[0][d->rehashidx] = NULL;
        d->rehashidx++;
    }
    if (d->used[0] == 0) {
        mem_free(d->t[0]);
        d->t[0] = d->t[1];
        d->size[0] = d->size[1];
        d->used[0] = d->used[1];
        d->t[1] = NULL;
        d->size[1] = d->used[1] = 0;
        d->rehashidx = -1;
        return 0;
    }
    return 1;
}

static void start_resize(dict *d, size_t want)
{
    size_t size = DICT_MIN_SIZE;
    while (size < want)
        size <<= 1;
    if (size == d->size[0]) return;
    dict_node **t = mem_calloc(size * sizeof *t);
    if (d->size[0] == 0) {
        d->t[0] = t;
        d->size[0] = size;
        return;
    }
    d->t[1] = t;
    d->size[1] = size;
    d->rehashidx = 0;
}

static void maybe_resize(dict *d)
{
    if (rehashing(d)) return;
    if (d->size[0] == 0) {
        start_resize(d, DICT_MIN_SIZE);
        return;
    }
    if (d->used[0] >= d->size[0])
        start_resize(d, d->used[0] * 2);
    else if (d->size[0] > DICT_MIN_SIZE && d->used[0] * 8 < d->size[0])
        start_resize(d, d->used[0] * 2 > DICT_MIN_SIZE ? d->used[0] * 2 : DICT_MIN_SIZE);
}

static inline void step(dict *d)
{
    if (rehashing(d) && d->iterators == 0) rehash_step(d, 1);
}

dict_node *dict_find(dict *d, const uint8_t *k, size_t len, uint64_t h)
{
    if (dict_size(d) == 0) return NULL;
    step(d);
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) break;
        size_t idx = h & (d->size[t] - 1);
        for (dict_node *e = d->t[t][idx]; e; e = e->next)
            if (node_is(d, e, k, len)) return e;
        if (!rehashing(d)) break;
    }
    return NULL;
}

void dict_buckets(const dict *d, uint64_t h, dict_node *const *b[2])
{
    for (int t = 0; t <= 1; t++)
        b[t] = d->size[t] ? &d->t[t][h & (d->size[t] - 1)] : NULL;
}

void dict_insert(dict *d, dict_node *n, uint64_t h)
{
    maybe_resize(d);
    step(d);
    int t = rehashing(d) ? 1 : 0;
    size_t idx = h & (d->size[t] - 1);
    n->next = d->t[t][idx];
    d->t[t][idx] = n;
    d->used[t]++;
}

dict_node *dict_unlink(dict *d, const uint8_t *k, size_t len, uint64_t h)
{
    if (dict_size(d) == 0) return NULL;
    step(d);
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) break;
        size_t idx = h & (d->size[t] - 1);
        dict_node **pp = &d->t[t][idx];
        for (dict_node *e = *pp; e; pp = &e->next, e = e->next) {
            if (node_is(d, e, k, len)) {
                *pp = e->next;
                e->next = NULL;
                d->used[t]--;
                if (d->iterators == 0) maybe_resize(d);
                return e;
            }
        }
        if (!rehashing(d)) break;
    }
    return NULL;
}

void dict_replace(dict *d, dict_node *old, dict_node *nn, uint64_t h)
{
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) break;
        size_t idx = h & (d->size[t] - 1);
        for (dict_node **pp = &d->t[t][idx]; *pp; pp = &(*pp)->next) {
            if (*pp == old) {
                nn->next = old->next;
                *pp = nn;
                return;
            }
        }
    }
}

/* Reverse the bits of v (the cursor increments from the high bit down). */
static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

static void scan_bucket(dict_node *e, void (*fn)(void *, dict_node *), void *arg)
{
    while (e) {
        dict_node *next = e->next;
        fn(arg, e);
        e = next;
    }
}

uint64_t dict_scan(dict *d, uint64_t v, void (*fn)(void *arg, dict_node *n), void *arg)
{
    if (dict_size(d) == 0) return 0;
    d->iterators++;
    if (!rehashing(d)) {
        uint64_t m0 = d->size[0] - 1;
        scan_bucket(d->t[0][v & m0], fn, arg);
        v |= ~m0;
        v = rev64(v);
        v++;
        v = rev64(v);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1;
        int big = 1 - small;
        uint64_t m0 = d->size[small] - 1, m1 = d->size[big] - 1;
        scan_bucket(d->t[small][v & m0], fn, arg);
        /* Every bucket of the big table that expands the small bucket. */
        do {
            scan_bucket(d->t[big][v & m1], fn, arg);
            v |= ~m1;
            v = rev64(v);
            v++;
            v = rev64(v);
        } while (v & (m0 ^ m1));
    }
    d->iterators--;
    return v;
}

#define SCAN_HEADS 64  /* buckets a prefetching scan looks ahead */
#define SCAN_NODES 128 /* records it gathers before calling back */

static void scan_run(dict_node **nodes, size_t n, void (*pf)(dict_node *n),
                     void (*fn)(void *arg, dict_node *n), void *arg)
{
    if (pf)
        for (size_t i = 0; i < n; i++)
            pf(nodes[i]);
    for (size_t i = 0; i < n; i++)
        fn(arg, nodes[i]);
}

uint64_t dict_scan_prefetch(dict *d, uint64_t v, int steps, void (*pf)(dict_node *n),
                            void (*fn)(void *arg, dict_node *n), void *arg)
{
    if (dict_size(d) == 0) return 0;
    if (rehashing(d) || steps <= 1) return dict_scan(d, v, fn, arg);
    if (steps > SCAN_HEADS) steps = SCAN_HEADS;
    d->iterators++;
    /* The buckets of the next steps first, each chain's head prefetched as it is found:
     * in a large table every record is a cache miss, and this way they overlap. */
    uint64_t m0 = d->size[0] - 1;
    dict_node *heads[SCAN_HEADS];
    int nh = 0;
    do {
        dict_node *h = d->t[0][v & m0];
        if (h) {
            __builtin_prefetch(h);
            heads[nh++] = h;
        }
        v |= ~m0;
        v = rev64(v);
        v++;
        v = rev64(v);
    } while (v != 0 && --steps > 0);
    dict_node *nodes[SCAN_NODES];
    size_t n = 0;
    for (int i = 0; i < nh; i++) {
        for (dict_node *e = heads[i]; e; e = e->next) {
            if (e->next) __builtin_prefetch(e->next);
            if (n == SCAN_NODES) {
                scan_run(nodes, n, pf, fn, arg);
                n = 0;
            }
            nodes[n++] = e;
        }
    }
    scan_run(nodes, n, pf, fn, arg);
    d->iterators--;
    return v;
}

dict_node *dict_random(dict *d)
{
    if (dict_size(d) == 0) return NULL;
    step(d);
    dict_node *head = NULL;
    while (!head) {
        if (rehashing(d)) {
            size_t span = d->size[0] + d->size[1] - (size_t)d->rehashidx;
            size_t r = (size_t)d->rehashidx + ((size_t)random() % span);
            head = r >= d->size[0] ? d->t[1][r - d->size[0]] : d->t[0][r];
        } else {
            head = d->t[0][(size_t)random() & (d->size[0] - 1)];
        }
    }
    size_t len = 0;
    for (dict_node *e = head; e; e = e->next)
        len++;
    size_t pick = (size_t)random() % len;
    while (pick--)
        head = head->next;
    return head;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dict_rehash_ms(dict *d, int ms)
{
    if (d->iterators) return rehashing(d);
    long long start = now_ms();
    while (rehash_step(d, 100)) {
        if (now_ms() - start >= ms) return 1;
    }
    return 0;
}

void dict_clear(dict *d, void (*fn)(dict_node *n, void *arg), void *arg)
{
    for (int t = 0; t <= 1; t++) {
        for (size_t i = 0; i < d->size[t]; i++) {
            dict_node *e = d->t[t][i];
            while (e) {
                dict_node *next = e->next;
                if (fn) fn(e, arg);
                e = next;
            }
        }
        mem_free(d->t[t]);
    }
    const dict_type *type = d->type;
    dict_init(d, type);
}

void dict_foreach(dict *d, void (*fn)(dict_node *n, void *arg), void *arg)
{
    d->iterators++;
    for (int t = 0; t <= 1; t++)
        for (size_t i = 0; i < d->size[t]; i++)
            for (dict_node *e = d->t[t][i]; e;) {
                dict_node *next = e->next;
                fn(e, arg);
                e = next;
            }
    d->iterators--;
}

size_t dict_overhead(const dict *d)
{
    return (d->size[0] + d->size[1]) * sizeof(dict_node *);
}
