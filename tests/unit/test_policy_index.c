/* Unit tests for policy_index: set / replace / remove, forget, rename, values shared by
 * many keys, reload compatibility, and a randomized comparison with a simple model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/policy.h"
#include "access/policy_index.h"
#include "unit.h"
#include "util/buf.h"

#define K(s) (const uint8_t *)(s), strlen(s)

static const char *text = "schema patient:* type=patient subject=id\n"
                          "field patient ssn group=d phi=ssn index=blind\n"
                          "field patient mrn group=d phi=mrn index=blind\n"
                          "field patient name group=d phi=name\n";

static policy *load(const char *t)
{
    policy *p = NULL;
    char err[256];
    if (policy_parse(t, strlen(t), "t", &p, err, sizeof err) != 0)
        unit_fail(__FILE__, __LINE__, "parse: %s", err);
    return p;
}

static void hm(uint8_t out[32], int v)
{
    memset(out, 0, 32);
    out[0] = (uint8_t)v;
    out[31] = (uint8_t)(v >> 8);
}

/* Collects find results as a sorted, comma-joined string. */
typedef struct {
    char items[64][64]; /* keys */
    int n;              /* count */
} found;

static void collect(void *ctx, const uint8_t *key, size_t klen)
{
    found *f = ctx;
    if (f->n < 64) snprintf(f->items[f->n++], 64, "%.*s", (int)klen, (const char *)key);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static const char *find(policy_index *ix, const policy_field *f, int v)
{
    static char out[1024];
    found fd = {.n = 0};
    uint8_t h[32];
    hm(h, v);
    size_t n = policy_index_find(ix, f, h, collect, &fd);
    if ((int)n != fd.n) return "(count mismatch)";
    qsort(fd.items, (size_t)fd.n, 64, cmp);
    out[0] = '\0';
    for (int i = 0; i < fd.n; i++) {
        if (i) strcat(out, ",");
        strcat(out, fd.items[i]);
    }
    return out;
}

TEST(set_find_forget_rename)
{
    policy *p = load(text);
    if (!p) return;
    const policy_type *t = policy_type_find(p, K("patient"));
    const policy_field *ssn = policy_type_field(t, K("ssn")), *mrn = policy_type_field(t, K("mrn")),
                       *name = policy_type_field(t, K("name"));
    policy_index *ix = policy_index_new(p);
    policy_unref(p); /* the index holds its own reference */
    uint8_t h[32];
    hm(h, 1);
    policy_index_set(ix, ssn, K("patient:1"), h);
    policy_index_set(ix, ssn, K("patient:2"), h); /* same value, two records */
    hm(h, 2);
    policy_index_set(ix, ssn, K("patient:3"), h);
    policy_index_set(ix, mrn, K("patient:1"), h);  /* same HMAC, another field: separate */
    policy_index_set(ix, name, K("patient:1"), h); /* not indexed: ignored */
    CHECK_STR(find(ix, ssn, 1), "patient:1,patient:2");
    CHECK_STR(find(ix, ssn, 2), "patient:3");
    CHECK_STR(find(ix, mrn, 2), "patient:1");
    CHECK_STR(find(ix, mrn, 1), "");
    CHECK_STR(find(ix, name, 2), "");
    CHECK_INT(policy_index_entries(ix), 4);
    /* Replace a value: the old one no longer finds the key. */
    hm(h, 3);
    policy_index_set(ix, ssn, K("patient:1"), h);
    CHECK_STR(find(ix, ssn, 1), "patient:2");
    CHECK_STR(find(ix, ssn, 3), "patient:1");
    policy_index_set(ix, ssn, K("patient:1"), h); /* unchanged */
    CHECK_INT(policy_index_entries(ix), 4);
    /* Remove one field (HDEL). */
    policy_index_set(ix, ssn, K("patient:2"), NULL);
    CHECK_STR(find(ix, ssn, 1), "");
    policy_index_set(ix, ssn, K("patient:2"), NULL); /* absent: nothing */
    CHECK_INT(policy_index_entries(ix), 3);
    /* Rename moves every field; the target's old entries go. */
    policy_index_rename(ix, K("patient:1"), K("patient:9"));
    CHECK_STR(find(ix, ssn, 3), "patient:9");
    CHECK_STR(find(ix, mrn, 2), "patient:9");
    policy_index_rename(ix, K("patient:9"), K("patient:3"));
    CHECK_STR(find(ix, ssn, 2), "");
    CHECK_STR(find(ix, ssn, 3), "patient:3");
    CHECK_INT(policy_index_entries(ix), 2);
    policy_index_rename(ix, K("patient:3"), K("patient:3"));
    CHECK_INT(policy_index_entries(ix), 2);
    /* Forget a key (DEL). */
    policy_index_forget(ix, K("patient:3"));
    CHECK_STR(find(ix, ssn, 3), "");
    CHECK_STR(find(ix, mrn, 2), "");
    CHECK_INT(policy_index_entries(ix), 0);
    CHECK(policy_index_memory(ix) < 4096);
    /* Long key names (heap path) and binary keys. */
    char longkey[1000];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    hm(h, 7);
    policy_index_set(ix, ssn, K(longkey), h);
    policy_index_set(ix, ssn, (const uint8_t *)"a\0b", 3, h);
    CHECK_INT(policy_index_find(ix, ssn, h, NULL, NULL), 2);
    policy_index_forget(ix, K(longkey));
    CHECK_INT(policy_index_find(ix, ssn, h, NULL, NULL), 1);
    policy_index_clear(ix);
    CHECK_INT(policy_index_entries(ix), 0);
    policy_index_free(ix);
    policy_index_free(NULL);
}

TEST(reload_compatibility)
{
    policy *p = load(text);
    if (!p) return;
    policy_index *ix = policy_index_new(p);
    CHECK(policy_index_policy(ix) == p);
    /* Same indexed fields and patterns, other roles and groups: compatible. */
    buf t = {0};
    buf_printf(&t, "%srole doc read=d\nfield patient dob group=x phi=date\n", text);
    policy *same = load(buf_cstr(&t));
    CHECK(policy_index_compatible(ix, same));
    /* Another pattern, another kind, another indexed field: not compatible. */
    policy *pat = load("schema pt:* type=patient subject=id\n"
                       "field patient ssn group=d phi=ssn index=blind\n"
                       "field patient mrn group=d phi=mrn index=blind\n");
    policy *kind = load("schema patient:* type=patient subject=id\n"
                        "field patient ssn group=d phi=id index=blind\n"
                        "field patient mrn group=d phi=mrn index=blind\n");
    policy *more = load("schema patient:* type=patient subject=id\n"
                        "field patient ssn group=d phi=ssn index=blind\n"
                        "field patient mrn group=d phi=mrn index=blind\n"
                        "field patient name group=d phi=name index=blind\n");
    CHECK(!policy_index_compatible(ix, pat));
    CHECK(!policy_index_compatible(ix, kind));
    CHECK(!policy_index_compatible(ix, more));
    CHECK(!policy_index_compatible(ix, NULL));
    /* Rebind: the entries now answer for the new policy's fields. */
    uint8_t h[32];
    hm(h, 5);
    policy_index_set(ix, policy_type_field(policy_type_find(p, K("patient")), K("ssn")),
                     K("patient:5"), h);
    policy_index_rebind(ix, same);
    const policy_field *nssn = policy_type_field(policy_type_find(same, K("patient")), K("ssn"));
    CHECK_STR(find(ix, nssn, 5), "patient:5");
    /* A field of the old policy is no longer accepted. */
    CHECK_STR(find(ix, policy_type_field(policy_type_find(p, K("patient")), K("ssn")), 5), "");
    policy_unref(p);
    policy_unref(same);
    policy_unref(pat);
    policy_unref(kind);
    policy_unref(more);
    policy_index_free(ix);
    buf_free(&t);
}

/* Random operations against a plain array model. */
TEST(randomized_model)
{
    policy *p = load(text);
    if (!p) return;
    const policy_type *t = policy_type_find(p, K("patient"));
    const policy_field *fs[2] = {policy_type_field(t, K("ssn")), policy_type_field(t, K("mrn"))};
    policy_index *ix = policy_index_new(p);
    enum { KEYS = 200, VALS = 20 };
    int model[2][KEYS]; /* value per (field, key); -1 absent */
    memset(model, 0xff, sizeof model);
    srand(12345);
    for (int step = 0; step < 50000; step++) {
        int op = rand() % 10, k = rand() % KEYS, f = rand() % 2, v = rand() % VALS;
        char key[32];
        snprintf(key, sizeof key, "patient:%d", k);
        uint8_t h[32];
        hm(h, v);
        if (op < 6) {
            policy_index_set(ix, fs[f], K(key), h);
            model[f][k] = v;
        } else if (op < 8) {
            policy_index_set(ix, fs[f], K(key), NULL);
            model[f][k] = -1;
        } else if (op < 9) {
            policy_index_forget(ix, K(key));
            model[0][k] = model[1][k] = -1;
        } else {
            int k2 = rand() % KEYS;
            char to[32];
            snprintf(to, sizeof to, "patient:%d", k2);
            policy_index_rename(ix, K(key), K(to));
            if (k2 != k) {
                model[0][k2] = model[0][k];
                model[1][k2] = model[1][k];
                model[0][k] = model[1][k] = -1;
            }
        }
    }
    size_t entries = 0;
    for (int f = 0; f < 2; f++) {
        for (int v = 0; v < VALS; v++) {
            size_t want = 0;
            for (int k = 0; k < KEYS; k++)
                want += model[f][k] == v;
            uint8_t h[32];
            hm(h, v);
            size_t got = policy_index_find(ix, fs[f], h, NULL, NULL);
            if (got != want)
                unit_fail(__FILE__, __LINE__, "field %d value %d: %zu keys, expected %zu", f, v,
                          got, want);
        }
        for (int k = 0; k < KEYS; k++)
            entries += model[f][k] >= 0;
    }
    CHECK_INT(policy_index_entries(ix), entries);
    policy_index_free(ix);
    policy_unref(p);
}

UNIT_MAIN(T(set_find_forget_rename), T(reload_compatibility), T(randomized_model))
