/*
 * acl_file: the ACL file (see acl.h): loaded all or nothing by replaying each line's rules
 * on fresh users, saved atomically (temp file, fsync, rename, directory fsync), mode 0600.
 */
#include "acl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/args.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/strutil.h"

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
    for (size_t i = 0; i < a->nusers; i++) {
        acl_describe(a, a->users[i], &out, 1);
        buf_putc(&out, '\n');
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
    return 0;
}
