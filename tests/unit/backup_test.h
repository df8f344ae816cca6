/*
 * backup_test: fixtures shared by test_backup.c and test_backup_ops.c: a temp directory
 * with a master key file and a keyring, a keyspace filled with known strings and hashes,
 * a backup made from it through the online snapshot, and file helpers.
 */
#ifndef BACKUP_TEST_H
#define BACKUP_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/aof.h"
#include "store/backup.h"
#include "store/db.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"

static char dir[64];      /* temp root */
static char keyfile[128]; /* dir/mk (the master key) */
static keyring *kr;       /* dir/keyring */
static sealer *vs;        /* values sealer */
static db *kdb;           /* the keyspace */

/* The public master key of the fuzz fixture (fuzz/aof_fixture.h, TEST MATERIAL ONLY): the
 * committed fuzz seeds (fuzz/corpus/backup/) are backups under it, and fuzz_seeds checks
 * they still verify. Every other test key is made at run time (unit_hex_key). */
static const char *MK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
#define MARKER "PLAINTEXT-MARKER-7f3a"

static inline void bt_write(const char *path, const void *p, size_t n, int mode)
{
    FILE *f = fopen(path, "w");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
    chmod(path, (mode_t)mode);
}

static inline void setup(void)
{
    char krp[128], err[512];
    snprintf(dir, sizeof dir, "/tmp/phidb-bk-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(keyfile, sizeof keyfile, "%s/mk", dir);
    bt_write(keyfile, MK, strlen(MK), 0600);
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    keyring_kek_source src = {keyfile, NULL, NULL};
    kr = keyring_open(krp, &src, 1, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "keyring: %s\n", err);
        abort();
    }
    vs = seal_new(kr, KR_VALUES);
    kdb = db_new(vs);
    db_set_now(kdb, 1700000000000LL);
}

static inline void teardown(void)
{
    char cmd[128];
    db_free(kdb);
    seal_free(vs);
    keyring_close(kr);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) abort();
}

/* n strings "s:<i>" = MARKER<i>, n/4 hashes "h:<i>" with 3 fields, every 10th key expiring. */
static inline void fill(int n)
{
    char k[64], v[128];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "s:%d", i);
        int vl = snprintf(v, sizeof v, MARKER "%d", i);
        db_str_set(kdb, (uint8_t *)k, (size_t)kl, (uint8_t *)v, (size_t)vl,
                   i % 10 == 0 ? 1900000000000LL : DB_NO_EXPIRE, 0);
    }
    for (int i = 0; i < n / 4; i++) {
        int kl = snprintf(k, sizeof k, "h:%d", i);
        for (int f = 0; f < 3; f++) {
            char fl[16];
            int fn = snprintf(fl, sizeof fl, "f%d", f);
            int vl = snprintf(v, sizeof v, MARKER "h%d.%d", i, f);
            db_hash_set(kdb, (uint8_t *)k, (size_t)kl, (uint8_t *)fl, (size_t)fn, (uint8_t *)v,
                        (size_t)vl);
        }
    }
}

typedef struct {
    backup_writer *w;
    int failed;
} bt_emit_ctx;

static inline void bt_emit(void *ud, const uint8_t *ops, size_t len)
{
    bt_emit_ctx *x = ud;
    char err[256];
    if (!x->failed && backup_writer_frame(x->w, ops, len, err, sizeof err) != 0) {
        fprintf(stderr, "frame: %s\n", err);
        x->failed = 1;
    }
}

/* Back up kdb (and a users part) into path. Returns 0 or -1. */
static inline int make_backup(const char *path, const char *passphrase, backup_report *rep)
{
    char err[512];
    backup_opts o = {.passphrase = passphrase, .made_by = "unit test"};
    backup_writer *w = backup_writer_open(path, kr, &o, err, sizeof err);
    if (!w) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    bt_emit_ctx x = {w, 0};
    if (db_snapshot_begin(kdb, bt_emit, &x) != 0) abort();
    while (db_snapshot_step(kdb, 1000))
        ;
    const char *users = "user admin on #abc ~* +@all\n";
    if (x.failed || backup_writer_part(w, "users.acl", (const uint8_t *)users, strlen(users), err,
                                       sizeof err) != 0) {
        backup_writer_abort(w);
        return -1;
    }
    if (backup_writer_close(w, NULL, rep, err, sizeof err) != 0) {
        fprintf(stderr, "close: %s\n", err);
        return -1;
    }
    return 0;
}

static inline unsigned char *bt_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)sz + 1);
    if (fread(p, 1, (size_t)sz, f) != (size_t)sz) abort();
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static inline backup_keys master_keys(void)
{
    backup_keys k = {{keyfile, NULL, NULL}, NULL, NULL};
    return k;
}

#endif
