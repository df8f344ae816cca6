/*
 * acl_file: the ACL file (see acl.h): loaded all or nothing by replaying each line's rules
 * on fresh users, saved atomically (temp file, fsync, rename, directory fsync), mode 0600.
 *
 * Subjects (patient ids) are sealed in the file (acl_set_sealer): a line holds
 * subject-sealed=<hex>, which loading opens and replays as subject=<id>. That form is a
 * file form only; ACL SETUSER does not take it (it would be a Syntax error there).
 */
#include "acl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "access/policy_totp.h"
#include "store/seal.h"
#include "util/args.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/strutil.h"

#define SUBJECT_AAD    "phidb/subject/v1"
#define SUBJECT_SEALED "subject-sealed="
#define SUBJECT_MAX    128 /* longest attribute value (acl_attr.c) */

void acl_set_sealer(acl *a, struct sealer *s)
{
    a->sealer = s;
}

size_t acl_plain_subjects(const acl *a)
{
    return a->plain_subjects;
}

uint32_t acl_user_subject_version(const acl_user *u)
{
    return u->subject_version;
}

/* Open the sealed subject hex (h, hl) of user into "subject=<id>" (a new string for the
 * argument list) and its key version. Returns 0, or -1 with err. */
static int open_subject(acl *a, const char *user, const char *h, size_t hl, char **rule,
                        size_t *rlen, uint32_t *version, char *err, size_t errlen)
{
    uint8_t sealed[SUBJECT_MAX + SEAL_OVERHEAD], plain[SUBJECT_MAX];
    size_t sl = hl / 2;
    int ok = a->sealer && hl % 2 == 0 && sl > SEAL_OVERHEAD && sl <= sizeof sealed &&
             str_unhex(h, sl, sealed) == 0;
    if (!a->sealer)
        snprintf(err, errlen,
                 "user '%s' has a sealed subject, and no values key was given to open it", user);
    else if (!ok)
        snprintf(err, errlen, "the sealed subject of user '%s' is not in the form phidb writes",
                 user);
    else if (seal_open(a->sealer, sealed, sl, (const uint8_t *)SUBJECT_AAD, sizeof SUBJECT_AAD - 1,
                       (const uint8_t *)user, strlen(user), plain) != 0) {
        snprintf(err, errlen,
                 "the sealed subject of user '%s' does not open (altered, moved from another "
                 "user, or sealed with a values key this keyring does not hold)",
                 user);
        ok = 0;
    }
    if (!ok || !a->sealer) return -1;
    seal_nonce_note(a->sealer, sealed, sl); /* later seals must not reuse its nonce */
    size_t pl = sl - SEAL_OVERHEAD;
    *rlen = 8 + pl;
    *rule = mem_alloc(*rlen + 1);
    memcpy(*rule, "subject=", 8);
    memcpy(*rule + 8, plain, pl);
    (*rule)[*rlen] = '\0';
    OPENSSL_cleanse(plain, sizeof plain);
    *version = seal_version(sealed, sl);
    return 0;
}

/* Replace each subject-sealed= argument of a line (user av->v[1]) by the subject= rule it
 * holds; count plaintext subject= arguments. Returns 0, or -1 with err. */
static int open_subjects(acl *a, args *av, uint32_t *version, size_t *plain, char *err,
                         size_t errlen)
{
    const size_t sl = sizeof SUBJECT_SEALED - 1;
    for (int i = 2; i < av->n; i++) {
        if (av->len[i] > 8 && strncasecmp(av->v[i], "subject=", 8) == 0) {
            (*plain)++;
            *version = 0;
        }
        if (av->len[i] < sl || strncasecmp(av->v[i], SUBJECT_SEALED, sl) != 0) continue;
        char *rule;
        size_t rlen;
        if (open_subject(a, av->v[1], av->v[i] + sl, av->len[i] - sl, &rule, &rlen, version, err,
                         errlen) != 0)
            return -1;
        explicit_bzero(av->v[i], av->len[i]);
        mem_free(av->v[i]);
        av->v[i] = rule;
        av->len[i] = rlen;
    }
    return 0;
}

/* Note the nonce of u's sealed TOTP secret (values key), as open_subject does a subject's:
 * only once it opens, so that a forged header cannot move the counter. */
static void note_totp_nonce(acl *a, const acl_user *u)
{
    const char *hex = u->attrs[ACL_ATTR_TOTP];
    uint8_t secret[POLICY_TOTP_SECRET_MAX], hdr[SEAL_HEADER];
    size_t n = 0;
    if (!a->sealer || !hex) return;
    if (policy_totp_unseal(a->sealer, u->name, hex, secret, sizeof secret, &n) == 0 &&
        str_unhex(hex, SEAL_HEADER, hdr) == 0)
        seal_nonce_note(a->sealer, hdr, SEAL_HEADER);
    OPENSSL_cleanse(secret, sizeof secret);
}

int acl_file_text(acl *a, buf *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < a->nusers; i++) {
        acl_user *u = a->users[i];
        const char *subj = u->attrs[ACL_ATTR_SUBJECT];
        acl_describe(a, u, out, a->sealer ? 2 : 1);
        u->subject_version = 0;
        if (subj && a->sealer) {
            size_t n = strlen(subj);
            uint8_t sealed[SUBJECT_MAX + SEAL_OVERHEAD];
            if (n > SUBJECT_MAX ||
                seal_seal(a->sealer, (const uint8_t *)subj, n, (const uint8_t *)SUBJECT_AAD,
                          sizeof SUBJECT_AAD - 1, (const uint8_t *)u->name, strlen(u->name),
                          sealed) != 0) {
                snprintf(err, errlen, "cannot seal the subject of user '%s' (values key)", u->name);
                return -1;
            }
            buf_puts(out, " " SUBJECT_SEALED);
            for (size_t k = 0; k < n + SEAL_OVERHEAD; k++)
                buf_printf(out, "%02x", sealed[k]);
            u->subject_version = seal_version(sealed, n + SEAL_OVERHEAD);
        }
        buf_putc(out, '\n');
    }
    return 0;
}

int acl_load_file(acl *a, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open ACL file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "ACL file %s is readable or writable by group or others (mode %03o); "
                 "run chmod 600 on it",
                 path, (unsigned)(st.st_mode & 0777));
        fclose(f);
        return -1;
    }
    /* Build the new set aside; replace the old one only when the whole file is good. */
    acl tmp = *a;
    tmp.users = NULL;
    tmp.nusers = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    size_t plain = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        args av;
        if (args_split(line, (size_t)len, &av) != 0) {
            snprintf(err, errlen, "%s:%d: unbalanced quotes", path, lineno);
            rc = -1;
            break;
        }
        if (av.n == 0) {
            args_free(&av);
            continue;
        }
        if (strcmp(av.v[0], "user") != 0 || av.n < 2) {
            snprintf(err, errlen, "%s:%d: lines must start with 'user <name>'", path, lineno);
            args_free(&av);
            rc = -1;
            break;
        }
        if (acl_find(&tmp, (const uint8_t *)av.v[1], av.len[1])) {
            snprintf(err, errlen, "%s:%d: duplicate user '%s'", path, lineno, av.v[1]);
            args_free(&av);
            rc = -1;
            break;
        }
        acl_op *op;
        char why[256];
        uint32_t version = 0;
        if (open_subjects(&tmp, &av, &version, &plain, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            args_free(&av);
            rc = -1;
            break;
        }
        if (acl_op_parse(&tmp, (const uint8_t *)av.v[1], av.len[1],
                         (const uint8_t *const *)(av.v + 2), av.len + 2, av.n - 2, &op, why,
                         sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            args_free(&av);
            rc = -1;
            break;
        }
        if (acl_op_needs_work(op)) acl_op_work(op); /* plaintext passwords in the file */
        if (acl_op_apply(&tmp, op, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            acl_op_free(op);
            args_free(&av);
            rc = -1;
            break;
        }
        acl_op_free(op);
        acl_user *u = acl_find(&tmp, (const uint8_t *)av.v[1], av.len[1]);
        if (u) u->subject_version = u->attrs[ACL_ATTR_SUBJECT] ? version : 0;
        if (u) note_totp_nonce(&tmp, u);
        args_free(&av);
    }
    if (line) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    fclose(f);
    if (rc != 0) {
        for (size_t i = 0; i < tmp.nusers; i++)
            acl_user_free(tmp.users[i]);
        mem_free(tmp.users);
        return -1;
    }
    /* Keep lock state across reloads: reloading must not reset a lockout. */
    for (size_t i = 0; i < tmp.nusers; i++) {
        acl_user *old =
            acl_find(a, (const uint8_t *)tmp.users[i]->name, strlen(tmp.users[i]->name));
        if (old) {
            tmp.users[i]->failures = old->failures;
            tmp.users[i]->locked_until = old->locked_until;
            tmp.users[i]->totp_step = old->totp_step; /* a reload must not allow a replay */
        }
    }
    for (size_t i = 0; i < a->nusers; i++)
        acl_user_free(a->users[i]);
    mem_free(a->users);
    a->users = tmp.users;
    a->nusers = tmp.nusers;
    a->next_user_id = tmp.next_user_id;
    a->plain_subjects = plain;
    a->generation++;
    return 0;
}

int acl_save_file(acl *a, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    buf out = {0};
    if (acl_file_text(a, &out, err, errlen) != 0) {
        buf_wipe_free(&out);
        close(fd);
        unlink(tmp);
        return -1;
    }
    size_t off = 0;
    int rc = 0;
    while (off < out.len) {
        ssize_t w = write(fd, out.p + off, out.len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    if (rc != 0) snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    close(fd);
    buf_wipe_free(&out);
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    (void)fsync_dir_of(path); /* make the rename itself durable (best effort, as before) */
    if (a->sealer) a->plain_subjects = 0;
    return 0;
}
