/*
 * acl: users, rules and permission checks (see acl.h; logins are in acl_auth.c, the ACL
 * file in acl_file.c, ACL LOG in acl_log.c).
 *
 * Command rules are kept as a bitmap per user (one bit per catalog id) for an
 * O(1) check on every command, plus the rules as given, normalized, for ACL LIST
 * and the file: replaying them on an empty user rebuilds the same bitmap.
 */
#include "acl_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/args.h"
#include "util/mem.h"
#include "util/strutil.h"

static const char *category_names[ACL_CAT_COUNT] = {
    "keyspace", "read",  "write",     "set",      "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",   "stream",     "pubsub",      "admin",
    "fast",     "slow",  "blocking",  "dangerous", "connection", "transaction", "scripting"};

const char *acl_category_name(int i)
{
    return i >= 0 && i < ACL_CAT_COUNT ? category_names[i] : NULL;
}

static int category_find(const char *name)
{
    for (int i = 0; i < ACL_CAT_COUNT; i++)
        if (strcasecmp(name, category_names[i]) == 0) return i;
    return -1;
}

void acl_opts_default(acl_opts *o)
{
    o->argon2_memory_kib = 65536;
    o->argon2_time = 3;
    o->argon2_lanes = 1;
    o->max_failures = 3;
    o->lockout_ms = 1800 * 1000LL;
    o->cache_ttl_ms = 600 * 1000LL;
    o->throttle_free = 3;
    o->throttle_max_ms = 10000;
    o->min_password_len = 12;
}

acl *acl_new(const acl_opts *opts, const acl_cmd *catalog, size_t ncmds)
{
    acl *a = mem_calloc(sizeof *a);
    a->o = *opts;
    a->cat = catalog;
    a->ncmds = ncmds;
    a->words = (ncmds + 63) / 64;
    a->next_user_id = 1;
    a->generation = 1;
    if (RAND_bytes(a->cache_key, sizeof a->cache_key) != 1)
        a->o.cache_ttl_ms = 0; /* no key for the credential cache: no cache */
    a->cache = mem_calloc(sizeof(acl_cache_slot) * ACL_CACHE_SLOTS);
    a->throttle = mem_calloc(sizeof(acl_throttle_slot) * ACL_THROTTLE_SLOTS);
    return a;
}

void acl_user_free(acl_user *u)
{
    if (!u) return;
    for (size_t i = 0; i < u->nhashes; i++)
        mem_free_wipe(u->hashes[i]);
    mem_free(u->hashes);
    mem_free(u->allowed);
    buf_free(&u->cmd_rules);
    for (size_t i = 0; i < u->nkeys; i++)
        mem_free(u->keys[i].pat);
    mem_free(u->keys);
    for (size_t i = 0; i < u->nchans; i++)
        mem_free(u->chans[i].pat);
    mem_free(u->chans);
    acl_attr_clear(u);
    mem_free(u->name);
    mem_free(u);
}

void acl_free(acl *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->nusers; i++)
        acl_user_free(a->users[i]);
    mem_free(a->users);
    OPENSSL_cleanse(a->cache_key, sizeof a->cache_key);
    mem_free_wipe(a->cache);
    mem_free(a->throttle);
    mem_free_wipe(a->dummy_hash);
    acl_log_reset(a);
    mem_free(a);
}

void acl_set_opts(acl *a, const acl_opts *opts)
{
    a->o = *opts;
}

int acl_cmd_id(const acl *a, const char *name)
{
    for (size_t i = 0; i < a->ncmds; i++)
        if (strcasecmp(a->cat[i].name, name) == 0) return (int)i;
    return -1;
}

/* ---- users ---- */

int acl_user_index(const acl *a, const uint8_t *name, size_t n, size_t *idx)
{
    size_t lo = 0, hi = a->nusers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *un = a->users[mid]->name;
        size_t ul = strlen(un);
        int c = memcmp(un, name, ul < n ? ul : n);
        if (c == 0) c = ul < n ? -1 : (ul > n ? 1 : 0);
        if (c == 0) {
            *idx = mid;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *idx = lo;
    return 0;
}

acl_user *acl_find(acl *a, const uint8_t *name, size_t n)
{
    size_t i;
    return acl_user_index(a, name, n, &i) ? a->users[i] : NULL;
}

const char *acl_user_name(const acl_user *u)
{
    return u->name;
}

int acl_user_enabled(const acl_user *u)
{
    return u->enabled;
}

uint64_t acl_generation(const acl *a)
{
    return a->generation;
}

size_t acl_user_count(const acl *a)
{
    return a->nusers;
}

acl_user *acl_user_at(acl *a, size_t i)
{
    return i < a->nusers ? a->users[i] : NULL;
}

size_t acl_user_password_count(const acl_user *u)
{
    return u->nhashes;
}

int acl_user_locked(const acl_user *u, long long now_ms)
{
    return u->locked_until > now_ms;
}

static acl_user *user_new(acl *a, const uint8_t *name, size_t n)
{
    acl_user *u = mem_calloc(sizeof *u);
    u->name = mem_strndup((const char *)name, n);
    u->totp_step = a->totp_floor; /* a re-created user does not reopen used codes */
    u->id = a->next_user_id++;
    u->allowed = mem_calloc(sizeof(uint64_t) * (a->words ? a->words : 1));
    buf_puts(&u->cmd_rules, "-@all");
    return u;
}

static void user_insert(acl *a, acl_user *u)
{
    size_t idx;
    acl_user_index(a, (const uint8_t *)u->name, strlen(u->name), &idx);
    a->users = mem_realloc(a->users, sizeof(acl_user *) * (a->nusers + 1));
    memmove(a->users + idx + 1, a->users + idx, sizeof(acl_user *) * (a->nusers - idx));
    a->users[idx] = u;
    a->nusers++;
}

int acl_deluser(acl *a, const uint8_t *name, size_t n)
{
    size_t idx;
    if (!acl_user_index(a, name, n, &idx)) return 0;
    acl_user_free(a->users[idx]);
    memmove(a->users + idx, a->users + idx + 1, sizeof(acl_user *) * (a->nusers - idx - 1));
    a->nusers--;
    a->generation++;
    return 1;
}

/* ---- permission checks ---- */

int acl_can_run(const acl_user *u, int id)
{
    return id >= 0 && (u->allowed[id / 64] >> (id % 64)) & 1;
}

static int match_patterns(const acl_pattern *p, size_t n, const uint8_t *s, size_t len,
                          int access)
{
    for (size_t i = 0; i < n; i++) {
        if ((p[i].flags & access) != access) continue;
        if (p[i].len == 1 && p[i].pat[0] == '*') return 1;
        if (str_glob((const uint8_t *)p[i].pat, p[i].len, s, len, 0)) return 1;
    }
    return 0;
}

int acl_can_key(const acl_user *u, const uint8_t *key, size_t n, int access)
{
    /* One pattern must grant every access asked, as in Redis 7: %R~x %W~* lets INCR
     * write x but not read it, so INCR x is refused. access 0 (a key only checked for
     * existence or size): any pattern that matches. */
    return match_patterns(u->keys, u->nkeys, key, n, access);
}

int acl_can_channel(const acl_user *u, const uint8_t *ch, size_t n)
{
    return match_patterns(u->chans, u->nchans, ch, n, ACL_KEY_READ | ACL_KEY_WRITE);
}

int acl_can_channel_pattern(const acl_user *u, const uint8_t *pat, size_t n)
{
    if (u->allchannels) return 1;
    for (size_t i = 0; i < u->nchans; i++)
        if (u->chans[i].len == n && memcmp(u->chans[i].pat, pat, n) == 0) return 1;
    return 0;
}

/* ---- rule changes ---- */

enum rule_kind {
    R_ON, R_OFF, R_ADDPASS, R_DELPASS, R_ADDHASH, R_DELHASH, R_RESETPASS, R_KEY, R_ALLKEYS,
    R_RESETKEYS, R_CHAN, R_ALLCHANNELS, R_RESETCHANNELS, R_CMD_ALLOW, R_CMD_DENY, R_CAT_ALLOW,
    R_CAT_DENY, R_ALLCOMMANDS, R_NOCOMMANDS, R_RESET, R_UNLOCK, R_NOOP, R_ATTR
};

typedef struct {
    enum rule_kind kind; /* what the rule does */
    char *arg;           /* password, hash or pattern (owned, wiped) */
    size_t len;          /* its length */
    int flags;           /* key access flags for R_KEY */
    int id;              /* command id or category */
    char *text;          /* normalized text for the command description */
    char **matched;      /* R_DELPASS: hashes that match (filled by work) */
    size_t nmatched;     /* their count */
} acl_rule;

struct acl_op {
    char *name;          /* user */
    acl_rule *rules;     /* in order */
    int n;               /* count */
    char **existing;     /* snapshot of the user's hashes, for R_DELPASS */
    size_t nexisting;    /* count */
    acl_opts o;          /* Argon2 parameters for new hashes */
    int needs_work;      /* has R_ADDPASS or R_DELPASS */
    int failed;          /* work failed (hashing error) */
};

static int valid_hash(const char *s, size_t n)
{
    if (n < 20 || n >= ACL_HASH_MAX || strncmp(s, "$argon2id$v=19$m=", 17) != 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '$' || c == '=' || c == ',' || c == '+' || c == '/' || (c >= '0' && c <= '9') ||
              (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    return 1;
}

static void rule_err(char *err, size_t errlen, const char *mod, size_t mlen, const char *why)
{
    snprintf(err, errlen, "Error in ACL SETUSER modifier '%.*s': %s", (int)(mlen > 64 ? 64 : mlen),
             mod, why);
}

/* Key and channel patterns are written unquoted into the users file, one user a line, as
 * Redis writes them: white space or a NUL byte would split or end the rule there (and a
 * newline would start another user), so they are refused, as Redis refuses them. */
static int pattern_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\0' || isspace((unsigned char)p[i])) return 0;
    return 1;
}

static int parse_rule(acl *a, const char *r, size_t n, acl_rule *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (n == 0) {
        rule_err(err, errlen, r, n, "Syntax error");
        return -1;
    }
#define IS(s) (n == strlen(s) && strncasecmp(r, s, n) == 0)
    if (IS("on")) out->kind = R_ON;
    else if (IS("off")) out->kind = R_OFF;
    else if (IS("nopass")) {
        rule_err(err, errlen, r, n, "'nopass' is not allowed: every user needs a password");
        return -1;
    } else if (IS("resetpass")) out->kind = R_RESETPASS;
    else if (IS("allkeys")) out->kind = R_ALLKEYS;
    else if (IS("resetkeys")) out->kind = R_RESETKEYS;
    else if (IS("allchannels")) out->kind = R_ALLCHANNELS;
    else if (IS("resetchannels")) out->kind = R_RESETCHANNELS;
    else if (IS("allcommands")) out->kind = R_ALLCOMMANDS;
    else if (IS("nocommands")) out->kind = R_NOCOMMANDS;
    else if (IS("reset")) out->kind = R_RESET;
    else if (IS("unlock")) out->kind = R_UNLOCK;
    else if (IS("sanitize-payload") || IS("skip-sanitize-payload") || IS("clearselectors"))
        out->kind = R_NOOP;
    else if (r[0] == '>' || r[0] == '<') {
        size_t pl = n - 1;
        if (pl < (size_t)a->o.min_password_len) {
            char why[96];
            snprintf(why, sizeof why, "passwords must be at least %d characters",
                     a->o.min_password_len);
            rule_err(err, errlen, r[0] == '>' ? ">***" : "<***", 4, why);
            return -1;
        }
        if (pl > 4096) {
            rule_err(err, errlen, r[0] == '>' ? ">***" : "<***", 4,
                     "passwords may be at most 4096 characters");
            return -1;
        }
        out->kind = r[0] == '>' ? R_ADDPASS : R_DELPASS;
        out->arg = mem_strndup(r + 1, pl);
        out->len = pl;
    } else if (r[0] == '#' || r[0] == '!') {
        if (!valid_hash(r + 1, n - 1)) {
            rule_err(err, errlen, r[0] == '#' ? "#..." : "!...", 4,
                     "The password hash must be an Argon2id hash ($argon2id$v=19$m=...)");
            return -1;
        }
        out->kind = r[0] == '#' ? R_ADDHASH : R_DELHASH;
        out->arg = mem_strndup(r + 1, n - 1);
        out->len = n - 1;
    } else if (r[0] == '~' || r[0] == '%') {
        int flags = ACL_KEY_READ | ACL_KEY_WRITE;
        size_t off = 1;
        if (r[0] == '%') {
            flags = 0;
            size_t i = 1;
            for (; i < n && r[i] != '~'; i++) {
                if (r[i] == 'R' || r[i] == 'r')
                    flags |= ACL_KEY_READ;
                else if (r[i] == 'W' || r[i] == 'w')
                    flags |= ACL_KEY_WRITE;
                else {
                    rule_err(err, errlen, r, n, "Syntax error");
                    return -1;
                }
            }
            if (i >= n || flags == 0) {
                rule_err(err, errlen, r, n, "Syntax error");
                return -1;
            }
            off = i + 1;
        }
        if (!pattern_ok(r + off, n - off)) {
            rule_err(err, errlen, r, n, "Syntax error");
            return -1;
        }
        out->kind = R_KEY;
        out->flags = flags;
        out->arg = mem_strndup(r + off, n - off);
        out->len = n - off;
        out->text = mem_strndup(r, n); /* for an error naming the modifier */
        if (n == 2 && r[0] == '~' && r[1] == '*') out->kind = R_ALLKEYS; /* as Redis */
    } else if (r[0] == '&') {
        if (!pattern_ok(r + 1, n - 1)) {
            rule_err(err, errlen, r, n, "Syntax error");
            return -1;
        }
        out->kind = R_CHAN;
        out->arg = mem_strndup(r + 1, n - 1);
        out->len = n - 1;
        out->text = mem_strndup(r, n);
        if (n == 2 && r[1] == '*') out->kind = R_ALLCHANNELS;
    } else if (r[0] == '+' || r[0] == '-') {
        int allow = r[0] == '+';
        if (n > 1 && r[1] == '@') {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(n - 2), r + 2);
            if (strcasecmp(name, "all") == 0) {
                out->kind = allow ? R_ALLCOMMANDS : R_NOCOMMANDS;
            } else {
                int cat = n - 2 < sizeof name ? category_find(name) : -1;
                if (cat < 0) {
                    rule_err(err, errlen, r, n, "Unknown command or category name in ACL");
                    return -1;
                }
                out->kind = allow ? R_CAT_ALLOW : R_CAT_DENY;
                out->id = cat;
            }
        } else {
            char name[128];
            if (n - 1 >= sizeof name) {
                rule_err(err, errlen, r, n, "Unknown command or category name in ACL");
                return -1;
            }
            snprintf(name, sizeof name, "%.*s", (int)(n - 1), r + 1);
            int id = acl_cmd_id(a, name);
            if (id < 0) {
                rule_err(err, errlen, r, n, "Unknown command or category name in ACL");
                return -1;
            }
            out->kind = allow ? R_CMD_ALLOW : R_CMD_DENY;
            out->id = id;
        }
        out->text = mem_strndup(r, n);
        for (char *p = out->text; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    } else if (r[0] == '(') {
        rule_err(err, errlen, r, n, "selectors are not supported");
        return -1;
    } else if (memchr(r, '=', n)) { /* role=, subject=, mfa=, cert=, totp-secret= */
        const char *v;
        size_t vl;
        char why[160];
        int rc = acl_attr_parse(r, n, &out->id, &v, &vl, why, sizeof why);
        if (rc < 0) {
            rule_err(err, errlen, r, (size_t)((const char *)memchr(r, '=', n) - r) + 1, why);
            return -1;
        }
        if (rc == 0) {
            rule_err(err, errlen, r, n, "Syntax error");
            return -1;
        }
        out->kind = R_ATTR;
        out->arg = mem_strndup(v, vl);
        out->len = vl;
    } else {
        rule_err(err, errlen, r, n, "Syntax error");
        return -1;
    }
#undef IS
    return 0;
}

static void rule_free(acl_rule *r)
{
    if (r->arg) {
        OPENSSL_cleanse(r->arg, r->len);
        mem_free(r->arg);
    }
    mem_free(r->text);
    for (size_t i = 0; i < r->nmatched; i++)
        mem_free_wipe(r->matched[i]);
    mem_free(r->matched);
}

void acl_op_free(acl_op *op)
{
    if (!op) return;
    for (int i = 0; i < op->n; i++)
        rule_free(&op->rules[i]);
    mem_free(op->rules);
    for (size_t i = 0; i < op->nexisting; i++)
        mem_free_wipe(op->existing[i]);
    mem_free(op->existing);
    mem_free(op->name);
    mem_free(op);
}

static int valid_username(const uint8_t *name, size_t n)
{
    if (n == 0 || n > 128) return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] <= ' ' || name[i] >= 127) return 0;
    return 1;
}

int acl_op_parse(acl *a, const uint8_t *name, size_t nlen, const uint8_t *const *rules,
                 const size_t *lens, int nrules, acl_op **out, char *err, size_t errlen)
{
    if (!valid_username(name, nlen)) {
        snprintf(err, errlen, "Usernames must be 1 to 128 printable characters without spaces");
        return -1;
    }
    acl_op *op = mem_calloc(sizeof *op);
    op->name = mem_strndup((const char *)name, nlen);
    op->o = a->o;
    op->rules = mem_calloc(sizeof(acl_rule) * (size_t)(nrules ? nrules : 1));
    for (int i = 0; i < nrules; i++) {
        if (parse_rule(a, (const char *)rules[i], lens[i], &op->rules[i], err, errlen) != 0) {
            op->n = i;
            acl_op_free(op);
            return -1;
        }
        op->n = i + 1;
        if (op->rules[i].kind == R_ADDPASS || op->rules[i].kind == R_DELPASS)
            op->needs_work = 1;
    }
    acl_user *u = acl_find(a, name, nlen);
    if (u && op->needs_work && u->nhashes) {
        op->existing = mem_calloc(sizeof(char *) * u->nhashes);
        for (size_t i = 0; i < u->nhashes; i++)
            op->existing[i] = mem_strdup(u->hashes[i]);
        op->nexisting = u->nhashes;
    }
    *out = op;
    return 0;
}

const char *acl_op_name(const acl_op *op)
{
    return op->name;
}

int acl_op_needs_work(const acl_op *op)
{
    return op->needs_work;
}

/* Take hash h out of the list of hashes a user has at a point of its rules; 1 if it was
 * there (acl_op_work and acl_op_check follow <password and !hash in order, as Redis). */
static int have_drop(const char **have, size_t *n, const char *h)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(have[i], h) == 0) {
            have[i] = have[--*n];
            return 1;
        }
    }
    return 0;
}

void acl_op_work(acl_op *op)
{
    for (int i = 0; i < op->n; i++) {
        acl_rule *r = &op->rules[i];
        if (r->kind == R_ADDPASS) {
            char enc[ACL_HASH_MAX];
            if (acl_hash_password(&op->o, (const uint8_t *)r->arg, r->len, enc, sizeof enc) != 0) {
                op->failed = 1;
                continue;
            }
            OPENSSL_cleanse(r->arg, r->len);
            mem_free(r->arg);
            r->arg = mem_strdup(enc);
            r->len = strlen(enc);
            r->kind = R_ADDHASH;
        }
    }
    /* <password matches the hashes the user has at that point of the rules, as Redis applies
     * them in order: the ones it had, plus those added before it, minus those reset or
     * removed before it. */
    const char **have = mem_calloc(sizeof(char *) * (op->nexisting + (size_t)op->n + 1));
    size_t nhave = 0;
    for (size_t h = 0; h < op->nexisting; h++)
        have[nhave++] = op->existing[h];
    for (int i = 0; i < op->n && !op->failed; i++) {
        acl_rule *r = &op->rules[i];
        if (r->kind == R_RESETPASS || r->kind == R_RESET) {
            nhave = 0;
        } else if (r->kind == R_ADDHASH) {
            have[nhave++] = r->arg;
        } else if (r->kind == R_DELHASH) {
            have_drop(have, &nhave, r->arg);
        } else if (r->kind == R_DELPASS) {
            for (size_t h = 0; h < nhave; h++) {
                if (acl_verify_hash(have[h], (const uint8_t *)r->arg, r->len)) {
                    r->matched = mem_realloc(r->matched, sizeof(char *) * (r->nmatched + 1));
                    r->matched[r->nmatched++] = mem_strdup(have[h]);
                }
            }
            for (size_t m = 0; m < r->nmatched; m++)
                have_drop(have, &nhave, r->matched[m]);
        }
    }
    mem_free(have);
    op->needs_work = 0;
}

static void bit_set(acl *a, acl_user *u, int id, int on)
{
    if (on)
        u->allowed[id / 64] |= 1ULL << (id % 64);
    else
        u->allowed[id / 64] &= ~(1ULL << (id % 64));
    (void)a;
}

static void set_command(acl *a, acl_user *u, int id, int on)
{
    bit_set(a, u, id, on);
    /* A container command rule covers all its subcommands. */
    for (size_t i = 0; i < a->ncmds; i++)
        if (a->cat[i].parent == id) bit_set(a, u, (int)i, on);
}

static void set_category(acl *a, acl_user *u, int cat, int on)
{
    for (size_t i = 0; i < a->ncmds; i++) {
        if (!(a->cat[i].categories & (1ULL << cat))) continue;
        if (on && a->cat[i].by_name_only) continue;
        bit_set(a, u, (int)i, on);
    }
}

static void set_all(acl *a, acl_user *u, int on)
{
    for (size_t i = 0; i < a->ncmds; i++) {
        if (on && a->cat[i].by_name_only) continue;
        bit_set(a, u, (int)i, on);
    }
}

static void add_pattern(acl_pattern **list, size_t *n, const char *pat, size_t len, int flags)
{
    for (size_t i = 0; i < *n; i++) {
        if ((*list)[i].len == len && memcmp((*list)[i].pat, pat, len) == 0) {
            (*list)[i].flags |= flags;
            return;
        }
    }
    *list = mem_realloc(*list, sizeof(acl_pattern) * (*n + 1));
    (*list)[*n].pat = mem_strndup(pat, len);
    (*list)[*n].len = len;
    (*list)[*n].flags = flags;
    (*n)++;
}

static void clear_patterns(acl_pattern **list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        mem_free((*list)[i].pat);
    mem_free(*list);
    *list = NULL;
    *n = 0;
}

static void clear_hashes(acl_user *u)
{
    for (size_t i = 0; i < u->nhashes; i++)
        mem_free_wipe(u->hashes[i]);
    mem_free(u->hashes);
    u->hashes = NULL;
    u->nhashes = 0;
}

static void add_hash(acl_user *u, const char *h)
{
    for (size_t i = 0; i < u->nhashes; i++)
        if (strcmp(u->hashes[i], h) == 0) return;
    u->hashes = mem_realloc(u->hashes, sizeof(char *) * (u->nhashes + 1));
    u->hashes[u->nhashes++] = mem_strdup(h);
}

static void del_hash(acl_user *u, const char *h)
{
    for (size_t i = 0; i < u->nhashes; i++) {
        if (strcmp(u->hashes[i], h) == 0) {
            mem_free_wipe(u->hashes[i]);
            u->hashes[i] = u->hashes[--u->nhashes];
            return;
        }
    }
}

static void rules_text(acl_user *u, const char *reset_to, const char *append)
{
    if (reset_to) {
        u->cmd_rules.len = 0;
        buf_puts(&u->cmd_rules, reset_to);
    }
    if (append) {
        buf_putc(&u->cmd_rules, ' ');
        buf_puts(&u->cmd_rules, append);
    }
}

int acl_op_check(acl *a, const acl_op *op, char *err, size_t errlen)
{
    const acl_user *u = acl_find(a, (const uint8_t *)op->name, strlen(op->name));
    int keys = u ? u->allkeys : 0, chans = u ? u->allchannels : 0;
    /* The hashes the user has at each rule, for !hash (as Redis: removing one it does not
     * have is an error). */
    const char **have = mem_calloc(sizeof(char *) * ((u ? u->nhashes : 0) + (size_t)op->n + 1));
    size_t nhave = 0;
    for (size_t h = 0; u && h < u->nhashes; h++)
        have[nhave++] = u->hashes[h];
    int rc = 0;
    for (int i = 0; i < op->n && rc == 0; i++) {
        const acl_rule *r = &op->rules[i];
        switch (r->kind) {
        case R_RESETPASS: nhave = 0; break;
        case R_ADDHASH: have[nhave++] = r->arg; break;
        case R_DELHASH:
            if (have_drop(have, &nhave, r->arg)) break;
            rule_err(err, errlen, "!...", 4,
                     "The password you are trying to remove from the user does not exist");
            rc = -1;
            break;
        case R_ALLKEYS: keys = 1; break;
        case R_RESETKEYS: keys = 0; break;
        case R_ALLCHANNELS: chans = 1; break;
        case R_RESETCHANNELS: chans = 0; break;
        case R_RESET:
            keys = chans = 0;
            nhave = 0;
            break;
        case R_KEY:
            if (!keys) break;
            rule_err(err, errlen, r->text, strlen(r->text),
                     "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid "
                     "and does not have any effect. Try 'resetkeys' to start with an empty list "
                     "of patterns");
            rc = -1;
            break;
        case R_DELPASS:
            for (size_t m = 0; m < r->nmatched; m++)
                have_drop(have, &nhave, r->matched[m]);
            if (r->nmatched > 0) break;
            rule_err(err, errlen, "<***", 4,
                     "The password you are trying to remove from the user does not exist");
            rc = -1;
            break;
        case R_CHAN:
            if (!chans) break;
            rule_err(err, errlen, r->text, strlen(r->text),
                     "Adding a pattern after the * pattern (or the 'allchannels' flag) is not "
                     "valid and does not have any effect. Try 'resetchannels' to start with an "
                     "empty list of channels");
            rc = -1;
            break;
        default: break;
        }
    }
    mem_free(have);
    return rc;
}

int acl_op_apply(acl *a, acl_op *op, char *err, size_t errlen)
{
    if (op->needs_work) {
        snprintf(err, errlen, "internal error: password rules were not prepared");
        return -1;
    }
    if (op->failed) {
        snprintf(err, errlen, "password hashing failed");
        return -1;
    }
    size_t nlen = strlen(op->name);
    acl_user *u = acl_find(a, (const uint8_t *)op->name, nlen);
    int created = 0;
    if (!u) {
        u = user_new(a, (const uint8_t *)op->name, nlen);
        created = 1;
    }
    int cred_changed = 0;
    for (int i = 0; i < op->n; i++) {
        acl_rule *r = &op->rules[i];
        switch (r->kind) {
        case R_ON: u->enabled = 1; break;
        case R_OFF: u->enabled = 0; break;
        case R_ADDHASH:
            add_hash(u, r->arg);
            cred_changed = 1;
            break;
        case R_DELHASH:
            del_hash(u, r->arg);
            cred_changed = 1;
            break;
        case R_DELPASS:
            for (size_t m = 0; m < r->nmatched; m++)
                del_hash(u, r->matched[m]);
            cred_changed = 1;
            break;
        case R_ADDPASS: break; /* turned into R_ADDHASH by the work step */
        case R_RESETPASS:
            clear_hashes(u);
            cred_changed = 1;
            break;
        case R_KEY: add_pattern(&u->keys, &u->nkeys, r->arg, r->len, r->flags); break;
        case R_ALLKEYS:
            clear_patterns(&u->keys, &u->nkeys);
            add_pattern(&u->keys, &u->nkeys, "*", 1, ACL_KEY_READ | ACL_KEY_WRITE);
            u->allkeys = 1;
            break;
        case R_RESETKEYS:
            clear_patterns(&u->keys, &u->nkeys);
            u->allkeys = 0;
            break;
        case R_CHAN: add_pattern(&u->chans, &u->nchans, r->arg, r->len, 3); break;
        case R_ALLCHANNELS:
            clear_patterns(&u->chans, &u->nchans);
            add_pattern(&u->chans, &u->nchans, "*", 1, 3);
            u->allchannels = 1;
            break;
        case R_RESETCHANNELS:
            clear_patterns(&u->chans, &u->nchans);
            u->allchannels = 0;
            break;
        case R_CMD_ALLOW:
        case R_CMD_DENY:
            set_command(a, u, r->id, r->kind == R_CMD_ALLOW);
            rules_text(u, NULL, r->text);
            break;
        case R_CAT_ALLOW:
        case R_CAT_DENY:
            set_category(a, u, r->id, r->kind == R_CAT_ALLOW);
            rules_text(u, NULL, r->text);
            break;
        case R_ALLCOMMANDS:
            set_all(a, u, 1);
            rules_text(u, "+@all", NULL);
            break;
        case R_NOCOMMANDS:
            set_all(a, u, 0);
            rules_text(u, "-@all", NULL);
            break;
        case R_RESET:
            u->enabled = 0;
            clear_hashes(u);
            clear_patterns(&u->keys, &u->nkeys);
            clear_patterns(&u->chans, &u->nchans);
            u->allkeys = u->allchannels = 0;
            set_all(a, u, 0);
            rules_text(u, "-@all", NULL);
            acl_attr_clear(u);
            cred_changed = 1;
            break;
        case R_UNLOCK:
            u->failures = 0;
            u->locked_until = 0;
            break;
        case R_NOOP: break;
        case R_ATTR: acl_attr_set(u, r->id, r->arg, r->len); break;
        }
    }
    if (cred_changed) u->cred_epoch++;
    if (created) user_insert(a, u);
    return 0;
}

/* ---- description ---- */

static void describe_patterns(const acl_pattern *p, size_t n, char sigil, int all, buf *out,
                              const char *none)
{
    if (n == 0) {
        buf_puts(out, none);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) buf_putc(out, ' ');
        if (sigil == '~' && p[i].flags != (ACL_KEY_READ | ACL_KEY_WRITE))
            buf_puts(out, p[i].flags == ACL_KEY_READ ? "%R" : "%W");
        else if (sigil == '~' && !all && n > 1 && p[i].len == 1 && p[i].pat[0] == '*')
            buf_puts(out, "%RW"); /* "~*" would read back as allkeys (the flag) */
        buf_putc(out, (uint8_t)sigil);
        buf_append(out, p[i].pat, p[i].len);
    }
}

void acl_describe_keys(const acl_user *u, buf *out)
{
    describe_patterns(u->keys, u->nkeys, '~', u->allkeys, out, "");
}

void acl_describe_channels(const acl_user *u, buf *out)
{
    describe_patterns(u->chans, u->nchans, '&', u->allchannels, out, "");
}

void acl_describe_commands(const acl *a, const acl_user *u, buf *out)
{
    (void)a;
    buf_append(out, u->cmd_rules.p, u->cmd_rules.len);
}

void acl_describe(const acl *a, const acl_user *u, buf *out, int with_hashes)
{
    if (with_hashes && (u->name[0] == '"' || u->name[0] == '\'')) {
        /* The file form: a name that opens with a quote would read back as a quoted
         * string (args_split), so it is written as one. */
        buf_puts(out, "user \"");
        for (const char *p = u->name; *p; p++) {
            if (*p == '"' || *p == '\\') buf_putc(out, '\\');
            buf_putc(out, (uint8_t)*p);
        }
        buf_printf(out, "\" %s", u->enabled ? "on" : "off");
    } else {
        buf_printf(out, "user %s %s", u->name, u->enabled ? "on" : "off");
    }
    for (size_t i = 0; i < u->nhashes; i++) {
        buf_puts(out, " #");
        buf_puts(out, with_hashes ? u->hashes[i] : "<hidden>");
    }
    buf_putc(out, ' ');
    if (u->nkeys)
        describe_patterns(u->keys, u->nkeys, '~', u->allkeys, out, "");
    else
        buf_puts(out, "resetkeys");
    buf_putc(out, ' ');
    if (u->nchans)
        describe_patterns(u->chans, u->nchans, '&', u->allchannels, out, "");
    else
        buf_puts(out, "resetchannels");
    buf_putc(out, ' ');
    acl_describe_commands(a, u, out);
    acl_describe_attrs(u, out, with_hashes);
}
