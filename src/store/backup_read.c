/*
 * backup_read: reading and verifying a backup (see backup.h for the format).
 *
 * One streaming pass does everything: the header and the trailer are checked first (a
 * file from a newer phidb, or one cut short, is refused before any key is derived), then
 * the keyring opens with the caller's key, the file key unwraps, and every record is
 * opened in order while the file is hashed; at the end the hash, the Ed25519 signature,
 * the manifest's counts and every part's checksum must all agree. Memory: one record and
 * the frame being reassembled.
 *
 * Every message says what is wrong in words an operator can act on ("wrong master key",
 * "truncated", "made by a newer phidb"), never with record contents.
 */
#include "backup_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "store/db.h"
#include "store/seal.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/strutil.h"

#define MAX_PARTS 8

typedef struct {
    const char *path;               /* the file */
    int fd;                         /* open on it */
    uint64_t size;                  /* its size */
    uint64_t pos;                   /* read position */
    uint64_t end;                   /* where the trailer starts */
    uint8_t hdr[BACKUP_HEADER_LEN]; /* header */
    uint8_t tr[BACKUP_TRAILER_LEN]; /* trailer */
    EVP_MD_CTX *sha;                /* hash of everything before the trailer */
    struct {
        char name[BK_PART_NAME_MAX + 1];
        EVP_MD_CTX *sha;
        unsigned long long bytes;
    } parts[MAX_PARTS];  /* 0 keyring, 1 keyspace, then named parts in file order */
    int nparts;          /* count */
    keyring *kr;         /* the backup's keyring, opened */
    int kr_borrowed;     /* kr is backup_keys.live: not ours to close */
    sealer *values;      /* its values sealer (value checks) */
    EVP_CIPHER_CTX *ctx; /* file key */
    uint64_t seq;        /* records read */
    buf rec;             /* the record being read (ciphertext) */
    buf plain;           /* its plaintext */
    buf stream;          /* keyspace bytes not yet a whole frame */
    buf scratch;         /* opened values (wiped) */
    json_t *manifest;    /* the manifest, once read */
    bk_counter counter;  /* key-state counting */
    backup_info *info;   /* filled as we go */
    int check_values;    /* open every stored value */
    backup_frame_fn *fn; /* caller's frame callback */
    backup_part_fn *pfn; /* caller's part callback */
    void *ud;            /* their argument */
} rd;

static int read_exact(rd *r, void *p, size_t n, char *err, size_t errlen)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(r->fd, b + got, n - got, (off_t)(r->pos + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            snprintf(err, errlen, "%s: cannot read at offset %llu: %s", r->path,
                     (unsigned long long)(r->pos + got), k < 0 ? strerror(errno) : "end of file");
            return -1;
        }
        got += (size_t)k;
    }
    if (r->sha) EVP_DigestUpdate(r->sha, b, n);
    r->pos += n;
    return 0;
}

static int value_check(void *ud, const db_op_view *op)
{
    rd *r = ud;
    if (op->op != 1 && op->op != 2) return 0;
    if (op->slen < SEAL_OVERHEAD) return 1;
    size_t n = op->slen - SEAL_OVERHEAD;
    if (r->scratch.cap < n + 1) buf_reserve(&r->scratch, n + 1);
    int rc = db_open_stored(r->values, op->key, op->klen, op->field, op->flen, op->stored, op->slen,
                            r->scratch.p);
    OPENSSL_cleanse(r->scratch.p, n);
    return rc == 0 ? 0 : 1;
}

static int on_frame(rd *r, const uint8_t *f, size_t n, char *err, size_t errlen)
{
    if (bk_count_frame(&r->counter, f, n, err, errlen) != 0) return -1;
    if (r->check_values) {
        int rc = db_frame_foreach(f, n, value_check, r, err, errlen);
        if (rc != 0) {
            if (rc > 0)
                snprintf(err, errlen,
                         "a stored value in frame %llu does not open with the backup's values "
                         "key (altered, or sealed with a retired key)",
                         r->info->counts.frames);
            return -1;
        }
    }
    if (r->fn) return r->fn(r->ud, f, n, err, errlen);
    return 0;
}

/* Take whole frames out of the keyspace stream. */
static int drain_stream(rd *r, char *err, size_t errlen)
{
    size_t off = 0;
    while (r->stream.len - off >= 4) {
        uint32_t n = bk_get32(r->stream.p + off);
        if (n == 0 || n > BK_MAX_FRAME) {
            snprintf(err, errlen, "damaged keyspace stream: a frame of %u bytes", n);
            return -1;
        }
        if (r->stream.len - off - 4 < n) break;
        if (on_frame(r, r->stream.p + off + 4, n, err, errlen) != 0) return -1;
        off += 4 + (size_t)n;
    }
    if (off) buf_consume(&r->stream, off);
    return 0;
}

static int part_index(rd *r, const char *name, char *err, size_t errlen)
{
    for (int i = 0; i < r->nparts; i++)
        if (strcmp(r->parts[i].name, name) == 0) {
            snprintf(err, errlen, "damaged backup: part '%s' appears twice", name);
            return -1;
        }
    if (r->nparts >= MAX_PARTS) {
        snprintf(err, errlen, "damaged backup: too many parts");
        return -1;
    }
    int i = r->nparts++;
    snprintf(r->parts[i].name, sizeof r->parts[i].name, "%s", name);
    r->parts[i].sha = EVP_MD_CTX_new();
    if (!r->parts[i].sha || EVP_DigestInit_ex(r->parts[i].sha, EVP_sha256(), NULL) != 1) {
        snprintf(err, errlen, "cannot start SHA-256 (out of memory?)");
        return -1;
    }
    return i;
}

static int open_header(rd *r, const backup_keys *keys, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(r->fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", r->path, strerror(errno));
        return -1;
    }
    r->size = (uint64_t)st.st_size;
    if (r->size < 8) {
        snprintf(err, errlen, "%s is not a phidb backup (too short)", r->path);
        return -1;
    }
    uint8_t magic[8];
    if (read_exact(r, magic, 8, err, errlen) != 0) return -1;
    if (memcmp(magic, BK_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s is not a phidb backup", r->path);
        return -1;
    }
    if (r->size < BACKUP_HEADER_LEN + 4 + BACKUP_TRAILER_LEN) {
        snprintf(err, errlen, "%s is truncated (%llu bytes): the backup is incomplete", r->path,
                 (unsigned long long)r->size);
        return -1;
    }
    memcpy(r->hdr, magic, 8);
    if (read_exact(r, r->hdr + 8, BACKUP_HEADER_LEN - 8, err, errlen) != 0) return -1;
    uint32_t fmt = bk_get32(r->hdr + 8);
    if (fmt > BACKUP_FORMAT) {
        snprintf(err, errlen,
                 "%s was made by a newer phidb (backup format %u; this phidb reads format %d "
                 "and older): use that version to read it",
                 r->path, fmt, BACKUP_FORMAT);
        return -1;
    }
    if (fmt == 0) {
        snprintf(err, errlen, "%s has a damaged header (format 0)", r->path);
        return -1;
    }
    int trok = pread(r->fd, r->tr, sizeof r->tr, (off_t)(r->size - BACKUP_TRAILER_LEN)) ==
                   (ssize_t)sizeof r->tr &&
               memcmp(r->tr, BK_SIG_MAGIC, 8) == 0;
    if (trok && bk_get64(r->tr + 8) != r->size - BACKUP_TRAILER_LEN) {
        /* Unsigned: the signed length is any 64-bit number in a damaged file. */
        uint64_t have = r->size - BACKUP_TRAILER_LEN, signed_len = bk_get64(r->tr + 8);
        snprintf(err, errlen,
                 "%s was altered: it is %llu bytes %s than when it was signed (a part or record "
                 "is missing or was added)",
                 r->path,
                 (unsigned long long)(have > signed_len ? have - signed_len : signed_len - have),
                 have < signed_len ? "shorter" : "longer");
        return -1;
    }
    if (!trok) {
        snprintf(err, errlen,
                 "%s is truncated or incomplete: no signature trailer at its end (%llu bytes)",
                 r->path, (unsigned long long)r->size);
        return -1;
    }
    r->end = r->size - BACKUP_TRAILER_LEN;
    uint32_t flags = bk_get32(r->hdr + 12);
    r->info->passphrase = (flags & BK_FLAG_PASSPHRASE) != 0;
    bk_hex(r->hdr + BK_OFF_ID, 16, r->info->id);
    r->info->created_ms = (long long)bk_get64(r->hdr + BK_OFF_CREATED);

    /* The keyring, then the file key. */
    uint8_t l4[4];
    if (read_exact(r, l4, 4, err, errlen) != 0) return -1;
    uint32_t klen = bk_get32(l4);
    if (klen == 0 || klen > BK_KEYRING_MAX || r->pos + klen > r->end) {
        snprintf(err, errlen, "%s: damaged keyring block (length %u)", r->path, klen);
        return -1;
    }
    char *text = mem_alloc(klen);
    if (read_exact(r, text, klen, err, errlen) != 0) {
        mem_free(text);
        return -1;
    }
    int kp = part_index(r, "keyring", err, errlen);
    EVP_DigestUpdate(r->parts[kp].sha, l4, 4);
    EVP_DigestUpdate(r->parts[kp].sha, text, klen);
    r->parts[kp].bytes = 4 + klen;
    keyring_kek_source src = keys->kek;
    if (keys->live && !r->info->passphrase) {
        /* The server's own keyring holds the same keys (the block is its export). */
        OPENSSL_cleanse(text, klen);
        mem_free(text);
        r->kr = keys->live;
        r->kr_borrowed = 1;
        goto file_key;
    }
    if (r->info->passphrase) {
        if (!keys->passphrase || !*keys->passphrase) {
            mem_free(text);
            snprintf(err, errlen,
                     "%s is a passphrase copy: give its passphrase (--passphrase-file)", r->path);
            return -1;
        }
        src = (keyring_kek_source){.passphrase = keys->passphrase};
    } else if (keys->passphrase && !keys->kek.key_file && !keys->kek.command &&
               !keys->kek.passphrase) {
        mem_free(text);
        snprintf(err, errlen,
                 "%s was sealed for the master key, not a passphrase: give the master key of "
                 "the data directory it came from",
                 r->path);
        return -1;
    }
    char kerr[512];
    r->kr = keyring_open_buf(text, klen, "in the backup", &src, kerr, sizeof kerr);
    OPENSSL_cleanse(text, klen);
    mem_free(text);
    if (!r->kr) {
        if (strstr(kerr, "wrong master key") && r->info->passphrase)
            snprintf(err, errlen, "%s: wrong passphrase: it does not open this backup", r->path);
        else if (strstr(kerr, "wrong master key"))
            snprintf(err, errlen,
                     "%s: wrong master key: it does not open this backup's keyring (or the "
                     "keyring in the file is damaged)",
                     r->path);
        else
            snprintf(err, errlen, "%s: %s", r->path, kerr);
        return -1;
    }
file_key:;
    const uint8_t *bkey = keyring_key(r->kr, KR_BACKUP, bk_get32(r->hdr + BK_OFF_KEYVER));
    uint8_t *filekey = keyring_secure_alloc(32);
    int rc = -1;
    if (!bkey || !filekey || bk_wrap_key(0, bkey, r->hdr, filekey, r->hdr + BK_OFF_WRAP) != 0) {
        snprintf(err, errlen, "%s: the backup's file key does not open (the header was altered)",
                 r->path);
    } else if (!(r->ctx = bk_record_ctx(filekey))) {
        snprintf(err, errlen, "cannot set up the backup cipher");
    } else {
        rc = 0;
    }
    keyring_secure_free(filekey, 32);
    if (rc == 0 && r->check_values) r->values = seal_new(r->kr, KR_VALUES);
    return rc;
}

static int read_record(rd *r, char *err, size_t errlen)
{
    uint64_t at = r->pos;
    uint8_t h[5];
    if (r->end - r->pos < 5) {
        snprintf(err, errlen, "%s: damaged record at offset %llu (cut short)", r->path,
                 (unsigned long long)at);
        return -1;
    }
    if (read_exact(r, h, 5, err, errlen) != 0) return -1;
    uint32_t n = bk_get32(h);
    if (n < 16 || n > BACKUP_RECORD_MAX + 16 || n > r->end - r->pos) {
        snprintf(err, errlen, "%s: damaged record at offset %llu (length %u)", r->path,
                 (unsigned long long)at, n);
        return -1;
    }
    r->rec.len = 0;
    buf_reserve(&r->rec, n);
    if (read_exact(r, r->rec.p, n, err, errlen) != 0) return -1;
    r->rec.len = n;
    r->plain.len = 0;
    buf_reserve(&r->plain, n);
    uint8_t kind = h[4];
    if (bk_record_crypt(r->ctx, 0, r->hdr + BK_OFF_ID, ++r->seq, kind, r->rec.p, n - 16, r->plain.p,
                        r->rec.p + n - 16) != 0) {
        snprintf(err, errlen,
                 "%s: record %llu at offset %llu does not open: the backup was altered, "
                 "damaged, or has a record missing",
                 r->path, (unsigned long long)r->seq, (unsigned long long)at);
        return -1;
    }
    r->plain.len = n - 16;
    if (r->manifest) {
        snprintf(err, errlen, "%s: damaged backup: a record follows the manifest", r->path);
        return -1;
    }
    int idx;
    if (kind == BK_KIND_DATA) {
        idx = 1;
        if (r->nparts < 2 && part_index(r, "keyspace", err, errlen) != 1) return -1;
        buf_append(&r->stream, r->plain.p, r->plain.len);
        if (drain_stream(r, err, errlen) != 0) return -1;
    } else if (kind == BK_KIND_PART) {
        if (r->nparts < 2 && part_index(r, "keyspace", err, errlen) != 1) return -1;
        size_t nl = r->plain.len >= 2 ? (size_t)r->plain.p[0] << 8 | r->plain.p[1] : 0;
        if (nl == 0 || nl > BK_PART_NAME_MAX || nl + 2 > r->plain.len) {
            snprintf(err, errlen, "%s: damaged part record", r->path);
            return -1;
        }
        char name[BK_PART_NAME_MAX + 1];
        memcpy(name, r->plain.p + 2, nl);
        name[nl] = '\0';
        if ((idx = part_index(r, name, err, errlen)) < 0) return -1;
        if (r->info->nparts < 8)
            snprintf(r->info->parts[r->info->nparts++], sizeof r->info->parts[0], "%s", name);
        r->info->counts.parts++;
        if (r->pfn &&
            r->pfn(r->ud, name, r->plain.p + 2 + nl, r->plain.len - 2 - nl, err, errlen) != 0)
            return -1;
    } else if (kind == BK_KIND_MANIFEST) {
        idx = -1;
        json_error_t je;
        r->manifest = json_loadb((const char *)r->plain.p, r->plain.len, 0, &je);
        if (!json_is_object(r->manifest)) {
            snprintf(err, errlen, "%s: the manifest is not valid JSON", r->path);
            return -1;
        }
    } else {
        snprintf(err, errlen, "%s: unknown record kind %u at offset %llu", r->path, kind,
                 (unsigned long long)at);
        return -1;
    }
    if (idx >= 0) {
        EVP_DigestUpdate(r->parts[idx].sha, h, 5);
        EVP_DigestUpdate(r->parts[idx].sha, r->rec.p, n);
        r->parts[idx].bytes += 5 + n;
    }
    OPENSSL_cleanse(r->plain.p, r->plain.len);
    return 0;
}

static unsigned long long jcount(json_t *o, const char *k)
{
    return (unsigned long long)json_integer_value(json_object_get(o, k));
}

/* Hash, signature, manifest: everything must agree. */
static int check_end(rd *r, char *err, size_t errlen)
{
    uint8_t hash[32], pub[32];
    int fin = EVP_DigestFinal_ex(r->sha, hash, NULL);
    EVP_MD_CTX_free(r->sha);
    r->sha = NULL;
    if (fin != 1) {
        snprintf(err, errlen, "%s: SHA-256 failed (out of memory?)", r->path);
        return -1;
    }
    if (CRYPTO_memcmp(hash, r->tr + 16, 32) != 0) {
        snprintf(err, errlen, "%s: checksum mismatch: the backup was altered or damaged", r->path);
        return -1;
    }
    /* The trailer's padding (after the signature) is written as zeros and covered by nothing
     * else: any other byte there is an alteration (or room to hide data in a backup). */
    for (size_t i = 112; i < BACKUP_TRAILER_LEN; i++)
        if (r->tr[i] != 0) {
            snprintf(err, errlen, "%s was altered: the padding of its trailer is not zero",
                     r->path);
            return -1;
        }
    const uint8_t *seed = keyring_key(r->kr, KR_SIGN, bk_get32(r->hdr + BK_OFF_SIGNVER));
    if (!seed || bk_verify_sig(seed, hash, r->tr + 48, pub) != 0) {
        snprintf(err, errlen, "%s: bad signature: the backup was not signed by its keyring",
                 r->path);
        return -1;
    }
    bk_hex(pub, 32, r->info->sign_pub);
    if (!r->manifest) {
        snprintf(err, errlen, "%s: no manifest: the backup is incomplete", r->path);
        return -1;
    }
    if (r->stream.len != 0 || r->counter.pending) {
        snprintf(err, errlen, "%s: the keyspace stream ends inside a key", r->path);
        return -1;
    }
    json_t *m = r->manifest;
    if (json_integer_value(json_object_get(m, "format")) != (json_int_t)bk_get32(r->hdr + 8)) {
        snprintf(err, errlen, "%s: the manifest's format differs from the header's", r->path);
        return -1;
    }
    json_t *c = json_object_get(m, "counts");
    backup_counts *mc = &r->info->manifest;
    mc->keys = jcount(c, "keys");
    mc->strings = jcount(c, "strings");
    mc->hashes = jcount(c, "hashes");
    mc->fields = jcount(c, "fields");
    mc->expires = jcount(c, "expires");
    mc->frames = jcount(c, "frames");
    mc->parts = jcount(c, "parts");
    const backup_counts *g = &r->info->counts;
    if (mc->keys != g->keys || mc->strings != g->strings || mc->hashes != g->hashes ||
        mc->fields != g->fields || mc->expires != g->expires || mc->frames != g->frames ||
        mc->parts != g->parts) {
        snprintf(err, errlen,
                 "%s: the manifest says %llu keys (%llu strings, %llu hashes), the backup holds "
                 "%llu (%llu, %llu): a part is missing or the backup is damaged",
                 r->path, mc->keys, mc->strings, mc->hashes, g->keys, g->strings, g->hashes);
        return -1;
    }
    json_t *parts = json_object_get(m, "parts");
    if (r->nparts < 2) part_index(r, "keyspace", err, errlen); /* an empty keyspace */
    if (!json_is_array(parts) || json_array_size(parts) != (size_t)r->nparts) {
        snprintf(err, errlen,
                 "%s: the manifest lists %zu parts, the backup holds %d: a part "
                 "is missing",
                 r->path, json_is_array(parts) ? json_array_size(parts) : 0, r->nparts);
        return -1;
    }
    for (int i = 0; i < r->nparts; i++) {
        uint8_t d[32];
        char hx[65];
        if (EVP_DigestFinal_ex(r->parts[i].sha, d, NULL) != 1) {
            snprintf(err, errlen, "%s: SHA-256 failed (out of memory?)", r->path);
            return -1;
        }
        bk_hex(d, 32, hx);
        json_t *p = NULL;
        for (size_t j = 0; j < json_array_size(parts); j++) {
            json_t *x = json_array_get(parts, j);
            const char *nm = json_string_value(json_object_get(x, "name"));
            if (nm && strcmp(nm, r->parts[i].name) == 0) p = x;
        }
        const char *want = p ? json_string_value(json_object_get(p, "sha256")) : NULL;
        if (!want || strcmp(want, hx) != 0) {
            snprintf(err, errlen, "%s: part '%s' %s", r->path, r->parts[i].name,
                     p ? "does not match its checksum" : "is not in the manifest");
            return -1;
        }
    }
    const char *mb = json_string_value(json_object_get(m, "made_by"));
    snprintf(r->info->made_by, sizeof r->info->made_by, "%s", mb ? mb : "");
    const char *ah = json_string_value(json_object_get(m, "audit_head"));
    snprintf(r->info->audit_head, sizeof r->info->audit_head, "%s", ah ? ah : "");
    r->info->counts.bytes = r->size;
    return 0;
}

static void rd_free(rd *r)
{
    if (r->fd >= 0) close(r->fd);
    EVP_MD_CTX_free(r->sha);
    for (int i = 0; i < r->nparts; i++)
        EVP_MD_CTX_free(r->parts[i].sha);
    if (r->ctx) EVP_CIPHER_CTX_free(r->ctx);
    seal_free(r->values);
    if (r->kr && !r->kr_borrowed) keyring_close(r->kr);
    buf_free(&r->rec);
    buf_wipe_free(&r->plain);
    buf_wipe_free(&r->stream);
    buf_wipe_free(&r->scratch);
    json_decref(r->manifest);
}

int bk_read_pass(const char *path, const backup_keys *keys, int check_values, backup_frame_fn *fn,
                 backup_part_fn *pfn, void *ud, keyring **kr, backup_info *info, char *err,
                 size_t errlen)
{
    long long t0 = clock_mono_ms();
    memset(info, 0, sizeof *info);
    rd r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.info = info;
    r.check_values = check_values;
    r.fn = fn;
    r.pfn = pfn;
    r.ud = ud;
    r.counter.c = &info->counts;
    r.sha = EVP_MD_CTX_new();
    int sha_ok = r.sha && EVP_DigestInit_ex(r.sha, EVP_sha256(), NULL) == 1;
    r.fd = sha_ok ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    int rc = -1;
    if (!sha_ok) {
        snprintf(err, errlen, "cannot start SHA-256 (out of memory?)");
        goto out;
    }
    if (r.fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    posix_fadvise(r.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (open_header(&r, keys, err, errlen) != 0) goto out;
    while (r.pos < r.end)
        if (read_record(&r, err, errlen) != 0) goto out;
    if (check_end(&r, err, errlen) != 0) goto out;
    info->took_ms = clock_mono_ms() - t0;
    if (kr && !r.kr_borrowed) {
        *kr = r.kr;
        r.kr = NULL;
    }
    rc = 0;
out:
    rd_free(&r);
    return rc;
}

int backup_verify(const char *path, const backup_keys *keys, backup_info *info, char *err,
                  size_t errlen)
{
    return bk_read_pass(path, keys, 1, NULL, NULL, NULL, NULL, info, err, errlen);
}

int backup_read(const char *path, const backup_keys *keys, backup_frame_fn *fn, backup_part_fn *pfn,
                void *ud, keyring **kr, backup_info *info, char *err, size_t errlen)
{
    long long t0 = clock_mono_ms();
    if (bk_read_pass(path, keys, 1, NULL, NULL, NULL, NULL, info, err, errlen) != 0) return -1;
    if (bk_read_pass(path, keys, 0, fn, pfn, ud, kr, info, err, errlen) != 0) return -1;
    info->took_ms = clock_mono_ms() - t0;
    return 0;
}
