/*
 * audit_verify: read a whole audit trail and check everything, stopping at the
 * first bad spot with a reason a compliance officer can act on.
 *
 * Checks, in order: segment ids are contiguous (missing segment), each header continues
 * the chain, blocks are numbered 0, 1, ... (removed, reordered), every block authenticates
 * (altered: only the audit key can make a block that opens) and decompresses, record
 * sequence numbers are consecutive (removed, reordered, inserted), each record's "prev"
 * equals the SHA-256 of the one before (altered, inserted; v1 segments only: v2 segments
 * do not store prev, their lines get the running hash, so a changed v2 record changes
 * every hash after it and is found at the next checkpoint), checkpoint signatures verify
 * with the published public key (bad signature: the history before it was rewritten by
 * someone with the audit key but not the signing key), the file ends on a block boundary
 * (truncated), and the trail reaches the checkpoint recorded in audit.head (truncated).
 * A trail that does not start at seq 1 is accepted only when a prune record later in the
 * trail says exactly what was removed.
 *
 * No JSON parser is needed: the record format puts seq, ts and ev at the front and the
 * chain hash at the end (audit_line_parse), which is what makes verify fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "audit/audit_seg.h"
#include "util/mem.h"

typedef struct {
    sealer *s;
    const audit_pubset *pub;
    size_t key_from; /* the key of the last good checkpoint: none before it may sign */
    audit_line_fn fn;
    void *ud;
    audit_verify_stats *st;
    char *err;
    size_t errlen;
    int started;            /* a record or segment header has set the chain */
    uint64_t next_seq;      /* seq the next record must have */
    uint8_t last[32];       /* hash of the last record */
    uint64_t start_seq;     /* first seq present (> 1 after a prune) */
    uint64_t first_segid;   /* id of the first segment present */
    uint8_t start_prev[32]; /* the prev of the first segment */
    uint64_t prune_through; /* highest seq a prune record says was removed */
    uint8_t prune_head[32]; /* hash of that record */
    uint64_t head_seq;      /* from audit.head (0: none) */
    uint8_t head_hash[32];
    int head_seen;       /* the record at head_seq was checked */
    const char *segname; /* for messages */
    uint64_t segid;
    uint64_t block;
    buf plain, tmp;
    audit_lines lines; /* full lines of the block being checked, with their hashes */
    ZSTD_DCtx *dctx;
} vstate;

static int bad(vstate *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(vstate *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(v->err, v->errlen, "segment %llu (%s) block %llu: %s", (unsigned long long)v->segid,
             v->segname, (unsigned long long)v->block, msg);
    return 1;
}

static uint64_t num_after(const char *line, size_t n, const char *name)
{
    const char *p = memmem(line, n, name, strlen(name));
    if (!p) return 0;
    p += strlen(name);
    uint64_t v = 0;
    while (p < line + n && *p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

/* The seq at the front of a stored line ({"seq":N), 0 when there is none. */
static uint64_t stored_seq(const char *line, size_t n)
{
    if (n < 8 || memcmp(line, "{\"seq\":", 7) != 0) return 0;
    uint64_t seq = 0;
    for (size_t i = 7; i < n && i < 27 && line[i] >= '0' && line[i] <= '9'; i++)
        seq = seq * 10 + (uint64_t)(line[i] - '0');
    return seq;
}

/* Check the lines of one opened block (stored lines p, n of a version `version` segment). */
static int check_lines(vstate *v, int version, const char *p, size_t n, uint32_t nrec)
{
    uint32_t count = 0;
    audit_lines_start(&v->lines, version, (const uint8_t *)p, n, v->last);
    for (;;) {
        const char *line;
        size_t len;
        uint8_t hash[32];
        int r = audit_lines_next(&v->lines, &line, &len, hash);
        if (r == 0) break;
        if (r == AUDIT_LINES_NOEND)
            return bad(v, "altered: the last record of the block has no end");
        audit_line_info li;
        if (r == AUDIT_LINES_MALFORMED || audit_line_parse(line, len, &li) != 0)
            return bad(v, "altered: record %u of the block is malformed (after seq %llu)%s",
                       count + 1, (unsigned long long)(v->next_seq - 1),
                       r == AUDIT_LINES_MALFORMED
                           ? ": a stored line must end in '}' and hold no prev member there"
                           : "");
        if (!v->started) {
            v->started = 1;
            v->next_seq = li.seq;
            v->start_seq = li.seq;
            memcpy(v->last, li.prev, 32);
            memcpy(v->start_prev, li.prev, 32);
        }
        if (li.seq != v->next_seq) {
            if (li.seq > v->next_seq) {
                /* A later record with the expected seq means a swap, not a gap. */
                const char *q = v->lines.p, *e = p + n;
                const char *nl2 = q < e ? memchr(q, '\n', (size_t)(e - q)) : NULL;
                if (nl2 && stored_seq(q, (size_t)(nl2 - q)) == v->next_seq)
                    return bad(v, "reordered: seq %llu comes before seq %llu",
                               (unsigned long long)li.seq, (unsigned long long)v->next_seq);
                return bad(v, "removed: records %llu..%llu are missing (next present is %llu)",
                           (unsigned long long)v->next_seq, (unsigned long long)(li.seq - 1),
                           (unsigned long long)li.seq);
            }
            return bad(v, "inserted or reordered: seq %llu appears where seq %llu belongs",
                       (unsigned long long)li.seq, (unsigned long long)v->next_seq);
        }
        /* v1 only: a v2 line's prev is the running hash by construction, so an altered v2
         * record shows up at the next checkpoint (signature) or at audit.head instead. */
        if (memcmp(li.prev, v->last, 32) != 0)
            return bad(v,
                       "altered: seq %llu does not chain to seq %llu (one of them was changed, "
                       "or a record was inserted)",
                       (unsigned long long)li.seq, (unsigned long long)(li.seq - 1));
        memcpy(v->last, hash, 32);
        int is_ckpt = li.evlen == 10 && memcmp(li.ev, "checkpoint", 10) == 0;
        if (is_ckpt) {
            if (v->pub) {
                int sr = audit_ckpt_verify(v->pub, line, len, &li, &v->key_from);
                /* The checkpoint before (its own line is not signed) or the first record. */
                uint64_t from = v->st->last_ckpt_seq ? v->st->last_ckpt_seq : v->start_seq;
                if (sr < 0)
                    return bad(v, "bad signature: checkpoint seq %llu has no signature",
                               (unsigned long long)li.seq);
                if (sr != 1)
                    return bad(v,
                               "bad signature: checkpoint seq %llu does not verify with any "
                               "published key not older than the last checkpoint's (a record of "
                               "seq %llu..%llu was altered, the "
                               "history before it was rewritten, or the key is not ours)",
                               (unsigned long long)li.seq, (unsigned long long)from,
                               (unsigned long long)(li.seq - 1));
            }
            v->st->checkpoints++;
            v->st->last_ckpt_seq = li.seq;
        } else if (li.evlen == 5 && memcmp(li.ev, "prune", 5) == 0 &&
                   (size_t)(line + len - (li.ev + 5)) > 17 &&
                   memcmp(li.ev + 5, "\",\"res\":\"granted\"", 17) == 0) {
            /* A prune that happened (a refused one records its reason, and no position). */
            uint64_t t = num_after(line, len, "\"through_seq\":");
            const char *h = memmem(line, len, "\"head\":\"", 8);
            if (t > v->prune_through && h && (size_t)(line + len - h) > 8 + 64) {
                v->prune_through = t;
                if (audit_unhex(h + 8, 32, v->prune_head) != 0) memset(v->prune_head, 0, 32);
            }
        }
        if (v->head_seq && li.seq == v->head_seq) {
            v->head_seen = 1;
            if (memcmp(v->last, v->head_hash, 32) != 0)
                return bad(v, "altered: seq %llu differs from the checkpoint in audit.head",
                           (unsigned long long)li.seq);
        }
        if (v->fn && v->fn(v->ud, line, len, &li) != 0) return 2;
        if (v->st->records == 0) v->st->first_seq = li.seq;
        v->st->records++;
        v->st->last_seq = li.seq;
        v->st->bytes += len + 1;
        v->next_seq = li.seq + 1;
        count++;
    }
    if (count != nrec)
        return bad(v, "altered: the block holds %u records, its header says %u", count, nrec);
    return 0;
}

/* Check one segment image. */
static int check_segment(vstate *v, const uint8_t *d, size_t n)
{
    v->block = 0;
    if (n < AUDIT_SEG_HEADER) return bad(v, "truncated: the segment header is incomplete");
    audit_seg_header h;
    if (audit_seg_header_decode(d, &h) != 0) return bad(v, "altered: bad segment header");
    if (v->segid && h.id != v->segid)
        return bad(v, "altered: the header says segment %llu", (unsigned long long)h.id);
    if (!v->started) {
        v->started = 1;
        v->next_seq = h.first_seq;
        v->start_seq = h.first_seq;
        memcpy(v->last, h.prev, 32);
        memcpy(v->start_prev, h.prev, 32);
    } else if (h.first_seq != v->next_seq) {
        if (h.first_seq > v->next_seq)
            return bad(v, "removed: records %llu..%llu are missing before this segment",
                       (unsigned long long)v->next_seq, (unsigned long long)(h.first_seq - 1));
        return bad(v, "inserted or reordered: the segment starts at seq %llu, expected %llu",
                   (unsigned long long)h.first_seq, (unsigned long long)v->next_seq);
    } else if (memcmp(h.prev, v->last, 32) != 0) {
        uint64_t from = v->st->last_ckpt_seq ? v->st->last_ckpt_seq : v->start_seq;
        return bad(v,
                   "altered: the segment does not continue the chain of the one before (a "
                   "record of seq %llu..%llu or this header was changed)",
                   (unsigned long long)from, (unsigned long long)(v->next_seq - 1));
    }
    v->st->segments++;
    size_t off = AUDIT_SEG_HEADER;
    while (off < n) {
        if (n - off < AUDIT_BLK_HEADER)
            return bad(v, "truncated: the file ends inside a block header at offset %zu", off);
        audit_blk_header b;
        if (audit_blk_header_decode(d + off, &b) != 0)
            return bad(v, "altered: bad block header at offset %zu", off);
        if (b.block_no != v->block)
            return bad(v, "%s: found block %llu where block %llu belongs (offset %zu)",
                       b.block_no > v->block ? "removed" : "reordered or inserted",
                       (unsigned long long)b.block_no, (unsigned long long)v->block, off);
        if (n - off - AUDIT_BLK_HEADER < b.sealed_len)
            return bad(v, "truncated: the file ends inside the block (offset %zu, %zu of %u bytes)",
                       off, n - off - AUDIT_BLK_HEADER, b.sealed_len);
        v->plain.len = 0;
        int r =
            audit_blk_open(v->s, &h, &b, d + off + AUDIT_BLK_HEADER, v->dctx, &v->tmp, &v->plain);
        if (r == -1)
            return bad(v,
                       "altered: the block fails authentication (offset %zu): changed, moved "
                       "from elsewhere, or sealed with an unknown key",
                       off);
        if (r != 0) return bad(v, "altered: the block does not decompress (offset %zu)", off);
        if (b.first_seq != v->next_seq && v->st->records > 0)
            return bad(v, "%s: the block starts at seq %llu, expected %llu",
                       b.first_seq > v->next_seq ? "removed" : "inserted or reordered",
                       (unsigned long long)b.first_seq, (unsigned long long)v->next_seq);
        int rc = check_lines(v, h.version, (const char *)v->plain.p, v->plain.len, b.nrec);
        if (rc) return rc;
        v->st->blocks++;
        off += AUDIT_BLK_HEADER + b.sealed_len;
        v->block++;
    }
    return 0;
}

static void vinit(vstate *v, sealer *s, const audit_pubset *pub, audit_line_fn fn, void *ud,
                  audit_verify_stats *st, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    memset(st, 0, sizeof *st);
    v->s = s;
    v->pub = pub;
    v->fn = fn;
    v->ud = ud;
    v->st = st;
    v->err = err;
    v->errlen = errlen;
    v->dctx = ZSTD_createDCtx();
    v->segname = "memory";
    if (errlen) err[0] = '\0';
}

static int vfinish(vstate *v, int rc)
{
    ZSTD_freeDCtx(v->dctx);
    buf_wipe_free(&v->plain);
    buf_wipe_free(&v->tmp);
    audit_lines_free(&v->lines);
    if (rc == 0) {
        memcpy(v->st->head, v->last, 32);
        if (v->started && v->start_seq > 1) {
            /* The beginning is gone: only a prune record may explain it. */
            if (v->prune_through + 1 != v->start_seq ||
                memcmp(v->prune_head, v->start_prev, 32) != 0) {
                if (v->first_segid > 1)
                    snprintf(v->err, v->errlen,
                             "missing segment: the trail starts at segment %llu (seq %llu); "
                             "segments 1..%llu are absent and no prune record accounts for them",
                             (unsigned long long)v->first_segid, (unsigned long long)v->start_seq,
                             (unsigned long long)(v->first_segid - 1));
                else
                    snprintf(v->err, v->errlen,
                             "removed: the trail starts at seq %llu and no prune record accounts "
                             "for records 1..%llu",
                             (unsigned long long)v->start_seq,
                             (unsigned long long)(v->start_seq - 1));
                return 1;
            }
            v->st->pruned_through = v->prune_through;
        }
        /* audit.head may name a checkpoint a prune has since removed (a live prune, before
         * the server's next checkpoint): the prune record says what that record was. */
        int head_pruned = v->head_seq && v->started && v->head_seq < v->start_seq;
        if (head_pruned && v->head_seq == v->prune_through &&
            memcmp(v->head_hash, v->prune_head, 32) != 0) {
            snprintf(v->err, v->errlen,
                     "altered: audit.head's checkpoint at seq %llu differs from the record the "
                     "prune removed",
                     (unsigned long long)v->head_seq);
            return 1;
        }
        if (v->head_seq && !v->head_seen && !head_pruned) {
            snprintf(v->err, v->errlen,
                     "truncated: the trail ends at seq %llu but audit.head records a signed "
                     "checkpoint at seq %llu",
                     (unsigned long long)v->st->last_seq, (unsigned long long)v->head_seq);
            return 1;
        }
    }
    return rc == 2 ? 0 : rc;
}

int audit_verify_mem(const uint8_t *data, size_t n, sealer *s, const audit_pubset *pub,
                     audit_line_fn fn, void *ud, audit_verify_stats *st, char *err, size_t errlen)
{
    vstate v;
    vinit(&v, s, pub, fn, ud, st, err, errlen);
    if (n >= AUDIT_SEG_HEADER) {
        audit_seg_header h;
        if (audit_seg_header_decode(data, &h) == 0) v.segid = h.id;
    }
    int rc = check_segment(&v, data, n);
    return vfinish(&v, rc);
}

/* Read audit.head ("seq hexhash ..."): head_seq stays 0 when absent or unreadable. */
static void read_head(const char *dir, vstate *v)
{
    uint64_t seq;
    if (audit_head_read(dir, &seq, v->head_hash) == 1) v->head_seq = seq;
}

int audit_verify_dir(const char *dir, sealer *s, const audit_pubset *pub, audit_line_fn fn,
                     void *ud, audit_verify_stats *st, char *err, size_t errlen)
{
    vstate v;
    vinit(&v, s, pub, fn, ud, st, err, errlen);
    /* No prune removes a segment while this pass runs (without the lock file, as for a
     * reader without write access to a directory that has none yet, it goes on). */
    int lk = audit_dir_lock(dir, 0);
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(dir, &ids, &names);
    if (n < 0) {
        snprintf(err, errlen, "cannot read the audit directory %s: %s", dir, strerror(errno));
        if (lk >= 0) close(lk);
        vfinish(&v, -1);
        return -1;
    }
    read_head(dir, &v);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        v.segid = ids[i];
        v.segname = names[i];
        if (i == 0) v.first_segid = ids[0];
        v.block = 0;
        if (i > 0 && ids[i] == ids[i - 1]) {
            rc = bad(&v, "inserted: two files claim segment %llu", (unsigned long long)ids[i]);
            break;
        }
        if (i > 0 && ids[i] != ids[i - 1] + 1) {
            snprintf(err, errlen, "missing segment: segment %llu is absent (between %s and %s)",
                     (unsigned long long)(ids[i - 1] + 1), names[i - 1], names[i]);
            rc = 1;
            break;
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            rc = -1;
            break;
        }
        size_t len = (size_t)sb.st_size;
        void *m = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        close(fd);
        if (len && m == MAP_FAILED) {
            snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        if (len) madvise(m, len, MADV_SEQUENTIAL);
        rc = check_segment(&v, m, len);
        if (len) munmap(m, len);
    }
    audit_seg_list_free(ids, names, n);
    int vr = vfinish(&v, rc < 0 ? -1 : rc);
    if (lk >= 0) close(lk);
    return rc < 0 ? -1 : vr;
}
