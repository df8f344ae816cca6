/*
 * backup_int: what backup_write.c, backup_read.c, backup_restore.c and backup_util.c
 * share (format constants, byte order, the record cipher, signatures). Not for callers
 * outside src/store/backup_*.c.
 */
#ifndef BACKUP_INT_H
#define BACKUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "store/backup.h"

#define BK_MAGIC           "PHIDBBAK"
#define BK_SIG_MAGIC       "PHIDBSIG"
#define BK_FLAG_PASSPHRASE 1u
#define BK_KIND_DATA       1
#define BK_KIND_PART       2
#define BK_KIND_MANIFEST   3
#define BK_CHUNK           (1u << 20) /* plaintext bytes per DATA record */
#define BK_WRAP_AAD_LEN    36         /* header bytes bound to the wrapped file key */
#define BK_OFF_ID          16         /* header offsets */
#define BK_OFF_CREATED     32
#define BK_OFF_KEYVER      40
#define BK_OFF_WRAP        44 /* 12 nonce + 32 ciphertext + 16 tag */
#define BK_OFF_SIGNVER     104
#define BK_PART_NAME_MAX   60
#define BK_MAX_FRAME       (1024u << 20) /* a frame longer than this is damage */
#define BK_KEYRING_MAX     (4u << 20)

static inline void bk_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t bk_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void bk_put64(uint8_t *p, uint64_t v)
{
    bk_put32(p, (uint32_t)(v >> 32));
    bk_put32(p + 4, (uint32_t)v);
}
static inline uint64_t bk_get64(const uint8_t *p)
{
    return (uint64_t)bk_get32(p) << 32 | bk_get32(p + 4);
}

/* Seal (enc 1) or open (enc 0) one record under the file key: nonce and AAD from the backup
 * id, sequence number and kind. out gets n bytes; tag is 16 bytes (written when sealing,
 * checked when opening). ctx is reused (initialised with the key once). Returns 0 or -1. */
int bk_record_crypt(EVP_CIPHER_CTX *ctx, int enc, const uint8_t id[16], uint64_t seq, uint8_t kind,
                    const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16]);
/* A cipher context holding key (32 bytes) for bk_record_crypt; NULL on failure. */
EVP_CIPHER_CTX *bk_record_ctx(const uint8_t *key);
/* Wrap (enc 1) or unwrap the 32-byte file key with the backup key under hdr's first
 * BK_WRAP_AAD_LEN bytes as AAD; wrap is 12 nonce + 32 + 16 tag. Returns 0 or -1. */
int bk_wrap_key(int enc, const uint8_t *bkey, const uint8_t *hdr, uint8_t *filekey,
                uint8_t wrap[60]);
/* Ed25519 over the file hash with the 32-byte seed: sign into sig[64] (0/-1), or verify
 * (0 good, -1 bad). pub[32] gets the public key when not NULL. */
int bk_sign(const uint8_t seed[32], const uint8_t hash[32], uint8_t sig[64], uint8_t pub[32]);
/* The Ed25519 public key of seed into pub[32]. Returns 0 or -1. */
int bk_sign_pub(const uint8_t seed[32], uint8_t pub[32]);
int bk_verify_sig(const uint8_t seed[32], const uint8_t hash[32], const uint8_t sig[64],
                  uint8_t pub[32]);
/* Lowercase hex of n bytes into out (2n + 1). */
void bk_hex(const uint8_t *p, size_t n, char *out);

/* Key-state counter over journal operations (what the writer and the reader both count). */
typedef struct {
    backup_counts *c; /* counts to add to */
    int pending;      /* a key was deleted (its state follows) and not counted yet */
} bk_counter;
/* Count the operations of one frame. Returns 0, or -1 (malformed, or an operation that is
 * not part of a key's state) with err. */
int bk_count_frame(bk_counter *k, const uint8_t *ops, size_t len, char *err, size_t errlen);

/* One full streaming pass over a backup: every check; with check_values, every stored value
 * is opened too; fn/pfn (may be NULL) get frames and parts; *kr (when kr is not NULL) gets
 * the opened keyring. Returns 0 or -1 with err. */
int bk_read_pass(const char *path, const backup_keys *keys, int check_values, backup_frame_fn *fn,
                 backup_part_fn *pfn, void *ud, keyring **kr, backup_info *info, char *err,
                 size_t errlen);

#endif
