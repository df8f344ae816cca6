/*
 * config: the directive table and its parsers (see config.h).
 *
 * Adding a directive: a field in struct config, one row below (with its help
 * text, which becomes the comment in generated config files), and, if it may
 * change at run time, a reaction in the server's config-change hook.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit/alert.h"
#include "net/conn.h"
#include "store/backup.h"
#include "util/args.h"
#include "util/mem.h"
#include "util/strutil.h"

enum ctype { T_INT, T_LL, T_MEM, T_BOOL, T_STR, T_PATH, T_ENUM, T_OBUF, T_DANGEROUS };

#define MUTABLE 1 /* CONFIG SET may change it */

typedef struct {
    const char *name;    /* directive */
    enum ctype type;     /* how it is parsed */
    size_t off;          /* field in struct config */
    long long min, max;  /* bounds for T_INT, T_LL (a long long field), T_MEM */
    const char *const *enums; /* names for T_ENUM (index = stored value) */
    int flags;           /* MUTABLE */
    const char *def;     /* default, as written in a file */
    const char *help;    /* comment for generated files */
} directive;

static const char *const tls_auth_names[] = {"no", "optional", "yes", NULL};
static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const policy_names[] = {"noeviction", NULL};
static const char *const fsync_names[] = {"everysec", "always", NULL};
static const char *const dlp_names[] = {"off", "warn", "block", NULL};
static const char *const unclassified_names[] = {"none", "writes", "all", NULL};
static const char *const syslog_records_names[] = {"all", "redacted", "checkpoints", NULL};
static const char *const sinks_names[] = {"none", "syslog", NULL};

#define F(field) offsetof(config, field)

static const directive table[] = {
    /* network */
    {"bind", T_STR, F(bind), 0, 0, NULL, 0, "127.0.0.1",
     "Addresses to listen on, separated by spaces (\"*\" for all). TLS only: there is\n"
     "# no plaintext listener."},
    {"port", T_INT, F(port), 1, 65535, NULL, 0, "6380", "TCP port for TLS connections."},
    {"tcp-backlog", T_INT, F(tcp_backlog), 1, 65535, NULL, 0, "511",
     "listen() backlog for connections not yet accepted."},
    /* tls */
    {"tls-cert-file", T_PATH, F(tls_cert_file), 0, 0, NULL, MUTABLE, "tls/server.crt",
     "Server certificate chain (PEM). Setting any tls-* directive with CONFIG SET\n"
     "# reloads the certificates without a restart (new connections use them)."},
    {"tls-key-file", T_PATH, F(tls_key_file), 0, 0, NULL, MUTABLE, "tls/server.key",
     "Server private key (PEM)."},
    {"tls-ca-cert-file", T_PATH, F(tls_ca_cert_file), 0, 0, NULL, MUTABLE, "tls/ca.crt",
     "CA certificates that client certificates must chain to (PEM)."},
    {"tls-auth-clients", T_ENUM, F(tls_auth_clients), 0, 0, tls_auth_names, MUTABLE, "optional",
     "Client certificates: no (not asked), optional (verified when sent), yes (required).\n"
     "# A certificate never replaces AUTH: every connection authenticates as a user."},
    {"tls-protocols", T_STR, F(tls_protocols), 0, 0, NULL, MUTABLE, "\"TLSv1.2 TLSv1.3\"",
     "TLS versions accepted: TLSv1.2 and/or TLSv1.3. Older versions are never accepted."},
    {"tls-ciphers", T_STR, F(tls_ciphers), 0, 0, NULL, MUTABLE, "\"\"",
     "TLS 1.2 cipher list (OpenSSL syntax); empty for phidb's ECDHE+AEAD default.\n"
     "# A list that would allow a non-AEAD cipher is refused."},
    {"tls-ciphersuites", T_STR, F(tls_ciphersuites), 0, 0, NULL, MUTABLE, "\"\"",
     "TLS 1.3 suites (OpenSSL syntax); empty for OpenSSL's default (all AEAD)."},
    /* limits */
    {"maxclients", T_INT, F(maxclients), 1, 1000000, NULL, MUTABLE, "10000",
     "Most clients connected at once; more are told so and disconnected."},
    {"timeout", T_INT, F(timeout), 0, INT_MAX, NULL, MUTABLE, "900",
     "Close a session idle for this many seconds (0: never). HIPAA asks for\n"
     "# automatic logoff (164.312(a)(2)(iii))."},
    {"auth-timeout", T_INT, F(auth_timeout), 0, INT_MAX, NULL, MUTABLE, "60",
     "Close a connection that has not logged in (AUTH or HELLO, and PHI.MFA when the\n"
     "# user needs it) this many seconds after it connected (0: never), so connections\n"
     "# that never log in cannot hold the maxclients slots."},
    {"proto-max-bulk-len", T_MEM, F(proto_max_bulk_len), 1024, 2LL << 30, NULL, MUTABLE, "512mb",
     "Largest single argument a client may send (checked before reading it); at most\n"
     "# 2gb, since a value is stored with a 32-bit length."},
    {"proto-max-args", T_LL, F(proto_max_args), PROTO_MAX_ARGS_MIN, INT_MAX, NULL, MUTABLE,
     "1048576",
     "Most arguments in one command (at least 1024, so that every command, CONFIG SET\n"
     "# to raise it again included, stays usable)."},
    {"proto-max-inline", T_MEM, F(proto_max_inline), 1024, 1 << 20, NULL, MUTABLE, "64kb",
     "Longest inline (telnet-style) command."},
    {"client-output-buffer-limit", T_OBUF, 0, 0, 0, NULL, MUTABLE,
     "normal 256mb 64mb 60 pubsub 32mb 8mb 60",
     "<class> <hard> <soft> <seconds>: a client whose unsent replies exceed <hard>, or\n"
     "# stay above <soft> for <seconds>, is disconnected instead of buffered forever (0:\n"
     "# no limit). Classes: normal, and pubsub for clients with subscriptions; replica\n"
     "# (or slave) is accepted and has no effect (phidb has no replicas)."},
    {"maxmemory", T_MEM, F(maxmemory), 0, LLONG_MAX, NULL, MUTABLE, "0",
     "Memory limit for data (0: none). Writes over it fail with -OOM; nothing is\n"
     "# ever evicted, because PHI must not silently disappear."},
    {"maxmemory-policy", T_ENUM, 0, 0, 0, policy_names, 0, "noeviction",
     "Only noeviction exists (see maxmemory)."},
    {"databases", T_INT, 0, 1, 1, NULL, 0, "1", "Only database 0 exists."},
    /* data */
    {"dir", T_PATH, F(dir), 0, 0, NULL, 0, "data",
     "Directory of the data files. The master key must not be in it."},
    {"aclfile", T_PATH, F(aclfile), 0, 0, NULL, 0, "data/users.acl",
     "Users file (written by ACL SAVE: mode 0600, atomic replace)."},
    {"master-key-file", T_PATH, F(master_key_file), 0, 0, NULL, 0, "master.key",
     "Master key: 64 hex characters, mode 0600 (refused when others can read it), never\n"
     "# inside dir. Keep it off the data disk and out of backups. Used unless\n"
     "# master-key-command or master-key-passphrase is set."},
    {"master-key-command", T_STR, F(master_key_command), 0, 0, NULL, 0, "\"\"",
     "A command whose standard output is the master key (64 hex characters), for a\n"
     "# KMS or Vault CLI, e.g. \"vault kv get -field=key secret/phidb\". Empty: unused."},
    {"master-key-passphrase", T_BOOL, F(master_key_passphrase), 0, 0, NULL, 0, "no",
     "yes: derive the master key from a passphrase (Argon2id, salt in the keyring),\n"
     "# read from PHIDB_PASSPHRASE or asked on the terminal at start-up."},
    {"appendonly", T_ENUM, 0, 0, 0, NULL, 0, "yes",
     "Read-only, for clients that ask: the encrypted durable log is always on."},
    {"appendfsync", T_ENUM, F(appendfsync), 0, 0, fsync_names, MUTABLE, "everysec",
     "everysec: writes are acknowledged once written to the log, which is fsynced\n"
     "# every second (at most about a second of writes is lost in a power failure);\n"
     "# always: acknowledged only after fsync (one fsync per batch of writes)."},
    {"auto-aof-rewrite-percentage", T_INT, F(aof_rewrite_pct), 0, 100000, NULL, MUTABLE, "100",
     "Compact the log in the background when it grew this many percent over its\n"
     "# size after the last load or compaction (0: only on BGREWRITEAOF)."},
    {"auto-aof-rewrite-min-size", T_MEM, F(aof_rewrite_min), 0, LLONG_MAX, NULL, MUTABLE, "64mb",
     "... and only once it is at least this big."},
    {"save", T_STR, 0, 0, 0, NULL, 0, "\"\"",
     "Read-only, for clients that ask: phidb writes no RDB snapshots."},
    /* authentication */
    {"auth-max-failures", T_INT, F(auth_max_failures), 0, 1000, NULL, MUTABLE, "3",
     "Consecutive failed logins that lock a user (0: never lock)."},
    {"auth-lockout-time", T_INT, F(auth_lockout_time), 0, INT_MAX, NULL, MUTABLE, "1800",
     "Seconds a locked user stays locked (ACL SETUSER <user> unlock ends it)."},
    {"auth-threads", T_INT, F(auth_threads), 1, 64, NULL, 0, "2",
     "Threads that hash and verify passwords (never the event loop)."},
    {"auth-max-pending", T_INT, F(auth_max_pending), 1, 1000000, NULL, 0, "1024",
     "Logins waiting for a hashing thread; more are refused as busy."},
    {"auth-cache-ttl", T_INT, F(auth_cache_ttl), 0, 86400, NULL, MUTABLE, "600",
     "Seconds a verified login is remembered (as a keyed digest, not the password)\n"
     "# so reconnecting pools skip Argon2; 0 turns it off. A password change drops it."},
    {"auth-throttle-free", T_INT, F(auth_throttle_free), 0, 1000, NULL, MUTABLE, "3",
     "Failed logins from one address before its next logins are delayed."},
    {"auth-throttle-max-ms", T_INT, F(auth_throttle_max), 0, 600000, NULL, MUTABLE, "10000",
     "Longest delay (ms) for an address that keeps failing (doubles per failure)."},
    {"argon2-memory-kib", T_INT, F(argon2_memory_kib), 8, 4194304, NULL, 0, "65536",
     "Argon2id memory cost (KiB) for new password hashes."},
    {"argon2-time", T_INT, F(argon2_time), 1, 100, NULL, 0, "3",
     "Argon2id passes for new password hashes."},
    {"argon2-lanes", T_INT, F(argon2_lanes), 1, 16, NULL, 0, "1",
     "Argon2id parallelism for new password hashes."},
    {"allow-dangerous-commands", T_DANGEROUS, 0, 0, 0, NULL, 0, "\"\"",
     "Commands that can erase or list every record: any of flushall flushdb keys.\n"
     "# Refused unless listed here AND granted to the user by name (+flushall)."},
    /* access policy */
    {"policy-file", T_PATH, F(policy_file), 0, 0, NULL, 0, "\"\"",
     "The PHI access policy (record schemas, fields, roles; see docs/policy.md). Empty: no\n"
     "# policy, every key is governed by the ACL alone. Reload with PHI.POLICY RELOAD or\n"
     "# SIGHUP (a bad file is refused with its line and the old policy stays)."},
    {"breakglass-ttl", T_INT, F(breakglass_ttl), 60, 604800, NULL, MUTABLE, "14400",
     "Seconds a break-glass grant (PHI.BREAKGLASS) lasts (60 to 604800: a week)."},
    {"mfa-issuer", T_STR, F(mfa_issuer), 0, 0, NULL, MUTABLE, "phidb",
     "Issuer name authenticator apps show for TOTP enrollments."},
    /* backups (cmd_backup.c, docs/backup.md) */
    {"backup-dir", T_PATH, F(backup_dir), 0, 0, NULL, MUTABLE, "backups",
     "Where PHI.BACKUP and scheduled backups are written (PHI.BACKUP PATH must be inside\n"
     "# it). Keep it on another disk, and copy backups off the host."},
    {"backup-schedule", T_STR, F(backup_schedule), 0, 0, NULL, MUTABLE, "\"\"",
     "Automatic backups: \"daily HH:MM\" (UTC), \"every 6h\" (or m, s); empty: none."},
    {"backup-keep-count", T_INT, F(backup_keep_count), 0, 100000, NULL, MUTABLE, "7",
     "Scheduled backups kept in backup-dir (0: no limit by count). The newest verified\n"
     "# backup is never removed."},
    {"backup-keep-days", T_INT, F(backup_keep_days), 0, 36500, NULL, MUTABLE, "35",
     "Scheduled backups older than this many days are removed (0: no limit by age)."},
    {"backup-passphrase-file", T_PATH, F(backup_passphrase_file), 0, 0, NULL, MUTABLE, "\"\"",
     "If set (a 0600 file outside dir), scheduled backups are passphrase copies that this\n"
     "# passphrase opens (for off-site storage) instead of the master key."},
    {"backup-verify", T_BOOL, F(backup_verify), 0, 0, NULL, MUTABLE, "yes",
     "Verify every backup (open it again end to end on a worker thread) before reporting\n"
     "# success."},
    /* PHI detection */
    {"dlp-mode", T_ENUM, F(dlp_mode), 0, 0, dlp_names, MUTABLE, "off",
     "Data-loss prevention on writes: PHI found by the detector in a key name, or in a\n"
     "# value that is not a field declared as PHI, is reported (warn: logged and alerted,\n"
     "# types only, never the text) or refused (block). Costs a scan per write."},
    {"dlp-min-score", T_INT, F(dlp_min_score), 0, 100, NULL, MUTABLE, "60",
     "Findings with a lower score (percent) do not count for dlp-mode."},
    {"deid-text-max", T_MEM, F(deid_text_max), 0, 4LL << 30, NULL, MUTABLE, "256kb",
     "In de-identified views, the most free text (phi=text fields) one reply redacts;\n"
     "# fields beyond it are withheld: the redaction runs on the event loop (about 30 ms\n"
     "# per MB of clinical text, up to 1 s per MB of crafted text). 0: no limit."},
    /* misc */
    {"hz", T_INT, F(hz), 1, 500, NULL, MUTABLE, "10",
     "Background task frequency (expiry, timeouts) per second."},
    {"loglevel", T_ENUM, F(loglevel), 0, 0, loglevel_names, MUTABLE, "notice",
     "debug, verbose, notice or warning. The log never holds values or key names."},
    {"logfile", T_STR, F(logfile), 0, 0, NULL, 0, "\"\"", "Log file; empty for standard error."},
    {"slowlog-log-slower-than", T_LL, F(slowlog_slower_than), -1, LLONG_MAX, NULL, MUTABLE, "10000",
     "SLOWLOG keeps the commands whose execution took at least this many microseconds\n"
     "# on the event loop (0: every command; -1: none). An entry holds the command's name\n"
     "# (and subcommand) and how many arguments followed: never keys or values."},
    {"slowlog-max-len", T_LL, F(slowlog_max_len), 0, LLONG_MAX, NULL, MUTABLE, "128",
     "Most SLOWLOG entries kept (the oldest go first)."},
    {"latency-monitor-threshold", T_LL, F(latency_monitor_threshold), 0, LLONG_MAX, NULL, MUTABLE,
     "0",
     "LATENCY LATEST/HISTORY/DOCTOR: a command that holds the event loop this many\n"
     "# milliseconds or more adds a sample to the event 'command' ('fast-command' for fast\n"
     "# commands); 0 turns the monitor off."},
    {"latency-tracking", T_BOOL, F(latency_tracking), 0, 0, NULL, MUTABLE, "yes",
     "LATENCY HISTOGRAM: count each command's durations in power-of-two buckets."},
    /* audit and alerts (docs/audit.md) */
    {"audit-dir", T_PATH, F(audit_dir), 0, 0, NULL, 0, "data/audit",
     "Directory of the audit segments (encrypted with the audit key, hash-chained,\n"
     "# signed checkpoints; the public key is published there as audit.pub)."},
    {"audit-fsync", T_ENUM, F(audit_fsync), 0, 0, fsync_names, 0, "everysec",
     "always: an audited command is answered only after its record is fsynced;\n"
     "# everysec: once written, fsynced every second."},
    {"audit-retention-days", T_INT, F(audit_retention_days), 1, 36500, NULL, 0, "2555",
     "Segments are kept at least this long (2555 days = 7 years) and removed only by\n"
     "# `phidb audit prune`, which records the removal in the trail."},
    {"audit-unclassified", T_ENUM, F(audit_unclassified), 0, 0, unclassified_names, 0, "all",
     "Access to keys that match no record schema: audited never (none), for writes\n"
     "# only (writes), or always (all). Schema keys are always audited."},
    {"audit-segment-max-bytes", T_MEM, F(audit_segment_max), 65536, 4LL << 30, NULL, 0, "64mb",
     "Start a new segment beyond this size (and at every UTC midnight)."},
    {"audit-checkpoint-records", T_INT, F(audit_ckpt_records), 1, 100000000, NULL, 0, "1000",
     "A signed checkpoint every N records ..."},
    {"audit-checkpoint-secs", T_INT, F(audit_ckpt_secs), 1, 86400, NULL, 0, "60",
     "... or every T seconds while records come in. Checkpoints also go to the sinks."},
    {"audit-syslog-host", T_STR, F(audit_syslog_host), 0, 0, NULL, 0, "\"\"",
     "SIEM receiving the audit records as RFC 5424 syslog over TLS (RFC 5425); empty: none."},
    {"audit-syslog-port", T_INT, F(audit_syslog_port), 1, 65535, NULL, 0, "6514", "Its TLS port."},
    {"audit-syslog-ca", T_PATH, F(audit_syslog_ca), 0, 0, NULL, 0, "\"\"",
     "CA certificates the SIEM's certificate must chain to (required with a host)."},
    {"audit-syslog-cert", T_PATH, F(audit_syslog_cert), 0, 0, NULL, 0, "\"\"",
     "Client certificate for the SIEM (optional)."},
    {"audit-syslog-key", T_PATH, F(audit_syslog_key), 0, 0, NULL, 0, "\"\"", "Its private key."},
    {"audit-syslog-records", T_ENUM, F(audit_syslog_records), 0, 0, syslog_records_names, 0,
     "redacted",
     "What the SIEM receives: all (every record as written, key names and subjects\n"
     "# included), redacted (every record without key and subject), checkpoints (only the\n"
     "# signed checkpoints)."},
    {"audit-required-sinks", T_ENUM, F(audit_required_sinks), 0, 0, sinks_names, 0, "none",
     "syslog: fail closed (refuse audited commands) while the SIEM is unreachable\n"
     "# (needs audit-syslog-host: without it the server refuses to start);\n"
     "# none: records queue for it (bounded) and the local segments are enough."},
    {"alert-denials-per-hour", T_INT, F(alert_denials), 0, 1000000, NULL, 0, "10",
     "Alert when one user is denied this many times within an hour (0: off)."},
    {"alert-hours", T_STR, F(alert_hours), 0, 0, NULL, 0, "07:00-19:00",
     "Working hours: a granted access to PHI outside them alerts (once per user and\n"
     "# hour). May wrap midnight (19:00-07:00). Empty: off."},
    {"alert-timezone", T_STR, F(alert_timezone), 0, 0, NULL, 0, "UTC",
     "IANA time zone of alert-hours, e.g. America/New_York."},
    {"alert-subjects-count", T_INT, F(alert_subjects_count), 0, 100000, NULL, 0, "50",
     "Alert when one user reaches more than this many distinct subjects (patients)\n"
     "# within alert-subjects-minutes (0: off)."},
    {"alert-subjects-minutes", T_INT, F(alert_subjects_minutes), 1, 10080, NULL, 0, "10",
     "Window of alert-subjects-count."},
};

#define NDIRECTIVES (sizeof table / sizeof table[0])

size_t config_count(void)
{
    return NDIRECTIVES;
}

const char *config_name(size_t i)
{
    return i < NDIRECTIVES ? table[i].name : NULL;
}

int config_takes_words(size_t i)
{
    return i < NDIRECTIVES && (table[i].type == T_OBUF || table[i].type == T_DANGEROUS);
}

int config_find(const char *name)
{
    for (size_t i = 0; i < NDIRECTIVES; i++)
        if (strcasecmp(table[i].name, name) == 0) return (int)i;
    return -1;
}

static int *int_field(config *c, const directive *d)
{
    return (int *)((char *)c + d->off);
}

static long long *ll_field(config *c, const directive *d)
{
    return (long long *)((char *)c + d->off);
}

static char **str_field(config *c, const directive *d)
{
    return (char **)((char *)c + d->off);
}

/* Redis's memory units: k=1000 kb=1024 m mb g gb; case-insensitive. */
static int parse_mem(const char *s, long long *out)
{
    size_t n = strlen(s);
    size_t digits = 0;
    while (digits < n && (s[digits] == '-' || (s[digits] >= '0' && s[digits] <= '9')))
        digits++;
    const char *unit = s + digits;
    long long mul = 1;
    if (*unit == '\0') mul = 1;
    else if (!strcasecmp(unit, "b")) mul = 1;
    else if (!strcasecmp(unit, "k")) mul = 1000;
    else if (!strcasecmp(unit, "kb")) mul = 1024;
    else if (!strcasecmp(unit, "m")) mul = 1000 * 1000;
    else if (!strcasecmp(unit, "mb")) mul = 1024 * 1024;
    else if (!strcasecmp(unit, "g")) mul = 1000LL * 1000 * 1000;
    else if (!strcasecmp(unit, "gb")) mul = 1024LL * 1024 * 1024;
    else return -1;
    long long v;
    if (digits == 0 || str_to_ll((const uint8_t *)s, digits, &v) != 0) return -1;
    if (v < 0 || (v > 0 && mul > LLONG_MAX / v)) return -1;
    *out = v * mul;
    return 0;
}

char *config_resolve(const config *c, const char *p)
{
    if (!p || !*p || p[0] == '/' || !c->base) return mem_strdup(p ? p : "");
    size_t n = strlen(c->base) + strlen(p) + 2;
    char *r = mem_alloc(n);
    snprintf(r, n, "%s/%s", c->base, p);
    return r;
}

/* Strings whose meaning the module that reads them checks: checked here too, so a bad
 * value stops start-up with its file and line (or fails CONFIG SET) instead of switching
 * the feature off later with a warning. */
static int check_str(const directive *d, const char *v, char *err, size_t errlen)
{
    if (strcmp(d->name, "alert-hours") == 0 || strcmp(d->name, "alert-timezone") == 0) {
        alert_opts o;
        alert_opts_default(&o);
        o.max_users = 1;
        if (d->name[6] == 'h')
            o.hours = v;
        else
            o.timezone = v;
        alert_engine *e = alert_new(&o, err, errlen);
        if (!e) return -1;
        alert_free(e);
    } else if (strncmp(d->name, "tls-", 4) == 0) {
        return tls_check_setting(d->name, v, err, errlen);
    } else if (strcmp(d->name, "backup-schedule") == 0 && backup_schedule_next(v, 0) < 0) {
        snprintf(err, errlen,
                 "use \"daily HH:MM\" (UTC) or \"every N\" with h, m or s (\"\": none)");
        return -1;
    }
    return 0;
}

static int set_one(config *c, const directive *d, const char *const *argv, int argc, char *err,
                   size_t errlen)
{
    if (d->type != T_OBUF && d->type != T_DANGEROUS && argc != 1) {
        snprintf(err, errlen, "wrong number of arguments");
        return -1;
    }
    const char *v = argc ? argv[0] : "";
    switch (d->type) {
    case T_INT:
    case T_LL: {
        long long x;
        if (str_to_ll((const uint8_t *)v, strlen(v), &x) != 0) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return -1;
        }
        if (x < d->min || x > d->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min,
                     d->max);
            return -1;
        }
        if (d->off && d->type == T_LL)
            *ll_field(c, d) = x;
        else if (d->off)
            *int_field(c, d) = (int)x;
        return 0;
    }
    case T_MEM: {
        long long x;
        if (parse_mem(v, &x) != 0) {
            snprintf(err, errlen, "argument must be a memory value");
            return -1;
        }
        if (x < d->min || x > d->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min,
                     d->max);
            return -1;
        }
        *ll_field(c, d) = x;
        return 0;
    }
    case T_BOOL:
        if (strcasecmp(v, "yes") == 0)
            *int_field(c, d) = 1;
        else if (strcasecmp(v, "no") == 0)
            *int_field(c, d) = 0;
        else {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        return 0;
    case T_ENUM: {
        const char *const *names = d->enums;
        if (!names) {
            /* Read-only informational value (appendonly): must equal the default. */
            if (strcmp(v, d->def) != 0) {
                snprintf(err, errlen, "argument must be '%s'", d->def);
                return -1;
            }
            return 0;
        }
        for (int i = 0; names[i]; i++) {
            if (strcasecmp(v, names[i]) == 0) {
                if (d->off) *int_field(c, d) = i;
                return 0;
            }
        }
        char list[256] = "";
        for (int i = 0; names[i]; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, names[i], sizeof list - strlen(list) - 1);
        }
        snprintf(err, errlen, "argument(s) must be one of the following: %s", list);
        return -1;
    }
    case T_STR:
    case T_PATH:
        if (!d->off) {
            if (strcmp(v, "") != 0) {
                snprintf(err, errlen, "phidb writes no RDB snapshots: 'save' must be empty");
                return -1;
            }
            return 0;
        }
        if (check_str(d, v, err, errlen) != 0) return -1;
        mem_free(*str_field(c, d));
        *str_field(c, d) = d->type == T_PATH ? config_resolve(c, v) : mem_strdup(v);
        return 0;
    case T_OBUF: {
        /* normal <hard> <soft> <seconds> (several classes may be given in one value). */
        const char *const *av = argv;
        int ac = argc;
        args split = {0};
        if (argc == 1) {
            if (args_split(argv[0], strlen(argv[0]), &split) != 0) {
                snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
                return -1;
            }
            av = (const char *const *)split.v;
            ac = split.n;
        }
        int rc = 0;
        if (ac % 4 != 0 || ac == 0) {
            snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
            rc = -1;
        }
        for (int i = 0; rc == 0 && i < ac; i += 4) {
            long long hard, soft, secs;
            int pubsub = strcasecmp(av[i], "pubsub") == 0;
            if (!pubsub && strcasecmp(av[i], "normal") != 0 && strcasecmp(av[i], "replica") != 0 &&
                strcasecmp(av[i], "slave") != 0) {
                snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
                rc = -1;
                break;
            }
            if (parse_mem(av[i + 1], &hard) || parse_mem(av[i + 2], &soft) ||
                str_to_ll((const uint8_t *)av[i + 3], strlen(av[i + 3]), &secs) || secs < 0 ||
                secs > INT_MAX) {
                snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
                rc = -1;
                break;
            }
            if (pubsub) {
                c->obuf_ps_hard = hard;
                c->obuf_ps_soft = soft;
                c->obuf_ps_soft_secs = (int)secs;
            } else if (strcasecmp(av[i], "normal") == 0) {
                c->obuf_hard = hard;
                c->obuf_soft = soft;
                c->obuf_soft_secs = (int)secs;
            } /* replica: a class phidb does not have, checked and accepted for compatibility */
        }
        args_free(&split);
        return rc;
    }
    case T_DANGEROUS: {
        int fa = 0, fd = 0, k = 0;
        args split = {0};
        const char *const *av = argv;
        int ac = argc;
        if (argc == 1) {
            if (args_split(argv[0], strlen(argv[0]), &split) != 0) {
                snprintf(err, errlen, "bad list");
                return -1;
            }
            av = (const char *const *)split.v;
            ac = split.n;
        }
        int rc = 0;
        for (int i = 0; i < ac; i++) {
            if (strcasecmp(av[i], "flushall") == 0) fa = 1;
            else if (strcasecmp(av[i], "flushdb") == 0) fd = 1;
            else if (strcasecmp(av[i], "keys") == 0) k = 1;
            else {
                snprintf(err, errlen, "'%s' is not one of flushall, flushdb, keys", av[i]);
                rc = -1;
                break;
            }
        }
        args_free(&split);
        if (rc == 0) {
            c->allow_flushall = fa;
            c->allow_flushdb = fd;
            c->allow_keys = k;
        }
        return rc;
    }
    }
    return -1;
}

config *config_new(void)
{
    config *c = mem_calloc(sizeof *c);
    c->origin = mem_calloc(sizeof(int) * NDIRECTIVES);
    char err[256];
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        args a;
        if (args_split(table[i].def, strlen(table[i].def), &a) != 0) abort();
        if (a.n == 0) {
            const char *empty = "";
            set_one(c, &table[i], &empty, 1, err, sizeof err);
        } else if (set_one(c, &table[i], (const char *const *)a.v, a.n, err, sizeof err) != 0) {
            abort(); /* a default that does not parse is a bug in the table */
        }
        args_free(&a);
    }
    return c;
}

config *config_copy(const config *src)
{
    config *c = mem_alloc(sizeof *c);
    *c = *src;
    c->origin = mem_alloc(sizeof(int) * NDIRECTIVES);
    memcpy(c->origin, src->origin, sizeof(int) * NDIRECTIVES);
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if ((table[i].type == T_STR || table[i].type == T_PATH) && table[i].off) {
            char **f = str_field(c, &table[i]);
            if (*f) *f = mem_strdup(*f);
        }
    }
    c->path = src->path ? mem_strdup(src->path) : NULL;
    c->base = src->base ? mem_strdup(src->base) : NULL;
    return c;
}

void config_free(config *c)
{
    if (!c) return;
    for (size_t i = 0; i < NDIRECTIVES; i++)
        if ((table[i].type == T_STR || table[i].type == T_PATH) && table[i].off)
            mem_free(*str_field(c, &table[i]));
    mem_free(c->origin);
    mem_free(c->path);
    mem_free(c->base);
    mem_free(c);
}

int config_set(config *c, const char *name, const char *const *argv, int argc, int runtime,
               int *immutable, char *err, size_t errlen)
{
    *immutable = 0;
    int i = config_find(name);
    if (i < 0) {
        *immutable = 2;
        snprintf(err, errlen, "unknown directive '%s'", name);
        return -1;
    }
    if (runtime && !(table[i].flags & MUTABLE)) {
        *immutable = 1;
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    }
    return set_one(c, &table[i], argv, argc, err, errlen);
}

static int apply_line(config *c, const char *where, int lineno, const char *line, size_t len,
                      char *err, size_t errlen)
{
    args a;
    if (args_split(line, len, &a) != 0) {
        snprintf(err, errlen, "%s:%d: unbalanced quotes", where, lineno);
        return -1;
    }
    if (a.n == 0) {
        args_free(&a);
        return 0;
    }
    int immutable;
    char why[256];
    int rc = config_set(c, a.v[0], (const char *const *)a.v + 1, a.n - 1, 0, &immutable, why,
                        sizeof why);
    if (rc != 0) {
        if (immutable == 2)
            snprintf(err, errlen, "%s:%d: unknown directive '%.64s'", where, lineno, a.v[0]);
        else
            snprintf(err, errlen, "%s:%d: '%s': %s", where, lineno, a.v[0], why);
    } else {
        c->origin[config_find(a.v[0])] = where == c->path ? lineno : -1;
    }
    args_free(&a);
    return rc;
}

int config_load(config *c, const char *path, int argc, char **argv, char *err, size_t errlen)
{
    char *abs = realpath(path, NULL);
    if (!abs) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    mem_free(c->path);
    c->path = mem_strdup(abs);
    free(abs);
    mem_free(c->base);
    c->base = mem_strdup(c->path);
    char *slash = strrchr(c->base, '/');
    if (slash) *slash = '\0';
    /* Defaults with relative paths are relative to the config file too. */
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if (table[i].type != T_PATH) continue;
        char **f = str_field(c, &table[i]);
        char *r = config_resolve(c, *f);
        mem_free(*f);
        *f = r;
    }
    FILE *f = fopen(c->path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", c->path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (apply_line(c, c->path, lineno, line, (size_t)len, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc != 0) return -1;
    /* Command line: --name value [value ...], applied after the file. */
    for (int i = 0; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            snprintf(err, errlen, "command line: expected --directive, got '%.64s'", argv[i]);
            return -1;
        }
        buf b = {0};
        buf_puts(&b, argv[i] + 2);
        int j = i + 1;
        for (; j < argc && strncmp(argv[j], "--", 2) != 0; j++) {
            buf_puts(&b, " \"");
            for (const char *p = argv[j]; *p; p++) {
                if (*p == '"' || *p == '\\') buf_putc(&b, '\\');
                buf_putc(&b, (uint8_t)*p);
            }
            buf_putc(&b, '"');
        }
        rc = apply_line(c, "command line", j - i, buf_cstr(&b), b.len, err, errlen);
        buf_free(&b);
        if (rc != 0) {
            /* Say which argument, not a line number. */
            char *colon = strstr(err, ": ");
            char tmp[512];
            snprintf(tmp, sizeof tmp, "command line: %s", colon ? colon + 2 : err);
            snprintf(err, errlen, "%s", tmp);
            return -1;
        }
        i = j;
    }
    return 0;
}

int config_origin(const config *c, const char *name, char *out, size_t outlen)
{
    int i = config_find(name);
    int o = i >= 0 ? c->origin[i] : 0;
    if (o > 0)
        snprintf(out, outlen, "%s:%d: '%s'", c->path, o, table[i].name);
    else if (o < 0)
        snprintf(out, outlen, "command line: --%s", table[i].name);
    else if (outlen)
        *out = '\0';
    return o != 0;
}

static void mem_text(buf *out, long long v)
{
    buf_printf(out, "%lld", v);
}

void config_get(const config *cc, size_t i, buf *out)
{
    config *c = (config *)cc;
    const directive *d = &table[i];
    switch (d->type) {
    case T_INT:
        if (d->off)
            buf_printf(out, "%d", *int_field(c, d));
        else
            buf_puts(out, d->def);
        break;
    case T_LL: buf_printf(out, "%lld", *ll_field(c, d)); break;
    case T_MEM: mem_text(out, *ll_field(c, d)); break;
    case T_BOOL: buf_puts(out, *int_field(c, d) ? "yes" : "no"); break;
    case T_ENUM:
        if (d->enums && d->off)
            buf_puts(out, d->enums[*int_field(c, d)]);
        else
            buf_puts(out, d->enums ? d->enums[0] : d->def);
        break;
    case T_STR:
    case T_PATH:
        if (d->off) buf_puts(out, *str_field(c, d) ? *str_field(c, d) : "");
        break;
    case T_OBUF:
        buf_printf(out, "normal %lld %lld %d pubsub %lld %lld %d", c->obuf_hard, c->obuf_soft,
                   c->obuf_soft_secs, c->obuf_ps_hard, c->obuf_ps_soft, c->obuf_ps_soft_secs);
        break;
    case T_DANGEROUS: {
        int first = 1;
        if (c->allow_flushall) {
            buf_puts(out, "flushall");
            first = 0;
        }
        if (c->allow_flushdb) {
            buf_puts(out, first ? "flushdb" : " flushdb");
            first = 0;
        }
        if (c->allow_keys) buf_puts(out, first ? "keys" : " keys");
        break;
    }
    }
}

void config_write_template(buf *out, int port)
{
    buf_puts(out, "# phidb.conf, written by `phidb init`.\n"
                  "#\n"
                  "# Same syntax as redis.conf: one directive per line, arguments separated by\n"
                  "# spaces, \"quotes\" for arguments with spaces. Relative paths are relative to\n"
                  "# the directory of this file. Any directive may also be given on the command\n"
                  "# line (phidb-server phidb.conf --port 7000); the command line wins.\n"
                  "# CONFIG SET changes the directives marked \"" CONFIG_RUNTIME_MARK "\";\n"
                  "# the others need a restart.\n\n");
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const directive *d = &table[i];
        buf_printf(out, "# %s\n", d->help);
        if (d->flags & MUTABLE) buf_puts(out, "# " CONFIG_RUNTIME_MARK "\n");
        if (strcmp(d->name, "port") == 0)
            buf_printf(out, "port %d\n\n", port);
        else
            buf_printf(out, "%s %s\n\n", d->name, d->def);
    }
}
