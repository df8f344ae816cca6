/*
 * policy: parsing the policy file into an immutable, reference-counted policy
 * (see policy.h for the model; lookups and decisions are in policy_decide.c).
 *
 * The parser is all or nothing: it builds a complete new policy aside and
 * returns it only when every line is valid and the whole is consistent, so a
 * reload can never leave a half-applied policy. The first error stops it with
 * "NAME:LINE: reason"; text copied from the file into a message is cut to 64
 * bytes and non-printable bytes are shown as '?'.
 *
 * Defaults, chosen so that a line that says less grants less:
 *   role: read, write and delete none; scope all records; purposes treatment,
 *   payment and operations (the uses 164.506 permits without authorization;
 *   research, public-health, legal and emergency must be listed); default
 *   purpose the first listed (treatment without a list); no break-glass;
 *   view full. A de-identified role that lists write or delete, and a
 *   break-glass role with scope=self or a de-identified view, are refused.
 *   field: no PHI kind, no blind index. schema: not strict.
 *   zip-restricted: the 17 prefixes HHS lists (2000 Census).
 */
#include "policy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/args.h"
#include "util/mem.h"

static const char *const kind_names[POLICY_KIND_COUNT] = {
    "none",    "name",    "ssn",      "date", "zip", "age",       "phone",
    "fax",     "email",   "address",  "city", "mrn", "account",   "health-plan",
    "license", "vehicle", "device",   "url",  "ip",  "biometric", "photo",
    "card",    "id",      "facility", "text"};

static const char *const purpose_names[POLICY_PURPOSE_COUNT] = {
    "treatment", "payment", "operations", "research", "public-health", "legal", "emergency"};

/* The HHS list of restricted three-digit ZIP areas (population 20,000 or fewer). */
static const uint16_t default_zip3[] = {36,  59,  63,  102, 203, 556, 692, 790, 821,
                                        823, 830, 831, 878, 879, 884, 890, 893};

#define TPO_PURPOSES                                                                               \
    ((1u << POLICY_PURPOSE_TREATMENT) | (1u << POLICY_PURPOSE_PAYMENT) |                           \
     (1u << POLICY_PURPOSE_OPERATIONS))

const char *policy_kind_name(enum policy_kind k)
{
    return (unsigned)k < POLICY_KIND_COUNT ? kind_names[k] : "none";
}

int policy_kind_find(const uint8_t *name, size_t len)
{
    static const struct {
        const char *alias;
        enum policy_kind kind;
    } aliases[] = {{"plan", POLICY_KIND_HEALTH_PLAN}, {"health_plan", POLICY_KIND_HEALTH_PLAN},
                   {"licence", POLICY_KIND_LICENSE},  {"street", POLICY_KIND_ADDRESS},
                   {"free-text", POLICY_KIND_TEXT},   {"notes", POLICY_KIND_TEXT}};
    for (int i = 0; i < POLICY_KIND_COUNT; i++)
        if (strlen(kind_names[i]) == len &&
            strncasecmp(kind_names[i], (const char *)name, len) == 0)
            return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strlen(aliases[i].alias) == len &&
            strncasecmp(aliases[i].alias, (const char *)name, len) == 0)
            return (int)aliases[i].kind;
    return -1;
}

const char *policy_purpose_name(int p)
{
    return p >= 0 && p < POLICY_PURPOSE_COUNT ? purpose_names[p] : NULL;
}

int policy_purpose_find(const uint8_t *name, size_t len)
{
    for (int i = 0; i < POLICY_PURPOSE_COUNT; i++)
        if (strlen(purpose_names[i]) == len &&
            strncasecmp(purpose_names[i], (const char *)name, len) == 0)
            return i;
    return -1;
}

uint32_t policy_name_hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- parse state and messages ---- */

typedef struct {
    policy *p;        /* policy being built */
    const char *name; /* file name for messages */
    int line;         /* current line */
    char *err;        /* message out */
    size_t errlen;    /* its size */
    int zip_line;     /* line of zip-restricted (0: not given) */
} pctx;

static int perr(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(pctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%d: %s", c->name, c->line, msg);
    return -1;
}

/* A safe, short copy of file text for a message. */
static const char *show_tok(const char *s, size_t n, char out[68])
{
    size_t m = n > 64 ? 64 : n, i;
    for (i = 0; i < m; i++)
        out[i] = (s[i] > ' ' && s[i] < 127) ? s[i] : '?';
    if (n > 64) {
        out[i++] = '.';
        out[i++] = '.';
    }
    out[i] = '\0';
    return out;
}

/* Type, group and role names: letters, digits, '_', '-', '.'; 1 to POLICY_MAX_NAME bytes. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > POLICY_MAX_NAME) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

/* Field names and key patterns: printable ASCII without spaces or quotes, so SHOW can
 * print them unquoted and its output parses back to the same policy. */
static int valid_token(const char *s, size_t n)
{
    if (n == 0 || n > POLICY_MAX_FIELD) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 127 || s[i] == '"' || s[i] == '\'') return 0;
    return 1;
}

/* Split "name=value": returns 1 and the parts when av has '='. */
static int option(const char *a, size_t n, const char **val, size_t *vlen, size_t *klen)
{
    const char *eq = memchr(a, '=', n);
    if (!eq) return 0;
    *klen = (size_t)(eq - a);
    *val = eq + 1;
    *vlen = n - *klen - 1;
    return 1;
}

#define KEY_IS(k, kl, lit) ((kl) == sizeof(lit) - 1 && strncasecmp((k), (lit), (kl)) == 0)

/* Bit of group name (creating it when needed). Returns the bit or -1 (message set). */
static int group_bit(pctx *c, const char *g, size_t n)
{
    char t[68];
    if (!valid_name(g, n))
        return perr(c, "invalid group name '%s' (letters, digits, '_', '-', '.'; at most %d)",
                    show_tok(g, n, t), POLICY_MAX_NAME);
    policy *p = c->p;
    for (int i = 0; i < p->ngroups; i++)
        if (strlen(p->groups[i]) == n && memcmp(p->groups[i], g, n) == 0) return i;
    if (p->ngroups >= POLICY_MAX_GROUPS)
        return perr(c, "too many groups (at most %d)", POLICY_MAX_GROUPS - 1);
    p->groups[p->ngroups] = mem_strndup(g, n);
    return p->ngroups++;
}

/* A role's group list: "*", "none" or "a,b,c". */
static int group_list(pctx *c, const char *what, const char *v, size_t n, uint64_t *mask)
{
    *mask = 0;
    if (n == 1 && v[0] == '*') {
        *mask = POLICY_MASK_ALL;
        return 0;
    }
    if (n == 4 && strncasecmp(v, "none", 4) == 0) return 0;
    if (n == 0) return perr(c, "%s= needs a list of groups, '*' or 'none'", what);
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        if (j == i) return perr(c, "empty group name in %s=", what);
        if ((j - i == 1 && v[i] == '*') || (j - i == 4 && strncasecmp(v + i, "none", 4) == 0))
            return perr(c, "'*' and 'none' cannot be combined with groups in %s=", what);
        int b = group_bit(c, v + i, j - i);
        if (b < 0) return -1;
        *mask |= 1ULL << b;
        i = j + 1;
    }
    return 0;
}

/* ---- building blocks ---- */

static policy_type *type_find(policy *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->ntypes; i++)
        if (p->types[i]->len == n && memcmp(p->types[i]->name, name, n) == 0) return p->types[i];
    return NULL;
}

static policy_type *type_add(policy *p, const char *name, size_t n)
{
    policy_type *t = mem_calloc(sizeof *t);
    t->name = mem_strndup(name, n);
    t->len = n;
    t->pol = p;
    p->types = mem_realloc(p->types, sizeof(policy_type *) * (p->ntypes + 1));
    p->types[p->ntypes++] = t;
    return t;
}

static void classify_pattern(policy_schema *s)
{
    size_t i = 0;
    while (i < s->plen && s->pattern[i] != '*' && s->pattern[i] != '?' && s->pattern[i] != '[' &&
           s->pattern[i] != '\\')
        i++;
    s->prefix_len = i;
    if (i == s->plen)
        s->match = POLICY_MATCH_EXACT;
    else if (i + 1 == s->plen && s->pattern[i] == '*')
        s->match = POLICY_MATCH_PREFIX;
    else
        s->match = POLICY_MATCH_GLOB;
}

/* ---- directives ---- */

static int do_schema(pctx *c, const args *av)
{
    policy *p = c->p;
    char t[68];
    if (av->n < 2)
        return perr(
            c, "schema needs a key pattern: schema <pattern> type=<name> subject=<field> [strict]");
    if (!valid_token(av->v[1], av->len[1]))
        return perr(c, "invalid key pattern '%s' (printable, no spaces or quotes, at most %d)",
                    show_tok(av->v[1], av->len[1], t), POLICY_MAX_FIELD);
    if (p->nschemas >= POLICY_MAX_SCHEMAS)
        return perr(c, "too many schemas (at most %d)", POLICY_MAX_SCHEMAS);
    for (size_t i = 0; i < p->nschemas; i++)
        if (p->schemas[i]->plen == av->len[1] &&
            memcmp(p->schemas[i]->pattern, av->v[1], av->len[1]) == 0)
            return perr(c, "duplicate schema for pattern '%s' (first on line %d)",
                        show_tok(av->v[1], av->len[1], t), p->schemas[i]->line);
    const char *type = NULL, *subject = NULL;
    size_t tlen = 0, slen = 0;
    int strict = -1;
    for (int i = 2; i < av->n; i++) {
        const char *v;
        size_t vl, kl;
        if (!option(av->v[i], av->len[i], &v, &vl, &kl)) {
            if (KEY_IS(av->v[i], av->len[i], "strict") && strict < 0) {
                strict = 1;
                continue;
            }
            return perr(c, "unknown schema option '%s' (type=, subject=, strict)",
                        show_tok(av->v[i], av->len[i], t));
        }
        if (KEY_IS(av->v[i], kl, "type") && !type) {
            if (!valid_name(v, vl))
                return perr(c, "invalid type name '%s' (letters, digits, '_', '-', '.')",
                            show_tok(v, vl, t));
            type = v;
            tlen = vl;
        } else if (KEY_IS(av->v[i], kl, "subject") && !subject) {
            if (!valid_token(v, vl))
                return perr(c, "invalid subject field name '%s'", show_tok(v, vl, t));
            subject = v;
            slen = vl;
        } else {
            return perr(c, "unknown or repeated schema option '%s'", show_tok(av->v[i], kl, t));
        }
    }
    if (!type) return perr(c, "schema needs type=<name>");
    if (!subject) return perr(c, "schema needs subject=<field> (the field that names the patient)");
    policy_schema *s = mem_calloc(sizeof *s);
    s->pattern = mem_strndup(av->v[1], av->len[1]);
    s->plen = av->len[1];
    s->subject = mem_strndup(subject, slen);
    s->subject_len = slen;
    s->strict = strict > 0;
    s->line = c->line;
    s->type = type_find(p, type, tlen);
    if (!s->type) s->type = type_add(p, type, tlen);
    classify_pattern(s);
    p->schemas = mem_realloc(p->schemas, sizeof(policy_schema *) * (p->nschemas + 1));
    p->schemas[p->nschemas++] = s;
    return 0;
}

static int do_field(pctx *c, const args *av)
{
    policy *p = c->p;
    char t[68], t2[68];
    if (av->n < 3)
        return perr(c, "field needs a type and a name: field <type> <name> group=<group> "
                       "[phi=<kind>] [index=blind]");
    policy_type *ty = type_find(p, av->v[1], av->len[1]);
    if (!ty)
        return perr(c, "unknown record type '%s' (declare it with a schema line before its fields)",
                    show_tok(av->v[1], av->len[1], t));
    if (!valid_token(av->v[2], av->len[2]))
        return perr(c, "invalid field name '%s' (printable, no spaces or quotes, at most %d)",
                    show_tok(av->v[2], av->len[2], t), POLICY_MAX_FIELD);
    for (size_t i = 0; i < ty->nfields; i++)
        if (ty->fields[i]->len == av->len[2] &&
            memcmp(ty->fields[i]->name, av->v[2], av->len[2]) == 0)
            return perr(c, "duplicate field '%s' of type '%s' (first on line %d)",
                        show_tok(av->v[2], av->len[2], t), ty->name, ty->fields[i]->line);
    size_t total = 0;
    for (size_t i = 0; i < p->ntypes; i++)
        total += p->types[i]->nfields;
    if (total >= POLICY_MAX_FIELDS)
        return perr(c, "too many fields (at most %d)", POLICY_MAX_FIELDS);
    int group = -1, kind = -1, indexed = -1;
    for (int i = 3; i < av->n; i++) {
        const char *v;
        size_t vl, kl;
        if (!option(av->v[i], av->len[i], &v, &vl, &kl))
            return perr(c, "unknown field option '%s' (group=, phi=, index=blind)",
                        show_tok(av->v[i], av->len[i], t));
        if (KEY_IS(av->v[i], kl, "group") && group < 0) {
            if (vl == 10 && strncasecmp(v, "undeclared", 10) == 0)
                return perr(c,
                            "group 'undeclared' is reserved for fields a schema does not declare");
            if ((group = group_bit(c, v, vl)) < 0) return -1;
        } else if (KEY_IS(av->v[i], kl, "phi") && kind < 0) {
            kind = policy_kind_find((const uint8_t *)v, vl);
            if (kind < 0)
                return perr(c, "unknown PHI kind '%s' (see docs/policy.md for the list)",
                            show_tok(v, vl, t));
        } else if (KEY_IS(av->v[i], kl, "index") && indexed < 0) {
            if (vl == 5 && strncasecmp(v, "blind", 5) == 0)
                indexed = 1;
            else if (vl == 4 && strncasecmp(v, "none", 4) == 0)
                indexed = 0;
            else
                return perr(c, "index= must be 'blind' or 'none', not '%s'", show_tok(v, vl, t));
        } else {
            return perr(c, "unknown or repeated field option '%s'", show_tok(av->v[i], kl, t));
        }
    }
    if (group < 0)
        return perr(c, "field '%s' needs group=<group>", show_tok(av->v[2], av->len[2], t2));
    if (indexed > 0 && kind == POLICY_KIND_TEXT)
        return perr(c, "index=blind is for exact-match identifiers, not free text (field '%s')",
                    show_tok(av->v[2], av->len[2], t2));
    policy_field *f = mem_calloc(sizeof *f);
    f->name = mem_strndup(av->v[2], av->len[2]);
    f->len = av->len[2];
    policy_field_words((const uint8_t *)f->name, f->len, &f->wa, &f->wb);
    f->type = ty;
    f->group = group;
    f->kind = kind < 0 ? POLICY_KIND_NONE : (enum policy_kind)kind;
    f->indexed = indexed > 0;
    f->slot = -1;
    f->line = c->line;
    ty->fields = mem_realloc(ty->fields, sizeof(policy_field *) * (ty->nfields + 1));
    ty->fields[ty->nfields++] = f;
    ty->groups |= 1ULL << group;
    return 0;
}

static int purpose_list(pctx *c, const char *v, size_t n, uint32_t *set, int *first)
{
    char t[68];
    *set = 0;
    *first = -1;
    if (n == 1 && v[0] == '*') {
        *set = (1u << POLICY_PURPOSE_COUNT) - 1;
        *first = POLICY_PURPOSE_TREATMENT;
        return 0;
    }
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        int pp = policy_purpose_find((const uint8_t *)v + i, j - i);
        if (pp < 0)
            return perr(c,
                        "unknown purpose '%s' (treatment, payment, operations, research, "
                        "public-health, legal, emergency)",
                        show_tok(v + i, j - i, t));
        if (*first < 0) *first = pp;
        *set |= 1u << pp;
        i = j + 1;
    }
    return 0;
}

static int do_role(pctx *c, const args *av)
{
    policy *p = c->p;
    char t[68];
    if (av->n < 2) return perr(c, "role needs a name: role <name> read=... write=... delete=...");
    if (!valid_name(av->v[1], av->len[1]))
        return perr(c, "invalid role name '%s' (letters, digits, '_', '-', '.'; at most %d)",
                    show_tok(av->v[1], av->len[1], t), POLICY_MAX_NAME);
    for (size_t i = 0; i < p->nroles; i++)
        if (p->roles[i]->len == av->len[1] && memcmp(p->roles[i]->name, av->v[1], av->len[1]) == 0)
            return perr(c, "duplicate role '%s' (first on line %d)", p->roles[i]->name,
                        p->roles[i]->line);
    if (p->nroles >= POLICY_MAX_ROLES)
        return perr(c, "too many roles (at most %d)", POLICY_MAX_ROLES);
    uint64_t rd = 0, wr = 0, dl = 0;
    uint32_t purposes = TPO_PURPOSES;
    int have_rd = 0, have_wr = 0, have_dl = 0, have_scope = 0, have_purpose = 0, have_bg = 0,
        have_view = 0, self = 0, bg = 0, first = POLICY_PURPOSE_TREATMENT, dflt = -1;
    enum policy_view view = POLICY_VIEW_FULL;
    for (int i = 2; i < av->n; i++) {
        const char *v;
        size_t vl, kl;
        const char *k = av->v[i];
        if (!option(k, av->len[i], &v, &vl, &kl))
            return perr(c,
                        "unknown role option '%s' (read=, write=, delete=, scope=, purpose=, "
                        "default-purpose=, breakglass=, view=)",
                        show_tok(k, av->len[i], t));
        if (KEY_IS(k, kl, "read") && !have_rd++) {
            if (group_list(c, "read", v, vl, &rd) != 0) return -1;
        } else if (KEY_IS(k, kl, "write") && !have_wr++) {
            if (group_list(c, "write", v, vl, &wr) != 0) return -1;
        } else if (KEY_IS(k, kl, "delete") && !have_dl++) {
            if (group_list(c, "delete", v, vl, &dl) != 0) return -1;
        } else if (KEY_IS(k, kl, "scope") && !have_scope++) {
            if (vl == 4 && strncasecmp(v, "self", 4) == 0)
                self = 1;
            else if (!(vl == 3 && strncasecmp(v, "all", 3) == 0))
                return perr(c, "scope= must be 'self' or 'all', not '%s'", show_tok(v, vl, t));
        } else if (KEY_IS(k, kl, "purpose") && !have_purpose++) {
            if (purpose_list(c, v, vl, &purposes, &first) != 0) return -1;
        } else if (KEY_IS(k, kl, "default-purpose") && dflt < 0) {
            dflt = policy_purpose_find((const uint8_t *)v, vl);
            if (dflt < 0) return perr(c, "unknown default purpose '%s'", show_tok(v, vl, t));
        } else if (KEY_IS(k, kl, "breakglass") && !have_bg++) {
            if (vl == 3 && strncasecmp(v, "yes", 3) == 0)
                bg = 1;
            else if (!(vl == 2 && strncasecmp(v, "no", 2) == 0))
                return perr(c, "breakglass= must be 'yes' or 'no', not '%s'", show_tok(v, vl, t));
        } else if (KEY_IS(k, kl, "view") && !have_view++) {
            if (vl == 12 && strncasecmp(v, "deidentified", 12) == 0)
                view = POLICY_VIEW_DEIDENTIFIED;
            else if (!(vl == 4 && strncasecmp(v, "full", 4) == 0))
                return perr(c, "view= must be 'full' or 'deidentified', not '%s'",
                            show_tok(v, vl, t));
        } else {
            return perr(c, "unknown or repeated role option '%s'", show_tok(k, kl, t));
        }
    }
    const char *rn = show_tok(av->v[1], av->len[1], t);
    if (view == POLICY_VIEW_DEIDENTIFIED && (wr || dl))
        return perr(c,
                    "role '%s' has a de-identified view and cannot write or delete "
                    "(remove write= and delete=)",
                    rn);
    if (bg && self)
        return perr(c, "role '%s': breakglass=yes cannot be combined with scope=self", rn);
    if (bg && view == POLICY_VIEW_DEIDENTIFIED)
        return perr(c, "role '%s': breakglass=yes cannot be combined with view=deidentified", rn);
    if (dflt >= 0 && !(purposes & (1u << dflt)))
        return perr(c, "role '%s': default-purpose '%s' is not among its purposes", rn,
                    purpose_names[dflt]);
    policy_role *r = mem_calloc(sizeof *r);
    r->name = mem_strndup(av->v[1], av->len[1]);
    r->len = av->len[1];
    r->pol = p;
    r->read = rd;
    r->write = wr;
    r->del = dl;
    r->self = self;
    r->purposes = purposes;
    r->default_purpose = (enum policy_purpose)(dflt >= 0 ? dflt : first);
    r->breakglass = bg;
    r->view = view;
    r->line = c->line;
    p->roles = mem_realloc(p->roles, sizeof(policy_role *) * (p->nroles + 1));
    p->roles[p->nroles++] = r;
    return 0;
}

static int do_zip(pctx *c, const args *av)
{
    policy *p = c->p;
    char t[68];
    if (c->zip_line) return perr(c, "zip-restricted given twice (first on line %d)", c->zip_line);
    c->zip_line = c->line;
    p->zip_default = 0;
    mem_free(p->zip3);
    p->zip3 = NULL;
    p->nzip3 = 0;
    if (av->n < 2) return perr(c, "zip-restricted needs a list of three-digit prefixes or 'none'");
    if (av->n == 2 && av->len[1] == 4 && strncasecmp(av->v[1], "none", 4) == 0) return 0;
    for (int i = 1; i < av->n; i++) {
        const char *v = av->v[i];
        size_t n = av->len[i], k = 0;
        while (k <= n) {
            size_t j = k;
            while (j < n && v[j] != ',')
                j++;
            if (j == k && j == n && k > 0) break; /* trailing comma */
            if (j - k != 3 || v[k] < '0' || v[k] > '9' || v[k + 1] < '0' || v[k + 1] > '9' ||
                v[k + 2] < '0' || v[k + 2] > '9')
                return perr(c, "zip-restricted entries are three-digit ZIP prefixes, not '%s'",
                            show_tok(v + k, j - k, t));
            if (p->nzip3 >= 1000) return perr(c, "too many zip-restricted prefixes");
            p->zip3 = mem_realloc(p->zip3, sizeof(uint16_t) * (p->nzip3 + 1));
            p->zip3[p->nzip3++] =
                (uint16_t)((v[k] - '0') * 100 + (v[k + 1] - '0') * 10 + (v[k + 2] - '0'));
            k = j + 1;
        }
    }
    return 0;
}

/* ---- finishing: tables built once the whole file is known ---- */

/* Fill table (size slots) under seed; 1 when no two fields share a slot. */
static int try_seed(const policy_type *t, uint32_t *table, uint32_t size, uint64_t seed)
{
    memset(table, 0, sizeof(uint32_t) * size);
    for (size_t i = 0; i < t->nfields; i++) {
        const policy_field *f = t->fields[i];
        uint64_t h = policy_field_mix(seed, f->wa, f->wb, f->len);
        uint32_t *slot = &table[h & (size - 1)];
        if (*slot) return 0;
        *slot = (uint32_t)i + 1;
    }
    return 1;
}

static void build_field_table(policy_type *t)
{
    /* A collision-free seed for tables of 4n to 64n slots (the chance that a random seed
     * works is about exp(-n / 2c) for c slots per field), 64 seeds each. */
    if (t->nfields <= POLICY_PERFECT_MAX) {
        for (uint32_t per = 4; per <= 64; per *= 2) {
            uint32_t size = 8;
            while (size < t->nfields * per)
                size *= 2;
            uint32_t *table = mem_alloc(sizeof(uint32_t) * size);
            uint64_t seed = 0x9e3779b97f4a7c15ULL;
            for (int k = 0; k < 64; k++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                if (try_seed(t, table, size, seed)) {
                    t->table = table;
                    t->tmask = size - 1;
                    t->seed = seed;
                    t->perfect = 1;
                    return;
                }
            }
            mem_free(table);
        }
    }
    /* Fallback (huge types, or names alike in their first and last 8 bytes): FNV-1a with
     * linear probing at load <= 1/2. */
    uint32_t size = 4;
    while (size < t->nfields * 2)
        size *= 2;
    t->tmask = size - 1;
    t->table = mem_calloc(sizeof(uint32_t) * size);
    for (size_t i = 0; i < t->nfields; i++) {
        uint32_t h = policy_name_hash((const uint8_t *)t->fields[i]->name, t->fields[i]->len);
        while (t->table[h & t->tmask])
            h++;
        t->table[h & t->tmask] = (uint32_t)i + 1;
    }
}

static void bucket_add(policy *p, int b, uint16_t idx)
{
    p->bucket[b] = mem_realloc(p->bucket[b], sizeof(uint16_t) * (p->nbucket[b] + 1u));
    p->bucket[b][p->nbucket[b]++] = idx;
}

static void finish(policy *p)
{
    for (size_t i = 0; i < p->ntypes; i++)
        build_field_table(p->types[i]);
    for (size_t i = 0; i < p->nschemas; i++) {
        policy_schema *s = p->schemas[i];
        s->delete_need = s->type->groups | (s->strict ? 0 : 1ULL << POLICY_GROUP_UNDECLARED);
        if (s->prefix_len == 0) {
            p->anyfirst = mem_realloc(p->anyfirst, sizeof(uint16_t) * (p->nanyfirst + 1u));
            p->anyfirst[p->nanyfirst++] = (uint16_t)i;
            for (int b = 0; b < 256; b++)
                bucket_add(p, b, (uint16_t)i);
        } else {
            bucket_add(p, (uint8_t)s->pattern[0], (uint16_t)i);
        }
    }
    /* Index slots, and a signature of what the blind index depends on (the indexed
     * fields and the patterns of their types), so a reload that keeps them can keep it. */
    buf sig = {0};
    for (size_t i = 0; i < p->ntypes; i++) {
        policy_type *t = p->types[i];
        int any = 0;
        for (size_t j = 0; j < t->nfields; j++) {
            policy_field *f = t->fields[j];
            if (!f->indexed) continue;
            any = 1;
            f->slot = p->nindexed++;
            p->indexed = mem_realloc(p->indexed, sizeof(policy_field *) * (size_t)p->nindexed);
            p->indexed[f->slot] = f;
            buf_printf(&sig, "field %s %s %s\n", t->name, f->name, kind_names[f->kind]);
        }
        if (!any) continue;
        for (size_t j = 0; j < p->nschemas; j++)
            if (p->schemas[j]->type == t)
                buf_printf(&sig, "schema %s %s\n", p->schemas[j]->pattern, t->name);
    }
    p->index_sig = mem_strndup(sig.p ? (const char *)sig.p : "", sig.len);
    buf_free(&sig);
}

/* ---- lifetime ---- */

void policy_destroy(policy *p)
{
    if (!p) return;
    for (int i = 0; i < p->ngroups; i++)
        mem_free(p->groups[i]);
    for (size_t i = 0; i < p->ntypes; i++) {
        policy_type *t = p->types[i];
        for (size_t j = 0; j < t->nfields; j++) {
            mem_free(t->fields[j]->name);
            mem_free(t->fields[j]);
        }
        mem_free(t->fields);
        mem_free(t->table);
        mem_free(t->name);
        mem_free(t);
    }
    mem_free(p->types);
    for (size_t i = 0; i < p->nschemas; i++) {
        mem_free(p->schemas[i]->pattern);
        mem_free(p->schemas[i]->subject);
        mem_free(p->schemas[i]);
    }
    mem_free(p->schemas);
    for (int b = 0; b < 256; b++)
        mem_free(p->bucket[b]);
    mem_free(p->anyfirst);
    for (size_t i = 0; i < p->nroles; i++) {
        mem_free(p->roles[i]->name);
        mem_free(p->roles[i]);
    }
    mem_free(p->roles);
    mem_free(p->zip3);
    mem_free(p->indexed);
    mem_free(p->index_sig);
    mem_free(p->source);
    mem_free(p);
}

policy *policy_ref(policy *p)
{
    if (p) p->refs++;
    return p;
}

void policy_unref(policy *p)
{
    if (p && --p->refs == 0) policy_destroy(p);
}

uint64_t policy_generation(const policy *p)
{
    return p->generation;
}

int policy_parse(const char *text, size_t len, const char *name, policy **out, char *err,
                 size_t errlen)
{
    static uint64_t generations;
    *out = NULL;
    pctx c = {0};
    c.name = name ? name : "policy";
    c.err = err;
    c.errlen = errlen;
    if (len > POLICY_MAX_FILE) {
        snprintf(err, errlen, "%s: policy file larger than %d bytes", c.name, POLICY_MAX_FILE);
        return -1;
    }
    policy *p = mem_calloc(sizeof *p);
    c.p = p;
    p->refs = 1;
    p->source = mem_strdup(c.name);
    p->groups[0] = mem_strdup("undeclared");
    p->ngroups = 1;
    p->zip_default = 1;
    p->nzip3 = sizeof default_zip3 / sizeof default_zip3[0];
    p->zip3 = mem_alloc(sizeof default_zip3);
    memcpy(p->zip3, default_zip3, sizeof default_zip3);
    size_t pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, ll = end - pos;
        const char *line = text + pos;
        pos = nl ? end + 1 : len;
        c.line++;
        if (ll && line[ll - 1] == '\r') ll--;
        if (memchr(line, '\0', ll)) {
            rc = perr(&c, "NUL byte in the line");
            break;
        }
        args av;
        if (args_split(line, ll, &av) != 0) {
            rc = perr(&c, "unbalanced quotes");
            break;
        }
        if (av.n == 0) {
            args_free(&av);
            continue;
        }
        const char *d = av.v[0];
        if (strcasecmp(d, "schema") == 0)
            rc = do_schema(&c, &av);
        else if (strcasecmp(d, "field") == 0)
            rc = do_field(&c, &av);
        else if (strcasecmp(d, "role") == 0)
            rc = do_role(&c, &av);
        else if (strcasecmp(d, "zip-restricted") == 0)
            rc = do_zip(&c, &av);
        else {
            char t[68];
            rc = perr(&c, "unknown directive '%s' (schema, field, role, zip-restricted)",
                      show_tok(d, av.len[0], t));
        }
        args_free(&av);
    }
    if (rc != 0) {
        policy_destroy(p);
        return -1;
    }
    finish(p);
    p->generation = __atomic_add_fetch(&generations, 1, __ATOMIC_RELAXED);
    *out = p;
    return 0;
}

/* policy_load_file, and with owned also refusing a file whose owner is neither this
 * process's effective user nor root (that user could change what the server enforces). */
static int load_file(const char *path, int owned, policy **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open policy file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char *text = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat policy file %s: %s", path, strerror(errno));
        goto close_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "policy file %s is not a regular file", path);
        goto close_fd;
    }
    if (st.st_mode & 022) {
        snprintf(err, errlen,
                 "policy file %s is writable by group or others (mode %03o); run chmod go-w on it",
                 path, (unsigned)(st.st_mode & 0777));
        goto close_fd;
    }
    if (owned && st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen,
                 "policy file %s is owned by uid %u, neither the server's user (uid %u) nor "
                 "root; run chown on it",
                 path, (unsigned)st.st_uid, (unsigned)geteuid());
        goto close_fd;
    }
    if (st.st_size > POLICY_MAX_FILE) {
        snprintf(err, errlen, "%s: policy file larger than %d bytes", path, POLICY_MAX_FILE);
        goto close_fd;
    }
    size_t n = (size_t)st.st_size, got = 0;
    text = mem_alloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, text + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "cannot read policy file %s: %s", path,
                     r < 0 ? strerror(errno) : "file shrank while reading");
            goto free_text;
        }
        got += (size_t)r;
    }
    rc = policy_parse(text, n, path, out, err, errlen);
free_text:
    mem_free(text);
close_fd:
    close(fd);
    return rc;
}

int policy_load_file(const char *path, policy **out, char *err, size_t errlen)
{
    return load_file(path, 0, out, err, errlen);
}

int policy_load_owned_file(const char *path, policy **out, char *err, size_t errlen)
{
    return load_file(path, 1, out, err, errlen);
}
