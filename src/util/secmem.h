/*
 * secmem: the key schedules OpenSSL derives from data keys kept in locked memory.
 *
 * The data keys themselves live in locked, non-dumpable pages (keyring_secure_alloc). But a
 * keyed AES-GCM context holds the expanded key (its first round key is the key) and GHASH's
 * table, and an HMAC context the states keyed with ipad and opad: key material too, which
 * OpenSSL allocates from the ordinary heap. secmem installs OpenSSL memory functions (they
 * must be installed before OpenSSL allocates anything: first thing in main) and, between
 * secmem_begin and secmem_end on a thread, sends OpenSSL's allocations to OpenSSL's own
 * secure heap (CRYPTO_secure_malloc: an mlocked, MADV_DONTDUMP arena, each block wiped when
 * freed). Everything else goes to malloc as before. The secure heap also holds what OpenSSL
 * puts there by itself once it exists (Ed25519 and HMAC keys).
 *
 * Frees find their heap by address: a block inside the span of the secure blocks handed out
 * is a secure block (the arena is one mapping, so no malloc block can lie in it).
 */
#ifndef PHIDB_UTIL_SECMEM_H
#define PHIDB_UTIL_SECMEM_H

#include <stddef.h>

/* Install the memory functions and create a secure heap of size bytes (a power of
 * two). Returns 1 when the heap is locked, 2 when it exists but mlock was refused
 * (RLIMIT_MEMLOCK: its pages are still kept out of core dumps), 0 when OpenSSL had already
 * allocated (called too late) or the heap could not be made; then secmem_begin changes
 * nothing and allocations stay where they were. */
int secmem_init(size_t size);

/* Make OpenSSL fetch and cache the algorithms the windows use (AES-GCM, HMAC, Ed25519) in
 * the ordinary heap, so that the secure heap holds only keyed state. Right after
 * secmem_init. */
void secmem_warm_up(void);

/* Allocations OpenSSL makes on this thread until the matching secmem_end go to the secure
 * heap. Nests. */
void secmem_begin(void);
void secmem_end(void);

/* What secmem_init returned (0 before it ran). */
int secmem_state(void);
/* Blocks asked for inside a window that went to the ordinary heap: the windows may use half
 * of the secure heap, the rest stays for OpenSSL's own secure allocations. */
unsigned long long secmem_fallbacks(void);

#endif
