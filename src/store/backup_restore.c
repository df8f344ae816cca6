/*
 * backup_restore: a backup back into a data directory (see backup.h).
 *
 * Order, so a bad backup leaves nothing behind: the target must be empty; the whole file
 * is verified (signature, checksums, every value opening); only then is anything written:
 * the keyring first, then the parts, then the durable log, built frame by frame from the
 * keyspace stream (the frames are the journal operations the log replays at start-up).
 * A failure after writing started removes what was written.
 *
 * Nonces: the backup's keyring carries the nonce reservations of the moment it was taken,
 * and the original server goes on sealing above them. If the restored copy sealed with the
 * same key versions it would reuse (key, nonce) pairs, which breaks AES-GCM. So every
 * sealing purpose (values, log, audit, backup) gets a new version here, and the copy seals
 * only with keys the original never had; old versions stay so existing values open.
 */
#include "backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/aof.h"
#include "store/seal.h"
#include "util/mem.h"

typedef struct {
    const backup_restore_opts *o;   /* where things go */
    aof *log;                       /* the new log */
    unsigned long long since_flush; /* bytes appended since the last flush */
} rs;

static int write_new_file(const char *path, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "cannot sync %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int on_part(void *ud, const char *name, const uint8_t *p, size_t len, char *err,
                   size_t errlen)
{
    rs *x = ud;
    char path[4096];
    if (strcmp(name, "users.acl") == 0) {
        snprintf(path, sizeof path, "%s/users.acl", x->o->data_dir);
    } else if (strcmp(name, "totp.floor") == 0) {
        /* No TOTP code accepted by the original is accepted again by the copy. */
        snprintf(path, sizeof path, "%s/totp.floor", x->o->data_dir);
    } else if (strcmp(name, "policy") == 0) {
        if (x->o->policy_path)
            snprintf(path, sizeof path, "%s", x->o->policy_path);
        else
            snprintf(path, sizeof path, "%s/policy.conf", x->o->data_dir);
    } else {
        return 0; /* a part this version does not know: verified, not restored */
    }
    return write_new_file(path, p, len, err, errlen);
}

static int on_frame(void *ud, const uint8_t *f, size_t n, char *err, size_t errlen)
{
    rs *x = ud;
    if (x->o->tap && x->o->tap(x->o->ud, f, n, err, errlen) != 0) return -1;
    if (aof_append(x->log, f, n, err, errlen) != 0) return -1;
    x->since_flush += n;
    if (x->since_flush >= (8u << 20)) {
        x->since_flush = 0;
        if (aof_flush(x->log) != 0) {
            aof_status(x->log, err, errlen);
            return -1;
        }
    }
    return 0;
}

static int no_records(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    (void)p;
    (void)n;
    return -1; /* a new log has none */
}

/* Remove what a failed restore wrote (only the files it creates). */
static void undo(const backup_restore_opts *o, int made_dir)
{
    static const char *const names[] = {"keyring",
                                        "keyring.tmp",
                                        "keyring.restoring",
                                        "keyring.restoring.tmp",
                                        "users.acl",
                                        "policy.conf",
                                        "phidb.log",
                                        "phidb.log.rewrite",
                                        "phidb.lock",
                                        "totp.floor",
                                        NULL};
    char path[4096];
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", o->data_dir, names[i]);
        unlink(path);
    }
    if (o->policy_path) unlink(o->policy_path);
    if (made_dir) rmdir(o->data_dir);
}

int backup_restore(const char *path, const backup_keys *keys, const backup_restore_opts *o,
                   backup_info *info, char *err, size_t errlen)
{
    if (!backup_dir_empty(o->data_dir)) {
        snprintf(err, errlen,
                 "%s is not empty: a restore goes into an empty directory only (nothing was "
                 "written)",
                 o->data_dir);
        return -1;
    }
    if (o->policy_path && access(o->policy_path, F_OK) == 0) {
        snprintf(err, errlen, "%s exists: a restore never overwrites a file", o->policy_path);
        return -1;
    }
    /* Everything is checked before anything is written (the keyring is kept from it). */
    keyring *kr = NULL;
    if (bk_read_pass(path, keys, 1, NULL, NULL, NULL, &kr, info, err, errlen) != 0) return -1;
    if (info->passphrase && !o->new_key_file) {
        keyring_close(kr);
        snprintf(err, errlen,
                 "a passphrase copy is restored under a new master key: give a master key file "
                 "(--master-key-file) for the restored directory");
        return -1;
    }

    if (o->before_write && o->before_write(o->ud, info, err, errlen) != 0) {
        keyring_close(kr);
        return -1;
    }
    int made_dir = 0;
    if (mkdir(o->data_dir, 0700) == 0)
        made_dir = 1;
    else if (errno != EEXIST) {
        keyring_close(kr);
        snprintf(err, errlen, "cannot create %s: %s", o->data_dir, strerror(errno));
        return -1;
    }
    rs x = {o, NULL, 0};
    sealer *logseal = NULL;
    backup_info again;
    int rc = -1;
    char krpath[4096], krtmp[4200];
    snprintf(krpath, sizeof krpath, "%s/keyring", o->data_dir);
    snprintf(krtmp, sizeof krtmp, "%s.restoring", krpath);
    /* The keyring takes its final name only once every sealing key has a new version: a
     * restore killed before that must not leave a keyring whose current versions (and
     * nonce counters) are the original's. Until then it is keyring.restoring. */
    if (keyring_save_as(kr, krtmp, err, errlen) != 0) goto fail;
    if (info->passphrase) {
        keyring_kek_source nk = {.key_file = o->new_key_file};
        if (keyring_rewrap(kr, &nk, err, errlen) != 0) goto fail;
    }
    static const int sealing[] = {KR_VALUES, KR_LOG, KR_AUDIT, KR_BACKUP};
    for (size_t i = 0; i < sizeof sealing / sizeof sealing[0]; i++)
        if (!keyring_rotate(kr, sealing[i], err, errlen)) goto fail;
    if (keyring_save_as(kr, krpath, err, errlen) != 0) goto fail;
    unlink(krtmp);
    logseal = seal_new(kr, KR_LOG);
    x.log = aof_open(o->data_dir, logseal, AOF_FSYNC_EVERYSEC, err, errlen);
    if (!x.log) goto fail;
    aof_load_stats st;
    if (aof_load(x.log, no_records, NULL, &st, err, errlen) != 0) goto fail;
    /* The frames and parts, from a second pass (every check but the value openings, done
     * above: the file is re-checked, in case it changed in between). */
    if (bk_read_pass(path, keys, 0, on_frame, on_part, &x, NULL, &again, err, errlen) != 0)
        goto fail;
    if (aof_flush(x.log) != 0) {
        aof_status(x.log, err, errlen);
        goto fail;
    }
    aof_close(x.log); /* fsyncs */
    x.log = NULL;
    seal_free(logseal);
    keyring_close(kr);
    return 0;
fail:
    if (x.log) aof_close(x.log);
    seal_free(logseal);
    if (kr) keyring_close(kr);
    undo(o, made_dir);
    return rc;
}
