/*
 * server: wiring only. Reads the configuration, builds the modules, connects
 * them (keyspace changes -> WATCH, worker completions -> loop), listens, and
 * runs the loop until SIGTERM/SIGINT. Anything with behaviour of its own lives
 * in a module.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cmd/cmd.h"
#include "cmd/cmd_backup.h"
#include "cmd/persist.h"
#include "cmd/cmd_audit.h"
#include "cmd/cmd_policy.h"
#include "config.h"
#include "phi/phi.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "util/hash.h"
#include "store/backup.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"
#include "util/secmem.h"

#define PHIDB_VERSION "0.1.0"

extern const dict_type tx_watch_type;
extern const dict_type pubsub_channel_type;

const char *srv_version(void);
const char *srv_version(void)
{
    return PHIDB_VERSION;
}

static void acl_opts_from(const config *c, acl_opts *o)
{
    acl_opts_default(o);
    o->argon2_memory_kib = (uint32_t)c->argon2_memory_kib;
    o->argon2_time = (uint32_t)c->argon2_time;
    o->argon2_lanes = (uint32_t)c->argon2_lanes;
    o->max_failures = c->auth_max_failures;
    o->lockout_ms = (long long)c->auth_lockout_time * 1000;
    o->cache_ttl_ms = (long long)c->auth_cache_ttl * 1000;
    o->throttle_free = c->auth_throttle_free;
    o->throttle_max_ms = c->auth_throttle_max;
}

static tls_ctx *tls_from(const config *c, char *err, size_t errlen)
{
    tls_conf tc = {
        c->tls_cert_file, c->tls_key_file, c->tls_ca_cert_file, (enum tls_auth)c->tls_auth_clients,
        c->tls_protocols, c->tls_ciphers,  c->tls_ciphersuites};
    return tls_ctx_new(&tc, err, errlen);
}

/* Descriptors kept beside the clients' (logs, audit segments, listeners, workers, backups),
 * and the 64 past maxclients that are accepted only to be told the server is full. */
#define RESERVED_FDS 128

/* Raise the open-file limit to what maxclients needs, as far as the hard limit allows.
 * Returns the largest maxclients that fits. */
static int fit_open_files(int maxclients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return maxclients;
    rlim_t want = (rlim_t)maxclients + RESERVED_FDS;
    if (rl.rlim_cur < want) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
    }
    if (rl.rlim_cur >= want) return maxclients;
    return rl.rlim_cur > RESERVED_FDS + 1 ? (int)(rl.rlim_cur - RESERVED_FDS) : 1;
}

int srv_apply_config(srv *s, const config *next, const char *changed, char *err, size_t errlen);
int srv_apply_config(srv *s, const config *next, const char *changed, char *err, size_t errlen)
{
    /* Checks first: a refused CONFIG SET applies nothing. */
    if (strstr(changed, "backup-schedule ") && backup_schedule_next(next->backup_schedule, 0) < 0) {
        snprintf(err, errlen,
                 "backup-schedule '%.100s': use \"daily HH:MM\" (UTC), \"every N\" with h, m or s, "
                 "or \"\" (off)",
                 next->backup_schedule);
        return -1;
    }
    if (strstr(changed, "maxclients ") && fit_open_files(next->maxclients) < next->maxclients) {
        snprintf(err, errlen,
                 "the open-file limit (ulimit -n) allows at most %d clients; maxclients %d "
                 "needs %d descriptors",
                 fit_open_files(next->maxclients), next->maxclients,
                 next->maxclients + RESERVED_FDS);
        return -1;
    }
    if (strstr(changed, "backup-dir ") && (!next->backup_dir || !*next->backup_dir)) {
        snprintf(err, errlen, "backup-dir must name a directory");
        return -1;
    }
    if (strstr(changed, "backup-passphrase-file ") &&
        cmd_backup_passphrase_check(next->backup_passphrase_file, next->dir, err, errlen) != 0)
        return -1;
    if (strstr(changed, "tls-")) {
        tls_ctx *t = tls_from(next, err, errlen);
        if (!t) return -1;
        tls_ctx_free(s->tls);
        s->tls = t;
        log_notice("TLS configuration reloaded");
    }
    acl_opts o;
    acl_opts_from(next, &o);
    acl_set_opts(s->acl, &o);
    log_set_level((enum log_level)next->loglevel);
    if (s->log) aof_set_fsync(s->log, (enum aof_fsync)next->appendfsync);
    return 0;
}

/* Every keyspace change: WATCH and the policy's derived state (pseudonyms, blind index). */
static void on_key_changed(void *ud, const uint8_t *key, size_t klen)
{
    tx_key_changed(ud, key, klen);
    cmd_policy_key_changed(ud, key, klen);
}

static long long cron(ev_loop *l, long long id, void *ud)
{
    (void)l;
    (void)id;
    srv *s = ud;
    static unsigned long ticks;
    int hz = s->cfg->hz;
    db_set_now(s->db, clock_ms());
    db_expire_cycle(s->db, 250000 / hz); /* counted in the db (db_expired_count) */
    persist_commit(s, NULL); /* expiry deletions are journaled too */
    persist_cron(s);
    db_rehash(s->db, 1);
    cmd_policy_cron(s);
    cmd_backup_cron(s);
    if (++ticks % (unsigned long)hz == 0) {
        client_cron(s);
        srv_audit_cron(s);
        long long now = clock_mono_ms();
        if (s->st.ops_sample_ms) {
            long long dt = now - s->st.ops_sample_ms;
            if (dt > 0) s->st.ops_per_sec = (s->st.commands - s->st.ops_sample_cmds) * 1000 / dt;
        }
        s->st.ops_sample_ms = now;
        s->st.ops_sample_cmds = s->st.commands;
    }
    return 1000 / hz;
}

static void before_wait(ev_loop *l, void *ud)
{
    (void)l;
    srv *s = ud;
    s->real_minus_mono_us = clock_us() - clock_mono_us();
    persist_step(s, 1000); /* a slice of a running log compaction, if any */
    cmd_backup_step(s);    /* a slice of a running backup's snapshot, if any */
    client_before_wait(s);
}

static void on_listen(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)mask;
    client_accept(ud, fd);
}

static void on_workq(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    srv *s = ud;
    workq_drain(s->authq);
}

static void on_lazyfree(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    srv *s = ud;
    db_lazyfree_drain(s->db);
}

static void on_audit(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    srv_audit_notified(ud);
}

static void on_signal(ev_loop *l, int fd, void *ud, int mask)
{
    (void)mask;
    srv *s = ud;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_notice("received %s, shutting down",
                       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            s->shutdown = 1;
            ev_stop(l);
        } else if (si.ssi_signo == SIGHUP) {
            char err[512];
            tls_ctx *t = tls_from(s->cfg, err, sizeof err);
            if (t) {
                tls_ctx_free(s->tls);
                s->tls = t;
                log_notice("SIGHUP: TLS certificates reloaded");
            } else {
                log_warning("SIGHUP: TLS reload failed, keeping the old certificates: %s", err);
            }
            if (s->cfg->policy_file && *s->cfg->policy_file) {
                if (cmd_policy_reload_recorded(s, NULL, "SIGHUP", err, sizeof err) == 0)
                    log_notice("SIGHUP: policy reloaded");
                else
                    log_warning("SIGHUP: %s", err);
            }
        }
    }
}

/* OpenSSL's secure heap (util/secmem): the expanded AES keys of every data key version (two
 * contexts of about 1 KB each a version), the Ed25519 signing key and the HMAC keys. */
#define SECURE_HEAP_SIZE (1u << 20)

static void harden_process(void)
{
    /* No core dumps: memory holds keys and values in the clear while they are used. */
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(077);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit must turn log writes into errors (handled), not kill the server. */
    signal(SIGXFSZ, SIG_IGN);
}

static void usage(void)
{
    fprintf(stderr, "usage: phidb-server /path/to/phidb.conf [--directive value ...]\n"
                    "       phidb-server --version\n"
                    "Create a data directory with: phidb init DIR\n");
}

/* Hold an exclusive lock on the data directory for the life of the process: two servers
 * (or a server and an offline tool) must never write the same files. The lock file then
 * says "<pid>\nport <port>\n" (nothing secret): the pid for the message below, the port
 * for the tools that talk to the running server (phidb backup, phidb audit prune), which
 * may differ from phidb.conf's when the server was started with --port. */
static int lock_dir(const char *dir, int port, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/phidb.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %.512s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "?";
        ssize_t n = read(fd, pid, sizeof pid - 1);
        if (n > 0) pid[n] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "data directory %.512s is in use by another phidb process (pid %s)",
                 dir, pid);
        close(fd);
        return -1;
    }
    char text[64];
    int n = snprintf(text, sizeof text, "%d\nport %d\n", (int)getpid(), port);
    if (ftruncate(fd, 0) != 0 || write(fd, text, (size_t)n) != n) {
        /* The lock itself is what matters; the text is a hint (tools fall back to the
         * config's port). */
    }
    return fd; /* kept open: the lock lasts until exit */
}

/* The master key must live apart from the data: refuse a key file inside dir. */
static int check_key_outside_dir(const config *c, char *err, size_t errlen)
{
    if (c->master_key_passphrase || (c->master_key_command && *c->master_key_command)) return 0;
    char *key = realpath(c->master_key_file, NULL);
    char *dir = realpath(c->dir, NULL);
    int rc = 0;
    if (key && dir) {
        size_t dl = strlen(dir);
        if (strncmp(key, dir, dl) == 0 && (key[dl] == '/' || key[dl] == '\0')) {
            snprintf(err, errlen,
                     "the master key file %s is inside the data directory %s; keep it apart "
                     "from the data (and out of backups)",
                     key, dir);
            rc = -1;
        }
    }
    free(key);
    free(dir);
    return rc;
}

/* Read a passphrase from PHIDB_PASSPHRASE (then erase it from the environment) or from the
 * terminal without echo. Returns a locked buffer of PASS_MAX bytes, or NULL with err. */
#define PASS_MAX 1024
static char *read_passphrase(char *err, size_t errlen)
{
    char *out = keyring_secure_alloc(PASS_MAX);
    if (!out) {
        snprintf(err, errlen, "cannot allocate locked memory");
        return NULL;
    }
    char *env = getenv("PHIDB_PASSPHRASE");
    if (env && *env) {
        snprintf(out, PASS_MAX, "%s", env);
        explicit_bzero(env, strlen(env)); /* do not leave it in /proc/PID/environ */
        unsetenv("PHIDB_PASSPHRASE");
        return out;
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) {
        snprintf(err, errlen,
                 "master-key-passphrase is set but PHIDB_PASSPHRASE is empty and "
                 "there is no terminal to ask on");
        keyring_secure_free(out, PASS_MAX);
        return NULL;
    }
    struct termios old, noecho;
    tcgetattr(tty, &old);
    noecho = old;
    noecho.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(tty, TCSAFLUSH, &noecho);
    const char prompt[] = "phidb master key passphrase: ";
    ssize_t w = write(tty, prompt, sizeof prompt - 1);
    (void)w;
    ssize_t n = read(tty, out, PASS_MAX - 1);
    tcsetattr(tty, TCSAFLUSH, &old);
    w = write(tty, "\n", 1);
    close(tty);
    if (n <= 0) {
        snprintf(err, errlen, "no passphrase given");
        keyring_secure_free(out, PASS_MAX);
        return NULL;
    }
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return out;
}

/* Open (or, for a fresh data directory, create) DIR/keyring with the configured master key. */
static keyring *open_keyring(const config *c, char *err, size_t errlen)
{
    char path[4200], logpath[4200];
    snprintf(path, sizeof path, "%s/keyring", c->dir);
    snprintf(logpath, sizeof logpath, "%s/phidb.log", c->dir);
    char *pass = NULL;
    keyring_kek_source src = {c->master_key_file, NULL, NULL};
    if (c->master_key_command && *c->master_key_command) {
        src.key_file = NULL;
        src.command = c->master_key_command;
    } else if (c->master_key_passphrase) {
        pass = read_passphrase(err, errlen);
        if (!pass) return NULL;
        src.key_file = NULL;
        src.passphrase = pass;
    }
    /* A missing keyring next to existing data means the data could never be read: do not
     * quietly make a new one. */
    int create = access(path, F_OK) != 0 && access(logpath, F_OK) != 0;
    keyring *k = keyring_open(path, &src, create, err, errlen);
    if (pass) keyring_secure_free(pass, PASS_MAX);
    return k;
}

static int check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "data directory %s does not exist (create it with phidb init)", dir);
        return -1;
    }
    return 0;
}

/* A start-up step failed with err. When err is about the value of directive name (a path
 * or an address it quotes) and that was set in the config file or on the command line, the
 * message names its file and line, as for a directive that does not parse. The log gets the
 * message too when it is a file. */
static void startup_fail_at(const srv *s, const char *name, const char *what, const char *err)
{
    char where[4300] = "";
    if (name) config_origin(s->cfg, name, where, sizeof where);
    fprintf(stderr, "phidb-server: %s%s%s%s\n", where, *where ? ": " : "", what, err);
    if (s->cfg->logfile && *s->cfg->logfile && (!name || strcmp(name, "logfile") != 0))
        log_warning("%s%s%s%s", where, *where ? ": " : "", what, err);
}

/* The same, for the first of names (NULL-ended) whose value err quotes. */
static void startup_fail(const srv *s, const char *const *names, const char *what, const char *err)
{
    const char *name = NULL;
    buf v = {0};
    for (; *names && !name; names++) {
        int i = config_find(*names);
        if (i < 0) continue;
        v.len = 0;
        config_get(s->cfg, (size_t)i, &v);
        if (v.len && strstr(err, buf_cstr(&v))) name = *names;
    }
    buf_free(&v);
    startup_fail_at(s, name, what, err);
}

int server_main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
        printf("phidb-server %s\n", PHIDB_VERSION);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage();
        return 2;
    }
    harden_process();
    /* Before OpenSSL allocates anything: the expanded data keys go to its secure heap. */
    int secure = secmem_init(SECURE_HEAP_SIZE);
    secmem_warm_up();
    /* Block the signals handled through signalfd before any thread starts, so no worker
     * thread can receive (and die of) SIGTERM. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    uint8_t seed[16];
    unsigned int rs;
    if (RAND_bytes(seed, sizeof seed) != 1 || RAND_bytes((uint8_t *)&rs, sizeof rs) != 1) {
        fprintf(stderr, "phidb-server: the random generator failed (OpenSSL RAND_bytes)\n");
        return 1;
    }
    hash_set_key(seed);
    srandom(rs);

    char err[1024];
    int rc = 1;
    srv *s = mem_calloc(sizeof *s);
    s->cfg = config_new();
    if (config_load(s->cfg, argv[1], argc - 2, argv + 2, err, sizeof err) != 0) {
        fprintf(stderr, "phidb-server: %s\n", err);
        goto out_cfg;
    }
    log_set_level((enum log_level)s->cfg->loglevel);
    if (s->cfg->logfile && *s->cfg->logfile && log_set_file(s->cfg->logfile) != 0) {
        snprintf(err, sizeof err, "cannot open logfile %s: %s", s->cfg->logfile, strerror(errno));
        startup_fail(s, (const char *const[]){"logfile", NULL}, "", err);
        goto out_cfg;
    }
    if (check_dir(s->cfg->dir, err, sizeof err) != 0) {
        startup_fail(s, (const char *const[]){"dir", NULL}, "", err);
        goto out_cfg;
    }
    s->start_ms = clock_ms();
    s->real_minus_mono_us = clock_us() - clock_mono_us();
    uint8_t rid[20];
    RAND_bytes(rid, sizeof rid);
    for (int i = 0; i < 20; i++)
        snprintf(s->run_id + 2 * i, 3, "%02x", rid[i]);

    int lockfd = lock_dir(s->cfg->dir, s->cfg->port, err, sizeof err);
    if (lockfd < 0 || check_key_outside_dir(s->cfg, err, sizeof err) != 0) {
        startup_fail(s, (const char *const[]){"master-key-file", "dir", NULL}, "", err);
        goto out_cfg;
    }
    if (secure != 1)
        log_warning("key schedules are %s: %s",
                    secure == 2 ? "not locked in memory" : "in the ordinary heap",
                    secure == 2 ? "mlock was refused (raise RLIMIT_MEMLOCK, ulimit -l, to at least "
                                  "1024 KB); they are still kept out of core dumps"
                                : "OpenSSL's secure heap could not be made");
    s->keys = open_keyring(s->cfg, err, sizeof err);
    if (!s->keys) {
        startup_fail(s, (const char *const[]){"master-key-file", "master-key-command", NULL}, "",
                     err);
        goto out_cfg;
    }
    if (keyring_unlocked_allocs())
        log_warning("%llu pages of keys could not be locked in memory (mlock refused: raise "
                    "RLIMIT_MEMLOCK, ulimit -l); they are kept out of core dumps but may be "
                    "swapped",
                    keyring_unlocked_allocs());
    s->values = seal_new(s->keys, KR_VALUES);

    cmd_init(s);
    acl_opts ao;
    acl_opts_from(s->cfg, &ao);
    s->acl = acl_new(&ao, s->catalog, s->ncatalog);
    acl_set_sealer(s->acl, s->values);
    if (acl_load_file(s->acl, s->cfg->aclfile, err, sizeof err) != 0) {
        startup_fail(s, (const char *const[]){"aclfile", NULL}, "", err);
        goto out_acl;
    }
    cmd_values_nonces_commit(s, "the users file"); /* before anything is sealed */
    if (acl_user_count(s->acl) == 0) {
        fprintf(stderr, "phidb-server: the ACL file %s has no users; nobody could log in\n",
                s->cfg->aclfile);
        goto out_acl;
    }
    if (phi_detector_new(NULL, &s->phi) != 0 || phi_scratch_new(s->phi, &s->phi_scratch) != 0) {
        fprintf(stderr, "phidb-server: cannot build the PHI detector\n");
        goto out_acl;
    }
    s->db = db_new(s->values);
    dict_init(&s->watched, &tx_watch_type);
    dict_init(&s->channels, &pubsub_channel_type);
    dict_init(&s->patterns, &pubsub_channel_type);
    db_on_change(s->db, on_key_changed, s);
    if (persist_open(s, err, sizeof err) != 0) {
        fprintf(stderr, "phidb-server: %s\n", err);
        log_warning("%s", err);
        goto out_db;
    }
    if (cmd_policy_open(s, err, sizeof err) != 0) {
        startup_fail(s, (const char *const[]){"policy-file", NULL}, "policy: ", err);
        goto out_db;
    }
    if (srv_audit_open(s, err, sizeof err) != 0) {
        if (strncmp(err, "audit-required-sinks", 20) == 0)
            startup_fail_at(s, "audit-required-sinks", "audit trail: ", err);
        else
            startup_fail(s,
                         (const char *const[]){"audit-syslog-ca", "audit-syslog-cert",
                                               "audit-syslog-key", "audit-syslog-host", "audit-dir",
                                               NULL},
                         "audit trail: ", err);
        goto out_db;
    }
    cmd_acl_loaded(s); /* seals plaintext subjects: after the log set the nonce floor */
    cmd_breakglass_orphans(s, NULL); /* users removed from the ACL file while stopped */
    s->tls = tls_from(s->cfg, err, sizeof err);
    if (!s->tls) {
        startup_fail(
            s, (const char *const[]){"tls-cert-file", "tls-key-file", "tls-ca-cert-file", NULL},
            "TLS: ", err);
        goto out_db;
    }
    int fits = fit_open_files(s->cfg->maxclients);
    if (fits < s->cfg->maxclients) {
        log_warning("maxclients lowered from %d to %d: the open-file limit (ulimit -n) is too "
                    "low for %d clients and cannot be raised",
                    s->cfg->maxclients, fits, s->cfg->maxclients);
        s->cfg->maxclients = fits;
    }
    s->loop = ev_new(s->cfg->maxclients + 256);
    s->authq = workq_new(s->cfg->auth_threads, (size_t)s->cfg->auth_max_pending);
    if (!s->loop || !s->authq || db_lazyfree_start(s->db) != 0) {
        fprintf(stderr, "phidb-server: cannot start the event loop or worker threads\n");
        goto out_loop;
    }
    char *bind = mem_strdup(s->cfg->bind);
    for (char *save = NULL, *a = strtok_r(bind, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        if (s->nlfds == (int)(sizeof s->lfds / sizeof s->lfds[0])) break;
        int fd = conn_listen(a, s->cfg->port, s->cfg->tcp_backlog, err, sizeof err);
        if (fd < 0) {
            /* The address or the port: bind when it was set, else port. */
            char w[8];
            startup_fail_at(s, config_origin(s->cfg, "bind", w, sizeof w) ? "bind" : "port", "",
                            err);
            mem_free(bind);
            goto out_listen;
        }
        s->lfds[s->nlfds++] = fd;
        ev_watch(s->loop, fd, EV_READ, on_listen, s);
    }
    mem_free(bind);
    ev_watch(s->loop, workq_fd(s->authq), EV_READ, on_workq, s);
    ev_watch(s->loop, db_lazyfree_fd(s->db), EV_READ, on_lazyfree, s);
    if (s->audit) ev_watch(s->loop, audit_notify_fd(s->audit), EV_READ, on_audit, s);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    ev_watch(s->loop, sfd, EV_READ, on_signal, s);
    s->cron_timer = ev_timer_add(s->loop, 1000 / s->cfg->hz, cron, s);
    ev_before_wait(s->loop, before_wait, s);
    if (cmd_backup_init(s, err, sizeof err) != 0 || cmd_phi_init(s, err, sizeof err) != 0) {
        startup_fail(s, (const char *const[]){"backup-passphrase-file", "backup-dir", NULL}, "",
                     err);
        close(sfd);
        goto out_listen;
    }

    log_notice("phidb %s ready: TLS on port %d (%s), %zu users, pid %d", PHIDB_VERSION,
               s->cfg->port, s->cfg->bind, acl_user_count(s->acl), (int)getpid());
    ev_run(s->loop);

    /* Shutdown: close every client (replies already queued are flushed first). */
    for (client *c = s->clients; c; c = c->next)
        client_close_async(c);
    client_before_wait(s);
    close(sfd);
    log_notice("phidb stopped");
    rc = 0;
out_listen:
    for (int i = 0; i < s->nlfds; i++)
        close(s->lfds[i]);
out_loop:
    cmd_phi_close(s);
    cmd_backup_close(s);
    /* Logins and password changes still queued are not run (one Argon2id each: a stop
     * would otherwise wait for up to auth-max-pending of them). */
    workq_cancel(s->authq);
    workq_free(s->authq);
    if (s->st.auth_cancelled)
        log_notice("shutdown: %lld logins waiting for a password check were cancelled",
                   s->st.auth_cancelled);
    ev_free(s->loop);
    tls_ctx_free(s->tls);
out_db:
    srv_audit_close(s);
    cmd_policy_close(s);
    if (persist_close(s) != 0) rc = 1; /* writes lost: not a clean stop */
    db_free(s->db);
    dict_clear(&s->watched, NULL, NULL);
    dict_clear(&s->channels, NULL, NULL);
    dict_clear(&s->patterns, NULL, NULL);
out_acl:
    phi_scratch_free(s->phi_scratch);
    phi_detector_free(s->phi);
    acl_free(s->acl);
    cmd_shutdown(s);
out_cfg:
    seal_free(s->values);
    keyring_close(s->keys);
    config_free(s->cfg);
    mem_free(s->pending);
    mem_free(s);
    return rc;
}
