/*
 * acl_attr: per-user attributes (role=, subject=, mfa=, cert=, totp-secret=)
 * and the MFA failure accounting (see acl.h).
 *
 * Attributes are plain rules, so they travel through ACL SETUSER, the ACL file
 * and ACL LIST like every other rule, and replaying a user's description on an
 * empty user rebuilds the same user. Values are restricted to printable ASCII
 * without spaces or quotes so that the description needs no quoting.
 *
 * The TOTP secret is stored sealed (AES-256-GCM with the values key, bound to
 * the user name: policy_totp.h), hex-encoded; this module only checks its shape
 * and never prints it except into the ACL file.
 */
#include "acl_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "util/mem.h"

static const char *const attr_names[ACL_ATTR_COUNT] = {"role", "subject", "mfa", "cert",
                                                       "totp-secret"};

#define ATTR_MAX     128 /* longest value (role names: 64) */
#define TOTP_HEX_MIN 64  /* sealed secret: overhead (32 bytes) and at least 16 bytes... */
#define TOTP_HEX_MAX 512 /* ...and at most 224 bytes of secret, as hex */

static int printable(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] >= 127 || v[i] == '"' || v[i] == '\'') return 0;
    return 1;
}

static int role_name(const char *v, size_t n)
{
    if (n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int acl_attr_parse(const char *r, size_t n, int *id, const char **val, size_t *vlen, char *err,
                   size_t errlen)
{
    const char *eq = memchr(r, '=', n);
    if (!eq) return 0;
    size_t kl = (size_t)(eq - r);
    int a = -1;
    for (int i = 0; i < ACL_ATTR_COUNT; i++)
        if (strlen(attr_names[i]) == kl && strncasecmp(attr_names[i], r, kl) == 0) a = i;
    if (a < 0) return 0;
    const char *v = eq + 1;
    size_t vl = n - kl - 1;
    if (vl > (a == ACL_ATTR_TOTP ? TOTP_HEX_MAX : ATTR_MAX) || !printable(v, vl)) {
        snprintf(err, errlen, "values are at most %d printable characters without spaces or quotes",
                 ATTR_MAX);
        return -1;
    }
    switch (a) {
    case ACL_ATTR_ROLE:
        if (!role_name(v, vl)) {
            snprintf(err, errlen, "role names are letters, digits, '_', '-', '.' (at most 64)");
            return -1;
        }
        break;
    case ACL_ATTR_MFA:
        if (!(vl == 4 && strncasecmp(v, "totp", 4) == 0) &&
            !(vl == 4 && strncasecmp(v, "none", 4) == 0)) {
            snprintf(err, errlen, "mfa must be 'totp' or 'none'");
            return -1;
        }
        break;
    case ACL_ATTR_TOTP:
        if (vl && (vl < TOTP_HEX_MIN || vl % 2)) {
            snprintf(err, errlen, "totp-secret holds a sealed secret written by 'phidb user mfa'");
            return -1;
        }
        for (size_t i = 0; i < vl; i++)
            if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) {
                snprintf(err, errlen,
                         "totp-secret holds a sealed secret written by 'phidb user mfa'");
                return -1;
            }
        break;
    default: break;
    }
    *id = a;
    *val = v;
    *vlen = vl;
    return 1;
}

static void attr_free(acl_user *u, int id)
{
    if (!u->attrs[id]) return;
    if (id == ACL_ATTR_TOTP)
        mem_free_wipe(u->attrs[id]);
    else
        mem_free(u->attrs[id]);
    u->attrs[id] = NULL;
}

void acl_attr_set(acl_user *u, int id, const char *val, size_t len)
{
    if (id < 0 || id >= ACL_ATTR_COUNT) return;
    attr_free(u, id);
    if (id == ACL_ATTR_MFA && len == 4 && strncasecmp(val, "none", 4) == 0) {
        attr_free(u, ACL_ATTR_TOTP); /* no second factor: forget the enrollment too */
        return;
    }
    if (len == 0) return;
    u->attrs[id] = mem_strndup(val, len);
    if (id == ACL_ATTR_MFA) memcpy(u->attrs[id], "totp", 4); /* normalised case */
}

void acl_attr_clear(acl_user *u)
{
    for (int i = 0; i < ACL_ATTR_COUNT; i++)
        attr_free(u, i);
}

const char *acl_user_attr(const acl_user *u, enum acl_attr a)
{
    return (unsigned)a < ACL_ATTR_COUNT ? u->attrs[a] : NULL;
}

const char *acl_user_role(const acl_user *u)
{
    return u->attrs[ACL_ATTR_ROLE];
}

const char *acl_user_subject(const acl_user *u)
{
    return u->attrs[ACL_ATTR_SUBJECT];
}

const char *acl_user_cert(const acl_user *u)
{
    return u->attrs[ACL_ATTR_CERT];
}

int acl_user_mfa(const acl_user *u)
{
    return u->attrs[ACL_ATTR_MFA] ? ACL_MFA_TOTP : ACL_MFA_NONE;
}

const char *acl_user_totp_secret(const acl_user *u)
{
    return u->attrs[ACL_ATTR_TOTP];
}

void acl_user_set_totp_secret(acl_user *u, const char *hex)
{
    acl_attr_set(u, ACL_ATTR_TOTP, hex, strlen(hex));
}

long long acl_user_totp_step(const acl_user *u)
{
    return u->totp_step;
}

void acl_user_set_totp_step(acl_user *u, long long step)
{
    if (step > u->totp_step) u->totp_step = step;
}

void acl_set_totp_floor(acl *a, long long step)
{
    if (step > a->totp_floor) a->totp_floor = step;
}

int acl_mfa_failure(acl *a, acl_user *u, long long now_ms)
{
    u->failures++;
    if (a->o.max_failures > 0 && u->failures >= a->o.max_failures) {
        u->locked_until = now_ms + a->o.lockout_ms;
        return 1;
    }
    return 0;
}

void acl_mfa_success(acl *a, acl_user *u)
{
    (void)a;
    u->failures = 0;
}

void acl_describe_attrs(const acl_user *u, buf *out, int with_secrets)
{
    for (int i = 0; i < ACL_ATTR_COUNT; i++) {
        if (!u->attrs[i] || (i == ACL_ATTR_TOTP && !with_secrets)) continue;
        if (i == ACL_ATTR_SUBJECT && with_secrets == 2) continue; /* the caller seals it */
        buf_printf(out, " %s=%s", attr_names[i], u->attrs[i]);
    }
}
