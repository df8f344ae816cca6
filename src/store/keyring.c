/*
 * keyring: master key, data keys, nonce reservations (see keyring.h).
 *
 * File format (JSON, mode 0600, replaced atomically):
 *   {"format": 1,
 *    "kek": {"kind": "file|passphrase|command", "salt": hex, "m": .., "t": .., "p": ..},
 *    "purposes": {"values": [{"version": 1, "created": secs, "retired": false,
 *                             "wrapped": hex(nonce|ciphertext|tag), "reserved": n}, ...],
 *                 "index": [...], "log": [...], "audit": [...], "backup": [...]}}
 * "reserved" is the nonce counter every seal with that version stays below; it is
 * raised in blocks of NONCE_BLOCK and written before the block is used.
 */
#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/secmem.h"
#include "util/strutil.h"

#define FORMAT       1
#define NONCE_BLOCK  (1ULL << 22)
#define NONCE_LIMIT  (1ULL << 62) /* counters stop here (far from wrapping) */
#define MAX_VERSIONS 4096

static const char *purpose_names[KR_NPURPOSES] = {"values", "index",  "log",
                                                  "audit",  "backup", "sign"};

const char *keyring_purpose_name(int p)
{
    return p >= 0 && p < KR_NPURPOSES ? purpose_names[p] : NULL;
}

int keyring_purpose_find(const char *name)
{
    for (int i = 0; i < KR_NPURPOSES; i++)
        if (strcasecmp(name, purpose_names[i]) == 0) return i;
    return -1;
}

/* ---- locked memory ---- */

static _Atomic unsigned long long unlocked_allocs; /* mlock refused */

void *keyring_secure_alloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (n + page - 1) / page * page;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, len, MADV_DONTDUMP);
    /* Best effort: RLIMIT_MEMLOCK may refuse; the pages stay non-dumpable, and the refusal is
     * counted (INFO memory, and a warning at start-up). */
    if (mlock(p, len) != 0) atomic_fetch_add(&unlocked_allocs, 1);
    return p;
}

unsigned long long keyring_unlocked_allocs(void)
{
    return atomic_load(&unlocked_allocs);
}

void keyring_secure_free(void *p, size_t n)
{
    if (!p) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (n + page - 1) / page * page;
    OPENSSL_cleanse(p, len);
    munlock(p, len);
    munmap(p, len);
}

/* ---- structures ---- */

typedef struct {
    uint32_t version;  /* 1, 2, ... */
    long long created; /* seconds since the epoch */
    int retired;       /* key erased; kept for the record */
    uint8_t *key;      /* locked memory (NULL when retired) */
    uint64_t counter;  /* next nonce counter */
    uint64_t reserved; /* counters below this are reserved on disk */
} kr_version;

typedef struct {
    kr_version *v; /* versions, oldest first */
    size_t n;      /* count */
} kr_series;

struct keyring {
    char *path;                 /* keyring file */
    uint8_t *kek;               /* master key (locked memory) */
    char kind[16];              /* file, passphrase, command */
    uint8_t salt[16];           /* passphrase salt */
    uint32_t m, t, p;           /* passphrase Argon2id parameters */
    kr_series s[KR_NPURPOSES];  /* data keys */
    int upgraded;               /* a purpose was added on open: write the file back */
    int memonly;                /* opened from a buffer: nothing is written until
                                   keyring_save_as gives it a file */
    pthread_mutex_t nonce_lock; /* nonces may be taken from several threads (a backup
                                   writer seals on its own thread) */
    _Atomic unsigned retirements; /* versions retired so far (sealers drop their contexts) */
};

/* ---- helpers ---- */

static void tohex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Exactly 2 * n lower-case hex digits (as tohex writes them) into n bytes. */
static int unhex_all(const char *s, uint8_t *out, size_t n)
{
    return strlen(s) == 2 * n ? str_unhex(s, n, out) : -1;
}

static int gcm(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
               const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
    secmem_begin(); /* the key encryption key's schedule: in the secure heap */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1;
    secmem_end();
    int l = 0;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &l, aad, (int)aadlen) == 1;
    ok = ok && EVP_CipherUpdate(ctx, out, &l, in, (int)n) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + l, &l) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

static void wrap_aad(int purpose, uint32_t version, char *out, size_t outlen)
{
    snprintf(out, outlen, "phidb-keyring|%s|%u", purpose_names[purpose], version);
}

static const char *kind_of(const keyring_kek_source *src)
{
    if (src->command && *src->command) return "command";
    if (src->passphrase && *src->passphrase) return "passphrase";
    return "file";
}

/* ---- file ---- */

/* The keyring as JSON, every key wrapped under kek (kind and salt describe it). */
static json_t *to_json_with(const keyring *k, const uint8_t *wrapkek, const char *kind,
                            const uint8_t *salt)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_integer(FORMAT));
    json_t *kek = json_object();
    json_object_set_new(kek, "kind", json_string(kind));
    if (strcmp(kind, "passphrase") == 0) {
        char hx[33];
        tohex(salt, 16, hx);
        json_object_set_new(kek, "salt", json_string(hx));
        json_object_set_new(kek, "m", json_integer(k->m));
        json_object_set_new(kek, "t", json_integer(k->t));
        json_object_set_new(kek, "p", json_integer(k->p));
    }
    json_object_set_new(root, "kek", kek);
    json_t *ps = json_object();
    for (int p = 0; p < KR_NPURPOSES; p++) {
        json_t *arr = json_array();
        for (size_t i = 0; i < k->s[p].n; i++) {
            const kr_version *v = &k->s[p].v[i];
            json_t *o = json_object();
            json_object_set_new(o, "version", json_integer(v->version));
            json_object_set_new(o, "created", json_integer(v->created));
            json_object_set_new(o, "retired", json_boolean(v->retired));
            json_object_set_new(o, "reserved", json_integer((json_int_t)v->reserved));
            if (!v->retired) {
                uint8_t w[12 + KEYRING_KEY_LEN + 16];
                char aad[64];
                wrap_aad(p, v->version, aad, sizeof aad);
                if (RAND_bytes(w, 12) != 1 ||
                    gcm(1, wrapkek, w, (const uint8_t *)aad, strlen(aad), v->key, KEYRING_KEY_LEN,
                        w + 12, w + 12 + KEYRING_KEY_LEN) != 0) {
                    json_decref(o);
                    json_decref(arr);
                    json_decref(ps);
                    json_decref(root);
                    return NULL; /* no nonce or no wrap: nothing is written */
                }
                char hx[2 * sizeof w + 1];
                tohex(w, sizeof w, hx);
                json_object_set_new(o, "wrapped", json_string(hx));
            }
            json_array_append_new(arr, o);
        }
        json_object_set_new(ps, purpose_names[p], arr);
    }
    json_object_set_new(root, "purposes", ps);
    return root;
}

static json_t *to_json(const keyring *k)
{
    return to_json_with(k, k->kek, k->kind, k->salt);
}

static int write_file(keyring *k, char *err, size_t errlen)
{
    if (k->memonly) {
        snprintf(err, errlen, "this keyring (read from a backup) has no file yet");
        return -1;
    }
    json_t *root = to_json(k);
    if (!root) {
        snprintf(err, errlen,
                 "the keyring cannot be wrapped (the random generator or AES-GCM failed)");
        return -1;
    }
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "cannot encode the keyring");
        return -1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", k->path);
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        size_t n = strlen(text), off = 0;
        while (off < n) {
            ssize_t w = write(fd, text + off, n - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == n && fsync(fd) == 0) rc = 0;
        close(fd);
    }
    free(text);
    if (rc == 0 && rename(tmp, k->path) != 0) rc = -1;
    if (rc != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot write keyring %s: %s", k->path, strerror(e));
        unlink(tmp);
        errno = e;
        return -1;
    }
    /* The rename itself: a nonce reservation must be on disk before its nonces are used
     * (a crash could bring the previous file back). A filesystem that cannot fsync a
     * directory at all (EINVAL) has nothing more to give. */
    if (fsync_dir_of(k->path) != 0 && errno != EINVAL && errno != ENOTSUP) {
        snprintf(err, errlen, "keyring %s written, but its directory could not be synced: %s",
                 k->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int add_version(keyring *k, int p, uint32_t version, long long created)
{
    kr_series *s = &k->s[p];
    if (s->n >= MAX_VERSIONS) return -1;
    s->v = mem_realloc(s->v, sizeof(kr_version) * (s->n + 1));
    kr_version *v = &s->v[s->n++];
    memset(v, 0, sizeof *v);
    v->version = version;
    v->created = created;
    v->key = keyring_secure_alloc(KEYRING_KEY_LEN);
    return v->key ? 0 : -1;
}

static int parse_file(keyring *k, json_t *root, const keyring_kek_source *src, char *err,
                      size_t errlen)
{
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != FORMAT) {
        snprintf(err, errlen, "keyring %s has an unknown format", k->path);
        return -1;
    }
    json_t *kek = json_object_get(root, "kek");
    const char *kind = json_string_value(json_object_get(kek, "kind"));
    if (!kind) {
        snprintf(err, errlen, "keyring %s has no master key description", k->path);
        return -1;
    }
    snprintf(k->kind, sizeof k->kind, "%s", kind);
    if (strcmp(kind, "passphrase") == 0) {
        const char *salt = json_string_value(json_object_get(kek, "salt"));
        if (!salt || unhex_all(salt, k->salt, sizeof k->salt) != 0) {
            snprintf(err, errlen, "keyring %s has a bad passphrase salt", k->path);
            return -1;
        }
    }
    if (keyring_kek_load(src, k->salt, sizeof k->salt, k->kek, err, errlen) != 0) return -1;
    json_t *ps = json_object_get(root, "purposes");
    for (int p = 0; p < KR_NPURPOSES; p++) {
        json_t *arr = json_object_get(ps, purpose_names[p]);
        if (!arr && p == KR_SIGN) {
            /* A keyring from before signing keys existed: it gets one (written below). */
            if (add_version(k, p, 1, (long long)time(NULL)) != 0) {
                snprintf(err, errlen, "cannot allocate locked memory for keys");
                return -1;
            }
            if (RAND_bytes(k->s[p].v[0].key, KEYRING_KEY_LEN) != 1) {
                snprintf(err, errlen, "the random generator failed: no key can be made");
                return -1;
            }
            k->upgraded = 1;
            continue;
        }
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
            snprintf(err, errlen, "keyring %s has no %s keys", k->path, purpose_names[p]);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *o = json_array_get(arr, i);
            json_int_t ver = json_integer_value(json_object_get(o, "version"));
            if (ver <= 0 || ver > 0xffffffffLL) {
                snprintf(err, errlen, "keyring %s: bad version", k->path);
                return -1;
            }
            if (add_version(k, p, (uint32_t)ver,
                            json_integer_value(json_object_get(o, "created"))) != 0) {
                snprintf(err, errlen, "cannot allocate locked memory for keys");
                return -1;
            }
            kr_version *v = &k->s[p].v[k->s[p].n - 1];
            v->retired = json_is_true(json_object_get(o, "retired"));
            /* A missing, negative or absurd reservation would restart or wrap the counter
             * (nonce reuse): damage, not something to guess around. */
            json_t *res = json_object_get(o, "reserved");
            if (!json_is_integer(res) || json_integer_value(res) < 0 ||
                (uint64_t)json_integer_value(res) > NONCE_LIMIT) {
                snprintf(err, errlen, "keyring %s: damaged nonce reservation of %s key %u", k->path,
                         purpose_names[p], v->version);
                return -1;
            }
            v->reserved = (uint64_t)json_integer_value(res);
            v->counter = v->reserved; /* resume above everything reserved before */
            if (v->retired) {
                keyring_secure_free(v->key, KEYRING_KEY_LEN);
                v->key = NULL;
                continue;
            }
            const char *hx = json_string_value(json_object_get(o, "wrapped"));
            uint8_t w[12 + KEYRING_KEY_LEN + 16];
            char aad[64];
            wrap_aad(p, v->version, aad, sizeof aad);
            if (!hx || unhex_all(hx, w, sizeof w) != 0) {
                snprintf(err, errlen, "keyring %s: damaged %s key %u", k->path, purpose_names[p],
                         v->version);
                return -1;
            }
            if (gcm(0, k->kek, w, (const uint8_t *)aad, strlen(aad), w + 12, KEYRING_KEY_LEN,
                    v->key, w + 12 + KEYRING_KEY_LEN) != 0) {
                const char *was = strcmp(k->kind, "passphrase") == 0 ? "a passphrase"
                                  : strcmp(k->kind, "command") == 0  ? "master-key-command"
                                                                     : "master-key-file";
                snprintf(err, errlen,
                         "wrong master key: it does not unlock the keyring %s (its keys were "
                         "last wrapped with the master key from %s)",
                         k->path, was);
                return -1;
            }
        }
    }
    return 0;
}

keyring *keyring_open(const char *path, const keyring_kek_source *src, int create, char *err,
                      size_t errlen)
{
    keyring *k = mem_calloc(sizeof *k);
    pthread_mutex_init(&k->nonce_lock, NULL);
    k->path = mem_strdup(path);
    k->kek = keyring_secure_alloc(KEYRING_KEY_LEN);
    k->m = 65536;
    k->t = 3;
    k->p = 1;
    if (!k->kek) {
        snprintf(err, errlen, "cannot allocate locked memory for keys");
        goto fail;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || !create) {
            snprintf(err, errlen, "cannot open keyring %s: %s", path, strerror(errno));
            goto fail;
        }
        snprintf(k->kind, sizeof k->kind, "%s", kind_of(src));
        if (RAND_bytes(k->salt, sizeof k->salt) != 1) {
            snprintf(err, errlen, "the random generator failed: no key can be made");
            goto fail;
        }
        if (keyring_kek_load(src, k->salt, sizeof k->salt, k->kek, err, errlen) != 0) goto fail;
        long long now = (long long)time(NULL);
        for (int p = 0; p < KR_NPURPOSES; p++) {
            if (add_version(k, p, 1, now) != 0) {
                snprintf(err, errlen, "cannot allocate locked memory for keys");
                goto fail;
            }
            if (RAND_bytes(k->s[p].v[0].key, KEYRING_KEY_LEN) != 1) {
                snprintf(err, errlen, "the random generator failed: no key can be made");
                goto fail;
            }
        }
        if (write_file(k, err, errlen) != 0) goto fail;
        return k;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "keyring %s is readable or writable by group or others (mode %03o); run chmod "
                 "600 on it",
                 path, (unsigned)(st.st_mode & 0777));
        goto fail;
    }
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, errlen, "keyring %s is damaged (line %d: %s)", path, je.line, je.text);
        goto fail;
    }
    int rc = parse_file(k, root, src, err, errlen);
    json_decref(root);
    if (rc != 0) goto fail;
    if (k->upgraded && write_file(k, err, errlen) != 0) goto fail;
    return k;
fail:
    keyring_close(k);
    return NULL;
}

void keyring_close(keyring *k)
{
    if (!k) return;
    for (int p = 0; p < KR_NPURPOSES; p++) {
        for (size_t i = 0; i < k->s[p].n; i++)
            keyring_secure_free(k->s[p].v[i].key, KEYRING_KEY_LEN);
        mem_free(k->s[p].v);
    }
    keyring_secure_free(k->kek, KEYRING_KEY_LEN);
    pthread_mutex_destroy(&k->nonce_lock);
    mem_free(k->path);
    mem_free(k);
}

static kr_version *find(const keyring *k, int p, uint32_t version)
{
    if (p < 0 || p >= KR_NPURPOSES) return NULL;
    for (size_t i = 0; i < k->s[p].n; i++)
        if (k->s[p].v[i].version == version) return &k->s[p].v[i];
    return NULL;
}

uint32_t keyring_current(const keyring *k, int p)
{
    const kr_series *s = &k->s[p];
    return s->n ? s->v[s->n - 1].version : 0;
}

const uint8_t *keyring_key(const keyring *k, int p, uint32_t version)
{
    kr_version *v = find(k, p, version);
    return v && !v->retired ? v->key : NULL;
}

/* A counter nonce: fixed field the purpose, invocation field the counter (big-endian). */
static void put_nonce(int p, uint64_t c, uint8_t nonce[12])
{
    nonce[0] = 0;
    nonce[1] = 0;
    nonce[2] = 0;
    nonce[3] = (uint8_t)p;
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(c >> (56 - 8 * i));
}

int keyring_nonce(keyring *k, int p, uint32_t version, uint8_t nonce[12])
{
    pthread_mutex_lock(&k->nonce_lock);
    kr_version *v = find(k, p, version);
    int e = !v || v->retired ? ENOKEY : v->counter >= NONCE_LIMIT ? EOVERFLOW : 0;
    if (!e && v->counter >= v->reserved) {
        uint64_t old = v->reserved;
        v->reserved = v->counter + NONCE_BLOCK;
        char err[256];
        if (write_file(k, err, sizeof err) != 0) {
            e = errno ? errno : EIO; /* ENOSPC, EIO ...: what the caller's message gives */
            v->reserved = old;
        }
    }
    if (e) { /* NONCE_LIMIT: never in practice, a version is rotated long before */
        pthread_mutex_unlock(&k->nonce_lock);
        errno = e;
        return -1;
    }
    uint64_t c = v->counter++;
    pthread_mutex_unlock(&k->nonce_lock);
    put_nonce(p, c, nonce);
    return 0;
}

int keyring_nonce_headroom(keyring *k, int p, uint32_t version, uint64_t n)
{
    pthread_mutex_lock(&k->nonce_lock);
    kr_version *v = find(k, p, version);
    int rc = v && !v->retired && v->counter < NONCE_LIMIT && n <= NONCE_LIMIT - v->counter ? 0 : -1;
    uint64_t room = v && v->reserved > v->counter ? v->reserved - v->counter : 0;
    if (rc == 0 && room < n) {
        uint64_t old = v->reserved;
        v->reserved = v->counter + (n > NONCE_BLOCK ? n : NONCE_BLOCK);
        char err[256];
        if (write_file(k, err, sizeof err) != 0) {
            v->reserved = old;
            rc = -1;
        }
    }
    pthread_mutex_unlock(&k->nonce_lock);
    return rc;
}

int keyring_nonce_seen(keyring *k, int p, uint32_t version, const uint8_t nonce[12], uint64_t *was)
{
    if (nonce[0] || nonce[1] || nonce[2] || nonce[3] != (uint8_t)p) return -1;
    uint64_t c = 0;
    for (int i = 0; i < 8; i++)
        c = c << 8 | nonce[4 + i];
    pthread_mutex_lock(&k->nonce_lock);
    kr_version *v = find(k, p, version);
    int rc = -1;
    if (v && c != UINT64_MAX) {
        rc = 0;
        if (v->counter <= c) {
            /* keyring_nonce reserves a new block above it before the next seal */
            *was = v->counter;
            v->counter = c + 1;
            rc = 1;
        }
    }
    pthread_mutex_unlock(&k->nonce_lock);
    return rc;
}

int keyring_nonce_last(keyring *k, int p, uint32_t version, uint8_t nonce[12])
{
    pthread_mutex_lock(&k->nonce_lock);
    kr_version *v = find(k, p, version);
    int ok = v && !v->retired && v->counter > 0;
    uint64_t c = ok ? v->counter - 1 : 0;
    pthread_mutex_unlock(&k->nonce_lock);
    if (!ok) return -1;
    put_nonce(p, c, nonce);
    return 0;
}

static uint32_t rotate_locked(keyring *k, int p, char *err, size_t errlen)
{
    uint32_t next = keyring_current(k, p) + 1;
    if (add_version(k, p, next, (long long)time(NULL)) != 0) {
        snprintf(err, errlen, "too many key versions or no locked memory");
        return 0;
    }
    int fresh = RAND_bytes(k->s[p].v[k->s[p].n - 1].key, KEYRING_KEY_LEN) == 1;
    if (!fresh) snprintf(err, errlen, "the random generator failed: no key can be made");
    if (!fresh || write_file(k, err, errlen) != 0) {
        kr_series *s = &k->s[p];
        keyring_secure_free(s->v[s->n - 1].key, KEYRING_KEY_LEN);
        s->n--;
        return 0;
    }
    return next;
}

/* Changes to the versions and the file happen under the lock that keyring_nonce takes, so
 * a thread taking a nonce (the audit writer, the backup writer) never sees the version
 * array reallocated or the keyring file half replaced. */
uint32_t keyring_rotate(keyring *k, int p, char *err, size_t errlen)
{
    pthread_mutex_lock(&k->nonce_lock);
    uint32_t rc = rotate_locked(k, p, err, errlen);
    pthread_mutex_unlock(&k->nonce_lock);
    return rc;
}

static int retire_locked(keyring *k, int p, uint32_t version, char *err, size_t errlen)
{
    kr_version *v = find(k, p, version);
    if (!v || version == keyring_current(k, p)) {
        snprintf(err, errlen, "cannot retire the current or an unknown version");
        return -1;
    }
    if (v->retired) return 0;
    v->retired = 1;
    if (write_file(k, err, errlen) != 0) {
        v->retired = 0;
        return -1;
    }
    keyring_secure_free(v->key, KEYRING_KEY_LEN);
    v->key = NULL;
    return 0;
}

/* Changes to the versions and the file happen under the lock that keyring_nonce takes, so
 * a thread taking a nonce (the audit writer, the backup writer) never sees the version
 * array reallocated or the keyring file half replaced. */
int keyring_retire(keyring *k, int p, uint32_t version, char *err, size_t errlen)
{
    pthread_mutex_lock(&k->nonce_lock);
    int rc = retire_locked(k, p, version, err, errlen);
    pthread_mutex_unlock(&k->nonce_lock);
    if (rc == 0) atomic_fetch_add(&k->retirements, 1);
    return rc;
}

unsigned keyring_retirements(const keyring *k)
{
    return atomic_load(&((keyring *)k)->retirements);
}

size_t keyring_versions(const keyring *k, int p, uint32_t *out, size_t cap)
{
    const kr_series *s = &k->s[p];
    for (size_t i = 0; i < s->n && i < cap; i++)
        out[i] = s->v[i].version;
    return s->n;
}

static int rewrap_locked(keyring *k, const keyring_kek_source *newsrc, char *err, size_t errlen)
{
    uint8_t *old = keyring_secure_alloc(KEYRING_KEY_LEN);
    if (!old) {
        snprintf(err, errlen, "cannot allocate locked memory for keys");
        return -1;
    }
    memcpy(old, k->kek, KEYRING_KEY_LEN);
    char oldkind[16];
    uint8_t oldsalt[16];
    memcpy(oldkind, k->kind, sizeof oldkind);
    memcpy(oldsalt, k->salt, sizeof oldsalt);
    snprintf(k->kind, sizeof k->kind, "%s", kind_of(newsrc));
    int rc = RAND_bytes(k->salt, sizeof k->salt) == 1 ? 0 : -1;
    if (rc != 0) snprintf(err, errlen, "the random generator failed: no salt can be made");
    if (rc == 0) rc = keyring_kek_load(newsrc, k->salt, sizeof k->salt, k->kek, err, errlen);
    if (rc == 0) rc = write_file(k, err, errlen);
    if (rc != 0) {
        memcpy(k->kek, old, KEYRING_KEY_LEN);
        memcpy(k->kind, oldkind, sizeof oldkind);
        memcpy(k->salt, oldsalt, sizeof oldsalt);
    }
    keyring_secure_free(old, KEYRING_KEY_LEN);
    return rc;
}

/* Changes to the versions and the file happen under the lock that keyring_nonce takes, so
 * a thread taking a nonce (the audit writer, the backup writer) never sees the version
 * array reallocated or the keyring file half replaced. */
int keyring_rewrap(keyring *k, const keyring_kek_source *newsrc, char *err, size_t errlen)
{
    pthread_mutex_lock(&k->nonce_lock);
    int rc = rewrap_locked(k, newsrc, err, errlen);
    pthread_mutex_unlock(&k->nonce_lock);
    return rc;
}

const char *keyring_path(const keyring *k)
{
    return k->path;
}

keyring *keyring_open_buf(const char *text, size_t len, const char *label,
                          const keyring_kek_source *src, char *err, size_t errlen)
{
    keyring *k = mem_calloc(sizeof *k);
    pthread_mutex_init(&k->nonce_lock, NULL);
    k->path = mem_strdup(label);
    k->memonly = 1;
    k->kek = keyring_secure_alloc(KEYRING_KEY_LEN);
    k->m = 65536;
    k->t = 3;
    k->p = 1;
    if (!k->kek) {
        snprintf(err, errlen, "cannot allocate locked memory for keys");
        goto fail;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "keyring %s is damaged (line %d: %s)", label, je.line, je.text);
        goto fail;
    }
    int rc = parse_file(k, root, src, err, errlen);
    json_decref(root);
    if (rc != 0) goto fail;
    return k;
fail:
    keyring_close(k);
    return NULL;
}

static int save_as_locked(keyring *k, const char *path, char *err, size_t errlen)
{
    char *old = k->path;
    int was = k->memonly;
    k->path = mem_strdup(path);
    k->memonly = 0;
    if (write_file(k, err, errlen) != 0) {
        mem_free(k->path);
        k->path = old;
        k->memonly = was;
        return -1;
    }
    mem_free(old);
    return 0;
}

/* Changes to the versions and the file happen under the lock that keyring_nonce takes, so
 * a thread taking a nonce (the audit writer, the backup writer) never sees the version
 * array reallocated or the keyring file half replaced. */
int keyring_save_as(keyring *k, const char *path, char *err, size_t errlen)
{
    pthread_mutex_lock(&k->nonce_lock);
    int rc = save_as_locked(k, path, err, errlen);
    pthread_mutex_unlock(&k->nonce_lock);
    return rc;
}

static char *export_text(json_t *root, size_t *len, char *err, size_t errlen)
{
    if (!root) {
        snprintf(err, errlen,
                 "the keyring cannot be wrapped (the random generator or AES-GCM failed)");
        return NULL;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "cannot encode the keyring");
        return NULL;
    }
    *len = strlen(text);
    char *out = mem_alloc(*len + 1);
    memcpy(out, text, *len + 1);
    free(text);
    return out;
}

int keyring_passphrase_kek(const char *passphrase, uint8_t salt[16], uint8_t kek[KEYRING_KEY_LEN],
                           char *err, size_t errlen)
{
    keyring_kek_source src = {.passphrase = passphrase};
    if (RAND_bytes(salt, 16) != 1) {
        snprintf(err, errlen, "the random generator failed: no salt can be made");
        return -1;
    }
    return keyring_kek_load(&src, salt, 16, kek, err, errlen);
}

/* The JSON of k under the nonce lock (a nonce reservation may be writing meanwhile). */
static json_t *locked_json(const keyring *k, const uint8_t *kek, const char *kind,
                           const uint8_t *salt)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&k->nonce_lock;
    pthread_mutex_lock(mu);
    json_t *root =
        to_json_with(k, kek ? kek : k->kek, kind ? kind : k->kind, salt ? salt : k->salt);
    pthread_mutex_unlock(mu);
    return root;
}

char *keyring_export_kek(const keyring *k, const uint8_t kek[KEYRING_KEY_LEN],
                         const uint8_t salt[16], size_t *len, char *err, size_t errlen)
{
    return export_text(locked_json(k, kek, "passphrase", salt), len, err, errlen);
}

char *keyring_export(const keyring *k, const keyring_kek_source *newsrc, size_t *len, char *err,
                     size_t errlen)
{
    if (!newsrc) return export_text(locked_json(k, NULL, NULL, NULL), len, err, errlen);
    uint8_t *kek = keyring_secure_alloc(KEYRING_KEY_LEN);
    uint8_t salt[16];
    int salted = RAND_bytes(salt, sizeof salt) == 1;
    if (!kek || !salted || keyring_kek_load(newsrc, salt, sizeof salt, kek, err, errlen) != 0) {
        if (!kek) snprintf(err, errlen, "cannot allocate locked memory for keys");
        if (kek && !salted) snprintf(err, errlen, "the random generator failed: no salt");
        keyring_secure_free(kek, KEYRING_KEY_LEN);
        return NULL;
    }
    json_t *root = locked_json(k, kek, kind_of(newsrc), salt);
    keyring_secure_free(kek, KEYRING_KEY_LEN);
    return export_text(root, len, err, errlen);
}
