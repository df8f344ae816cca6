/*
 * acl: users, Redis ACL rules, authentication, lockout.
 *
 * Users follow Redis 7 ACL syntax (on/off, >pass <pass #hash !hash, ~pattern,
 * %R~ %W~, allkeys resetkeys, &pattern, +cmd -cmd +cmd|sub, +@cat -@cat,
 * allcommands nocommands reset), hardened:
 *  - there is no default or anonymous user, and `nopass` is refused;
 *  - passwords are kept only as Argon2id hashes and must be at least 12
 *    characters; no password or hash is ever written to a reply or a log;
 *  - commands marked "by name only" (FLUSHALL, FLUSHDB, KEYS) are never granted
 *    through a category or allcommands, only by an explicit +name;
 *  - consecutive failures lock an account for a while, and a correct password
 *    does not open a locked account (`unlock` does);
 *  - failures from one client address delay that address's next attempts;
 *  - users carry attributes for the PHI policy and MFA (role=, subject=, mfa=,
 *    cert=, totp-secret=; see below), parsed as rules like any other.
 *
 * Hashing is slow on purpose, so it never runs on the event loop: rule changes
 * and logins are two-phase. The loop thread parses/begins, a worker runs the
 * *_work function (which touches only the job object), and the loop thread
 * applies/finishes. Logins that succeeded recently are remembered as a keyed
 * digest (HMAC-SHA256 of user and password under a per-process random key,
 * never the password), so connection pools that reconnect often skip Argon2;
 * any change of the user's passwords invalidates those entries.
 *
 * The module knows commands only through a catalog the command layer registers
 * (names, categories, by-name-only flag), so it does not depend on that layer.
 */
#ifndef ACL_H
#define ACL_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct acl acl;
typedef struct acl_user acl_user;
typedef struct acl_op acl_op;
typedef struct acl_auth acl_auth;

/* ACL categories (bit numbers), Redis 7's set. */
enum acl_category {
    ACL_CAT_KEYSPACE, ACL_CAT_READ, ACL_CAT_WRITE, ACL_CAT_SET, ACL_CAT_SORTEDSET,
    ACL_CAT_LIST, ACL_CAT_HASH, ACL_CAT_STRING, ACL_CAT_BITMAP, ACL_CAT_HYPERLOGLOG,
    ACL_CAT_GEO, ACL_CAT_STREAM, ACL_CAT_PUBSUB, ACL_CAT_ADMIN, ACL_CAT_FAST, ACL_CAT_SLOW,
    ACL_CAT_BLOCKING, ACL_CAT_DANGEROUS, ACL_CAT_CONNECTION, ACL_CAT_TRANSACTION,
    ACL_CAT_SCRIPTING, ACL_CAT_COUNT
};
#define ACL_CAT(c) (1ULL << (ACL_CAT_##c))

/* Name of category i ("keyspace"...), or NULL past the end. */
const char *acl_category_name(int i);

/* One command of the catalog; its index is its command id. */
typedef struct {
    const char *name;    /* "get", or "config|get" for a subcommand */
    int parent;          /* id of the container command for a subcommand, else -1 */
    uint64_t categories; /* ACL_CAT bits */
    int by_name_only;    /* granted only by +name (dangerous on PHI) */
} acl_cmd;

/* Key access asked of acl_can_key. */
#define ACL_KEY_READ  1
#define ACL_KEY_WRITE 2

typedef struct {
    uint32_t argon2_memory_kib; /* Argon2id memory cost */
    uint32_t argon2_time;       /* Argon2id passes */
    uint32_t argon2_lanes;      /* Argon2id parallelism */
    int max_failures;           /* consecutive failures that lock a user (0: never) */
    long long lockout_ms;       /* how long a lock lasts */
    long long cache_ttl_ms;     /* how long a verified login is remembered (0: off) */
    int throttle_free;          /* failures per address before delays start */
    long long throttle_max_ms;  /* longest delay */
    int min_password_len;       /* shortest accepted password */
} acl_opts;

/* Fill opts with the defaults. */
void acl_opts_default(acl_opts *o);

/* New empty ACL (no users) using the catalog (not copied: must outlive the acl). */
acl *acl_new(const acl_opts *opts, const acl_cmd *catalog, size_t ncmds);
/* Free everything (secrets wiped). */
void acl_free(acl *a);
/* Replace the options (argon2 cost applies to new hashes only). */
void acl_set_opts(acl *a, const acl_opts *opts);
/* Command id for a name (case-insensitive, "config|get" for subcommands), or -1. */
int acl_cmd_id(const acl *a, const char *name);

/* ---- users ---- */
/* Find a user by name; NULL if none. The pointer stays valid until the user is deleted
 * or the ACL is reloaded (acl_generation changes then). */
acl_user *acl_find(acl *a, const uint8_t *name, size_t n);
/* Name of a user (NUL-terminated, owned by the user). */
const char *acl_user_name(const acl_user *u);
/* 1 if the user is enabled ("on"). */
int acl_user_enabled(const acl_user *u);
/* Bumped whenever users are deleted or replaced wholesale (so clients can re-resolve). */
uint64_t acl_generation(const acl *a);
/* Number of users and the i-th (sorted by name). */
size_t acl_user_count(const acl *a);
acl_user *acl_user_at(acl *a, size_t i);
/* Delete a user; returns 1 if it existed. */
int acl_deluser(acl *a, const uint8_t *name, size_t n);
/* Append the user's rules as ACL LIST shows them (hashes hidden), or with with_hashes as the
 * users file holds them (hashes shown, a name that opens with a quote quoted); with_hashes 2
 * leaves the subject out (acl_file_text adds it sealed). */
void acl_describe(const acl *a, const acl_user *u, buf *out, int with_hashes);
/* Number of passwords of the user. */
size_t acl_user_password_count(const acl_user *u);
/* Key patterns as text ("~* %R~x"), channel patterns ("&*"), command rules ("+@all -x"). */
void acl_describe_keys(const acl_user *u, buf *out);
void acl_describe_channels(const acl_user *u, buf *out);
void acl_describe_commands(const acl *a, const acl_user *u, buf *out);
/* 1 if locked now (ms since the epoch). */
int acl_user_locked(const acl_user *u, long long now_ms);

/* ---- rule changes (ACL SETUSER, file loading): parse, work (worker), apply ---- */
/* Parse rules for user name. Returns 0 with *op, or -1 with a message in err (no secrets
 * in it). Nothing changes until acl_op_apply. */
int acl_op_parse(acl *a, const uint8_t *name, size_t nlen, const uint8_t *const *rules,
                 const size_t *lens, int nrules, acl_op **op, char *err, size_t errlen);
/* 1 if acl_op_work must run (on a worker thread) before acl_op_apply. */
int acl_op_needs_work(const acl_op *op);
/* Hash new passwords and match removed ones. Touches only op: safe on a worker thread. */
void acl_op_work(acl_op *op);
/* What ACL SETUSER refuses beyond parsing, as Redis 7 does, from the user's present state:
 * a key pattern after allkeys or ~* (until resetkeys or reset), a channel pattern after
 * allchannels or &*. Changes nothing. Returns 0, or -1 with err. Users files are loaded
 * without it: files written before it may hold such (harmless) patterns. */
int acl_op_check(acl *a, const acl_op *op, char *err, size_t errlen);
/* Apply the change (creating the user if needed). Returns 0, or -1 with err. */
int acl_op_apply(acl *a, acl_op *op, char *err, size_t errlen);
/* Name of the user an op changes (owned by the op). */
const char *acl_op_name(const acl_op *op);
/* Free an op (wiping passwords it holds). */
void acl_op_free(acl_op *op);

/* ---- permission checks (hot path) ---- */
/* 1 if the user may run command id. */
int acl_can_run(const acl_user *u, int cmd_id);
/* 1 if the user may touch key with the given ACL_KEY_* access. */
int acl_can_key(const acl_user *u, const uint8_t *key, size_t n, int access);
/* 1 if the user may use channel. */
int acl_can_channel(const acl_user *u, const uint8_t *ch, size_t n);
/* 1 if the user may subscribe to the channel pattern pat (PSUBSCRIBE): as in Redis 7, one
 * of its & rules must be that very pattern (or it has allchannels), since a pattern that
 * merely matches a rule would reach channels beyond it. */
int acl_can_channel_pattern(const acl_user *u, const uint8_t *pat, size_t n);

/* ---- authentication ---- */
enum acl_auth_result { ACL_AUTH_OK = 0, ACL_AUTH_FAIL = 1, ACL_AUTH_PENDING = 2 };
/* Why a login failed (for logs and audit; never sent to the client, which always gets
 * the same error so accounts cannot be probed). */
enum acl_auth_why { ACL_WHY_NONE, ACL_WHY_BADPASS, ACL_WHY_NOUSER, ACL_WHY_DISABLED,
                    ACL_WHY_LOCKED };
/* Start checking user/password from client address addr (an IP). ACL_AUTH_OK when a recent
 * verified login matches (no hashing); otherwise ACL_AUTH_PENDING with *job, which the caller
 * runs through acl_auth_work (worker) and acl_auth_finish (loop). */
int acl_auth_begin(acl *a, const uint8_t *user, size_t ulen, const uint8_t *pass, size_t plen,
                   const char *addr, acl_auth **job);
/* Milliseconds the reply to a login from addr should be delayed (throttling). */
long long acl_auth_delay_ms(acl *a, const char *addr);
/* Verify the password (Argon2id). Touches only job: safe on a worker thread. */
void acl_auth_work(acl_auth *job);
/* Finish: update lockout, throttle and cache; returns ACL_AUTH_OK or ACL_AUTH_FAIL and
 * sets *why and *locked_now (1 when this failure locked the account). */
int acl_auth_finish(acl *a, acl_auth *job, enum acl_auth_why *why, int *locked_now);
/* User name the job is for (NUL-terminated). */
const char *acl_auth_user(const acl_auth *job);
/* Free a job (wiping the password). */
void acl_auth_free(acl_auth *job);
/* Clear a user's lock and failure count; returns 1 if the user exists. */
int acl_unlock(acl *a, const uint8_t *name, size_t n);

/* ---- persistence ---- */
/* Replace all users with those of the file (all or nothing). Returns 0, or -1 with err
 * naming the line. A missing file is an error. */
int acl_load_file(acl *a, const char *path, char *err, size_t errlen);
/* Write all users (with hashes) atomically: temp file 0600, fsync, rename, fsync dir. */
int acl_save_file(acl *a, const char *path, char *err, size_t errlen);
/* Hash a password with the current options into out (encoded Argon2id string).
 * Returns 0 or -1. Slow: never call on the event loop. */
int acl_hash_password(const acl_opts *o, const uint8_t *pass, size_t plen, char *out,
                      size_t outlen);

/* ---- per-user attributes (PHI policy, MFA, client certificates) ----
 * Set with ACL SETUSER rules and kept in the ACL file:
 *   role=NAME      the user's role in the PHI policy (role= clears it)
 *   subject=ID     the patient the user is (for roles with scope=self; subject= clears it)
 *   mfa=totp       a TOTP code is required after the password (mfa=none clears it and the
 *                  secret)
 *   cert=CN        the client certificate's subject CN must equal CN (cert= clears it)
 *   totp-secret=H  the TOTP secret, sealed (hex; written by `phidb user mfa`); shown only in
 *                  the ACL file, never in ACL LIST or GETUSER (totp-secret= clears it)
 * Values are 1 to 128 printable ASCII characters without spaces or quotes (role names:
 * letters, digits, '_', '-', '.'). `reset` clears every attribute. */
enum acl_attr { ACL_ATTR_ROLE, ACL_ATTR_SUBJECT, ACL_ATTR_MFA, ACL_ATTR_CERT, ACL_ATTR_TOTP,
                ACL_ATTR_COUNT };
/* Second factor required of a user. */
enum acl_mfa { ACL_MFA_NONE = 0, ACL_MFA_TOTP = 1 };
/* Value of attribute a (NUL-terminated, owned by the user, valid until the user changes), or
 * NULL when unset. */
const char *acl_user_attr(const acl_user *u, enum acl_attr a);
/* The user's role name in the PHI policy (role=), or NULL. Owned by the user. */
const char *acl_user_role(const acl_user *u);
/* The patient id the user is (subject=), or NULL. Owned by the user. */
const char *acl_user_subject(const acl_user *u);
/* The client certificate subject CN the user must present (cert=), or NULL. */
const char *acl_user_cert(const acl_user *u);
/* ACL_MFA_TOTP when the user has mfa=totp. */
int acl_user_mfa(const acl_user *u);
/* The sealed TOTP secret (hex, see policy_totp.h), or NULL when not enrolled. */
const char *acl_user_totp_secret(const acl_user *u);
/* Replace the sealed TOTP secret (hex, as totp-secret= takes it), e.g. sealed again under a
 * new values key version; nothing else about the user changes. */
void acl_user_set_totp_secret(acl_user *u, const char *hex);
/* Last TOTP time step accepted for the user (replay protection; kept in memory, across
 * ACL LOAD; 0 at start). */
long long acl_user_totp_step(const acl_user *u);
/* Record an accepted step (the value only moves forward). */
void acl_user_set_totp_step(acl_user *u, long long step);
/* The highest TOTP step accepted by anyone (only moves forward): a user created from now on
 * (ACL SETUSER of a new name, or ACL LOAD of a name that was not there) starts with it as
 * its last accepted step, so a user deleted and made again with the same secret (ACL LOAD
 * of the saved file, or totp-secret= copied) cannot use a code of its old self again. */
void acl_set_totp_floor(acl *a, long long step);
/* A failed second factor: counts toward lockout like a bad password. Returns 1 when this
 * failure locked the account. */
int acl_mfa_failure(acl *a, acl_user *u, long long now_ms);
/* A passed second factor: clears the failure count. */
void acl_mfa_success(acl *a, acl_user *u);
/* Append the attributes as rules (" role=x subject=y ..."), the sealed secret only when
 * with_secrets (the ACL file); with_secrets 2 leaves the subject out. */
void acl_describe_attrs(const acl_user *u, buf *out, int with_secrets);

/* ---- the users file ---- */
struct sealer;
/* Seal the subject= attributes in the users file with the values key: acl_save_file and
 * acl_file_text write subject-sealed=<hex> (AES-256-GCM, AAD "phidb/subject/v1" + the user
 * name, so a sealed subject copied to another user does not open), and acl_load_file opens
 * it back. A subject is a patient identifier, and nothing identifying goes to disk in the
 * clear: the server and the tools always set the sealer. Without one (unit tests and fuzz
 * targets only) subjects are written as given. A file written by hand (or by a phidb before
 * this) may hold subject=<id>; it loads, and acl_plain_subjects says so.
 * With a sealer, acl_load_file notes the nonces of the sealed subjects and TOTP secrets it
 * reads (seal_nonce_note): the caller commits them (seal_nonces_commit) before it seals
 * anything with that key, so that a keyring file older than the users file cannot make a
 * nonce repeat. */
void acl_set_sealer(acl *a, struct sealer *s);
/* The users file's text for a (what acl_save_file writes), appended to out. Returns 0, or -1
 * with err when a subject could not be sealed (out then holds a partial text: wipe it). */
int acl_file_text(acl *a, buf *out, char *err, size_t errlen);
/* How many subject= attributes the last successful acl_load_file read in plaintext; the
 * caller writes the file again (acl_save_file) to seal them. */
size_t acl_plain_subjects(const acl *a);
/* The values key version that sealed the user's subject in the users file as last loaded or
 * saved; 0 when the user has no subject or it was read in plaintext. */
uint32_t acl_user_subject_version(const acl_user *u);

/* ---- ACL LOG ---- */
/* Record a denial: reason "command", "key", "channel" or "auth"; context "toplevel" or
 * "multi"; object is the command or key name; user and client description. */
void acl_log_add(acl *a, const char *reason, const char *context, const uint8_t *object,
                 size_t olen, const char *user, const char *client_info);
typedef struct {
    long long count;      /* times seen */
    const char *reason;   /* command, key, channel, auth */
    const char *context;  /* toplevel, multi */
    const char *object;   /* command or key */
    const char *user;     /* user name */
    const char *client;   /* client description */
    long long created_ms; /* when first seen */
} acl_log_view;
/* Number of entries. */
size_t acl_log_len(const acl *a);
/* Entry i (0 = newest); pointers valid until the log changes. Returns 0 or -1. */
int acl_log_get(const acl *a, size_t i, acl_log_view *v);
/* Forget all entries. */
void acl_log_reset(acl *a);

#endif
