/* Unit tests for keyring and seal: sources of the master key, wrong keys, permissions,
 * nonce uniqueness across restarts, rotation, retirement, re-wrapping, AAD binding. */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: a generator that fails */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "store/keyring.h"
#include "store/seal.h"
#include "rand_fail.h"
#include "unit.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/phidb-kr-XXXXXX");
    if (!mkdtemp(dir)) abort();
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) abort();
}

static void write_key(const char *name, const char *hex, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", hex);
    fclose(f);
    chmod(path, mode);
}

#define K1 unit_hex_key(0) /* test master keys, made at run time */
#define K2 unit_hex_key(1)

TEST(create_open_wrong_key)
{
    setup();
    char kf[128], kr[128], err[512];
    write_key("mk", K1, 0600);
    write_key("mk2", K2, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    CHECK(keyring_open(kr, &src, 0, err, sizeof err) == NULL); /* no file, no create */
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    CHECK(k != NULL);
    for (int p = 0; p < KR_NPURPOSES; p++)
        CHECK_INT(keyring_current(k, p), 1);
    uint8_t key1[32];
    memcpy(key1, keyring_key(k, KR_VALUES, 1), 32);
    keyring_close(k);
    struct stat st;
    CHECK_INT(stat(kr, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    /* Reopen: same keys. */
    k = keyring_open(kr, &src, 0, err, sizeof err);
    CHECK(k && memcmp(keyring_key(k, KR_VALUES, 1), key1, 32) == 0);
    keyring_close(k);
    /* Wrong master key: refused with a clear message, file untouched. */
    char before[8192], after[8192];
    FILE *f = fopen(kr, "r");
    size_t nb = fread(before, 1, sizeof before, f);
    fclose(f);
    snprintf(kf, sizeof kf, "%s/mk2", dir);
    CHECK(keyring_open(kr, &src, 1, err, sizeof err) == NULL);
    CHECK(strstr(err, "wrong master key") != NULL);
    CHECK(strstr(err, "last wrapped with the master key from master-key-file") != NULL);
    f = fopen(kr, "r");
    size_t na = fread(after, 1, sizeof after, f);
    fclose(f);
    CHECK(na == nb && memcmp(before, after, nb) == 0);
    /* A readable key file or keyring is refused. */
    write_key("mk3", K1, 0644);
    snprintf(kf, sizeof kf, "%s/mk3", dir);
    CHECK(keyring_open(kr, &src, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "chmod 600") != NULL);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    chmod(kr, 0640);
    CHECK(keyring_open(kr, &src, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "chmod 600") != NULL);
    teardown();
}

/* Has process pid ended (no process, or a zombie waiting for its parent)? Waits up to 2 s. */
static int gone(int pid)
{
    for (int i = 0; i < 200; i++) {
        char path[64], st[256] = "";
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) return 1;
        size_t n = fread(st, 1, sizeof st - 1, f);
        fclose(f);
        st[n] = '\0';
        const char *p = strrchr(st, ')');
        if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return 1;
        usleep(10000);
    }
    return 0;
}

TEST(passphrase_and_command)
{
    setup();
    char kr[128], err[512], cmd[256];
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source pw = {NULL, "correct horse battery staple", NULL};
    keyring *k = keyring_open(kr, &pw, 1, err, sizeof err);
    CHECK(k != NULL);
    keyring_close(k);
    keyring_kek_source bad = {NULL, "wrong passphrase", NULL};
    CHECK(keyring_open(kr, &bad, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "wrong master key") != NULL);
    CHECK(strstr(err, "with the master key from a passphrase") != NULL);
    /* Re-wrap under a command-supplied key, then only that works. */
    k = keyring_open(kr, &pw, 0, err, sizeof err);
    snprintf(cmd, sizeof cmd, "echo %s", K2);
    keyring_kek_source cs = {NULL, NULL, cmd};
    CHECK_INT(keyring_rewrap(k, &cs, err, sizeof err), 0);
    keyring_close(k);
    CHECK(keyring_open(kr, &pw, 0, err, sizeof err) == NULL);
    k = keyring_open(kr, &cs, 0, err, sizeof err);
    CHECK(k != NULL);
    keyring_close(k);
    /* The command's exit status as a shell shows it (not the raw wait status, 768). */
    keyring_kek_source failing = {NULL, NULL, "exit 3"};
    CHECK(keyring_open(kr, &failing, 0, err, sizeof err) == NULL);
    CHECK(strcmp(err, "master-key-command exited with status 3") == 0);
    keyring_kek_source one = {NULL, NULL, "false"};
    CHECK(keyring_open(kr, &one, 0, err, sizeof err) == NULL);
    CHECK(strcmp(err, "master-key-command exited with status 1") == 0);
    keyring_kek_source killed = {NULL, NULL, "kill -TERM $$"};
    CHECK(keyring_open(kr, &killed, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "killed by signal 15") != NULL);
    keyring_kek_source missing = {NULL, NULL, "/nonexistent/phidb-key-helper"};
    CHECK(keyring_open(kr, &missing, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "could not be run (exit status 127") != NULL);
    /* A command that does not end (a KMS that does not answer; one that printed the key
     * and hangs) is stopped at the deadline with what it started: start-up held the data
     * directory's lock for good. */
    keyring_set_command_timeout_ms(300);
    char hcmd[256];
    snprintf(hcmd, sizeof hcmd, "echo %s; sleep 30 & echo $! > %s/pid; wait", K2, dir);
    keyring_kek_source hangs = {NULL, NULL, hcmd};
    CHECK(keyring_open(kr, &hangs, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "master-key-command did not finish within 1 s (stopped)") != NULL);
    char pidp[160];
    snprintf(pidp, sizeof pidp, "%s/pid", dir);
    FILE *pf = fopen(pidp, "r");
    int child = 0;
    CHECK(pf && fscanf(pf, "%d", &child) == 1 && child > 0);
    if (pf) fclose(pf);
    CHECK(child > 0 && gone(child)); /* its sleep was killed too */
    keyring_kek_source silent = {NULL, NULL, "exec >&-; sleep 30"};
    CHECK(keyring_open(kr, &silent, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "did not finish") != NULL);
    keyring_set_command_timeout_ms(0);
    k = keyring_open(kr, &cs, 0, err, sizeof err); /* a command that ends is still fine */
    CHECK(k != NULL);
    keyring_close(k);
    teardown();
}

TEST(seal_roundtrip_and_binding)
{
    setup();
    char kf[128], kr[128], err[512];
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    sealer *s = seal_new(k, KR_VALUES);
    const char *msg = "Jane Doe, MRN 12345";
    size_t n = strlen(msg);
    uint8_t sealed[128], opened[128];
    CHECK_INT(seal_seal(s, (const uint8_t *)msg, n, (const uint8_t *)"patient:1", 9,
                        (const uint8_t *)"name", 4, sealed),
              0);
    CHECK(memmem(sealed, n + SEAL_OVERHEAD, "Jane", 4) == NULL);
    CHECK_INT(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                        (const uint8_t *)"name", 4, opened),
              0);
    CHECK(memcmp(opened, msg, n) == 0);
    /* Moved to another key or field, or altered: refused. */
    CHECK(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:2", 9,
                    (const uint8_t *)"name", 4, opened) != 0);
    CHECK(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                    (const uint8_t *)"ssn", 3, opened) != 0);
    CHECK(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:", 8,
                    (const uint8_t *)"1name", 5, opened) != 0);
    sealed[SEAL_HEADER + 3] ^= 1;
    CHECK(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                    (const uint8_t *)"name", 4, opened) != 0);
    /* Another purpose's key cannot open it. */
    sealed[SEAL_HEADER + 3] ^= 1;
    sealer *other = seal_new(k, KR_LOG);
    CHECK(seal_open(other, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                    (const uint8_t *)"name", 4, opened) != 0);
    seal_free(other);
    /* Rotation: new seals use version 2, old items still open; after retiring v1 they don't. */
    CHECK_INT(keyring_rotate(k, KR_VALUES, err, sizeof err), 2);
    uint8_t s2[128];
    CHECK_INT(seal_seal(s, (const uint8_t *)msg, n, NULL, 0, NULL, 0, s2), 0);
    CHECK_INT(seal_version(s2, n + SEAL_OVERHEAD), 2);
    CHECK_INT(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                        (const uint8_t *)"name", 4, opened),
              0);
    CHECK(keyring_retire(k, KR_VALUES, 2, err, sizeof err) != 0); /* current: refused */
    CHECK_INT(keyring_retire(k, KR_VALUES, 1, err, sizeof err), 0);
    CHECK(seal_open(s, sealed, n + SEAL_OVERHEAD, (const uint8_t *)"patient:1", 9,
                    (const uint8_t *)"name", 4, opened) != 0);
    seal_free(s);
    keyring_close(k);
    /* Retirement persists. */
    k = keyring_open(kr, &src, 0, err, sizeof err);
    CHECK(k && keyring_key(k, KR_VALUES, 1) == NULL && keyring_key(k, KR_VALUES, 2) != NULL);
    keyring_close(k);
    teardown();
}

static int cmp12(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

TEST(nonces_unique_across_restarts)
{
    setup();
    char kf[128], kr[128], err[512];
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    enum { PER = 5000, RUNS = 4 };
    uint8_t *all = malloc(12 * PER * RUNS);
    for (int r = 0; r < RUNS; r++) {
        /* Each run is a "process": open, seal, then vanish without any orderly close (the
         * keyring file is all that survives, as after kill -9). */
        keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
        for (int i = 0; i < PER; i++)
            CHECK_INT(keyring_nonce(k, KR_VALUES, 1, all + 12 * (r * PER + i)), 0);
        keyring_close(k);
    }
    qsort(all, PER * RUNS, 12, cmp12);
    int dups = 0;
    for (int i = 1; i < PER * RUNS; i++)
        if (memcmp(all + 12 * (i - 1), all + 12 * i, 12) == 0) dups++;
    CHECK_INT(dups, 0);
    free(all);
    teardown();
}

/* A keyring file older than the data: nonces noted while loading the data raise the
 * counters, so no later seal reuses them (seal_nonce_note, seal_nonces_commit). */
TEST(nonces_above_the_data)
{
    setup();
    char kf[128], kr[128], old[128], err[512], cmd[512];
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    snprintf(old, sizeof old, "%s/keyring.old", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    uint8_t n0[12];
    CHECK_INT(keyring_nonce(k, KR_VALUES, 1, n0), 0); /* reserves the first block */
    keyring_close(k);
    snprintf(cmd, sizeof cmd, "cp -p %s %s", kr, old);
    CHECK_INT(system(cmd), 0);
    /* A later run seals items (nonces of the second block)... */
    k = keyring_open(kr, &src, 0, err, sizeof err);
    sealer *s = seal_new(k, KR_VALUES);
    uint8_t items[3][SEAL_OVERHEAD + 1];
    for (int i = 0; i < 3; i++)
        CHECK_INT(seal_seal(s, (const uint8_t *)"x", 1, NULL, 0, NULL, 0, items[i]), 0);
    seal_free(s);
    keyring_close(k);
    /* ... then the old keyring file comes back. */
    snprintf(cmd, sizeof cmd, "cp -p %s %s", old, kr);
    CHECK_INT(system(cmd), 0);
    k = keyring_open(kr, &src, 0, err, sizeof err);
    s = seal_new(k, KR_VALUES);
    seal_nonce_note(s, items[1], sizeof items[1]);
    seal_nonce_note(s, items[2], sizeof items[2]);
    seal_nonce_note(s, items[0], sizeof items[0]);
    char msg[200];
    CHECK_INT(seal_nonces_commit(s, msg, sizeof msg), 1);
    CHECK(strstr(msg, "values key version 1") != NULL);
    uint8_t next[SEAL_OVERHEAD + 1];
    CHECK_INT(seal_seal(s, (const uint8_t *)"y", 1, NULL, 0, NULL, 0, next), 0);
    CHECK(memcmp(next + 4, items[2] + 4, 12) > 0);        /* above the highest one seen */
    CHECK_INT(seal_nonces_commit(s, msg, sizeof msg), 0); /* nothing noted since */
    /* Notes below the counter, and nonces of another purpose, change nothing. */
    seal_nonce_note(s, items[0], sizeof items[0]);
    CHECK_INT(seal_nonces_commit(s, msg, sizeof msg), 0);
    uint64_t was;
    uint8_t foreign[12] = {0, 0, 0, KR_LOG, 0xff};
    CHECK_INT(keyring_nonce_seen(k, KR_VALUES, 1, foreign, &was), -1);
    CHECK_INT(keyring_nonce_seen(k, KR_VALUES, 99, items[0] + 4, &was), -1);
    seal_free(s);
    keyring_close(k);
    teardown();
}

/* A random generator that fails (RAND_bytes returns 0): no keyring is created, a rotation
 * fails with a clear error and changes nothing, instead of keys or salts left as zeros. */
TEST(random_failure)
{
    setup();
    char kf[128], kr[128], kr2[128], err[512] = "";
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    snprintf(kr2, sizeof kr2, "%s/keyring2", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    CHECK(k != NULL);
    struct stat before, after;
    CHECK_INT(stat(kr, &before), 0);
    CHECK_INT(RAND_set_rand_method(&rand_fail_method), 1);
    CHECK(keyring_open(kr2, &src, 1, err, sizeof err) == NULL);
    CHECK(strstr(err, "random generator") != NULL);
    CHECK(access(kr2, F_OK) != 0); /* nothing written */
    err[0] = '\0';
    CHECK_INT(keyring_rotate(k, KR_VALUES, err, sizeof err), 0);
    CHECK(strstr(err, "random generator") != NULL);
    CHECK_INT(keyring_current(k, KR_VALUES), 1);
    RAND_set_rand_method(NULL); /* OpenSSL's own again */
    CHECK_INT(stat(kr, &after), 0);
    CHECK(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
          before.st_mtim.tv_nsec == after.st_mtim.tv_nsec && before.st_ino == after.st_ino);
    CHECK_INT(keyring_rotate(k, KR_VALUES, err, sizeof err), 2);
    keyring_close(k);
    teardown();
}

/* A write command reserves the nonces it may take before it runs (seal_headroom): when the
 * keyring cannot be written, it is refused up front instead of failing part-way. */
TEST(headroom_reserves_before_use)
{
    setup();
    char kf[128], kr[128], err[512];
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    CHECK(k != NULL);
    if (!k) return;
    sealer *s = seal_new(k, KR_VALUES);
    CHECK_INT(keyring_rotate(k, KR_VALUES, err, sizeof err), 2); /* nothing reserved for v2 */
    struct rlimit old, none;
    getrlimit(RLIMIT_FSIZE, &old);
    none = old;
    none.rlim_cur = 0; /* no file can be written */
    signal(SIGXFSZ, SIG_IGN);
    uint8_t out[64];
    const uint8_t *a1 = (const uint8_t *)"k";
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &none), 0);
    int refused = seal_headroom(s, 3);
    int sealed_without = seal_seal(s, (const uint8_t *)"x", 1, a1, 1, NULL, 0, out);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_INT(refused, -1);
    CHECK(sealed_without != 0);
    CHECK_INT(seal_headroom(s, 3), 0); /* written now */
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &none), 0);
    int ok = 0;
    for (int i = 0; i < 3; i++)
        ok += seal_seal(s, (const uint8_t *)"x", 1, a1, 1, NULL, 0, out) == 0;
    int again = seal_headroom(s, 1000); /* still inside the block: no write needed */
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_INT(ok, 3);
    CHECK_INT(again, 0);
    CHECK_INT(seal_headroom(s, (1ULL << 22) + 10), 0); /* more than a block at once */
    seal_free(s);
    keyring_close(k);
    teardown();
}

/* fsync, wrapped (-Wl,--wrap=fsync in CMakeLists.txt): fails on directories when asked. */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static int fail_dir_fsync;
int __wrap_fsync(int fd)
{
    struct stat st;
    if (fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

/* A nonce reservation is made durable before its nonces are used: the keyring file's rename
 * too. When the directory cannot be synced, a crash could bring the previous file back with
 * a lower reservation, so the reservation (and the write that needed it) is refused. */
TEST(reservation_needs_the_directory_synced)
{
    setup();
    char kf[128], kr[128], err[512];
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    CHECK(k != NULL);
    if (!k) return;
    sealer *s = seal_new(k, KR_VALUES);
    CHECK_INT(keyring_rotate(k, KR_VALUES, err, sizeof err), 2); /* nothing reserved for v2 */
    fail_dir_fsync = 1;
    int refused = seal_headroom(s, 3);
    uint8_t out[64];
    int sealed_without = seal_seal(s, (const uint8_t *)"x", 1, NULL, 0, NULL, 0, out);
    fail_dir_fsync = 0;
    CHECK_INT(refused, -1);
    CHECK(sealed_without != 0);
    CHECK_INT(seal_headroom(s, 3), 0);
    CHECK_INT(seal_seal(s, (const uint8_t *)"x", 1, NULL, 0, NULL, 0, out), 0);
    seal_free(s);
    keyring_close(k);
    teardown();
}

/* A reservation that is missing, negative or absurd would restart or wrap the counter:
 * the keyring is refused as damaged. */
TEST(damaged_reservation_refused)
{
    setup();
    char kf[128], kr[128], err[512], cmd[600];
    write_key("mk", K1, 0600);
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    CHECK(k != NULL);
    uint8_t n0[12];
    CHECK_INT(keyring_nonce(k, KR_VALUES, 1, n0), 0);
    keyring_close(k);
    snprintf(cmd, sizeof cmd, "cp -p %s %s.good", kr, kr);
    CHECK_INT(system(cmd), 0);
    static const char *const bad[] = {"-5", "18446744073709551615", "\"x\"", NULL};
    for (int i = 0; bad[i]; i++) {
        snprintf(cmd, sizeof cmd,
                 "sed 's/\"reserved\": [0-9]*/\"reserved\": %s/' %s.good > %s", bad[i], kr,
                 kr);
        CHECK_INT(system(cmd), 0);
        err[0] = '\0';
        k = keyring_open(kr, &src, 0, err, sizeof err);
        CHECK(k == NULL);
        /* jansson itself refuses an integer beyond its range */
        CHECK(strstr(err, i == 1 ? "keyring" : "nonce reservation") != NULL);
        keyring_close(k);
    }
    teardown();
}

UNIT_MAIN(T(damaged_reservation_refused), T(reservation_needs_the_directory_synced), T(headroom_reserves_before_use),
          T(random_failure), T(create_open_wrong_key), T(passphrase_and_command),
          T(seal_roundtrip_and_binding), T(nonces_unique_across_restarts), T(nonces_above_the_data))
