/*
 * aof_int: the durable log's internal structures, shared by aof.c (appending,
 * durability, preallocation), aof_rewrite.c (compaction) and aof_load.c (header, scanning,
 * loading, checking, repair). Nothing outside src/store includes this.
 *
 * Offsets: `appended` is where the next record will start (the logical end of
 * the log, buffered bytes included), `written` is how far the file has been
 * written, `synced` how far it is known durable. Always
 * synced <= written <= appended, and appended - written is exactly the
 * unwritten part of `out`. Writes use pwrite at `written`, so a retry after a
 * failed or partial write lands exactly where the last good byte ended.
 *
 * Threads: the EVERYSEC fsync thread runs beside the caller's thread. It
 * reads fd, written, policy and writes synced, sync_err, fsyncs, busy; those
 * are guarded by mu (the caller's thread also takes mu to change them). While
 * a compaction runs, its writer thread (aof_rewrite.c) owns rw_fd and rw_io.
 * Everything else belongs to the caller's thread.
 */
#ifndef AOF_INT_H
#define AOF_INT_H

#include <pthread.h>

#include "store/aof.h"
#include "util/buf.h"

#define AOF_MAGIC            "PHIDBLOG"
#define AOF_FORMAT           2 /* 1: a sealed record per payload; 2: a record per batch */
#define AOF_ID_LEN           16
#define AOF_DEFAULT_PREALLOC (64ULL * 1024 * 1024)
#define AOF_BATCH_MAX        (1024 * 1024) /* a batch is sealed before it grows past this */
#define AOF_ENTRY_MAX        (AOF_MAX_RECORD - SEAL_OVERHEAD - 4) /* largest entry */
/* Format 2: a payload over the part size (64 MB) is written as a chain of entries, one per
 * record of its own, each but the last with AOF_ENTRY_MORE set in its length field; the
 * loader joins them and applies the payload once its last part is read. A chain whose last
 * part never reached the disk is a torn tail: it is cut at the record where it began. */
#define AOF_PART_MAX   (64u * 1024 * 1024)
#define AOF_ENTRY_MORE 0x80000000u

/* A batch being gathered (format 2): entries (u32 big-endian length | payload) not sealed
 * yet, and the version and nonce reserved for sealing them. The entries hold key names and
 * values in their stored (sealed) form; the buffer is wiped once sealed. */
typedef struct {
    buf p;
    uint8_t hdr[SEAL_HEADER];
    int reserved; /* hdr holds a nonce not used yet */
    int keep;     /* keep the buffer however large it grew (a rewrite's, until it ends) */
} aof_batch;

struct aof {
    char *dir;                   /* the data directory (owned) */
    char *path;                  /* DIR/phidb.log (owned) */
    char *rw_path;               /* DIR/phidb.log.rewrite (owned) */
    sealer *s;                   /* log sealer (the caller's; outlives the aof) */
    int fd;                      /* active log, read-write; changed only under mu */
    uint8_t id[AOF_ID_LEN];      /* file id of the active log (AAD of every record) */
    uint64_t seq;                /* sequence number of the last record sealed into it */
    int format;                  /* its format: 1 (kept for a log written by phidb 1) or 2 */
    aof_batch batch;             /* format 2: the batch being gathered for it */
    int ready;                   /* header verified and seq known: appends allowed */
    int used;                    /* something was appended since open (aof_load refused) */
    buf out;                     /* sealed records waiting to be written */
    size_t out_off;              /* bytes at the front of out already written */
    unsigned long long appended; /* logical end of the log (written + unwritten) */
    unsigned long long written;  /* bytes in the file; mu */
    unsigned long long synced;   /* bytes known durable; mu */
    unsigned long long reserved; /* space preallocated up to this offset */
    unsigned long long chunk;    /* preallocation kept ahead of the end (0: none) */
    unsigned long long base;     /* size after the last load or rewrite */
    int no_prealloc;             /* the filesystem cannot preallocate: warned once */
    int space_err;               /* errno of a failed reservation (0: none) */
    int write_err;               /* errno of a failed write (0: none) */
    int sync_err;                /* errno of a failed fsync, sticky until a rewrite; mu */
    int sync_logged;             /* sync_err was logged (the thread does not log) */
    enum aof_fsync policy;       /* fsync policy; mu for writes */
    pthread_mutex_t mu;          /* guards the fields marked mu */
    pthread_cond_t cv;           /* thread wake-up (stop) and busy changes */
    pthread_t th;                /* the EVERYSEC fsync thread */
    int th_started;              /* th is running */
    int th_failed;               /* th could not start: aof_cron fsyncs once a second instead */
    int th_stop;                 /* asks th to exit; mu */
    int th_busy;                 /* th is inside fdatasync on fd; mu */
    unsigned long long epoch;    /* bumped when fd changes (stale thread results dropped); mu */
    unsigned long long fsyncs;   /* successful fsyncs of the active log; mu */
    long long last_inline_ms;    /* last fsync done by aof_cron when th could not start */
    /* rewrite in progress */
    int rw_fd;                     /* DIR/phidb.log.rewrite, or -1 */
    uint8_t rw_id[AOF_ID_LEN];     /* its file id */
    uint64_t rw_seq;               /* last sequence number sealed into it */
    buf rw_out;                    /* its sealed records not yet written */
    aof_batch rw_batch;            /* the batch being gathered for it */
    unsigned long long rw_written; /* bytes written to it */
    unsigned long long rw_records; /* records in it */
    /* its writer thread (aof_rewrite.c): writes rw_io at rw_written; rw_mu guards
     * rw_io_busy, rw_io_err, rw_stop and rw_written while it runs */
    pthread_t rw_th;
    int rw_th_started;
    pthread_mutex_t rw_mu;
    pthread_cond_t rw_cv;
    buf rw_io;      /* sealed bytes handed to the thread (its own while rw_io_busy) */
    int rw_io_busy; /* rw_io is being written */
    int rw_io_err;  /* errno of the thread's failed write (0: none) */
    int rw_stop;    /* asks the thread to exit once idle */
};

/* Shared by aof.c and aof_rewrite.c. */
void aof_batch_clear(aof_batch *bt);
int aof_seal_batch(sealer *s, aof_batch *bt, buf *b, const uint8_t *id, uint64_t seq);
int aof_batch_add(sealer *s, aof_batch *bt, const uint8_t *p, size_t len);
/* err for a seal that failed: the keyring's reason (errno from seal_reserve) or EIO. */
void aof_seal_failed(char *err, size_t errlen);
/* The part size in force (AOF_PART_MAX unless a test lowered it). */
size_t aof_part_max(void);
/* Seal bt's entries (if any) into b as a record, then payload p as a chain of parts, each
 * in a record of its own; *seq is the last sequence number used, advanced per record.
 * Returns 0, or -1 (a nonce reservation failed: b and *seq may hold some of the parts). */
int aof_seal_chain(sealer *s, aof_batch *bt, buf *b, const uint8_t *id, uint64_t *seq,
                   const uint8_t *p, size_t len);
void aof_lock(const aof *a);
void aof_unlock(const aof *a);
void aof_log_state(const aof *a);
int aof_reserve(aof *a, unsigned long long end, int force);

/* How a scan ended. */
enum aof_scan_end {
    AOF_SCAN_OK = 0, /* every byte accepted */
    AOF_SCAN_TORN,   /* a torn tail after good_end (safe to cut) */
    AOF_SCAN_BAD,    /* damage at bad_off with data after it */
    AOF_SCAN_APPLY,  /* the apply callback refused the record at bad_off */
};

/* Result of scanning a log file. */
typedef struct {
    enum aof_scan_end end;       /* how it ended */
    int format;                  /* header format (0 when there is no header) */
    uint8_t id[AOF_ID_LEN];      /* file id from the header */
    unsigned long long records;  /* good records */
    unsigned long long last_seq; /* sequence number of the last good record */
    unsigned long long good_end; /* offset just past the last good record (or header) */
    unsigned long long bad_off;  /* where the damage (or refused record) starts */
    unsigned long long size;     /* file size */
    int tail_zero;               /* TORN: every byte after good_end is zero */
    char why[192];               /* what is wrong ("" when end is OK) */
} aof_scan;

/* The error for a log of 0 bytes (%s: its path). */
#define AOF_EMPTY_MSG                                                                              \
    "%s is empty (0 bytes), which phidb never writes (a log starts with its header): it was "      \
    "truncated or replaced. Restore the data directory from a backup (phidb restore), or remove "  \
    "the file to start with an empty keyspace"
/* Scan the log open on fd (path for messages), opening every record with s and passing it to
 * apply (may be NULL). Reads in bounded windows. Returns 0 (r says how it ended), or -1 with err
 * when the file cannot be read, is empty (AOF_EMPTY_MSG) or its header is refused (not a log,
 * newer format). */
int aof_scan_fd(int fd, const char *path, sealer *s, aof_apply_fn *apply, void *arg, aof_scan *r,
                char *err, size_t errlen);
/* Build the 64-byte header for file id into out. */
void aof_header_make(const uint8_t id[AOF_ID_LEN], uint8_t out[AOF_HEADER_LEN]);
/* Write all n bytes at off (EINTR and short writes retried). Returns the bytes written; fewer
 * than n means an error, with errno set. */
size_t aof_pwrite_all(int fd, const uint8_t *p, size_t n, unsigned long long off);
/* fsync the directory holding path (rename durability). Returns 0 or -1 (errno). */
int aof_fsync_dir_of(const char *path);
/* Human reason for an errno (no space, quota, file size limit, or strerror). */
const char *aof_reason(int e);
/* Wall-clock milliseconds. */
long long aof_now_ms(void);

#endif
