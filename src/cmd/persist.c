/*
 * persist: the durable log in the running server (see persist.h).
 */
#include "persist.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "cmd/cmd_audit.h"
#include "cmd/cmd_backup.h"
#include "cmd/cmd_policy.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

#define REWRITE_BATCH (256 * 1024)
#define REWRITE_BIG_FIELDS 4096 /* hashes with more fields are read in parts, across slices */
#define REWRITE_SCAN_STEPS 32   /* buckets read at once, their records prefetched together */
#define REWRITE_DUTY 8 /* a compaction takes at most about 1/8 of the event loop's time */
#define REWRITE_DUTY_BUSY 2 /* ... or 1/2 while it mirrors more writes than it snapshots */

static void big_drop_current(srv *s)
{
    if (s->rw_big) mem_free_wipe(s->rw_big);
    s->rw_big = NULL;
    s->rw_big_len = 0;
    s->rw_big_cursor = 0;
}

/* Forget the large hashes a compaction was reading in parts (their names are identifiers). */
static void big_forget(srv *s)
{
    big_drop_current(s);
    buf_wipe_free(&s->rw_big_wait);
}

/* A large hash whose first part was read: it is read on in later slices, after the ones
 * met before it (a scan step can meet several). */
static void big_push(srv *s, const uint8_t *key, size_t klen, uint64_t cursor)
{
    if (!s->rw_big) {
        s->rw_big = mem_alloc(klen ? klen : 1);
        memcpy(s->rw_big, key, klen);
        s->rw_big_len = klen;
        s->rw_big_cursor = cursor;
        return;
    }
    uint8_t hdr[4] = {(uint8_t)(klen >> 24), (uint8_t)(klen >> 16), (uint8_t)(klen >> 8),
                      (uint8_t)klen};
    buf_append(&s->rw_big_wait, hdr, 4);
    buf_append(&s->rw_big_wait, key, klen);
    buf_append(&s->rw_big_wait, &cursor, sizeof cursor);
}

/* The current large hash is done: the next waiting one, if any, becomes current. */
static void big_next(srv *s)
{
    big_drop_current(s);
    if (s->rw_big_wait.len == 0) return;
    const uint8_t *h = s->rw_big_wait.p;
    size_t klen = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    uint64_t cursor;
    memcpy(&cursor, h + 4 + klen, sizeof cursor);
    s->rw_big = mem_alloc(klen ? klen : 1);
    memcpy(s->rw_big, h + 4, klen);
    s->rw_big_len = klen;
    s->rw_big_cursor = cursor;
    size_t n = 4 + klen + sizeof cursor;
    explicit_bzero(s->rw_big_wait.p, n);
    buf_consume(&s->rw_big_wait, n);
}

static int apply_frame(void *ud, const uint8_t *payload, size_t len)
{
    srv *s = ud;
    char err[256];
    if (db_apply(s->db, payload, len, err, sizeof err) != 0) {
        log_warning("durable log: %s", err);
        return -1;
    }
    return 0;
}

/* Does purpose p still hold a version older than its current one that is not retired? */
static int old_version_active(srv *s, int p)
{
    uint32_t v[256], cur = keyring_current(s->keys, p);
    size_t n = keyring_versions(s->keys, p, v, 256);
    for (size_t i = 0; i < n && i < 256; i++)
        if (v[i] != cur && keyring_key(s->keys, p, v[i])) return 1;
    return 0;
}

/* A rotation's follow-up (re-sealing the values, compacting the log, then retiring the old
 * versions) lives in memory: a server stopped before it ended picks it up at start-up, or
 * the old version would keep protecting the data for good. The same after a restore,
 * which gives every sealing key a new version. */
static void resume_rotations(srv *s)
{
    if (old_version_active(s, KR_VALUES)) {
        log_notice("keyring: an older values key is still in use: sealing every value with v%u "
                   "again, then retiring it",
                   keyring_current(s->keys, KR_VALUES));
        s->reseal_active = 1;
        s->reseal_cursor = 0;
    }
    if (old_version_active(s, KR_LOG)) {
        log_notice("keyring: an older log key is still in use: compacting the log, then "
                   "retiring it");
        s->retire_log_after = clock_ms();
        s->rw_requested = 1;
    }
}

int persist_open(srv *s, char *err, size_t errlen)
{
    s->rw_last_took_ms = -1;
    s->logseal = seal_new(s->keys, KR_LOG);
    s->log = aof_open(s->cfg->dir, s->logseal, (enum aof_fsync)s->cfg->appendfsync, err, errlen);
    if (!s->log) return -1;
    aof_load_stats st = {0};
    db_set_loading(s->db, 1);
    int rc = aof_load(s->log, apply_frame, s, &st, err, errlen);
    db_set_loading(s->db, 0);
    if (rc != 0) return -1;
    /* Later seals must stay above every nonce in the data, whatever the keyring says. */
    char why_log[200], why_val[200];
    int raised = seal_nonces_commit(s->logseal, why_log, sizeof why_log);
    int raised_val = seal_nonces_commit(s->values, why_val, sizeof why_val);
    if (raised || raised_val)
        log_warning("keyring: nonce counters raised above nonces found in the durable log (%s): "
                    "the keyring file is older than the data (restored from an older copy, or "
                    "altered); no nonce will be used twice",
                    raised ? why_log : why_val);
    s->load_records = st.records;
    s->load_bytes = st.bytes;
    s->load_torn = st.torn_bytes;
    s->load_ms = st.load_ms;
    if (st.torn_bytes)
        log_warning("durable log: the last record was torn (an interrupted write): %llu bytes "
                    "dropped from the end%s%s",
                    st.torn_bytes, st.torn_copy[0] ? "; they are kept in " : " (all zero)",
                    st.torn_copy);
    log_notice("durable log: %llu records (%llu bytes) loaded in %lld ms, %zu keys",
               st.records, st.bytes, st.load_ms, db_size(s->db));
    db_journal_to(s->db, &s->frame);
    resume_rotations(s);
    if (aof_format(s->log) == 1) {
        /* Format 1 holds no chains: an entry over its 1 GB record limit would be refused. */
        log_notice("durable log: written by an older phidb (format 1): compacting it into "
                   "format 2");
        s->rw_requested = 1;
    }
    return 0;
}

static int backlog_drain(srv *s);

int persist_close(srv *s)
{
    int rc = 0;
    if (s->log) {
        persist_commit(s, NULL);
        /* Writes that met a full disk or a failing one wait in the backlog, unacknowledged:
         * give the disk a last few seconds, then say plainly what is lost. */
        for (int i = 0;; i++) {
            aof_cron(s->log);
            if (s->backlog.len) backlog_drain(s);
            aof_flush(s->log);
            if ((!s->backlog.len && aof_synced(s->log)) || i == 50) break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (s->backlog.len || !aof_synced(s->log)) {
            char why[256] = "";
            aof_status(s->log, why, sizeof why);
            if (s->backlog.len || aof_unwritten(s->log))
                log_warning("shutdown: writes could not be written to the durable log and are "
                            "lost (%s); their clients never got a reply",
                            why);
            else /* written, but an fsync failed: acknowledged writes may not be durable */
                log_warning("shutdown: the durable log could not be synced (%s): the last "
                            "writes may not survive a power failure",
                            why);
            rc = -1;
        }
        if (aof_rewriting(s->log)) aof_rewrite_abort(s->log);
        aof_close(s->log);
        s->log = NULL;
    }
    db_journal_to(s->db, NULL);
    buf_wipe_free(&s->frame);
    buf_wipe_free(&s->backlog);
    buf_wipe_free(&s->rw_snap);
    big_forget(s);
    seal_free(s->logseal);
    s->logseal = NULL;
    return rc;
}

#define FRAME_KEEP (1u << 20) /* the journal frame keeps at most this much room */

/* A frame kept back: its length (8 bytes: a transaction may pass 4 GB), then its bytes. */
static void backlog_add(srv *s, const uint8_t *p, size_t n)
{
    uint64_t len = n;
    buf_append(&s->backlog, &len, sizeof len);
    buf_append(&s->backlog, p, n);
}

/* Hand frames kept back to the log, oldest first; returns 1 when none are left. */
static int backlog_drain(srv *s)
{
    size_t off = 0;
    char err[256];
    while (off < s->backlog.len) {
        const uint8_t *h = s->backlog.p + off;
        uint64_t n;
        memcpy(&n, h, sizeof n);
        h += sizeof n;
        if (aof_append(s->log, h, n, err, sizeof err) != 0) break;
        if (aof_rewriting(s->log) && aof_rewrite_append(s->log, h, n, err, sizeof err) != 0)
            aof_rewrite_abort(s->log);
        off += sizeof n + n;
    }
    if (off) {
        explicit_bzero(s->backlog.p, off);
        buf_consume(&s->backlog, off);
    }
    return s->backlog.len == 0;
}

void persist_commit(srv *s, client *c)
{
    if (s->frame.len == 0 || s->frame_hold) return;
    char err[256];
    if (s->backlog.len || aof_append(s->log, s->frame.p, s->frame.len, err, sizeof err) != 0) {
        /* The log refused (it just failed underneath us): keep the frame, in order, for
         * when it recovers; the client's reply waits for it. */
        backlog_add(s, s->frame.p, s->frame.len);
    } else if (aof_rewriting(s->log)) {
        s->rw_mirror_bytes += s->frame.len;
        if (aof_rewrite_append(s->log, s->frame.p, s->frame.len, err, sizeof err) != 0) {
            log_warning("log compaction aborted: %s", err);
            aof_rewrite_abort(s->log);
            s->rw_started_ms = 0;
            s->rw_last_ok = 0;
        }
    }
    explicit_bzero(s->frame.p, s->frame.len); /* key names are identifiers */
    s->frame.len = 0;
    if (s->frame.cap > FRAME_KEEP) buf_free(&s->frame); /* a large write's room goes back */
    if (c) c->flags |= CL_WAIT_LOG;
}

int persist_write_allowed(srv *s, char *err, size_t errlen)
{
    char why[256];
    if (s->backlog.len) {
        if (aof_status(s->log, why, sizeof why) != 0)
            snprintf(err, errlen, "%s", why);
        else
            snprintf(err, errlen, "%zu bytes of earlier writes wait to be written to it",
                     s->backlog.len);
        return 0;
    }
    if (aof_status(s->log, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        return 0;
    }
    return 1;
}

int persist_flush(srv *s)
{
    if (s->backlog.len && !backlog_drain(s)) return 0;
    aof_flush(s->log);
    return aof_synced(s->log) && s->backlog.len == 0;
}

static void retire_old(srv *s, int purpose, const char *why)
{
    uint32_t v[256];
    size_t n = keyring_versions(s->keys, purpose, v, 256);
    uint32_t cur = keyring_current(s->keys, purpose);
    char err[256];
    /* The TOTP secrets and the grants file are sealed with the values key too. */
    int secrets_ok = purpose != KR_VALUES || cmd_secrets_reseal(s, err, sizeof err) == 0;
    if (!secrets_ok)
        log_warning("keyring: old values keys kept: cannot seal the secrets outside the "
                    "keyspace again: %s",
                    err);
    for (size_t i = 0; i < n && i < 256; i++) {
        if (v[i] == cur || !keyring_key(s->keys, purpose, v[i])) continue;
        if (purpose == KR_VALUES && db_version_count(s->db, v[i]) > 0) continue;
        if (purpose == KR_VALUES && (!secrets_ok || cmd_secrets_using(s, v[i]) > 0)) {
            log_warning("keyring: values key v%u kept: TOTP secrets, subjects in the users file "
                        "or the break-glass grants file are still sealed with it",
                        v[i]);
            continue;
        }
        if (keyring_retire(s->keys, purpose, v[i], err, sizeof err) == 0)
            log_notice("keyring: %s key v%u retired (%s)", keyring_purpose_name(purpose), v[i],
                       why);
        else
            log_warning("keyring: cannot retire %s key v%u: %s", keyring_purpose_name(purpose),
                        v[i], err);
    }
}

static void rewrite_done(srv *s, int ok, const char *err)
{
    long long started = s->rw_started_ms;
    s->rw_started_ms = 0;
    s->rw_last_ms = clock_ms();
    s->rw_last_ok = ok;
    if (started) s->rw_last_took_ms = s->rw_last_ms - started;
    if (!ok) {
        log_warning("log compaction failed: %s", err);
        return;
    }
    s->rw_count++;
    log_notice("log compaction done in %lld ms: %llu bytes (snapshot %llu, writes made "
               "meanwhile %llu)",
               s->rw_last_ms - started, aof_size(s->log), s->rw_snap_bytes, s->rw_mirror_bytes);
    if (cmd_backup_running(s) && (s->retire_log_after || s->retire_values_after)) {
        /* A running backup may hold values or records under the old keys: retire after it. */
        log_notice("keyring: retiring old keys waits for the running backup");
        cmd_backup_defer_retire(s);
        return;
    }
    char why[256];
    if ((s->retire_log_after || s->retire_values_after) &&
        aof_status(s->log, why, sizeof why) != 0) {
        /* The new log's rename may not survive a crash (its directory was not synced): the
         * old log, under the old keys, could come back. Retire after a compaction that is. */
        log_warning("keyring: old keys kept until a compaction is known durable: %s", why);
        return;
    }
    /* A compaction that started after a rotation holds only current keys. */
    if (s->retire_log_after && started > s->retire_log_after) {
        retire_old(s, KR_LOG, "the log was compacted under the new key");
        s->retire_log_after = 0;
    }
    if (s->retire_values_after && started > s->retire_values_after) {
        retire_old(s, KR_VALUES, "every value was re-sealed and the log compacted");
        s->retire_values_after = 0;
    }
}

/* Wakes the loop every millisecond while a compaction runs (the work is done in the
 * before-wait hook, in slices). */
static long long rewrite_tick(ev_loop *l, long long id, void *ud)
{
    (void)l;
    (void)id;
    srv *s = ud;
    return s->log && aof_rewriting(s->log) ? 1 : -1;
}

int persist_rewrite_start(srv *s, char *err, size_t errlen)
{
    if (aof_rewriting(s->log)) {
        snprintf(err, errlen, "Background append only file rewriting already in progress");
        return -1;
    }
    if (aof_rewrite_begin(s->log, err, errlen) != 0) return -1;
    /* The new log drops deleted values, and with them the highest values nonces the data
     * showed: it starts with the last nonce of each values key version, so that a start-up
     * with an older keyring file still raises the counters above every nonce ever used. */
    uint32_t v[256];
    size_t nv = keyring_versions(s->keys, KR_VALUES, v, 256);
    buf nb = {0};
    for (size_t i = 0; i < nv && i < 256; i++) {
        uint8_t hdr[SEAL_HEADER];
        for (int j = 0; j < 4; j++)
            hdr[j] = (uint8_t)(v[i] >> (24 - 8 * j));
        if (keyring_nonce_last(s->keys, KR_VALUES, v[i], hdr + 4) == 0) db_snapshot_nonce(&nb, hdr);
    }
    int nrc = nb.len ? aof_rewrite_append(s->log, nb.p, nb.len, err, errlen) : 0;
    buf_free(&nb);
    if (nrc != 0) {
        aof_rewrite_abort(s->log);
        return -1;
    }
    s->rw_cursor = 0;
    s->rw_snap_bytes = s->rw_mirror_bytes = 0;
    big_forget(s);
    s->rw_started_ms = clock_ms();
    if (s->rw_started_ms <= s->retire_log_after) s->rw_started_ms = s->retire_log_after + 1;
    if (s->rw_started_ms <= s->retire_values_after) s->rw_started_ms = s->retire_values_after + 1;
    log_notice("log compaction started (%llu bytes now)", aof_size(s->log));
    if (s->loop) ev_timer_add(s->loop, 1, rewrite_tick, s);
    return 0;
}

typedef struct {
    srv *s;
    buf batch;
    int failed; /* a flush failed: the compaction was aborted */
} snap_ctx;

static int flush_batch(srv *s, buf *b);

/* A large hash is handed to the log in parts as it is read (its parts follow each other in
 * the new log: no command runs in between), so the snapshot of one key never sits in
 * memory whole, nor exceeds the log's record limit. */
static void snap_flush(void *ud, buf *b)
{
    snap_ctx *x = ud;
    if (x->failed) {
        explicit_bzero(b->p, b->len);
        b->len = 0;
    } else if (flush_batch(x->s, b) != 0) {
        x->failed = 1;
    }
}

static void snap_key(void *ud, db_entry *e)
{
    snap_ctx *x = ud;
    srv *s = x->s;
    if (db_entry_type(e) == DB_HASH && db_hash_len(e) > REWRITE_BIG_FIELDS) {
        /* A large hash is read in parts, one a slice, so clients are served in between
         * (a hash of 100,000 fields took 150 ms at once). Writes to it in between reach the
         * new log after the parts before them; the parts after them hold its state then.
         * Several met in one scan step are read one after the other. */
        uint64_t cur = db_snapshot_hash_part(s->db, e, 0, 1, REWRITE_BATCH, &x->batch);
        if (cur) {
            size_t klen;
            const uint8_t *key = db_entry_key(e, &klen);
            big_push(s, key, klen, cur);
        }
        return;
    }
    db_snapshot_key_chunked(s->db, e, &x->batch, REWRITE_BATCH, snap_flush, x);
    /* Large strings go one at a time: a scan step may meet several. */
    if (x->batch.len >= REWRITE_BATCH) snap_flush(x, &x->batch);
}

/* The next part of the large hash being read; it is done when the hash is (or when it was
 * deleted or replaced meanwhile: those writes reached the new log already). */
static void big_step(snap_ctx *x)
{
    srv *s = x->s;
    db_entry *e = db_find_raw(s->db, s->rw_big, s->rw_big_len);
    uint64_t cur = 0;
    if (e && db_entry_type(e) == DB_HASH)
        cur = db_snapshot_hash_part(s->db, e, s->rw_big_cursor, 0, REWRITE_BATCH, &x->batch);
    if (cur)
        s->rw_big_cursor = cur;
    else
        big_next(s);
}

static int flush_batch(srv *s, buf *b)
{
    char err[256];
    if (b->len == 0) return 0;
    s->rw_snap_bytes += b->len;
    int rc = aof_rewrite_append(s->log, b->p, b->len, err, sizeof err);
    explicit_bzero(b->p, b->len);
    b->len = 0;
    if (rc != 0) {
        aof_rewrite_abort(s->log);
        rewrite_done(s, 0, err);
    }
    return rc;
}

int persist_step(srv *s, long long budget_us)
{
    if (!s->log || !aof_rewriting(s->log)) {
        if (s->rw_snap.cap) buf_wipe_free(&s->rw_snap); /* a compaction ended elsewhere */
        big_forget(s);
        return 0;
    }
    long long start = clock_mono_us();
    /* Duty cycle: a compaction may take at most about 1 part in REWRITE_DUTY of the loop's
     * time, so clients keep most of the CPU (a slice of budget_us, then a pause of
     * REWRITE_DUTY - 1 times what the slice took). Every write made meanwhile is written to
     * the new log as well, so under a heavy write load a slow compaction costs more than it
     * saves (and the new log is hardly smaller): once those writes outweigh the snapshot,
     * it runs at 1 part in REWRITE_DUTY_BUSY. */
    static long long next_slice;
    if (start < next_slice) return 1;
    /* The snapshot buffer lives for the whole compaction: a fresh one per slice would fault
     * its pages in again every time (large buffers come straight from mmap). It is wiped
     * after each flush. */
    snap_ctx x = {s, s->rw_snap, 0};
    do {
        if (s->rw_big)
            big_step(&x);
        else
            s->rw_cursor = db_scan_batch(s->db, s->rw_cursor, REWRITE_SCAN_STEPS, snap_key, &x);
        if (x.failed) goto out;
        if (x.batch.len >= REWRITE_BATCH && flush_batch(s, &x.batch) != 0) goto out;
    } while ((s->rw_cursor != 0 || s->rw_big) && clock_mono_us() - start < budget_us);
    if (flush_batch(s, &x.batch) != 0) goto out;
    long long took = clock_mono_us() - start;
    int duty = s->rw_mirror_bytes > s->rw_snap_bytes ? REWRITE_DUTY_BUSY : REWRITE_DUTY;
    next_slice = clock_mono_us() + took * (duty - 1);
    if (s->rw_cursor == 0 && !s->rw_big) {
        char err[256];
        if (aof_rewrite_commit(s->log, err, sizeof err) != 0) {
            aof_rewrite_abort(s->log);
            rewrite_done(s, 0, err);
        } else {
            rewrite_done(s, 1, NULL);
        }
    }
out:
    if (x.batch.len) explicit_bzero(x.batch.p, x.batch.len);
    x.batch.len = 0;
    s->rw_snap = x.batch;
    if (!aof_rewriting(s->log)) buf_wipe_free(&s->rw_snap);
    return aof_rewriting(s->log);
}

void persist_cron(srv *s)
{
    aof_cron(s->log);
    if (s->backlog.len) backlog_drain(s);
    char err[256];
    if (s->reseal_active) {
        size_t done = db_reseal_step(s->db, &s->reseal_cursor, 256);
        persist_commit(s, NULL);
        (void)done;
        if (s->reseal_cursor == 0) {
            uint32_t cur = keyring_current(s->keys, KR_VALUES);
            size_t left = 0;
            for (uint32_t v = 1; v < cur; v++)
                left += db_version_count(s->db, v);
            if (left == 0) {
                s->reseal_active = 0;
                log_notice("keyring: every value is sealed with values key v%u", cur);
                s->retire_values_after = clock_ms();
                s->rw_requested = 1;
            }
        }
    }
    if (!aof_rewriting(s->log) && aof_needs_rewrite(s->log)) {
        /* A failed fsync: only a fresh log written from memory restores the guarantee. */
        static long long last_try;
        long long now = clock_mono_ms();
        if (now - last_try > 5000) {
            last_try = now;
            if (persist_rewrite_start(s, err, sizeof err) != 0)
                log_warning("durable log: cannot start the rewrite after a failed fsync: %s", err);
        }
    }
    if (!aof_rewriting(s->log)) {
        unsigned long long size = aof_size(s->log), base = aof_base_size(s->log);
        int pct = s->cfg->aof_rewrite_pct;
        int grown = pct > 0 && size >= (unsigned long long)s->cfg->aof_rewrite_min &&
                    size > base + base * (unsigned long long)pct / 100;
        if ((s->rw_requested || grown) && persist_rewrite_start(s, err, sizeof err) == 0)
            s->rw_requested = 0;
    }
}

void persist_info(srv *s, buf *out, int sizes)
{
    char why[256] = "ok";
    int ok = aof_status(s->log, why, sizeof why) == 0 && s->backlog.len == 0;
    buf_printf(out,
               "# Persistence\r\nloading:0\r\naof_enabled:1\r\naof_fsync:%s\r\n"
               "aof_rewrite_in_progress:%d\r\naof_last_rewrite_time_sec:%lld\r\n"
               "aof_current_rewrite_time_sec:%lld\r\naof_rewrites:%llu\r\n"
               "aof_last_bgrewrite_status:%s\r\naof_last_write_status:%s\r\n",
               s->cfg->appendfsync ? "always" : "everysec", aof_rewriting(s->log) ? 1 : 0,
               s->rw_last_took_ms < 0 ? -1 : s->rw_last_took_ms / 1000,
               aof_rewriting(s->log) && s->rw_started_ms ? (clock_ms() - s->rw_started_ms) / 1000
                                                         : -1,
               s->rw_count, s->rw_last_ms == 0 || s->rw_last_ok ? "ok" : "err", ok ? "ok" : "err");
    /* The log's size grows by each write's size: for sessions that may count records. */
    if (sizes)
        buf_printf(out,
                   "aof_current_size:%llu\r\naof_base_size:%llu\r\naof_loaded_records:%llu\r\n"
                   "aof_loaded_bytes:%llu\r\n",
                   aof_size(s->log), aof_base_size(s->log), s->load_records, s->load_bytes);
    buf_printf(
        out, "aof_load_ms:%lld\r\naof_torn_bytes_dropped:%llu\r\nkey_reseal_in_progress:%d\r\n\r\n",
        s->load_ms, s->load_torn, s->reseal_active);
}

/* ---- commands ---- */

void bgrewriteaof_cmd(client *c)
{
    char err[256];
    if (persist_rewrite_start(c->s, err, sizeof err) != 0) {
        rep_errf(c, "ERR %s", err);
        return;
    }
    rep_simple(c, "Background append only file rewriting started");
}

void phi_keyring_status_cmd(client *c)
{
    srv *s = c->s;
    rep_map(c, KR_NPURPOSES);
    for (int p = 0; p < KR_NPURPOSES; p++) {
        uint32_t v[256];
        size_t n = keyring_versions(s->keys, p, v, 256);
        if (n > 256) n = 256;
        uint32_t cur = keyring_current(s->keys, p);
        rep_cstr(c, keyring_purpose_name(p));
        rep_array(c, n);
        for (size_t i = 0; i < n; i++) {
            int retired = keyring_key(s->keys, p, v[i]) == NULL;
            rep_map(c, 3);
            rep_cstr(c, "version");
            rep_int(c, v[i]);
            rep_cstr(c, "state");
            rep_cstr(c, retired ? "retired" : v[i] == cur ? "current" : "active");
            rep_cstr(c, "items");
            if (p == KR_VALUES) /* stored values, and the TOTP secrets and grants file */
                rep_int(c, (long long)(db_version_count(s->db, v[i]) +
                                       (retired ? 0 : cmd_secrets_using(s, v[i]))));
            else if (retired)
                rep_int(c, 0);
            else
                rep_null(c); /* in use by files (log, audit, backups): not counted per item */
        }
    }
}

void phi_keyring_rotate_cmd(client *c)
{
    srv *s = c->s;
    int purposes[KR_NPURPOSES], np = 0;
    if (c->argc == 3) {
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(c->argv[2].len > 30 ? 30 : c->argv[2].len),
                 (const char *)c->argv[2].p);
        int p = keyring_purpose_find(name);
        if (p < 0) {
            rep_errf(c, "ERR unknown key purpose '%s' (values, index, log, audit, backup, sign)",
                     name);
            return;
        }
        purposes[np++] = p;
    } else if (c->argc == 2) {
        purposes[np++] = KR_VALUES;
        purposes[np++] = KR_LOG;
    } else {
        rep_syntax(c);
        return;
    }
    if (cmd_backup_running(s)) {
        rep_err(c, "ERR a backup is running: rotate keys after it has finished (PHI.BACKUP "
                   "STATUS)");
        return;
    }
    rep_array(c, (size_t)np);
    for (int i = 0; i < np; i++) {
        char err[256];
        int p = purposes[i];
        /* The audit writer thread seals with the audit key: rotate it through the audit
         * module, which waits until the writer is not sealing (the keyring does not guard
         * a version list against a concurrent rotation). */
        uint32_t v = p == KR_AUDIT && s->audit  ? audit_rotate_key(s->audit, err, sizeof err)
                     : p == KR_SIGN && s->audit ? audit_rotate_sign(s->audit, err, sizeof err)
                                                : keyring_rotate(s->keys, p, err, sizeof err);
        if (!v) {
            cmd_audit_event(s, c, AUDIT_EV_KEYROTATE, AUDIT_FAILED, NULL,
                            keyring_purpose_name(p), err, NULL);
            rep_errf(c, "ERR cannot rotate the %s key: %s", keyring_purpose_name(p), err);
            continue;
        }
        {
            char ov[16], nv[16];
            snprintf(ov, sizeof ov, "v%u", v - 1);
            snprintf(nv, sizeof nv, "v%u", v);
            cmd_audit_change(s, c, AUDIT_EV_KEYROTATE, "rotate", keyring_purpose_name(p), ov, nv);
        }
        log_notice("keyring: %s key rotated to v%u by user %s", keyring_purpose_name(p), v,
                   c->username ? c->username : "?");
        if (p == KR_VALUES) {
            s->reseal_active = 1;
            s->reseal_cursor = 0;
        } else if (p == KR_LOG) {
            s->retire_log_after = clock_ms();
            s->rw_requested = 1;
        } else if (p == KR_INDEX) {
            /* Nothing stored depends on it: the index and pseudonyms live in memory. */
            cmd_policy_rekey(s);
            retire_old(s, KR_INDEX, "the blind index was rebuilt under the new key");
        }
        rep_map(c, 2);
        rep_cstr(c, "purpose");
        rep_cstr(c, keyring_purpose_name(p));
        rep_cstr(c, "version");
        rep_int(c, v);
    }
}


void phi_keyring_help_cmd(client *c)
{
    static const char *const lines[] = {
        "PHI.KEYRING <subcommand> [<arg> ...]. Subcommands are:",
        "STATUS",
        "    Each key purpose's versions, their state (current, active, retired) and, for",
        "    values, how many stored values each version still protects.",
        "ROTATE [values|index|log|audit|backup|sign]",
        "    Make a new version current (values and log when no purpose is given). Values",
        "    are re-sealed in the background and the log is compacted; an old version is",
        "    retired once nothing uses it.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
