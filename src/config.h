/*
 * config: phidb.conf (redis.conf syntax) and command-line directives.
 *
 * Every directive is declared once in a table (name, type, bounds, default,
 * whether CONFIG SET may change it at run time, and the help text). That one
 * table parses the file and the command line, answers CONFIG GET and CONFIG
 * SET, and writes the commented phidb.conf that `phidb init` generates, so the
 * documentation cannot drift from the behaviour.
 *
 * Relative paths in the file are resolved against the directory that holds
 * the file, so a data directory can be moved or started from anywhere.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#include "util/buf.h"

/* The least proto-max-args: below it a command the operator needs (CONFIG SET proto-max-args
 * to raise it again, ACL SETUSER with its rules, HELLO 3 AUTH u p SETNAME n) would be
 * refused as a protocol error and only a restart would recover. */
#define PROTO_MAX_ARGS_MIN 1024
/* The comment line phidb init writes under the help of every directive CONFIG SET accepts. */
#define CONFIG_RUNTIME_MARK "May change at run time (CONFIG SET)."

typedef struct config {
    char *path;              /* absolute path of the config file */
    char *base;              /* its directory */
    int *origin;             /* per directive: the line of path that set it last, -1 for the
                              * command line, 0 for its default (config_origin) */
    /* network */
    char *bind;              /* space-separated addresses */
    int port;                /* TLS port */
    int tcp_backlog;         /* listen() backlog */
    /* tls */
    char *tls_cert_file, *tls_key_file, *tls_ca_cert_file;
    int tls_auth_clients;    /* enum tls_auth */
    char *tls_protocols, *tls_ciphers, *tls_ciphersuites;
    /* limits */
    int maxclients;          /* most connected clients */
    int timeout;             /* idle seconds before a client is closed (0: never) */
    int auth_timeout;        /* seconds a connection may stay without logging in (0: no limit) */
    long long proto_max_bulk_len;  /* largest bulk argument */
    long long proto_max_args;      /* most arguments per command */
    long long proto_max_inline;    /* longest inline command */
    long long obuf_hard;     /* output buffer hard limit (0: none) */
    long long obuf_soft;     /* output buffer soft limit (0: none) */
    int obuf_soft_secs;      /* seconds over the soft limit before disconnecting */
    long long obuf_ps_hard;  /* the same for clients with subscriptions (class pubsub) */
    long long obuf_ps_soft;
    int obuf_ps_soft_secs;
    long long maxmemory;     /* bytes (0: no limit) */
    /* data */
    char *dir;               /* data directory */
    char *aclfile;           /* users */
    char *master_key_file;   /* master key (kept outside dir) */
    char *master_key_command; /* command printing the master key ("" when unused) */
    int master_key_passphrase; /* derive the master key from PHIDB_PASSPHRASE or a prompt */
    int appendfsync;         /* enum aof_fsync: everysec (0) or always (1) */
    int aof_rewrite_pct;     /* rewrite when the log grew this % over its base (0: never) */
    long long aof_rewrite_min; /* ... and is at least this big */
    /* authentication */
    int auth_max_failures;   /* consecutive failures that lock a user */
    int auth_lockout_time;   /* seconds a lock lasts */
    int auth_threads;        /* password hashing threads */
    int auth_max_pending;    /* logins waiting for a hashing thread */
    int auth_cache_ttl;      /* seconds a verified login is remembered (0: off) */
    int auth_throttle_free;  /* failures per address before delays */
    int auth_throttle_max;   /* longest delay, ms */
    int argon2_memory_kib, argon2_time, argon2_lanes;
    /* dangerous commands allowed by the operator */
    int allow_flushall, allow_flushdb, allow_keys;
    /* backups */
    char *backup_dir;        /* where backups go */
    char *backup_schedule;   /* "" (none), "daily HH:MM" (UTC), "every Nh" / "every Nm" */
    int backup_keep_count;   /* scheduled backups kept (0: no limit) */
    int backup_keep_days;    /* ... and their age limit (0: none) */
    char *backup_passphrase_file; /* "" or a file: scheduled backups are passphrase copies */
    int backup_verify;       /* verify each backup before reporting success */
    /* misc */
    char *policy_file;       /* access policy ("" for none) */
    int breakglass_ttl;      /* seconds a break-glass grant lasts */
    char *mfa_issuer;        /* issuer shown by authenticator apps */
    int dlp_mode;            /* 0 off, 1 warn, 2 block */
    int dlp_min_score;       /* findings below this score (percent) are ignored */
    long long deid_text_max; /* de-identified views withhold longer text fields (0: no limit) */
    int hz;                  /* background task frequency */
    int loglevel;            /* enum log_level */
    char *logfile;           /* "" for stderr */
    long long slowlog_slower_than; /* SLOWLOG: commands at least this slow (us; -1: none) */
    long long slowlog_max_len;     /* SLOWLOG: most entries kept */
    long long latency_monitor_threshold; /* LATENCY: samples of commands this slow (ms; 0: off) */
    int latency_tracking;                /* LATENCY HISTOGRAM: per-command histograms */
    /* audit and alerts (src/audit/audit_conf.c turns these into audit_opts / alert_opts) */
    char *audit_dir;         /* segment directory */
    int audit_fsync;         /* 0 everysec, 1 always */
    int audit_retention_days; /* kept at least this long; removed only by phidb audit prune */
    int audit_unclassified;  /* keys outside every schema: 0 none, 1 writes, 2 all audited */
    long long audit_segment_max; /* rotate segments beyond this size */
    int audit_ckpt_records;  /* a signed checkpoint every N records ... */
    int audit_ckpt_secs;     /* ... or every T seconds */
    char *audit_syslog_host; /* SIEM host ("" : no syslog sink) */
    int audit_syslog_port;   /* its port (RFC 5425: 6514) */
    char *audit_syslog_ca, *audit_syslog_cert, *audit_syslog_key; /* TLS files */
    int audit_syslog_records; /* 0 all, 1 redacted (no key, no subject), 2 checkpoints */
    int audit_required_sinks; /* 0 none, 1 syslog */
    int alert_denials;       /* denials per user per hour that alert (0: off) */
    char *alert_hours;       /* working hours "07:00-19:00" ("" : off) */
    char *alert_timezone;    /* IANA zone of alert-hours */
    int alert_subjects_count; /* distinct subjects by one user that alert (0: off) */
    int alert_subjects_minutes; /* ... within this many minutes */
} config;

/* Defaults for every directive (paths unresolved). Free with config_free. */
config *config_new(void);
/* A deep copy (every string duplicated, from the directive table, so it cannot miss a new
 * field). Free with config_free. */
config *config_copy(const config *c);
/* Free the config. */
void config_free(config *c);
/* Read file path, then apply argv (--name value ...). Returns 0, or -1 with a message naming
 * the file and line (or "command line") and the reason. */
int config_load(config *c, const char *path, int argc, char **argv, char *err, size_t errlen);
/* Set one directive from its arguments as CONFIG SET does. runtime: refuse immutable ones.
 * Returns 0, or -1 with a Redis-style reason ("argument must be a memory value"...). The kind
 * of failure is in *immutable (1: cannot be set at run time, 2: unknown). */
int config_set(config *c, const char *name, const char *const *argv, int argc, int runtime,
               int *immutable, char *err, size_t errlen);
/* Number of directives and the name of the i-th. */
size_t config_count(void);
const char *config_name(size_t i);
/* Current value of directive i as CONFIG GET shows it. */
void config_get(const config *c, size_t i, buf *out);
/* Index of a directive by name (case-insensitive), or -1. */
int config_find(const char *name);
/* 1 if directive i takes several arguments (CONFIG GET shows them space-separated). */
int config_takes_words(size_t i);
/* CONFIG REWRITE (config_rewrite.c): rewrite c->path so that it gives c's values, keeping
 * its comments and the lines of unchanged directives; atomic. Returns 0, or -1 with the
 * reason in err. */
int config_rewrite(const config *c, char *err, size_t errlen);
/* Write a complete commented config file for init (port, and paths relative to the file);
 * the directives CONFIG SET accepts get a CONFIG_RUNTIME_MARK line. */
void config_write_template(buf *out, int port);
/* Where directive name got its value, for start-up errors about the value ("can't open
 * the certificate"): writes "path:line: 'name'" or "command line: --name" to out and returns
 * 1, or returns 0 (out "") when it has its default. */
int config_origin(const config *c, const char *name, char *out, size_t outlen);
/* Resolve p against the config's directory (returns a new string). */
char *config_resolve(const config *c, const char *p);

#endif
