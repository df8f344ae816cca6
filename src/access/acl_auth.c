/*
 * acl_auth: logins (see acl.h). Argon2id verification on workers, a cache of
 * recently verified logins, per-user lockout and per-address throttling.
 *
 * Unknown and disabled users are verified against a dummy hash so that the time
 * a failure takes does not tell whether the account exists. The client always
 * gets the same error; the reason is kept for the log and the audit trail.
 */
#include "acl_int.h"

#include <argon2.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "util/hash.h"
#include "util/mem.h"
#include "util/strutil.h"
#include "util/secmem.h"

#define ARGON2_HASHLEN 32

int acl_hash_password(const acl_opts *o, const uint8_t *pass, size_t plen, char *out,
                      size_t outlen)
{
    uint8_t salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1) return -1;
    int rc = argon2id_hash_encoded(o->argon2_time, o->argon2_memory_kib, o->argon2_lanes, pass,
                                   plen, salt, sizeof salt, ARGON2_HASHLEN, out, outlen);
    OPENSSL_cleanse(salt, sizeof salt);
    return rc == ARGON2_OK ? 0 : -1;
}

int acl_verify_hash(const char *encoded, const uint8_t *pass, size_t plen)
{
    return argon2id_verify(encoded, pass, plen) == ARGON2_OK;
}

struct acl_auth {
    char user[129];        /* user name asked for */
    uint8_t *pass;         /* password (wiped on free) */
    size_t plen;           /* its length */
    char addr[64];         /* client IP */
    char **hashes;         /* snapshot of the user's hashes, or the dummy */
    size_t nhashes;        /* count */
    uint64_t user_id;      /* user at begin (0: none) */
    uint64_t cred_epoch;   /* its epoch at begin */
    uint8_t digest[32];    /* cache key of this login */
    int digest_ok;         /* it could be computed */
    int verified;          /* result of the work step */
};

/* The login cache's key for user and password: 0, or -1 when it cannot be computed (the
 * login then neither uses nor fills the cache). */
static int digest_login(const acl *a, const uint8_t *user, size_t ulen, const uint8_t *pass,
                        size_t plen, uint8_t out[32])
{
    int ok;
    uint8_t len4[4] = {(uint8_t)(ulen >> 24), (uint8_t)(ulen >> 16), (uint8_t)(ulen >> 8),
                       (uint8_t)ulen};
    {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                                OSSL_PARAM_construct_end()};
        size_t outl = 0;
        secmem_begin(); /* the keyed HMAC states */
        ok = ctx && EVP_MAC_init(ctx, a->cache_key, sizeof a->cache_key, params) &&
             EVP_MAC_update(ctx, len4, 4) && EVP_MAC_update(ctx, user, ulen) &&
             EVP_MAC_update(ctx, pass, plen) && EVP_MAC_final(ctx, out, &outl, 32) && outl == 32;
        secmem_end();
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(mac);
    }
    if (!ok) OPENSSL_cleanse(out, 32);
    return ok ? 0 : -1;
}

static acl_cache_slot *cache_slot(acl *a, const uint8_t digest[32])
{
    uint32_t i = ((uint32_t)digest[0] << 8 | digest[1]) % ACL_CACHE_SLOTS;
    return &a->cache[i];
}

static acl_throttle_slot *throttle_slot(acl *a, const char *addr, uint64_t *h)
{
    *h = hash_bytes((const uint8_t *)addr, strlen(addr)) | 1;
    return &a->throttle[*h % ACL_THROTTLE_SLOTS];
}

/* The IP part of "ip:port" (IPv6 addresses contain colons: cut at the last one). */
static void addr_ip(const char *addr, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", addr ? addr : "");
    char *colon = strrchr(out, ':');
    if (colon && strchr(out, '.')) *colon = '\0';
    else if (colon && colon != strchr(out, ':')) *colon = '\0';
}

long long acl_auth_delay_ms(acl *a, const char *addr)
{
    char ip[64];
    addr_ip(addr, ip, sizeof ip);
    uint64_t h;
    acl_throttle_slot *s = throttle_slot(a, ip, &h);
    if (s->addr_hash != h) return 0;
    long long now = clock_ms();
    if (now - s->last_ms > 10 * 60 * 1000) return 0; /* forgotten after ten quiet minutes */
    int over = s->failures - a->o.throttle_free;
    if (over <= 0) return 0;
    long long d = 100LL << (over > 16 ? 16 : over - 1);
    return d > a->o.throttle_max_ms ? a->o.throttle_max_ms : d;
}

static void throttle_record(acl *a, const char *addr, int failed)
{
    char ip[64];
    addr_ip(addr, ip, sizeof ip);
    uint64_t h;
    acl_throttle_slot *s = throttle_slot(a, ip, &h);
    long long now = clock_ms();
    if (s->addr_hash != h || now - s->last_ms > 10 * 60 * 1000) {
        if (!failed) return;
        s->addr_hash = h;
        s->failures = 0;
    }
    if (failed) {
        s->failures++;
        s->last_ms = now;
    } else {
        s->failures = 0;
    }
}

static void ensure_dummy(acl *a)
{
    if (a->dummy_hash) return;
    char enc[ACL_HASH_MAX];
    uint8_t pw[24];
    /* The dummy only makes a login for no such user take as long as one for a user; its
     * password is never checked for a match. */
    if (RAND_bytes(pw, sizeof pw) != 1) memset(pw, 0x5a, sizeof pw);
    if (acl_hash_password(&a->o, pw, sizeof pw, enc, sizeof enc) == 0)
        a->dummy_hash = mem_strdup(enc);
    OPENSSL_cleanse(pw, sizeof pw);
}

/* A right password ends a run of failures, unless the user has a second factor: then the
 * run is ended by the right TOTP code (acl_mfa_success). Wrong codes count toward the
 * lockout like wrong passwords, and a reconnect with the right password must not wipe
 * them, or the six digits could be guessed two at a time, forever. */
static void password_ok(acl_user *u)
{
    if (acl_user_mfa(u) != ACL_MFA_TOTP) u->failures = 0;
}

int acl_auth_begin(acl *a, const uint8_t *user, size_t ulen, const uint8_t *pass, size_t plen,
                   const char *addr, acl_auth **job)
{
    *job = NULL;
    if (ulen > 128) ulen = 128; /* no such user can exist; keep the job bounded */
    acl_user *u = acl_find(a, user, ulen);
    long long now = clock_ms();
    uint8_t digest[32];
    int digest_ok = digest_login(a, user, ulen, pass, plen, digest) == 0;
    if (digest_ok && u && u->enabled && !acl_user_locked(u, now) && a->o.cache_ttl_ms > 0) {
        acl_cache_slot *s = cache_slot(a, digest);
        if (s->user_id == u->id && s->cred_epoch == u->cred_epoch && s->expires > now &&
            CRYPTO_memcmp(s->digest, digest, 32) == 0) {
            password_ok(u);
            throttle_record(a, addr, 0);
            OPENSSL_cleanse(digest, sizeof digest);
            return ACL_AUTH_OK;
        }
    }
    acl_auth *j = mem_calloc(sizeof *j);
    memcpy(j->user, user, ulen);
    j->user[ulen] = '\0';
    j->pass = mem_alloc(plen ? plen : 1);
    memcpy(j->pass, pass, plen);
    j->plen = plen;
    addr_ip(addr, j->addr, sizeof j->addr);
    memcpy(j->digest, digest, 32);
    j->digest_ok = digest_ok;
    OPENSSL_cleanse(digest, sizeof digest);
    if (u && u->enabled && u->nhashes) {
        j->user_id = u->id;
        j->cred_epoch = u->cred_epoch;
        j->hashes = mem_calloc(sizeof(char *) * u->nhashes);
        for (size_t i = 0; i < u->nhashes; i++)
            j->hashes[i] = mem_strdup(u->hashes[i]);
        j->nhashes = u->nhashes;
    } else {
        ensure_dummy(a);
        if (a->dummy_hash) {
            j->hashes = mem_calloc(sizeof(char *));
            j->hashes[0] = mem_strdup(a->dummy_hash);
            j->nhashes = 1;
        }
    }
    *job = j;
    return ACL_AUTH_PENDING;
}

void acl_auth_work(acl_auth *j)
{
    for (size_t i = 0; i < j->nhashes; i++)
        if (acl_verify_hash(j->hashes[i], j->pass, j->plen)) j->verified = 1;
    OPENSSL_cleanse(j->pass, j->plen);
}

int acl_auth_finish(acl *a, acl_auth *j, enum acl_auth_why *why, int *locked_now)
{
    *locked_now = 0;
    long long now = clock_ms();
    acl_user *u = acl_find(a, (const uint8_t *)j->user, strlen(j->user));
    if (!u || !j->user_id) {
        *why = u && !u->enabled ? ACL_WHY_DISABLED : ACL_WHY_NOUSER;
        if (u && u->enabled) *why = ACL_WHY_BADPASS; /* user without passwords */
        throttle_record(a, j->addr, 1);
        return ACL_AUTH_FAIL;
    }
    if (!u->enabled) {
        *why = ACL_WHY_DISABLED;
        throttle_record(a, j->addr, 1);
        return ACL_AUTH_FAIL;
    }
    if (acl_user_locked(u, now)) {
        /* A correct password does not open a locked account. */
        *why = ACL_WHY_LOCKED;
        throttle_record(a, j->addr, 1);
        return ACL_AUTH_FAIL;
    }
    if (j->verified && u->id == j->user_id && u->cred_epoch == j->cred_epoch) {
        password_ok(u);
        throttle_record(a, j->addr, 0);
        if (a->o.cache_ttl_ms > 0 && j->digest_ok) {
            acl_cache_slot *s = cache_slot(a, j->digest);
            memcpy(s->digest, j->digest, 32);
            s->user_id = u->id;
            s->cred_epoch = u->cred_epoch;
            s->expires = now + a->o.cache_ttl_ms;
        }
        *why = ACL_WHY_NONE;
        return ACL_AUTH_OK;
    }
    *why = ACL_WHY_BADPASS;
    throttle_record(a, j->addr, 1);
    if (u->id == j->user_id && !j->verified) {
        u->failures++;
        if (a->o.max_failures > 0 && u->failures >= a->o.max_failures) {
            u->locked_until = now + a->o.lockout_ms;
            *locked_now = 1;
        }
    }
    return ACL_AUTH_FAIL;
}

const char *acl_auth_user(const acl_auth *j)
{
    return j->user;
}

void acl_auth_free(acl_auth *j)
{
    if (!j) return;
    if (j->pass) {
        OPENSSL_cleanse(j->pass, j->plen);
        mem_free(j->pass);
    }
    for (size_t i = 0; i < j->nhashes; i++)
        mem_free_wipe(j->hashes[i]);
    mem_free(j->hashes);
    OPENSSL_cleanse(j->digest, sizeof j->digest);
    mem_free(j);
}

int acl_unlock(acl *a, const uint8_t *name, size_t n)
{
    acl_user *u = acl_find(a, name, n);
    if (!u) return 0;
    u->failures = 0;
    u->locked_until = 0;
    return 1;
}
