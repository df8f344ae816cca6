/*
 * cmd_backup: PHI.BACKUP, PHI.BACKUP STATUS, and scheduled backups with retention.
 *
 *   PHI.BACKUP [PATH] [PASSPHRASE pp] | STATUS | HELP
 *
 * What a user of a serious database expects: the command answers when the backup is done
 * and known good (like Redis's SAVE, not BGSAVE), with its path and counts, so a script
 * can rely on "OK means restorable". The client that asked waits (blocked like a client
 * waiting for a password check); nobody else does: the snapshot runs on the event loop in
 * slices (at most about a sixteenth of its time while clients are served, full speed when
 * none are), the file is sealed and written by the writer's own thread (at nice 19), and closing
 * and verifying run on a worker thread. PHI.BACKUP STATUS shows the running backup and the last
 * result for monitoring; a client that disconnects does not stop the backup.
 *
 * Consistency: db_snapshot_begin fixes the point; keys changed afterwards are captured
 * before they change. The users file and the policy file are read at that same moment.
 * Key rotation is refused while a backup runs, and retiring old keys after a rotation
 * waits until it has finished (a backup must never hold values sealed with a key that is
 * erased before it is closed).
 *
 * Secrets: the PASSPHRASE argument is copied into locked memory, wiped after use, and
 * never logged (the ACL log records command names only; the server log names the path and
 * the user).
 */
#include "cmd_backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <jansson.h>

#include "audit/audit.h"
#include "cmd/cmd_audit.h"
#include "store/backup.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

#define DUTY     16   /* the snapshot takes at most about 1/DUTY of the loop's time */
#define SLICE_US 1000 /* one slice */
#define PP_MAX   1024 /* longest passphrase */

enum { BK_IDLE, BK_SNAPSHOT, BK_CLOSING, BK_DERIVING };

typedef struct bk_job {
    srv *s;                 /* server */
    backup_writer *w;       /* writer (the worker owns it while closing) */
    char path[PATH_MAX];    /* the backup */
    char *pp;               /* passphrase (locked memory) or NULL */
    int verify;             /* verify after closing */
    int scheduled;          /* started by backup-schedule */
    client *c;              /* the client waiting (NULL: schedule, or it went away) */
    int failed;             /* the snapshot's frames were refused */
    char err[512];          /* why */
    backup_report rep;      /* what close reported */
    backup_info info;       /* what verify found */
    int verified;           /* verify ran and passed */
    long long started_ms;   /* wall clock */
    long long started_mono; /* for durations */
    keyring_kek_source kek; /* master key source for verify (strings owned by cfg) */
    keyring *live;          /* or the server's keyring (a passphrase master key) */
    char audit_head[96];    /* "<seq>:<sha256 hex>" of the audit chain at the point ("": none) */
    char who[256];          /* made_by for the manifest */
    uint8_t *kek_pp;        /* the passphrase's stretched key (locked memory) or NULL */
    uint8_t salt[16];       /* its salt */
} bk_job;

struct cmd_backup {
    workq *q;             /* close and verify */
    int state;            /* BK_* */
    bk_job *job;          /* the running backup */
    long long next_slice; /* duty cycle */
    long long last_cmds;  /* commands served at the last slice (idle detection) */
    long long next_due;   /* next scheduled backup (ms, 0: none) */
    char sched_seen[64];  /* backup-schedule the next_due was computed for */
    int closing;          /* cmd_backup_close runs */
    int retire_deferred;  /* a key retirement waits for the backup to end */
    /* last result (STATUS) */
    char last_path[PATH_MAX];
    char last_err[512];
    int last_ok;
    long long last_ms, last_took, last_keys;
    char newest_verified[PATH_MAX]; /* never removed by retention */
};

static void bk_hex32(const uint8_t *p, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[64] = '\0';
}

static void job_free(bk_job *j)
{
    if (!j) return;
    if (j->pp) keyring_secure_free(j->pp, PP_MAX);
    if (j->kek_pp) keyring_secure_free(j->kek_pp, KEYRING_KEY_LEN);
    mem_free(j);
}

/* ---- schedule ---- */

/* The passphrase in file path (the end of line cut) into pp (NUL-terminated). It must be
 * readable by its owner only, outside the data directory datadir (an off-site copy that
 * the data directory's own files open protects nothing), and at least
 * BACKUP_PASSPHRASE_MIN characters long. Returns its length, or -1 with err. */
static long read_passphrase(const char *path, const char *datadir, char *pp, size_t cap, char *err,
                            size_t errlen)
{
    char real[PATH_MAX], rdir[PATH_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "backup-passphrase-file %s: %s", path,
                 fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        close(fd);
        snprintf(err, errlen, "backup-passphrase-file %s is readable by others (chmod 600)", path);
        return -1;
    }
    size_t dl = realpath(datadir, rdir) ? strlen(rdir) : 0;
    if (realpath(path, real) && dl && strncmp(real, rdir, dl) == 0 && real[dl] == '/') {
        close(fd);
        snprintf(err, errlen, "backup-passphrase-file %s is inside the data directory", path);
        return -1;
    }
    ssize_t n = read(fd, pp, cap - 1);
    int e = errno;
    close(fd);
    while (n > 0 && (pp[n - 1] == '\n' || pp[n - 1] == '\r'))
        n--;
    if (n < BACKUP_PASSPHRASE_MIN) {
        OPENSSL_cleanse(pp, cap);
        if (n < 0)
            snprintf(err, errlen, "backup-passphrase-file %s: %s", path, strerror(e));
        else
            snprintf(err, errlen, "backup-passphrase-file %s: shorter than %d characters", path,
                     BACKUP_PASSPHRASE_MIN);
        return -1;
    }
    pp[n] = '\0';
    return (long)n;
}

int cmd_backup_passphrase_check(const char *path, const char *datadir, char *err, size_t errlen)
{
    if (!path || !*path) return 0;
    char pp[PP_MAX];
    long n = read_passphrase(path, datadir, pp, sizeof pp, err, errlen);
    OPENSSL_cleanse(pp, sizeof pp);
    return n < 0 ? -1 : 0;
}

/* ---- retention ---- */

typedef struct {
    char name[256];
    long long mtime;
} bk_file;

static int by_name_desc(const void *a, const void *b)
{
    return strcmp(((const bk_file *)b)->name, ((const bk_file *)a)->name);
}

static void retention(srv *s)
{
    cmd_backup *b = s->backup;
    const char *dir = s->cfg->backup_dir;
    DIR *d = opendir(dir);
    if (!d) return;
    bk_file *f = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "phidb-", 6) != 0 || l < 11 || l >= sizeof f->name ||
            strcmp(e->d_name + l - 5, ".phib") != 0)
            continue;
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            f = mem_realloc(f, cap * sizeof *f);
        }
        snprintf(f[n].name, sizeof f[n].name, "%s", e->d_name);
        f[n++].mtime = (long long)st.st_mtime * 1000;
    }
    closedir(d);
    qsort(f, n, sizeof *f, by_name_desc); /* names hold the UTC time: newest first */
    long long now = clock_ms();
    int keep = s->cfg->backup_keep_count, days = s->cfg->backup_keep_days;
    for (size_t i = 1; i < n; i++) { /* the newest is always kept */
        int old = (keep > 0 && i >= (size_t)keep) ||
                  (days > 0 && now - f[i].mtime > (long long)days * 86400000LL);
        if (!old) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, f[i].name);
        if (strcmp(p, b->newest_verified) == 0) continue;
        if (unlink(p) == 0) log_notice("backup retention: removed %s", p);
    }
    mem_free(f);
}

/* ---- the job ---- */

static void emit(void *ud, const uint8_t *ops, size_t len)
{
    bk_job *j = ud;
    if (!j->failed && backup_writer_frame(j->w, ops, len, j->err, sizeof j->err) != 0)
        j->failed = 1;
}

static int add_file(bk_job *j, const char *name, const char *path)
{
    if (!path || !*path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    buf b = {0};
    uint8_t tmp[65536];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        buf_append(&b, tmp, (size_t)n);
    close(fd);
    int rc = backup_writer_part(j->w, name, b.p, b.len, j->err, sizeof j->err);
    buf_wipe_free(&b);
    return rc;
}

/* The users in the users file's format (what ACL SAVE would write now, subjects sealed), so
 * that a restore puts no subject on disk in plaintext. */
static int add_users(bk_job *j, acl *a)
{
    buf b = {0};
    if (acl_file_text(a, &b, j->err, sizeof j->err) != 0) {
        buf_wipe_free(&b);
        return -1;
    }
    int rc = backup_writer_part(j->w, "users.acl", b.p, b.len, j->err, sizeof j->err);
    buf_wipe_free(&b);
    return rc;
}

/* Worker thread: close (manifest, signature, fsync, rename), then verify. */
static void close_work(void *ud)
{
    bk_job *j = ud;
    backup_writer *w = j->w;
    j->w = NULL;
    /* This worker only runs backups: lowest CPU priority, so the clients keep theirs. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    /* The audit chain head at the backup's point (none without an audit trail). */
    if (backup_writer_close(w, *j->audit_head ? j->audit_head : NULL, &j->rep, j->err,
                            sizeof j->err) != 0) {
        j->failed = 1;
        return;
    }
    if (!j->verify) return;
    backup_keys k = {j->kek, j->pp, j->live};
    if (j->pp) memset(&k.kek, 0, sizeof k.kek);
    if (backup_verify(j->path, &k, &j->info, j->err, sizeof j->err) != 0) {
        j->failed = 1;
        return;
    }
    j->verified = 1;
}

static void reply_result(bk_job *j)
{
    client *c = j->c;
    if (!c) return;
    if (c->conn) {
        if (j->failed) {
            rep_errf(c, "ERR backup failed: %s", j->err);
        } else {
            rep_map(c, 11);
            rep_cstr(c, "path");
            rep_cstr(c, j->path);
            rep_cstr(c, "id");
            rep_cstr(c, j->rep.id);
            rep_cstr(c, "keys");
            rep_int(c, (long long)j->rep.counts.keys);
            rep_cstr(c, "strings");
            rep_int(c, (long long)j->rep.counts.strings);
            rep_cstr(c, "hashes");
            rep_int(c, (long long)j->rep.counts.hashes);
            rep_cstr(c, "fields");
            rep_int(c, (long long)j->rep.counts.fields);
            rep_cstr(c, "expires");
            rep_int(c, (long long)j->rep.counts.expires);
            rep_cstr(c, "bytes");
            rep_int(c, (long long)j->rep.counts.bytes);
            rep_cstr(c, "passphrase");
            rep_int(c, j->pp != NULL);
            rep_cstr(c, "verified");
            rep_int(c, j->verified);
            rep_cstr(c, "ms");
            rep_int(c, clock_mono_ms() - j->started_mono);
        }
    }
    client_unblock(c);
}

static void finish(srv *s, bk_job *j)
{
    cmd_backup *b = s->backup;
    long long took = clock_mono_ms() - j->started_mono;
    const char *who =
        j->scheduled ? "backup-schedule" : (j->c && j->c->username ? j->c->username : "?");
    if (j->failed) {
        log_warning("backup %s failed after %lld ms: %s", j->path, took, j->err);
    } else {
        log_notice("backup %s done in %lld ms: %llu keys, %llu bytes%s", j->path, took,
                   j->rep.counts.keys, j->rep.counts.bytes, j->verified ? ", verified" : "");
    }
    backup_audit("backup", j->path, who, !j->failed, j->failed ? j->err : NULL);
    /* The audit record: path, id, counts; never a passphrase. */
    json_t *d = json_object();
    json_object_set_new(d, "path", json_string(j->path));
    json_object_set_new(d, "id", json_string(j->rep.id));
    json_object_set_new(d, "keys", json_integer((json_int_t)j->rep.counts.keys));
    json_object_set_new(d, "bytes", json_integer((json_int_t)j->rep.counts.bytes));
    json_object_set_new(d, "passphrase", json_boolean(j->pp != NULL));
    json_object_set_new(d, "verified", json_boolean(j->verified));
    json_object_set_new(d, "scheduled", json_boolean(j->scheduled));
    char *detail = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    cmd_audit_event(s, j->c, AUDIT_EV_BACKUP, j->failed ? AUDIT_FAILED : AUDIT_GRANTED,
                    j->scheduled ? "backup-schedule" : NULL, "backup", j->failed ? j->err : NULL,
                    detail);
    free(detail);
    snprintf(b->last_path, sizeof b->last_path, "%s", j->path);
    snprintf(b->last_err, sizeof b->last_err, "%s", j->failed ? j->err : "");
    b->last_ok = !j->failed;
    b->last_ms = clock_ms();
    b->last_took = took;
    b->last_keys = (long long)j->rep.counts.keys;
    if (!j->failed && j->verified)
        snprintf(b->newest_verified, sizeof b->newest_verified, "%s", j->path);
    reply_result(j);
    int scheduled_ok = j->scheduled && !j->failed;
    b->job = NULL;
    b->state = BK_IDLE;
    job_free(j);
    if (b->retire_deferred) { /* a compaction now retires what the backup kept alive */
        b->retire_deferred = 0;
        s->rw_requested = 1;
    }
    if (scheduled_ok) retention(s);
}

static void close_done(void *ud)
{
    bk_job *j = ud;
    finish(j->s, j);
}

/* Wakes the loop every millisecond while a snapshot runs (work is done before each wait). */
static long long tick(ev_loop *l, long long id, void *ud)
{
    (void)l;
    (void)id;
    srv *s = ud;
    return s->backup && s->backup->state == BK_SNAPSHOT ? 1 : -1;
}

/* The snapshot's point: open the writer, begin the snapshot, add the users and the policy.
 * Returns 0, or -1 with j->err (nothing is left running). */
static int begin(srv *s, bk_job *j)
{
    cmd_backup *b = s->backup;
    backup_opts o = {.passphrase = j->pp, .made_by = j->who};
    if (j->pp) {
        o.passphrase_kek = j->kek_pp;
        o.passphrase_salt = j->salt;
    }
    j->w = backup_writer_open(j->path, s->keys, &o, j->err, sizeof j->err);
    if (!j->w) return -1;
    db_set_now(s->db, clock_ms());
    if (db_snapshot_begin(s->db, emit, j) != 0) {
        snprintf(j->err, sizeof j->err, "a snapshot is already being taken");
        backup_writer_abort(j->w);
        j->w = NULL;
        return -1;
    }
    if (s->audit) {
        uint64_t seq;
        uint8_t h[32];
        char hx[65];
        audit_head(s->audit, &seq, h);
        bk_hex32(h, hx);
        snprintf(j->audit_head, sizeof j->audit_head, "%llu:%s", (unsigned long long)seq, hx);
    }
    /* The users (as the server holds them, ACL SETUSER changes not yet saved included), the
     * policy and the TOTP replay floor, at the snapshot's point. */
    if (add_users(j, s->acl) != 0 || add_file(j, "policy", s->cfg->policy_file) != 0 ||
        add_file(j, "totp.floor", s->totp_floor_path) != 0) {
        if (!*j->err) snprintf(j->err, sizeof j->err, "cannot read the users or policy file");
        db_snapshot_abort(s->db);
        backup_writer_abort(j->w);
        j->w = NULL;
        return -1;
    }
    b->state = BK_SNAPSHOT;
    b->next_slice = 0;
    log_notice("backup %s started (%s, %zu keys)", j->path, j->who, db_size(s->db));
    if (s->loop) ev_timer_add(s->loop, 1, tick, s);
    return 0;
}

/* Worker thread: stretch the passphrase (Argon2id, about 0.2 s: never on the event loop). */
static void derive_work(void *ud)
{
    bk_job *j = ud;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    if (keyring_passphrase_kek(j->pp, j->salt, j->kek_pp, j->err, sizeof j->err) != 0)
        j->failed = 1;
}

static void derive_done(void *ud)
{
    bk_job *j = ud;
    if (!j->failed && j->s->backup->closing) {
        j->failed = 1;
        snprintf(j->err, sizeof j->err, "the server is shutting down");
    }
    if (j->failed || begin(j->s, j) != 0) {
        j->failed = 1;
        finish(j->s, j);
    }
}

/* Start a backup into path (checked). c (may be NULL) waits for the result. Returns 0 (the
 * result comes later), or -1 with err when nothing was started. */
static int start(srv *s, const char *path, const char *pp, size_t pplen, client *c, int scheduled,
                 char *err, size_t errlen)
{
    cmd_backup *b = s->backup;
    if (b->state != BK_IDLE) {
        snprintf(err, errlen, "a backup is already in progress (PHI.BACKUP STATUS)");
        return -1;
    }
    bk_job *j = mem_calloc(sizeof *j);
    j->s = s;
    snprintf(j->path, sizeof j->path, "%s", path);
    j->verify = s->cfg->backup_verify;
    j->scheduled = scheduled;
    j->started_ms = clock_ms();
    j->started_mono = clock_mono_ms();
    if (s->cfg->master_key_command && *s->cfg->master_key_command)
        j->kek.command = s->cfg->master_key_command;
    else if (!s->cfg->master_key_passphrase)
        j->kek.key_file = s->cfg->master_key_file;
    else if (!pp)
        j->live = s->keys; /* no master key to re-open with (a passphrase the server does not
                              keep): verify with the keys themselves */
    if (pp) {
        j->pp = keyring_secure_alloc(PP_MAX);
        j->kek_pp = keyring_secure_alloc(KEYRING_KEY_LEN);
        if (!j->pp || !j->kek_pp || pplen >= PP_MAX) {
            snprintf(err, errlen, "cannot hold the passphrase");
            job_free(j);
            return -1;
        }
        memcpy(j->pp, pp, pplen);
        j->pp[pplen] = '\0';
    }
    snprintf(j->who, sizeof j->who, "PHI.BACKUP by %s from %s",
             scheduled          ? "backup-schedule"
             : c && c->username ? c->username
                                : "?",
             scheduled ? "the server"
             : c       ? c->addr
                       : "?");
    if (pp) {
        /* The snapshot begins once the passphrase is stretched, on the worker. */
        if (workq_submit(b->q, derive_work, derive_done, j) != 0) {
            snprintf(err, errlen, "the backup worker is busy");
            job_free(j);
            return -1;
        }
        b->state = BK_DERIVING;
    } else if (begin(s, j) != 0) {
        snprintf(err, errlen, "%s", j->err);
        job_free(j);
        return -1;
    }
    b->job = j;
    j->c = c;
    if (c) client_block(c);
    return 0;
}

void cmd_backup_step(srv *s)
{
    cmd_backup *b = s->backup;
    if (!b || b->state != BK_SNAPSHOT) return;
    bk_job *j = b->job;
    long long now = clock_mono_us();
    if (now < b->next_slice || backup_writer_busy(j->w)) return;
    int more = db_snapshot_step(s->db, SLICE_US);
    long long took = clock_mono_us() - now;
    /* Clients served since the last slice: leave them DUTY - 1 times the slice's time. An
     * idle server lets the snapshot run at full speed. */
    int busy = s->st.commands != b->last_cmds;
    b->last_cmds = s->st.commands;
    b->next_slice = busy ? clock_mono_us() + took * (DUTY - 1) : 0;
    if (j->failed) {
        db_snapshot_abort(s->db);
        backup_writer_abort(j->w);
        j->w = NULL;
        finish(s, j);
        return;
    }
    if (more) return;
    b->state = BK_CLOSING;
    if (workq_submit(b->q, close_work, close_done, j) != 0) {
        backup_writer_abort(j->w);
        j->w = NULL;
        j->failed = 1;
        snprintf(j->err, sizeof j->err, "the backup worker is busy");
        finish(s, j);
    }
}

/* ---- paths ---- */

/* Resolve a PHI.BACKUP path inside backup-dir (or the default name). Returns 0 or -1. */
static int resolve_path(srv *s, const arg *a, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *dir = s->cfg->backup_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create backup-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        snprintf(err, errlen, "backup-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!a) {
        char name[BACKUP_NAME_LEN];
        backup_default_name(clock_ms(), name, sizeof name);
        snprintf(out, outlen, "%s/%s", real, name);
        return 0;
    }
    if (a->len == 0 || a->len > 255 || memchr(a->p, '\0', a->len)) {
        snprintf(err, errlen, "bad backup path");
        return -1;
    }
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%.*s", (int)a->len, (const char *)a->p);
    const char *name = p;
    if (p[0] == '/') {
        char *slash = strrchr(p, '/');
        *slash = '\0';
        char parent[PATH_MAX];
        if (!realpath(*p ? p : "/", parent) || strcmp(parent, real) != 0) {
            snprintf(err, errlen, "the backup path must be inside backup-dir (%.300s)", real);
            return -1;
        }
        name = slash + 1;
    }
    if (strcasecmp(name, "HELP") == 0 || strcasecmp(name, "STATUS") == 0) {
        snprintf(err, errlen, "'%s' is a subcommand, not a backup name", name);
        return -1;
    }
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(err, errlen, "the backup path must be a file name inside backup-dir (%.300s)",
                 real);
        return -1;
    }
    if (strlen(real) + 1 + strlen(name) >= outlen) {
        snprintf(err, errlen, "backup path too long");
        return -1;
    }
    snprintf(out, outlen, "%.3800s/%.255s", real, name);
    return 0;
}

/* ---- commands ---- */

static void status_reply(client *c)
{
    cmd_backup *b = c->s->backup;
    static const char *const states[] = {"idle", "snapshot", "closing", "passphrase"};
    rep_map(c, 8);
    rep_cstr(c, "state");
    rep_cstr(c, states[b->state]);
    rep_cstr(c, "path");
    rep_cstr(c, b->job ? b->job->path : "");
    rep_cstr(c, "running_ms");
    rep_int(c, b->job ? clock_mono_ms() - b->job->started_mono : 0);
    rep_cstr(c, "last_path");
    rep_cstr(c, b->last_path);
    rep_cstr(c, "last_status");
    rep_cstr(c, !b->last_ms ? "none" : b->last_ok ? "ok" : "err");
    rep_cstr(c, "last_error");
    rep_cstr(c, b->last_err);
    rep_cstr(c, "last_keys");
    rep_int(c, b->last_keys);
    rep_cstr(c, "last_ms");
    rep_int(c, b->last_took);
}

static void help_reply(client *c)
{
    static const char *const lines[] = {
        "PHI.BACKUP [<path>] [PASSPHRASE <passphrase>]",
        "    Write an encrypted, signed backup into backup-dir and verify it; reply when it",
        "    is known good. <path>: a file name inside backup-dir (default",
        "    phidb-YYYYMMDDTHHMMSSmmmZ.phib). PASSPHRASE: an off-site copy that the",
        "    passphrase opens instead of the master key.",
        "STATUS",
        "    The running backup and the last result.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}

static int has_control(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f) return 1;
    return 0;
}

void phi_backup_cmd(client *c)
{
    srv *s = c->s;
    if (c->argc == 2 && arg_is(c, 1, "status")) {
        status_reply(c);
        return;
    }
    if (c->argc == 2 && arg_is(c, 1, "help")) { /* as every PHI.* command: never a file name */
        help_reply(c);
        return;
    }
    const arg *path = NULL, *pp = NULL;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "passphrase") && i + 1 < c->argc && !pp) {
            pp = &c->argv[++i];
        } else if (!path && i == 1) {
            path = &c->argv[i];
        } else {
            rep_syntax(c);
            return;
        }
    }
    if (pp &&
        (pp->len < BACKUP_PASSPHRASE_MIN || pp->len >= PP_MAX || has_control(pp->p, pp->len))) {
        /* Control characters are refused: `--passphrase-file` reads a line (its newline is
         * not part of it), so a passphrase ending in one could never be given back. */
        rep_errf(c,
                 "ERR a backup passphrase needs %d to %d characters, none of them control "
                 "characters",
                 BACKUP_PASSPHRASE_MIN, PP_MAX - 1);
        return;
    }
    char full[PATH_MAX], err[512];
    if (resolve_path(s, path, full, sizeof full, err, sizeof err) != 0 ||
        start(s, full, pp ? (const char *)pp->p : NULL, pp ? pp->len : 0, c, 0, err, sizeof err) !=
            0) {
        rep_errf(c, "ERR %s", err);
        return;
    }
}

/* ---- lifecycle and hooks ---- */

static void on_workq(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    srv *s = ud;
    workq_drain(s->backup->q);
}

int cmd_backup_init(srv *s, char *err, size_t errlen)
{
    if (backup_schedule_next(s->cfg->backup_schedule, 0) < 0) {
        snprintf(err, errlen,
                 "backup-schedule '%s': use \"daily HH:MM\" (UTC) or \"every N\" with h, m or s",
                 s->cfg->backup_schedule);
        return -1;
    }
    if (cmd_backup_passphrase_check(s->cfg->backup_passphrase_file, s->cfg->dir, err, errlen) != 0)
        return -1;
    /* A server killed mid-backup leaves PATH.tmp behind; nothing else would remove it. */
    char why[512];
    int stale = s->cfg->backup_dir ? backup_remove_stale(s->cfg->backup_dir, why, sizeof why) : 0;
    if (stale < 0)
        log_warning("%s", why);
    else if (stale > 0)
        log_notice("backup-dir: removed %d unfinished backup file%s (.tmp) left by an "
                   "interrupted backup",
                   stale, stale == 1 ? "" : "s");
    cmd_backup *b = mem_calloc(sizeof *b);
    b->q = workq_new(1, 4);
    if (!b->q) {
        mem_free(b);
        snprintf(err, errlen, "cannot start the backup worker");
        return -1;
    }
    s->backup = b;
    if (s->loop) ev_watch(s->loop, workq_fd(b->q), EV_READ, on_workq, s);
    return 0;
}

void cmd_backup_close(srv *s)
{
    cmd_backup *b = s->backup;
    if (!b) return;
    if (b->state == BK_SNAPSHOT) {
        db_snapshot_abort(s->db);
        backup_writer_abort(b->job->w);
        b->job->w = NULL;
        b->job->failed = 1;
        snprintf(b->job->err, sizeof b->job->err, "the server is shutting down");
        finish(s, b->job);
    }
    b->closing = 1;   /* a passphrase being stretched does not start a snapshot now */
    workq_free(b->q); /* waits for a close/verify in progress; its completion runs */
    mem_free(b);
    s->backup = NULL;
}

int cmd_backup_submit(srv *s, void (*work)(void *), void (*done)(void *), void *ud)
{
    return s->backup ? workq_submit(s->backup->q, work, done, ud) : -1;
}

int cmd_backup_running(const srv *s)
{
    return s->backup && s->backup->state != BK_IDLE;
}

void cmd_backup_defer_retire(srv *s)
{
    if (s->backup) s->backup->retire_deferred = 1;
}

void cmd_backup_cron(srv *s)
{
    cmd_backup *b = s->backup;
    if (!b) return;
    const char *spec = s->cfg->backup_schedule ? s->cfg->backup_schedule : "";
    long long now = clock_ms();
    if (strcmp(spec, b->sched_seen) != 0) { /* new or changed (CONFIG SET) */
        snprintf(b->sched_seen, sizeof b->sched_seen, "%s", spec);
        b->next_due = backup_schedule_next(spec, now);
        if (b->next_due < 0) {
            log_warning("backup-schedule '%s' is not understood: no scheduled backups", spec);
            b->next_due = 0;
        }
    }
    if (!b->next_due || now < b->next_due) return;
    if (b->state != BK_IDLE) return; /* try again on the next tick */
    b->next_due = backup_schedule_next(spec, now);
    char path[PATH_MAX], err[512], pp[PP_MAX];
    const char *ppf = s->cfg->backup_passphrase_file;
    size_t pplen = 0;
    if (ppf && *ppf) {
        long n = read_passphrase(ppf, s->cfg->dir, pp, sizeof pp, err, sizeof err);
        if (n < 0) {
            log_warning("scheduled backup skipped: %s", err);
            OPENSSL_cleanse(pp, sizeof pp);
            return;
        }
        pplen = (size_t)n;
    }
    if (resolve_path(s, NULL, path, sizeof path, err, sizeof err) != 0 ||
        start(s, path, pplen ? pp : NULL, pplen, NULL, 1, err, sizeof err) != 0)
        log_warning("scheduled backup not started: %s", err);
    OPENSSL_cleanse(pp, sizeof pp);
}
