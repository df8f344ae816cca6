/*
 * policy_index: blind value -> keys, and (field, key) -> blind value (see
 * policy_index.h).
 *
 * Two intrusive tables (util/dict): values, keyed by slot and HMAC, each with
 * a small array of its keys; and keys, keyed by slot and key name, each
 * pointing at its value and at its position in that value's array, so
 * removal is a swap with the last element. The slot is the field's index slot
 * in the policy (two bytes, big-endian, in front of the key bytes).
 */
#include "policy_index.h"

#include <string.h>

#include "policy_int.h"
#include "util/buf.h"
#include "util/dict.h"
#include "util/mem.h"

typedef struct ixkey ixkey;

typedef struct {
    dict_node node; /* link in the values table */
    uint8_t k[34];  /* slot (2 bytes) + blind value (32 bytes) */
    ixkey **keys;   /* keys holding this value */
    uint32_t n;     /* count */
    uint32_t cap;   /* allocated */
} ixval;

struct ixkey {
    dict_node node; /* link in the keys table */
    ixval *val;     /* its current value */
    uint32_t pos;   /* its position in val->keys */
    size_t klen;    /* bytes in k (2 + key name) */
    uint8_t k[];    /* slot (2 bytes) + key name */
};

struct policy_index {
    policy *pol;    /* policy whose indexed fields this serves (referenced) */
    dict vals;      /* ixval by slot + HMAC */
    dict keys;      /* ixkey by slot + key name */
    size_t bytes;   /* bytes allocated for entries */
    size_t entries; /* ixkey count */
};

static void val_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    *k = ((const ixval *)n)->k;
    *len = 34;
}

static void key_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    *k = ((const ixkey *)n)->k;
    *len = ((const ixkey *)n)->klen;
}

static const dict_type val_type = {val_keyof};
static const dict_type key_type = {key_keyof};

policy_index *policy_index_new(policy *pol)
{
    policy_index *ix = mem_calloc(sizeof *ix);
    ix->pol = policy_ref(pol);
    dict_init(&ix->vals, &val_type);
    dict_init(&ix->keys, &key_type);
    return ix;
}

static void free_val(dict_node *n, void *ctx)
{
    policy_index *ix = ctx;
    ixval *v = (ixval *)n;
    ix->bytes -= mem_size(v) + (v->keys ? mem_size(v->keys) : 0);
    mem_free(v->keys);
    mem_free(v);
}

static void free_key(dict_node *n, void *ctx)
{
    policy_index *ix = ctx;
    ix->bytes -= mem_size(n);
    mem_free(n);
}

void policy_index_clear(policy_index *ix)
{
    dict_clear(&ix->keys, free_key, ix);
    dict_clear(&ix->vals, free_val, ix);
    ix->entries = 0;
}

void policy_index_free(policy_index *ix)
{
    if (!ix) return;
    policy_index_clear(ix);
    policy_unref(ix->pol);
    mem_free(ix);
}

policy *policy_index_policy(const policy_index *ix)
{
    return ix->pol;
}

int policy_index_compatible(const policy_index *ix, const policy *pol)
{
    return pol && strcmp(ix->pol->index_sig, pol->index_sig) == 0;
}

void policy_index_rebind(policy_index *ix, policy *pol)
{
    policy *old = ix->pol;
    ix->pol = policy_ref(pol);
    policy_unref(old);
}

/* slot + bytes into a scratch buffer (stack for short keys). */
typedef struct {
    uint8_t small[256]; /* inline storage */
    uint8_t *p;         /* the bytes (small or allocated) */
    size_t len;         /* their count */
} slotkey;

static void slotkey_make(slotkey *sk, int slot, const uint8_t *b, size_t n)
{
    sk->len = n + 2;
    sk->p = sk->len <= sizeof sk->small ? sk->small : mem_alloc(sk->len);
    sk->p[0] = (uint8_t)(slot >> 8);
    sk->p[1] = (uint8_t)slot;
    memcpy(sk->p + 2, b, n);
}

static void slotkey_done(slotkey *sk)
{
    if (sk->p != sk->small) mem_free(sk->p);
}

/* Take k out of its value's key set (freeing the value when it becomes empty). */
static void detach(policy_index *ix, ixkey *k)
{
    ixval *v = k->val;
    v->keys[k->pos] = v->keys[--v->n];
    v->keys[k->pos]->pos = k->pos;
    k->val = NULL;
    if (v->n == 0) {
        dict_unlink(&ix->vals, v->k, 34, dict_hash(v->k, 34));
        free_val(&v->node, ix);
    }
}

static void attach(policy_index *ix, ixkey *k, int slot, const uint8_t hmac[32])
{
    uint8_t vk[34];
    vk[0] = (uint8_t)(slot >> 8);
    vk[1] = (uint8_t)slot;
    memcpy(vk + 2, hmac, 32);
    uint64_t h = dict_hash(vk, 34);
    ixval *v = (ixval *)dict_find(&ix->vals, vk, 34, h);
    if (!v) {
        v = mem_calloc(sizeof *v);
        memcpy(v->k, vk, 34);
        dict_insert(&ix->vals, &v->node, h);
        ix->bytes += mem_size(v);
    }
    if (v->n == v->cap) {
        size_t before = v->keys ? mem_size(v->keys) : 0;
        v->cap = v->cap ? v->cap * 2 : 1;
        v->keys = mem_realloc(v->keys, sizeof(ixkey *) * v->cap);
        ix->bytes += mem_size(v->keys) - before;
    }
    k->val = v;
    k->pos = v->n;
    v->keys[v->n++] = k;
}

void policy_index_set(policy_index *ix, const policy_field *f, const uint8_t *key, size_t klen,
                      const uint8_t hmac[32])
{
    if (!f || f->slot < 0 || f->slot >= ix->pol->nindexed || ix->pol->indexed[f->slot] != f)
        return; /* not indexed, or a field of another policy */
    slotkey sk;
    slotkey_make(&sk, f->slot, key, klen);
    uint64_t h = dict_hash(sk.p, sk.len);
    ixkey *k = (ixkey *)dict_find(&ix->keys, sk.p, sk.len, h);
    if (k) {
        if (hmac && memcmp(k->val->k + 2, hmac, 32) == 0) goto done; /* unchanged */
        detach(ix, k);
        if (!hmac) {
            dict_unlink(&ix->keys, sk.p, sk.len, h);
            free_key(&k->node, ix);
            ix->entries--;
            goto done;
        }
    } else {
        if (!hmac) goto done;
        k = mem_alloc(sizeof *k + sk.len);
        memset(k, 0, sizeof *k);
        k->klen = sk.len;
        memcpy(k->k, sk.p, sk.len);
        dict_insert(&ix->keys, &k->node, h);
        ix->bytes += mem_size(k);
        ix->entries++;
    }
    attach(ix, k, f->slot, hmac);
done:
    slotkey_done(&sk);
}

void policy_index_forget(policy_index *ix, const uint8_t *key, size_t klen)
{
    for (int s = 0; s < ix->pol->nindexed; s++)
        policy_index_set(ix, ix->pol->indexed[s], key, klen, NULL);
}

void policy_index_rename(policy_index *ix, const uint8_t *from, size_t flen, const uint8_t *to,
                         size_t tlen)
{
    if (flen == tlen && memcmp(from, to, flen) == 0) return;
    policy_index_forget(ix, to, tlen);
    for (int s = 0; s < ix->pol->nindexed; s++) {
        slotkey sk;
        slotkey_make(&sk, s, from, flen);
        ixkey *old = (ixkey *)dict_unlink(&ix->keys, sk.p, sk.len, dict_hash(sk.p, sk.len));
        slotkey_done(&sk);
        if (!old) continue;
        ixkey *k = mem_alloc(sizeof *k + tlen + 2);
        memset(k, 0, sizeof *k);
        k->klen = tlen + 2;
        k->k[0] = old->k[0];
        k->k[1] = old->k[1];
        memcpy(k->k + 2, to, tlen);
        k->val = old->val;
        k->pos = old->pos;
        k->val->keys[k->pos] = k;
        dict_insert(&ix->keys, &k->node, dict_hash(k->k, k->klen));
        ix->bytes += mem_size(k);
        free_key(&old->node, ix);
    }
}

size_t policy_index_find(policy_index *ix, const policy_field *f, const uint8_t hmac[32],
                         void (*fn)(void *ctx, const uint8_t *key, size_t klen), void *ctx)
{
    if (!f || f->slot < 0 || f->slot >= ix->pol->nindexed || ix->pol->indexed[f->slot] != f)
        return 0;
    uint8_t vk[34];
    vk[0] = (uint8_t)(f->slot >> 8);
    vk[1] = (uint8_t)f->slot;
    memcpy(vk + 2, hmac, 32);
    ixval *v = (ixval *)dict_find(&ix->vals, vk, 34, dict_hash(vk, 34));
    if (!v) return 0;
    size_t n = v->n;
    if (!fn) return n;
    /* The key names are copied first: a callback that looks a record up may expire it, and
     * the expiry takes the key out of the index (detach frees or reorders v under us). */
    buf names = {0};
    for (uint32_t i = 0; i < v->n; i++) {
        uint32_t len = (uint32_t)(v->keys[i]->klen - 2);
        buf_append(&names, &len, sizeof len);
        buf_append(&names, v->keys[i]->k + 2, len);
    }
    for (size_t off = 0; off < names.len;) {
        uint32_t len;
        memcpy(&len, names.p + off, sizeof len);
        fn(ctx, names.p + off + sizeof len, len);
        off += sizeof len + len;
    }
    buf_wipe_free(&names);
    return n;
}

size_t policy_index_entries(const policy_index *ix)
{
    return ix->entries;
}

size_t policy_index_memory(const policy_index *ix)
{
    return ix->bytes + dict_overhead(&ix->vals) + dict_overhead(&ix->keys);
}
