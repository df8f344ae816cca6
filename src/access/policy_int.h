/*
 * policy_int: structures shared by the policy files (policy.c parses,
 * policy_decide.c looks up and decides, policy_view.c de-identifies,
 * policy_index.c indexes). Not for use outside src/access.
 */
#ifndef POLICY_INT_H
#define POLICY_INT_H

#include "access/policy.h"

/* How a schema pattern is matched after its literal prefix. */
enum policy_match {
    POLICY_MATCH_EXACT = 0,  /* no glob character: the key equals the prefix */
    POLICY_MATCH_PREFIX = 1, /* "prefix*": the key starts with the prefix */
    POLICY_MATCH_GLOB = 2,   /* anything else: prefix check, then str_glob on the pattern */
};

struct policy_field {
    char *name;               /* field name (NUL-terminated) */
    size_t len;               /* its length */
    policy_type *type;        /* record type it belongs to */
    int group;                /* group bit number (1..63) */
    enum policy_kind kind;    /* PHI kind (NONE when not declared) */
    int indexed;              /* index=blind */
    int slot;                 /* index slot among all indexed fields, -1 when not indexed */
    int line;                 /* line of the declaration (for SHOW and errors) */
};

struct policy_type {
    char *name;               /* type name */
    size_t len;               /* its length */
    policy *pol;              /* policy it belongs to */
    policy_field **fields;    /* declared fields, in file order */
    size_t nfields;           /* count */
    uint32_t *table;          /* open addressing: 1 + index into fields, 0 = empty */
    uint32_t tmask;           /* table size - 1 (size a power of two, load <= 1/2) */
    uint64_t groups;          /* mask of the groups of its fields */
};

struct policy_schema {
    char *pattern;            /* key pattern as written */
    size_t plen;              /* its length */
    size_t prefix_len;        /* bytes of literal prefix (before the first glob character) */
    enum policy_match match;  /* how the rest is matched */
    policy_type *type;        /* record type */
    char *subject;            /* name of the subject field */
    size_t subject_len;       /* its length */
    int strict;               /* undeclared fields refused */
    uint64_t delete_need;     /* groups a role must delete to delete a record */
    int line;                 /* line of the declaration */
};

struct policy_role {
    char *name;               /* role name */
    size_t len;               /* its length */
    policy *pol;              /* policy it belongs to */
    uint64_t read;            /* groups readable */
    uint64_t write;           /* groups writable */
    uint64_t del;             /* groups deletable */
    int self;                 /* scope=self */
    uint32_t purposes;        /* allowed purposes, bit per enum policy_purpose */
    enum policy_purpose default_purpose; /* purpose of a new session */
    int breakglass;           /* may request break-glass grants */
    enum policy_view view;    /* full or de-identified */
    int line;                 /* line of the declaration */
};

struct policy {
    int refs;                 /* reference count */
    uint64_t generation;      /* unique per parse */
    char *source;             /* file name given to the parser */
    char *groups[POLICY_MAX_GROUPS]; /* group names by bit ("undeclared" at 0) */
    int ngroups;              /* bits in use */
    policy_type **types;      /* record types, in order of first schema line */
    size_t ntypes;            /* count */
    policy_schema **schemas;  /* schemas, in file order */
    size_t nschemas;          /* count */
    uint16_t *bucket[256];    /* per first key byte: schema indexes to try, in file order */
    uint16_t nbucket[256];    /* their counts */
    uint16_t *anyfirst;       /* schemas with an empty literal prefix (tried for every key) */
    uint16_t nanyfirst;       /* count */
    policy_role **roles;      /* roles, in file order */
    size_t nroles;            /* count */
    uint16_t *zip3;           /* restricted three-digit ZIP prefixes */
    size_t nzip3;             /* count */
    int zip_default;          /* 1 when zip-restricted was not given (the HHS list) */
    int nindexed;             /* fields with index=blind (slots 0..nindexed-1) */
    policy_field **indexed;   /* those fields by slot */
    char *index_sig;          /* text identifying what the blind index depends on */
};

/* FNV-1a of (p, n): the field table hash (the table is static, see policy.h). */
uint32_t policy_name_hash(const uint8_t *p, size_t n);
/* Free every part of a policy (used by the parser on errors and by policy_unref). */
void policy_destroy(policy *p);
/* Append a comma-separated list of the group names in mask (or "none" / "*"). */
void policy_groups_text(const policy *p, uint64_t mask, buf *out);

#endif
