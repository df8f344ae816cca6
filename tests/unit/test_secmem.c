/* Unit tests for secmem: OpenSSL's allocations inside a window land in its secure heap (the
 * keyed AES-GCM contexts of a sealer among them), leave it when freed, stay in it when
 * reallocated, and fall back to the ordinary heap when it is full; outside a window nothing
 * changes. The tests run in one process in order: secmem_init must come before OpenSSL
 * allocates anything, so it is the first test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"
#include "util/secmem.h"

#define HEAP (1u << 16)

TEST(init_first)
{
    int r = secmem_init(HEAP);
    /* 1: locked; 2: mlock refused by RLIMIT_MEMLOCK (still a secure heap). */
    CHECK(r == 1 || r == 2);
    CHECK_INT(secmem_state(), r);
    CHECK_INT(secmem_init(HEAP), r); /* once only */
    CHECK(CRYPTO_secure_malloc_initialized());
    size_t u0 = CRYPTO_secure_used();
    secmem_warm_up(); /* outside any window: nothing of it in the secure heap */
    CHECK_INT(CRYPTO_secure_used(), u0);
}

TEST(window)
{
    size_t u0 = CRYPTO_secure_used();
    void *plain = OPENSSL_malloc(100);
    CHECK(plain && !CRYPTO_secure_allocated(plain));
    secmem_begin();
    secmem_begin(); /* nests */
    void *sec = OPENSSL_malloc(100);
    secmem_end();
    void *sec2 = OPENSSL_zalloc(40);
    secmem_end();
    void *plain2 = OPENSSL_malloc(100);
    CHECK(sec && CRYPTO_secure_allocated(sec));
    CHECK(sec2 && CRYPTO_secure_allocated(sec2));
    CHECK(plain2 && !CRYPTO_secure_allocated(plain2));
    CHECK(CRYPTO_secure_used() > u0);
    /* Reallocated outside the window, a secure block stays secure and keeps its bytes. */
    memset(sec, 0x5a, 100);
    unsigned char *big = OPENSSL_realloc(sec, 3000);
    CHECK(big && CRYPTO_secure_allocated(big));
    CHECK(big && big[0] == 0x5a && big[99] == 0x5a);
    void *grown = OPENSSL_realloc(plain, 5000);
    CHECK(grown && !CRYPTO_secure_allocated(grown));
    OPENSSL_free(big);
    OPENSSL_free(sec2);
    OPENSSL_free(grown);
    OPENSSL_free(plain2);
    CHECK(OPENSSL_realloc(NULL, 0) == NULL);
    CHECK_INT(CRYPTO_secure_used(), u0);
}

TEST(full_heap_falls_back)
{
    size_t u0 = CRYPTO_secure_used();
    unsigned long long f0 = secmem_fallbacks();
    void *p[64];
    secmem_begin();
    for (int i = 0; i < 64; i++) /* 64 x 4 KB: four times the heap */
        p[i] = OPENSSL_malloc(4096);
    secmem_end();
    int secure = 0, plain = 0;
    for (int i = 0; i < 64; i++) {
        CHECK(p[i] != NULL);
        if (!p[i]) continue;
        memset(p[i], i, 4096); /* every block is usable, wherever it is */
        if (CRYPTO_secure_allocated(p[i]))
            secure++;
        else
            plain++;
    }
    CHECK(secure > 0 && plain > 0);
    CHECK_INT(secmem_fallbacks() - f0, plain);
    /* Windows fill at most half of the heap: the rest is for OpenSSL's own secure blocks,
     * which have no fallback (a TLS key exchange would fail). */
    CHECK(CRYPTO_secure_used() <= HEAP / 2);
    void *own = CRYPTO_secure_malloc(4096, NULL, 0);
    CHECK(own && CRYPTO_secure_allocated(own));
    CRYPTO_secure_free(own, NULL, 0);
    for (int i = 0; i < 64; i++)
        OPENSSL_free(p[i]);
    CHECK_INT(CRYPTO_secure_used(), u0);
}

static char dir[64];

static keyring *make_keyring(void)
{
    snprintf(dir, sizeof dir, "/tmp/phidb-secmem-XXXXXX");
    if (!mkdtemp(dir)) abort();
    char kf[128], kr[128], err[512];
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    FILE *f = fopen(kf, "w");
    if (!f) abort();
    fprintf(f, "%s\n", unit_hex_key(0));
    fclose(f);
    chmod(kf, 0600);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    if (!k) fprintf(stderr, "keyring: %s\n", err);
    return k;
}

static int seal_one(sealer *s, uint8_t *out)
{
    return seal_seal(s, (const uint8_t *)"Jane Doe", 8, (const uint8_t *)"patient:1", 9,
                     (const uint8_t *)"name", 4, out);
}

TEST(sealer_contexts_in_the_secure_heap)
{
    keyring *k = make_keyring();
    CHECK(k != NULL);
    if (!k) return;
    uint8_t sealed[64], opened[16];
    /* Once, for what OpenSSL caches on first use (the fetched cipher). */
    sealer *warm = seal_new(k, KR_VALUES);
    CHECK_INT(seal_one(warm, sealed), 0);
    seal_free(warm);
    size_t u0 = CRYPTO_secure_used();
    sealer *s = seal_new(k, KR_VALUES);
    CHECK_INT(seal_one(s, sealed), 0);
    size_t u1 = CRYPTO_secure_used();
    /* Two keyed contexts: each holds the expanded AES-256 key (240 bytes) and GHASH's
     * table (256 bytes). */
    CHECK(u1 >= u0 + 2 * 496);
    CHECK_INT(seal_open(s, sealed, 8 + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                        (const uint8_t *)"name", 4, opened),
              0);
    CHECK(memcmp(opened, "Jane Doe", 8) == 0);
    /* A new version gets contexts of its own; retiring the old one drops the old ones. */
    char err[512];
    CHECK_INT(keyring_rotate(k, KR_VALUES, err, sizeof err), 2);
    uint8_t sealed2[64];
    CHECK_INT(seal_one(s, sealed2), 0);
    size_t u2 = CRYPTO_secure_used();
    CHECK(u2 >= u1 + 2 * 496);
    CHECK_INT(keyring_retire(k, KR_VALUES, 1, err, sizeof err), 0);
    /* The next use of the sealer, whatever the version, drops the retired contexts. */
    CHECK_INT(seal_one(s, sealed2), 0);
    CHECK(CRYPTO_secure_used() <= u2 - 2 * 496);
    CHECK(seal_open(s, sealed, 8 + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                    (const uint8_t *)"name", 4, opened) != 0);
    seal_free(s);
    CHECK_INT(CRYPTO_secure_used(), u0);
    keyring_close(k);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) abort();
}

UNIT_MAIN(T(init_first), T(window), T(full_heap_falls_back), T(sealer_contexts_in_the_secure_heap))
