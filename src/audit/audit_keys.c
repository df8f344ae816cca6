/*
 * audit_keys: the signing keys the audit trail publishes (audit.pub) and the rotations of
 * the audit and signing keys in a running writer (docs/audit.md, "Key rotation").
 */
#include "audit/audit_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* The keyring's signing public keys, in version order. Returns the count, or -1. */
static int ring_keys(keyring *kr, audit_pubset *out)
{
    static uint32_t v[AUDIT_PUB_MAX + 1];
    size_t nv = keyring_versions(kr, KR_SIGN, v, AUDIT_PUB_MAX + 1);
    out->n = 0;
    if (nv > AUDIT_PUB_MAX) return -1;
    for (size_t i = 0; i < nv; i++) {
        const uint8_t *sk = keyring_key(kr, KR_SIGN, v[i]);
        uint8_t pub[32];
        if (!sk || audit_ed25519_pub(sk, pub) != 0) continue;
        audit_pubset_add(out, pub);
    }
    return (int)out->n;
}

/* audit.pub lists the public key of every version of the signing key, oldest first, so
 * checkpoints signed before a rotation still verify. Keys already published stay (one the
 * keyring does not have may have signed old checkpoints: it is kept first); the file is
 * rewritten only when a key is missing or out of order. A file that cannot be read is
 * not replaced (that would drop what it lists): the open fails. Called with the writer
 * not signing. */
int audit_publish_keys(audit *a, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/audit.pub", a->dir);
    static audit_pubset file, ring, out; /* 32 KB each: one caller at a time (wmu or open) */
    if (audit_pub_read(path, &file) != 0) {
        if (access(path, F_OK) == 0) {
            snprintf(err, errlen,
                     "%s cannot be read as a list of Ed25519 public keys (at most %d): put "
                     "back a good copy; it is not rewritten, as that would drop the keys it "
                     "lists",
                     path, AUDIT_PUB_MAX);
            return -1;
        }
        file.n = 0;
    }
    if (ring_keys(a->kr, &ring) < 0 || audit_pubset_order(&file, &ring, &out) != 0) {
        snprintf(err, errlen, "more than %d signing keys to publish in %s", AUDIT_PUB_MAX, path);
        return -1;
    }
    if (!audit_pubset_has(&out, a->pub)) {
        snprintf(err, errlen, "the current signing key is not in the keyring");
        return -1;
    }
    if ((out.n != file.n || memcmp(out.k, file.k, 32 * out.n) != 0) &&
        audit_pub_write(path, &out) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

uint32_t audit_rotate_key(audit *a, char *err, size_t errlen)
{
    pthread_mutex_lock(&a->wmu);
    uint32_t v = keyring_rotate(a->kr, KR_AUDIT, err, errlen);
    pthread_mutex_unlock(&a->wmu);
    return v;
}

uint32_t audit_rotate_sign(audit *a, char *err, size_t errlen)
{
    pthread_mutex_lock(&a->wmu);
    uint32_t v = 0;
    static audit_pubset ring;
    int n = ring_keys(a->kr, &ring);
    if (n < 0 || n >= AUDIT_PUB_MAX)
        snprintf(err, errlen, "the signing key has %d versions, the most audit.pub lists",
                 AUDIT_PUB_MAX);
    else
        v = keyring_rotate(a->kr, KR_SIGN, err, errlen);
    const uint8_t *sk = v ? keyring_key(a->kr, KR_SIGN, v) : NULL;
    if (sk) {
        /* Publish the new key before the first checkpoint it signs. Should that fail, the
         * writer goes on signing with the old key, which is published: the trail stays
         * verifiable, and the next start publishes the new key. */
        uint8_t old_pub[32];
        char why[300];
        memcpy(old_pub, a->pub, 32);
        if (audit_ed25519_pub(sk, a->pub) == 0 && audit_publish_keys(a, why, sizeof why) == 0) {
            memcpy(a->seed, sk, 32);
        } else {
            memcpy(a->pub, old_pub, 32);
            log_warning("audit: signing key v%u is current in the keyring but not published "
                        "(%s): checkpoints stay signed with the previous key until a restart",
                        v, why);
        }
    }
    pthread_mutex_unlock(&a->wmu);
    return v;
}

int audit_retire_key(audit *a, uint32_t version, char *err, size_t errlen)
{
    pthread_mutex_lock(&a->wmu);
    int rc = keyring_retire(a->kr, KR_AUDIT, version, err, errlen);
    pthread_mutex_unlock(&a->wmu);
    return rc;
}
