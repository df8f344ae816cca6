/*
 * audit: the tamper-evident audit trail (docs/audit.md has the formats).
 *
 * One JSON line per event (access decision, login, admin change, break-glass ...), never
 * a value: key names and subjects are recorded, but only inside encrypted segments.
 *
 * Key decisions:
 *  - The server's main thread only formats the record into a pending buffer under a mutex
 *    (sub-microsecond); a writer thread does everything slow: the hash chain (each record
 *    ends with "prev", the SHA-256 of the previous line), signed checkpoints (Ed25519 with
 *    the keyring's signing seed, public key published as DIR/audit.pub), zstd compression,
 *    AES-256-GCM sealing with the audit key (AAD = segment header + block header, so blocks
 *    cannot move between segments or positions), write and fsync.
 *  - Segments are rotated by size and by UTC day and are never removed except by
 *    audit_prune_dir (`phidb audit prune`) after the retention period.
 *  - Fail closed: when a block cannot be written (disk full, I/O error, file size limit, a
 *    required sink down) the module is unhealthy and audit_append refuses new records. The
 *    records it already accepted stay in memory and are written when writing works again
 *    (retried every retry_ms); health comes back by itself.
 *  - Durability is observable: audit_durable_seq says what is on disk (fsynced with
 *    fsync always); the eventfd from audit_notify_fd wakes the event loop when it moves.
 *
 * Threads: audit_append, audit_healthy, audit_error, audit_*_seq, audit_head may be called
 * from one owner thread (the event loop) while the writer and sink threads run.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store/keyring.h"
#include "util/buf.h"

typedef struct audit audit;

/* Event types ("ev" in the record; names from audit_event_name). */
enum {
    AUDIT_EV_ACCESS,     /* a data command's access decision */
    AUDIT_EV_AUTH,       /* AUTH / HELLO AUTH success or failure */
    AUDIT_EV_MFA,        /* second factor */
    AUDIT_EV_LOCKOUT,    /* a user was locked */
    AUDIT_EV_LOGOUT,     /* QUIT, RESET, disconnect of an authenticated session */
    AUDIT_EV_TIMEOUT,    /* idle timeout */
    AUDIT_EV_ACL,        /* ACL change (detail: old and new, never passwords) */
    AUDIT_EV_POLICY,     /* policy reload */
    AUDIT_EV_CONFIG,     /* CONFIG SET (detail: old and new) */
    AUDIT_EV_BREAKGLASS, /* break-glass grant, use, revoke (action says which) */
    AUDIT_EV_KEYROTATE,  /* key rotation */
    AUDIT_EV_BACKUP,     /* backup */
    AUDIT_EV_RESTORE,    /* restore */
    AUDIT_EV_EXPORT,     /* export of records */
    AUDIT_EV_START,      /* server start */
    AUDIT_EV_STOP,       /* server stop */
    AUDIT_EV_ALERT,      /* an alert fired (detail: the alert) */
    AUDIT_EV_PRUNE,      /* segments removed after retention */
    AUDIT_EV__COUNT
};
/* Results ("res"). */
enum { AUDIT_GRANTED, AUDIT_DENIED, AUDIT_FAILED };

/* One record as the caller describes it. Every pointer may be NULL (= field absent); the
 * strings are only read during audit_append / audit_format. */
typedef struct audit_rec {
    int type, result;               /* AUDIT_EV_*, AUDIT_GRANTED/DENIED/FAILED */
    const char *user, *role, *addr; /* addr "ip:port" */
    unsigned long long session;     /* client id (0: absent) */
    const char *cmd;                /* lower-case command name, e.g. "hget" */
    const char *key;                /* key name, binary-safe */
    size_t keylen;
    const char *subject; /* the record's subject (patient id), binary-safe */
    size_t subjectlen;
    const char *const *fields; /* field names only, never values */
    const size_t *fieldlens;
    int nfields;
    const char *purpose;   /* purpose of use */
    const char *emergency; /* break-glass grant id when the access used one */
    const char *reason;    /* break-glass reason, error reason, ... */
    const char *detail;    /* extra JSON object text, already valid JSON, or NULL */
    const char *action;    /* addition: sub-kind, e.g. "grant"/"use"/"revoke" for
                              AUDIT_EV_BREAKGLASS, "set"/"deluser" for ACL */
    int64_t ts_us;         /* when, in microseconds since the epoch (0: now) */
    int keep;              /* taken even while the trail is unhealthy (within the pending
                              limit) and written once it recovers: events that happen
                              whether or not they can be recorded (logins, lockouts, ...) */
} audit_rec;

/* A syslog (RFC 5424 over TLS, RFC 5425 framing) sink. */
typedef struct audit_syslog_opts {
    const char *host; /* NULL or "": no syslog sink */
    int port;         /* 6514 */
    const char *ca;   /* CA file the server certificate must chain to (required) */
    const char *cert; /* client certificate (optional) */
    const char *key;  /* its key (optional) */
    int required;     /* 1: the module is unhealthy while this sink is down (audit_open
                         refuses it without a host) */
    int records;      /* 0 every record, 1 records without key and subject, 2 checkpoints */
    size_t queue_max; /* most messages waiting (default 100000); beyond: dropped+counted */
} audit_syslog_opts;

typedef struct audit_opts {
    const char *dir;             /* segment directory (created 0700) */
    int fsync_always;            /* 1: durable = fsynced; 0: written, fsynced every second */
    long long segment_max_bytes; /* rotate beyond this size (default 64 MB) */
    int checkpoint_records;      /* a signed checkpoint every N records (default 1000) */
    int checkpoint_ms;           /* ... or every T ms when records are pending (60000) */
    int retention_days;          /* for audit_prune_dir (default 2555) */
    int retry_ms;                /* retry a failed write this often (default 1000) */
    size_t pending_max;          /* bytes accepted but not written before refusing (64 MB) */
    int zstd_level;              /* compression level (default 1) */
    audit_syslog_opts syslog;    /* the SIEM sink */
    int *keep_torn;              /* NULL: a torn last block is cut at open (the server);
                                    else (a tool) it is left alone, *keep_torn = 1 and
                                    audit_open fails */
} audit_opts;

/* Fill o with the defaults above (dir NULL). */
void audit_opts_default(audit_opts *o);

/* Open the trail in o->dir: create the directory, publish audit.pub, resume the chain from
 * the last segment (a torn last block is cut off with a warning; any other damage refuses
 * to open), start the writer (and sink) threads. New records go to a new segment. The
 * keyring must outlive the handle. Returns NULL with a reason (no PHI) in err. The caller
 * appends AUDIT_EV_START itself. */
audit *audit_open(const audit_opts *o, keyring *kr, char *err, size_t errlen);
/* Accept one record (main thread). Returns 0 (accepted: it will be written, in order), or
 * -1 (refused because the module is unhealthy; nothing was accepted). */
int audit_append(audit *a, const audit_rec *r);
/* 1 healthy; 0 = fail closed. */
int audit_healthy(audit *a);
/* Why unhealthy ("" when healthy); no PHI. Valid until the next call on this thread. */
const char *audit_error(audit *a);
/* Sequence number of the last accepted record (0: none yet). */
uint64_t audit_last_seq(audit *a);
/* Last record written (and fsynced with fsync always). */
uint64_t audit_durable_seq(audit *a);
/* An eventfd readable when durable_seq or health changes (read it to reset). */
int audit_notify_fd(audit *a);
/* Chain head: seq and SHA-256 of the last record written. */
void audit_head(audit *a, uint64_t *seq, uint8_t hash[32]);
/* Block until every accepted record is written (or the module is unhealthy, or timeout_ms
 * passed). Returns 0 when durable_seq >= last_seq, else -1. For tools and tests. */
int audit_flush(audit *a, int timeout_ms);
/* Rotate the audit key (KR_AUDIT) while the writer thread is not sealing: the keyring is
 * not safe against a rotation of a purpose another thread seals with, so a running server
 * must use this instead of keyring_rotate(kr, KR_AUDIT). New blocks use the new version;
 * old segments keep opening with the old one until it is retired (audit_retire_key: only
 * once no segment sealed with it is kept). Returns the new version, or 0 with err. */
uint32_t audit_rotate_key(audit *a, char *err, size_t errlen);
/* Rotate the signing key (purpose sign): the new key is added to audit.pub and signs the
 * next checkpoint. Returns the new version, or 0 (why in err). */
uint32_t audit_rotate_sign(audit *a, char *err, size_t errlen);
/* Retire an old audit key version, likewise. Returns 0 or -1 with err. */
int audit_retire_key(audit *a, uint32_t version, char *err, size_t errlen);
/* Syslog sink state: connected (1/0), messages sent and dropped. */
void audit_sink_stats(audit *a, int *connected, uint64_t *sent, uint64_t *dropped);
/* Flush everything, write a final checkpoint, join the threads, free. NULL is fine. */
void audit_close(audit *a);

/* ---- formatting (pure) ---- */

/* Name of an event type ("access"), or "unknown". */
const char *audit_event_name(int type);
/* Event type by name, or -1 ("checkpoint" is -1: written by the module itself). */
int audit_event_find(const char *name);
/* Name of a result ("granted", "denied", "failed"). */
const char *audit_result_name(int result);
/* Append the exact JSON line (with its '\n') of record r with sequence number seq, time
 * ts_us (microseconds since the epoch, UTC) and previous-record hash prev (NULL: zeros)
 * to out. The writer produces exactly this line. */
void audit_format(const audit_rec *r, uint64_t seq, int64_t ts_us, const uint8_t prev[32],
                  buf *out);

/* ---- retention ---- */

/* Remove whole segments of dir whose UTC day is more than retention_days before now
 * (oldest first, never the newest segment), then record the prune: open the trail (a new
 * segment), append an AUDIT_EV_PRUNE record naming the segments and the last seq removed,
 * close. user names who ran it. Needs the server stopped (it writes a segment). *removed
 * gets the count. Returns 0 or -1 with err. */
int audit_prune_dir(const audit_opts *o, keyring *kr, int64_t now_us, const char *user,
                    int *removed, char *err, size_t errlen);
/* The same beside a running writer a (PHI.AUDIT PRUNE): the prune record (with who's user,
 * role, address and session) goes into a's trail, and the segments are removed once it is
 * written (at most 5 s of waiting; on failure nothing is removed). o gives the directory
 * and retention (a's own, from the same config). */
int audit_prune_live(audit *a, const audit_opts *o, int64_t now_us, const audit_rec *who,
                     int *removed, char *err, size_t errlen);

#endif
