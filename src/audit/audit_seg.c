/*
 * audit_seg: segment and block encoding, names, hashing, checkpoint signatures
 * (see audit_seg.h for the byte layout). Compression is zstd, sealing is the
 * store's AES-256-GCM sealer, signatures are OpenSSL's Ed25519: nothing here
 * is hand-made crypto or compression.
 */
#include "audit/audit_seg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <zstd.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/secmem.h"
#include "util/strutil.h"

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

void audit_seg_header_encode(audit_seg_header *h)
{
    if (h->version == 0) h->version = AUDIT_SEG_VERSION;
    memcpy(h->raw, h->version == 1 ? AUDIT_SEG_MAGIC1 : AUDIT_SEG_MAGIC2, 8);
    be64(h->raw + 8, h->id);
    be64(h->raw + 16, h->first_seq);
    be64(h->raw + 24, (uint64_t)h->created_us);
    memcpy(h->raw + 32, h->prev, 32);
}

int audit_seg_header_decode(const uint8_t *p, audit_seg_header *h)
{
    if (memcmp(p, AUDIT_SEG_MAGIC1, 8) == 0)
        h->version = 1;
    else if (memcmp(p, AUDIT_SEG_MAGIC2, 8) == 0)
        h->version = 2;
    else
        return -1;
    memcpy(h->raw, p, AUDIT_SEG_HEADER);
    h->id = rd64(p + 8);
    h->first_seq = rd64(p + 16);
    h->created_us = (int64_t)rd64(p + 24);
    memcpy(h->prev, p + 32, 32);
    return 0;
}

void audit_blk_header_encode(audit_blk_header *b)
{
    be32(b->raw, AUDIT_BLK_MAGIC);
    be32(b->raw + 4, b->sealed_len);
    be64(b->raw + 8, b->block_no);
    be64(b->raw + 16, b->first_seq);
    be32(b->raw + 24, b->nrec);
    be32(b->raw + 28, b->raw_len);
}

int audit_blk_header_decode(const uint8_t *p, audit_blk_header *b)
{
    if (rd32(p) != AUDIT_BLK_MAGIC) return -1;
    memcpy(b->raw, p, AUDIT_BLK_HEADER);
    b->sealed_len = rd32(p + 4);
    b->block_no = rd64(p + 8);
    b->first_seq = rd64(p + 16);
    b->nrec = rd32(p + 24);
    b->raw_len = rd32(p + 28);
    if (b->raw_len > AUDIT_BLK_MAX_RAW || b->sealed_len < SEAL_OVERHEAD ||
        b->sealed_len > ZSTD_compressBound(AUDIT_BLK_MAX_RAW) + SEAL_OVERHEAD || b->nrec == 0 ||
        b->nrec > b->raw_len / 2)
        return -1;
    return 0;
}

int audit_blk_build(sealer *s, const audit_seg_header *h, uint64_t block_no, uint64_t first_seq,
                    uint32_t nrec, const uint8_t *p, size_t n, int level, void *zcctx, buf *tmp,
                    buf *out)
{
    if (n > AUDIT_BLK_MAX_RAW || nrec == 0) return -1;
    tmp->len = 0;
    buf_reserve(tmp, ZSTD_compressBound(n));
    size_t c;
    if (zcctx)
        c = ZSTD_compressCCtx(zcctx, tmp->p, tmp->cap, p, n, level);
    else
        c = ZSTD_compress(tmp->p, tmp->cap, p, n, level);
    if (ZSTD_isError(c)) return -1;
    audit_blk_header b = {.sealed_len = (uint32_t)(c + SEAL_OVERHEAD),
                          .block_no = block_no,
                          .first_seq = first_seq,
                          .nrec = nrec,
                          .raw_len = (uint32_t)n};
    audit_blk_header_encode(&b);
    buf_reserve(out, AUDIT_BLK_HEADER + b.sealed_len);
    uint8_t *o = out->p + out->len;
    memcpy(o, b.raw, AUDIT_BLK_HEADER);
    if (seal_seal(s, tmp->p, c, h->raw, AUDIT_SEG_HEADER, b.raw, AUDIT_BLK_HEADER,
                  o + AUDIT_BLK_HEADER) != 0)
        return -1;
    out->len += AUDIT_BLK_HEADER + b.sealed_len;
    return 0;
}

int audit_blk_open(sealer *s, const audit_seg_header *h, const audit_blk_header *b,
                   const uint8_t *in, void *zdctx, buf *tmp, buf *out)
{
    size_t plen = b->sealed_len - SEAL_OVERHEAD;
    tmp->len = 0;
    buf_reserve(tmp, plen + 1);
    if (seal_open(s, in, b->sealed_len, h->raw, AUDIT_SEG_HEADER, b->raw, AUDIT_BLK_HEADER,
                  tmp->p) != 0)
        return -1;
    unsigned long long fs = ZSTD_getFrameContentSize(tmp->p, plen);
    if (fs != b->raw_len) return -2;
    buf_reserve(out, b->raw_len + 1);
    size_t d = zdctx ? ZSTD_decompressDCtx(zdctx, out->p + out->len, b->raw_len, tmp->p, plen)
                     : ZSTD_decompress(out->p + out->len, b->raw_len, tmp->p, plen);
    if (ZSTD_isError(d) || d != b->raw_len) return -2;
    out->len += d;
    return 0;
}

void audit_seg_name(char *out, size_t cap, uint64_t id, int64_t created_us)
{
    time_t t = (time_t)(created_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "audit-%010llu-%04d%02d%02d.seg", (unsigned long long)id, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
}

uint64_t audit_seg_parse_name(const char *name)
{
    /* audit-NNNNNNNNNN-YYYYMMDD.seg */
    if (strlen(name) != 29 || strncmp(name, "audit-", 6) != 0 || name[16] != '-' ||
        strcmp(name + 25, ".seg") != 0)
        return 0;
    uint64_t id = 0;
    for (int i = 6; i < 16; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        id = id * 10 + (uint64_t)(name[i] - '0');
    }
    for (int i = 17; i < 25; i++)
        if (name[i] < '0' || name[i] > '9') return 0;
    return id;
}

typedef struct {
    uint64_t id;
    char *name;
} seg_ent;

static int ent_cmp(const void *a, const void *b)
{
    const seg_ent *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

int audit_seg_list(const char *dir, uint64_t **ids, char ***names)
{
    DIR *d = opendir(dir);
    *ids = NULL;
    *names = NULL;
    if (!d) return -1;
    seg_ent *e = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t id = audit_seg_parse_name(de->d_name);
        if (!id) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            e = mem_realloc(e, (size_t)cap * sizeof *e);
        }
        e[n].id = id;
        e[n].name = mem_strdup(de->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(e, (size_t)n, sizeof *e, ent_cmp);
    *ids = mem_alloc(sizeof **ids * (size_t)(n ? n : 1));
    *names = mem_alloc(sizeof **names * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        (*ids)[i] = e[i].id;
        (*names)[i] = e[i].name;
    }
    mem_free(e);
    return n;
}

void audit_seg_list_free(uint64_t *ids, char **names, int n)
{
    for (int i = 0; i < n; i++)
        mem_free(names[i]);
    mem_free(names);
    mem_free(ids);
}

/* SHA-256 with the algorithm fetched once and a context per thread: the one-shot SHA256()
 * fetches the implementation on every call, which cost the writer thread as much as the
 * hashing itself on ~350-byte records. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key;

static void sha256_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void sha256_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&sha256_key, sha256_ctx_free);
}

void audit_hash(const uint8_t *line, size_t n, uint8_t out[32])
{
    pthread_once(&sha256_once, sha256_init);
    EVP_MD_CTX *ctx = pthread_getspecific(sha256_key);
    if (!ctx && sha256_md && (ctx = EVP_MD_CTX_new()) != NULL) pthread_setspecific(sha256_key, ctx);
    unsigned int len = 32;
    if (!ctx || !EVP_DigestInit_ex2(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, line, n) ||
        !EVP_DigestFinal_ex(ctx, out, &len))
        SHA256(line, n, out);
}

void audit_hex(const uint8_t *p, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int audit_head_read(const char *dir, uint64_t *seq, uint8_t hash[32])
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/audit.head", dir);
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : -1;
    int rc = -1;
    if (fgets(line, sizeof line, f)) {
        unsigned long long s;
        char hex[65];
        if (sscanf(line, "%llu %64s", &s, hex) == 2 && strlen(hex) == 64 &&
            audit_unhex(hex, 32, hash) == 0) {
            *seq = s;
            rc = 1;
        }
    }
    fclose(f);
    return rc;
}

int audit_dir_lock(const char *dir, int exclusive)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/audit.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC); /* a reader without write access */
    if (fd < 0) return -1;
    int rc;
    do
        rc = flock(fd, exclusive ? LOCK_EX | LOCK_NB : LOCK_SH);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return exclusive && e == EWOULDBLOCK ? -2 : -1;
    }
    return fd;
}

int audit_unhex(const char *s, size_t n, uint8_t *out)
{
    return str_unhex(s, n, out);
}

/* 1 when the n bytes at line end in ,"prev":"<64 lower-case hex>"}. */
static int ends_in_prev(const char *line, size_t n)
{
    if (n < AUDIT_PREV_SUFFIX) return 0;
    const char *s = line + n - AUDIT_PREV_SUFFIX;
    if (memcmp(s, ",\"prev\":\"", 9) != 0 || memcmp(line + n - 2, "\"}", 2) != 0) return 0;
    for (int i = 9; i < 9 + 64; i++)
        if (str_hexval(s[i]) < 0) return 0;
    return 1;
}

/* 1 when the stored line (s, n) ends in a string member named prev: ,"prev":"..."} with any
 * value (no quote inside: an escaped one has a '\\' before it, never the ':' of the
 * pattern). The writer never stores one: found there it would be a second prev once the
 * line is rebuilt (a v1 line in a v2 block, or a forged one). */
static int ends_in_prev_member(const char *s, size_t n)
{
    if (n < 11 || s[n - 1] != '}' || s[n - 2] != '"') return 0;
    size_t q = n - 3;
    while (q > 0 && s[q] != '"')
        q--;
    return q >= 8 && memcmp(s + q - 8, ",\"prev\":\"", 9) == 0;
}

int audit_line_store(const char *line, size_t n, buf *out)
{
    if (!ends_in_prev(line, n)) return -1;
    buf_append(out, line, n - AUDIT_PREV_SUFFIX);
    buf_putc(out, '}');
    return 0;
}

void audit_lines_start(audit_lines *it, int version, const uint8_t *p, size_t n,
                       const uint8_t prev[32])
{
    it->p = (const char *)p;
    it->end = (const char *)p + n;
    it->version = version;
    memcpy(it->prev, prev, 32);
}

int audit_lines_next(audit_lines *it, const char **line, size_t *len, uint8_t hash[32])
{
    if (it->p >= it->end) return 0;
    const char *s = it->p, *nl = memchr(s, '\n', (size_t)(it->end - s));
    if (!nl) return AUDIT_LINES_NOEND;
    size_t n = (size_t)(nl - s);
    if (it->version == 1) {
        *line = s;
        *len = n;
    } else {
        if (n == 0 || s[n - 1] != '}' || ends_in_prev_member(s, n)) return AUDIT_LINES_MALFORMED;
        it->line.len = 0;
        buf_reserve(&it->line, n - 1 + AUDIT_PREV_SUFFIX);
        memcpy(it->line.p, s, n - 1);
        it->line.len = n - 1;
        audit_format_suffix(it->prev, &it->line);
        *line = (const char *)it->line.p;
        *len = it->line.len;
    }
    audit_hash((const uint8_t *)*line, *len, hash);
    memcpy(it->prev, hash, 32);
    it->p = nl + 1;
    return 1;
}

void audit_lines_free(audit_lines *it)
{
    buf_wipe_free(&it->line);
}

int audit_line_parse(const char *line, size_t n, audit_line_info *li)
{
    static const char pre[] = "{\"seq\":";
    if (n < sizeof pre - 1 + 1 + 7 + 27 + 8 + 1 + AUDIT_PREV_SUFFIX) return -1;
    if (memcmp(line, pre, sizeof pre - 1) != 0) return -1;
    size_t i = sizeof pre - 1;
    uint64_t seq = 0;
    size_t d0 = i;
    while (i < n && line[i] >= '0' && line[i] <= '9' && i - d0 < 20) {
        seq = seq * 10 + (uint64_t)(line[i] - '0');
        i++;
    }
    if (i == d0 || seq == 0) return -1;
    if (n - i < 7 + 27 + 8 + AUDIT_PREV_SUFFIX || memcmp(line + i, ",\"ts\":\"", 7) != 0) return -1;
    li->ts = line + i + 7;
    i += 7 + 27;
    if (memcmp(line + i, "\",\"ev\":\"", 8) != 0) return -1;
    i += 8;
    li->ev = line + i;
    size_t end = n - AUDIT_PREV_SUFFIX;
    while (i < end && line[i] != '"')
        i++;
    if (i >= end) return -1;
    li->evlen = (size_t)(line + i - li->ev);
    if (memcmp(line + end, ",\"prev\":\"", 9) != 0 || memcmp(line + n - 2, "\"}", 2) != 0)
        return -1;
    if (audit_unhex(line + end + 9, 32, li->prev) != 0) return -1;
    li->seq = seq;
    return 0;
}

int audit_ed25519_pub(const uint8_t seed[32], uint8_t pub[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    size_t n = 32;
    int rc = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32 ? 0 : -1;
    EVP_PKEY_free(k);
    return rc;
}

/* The signing key, made once per seed: making it derives the public key (a scalar
 * multiplication, as costly as the signature itself). Recognised by a hash of the seed, so
 * no copy of the seed is kept outside the keyring's locked memory. */
static pthread_mutex_t sign_mu = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *sign_key;
static uint8_t sign_id[32];

int audit_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t n, uint8_t sig[64])
{
    uint8_t id[32];
    audit_hash(seed, 32, id);
    pthread_mutex_lock(&sign_mu);
    if (!sign_key || CRYPTO_memcmp(id, sign_id, 32) != 0) {
        EVP_PKEY_free(sign_key);
        secmem_begin(); /* kept for the life of the process: in the secure heap */
        sign_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
        secmem_end();
        memcpy(sign_id, id, 32);
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t sl = 64;
    int rc = sign_key && c && EVP_DigestSignInit(c, NULL, NULL, NULL, sign_key) == 1 &&
                     EVP_DigestSign(c, sig, &sl, msg, n) == 1 && sl == 64
                 ? 0
                 : -1;
    pthread_mutex_unlock(&sign_mu);
    EVP_MD_CTX_free(c);
    return rc;
}

void audit_ed25519_forget(void)
{
    pthread_mutex_lock(&sign_mu);
    EVP_PKEY_free(sign_key); /* in the secure heap: wiped as it is freed */
    sign_key = NULL;
    OPENSSL_cleanse(sign_id, sizeof sign_id);
    pthread_mutex_unlock(&sign_mu);
}

static int ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t n,
                          const uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, 64, msg, n) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

int audit_pubset_has(const audit_pubset *set, const uint8_t pub[32])
{
    for (size_t i = 0; i < set->n; i++)
        if (memcmp(set->k[i], pub, 32) == 0) return 1;
    return 0;
}

int audit_pubset_add(audit_pubset *set, const uint8_t pub[32])
{
    if (audit_pubset_has(set, pub)) return 0;
    if (set->n >= AUDIT_PUB_MAX) return -1;
    memcpy(set->k[set->n++], pub, 32);
    return 1;
}

int audit_pubset_order(const audit_pubset *file, const audit_pubset *ring, audit_pubset *out)
{
    out->n = 0;
    for (size_t i = 0; i < file->n; i++)
        if (!audit_pubset_has(ring, file->k[i]) && audit_pubset_add(out, file->k[i]) < 0) return -1;
    for (size_t i = 0; i < ring->n; i++)
        if (audit_pubset_add(out, ring->k[i]) < 0) return -1;
    return 0;
}

int audit_ckpt_verify(const audit_pubset *pubs, const char *line, size_t n,
                      const audit_line_info *li, size_t *from)
{
    const char *p = memmem(line, n, "\"sig\":\"", 7);
    if (!p || (size_t)(line + n - p) < 7 + 128 + 1) return -1;
    uint8_t sig[64];
    if (audit_unhex(p + 7, 64, sig) != 0 || p[7 + 128] != '"') return 0;
    uint8_t msg[sizeof AUDIT_SIGN_CTX - 1 + 8 + 32];
    memcpy(msg, AUDIT_SIGN_CTX, sizeof AUDIT_SIGN_CTX - 1);
    be64(msg + sizeof AUDIT_SIGN_CTX - 1, li->seq);
    memcpy(msg + sizeof AUDIT_SIGN_CTX - 1 + 8, li->prev, 32);
    /* Newest first: after a rotation most checkpoints are signed by the current key. */
    size_t lo = from ? *from : 0;
    for (size_t i = pubs->n; i-- > lo;)
        if (ed25519_verify(pubs->k[i], msg, sizeof msg, sig)) {
            if (from) *from = i;
            return 1;
        }
    return 0;
}

int audit_pub_read(const char *path, audit_pubset *set)
{
    set->n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int rc = 0;
    for (;;) {
        int ch;
        while ((ch = fgetc(f)) != EOF && isspace(ch))
            ;
        if (ch == EOF) break;
        ungetc(ch, f);
        EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        if (!k) { /* not a public key */
            ERR_clear_error();
            rc = -1;
            break;
        }
        uint8_t pub[32];
        size_t n = 32;
        int ok = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 &&
                 EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32 &&
                 audit_pubset_add(set, pub) >= 0;
        EVP_PKEY_free(k);
        if (!ok) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (set->n == 0) rc = -1;
    return rc;
}

int audit_pub_write(const char *path, const audit_pubset *set)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    int ok = set->n > 0;
    for (size_t i = 0; ok && i < set->n; i++) {
        EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, set->k[i], 32);
        ok = k && PEM_write_PUBKEY(f, k) == 1;
        EVP_PKEY_free(k);
    }
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0) {
        (void)fsync_dir_of(path); /* the rename itself (best effort) */
        return 0;
    }
    remove(tmp);
    return -1;
}

/* ---- nonces ---- */

int audit_seg_note_nonces(sealer *s, const uint8_t *m, size_t len)
{
    int noted = 0;
    size_t off = AUDIT_SEG_HEADER;
    audit_blk_header b;
    while (len - off >= AUDIT_BLK_HEADER + SEAL_HEADER &&
           audit_blk_header_decode(m + off, &b) == 0) {
        size_t avail = len - off - AUDIT_BLK_HEADER;
        seal_nonce_note(s, m + off + AUDIT_BLK_HEADER, avail < b.sealed_len ? avail : b.sealed_len);
        noted++;
        if (avail <= b.sealed_len) break;
        off += AUDIT_BLK_HEADER + b.sealed_len;
    }
    return noted;
}

/* A segment without blocks was created, then the server stopped or crashed before its
 * first block was written (or after a failed fsync moved the writer to a new segment). */
void audit_seg_note_older_nonces(sealer *s, const char *dir, char **names, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            if (fd >= 0) close(fd);
            continue; /* audit verify reports it */
        }
        size_t len = (size_t)sb.st_size;
        int noted = 0;
        if (len > AUDIT_SEG_HEADER) {
            uint8_t *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m != MAP_FAILED) {
                noted = audit_seg_note_nonces(s, m, len);
                munmap(m, len);
            }
        }
        close(fd);
        if (noted) return;
    }
}
