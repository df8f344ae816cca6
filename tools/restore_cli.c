/*
 * restore_cli: `phidb restore PATH --to DIR [--from SRC | --master-key-file F]
 * [--passphrase-file F] [--port N]` and `phidb restore --drill PATH ...` (drill.c).
 *
 * DIR becomes a ready-to-run instance, like `phidb init` makes: phidb.conf, fresh TLS
 * certificates (a new private CA: certificates are not in backups), and DIR/data with the
 * restored keyring, users and log; the policy file when the backup has one. The users are
 * the backed-up ones, with their passwords. Master key: a backup sealed for the master key
 * keeps it (the restored phidb.conf names the same key file, or the same command); a
 * passphrase copy is restored under a new master key, DIR/master.key.
 *
 * Nothing is written until the whole backup has been verified, and DIR must be empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "initdir.h"
#include "restore.h"
#include "tools.h"
#include "tool_audit.h"
#include "toolutil.h"
#include "util/buf.h"
#include "util/strutil.h"

#define PROG "phidb restore"

const char *restore_backup_dir(const config *c)
{
    return c->backup_dir;
}

const char *restore_policy_file(const config *c)
{
    return c->policy_file && *c->policy_file ? c->policy_file : NULL;
}

static int usage(FILE *out)
{
    fprintf(out, "usage: phidb restore PATH --to DIR [--from SRC | --master-key-file F]\n"
                 "                     [--passphrase-file F] [--port N]\n"
                 "       phidb restore --drill PATH [--from SRC | --master-key-file F]\n"
                 "                     [--passphrase-file F] [--sample N]\n"
                 "  DIR must be empty or absent. SRC: the instance the backup came from (its\n"
                 "  phidb.conf names the master key). A passphrase copy (--passphrase-file) is\n"
                 "  restored under a new master key, DIR/master.key.\n");
    return 2;
}

typedef struct {
    const char *dir;      /* instance directory */
    int passphrase;       /* set by prepare: a passphrase copy */
    int made;             /* prepare created dir */
    backup_frame_fn *tap; /* the caller's frame tap (may be NULL) */
    void *ud;             /* its argument */
} prep;

static int tap_tramp(void *ud, const uint8_t *f, size_t n, char *err, size_t errlen)
{
    prep *p = ud;
    return p->tap(p->ud, f, n, err, errlen);
}

static int prepare(void *ud, const backup_info *info, char *err, size_t errlen)
{
    prep *p = ud;
    (void)err;
    (void)errlen;
    p->passphrase = info->passphrase;
    if (!info->passphrase) return 0;
    uint8_t mk[32];
    char mkhex[66], path[PATH_MAX];
    RAND_bytes(mk, sizeof mk);
    initdir_hex(mk, sizeof mk, mkhex);
    mkhex[64] = '\n';
    snprintf(path, sizeof path, "%s/master.key", p->dir);
    int rc = initdir_write_file(NULL, path, mkhex, 65, 0600);
    OPENSSL_cleanse(mk, sizeof mk);
    OPENSSL_cleanse(mkhex, sizeof mkhex);
    if (rc != 0) snprintf(err, errlen, "cannot write %s", path);
    return rc;
}

/* v as one quoted phidb.conf argument and the end of the line: quotes and backslashes
 * escaped, control characters (a newline would start another directive) as \xHH. */
static void conf_quote(buf *out, const char *v)
{
    buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_putc(out, '\\'), buf_putc(out, *p);
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(out, "\\x%02x", *p);
        else
            buf_putc(out, *p);
    }
    buf_puts(out, "\"\n");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0) remove(path);
    return 0;
}

/* Remove what a failed restore wrote: the directory was empty when the restore locked it,
 * so everything in it is the restore's; the directory goes too when the restore made it. A
 * half-written instance must not be taken for a restored one (it could even start). */
static void undo_restore(const char *dir, int made)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (made) rmdir(dir);
}

/* Make the instance directory if needed and lock it (flock on the directory, released when
 * the process ends, killed included) for the whole restore: a second restore into the same
 * directory would write over this one's files and unlink them when it fails. Returns the
 * locked descriptor, or -1 after saying why. */
static int lock_dir(const char *prog, const char *dir, int *made)
{
    *made = 0;
    if (mkdir(dir, 0700) == 0) {
        *made = 1;
    } else if (errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s (nothing was written)\n", prog, dir,
                strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open %s: %s (nothing was written)\n", prog, dir,
                strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "%s: another restore is writing into %s (nothing was written)\n", prog,
                dir);
        close(fd);
        return -1;
    }
    return fd;
}

int restore_instance(const char *prog, const char *path, const backup_keys *keys,
                     const char *master_key_file, const char *dir, int port, backup_frame_fn *tap,
                     void *ud, backup_info *info)
{
    char data[PATH_MAX], keyf[PATH_MAX], policy[PATH_MAX], err[1024];
    initdir_prog = prog;
    int made, lock = lock_dir(prog, dir, &made);
    if (lock < 0) return -1;
    if (!backup_dir_empty(dir)) {
        fprintf(stderr,
                "%s: %s is not empty: a restore goes into an empty directory only "
                "(nothing was written)\n",
                prog, dir);
        close(lock);
        return -1;
    }
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(keyf, sizeof keyf, "%s/master.key", dir);
    snprintf(policy, sizeof policy, "%s/policy.conf", dir);
    prep p = {dir, 0, made, tap, ud};
    backup_restore_opts o = {.data_dir = data,
                             .policy_path = policy,
                             .new_key_file = keyf,
                             .before_write = prepare,
                             .tap = tap ? tap_tramp : NULL,
                             .ud = &p};
    long long t0 = clock_mono_ms();
    int rc = backup_restore(path, keys, &o, info, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "FAILED: %s\n", err);
        undo_restore(dir, made);
        close(lock);
        return -1;
    }
    char tls[PATH_MAX];
    snprintf(tls, sizeof tls, "%s/tls", dir);
    if (initdir_mkdir(NULL, tls) != 0 || initdir_make_tls(NULL, dir) != 0) {
        fprintf(stderr,
                "FAILED: cannot make the TLS files of %s; what the restore wrote was "
                "removed\n",
                dir);
        undo_restore(dir, made);
        close(lock);
        return -1;
    }
    buf conf = {0};
    config_write_template(&conf, port);
    buf_printf(&conf, "# ---- restored by phidb restore from backup %s ----\n", info->id);
    if (p.passphrase || info->passphrase) {
        buf_puts(&conf, "master-key-file master.key\n");
    } else if (keys->kek.command) {
        buf_puts(&conf, "master-key-command ");
        conf_quote(&conf, keys->kek.command);
    } else if (keys->kek.passphrase) {
        buf_puts(&conf, "master-key-passphrase yes\n");
    } else {
        buf_puts(&conf, "master-key-file ");
        conf_quote(&conf, master_key_file);
    }
    if (access(policy, F_OK) == 0) buf_puts(&conf, "policy-file policy.conf\n");
    char cpath[PATH_MAX];
    snprintf(cpath, sizeof cpath, "%s/phidb.conf", dir);
    int bad = initdir_write_file(NULL, cpath, conf.p, conf.len, 0600);
    buf_free(&conf);
    if (bad) {
        fprintf(stderr, "FAILED: cannot write %s; what the restore wrote was removed\n", cpath);
        undo_restore(dir, made);
        close(lock);
        return -1;
    }
    info->took_ms = clock_mono_ms() - t0;
    close(lock);
    return 0;
}

int restore_cli_main(int argc, char **argv)
{
    const char *path = NULL, *to = NULL, *from = NULL, *mkf = NULL, *ppf = NULL;
    long port = 6380;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--drill") == 0) return drill_cli_main(argc, argv);
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--master-key-file") == 0 && i + 1 < argc)
            mkf = argv[++i];
        else if (strcmp(argv[i], "--passphrase-file") == 0 && i + 1 < argc)
            ppf = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            port = strtol(argv[++i], &end, 10);
            if (*end || port < 1 || port > 65535) return usage(stderr);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || path) {
            return usage(stderr);
        } else {
            path = argv[i];
        }
    }
    if (!path || !to) return usage(stderr);
    umask(077);
    backup_keys k;
    config *c = NULL;
    char pp[1024], mkabs[PATH_MAX] = "";
    if (restore_keys_from_args(PROG, from, mkf, ppf, &k, &c, pp, sizeof pp) != 0) return 1;
    const char *keyfile = k.kek.key_file;
    if (keyfile && !realpath(keyfile, mkabs)) {
        fprintf(stderr, PROG ": master key file %s: %s\n", keyfile, strerror(errno));
        config_free(c);
        return 1;
    }
    backup_info info;
    int rc = restore_instance(PROG, path, &k, mkabs, to, (int)port, NULL, NULL, &info);
    OPENSSL_cleanse(pp, sizeof pp);
    /* Recorded in the restored instance's trail (or, when the restore failed, in the
     * source's, if given). */
    tool_audit_for(rc == 0 ? to : (c ? c->path : NULL));
    backup_audit("restore", path, "phidb restore", rc == 0, rc ? "see the tool's output" : NULL);
    config_free(c);
    if (rc != 0) return 1;
    printf("OK: restored %llu keys in %lld ms into %s\n", info.counts.keys, info.took_ms, to);
    restore_print_info(path, &info);
    printf("Start it:  phidb-server %s/phidb.conf\n", to);
    return 0;
}
