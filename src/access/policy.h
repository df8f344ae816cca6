/*
 * policy: the PHI access policy ("minimum necessary"), and the decisions taken
 * on it for every command.
 *
 * Redis ACL rules decide which commands and key patterns a user may touch; the
 * policy decides which fields of a patient's record a role may read, write or
 * delete, for whom (self-scope), for what purpose, and which view it sees. The
 * policy file (redis.conf line syntax, docs/policy.md) declares:
 *   schema <pattern> type=<type> subject=<field> [strict]
 *   field <type> <name> group=<group> [phi=<kind>] [index=blind]
 *   role <name> read=<groups|*> write=<groups|*> delete=<groups|*|none> [scope=self]
 *        [purpose=<list>] [default-purpose=<p>] [breakglass=yes] [view=full|deidentified]
 *   zip-restricted <prefix,prefix,...>
 *
 * Key decisions:
 *  - A parsed policy is immutable and reference-counted. PHI.POLICY RELOAD parses the
 *    new file completely (all or nothing: "FILE:LINE: reason" on the first error) and
 *    the server swaps it between two commands; each parse gets a new generation so
 *    sessions that cached a role pointer know when to look it up again.
 *  - Groups are bits of a uint64_t (at most 63 named groups; bit 0 is the reserved
 *    group "undeclared", which holds every field a schema does not declare). A role
 *    is three masks, so a field check is one AND.
 *  - Schema lookup runs on every command that names a key, including keys outside
 *    any schema, so it is cheap: each pattern is split at build time into a literal
 *    prefix and a rest (exact, "prefix*" or a general glob), and schemas are bucketed
 *    by the first byte of their prefix; a key that matches nothing usually costs one
 *    table load and one or two memcmp. First matching schema in file order wins.
 *  - Field lookup is a static table per record type, built at parse time with a seed
 *    under which no two declared fields collide: one constant-time hash, one slot, one
 *    memcmp (policy_int.h). Types where no such seed is found use FNV-1a with probing;
 *    either way probe lengths depend only on the declared fields, so client-chosen
 *    field names cannot make it slow.
 *  - Decisions are pure functions of (role, schema, field, operation); facts that
 *    need the keyspace (a record's subject, a break-glass grant) are checked by the
 *    caller with the helpers below, in the order docs/policy.md gives.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct policy policy;
typedef struct policy_schema policy_schema;
typedef struct policy_type policy_type;
typedef struct policy_field policy_field;
typedef struct policy_role policy_role;

/* Limits checked by the parser (the file is refused beyond them). */
#define POLICY_MAX_FILE    (1024 * 1024) /* bytes of a policy file */
#define POLICY_MAX_GROUPS  64            /* including the reserved "undeclared" */
#define POLICY_MAX_SCHEMAS 1024          /* schema lines */
#define POLICY_MAX_FIELDS  4096          /* field lines, all types together */
#define POLICY_MAX_ROLES   256           /* role lines */
#define POLICY_MAX_NAME    64            /* type, group and role names */
#define POLICY_MAX_FIELD   128           /* field names and key patterns */

/* Bit of the reserved group "undeclared" (fields a schema does not declare). */
#define POLICY_GROUP_UNDECLARED 0
/* A mask with every group (what a live break-glass grant reads). */
#define POLICY_MASK_ALL (~(uint64_t)0)

/* What an access does to a field or a record. */
enum policy_op {
    POLICY_READ = 0,   /* read a field (explicitly or through an enumeration) */
    POLICY_WRITE = 1,  /* set or remove (HDEL) a field */
    POLICY_DELETE = 2, /* delete, rename or expire a whole record (field is NULL) */
};

/* Results of the decision functions: 0 allows, a negative value names the denial. */
enum policy_result {
    POLICY_ALLOW = 0,
    POLICY_DENY_NO_ROLE = -1,     /* the user has no role, or a role the policy does not define */
    POLICY_DENY_GROUP = -2,       /* the role is not granted the field's group for this op */
    POLICY_DENY_UNDECLARED = -3,  /* strict schema: the field is not declared */
    POLICY_DENY_VIEW = -4,        /* a de-identified role writes or deletes */
    POLICY_DENY_DEID = -5,        /* the field is removed in the de-identified view */
    POLICY_DENY_SCOPE = -6,       /* scope=self: the record's subject is not the user's */
    POLICY_DENY_PURPOSE = -7,     /* the session's purpose is not allowed for the role */
    POLICY_DENY_COMMAND = -8,     /* a non-hash command on a record key (records are hashes) */
    POLICY_DENY_MOVE = -9,        /* RENAME into, out of, or across record types */
    POLICY_DENY_BREAKGLASS = -10, /* PHI.BREAKGLASS by a role without breakglass=yes */
};

/* Purposes of use (PHI.PURPOSE). */
enum policy_purpose {
    POLICY_PURPOSE_TREATMENT = 0,
    POLICY_PURPOSE_PAYMENT,
    POLICY_PURPOSE_OPERATIONS,
    POLICY_PURPOSE_RESEARCH,
    POLICY_PURPOSE_PUBLIC_HEALTH,
    POLICY_PURPOSE_LEGAL,
    POLICY_PURPOSE_EMERGENCY,
    POLICY_PURPOSE_COUNT
};

/* The view a role sees. */
enum policy_view {
    POLICY_VIEW_FULL = 0,        /* values as stored */
    POLICY_VIEW_DEIDENTIFIED = 1 /* Safe Harbor: identifying fields removed, others coarsened */
};

/* PHI kinds a field may declare (phi=<kind>); NONE for fields that hold no identifier. */
enum policy_kind {
    POLICY_KIND_NONE = 0,
    POLICY_KIND_NAME,
    POLICY_KIND_SSN,
    POLICY_KIND_DATE,
    POLICY_KIND_ZIP,
    POLICY_KIND_AGE,
    POLICY_KIND_PHONE,
    POLICY_KIND_FAX,
    POLICY_KIND_EMAIL,
    POLICY_KIND_ADDRESS,
    POLICY_KIND_CITY,
    POLICY_KIND_MRN,
    POLICY_KIND_ACCOUNT,
    POLICY_KIND_HEALTH_PLAN,
    POLICY_KIND_LICENSE,
    POLICY_KIND_VEHICLE,
    POLICY_KIND_DEVICE,
    POLICY_KIND_URL,
    POLICY_KIND_IP,
    POLICY_KIND_BIOMETRIC,
    POLICY_KIND_PHOTO,
    POLICY_KIND_CARD,
    POLICY_KIND_ID,
    POLICY_KIND_FACILITY,
    POLICY_KIND_TEXT,
    POLICY_KIND_COUNT
};

/* ---- loading and lifetime ---- */

/* Parse a whole policy from text[0..len) (name is used in error messages: "NAME:LINE: ...").
 * Returns 0 with *out (reference count 1, owned by the caller: policy_unref), or -1 with a
 * message in err and nothing allocated. */
int policy_parse(const char *text, size_t len, const char *name, policy **out, char *err,
                 size_t errlen);
/* Read and parse the file at path (refused above POLICY_MAX_FILE bytes). Same results as
 * policy_parse; a missing file is an error. */
int policy_load_file(const char *path, policy **out, char *err, size_t errlen);
/* The same for the server's own policy-file: also refused when owned by a user other than
 * this process's effective user or root (whoever owns it decides what is enforced). */
int policy_load_owned_file(const char *path, policy **out, char *err, size_t errlen);
/* Take one more reference; returns p. */
policy *policy_ref(policy *p);
/* Drop a reference; the policy is freed with the last one (NULL is fine). */
void policy_unref(policy *p);
/* A number unique to this parse, increasing from one parse to the next (never 0). */
uint64_t policy_generation(const policy *p);
/* The text form of the policy (PHI.POLICY SHOW): a valid policy file with every default
 * spelled out, preceded by comment lines (source, generation, counts). Appended to out. */
void policy_show(const policy *p, buf *out);

/* ---- lookups (pointers stay valid as long as the policy is referenced) ---- */

/* The schema whose pattern matches the key (first in file order), or NULL: keys that
 * match no schema are governed by the ACL alone. Hot path: see the file comment. */
const policy_schema *policy_schema_for(const policy *p, const uint8_t *key, size_t klen);
/* The declared field of the schema's record type named (name, len), or NULL when
 * undeclared (the reserved group "undeclared"; refused outright in strict schemas). */
const policy_field *policy_field_find(const policy_schema *s, const uint8_t *name, size_t len);
/* Record type by name, or NULL (PHI.FIND <type>). */
const policy_type *policy_type_find(const policy *p, const uint8_t *name, size_t len);
/* Declared field of a type by name, or NULL. */
const policy_field *policy_type_field(const policy_type *t, const uint8_t *name, size_t len);
/* Role by name (the ACL rule role=NAME), or NULL: an unknown role is no role. */
const policy_role *policy_role_find(const policy *p, const uint8_t *name, size_t len);

/* Accessors. Strings are NUL-terminated and owned by the policy (valid while it is
 * referenced). */
/* Record type of a schema. */
const policy_type *policy_schema_type(const policy_schema *s);
/* Key pattern of a schema, as written. */
const char *policy_schema_pattern(const policy_schema *s);
/* Name of the field that holds the record's subject (the patient id). */
const char *policy_schema_subject(const policy_schema *s);
/* 1 when the schema refuses undeclared fields. */
int policy_schema_strict(const policy_schema *s);
/* Name of a record type. */
const char *policy_type_name(const policy_type *t);
/* Name of a field. */
const char *policy_field_name(const policy_field *f);
/* The field's group name. */
const char *policy_field_group(const policy_field *f);
/* The field's group bit number (mask bit 1 << n). */
int policy_field_group_bit(const policy_field *f);
/* The field's PHI kind (POLICY_KIND_NONE when not declared). */
enum policy_kind policy_field_kind(const policy_field *f);
/* 1 when the field carries a blind index (index=blind). */
int policy_field_indexed(const policy_field *f);
/* Record type a field belongs to. */
const policy_type *policy_field_type(const policy_field *f);
/* Name of a role. */
const char *policy_role_name(const policy_role *r);
/* 1 when the role reaches only records whose subject is the user's own (scope=self). */
int policy_role_self(const policy_role *r);
/* 1 when the role may request break-glass grants. */
int policy_role_breakglass(const policy_role *r);
enum policy_view policy_role_view(const policy_role *r);
/* Groups the role reads (before break-glass). */
uint64_t policy_role_read_mask(const policy_role *r);
/* 1 when the role reads every field group (DBSIZE under a policy). */
int policy_role_reads_all(const policy_role *r);
/* 1 when the role may delete every field group (FLUSHDB/FLUSHALL under a policy). */
int policy_role_deletes_all(const policy_role *r);
/* Name of group bit n ("undeclared" for 0), or NULL when unused. */
const char *policy_group_name(const policy *p, int bit);
/* Kind name ("ssn"; "none" when out of range). */
const char *policy_kind_name(enum policy_kind k);
/* Kind by name (case-insensitive, aliases accepted; -1 if unknown). */
int policy_kind_find(const uint8_t *name, size_t len);
/* Short name of a decision result for logs and audit records ("granted", "no-role", "group",
 * "undeclared", "view", "deidentified", "scope", "purpose", "command", "move", "breakglass";
 * "unknown" otherwise). Static string. */
const char *policy_strerror(int result);

/* ---- decisions (pure; hot path) ---- */

/* May role r do op on field f of a record of schema s? f NULL means "undeclared field"
 * for READ/WRITE and "the whole record" for DELETE. s may be NULL when f is given (PHI.FIND).
 * Returns POLICY_ALLOW or a denial; on POLICY_DENY_GROUP *group (if not NULL) is the group
 * to name in the error (owned by the policy). Does not look at scope, purpose or grants. */
int policy_can(const policy_role *r, const policy_schema *s, const policy_field *f,
               enum policy_op op, const char **group);

/* Enumeration filter (HGETALL, HKEYS, HVALS, HSCAN, HLEN, HRANDFIELD): which fields of one
 * record the role sees. Fill once per command with policy_filter_init, then ask per field. */
typedef struct {
    const policy_schema *s; /* the record's schema */
    uint64_t mask;          /* groups readable (role's, or all under break-glass) */
    int all;                /* 1: every field is visible, no per-field check needed */
    int deid;               /* 1: the de-identified view applies */
} policy_filter;
/* Prepare a filter for role r on schema s; breakglass is 1 when a live grant covers the
 * record's subject (read on every group, full view). r must not be NULL. */
void policy_filter_init(policy_filter *flt, const policy_role *r, const policy_schema *s,
                        int breakglass);
/* 1 if the field (name, len) is visible through the filter; *f (if not NULL) gets the
 * declared field or NULL. In the de-identified view fields of identifying kinds and
 * undeclared fields are not visible. */
int policy_filter_field(const policy_filter *flt, const uint8_t *name, size_t len,
                        const policy_field **f);

/* 1 if a user of role r may see that key k of schema s exists (SCAN, KEYS, RANDOMKEY, EXISTS,
 * TYPE, TTL...): the role has a role and can read at least one field of the type in its view
 * (some declared field visible, or undeclared fields). r NULL: 0. Scope is checked apart. */
int policy_key_visible(const policy_role *r, const policy_schema *s);

/* ---- purposes ---- */

/* Name of a purpose ("public-health"), or NULL. */
const char *policy_purpose_name(int p);
/* Purpose by name (case-insensitive), or -1. */
int policy_purpose_find(const uint8_t *name, size_t len);
/* 1 when role r may act for purpose p. */
int policy_purpose_ok(const policy_role *r, enum policy_purpose p);
/* The purpose a session of role r has until PHI.PURPOSE changes it. */
enum policy_purpose policy_role_default_purpose(const policy_role *r);

/* ---- scope ---- */

/* 1 if a user of role r with subject (us, ulen) (the ACL rule subject=ID; NULL when unset)
 * may reach a record whose subject field holds (rs, rlen) (NULL when the record does not
 * exist or has no subject field). Roles without scope=self always pass. */
int policy_scope_ok(const policy_role *r, const uint8_t *us, size_t ulen, const uint8_t *rs,
                    size_t rlen);

/* ---- error texts ---- */

/* Append the text of a -NOPERM error for denial `result` (without the leading '-', e.g.
 * "NOPERM this user's role 'nurse' may not read field group 'diagnosis'") to out. role
 * may be NULL (no role), field and schema may be NULL; group is what policy_can returned;
 * purpose is used for POLICY_DENY_PURPOSE. For POLICY_DENY_COMMAND, (field, flen) is the
 * command name. No value, key name or subject id is ever put in the text. */
void policy_deny_message(buf *out, int result, const policy_role *r, const policy_schema *s,
                         const uint8_t *field, size_t flen, const char *group, enum policy_op op,
                         int purpose);

/* ---- de-identified view (45 CFR 164.514(b)(2), Safe Harbor) ---- */

/* What the de-identified view does to a field's values, known from its kind alone. */
enum policy_view_action {
    POLICY_VIEW_KEEP = 0,      /* passed through (no PHI kind declared) */
    POLICY_VIEW_DROP = 1,      /* removed (identifying kinds, undeclared fields) */
    POLICY_VIEW_TRANSFORM = 2, /* coarsened or redacted (date, age, zip, text) */
};
/* The static action for field f (NULL: undeclared, dropped). Lets the server skip opening
 * values it would drop. */
enum policy_view_action policy_view_action(const policy_field *f);

struct phi_detector;
struct phi_scratch;
/* What the view needs besides the policy. */
typedef struct {
    const struct phi_detector *det; /* PHI detector for text fields; NULL: text is dropped */
    struct phi_scratch *scratch;    /* its per-thread scratch (with det) */
    int now_year;                   /* current year for the age-over-89 rule (0: today, UTC) */
    size_t text_max;                /* longer text is withheld, not redacted (0: no limit) */
} policy_view_ctx;
/* De-identify one value (v, n) of field f under policy p. Returns POLICY_VIEW_KEEP (send v
 * as is), POLICY_VIEW_DROP (omit the field; also when a date, age or zip cannot be parsed,
 * or text cannot be redacted: never passed through), or POLICY_VIEW_TRANSFORM with the new
 * value appended to out (the caller wipes out after use: it may hold PHI). Dates become
 * their year (a year 90 or more years back becomes "<=YYYY", the aggregated category);
 * ages over 89 become "90+"; ZIPs their first three digits or "000" for a restricted
 * prefix (zip-restricted); text is redacted by the PHI detector with type tags. */
int policy_view_value(const policy *p, const policy_field *f, const uint8_t *v, size_t n,
                      const policy_view_ctx *ctx, buf *out);

/* ---- pseudonyms for key names (SCAN, KEYS, PHI.FIND in the de-identified view) ---- */

/* Length of the random part of a pseudonym: 16 base32 characters = 80 bits of HMAC. */
#define POLICY_PSEUDONYM_CHARS 16
/* Derive the pseudonym key from the current index key of the keyring into out[32]:
 * HMAC-SHA256(index key, "phidb/pseudonym/v1"). Rotating the index key changes every
 * pseudonym. Returns 0 or -1. The caller keeps out in locked memory and wipes it. */
struct keyring;
int policy_pseudonym_key(struct keyring *k, uint8_t out[32]);
/* Pseudonym of key (key, klen) of record type t: "<type>:~" followed by
 * POLICY_PSEUDONYM_CHARS base32 characters of HMAC-SHA256(hkey, key). Stable for a given
 * hkey; reveals nothing of the key name. Writes a NUL-terminated string into out (cap at
 * least strlen(type) + 3 + POLICY_PSEUDONYM_CHARS); returns its length, or -1. */
int policy_pseudonym(const policy_type *t, const uint8_t *key, size_t klen, const uint8_t hkey[32],
                     char *out, size_t cap);

/* ---- blind index values (PHI.FIND) ---- */

/* Normalise a value for exact-match lookup by the field's kind: ASCII letters folded to
 * lower case and white space removed; for ssn, phone and fax only the digits are kept (and
 * a leading country code 1 of an 11-digit phone or fax number is dropped). Appends to out
 * (wipe it after use). Returns 0, or -1 when nothing is left (such values are not indexed). */
int policy_blind_normalize(enum policy_kind kind, const uint8_t *v, size_t n, buf *out);
/* Blind index value of (v, n) for field f: HMAC-SHA256 with the index key (version ver of
 * the keyring) over "type\0field\0" and the normalised value, so equal values of different
 * fields do not match. Returns 0, or -1 (nothing to index, or no such key version). */
int policy_blind_value(struct keyring *k, uint32_t ver, const policy_field *f, const uint8_t *v,
                       size_t n, uint8_t out[32]);

#endif
