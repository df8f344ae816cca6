/*
 * policy_int: structures shared by the policy files (policy.c parses,
 * policy_decide.c looks up and decides, policy_view.c de-identifies,
 * policy_index.c indexes). Not for use outside src/access.
 */
#ifndef POLICY_INT_H
#define POLICY_INT_H

#include <string.h>

#include "access/policy.h"

/* How a schema pattern is matched after its literal prefix. */
enum policy_match {
    POLICY_MATCH_EXACT = 0,  /* no glob character: the key equals the prefix */
    POLICY_MATCH_PREFIX = 1, /* "prefix*": the key starts with the prefix */
    POLICY_MATCH_GLOB = 2,   /* anything else: prefix check, then str_glob on the pattern */
};

struct policy_field {
    char *name;            /* field name (NUL-terminated) */
    size_t len;            /* its length */
    uint64_t wa, wb;       /* its words as policy_field_words makes them (fast compare) */
    policy_type *type;     /* record type it belongs to */
    int group;             /* group bit number (1..63) */
    enum policy_kind kind; /* PHI kind (NONE when not declared) */
    int indexed;           /* index=blind */
    int slot;              /* index slot among all indexed fields, -1 when not indexed */
    int line;              /* line of the declaration (for SHOW and errors) */
};

struct policy_type {
    char *name;            /* type name */
    size_t len;            /* its length */
    policy *pol;           /* policy it belongs to */
    policy_field **fields; /* declared fields, in file order */
    size_t nfields;        /* count */
    uint32_t *table;       /* 1 + index into fields, 0 = empty */
    uint32_t tmask;        /* table size - 1 (a power of two) */
    uint64_t seed;         /* seed of policy_field_mix under which no two fields collide */
    int perfect;           /* 1: one slot decides (seeded hash); 0: FNV-1a, linear probing */
    uint64_t groups;       /* mask of the groups of its fields */
};

struct policy_schema {
    char *pattern;           /* key pattern as written */
    size_t plen;             /* its length */
    size_t prefix_len;       /* bytes of literal prefix (before the first glob character) */
    enum policy_match match; /* how the rest is matched */
    policy_type *type;       /* record type */
    char *subject;           /* name of the subject field */
    size_t subject_len;      /* its length */
    int strict;              /* undeclared fields refused */
    uint64_t delete_need;    /* groups a role must delete to delete a record */
    int line;                /* line of the declaration */
};

struct policy_role {
    char *name;                          /* role name */
    size_t len;                          /* its length */
    policy *pol;                         /* policy it belongs to */
    uint64_t read;                       /* groups readable */
    uint64_t write;                      /* groups writable */
    uint64_t del;                        /* groups deletable */
    int self;                            /* scope=self */
    uint32_t purposes;                   /* allowed purposes, bit per enum policy_purpose */
    enum policy_purpose default_purpose; /* purpose of a new session */
    int breakglass;                      /* may request break-glass grants */
    enum policy_view view;               /* full or de-identified */
    int line;                            /* line of the declaration */
};

struct policy {
    int refs;                        /* reference count */
    uint64_t generation;             /* unique per parse */
    char *source;                    /* file name given to the parser */
    char *groups[POLICY_MAX_GROUPS]; /* group names by bit ("undeclared" at 0) */
    int ngroups;                     /* bits in use */
    policy_type **types;             /* record types, in order of first schema line */
    size_t ntypes;                   /* count */
    policy_schema **schemas;         /* schemas, in file order */
    size_t nschemas;                 /* count */
    uint16_t *bucket[256];           /* per first key byte: schema indexes to try, in file order */
    uint16_t nbucket[256];           /* their counts */
    uint16_t *anyfirst;     /* schemas with an empty literal prefix (tried for every key) */
    uint16_t nanyfirst;     /* count */
    policy_role **roles;    /* roles, in file order */
    size_t nroles;          /* count */
    uint16_t *zip3;         /* restricted three-digit ZIP prefixes */
    size_t nzip3;           /* count */
    int zip_default;        /* 1 when zip-restricted was not given (the HHS list) */
    int nindexed;           /* fields with index=blind (slots 0..nindexed-1) */
    policy_field **indexed; /* those fields by slot */
    char *index_sig;        /* text identifying what the blind index depends on */
};

/* FNV-1a of (p, n): the fallback field table hash (the table is static, see policy.h). */
uint32_t policy_name_hash(const uint8_t *p, size_t n);

/* Largest type for which a collision-free seed is searched (beyond: FNV and probing). */
#define POLICY_PERFECT_MAX 256

/* Two words that hold every byte of a name of up to 16 bytes (the first and last 8, 4 or
 * 1..3 bytes): for such names, equal length and words mean equal names, so a lookup compares
 * three integers instead of calling memcmp. Longer names also need memcmp. */
static inline void policy_field_words(const uint8_t *p, size_t n, uint64_t *wa, uint64_t *wb)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        a = x;
        b = y;
    } else if (n > 0) {
        a = (uint64_t)p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
    }
    *wa = a;
    *wb = b;
}

/* The hot-path field hash of a name's words and length: constant time whatever the length,
 * one 64x64->128 multiply. The parser picks a seed under which the declared fields of a type
 * land in distinct slots, so a lookup is one slot and one compare; a name that is not
 * declared may share a slot and fails the compare. */
static inline uint64_t policy_field_mix(uint64_t seed, uint64_t a, uint64_t b, size_t n)
{
    __uint128_t r =
        (__uint128_t)(a ^ seed ^ 0xa0761d6478bd642fULL) * (b ^ (uint64_t)n ^ 0xe7037ed1a0b428dbULL);
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
/* Free every part of a policy (used by the parser on errors and by policy_unref). */
void policy_destroy(policy *p);
/* Append a comma-separated list of the group names in mask (or "none" / "*"). */
void policy_groups_text(const policy *p, uint64_t mask, buf *out);

#endif
