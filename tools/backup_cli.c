/*
 * backup_cli: `phidb backup DIR [--to PATH] [--passphrase-file F] [--no-verify]` and
 * `phidb backup verify PATH [--from DIR | --master-key-file F] [--passphrase-file F]`.
 *
 * A data directory whose server is running (its lock is held) is backed up by the server
 * itself: the tool connects as admin (TLS, the directory's CA, client certificate and
 * admin.password, as the tests do) and runs PHI.BACKUP, so the copy is online and
 * consistent while clients are served. When the server is stopped, the tool takes the lock
 * (no server can start meanwhile), loads the durable log into memory and writes the backup
 * itself through the same snapshot and writer. Either way the backup is verified (opened
 * again end to end) unless --no-verify.
 *
 * Output names files and counts, never keys or values. Exit: 0 ok, 1 failed, 2 usage.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/audit_seg.h"
#include "restore.h"
#include "store/aof.h"
#include "store/backup.h"
#include "store/db.h"
#include "store/seal.h"
#include "tools.h"
#include "tool_audit.h"
#include "toolutil.h"
#include "util/buf.h"
#include "util/strutil.h"

#define PROG "phidb backup"

static int usage(FILE *out)
{
    fprintf(out,
            "usage: phidb backup DIR [--to PATH] [--passphrase-file F] [--no-verify]\n"
            "       phidb backup verify PATH [--from DIR | --master-key-file F] "
            "[--passphrase-file F]\n"
            "  DIR: the directory made by phidb init (running or stopped)\n"
            "  --to: the backup file (default: backup-dir/phidb-<UTC time>.phib)\n"
            "  --passphrase-file: make an off-site copy that this passphrase opens (0600 file,\n"
            "                     at least %d characters) instead of the master key\n",
            BACKUP_PASSPHRASE_MIN);
    return 2;
}

void restore_print_info(const char *path, const backup_info *i)
{
    time_t t = (time_t)(i->created_ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("  file: %s (%llu bytes)\n  id: %s, point: %s, made by: %s\n"
           "  sealed for: %s\n"
           "  keys: %llu (strings %llu, hashes %llu with %llu fields, %llu expiring)\n"
           "  parts:",
           path, i->counts.bytes, i->id, when, *i->made_by ? i->made_by : "?",
           i->passphrase ? "its passphrase (off-site copy)" : "the master key", i->counts.keys,
           i->counts.strings, i->counts.hashes, i->counts.fields, i->counts.expires);
    for (int k = 0; k < i->nparts; k++)
        printf(" %s", i->parts[k]);
    printf("%s\n  signed by Ed25519 key %s\n  audit chain head: %s\n", i->nparts ? "" : " none",
           i->sign_pub, *i->audit_head ? i->audit_head : "(none recorded in the manifest)");
}

/* ---- verify ---- */

int restore_keys_from_args(const char *prog, const char *from, const char *mkf, const char *ppfile,
                           backup_keys *k, config **cfg, char *pp, size_t pplen)
{
    memset(k, 0, sizeof *k);
    *cfg = NULL;
    if (from) {
        *cfg = tool_load_config(prog, from);
        if (!*cfg) return -1;
        k->kek = tool_kek_source(*cfg);
    } else if (mkf) {
        k->kek.key_file = mkf;
    }
    if (ppfile) {
        if (tool_read_passphrase(prog, ppfile, pp, pplen) != 0) return -1;
        k->passphrase = pp;
    } else if (getenv("PHIDB_BACKUP_PASSPHRASE")) {
        snprintf(pp, pplen, "%s", getenv("PHIDB_BACKUP_PASSPHRASE"));
        k->passphrase = pp;
    }
    if (!from && !mkf && !k->passphrase) {
        fprintf(stderr,
                "%s: give the master key (--from DIR or --master-key-file F) or the "
                "backup's passphrase (--passphrase-file F)\n",
                prog);
        return -1;
    }
    return 0;
}

static int verify_main(int argc, char **argv)
{
    const char *path = NULL, *from = NULL, *mkf = NULL, *ppf = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--master-key-file") == 0 && i + 1 < argc)
            mkf = argv[++i];
        else if (strcmp(argv[i], "--passphrase-file") == 0 && i + 1 < argc)
            ppf = argv[++i];
        else if (argv[i][0] == '-' || path)
            return usage(stderr);
        else
            path = argv[i];
    }
    if (!path) return usage(stderr);
    backup_keys k;
    config *c = NULL;
    char pp[1024], err[1024];
    if (restore_keys_from_args(PROG " verify", from, mkf, ppf, &k, &c, pp, sizeof pp) != 0)
        return 1;
    backup_info info;
    int rc = backup_verify(path, &k, &info, err, sizeof err);
    OPENSSL_cleanse(pp, sizeof pp);
    tool_audit_for(c ? c->path : NULL);
    backup_audit("verify", path, "phidb backup verify", rc == 0, rc ? err : NULL);
    config_free(c);
    if (rc != 0) {
        fprintf(stderr, "FAILED: %s\n", err);
        return 1;
    }
    printf("OK: backup verified in %lld ms (signature, checksums, every record and value)\n",
           info.took_ms);
    restore_print_info(path, &info);
    return 0;
}

/* ---- backup ---- */

static void default_path(const config *c, char *out, size_t len)
{
    char name[BACKUP_NAME_LEN];
    backup_default_name(clock_ms(), name, sizeof name);
    snprintf(out, len, "%s/%s", restore_backup_dir(c), name);
}

typedef struct {
    backup_writer *w;
    int failed;
    char err[512];
} emit_ctx;

static void emit(void *ud, const uint8_t *ops, size_t len)
{
    emit_ctx *x = ud;
    if (!x->failed && backup_writer_frame(x->w, ops, len, x->err, sizeof x->err) != 0)
        x->failed = 1;
}

static int load_frame(void *ud, const uint8_t *p, size_t n)
{
    char err[256];
    if (db_apply(ud, p, n, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": durable log: %s\n", err);
        return -1;
    }
    return 0;
}

int restore_add_file_part(backup_writer *w, const char *name, const char *path, char *err,
                          size_t errlen)
{
    FILE *f = path && *path ? fopen(path, "rb") : NULL;
    if (!f) return 0; /* absent: nothing to add */
    buf b = {0};
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    int rc = backup_writer_part(w, name, b.p, b.len, err, errlen);
    buf_wipe_free(&b);
    return rc;
}

/* The server is stopped: load the log and write the backup here. */
static int offline(config *c, const char *path, const char *pp, backup_report *rep, char *err,
                   size_t errlen)
{
    char krpath[PATH_MAX];
    snprintf(krpath, sizeof krpath, "%s/keyring", c->dir);
    keyring_kek_source src = tool_kek_source(c);
    keyring *k = keyring_open(krpath, &src, 0, err, errlen);
    if (!k) return -1;
    int rc = -1;
    sealer *vs = seal_new(k, KR_VALUES), *ls = seal_new(k, KR_LOG);
    db *d = db_new(vs);
    aof *a = aof_open(c->dir, ls, AOF_FSYNC_EVERYSEC, err, errlen);
    aof_load_stats st;
    backup_writer *w = NULL;
    if (!a) goto out;
    db_set_loading(d, 1);
    if (aof_load(a, load_frame, d, &st, err, errlen) != 0) goto out;
    db_set_loading(d, 0);
    db_set_now(d, clock_ms());
    char who[128];
    snprintf(who, sizeof who, "phidb backup (offline) by uid %u", (unsigned)getuid());
    backup_opts o = {.passphrase = pp, .made_by = who};
    w = backup_writer_open(path, k, &o, err, errlen);
    if (!w) goto out;
    emit_ctx x = {w, 0, ""};
    db_snapshot_begin(d, emit, &x);
    while (db_snapshot_step(d, 10000) && !x.failed)
        ;
    if (x.failed) {
        db_snapshot_abort(d);
        snprintf(err, errlen, "%s", x.err);
        goto out;
    }
    if (restore_add_file_part(w, "users.acl", c->aclfile, err, errlen) != 0) goto out;
    if (restore_add_file_part(w, "policy", restore_policy_file(c), err, errlen) != 0) goto out;
    char floorf[PATH_MAX];
    snprintf(floorf, sizeof floorf, "%s/totp.floor", c->dir);
    if (restore_add_file_part(w, "totp.floor", floorf, err, errlen) != 0) goto out;
    /* The audit chain head, as PHI.BACKUP records it ("<seq>:<sha256 hex>"): with no server
     * running (we hold the lock) the trail's head on disk is its last signed checkpoint,
     * audit.head, which a clean stop writes after the stop record; after a crash, records
     * past it are not covered. No audit.head (no trail yet): none. */
    char head[96] = "";
    uint64_t hseq;
    uint8_t hh[32];
    int hr = audit_head_read(c->audit_dir, &hseq, hh);
    if (hr < 0) {
        snprintf(err, errlen, "%s/audit.head cannot be read; run phidb audit verify", c->audit_dir);
        goto out;
    }
    if (hr == 1) {
        char hx[65];
        audit_hex(hh, 32, hx);
        snprintf(head, sizeof head, "%llu:%s", (unsigned long long)hseq, hx);
    }
    rc = backup_writer_close(w, *head ? head : NULL, rep, err, errlen);
    w = NULL;
out:
    if (w) backup_writer_abort(w);
    if (a) aof_close(a);
    db_free(d);
    seal_free(vs);
    seal_free(ls);
    keyring_close(k);
    return rc;
}

/* The server runs: PHI.BACKUP does it online, into path, or (path empty) under the server's
 * own default name in its own backup-dir, which may differ from the config file's when the
 * server was started with --backup-dir. path is set to the file written. */
static int online(config *c, char *path, size_t pathlen, const char *pp, char *err, size_t errlen)
{
    rclient *r = tool_admin_connect(PROG, c, 3600);
    if (!r) {
        snprintf(err, errlen, "the server holds the data directory and cannot be reached");
        return -1;
    }
    const char *argv[4] = {"PHI.BACKUP"};
    int argc = 1;
    if (*path) argv[argc++] = path;
    if (pp) {
        argv[argc++] = "PASSPHRASE";
        argv[argc++] = pp;
    }
    rreply *rep = rclient_call(r, argc, argv, err, errlen);
    rclient_close(r);
    if (!rep) return -1;
    int rc = 0;
    if (rep->type == RR_ERROR) {
        snprintf(err, errlen, "%s", rep->str);
        rc = -1;
    } else if (rep->type == RR_ARRAY) {
        printf("PHI.BACKUP:");
        for (size_t i = 0; i + 1 < rep->n; i += 2) {
            const rreply *v = rep->elem[i + 1];
            if (v->type == RR_INT)
                printf(" %s=%lld", rep->elem[i]->str, v->i);
            else
                printf(" %s=%s", rep->elem[i]->str, v->str ? v->str : "");
            if (strcmp(rep->elem[i]->str, "path") == 0 && v->str)
                snprintf(path, pathlen, "%s", v->str);
        }
        printf("\n");
    }
    rreply_free(rep);
    return rc;
}

int backup_cli_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return verify_main(argc - 1, argv + 1);
    const char *dirarg = NULL, *to = NULL, *ppf = NULL;
    int verify = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--passphrase-file") == 0 && i + 1 < argc)
            ppf = argv[++i];
        else if (strcmp(argv[i], "--no-verify") == 0)
            verify = 0;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(stdout) & 0;
        else if (argv[i][0] == '-' || dirarg)
            return usage(stderr);
        else
            dirarg = argv[i];
    }
    if (!dirarg) return usage(stderr);
    config *c = tool_load_config(PROG, dirarg);
    if (!c) return 1;
    char pp[1024] = "", path[PATH_MAX], err[1024];
    int rc = 1;
    if (ppf && tool_read_passphrase(PROG, ppf, pp, sizeof pp) != 0) goto out;
    long long t0 = clock_mono_ms();
    int lock = tool_lock_dir(PROG, c->dir);
    if (lock == -1) goto out;
    if (to) {
        snprintf(path, sizeof path, "%s", to);
    } else if (lock == -2) {
        path[0] = '\0'; /* the server names it, in its own backup-dir */
    } else {
        default_path(c, path, sizeof path);
        mkdir(restore_backup_dir(c), 0700);
    }
    if (*path && path[0] != '/') { /* the server resolves nothing relative to our cwd */
        char cwd[PATH_MAX], tmp[2 * PATH_MAX + 2];
        if (getcwd(cwd, sizeof cwd)) {
            snprintf(tmp, sizeof tmp, "%s/%s", cwd, path);
            if (strlen(tmp) >= sizeof path) {
                fprintf(stderr, PROG ": path too long\n");
                if (lock >= 0) close(lock);
                goto out;
            }
            memcpy(path, tmp, strlen(tmp) + 1);
        }
    }
    backup_report rep = {0};
    int ok;
    if (lock == -2) {
        printf("the server is running: backing up online through PHI.BACKUP\n");
        ok = online(c, path, sizeof path, *pp ? pp : NULL, err, sizeof err) == 0;
    } else {
        ok = offline(c, path, *pp ? pp : NULL, &rep, err, sizeof err) == 0;
        close(lock);
        tool_audit_for(c->path);
        backup_audit("backup", path, "phidb backup (offline)", ok, ok ? NULL : err);
    }
    if (ok && !*path) {
        snprintf(err, sizeof err, "PHI.BACKUP did not name the file it wrote");
        ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "FAILED: %s\n", err);
        goto out;
    }
    printf("OK: backup written in %lld ms: %s\n", clock_mono_ms() - t0, path);
    if (verify) {
        backup_keys k = {tool_kek_source(c), *pp ? pp : NULL, NULL};
        if (*pp) memset(&k.kek, 0, sizeof k.kek);
        backup_info info;
        if (backup_verify(path, &k, &info, err, sizeof err) != 0) {
            fprintf(stderr, "FAILED: the backup does not verify: %s\n", err);
            goto out;
        }
        printf("OK: verified in %lld ms\n", info.took_ms);
        restore_print_info(path, &info);
    }
    rc = 0;
out:
    OPENSSL_cleanse(pp, sizeof pp);
    config_free(c);
    return rc;
}
