/*
 * seal: authenticated encryption of values and records (AES-256-GCM through
 * OpenSSL EVP) and blind indexes (HMAC-SHA256).
 *
 * A sealed item is [u32 key version][12-byte nonce][ciphertext][16-byte tag]:
 * SEAL_OVERHEAD bytes more than the plaintext. The additional authenticated
 * data is given by the caller and binds the item to where it belongs (for a
 * stored value: its key name, field name and type; for a log record: the file
 * id and sequence number), so an item moved elsewhere fails to open. The key
 * version is inside the AAD too.
 *
 * One EVP context per key version is kept initialised with its key, so a seal
 * costs a nonce and the AES-GCM pass, not a key schedule.
 */
#ifndef SEAL_H
#define SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/keyring.h"

#define SEAL_HEADER   16 /* version + nonce */
#define SEAL_TAG      16
#define SEAL_OVERHEAD (SEAL_HEADER + SEAL_TAG)

typedef struct sealer sealer;

/* A sealer for one purpose of the keyring (the keyring must outlive it). */
sealer *seal_new(keyring *k, int purpose);
/* Free it (contexts wiped). */
void seal_free(sealer *s);
/* Seal plaintext (p, n) with the current version into out (n + SEAL_OVERHEAD bytes).
 * aad parts are concatenated (with their lengths) into the AAD; a NULL part is "absent",
 * which differs from an empty one. Returns 0 or -1. */
int seal_seal(sealer *s, const uint8_t *p, size_t n, const uint8_t *aad1, size_t aad1len,
              const uint8_t *aad2, size_t aad2len, uint8_t *out);
/* seal_seal in two steps, for a caller that gathers the plaintext first but must learn at
 * once whether it can be sealed: seal_reserve takes the current version and a fresh nonce
 * into hdr (the only step that can fail in practice: the keyring may have to write its
 * file to reserve nonces); seal_seal_reserved seals with them (hdr is copied to out). Each
 * hdr must be used for one seal at most. Both return 0 or -1. */
int seal_reserve(sealer *s, uint8_t hdr[SEAL_HEADER]);
/* The next n seals with the current version need no keyring write (keyring_nonce_headroom):
 * 0, or -1 when the keyring cannot be written. */
int seal_headroom(sealer *s, uint64_t n);
int seal_seal_reserved(sealer *s, const uint8_t hdr[SEAL_HEADER], const uint8_t *p, size_t n,
                       const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len,
                       uint8_t *out);
/* Open a sealed item (in, n) into out (n - SEAL_OVERHEAD bytes). Returns 0, or -1 when the
 * item was altered, moved, or sealed with an unknown key. */
int seal_open(sealer *s, const uint8_t *in, size_t n, const uint8_t *aad1, size_t aad1len,
              const uint8_t *aad2, size_t aad2len, uint8_t *out);
/* While loading stored items: note the nonce of a sealed item (in, n) that exists, so that
 * seal_nonces_commit can keep later seals above it. Cheap (no lock, no keyring call). */
void seal_nonce_note(sealer *s, const uint8_t *in, size_t n);
/* Raise the keyring's nonce counters above every nonce noted (keyring_nonce_seen) and
 * forget them. Returns how many versions had to be raised (their counters were not above
 * nonces in the data: the keyring file is older than the data); the first one is described
 * in msg. */
int seal_nonces_commit(sealer *s, char *msg, size_t msglen);
/* Key version of a sealed item (0 if too short). */
uint32_t seal_version(const uint8_t *in, size_t n);
/* What the header of a sealed item (in, n >= SEAL_HEADER) says, without any crypto: whether
 * it is shaped like one of this sealer's items (a counter nonce of its purpose) and whether the
 * keyring has its key version. Used to tell damage from a torn write cheaply. */
enum seal_hdr {
    SEAL_HDR_FOREIGN = 0, /* too short, or its nonce is not a counter nonce of this purpose */
    SEAL_HDR_KNOWN,       /* this purpose's nonce, and a version the keyring has */
    SEAL_HDR_UNKNOWN,     /* this purpose's nonce, but a version the keyring lacks or retired */
};
enum seal_hdr seal_header_check(const sealer *s, const uint8_t *in, size_t n);
/* The keyring and purpose a sealer uses. */
keyring *seal_keyring(const sealer *s);
int seal_purpose(const sealer *s);
/* Seals done and opened (for the keyring status and benchmarks). */
void seal_stats(const sealer *s, unsigned long long *sealed, unsigned long long *opened);

/* Blind index: HMAC-SHA256 under the index key of (p, n) into out[32]. Returns 0 or -1. */
int seal_blind(keyring *k, uint32_t version, const uint8_t *p, size_t n, uint8_t out[32]);

#endif
