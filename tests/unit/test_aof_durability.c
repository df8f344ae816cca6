/* Unit tests for aof durability: the always and everysec fsync policies (group commit, the
 * once-a-second thread, aof_synced), a failed fsync (injected) and its sticky error state, and
 * a full disk: RLIMIT_FSIZE failing a write part-way, and ENOSPC from a small tmpfs failing the
 * reservation; kill -9 in the middle of writing. Each of those runs in a child process. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aof_test.h"

static int fail_fdatasync; /* errno to fail with (0: the real call); atomic access */

static int (*real_fdatasync)(int); /* libc's, found before main (no lazy race) */

__attribute__((constructor)) static void find_fdatasync(void)
{
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
}

int fdatasync(int fd)
{
    int e = __atomic_load_n(&fail_fdatasync, __ATOMIC_SEQ_CST);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fdatasync(fd);
}

TEST(fsync_policies)
{
    setup();
    char err[512];
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    /* always: not synced until aof_flush, which fsyncs once per flush (group commit). */
    aof *a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
    unsigned long long f0 = aof_fsyncs(a);
    for (int i = 0; i < 10; i++)
        CHECK_INT(aof_append(a, (const uint8_t *)"abc", 3, err, sizeof err), 0);
    CHECK(!aof_synced(a));
    CHECK_INT(aof_flush(a), 0);
    CHECK(aof_synced(a));
    CHECK_INT(aof_fsyncs(a), f0 + 1);
    CHECK_INT(aof_flush(a), 0); /* nothing new: no fsync */
    CHECK_INT(aof_fsyncs(a), f0 + 1);
    CHECK_INT(aof_status(a, err, sizeof err), 0);

    /* everysec: synced once written; the thread fsyncs within about a second, at most once
     * a second. */
    aof_set_fsync(a, AOF_FSYNC_EVERYSEC);
    unsigned long long f1 = aof_fsyncs(a);
    struct timespec t0, t1, ms20 = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(aof_append(a, (const uint8_t *)"abc", 3, err, sizeof err), 0);
    CHECK(!aof_synced(a));
    CHECK_INT(aof_flush(a), 0);
    CHECK(aof_synced(a));
    double el = 0;
    int polls = 0;
    while (aof_fsyncs(a) == f1 && polls++ < 150) {
        nanosleep(&ms20, NULL);
        CHECK_INT(aof_append(a, (const uint8_t *)"abc", 3, err, sizeof err), 0);
        CHECK_INT(aof_flush(a), 0);
    }
    CHECK(aof_fsyncs(a) > f1);
    /* Keep writing for 1.2 s more: at most one fsync a second, plus the one above. */
    for (int i = 0; i < 60; i++) {
        nanosleep(&ms20, NULL);
        CHECK_INT(aof_append(a, (const uint8_t *)"abc", 3, err, sizeof err), 0);
        CHECK_INT(aof_flush(a), 0);
        aof_cron(a);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    unsigned long long done = aof_fsyncs(a) - f1;
    if (done < 1 || (double)done > el + 1.0)
        unit_fail(__FILE__, __LINE__, "%llu fsyncs in %.2f s", done, el);
    /* Back to always: the next flush fsyncs. */
    aof_set_fsync(a, AOF_FSYNC_ALWAYS);
    CHECK_INT(aof_append(a, (const uint8_t *)"abc", 3, err, sizeof err), 0);
    CHECK_INT(aof_flush(a), 0);
    CHECK(aof_synced(a));
    aof_close(a);
    teardown();
}

/* A failed fsync is sticky: the kernel may have dropped the pages, so appends stay refused
 * (and nothing reads as synced) until a rewrite writes a fresh log; retrying does not clear
 * it. Both the always path (caller's thread) and the everysec thread. */
TEST(fsync_failure)
{
    setup();
    char err[512];
    coll c = {0, 0, 0, len_of};
    aof_load_stats st;
    aof *a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
    append_n(a, 0, 5);
    uint8_t p[1024];
    gen(p, len_of(5), 5);
    CHECK_INT(aof_append(a, p, len_of(5), err, sizeof err), 0);
    __atomic_store_n(&fail_fdatasync, EIO, __ATOMIC_SEQ_CST);
    CHECK(aof_flush(a) != 0);
    __atomic_store_n(&fail_fdatasync, 0, __ATOMIC_SEQ_CST);
    CHECK(!aof_synced(a));
    CHECK(aof_status(a, err, sizeof err) != 0);
    CHECK(strstr(err, "fsync of") && strstr(err, "until a log rewrite succeeds"));
    CHECK(aof_append(a, p, 1, err, sizeof err) != 0);
    aof_cron(a);
    CHECK(aof_flush(a) != 0);
    CHECK(aof_status(a, err, sizeof err) != 0);
    /* The rewrite restores the guarantee: records 0..5 as the fresh state. */
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    for (unsigned i = 0; i < 6; i++) {
        gen(p, len_of(i), i);
        CHECK_INT(aof_rewrite_append(a, p, len_of(i), err, sizeof err), 0);
    }
    CHECK_INT(aof_rewrite_commit(a, err, sizeof err), 0);
    CHECK_INT(aof_status(a, err, sizeof err), 0);
    CHECK(aof_synced(a));
    append_n(a, 6, 2);

    /* everysec: the thread's failure shows within about a second. */
    aof_set_fsync(a, AOF_FSYNC_EVERYSEC);
    __atomic_store_n(&fail_fdatasync, EIO, __ATOMIC_SEQ_CST);
    append_n(a, 8, 1);
    struct timespec ms20 = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 150 && aof_status(a, err, sizeof err) == 0; i++)
        nanosleep(&ms20, NULL);
    __atomic_store_n(&fail_fdatasync, 0, __ATOMIC_SEQ_CST);
    CHECK(aof_status(a, err, sizeof err) != 0);
    CHECK(!aof_synced(a));
    aof_cron(a);
    CHECK(aof_append(a, p, 1, err, sizeof err) != 0);
    CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
    for (unsigned i = 0; i < 9; i++) {
        gen(p, len_of(i), i);
        CHECK_INT(aof_rewrite_append(a, p, len_of(i), err, sizeof err), 0);
    }
    CHECK_INT(aof_rewrite_commit(a, err, sizeof err), 0);
    append_n(a, 9, 3);
    aof_close(a);
    c = (coll){0, 0, 0, len_of};
    a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
    CHECK_INT(c.n, 12);
    CHECK_INT(c.bad, 0);
    aof_close(a);
    teardown();
}

/* ---- full disk ---- */

static size_t len_600(unsigned i)
{
    (void)i;
    return 600;
}

/* Append 600-byte records from *next until one is refused or max were taken; flush every
 * `every`. Returns the number accepted; err holds the refusal. */
static unsigned fill(aof *a, unsigned *next, unsigned max, unsigned every, int *flush_failed,
                     char *err, size_t errlen)
{
    uint8_t p[600];
    unsigned took = 0;
    *flush_failed = 0;
    while (took < max) {
        gen(p, sizeof p, *next);
        if (aof_append(a, p, sizeof p, err, errlen) != 0) break;
        (*next)++;
        took++;
        if (took % every == 0 && aof_flush(a) != 0) *flush_failed = 1;
    }
    return took;
}

/* A file size limit makes a write fail part-way (EFBIG): the log enters the error state,
 * appends are refused with a clear message, and once the limit is lifted aof_cron writes the
 * rest exactly (nothing lost, nothing doubled). Runs in a child, which owns the limit. */
TEST(full_disk_rlimit)
{
    setup();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char err[512];
        signal(SIGXFSZ, SIG_IGN);
        coll c = {0, 0, 0, len_600};
        aof_load_stats st;
        aof *a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
        struct rlimit old, lim;
        getrlimit(RLIMIT_FSIZE, &old);
        lim = old;
        lim.rlim_cur = 20000; /* not a multiple of a record: the write stops mid-record */
        setrlimit(RLIMIT_FSIZE, &lim);
        unsigned next = 0;
        int ff;
        unsigned took = fill(a, &next, 1000, 7, &ff, err, sizeof err);
        CHECK(ff);
        CHECK(took < 1000);
        CHECK(strstr(err, "file size limit reached") != NULL);
        CHECK(strstr(err, "writes are refused") != NULL);
        CHECK(strstr(err, logpath) != NULL);
        CHECK(!aof_synced(a));
        CHECK(aof_status(a, err, sizeof err) != 0);
        CHECK(aof_flush(a) != 0);
        aof_cron(a); /* still limited */
        CHECK(!aof_synced(a));
        struct stat sb;
        CHECK(stat(logpath, &sb) == 0 && sb.st_size == 20000);
        setrlimit(RLIMIT_FSIZE, &old);
        aof_cron(a);
        CHECK_INT(aof_status(a, err, sizeof err), 0);
        CHECK(aof_synced(a));
        took += fill(a, &next, 20, 5, &ff, err, sizeof err);
        CHECK(!ff);
        CHECK_INT(aof_flush(a), 0);
        aof_close(a);
        c = (coll){0, 0, 0, len_600};
        a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
        CHECK_INT(c.n, took);
        CHECK_INT(c.bad, 0);
        CHECK_INT(st.torn_bytes, 0);
        aof_close(a);
        _exit(unit_failures ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    teardown();
}

/* Enter a private mount namespace (as root, or through a user namespace). 0 or -1. */
static int private_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return -1;
        char m[64];
        int fd = open("/proc/self/setgroups", O_WRONLY);
        if (fd >= 0) {
            if (write(fd, "deny", 4) != 4) {
            }
            close(fd);
        }
        fd = open("/proc/self/uid_map", O_WRONLY);
        snprintf(m, sizeof m, "0 %u 1", (unsigned)uid);
        if (fd < 0 || write(fd, m, strlen(m)) < 0) return -1;
        close(fd);
        fd = open("/proc/self/gid_map", O_WRONLY);
        snprintf(m, sizeof m, "0 %u 1", (unsigned)gid);
        if (fd < 0 || write(fd, m, strlen(m)) < 0) return -1;
        close(fd);
    }
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* A really full filesystem (a 1 MB tmpfs): the reservation fails first, so appends are refused
 * while every record already accepted is still written; deleting a file lets aof_cron reserve
 * again and appends resume. Skipped where mount namespaces are not available. */
TEST(full_disk_enospc)
{
    setup();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char err[512], filler[160];
        if (private_mounts() != 0 || mount("tmpfs", data, "tmpfs", 0, "size=1m,mode=0700") != 0)
            _exit(77);
        snprintf(filler, sizeof filler, "%s/filler", data);
        uint8_t *z = calloc(1, 300 * 1024);
        spit(filler, z, 300 * 1024);
        free(z);
        coll c = {0, 0, 0, len_600};
        aof_load_stats st;
        aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        aof_set_prealloc(a, 128 * 1024);
        unsigned next = 0;
        int ff;
        unsigned took = fill(a, &next, 5000, 9, &ff, err, sizeof err);
        CHECK(!ff); /* every accepted record was written: its space was reserved */
        CHECK(took < 5000);
        CHECK(strstr(err, "durable log: no space left on device") != NULL);
        CHECK(strstr(err, "writes are refused until space is available") != NULL);
        CHECK_INT(aof_flush(a), 0);
        CHECK(aof_synced(a));
        CHECK(aof_status(a, err, sizeof err) != 0);
        aof_cron(a); /* still full */
        CHECK(aof_status(a, err, sizeof err) != 0);
        char e2[512];
        CHECK(aof_append(a, (const uint8_t *)"x", 1, e2, sizeof e2) != 0);
        unlink(filler);
        aof_cron(a);
        CHECK_INT(aof_status(a, err, sizeof err), 0);
        took += fill(a, &next, 100, 10, &ff, err, sizeof err);
        CHECK(!ff);
        aof_close(a);
        c = (coll){0, 0, 0, len_600};
        a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        CHECK_INT(c.n, took);
        CHECK_INT(c.bad, 0);
        aof_close(a);
        _exit(unit_failures ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
        printf("skip full_disk_enospc: no mount namespace here\n");
    else
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    teardown();
}

/* kill -9 in the middle of writing: every record acknowledged (flush returned 0) before the
 * kill is there after a reload, in order and intact; a torn tail, if any, is cut. */
TEST(kill_mid_write)
{
    setup();
    for (int round = 0; round < 3; round++) {
        int fds[2];
        if (pipe(fds) != 0) abort();
        unlink(logpath);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            coll c = {0, 0, 0, len_of};
            aof_load_stats st;
            aof *a = open_load(round == 1 ? AOF_FSYNC_ALWAYS : AOF_FSYNC_EVERYSEC, &c, &st);
            uint8_t p[1024];
            char err[512];
            for (unsigned i = 0;; i++) {
                gen(p, len_of(i), i);
                if (aof_append(a, p, len_of(i), err, sizeof err) != 0) _exit(3);
                if (i % 50 == 49) {
                    if (aof_flush(a) != 0) _exit(4);
                    unsigned acked = i + 1;
                    if (write(fds[1], &acked, sizeof acked) != sizeof acked) _exit(5);
                }
            }
        }
        close(fds[1]);
        struct timespec wait = {0, (30 + 40 * round) * 1000 * 1000};
        nanosleep(&wait, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        unsigned acked = 0, v;
        while (read(fds[0], &v, sizeof v) == sizeof v)
            acked = v;
        close(fds[0]);
        coll c = {0, 0, 0, len_of};
        aof_load_stats st;
        aof *a = open_load(AOF_FSYNC_EVERYSEC, &c, &st);
        CHECK(a != NULL);
        if (c.n < acked || c.bad)
            unit_fail(__FILE__, __LINE__, "round %d: %zu records (%zu bad), %u acknowledged", round,
                      c.n, c.bad, acked);
        printf("  round %d: %u acknowledged, %zu loaded, %llu torn bytes cut\n", round, acked, c.n,
               st.torn_bytes);
        aof_close(a);
    }
    teardown();
}

/* A compaction whose writes fail (its writer thread hits the file size limit): the error
 * reaches the caller by a later append or by the commit, which fails; after the abort the
 * active log is untouched and keeps taking appends. Runs in a child, which owns the limit. */
TEST(rewrite_write_fails)
{
    setup();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char err[512] = "";
        signal(SIGXFSZ, SIG_IGN);
        coll c = {0, 0, 0, len_of};
        aof_load_stats st;
        aof *a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
        append_n(a, 0, 50);
        struct rlimit old, lim;
        getrlimit(RLIMIT_FSIZE, &old);
        lim = old;
        lim.rlim_cur = 1500000; /* the rewrite's second megabyte does not fit */
        setrlimit(RLIMIT_FSIZE, &lim);
        CHECK_INT(aof_rewrite_begin(a, err, sizeof err), 0);
        uint8_t p[1024];
        int failed = 0;
        for (unsigned i = 0; i < 20000 && !failed; i++) {
            gen(p, len_of(i), i);
            failed = aof_rewrite_append(a, p, len_of(i), err, sizeof err) != 0;
        }
        if (!failed) failed = aof_rewrite_commit(a, err, sizeof err) != 0;
        CHECK(failed);
        CHECK(strstr(err, "cannot write") && strstr(err, "phidb.log.rewrite") &&
              strstr(err, "file size limit reached"));
        aof_rewrite_abort(a);
        CHECK(!aof_rewriting(a));
        char rw[160];
        snprintf(rw, sizeof rw, "%s.rewrite", logpath);
        CHECK(access(rw, F_OK) != 0);
        setrlimit(RLIMIT_FSIZE, &old);
        CHECK_INT(aof_status(a, err, sizeof err), 0);
        append_n(a, 50, 10);
        aof_close(a);
        c = (coll){0, 0, 0, len_of};
        a = open_load(AOF_FSYNC_ALWAYS, &c, &st);
        CHECK_INT(c.n, 60);
        CHECK_INT(c.bad, 0);
        aof_close(a);
        _exit(unit_failures ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    teardown();
}

UNIT_MAIN(T(fsync_policies), T(fsync_failure), T(full_disk_rlimit), T(full_disk_enospc),
          T(kill_mid_write), T(rewrite_write_fails))
