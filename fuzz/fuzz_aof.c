/*
 * Fuzz target for the durable log loader: the input is written as
 * DIR/phidb.log and then
 *   1. checked offline (aof_check),
 *   2. opened and loaded (aof_load: torn tails are cut, damage refused),
 *   3. after a successful load, one record is appended and the log reloaded,
 *   4. repaired (aof_repair) when damaged, and checked again.
 * Beyond "no crash, no leak, no read out of bounds", the results must agree:
 * check and load see the same records and the same torn tail; a good load
 * accounts for every byte (accepted + cut = file size); a loaded log accepts
 * an append and reloads with one more record; a repaired log checks good.
 *
 * The keyring is the fixed one of fuzz/aof_fixture.h (so the seed corpus of
 * real logs opens), written once per process into a temporary directory under
 * /tmp that is removed at exit. Preallocation is off, so inputs cost no disk.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof_fixture.h"
#include "store/aof.h"
#include "store/keyring.h"
#include "store/seal.h"

static char root[64];     /* temp directory: key, keyring, data/ */
static char data[96];     /* the log directory */
static char logpath[128]; /* data/phidb.log */
static keyring *kr;       /* the fixture keyring */
static sealer *ls;        /* its log sealer */

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

static void cleanup(void)
{
    char p[160];
    seal_free(ls);
    keyring_close(kr);
    unlink(logpath);
    snprintf(p, sizeof p, "%s/mk", root);
    unlink(p);
    snprintf(p, sizeof p, "%s/keyring", root);
    unlink(p);
    snprintf(p, sizeof p, "%s/keyring.tmp", root);
    unlink(p);
    rmdir(data);
    rmdir(root);
}

static void init(void)
{
    char mk[160], krp[160], err[512];
    snprintf(root, sizeof root, "/tmp/phidb-fuzz-aof-XXXXXX");
    if (!mkdtemp(root)) abort();
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(logpath, sizeof logpath, "%s/phidb.log", data);
    if (mkdir(data, 0700) != 0) abort();
    snprintf(mk, sizeof mk, "%s/mk", root);
    snprintf(krp, sizeof krp, "%s/keyring", root);
    put(mk, aof_fixture_master_key, strlen(aof_fixture_master_key));
    put(krp, aof_fixture_keyring, strlen(aof_fixture_keyring));
    keyring_kek_source src = {mk, NULL, NULL};
    kr = keyring_open(krp, &src, 0, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "fuzz_aof: fixture keyring: %s\n", err);
        abort();
    }
    ls = seal_new(kr, KR_LOG);
    atexit(cleanup);
}

/* Reads every payload byte (so a bad length would show under ASan). */
static int touch(void *arg, const uint8_t *p, size_t n)
{
    unsigned *sum = arg;
    for (size_t i = 0; i < n; i++)
        *sum += p[i];
    return 0;
}

/* Load the log at logpath; 0 with stats, or -1. */
static int load(aof **out, aof_load_stats *st)
{
    char err[512];
    unsigned sum = 0;
    aof *a = aof_open(data, ls, AOF_FSYNC_EVERYSEC, err, sizeof err);
    if (!a) abort(); /* the directory is fine, the file not empty: the open succeeds */
    aof_set_prealloc(a, 0);
    if (aof_load(a, touch, &sum, st, err, sizeof err) != 0) {
        if (!err[0]) abort();
        aof_close(a);
        *out = NULL;
        return -1;
    }
    if (st->torn_copy[0]) unlink(st->torn_copy); /* the cut bytes, kept aside */
    *out = a;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    char err[512];
    aof_check_report r;
    aof_load_stats st;
    aof *a;
    if (!kr) init();

    put(logpath, in, size);
    if (size == 0) {
        /* A log of 0 bytes (phidb writes none): refused by the check and by the open. */
        if (aof_check(logpath, ls, &r, err, sizeof err) >= 0 || !strstr(err, "empty")) abort();
        if ((a = aof_open(data, ls, AOF_FSYNC_EVERYSEC, err, sizeof err)) != NULL) abort();
        return 0;
    }
    int chk = aof_check(logpath, ls, &r, err, sizeof err);
    if (chk == 0 && (r.good_end != size || r.problem[0] || r.torn)) abort();
    if (chk == 1 && (r.good_end > size || !r.problem[0])) abort();
    if (chk < 0 && !err[0]) abort();

    int ld = load(&a, &st);
    if (ld == 0) {
        if (chk < 0 || st.records != r.records || st.bytes != r.good_end) abort();
        if (st.bytes + st.torn_bytes != size || (st.torn_bytes != 0) != r.torn) abort();
        /* A loaded log takes appends and reloads with them. */
        unsigned long long n = st.records;
        if (aof_append(a, in, size < 64 ? size : 64, err, sizeof err) != 0) abort();
        if (aof_flush(a) != 0) abort();
        aof_close(a);
        if (load(&a, &st) != 0 || st.records != n + 1 || st.torn_bytes != 0) abort();
        aof_close(a);
    } else if (chk == 0 || (chk == 1 && r.torn)) {
        abort(); /* a good file or a torn tail always loads */
    }

    put(logpath, in, size);
    if (size > 0 && aof_repair(logpath, ls, &r, err, sizeof err) == 0) {
        if (r.copy[0]) unlink(r.copy);
        /* Repaired: what is left checks clean, or nothing was good and the log is gone. */
        if (access(logpath, F_OK) == 0 ? aof_check(logpath, ls, &r, err, sizeof err) != 0
                                       : r.good_end != 0)
            abort();
    }
    unlink(logpath);
    return 0;
}
