/*
 * hash: SipHash-c-d (Aumasson and Bernstein), the keyed hash behind every hash
 * table. Keyed with a random per-process secret so that a client cannot choose
 * key names that all collide (hash flooding). Tables use SipHash-1-3, which is
 * what hash tables in Rust and Redis settled on; 2-4 is exposed for the
 * published test vectors.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

/* Set the process-wide table key (16 bytes). Call once at start-up. */
void hash_set_key(const uint8_t key[16]);
/* SipHash-1-3 of (p, n) under the process-wide key. */
uint64_t hash_bytes(const uint8_t *p, size_t n);
/* SipHash-1-3 of (p, n) with lowercase ASCII folding (for command names). */
uint64_t hash_bytes_nocase(const uint8_t *p, size_t n);
/* SipHash with c compression and d finalization rounds under an explicit key. */
uint64_t hash_siphash(int c, int d, const uint8_t key[16], const uint8_t *p, size_t n);

#endif
