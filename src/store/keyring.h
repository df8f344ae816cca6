/*
 * keyring: the master key and the data keys.
 *
 * The master key (KEK) never touches the data directory. It comes from a key
 * file (refused when group or others may read it), from a passphrase
 * (PHIDB_PASSPHRASE or a prompt, stretched with Argon2id and a salt stored in
 * the keyring), or from the standard output of master-key-command (a KMS or
 * Vault CLI).
 *
 * Data keys (DEKs) are random 256-bit keys, one series per purpose (values,
 * blind index, log, audit, backup), versioned. They exist on disk only wrapped
 * by the KEK (AES-256-GCM, the purpose and version bound as AAD) in the
 * keyring file, which is replaced atomically. A wrong master key fails to
 * unwrap and stops start-up before anything is written.
 *
 * Nonces are unique by construction, not by chance: every sealing key version
 * hands out 96-bit nonces made of a 32-bit fixed field and a 64-bit counter
 * (NIST SP 800-38D, section 8.2.1, deterministic construction). The counter's
 * high-water mark is reserved in blocks in the keyring file (written and
 * fsynced before any nonce of a new block is used), so a restart, even after a
 * crash, resumes above every nonce ever used. One process owns a keyring at a
 * time (the data directory lock).
 *
 * Key material lives in locked, non-dumpable memory (mlock, MADV_DONTDUMP) and
 * is wiped when freed.
 *
 * Threads: keyring_nonce may be called from any thread (a mutex guards the counters).
 * Everything else (rotation, retirement, re-wrapping) runs on one thread, the owner's.
 */
#ifndef KEYRING_H
#define KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct keyring keyring;

enum keyring_purpose {
    KR_VALUES = 0, /* stored values */
    KR_INDEX = 1,  /* blind indexes (HMAC) */
    KR_LOG = 2,    /* the durable log */
    KR_AUDIT = 3,  /* audit segments (and the wrapped signing key) */
    KR_BACKUP = 4, /* backups */
    KR_SIGN = 5,   /* Ed25519 signing seed (backup manifests; the public key is derived) */
    KR_NPURPOSES
};

/* Purpose name ("values", "index", "log", "audit", "backup", "sign"), or NULL. */
const char *keyring_purpose_name(int p);
/* Purpose by name; -1 if unknown. */
int keyring_purpose_find(const char *name);

/* How to obtain the master key. */
typedef struct {
    const char *key_file;   /* path of a key file (64 hex characters), or NULL */
    const char *passphrase; /* a passphrase (from PHIDB_PASSPHRASE or a prompt), or NULL */
    const char *command;    /* a shell command printing the key (64 hex characters), or NULL */
} keyring_kek_source;

/* A master-key-command must end within this many milliseconds (default 30,000); for tests.
 * Call before any thread uses the keyring. */
void keyring_set_command_timeout_ms(int ms);

#define KEYRING_KEY_LEN 32

/* Read the master key into kek (locked memory is the caller's). Returns 0, or -1 with err. */
int keyring_kek_load(const keyring_kek_source *src, const uint8_t *salt, size_t saltlen,
                     uint8_t kek[KEYRING_KEY_LEN], char *err, size_t errlen);

/* Open the keyring file at path with the master key; with create, make a new one (one version
 * per purpose) when the file does not exist. The salt of a passphrase keyring is read from the
 * file before the KEK is derived, hence the source rather than a key. Returns the keyring or
 * NULL with err ("wrong master key", "keyring file ... is readable by others", ...). Nothing is
 * written unless create made a new file. */
keyring *keyring_open(const char *path, const keyring_kek_source *src, int create, char *err,
                      size_t errlen);
/* Close, wiping every key. */
void keyring_close(keyring *k);
/* Current (newest) version of a purpose. */
uint32_t keyring_current(const keyring *k, int purpose);
/* The key of a purpose and version (locked memory, owned by the keyring); NULL if unknown or
 * retired. */
const uint8_t *keyring_key(const keyring *k, int purpose, uint32_t version);
/* Reserve the next nonce for (purpose, version) into nonce[12]. Persists a new reservation
 * block when needed. Returns 0, or -1 with errno (the keyring file could not be written:
 * ENOSPC, EIO ...; ENOKEY: no such version or retired; EOVERFLOW: counters used up): do not
 * seal. */
int keyring_nonce(keyring *k, int purpose, uint32_t version, uint8_t nonce[12]);
/* Make sure the next n nonces of (purpose, version) are reserved in the keyring file, so
 * that taking them needs no write: 0, or -1 if the file cannot be written (or the version
 * is retired). A write command asks first, so that it is refused whole instead of failing
 * part-way through its seals. */
int keyring_nonce_headroom(keyring *k, int purpose, uint32_t version, uint64_t n);
/* A counter nonce of (purpose, version) that is already in use (seen in the data): make
 * sure later nonces are above it. Returns 1 when the counter had to be raised (the keyring
 * is older than the data holding that nonce: restored from an older copy, or altered),
 * with the counter it had in *was; 0 when it was above already; -1 for an unknown version
 * or a nonce that is not this purpose's counter nonce. */
int keyring_nonce_seen(keyring *k, int purpose, uint32_t version, const uint8_t nonce[12],
                       uint64_t *was);
/* The last nonce handed out for (purpose, version) into nonce[12]: 0, or -1 when none was
 * (or the version is unknown or retired). A compacted log records it (OP_NONCE), so that
 * nonces of values it no longer holds stay below the counter even if an older keyring file
 * comes back. */
int keyring_nonce_last(keyring *k, int purpose, uint32_t version, uint8_t nonce[12]);
/* Add a new version to purpose and make it current (persisted). Returns the version or 0. */
uint32_t keyring_rotate(keyring *k, int purpose, char *err, size_t errlen);
/* Mark an old version retired (its key is erased from file and memory). Returns 0 or -1. */
int keyring_retire(keyring *k, int purpose, uint32_t version, char *err, size_t errlen);
/* How many versions were retired since the keyring was opened (any thread may ask): a
 * sealer that sees it change drops the contexts of versions that lost their key. */
unsigned keyring_retirements(const keyring *k);
/* Versions of a purpose, oldest first: fills out[] up to cap; returns how many exist. */
size_t keyring_versions(const keyring *k, int purpose, uint32_t *out, size_t cap);
/* Re-wrap every data key under a new master key (nothing else changes). Returns 0 or -1. */
int keyring_rewrap(keyring *k, const keyring_kek_source *newsrc, char *err, size_t errlen);
/* ---- backups ---- */
/* The keyring as JSON text (keys still wrapped): under its own master key when newsrc is
 * NULL, else under a master key from newsrc (a passphrase: new salt). Nonce reservations are
 * copied as they are. Returns a buffer the caller frees with mem_free (*len set), or NULL
 * with err. k is not changed. */
char *keyring_export(const keyring *k, const keyring_kek_source *newsrc, size_t *len, char *err,
                     size_t errlen);
/* A passphrase master key: a new random salt into salt[16], and the key stretched from
 * passphrase with Argon2id into kek (as keyring_kek_load does). Slow (about 0.2 s); touches
 * no keyring, so any thread may call it. Returns 0 or -1 with err. */
int keyring_passphrase_kek(const char *passphrase, uint8_t salt[16], uint8_t kek[KEYRING_KEY_LEN],
                           char *err, size_t errlen);
/* keyring_export under a passphrase key already stretched by keyring_passphrase_kek. */
char *keyring_export_kek(const keyring *k, const uint8_t kek[KEYRING_KEY_LEN],
                         const uint8_t salt[16], size_t *len, char *err, size_t errlen);
/* Open a keyring from JSON text (as keyring_export made it) with the master key from src.
 * label names it in messages. Nothing is written (rotations and nonce reservations fail)
 * until keyring_save_as gives it a file. Returns the keyring or NULL with err. */
keyring *keyring_open_buf(const char *text, size_t len, const char *label,
                          const keyring_kek_source *src, char *err, size_t errlen);
/* Write the keyring to path (atomically, 0600) and use that file from now on. 0 or -1. */
int keyring_save_as(keyring *k, const char *path, char *err, size_t errlen);

/* Path of the keyring file. */
const char *keyring_path(const keyring *k);

/* Allocate n bytes of locked, non-dumpable memory (for keys and plaintext). NULL on failure. */
void *keyring_secure_alloc(size_t n);
/* How many keyring_secure_alloc blocks mlock refused (RLIMIT_MEMLOCK): they are kept out of
 * core dumps but could be swapped. */
unsigned long long keyring_unlocked_allocs(void);
/* Wipe and free memory from keyring_secure_alloc. */
void keyring_secure_free(void *p, size_t n);

#endif
