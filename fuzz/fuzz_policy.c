/*
 * fuzz_policy: libFuzzer target for the policy file parser. Any bytes are parsed;
 * a refused file must come with a "NAME:LINE: reason" message and nothing else
 * happens. An accepted policy is exercised: SHOW must produce a file that parses
 * to a policy with the same SHOW (comments aside); every line of the input is
 * and each of its words are also tried as keys and as field names against every
 * schema and role
 * (lookups, decisions, filters, NOPERM texts, the de-identified view), so the
 * hot-path functions see hostile patterns and names. A broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/policy.h"
#include "util/buf.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_policy: invariant broken: %s\n", what);
    abort();
}

/* The policy text without comment lines (SHOW starts with a generation comment). */
static void strip(const buf *in, buf *out)
{
    size_t i = 0;
    while (i < in->len) {
        const uint8_t *nl = memchr(in->p + i, '\n', in->len - i);
        size_t n = nl ? (size_t)(nl - (in->p + i)) + 1 : in->len - i;
        if (in->p[i] != '#') buf_append(out, in->p + i, n);
        i += n;
    }
}

static void exercise(const policy *p, const uint8_t *s, size_t n)
{
    static const char *roles[] = {"physician", "nurse", "research", "patient", "r", "a", ""};
    const policy_schema *sc = policy_schema_for(p, s, n);
    buf msg = {0}, v = {0};
    for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
        const policy_role *ro = policy_role_find(p, (const uint8_t *)roles[r], strlen(roles[r]));
        if (ro) {
            if (!policy_role_name(ro)) fail("role name");
            (void)policy_purpose_ok(ro, policy_role_default_purpose(ro));
            if (!policy_purpose_ok(ro, policy_role_default_purpose(ro)))
                fail("default purpose not allowed");
            (void)policy_scope_ok(ro, s, n, s, n);
        }
        if (!sc) continue;
        const policy_field *f = policy_field_find(sc, s, n);
        for (int op = POLICY_READ; op <= POLICY_DELETE; op++) {
            const char *g = NULL;
            int rc = policy_can(ro, sc, op == POLICY_DELETE ? NULL : f, (enum policy_op)op, &g);
            if (rc > 0 || rc < POLICY_DENY_DEID) fail("decision out of range");
            if (rc == POLICY_DENY_GROUP && !g) fail("group denial without a group");
            msg.len = 0;
            policy_deny_message(&msg, rc, ro, sc, s, n, g, (enum policy_op)op, 0);
            if (memchr(msg.p, '\n', msg.len) || memchr(msg.p, '\r', msg.len))
                fail("newline in error");
        }
        if (ro) {
            (void)policy_key_visible(ro, sc);
            policy_filter flt;
            policy_filter_init(&flt, ro, sc, 0);
            int vis = policy_filter_field(&flt, s, n, NULL);
            /* A visible field must also pass an explicit read (or be undeclared in strict). */
            int rc = policy_can(ro, sc, f, POLICY_READ, NULL);
            if (vis && rc != POLICY_ALLOW && !(rc == POLICY_DENY_UNDECLARED && !f))
                fail("enumeration shows a field an explicit read refuses");
        }
        if (f) {
            v.len = 0;
            policy_view_ctx ctx = {NULL, NULL, 2025, 0};
            int a = policy_view_value(p, f, s, n, &ctx, &v);
            if (a != POLICY_VIEW_TRANSFORM && v.len) fail("view wrote output for keep/drop");
            if (a == POLICY_VIEW_KEEP && policy_view_action(f) != POLICY_VIEW_KEEP)
                fail("view action");
        }
    }
    buf_free(&msg);
    buf_wipe_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    policy *p = NULL;
    char err[600];
    err[0] = '\0';
    if (policy_parse((const char *)data, size, "fuzz", &p, err, sizeof err) != 0) {
        if (p) fail("policy returned on error");
        if (strncmp(err, "fuzz:", 5) != 0) fail("error without the file name");
        return 0;
    }
    buf a = {0}, b = {0}, sa = {0}, sb = {0};
    policy_show(p, &a);
    policy *q = NULL;
    if (policy_parse((const char *)a.p, a.len, "show", &q, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n--\n%.*s\n", err, (int)a.len, (const char *)a.p);
        fail("SHOW output does not parse");
    }
    policy_show(q, &b);
    strip(&a, &sa);
    strip(&b, &sb);
    if (sa.len != sb.len || memcmp(sa.p, sb.p, sa.len) != 0) fail("SHOW round trip differs");
    /* Every input line as a key and as a field name. */
    size_t i = 0;
    while (i <= size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
        exercise(p, data + i, n);
        for (size_t j = 0; j < n;) { /* and each word of it */
            while (j < n && data[i + j] == ' ')
                j++;
            size_t w = j;
            while (w < n && data[i + w] != ' ')
                w++;
            if (w > j) exercise(p, data + i + j, w - j);
            j = w;
        }
        if (!nl) break;
        i += n + 1;
    }
    static const char *keys[] = {"patient:1", "lab:1:result", "a:1", "x", ""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        exercise(p, (const uint8_t *)keys[k], strlen(keys[k]));
    buf_free(&a);
    buf_free(&b);
    buf_free(&sa);
    buf_free(&sb);
    policy_unref(q);
    policy_unref(p);
    return 0;
}
