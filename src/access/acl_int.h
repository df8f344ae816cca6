/*
 * acl_int: structures shared by acl.c (users, rules, files, log) and
 * acl_auth.c (logins, cache, throttling). Not for use outside src/access.
 */
#ifndef ACL_INT_H
#define ACL_INT_H

#include "access/acl.h"

#define ACL_CACHE_SLOTS    4096
#define ACL_THROTTLE_SLOTS 1024
#define ACL_LOG_MAX        128
#define ACL_HASH_MAX       256 /* longest encoded Argon2id string we produce or accept */

typedef struct {
    char *pat;  /* pattern bytes (NUL-terminated copy) */
    size_t len; /* pattern length */
    int flags;  /* ACL_KEY_READ | ACL_KEY_WRITE */
} acl_pattern;

struct acl_user {
    char *name;           /* user name */
    uint64_t id;          /* unique per created user (cache entries bind to it) */
    uint64_t cred_epoch;  /* bumped when passwords change (invalidates cache entries) */
    int enabled;          /* on/off */
    char **hashes;        /* encoded Argon2id hashes */
    size_t nhashes;       /* count */
    uint64_t *allowed;    /* command bitmap, one bit per catalog id */
    buf cmd_rules;        /* command rules as given, normalized, for ACL LIST */
    acl_pattern *keys;    /* key patterns */
    size_t nkeys;         /* count */
    acl_pattern *chans;   /* channel patterns */
    size_t nchans;        /* count */
    int allkeys;          /* set by allkeys or ~* (cleared by resetkeys, reset): as in Redis,
                             adding a key pattern after it is refused */
    int allchannels;      /* the same for allchannels or &* */
    int failures;         /* consecutive failed logins */
    long long locked_until; /* ms since the epoch; 0 when not locked */
    char *attrs[ACL_ATTR_COUNT]; /* attributes (role=, subject=, ...); NULL when unset */
    long long totp_step;  /* last TOTP time step accepted (replay protection) */
    uint32_t subject_version; /* values key version of the subject in the users file as last
                                 loaded or saved (0: none, or in plaintext) */
};

typedef struct {
    uint8_t digest[32];   /* HMAC of user and password */
    uint64_t user_id;     /* user it was verified for */
    uint64_t cred_epoch;  /* that user's epoch at the time */
    long long expires;    /* ms since the epoch */
} acl_cache_slot;

typedef struct {
    uint64_t addr_hash;   /* hash of the client IP (0: empty) */
    int failures;         /* recent failures from it */
    long long last_ms;    /* time of the last failure */
} acl_throttle_slot;

typedef struct {
    long long count;      /* times seen */
    char reason[16];      /* command, key, channel, auth */
    char context[16];     /* toplevel, multi */
    char *object;         /* command or key */
    char *user;           /* user name */
    char *client;         /* client description */
    long long created;    /* ms */
    long long updated;    /* ms */
} acl_log_entry;

struct acl {
    acl_opts o;                /* options */
    const acl_cmd *cat;        /* catalog (not owned) */
    size_t ncmds;              /* catalog size */
    size_t words;              /* uint64_t words in a command bitmap */
    acl_user **users;          /* sorted by name */
    size_t nusers;             /* count */
    uint64_t generation;       /* bumped on delete/reload */
    uint64_t next_user_id;     /* id generator */
    uint8_t cache_key[32];     /* HMAC key for the login cache (random, locked) */
    acl_cache_slot *cache;     /* direct-mapped login cache */
    acl_throttle_slot *throttle; /* direct-mapped per-address failures */
    char *dummy_hash;          /* verified against for unknown users (equal timing) */
    acl_log_entry log[ACL_LOG_MAX]; /* ring, newest at log_head-1 */
    size_t log_len;            /* entries in use */
    struct sealer *sealer;     /* seals subjects in the users file (not owned; may be NULL) */
    long long totp_floor;      /* last TOTP step a new user starts with (acl_set_totp_floor) */
    size_t plain_subjects;     /* subjects the last file load read in plaintext */
};

/* If rule (r, n) is an attribute rule ("name=value"), check it: returns 1 with *id and the
 * value (*val, *vlen point into r), 0 when it is not an attribute rule, -1 with err when it
 * is one but invalid. (acl_attr.c) */
int acl_attr_parse(const char *r, size_t n, int *id, const char **val, size_t *vlen, char *err,
                   size_t errlen);
/* Set attribute id of u to (val, len) (len 0 clears it; mfa=none also clears the secret). */
void acl_attr_set(acl_user *u, int id, const char *val, size_t len);
/* Clear every attribute of u (reset; freeing). Secrets are wiped. */
void acl_attr_clear(acl_user *u);

/* 1 if pass matches the encoded Argon2id hash (constant time). Slow. */
int acl_verify_hash(const char *encoded, const uint8_t *pass, size_t plen);
/* Free a user and wipe its hashes. */
void acl_user_free(acl_user *u);
/* Find a user's index or where it would go; returns 1 if found. */
int acl_user_index(const acl *a, const uint8_t *name, size_t n, size_t *idx);

#endif
