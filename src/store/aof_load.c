/*
 * aof_load: reading the durable log (see aof.h): header checks, the record
 * scanner shared by start-up loading and the offline check, torn-tail
 * truncation, and repair.
 *
 * The scanner reads through a fixed window (AOF_WINDOW bytes), so memory stays
 * bounded whatever the file size; only a record larger than the window gets
 * its own allocation, and only after its length was checked against both
 * AOF_MAX_RECORD and the bytes actually left in the file, so a corrupt length
 * cannot make it allocate more than the file holds.
 *
 * Deciding between a torn tail and damage: a crash in the middle of a write
 * leaves a prefix of the last write, possibly followed by zeros (blocks the
 * filesystem allocated but never filled). So the tail may be "torn" when the
 * length field is short, when the length runs past the end of the file, or
 * when the record fails to open and nothing but zero bytes follows it. A
 * record that fails to open with real data after it, a zero length with data
 * after it, or a length above AOF_MAX_RECORD (never written by any phidb) is
 * damage: loading stops and nothing is changed, since cutting there would
 * silently drop records that were acknowledged.
 *
 * The length field is not authenticated (the format predates this check and
 * stays readable), so "runs past the end" alone cannot tell a torn write from
 * one flipped bit in the length of the first of many records. Before calling a
 * suspect record torn, the scanner looks for authenticated proof of later data
 * (probe_later): a position after it holding a record that opens under this
 * file id and a later sequence number. A torn write cannot be followed by one
 * (the damaged record was the last one written), so finding one means damage.
 * The work is bounded by the file: the suspect's length is at most
 * AOF_MAX_RECORD, so at most that many bytes are searched, and cheap filters
 * (a length that fits, a seal header with this purpose's nonce and a key
 * version the keyring has) leave AES-GCM to the rare position that looks like
 * a record. A suspect sealed with a key version the keyring does not have (its
 * seal header says so) is never a torn write either: it is damage, or the
 * keyring is not the one the log was written with.
 *
 * aof_load cuts a torn tail by itself, but first copies the cut bytes (ciphertext)
 * to phidb.log.torn-<ms> beside the log, so even a wrong call loses nothing.
 *
 * Plaintext of opened records lives in one reused buffer, wiped when the scan
 * ends; messages name offsets and record numbers, never contents.
 */
#include "aof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/log.h"
#include "util/mem.h"

#define AOF_WINDOW (1024 * 1024) /* read window of the scanner */

/* Bounds of the search for records after a suspect one (probe_later). */
#define AOF_PROBE_CANDIDATES 64                   /* record-shaped positions tried at most */
#define AOF_PROBE_BYTES      (2 * AOF_MAX_RECORD) /* bytes run through AES-GCM at most */
#define AOF_PROBE_SLACK      4 /* sequence numbers tried past the likeliest one */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

void aof_header_make(const uint8_t id[AOF_ID_LEN], uint8_t out[AOF_HEADER_LEN])
{
    memset(out, 0, AOF_HEADER_LEN);
    memcpy(out, AOF_MAGIC, 8);
    put32(out + 8, AOF_FORMAT);
    put32(out + 12, 0); /* flags: none defined */
    memcpy(out + 16, id, AOF_ID_LEN);
    put64(out + 32, (uint64_t)aof_now_ms());
}

/* ---- the read window ---- */

typedef struct {
    int fd;                   /* file being read */
    uint8_t *p;               /* window bytes */
    unsigned long long start; /* file offset of p[0] */
    size_t len;               /* valid bytes in the window */
} reader;

/* Read exactly n bytes at off into p. Returns 0, or -1 (errno; EIO for a short file). */
static int read_exact(int fd, uint8_t *p, size_t n, unsigned long long off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, p + got, n - got, (off_t)(off + got));
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO; /* the file shrank under us */
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

/* Pointer to n (<= AOF_WINDOW) bytes at off, which the caller knows are in the file; NULL on a
 * read error (errno). Valid until the next call. */
static const uint8_t *rd_at(reader *r, unsigned long long off, size_t n)
{
    if (off >= r->start && off + n <= r->start + r->len) return r->p + (off - r->start);
    size_t got = 0;
    while (got < AOF_WINDOW) {
        ssize_t k = pread(r->fd, r->p + got, AOF_WINDOW - got, (off_t)(off + got));
        if (k < 0) {
            if (errno == EINTR) continue;
            r->len = 0;
            return NULL;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    r->start = off;
    r->len = got;
    if (got < n) {
        errno = EIO;
        return NULL;
    }
    return r->p;
}

/* 1 when every byte in [off, size) is zero, 0 if not, -1 on a read error. */
static int zeros_to_end(reader *r, unsigned long long off, unsigned long long size)
{
    while (off < size) {
        size_t n = size - off > AOF_WINDOW ? AOF_WINDOW : (size_t)(size - off);
        const uint8_t *p = rd_at(r, off, n);
        if (!p) return -1;
        for (size_t i = 0; i < n; i++)
            if (p[i]) return 0;
        off += n;
    }
    return 1;
}

/* ---- header ---- */

/* Check the header at the start of the file. Returns 0 (id filled), 1 when the file is too
 * short to hold one (damage, why filled), or -1 when the file is refused outright (err). */
static int header_check(reader *r, const char *path, unsigned long long size, uint8_t *id, int *fmt,
                        char *why, size_t whylen, char *err, size_t errlen)
{
    if (size < AOF_HEADER_LEN) {
        /* A header is written whole (temporary file + rename), so a short one is damage. */
        snprintf(why, whylen, "truncated header (%llu of %d bytes)", size, AOF_HEADER_LEN);
        return 1;
    }
    const uint8_t *h = rd_at(r, 0, AOF_HEADER_LEN);
    if (!h) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    if (memcmp(h, AOF_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a phidb log (bad magic)", path);
        return -1;
    }
    uint32_t format = get32(h + 8), flags = get32(h + 12);
    if (format > AOF_FORMAT) {
        snprintf(err, errlen,
                 "%s: log format %u is newer than this phidb supports (%d); use a newer phidb",
                 path, format, AOF_FORMAT);
        return -1;
    }
    if (format == 0 || flags != 0) {
        snprintf(err, errlen, "%s: unknown log header (format %u, flags 0x%x)", path, format,
                 flags);
        return -1;
    }
    memcpy(id, h + 16, AOF_ID_LEN);
    *fmt = (int)format;
    return 0;
}

/* A chain of parts being joined (a payload over the part size, see aof_int.h). */
typedef struct {
    int active;              /* a part with AOF_ENTRY_MORE was read; the last is awaited */
    buf p;                   /* the parts so far (only when there is a callback to apply) */
    unsigned long long len;  /* their bytes */
    unsigned long long off;  /* offset of the record holding the first part */
    unsigned long long seq;  /* sequence number of the record before it */
    unsigned long long recs; /* records it spans so far */
} chain;

/* Pass the entries of an opened format-2 record (u32 length | payload, to its end) to
 * apply; parts of a chain are joined first. Returns 0, 1 when the entries do not fill the
 * record exactly or a chain is malformed (damage: the record opened, so it was written like
 * that), or 2 when apply refused one. *n counts the entries applied. */
static int apply_batch(const uint8_t *p, size_t len, aof_apply_fn *apply, void *arg, chain *ch,
                       unsigned long long *n)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < 4) return 1;
        uint32_t el = get32(p + off), more = el & AOF_ENTRY_MORE;
        el &= ~AOF_ENTRY_MORE;
        if (el > len - off - 4) return 1;
        const uint8_t *e = p + off + 4;
        size_t elen = el;
        if (more || ch->active) {
            /* Each part begins a record; one that is not the last fills it alone. */
            if (off != 0 || (more && 4 + (size_t)el != len)) return 1;
            if (apply) buf_append(&ch->p, e, el);
            ch->len += el;
            ch->active = 1;
            if (more) return 0;
            e = ch->p.p;
            elen = ch->p.len;
        }
        int refused = apply && apply(arg, e, elen) != 0;
        if (ch->active) {
            buf_wipe_free(&ch->p);
            ch->active = 0;
            ch->len = 0;
        }
        if (refused) return 2;
        off += 4 + (size_t)el;
        (*n)++;
    }
    return 0;
}

/* ---- torn or damaged? ---- */

/* A record found after a suspect one. */
typedef struct {
    unsigned long long at;  /* its offset */
    unsigned long long seq; /* the sequence number it opened with */
} probe_hit;

/* The first position in [p, last] shaped like the start of one of s's records: a length that
 * fits (SEAL_OVERHEAD <= len <= AOF_MAX_RECORD, ending within size) and a seal header with this
 * purpose's nonce and a version the keyring has. Nearly every position fails at the nonce's
 * purpose byte, so each window is searched for that byte with memchr. The caller makes sure
 * that last + 4 + SEAL_HEADER <= size. Returns 1 (*at, *lenp), 0 when there is none, -1 on a
 * read error (errno). */
static int next_shaped(reader *rd, sealer *s, unsigned long long p, unsigned long long last,
                       unsigned long long size, unsigned long long *at, uint32_t *lenp)
{
    const size_t reach = 4 + SEAL_HEADER; /* bytes one position needs: length, version, nonce */
    const size_t pbyte = 4 + 4 + 3;       /* offset of the purpose byte of the nonce */
    const uint8_t pb = (uint8_t)seal_purpose(s);
    while (p <= last) {
        size_t n = last - p + 1 > AOF_WINDOW - reach ? AOF_WINDOW - reach : (size_t)(last - p + 1);
        const uint8_t *w = rd_at(rd, p, n + reach - 1);
        if (!w) return -1;
        const uint8_t *q = w + pbyte, *end = w + pbyte + n;
        while (q < end && (q = memchr(q, pb, (size_t)(end - q))) != NULL) {
            const uint8_t *h = q - pbyte;
            q++;
            uint32_t len = get32(h);
            unsigned long long here = p + (unsigned long long)(h - w);
            if (len < SEAL_OVERHEAD || len > AOF_MAX_RECORD || here + 4 + len > size) continue;
            if (seal_header_check(s, h + 4, SEAL_HEADER) != SEAL_HDR_KNOWN) continue;
            *at = here;
            *lenp = len;
            return 1;
        }
        p += n;
    }
    return 0;
}

/* Look in [from, to) for a record that opens under file id and a sequence number after next
 * (the suspect record's): authenticated proof that the suspect was not the last record
 * written. The first record-shaped position is most likely record next + 1; the k-th (from 0)
 * is at least next + 1 + k when the ones before it were damaged records too, so it is tried
 * with next + 1 .. next + 1 + k + AOF_PROBE_SLACK (a few records whose headers are damaged as
 * well). Returns 1 (hit filled), 0 when nothing opens, 2 when it gave up (more record-shaped
 * data than the bounds allow, which one torn record never holds), -1 on a read error (errno).
 * Plaintext of a record that opens is wiped at once. */
static int probe_later(reader *rd, sealer *s, const uint8_t *id, unsigned long long next,
                       unsigned long long from, unsigned long long to, unsigned long long size,
                       probe_hit *hit)
{
    int rc = 0;
    unsigned cands = 0;
    unsigned long long spent = 0;
    uint8_t *big = NULL, *pt = NULL;
    if (to < from + 4 + SEAL_OVERHEAD) return 0;
    unsigned long long last = to - 4 - SEAL_OVERHEAD, p = from;
    while (rc == 0 && p <= last) {
        uint32_t len = 0;
        int f = next_shaped(rd, s, p, last, size, &p, &len);
        if (f <= 0) {
            rc = f;
            break;
        }
        if (++cands > AOF_PROBE_CANDIDATES) {
            rc = 2;
            break;
        }
        const uint8_t *rec;
        if (len <= AOF_WINDOW) {
            rec = rd_at(rd, p + 4, len);
        } else {
            mem_free(big); /* ciphertext only */
            big = mem_alloc(len);
            rec = read_exact(rd->fd, big, len, p + 4) == 0 ? big : NULL;
        }
        if (!rec) {
            rc = -1;
            break;
        }
        if (pt) mem_free_wipe(pt);
        pt = mem_alloc(len - SEAL_OVERHEAD + 1);
        for (unsigned k = 0; k < cands + AOF_PROBE_SLACK; k++) {
            if (spent + len > AOF_PROBE_BYTES) {
                rc = 2;
                break;
            }
            spent += len;
            uint8_t seqbe[8];
            put64(seqbe, next + 1 + k);
            if (seal_open(s, rec, len, id, AOF_ID_LEN, seqbe, sizeof seqbe, pt) == 0) {
                OPENSSL_cleanse(pt, len - SEAL_OVERHEAD);
                hit->at = p;
                hit->seq = next + 1 + k;
                rc = 1;
                break;
            }
        }
        p++;
    }
    mem_free(big);
    if (pt) mem_free_wipe(pt);
    return rc;
}

/* r->why for record seq sealed with log key version v, which the keyring of s lacks. */
static void why_unknown_key(aof_scan *r, sealer *s, unsigned long long seq, uint32_t v)
{
    uint32_t have[256];
    size_t n = keyring_versions(seal_keyring(s), seal_purpose(s), have, 256);
    int retired = 0;
    for (size_t i = 0; i < n && i < 256; i++)
        if (have[i] == v) retired = 1;
    snprintf(r->why, sizeof r->why, "record %llu is sealed with log key version %u, %s", seq, v,
             retired ? "which this keyring has retired (erased)"
                     : "which this keyring does not have");
}

/* The record at off (length field len, claiming bytes up to off + 4 + len) is the last thing in
 * the file that is not zero, and it is incomplete or fails to open: a torn write, or damage?
 * Sets r->end and r->why. Damage when its seal header names a key version the keyring lacks,
 * or when a later record opens within [off, end) (end: the file's end, or the record's when
 * only zeros follow it). Returns 0, or -1 on a read error (errno). */
static int judge_suspect(reader *rd, sealer *s, aof_scan *r, unsigned long long off, uint32_t len,
                         unsigned long long end)
{
    unsigned long long next = r->last_seq + 1, have = r->size - off - 4;
    int past = off + 4 + len > r->size;
    if ((past ? have : len) >= SEAL_HEADER) {
        const uint8_t *h = rd_at(rd, off + 4, SEAL_HEADER);
        if (!h) return -1;
        if (seal_header_check(s, h, SEAL_HEADER) == SEAL_HDR_UNKNOWN) {
            r->end = AOF_SCAN_BAD;
            why_unknown_key(r, s, next, get32(h));
            return 0;
        }
    }
    probe_hit hit = {0, 0};
    int pr = probe_later(rd, s, r->id, next, off + 4 + SEAL_OVERHEAD, end, r->size, &hit);
    if (pr < 0) return -1;
    r->end = pr == 0 ? AOF_SCAN_TORN : AOF_SCAN_BAD;
    if (pr == 1 && past)
        snprintf(r->why, sizeof r->why,
                 "record %llu is damaged (its length, %u, runs past the end, but record %llu "
                 "follows at offset %llu)",
                 next, len, hit.seq, hit.at);
    else if (pr == 1)
        snprintf(r->why, sizeof r->why,
                 "record %llu fails to open, and record %llu follows at offset %llu, inside "
                 "the length it claims",
                 next, hit.seq, hit.at);
    else if (pr == 2)
        snprintf(r->why, sizeof r->why,
                 "record %llu is incomplete or fails to open, and more record-like data follows "
                 "it than one torn record holds",
                 next);
    else if (past)
        snprintf(r->why, sizeof r->why, "last record incomplete (%llu of %u bytes present)", have,
                 len);
    else
        snprintf(r->why, sizeof r->why, "last record (%llu) fails to open and %s", next,
                 off + 4 + len == r->size ? "nothing follows it (a write cut short, or damage)"
                                          : "only zero bytes follow it");
    return 0;
}

/* ---- the scanner ---- */

int aof_scan_fd(int fd, const char *path, sealer *s, aof_apply_fn *apply, void *arg, aof_scan *r,
                char *err, size_t errlen)
{
    int rc = -1;
    uint8_t *big = NULL, *pt = NULL;
    size_t ptcap = 0;
    reader rd = {fd, NULL, 0, 0};
    chain ch = {0};
    struct stat st;

    memset(r, 0, sizeof *r);
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        return -1;
    }
    unsigned long long size = (unsigned long long)st.st_size;
    r->size = size;
    if (size == 0) {
        /* A log is created with its header in one step (temporary file, fsync, rename), so
         * an empty one was truncated or replaced: nothing says what it held. */
        snprintf(err, errlen, AOF_EMPTY_MSG, path);
        return -1;
    }
    rd.p = mem_alloc(AOF_WINDOW);

    int h = header_check(&rd, path, size, r->id, &r->format, r->why, sizeof r->why, err, errlen);
    if (h < 0) goto out_free;
    if (h > 0) {
        r->end = AOF_SCAN_BAD;
        r->bad_off = 0;
        rc = 0;
        goto out_free;
    }
    unsigned long long off = AOF_HEADER_LEN;
    r->good_end = off;
    while (off < size) {
        if (size - off < 4) {
            r->end = AOF_SCAN_TORN;
            snprintf(r->why, sizeof r->why, "length field cut short (%llu of 4 bytes)", size - off);
            break;
        }
        const uint8_t *lp = rd_at(&rd, off, 4);
        if (!lp) goto out_read;
        uint32_t len = get32(lp);
        if (len == 0) {
            int z = zeros_to_end(&rd, off, size);
            if (z < 0) goto out_read;
            r->end = z ? AOF_SCAN_TORN : AOF_SCAN_BAD;
            snprintf(r->why, sizeof r->why,
                     z ? "zero fill after the last record" : "record %llu has length 0",
                     r->last_seq + 1);
            break;
        }
        if (len > AOF_MAX_RECORD) {
            r->end = AOF_SCAN_BAD;
            snprintf(r->why, sizeof r->why, "record %llu has length %u, over the limit",
                     r->last_seq + 1, len);
            break;
        }
        unsigned long long rend = off + 4 + len;
        if (rend > size) {
            /* Torn, or a damaged length: len <= AOF_MAX_RECORD, so at most that much to
             * search. */
            if (judge_suspect(&rd, s, r, off, len, size) != 0) goto out_read;
            break;
        }
        const uint8_t *rec;
        if (len <= AOF_WINDOW) {
            rec = rd_at(&rd, off + 4, len);
            if (!rec) goto out_read;
        } else {
            mem_free(big); /* ciphertext only */
            big = mem_alloc(len);
            if (read_exact(fd, big, len, off + 4) != 0) goto out_read;
            rec = big;
        }
        size_t pl = len >= SEAL_OVERHEAD ? len - SEAL_OVERHEAD : 0;
        if (pl + 1 > ptcap) {
            mem_free_wipe(pt);
            ptcap = pl + 1 > 4096 ? pl + 1 : 4096;
            pt = mem_alloc(ptcap);
        }
        uint8_t seqbe[8];
        put64(seqbe, r->last_seq + 1);
        if (len < SEAL_OVERHEAD ||
            seal_open(s, rec, len, r->id, AOF_ID_LEN, seqbe, sizeof seqbe, pt) != 0) {
            /* Read its header before zeros_to_end moves the window under rec. */
            int unknown = len >= SEAL_HEADER && seal_header_check(s, rec, len) == SEAL_HDR_UNKNOWN;
            uint32_t version = seal_version(rec, len);
            int z = zeros_to_end(&rd, rend, size);
            if (z < 0) goto out_read;
            if (z) {
                /* Only zeros after it: torn, unless its header or a later record says not. */
                if (judge_suspect(&rd, s, r, off, len, rend) != 0) goto out_read;
                break;
            }
            r->end = AOF_SCAN_BAD;
            if (unknown)
                why_unknown_key(r, s, r->last_seq + 1, version);
            else
                snprintf(r->why, sizeof r->why,
                         "record %llu fails to open: altered, out of place, or sealed with a "
                         "key this keyring does not have",
                         r->last_seq + 1);
            break;
        }
        seal_nonce_note(s, rec, len); /* later records must not reuse its nonce */
        if (big && len > AOF_WINDOW) {
            mem_free(big);
            big = NULL;
        }
        if (r->format == 1) {
            if (apply && apply(arg, pt, pl) != 0) {
                r->end = AOF_SCAN_APPLY;
                snprintf(r->why, sizeof r->why, "record %llu could not be applied",
                         r->last_seq + 1);
                break;
            }
            r->records++;
        } else {
            unsigned long long applied = 0;
            if (!ch.active) {
                ch.off = off;
                ch.seq = r->last_seq;
                ch.recs = 0;
            }
            ch.recs++;
            int b = apply_batch(pt, pl, apply, arg, &ch, &applied);
            r->records += applied;
            if (b != 0) {
                /* good_end stays before the batch: it was sealed as one write, so it is
                 * accepted or refused whole (the caller stops loading either way). */
                r->end = b == 1 ? AOF_SCAN_BAD : AOF_SCAN_APPLY;
                snprintf(r->why, sizeof r->why,
                         b == 1 ? "record %llu opens but its entries are malformed"
                                : "record %llu could not be applied (entry %llu of it)",
                         r->last_seq + 1, applied + 1);
                r->records -= applied;
                break;
            }
        }
        r->last_seq++;
        off = rend;
        r->good_end = off;
    }
    if (ch.active && (r->end == AOF_SCAN_OK || r->end == AOF_SCAN_TORN)) {
        /* A large write whose last part never reached the disk: never acknowledged (its
         * reply waits for every part), and its parts stand alone in their records. */
        snprintf(r->why, sizeof r->why,
                 "the last write, one entry in parts, ends after %llu of its records (%llu "
                 "bytes): it was cut short before its last part was written",
                 ch.recs, ch.len);
        r->end = AOF_SCAN_TORN;
        r->good_end = ch.off;
        r->last_seq = ch.seq;
    }
    if (r->end != AOF_SCAN_OK) r->bad_off = r->good_end;
    if (r->end == AOF_SCAN_TORN) {
        int z = zeros_to_end(&rd, r->good_end, size);
        if (z < 0) goto out_read;
        r->tail_zero = z;
    }
    rc = 0;
    goto out_free;
out_read:
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
out_free:
    buf_wipe_free(&ch.p);
    mem_free(big);
    if (pt) mem_free_wipe(pt);
    mem_free(rd.p);
    return rc;
}

/* ---- loading ---- */

/* Copy bytes [from, to) of fd to a new file copy (0600), fsynced with its directory (the copy
 * must outlive a crash right after the log is cut). Returns 0, or -1 with err (no file left).
 * The bytes are the log's: ciphertext, never plaintext. */
static int copy_range(int fd, unsigned long long from, unsigned long long to, const char *copy,
                      char *err, size_t errlen)
{
    int rc = -1;
    uint8_t *p = mem_alloc(AOF_WINDOW);
    int out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        snprintf(err, errlen, "cannot create %s: %s", copy, strerror(errno));
        goto out_free;
    }
    unsigned long long off = from;
    while (off < to) {
        size_t want = to - off > AOF_WINDOW ? AOF_WINDOW : (size_t)(to - off);
        ssize_t k = pread(fd, p, want, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            snprintf(err, errlen, "cannot read the log: %s", k ? strerror(errno) : "it shrank");
            goto out_close;
        }
        if (aof_pwrite_all(out, p, (size_t)k, off - from) != (size_t)k) {
            snprintf(err, errlen, "cannot write %s: %s", copy, aof_reason(errno));
            goto out_close;
        }
        off += (unsigned long long)k;
    }
    if (fsync(out) != 0 || aof_fsync_dir_of(copy) != 0) {
        snprintf(err, errlen, "cannot fsync %s: %s", copy, strerror(errno));
        goto out_close;
    }
    rc = 0;
out_close:
    close(out);
    if (rc != 0) unlink(copy);
out_free:
    mem_free(p);
    return rc;
}

/* Copy the torn tail [from, to) of the log to DIR/phidb.log.torn-<ms> (a free name: the next
 * millisecond when taken) into path. Returns 0, or -1 with err. */
static int keep_torn(aof *a, unsigned long long from, unsigned long long to, char *path,
                     size_t pathlen, char *err, size_t errlen)
{
    long long ms = aof_now_ms();
    for (int i = 0; i < 1000; i++, ms++) {
        snprintf(path, pathlen, "%s.torn-%lld", a->path, ms);
        if (access(path, F_OK) != 0) break; /* free (or unusable: open says why) */
    }
    if (copy_range(a->fd, from, to, path, err, errlen) != 0) {
        path[0] = '\0';
        return -1;
    }
    return 0;
}

int aof_load(aof *a, aof_apply_fn *apply, void *arg, aof_load_stats *stats, char *err,
             size_t errlen)
{
    aof_scan r;
    char why[512];
    long long t0 = aof_now_ms();

    memset(stats, 0, sizeof *stats);
    if (a->used) {
        snprintf(err, errlen, "%s: aof_load must run before anything is appended", a->path);
        return -1;
    }
    if (aof_scan_fd(a->fd, a->path, a->s, apply, arg, &r, err, errlen) != 0) return -1;
    if (r.end == AOF_SCAN_BAD) {
        snprintf(err, errlen,
                 "%s: bad %s at offset %llu (%s); the log was not changed; "
                 "run phidb check-log %s --repair",
                 a->path, r.size < AOF_HEADER_LEN ? "header" : "record", r.bad_off, r.why, a->dir);
        return -1;
    }
    if (r.end == AOF_SCAN_APPLY) {
        snprintf(err, errlen, "%s: loading stopped at offset %llu: %s", a->path, r.bad_off, r.why);
        return -1;
    }
    if (r.end == AOF_SCAN_TORN) {
        unsigned long long cut = r.size - r.good_end;
        /* Kept before it is cut, so that a wrong call (damage taken for a torn write) loses
         * nothing; zeros hold nothing to keep. */
        if (!r.tail_zero && keep_torn(a, r.good_end, r.size, stats->torn_copy,
                                      sizeof stats->torn_copy, why, sizeof why) != 0) {
            snprintf(err, errlen,
                     "%s: torn tail of %llu bytes at offset %llu (%s) not cut, since no copy of "
                     "it could be kept: %s; the log was not changed",
                     a->path, cut, r.good_end, r.why, why);
            return -1;
        }
        if (ftruncate(a->fd, (off_t)r.good_end) != 0 || fdatasync(a->fd) != 0) {
            snprintf(err, errlen, "%s: cannot cut the torn tail at offset %llu: %s", a->path,
                     r.good_end, strerror(errno));
            return -1;
        }
        if (r.tail_zero)
            log_warning("durable log %s: torn tail cut off: %llu bytes dropped at offset %llu "
                        "(%s; all zero bytes, nothing to keep)",
                        a->path, cut, r.good_end, r.why);
        else
            log_warning("durable log %s: torn tail cut off: %llu bytes dropped at offset %llu "
                        "(%s); the dropped bytes are kept in %s",
                        a->path, cut, r.good_end, r.why, stats->torn_copy);
        stats->torn_bytes = cut;
    }
    memcpy(a->id, r.id, AOF_ID_LEN);
    a->seq = r.last_seq;
    a->format = r.format ? r.format : AOF_FORMAT;
    pthread_mutex_lock(&a->mu);
    a->written = a->synced = r.good_end;
    pthread_mutex_unlock(&a->mu);
    a->appended = a->reserved = a->base = r.good_end;
    a->ready = 1;
    stats->records = r.records;
    stats->bytes = r.good_end;
    stats->load_ms = aof_now_ms() - t0;
    return 0;
}

/* ---- offline check and repair ---- */

static void fill_report(const aof_scan *sc, aof_check_report *r)
{
    memset(r, 0, sizeof *r);
    r->records = sc->records;
    r->good_end = sc->good_end;
    r->size = sc->size;
    r->torn = sc->end == AOF_SCAN_TORN;
    if (sc->end == AOF_SCAN_TORN)
        snprintf(r->problem, sizeof r->problem, "torn tail of %llu bytes at offset %llu: %s",
                 sc->size - sc->good_end, sc->bad_off, sc->why);
    else if (sc->end != AOF_SCAN_OK)
        snprintf(r->problem, sizeof r->problem, "bad %s at offset %llu: %s",
                 sc->size < AOF_HEADER_LEN ? "header" : "record", sc->bad_off, sc->why);
}

int aof_check(const char *path, sealer *s, aof_check_report *r, char *err, size_t errlen)
{
    aof_scan sc;
    memset(r, 0, sizeof *r);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = aof_scan_fd(fd, path, s, NULL, NULL, &sc, err, errlen);
    close(fd);
    if (rc != 0) return -1;
    fill_report(&sc, r);
    return sc.end == AOF_SCAN_OK ? 0 : 1;
}

int aof_repair(const char *path, sealer *s, aof_check_report *r, char *err, size_t errlen)
{
    int rc = -1;
    aof_scan sc;
    memset(r, 0, sizeof *r);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* The server holds this lock while the log is open: never cut a live log. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s is in use (is the server running?); stop it first", path);
        goto out_close;
    }
    if (aof_scan_fd(fd, path, s, NULL, NULL, &sc, err, errlen) != 0) goto out_close;
    fill_report(&sc, r);
    if (sc.end == AOF_SCAN_OK) {
        rc = 0;
        goto out_close;
    }
    snprintf(r->copy, sizeof r->copy, "%s.bad.%lld", path, aof_now_ms());
    if (copy_range(fd, 0, sc.size, r->copy, err, errlen) != 0) {
        r->copy[0] = '\0';
        goto out_close;
    }
    if (sc.good_end == 0) {
        /* Not even the header is good: nothing to keep. The log goes (its copy stays), and
         * the server starts a new one; cut to 0 bytes it would be refused as truncated. */
        if (unlink(path) != 0 || aof_fsync_dir_of(path) != 0) {
            snprintf(err, errlen, "%s: cannot remove: %s (a copy is in %s)", path, strerror(errno),
                     r->copy);
            goto out_close;
        }
        rc = 0;
        goto out_close;
    }
    if (ftruncate(fd, (off_t)sc.good_end) != 0 || fsync(fd) != 0 || aof_fsync_dir_of(path) != 0) {
        snprintf(err, errlen, "%s: cannot truncate at offset %llu: %s (a copy is in %s)", path,
                 sc.good_end, strerror(errno), r->copy);
        goto out_close;
    }
    rc = 0;
out_close:
    close(fd);
    return rc;
}
