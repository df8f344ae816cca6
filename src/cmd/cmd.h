/*
 * cmd: the command table and dispatch, the one place where access is decided.
 *
 * Every command is a row of data (name, handler, arity, flags, ACL categories,
 * key positions and the access each key needs). Dispatch runs, for every
 * command and before any handler: lookup, arity, authentication, the
 * operator's dangerous-command switch, ACL command and key permissions, and
 * the memory limit; inside MULTI the same checks run when a command is queued
 * and again when EXEC runs it. A handler never decides access itself, so a new
 * command cannot forget to.
 *
 * The server context (struct srv) holds the modules a handler may use; it is
 * passed through the client, never reached through a global.
 */
#ifndef CMD_H
#define CMD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "access/acl.h"
#include "access/policy.h"
#include "access/policy_grant.h"
#include "access/policy_index.h"
#include "config.h"
#include "net/conn.h"
#include "net/ev.h"
#include "net/resp.h"
#include "store/aof.h"
#include "store/db.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "util/buf.h"
#include "util/dict.h"
#include "util/workq.h"

typedef struct client client;
typedef struct srv srv;
typedef struct cmd_backup cmd_backup;

/* One argument: bytes and length (not NUL-terminated). */
typedef struct {
    const uint8_t *p;
    size_t len;
} arg;

typedef void cmd_proc(client *c);

/* Command flags (as COMMAND INFO shows them). */
#define CMD_WRITE    (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM  (1u << 2)
#define CMD_ADMIN    (1u << 3)
#define CMD_NOAUTH   (1u << 4)  /* allowed before authentication */
#define CMD_FAST     (1u << 5)
#define CMD_NOMULTI  (1u << 6)  /* refused inside MULTI */
#define CMD_LOADING  (1u << 7)
#define CMD_STALE    (1u << 8)
#define CMD_NOSCRIPT (1u << 9)
#define CMD_PUBSUB   (1u << 10)
#define CMD_DANGER   (1u << 11) /* needs allow-dangerous-commands and a by-name grant */
#define CMD_MULTICTL (1u << 12) /* runs immediately inside MULTI (EXEC, DISCARD, ...) */
#define CMD_ALLOW_BUSY (1u << 13) /* shown by COMMAND INFO, as in Redis */
#define CMD_SKIP_SLOWLOG (1u << 14) /* shown by COMMAND INFO, as in Redis */

typedef struct cmd_def {
    const char *name;         /* lowercase name ("get"; subcommands: "get" under "config") */
    cmd_proc *proc;           /* handler; NULL for a container of subcommands */
    int arity;                /* exact argc if > 0, minimum argc if < 0 (name included) */
    uint32_t flags;           /* CMD_* */
    uint64_t categories;      /* ACL_CAT bits */
    int first_key;            /* argv index of the first key, 0 when none */
    int last_key;             /* last key (negative: from the end) */
    int key_step;             /* distance between keys */
    int first_access;         /* ACL_KEY_* the first key needs */
    int other_access;         /* ACL_KEY_* the other keys need */
    const struct cmd_def *subs; /* subcommands (container commands) */
    int nsubs;                /* their count */
    const char *summary;      /* COMMAND DOCS */
    const char *since;        /* Redis version that introduced it */
    const char *group;        /* COMMAND DOCS group */
    int id;                   /* catalog id (set at start-up) */
} cmd_def;

/* Client flags. */
#define CL_AUTHED       (1u << 0)
#define CL_MULTI        (1u << 1)
#define CL_DIRTY_CAS    (1u << 2)  /* a WATCHed key changed */
#define CL_DIRTY_EXEC   (1u << 3)  /* a command failed to queue */
#define CL_CLOSE_AFTER  (1u << 4)  /* close once the reply is written */
#define CL_CLOSE_ASAP   (1u << 5)  /* close now (in the before-wait hook) */
#define CL_BLOCKED      (1u << 6)  /* waiting for a worker (AUTH, ACL SETUSER) */
#define CL_PENDING_W    (1u << 7)  /* in the pending-write list */
#define CL_HANDSHAKE    (1u << 8)  /* TLS handshake not finished */
#define CL_REJECT       (1u << 9)  /* over maxclients: tell it and close */
#define CL_IN_PROCESS   (1u << 10) /* inside client_process_input (no re-entry) */
#define CL_WRITE_WANTS_R (1u << 11) /* TLS write needs the socket readable */
#define CL_READ_WANTS_W  (1u << 12) /* TLS read needs the socket writable */
#define CL_WAIT_LOG      (1u << 13) /* replies wait until its writes are in the log */
#define CL_MFA_PENDING   (1u << 14) /* password accepted, TOTP code (PHI.MFA) still missing */
#define CL_IN_EXEC       (1u << 15) /* running the commands of EXEC (none may block) */
#define CL_NO_EVICT      (1u << 16) /* CLIENT NO-EVICT ON (shown as flag e; nothing evicts) */

/* What the policy decided for the command being run (cmd_policy.c), for its handler and
 * its audit record. */
typedef struct {
    int active;                    /* a record schema governs the command's key */
    int keyenum;                   /* SCAN/KEYS/RANDOMKEY under a policy: filter the keys */
    int deid;                      /* the de-identified view applies */
    int emergency;                 /* read through a break-glass grant */
    char grant_id[24];             /* that grant */
    const policy_role *role;       /* the session's role (NULL: none) */
    const policy_schema *schema;   /* schema of the (first) record key */
    policy_filter flt;             /* which fields an enumeration shows */
    arg *saved;                    /* original arguments replaced by pseudonym translation */
    int *saved_idx;                /* their positions */
    int nsaved;                    /* how many */
    int denied;                    /* the policy result of a refusal (0: allowed) */
    char denied_why[96];           /* its audit reason when it names more (group "x") */
    size_t deid_text;              /* free text redacted for this command's reply so far */
    /* The subject of one record, once opened during this command (by the policy, or by a
     * reply that showed the subject field), so its audit record does not open it again:
     * key bytes then subject bytes. Wiped when the command ends (cmd_policy_done). */
    uint8_t memo[256];
    uint16_t memo_klen, memo_slen;
    int memo_have;
} cmd_pview;

typedef struct {
    arg *argv;     /* owned copies of the arguments */
    int argc;      /* count */
    const cmd_def *cmd; /* resolved command */
} queued_cmd;

struct client {
    uint64_t id;              /* CLIENT ID */
    srv *s;                   /* server context */
    conn *conn;               /* transport, owned */
    int fd;                   /* socket (for events) */
    char addr[64];            /* peer "ip:port" */
    char laddr[64];           /* local "ip:port" */
    char *name;               /* CLIENT SETNAME, owned (NULL: none) */
    uint32_t flags;           /* CL_* */
    int proto;                /* 2 or 3 */
    acl_user *user;           /* authenticated user (NULL before AUTH) */
    char *username;           /* its name, owned (kept to re-resolve after ACL changes) */
    uint64_t acl_gen;         /* acl_generation when user was resolved */
    buf qb;                   /* query buffer */
    resp_parser parser;       /* request parser over qb */
    arg *argv;                /* current command's arguments */
    int argc;                 /* their count */
    int argv_cap;             /* allocated */
    const cmd_def *cmd;       /* command being executed */
    const cmd_def *lastcmd;   /* last command executed (CLIENT LIST) */
    buf out;                  /* replies not yet written */
    size_t sent;              /* bytes of out already written */
    long long obuf_soft_since; /* ms when out passed the soft limit (0: below) */
    queued_cmd *mq;           /* MULTI queue */
    int mq_len, mq_cap;       /* its size */
    arg *watched;             /* WATCHed keys (owned copies) */
    int nwatched;             /* count */
    arg *subs;                /* subscribed channels (owned copies) */
    int nsubs;                /* count */
    arg *psubs;               /* subscribed channel patterns (owned copies) */
    int npsubs;               /* count */
    int pending_jobs;         /* worker jobs holding this client */
    int blocked_cmd;          /* catalog id of the command that blocked it (-1: none) */
    unsigned long long blocked_nerr; /* its nerr then: an error reply after it failed */
    int dlp_ready;            /* the running command's dlp scan was done (on the worker) */
    uint32_t dlp_keys, dlp_values; /* ... and found these types in key names, values */
    int dlp_failed;                /* ... or could not run (a phi_status) */
    size_t exec_scanned;           /* text the running EXEC's commands scanned for PHI (bytes) */
    int purpose;              /* purpose of use (enum policy_purpose) */
    cmd_pview pv;             /* the policy's decision for the running command */
    const uint8_t *shown[32]; /* fields an enumeration showed under the policy (audit) */
    size_t shownlen[32];      /* their lengths */
    int nshown;               /* how many (at most 32 are named) */
    uint64_t audit_seq;       /* its last audit record (replies wait for it: fsync always) */
    int audit_scope;          /* the running command is audited */
    int audit_done;           /* ... and its record was accepted before it ran */
    int audit_evented;        /* the running command appended an event record (a change) */
    const char *bye;          /* why the session ends ("quit", "idle-timeout"; NULL: closed) */
    long long ctime;          /* connected at (ms) */
    long long last_ms;        /* last interaction (ms, monotonic) */
    long long reply_timer;    /* timer delaying a throttled login reply (0: none) */
    void (*reply_timer_cancel)(client *c, void *ud); /* frees its job if the client goes */
    void *reply_timer_ud;                            /* ... that job */
    unsigned long long nerr;  /* error replies sent to it (commandstats: failed, rejected) */
    client *prev, *next;      /* all clients */
    client *close_next;       /* close list link */
};

typedef struct {
    long long conns_received;   /* total_connections_received */
    long long conns_rejected;   /* rejected_connections */
    long long commands;         /* total_commands_processed */
    long long net_in, net_out;  /* bytes */
    long long hits, misses;     /* keyspace lookups */
    long long auth_ok, auth_fail, auth_cached; /* logins */
    long long auth_cancelled;                  /* logins not checked: the server stopped */
    long long lockouts;         /* accounts locked */
    long long tls_failures;     /* failed handshakes (incl. plaintext) */
    long long dlp_findings;     /* writes in which dlp found PHI */
    long long ops_sample_cmds;  /* commands at the last sample */
    long long ops_sample_ms;    /* time of the last sample */
    long long ops_per_sec;      /* instantaneous_ops_per_sec */
    long long error_replies;    /* total_error_replies */
} srv_stats;

/* Latency histogram buckets: 1, 2, 4 ... 2^30 microseconds (cmd_latency.c). */
#define LATENCY_BUCKETS 31

/* INFO commandstats: per command (catalog id). */
typedef struct {
    unsigned long long calls;    /* times it ran */
    unsigned long long usec;     /* time it took in all */
    unsigned long long rejected; /* refused before it ran (arity, ACL, policy, limits) */
    unsigned long long failed;   /* ran and replied with an error */
    unsigned long long hist[LATENCY_BUCKETS]; /* LATENCY HISTOGRAM: runs by duration */
} cmd_stat;

/* INFO errorstats: error replies by their code (the first word: ERR, WRONGTYPE, NOPERM).
 * As in Redis, at most ERRSTAT_MAX codes are kept apart. */
#define ERRSTAT_MAX 128
typedef struct {
    char code[32];
    unsigned long long count;
} err_stat;

struct srv {
    config *cfg;              /* configuration (CONFIG SET changes it) */
    keyring *keys;            /* master and data keys */
    sealer *values;           /* seals stored values */
    struct audit *audit;      /* audit trail (src/audit) */
    struct alert_engine *alerts; /* alert rules */
    int audit_was_healthy;    /* health last seen (alerts on change) */
    long long sink_down_ms;   /* since when the syslog sink is not connected (0: it is) */
    policy *pol;              /* access policy (NULL: none, the ACL alone decides) */
    policy_grants *grants;    /* break-glass grants */
    char *grant_path;         /* their sealed file */
    char *totp_floor_path;    /* the TOTP replay floor (policy_totp_floor_load) */
    long long totp_floor;     /* steps up to it were used before this start */
    long long totp_floor_saved; /* the highest step accepted, as in the file */
    policy_index *pix;        /* blind indexes */
    uint8_t *pkey;            /* pseudonym key (locked memory, 32 bytes) */
    dict pseudo;              /* pseudonym -> key, for de-identified roles */
    int pseudo_on;            /* the policy has a de-identified role: keep pseudo */
    struct phi_detector *phi; /* PHI detector (shared, immutable) */
    struct phi_scratch *phi_scratch; /* its working memory for the event loop */
    struct phi_scratch *phi_wscratch; /* the PHI worker's (phiq has one thread) */
    workq *phiq;              /* the PHI worker: PHI.SCAN and PHI.REDACT of large texts */
    struct phi_scratch *dlp_wscratch; /* the dlp worker's (dlpq has one thread) */
    workq *dlpq;              /* the dlp worker: large writes' checks, never behind a scan */
    atomic_int phi_cancel;    /* set at shutdown: the worker's scans stop (PHI_ECANCELED) */
    size_t phi_cancelled;     /* ... and how many did (for the shutdown's log line) */
    sealer *logseal;          /* seals durable log records */
    aof *log;                 /* the durable log */
    buf frame;                /* journal frame of the command running now */
    buf backlog;              /* frames not yet accepted by the log (u32 length + frame) */
    int frame_hold;           /* > 0 inside EXEC: the transaction commits as one frame */
    uint64_t rw_cursor;       /* compaction scan cursor */
    buf rw_snap;              /* compaction: snapshot bytes of one slice (kept between slices) */
    unsigned long long rw_snap_bytes, rw_mirror_bytes; /* compaction: written by each side */
    uint8_t *rw_big;          /* compaction: name of the large hash being read in parts */
    size_t rw_big_len;        /* its length */
    uint64_t rw_big_cursor;   /* where its next part starts */
    buf rw_big_wait;          /* more large hashes met meanwhile, first part read: u32
                                 name length, name, u64 cursor each */
    long long rw_started_ms;  /* when the running compaction started (0: none) */
    long long rw_last_ms;     /* when the last compaction finished */
    int rw_last_ok;           /* it succeeded */
    long long rw_last_took_ms; /* how long it took (-1: none yet) */
    unsigned long long rw_count; /* compactions that succeeded */
    int rw_requested;         /* start one as soon as the running one ends */
    int reseal_active;        /* re-sealing values after a rotation */
    uint64_t reseal_cursor;   /* its scan cursor */
    long long retire_values_after; /* retire old values keys after a compaction started later */
    long long retire_log_after;    /* same for old log keys */
    unsigned long long load_records, load_bytes, load_torn; /* what start-up loaded */
    long long load_ms;        /* how long it took */
    cmd_backup *backup;       /* PHI.BACKUP and scheduled backups (cmd_backup.c) */
    db *db;                   /* keyspace */
    acl *acl;                 /* users */
    acl_cmd *catalog;         /* ACL catalog built from the command table */
    size_t ncatalog;          /* its size */
    cmd_stat *cmdstats;       /* INFO commandstats, by catalog id */
    long long real_minus_mono_us;   /* wall clock minus monotonic clock, taken once a loop
                                       iteration: a command's time from one clock reading */
    struct slowlog *slowlog;  /* SLOWLOG entries (cmd_slowlog.c; NULL until the first) */
    struct latency *latency;  /* LATENCY monitor events (cmd_latency.c; NULL until one) */
    err_stat errstats[ERRSTAT_MAX]; /* INFO errorstats */
    int nerrstats;                  /* codes in use */
    ev_loop *loop;            /* event loop */
    workq *authq;             /* password hashing workers */
    tls_ctx *tls;             /* TLS context for new connections */
    int lfds[16];             /* listening sockets */
    int nlfds;                /* count */
    client *clients;          /* all clients, oldest first (CLIENT LIST order) */
    client *clients_tail;     /* newest client */
    size_t nclients;          /* count */
    uint64_t next_id;         /* client id generator */
    client **pending;         /* clients with replies to write */
    size_t npending, cap_pending; /* its size */
    client *close_list;       /* clients to free in the before-wait hook */
    dict watched;             /* key -> clients WATCHing it */
    dict channels;            /* pub/sub channel -> subscribed clients */
    dict patterns;            /* pub/sub channel pattern -> subscribed clients */
    srv_stats st;             /* INFO stats */
    long long start_ms;       /* start time */
    long long cron_timer;     /* server cron timer id */
    volatile int shutdown;    /* set by signals */
    char run_id[41];          /* random id for INFO */
};

/* ---- table and dispatch (cmd.c) ---- */
/* Build the lookup table and the ACL catalog (s->catalog). Call once at start-up. */
void cmd_init(srv *s);
/* Free what cmd_init built. */
void cmd_shutdown(srv *s);
/* Look up a command by name (case-insensitive); NULL if unknown. */
const cmd_def *cmd_lookup(const uint8_t *name, size_t n);
/* All top-level commands (for COMMAND). */
const cmd_def *cmd_table(size_t *n);
/* Run the command in c->argv/argc through every check, then its handler. */
void cmd_dispatch(client *c);
/* Full name for messages: "get" or "config|get" into out. */
void cmd_fullname(const cmd_def *d, const cmd_def *parent, char *out, size_t outlen);
/* The same from the catalog, owned by it: "get", "config|set" (audit records: a CONFIG SET is
 * not a SET). */
const char *cmd_catalog_name(const srv *s, const cmd_def *d);
/* Resolve a command and its subcommand for c->argv; returns the executable def or NULL. */
const cmd_def *cmd_resolve(const arg *argv, int argc, const cmd_def **parent);
/* ACL_KEY_* access the command in argv needs for its key argv[i] (SET ... GET also reads). */
int cmd_key_access(const cmd_def *d, const arg *argv, int argc, int i);
/* Execute an already checked command (EXEC uses it). Re-checks access; replies on failure. */
void cmd_call(client *c, const cmd_def *d);
/* ACL decision without side effects: 0 allowed, 1 command denied, 2 key argv[*keyidx] denied. */
int cmd_access_denied(const acl_user *u, const cmd_def *d, const arg *argv, int argc,
                      int *keyidx);
/* Check ACL for the command in c->argv: 0 allowed, else replies NOPERM and returns -1. */
int cmd_check_access(client *c, const cmd_def *d, const char *context);

/* ---- clients (client.c) ---- */
/* Accept pending connections on a listening socket. */
void client_accept(srv *s, int lfd);
/* Schedule c to be closed and freed in the before-wait hook. */
void client_close_async(client *c);
/* 1, with the client closed, when the reply being built has passed the output buffer hard
 * limit (4 GiB when none is set); 0 otherwise. For commands whose reply can outgrow the
 * data (HRANDFIELD with a negative count, MGET and HMGET naming a key many times): they
 * stop building it. The limit is otherwise checked only after each command. */
int client_reply_over(client *c);
/* The cheap test to call once per element: client_reply_over past the first megabyte. */
static inline int rep_too_big(client *c)
{
    return c->out.len - c->sent > ((size_t)1 << 20) && client_reply_over(c);
}
/* Mark c as having replies to write. */
void client_want_write(client *c);
/* Free the clients in the close list and write pending replies (before each wait). */
void client_before_wait(srv *s);
/* Periodic work: idle timeouts, handshake timeouts, output soft limits. */
void client_cron(srv *s);
/* Stop reading commands from c until client_unblock (a worker holds it). */
void client_block(client *c);
/* Resume c after a worker finished, and process any commands it sent meanwhile. */
void client_unblock(client *c);
/* Describe c as CLIENT LIST does (one line, no newline). */
void client_describe(const client *c, buf *out);
/* Set c's user after a successful login. */
void client_set_user(client *c, acl_user *u);
/* Close every client whose user matches name (NULL: all authenticated ones) except skip. */
size_t client_kill_user(srv *s, const char *name, client *skip);
/* Re-resolve c's user after ACL changes; returns 0, or -1 if it no longer exists. */
int client_refresh_user(client *c);

/* Prefetch argv[from], argv[from + step] ... (up to DB_PREFETCH_MAX keys) before a multi-key
 * command looks them up (cmd_string.c). */
void cmd_prefetch_keys(client *c, int from, int step);

/* ---- replies (cmd_reply.c) ---- */
void rep_ok(client *c);
void rep_simple(client *c, const char *s);
void rep_err(client *c, const char *msg);
void rep_errf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rep_int(client *c, long long v);
void rep_bulk(client *c, const void *p, size_t n);
void rep_cstr(client *c, const char *s);
void rep_null(client *c);
void rep_null_array(client *c);
void rep_array(client *c, size_t n);
void rep_map(client *c, size_t n);
void rep_set(client *c, size_t n);
void rep_double(client *c, double v);
void rep_verbatim(client *c, const char *p, size_t n);
void rep_bool(client *c, int v);
/* Reply with a stored value as a bulk string, opened straight into the reply buffer (or with
 * rep_unopenable's error if it does not open). */
void rep_value(client *c, const db_ref *r);
/* Error reply for a stored value that failed to open (and a log line saying so). */
void rep_unopenable(client *c);
/* A value that could not be sealed: nothing was stored; the reply begun since mark (SET ...
 * GET's old value) is taken back and wiped, and an error replaces it. Write commands
 * reserve their nonces first (check_limits), so this should not happen. */
void rep_not_stored(client *c, size_t mark);
/* Redis's standard errors. */
void rep_wrongtype(client *c);
void rep_syntax(client *c);
void rep_not_int(client *c);
void rep_arity(client *c);
/* ---- SLOWLOG (cmd_slowlog.c) ---- */
/* After a command c ran (d) for us microseconds: log it if it is as slow as
 * slowlog-log-slower-than, then drop the oldest entries beyond slowlog-max-len (cmd_call
 * calls it for a slow command, and for every command once there are entries). */
void slowlog_push(client *c, const cmd_def *d, long long us);
/* Free every entry (at shutdown). */
void slowlog_free(srv *s);

/* ---- LATENCY (cmd_latency.c) ---- */
/* After command d ran us microseconds: its histogram bucket (latency-tracking), and a
 * monitor sample when it took latency-monitor-threshold ms or more. */
void latency_command(srv *s, const cmd_def *d, long long us);
/* Free the monitor's events (at shutdown). */
void latency_free(srv *s);
/* INFO latencystats: p50, p99 and p99.9 of each command's histogram. */
void latency_info(srv *s, buf *out);

/* The reply of a HELP subcommand: lines (NULL-terminated) as status strings. */
void cmd_help_reply(client *c, const char *const *lines);
/* Parse argv[i] as an integer; on failure reply "value is not an integer" and return -1. */
int arg_ll(client *c, int i, long long *out);
/* 1 if argv[i] equals s (ASCII case-insensitive). */
int arg_is(const client *c, int i, const char *s);

/* ---- pub/sub (cmd_pubsub.c) ---- */
/* Send msg to every subscriber of channel ch; returns how many got it. */
size_t pubsub_publish(srv *s, const uint8_t *ch, size_t chlen, const uint8_t *msg, size_t len);
/* Drop every subscription of c (when it closes or resets). */
void pubsub_unsubscribe_all(client *c);
/* 1 when user u's channel rules allow every subscription of c (u NULL: only if it has none). */
int pubsub_allowed(const client *c, const acl_user *u);
/* Close the clients of user name (NULL: every user) holding a subscription its rules no
 * longer allow; returns how many. */
size_t pubsub_kill_disallowed(srv *s, const char *name);
/* 1 when c has any subscription (channel or pattern). */
static inline int client_subscribed(const client *c)
{
    return c->nsubs + c->npsubs > 0;
}

/* ---- the PHI detector (cmd_phi.c) ---- */
/* Start the PHI worker (after the loop exists); -1 with err. */
int cmd_phi_init(srv *s, char *err, size_t errlen);
/* Stop it (waits for a scan in progress; its client gets no reply if it is gone). */
void cmd_phi_close(srv *s);
/* dlp-mode, for a write whose texts to scan pass 64 KB (at top level): 0 when the scan was
 * handed to the PHI worker (the client waits; the command comes back through cmd_resume,
 * or got "busy"), -1 to go on at once. */
int cmd_dlp_defer(client *c, const cmd_def *d);
/* Owned copies of argv[0..argc), each NUL-terminated (MULTI's queue, a command that waits
 * for a worker); free them with cmd_args_free, which wipes them. */
arg *cmd_args_copy(const arg *argv, int argc);
void cmd_args_free(arg *argv, int argc);
/* Run a command again from its top-level checks (after a worker, c->argv set). */
void cmd_resume(client *c, const cmd_def *d);
/* dlp-mode: scan a write's key names and values; 0 to go on, -1 after refusing (block). */
int cmd_dlp_check(client *c, const cmd_def *d);
/* Inside EXEC: may n more bytes of text be scanned for PHI on the event loop (at most 1 MB
 * a transaction)? 0 and counted if so (always outside EXEC), -1 if not. */
int cmd_phi_exec_budget(client *c, size_t n);
/* 1 if argv[i] of command d is the value of a field declared as PHI (not checked). */
int cmd_dlp_exempt(client *c, const cmd_def *d, int i);

/* ---- hooks between groups ---- */
/* WATCH bookkeeping (cmd_tx.c): the keyspace change callback. */
void tx_key_changed(void *arg, const uint8_t *key, size_t klen);
/* Drop c's MULTI state and WATCHed keys. */
void tx_reset(client *c);

/* Handlers, by group. */
#define X(n) void n(client *c);
/* connection */
X(ping_cmd)
X(echo_cmd) X(hello_cmd) X(auth_cmd) X(quit_cmd) X(reset_cmd) X(select_cmd) X(client_id_cmd)
    X(client_setname_cmd) X(client_getname_cmd) X(client_info_cmd) X(client_list_cmd)
        X(client_kill_cmd) X(client_help_cmd) X(client_noevict_cmd) X(client_unblock_cmd)
            X(client_getredir_cmd) X(client_trackinginfo_cmd) X(command_cmd) X(command_count_cmd)
            X(command_getkeys_cmd) X(command_getkeysandflags_cmd) X(command_info_cmd)
                X(command_docs_cmd) X(command_list_cmd) X(command_help_cmd)
    /* server */
    X(info_cmd) X(dbsize_cmd) X(time_cmd) X(role_cmd) X(shutdown_cmd) X(config_get_cmd)
        X(config_set_cmd) X(config_help_cmd) X(config_resetstat_cmd) X(config_rewrite_cmd)
            X(flushdb_cmd) X(flushall_cmd) X(slowlog_get_cmd) X(slowlog_len_cmd)
                X(slowlog_reset_cmd) X(slowlog_help_cmd) X(wait_cmd) X(latency_latest_cmd)
                    X(latency_history_cmd) X(latency_reset_cmd) X(latency_doctor_cmd)
                        X(latency_histogram_cmd) X(latency_help_cmd)
    /* strings */
    X(get_cmd) X(set_cmd) X(setnx_cmd) X(setex_cmd) X(psetex_cmd) X(mget_cmd) X(mset_cmd)
        X(msetnx_cmd) X(getdel_cmd) X(getex_cmd) X(append_cmd) X(strlen_cmd) X(getrange_cmd)
            X(incr_cmd) X(decr_cmd) X(incrby_cmd) X(decrby_cmd) X(incrbyfloat_cmd) X(getset_cmd)
                X(setrange_cmd)
    /* keys */
    X(del_cmd) X(unlink_cmd) X(exists_cmd) X(type_cmd) X(expire_cmd) X(pexpire_cmd) X(expireat_cmd)
        X(pexpireat_cmd) X(ttl_cmd) X(pttl_cmd) X(persist_cmd) X(rename_cmd) X(renamenx_cmd) X(copy_cmd)
            X(scan_cmd) X(keys_cmd) X(expiretime_cmd) X(pexpiretime_cmd) X(randomkey_cmd)
                X(memory_usage_cmd) X(memory_help_cmd) X(object_encoding_cmd)
                    X(object_refcount_cmd) X(object_idletime_cmd) X(object_freq_cmd)
                        X(object_help_cmd)
    /* hashes */
    X(hset_cmd) X(hsetnx_cmd) X(hget_cmd) X(hmget_cmd) X(hmset_cmd) X(hgetall_cmd) X(hdel_cmd)
        X(hexists_cmd) X(hkeys_cmd) X(hvals_cmd) X(hlen_cmd) X(hstrlen_cmd) X(hincrby_cmd)
            X(hincrbyfloat_cmd) X(hscan_cmd) X(hrandfield_cmd)
    /* transactions */
    X(multi_cmd) X(exec_cmd) X(discard_cmd) X(watch_cmd) X(unwatch_cmd)
    /* pub/sub */
    X(subscribe_cmd) X(unsubscribe_cmd) X(psubscribe_cmd) X(punsubscribe_cmd) X(publish_cmd)
        X(pubsub_channels_cmd) X(pubsub_numsub_cmd) X(pubsub_numpat_cmd) X(pubsub_help_cmd)
    /* policy */
    X(phi_policy_reload_cmd) X(phi_policy_show_cmd) X(phi_policy_help_cmd) X(phi_purpose_cmd)
        X(phi_breakglass_cmd) X(phi_breakglass_list_cmd) X(phi_breakglass_revoke_cmd)
            X(phi_find_cmd) X(phi_mfa_cmd)
    /* PHI detection */
    X(phi_scan_cmd) X(phi_redact_cmd)
    /* persistence and keys */
    X(bgrewriteaof_cmd) X(phi_backup_cmd) X(phi_keyring_status_cmd) X(phi_keyring_rotate_cmd)
        X(phi_keyring_help_cmd) X(phi_audit_prune_cmd) X(phi_audit_help_cmd)
    /* acl */
    X(acl_setuser_cmd) X(acl_getuser_cmd) X(acl_deluser_cmd) X(acl_list_cmd) X(acl_users_cmd)
        X(acl_whoami_cmd) X(acl_cat_cmd) X(acl_genpass_cmd) X(acl_log_cmd) X(acl_save_cmd)
            X(acl_load_cmd) X(acl_help_cmd) X(acl_dryrun_cmd)
#undef X

    /* Shared by SCAN and HSCAN: parse "cursor [MATCH p] [COUNT n] [TYPE t]" from argv[first]. */
    typedef struct {
    uint64_t cursor;   /* start cursor */
    const arg *match;  /* MATCH pattern or NULL */
    long long count;   /* COUNT (default 10) */
    const arg *type;   /* TYPE or NULL (SCAN only) */
    int novalues;      /* HSCAN NOVALUES */
    unsigned long long glob_left; /* steps the MATCH pattern may still take (STR_GLOB_BUDGET) */
    int glob_spent;               /* ... spent: the command answers with an error */
} scan_opts;
/* Does (s, n) match o's MATCH pattern (no pattern, or "*": yes)? Within o's step budget;
 * once it is spent, no (and o->glob_spent is set). */
int scan_glob(scan_opts *o, const uint8_t *s, size_t n);
/* The error for a command whose pattern spent its budget. */
void rep_glob_spent(client *c);
/* The reply of a listing (KEYS, PUBSUB CHANNELS, COMMAND LIST): the n elements collected in
 * items (RESP, freed here) as an array, or rep_glob_spent's error when spent. */
void rep_listing(client *c, buf *items, size_t n, int spent);
/* Sort n groups of `group` RESP bulk strings each (as resp_bulk wrote them, one after the
 * other in items) by the contents of each group's first: listings for roles that must not
 * see an order that follows the key table, the writes or a record's hidden fields. */
void sort_bulks(buf *items, size_t n, size_t group);
/* Parse; replies and returns -1 on error. */
int scan_parse(client *c, int first, int allow_type, scan_opts *o);
/* The same in two steps, for HSCAN, which (as Redis) looks the key up in between: the
 * cursor at argv[first], then the options after it. */
int scan_parse_cursor(client *c, int first, scan_opts *o);
int scan_parse_opts(client *c, int first, int allow_type, scan_opts *o);

#endif
