/*
 * backup: encrypted, signed, point-in-time backups of a data directory; verify; restore.
 *
 * What a backup holds: the keyspace (every key's full state as journal operations, values
 * still sealed with the values key, exactly as the durable log holds them), the keyring
 * (its data keys still wrapped), and named parts (the users file, the policy file). The
 * keyspace comes from the online snapshot (db_snapshot_begin/step), so the copy is
 * consistent at one point while clients go on being served.
 *
 * File format (version BACKUP_FORMAT; every integer big-endian):
 *
 *   header, 128 bytes, in the clear:
 *     "PHIDBBAK" | u32 format | u32 flags (1 = passphrase copy) | 16-byte backup id |
 *     u64 created (ms) | u32 backup key version | wrapped file key (12-byte nonce, 32-byte
 *     ciphertext, 16-byte tag; AES-256-GCM under the backup key of the keyring, AAD = the
 *     first 36 header bytes) | zero padding
 *   keyring: u32 length | the keyring as JSON (keys wrapped by the master key, or by a key
 *     stretched from the backup's passphrase with Argon2id for a passphrase copy). It is in
 *     the clear because the backup key that opens everything else is inside it.
 *   records: u32 length | u8 kind | AES-256-GCM ciphertext and tag under the file key.
 *     The nonce is the record's sequence number (the file key is random and used for this
 *     file only, so a counter never repeats); the AAD is the backup id, the sequence number
 *     and the kind, so a record cannot be altered, dropped, reordered or moved from another
 *     backup without failing to open.
 *       kind 1 DATA: the next bytes of the keyspace stream, a series of frames
 *                    (u32 length | journal operations); a frame may span records.
 *       kind 2 PART: u16 name length | name | contents (users.acl, policy).
 *       kind 3 MANIFEST: JSON: format, created, made_by, counts per type, SHA-256 of
 *                    every part (of its records as stored), the audit chain head at the
 *                    backup's point (null without an audit module), the signing key.
 *   trailer, 128 bytes: "PHIDBSIG" | u64 trailer offset | SHA-256 of everything before
 *     the trailer | Ed25519 signature of that hash (the keyring's sign key) | padding.
 *
 * Memory: the writer keeps one record being filled and a bounded queue for its I/O
 * thread (about 5 MB in all, whatever the keyspace size); the reader streams.
 *
 * Threads: a writer is driven by one thread (the keyring's owner); its own I/O thread
 * seals, hashes, writes and syncs. Reading and verifying touch only their own keyring
 * copy, so they may run on any thread.
 */
#ifndef BACKUP_H
#define BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "store/keyring.h"

#define BACKUP_FORMAT         1
#define BACKUP_HEADER_LEN     128
#define BACKUP_TRAILER_LEN    128
#define BACKUP_RECORD_MAX     (16u << 20) /* larger record lengths are damage */
#define BACKUP_PASSPHRASE_MIN 12

typedef struct backup_writer backup_writer;

/* Counts, per type (what the manifest holds and verify reports). */
typedef struct {
    unsigned long long keys;    /* keys */
    unsigned long long strings; /* string keys */
    unsigned long long hashes;  /* hash keys */
    unsigned long long fields;  /* hash fields */
    unsigned long long expires; /* keys with an expiry */
    unsigned long long frames;  /* frames in the keyspace stream */
    unsigned long long parts;   /* named parts */
    unsigned long long bytes;   /* file size */
} backup_counts;

typedef struct {
    const char *passphrase; /* NULL: sealed for the master key; else an off-site copy that
                               this passphrase (>= BACKUP_PASSPHRASE_MIN characters) opens */
    const char *made_by;    /* free text for the manifest ("PHI.BACKUP by alice ..."), or NULL */
    const uint8_t *passphrase_kek;  /* with passphrase: its key already stretched with
                                       keyring_passphrase_kek (then open does no Argon2id
                                       work), or NULL */
    const uint8_t *passphrase_salt; /* the salt it was stretched with (16 bytes) */
} backup_opts;

typedef struct {
    backup_counts counts; /* what went in */
    char id[33];          /* backup id (hex) */
    long long created_ms; /* the backup's point (ms) */
    long long took_ms;    /* open to close */
} backup_report;

/* ---- writing ---- */
/* Start a backup into path (written as path.tmp, held under an exclusive flock, renamed by
 * close) from keyring k. With a
 * passphrase (and no passphrase_kek), this spends about 0.2 s in Argon2id. Returns the writer
 * or NULL with err. */
backup_writer *backup_writer_open(const char *path, keyring *k, const backup_opts *o, char *err,
                                  size_t errlen);
/* Add journal operations making up whole keys' states (what db_snapshot emits): copied.
 * Returns 0, or -1 with err (then call backup_writer_abort). */
int backup_writer_frame(backup_writer *w, const uint8_t *ops, size_t len, char *err, size_t errlen);
/* 1 when the I/O thread is behind (the caller should pause the snapshot scan). */
int backup_writer_busy(backup_writer *w);
/* Add a named part (copied). Returns 0 or -1 with err. */
int backup_writer_part(backup_writer *w, const char *name, const uint8_t *p, size_t len, char *err,
                       size_t errlen);
/* Finish: manifest (audit_head: hex chain head or NULL), signature, fsync, rename over path,
 * fsync of the directory. Frees w whatever happens. Returns 0 (report filled) or -1 with err
 * (nothing is left behind). */
int backup_writer_close(backup_writer *w, const char *audit_head, backup_report *r, char *err,
                        size_t errlen);
/* Give up: the temporary file is removed. Frees w. */
void backup_writer_abort(backup_writer *w);
/* Remove what interrupted backups (a server or tool killed mid-backup) left in dir: files
 * named "<name>.tmp" that begin with the backup header's magic and that no writer holds (a
 * writer keeps an exclusive flock on its temporary file, so a backup running in another
 * process that shares dir is left alone). Returns how many were removed (0 when dir does not
 * exist), or -1 with err when dir cannot be read. */
int backup_remove_stale(const char *dir, char *err, size_t errlen);
/* The default file name of a backup made at ms (Unix time in ms, UTC):
 * "phidb-YYYYMMDDTHHMMSSmmmZ.phib" (milliseconds, so two backups in one second get different
 * names), written into out (len >= BACKUP_NAME_LEN). PHI.BACKUP and `phidb backup` share it. */
#define BACKUP_NAME_LEN 64
void backup_default_name(long long ms, char *out, size_t len);

/* ---- reading, verifying ---- */
/* What opens a backup: the master key source of the data directory it came from, or the
 * passphrase of a passphrase copy. */
typedef struct {
    keyring_kek_source kek; /* master key source (key_file, command or passphrase) */
    const char *passphrase; /* the backup's passphrase (a passphrase copy), else NULL */
    /* For backup_verify only, instead of kek: the running server's own keyring (read, never
     * changed; nothing may rotate or retire meanwhile), for a server whose master key came
     * from a passphrase it does not keep. The backup's keyring block is then checked by the
     * file's hash and signature but not unwrapped (that needs the master key: restore,
     * `phidb backup verify`); everything else is checked as with the master key. Not for
     * passphrase copies. */
    keyring *live;
} backup_keys;

typedef struct {
    backup_counts counts;   /* counted while reading */
    backup_counts manifest; /* what the manifest says */
    char id[33];            /* backup id */
    long long created_ms;   /* the backup's point */
    int passphrase;         /* a passphrase copy */
    char made_by[256];      /* from the manifest */
    char audit_head[130];   /* from the manifest ("" when none) */
    char sign_pub[65];      /* signing public key (hex) */
    char parts[8][64];      /* part names */
    int nparts;             /* count */
    long long took_ms;      /* time taken */
} backup_info;

/* Called for each keyspace frame while reading (pointers valid during the call); returns 0
 * to go on, -1 to stop (the read then fails with err as the callback left it). */
typedef int backup_frame_fn(void *ud, const uint8_t *frame, size_t len, char *err, size_t errlen);
/* Called for each named part. Same contract. */
typedef int backup_part_fn(void *ud, const char *name, const uint8_t *p, size_t len, char *err,
                           size_t errlen);

/* Check everything without restoring: header, format, trailer, signature, every record,
 * every part's checksum, every stored value opening with its key, the counts against the
 * manifest. Returns 0 (info filled), or -1 with a clear err. */
int backup_verify(const char *path, const backup_keys *keys, backup_info *info, char *err,
                  size_t errlen);
/* Verify, then read again calling fn/pfn (either may be NULL) for every frame and part.
 * The keyring of the backup (opened) is handed back in *kr when kr is not NULL (the caller
 * closes it). Returns 0 or -1 with err. */
int backup_read(const char *path, const backup_keys *keys, backup_frame_fn *fn, backup_part_fn *pfn,
                void *ud, keyring **kr, backup_info *info, char *err, size_t errlen);

/* ---- restoring ---- */
typedef struct {
    const char *data_dir;     /* where keyring, users.acl and phidb.log go (created) */
    const char *policy_path;  /* where the policy part goes (NULL: into data_dir) */
    const char *new_key_file; /* a passphrase copy: re-wrap the keys under this master key
                                 file (0600; before_write may create it); NULL keeps the
                                 master key */
    /* Called once everything is verified, before anything is written (may be NULL): the
     * caller prepares what surrounds data_dir. Returns 0, or -1 with err to stop. */
    int (*before_write)(void *ud, const backup_info *info, char *err, size_t errlen);
    backup_frame_fn *tap; /* sees every frame as it is written (may be NULL) */
    void *ud;             /* for before_write and tap */
} backup_restore_opts;

/* Restore into o->data_dir, which must be empty or absent: verify everything first (nothing
 * is written if anything is wrong), then write the keyring (every sealing key given a new
 * version, so the copy never reuses the original's nonces), the parts and a fresh durable
 * log. Returns 0 (info filled) or -1 with err. */
int backup_restore(const char *path, const backup_keys *keys, const backup_restore_opts *o,
                   backup_info *info, char *err, size_t errlen);
/* 1 when dir does not exist or is an empty directory. */
int backup_dir_empty(const char *dir);

/* Audit hook: called (when set) after each backup, verify, restore and drill with the
 * action ("backup", "verify", "restore", "drill"), the backup's path, who asked (free text)
 * and the outcome (0 ok, -1 failed, with why). The audit module wires it; until then it is
 * NULL and nothing is recorded. */
typedef void backup_audit_fn(const char *action, const char *path, const char *who, int ok,
                             const char *why);
extern backup_audit_fn *backup_audit_hook;
/* Call the hook if set. */
void backup_audit(const char *action, const char *path, const char *who, int ok, const char *why);

/* backup-schedule: "daily HH:MM" (UTC), "every N" with h, m or s, or "" (none). The next
 * time (ms since the epoch) after now, 0 for "", -1 when spec is malformed. */
long long backup_schedule_next(const char *spec, long long now);

#endif
