/*
 * drill: `phidb restore --drill PATH [--from SRC | --master-key-file F]
 * [--passphrase-file F] [--sample N] [--keep]`, a restore test that proves a backup can be
 * used, without touching any real instance.
 *
 *   1. restore into a fresh temporary directory under $TMPDIR, else /tmp (everything
 *      verified first), picking a sample of values from the backup as it goes (a
 *      reservoir over every string and hash field: a uniform sample whatever the size);
 *   2. add a temporary user (random password, `phidb-drill`) to the copy only, and start
 *      phidb-server on it on a free port;
 *   3. compare DBSIZE with the manifest's count (less the keys that expired since the
 *      backup's point) and every sampled value (GET / HGET over TLS) with the value opened
 *      from the backup;
 *   4. stop the server, remove the directory (kept with --keep or on failure for study is
 *      not done: a drill must not leave PHI lying around), and report the time taken.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "access/acl.h"
#include "access/policy.h"
#include "initdir.h"
#include "restore.h"
#include "store/db.h"
#include "store/seal.h"
#include "tools.h"
#include "tool_audit.h"
#include "toolutil.h"
#include "util/buf.h"
#include "util/strutil.h"

#define PROG "phidb restore --drill"

typedef struct {
    buf key, field, stored; /* the sampled value as the backup holds it (sealed) */
    int has_field;          /* a hash field (else a string) */
    long long expire;       /* the string's expiry (hash fields: DB_NO_EXPIRE) */
} sample;

typedef struct {
    sample *s;                  /* reservoir */
    size_t cap, n;              /* its size, how many are filled */
    unsigned long long seen;    /* values seen so far */
    unsigned long long expired; /* keys whose expiry is already past */
    long long now;              /* drill time (ms) */
    uint64_t rng;               /* xorshift state */
} picker;

static uint64_t next_rand(picker *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return p->rng;
}

static int pick_op(void *ud, const db_op_view *op)
{
    picker *p = ud;
    if ((op->op == 1 || op->op == 5) && op->expire != DB_NO_EXPIRE && op->expire <= p->now)
        p->expired++;
    if (op->op != 1 && op->op != 2) return 0;
    if (op->op == 1 && op->expire != DB_NO_EXPIRE && op->expire <= p->now + 60000) return 0;
    p->seen++;
    size_t slot;
    if (p->n < p->cap) {
        slot = p->n++;
    } else {
        uint64_t r = next_rand(p) % p->seen;
        if (r >= p->cap) return 0;
        slot = (size_t)r;
    }
    sample *s = &p->s[slot];
    s->key.len = s->field.len = s->stored.len = 0;
    buf_append(&s->key, op->key, op->klen);
    s->has_field = op->op == 2;
    if (s->has_field) buf_append(&s->field, op->field, op->flen);
    buf_append(&s->stored, op->stored, op->slen);
    s->expire = op->op == 1 ? op->expire : DB_NO_EXPIRE;
    return 0;
}

static int tap(void *ud, const uint8_t *f, size_t n, char *err, size_t errlen)
{
    return db_frame_foreach(f, n, pick_op, ud, err, errlen) == 0 ? 0 : -1;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static pid_t start_server(const char *dir)
{
    char self[PATH_MAX], server[PATH_MAX + 32], conf[PATH_MAX], logp[PATH_MAX];
    const char *env = getenv("PHIDB_SERVER");
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(server, sizeof server, "%s", env && *env ? env : "");
    if (!*server) snprintf(server, sizeof server, "%s/phidb-server", self);
    snprintf(conf, sizeof conf, "%s/phidb.conf", dir);
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    /* The drill reads every record as its own user: the restored policy is checked to load
     * (drill_cli_main) but not enforced on this throwaway server. */
    char *argv[] = {server, conf, "--policy-file", "", NULL};
    execv(server, argv);
    _exit(127);
}

/* A stop signal (Ctrl-C, SIGTERM, SIGHUP) during a drill: the copy in /tmp holds the
 * backup's data and a key that opens it, so the drill stops where it is and removes it
 * (the server it started is told to stop at once). */
static volatile sig_atomic_t drill_stop;
static volatile pid_t drill_server = -1;

static void on_stop(int sig)
{
    (void)sig;
    drill_stop = 1;
    if (drill_server > 0) kill(drill_server, SIGTERM);
}

static void catch_stops(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: waits end early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void stop_server(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 600; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static rclient *connect_drill(const char *dir, int port, const char *pw, pid_t pid, char *err,
                              size_t errlen)
{
    char ca[PATH_MAX];
    snprintf(ca, sizeof ca, "%s/tls/ca.crt", dir);
    long long until = clock_mono_ms() + 120000;
    while (clock_mono_ms() < until) {
        if (drill_stop) {
            snprintf(err, errlen, "interrupted");
            return NULL;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            snprintf(err, errlen, "the restored server exited while starting (see its log)");
            return NULL;
        }
        rclient *c = rclient_connect("127.0.0.1", port, ca, NULL, NULL, 60, err, errlen);
        if (c) {
            const char *auth[] = {"AUTH", "phidb-drill", pw};
            rreply *r = rclient_call(c, 3, auth, err, errlen);
            int ok = r && r->type != RR_ERROR;
            if (r && !ok) snprintf(err, errlen, "login refused: %s", r->str);
            rreply_free(r);
            if (ok) return c;
            rclient_close(c);
            return NULL;
        }
        usleep(50000);
    }
    char last[256];
    snprintf(last, sizeof last, "%s", err);
    snprintf(err, errlen, "the restored server was not ready within 120 s (%s)", last);
    return NULL;
}

/* Add the drill's temporary user to the copy's users file. */
static int add_drill_user(const char *dir, char *pw, size_t pwlen)
{
    initdir_random_password(pw, pwlen - 1 < 32 ? pwlen - 1 : 32);
    acl_opts o;
    acl_opts_default(&o);
    o.argon2_memory_kib = 8192; /* a throwaway password in a throwaway copy */
    o.argon2_time = 1;
    char hash[256], path[PATH_MAX];
    if (acl_hash_password(&o, (const uint8_t *)pw, strlen(pw), hash, sizeof hash) != 0) return -1;
    snprintf(path, sizeof path, "%s/data/users.acl", dir);
    FILE *f = fopen(path, "a");
    if (!f) return -1;
    fprintf(f, "user phidb-drill on #%s ~* &* +@all\n", hash);
    return fclose(f) == 0 ? 0 : -1;
}

int drill_cli_main(int argc, char **argv)
{
    const char *path = NULL, *from = NULL, *mkf = NULL, *ppf = NULL;
    long nsample = 100;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--drill") == 0)
            continue;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--master-key-file") == 0 && i + 1 < argc)
            mkf = argv[++i];
        else if (strcmp(argv[i], "--passphrase-file") == 0 && i + 1 < argc)
            ppf = argv[++i];
        else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc) {
            if (tool_parse_long(PROG, "--sample", argv[++i], 1, 100000, &nsample) != 0) return 2;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "usage: phidb restore --drill PATH [--from SRC | --master-key-file "
                            "F] [--passphrase-file F] [--sample N]\n");
            return 2;
        } else
            path = argv[i];
    }
    if (!path || nsample < 1 || nsample > 100000) {
        fprintf(stderr, "usage: phidb restore --drill PATH [--from SRC | --master-key-file F] "
                        "[--passphrase-file F] [--sample N (1..100000)]\n");
        return 2;
    }
    umask(077);
    /* Before the copy exists: a stop signal from here on is caught and the copy removed
     * (installed after mkdtemp, a signal in between killed the tool and left the directory). */
    catch_stops();
    backup_keys k;
    config *c = NULL;
    char pp[1024], mkabs[PATH_MAX] = "", err[1024] = "";
    if (restore_keys_from_args(PROG, from, mkf, ppf, &k, &c, pp, sizeof pp) != 0) return 1;
    if (k.kek.key_file && !realpath(k.kek.key_file, mkabs)) {
        fprintf(stderr, PROG ": master key file %s: %s\n", k.kek.key_file, strerror(errno));
        config_free(c);
        return 1;
    }
    /* The copy goes under $TMPDIR (an absolute path), else /tmp. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/') tmp = "/tmp";
    char root[256], dir[300], pw[40];
    if (strlen(tmp) > 200) {
        fprintf(stderr, PROG ": TMPDIR is longer than 200 bytes\n");
        config_free(c);
        return 1;
    }
    snprintf(root, sizeof root, "%s/phidb-drill-XXXXXX", tmp);
    if (!mkdtemp(root)) {
        fprintf(stderr, PROG ": cannot make a temporary directory in %s: %s\n", tmp,
                strerror(errno));
        config_free(c);
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/instance", root);
    long long t0 = clock_mono_ms();
    picker pk = {calloc((size_t)nsample, sizeof(sample)), (size_t)nsample, 0, 0, 0, clock_ms(),
                 0x9e3779b97f4a7c15ULL ^ (uint64_t)t0};
    int port = free_port(), rc = 1, mismatches = 0, checked = 0, policy_ok = 0;
    pid_t pid = -1;
    rclient *rc_cli = NULL;
    keyring *kr = NULL;
    sealer *vs = NULL;
    long long t_restore = 0, t_ready = 0, t_cmp = 0, dbsize = -1;
    backup_info info;
    if (drill_stop || restore_instance(PROG, path, &k, mkabs, dir, port, tap, &pk, &info) != 0 ||
        drill_stop)
        goto out;
    t_restore = clock_mono_ms() - t0;
    if (add_drill_user(dir, pw, sizeof pw) != 0) {
        snprintf(err, sizeof err, "cannot add the drill's user to the copy");
        goto out;
    }
    /* The restored keyring opens the sampled values (old key versions are kept). */
    char krp[PATH_MAX], newkey[PATH_MAX];
    snprintf(krp, sizeof krp, "%s/data/keyring", dir);
    snprintf(newkey, sizeof newkey, "%s/master.key", dir);
    keyring_kek_source src = info.passphrase ? (keyring_kek_source){newkey, NULL, NULL} : k.kek;
    kr = keyring_open(krp, &src, 0, err, sizeof err);
    if (!kr) goto out;
    vs = seal_new(kr, KR_VALUES);
    char polpath[PATH_MAX];
    snprintf(polpath, sizeof polpath, "%s/policy.conf", dir);
    if (access(polpath, F_OK) == 0) {
        policy *pol = NULL;
        if (policy_load_file(polpath, &pol, err, sizeof err) != 0) goto out;
        policy_unref(pol);
        policy_ok = 1;
    }
    long long ts = clock_mono_ms();
    pid = start_server(dir);
    drill_server = pid;
    if (drill_stop && pid > 0) kill(pid, SIGTERM); /* a signal just before drill_server */
    rc_cli = pid > 0 ? connect_drill(dir, port, pw, pid, err, sizeof err) : NULL;
    if (!rc_cli) goto out;
    t_ready = clock_mono_ms() - ts;
    long long tc = clock_mono_ms();
    const char *dbs[] = {"DBSIZE"};
    rreply *r = rclient_call(rc_cli, 1, dbs, err, sizeof err);
    if (!r || r->type != RR_INT) {
        if (r) snprintf(err, sizeof err, "DBSIZE failed: %s", r->str ? r->str : "?");
        rreply_free(r);
        goto out;
    }
    dbsize = r->i;
    rreply_free(r);
    unsigned long long want = info.manifest.keys;
    if ((unsigned long long)dbsize > want || (unsigned long long)dbsize + pk.expired < want) {
        snprintf(err, sizeof err,
                 "the restored server holds %lld keys, the manifest says %llu (%llu expired "
                 "since)",
                 dbsize, want, pk.expired);
        goto out;
    }
    for (size_t i = 0; i < pk.n; i++) {
        sample *s = &pk.s[i];
        size_t plen = s->stored.len - SEAL_OVERHEAD;
        uint8_t *plain = keyring_secure_alloc(plen + 1);
        if (!plain || db_open_stored(vs, s->key.p, s->key.len, s->has_field ? s->field.p : NULL,
                                     s->field.len, s->stored.p, s->stored.len, plain) != 0) {
            keyring_secure_free(plain, plen + 1);
            snprintf(err, sizeof err, "a sampled value does not open from the backup");
            goto out;
        }
        const char *av[3] = {s->has_field ? "HGET" : "GET", (const char *)s->key.p,
                             (const char *)s->field.p};
        size_t lv[3] = {s->has_field ? 4 : 3, s->key.len, s->field.len};
        r = rclient_callv(rc_cli, s->has_field ? 3 : 2, av, lv, err, sizeof err);
        if (!r) { /* the connection is lost (or the drill was stopped): no use going on */
            keyring_secure_free(plain, plen + 1);
            goto out;
        }
        int same = r && r->type == RR_BULK && r->len == plen && memcmp(r->str, plain, plen) == 0;
        if (r && r->str) OPENSSL_cleanse(r->str, r->len);
        rreply_free(r);
        keyring_secure_free(plain, plen + 1);
        checked++;
        if (!same) mismatches++;
    }
    t_cmp = clock_mono_ms() - tc;
    if (mismatches) {
        snprintf(err, sizeof err, "%d of %d sampled values differ from the backup", mismatches,
                 checked);
        goto out;
    }
    rc = 0;
out:
    rclient_close(rc_cli);
    stop_server(pid);
    if (rc != 0 && pid > 0) {
        char logp[PATH_MAX], line[512];
        snprintf(logp, sizeof logp, "%s/server.log", dir);
        FILE *f = fopen(logp, "r");
        if (f) {
            fprintf(stderr, "--- restored server's log ---\n");
            while (fgets(line, sizeof line, f))
                fputs(line, stderr);
            fclose(f);
        }
    }
    seal_free(vs);
    if (kr) keyring_close(kr);
    nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS); /* a drill leaves no copy of the data */
    for (size_t i = 0; i < pk.cap; i++) {
        buf_wipe_free(&pk.s[i].key);
        buf_wipe_free(&pk.s[i].field);
        buf_wipe_free(&pk.s[i].stored);
    }
    free(pk.s);
    OPENSSL_cleanse(pp, sizeof pp);
    OPENSSL_cleanse(pw, sizeof pw);
    long long total = clock_mono_ms() - t0;
    tool_audit_for(c ? c->path : NULL);
    backup_audit("drill", path, "phidb restore --drill", rc == 0, rc ? err : NULL);
    config_free(c);
    if (drill_stop) {
        fprintf(stderr, "DRILL INTERRUPTED: the temporary copy was removed\n");
        return 130;
    }
    if (rc != 0) {
        if (*err) fprintf(stderr, "DRILL FAILED: %s\n", err);
        return 1;
    }
    printf("OK: drill passed in %lld ms: restore %lld ms, server ready %lld ms, compare %lld "
           "ms\n  keys: %lld served, %llu in the manifest (%llu expired since the backup)\n"
           "  sample: %d values identical (GET/HGET against the backup)\n"
           "  policy: %s\n  the temporary copy was removed\n",
           total, t_restore, t_ready, t_cmp, dbsize, info.manifest.keys, pk.expired, checked,
           policy_ok ? "restored and loads" : "none in the backup");
    return 0;
}
