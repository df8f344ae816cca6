/*
 * seal: AES-256-GCM sealing with pre-keyed contexts (see seal.h).
 *
 * AAD = u32 version | u32 len1 | aad1 | u32 len2 | aad2 (lengths make the
 * concatenation unambiguous: ("ab","c") and ("a","bc") differ). An absent part
 * (NULL) is written with length 0xffffffff, so it differs from an empty one.
 */
#include "seal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/secmem.h"

typedef struct {
    uint32_t version;    /* key version */
    EVP_CIPHER_CTX *enc; /* keyed for sealing */
    EVP_CIPHER_CTX *dec; /* keyed for opening */
} seal_ctx;

/* The highest nonce noted for a version (seal_nonce_note). */
typedef struct {
    uint32_t version;
    uint8_t nonce[12]; /* big-endian: compares as the counter does */
} seen_nonce;

#define MAX_SEEN 16 /* versions noted at once; more are committed at once */

struct sealer {
    keyring *k;    /* key source */
    int purpose;   /* which series */
    seal_ctx *ctx; /* per version */
    size_t n;      /* count */
    unsigned long long sealed, opened;
    seen_nonce seen[MAX_SEEN];
    int nseen;
    int raised; /* versions raised by commits since the last seal_nonces_commit */
    unsigned retirements; /* keyring_retirements when the contexts were last checked */
    char raised_msg[160];
    int reserve_failed; /* the last nonce reservation failed (logged once) */
};

sealer *seal_new(keyring *k, int purpose)
{
    sealer *s = mem_calloc(sizeof *s);
    s->k = k;
    s->purpose = purpose;
    return s;
}

void seal_free(sealer *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        EVP_CIPHER_CTX_free(s->ctx[i].enc); /* frees (and cleanses) the key schedule */
        EVP_CIPHER_CTX_free(s->ctx[i].dec);
    }
    mem_free(s->ctx);
    mem_free(s);
}

/* EVP_CipherUpdate over n bytes (AAD when out is NULL) in pieces below INT_MAX: a value or
 * a key name may pass 2 GB. GCM gives out exactly as many bytes as it takes in. */
static int update_all(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t n)
{
    while (n) {
        int k = n > (1u << 30) ? 1 << 30 : (int)n, l = 0;
        if (EVP_CipherUpdate(c, out, &l, in, k) != 1) return -1;
        if (out) out += k;
        in += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A retired version lost its key: its expanded keys go too (the freed blocks are wiped). */
static void drop_retired(sealer *s)
{
    s->retirements = keyring_retirements(s->k);
    for (size_t i = 0; i < s->n;) {
        if (keyring_key(s->k, s->purpose, s->ctx[i].version)) {
            i++;
            continue;
        }
        EVP_CIPHER_CTX_free(s->ctx[i].enc);
        EVP_CIPHER_CTX_free(s->ctx[i].dec);
        s->ctx[i] = s->ctx[--s->n];
    }
}

static seal_ctx *ctx_for(sealer *s, uint32_t version)
{
    if (s->retirements != keyring_retirements(s->k)) drop_retired(s);
    for (size_t i = 0; i < s->n; i++)
        if (s->ctx[i].version == version) return &s->ctx[i];
    const uint8_t *key = keyring_key(s->k, s->purpose, version);
    if (!key) return NULL;
    /* The contexts hold the expanded key for as long as the version lives: in the secure
     * heap (locked, not dumped, wiped when freed). */
    secmem_begin();
    EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new(), *dec = EVP_CIPHER_CTX_new();
    int ok = enc && dec && EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), NULL, key, NULL) == 1 &&
             EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), NULL, key, NULL) == 1;
    secmem_end();
    if (!ok) {
        EVP_CIPHER_CTX_free(enc);
        EVP_CIPHER_CTX_free(dec);
        return NULL;
    }
    s->ctx = mem_realloc(s->ctx, sizeof(seal_ctx) * (s->n + 1));
    s->ctx[s->n].version = version;
    s->ctx[s->n].enc = enc;
    s->ctx[s->n].dec = dec;
    return &s->ctx[s->n++];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int feed_aad(EVP_CIPHER_CTX *c, uint32_t version, const uint8_t *a1, size_t l1,
                    const uint8_t *a2, size_t l2)
{
    uint8_t hdr[4];
    int l;
    if (l1 + l2 <= 500) {
        /* The common case in one call: each EVP call has a fixed cost. */
        uint8_t all[512];
        size_t n = 0;
        put32(all, version);
        put32(all + 4, a1 ? (uint32_t)l1 : 0xffffffffu);
        n = 8;
        if (a1 && l1) memcpy(all + n, a1, l1), n += l1;
        put32(all + n, a2 ? (uint32_t)l2 : 0xffffffffu);
        n += 4;
        if (a2 && l2) memcpy(all + n, a2, l2), n += l2;
        return EVP_CipherUpdate(c, NULL, &l, all, (int)n) == 1 ? 0 : -1;
    }
    put32(hdr, version);
    if (EVP_CipherUpdate(c, NULL, &l, hdr, 4) != 1) return -1;
    put32(hdr, a1 ? (uint32_t)l1 : 0xffffffffu);
    if (EVP_CipherUpdate(c, NULL, &l, hdr, 4) != 1) return -1;
    if (a1 && l1 && update_all(c, NULL, a1, l1) != 0) return -1;
    put32(hdr, a2 ? (uint32_t)l2 : 0xffffffffu);
    if (EVP_CipherUpdate(c, NULL, &l, hdr, 4) != 1) return -1;
    if (a2 && l2 && update_all(c, NULL, a2, l2) != 0) return -1;
    return 0;
}

int seal_headroom(sealer *s, uint64_t n)
{
    return keyring_nonce_headroom(s->k, s->purpose, keyring_current(s->k, s->purpose), n);
}

int seal_reserve(sealer *s, uint8_t hdr[SEAL_HEADER])
{
    uint32_t version = keyring_current(s->k, s->purpose);
    put32(hdr, version);
    errno = 0;
    if (keyring_nonce(s->k, s->purpose, version, hdr + 4) == 0) {
        if (s->reserve_failed)
            log_notice("keyring: nonces for the %s key can be reserved again",
                       keyring_purpose_name(s->purpose));
        s->reserve_failed = 0;
        return 0;
    }
    /* Said once per failure, in the server log: the callers' errors (AUDITFAIL, MISCONF)
     * only say that sealing failed. */
    int e = errno ? errno : EIO;
    if (!s->reserve_failed)
        log_warning("keyring: cannot reserve nonces for the %s key (%s): nothing is sealed with "
                    "it until %s can be written",
                    keyring_purpose_name(s->purpose), strerror(e), keyring_path(s->k));
    s->reserve_failed = 1;
    errno = e;
    return -1;
}

int seal_seal_reserved(sealer *s, const uint8_t hdr[SEAL_HEADER], const uint8_t *p, size_t n,
                       const uint8_t *aad1, size_t aad1len, const uint8_t *aad2, size_t aad2len,
                       uint8_t *out)
{
    uint32_t version = get32(hdr);
    seal_ctx *c = ctx_for(s, version);
    if (!c || n > UINT32_MAX - SEAL_OVERHEAD) return -1; /* stored lengths are 32-bit */
    if (out != hdr) memmove(out, hdr, SEAL_HEADER);
    int l = 0, ok = EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, out + 4) == 1 &&
                    feed_aad(c->enc, version, aad1, aad1len, aad2, aad2len) == 0 &&
                    update_all(c->enc, out + SEAL_HEADER, p, n) == 0 &&
                    EVP_EncryptFinal_ex(c->enc, out + SEAL_HEADER + n, &l) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
                                        out + SEAL_HEADER + n) == 1;
    if (!ok) return -1;
    s->sealed++;
    return 0;
}

int seal_seal(sealer *s, const uint8_t *p, size_t n, const uint8_t *aad1, size_t aad1len,
              const uint8_t *aad2, size_t aad2len, uint8_t *out)
{
    if (n > UINT32_MAX - SEAL_OVERHEAD || seal_reserve(s, out) != 0) return -1;
    return seal_seal_reserved(s, out, p, n, aad1, aad1len, aad2, aad2len, out);
}

int seal_open(sealer *s, const uint8_t *in, size_t n, const uint8_t *aad1, size_t aad1len,
              const uint8_t *aad2, size_t aad2len, uint8_t *out)
{
    if (n < SEAL_OVERHEAD) return -1;
    uint32_t version = get32(in);
    seal_ctx *c = ctx_for(s, version);
    if (!c) return -1;
    size_t pl = n - SEAL_OVERHEAD;
    int l = 0, ok = EVP_DecryptInit_ex(c->dec, NULL, NULL, NULL, in + 4) == 1 &&
                    feed_aad(c->dec, version, aad1, aad1len, aad2, aad2len) == 0 &&
                    update_all(c->dec, out, in + SEAL_HEADER, pl) == 0 &&
                    EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
                                        (void *)(in + SEAL_HEADER + pl)) == 1 &&
                    EVP_DecryptFinal_ex(c->dec, out + pl, &l) == 1;
    if (!ok) {
        OPENSSL_cleanse(out, pl); /* never leave unauthenticated plaintext behind */
        return -1;
    }
    s->opened++;
    return 0;
}

static void seen_commit_one(sealer *s, uint32_t version, const uint8_t nonce[12])
{
    uint64_t was = 0;
    if (keyring_nonce_seen(s->k, s->purpose, version, nonce, &was) != 1) return;
    if (!s->raised++) {
        unsigned long long c = 0;
        for (int i = 0; i < 8; i++)
            c = c << 8 | nonce[4 + i];
        snprintf(s->raised_msg, sizeof s->raised_msg,
                 "%s key version %u: the data holds nonce counter %llu, the keyring was at %llu",
                 keyring_purpose_name(s->purpose), version, c, (unsigned long long)was);
    }
}

void seal_nonce_note(sealer *s, const uint8_t *in, size_t n)
{
    if (n < SEAL_HEADER) return;
    uint32_t version = get32(in);
    const uint8_t *nonce = in + 4;
    if (nonce[0] || nonce[1] || nonce[2] || nonce[3] != (uint8_t)s->purpose) return;
    for (int i = 0; i < s->nseen; i++) {
        if (s->seen[i].version != version) continue;
        if (memcmp(nonce, s->seen[i].nonce, 12) > 0) memcpy(s->seen[i].nonce, nonce, 12);
        return;
    }
    if (s->nseen == MAX_SEEN) {
        seen_commit_one(s, version, nonce);
        return;
    }
    s->seen[s->nseen].version = version;
    memcpy(s->seen[s->nseen++].nonce, nonce, 12);
}

int seal_nonces_commit(sealer *s, char *msg, size_t msglen)
{
    for (int i = 0; i < s->nseen; i++)
        seen_commit_one(s, s->seen[i].version, s->seen[i].nonce);
    s->nseen = 0;
    int raised = s->raised;
    if (msg && msglen) snprintf(msg, msglen, "%s", raised ? s->raised_msg : "");
    s->raised = 0;
    return raised;
}

enum seal_hdr seal_header_check(const sealer *s, const uint8_t *in, size_t n)
{
    if (n < SEAL_HEADER) return SEAL_HDR_FOREIGN;
    /* The nonce layout of keyring_nonce: a zero fixed field but for the purpose's byte. */
    const uint8_t *nonce = in + 4;
    if (nonce[0] || nonce[1] || nonce[2] || nonce[3] != (uint8_t)s->purpose)
        return SEAL_HDR_FOREIGN;
    return keyring_key(s->k, s->purpose, get32(in)) ? SEAL_HDR_KNOWN : SEAL_HDR_UNKNOWN;
}

keyring *seal_keyring(const sealer *s)
{
    return s->k;
}

int seal_purpose(const sealer *s)
{
    return s->purpose;
}

uint32_t seal_version(const uint8_t *in, size_t n)
{
    return n >= 4 ? get32(in) : 0;
}

void seal_stats(const sealer *s, unsigned long long *sealed, unsigned long long *opened)
{
    *sealed = s->sealed;
    *opened = s->opened;
}

int seal_blind(keyring *k, uint32_t version, const uint8_t *p, size_t n, uint8_t out[32])
{
    const uint8_t *key = keyring_key(k, KR_INDEX, version);
    unsigned int len = 32;
    if (!key) return -1;
    return HMAC(EVP_sha256(), key, KEYRING_KEY_LEN, p, n, out, &len) ? 0 : -1;
}
