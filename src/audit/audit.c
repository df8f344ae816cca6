/*
 * audit: the writer of the audit trail (see audit.h for the decisions, audit_seg.h and
 * docs/audit.md for the formats).
 *
 * Threads and hand-off: audit_append (owner thread) takes the mutex, gives the record the
 * next sequence number and formats its body (everything but the chain hash) straight into
 * `pending`. The writer thread swaps `pending` with an empty buffer, hashes each line with
 * its "prev" (the SHA-256 of the line before) to chain it, keeps the lines of one batch as
 * one block, and writes the block (compressed, sealed) to the current segment. Blocks hold
 * the lines without their prev member (segment format v2, audit_seg.h): the suffix is
 * written after the body only to be hashed in one piece, then overwritten by the final
 * '}'; each line's hash is kept beside the block for the chain state and the syslog sink,
 * which gets full lines. Checkpoints are queued
 * like records (so they take their place in the sequence) and signed when the writer
 * reaches them, over their seq and the hash of everything before them.
 *
 * Failure: a block that cannot be written stays in `blk` (its records are accepted and
 * must not be lost); a partial write is cut off again (ftruncate) so the file keeps whole
 * blocks; the module turns unhealthy and the writer retries every retry_ms. When the
 * retry succeeds health returns. If the file cannot even be cut back, the next attempt
 * starts a fresh segment.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zstd.h>

#include "audit/audit_int.h"
#include "audit/audit_seg.h"
#include "audit/audit_syslog.h"
#include "util/log.h"
#include "util/mem.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void audit_opts_default(audit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->segment_max_bytes = 64LL << 20;
    o->checkpoint_records = 1000;
    o->checkpoint_ms = 60000;
    o->retention_days = 2555;
    o->retry_ms = 1000;
    o->pending_max = 64u << 20;
    o->zstd_level = 1; /* on audit lines: twice as fast as 3 and smaller (x4.8 vs x4.2) */
    o->syslog.port = 6514;
    o->syslog.queue_max = 100000;
}

static void notify(audit *a)
{
    uint64_t one = 1;
    ssize_t w = write(a->efd, &one, sizeof one);
    (void)w;
}

static int healthy(audit *a)
{
    return !atomic_load(&a->write_failed) && !atomic_load(&a->backlog) &&
           !atomic_load(&a->sink_down);
}

/* Writer: set the reason (under mu) for a failure. */
static void set_failed(audit *a, const char *what, int e)
{
    pthread_mutex_lock(&a->mu);
    snprintf(a->why, sizeof a->why, "audit trail cannot be written: %s: %s", what, strerror(e));
    int was = atomic_exchange(&a->write_failed, 1);
    pthread_cond_broadcast(&a->moved);
    pthread_mutex_unlock(&a->mu);
    if (!was)
        log_warning("audit: %s: %s; refusing audited commands until it works again", what,
                    strerror(e));
    notify(a);
}

static void sink_state(void *ud, int up)
{
    audit *a = ud;
    if (!a->o.syslog.required) return;
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->sink_down, !up);
    if (!up) snprintf(a->why, sizeof a->why, "required audit sink syslog is down");
    pthread_cond_broadcast(&a->moved);
    pthread_mutex_unlock(&a->mu);
    notify(a);
}

/* ---- segments ---- */

static int64_t day_of(int64_t us)
{
    return us / 1000000 / 86400;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static void close_segment(audit *a)
{
    if (a->fd < 0) return;
    if (a->unsynced && fdatasync(a->fd) != 0) {
        /* As a failed periodic fsync: said, and the trail fails closed until a write in
         * the next segment works (its records may be gone from this one). */
        int e = errno;
        log_warning("audit: records up to seq %llu may be lost (a failed fsync of the "
                    "segment being closed)",
                    (unsigned long long)a->w_seq);
        set_failed(a, "fsync of a segment failed", e);
    }
    a->unsynced = 0;
    close(a->fd);
    a->fd = -1;
}

/* Start segment next_seg_id whose first record is first_seq, chained to prev. */
static int open_segment(audit *a, uint64_t first_seq, const uint8_t prev[32])
{
    int64_t t = now_us();
    audit_seg_header h = {.id = a->next_seg_id, .first_seq = first_seq, .created_us = t};
    memcpy(h.prev, prev, 32);
    h.version = AUDIT_SEG_VERSION;
    audit_seg_header_encode(&h);
    char name[64], path[4200];
    audit_seg_name(name, sizeof name, h.id, t);
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_failed(a, "cannot create a segment", errno);
        return -1;
    }
    if (write_all(fd, h.raw, AUDIT_SEG_HEADER, 0) != 0 || fdatasync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        set_failed(a, "cannot write a segment header", e);
        return -1;
    }
    fsync_dir(a->dir);
    a->fd = fd;
    a->fd_broken = 0;
    a->seg = h;
    a->seg_bytes = AUDIT_SEG_HEADER;
    a->next_block = 0;
    a->seg_day = day_of(t);
    a->next_seg_id++;
    return 0;
}

static void write_head_file(audit *a)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/audit.head", a->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    int ok = write_all(fd, (const uint8_t *)a->head_line, strlen(a->head_line), 0) == 0 &&
             fdatasync(fd) == 0;
    close(fd);
    if (ok && rename(tmp, path) == 0)
        fsync_dir(a->dir);
    else
        unlink(tmp);
}

/* Largest block written at once: blk can hold far more when the writer fell behind (a burst,
 * or a disk that was failing), so it goes out in blocks of at most this many bytes. */
#define BLK_TARGET  (4u << 20)
#define BATCH_US    20000      /* fsync everysec: records are taken at least this often */
#define BATCH_BYTES (1u << 20) /* ... or as soon as this much waits */

/* After an fsync of the segment: publish the last checkpoint in audit.head (at most once a
 * second unless forced), so audit.head never names a record that is not on disk and a busy
 * trail does not pay two more fsyncs per checkpoint. */
static void synced(audit *a, int force)
{
    int64_t t = now_us();
    if (a->head_dirty && (force || t - a->head_written_us >= 1000000)) {
        write_head_file(a);
        a->head_dirty = 0;
        a->head_written_us = t;
    }
}

/* Drop the first len bytes (nrec records) of blk: they are in the file. Only offsets move
 * (a burst is written in many blocks: moving the rest down after each one cost the square
 * of the backlog); blk is emptied when all is written, compacted by compact_blk. */
static void consume(audit *a, size_t len, uint32_t nrec)
{
    /* The hash before the next record is the hash of the last one consumed. */
    memcpy(a->blk_prev, a->blk_hash.p + a->blkh_off + ((size_t)nrec - 1) * 32, 32);
    a->blk_off += len;
    a->blkh_off += (size_t)nrec * 32;
    a->blk_first += nrec;
    a->blk_n -= nrec;
    if (a->blk_n == 0) a->blk.len = a->blk_off = a->blk_hash.len = a->blkh_off = 0;
}

/* Move what is left of blk (after a failed write) to the front, once. */
static void compact_blk(audit *a)
{
    if (a->blk_off) {
        memmove(a->blk.p, a->blk.p + a->blk_off, a->blk.len - a->blk_off);
        a->blk.len -= a->blk_off;
        a->blk_off = 0;
    }
    if (a->blkh_off) {
        memmove(a->blk_hash.p, a->blk_hash.p + a->blkh_off, a->blk_hash.len - a->blkh_off);
        a->blk_hash.len -= a->blkh_off;
        a->blkh_off = 0;
    }
}

/* Write the first len bytes of blk (nrec records) as one block. Returns 0, or -1 (module
 * failed; what was not written stays in blk). */
static int flush_chunk(audit *a, size_t len, uint32_t nrec, int last_chunk)
{
    int64_t t = now_us();
    if (a->fd >= 0 &&
        (a->fd_broken || day_of(t) != a->seg_day ||
         (a->next_block > 0 && a->seg_bytes + len / 2 > (uint64_t)a->o.segment_max_bytes)))
        close_segment(a);
    if (a->fd < 0 && open_segment(a, a->blk_first, a->blk_prev) != 0) return -1;
    a->out.len = 0;
    errno = 0; /* a failed nonce reservation leaves its reason (ENOSPC ...) in errno */
    if (audit_blk_build(a->s, &a->seg, a->next_block, a->blk_first, nrec, a->blk.p + a->blk_off,
                        len, a->o.zstd_level, a->cctx, &a->tmp, &a->out) != 0) {
        set_failed(a, "cannot seal a block", errno ? errno : EIO);
        return -1;
    }
    if (write_all(a->fd, a->out.p, a->out.len, (off_t)a->seg_bytes) != 0) {
        int e = errno;
        if (ftruncate(a->fd, (off_t)a->seg_bytes) != 0) a->fd_broken = 1;
        set_failed(a, "cannot write a segment", e);
        return -1;
    }
    a->seg_bytes += a->out.len;
    a->next_block++;
    a->unsynced = 1;
    if (last_chunk && a->blk_has_ckpt) a->head_dirty = 1;
    if (last_chunk) a->blk_has_ckpt = 0;
    if (a->o.fsync_always) {
        if (fdatasync(a->fd) != 0) {
            /* The block may or may not be on disk: never rewrite it into this file. */
            int e = errno;
            a->fd_broken = 1;
            set_failed(a, "fsync of a segment failed", e);
            consume(a, len, nrec); /* it is in the file: retrying would duplicate it */
            return -1;
        }
        a->unsynced = 0;
        a->last_sync_us = t;
    }
    if (a->sink) {
        /* The sink gets full lines: each stored line with the hash of the one before. */
        const char *p = (const char *)a->blk.p + a->blk_off, *end = p + len;
        const uint8_t *hs = a->blk_hash.p + a->blkh_off;
        for (uint32_t i = 0; p < end; i++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            a->line.len = 0;
            buf_append(&a->line, p, (size_t)(nl - p) - 1); /* without its final '}' */
            audit_format_suffix(i ? hs + ((size_t)i - 1) * 32 : a->blk_prev, &a->line);
            audit_line_info li;
            const char *l = (const char *)a->line.p;
            int ck = audit_line_parse(l, a->line.len, &li) == 0 && li.evlen == 10 &&
                     memcmp(li.ev, "checkpoint", 10) == 0;
            audit_sink_push(a->sink, l, a->line.len, ck);
            p = nl + 1;
        }
    }
    uint64_t last = a->blk_first + nrec - 1;
    consume(a, len, nrec);
    if (!a->unsynced) synced(a, 0);
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->durable_seq, last);
    int was = atomic_exchange(&a->write_failed, 0);
    pthread_cond_broadcast(&a->moved);
    pthread_mutex_unlock(&a->mu);
    if (was) log_notice("audit: writing works again; audited commands are accepted");
    notify(a);
    return 0;
}

/* Write blk as blocks of at most BLK_TARGET bytes. Returns 0, or -1 (the rest kept, module
 * failed). */
static int flush_block(audit *a)
{
    compact_blk(a);
    while (a->blk_n > 0) {
        size_t len = 0;
        uint32_t nrec = 0;
        const uint8_t *p = a->blk.p + a->blk_off, *end = a->blk.p + a->blk.len;
        while (p < end && nrec < a->blk_n) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = (size_t)(nl - p) + 1;
            if (nrec > 0 && len + l > BLK_TARGET) break;
            len += l;
            nrec++;
            p = nl + 1;
        }
        if (flush_chunk(a, len, nrec, nrec == a->blk_n) != 0) return -1;
    }
    return 0;
}

/* Chain the lines of work into blk (signing checkpoints). */
static void chain(audit *a)
{
    compact_blk(a);
    const char *p = (const char *)a->work.p, *end = p + a->work.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)(nl - p);
        if (a->blk_n == 0) {
            a->blk_first = a->w_seq + 1;
            memcpy(a->blk_prev, a->w_head, 32);
        }
        size_t start = a->blk.len;
        buf_append(&a->blk, p, n);
        uint64_t seq = a->w_seq + 1;
        /* A checkpoint body ends with ,"count": (added by queue_checkpoint). */
        int ckpt = n > 9 && memcmp(p + n - 9, ",\"count\":", 9) == 0;
        if (ckpt) {
            uint8_t msg[sizeof AUDIT_SIGN_CTX - 1 + 8 + 32], sig[64];
            memcpy(msg, AUDIT_SIGN_CTX, sizeof AUDIT_SIGN_CTX - 1);
            for (int i = 0; i < 8; i++)
                msg[sizeof AUDIT_SIGN_CTX - 1 + i] = (uint8_t)(seq >> (56 - 8 * i));
            memcpy(msg + sizeof AUDIT_SIGN_CTX - 1 + 8, a->w_head, 32);
            char hex[129];
            if (audit_ed25519_sign(a->seed, msg, sizeof msg, sig) != 0) memset(sig, 0, 64);
            audit_hex(sig, 64, hex);
            buf_printf(&a->blk, "%llu,\"sig\":\"%s\"", (unsigned long long)a->since_ckpt, hex);
            a->since_ckpt = 0;
            a->blk_has_ckpt = 1;
        } else {
            a->since_ckpt++;
        }
        /* The full line is hashed in one piece (one EVP_DigestUpdate over a 347-byte line:
         * 268-272 ns; two, body then suffix: 278-280 ns; medians of 21 runs); the block
         * keeps it without the prev member, whose bytes the final '}' and '\n' overwrite. */
        size_t body_end = a->blk.len;
        audit_format_suffix(a->w_head, &a->blk);
        audit_hash(a->blk.p + start, a->blk.len - start, a->w_head);
        a->blk.len = body_end;
        buf_putc(&a->blk, '}');
        buf_putc(&a->blk, '\n');
        buf_append(&a->blk_hash, a->w_head, 32);
        if (ckpt) {
            char hh[65];
            audit_hex(a->w_head, 32, hh);
            snprintf(a->head_line, sizeof a->head_line, "%llu %s\n", (unsigned long long)seq, hh);
        }
        a->w_seq = seq;
        a->blk_n++;
        p = nl + 1;
    }
    a->work.len = 0;
    pthread_mutex_lock(&a->mu);
    a->head_seq = a->w_seq;
    memcpy(a->head, a->w_head, 32);
    pthread_mutex_unlock(&a->mu);
}

/* Queue a checkpoint body (under mu). */
static void queue_checkpoint(audit *a, int64_t t)
{
    uint64_t seq = ++a->last_seq;
    char ts[28];
    audit_ts_cache c = {-1, ""};
    audit_format_ts(t, &c, ts);
    buf_printf(&a->pending,
               "{\"seq\":%llu,\"ts\":\"%s\",\"ev\":\"checkpoint\",\"res\":\"granted\","
               "\"count\":\n",
               (unsigned long long)seq, ts);
    a->ckpt_queued = 1;
    a->pend_since_ckpt = 0;
    a->last_ckpt_us = t;
}

static void *writer_main(void *arg)
{
    audit *a = arg;
    pthread_setname_np(pthread_self(), "phidb-audit");
    int64_t give_up = 0; /* at shutdown, stop retrying a failing disk after 5 s */
    pthread_mutex_lock(&a->mu);
    for (;;) {
        int64_t t = now_us();
        int stopping = a->stop;
        if (stopping && !give_up) give_up = t + 5000000;
        /* A checkpoint every checkpoint_ms (audit_append queues one every N records), and a
         * last one at close, when records came since the last. */
        if (!a->ckpt_queued && a->pend_since_ckpt > 0 &&
            (t - a->last_ckpt_us >= (int64_t)a->o.checkpoint_ms * 1000 || stopping))
            queue_checkpoint(a, t);
        int retry_due = a->blk_n > 0 && t >= a->retry_at_us;
        /* After a failed fsync nothing is left to write: retry by starting a new segment. */
        int reopen =
            atomic_load(&a->write_failed) && a->blk_n == 0 && a->fd_broken && t >= a->retry_at_us;
        int sync_due =
            a->unsynced && !atomic_load(&a->write_failed) && t - a->last_sync_us >= 1000000;
        /* With fsync everysec the writer takes records in batches (at most every BATCH_US,
         * sooner when BATCH_BYTES wait): fewer, larger blocks and far fewer wake-ups. */
        int batching = !a->o.fsync_always && !stopping && a->pending.len > 0 &&
                       a->pending.len < BATCH_BYTES && t - a->last_take_us < BATCH_US;
        if ((a->pending.len == 0 || batching) && !retry_due && !sync_due && !reopen) {
            if (stopping && a->blk_n == 0) break;
            if (stopping && a->blk_n > 0 && t > give_up) break;
            int64_t until = a->last_ckpt_us + (int64_t)a->o.checkpoint_ms * 1000;
            if (a->unsynced && a->last_sync_us + 1000000 < until) until = a->last_sync_us + 1000000;
            if (a->blk_n > 0 && a->retry_at_us < until) until = a->retry_at_us;
            if (batching && a->last_take_us + BATCH_US < until) until = a->last_take_us + BATCH_US;
            if (until < t + 1000) until = t + 1000;
            if (until > t + 1000000) until = t + 1000000;
            struct timespec ts = {until / 1000000, (until % 1000000) * 1000};
            a->writer_waiting = 1;
            pthread_cond_timedwait(&a->wake, &a->mu, &ts);
            a->writer_waiting = 0;
            continue;
        }
        a->last_take_us = t;
        buf tmpb = a->work;
        a->work = a->pending;
        a->pending = tmpb;
        a->pending.len = 0;
        if (a->work.len && a->ckpt_queued) {
            /* The checkpoint is now in work. */
            a->ckpt_queued = 0;
        }
        if (atomic_load(&a->backlog)) atomic_store(&a->backlog, 0);
        pthread_mutex_unlock(&a->mu);
        pthread_mutex_lock(&a->wmu); /* the keyring is used below (audit_rotate_key) */

        if (reopen) {
            close_segment(a);
            if (open_segment(a, a->w_seq + 1, a->w_head) != 0) {
                a->retry_at_us = now_us() + (int64_t)a->o.retry_ms * 1000;
            } else {
                log_warning("audit: records up to seq %llu may be lost (a failed fsync); "
                            "continuing in a new segment",
                            (unsigned long long)a->w_seq);
                pthread_mutex_lock(&a->mu);
                atomic_store(&a->durable_seq, a->w_seq);
                atomic_store(&a->write_failed, 0);
                pthread_cond_broadcast(&a->moved);
                pthread_mutex_unlock(&a->mu);
                notify(a);
            }
        }
        if (a->work.len) chain(a);
        if (a->blk_n > 0 && now_us() >= a->retry_at_us) {
            if (flush_block(a) != 0) a->retry_at_us = now_us() + (int64_t)a->o.retry_ms * 1000;
        }
        if (a->unsynced && !atomic_load(&a->write_failed) &&
            now_us() - a->last_sync_us >= 1000000 && a->fd >= 0) {
            if (fdatasync(a->fd) != 0) {
                a->fd_broken = 1;
                set_failed(a, "fsync of a segment failed", errno);
                a->retry_at_us = now_us() + (int64_t)a->o.retry_ms * 1000;
            } else {
                synced(a, 0);
            }
            a->unsynced = 0;
            a->last_sync_us = now_us();
        }
        pthread_mutex_unlock(&a->wmu);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    if (a->blk_n > 0)
        log_warning("audit: %u accepted audit records could not be written at shutdown", a->blk_n);
    int clean = a->fd >= 0 && !a->fd_broken;
    close_segment(a);
    if (clean) synced(a, 1);
    return NULL;
}

/* ---- resume ---- */

/* The seq at the start of a record line ({"seq":N,...). Returns 0, or -1. */
static int line_seq(const char *l, size_t n, uint64_t *seq)
{
    static const char pre[] = "{\"seq\":";
    size_t i = sizeof pre - 1;
    if (n <= i + 1 || memcmp(l, pre, i) != 0) return -1;
    uint64_t v = 0;
    size_t d0 = i;
    while (i < n && l[i] >= '0' && l[i] <= '9' && i - d0 < 19)
        v = v * 10 + (uint64_t)(l[i++] - '0');
    if (i == d0 || i >= n || l[i] != ',') return -1;
    *seq = v;
    return 0;
}

/* What the bytes at off, a block boundary of the newest segment m[0..len), hold: 0 a block
 * that opens (its lines in plain); 1 a torn block, the end of a write a crash interrupted:
 * the file ends inside it, or it does not open and the file ends in zeros from inside it
 * over at least a tag's length (what some file systems leave of data that never reached
 * the disk; a sealed block ends in its tag, all zeros by chance once in 2^128); -1
 * damage: whole (as far as its header tells), yet it does not open, or it is not the
 * last. Only a torn block may be cut; damage is evidence, and refuses the trail. */
static int block_at(sealer *s, const audit_seg_header *h, const uint8_t *m, size_t len, size_t off,
                    audit_blk_header *b, buf *tmp, buf *plain)
{
    size_t left = len - off;
    if (left < AUDIT_BLK_HEADER) return 1;
    int hdr = audit_blk_header_decode(m + off, b) == 0;
    if (hdr && left - AUDIT_BLK_HEADER < b->sealed_len) return 1;
    plain->len = 0;
    if (hdr && audit_blk_open(s, h, b, m + off + AUDIT_BLK_HEADER, NULL, tmp, plain) == 0) return 0;
    if (hdr && AUDIT_BLK_HEADER + b->sealed_len != left) return -1;
    size_t z = len;
    while (z > off && m[z - 1] == 0)
        z--;
    return len - z >= SEAL_TAG ? 1 : -1;
}

/* Scan the newest segment: chain state, torn tail cut (only once audit.head is known to
 * lie before it), the nonces its blocks used (or those of the newest segment with
 * blocks). Returns 0, or -1 with err. */
static int resume(audit *a, char *err, size_t errlen)
{
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(a->dir, &ids, &names);
    if (n < 0) {
        snprintf(err, errlen, "cannot read audit-dir %s: %s", a->dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    a->next_seg_id = 1;
    memset(a->w_head, 0, 32);
    a->w_seq = 0;
    /* audit.head names the last checkpoint known to be on disk (it is written after the
     * fsync that made it durable): a trail that ends before it, or differs there, was cut
     * or altered while no server ran. Going on would overwrite audit.head at the next
     * checkpoint and with it the evidence, so the trail is refused. */
    uint64_t hseq = 0;
    uint8_t hhash[32];
    int hr = audit_head_read(a->dir, &hseq, hhash);
    if (hr < 0) {
        snprintf(err, errlen, "%s/audit.head cannot be read; run phidb audit verify", a->dir);
        audit_seg_list_free(ids, names, n);
        return -1;
    }
    if (hr == 0) hseq = 0;
    size_t cut = 0; /* where a torn block at the end of the newest segment starts */
    while (n > 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", a->dir, names[n - 1]);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            snprintf(err, errlen, "cannot open audit segment %s: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            rc = -1;
            break;
        }
        size_t len = (size_t)sb.st_size;
        audit_seg_header h;
        uint8_t hb[AUDIT_SEG_HEADER];
        if (len < AUDIT_SEG_HEADER || pread(fd, hb, sizeof hb, 0) != (ssize_t)sizeof hb ||
            audit_seg_header_decode(hb, &h) != 0) {
            if (len < AUDIT_SEG_HEADER && a->o.keep_torn) {
                *a->o.keep_torn = 1;
                snprintf(err, errlen,
                         "audit segment %s is incomplete (%zu bytes); the server removes it "
                         "when it starts, this tool does not",
                         names[n - 1], len);
                close(fd);
                rc = -1;
                break;
            }
            if (len < AUDIT_SEG_HEADER) {
                /* Created but never completed: nothing in it was ever durable. */
                log_warning("audit: removing the incomplete segment %s (%zu bytes)", names[n - 1],
                            len);
                close(fd);
                unlink(path);
                mem_free(names[n - 1]);
                n--;
                continue;
            }
            snprintf(err, errlen, "audit segment %s has a damaged header; run phidb audit verify",
                     names[n - 1]);
            close(fd);
            rc = -1;
            break;
        }
        uint8_t *m = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        if (m == MAP_FAILED) {
            snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            rc = -1;
            break;
        }
        /* Before a torn tail is cut: its nonce was used. */
        if (len && m && audit_seg_note_nonces(a->s, m, len) == 0)
            audit_seg_note_older_nonces(a->s, a->dir, names, n - 1);
        uint64_t seq = h.first_seq - 1;
        uint8_t last[32];
        memcpy(last, h.prev, 32);
        size_t off = AUDIT_SEG_HEADER;
        buf plain = {0}, tmp = {0};
        audit_lines lines;
        memset(&lines, 0, sizeof lines);
        while (off < len && rc == 0) {
            audit_blk_header b;
            int torn = block_at(a->s, &h, m, len, off, &b, &tmp, &plain);
            if (torn == 1) {
                cut = off;
                break;
            }
            if (torn < 0) {
                snprintf(err, errlen,
                         "audit segment %s is damaged at offset %zu (a block that is whole but "
                         "fails authentication, or is not the last); run phidb audit verify",
                         names[n - 1], off);
                rc = -1;
                break;
            }
            audit_lines_start(&lines, h.version, plain.p, plain.len, last);
            for (;;) {
                const char *l;
                size_t ll;
                uint8_t hash[32];
                int r = audit_lines_next(&lines, &l, &ll, hash);
                if (r == 0) break;
                /* A v2 line's prev is rebuilt from the running hash (audit_lines): only its
                 * seq needs reading; a v1 line carries its own prev, which must chain. */
                audit_line_info li;
                if (r < 0 ||
                    (h.version == 1
                         ? audit_line_parse(l, ll, &li) != 0 || memcmp(li.prev, last, 32) != 0
                         : line_seq(l, ll, &li.seq) != 0) ||
                    li.seq != seq + 1) {
                    snprintf(err, errlen,
                             "audit segment %s does not chain at offset %zu; run phidb audit "
                             "verify",
                             names[n - 1], off);
                    rc = -1;
                    break;
                }
                if (li.seq == hseq && memcmp(hash, hhash, 32) != 0) {
                    snprintf(err, errlen,
                             "audit segment %s: seq %llu differs from the checkpoint in "
                             "audit.head (altered); run phidb audit verify",
                             names[n - 1], (unsigned long long)li.seq);
                    rc = -1;
                    break;
                }
                memcpy(last, hash, 32);
                seq = li.seq;
            }
            off += AUDIT_BLK_HEADER + b.sealed_len;
        }
        buf_wipe_free(&plain);
        buf_wipe_free(&tmp);
        audit_lines_free(&lines);
        if (len) munmap(m, len);
        /* A torn block is cut only when audit.head names nothing in or after it (else the
         * trail is refused below, with the file as it is) and the caller lets us. */
        if (rc == 0 && cut && hseq <= seq && a->o.keep_torn) {
            *a->o.keep_torn = 1;
            snprintf(err, errlen,
                     "audit segment %s ends in a torn block at offset %zu (a write a crash "
                     "interrupted); the server cuts it when it starts, this tool does not",
                     names[n - 1], cut);
            rc = -1;
        } else if (rc == 0 && cut && hseq <= seq) {
            log_warning("audit: cutting a torn block (%zu bytes) at the end of %s", len - cut,
                        names[n - 1]);
            if (ftruncate(fd, (off_t)cut) != 0 || fsync(fd) != 0) {
                snprintf(err, errlen, "cannot cut the torn tail of %s: %s", path, strerror(errno));
                rc = -1;
            }
        }
        close(fd);
        if (rc == 0) {
            a->w_seq = seq;
            memcpy(a->w_head, last, 32);
            a->next_seg_id = ids[n - 1] + 1;
        }
        break;
    }
    if (rc == 0 && hseq > a->w_seq) {
        snprintf(err, errlen,
                 "the audit trail in %s ends at seq %llu but audit.head records a signed "
                 "checkpoint at seq %llu: segments were cut or removed%s; run phidb audit "
                 "verify (to go on regardless, keep audit.head elsewhere as evidence and remove "
                 "it)",
                 a->dir, (unsigned long long)a->w_seq, (unsigned long long)hseq,
                 cut ? ", or its last block is torn (left as it is)" : "");
        rc = -1;
    }
    audit_seg_list_free(ids, names, n);
    return rc;
}

/* ---- public ---- */

audit *audit_open(const audit_opts *o, keyring *kr, char *err, size_t errlen)
{
    if (!o->dir || !*o->dir) {
        snprintf(err, errlen, "audit-dir is not set");
        return NULL;
    }
    /* A required sink that is not there would be neither sent to nor waited for: the
     * opposite of failing closed. */
    if (o->syslog.required && (!o->syslog.host || !*o->syslog.host)) {
        snprintf(err, errlen,
                 "audit-required-sinks syslog needs a SIEM: audit-syslog-host is not set (set "
                 "it, with audit-syslog-ca, or set audit-required-sinks none)");
        return NULL;
    }
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create audit-dir %s: %s", o->dir, strerror(errno));
        return NULL;
    }
    const uint8_t *sk = keyring_key(kr, KR_SIGN, keyring_current(kr, KR_SIGN));
    if (!sk || !keyring_key(kr, KR_AUDIT, keyring_current(kr, KR_AUDIT))) {
        snprintf(err, errlen, "the keyring has no audit or signing key");
        return NULL;
    }
    audit *a = mem_calloc(sizeof *a);
    a->o = *o;
    a->dir = mem_strdup(o->dir);
    a->o.dir = a->dir;
    if (a->o.checkpoint_records <= 0) a->o.checkpoint_records = 1000;
    if (a->o.checkpoint_ms <= 0) a->o.checkpoint_ms = 60000;
    if (a->o.retry_ms <= 0) a->o.retry_ms = 1000;
    if (a->o.segment_max_bytes <= 0) a->o.segment_max_bytes = 64LL << 20;
    if (!a->o.pending_max) a->o.pending_max = 64u << 20;
    if (a->o.zstd_level == 0) a->o.zstd_level = 1;
    a->kr = kr;
    a->fd = -1;
    a->efd = -1;
    a->s = seal_new(kr, KR_AUDIT);
    a->seed = keyring_secure_alloc(32);
    memcpy(a->seed, sk, 32);
    a->tsc.sec = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->wmu, NULL);
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->moved, NULL);
    if (audit_ed25519_pub(a->seed, a->pub) != 0) {
        snprintf(err, errlen, "cannot derive the audit signing key");
        goto fail;
    }
    if (audit_publish_keys(a, err, errlen) != 0) goto fail;
    if (resume(a, err, errlen) != 0) goto fail;
    char why[200];
    if (seal_nonces_commit(a->s, why, sizeof why))
        log_warning("keyring: nonce counters raised above nonces found in the audit trail (%s): "
                    "the keyring file is older than the trail (restored from an older copy, or "
                    "altered); no nonce will be used twice",
                    why);
    a->last_seq = a->w_seq;
    a->head_seq = a->w_seq;
    memcpy(a->head, a->w_head, 32);
    atomic_store(&a->durable_seq, a->w_seq);
    a->last_ckpt_us = now_us();
    a->last_sync_us = a->last_ckpt_us;
    a->cctx = ZSTD_createCCtx();
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (o->syslog.host && *o->syslog.host) {
        if (o->syslog.required) atomic_store(&a->sink_down, 1);
        snprintf(a->why, sizeof a->why, "required audit sink syslog is not connected yet");
        a->sink = audit_sink_new(&o->syslog, sink_state, a, err, errlen);
        if (!a->sink) goto fail;
    }
    if (pthread_create(&a->thr, NULL, writer_main, a) != 0) {
        snprintf(err, errlen, "cannot start the audit writer thread");
        audit_sink_free(a->sink, 0);
        a->sink = NULL;
        goto fail;
    }
    return a;
fail:
    if (a->efd >= 0) close(a->efd);
    ZSTD_freeCCtx(a->cctx);
    seal_free(a->s);
    keyring_secure_free(a->seed, 32);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->wmu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->moved);
    mem_free(a->dir);
    mem_free(a);
    return NULL;
}

int audit_append(audit *a, const audit_rec *r)
{
    int64_t t = r->ts_us ? r->ts_us : now_us();
    pthread_mutex_lock(&a->mu);
    if (!healthy(a) && !(r->keep && !atomic_load(&a->backlog))) {
        pthread_mutex_unlock(&a->mu);
        return -1;
    }
    if (a->pending.len > a->o.pending_max) {
        atomic_store(&a->backlog, 1);
        snprintf(a->why, sizeof a->why, "audit writer backlog full (%zu bytes waiting)",
                 a->pending.len);
        pthread_mutex_unlock(&a->mu);
        return -1;
    }
    int was_empty = a->pending.len == 0;
    audit_format_body(r, ++a->last_seq, t, &a->tsc, &a->pending);
    buf_putc(&a->pending, '\n');
    if (++a->pend_since_ckpt >= (uint64_t)a->o.checkpoint_records) queue_checkpoint(a, t);
    if (a->writer_waiting && (a->o.fsync_always || was_empty || a->pending.len >= BATCH_BYTES))
        pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int audit_healthy(audit *a)
{
    return healthy(a);
}

const char *audit_error(audit *a)
{
    pthread_mutex_lock(&a->mu);
    if (healthy(a))
        a->errcopy[0] = '\0';
    else
        snprintf(a->errcopy, sizeof a->errcopy, "%s", a->why);
    pthread_mutex_unlock(&a->mu);
    return a->errcopy;
}

uint64_t audit_last_seq(audit *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t s = a->last_seq;
    pthread_mutex_unlock(&a->mu);
    return s;
}

uint64_t audit_durable_seq(audit *a)
{
    return atomic_load(&a->durable_seq);
}

int audit_notify_fd(audit *a)
{
    return a->efd;
}

void audit_head(audit *a, uint64_t *seq, uint8_t hash[32])
{
    pthread_mutex_lock(&a->mu);
    *seq = a->head_seq;
    memcpy(hash, a->head, 32);
    pthread_mutex_unlock(&a->mu);
}

int audit_flush(audit *a, int timeout_ms)
{
    int64_t until = now_us() + (int64_t)timeout_ms * 1000;
    pthread_mutex_lock(&a->mu);
    pthread_cond_signal(&a->wake);
    int rc = -1;
    for (;;) {
        /* Checkpoints take sequence numbers too: wait for everything handed out. */
        if (atomic_load(&a->durable_seq) >= a->last_seq) {
            rc = 0;
            break;
        }
        if (now_us() >= until) break;
        struct timespec ts;
        int64_t w = now_us() + 20000;
        if (w > until) w = until;
        ts.tv_sec = w / 1000000;
        ts.tv_nsec = (w % 1000000) * 1000;
        pthread_cond_timedwait(&a->moved, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void audit_sink_stats(audit *a, int *connected, uint64_t *sent, uint64_t *dropped)
{
    *connected = a->sink ? audit_sink_up(a->sink) : 0;
    *sent = *dropped = 0;
    if (a->sink) audit_sink_counts(a->sink, sent, dropped);
}

void audit_close(audit *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thr, NULL);
    if (a->sink) audit_sink_free(a->sink, 5000);
    close(a->efd);
    ZSTD_freeCCtx(a->cctx);
    seal_free(a->s);
    audit_ed25519_forget();
    keyring_secure_free(a->seed, 32);
    buf_wipe_free(&a->pending);
    buf_wipe_free(&a->work);
    buf_wipe_free(&a->blk);
    buf_wipe_free(&a->blk_hash);
    buf_wipe_free(&a->line);
    buf_wipe_free(&a->out);
    buf_wipe_free(&a->tmp);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->wmu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->moved);
    mem_free(a->dir);
    mem_free(a);
}
