/*
 * cmd_reseal: the secrets sealed with the values key outside the keyspace, which a values
 * key rotation must carry over before the old version is retired (see cmd_policy.h):
 *
 *   - the TOTP secrets of users (totp-secret= in the users file and in memory; sealed for
 *     the user name, policy_totp.h);
 *   - the users' subjects in the users file (subject-sealed=, acl.h; plaintext in memory,
 *     so writing the file seals them all under the current version);
 *   - the break-glass grants file (policy_grant.h).
 *
 * The users file is read again from disk for this, so that edits made there and not loaded
 * yet (ACL LOAD) are kept: each copy's secrets are sealed again on their own.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "access/acl.h"
#include "access/policy_grant.h"
#include "access/policy_totp.h"
#include "cmd/cmd_policy.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "util/buf.h"
#include "util/log.h"

/* The key version of a sealed hex secret (the seal header's first 4 bytes), or 0. */
static uint32_t hex_version(const char *hex)
{
    uint8_t b[4];
    if (!hex || strlen(hex) < 8) return 0;
    for (int i = 0; i < 4; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
        b[i] = (uint8_t)v;
    }
    return seal_version(b, 4);
}

/* Seal every TOTP secret of a that is under an older version again under the current one.
 * Returns how many changed, or -1 with err (a secret that does not open). */
static int reseal_acl(srv *s, acl *a, const char *where, char *err, size_t errlen)
{
    uint32_t cur = keyring_current(s->keys, KR_VALUES);
    int changed = 0;
    for (size_t i = 0; i < acl_user_count(a); i++) {
        acl_user *u = acl_user_at(a, i);
        const char *hex = acl_user_totp_secret(u);
        uint32_t v = hex_version(hex);
        if (!hex || !*hex || v == cur) continue;
        uint8_t secret[POLICY_TOTP_SECRET_MAX];
        size_t n = 0;
        buf out = {0};
        const char *name = acl_user_name(u);
        int ok = policy_totp_unseal(s->values, name, hex, secret, sizeof secret, &n) == 0 &&
                 policy_totp_seal(s->values, name, secret, n, &out) == 0;
        OPENSSL_cleanse(secret, sizeof secret);
        if (!ok) {
            buf_wipe_free(&out);
            snprintf(err, errlen, "the TOTP secret of user %s (%s) does not open", name, where);
            return -1;
        }
        acl_user_set_totp_secret(u, buf_cstr(&out));
        buf_wipe_free(&out);
        changed++;
    }
    return changed;
}

/* Subjects in the users file (as loaded into a) sealed under another version than cur, or
 * in plaintext. */
static int old_subjects(acl *a, uint32_t cur)
{
    int n = 0;
    for (size_t i = 0; i < acl_user_count(a); i++) {
        acl_user *u = acl_user_at(a, i);
        n += acl_user_subject(u) && acl_user_subject_version(u) != cur;
    }
    return n;
}

int cmd_values_nonces_commit(srv *s, const char *where)
{
    char why[200];
    int raised = seal_nonces_commit(s->values, why, sizeof why);
    if (raised)
        log_warning("keyring: nonce counters raised above nonces found in %s (%s): the keyring "
                    "file is older than it (restored from an older copy, or altered); no nonce "
                    "will be used twice",
                    where, why);
    return raised;
}

int cmd_secrets_reseal(srv *s, char *err, size_t errlen)
{
    if (s->grants && policy_grants_reseal(s->grants, err, errlen) != 0) return -1;
    acl_opts o;
    acl_opts_default(&o);
    acl *disk = acl_new(&o, s->catalog, s->ncatalog);
    acl_set_sealer(disk, s->values);
    int rc = -1;
    char why[512];
    if (acl_load_file(disk, s->cfg->aclfile, why, sizeof why) != 0) {
        snprintf(err, errlen,
                 "cannot read the users file to seal its TOTP secrets and subjects again: %s", why);
        goto out;
    }
    cmd_values_nonces_commit(s, "the users file");
    int nd = reseal_acl(s, disk, "users file", err, errlen);
    if (nd < 0) goto out;
    int ns = old_subjects(disk, keyring_current(s->keys, KR_VALUES));
    if ((nd > 0 || ns > 0) && acl_save_file(disk, s->cfg->aclfile, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot write the users file: %s", why);
        goto out;
    }
    int nm = reseal_acl(s, s->acl, "in memory", err, errlen);
    if (nm < 0) goto out;
    if (nd || nm)
        log_notice("keyring: TOTP secrets sealed again under values key v%u (%d in the users "
                   "file, %d in memory)",
                   keyring_current(s->keys, KR_VALUES), nd, nm);
    if (ns)
        log_notice("keyring: %d subject%s in the users file sealed again under values key v%u", ns,
                   ns == 1 ? "" : "s", keyring_current(s->keys, KR_VALUES));
    rc = 0;
out:
    acl_free(disk);
    return rc;
}

size_t cmd_secrets_using(srv *s, uint32_t version)
{
    size_t n = 0;
    for (size_t i = 0; i < acl_user_count(s->acl); i++)
        n += hex_version(acl_user_totp_secret(acl_user_at(s->acl, i))) == version;
    acl_opts o;
    acl_opts_default(&o);
    acl *disk = acl_new(&o, s->catalog, s->ncatalog);
    acl_set_sealer(disk, s->values);
    char why[512];
    int loaded = acl_load_file(disk, s->cfg->aclfile, why, sizeof why) == 0;
    cmd_values_nonces_commit(s, "the users file");
    if (!loaded)
        n++; /* cannot tell: count it as in use */
    else
        for (size_t i = 0; i < acl_user_count(disk); i++) {
            acl_user *u = acl_user_at(disk, i);
            n += hex_version(acl_user_totp_secret(u)) == version;
            n += acl_user_subject(u) && acl_user_subject_version(u) == version;
        }
    acl_free(disk);
    if (s->grants && policy_grants_version(s->grants) == version) n++;
    return n;
}
