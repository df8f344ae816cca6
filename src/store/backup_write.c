/*
 * backup_write: the backup writer (see backup.h for the format).
 *
 * The calling thread only copies: journal operations go into the DATA record being filled
 * (1 MB); a full record is handed to the writer's I/O thread, which seals it under the
 * per-file key, hashes it (the file hash and its part's hash), writes it, and fdatasyncs
 * every 16 MB so the page cache does not fill with dirty pages. The queue holds at most
 * QUEUE_SOFT records before backup_writer_busy asks the caller to pause, and the caller is
 * made to wait only past QUEUE_HARD (copies made while clients write keys the snapshot has
 * not reached yet cannot be refused), so memory stays at a few MB.
 *
 * Why a per-file key: nonces can then be a plain counter (the key seals one file, once),
 * and the I/O thread can seal without touching the keyring; only the file key's wrapping
 * takes a nonce from the keyring's backup key, on the caller's thread.
 */
#include "backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/strutil.h"

#define QUEUE_SOFT 4
#define QUEUE_HARD 16
#define SYNC_EVERY (16ull << 20)
#define MAX_PARTS  8

typedef struct job {
    uint8_t kind;     /* BK_KIND_* */
    uint8_t *p;       /* plaintext (owned; wiped when done) */
    size_t len;       /* its length */
    int part;         /* index into parts[] whose hash it feeds */
    struct job *next; /* queue link */
} job;

typedef struct {
    char name[BK_PART_NAME_MAX + 1]; /* "keyspace", "users.acl", ... */
    EVP_MD_CTX *sha;                 /* SHA-256 over its records as stored */
    unsigned long long bytes;        /* stored bytes */
} part_hash;

struct backup_writer {
    char *path, *tmp;      /* final and temporary file */
    int fd;                /* the temporary file */
    keyring *k;            /* the keyring (caller's) */
    uint8_t id[16];        /* backup id */
    long long created_ms;  /* the point */
    long long opened_mono; /* for took_ms */
    int passphrase;        /* a passphrase copy */
    char made_by[256];     /* for the manifest */
    EVP_CIPHER_CTX *ctx;   /* file key (I/O thread, then close) */
    EVP_MD_CTX *file_sha;  /* SHA-256 of everything written (NULL after the trailer's hash) */
    uint64_t seq;          /* records written */
    unsigned long long written, synced; /* bytes */
    part_hash parts[MAX_PARTS];         /* 0 keyring, 1 keyspace, then named parts */
    int nparts;                         /* count */
    buf chunk;                          /* DATA record being filled */
    backup_counts counts;               /* what went in */
    bk_counter counter;                 /* its state */
    pthread_t thread;                   /* I/O thread */
    int thread_started;                 /* it runs */
    pthread_mutex_t mu;                 /* guards the queue, stop and err */
    pthread_cond_t cv;                  /* queue changed */
    job *head, *tail;                   /* queue */
    int queued;                         /* its length */
    int stop;                           /* the I/O thread should end once the queue is empty */
    int failed;                         /* the I/O thread failed (err set) */
    char err[256];                      /* its reason */
};

static int write_all(backup_writer *w, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    if (w->file_sha) EVP_DigestUpdate(w->file_sha, p, n);
    while (n) {
        ssize_t r = write(w->fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "cannot write %s: %s", w->tmp, strerror(errno));
            return -1;
        }
        p += r;
        n -= (size_t)r;
        w->written += (size_t)r;
    }
    if (w->written - w->synced >= SYNC_EVERY) {
        if (fdatasync(w->fd) != 0) {
            snprintf(err, errlen, "cannot sync %s: %s", w->tmp, strerror(errno));
            return -1;
        }
        w->synced = w->written;
    }
    return 0;
}

/* Seal and write one record; its stored bytes feed parts[part]'s hash. */
static int write_record(backup_writer *w, uint8_t kind, const uint8_t *p, size_t n, int part,
                        char *err, size_t errlen)
{
    uint8_t *out = mem_alloc(5 + n + 16);
    bk_put32(out, (uint32_t)(n + 16));
    out[4] = kind;
    int rc = bk_record_crypt(w->ctx, 1, w->id, ++w->seq, kind, p, n, out + 5, out + 5 + n);
    if (rc != 0) {
        snprintf(err, errlen, "cannot seal a backup record");
    } else {
        if (part >= 0) {
            EVP_DigestUpdate(w->parts[part].sha, out, 5 + n + 16);
            w->parts[part].bytes += 5 + n + 16;
        }
        rc = write_all(w, out, 5 + n + 16, err, errlen);
    }
    mem_free(out); /* ciphertext: nothing to wipe */
    return rc;
}

static void *io_main(void *ud)
{
    backup_writer *w = ud;
    pthread_setname_np(pthread_self(), "phidb-backup");
    /* Lowest CPU priority for this thread only (Linux: a thread id is a PRIO_PROCESS id):
     * sealing, hashing and writing a backup must not take CPU from the clients. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head) break;
        job *j = w->head;
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        int failed = w->failed;
        pthread_mutex_unlock(&w->mu);
        char err[256];
        int rc = failed ? 0 : write_record(w, j->kind, j->p, j->len, j->part, err, sizeof err);
        OPENSSL_cleanse(j->p, j->len);
        mem_free(j->p);
        mem_free(j);
        pthread_mutex_lock(&w->mu);
        w->queued--;
        if (rc != 0 && !w->failed) {
            w->failed = 1;
            snprintf(w->err, sizeof w->err, "%s", err);
        }
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Hand a record to the I/O thread (takes p). Waits past QUEUE_HARD. */
static int enqueue(backup_writer *w, uint8_t kind, uint8_t *p, size_t len, int part, char *err,
                   size_t errlen)
{
    job *j = mem_alloc(sizeof *j);
    *j = (job){kind, p, len, part, NULL};
    pthread_mutex_lock(&w->mu);
    while (w->queued >= QUEUE_HARD && !w->failed)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    int failed = w->failed;
    if (failed) snprintf(err, errlen, "%s", w->err);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return failed ? -1 : 0;
}

static int flush_chunk(backup_writer *w, char *err, size_t errlen)
{
    if (w->chunk.len == 0) return 0;
    uint8_t *p = w->chunk.p;
    size_t n = w->chunk.len;
    w->chunk = (buf){0};
    return enqueue(w, BK_KIND_DATA, p, n, 1, err, errlen);
}

backup_writer *backup_writer_open(const char *path, keyring *k, const backup_opts *o, char *err,
                                  size_t errlen)
{
    if (o && o->passphrase && strlen(o->passphrase) < BACKUP_PASSPHRASE_MIN) {
        snprintf(err, errlen, "a backup passphrase needs at least %d characters",
                 BACKUP_PASSPHRASE_MIN);
        return NULL;
    }
    size_t pl = strlen(path);
    if (pl >= 4 && strcmp(path + pl - 4, ".tmp") == 0) {
        snprintf(err, errlen,
                 "a backup name may not end in .tmp (the writer's temporary files do, and "
                 "start-up removes unfinished ones)");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        snprintf(err, errlen, "%s already exists; a backup never overwrites a file", path);
        return NULL;
    }
    backup_writer *w = mem_calloc(sizeof *w);
    w->fd = -1;
    w->k = k;
    w->path = mem_strdup(path);
    size_t tl = strlen(path) + 8;
    w->tmp = mem_alloc(tl);
    snprintf(w->tmp, tl, "%s.tmp", path);
    w->created_ms = clock_ms();
    w->opened_mono = clock_mono_ms();
    w->passphrase = o && o->passphrase;
    snprintf(w->made_by, sizeof w->made_by, "%s", o && o->made_by ? o->made_by : "");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->file_sha = EVP_MD_CTX_new();
    int sha_ok = w->file_sha && EVP_DigestInit_ex(w->file_sha, EVP_sha256(), NULL) == 1;
    w->counter.c = &w->counts;
    snprintf(w->parts[0].name, sizeof w->parts[0].name, "keyring");
    snprintf(w->parts[1].name, sizeof w->parts[1].name, "keyspace");
    w->nparts = 2;
    for (int i = 0; i < MAX_PARTS; i++) {
        w->parts[i].sha = EVP_MD_CTX_new();
        sha_ok &= w->parts[i].sha && EVP_DigestInit_ex(w->parts[i].sha, EVP_sha256(), NULL) == 1;
    }

    uint8_t *filekey = keyring_secure_alloc(32);
    char *kr = NULL;
    size_t krlen = 0;
    if (!sha_ok) {
        snprintf(err, errlen, "cannot start SHA-256 (out of memory?)");
        goto fail;
    }
    if (!filekey) {
        snprintf(err, errlen, "cannot allocate locked memory for keys");
        goto fail;
    }
    /* The backup's id and its file key: nothing is written with a key the random generator
     * did not make (a failed RAND_bytes leaves the locked buffer zero). */
    if (RAND_bytes(w->id, sizeof w->id) != 1 || RAND_bytes(filekey, 32) != 1) {
        snprintf(err, errlen, "the random generator failed: no backup key was made");
        goto fail;
    }
    keyring_kek_source pp = {.passphrase = w->passphrase ? o->passphrase : NULL};
    if (w->passphrase && o->passphrase_kek && o->passphrase_salt)
        kr = keyring_export_kek(k, o->passphrase_kek, o->passphrase_salt, &krlen, err, errlen);
    else
        kr = keyring_export(k, w->passphrase ? &pp : NULL, &krlen, err, errlen);
    if (!kr) goto fail;
    if (krlen > BK_KEYRING_MAX) {
        snprintf(err, errlen, "the keyring is too large to back up");
        goto fail;
    }

    uint8_t hdr[BACKUP_HEADER_LEN] = {0};
    memcpy(hdr, BK_MAGIC, 8);
    bk_put32(hdr + 8, BACKUP_FORMAT);
    bk_put32(hdr + 12, w->passphrase ? BK_FLAG_PASSPHRASE : 0);
    memcpy(hdr + BK_OFF_ID, w->id, 16);
    bk_put64(hdr + BK_OFF_CREATED, (uint64_t)w->created_ms);
    uint32_t bver = keyring_current(k, KR_BACKUP);
    bk_put32(hdr + BK_OFF_KEYVER, bver);
    bk_put32(hdr + BK_OFF_SIGNVER, keyring_current(k, KR_SIGN));
    const uint8_t *bkey = keyring_key(k, KR_BACKUP, bver);
    if (!bkey || bk_wrap_key(1, bkey, hdr, filekey, hdr + BK_OFF_WRAP) != 0) {
        snprintf(err, errlen, "cannot wrap the backup's file key");
        goto fail;
    }
    w->ctx = bk_record_ctx(filekey);
    if (!w->ctx) {
        snprintf(err, errlen, "cannot set up the backup cipher");
        goto fail;
    }
    /* Truncated only once locked: the lock tells a writer still at work (another server
     * sharing backup-dir) from a file an interrupted backup left (backup_remove_stale). */
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    if (flock(w->fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "another backup is writing %s", w->path);
        close(w->fd);
        w->fd = -1;
        mem_free(w->tmp);
        w->tmp = NULL; /* not ours: abort must leave it */
        goto fail;
    }
    if (ftruncate(w->fd, 0) != 0) {
        snprintf(err, errlen, "cannot truncate %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    uint8_t len4[4];
    bk_put32(len4, (uint32_t)krlen);
    if (write_all(w, hdr, sizeof hdr, err, errlen) != 0 ||
        write_all(w, len4, 4, err, errlen) != 0 ||
        write_all(w, (const uint8_t *)kr, krlen, err, errlen) != 0)
        goto fail;
    EVP_DigestUpdate(w->parts[0].sha, len4, 4);
    EVP_DigestUpdate(w->parts[0].sha, kr, krlen);
    w->parts[0].bytes = 4 + krlen;
    if (pthread_create(&w->thread, NULL, io_main, w) != 0) {
        snprintf(err, errlen, "cannot start the backup writer thread");
        goto fail;
    }
    w->thread_started = 1;
    mem_free(kr);
    keyring_secure_free(filekey, 32);
    return w;
fail:
    mem_free(kr);
    keyring_secure_free(filekey, 32);
    backup_writer_abort(w);
    return NULL;
}

int backup_writer_frame(backup_writer *w, const uint8_t *ops, size_t len, char *err, size_t errlen)
{
    if (len == 0) return 0;
    if (len > BK_MAX_FRAME) {
        snprintf(err, errlen, "a key of %zu bytes is over the backup's frame limit", len);
        return -1;
    }
    if (bk_count_frame(&w->counter, ops, len, err, errlen) != 0) return -1;
    uint8_t l4[4];
    bk_put32(l4, (uint32_t)len);
    const uint8_t *src[2] = {l4, ops};
    size_t n[2] = {4, len};
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < n[i]) {
            if (w->chunk.cap == 0) buf_reserve(&w->chunk, BK_CHUNK);
            size_t room = BK_CHUNK - w->chunk.len;
            size_t take = n[i] - off < room ? n[i] - off : room;
            buf_append(&w->chunk, src[i] + off, take);
            off += take;
            if (w->chunk.len == BK_CHUNK && flush_chunk(w, err, errlen) != 0) return -1;
        }
    }
    return 0;
}

int backup_writer_busy(backup_writer *w)
{
    pthread_mutex_lock(&w->mu);
    int busy = w->queued >= QUEUE_SOFT;
    pthread_mutex_unlock(&w->mu);
    return busy;
}

int backup_writer_part(backup_writer *w, const char *name, const uint8_t *p, size_t len, char *err,
                       size_t errlen)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > BK_PART_NAME_MAX || w->nparts >= MAX_PARTS ||
        len > BACKUP_RECORD_MAX - 64) {
        snprintf(err, errlen, "cannot add part '%s' (bad name, too many parts or too large)", name);
        return -1;
    }
    for (int i = 0; i < w->nparts; i++)
        if (strcmp(w->parts[i].name, name) == 0) {
            snprintf(err, errlen, "part '%s' added twice", name);
            return -1;
        }
    int idx = w->nparts++;
    snprintf(w->parts[idx].name, sizeof w->parts[idx].name, "%s", name);
    uint8_t *rec = mem_alloc(2 + nl + len);
    rec[0] = (uint8_t)(nl >> 8);
    rec[1] = (uint8_t)nl;
    memcpy(rec + 2, name, nl);
    if (len) memcpy(rec + 2 + nl, p, len);
    w->counts.parts++;
    return enqueue(w, BK_KIND_PART, rec, 2 + nl + len, idx, err, errlen);
}

static void stop_thread(backup_writer *w)
{
    if (!w->thread_started) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->thread_started = 0;
}

static json_t *counts_json(const backup_counts *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "keys", json_integer((json_int_t)c->keys));
    json_object_set_new(o, "strings", json_integer((json_int_t)c->strings));
    json_object_set_new(o, "hashes", json_integer((json_int_t)c->hashes));
    json_object_set_new(o, "fields", json_integer((json_int_t)c->fields));
    json_object_set_new(o, "expires", json_integer((json_int_t)c->expires));
    json_object_set_new(o, "frames", json_integer((json_int_t)c->frames));
    json_object_set_new(o, "parts", json_integer((json_int_t)c->parts));
    return o;
}

int backup_writer_close(backup_writer *w, const char *audit_head, backup_report *r, char *err,
                        size_t errlen)
{
    int rc = -1;
    if (flush_chunk(w, err, errlen) != 0) goto out;
    stop_thread(w);
    if (w->failed) {
        snprintf(err, errlen, "%s", w->err);
        goto out;
    }
    /* The manifest: counts, every part's checksum, the audit head, the signing key. */
    uint8_t seed_pub[32], sig[64], hash[32];
    const uint8_t *seed = keyring_key(w->k, KR_SIGN, keyring_current(w->k, KR_SIGN));
    if (!seed) {
        snprintf(err, errlen, "the keyring has no signing key");
        goto out;
    }
    json_t *m = json_object();
    char hx[129];
    bk_hex(w->id, 16, hx);
    json_object_set_new(m, "format", json_integer(BACKUP_FORMAT));
    json_object_set_new(m, "id", json_string(hx));
    json_object_set_new(m, "created_ms", json_integer(w->created_ms));
    json_object_set_new(m, "made_by", json_string(w->made_by));
    json_object_set_new(m, "passphrase", json_boolean(w->passphrase));
    json_object_set_new(m, "counts", counts_json(&w->counts));
    json_t *parts = json_array();
    for (int i = 0; i < w->nparts; i++) {
        uint8_t d[32];
        if (EVP_DigestFinal_ex(w->parts[i].sha, d, NULL) != 1) {
            json_decref(parts);
            json_decref(m);
            snprintf(err, errlen, "SHA-256 of part '%s' failed", w->parts[i].name);
            goto out;
        }
        bk_hex(d, 32, hx);
        json_t *p = json_object();
        json_object_set_new(p, "name", json_string(w->parts[i].name));
        json_object_set_new(p, "sha256", json_string(hx));
        json_object_set_new(p, "bytes", json_integer((json_int_t)w->parts[i].bytes));
        json_array_append_new(parts, p);
    }
    json_object_set_new(m, "parts", parts);
    /* AUDIT HOOK: the audit chain head at the backup's point (null without an audit
     * module). */
    json_object_set_new(m, "audit_head", audit_head ? json_string(audit_head) : json_null());
    if (bk_sign_pub(seed, seed_pub) != 0) {
        json_decref(m);
        snprintf(err, errlen, "cannot derive the signing key");
        goto out;
    }
    bk_hex(seed_pub, 32, hx);
    json_object_set_new(m, "sign_pub", json_string(hx));
    char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    if (!text) {
        snprintf(err, errlen, "cannot encode the manifest");
        goto out;
    }
    int wr =
        write_record(w, BK_KIND_MANIFEST, (const uint8_t *)text, strlen(text), -1, err, errlen);
    free(text);
    if (wr != 0) goto out;
    /* The trailer: hash of everything before it, signed. */
    uint8_t tr[BACKUP_TRAILER_LEN] = {0};
    unsigned long long at = w->written;
    int fin = EVP_DigestFinal_ex(w->file_sha, hash, NULL);
    EVP_MD_CTX_free(w->file_sha);
    w->file_sha = NULL;
    if (fin != 1) {
        snprintf(err, errlen, "SHA-256 of the backup failed");
        goto out;
    }
    if (bk_sign(seed, hash, sig, NULL) != 0) {
        snprintf(err, errlen, "cannot sign the backup");
        goto out;
    }
    memcpy(tr, BK_SIG_MAGIC, 8);
    bk_put64(tr + 8, at);
    memcpy(tr + 16, hash, 32);
    memcpy(tr + 48, sig, 64);
    if (write_all(w, tr, sizeof tr, err, errlen) != 0) goto out;
    if (fsync(w->fd) != 0) {
        snprintf(err, errlen, "cannot sync %s: %s", w->tmp, strerror(errno));
        goto out;
    }
    /* Renamed while the lock is held (closing drops it): a start-up sharing backup-dir
     * never sees this finished PATH.tmp unlocked (backup_remove_stale). */
    if (rename(w->tmp, w->path) != 0) {
        snprintf(err, errlen, "cannot rename %s: %s", w->tmp, strerror(errno));
        goto out;
    }
    mem_free(w->tmp);
    w->tmp = NULL;               /* renamed: nothing to remove any more */
    (void)fsync_dir_of(w->path); /* the rename itself (best effort) */
    int cl = close(w->fd);
    w->fd = -1;
    if (cl != 0) {
        snprintf(err, errlen, "cannot close %s: %s", w->path, strerror(errno));
        goto out;
    }
    if (r) {
        memset(r, 0, sizeof *r);
        r->counts = w->counts;
        r->counts.bytes = w->written;
        bk_hex(w->id, 16, r->id);
        r->created_ms = w->created_ms;
        r->took_ms = clock_mono_ms() - w->opened_mono;
    }
    rc = 0;
out:
    if (rc != 0) {
        backup_writer_abort(w);
        return -1;
    }
    backup_writer_abort(w); /* frees; the file is renamed already, so nothing is removed */
    return 0;
}

void backup_writer_abort(backup_writer *w)
{
    if (!w) return;
    stop_thread(w);
    while (w->head) {
        job *j = w->head;
        w->head = j->next;
        OPENSSL_cleanse(j->p, j->len);
        mem_free(j->p);
        mem_free(j);
    }
    if (w->tmp && w->fd >= 0) unlink(w->tmp); /* before the close drops our lock on it */
    if (w->fd >= 0) close(w->fd);
    buf_wipe_free(&w->chunk);
    if (w->ctx) EVP_CIPHER_CTX_free(w->ctx);
    EVP_MD_CTX_free(w->file_sha);
    for (int i = 0; i < MAX_PARTS; i++)
        EVP_MD_CTX_free(w->parts[i].sha);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    mem_free(w->path);
    mem_free(w->tmp);
    mem_free(w);
}

int backup_remove_stale(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot read backup-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".tmp") != 0) continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st;
        uint8_t magic[8], tr[16];
        /* Only the writer's own unfinished files: its header's magic, no signed trailer at
         * the end (a finished backup someone named x.tmp stays), no writer holding the
         * lock. */
        int ours = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                   pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic &&
                   memcmp(magic, BK_MAGIC, sizeof magic) == 0;
        if (ours && st.st_size >= (off_t)BACKUP_TRAILER_LEN &&
            pread(fd, tr, sizeof tr, st.st_size - BACKUP_TRAILER_LEN) == (ssize_t)sizeof tr &&
            memcmp(tr, BK_SIG_MAGIC, 8) == 0 &&
            bk_get64(tr + 8) == (uint64_t)(st.st_size - BACKUP_TRAILER_LEN))
            ours = 0;
        if (ours && flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
        close(fd);
    }
    closedir(d);
    return removed;
}
