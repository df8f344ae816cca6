/*
 * policy_grant: the break-glass grant store (see policy_grant.h).
 *
 * Plaintext layout inside the sealed item (all integers big-endian):
 *   "PBG1" u32 count, then per grant:
 *   id[16] u64 created_ms u64 expires_ms u16 userlen user u16 subjectlen subject
 *   u16 reasonlen reason
 * Every length is checked against what is left and against the limits before
 * anything is copied. The plaintext is built and read in wiped buffers.
 */
#include "policy_grant.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store/seal.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/strutil.h"

#define GRANT_MAGIC     "PHIDBBG1"
#define GRANT_MAGIC_LEN 8
#define GRANT_AAD       "phidb/breakglass/v1"
#define GRANT_MAX_FILE  (POLICY_GRANT_MAX * (POLICY_GRANT_MAX_REASON + 512) + 4096)

typedef struct {
    char id[POLICY_GRANT_ID_LEN + 1]; /* hex id */
    char *user;                       /* user name (owned) */
    uint8_t *subject;                 /* subject id (owned, wiped) */
    size_t slen;                      /* its length */
    char *reason;                     /* reason (owned, wiped) */
    size_t rlen;                      /* its length */
    long long created;                /* ms */
    long long expires;                /* ms */
} grant;

struct policy_grants {
    char *path;       /* file (NULL: memory only) */
    struct sealer *s; /* sealer of the values key (NULL: memory only) */
    grant *g;         /* grants, oldest first */
    size_t n;         /* count */
    uint32_t version; /* values key version the file is sealed with (0: no file) */
};

policy_grants *policy_grants_new(const char *path, struct sealer *s)
{
    policy_grants *g = mem_calloc(sizeof *g);
    g->path = path ? mem_strdup(path) : NULL;
    g->s = s;
    return g;
}

static void grant_clear(grant *x)
{
    mem_free(x->user);
    if (x->subject) OPENSSL_cleanse(x->subject, x->slen);
    mem_free(x->subject);
    if (x->reason) OPENSSL_cleanse(x->reason, x->rlen);
    mem_free(x->reason);
    memset(x, 0, sizeof *x);
}

static void clear_all(policy_grants *g)
{
    for (size_t i = 0; i < g->n; i++)
        grant_clear(&g->g[i]);
    mem_free(g->g);
    g->g = NULL;
    g->n = 0;
}

void policy_grants_free(policy_grants *g)
{
    if (!g) return;
    clear_all(g);
    mem_free(g->path);
    mem_free(g);
}

static void view(const grant *x, policy_grant *out)
{
    memcpy(out->id, x->id, sizeof out->id);
    out->user = x->user;
    out->subject = x->subject;
    out->subject_len = x->slen;
    out->reason = x->reason;
    out->reason_len = x->rlen;
    out->created_ms = x->created;
    out->expires_ms = x->expires;
}

/* ---- serialisation ---- */

static void put_u16(buf *b, size_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, p, 2);
}

static void put_u64(buf *b, long long sv)
{
    uint64_t v = (uint64_t)sv;
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    buf_append(b, p, 8);
}

typedef struct {
    const uint8_t *p; /* next byte */
    size_t left;      /* bytes left */
} reader;

static int get(reader *r, void *out, size_t n)
{
    if (r->left < n) return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

static int get_u16(reader *r, size_t *v)
{
    uint8_t p[2];
    if (get(r, p, 2) != 0) return -1;
    *v = (size_t)p[0] << 8 | p[1];
    return 0;
}

static int get_u64(reader *r, long long *v)
{
    uint8_t p[8];
    if (get(r, p, 8) != 0) return -1;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | p[i];
    *v = (long long)x;
    return 0;
}

/* A length-prefixed string of at most max bytes, copied with a NUL after it. */
static int get_str(reader *r, size_t min, size_t max, char **out, size_t *len)
{
    size_t n;
    if (get_u16(r, &n) != 0 || n < min || n > max || r->left < n) return -1;
    *out = mem_strndup((const char *)r->p, n);
    *len = n;
    r->p += n;
    r->left -= n;
    return 0;
}

/* Write the store to its file (sealed, atomic). Returns 0 or -1 with err. */
static int save(policy_grants *g, char *err, size_t errlen)
{
    if (!g->path || !g->s) return 0;
    buf plain = {0};
    buf_puts(&plain, "PBG1");
    uint8_t cnt[4] = {(uint8_t)(g->n >> 24), (uint8_t)(g->n >> 16), (uint8_t)(g->n >> 8),
                      (uint8_t)g->n};
    buf_append(&plain, cnt, 4);
    for (size_t i = 0; i < g->n; i++) {
        const grant *x = &g->g[i];
        buf_append(&plain, x->id, POLICY_GRANT_ID_LEN);
        put_u64(&plain, x->created);
        put_u64(&plain, x->expires);
        put_u16(&plain, strlen(x->user));
        buf_puts(&plain, x->user);
        put_u16(&plain, x->slen);
        buf_append(&plain, x->subject, x->slen);
        put_u16(&plain, x->rlen);
        buf_append(&plain, x->reason, x->rlen);
    }
    size_t sealed_len = plain.len + SEAL_OVERHEAD;
    uint8_t *file = mem_alloc(GRANT_MAGIC_LEN + sealed_len);
    memcpy(file, GRANT_MAGIC, GRANT_MAGIC_LEN);
    int rc = -1, fd = -1;
    char tmp[4200];
    if (seal_seal(g->s, plain.p, plain.len, (const uint8_t *)GRANT_AAD, sizeof GRANT_AAD - 1, NULL,
                  0, file + GRANT_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "cannot seal the break-glass grants");
        goto free_bufs;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", g->path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto free_bufs;
    }
    size_t off = 0, total = GRANT_MAGIC_LEN + sealed_len;
    while (off < total) {
        ssize_t w = write(fd, file + off, total - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    if (off < total || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto unlink_tmp;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, g->path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, g->path, strerror(errno));
        goto unlink_tmp;
    }
    (void)fsync_dir_of(g->path); /* the rename itself (best effort) */
    g->version = seal_version(file + GRANT_MAGIC_LEN, sealed_len);
    rc = 0;
    goto free_bufs;
unlink_tmp:
    if (fd >= 0) close(fd);
    unlink(tmp);
free_bufs:
    mem_free(file);
    buf_wipe_free(&plain);
    return rc;
}

int policy_grants_load(policy_grants *g, long long now_ms, char *err, size_t errlen)
{
    clear_all(g);
    g->version = 0;
    if (!g->path || !g->s) return 0;
    int fd = open(g->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", g->path, strerror(errno));
        return -1;
    }
    int rc = -1;
    uint8_t *file = NULL, *plain = NULL;
    size_t plen = 0;
    grant *list = NULL;
    size_t count = 0, kept = 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < GRANT_MAGIC_LEN + SEAL_OVERHEAD ||
        st.st_size > GRANT_MAX_FILE) {
        snprintf(err, errlen, "break-glass grants file %s has an impossible size", g->path);
        goto close_fd;
    }
    size_t n = (size_t)st.st_size, got = 0;
    file = mem_alloc(n);
    while (got < n) {
        ssize_t r = read(fd, file + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != n || memcmp(file, GRANT_MAGIC, GRANT_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "%s is not a break-glass grants file", g->path);
        goto free_file;
    }
    plen = n - GRANT_MAGIC_LEN - SEAL_OVERHEAD;
    plain = mem_alloc(plen ? plen : 1);
    if (seal_open(g->s, file + GRANT_MAGIC_LEN, n - GRANT_MAGIC_LEN, (const uint8_t *)GRANT_AAD,
                  sizeof GRANT_AAD - 1, NULL, 0, plain) != 0) {
        snprintf(err, errlen, "break-glass grants file %s was altered or sealed with another key",
                 g->path);
        goto free_plain;
    }
    g->version = seal_version(file + GRANT_MAGIC_LEN, n - GRANT_MAGIC_LEN);
    /* Later seals must not reuse its nonce (the caller commits: seal_nonces_commit). */
    seal_nonce_note(g->s, file + GRANT_MAGIC_LEN, n - GRANT_MAGIC_LEN);
    reader r = {plain, plen};
    uint8_t magic[4], cnt[4];
    if (get(&r, magic, 4) != 0 || memcmp(magic, "PBG1", 4) != 0 || get(&r, cnt, 4) != 0) {
        snprintf(err, errlen, "break-glass grants file %s: bad contents", g->path);
        goto free_plain;
    }
    count = (size_t)cnt[0] << 24 | (size_t)cnt[1] << 16 | (size_t)cnt[2] << 8 | cnt[3];
    if (count > POLICY_GRANT_MAX) {
        snprintf(err, errlen, "break-glass grants file %s: too many grants", g->path);
        goto free_plain;
    }
    list = mem_calloc(sizeof(grant) * (count ? count : 1));
    for (size_t i = 0; i < count; i++) {
        grant *x = &list[kept];
        size_t ulen;
        if (get(&r, x->id, POLICY_GRANT_ID_LEN) != 0 || get_u64(&r, &x->created) != 0 ||
            get_u64(&r, &x->expires) != 0 || get_str(&r, 1, 128, &x->user, &ulen) != 0 ||
            get_str(&r, 1, POLICY_GRANT_MAX_SUBJECT, (char **)&x->subject, &x->slen) != 0 ||
            get_str(&r, 0, POLICY_GRANT_MAX_REASON, &x->reason, &x->rlen) != 0) {
            snprintf(err, errlen, "break-glass grants file %s: truncated grant %zu", g->path, i);
            kept++;
            goto free_list;
        }
        x->id[POLICY_GRANT_ID_LEN] = '\0';
        if (x->expires > now_ms)
            kept++;
        else
            grant_clear(x); /* expired while the server was down */
    }
    if (r.left != 0) {
        snprintf(err, errlen, "break-glass grants file %s: trailing bytes", g->path);
        goto free_list;
    }
    g->g = list;
    g->n = kept;
    list = NULL;
    kept = 0;
    rc = 0;
    /* Re-seal under the current key version (and without the expired ones). */
    if (seal_version(file + GRANT_MAGIC_LEN, n - GRANT_MAGIC_LEN) !=
            keyring_current(seal_keyring(g->s), seal_purpose(g->s)) ||
        g->n != count)
        rc = save(g, err, errlen);
free_list:
    for (size_t i = 0; i < kept; i++)
        grant_clear(&list[i]);
    mem_free(list);
free_plain:
    if (plain) OPENSSL_cleanse(plain, plen);
    mem_free(plain);
free_file:
    mem_free(file);
close_fd:
    close(fd);
    return rc;
}

/* ---- operations ---- */

int policy_grants_expire(policy_grants *g, long long now_ms, char *err, size_t errlen)
{
    size_t j = 0, before = g->n;
    for (size_t i = 0; i < g->n; i++) {
        if (g->g[i].expires > now_ms)
            g->g[j++] = g->g[i];
        else
            grant_clear(&g->g[i]);
    }
    g->n = j;
    if (j == before) return 0;
    return save(g, err, errlen) == 0 ? (int)(before - j) : -1;
}

/* Unicode space separators (and the zero-width ones that look like nothing). */
/* Spaces, and the characters that show nothing: format characters (soft hyphen, zero-width
 * and joiner characters, word joiner and invisible operators, variation selectors, tags)
 * and the Hangul fillers. A reason made of them reads as empty. */
static int is_invisible_cp(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == 0xa0 || cp == 0xad || cp == 0x34f || cp == 0x61c ||
           cp == 0x115f || cp == 0x1160 || cp == 0x1680 || cp == 0x17b4 || cp == 0x17b5 ||
           (cp >= 0x180b && cp <= 0x180e) || (cp >= 0x2000 && cp <= 0x200f) || cp == 0x202f ||
           (cp >= 0x205f && cp <= 0x2064) || (cp >= 0x206a && cp <= 0x206f) || cp == 0x3000 ||
           cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || cp == 0xffa0 ||
           (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
           (cp >= 0xe0000 && cp <= 0xe007f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

/* Characters that change how the text around them reads: line and paragraph separators
 * (a line cut or forged where it is shown) and the direction embeddings, overrides and
 * isolates (text shown in another order than it was written). */
static int is_layout_cp(uint32_t cp)
{
    return cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* A reason is what someone will read in an investigation: valid UTF-8 without control or
 * layout characters (no NUL, newline, escape sequence, line separator or direction override
 * to cut, forge or reorder a line), at least POLICY_GRANT_MIN_REASON characters, and at
 * least half of that visible (not spaces, not characters that show nothing). */
static int reason_check(const uint8_t *r, size_t n, char *err, size_t errlen)
{
    size_t chars = 0, visible = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = str_utf8_decode(r + i, n - i, &cp);
        if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || is_layout_cp(cp)) {
            snprintf(err, errlen,
                     "the break-glass reason must be UTF-8 text without control characters, "
                     "line separators or direction overrides");
            return -1;
        }
        chars++;
        visible += !is_invisible_cp(cp);
        i += l;
    }
    if (chars < POLICY_GRANT_MIN_REASON || visible < POLICY_GRANT_MIN_REASON / 2) {
        snprintf(err, errlen, "a break-glass reason of at least %d characters is required",
                 POLICY_GRANT_MIN_REASON);
        return -1;
    }
    return 0;
}

int policy_grant_add(policy_grants *g, const char *user, const uint8_t *subject, size_t slen,
                     const uint8_t *reason, size_t rlen, long long ttl_ms, long long now_ms,
                     policy_grant *out, char *err, size_t errlen)
{
    while (rlen && (reason[0] == ' ' || reason[0] == '\t'))
        reason++, rlen--;
    while (rlen && (reason[rlen - 1] == ' ' || reason[rlen - 1] == '\t'))
        rlen--;
    if (reason_check(reason, rlen, err, errlen) != 0) return -1;
    if (rlen > POLICY_GRANT_MAX_REASON) {
        snprintf(err, errlen, "the break-glass reason may be at most %d characters",
                 POLICY_GRANT_MAX_REASON);
        return -1;
    }
    if (slen == 0 || slen > POLICY_GRANT_MAX_SUBJECT) {
        snprintf(err, errlen, "the subject id must be 1 to %d bytes", POLICY_GRANT_MAX_SUBJECT);
        return -1;
    }
    if (!user || !*user || strlen(user) > 128 || ttl_ms <= 0) {
        snprintf(err, errlen, "invalid break-glass request");
        return -1;
    }
    if (policy_grants_expire(g, now_ms, err, errlen) < 0) return -1;
    if (g->n >= POLICY_GRANT_MAX) {
        snprintf(err, errlen, "too many live break-glass grants (%d)", POLICY_GRANT_MAX);
        return -1;
    }
    grant x = {0};
    uint8_t rnd[POLICY_GRANT_ID_LEN / 2];
    for (int tries = 0;; tries++) {
        if (RAND_bytes(rnd, sizeof rnd) != 1 || tries > 8) {
            snprintf(err, errlen, "no randomness for a grant id");
            return -1;
        }
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(x.id + 2 * i, 3, "%02x", rnd[i]);
        int dup = 0;
        for (size_t i = 0; i < g->n; i++)
            dup |= strcmp(g->g[i].id, x.id) == 0;
        if (!dup) break;
    }
    x.user = mem_strdup(user);
    x.subject = mem_alloc(slen);
    memcpy(x.subject, subject, slen);
    x.slen = slen;
    x.reason = mem_strndup((const char *)reason, rlen);
    x.rlen = rlen;
    x.created = now_ms;
    x.expires = now_ms + ttl_ms;
    g->g = mem_realloc(g->g, sizeof(grant) * (g->n + 1));
    g->g[g->n++] = x;
    if (save(g, err, errlen) != 0) {
        /* Not persisted means not granted: a grant must survive a restart. */
        grant_clear(&g->g[--g->n]);
        return -1;
    }
    if (out) view(&g->g[g->n - 1], out);
    return 0;
}

int policy_grants_user_has(const policy_grants *g, const char *user, long long now_ms)
{
    for (size_t i = 0; g && i < g->n; i++)
        if (g->g[i].expires > now_ms && strcmp(g->g[i].user, user) == 0) return 1;
    return 0;
}

int policy_grant_check(const policy_grants *g, const char *user, const uint8_t *subject,
                       size_t slen, long long now_ms, policy_grant *out)
{
    const grant *best = NULL;
    for (size_t i = 0; g && i < g->n; i++) {
        const grant *x = &g->g[i];
        if (x->expires <= now_ms || x->slen != slen || strcmp(x->user, user) != 0 ||
            memcmp(x->subject, subject, slen) != 0)
            continue;
        if (!best || x->expires > best->expires) best = x;
    }
    if (best && out) view(best, out);
    return best != NULL;
}

size_t policy_grants_count(const policy_grants *g, long long now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        n += g->g[i].expires > now_ms;
    return n;
}

int policy_grant_at(const policy_grants *g, size_t idx, long long now_ms, policy_grant *out)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->g[i].expires <= now_ms) continue;
        if (idx-- == 0) {
            view(&g->g[i], out);
            return 0;
        }
    }
    return -1;
}

int policy_grant_revoke(policy_grants *g, const char *id, size_t idlen, long long now_ms, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < g->n; i++) {
        grant *x = &g->g[i];
        if (x->expires <= now_ms || idlen != POLICY_GRANT_ID_LEN || memcmp(x->id, id, idlen) != 0)
            continue;
        grant_clear(x);
        memmove(&g->g[i], &g->g[i + 1], sizeof(grant) * (g->n - i - 1));
        g->n--;
        return save(g, err, errlen) == 0 ? 1 : -1;
    }
    return 0;
}

int policy_grants_drop_users(policy_grants *g, int (*exists)(void *ud, const char *user),
                             void (*dropped)(void *ud, const char *id, const char *user), void *ud,
                             char *err, size_t errlen)
{
    size_t j = 0, before = g->n;
    for (size_t i = 0; i < g->n; i++) {
        if (exists(ud, g->g[i].user)) {
            g->g[j++] = g->g[i];
            continue;
        }
        if (dropped) dropped(ud, g->g[i].id, g->g[i].user);
        grant_clear(&g->g[i]);
    }
    g->n = j;
    if (j == before) return 0;
    return save(g, err, errlen) == 0 ? (int)(before - j) : -1;
}

uint32_t policy_grants_version(const policy_grants *g)
{
    return g->version;
}

int policy_grants_reseal(policy_grants *g, char *err, size_t errlen)
{
    if (!g->version || !g->s ||
        g->version == keyring_current(seal_keyring(g->s), seal_purpose(g->s)))
        return 0;
    return save(g, err, errlen);
}
