/*
 * audit_seg: the segment file format of the audit trail, shared by the writer
 * (audit.c), the verifier (audit_verify.c), the tools and the tests.
 *
 *   file  DIR/audit-<id:10 digits>-<YYYYMMDD>.seg
 *   header (64 bytes, big-endian): "PHIDBAU2" (v1: "PHIDBAU1") | u64 id | u64 first_seq |
 *          i64 created_us | prev[32] (hash of the record before this segment's first; zeros
 *          for the first)
 *   block  frame (32 bytes): u32 "ABLK" | u32 sealed_len | u64 block_no (0, 1, ...) |
 *          u64 first_seq | u32 nrec | u32 raw_len, then sealed_len bytes:
 *          seal_seal(zstd(lines)), AAD = the segment header and the frame header.
 *
 * A record's full line is a JSON object ending in ,"prev":"<64 hex>"} (audit_format), and
 * the hash of a record is the SHA-256 of its full line. v1 segments store the full lines;
 * v2 segments (written since) store each line without its prev member (it ends in the
 * record's final '}'): the 74 bytes of hex are derivable from the lines before and do not
 * compress, so leaving them out makes zstd about 3x cheaper and the blocks about 4x
 * smaller. Readers get full lines either way through audit_lines, which rebuilds a v2 line
 * from the running hash and hands out each line's hash with it, so nobody hashes twice.
 */
#ifndef AUDIT_SEG_H
#define AUDIT_SEG_H

#include <stddef.h>
#include <stdint.h>

#include "store/seal.h"
#include "util/buf.h"

#define AUDIT_SEG_MAGIC1  "PHIDBAU1" /* v1: full lines */
#define AUDIT_SEG_MAGIC2  "PHIDBAU2" /* v2: lines without their prev member */
#define AUDIT_SEG_VERSION 2          /* what the writer writes */
#define AUDIT_SEG_HEADER  64
#define AUDIT_BLK_MAGIC   0x41424c4bu /* "ABLK" */
#define AUDIT_BLK_HEADER  32
#define AUDIT_BLK_MAX_RAW (16u << 20) /* a block holds at most 16 MB of lines */
#define AUDIT_PREV_SUFFIX 75          /* ,"prev":"<64 hex>"} */

typedef struct {
    int version;                   /* 1 or 2 (encode: 0 means AUDIT_SEG_VERSION) */
    uint64_t id;                   /* segment number, 1, 2, ... */
    uint64_t first_seq;            /* seq of its first record */
    int64_t created_us;            /* creation time */
    uint8_t prev[32];              /* hash of the record before its first */
    uint8_t raw[AUDIT_SEG_HEADER]; /* the header bytes (AAD) */
} audit_seg_header;

typedef struct {
    uint32_t sealed_len;
    uint64_t block_no;
    uint64_t first_seq;
    uint32_t nrec;
    uint32_t raw_len;
    uint8_t raw[AUDIT_BLK_HEADER];
} audit_blk_header;

/* Encode / decode a segment header (version from / into h->version). decode returns 0, or
 * -1 (bad magic). */
void audit_seg_header_encode(audit_seg_header *h);
int audit_seg_header_decode(const uint8_t *p, audit_seg_header *h);
/* Encode / decode a frame header. decode returns 0 or -1 (bad magic or limits). */
void audit_blk_header_encode(audit_blk_header *b);
int audit_blk_header_decode(const uint8_t *p, audit_blk_header *b);

/* Build a sealed block of the stored lines (p, n) (nrec records) into out (appended: frame header
 * + sealed bytes). zcctx is a ZSTD_CCtx (NULL: a temporary one). tmp is scratch space.
 * Returns 0 or -1. */
int audit_blk_build(sealer *s, const audit_seg_header *h, uint64_t block_no, uint64_t first_seq,
                    uint32_t nrec, const uint8_t *p, size_t n, int level, void *zcctx, buf *tmp,
                    buf *out);
/* Open the block whose frame header is b and sealed bytes (in, b->sealed_len): the stored
 * lines (v2: without prev members; read them with audit_lines) are appended to out (zdctx: a
 * ZSTD_DCtx or NULL; tmp: scratch). Returns 0, -1 (authentication failed), -2 (decompression failed
 * or the size does not match). */
int audit_blk_open(sealer *s, const audit_seg_header *h, const audit_blk_header *b,
                   const uint8_t *in, void *zdctx, buf *tmp, buf *out);

/* Segment file name for id and UTC day of created_us, into out. */
void audit_seg_name(char *out, size_t cap, uint64_t id, int64_t created_us);
/* Parse a segment file name; returns the id, or 0 when the name is not a segment. */
uint64_t audit_seg_parse_name(const char *name);
/* Segments of dir sorted by id: *ids (mem_alloc'd, caller frees) and their names
 * (*names[i] mem_alloc'd; free with audit_seg_list_free). Returns the count, or -1. */
int audit_seg_list(const char *dir, uint64_t **ids, char ***names);
void audit_seg_list_free(uint64_t *ids, char **names, int n);

/* While resuming a trail with a keyring that may be older than it: note (seal_nonce_note)
 * the nonce of every block of the segment mapped at (m, len) whose sealed part starts in
 * it, torn or not (a torn block's nonce was used too). Returns how many were noted.
 * Nothing is opened or checked (audit verify does that). */
int audit_seg_note_nonces(sealer *s, const uint8_t *m, size_t len);
/* The same for the newest of the segments names[0..n) (audit_seg_list order) that has a
 * block: where the latest nonces are when the newest segment has none. */
void audit_seg_note_older_nonces(sealer *s, const char *dir, char **names, int n);

/* SHA-256 of a record line (without '\n') and the hex form. */
void audit_hash(const uint8_t *line, size_t n, uint8_t out[32]);
void audit_hex(const uint8_t *p, size_t n, char *out);
int audit_unhex(const char *s, size_t n, uint8_t *out);
/* The last checkpoint on disk, from dir/audit.head ("seq hexhash"): 1 with *seq and hash,
 * 0 when there is no such file, -1 when it cannot be read or parsed. */
int audit_head_read(const char *dir, uint64_t *seq, uint8_t hash[32]);
/* The lock between readers of the trail and a prune (dir/audit.lock, flock): shared for a
 * reader (audit_verify_dir, for its whole pass), exclusive and without waiting for a prune
 * (segments must not vanish under a reader that has listed them). Returns the fd to close
 * when done; -1 when the lock file cannot be opened or created (errno); -2 (exclusive
 * only) when a reader holds it. */
int audit_dir_lock(const char *dir, int exclusive);

/* Append the v2 stored form of the full line (line, n; no '\n'): the line without its
 * ,"prev":"<64 hex>" member (no '\n' either). Returns 0, or -1 (nothing appended) when the
 * line does not end in a prev member. For tools and tests: the writer strips in place. */
int audit_line_store(const char *line, size_t n, buf *out);

/* The full lines of a block, whatever the segment's version, each with its hash.
 * Zero it once, then audit_lines_start for each block (prev carries over from the block
 * before when the caller passes it back), audit_lines_next for each line, and
 * audit_lines_free at the end (it wipes the rebuilt line: records hold key names). */
typedef struct {
    const char *p, *end; /* stored lines not read yet */
    int version;         /* of the segment: 1 or 2 */
    uint8_t prev[32];    /* hash of the last line given (before the first: the one before) */
    buf line;            /* v2: the last line given, rebuilt */
} audit_lines;

enum {
    AUDIT_LINES_NOEND = -1,     /* the last line has no '\n' */
    AUDIT_LINES_MALFORMED = -2, /* a v2 line that is empty, does not end in '}', or already
                                   ends in a prev member (,"prev":"..."}) */
};

/* Read the stored lines (p, n) of an opened block of a version `version` segment; prev is
 * the hash of the record before the block's first (v2 lines get it as their prev). */
void audit_lines_start(audit_lines *it, int version, const uint8_t *p, size_t n,
                       const uint8_t prev[32]);
/* The next full line: *line (valid until the next call), *len (without '\n'), hash (its
 * SHA-256, also kept in it->prev). v1 lines come as stored (their prev is the caller's to
 * check); a v2 line gets ,"prev":"<hex of it->prev>" before its final '}'. Returns 1 (a
 * line), 0 (no more), AUDIT_LINES_NOEND or AUDIT_LINES_MALFORMED. */
int audit_lines_next(audit_lines *it, const char **line, size_t *len, uint8_t hash[32]);
void audit_lines_free(audit_lines *it);

/* Parts of a record line found without a JSON parser (positions are fixed by the format).
 * Returns 0, or -1 when the line is not shaped like a record. */
typedef struct {
    uint64_t seq;
    const char *ev; /* event name (not NUL-terminated) */
    size_t evlen;
    const char *ts; /* 27 characters */
    uint8_t prev[32];
} audit_line_info;
int audit_line_parse(const char *line, size_t n, audit_line_info *li);

/* ---- checkpoints ---- */

/* The message a checkpoint signs: "phidb-audit-checkpoint/v1" | be64 seq | prev[32]. */
#define AUDIT_SIGN_CTX "phidb-audit-checkpoint/v1"
/* The published signing keys: one per version of the keyring's `sign` purpose, oldest
 * first. A checkpoint is good when one of them verifies it and it is not older than the
 * key of the checkpoint before: a trail whose signing key was rotated verifies from its
 * first record, and a rotated-out key cannot sign anything after its successor did. */
#define AUDIT_PUB_MAX 1024
typedef struct {
    size_t n;
    uint8_t k[AUDIT_PUB_MAX][32];
} audit_pubset;
/* Add pub unless the set has it. Returns 1 added, 0 already there, -1 the set is full. */
int audit_pubset_add(audit_pubset *set, const uint8_t pub[32]);
int audit_pubset_has(const audit_pubset *set, const uint8_t pub[32]);
/* out = the keys of file the keyring does not have (in file's order: older than the
 * keyring's), then the keyring's keys in version order. -1 when they do not fit. */
int audit_pubset_order(const audit_pubset *file, const audit_pubset *ring, audit_pubset *out);
/* Verify the "sig" of checkpoint line (line, n) with the published keys from index *from
 * on (from NULL: any), setting *from to the index of the key that verified it.
 * Returns 1 good, 0 bad, -1 no signature in the line. */
int audit_ckpt_verify(const audit_pubset *pubs, const char *line, size_t n,
                      const audit_line_info *li, size_t *from);
/* Ed25519: derive the public key of a 32-byte seed; sign msg. Return 0 or -1. */
int audit_ed25519_pub(const uint8_t seed[32], uint8_t pub[32]);
int audit_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t n, uint8_t sig[64]);
/* Free the signing key audit_ed25519_sign keeps (when the trail closes). */
void audit_ed25519_forget(void);
/* Read / write the public key file: one PEM SubjectPublicKeyInfo block per key, oldest
 * first. Reading fills set (emptied first) and returns 0 when the file holds at least one
 * Ed25519 key and nothing else, -1 otherwise. Writing replaces the file atomically. */
int audit_pub_read(const char *path, audit_pubset *set);
int audit_pub_write(const char *path, const audit_pubset *set);

/* ---- reading and verifying a whole trail ---- */

typedef struct {
    uint64_t segments, blocks, records, checkpoints;
    uint64_t bytes; /* uncompressed line bytes */
    uint64_t first_seq, last_seq;
    uint64_t last_ckpt_seq;  /* last signed checkpoint */
    uint64_t pruned_through; /* segments before the first were pruned (0: none) */
    uint8_t head[32];        /* hash of the last record */
} audit_verify_stats;

/* Called for each good record line (without '\n'), in order. Return non-zero to stop. */
typedef int (*audit_line_fn)(void *ud, const char *line, size_t n, const audit_line_info *li);

/* Read every segment of dir in order, checking everything (chain, sequence, blocks,
 * signatures with pubs; pubs NULL skips signatures), and calling fn for every record.
 * Returns 0 when the trail is intact, 1 when it is damaged (why in err: the first bad spot
 * with segment, block and seq, and the kind: altered, removed, reordered, inserted,
 * truncated, bad signature, missing segment), -1 when it cannot be read at all. */
int audit_verify_dir(const char *dir, sealer *s, const audit_pubset *pubs, audit_line_fn fn,
                     void *ud, audit_verify_stats *st, char *err, size_t errlen);
/* Verify one segment image (data, n) as if it were the whole trail (fuzzing, tests).
 * Same results as audit_verify_dir. */
int audit_verify_mem(const uint8_t *data, size_t n, sealer *s, const audit_pubset *pubs,
                     audit_line_fn fn, void *ud, audit_verify_stats *st, char *err, size_t errlen);

/* ---- formatting internals (audit_fmt.c) ---- */

struct audit_rec;
/* Cache of the formatted UTC second, so most records skip gmtime. */
typedef struct {
    int64_t sec;   /* second of text, -1: empty */
    char text[20]; /* "YYYY-MM-DDTHH:MM:SS" */
} audit_ts_cache;
/* Append the record without its chain suffix: {"seq":..., up to the last field (no '}').
 * c may be NULL. */
void audit_format_body(const struct audit_rec *r, uint64_t seq, int64_t ts_us, audit_ts_cache *c,
                       buf *out);
/* Append ,"prev":"<hex>"} (AUDIT_PREV_SUFFIX bytes). */
void audit_format_suffix(const uint8_t prev[32], buf *out);
/* Format ts_us as 2026-12-06T14:17:02.123456Z (27 characters + NUL) into out[28]. */
void audit_format_ts(int64_t ts_us, audit_ts_cache *c, char out[28]);
/* Parse such a time back (also accepts YYYY-MM-DD and YYYY-MM-DDTHH:MM[:SS]); -1 if bad. */
int audit_parse_ts(const char *s, int64_t *ts_us);

#endif
