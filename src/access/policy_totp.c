/*
 * policy_totp: TOTP codes, secrets, base32, otpauth URIs, sealed storage of
 * the secret and the PHI.MFA check (see policy_totp.h).
 */
#include "policy_totp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "store/seal.h"
#include "util/fsutil.h"
#include "util/secmem.h"
#include "util/strutil.h"

#define TOTP_AAD "phidb/totp/v1"

int policy_hotp(const uint8_t *key, size_t klen, uint64_t counter, int digits, uint32_t *code)
{
    static const uint32_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    if (digits < 6 || digits > 8 || !key || klen == 0) return -1;
    uint8_t msg[8], mac[20];
    unsigned int ml = sizeof mac;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)counter;
        counter >>= 8;
    }
    secmem_begin(); /* the keyed HMAC states of the user's TOTP secret */
    int ok = HMAC(EVP_sha1(), key, (int)klen, msg, sizeof msg, mac, &ml) != NULL && ml == 20;
    secmem_end();
    if (!ok) return -1;
    int off = mac[19] & 0x0f; /* dynamic truncation, RFC 4226 section 5.3 */
    uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
                   (uint32_t)mac[off + 2] << 8 | mac[off + 3];
    *code = bin % pow10[digits];
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

int policy_totp_verify(const uint8_t *key, size_t klen, const uint8_t *code, size_t clen,
                       long long now_s, long long *last_step)
{
    char given[POLICY_TOTP_DIGITS + 1];
    size_t g = 0;
    for (size_t i = 0; i < clen; i++) {
        if (code[i] == ' ') continue;
        if (code[i] < '0' || code[i] > '9' || g == POLICY_TOTP_DIGITS) return POLICY_TOTP_BAD;
        given[g++] = (char)code[i];
    }
    if (g != POLICY_TOTP_DIGITS || now_s < 0) return POLICY_TOTP_BAD;
    given[g] = '\0';
    long long t = now_s / POLICY_TOTP_STEP, matched = -1;
    /* Every step of the window is computed and compared, whatever matches, so the time
     * taken does not say which step (if any) matched. */
    for (long long s = t - POLICY_TOTP_WINDOW; s <= t + POLICY_TOTP_WINDOW; s++) {
        uint32_t c;
        char want[16];
        if (s < 0 || policy_hotp(key, klen, (uint64_t)s, POLICY_TOTP_DIGITS, &c) != 0) continue;
        snprintf(want, sizeof want, "%0*u", POLICY_TOTP_DIGITS, c);
        if (CRYPTO_memcmp(want, given, POLICY_TOTP_DIGITS) == 0) matched = s;
        OPENSSL_cleanse(want, sizeof want);
    }
    OPENSSL_cleanse(given, sizeof given);
    if (matched < 0) return POLICY_TOTP_BAD;
    if (matched <= *last_step) return POLICY_TOTP_REPLAY;
    *last_step = matched;
    return POLICY_TOTP_OK;
}

int policy_totp_secret_new(uint8_t *out, size_t n)
{
    return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t policy_base32_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t need = (n * 8 + 4) / 5;
    if (cap < need + 1) return 0;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | p[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

int policy_base32_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c == ' ' || c == '-' || c == '=') continue;
        if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return -1;
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (o >= cap) return -1;
            out[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    *outlen = o;
    return 0;
}

static void pct(buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            buf_putc(out, c);
        else
            buf_printf(out, "%%%02X", c);
    }
}

void policy_totp_uri(const char *issuer, const char *account, const uint8_t *secret, size_t n,
                     buf *out)
{
    char enc[((POLICY_TOTP_SECRET_MAX * 8 + 4) / 5) + 1];
    if (n > POLICY_TOTP_SECRET_MAX) n = POLICY_TOTP_SECRET_MAX;
    policy_base32_encode(secret, n, enc, sizeof enc);
    buf_puts(out, "otpauth://totp/");
    pct(out, issuer);
    buf_puts(out, ":");
    pct(out, account);
    buf_printf(out, "?secret=%s&issuer=", enc);
    pct(out, issuer);
    buf_printf(out, "&algorithm=SHA1&digits=%d&period=%d", POLICY_TOTP_DIGITS, POLICY_TOTP_STEP);
    OPENSSL_cleanse(enc, sizeof enc);
}

int policy_totp_seal(struct sealer *s, const char *user, const uint8_t *secret, size_t n, buf *out)
{
    if (n == 0 || n > POLICY_TOTP_SECRET_MAX) return -1;
    uint8_t sealed[POLICY_TOTP_SECRET_MAX + SEAL_OVERHEAD];
    if (seal_seal(s, secret, n, (const uint8_t *)TOTP_AAD, sizeof TOTP_AAD - 1,
                  (const uint8_t *)user, strlen(user), sealed) != 0)
        return -1;
    for (size_t i = 0; i < n + SEAL_OVERHEAD; i++)
        buf_printf(out, "%02x", sealed[i]);
    return 0;
}

int policy_totp_unseal(struct sealer *s, const char *user, const char *hex, uint8_t *secret,
                       size_t cap, size_t *n)
{
    size_t hl = hex ? strlen(hex) : 0;
    uint8_t sealed[POLICY_TOTP_SECRET_MAX + SEAL_OVERHEAD];
    if (hl % 2 || hl / 2 <= SEAL_OVERHEAD || hl / 2 > sizeof sealed) return -1;
    size_t sl = hl / 2;
    if (str_unhex(hex, sl, sealed) != 0) return -1; /* lower case, as acl_attr.c requires */
    if (sl - SEAL_OVERHEAD > cap) return -1;
    if (seal_open(s, sealed, sl, (const uint8_t *)TOTP_AAD, sizeof TOTP_AAD - 1,
                  (const uint8_t *)user, strlen(user), secret) != 0)
        return -1;
    *n = sl - SEAL_OVERHEAD;
    return 0;
}

int policy_mfa_verify(acl *a, acl_user *u, struct sealer *s, const uint8_t *code, size_t clen,
                      long long now_ms, long long floor, int *locked_now)
{
    *locked_now = 0;
    if (acl_user_locked(u, now_ms)) return POLICY_TOTP_LOCKED;
    uint8_t secret[POLICY_TOTP_SECRET_MAX];
    size_t n = 0;
    if (acl_user_mfa(u) != ACL_MFA_TOTP ||
        policy_totp_unseal(s, acl_user_name(u), acl_user_totp_secret(u), secret, sizeof secret,
                           &n) != 0) {
        OPENSSL_cleanse(secret, sizeof secret);
        return POLICY_TOTP_NOT_ENROLLED;
    }
    long long step = acl_user_totp_step(u);
    if (step < floor) step = floor;
    int rc = policy_totp_verify(secret, n, code, clen, now_ms / 1000, &step);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc == POLICY_TOTP_OK) {
        acl_user_set_totp_step(u, step);
        acl_mfa_success(a, u);
    } else {
        *locked_now = acl_mfa_failure(a, u, now_ms);
    }
    return rc;
}

int policy_totp_floor_load(const char *path, long long now_s, long long *floor)
{
    *floor = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        *floor = now_s / POLICY_TOTP_STEP + POLICY_TOTP_WINDOW;
        return -1;
    }
    char line[64];
    char *end = NULL;
    long long v = -1;
    if (fgets(line, sizeof line, f)) {
        errno = 0;
        v = strtoll(line, &end, 10);
        if (errno || end == line || (*end != '\n' && *end != '\0')) v = -1;
    }
    fclose(f);
    if (v < 0) {
        *floor = now_s / POLICY_TOTP_STEP + POLICY_TOTP_WINDOW;
        return -1;
    }
    *floor = v;
    return 0;
}

int policy_totp_floor_save(const char *path, long long floor)
{
    char tmp[4200], line[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(line, sizeof line, "%lld\n", floor);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int ok = write(fd, line, (size_t)n) == n && fdatasync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        errno = e;
        return -1;
    }
    fsync_dir_of(path);
    return 0;
}
