/*
 * audit_int: the writer's state, shared by the files of the audit module (audit.c, the
 * writer; audit_keys.c, the signing keys it publishes and the rotations). Not for other
 * modules: they use audit.h.
 */
#ifndef AUDIT_INT_H
#define AUDIT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <zstd.h>

#include "audit/audit.h"
#include "audit/audit_seg.h"
#include "audit/audit_syslog.h"
#include "util/buf.h"

struct audit {
    audit_opts o;             /* options (dir copied) */
    char *dir;                /* segment directory */
    keyring *kr;              /* the keyring (not owned) */
    sealer *s;                /* audit-key sealer (writer thread only) */
    uint8_t *seed;            /* Ed25519 seed, locked memory */
    uint8_t pub[32];          /* its public key */
    pthread_mutex_t mu;       /* guards the fields up to `stop` */
    pthread_mutex_t wmu;      /* held by the writer while it uses the keyring (sealing) */
    pthread_cond_t wake;      /* writer: work to do */
    pthread_cond_t moved;     /* audit_flush: durable_seq or health moved */
    buf pending;              /* formatted bodies, '\n'-separated, not yet taken */
    uint64_t last_seq;        /* last sequence number handed out */
    uint64_t pend_since_ckpt; /* records accepted since the last checkpoint was queued */
    int writer_waiting;       /* writer sleeps on `wake` */
    int stop;                 /* audit_close asked the writer to finish */
    char why[256];            /* reason of the unhealthy state */
    uint64_t head_seq;        /* chain head for audit_head */
    uint8_t head[32];
    atomic_int write_failed; /* the last block write failed */
    atomic_int backlog;      /* pending is over pending_max */
    atomic_int sink_down;    /* a required sink is down */
    atomic_uint_fast64_t durable_seq;
    audit_ts_cache tsc; /* owner thread's time cache */
    char errcopy[256];  /* audit_error's result */
    int efd;            /* eventfd for the event loop */
    pthread_t thr;      /* the writer */
    audit_sink *sink;   /* syslog sink, or NULL */
    /* writer thread only */
    buf work;                 /* taken from pending */
    buf blk;                  /* stored lines (without prev) of the block being built */
    buf blk_hash;             /* the hash of each of them, 32 bytes apiece */
    size_t blk_off, blkh_off; /* bytes of blk and blk_hash already written (consumed) */
    buf line;                 /* a full line rebuilt for the sink */
    uint32_t blk_n;           /* records in blk */
    uint64_t blk_first;       /* seq of the first one */
    uint8_t blk_prev[32];     /* hash before the first one */
    uint64_t w_seq;           /* seq of the last line chained */
    uint8_t w_head[32];       /* its hash */
    uint64_t since_ckpt;      /* records since the last checkpoint */
    int ckpt_queued;          /* a checkpoint is in pending */
    int64_t last_ckpt_us;     /* when the last one was queued */
    int blk_has_ckpt;         /* blk holds a checkpoint */
    int head_dirty;           /* head_line is newer than audit.head (written after an fsync) */
    int64_t head_written_us;  /* when audit.head was last written (at most once a second) */
    char head_line[256];      /* audit.head content for it */
    int fd;                   /* current segment (-1: none) */
    int fd_broken;            /* could not cut back a partial write: start a new segment */
    audit_seg_header seg;     /* its header */
    uint64_t seg_bytes;       /* its size */
    uint64_t next_block;      /* its next block number */
    int64_t seg_day;          /* its UTC day */
    uint64_t next_seg_id;     /* id of the next segment */
    int unsynced;             /* written but not fsynced */
    int64_t last_sync_us;
    int64_t last_take_us; /* when the writer last took the pending records */
    int64_t retry_at_us;  /* next write attempt after a failure */
    ZSTD_CCtx *cctx;
    buf out, tmp; /* block bytes, compression scratch */
};

/* Make audit.pub list the public key of every signing-key version, oldest first (see
 * audit_keys.c). Called with the writer not signing. 0, or -1 with err. */
int audit_publish_keys(audit *a, char *err, size_t errlen);

#endif
