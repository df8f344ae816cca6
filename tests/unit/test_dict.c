/* Unit tests for dict: inserts through resizes, scan guarantees, random, SipHash vectors. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/dict.h"
#include "util/hash.h"

typedef struct {
    dict_node node;
    int seen;
    int prefetched; /* pf calls (dict_scan_prefetch) */
    char key[16];
} item;

static void keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const item *it = (const item *)n;
    *k = (const uint8_t *)it->key;
    *len = strlen(it->key);
}

static const dict_type type = {keyof};

static item *mk(int i)
{
    item *it = calloc(1, sizeof *it);
    snprintf(it->key, sizeof it->key, "k%d", i);
    return it;
}

static void free_cb(dict_node *n, void *arg)
{
    (void)arg;
    free(n);
}

static void mark(void *arg, dict_node *n)
{
    (void)arg;
    ((item *)n)->seen++;
}

TEST(insert_find_delete)
{
    dict d;
    dict_init(&d, &type);
    for (int i = 0; i < 10000; i++) {
        item *it = mk(i);
        dict_insert(&d, &it->node, dict_hash((const uint8_t *)it->key, strlen(it->key)));
    }
    CHECK_INT(dict_size(&d), 10000);
    for (int i = 0; i < 10000; i += 7) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        CHECK(dict_find(&d, (const uint8_t *)k, strlen(k),
                        dict_hash((const uint8_t *)k, strlen(k))) != NULL);
    }
    for (int i = 0; i < 10000; i += 2) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        dict_node *n = dict_unlink(&d, (const uint8_t *)k, strlen(k),
                                   dict_hash((const uint8_t *)k, strlen(k)));
        CHECK(n != NULL);
        free(n);
    }
    CHECK_INT(dict_size(&d), 5000);
    CHECK(dict_find(&d, (const uint8_t *)"k2", 2, dict_hash((const uint8_t *)"k2", 2)) == NULL);
    CHECK(dict_random(&d) != NULL);
    dict_clear(&d, free_cb, NULL);
}

TEST(scan_survives_resizes)
{
    dict d;
    dict_init(&d, &type);
    item *items[2000];
    for (int i = 0; i < 1000; i++) {
        items[i] = mk(i);
        dict_insert(&d, &items[i]->node,
                    dict_hash((const uint8_t *)items[i]->key, strlen(items[i]->key)));
    }
    /* Scan while the table grows (new items) and is rehashed: every item present from the
     * start to the end must be seen at least once. */
    uint64_t cur = 0;
    int steps = 0, next = 1000;
    do {
        cur = dict_scan(&d, cur, mark, NULL);
        if (next < 2000) {
            items[next] = mk(next);
            dict_insert(&d, &items[next]->node,
                        dict_hash((const uint8_t *)items[next]->key, strlen(items[next]->key)));
            next++;
        }
        steps++;
    } while (cur && steps < 100000);
    for (int i = 0; i < 1000; i++)
        CHECK(items[i]->seen >= 1);
    dict_clear(&d, free_cb, NULL);
}

static int pf_before_fn = 1;

static void pf_mark(dict_node *n)
{
    ((item *)n)->prefetched++;
}

static void mark_after_pf(void *arg, dict_node *n)
{
    (void)arg;
    item *it = (item *)n;
    if (it->prefetched != it->seen + 1) pf_before_fn = 0;
    it->seen++;
}

TEST(scan_prefetch)
{
    dict d;
    dict_init(&d, &type);
    enum { N = 5000 };
    item *items[2 * N];
    for (int i = 0; i < N; i++) {
        items[i] = mk(i);
        dict_insert(&d, &items[i]->node,
                    dict_hash((const uint8_t *)items[i]->key, strlen(items[i]->key)));
    }
    while (dict_rehash_ms(&d, 10))
        ;
    /* A table at rest: every record exactly once, and pf on it before fn. */
    uint64_t cur = 0;
    int calls = 0;
    do {
        cur = dict_scan_prefetch(&d, cur, 13, pf_mark, mark_after_pf, NULL);
        calls++;
    } while (cur && calls < 100000);
    CHECK_INT(cur, 0);
    int once = 1;
    for (int i = 0; i < N; i++)
        if (items[i]->seen != 1 || items[i]->prefetched != 1) once = 0;
    CHECK(once);
    CHECK(pf_before_fn);
    /* The cursor after a batch of k steps is the one k dict_scan steps reach. */
    for (int i = 0; i < N; i++)
        items[i]->seen = 0;
    uint64_t a = 0, b = 0;
    int same = 1;
    do {
        a = dict_scan_prefetch(&d, a, 5, NULL, mark, NULL);
        for (int k = 0; k < 5 && (k == 0 || b != 0); k++)
            b = dict_scan(&d, b, mark, NULL);
        if (a != b) same = 0;
    } while (a && b && same);
    CHECK(same);
    for (int i = 0; i < N; i++)
        CHECK_INT(items[i]->seen, 2);
    /* A growing table (rehashing in between): every record present throughout is seen. */
    for (int i = 0; i < N; i++)
        items[i]->seen = 0;
    cur = 0;
    int next = N, steps = 0;
    do {
        cur = dict_scan_prefetch(&d, cur, 9, NULL, mark, NULL);
        for (int k = 0; k < 3 && next < 2 * N; k++, next++) {
            items[next] = mk(next);
            dict_insert(&d, &items[next]->node,
                        dict_hash((const uint8_t *)items[next]->key, strlen(items[next]->key)));
        }
        steps++;
    } while (cur && steps < 100000);
    for (int i = 0; i < N; i++)
        CHECK(items[i]->seen >= 1);
    dict_clear(&d, free_cb, NULL);
}

TEST(siphash_vectors)
{
    /* SipHash-2-4 reference vectors (key 00..0f, input 00..n-1). */
    uint8_t key[16], in[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)i;
    CHECK(hash_siphash(2, 4, key, in, 0) == 0x726fdb47dd0e0e31ULL);
    CHECK(hash_siphash(2, 4, key, in, 1) == 0x74f839c593dc67fdULL);
    CHECK(hash_siphash(2, 4, key, in, 8) == 0x93f5f5799a932462ULL);
    CHECK(hash_siphash(2, 4, key, in, 15) == 0xa129ca6149be45e5ULL);
    CHECK(hash_bytes_nocase((const uint8_t *)"GeT", 3) == hash_bytes((const uint8_t *)"get", 3));
}

UNIT_MAIN(T(insert_find_delete), T(scan_survives_resizes), T(scan_prefetch), T(siphash_vectors))
