/*
 * Fuzz target for the backup reader: the input is written as a backup file, then
 *   1. verified (backup_verify) with the fixture master key;
 *   2. when it verifies, restored (backup_restore) into an empty directory, which must
 *      succeed and leave a keyring and a log; when it does not verify, a restore must
 *      fail too and leave nothing behind.
 * Beyond "no crash, no leak, no read out of bounds": verify and restore agree, and a
 * refused restore writes nothing.
 *
 * The backups of the seed corpus (fuzz/corpus/backup/) embed keyrings wrapped under the
 * fixture master key of fuzz/aof_fixture.h (TEST MATERIAL ONLY). Passphrase copies are
 * refused without Argon2 work (no passphrase is given), so inputs stay fast.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof_fixture.h"
#include "store/backup.h"

static char root[64];     /* temp directory */
static char keyf[96];     /* the master key file */
static char input[96];    /* the input as a file */
static char target[96];   /* restore target */

static void put(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) abort();
        b += w;
        n -= (size_t)w;
    }
    close(fd);
}

static void clear_target(void)
{
    static const char *const names[] = {"keyring", "keyring.tmp", "users.acl", "policy.conf",
                                        "phidb.log", "phidb.lock", NULL};
    char p[160];
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", target, names[i]);
        unlink(p);
    }
    rmdir(target);
}

static void cleanup(void)
{
    clear_target();
    unlink(input);
    unlink(keyf);
    rmdir(root);
}

static void init(void)
{
    snprintf(root, sizeof root, "/tmp/phidb-fuzz-backup-XXXXXX");
    if (!mkdtemp(root)) abort();
    snprintf(keyf, sizeof keyf, "%s/mk", root);
    snprintf(input, sizeof input, "%s/in.phib", root);
    snprintf(target, sizeof target, "%s/restored", root);
    put(keyf, aof_fixture_master_key, strlen(aof_fixture_master_key));
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (!root[0]) init();
    put(input, in, size);
    backup_keys k = {{keyf, NULL, NULL}, NULL};
    backup_info info;
    char err[1024];
    int ok = backup_verify(input, &k, &info, err, sizeof err) == 0;
    if (!ok && strlen(err) == 0) abort(); /* a refusal always says why */
    backup_restore_opts o = {.data_dir = target};
    int rok = backup_restore(input, &k, &o, &info, err, sizeof err) == 0;
    if (ok != rok) abort(); /* verify and restore must agree */
    if (!rok && !backup_dir_empty(target)) abort(); /* a refused restore writes nothing */
    if (rok) {
        char p[160];
        snprintf(p, sizeof p, "%s/keyring", target);
        if (access(p, F_OK) != 0) abort();
        snprintf(p, sizeof p, "%s/phidb.log", target);
        if (access(p, F_OK) != 0) abort();
    }
    clear_target();
    return 0;
}
