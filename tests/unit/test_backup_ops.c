/*
 * test_backup_ops: restoring a backup into a data directory: refused into a non-empty
 * directory and (with nothing written) from a damaged file; the restored keyring has a new
 * version of every sealing key; the restored log loads the same keyspace; passphrase copies
 * restore under a new master key; the temporary files an interrupted backup leaves are
 * removed (only those, and never one a writer still holds).
 */

#include "backup_test.h"

static int load_frame(void *ud, const uint8_t *payload, size_t len)
{
    char err[256];
    return db_apply(ud, payload, len, err, sizeof err);
}

/* Open the restored directory (keyring with master key file mkf, log) and check its data. */
static void check_restored(const char *data, const char *mkf, int nstrings)
{
    char krp[256], err[512];
    snprintf(krp, sizeof krp, "%s/keyring", data);
    keyring_kek_source src = {mkf, NULL, NULL};
    keyring *k = keyring_open(krp, &src, 0, err, sizeof err);
    CHECK(k != NULL);
    if (!k) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    for (int p = 0; p < KR_NPURPOSES; p++) {
        int sealing = p == KR_VALUES || p == KR_LOG || p == KR_AUDIT || p == KR_BACKUP;
        CHECK_INT(keyring_current(k, p), keyring_current(kr, p) + (sealing ? 1 : 0));
    }
    sealer *v = seal_new(k, KR_VALUES), *l = seal_new(k, KR_LOG);
    db *d = db_new(v);
    aof *a = aof_open(data, l, AOF_FSYNC_EVERYSEC, err, sizeof err);
    CHECK(a != NULL);
    aof_load_stats st;
    db_set_loading(d, 1);
    CHECK_INT(aof_load(a, load_frame, d, &st, err, sizeof err), 0);
    db_set_loading(d, 0);
    db_set_now(d, 1700000000000LL);
    CHECK_INT(db_size(d), nstrings + nstrings / 4);
    for (int i = 0; i < nstrings; i += 7) {
        char key[32], want[64];
        int kl = snprintf(key, sizeof key, "s:%d", i);
        int wl = snprintf(want, sizeof want, MARKER "%d", i);
        db_entry *e = db_lookup(d, (uint8_t *)key, (size_t)kl);
        CHECK(e != NULL);
        if (!e) break;
        db_ref r = db_str_ref(d, e);
        uint8_t got[64];
        CHECK_INT(db_ref_open(d, &r, got), 0);
        CHECK(memcmp(got, want, (size_t)wl) == 0);
        CHECK_INT(db_get_expire(e), i % 10 == 0 ? 1900000000000LL : DB_NO_EXPIRE);
    }
    db_entry *h = db_lookup(d, (const uint8_t *)"h:3", 3);
    CHECK(h && db_hash_len(h) == 3);
    /* New writes seal with the new values key. */
    db_entry *e = db_str_set(d, (const uint8_t *)"x", 1, (const uint8_t *)"y", 1, DB_NO_EXPIRE, 0);
    CHECK(e != NULL);
    if (e) {
        db_ref r = db_str_ref(d, e);
        CHECK_INT(seal_version(r.p, r.len), keyring_current(k, KR_VALUES));
    }
    aof_close(a);
    db_free(d);
    seal_free(v);
    seal_free(l);
    keyring_close(k);
}

TEST(restore_master_key)
{
    setup();
    fill(1000);
    char path[128], out[128], users[192], err[512];
    snprintf(path, sizeof path, "%s/b.phib", dir);
    snprintf(out, sizeof out, "%s/restored", dir);
    backup_report rep;
    CHECK_INT(make_backup(path, NULL, &rep), 0);
    backup_keys k = master_keys();
    backup_restore_opts o = {.data_dir = out};
    backup_info info;
    int rc = backup_restore(path, &k, &o, &info, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(info.counts.keys, 1250);
    snprintf(users, sizeof users, "%s/users.acl", out);
    size_t n = 0;
    unsigned char *p = bt_read(users, &n);
    CHECK(p && n == strlen("user admin on #abc ~* +@all\n"));
    free(p);
    check_restored(out, keyfile, 1000);
    /* Not again into the same (now non-empty) directory. */
    CHECK(backup_restore(path, &k, &o, &info, err, sizeof err) != 0);
    CHECK(strstr(err, "not empty") != NULL);
    teardown();
}

TEST(restore_refuses_before_writing)
{
    setup();
    fill(500);
    char path[128], bad[128], out[128], err[512];
    snprintf(path, sizeof path, "%s/b.phib", dir);
    snprintf(bad, sizeof bad, "%s/bad.phib", dir);
    snprintf(out, sizeof out, "%s/restored", dir);
    backup_report rep;
    CHECK_INT(make_backup(path, NULL, &rep), 0);
    size_t n = 0;
    unsigned char *p = bt_read(path, &n);
    p[n - 500] ^= 0x40; /* late in the file: the last records and the manifest */
    bt_write(bad, p, n, 0600);
    free(p);
    backup_keys k = master_keys();
    backup_restore_opts o = {.data_dir = out};
    backup_info info;
    CHECK(backup_restore(bad, &k, &o, &info, err, sizeof err) != 0);
    CHECK(access(out, F_OK) != 0); /* nothing was written, not even the directory */
    /* A non-empty directory is refused before the file is even read. */
    mkdir(out, 0700);
    char f[192];
    snprintf(f, sizeof f, "%s/something", out);
    bt_write(f, "x", 1, 0600);
    CHECK(backup_restore(path, &k, &o, &info, err, sizeof err) != 0);
    CHECK(strstr(err, "not empty") != NULL);
    teardown();
}

TEST(restore_passphrase_copy)
{
    setup();
    fill(300);
    char path[128], out[128], nk[128], err[512];
    snprintf(path, sizeof path, "%s/pp.phib", dir);
    snprintf(out, sizeof out, "%s/restored", dir);
    snprintf(nk, sizeof nk, "%s/newkey", dir);
    const char *mk2 = unit_hex_key(1); /* another master key */
    bt_write(nk, mk2, strlen(mk2), 0600);
    backup_report rep;
    CHECK_INT(make_backup(path, "a long enough passphrase", &rep), 0);
    backup_keys k = {{NULL, NULL, NULL}, "a long enough passphrase", NULL};
    backup_restore_opts o = {.data_dir = out};
    backup_info info;
    CHECK(backup_restore(path, &k, &o, &info, err, sizeof err) != 0); /* needs a new key */
    CHECK(strstr(err, "master key") != NULL);
    CHECK(access(out, F_OK) != 0);
    o.new_key_file = nk;
    int rc = backup_restore(path, &k, &o, &info, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK_INT(rc, 0);
    check_restored(out, nk, 300);
    teardown();
}

/* A writer killed mid-backup leaves PATH.tmp: backup_remove_stale removes it, and leaves
 * other .tmp files, files not ending in .tmp, and the temporary file of a backup in progress
 * (its writer holds the file's lock, which also refuses a second writer of the same path). */
TEST(remove_stale_temp_files)
{
    setup();
    fill(50);
    char bdir[128], p[300], err[512];
    snprintf(bdir, sizeof bdir, "%s/backups", dir);
    CHECK_INT(mkdir(bdir, 0700), 0);
    CHECK_INT(backup_remove_stale(bdir, err, sizeof err), 0);
    backup_report rep;
    snprintf(p, sizeof p, "%s/done.phib", bdir);
    CHECK_INT(make_backup(p, NULL, &rep), 0);
    size_t n;
    unsigned char *whole = bt_read(p, &n);
    CHECK(whole && n > 8);
    /* What a kill leaves: the first part of the file under the temporary name. */
    snprintf(p, sizeof p, "%s/phidb-20250101T000000000Z.phib.tmp", bdir);
    bt_write(p, whole, n / 2, 0600);
    snprintf(p, sizeof p, "%s/other.phib.tmp", bdir); /* finished, not renamed: it stays */
    bt_write(p, whole, n, 0600);
    snprintf(p, sizeof p, "%s/notes.tmp", bdir); /* not a backup's */
    bt_write(p, "not a backup\n", 13, 0600);
    snprintf(p, sizeof p, "%s/done.phib.old", bdir); /* a backup, but not a .tmp */
    bt_write(p, whole, n, 0600);
    free(whole);
    /* A backup in progress (another process sharing backup-dir, here a second writer). */
    char busy[200];
    snprintf(busy, sizeof busy, "%s/busy.phib", bdir);
    backup_opts o = {.made_by = "unit test"};
    backup_writer *w = backup_writer_open(busy, kr, &o, err, sizeof err);
    CHECK(w != NULL);
    CHECK(backup_writer_open(busy, kr, &o, err, sizeof err) == NULL);
    CHECK(strstr(err, "another backup is writing") != NULL);
    snprintf(p, sizeof p, "%s.tmp", busy);
    CHECK_INT(access(p, F_OK), 0); /* the refused writer left the other's file alone */

    CHECK_INT(backup_remove_stale(bdir, err, sizeof err), 1);
    snprintf(p, sizeof p, "%s/phidb-20250101T000000000Z.phib.tmp", bdir);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/other.phib.tmp", bdir); /* a whole, signed backup */
    CHECK_INT(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/notes.tmp", bdir);
    CHECK_INT(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/done.phib.old", bdir);
    CHECK_INT(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/done.phib", bdir);
    CHECK_INT(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s.tmp", busy);
    CHECK_INT(access(p, F_OK), 0);
    backup_writer_abort(w);
    CHECK(access(p, F_OK) != 0);
    CHECK_INT(backup_remove_stale(bdir, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/missing", dir);
    CHECK_INT(backup_remove_stale(p, err, sizeof err), 0);
    teardown();
}

UNIT_MAIN(T(restore_master_key), T(restore_refuses_before_writing), T(restore_passphrase_copy),
          T(remove_stale_temp_files))
