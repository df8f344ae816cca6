/*
 * policy_totp: the second factor for people (TOTP, RFC 6238) and its enrollment.
 *
 * TOTP with HMAC-SHA1 (OpenSSL), 30-second steps, 6 digits, accepted in the
 * step before, the current step and the step after (clock drift of up to 30 s
 * either way). A code is accepted once: the user's last accepted step is
 * remembered (acl_user_totp_step) and a code of that step or an earlier one is
 * refused as a replay, even if it is still inside the window.
 *
 * Where the secret lives: in the ACL file, as the user attribute
 * totp-secret=<hex>, sealed with the values key (AES-256-GCM, seal.h) and the
 * AAD "phidb/totp/v1" + the user name, so the file holds no usable secret and a
 * sealed secret copied to another user does not open. ACL LIST and GETUSER
 * never show it; only `phidb user mfa` writes it (offline, with the data
 * directory lock), and the QR code / otpauth URI it prints is the only time the
 * secret is shown. The secret is opened only for the moment of a check, into a
 * stack buffer that is wiped.
 *
 * Note for key rotation: sealed secrets are opened with whatever values-key
 * version sealed them; that version must not be retired while a secret still
 * uses it (re-enroll, or open and seal it again with policy_totp_unseal and
 * policy_totp_seal when rotating).
 */
#ifndef POLICY_TOTP_H
#define POLICY_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "access/acl.h"
#include "util/buf.h"

struct sealer;

#define POLICY_TOTP_STEP       30 /* seconds per time step */
#define POLICY_TOTP_DIGITS     6  /* digits of a code */
#define POLICY_TOTP_WINDOW     1  /* steps accepted before and after the current one */
#define POLICY_TOTP_SECRET_LEN 20 /* bytes of a new secret (160 bits, RFC 4226 section 4) */
#define POLICY_TOTP_SECRET_MAX 64 /* longest secret accepted */

/* Results of policy_totp_verify and policy_mfa_verify. */
enum policy_totp_result {
    POLICY_TOTP_OK = 0,
    POLICY_TOTP_BAD = -1,          /* wrong code, or not six digits */
    POLICY_TOTP_REPLAY = -2,       /* right code of a step already used */
    POLICY_TOTP_LOCKED = -3,       /* the account is locked (nothing was checked) */
    POLICY_TOTP_NOT_ENROLLED = -4, /* mfa=totp without a secret, or a secret that does not open */
};

/* HOTP (RFC 4226): the code of counter for key (klen bytes), with digits digits (6..8) into
 * *code. Returns 0 or -1. */
int policy_hotp(const uint8_t *key, size_t klen, uint64_t counter, int digits, uint32_t *code);
/* Check a TOTP code (code, clen: six digits, spaces ignored) at now_s (seconds since the
 * epoch) against key. A code matching a step after *last_step within the window is
 * accepted and *last_step becomes that step. Returns POLICY_TOTP_OK, _BAD or _REPLAY.
 * Compares in constant time. */
int policy_totp_verify(const uint8_t *key, size_t klen, const uint8_t *code, size_t clen,
                       long long now_s, long long *last_step);
/* Fill out with n random bytes for a new secret. Returns 0 or -1. */
int policy_totp_secret_new(uint8_t *out, size_t n);
/* Base32 (RFC 4648, upper case, no padding) of (p, n) into out (cap >= (n * 8 + 4) / 5 + 1,
 * NUL-terminated). Returns the length, or 0 when out is too small. */
size_t policy_base32_encode(const uint8_t *p, size_t n, char *out, size_t cap);
/* Decode base32 (either case; spaces, dashes and '=' padding ignored) into out. Returns 0
 * with *outlen, or -1 on a bad character or when out is too small. */
int policy_base32_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen);
/* Append the otpauth:// URI for an authenticator app:
 * otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * (issuer and account percent-encoded). The result holds the secret: wipe out after use. */
void policy_totp_uri(const char *issuer, const char *account, const uint8_t *secret, size_t n,
                     buf *out);
/* Seal a secret for user with the values sealer s into hex (appended to out), the value of
 * the totp-secret= attribute. Returns 0 or -1. */
int policy_totp_seal(struct sealer *s, const char *user, const uint8_t *secret, size_t n, buf *out);
/* Open a sealed secret (hex, as stored) of user into secret (cap bytes). Returns 0 with *n,
 * or -1 (altered, another user's, unknown key version, too long). The caller wipes secret. */
int policy_totp_unseal(struct sealer *s, const char *user, const char *hex, uint8_t *secret,
                       size_t cap, size_t *n);
/* The whole PHI.MFA check for user u: refuses at once when locked; opens the secret; checks
 * the code at now_ms with replay protection (updating the user's last step; steps up to
 * floor count as used: policy_totp_floor_load); counts a wrong code or a replay toward
 * lockout (*locked_now = 1 when this failure locked the account) and clears the failure
 * count on success. Returns a policy_totp_result. */
int policy_mfa_verify(acl *a, acl_user *u, struct sealer *s, const uint8_t *code, size_t clen,
                      long long now_ms, long long floor, int *locked_now);
/* The replay floor across restarts. The last step accepted per user is kept in memory, so
 * a restart would forget it; instead the highest step accepted by anyone is kept in a small
 * file (path: one decimal number, no user names), and after a restart every step up to it
 * counts as used, for everybody: a code accepted before the restart is refused after it,
 * and for about a minute after the last MFA before a restart other users wait for their
 * next code. load: *floor from the file (0 when there is none); -1 when it cannot be read
 * or parsed (*floor is then the current step plus the window: nothing from before is
 * accepted). save: atomically (temporary file, fsync, rename); 0 or -1 with errno. */
int policy_totp_floor_load(const char *path, long long now_s, long long *floor);
int policy_totp_floor_save(const char *path, long long floor);

#endif
