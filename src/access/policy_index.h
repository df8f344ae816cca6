/*
 * policy_index: the in-memory blind index behind PHI.FIND.
 *
 * For each field declared with index=blind it maps a blind value (the HMAC of
 * the normalised field value, policy_blind_value) to the set of keys whose
 * record holds that value. It also remembers, per (field, key), which blind
 * value is current, so the server can update it on every write of an indexed
 * field without opening the old value, and forget a key on DEL without knowing
 * its values.
 *
 * Costs: set, forget, rename and find are O(1) expected per indexed field
 * (two hash-table operations; removal from a value's key set is a swap with the
 * last element). A value shared by k keys costs O(k) only in find, which hands
 * out every key. Memory: about 100 bytes plus the key name per (record, indexed
 * field), all through mem (counted in used_memory, bounded by maxmemory), and
 * reported by policy_index_memory. Client-chosen key names cannot degrade the
 * tables (SipHash with the process key).
 *
 * The index holds only HMACs and key names: no value is kept in it. It is not
 * persisted; the server rebuilds it at load (and after a policy reload that
 * changes what is indexed: policy_index_compatible). It holds a reference to the
 * policy it was built for.
 */
#ifndef POLICY_INDEX_H
#define POLICY_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "access/policy.h"

typedef struct policy_index policy_index;

/* A new empty index for the indexed fields of pol (takes a reference to pol). Owned by
 * the caller: policy_index_free. */
policy_index *policy_index_new(policy *pol);
/* Free the index (drops its policy reference). NULL is fine. */
void policy_index_free(policy_index *ix);
/* The policy the index was built for. */
policy *policy_index_policy(const policy_index *ix);
/* 1 if the index can serve pol unchanged (same indexed fields, kinds and patterns of their
 * types, in the same order); then policy_index_rebind moves it to pol. */
int policy_index_compatible(const policy_index *ix, const policy *pol);
/* Point the index at pol (which must be compatible); takes a reference, drops the old one. */
void policy_index_rebind(policy_index *ix, policy *pol);

/* Record that field f (an indexed field of ix's policy) of key (key, klen) now has blind
 * value hmac, replacing any previous value; hmac NULL removes the field (HDEL). Fields
 * without index=blind are ignored. */
void policy_index_set(policy_index *ix, const policy_field *f, const uint8_t *key, size_t klen,
                      const uint8_t hmac[32]);
/* Forget every indexed field of key (DEL, UNLINK, expiry, overwrite by another type). */
void policy_index_forget(policy_index *ix, const uint8_t *key, size_t klen);
/* Move every entry of key from to key to (RENAME; whatever to had is forgotten first). */
void policy_index_rename(policy_index *ix, const uint8_t *from, size_t flen, const uint8_t *to,
                         size_t tlen);
/* Call fn(ctx, key, klen) for each key whose field f had blind value hmac when the call
 * began (no order; the key bytes are valid during the call only). fn may change the index
 * (a lookup that expires a record takes it out): the names are copied first. Returns the
 * count. Not const: a lookup may move a step of incremental rehashing. */
size_t policy_index_find(policy_index *ix, const policy_field *f, const uint8_t hmac[32],
                         void (*fn)(void *ctx, const uint8_t *key, size_t klen), void *ctx);
/* Number of (key, field) entries. */
size_t policy_index_entries(const policy_index *ix);
/* Bytes the index holds (entries and tables), for INFO memory. */
size_t policy_index_memory(const policy_index *ix);
/* Forget everything (before a rebuild). */
void policy_index_clear(policy_index *ix);

#endif
