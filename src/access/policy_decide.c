/*
 * policy_decide: lookups and access decisions on a parsed policy (see
 * policy.h), the -NOPERM texts, and PHI.POLICY SHOW.
 *
 * Everything here is on the command path and allocation-free except the text
 * builders (messages, SHOW). A decision is a few loads and one AND: the role's
 * masks against the field's group bit.
 */
#include "policy_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

/* ---- schema lookup ---- */

static int schema_match(const policy_schema *s, const uint8_t *key, size_t klen)
{
    if (klen < s->prefix_len || memcmp(key, s->pattern, s->prefix_len) != 0) return 0;
    switch (s->match) {
    case POLICY_MATCH_EXACT: return klen == s->prefix_len;
    case POLICY_MATCH_PREFIX: return 1;
    case POLICY_MATCH_GLOB:
        return str_glob((const uint8_t *)s->pattern + s->prefix_len, s->plen - s->prefix_len,
                        key + s->prefix_len, klen - s->prefix_len, 0);
    }
    return 0;
}

const policy_schema *policy_schema_for(const policy *p, const uint8_t *key, size_t klen)
{
    if (!p) return NULL;
    const uint16_t *list;
    size_t n;
    if (klen) {
        list = p->bucket[key[0]];
        n = p->nbucket[key[0]];
    } else {
        list = p->anyfirst;
        n = p->nanyfirst;
    }
    for (size_t i = 0; i < n; i++) {
        const policy_schema *s = p->schemas[list[i]];
        if (schema_match(s, key, klen)) return s;
    }
    return NULL;
}

const policy_field *policy_type_field(const policy_type *t, const uint8_t *name, size_t len)
{
    if (!t || !t->nfields) return NULL;
    if (t->perfect) {
        uint64_t a, b;
        policy_field_words(name, len, &a, &b);
        uint32_t e = t->table[policy_field_mix(t->seed, a, b, len) & t->tmask];
        if (!e) return NULL;
        const policy_field *f = t->fields[e - 1];
        if (f->len != len || f->wa != a || f->wb != b) return NULL;
        return len <= 16 || memcmp(f->name, name, len) == 0 ? f : NULL;
    }
    uint32_t h = policy_name_hash(name, len);
    for (;;) {
        uint32_t e = t->table[h & t->tmask];
        if (!e) return NULL;
        const policy_field *f = t->fields[e - 1];
        if (f->len == len && memcmp(f->name, name, len) == 0) return f;
        h++;
    }
}

const policy_field *policy_field_find(const policy_schema *s, const uint8_t *name, size_t len)
{
    return s ? policy_type_field(s->type, name, len) : NULL;
}

const policy_type *policy_type_find(const policy *p, const uint8_t *name, size_t len)
{
    for (size_t i = 0; p && i < p->ntypes; i++)
        if (p->types[i]->len == len && memcmp(p->types[i]->name, name, len) == 0)
            return p->types[i];
    return NULL;
}

const policy_role *policy_role_find(const policy *p, const uint8_t *name, size_t len)
{
    for (size_t i = 0; p && name && i < p->nroles; i++)
        if (p->roles[i]->len == len && memcmp(p->roles[i]->name, name, len) == 0)
            return p->roles[i];
    return NULL;
}

/* ---- accessors ---- */

const policy_type *policy_schema_type(const policy_schema *s)
{
    return s->type;
}
const char *policy_schema_pattern(const policy_schema *s)
{
    return s->pattern;
}
const char *policy_schema_subject(const policy_schema *s)
{
    return s->subject;
}
int policy_schema_strict(const policy_schema *s)
{
    return s->strict;
}
const char *policy_type_name(const policy_type *t)
{
    return t->name;
}
const char *policy_field_name(const policy_field *f)
{
    return f->name;
}
const char *policy_field_group(const policy_field *f)
{
    return f->type->pol->groups[f->group];
}
int policy_field_group_bit(const policy_field *f)
{
    return f->group;
}
enum policy_kind policy_field_kind(const policy_field *f)
{
    return f->kind;
}
int policy_field_indexed(const policy_field *f)
{
    return f->indexed;
}
const policy_type *policy_field_type(const policy_field *f)
{
    return f->type;
}
const char *policy_role_name(const policy_role *r)
{
    return r->name;
}
int policy_role_self(const policy_role *r)
{
    return r->self;
}
int policy_role_breakglass(const policy_role *r)
{
    return r->breakglass;
}
enum policy_view policy_role_view(const policy_role *r)
{
    return r->view;
}
uint64_t policy_role_read_mask(const policy_role *r)
{
    return r->read;
}

int policy_role_reads_all(const policy_role *r)
{
    uint64_t used = r->pol->ngroups >= 64 ? ~0ULL : (1ULL << r->pol->ngroups) - 1;
    return (r->read & used) == used;
}

int policy_role_deletes_all(const policy_role *r)
{
    uint64_t used = r->pol->ngroups >= 64 ? ~0ULL : (1ULL << r->pol->ngroups) - 1;
    return (r->del & used) == used;
}

const char *policy_group_name(const policy *p, int bit)
{
    return bit >= 0 && bit < p->ngroups ? p->groups[bit] : NULL;
}

/* ---- decisions ---- */

/* Name of the lowest group of mask (for the error text). */
static const char *first_group(const policy *p, uint64_t mask)
{
    for (int i = 0; i < p->ngroups; i++)
        if (mask & (1ULL << i)) return p->groups[i];
    return "undeclared";
}

enum policy_view_action policy_view_action(const policy_field *f)
{
    if (!f) return POLICY_VIEW_DROP;
    switch (f->kind) {
    case POLICY_KIND_NONE: return POLICY_VIEW_KEEP;
    case POLICY_KIND_DATE:
    case POLICY_KIND_AGE:
    case POLICY_KIND_ZIP:
    case POLICY_KIND_TEXT: return POLICY_VIEW_TRANSFORM;
    default: return POLICY_VIEW_DROP;
    }
}

int policy_can(const policy_role *r, const policy_schema *s, const policy_field *f,
               enum policy_op op, const char **group)
{
    if (group) *group = NULL;
    if (!r) return POLICY_DENY_NO_ROLE;
    const policy *p = r->pol;
    if (op != POLICY_READ && r->view == POLICY_VIEW_DEIDENTIFIED) return POLICY_DENY_VIEW;
    if (op == POLICY_DELETE && !f) {
        if (!s) return POLICY_DENY_GROUP;
        uint64_t missing = s->delete_need & ~r->del;
        if (!missing) return POLICY_ALLOW;
        if (group) *group = first_group(p, missing);
        return POLICY_DENY_GROUP;
    }
    int bit;
    if (f) {
        bit = f->group;
    } else {
        if (!s || s->strict) return POLICY_DENY_UNDECLARED;
        bit = POLICY_GROUP_UNDECLARED;
    }
    uint64_t mask = op == POLICY_READ ? r->read : op == POLICY_WRITE ? r->write : r->del;
    if (!(mask & (1ULL << bit))) {
        if (group) *group = p->groups[bit];
        return POLICY_DENY_GROUP;
    }
    if (op == POLICY_READ && r->view == POLICY_VIEW_DEIDENTIFIED &&
        policy_view_action(f) == POLICY_VIEW_DROP)
        return POLICY_DENY_DEID;
    return POLICY_ALLOW;
}

void policy_filter_init(policy_filter *flt, const policy_role *r, const policy_schema *s,
                        int breakglass)
{
    flt->s = s;
    flt->deid = !breakglass && r->view == POLICY_VIEW_DEIDENTIFIED;
    flt->mask = breakglass ? POLICY_MASK_ALL : r->read;
    uint64_t need = s->type->groups | (1ULL << POLICY_GROUP_UNDECLARED);
    flt->all = !flt->deid && (need & ~flt->mask) == 0;
}

int policy_filter_field(const policy_filter *flt, const uint8_t *name, size_t len,
                        const policy_field **fp)
{
    if (flt->all && !fp) return 1; /* no lookup at all for roles that see every field */
    const policy_field *f = policy_type_field(flt->s->type, name, len);
    if (fp) *fp = f;
    if (flt->all) return 1;
    int bit = f ? f->group : POLICY_GROUP_UNDECLARED;
    if (!(flt->mask & (1ULL << bit))) return 0;
    if (flt->deid && policy_view_action(f) == POLICY_VIEW_DROP) return 0;
    return 1;
}

int policy_key_visible(const policy_role *r, const policy_schema *s)
{
    if (!r || !s) return 0;
    const policy_type *t = s->type;
    if (r->view == POLICY_VIEW_FULL)
        return (r->read & (t->groups | 1ULL << POLICY_GROUP_UNDECLARED)) != 0;
    /* De-identified: undeclared fields are dropped; a field counts if it survives the view. */
    for (size_t i = 0; i < t->nfields; i++)
        if ((r->read & (1ULL << t->fields[i]->group)) &&
            policy_view_action(t->fields[i]) != POLICY_VIEW_DROP)
            return 1;
    return 0;
}

/* ---- purposes and scope ---- */

int policy_purpose_ok(const policy_role *r, enum policy_purpose pp)
{
    return r && (unsigned)pp < POLICY_PURPOSE_COUNT && (r->purposes & (1u << pp));
}

enum policy_purpose policy_role_default_purpose(const policy_role *r)
{
    return r ? r->default_purpose : POLICY_PURPOSE_TREATMENT;
}

int policy_scope_ok(const policy_role *r, const uint8_t *us, size_t ulen, const uint8_t *rs,
                    size_t rlen)
{
    if (!r) return 0;
    if (!r->self) return 1;
    /* A patient user without subject=, or a record without a subject, reaches nothing. */
    if (!us || !rs || ulen == 0) return 0;
    return ulen == rlen && memcmp(us, rs, ulen) == 0;
}

/* ---- error texts ---- */

const char *policy_strerror(int result)
{
    static const char *const names[] = {"granted", "no-role",      "group",     "undeclared",
                                        "view",    "deidentified", "scope",     "purpose",
                                        "command", "move",         "breakglass"};
    int i = -result;
    return i >= 0 && i < (int)(sizeof names / sizeof names[0]) ? names[i] : "unknown";
}

static const char *op_verb(enum policy_op op)
{
    return op == POLICY_READ ? "read" : op == POLICY_WRITE ? "write" : "delete";
}

/* Field names in messages: printable ASCII only, at most 64 bytes. */
static void put_field(buf *out, const uint8_t *f, size_t n)
{
    size_t m = n > 64 ? 64 : n;
    for (size_t i = 0; i < m; i++)
        buf_putc(out, f[i] > ' ' && f[i] < 127 && f[i] != '\'' ? f[i] : '?');
    if (n > 64) buf_puts(out, "...");
}

void policy_deny_message(buf *out, int result, const policy_role *r, const policy_schema *s,
                         const uint8_t *field, size_t flen, const char *group, enum policy_op op,
                         int purpose)
{
    const char *rn = r ? r->name : "";
    const char *tn = s ? s->type->name : "record";
    switch (result) {
    case POLICY_DENY_NO_ROLE:
        /* Without a schema (DBSIZE, FLUSHDB, PHI.FIND: every record, or none in particular)
         * there is no type to name: "'record' records" read as if that were a type. */
        if (s)
            buf_printf(out, "NOPERM this user has no role that grants access to '%s' records", tn);
        else
            buf_puts(out, "NOPERM this user has no role that grants access to records");
        break;
    case POLICY_DENY_GROUP:
        if (op == POLICY_DELETE && !field)
            buf_printf(
                out, "NOPERM this user's role '%s' may not delete '%s' records (field group '%s')",
                rn, tn, group ? group : "undeclared");
        else
            buf_printf(out, "NOPERM this user's role '%s' may not %s field group '%s'", rn,
                       op_verb(op), group ? group : "undeclared");
        break;
    case POLICY_DENY_UNDECLARED:
        buf_puts(out, "NOPERM field '");
        put_field(out, field, flen);
        buf_printf(out, "' is not declared for '%s' records (strict schema)", tn);
        break;
    case POLICY_DENY_VIEW:
        buf_printf(
            out,
            "NOPERM this user's role '%s' has a de-identified view and may not write or delete",
            rn);
        break;
    case POLICY_DENY_DEID:
        buf_puts(out, "NOPERM field '");
        put_field(out, field, flen);
        buf_printf(out, "' is removed in the de-identified view of role '%s'", rn);
        break;
    case POLICY_DENY_SCOPE:
        buf_printf(out, "NOPERM this user's role '%s' reaches only the user's own records", rn);
        break;
    case POLICY_DENY_PURPOSE:
        buf_printf(out, "NOPERM this user's role '%s' may not act for purpose '%s'", rn,
                   policy_purpose_name(purpose) ? policy_purpose_name(purpose) : "unknown");
        break;
    case POLICY_DENY_COMMAND:
        buf_puts(out, "NOPERM command '");
        put_field(out, field, flen);
        buf_printf(out, "' may not be used on '%s' records (they are hashes)", tn);
        break;
    case POLICY_DENY_MOVE:
        buf_printf(
            out, "NOPERM '%s' records may not be renamed into, out of, or across record types", tn);
        break;
    case POLICY_DENY_BREAKGLASS:
        if (r)
            buf_printf(out, "NOPERM this user's role '%s' may not use break-glass access", rn);
        else
            buf_puts(out, "NOPERM this user has no role that may use break-glass access");
        break;
    default: buf_puts(out, "NOPERM access denied by the PHI policy"); break;
    }
}

/* ---- SHOW ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void policy_groups_text(const policy *p, uint64_t mask, buf *out)
{
    if (mask == POLICY_MASK_ALL) {
        buf_putc(out, '*');
        return;
    }
    const char *names[POLICY_MAX_GROUPS];
    int n = 0;
    for (int i = 0; i < p->ngroups; i++)
        if (mask & (1ULL << i)) names[n++] = p->groups[i];
    if (n == 0) {
        buf_puts(out, "none");
        return;
    }
    /* Sorted, so the text does not depend on the order groups first appeared in. */
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        if (i) buf_putc(out, ',');
        buf_puts(out, names[i]);
    }
}

void policy_show(const policy *p, buf *out)
{
    size_t nf = 0;
    for (size_t i = 0; i < p->ntypes; i++)
        nf += p->types[i]->nfields;
    buf_puts(out, "# policy ");
    put_field(out, (const uint8_t *)p->source, strlen(p->source)); /* no newline can escape */
    buf_printf(out, ", generation %llu\n", (unsigned long long)p->generation);
    buf_printf(out,
               "# %zu schemas, %zu record types, %zu fields (%d with a blind index), %zu roles, %d "
               "groups\n",
               p->nschemas, p->ntypes, nf, p->nindexed, p->nroles, p->ngroups - 1);
    buf_puts(out, "zip-restricted ");
    if (p->nzip3 == 0) buf_puts(out, "none");
    for (size_t i = 0; i < p->nzip3; i++)
        buf_printf(out, "%s%03u", i ? "," : "", (unsigned)p->zip3[i]);
    buf_putc(out, '\n');
    for (size_t i = 0; i < p->nschemas; i++) {
        const policy_schema *s = p->schemas[i];
        buf_printf(out, "schema %s type=%s subject=%s%s\n", s->pattern, s->type->name, s->subject,
                   s->strict ? " strict" : "");
    }
    uint64_t used = 1;
    for (size_t i = 0; i < p->ntypes; i++) {
        const policy_type *t = p->types[i];
        used |= t->groups;
        for (size_t j = 0; j < t->nfields; j++) {
            const policy_field *f = t->fields[j];
            buf_printf(out, "field %s %s group=%s", t->name, f->name, p->groups[f->group]);
            if (f->kind != POLICY_KIND_NONE) buf_printf(out, " phi=%s", policy_kind_name(f->kind));
            if (f->indexed) buf_puts(out, " index=blind");
            buf_putc(out, '\n');
        }
    }
    for (size_t i = 0; i < p->nroles; i++) {
        const policy_role *r = p->roles[i];
        buf_printf(out, "role %s read=", r->name);
        policy_groups_text(p, r->read, out);
        buf_puts(out, " write=");
        policy_groups_text(p, r->write, out);
        buf_puts(out, " delete=");
        policy_groups_text(p, r->del, out);
        buf_printf(out, " scope=%s purpose=", r->self ? "self" : "all");
        int first = 1;
        for (int k = 0; k < POLICY_PURPOSE_COUNT; k++) {
            if (!(r->purposes & (1u << k))) continue;
            buf_printf(out, "%s%s", first ? "" : ",", policy_purpose_name(k));
            first = 0;
        }
        buf_printf(out, " default-purpose=%s breakglass=%s view=%s\n",
                   policy_purpose_name(r->default_purpose), r->breakglass ? "yes" : "no",
                   r->view == POLICY_VIEW_DEIDENTIFIED ? "deidentified" : "full");
    }
    uint64_t unused = 0;
    for (int i = 1; i < p->ngroups; i++)
        if (!(used & (1ULL << i))) unused |= 1ULL << i;
    if (unused) {
        buf_puts(out, "# groups named by roles but held by no field: ");
        policy_groups_text(p, unused, out);
        buf_putc(out, '\n');
    }
}
