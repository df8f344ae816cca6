/*
 * aof_rewrite: compaction of the durable log (see aof.h). The caller feeds a
 * snapshot of the keyspace and every change made meanwhile into a new file,
 * DIR/phidb.log.rewrite, which aof_rewrite_commit renames over the log.
 *
 * Key decisions:
 * - Batches are sealed on the caller's thread (the sealer and the keyring's
 *   nonces are not shared with other threads); a writer thread does the pwrite
 *   of sealed bytes, the costly part (the kernel copies every byte into the
 *   page cache), so the event loop keeps serving clients meanwhile. The file
 *   belongs to that thread until the commit or abort joins it.
 * - Memory is bounded: the caller hands sealed bytes over when the thread is
 *   idle and keeps gathering meanwhile; past RW_AHEAD_MAX bytes waiting it waits
 *   for the thread (the disk is slower than the snapshot).
 * - A write error is kept by the thread and reported by the next hand-over or
 *   the commit; the compaction is then aborted (the active log is untouched).
 * - Where the thread cannot start, the caller writes itself, as before.
 */
#include "aof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util/log.h"

#define RW_AHEAD_MAX (8u * 1024 * 1024) /* sealed bytes waiting before the caller waits */

/* ---- the writer thread ---- */

static void *rw_main(void *arg)
{
    aof *a = arg;
    pthread_setname_np(pthread_self(), "phidb-rewrite");
    pthread_mutex_lock(&a->rw_mu);
    for (;;) {
        while (!a->rw_io_busy && !a->rw_stop)
            pthread_cond_wait(&a->rw_cv, &a->rw_mu);
        if (!a->rw_io_busy) break; /* stop, nothing left */
        unsigned long long off = a->rw_written;
        pthread_mutex_unlock(&a->rw_mu);
        size_t n = a->rw_io.len;
        errno = 0;
        size_t done = aof_pwrite_all(a->rw_fd, a->rw_io.p, n, off);
        int e = done < n ? (errno ? errno : EIO) : 0;
        pthread_mutex_lock(&a->rw_mu);
        a->rw_written += done;
        if (e && !a->rw_io_err) a->rw_io_err = e;
        a->rw_io.len = 0;
        a->rw_io_busy = 0;
        pthread_cond_broadcast(&a->rw_cv);
    }
    pthread_mutex_unlock(&a->rw_mu);
    return NULL;
}

static void rw_thread_start(aof *a)
{
    a->rw_io_busy = a->rw_io_err = a->rw_stop = 0;
    pthread_mutex_init(&a->rw_mu, NULL);
    pthread_cond_init(&a->rw_cv, NULL);
    a->rw_th_started = pthread_create(&a->rw_th, NULL, rw_main, a) == 0;
    if (!a->rw_th_started) {
        log_warning("durable log: no thread for the compaction's writes; the event loop "
                    "writes them");
        pthread_cond_destroy(&a->rw_cv);
        pthread_mutex_destroy(&a->rw_mu);
    }
}

/* Wait for the write in flight, then stop and join the thread. */
static void rw_thread_stop(aof *a)
{
    if (!a->rw_th_started) return;
    pthread_mutex_lock(&a->rw_mu);
    a->rw_stop = 1;
    pthread_cond_broadcast(&a->rw_cv);
    pthread_mutex_unlock(&a->rw_mu);
    pthread_join(a->rw_th, NULL);
    a->rw_th_started = 0;
    pthread_cond_destroy(&a->rw_cv);
    pthread_mutex_destroy(&a->rw_mu);
    buf_free(&a->rw_io);
}

static int rw_fail(aof *a, int e, char *err, size_t errlen)
{
    snprintf(err, errlen, "durable log: cannot write %s: %s", a->rw_path, aof_reason(e));
    return -1;
}

/* Write the sealed bytes in rw_out, or hand them to the thread. With wait, everything is
 * written when it returns. Returns 0 or -1 (err). */
static int rw_write_out(aof *a, int wait, char *err, size_t errlen)
{
    if (!a->rw_th_started) {
        size_t n = a->rw_out.len;
        if (!n) return 0;
        errno = 0;
        size_t done = aof_pwrite_all(a->rw_fd, a->rw_out.p, n, a->rw_written);
        a->rw_written += done;
        if (done < n) return rw_fail(a, errno ? errno : EIO, err, errlen);
        a->rw_out.len = 0;
        return 0;
    }
    pthread_mutex_lock(&a->rw_mu);
    for (;;) {
        if (a->rw_io_err) break;
        if (!a->rw_io_busy && a->rw_out.len) {
            buf t = a->rw_io; /* hand over; the thread's empty buffer is refilled here */
            a->rw_io = a->rw_out;
            a->rw_out = t;
            a->rw_io_busy = 1;
            pthread_cond_broadcast(&a->rw_cv);
        }
        int more = a->rw_io_busy || a->rw_out.len;
        if (!more || (!wait && a->rw_out.len < RW_AHEAD_MAX)) break;
        pthread_cond_wait(&a->rw_cv, &a->rw_mu);
    }
    int e = a->rw_io_err;
    pthread_mutex_unlock(&a->rw_mu);
    return e ? rw_fail(a, e, err, errlen) : 0;
}

/* ---- compaction ---- */

int aof_rewrite_begin(aof *a, char *err, size_t errlen)
{
    uint8_t h[AOF_HEADER_LEN];
    if (!a->ready) {
        snprintf(err, errlen, "durable log %s: not loaded", a->path);
        return -1;
    }
    if (a->rw_fd >= 0) {
        snprintf(err, errlen, "durable log: a rewrite is already in progress");
        return -1;
    }
    if (RAND_bytes(a->rw_id, AOF_ID_LEN) != 1) {
        snprintf(err, errlen, "durable log: no random bytes for the file id");
        return -1;
    }
    a->rw_fd = open(a->rw_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (a->rw_fd < 0) {
        snprintf(err, errlen, "durable log: cannot create %s: %s", a->rw_path, strerror(errno));
        return -1;
    }
    aof_header_make(a->rw_id, h);
    a->rw_out.len = 0;
    buf_append(&a->rw_out, h, sizeof h);
    a->rw_seq = 0;
    a->rw_written = 0;
    a->rw_records = 0;
    aof_batch_clear(&a->rw_batch);
    a->rw_batch.keep = 1;
    rw_thread_start(a);
    return 0;
}

int aof_rewriting(const aof *a)
{
    return a->rw_fd >= 0;
}

/* Seal the rewrite's batch into rw_out. Returns 0 or -1 (err). */
static int rw_close_batch(aof *a, char *err, size_t errlen)
{
    if (a->rw_batch.p.len == 0) return 0;
    if (aof_seal_batch(a->s, &a->rw_batch, &a->rw_out, a->rw_id, a->rw_seq + 1) != 0) {
        aof_seal_failed(err, errlen);
        return -1;
    }
    a->rw_seq++;
    return 0;
}

int aof_rewrite_append(aof *a, const uint8_t *payload, size_t len, char *err, size_t errlen)
{
    if (a->rw_fd < 0) {
        snprintf(err, errlen, "durable log: no rewrite in progress");
        return -1;
    }
    if (len > aof_part_max()) {
        if (aof_seal_chain(a->s, &a->rw_batch, &a->rw_out, a->rw_id, &a->rw_seq, payload, len) !=
            0) {
            aof_seal_failed(err, errlen);
            return -1;
        }
        a->rw_records++;
        return rw_write_out(a, 0, err, errlen);
    }
    if (a->rw_batch.p.len && a->rw_batch.p.len + 4 + len > AOF_BATCH_MAX &&
        rw_close_batch(a, err, errlen) != 0)
        return -1;
    if (aof_batch_add(a->s, &a->rw_batch, payload, len) != 0) {
        aof_seal_failed(err, errlen);
        return -1;
    }
    a->rw_records++;
    if (a->rw_batch.p.len >= AOF_BATCH_MAX && rw_close_batch(a, err, errlen) != 0) return -1;
    if (a->rw_out.len) return rw_write_out(a, 0, err, errlen); /* a sealed batch, about 1 MB */
    return 0;
}

int aof_rewrite_commit(aof *a, char *err, size_t errlen)
{
    if (a->rw_fd < 0) {
        snprintf(err, errlen, "durable log: no rewrite in progress");
        return -1;
    }
    if (rw_close_batch(a, err, errlen) != 0 || rw_write_out(a, 1, err, errlen) != 0) return -1;
    rw_thread_stop(a); /* everything is written: the file is the caller's again */
    if (fsync(a->rw_fd) != 0) {
        snprintf(err, errlen, "durable log: cannot fsync %s: %s", a->rw_path, aof_reason(errno));
        return -1;
    }
    if (flock(a->rw_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "durable log: cannot lock %s: %s", a->rw_path, strerror(errno));
        return -1;
    }
    if (rename(a->rw_path, a->path) != 0) {
        snprintf(err, errlen, "durable log: cannot rename %s over %s: %s", a->rw_path, a->path,
                 strerror(errno));
        return -1;
    }
    /* From here the new file is the log: switch even if the directory fsync fails, but then
     * the rename may not survive a crash, which is the sticky fsync error state. */
    int dir_err = aof_fsync_dir_of(a->path) != 0 ? (errno ? errno : EIO) : 0;
    size_t dropped = a->out.len - a->out_off + a->batch.p.len;
    aof_lock(a);
    while (a->th_busy)
        pthread_cond_wait(&a->cv, &a->mu);
    int old = a->fd;
    a->fd = a->rw_fd;
    a->epoch++;
    a->written = a->synced = a->rw_written;
    a->sync_err = dir_err;
    aof_unlock(a);
    a->sync_logged = 0;
    close(old);
    a->rw_fd = -1;
    memcpy(a->id, a->rw_id, AOF_ID_LEN);
    a->seq = a->rw_seq;
    a->appended = a->reserved = a->base = a->rw_written;
    /* Records still buffered for the old log are superseded: the caller mirrored their
     * effects into the rewrite. */
    a->out.len = a->out_off = 0;
    aof_batch_clear(&a->batch);
    a->batch.reserved = 0;
    a->format = AOF_FORMAT;
    a->write_err = a->space_err = 0;
    buf_free(&a->rw_out);
    a->rw_batch.keep = 0;
    buf_wipe_free(&a->rw_batch.p);
    if (dir_err) {
        aof_log_state(a);
        a->sync_logged = 1;
    }
    if (aof_reserve(a, a->appended, 1) != 0) {
        a->space_err = errno ? errno : EIO;
        aof_log_state(a);
    }
    log_notice("durable log %s rewritten: %llu records, %llu bytes%s", a->path, a->rw_records,
               a->rw_written, dropped ? " (buffered records of the old log superseded)" : "");
    return 0;
}

void aof_rewrite_abort(aof *a)
{
    if (a->rw_fd < 0) return;
    rw_thread_stop(a);
    close(a->rw_fd);
    a->rw_fd = -1;
    unlink(a->rw_path);
    buf_free(&a->rw_out);
    a->rw_batch.keep = 0;
    buf_wipe_free(&a->rw_batch.p);
    a->rw_batch.reserved = 0;
}
