/*
 * aof: the durable log: appending, durability, preallocation and error states
 * (see aof.h; compaction is in aof_rewrite.c, reading the log in aof_load.c).
 *
 * Key decisions:
 * - aof_append adds the payload to the batch of the loop iteration (format 2),
 *   which aof_flush seals once; the batch buffer holds key names and values in
 *   their stored (sealed) form for that long and is wiped when sealed. The
 *   nonce is reserved with the batch's first payload, so the step that can fail
 *   (the keyring writing its file) fails the command, not the later flush.
 *   A payload is accepted only once disk
 *   space for it is reserved (fallocate with FALLOC_FL_KEEP_SIZE, a chunk ahead
 *   of the end, renewed when less than half a chunk is left): a record that was
 *   accepted can always be written, and a full disk is reported to the command
 *   that would have needed the space instead of to a later write. KEEP_SIZE
 *   leaves the file size at the last record, so a crash never leaves
 *   preallocated zeros inside the log. A filesystem that cannot preallocate
 *   gets a warning once and falls back to detecting a full disk at write time.
 * - Writes are pwrite at the exact write position, so a retry after a partial
 *   or failed write neither drops nor duplicates a byte.
 * - Error states: a failed reservation (new appends refused; cleared when
 *   aof_cron reserves again), a failed write (new appends refused; buffered
 *   records kept and rewritten by aof_cron), a failed fsync. The last one is
 *   sticky until a rewrite commits: after a failed fsync the kernel may have
 *   dropped the dirty pages, so nothing written before it can be trusted to be
 *   on disk, and only a fresh log written from memory restores the guarantee.
 * - aof_synced: with always, everything appended is written and fsynced; with
 *   everysec, everything appended is written (the fsync follows within about a
 *   second, which is what everysec promises). aof_flush fails only in the write
 *   and fsync states: in the space state every accepted record had its space
 *   reserved, so it is written and the caller may release those replies.
 * - The everysec thread starts with the first flush that needs it, fsyncs at
 *   most once a second when something was written, and never touches an fd
 *   that is being replaced: a rewrite commit waits until it is out of
 *   fdatasync before closing the old file, and results for a replaced file
 *   (older epoch) are dropped.
 */
#include "aof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/log.h"
#include "util/fsutil.h"
#include "util/mem.h"

#define AOF_KEEP_BUF (4 * 1024 * 1024) /* output buffers larger than this are freed when empty */

/* ---- small helpers ---- */

long long aof_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *aof_reason(int e)
{
    switch (e) {
    case ENOSPC: return "no space left on device";
    case EDQUOT: return "disk quota exceeded";
    case EFBIG: return "file size limit reached";
    default: return strerror(e);
    }
}

/* What must happen before writes resume, for an errno. */
static const char *until(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT: return "space is available";
    case EFBIG: return "the file size limit is raised";
    default: return "the problem is fixed";
    }
}

size_t aof_pwrite_all(int fd, const uint8_t *p, size_t n, unsigned long long off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pwrite(fd, p + done, n - done, (off_t)(off + done));
        if (k < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (k == 0) {
            errno = EIO;
            break;
        }
        done += (size_t)k;
    }
    return done;
}

int aof_fsync_dir_of(const char *path)
{
    return fsync_dir_of(path);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = mem_alloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Forget a batch's entries (wiped: they hold key names). A large buffer is freed unless
 * the batch keeps it: a rewrite refills it at once, and a fresh one faults in every page. */
void aof_batch_clear(aof_batch *bt)
{
    if (bt->p.cap > AOF_KEEP_BUF && !bt->keep) {
        buf_wipe_free(&bt->p);
    } else if (bt->p.len) {
        OPENSSL_cleanse(bt->p.p, bt->p.len);
        bt->p.len = 0;
    }
}

void aof_lock(const aof *a)
{
    pthread_mutex_lock((pthread_mutex_t *)&a->mu);
}

void aof_unlock(const aof *a)
{
    pthread_mutex_unlock((pthread_mutex_t *)&a->mu);
}

/* Make room for a record of len plaintext bytes at the end of b and write its length prefix;
 * seqbe gets sequence number seq (big-endian, the record's AAD). Returns where the sealed
 * bytes go; the caller adds 4 + len + SEAL_OVERHEAD to b->len once they are there. */
static uint8_t *record_at(buf *b, size_t len, uint64_t seq, uint8_t seqbe[8])
{
    buf_reserve(b, 4 + len + SEAL_OVERHEAD);
    uint8_t *dst = b->p + b->len;
    put32(dst, (uint32_t)(len + SEAL_OVERHEAD));
    put32(seqbe, (uint32_t)(seq >> 32));
    put32(seqbe + 4, (uint32_t)seq);
    return dst + 4;
}

/* Seal payload as record seq of file id and add it (length prefix included) to b. 0 or -1. */
static int seal_into(sealer *s, buf *b, const uint8_t *id, uint64_t seq, const uint8_t *p,
                     size_t len)
{
    static const uint8_t none[1] = {0};
    uint8_t seqbe[8];
    uint8_t *dst = record_at(b, len, seq, seqbe);
    if (seal_seal(s, len ? p : none, len, id, AOF_ID_LEN, seqbe, sizeof seqbe, dst) != 0) return -1;
    b->len += 4 + len + SEAL_OVERHEAD;
    return 0;
}

/* Seal the batch bt as record seq of file id into b (length prefix included) and wipe it.
 * Returns 0, or -1 (bt kept, with a fresh nonce to be reserved before the next try). */
int aof_seal_batch(sealer *s, aof_batch *bt, buf *b, const uint8_t *id, uint64_t seq)
{
    if (!bt->reserved) {
        if (seal_reserve(s, bt->hdr) != 0) return -1;
        bt->reserved = 1;
    }
    size_t len = bt->p.len;
    uint8_t seqbe[8];
    uint8_t *dst = record_at(b, len, seq, seqbe);
    bt->reserved = 0; /* the nonce is spent whatever happens below */
    if (seal_seal_reserved(s, bt->hdr, bt->p.p, len, id, AOF_ID_LEN, seqbe, sizeof seqbe, dst) != 0)
        return -1;
    b->len += 4 + len + SEAL_OVERHEAD;
    aof_batch_clear(bt);
    return 0;
}

/* Add an entry (u32 length | payload) to bt, reserving its nonce when it is the first. */
int aof_batch_add(sealer *s, aof_batch *bt, const uint8_t *p, size_t len)
{
    if (!bt->reserved) {
        if (seal_reserve(s, bt->hdr) != 0) return -1;
        bt->reserved = 1;
    }
    uint8_t hdr[4];
    put32(hdr, (uint32_t)len);
    buf_append(&bt->p, hdr, 4);
    if (len) buf_append(&bt->p, p, len);
    return 0;
}

void aof_seal_failed(char *err, size_t errlen)
{
    int e = errno ? errno : EIO;
    snprintf(err, errlen,
             "durable log: cannot seal a record (the keyring cannot reserve nonces: %s)",
             strerror(e));
}

static size_t part_max = AOF_PART_MAX;

void aof_set_part_max(size_t n)
{
    part_max = n && n <= AOF_PART_MAX ? n : AOF_PART_MAX;
}

size_t aof_part_max(void)
{
    return part_max;
}

/* Seal part p[0..n) of a chain (more: AOF_ENTRY_MORE unless it is the last) as record seq
 * of file id, alone in it, into b. The plaintext is put where its ciphertext goes and sealed
 * in place: a large payload is copied once, not into a batch first. 0, or -1 (b unchanged). */
static int seal_part(sealer *s, buf *b, const uint8_t *id, uint64_t seq, const uint8_t *p, size_t n,
                     uint32_t more)
{
    uint8_t hdr[SEAL_HEADER], seqbe[8];
    if (seal_reserve(s, hdr) != 0) return -1;
    uint8_t *dst = record_at(b, 4 + n, seq, seqbe), *pt = dst + SEAL_HEADER;
    put32(pt, (uint32_t)n | more);
    memcpy(pt + 4, p, n);
    if (seal_seal_reserved(s, hdr, pt, 4 + n, id, AOF_ID_LEN, seqbe, sizeof seqbe, dst) != 0) {
        OPENSSL_cleanse(pt, 4 + n);
        return -1;
    }
    b->len += 4 + 4 + n + SEAL_OVERHEAD;
    return 0;
}

int aof_seal_chain(sealer *s, aof_batch *bt, buf *b, const uint8_t *id, uint64_t *seq,
                   const uint8_t *p, size_t len)
{
    /* The chain begins a record, so a chain cut short is cut off whole at that record. */
    if (bt->p.len) {
        if (aof_seal_batch(s, bt, b, id, *seq + 1) != 0) return -1;
        (*seq)++;
    }
    size_t parts = (len + part_max - 1) / part_max;
    buf_reserve(b, len + parts * (4 + 4 + SEAL_OVERHEAD)); /* one allocation, not doublings */
    for (size_t off = 0; off < len;) {
        size_t n = len - off > part_max ? part_max : len - off;
        if (seal_part(s, b, id, *seq + 1, p + off, n, off + n < len ? AOF_ENTRY_MORE : 0) != 0)
            return -1;
        (*seq)++;
        off += n;
    }
    return 0;
}

/* Seal the active log's batch into out. Returns 0 or -1. */
static int close_batch(aof *a)
{
    if (a->batch.p.len == 0) return 0;
    if (aof_seal_batch(a->s, &a->batch, &a->out, a->id, a->seq + 1) != 0) return -1;
    a->seq++;
    return 0;
}

/* ---- error states ---- */

/* Describe the current error state in err. Returns -1 in an error state, 0 when healthy. */
static int state_msg(const aof *a, char *err, size_t errlen)
{
    aof_lock(a);
    int se = a->sync_err;
    aof_unlock(a);
    if (se) {
        snprintf(err, errlen,
                 "durable log: fsync of %s failed (%s): writes are refused until a log rewrite "
                 "succeeds",
                 a->path, aof_reason(se));
        return -1;
    }
    if (a->write_err) {
        snprintf(err, errlen,
                 "durable log: write to %s failed (%s): writes are refused until %s "
                 "(%zu bytes waiting)",
                 a->path, aof_reason(a->write_err), until(a->write_err), a->out.len - a->out_off);
        return -1;
    }
    if (a->space_err) {
        snprintf(err, errlen, "durable log: %s (%s): writes are refused until %s",
                 aof_reason(a->space_err), a->path, until(a->space_err));
        return -1;
    }
    return 0;
}

void aof_log_state(const aof *a)
{
    char msg[512];
    if (state_msg(a, msg, sizeof msg) != 0) log_warning("%s", msg);
}

/* ---- preallocation ---- */

#define AOF_RESUME_ROOM (256 * 1024) /* free space that ends a full-disk state */

/* Make sure space up to end is reserved, reserving a chunk beyond it when less than half a
 * chunk is left (or always, with force). Returns 0, or -1 with errno. */
int aof_reserve(aof *a, unsigned long long end, int force)
{
    if (a->chunk == 0 || a->no_prealloc) return 0;
    if (!force && a->reserved >= end + a->chunk / 2) return 0;
    unsigned long long from = a->reserved > a->written ? a->reserved : a->written;
    unsigned long long to = end + a->chunk;
    if (to <= from) return 0;
    for (;;) {
        if (fallocate(a->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from)) == 0) break;
        if (errno == EINTR) continue;
        /* Short of a whole chunk (a small filesystem, or one nearly full): reserve less
         * ahead, down to what this write needs, so writes go on while there is room. */
        if (errno == ENOSPC && to > end && to > from) {
            unsigned long long ahead = (to - end) / 2;
            to = end + (ahead >= 4096 ? ahead : 0);
            if (to <= from) return 0; /* reserved far enough already */
            continue;
        }
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            a->no_prealloc = 1;
            log_warning("durable log %s: the filesystem cannot preallocate; a full disk will "
                        "show at write time instead of before a write is accepted",
                        a->path);
            return 0;
        }
        return -1;
    }
    a->reserved = to;
    return 0;
}

/* ---- writing and fsync ---- */

/* Write the unwritten part of out at the write position. Returns 0, or -1 with write_err set;
 * what was written is accounted for exactly and the rest stays buffered. */
static int write_out(aof *a)
{
    size_t n = a->out.len - a->out_off;
    if (n) {
        errno = 0;
        size_t done = aof_pwrite_all(a->fd, a->out.p + a->out_off, n, a->written);
        int e = errno ? errno : EIO;
        a->out_off += done;
        aof_lock(a);
        a->written += done;
        aof_unlock(a);
        if (done < n) {
            a->write_err = e;
            return -1;
        }
    }
    a->out.len = a->out_off = 0;
    if (a->out.cap > AOF_KEEP_BUF) buf_free(&a->out);
    return 0;
}

/* fdatasync the active log from the caller's thread. Returns 0, or -1 (sync_err set). */
static int sync_now(aof *a)
{
    unsigned long long target = a->written;
    int rc;
    do
        rc = fdatasync(a->fd);
    while (rc != 0 && errno == EINTR);
    int e = errno;
    aof_lock(a);
    if (rc == 0) {
        if (target > a->synced) a->synced = target;
        a->fsyncs++;
    } else if (!a->sync_err) {
        a->sync_err = e;
    }
    aof_unlock(a);
    if (rc != 0 && !a->sync_logged) {
        aof_log_state(a);
        a->sync_logged = 1;
    }
    return rc;
}

static unsigned long long synced_of(const aof *a)
{
    aof_lock(a);
    unsigned long long s = a->synced;
    aof_unlock(a);
    return s;
}

/* The everysec thread: fsync at most once a second when something was written. */
static void *fsync_main(void *arg)
{
    aof *a = arg;
    pthread_setname_np(pthread_self(), "phidb-fsync");
    pthread_mutex_lock(&a->mu);
    while (!a->th_stop) {
        if (a->policy == AOF_FSYNC_EVERYSEC && a->written > a->synced && !a->sync_err) {
            int fd = a->fd;
            unsigned long long target = a->written, ep = a->epoch;
            a->th_busy = 1;
            pthread_mutex_unlock(&a->mu);
            int rc;
            do
                rc = fdatasync(fd);
            while (rc != 0 && errno == EINTR);
            int e = errno;
            pthread_mutex_lock(&a->mu);
            a->th_busy = 0;
            pthread_cond_broadcast(&a->cv);
            if (ep == a->epoch) {
                if (rc == 0) {
                    if (target > a->synced) a->synced = target;
                    a->fsyncs++;
                } else if (!a->sync_err) {
                    a->sync_err = e; /* reported by aof_append, aof_status and aof_cron */
                }
            }
        }
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 1;
        while (!a->th_stop && pthread_cond_timedwait(&a->cv, &a->mu, &dl) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Start the everysec thread if it is not running (signals blocked in it: they are the main
 * thread's business). */
static void start_thread(aof *a)
{
    if (a->th_started || a->th_failed) return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&a->th, NULL, fsync_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        a->th_failed = 1;
        log_warning("durable log: cannot start the fsync thread (%s); fsyncing from the "
                    "periodic task instead",
                    strerror(rc));
        return;
    }
    a->th_started = 1;
}

/* ---- open and close ---- */

/* Create the log holding only a header with a new file id, atomically (temporary file, fsync,
 * rename, directory fsync), so a crash never leaves a half header. Returns 0 or -1 (err). */
static int create_fresh(aof *a, char *err, size_t errlen)
{
    uint8_t h[AOF_HEADER_LEN];
    char *tmp = join(a->dir, "phidb.log.tmp");
    int rc = -1;
    if (RAND_bytes(a->id, AOF_ID_LEN) != 1) {
        snprintf(err, errlen, "durable log: no random bytes for the file id");
        goto out_free;
    }
    aof_header_make(a->id, h);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "durable log: cannot create %s: %s", tmp, strerror(errno));
        goto out_free;
    }
    if (aof_pwrite_all(fd, h, sizeof h, 0) != sizeof h || fsync(fd) != 0) {
        snprintf(err, errlen, "durable log: cannot write %s: %s", tmp, aof_reason(errno));
        close(fd);
        goto out_unlink;
    }
    close(fd);
    if (rename(tmp, a->path) != 0 || aof_fsync_dir_of(a->path) != 0) {
        snprintf(err, errlen, "durable log: cannot create %s: %s", a->path, strerror(errno));
        goto out_unlink;
    }
    rc = 0;
    goto out_free;
out_unlink:
    unlink(tmp);
out_free:
    mem_free(tmp);
    return rc;
}

static void free_struct(aof *a)
{
    if (a->fd >= 0) close(a->fd);
    buf_free(&a->out);
    buf_free(&a->rw_out);
    buf_wipe_free(&a->batch.p);
    buf_wipe_free(&a->rw_batch.p);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    mem_free(a->dir);
    mem_free(a->path);
    mem_free(a->rw_path);
    mem_free(a);
}

aof *aof_open(const char *dir, sealer *s, enum aof_fsync policy, char *err, size_t errlen)
{
    aof *a = mem_calloc(sizeof *a);
    pthread_condattr_t ca;
    a->dir = mem_strdup(dir);
    a->path = join(dir, "phidb.log");
    a->rw_path = join(dir, "phidb.log.rewrite");
    a->s = s;
    a->fd = a->rw_fd = -1;
    a->policy = policy;
    a->chunk = AOF_DEFAULT_PREALLOC;
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);

    int fresh = 0;
    a->fd = open(a->path, O_RDWR | O_CLOEXEC);
    if (a->fd < 0 && errno != ENOENT) {
        snprintf(err, errlen, "durable log: cannot open %s: %s", a->path, strerror(errno));
        goto out_free;
    }
    if (a->fd >= 0) {
        struct stat st;
        if (fstat(a->fd, &st) != 0) {
            snprintf(err, errlen, "durable log: cannot stat %s: %s", a->path, strerror(errno));
            goto out_free;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "durable log: %s is not a regular file", a->path);
            goto out_free;
        }
        /* check-log --repair takes the same lock, so it never cuts a log in use; and nothing
         * below (leftover removal included) happens to a directory another process uses. */
        if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
            snprintf(err, errlen, "durable log: %s is in use by another process", a->path);
            goto out_free;
        }
        if (st.st_size == 0) {
            snprintf(err, errlen, "durable log: " AOF_EMPTY_MSG, a->path);
            goto out_free;
        }
    }
    if (a->fd < 0) {
        fresh = 1;
        int rc = create_fresh(a, err, errlen);
        if (rc != 0) goto out_free;
        a->fd = open(a->path, O_RDWR | O_CLOEXEC);
        if (a->fd < 0) {
            snprintf(err, errlen, "durable log: cannot open %s: %s", a->path, strerror(errno));
            goto out_free;
        }
        if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
            snprintf(err, errlen, "durable log: %s is in use by another process", a->path);
            goto out_free;
        }
    }
    if (unlink(a->rw_path) == 0) {
        log_warning("durable log: removed the unfinished rewrite %s", a->rw_path);
    } else if (errno != ENOENT) {
        snprintf(err, errlen, "durable log: cannot remove the unfinished rewrite %s: %s",
                 a->rw_path, strerror(errno));
        goto out_free;
    }
    char *tmp = join(dir, "phidb.log.tmp");
    unlink(tmp); /* a creation interrupted before its rename */
    mem_free(tmp);
    if (fresh) {
        a->ready = 1;
        a->format = AOF_FORMAT;
        a->appended = a->written = a->synced = a->reserved = a->base = AOF_HEADER_LEN;
    }
    return a;
out_free:
    free_struct(a);
    return NULL;
}

void aof_close(aof *a)
{
    if (!a) return;
    aof_rewrite_abort(a);
    if (a->ready) {
        aof_lock(a);
        int se = a->sync_err;
        aof_unlock(a);
        if (se) {
            log_warning("durable log %s: closing after a failed fsync", a->path);
        } else if (close_batch(a) != 0) {
            log_warning("durable log %s: closing with %zu bytes that could not be sealed", a->path,
                        a->batch.p.len);
        } else if (write_out(a) != 0) {
            log_warning("durable log %s: closing with %zu bytes that could not be written (%s)",
                        a->path, a->out.len - a->out_off, aof_reason(a->write_err));
        } else if (a->written > synced_of(a)) {
            sync_now(a);
        }
        /* Give back the preallocated space beyond the end (same size: ext4 and xfs free
         * blocks past EOF on truncate). */
        if (ftruncate(a->fd, (off_t)a->written) != 0)
            log_warning("durable log %s: cannot release preallocated space: %s", a->path,
                        strerror(errno));
    }
    if (a->th_started) {
        aof_lock(a);
        a->th_stop = 1;
        pthread_cond_broadcast(&a->cv);
        aof_unlock(a);
        pthread_join(a->th, NULL);
    }
    free_struct(a);
}

/* ---- appending ---- */

/* A payload over the part size, as a chain of records (format 2): all are buffered, or none
 * (their space is reserved first). */
static int append_chain(aof *a, const uint8_t *payload, size_t len, char *err, size_t errlen)
{
    unsigned long long parts = (len + part_max - 1) / part_max;
    unsigned long long rec = (unsigned long long)len + parts * (4 + 4 + SEAL_OVERHEAD);
    if (aof_reserve(a, a->appended + rec, 0) != 0) {
        a->space_err = errno ? errno : EIO;
        state_msg(a, err, errlen);
        log_warning("%s", err);
        return -1;
    }
    /* The batch gathered so far holds other writes, accepted already: it stays. */
    if (close_batch(a) != 0) goto fail;
    size_t out0 = a->out.len;
    uint64_t seq0 = a->seq;
    if (aof_seal_chain(a->s, &a->batch, &a->out, a->id, &a->seq, payload, len) != 0) {
        a->out.len = out0; /* never written: the caller keeps the payload and retries */
        a->seq = seq0;
        aof_batch_clear(&a->batch);
        goto fail;
    }
    a->appended += rec;
    a->used = 1;
    return 0;
fail:
    aof_seal_failed(err, errlen);
    return -1;
}

int aof_append(aof *a, const uint8_t *payload, size_t len, char *err, size_t errlen)
{
    if (!a->ready) {
        snprintf(err, errlen, "durable log %s: not loaded", a->path);
        return -1;
    }
    if (state_msg(a, err, errlen) != 0) return -1;
    /* Format 2 gathers the payloads of a loop iteration into one batch, sealed once by
     * aof_flush (or here, when it would grow past AOF_BATCH_MAX); a log written in format 1
     * keeps a sealed record per payload until a rewrite replaces it. */
    int v1 = a->format == 1;
    if (v1 && len > AOF_ENTRY_MAX) {
        snprintf(err, errlen,
                 "durable log: an entry of %zu bytes is over the limit of a log in format 1 "
                 "(written by an older phidb) until the next compaction (BGREWRITEAOF)",
                 len);
        return -1;
    }
    if (!v1 && len > part_max) return append_chain(a, payload, len, err, errlen);
    int full = !v1 && a->batch.p.len && a->batch.p.len + 4 + len > AOF_BATCH_MAX;
    int fresh = v1 || a->batch.p.len == 0 || full;
    unsigned long long rec =
        (v1 ? 0 : 4) + (unsigned long long)len + (fresh ? 4 + SEAL_OVERHEAD : 0);
    if (aof_reserve(a, a->appended + rec, 0) != 0) {
        a->space_err = errno ? errno : EIO;
        state_msg(a, err, errlen);
        log_warning("%s", err);
        return -1;
    }
    int rc;
    if (v1) {
        rc = seal_into(a->s, &a->out, a->id, a->seq + 1, payload, len);
        if (rc == 0) a->seq++;
    } else {
        rc = full ? close_batch(a) : 0;
        if (rc == 0) rc = aof_batch_add(a->s, &a->batch, payload, len);
    }
    if (rc != 0) {
        aof_seal_failed(err, errlen);
        return -1;
    }
    a->appended += rec;
    a->used = 1;
    return 0;
}

int aof_flush(aof *a)
{
    if (!a->ready) return 0;
    aof_lock(a);
    int se = a->sync_err;
    aof_unlock(a);
    if (se || a->write_err) return -1; /* aof_cron retries */
    if (close_batch(a) != 0) {
        a->write_err = EIO;
        log_warning("durable log %s: cannot seal %zu buffered bytes; retrying", a->path,
                    a->batch.p.len);
        return -1;
    }
    if (write_out(a) != 0) {
        aof_log_state(a);
        return -1;
    }
    if (a->policy == AOF_FSYNC_ALWAYS) {
        if (a->written > synced_of(a) && sync_now(a) != 0) return -1;
    } else if (a->written > synced_of(a)) {
        start_thread(a);
    }
    return 0;
}

unsigned long long aof_unwritten(const aof *a)
{
    aof_lock(a);
    unsigned long long n = a->appended - a->written;
    aof_unlock(a);
    return n;
}

int aof_synced(const aof *a)
{
    aof_lock(a);
    int r;
    if (a->sync_err)
        r = 0;
    else if (a->policy == AOF_FSYNC_ALWAYS)
        r = a->synced == a->appended;
    else
        r = a->written == a->appended;
    aof_unlock(a);
    return r;
}

void aof_cron(aof *a)
{
    if (!a || !a->ready) return;
    aof_lock(a);
    int se = a->sync_err;
    aof_unlock(a);
    if (se) {                              /* only a rewrite clears it */
        if (!a->sync_logged) aof_log_state(a); /* a failure of the everysec thread */
        a->sync_logged = 1;
        return;
    }
    if (a->write_err) {
        int was = a->write_err;
        if (close_batch(a) != 0 || write_out(a) != 0) return;
        a->write_err = 0;
        log_notice("durable log %s: writing again after: %s", a->path, aof_reason(was));
    }
    if (a->space_err) {
        int was = a->space_err;
        /* Room for more than the writes already accepted: reserving what is reserved
         * already would always succeed. */
        if (aof_reserve(a, a->appended + AOF_RESUME_ROOM, 1) == 0) {
            a->space_err = 0;
            log_notice("durable log %s: space reserved again after: %s; writes resume", a->path,
                       aof_reason(was));
        }
    }
    unsigned long long synced = synced_of(a);
    if (a->written <= synced) return;
    if (a->policy == AOF_FSYNC_ALWAYS) {
        sync_now(a);
    } else {
        start_thread(a);
        if (a->th_failed && mono_ms() - a->last_inline_ms >= 1000) {
            a->last_inline_ms = mono_ms();
            sync_now(a);
        }
    }
}

int aof_needs_rewrite(const aof *a)
{
    aof_lock(a);
    int se = a->sync_err;
    aof_unlock(a);
    return se != 0;
}

int aof_status(const aof *a, char *err, size_t errlen)
{
    return state_msg(a, err, errlen);
}

void aof_set_fsync(aof *a, enum aof_fsync policy)
{
    aof_lock(a);
    a->policy = policy;
    pthread_cond_broadcast(&a->cv);
    aof_unlock(a);
}

int aof_format(const aof *a)
{
    return a->format;
}

unsigned long long aof_size(const aof *a)
{
    return a->appended;
}

unsigned long long aof_base_size(const aof *a)
{
    return a->base;
}

unsigned long long aof_fsyncs(const aof *a)
{
    aof_lock(a);
    unsigned long long n = a->fsyncs;
    aof_unlock(a);
    return n;
}

void aof_set_prealloc(aof *a, unsigned long long chunk)
{
    a->chunk = chunk;
}
