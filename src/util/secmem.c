/*
 * secmem: OpenSSL's allocations inside a window go to its secure heap (see secmem.h).
 */
#include "secmem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static __thread int window; /* secmem_begin depth on this thread */
static int state;           /* what secmem_init returned */
/* The span of the secure blocks handed out: it only grows, and stays inside the arena. */
static _Atomic uintptr_t span_lo = UINTPTR_MAX, span_hi = 0;
static _Atomic unsigned long long fallbacks;

static size_t heap_size; /* the secure heap's size */

/* After OPENSSL_cleanup the heap may be gone (CRYPTO_secure_malloc_done): then nothing is
 * secure any more, and a block at the old addresses is a malloc block. */
static int is_secure(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    return a >= atomic_load_explicit(&span_lo, memory_order_acquire) &&
           a < atomic_load_explicit(&span_hi, memory_order_acquire) &&
           CRYPTO_secure_malloc_initialized();
}

static void note(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p, b = a + n;
    uintptr_t cur = atomic_load(&span_lo);
    while (a < cur && !atomic_compare_exchange_weak(&span_lo, &cur, a)) {
    }
    cur = atomic_load(&span_hi);
    while (b > cur && !atomic_compare_exchange_weak(&span_hi, &cur, b)) {
    }
}

/* A secure block of n bytes, or NULL when the windows' share of the heap has no room. The
 * windows may fill half of it: OpenSSL's own secure allocations (TLS key exchanges, HMAC
 * keys) have no fallback, and would fail if the heap were full. */
static void *secure_block(size_t n)
{
    if (!CRYPTO_secure_malloc_initialized() || CRYPTO_secure_used() + n > heap_size / 2) {
        atomic_fetch_add(&fallbacks, 1);
        return NULL;
    }
    void *p = CRYPTO_secure_malloc(n, NULL, 0); /* no file: no error queued when full */
    if (p && CRYPTO_secure_allocated(p)) {
        note(p, n);
        return p;
    }
    if (p) free(p); /* cannot happen once the heap exists: it was a plain block */
    atomic_fetch_add(&fallbacks, 1);
    return NULL;
}

static void *hook_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n == 0) return NULL; /* as CRYPTO_malloc */
    if (window && state) {
        void *p = secure_block(n);
        if (p) return p;
    }
    return malloc(n);
}

static void hook_free(void *p, const char *file, int line)
{
    if (!p) return;
    if (!is_secure(p)) {
        free(p);
        return;
    }
    /* Wiped, then returned to the heap. A block the heap does not know (freed twice, or
     * the heap gone) is left alone: CRYPTO_secure_free would hand it back to this hook. */
    if (CRYPTO_secure_allocated(p)) CRYPTO_secure_free(p, file, line);
}

static void *hook_realloc(void *p, size_t n, const char *file, int line)
{
    if (!p) return hook_malloc(n, file, line);
    if (n == 0) {
        hook_free(p, file, line);
        return NULL;
    }
    if (!is_secure(p)) return realloc(p, n);
    if (!CRYPTO_secure_allocated(p)) return NULL; /* as hook_free */
    /* A secure block stays secure (when there is room). */
    size_t old = CRYPTO_secure_actual_size(p);
    void *q = secure_block(n);
    if (!q) q = malloc(n);
    if (!q) return NULL;
    memcpy(q, p, old < n ? old : n);
    CRYPTO_secure_free(p, file, line);
    return q;
}

int secmem_init(size_t size)
{
    if (state) return state;
    if (!CRYPTO_set_mem_functions(hook_malloc, hook_realloc, hook_free)) return 0;
    state = CRYPTO_secure_malloc_init(size, 32);
    if (state) heap_size = size;
    return state;
}

void secmem_warm_up(void)
{
    /* What OpenSSL fetches and caches on first use (algorithms, their methods, provider
     * state) is made here, outside any window, so that it stays out of the secure heap. */
    static const uint8_t key[32];
    uint8_t out[64];
    unsigned int ml = 32;
    size_t sl = 64;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c) EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, NULL);
    EVP_CIPHER_CTX_free(c);
    HMAC(EVP_sha256(), key, 32, key, 32, out, &ml);
    HMAC(EVP_sha1(), key, 20, key, 8, out, &ml);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_free(mac);
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, key, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (pk && md && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1)
        EVP_DigestSign(md, out, &sl, key, 32);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    OPENSSL_cleanse(out, sizeof out);
}

void secmem_begin(void)
{
    window++;
}

void secmem_end(void)
{
    if (window > 0) window--;
}

int secmem_state(void)
{
    return state;
}

unsigned long long secmem_fallbacks(void)
{
    return atomic_load(&fallbacks);
}
