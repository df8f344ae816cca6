/*
 * policy_grant: break-glass grants (45 CFR 164.312(a)(2)(ii), emergency access).
 *
 * A grant lets one user read every field group of one subject's records until
 * it expires: {id, user, subject, reason, created, expires}. The reason is
 * mandatory (at least POLICY_GRANT_MIN_REASON characters). Grants survive a
 * restart until they expire: the store is written to one file after every
 * change, sealed at rest (grants hold subject ids, which identify patients),
 * replaced atomically (temporary file 0600, fsync, rename, fsync of the
 * directory). The file is "PHIDBBG1" followed by one sealed item (seal.h) with
 * the AAD "phidb/breakglass/v1"; inside, a length-prefixed binary list (no
 * text format to escape). The caller passes the sealer of the values key.
 *
 * Documented limit: the file is authenticated but not versioned against
 * rollback; someone who can write the data directory and kept an older copy of
 * the file could bring back a revoked grant that has not yet expired. Expiry is
 * absolute, so no copy can make a grant outlive its expiry.
 *
 * Lookups scan the live grants (at most POLICY_GRANT_MAX, usually a handful);
 * the server asks policy_grants_user_has first, which answers "no" for every
 * user without grants without touching a subject.
 */
#ifndef POLICY_GRANT_H
#define POLICY_GRANT_H

#include <stddef.h>
#include <stdint.h>

struct sealer;

#define POLICY_GRANT_MIN_REASON     20                  /* shortest accepted reason (characters) */
#define POLICY_GRANT_MAX_REASON     1024                /* longest accepted reason (bytes) */
#define POLICY_GRANT_MAX_SUBJECT    128                 /* longest subject id */
#define POLICY_GRANT_MAX            4096                /* live grants at most */
#define POLICY_GRANT_ID_LEN         16                  /* hex characters of an id */
#define POLICY_GRANT_TTL_DEFAULT_MS (4LL * 3600 * 1000) /* breakglass-ttl default */

typedef struct policy_grants policy_grants;

/* One grant as seen by callers. Pointers are owned by the store and valid until its next
 * change (add, revoke, expire, load, free). */
typedef struct {
    char id[POLICY_GRANT_ID_LEN + 1]; /* random hex id (NUL-terminated) */
    const char *user;                 /* user the grant is for */
    const uint8_t *subject;           /* subject id (bytes) */
    size_t subject_len;               /* its length */
    const char *reason;               /* reason as given (NUL-terminated) */
    size_t reason_len;                /* its length */
    long long created_ms;             /* ms since the epoch */
    long long expires_ms;             /* ms since the epoch */
} policy_grant;

/* A new empty store persisted to path with sealer s (both may be NULL: memory only, for
 * tests; s and path must outlive the store). Owned by the caller: policy_grants_free. */
policy_grants *policy_grants_new(const char *path, struct sealer *s);
/* Free the store (reasons and subjects wiped). NULL is fine. */
void policy_grants_free(policy_grants *g);
/* Replace the grants with those of the file, dropping expired ones. A missing file is an
 * empty store. Returns 0, or -1 with err (unreadable, altered, wrong key): the server must
 * not start on that, since it could not honour or list grants. The file's nonce is noted
 * (seal_nonce_note) for the caller to commit before its next seal. */
int policy_grants_load(policy_grants *g, long long now_ms, char *err, size_t errlen);
/* Grant user read on every group of subject's records for ttl_ms. Checks the reason (at
 * least POLICY_GRANT_MIN_REASON characters once leading/trailing blanks are cut, half of
 * them not spaces; UTF-8 without control characters), the
 * subject (1..POLICY_GRANT_MAX_SUBJECT bytes) and the count; persists before returning.
 * Returns 0 with *out filled, or -1 with err (and no grant). */
int policy_grant_add(policy_grants *g, const char *user, const uint8_t *subject, size_t slen,
                     const uint8_t *reason, size_t rlen, long long ttl_ms, long long now_ms,
                     policy_grant *out, char *err, size_t errlen);
/* 1 if user has any live grant (cheap pre-check before reading a record's subject). */
int policy_grants_user_has(const policy_grants *g, const char *user, long long now_ms);
/* 1 with *out (if not NULL) when user has a live grant for subject; else 0. When several
 * match, the one expiring last. */
int policy_grant_check(const policy_grants *g, const char *user, const uint8_t *subject,
                       size_t slen, long long now_ms, policy_grant *out);
/* Number of live grants at now_ms (PHI.BREAKGLASS LIST). */
size_t policy_grants_count(const policy_grants *g, long long now_ms);
/* The i-th live grant (0 <= i < count, oldest first) into *out; returns 0, or -1 when i is out
 * of range. */
int policy_grant_at(const policy_grants *g, size_t i, long long now_ms, policy_grant *out);
/* Revoke grant id. Returns 1 when revoked, 0 when no live grant has that id, -1 when it was
 * revoked in memory but the file could not be written (err set; the server should report it). */
int policy_grant_revoke(policy_grants *g, const char *id, size_t idlen, long long now_ms, char *err,
                        size_t errlen);
/* Drop expired grants (persisting when any went). Returns how many went, or -1 with err. */
int policy_grants_expire(policy_grants *g, long long now_ms, char *err, size_t errlen);
/* Drop the grants of users for whom exists(ud, user) is 0 (deleted users: a grant must not
 * pass to a new account of the same name), calling dropped for each (may be NULL) and
 * persisting when any went. Returns how many went, or -1 with err (dropped in memory). */
int policy_grants_drop_users(policy_grants *g, int (*exists)(void *ud, const char *user),
                             void (*dropped)(void *ud, const char *id, const char *user), void *ud,
                             char *err, size_t errlen);
/* The values key version the grants file is sealed with (0: there is no file). */
uint32_t policy_grants_version(const policy_grants *g);
/* Seal the file again under the current values key version when it is under an older one
 * (after a rotation, before the old version is retired). Returns 0, or -1 with err. */
int policy_grants_reseal(policy_grants *g, char *err, size_t errlen);

#endif
