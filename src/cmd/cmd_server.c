/*
 * cmd_server: INFO DBSIZE TIME COMMAND CONFIG FLUSHDB FLUSHALL.
 *
 * CONFIG SET is all or nothing: every pair is checked on a copy of the
 * configuration first; only when all are valid (and a new TLS context, if a
 * tls-* directive changed, has been built) does the copy replace the live one.
 */
#include "cmd.h"
#include "cmd_policy.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd/persist.h"
#include "cmd/cmd_audit.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secmem.h"
#include "util/strutil.h"

/* Apply a changed configuration to the running modules (server.c provides it). */
int srv_apply_config(srv *s, const config *next, const char *changed, char *err, size_t errlen);
const char *srv_version(void);

/* ---- INFO ---- */

static void human(char *out, size_t n, double bytes)
{
    const char *units = "BKMGTP";
    int u = 0;
    while (bytes >= 1024 && u < 5) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%.0fB", bytes);
    else
        snprintf(out, n, "%.2f%c", bytes, units[u]);
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static int want(client *c, const char *section, int is_default)
{
    if (c->argc == 1) return is_default;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, section) || arg_is(c, i, "all") || arg_is(c, i, "everything")) return 1;
        if (arg_is(c, i, "default") && is_default) return 1;
    }
    return 0;
}

void info_cmd(client *c)
{
    srv *s = c->s;
    buf b = {0};
    long long now = clock_ms();
    int may_count = cmd_policy_may_count(c);
    if (want(c, "server", 1)) {
        struct utsname un;
        uname(&un);
        buf_printf(&b,
                   "# Server\r\nredis_version:7.0.0\r\nphidb_version:%s\r\nredis_mode:standalone"
                   "\r\nos:%s %s %s\r\narch_bits:64\r\nprocess_id:%d\r\nrun_id:%s\r\n"
                   "tcp_port:%d\r\nserver_time_usec:%lld\r\nuptime_in_seconds:%lld\r\n"
                   "uptime_in_days:%lld\r\nhz:%d\r\nconfig_file:%s\r\ntls:yes\r\n\r\n",
                   srv_version(), un.sysname, un.release, un.machine, (int)getpid(), s->run_id,
                   s->cfg->port, clock_us(), (now - s->start_ms) / 1000,
                   (now - s->start_ms) / 86400000, s->cfg->hz, s->cfg->path ? s->cfg->path : "");
    }
    if (want(c, "clients", 1)) {
        size_t blocked = 0;
        for (client *x = s->clients; x; x = x->next)
            if (x->flags & CL_BLOCKED) blocked++;
        buf_printf(&b,
                   "# Clients\r\nconnected_clients:%zu\r\nmaxclients:%d\r\nblocked_clients:%zu\r\n"
                   "auth_jobs_pending:%zu\r\n\r\n",
                   s->nclients, s->cfg->maxclients, blocked, workq_pending(s->authq));
    }
    if (want(c, "memory", 1)) {
        char h1[32], h2[32], h3[32];
        size_t used = mem_used(), rss = rss_bytes();
        human(h1, sizeof h1, (double)used);
        human(h2, sizeof h2, (double)rss);
        human(h3, sizeof h3, (double)s->cfg->maxmemory);
        buf_puts(&b, "# Memory\r\n");
        /* Memory grows by the size of what is written: for sessions that may count records. */
        if (may_count)
            buf_printf(&b,
                       "used_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                       "used_memory_rss_human:%s\r\n",
                       used, h1, rss, h2);
        buf_printf(&b,
                   "maxmemory:%lld\r\nmaxmemory_human:%s\r\n"
                   "maxmemory_policy:noeviction\r\nkey_schedules:%s\r\n"
                   "secure_heap_used:%zu\r\nsecure_heap_fallbacks:%llu\r\n"
                   "key_pages_not_locked:%llu\r\n\r\n",
                   s->cfg->maxmemory, h3,
                   secmem_state() == 1   ? "locked"
                   : secmem_state() == 2 ? "not-locked"
                                         : "ordinary-heap",
                   CRYPTO_secure_used(), secmem_fallbacks(), keyring_unlocked_allocs());
    }
    if (want(c, "persistence", 1)) persist_info(s, &b, may_count);
    if (want(c, "audit", 1)) srv_audit_info(s, &b, may_count);
    if (want(c, "stats", 1)) {
        const srv_stats *st = &s->st;
        buf_printf(&b,
                   "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld"
                   "\r\ninstantaneous_ops_per_sec:%lld\r\n",
                   st->conns_received, st->commands, st->ops_per_sec);
        /* Counts that tell which records exist, come and go, and byte counts that grow by
         * the size of every value written or read: for sessions that may count records (as
         * DBSIZE). */
        if (may_count)
            buf_printf(&b,
                       "total_net_input_bytes:%lld\r\ntotal_net_output_bytes:%lld\r\n"
                       "expired_keys:%lld\r\nkeyspace_hits:%lld\r\nkeyspace_misses:%lld\r\n",
                       st->net_in, st->net_out, (long long)db_expired_count(s->db), st->hits,
                       st->misses);
        buf_printf(&b, "rejected_connections:%lld\r\n", st->conns_rejected);
        buf_printf(&b,
                   "pubsub_channels:%zu\r\npubsub_patterns:%zu\r\n"
                   "auth_successes:%lld\r\nauth_cached_successes:%lld\r\nauth_failures:%lld\r\n"
                   "auth_lockouts:%lld\r\ntls_rejected_connections:%lld\r\n"
                   "dlp_findings:%lld\r\ntotal_error_replies:%lld\r\n\r\n",
                   dict_size(&s->channels), dict_size(&s->patterns), st->auth_ok, st->auth_cached,
                   st->auth_fail, st->lockouts, st->tls_failures, st->dlp_findings,
                   st->error_replies);
    }
    if (want(c, "replication", 1)) buf_printf(&b, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    if (want(c, "cpu", 1)) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        buf_printf(&b, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n\r\n",
                   (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, (long)ru.ru_utime.tv_sec,
                   (long)ru.ru_utime.tv_usec);
    }
    /* Sections in Redis 7.0's order: modules (none), commandstats (not by default),
     * errorstats, latencystats (not by default), cluster. */
    if (want(c, "modules", 1)) buf_puts(&b, "# Modules\r\n\r\n");
    if (want(c, "commandstats", 0)) {
        buf_puts(&b, "# Commandstats\r\n");
        for (size_t i = 0; i < s->ncatalog; i++) {
            const cmd_stat *cs = &s->cmdstats[i];
            if (!cs->calls && !cs->rejected && !cs->failed) continue;
            buf_printf(&b,
                       "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                       "failed_calls=%llu\r\n",
                       s->catalog[i].name, cs->calls, cs->usec,
                       cs->calls ? (double)cs->usec / (double)cs->calls : 0.0, cs->rejected,
                       cs->failed);
        }
        buf_puts(&b, "\r\n");
    }
    if (want(c, "errorstats", 1)) {
        buf_puts(&b, "# Errorstats\r\n");
        for (int i = 0; i < s->nerrstats; i++)
            buf_printf(&b, "errorstat_%s:count=%llu\r\n", s->errstats[i].code,
                       s->errstats[i].count);
        buf_puts(&b, "\r\n");
    }
    if (want(c, "latencystats", 0)) latency_info(s, &b);
    if (want(c, "cluster", 1)) buf_puts(&b, "# Cluster\r\ncluster_enabled:0\r\n\r\n");
    if (want(c, "keyspace", 1)) {
        buf_puts(&b, "# Keyspace\r\n");
        if (db_size(s->db) && may_count)
            buf_printf(&b, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", db_size(s->db),
                       db_expires(s->db));
        buf_puts(&b, "\r\n");
    }
    /* Redis ends without the blank line after the last section. */
    if (b.len >= 2) b.len -= 2;
    rep_verbatim(c, b.p ? (const char *)b.p : "", b.len);
    buf_free(&b);
}

void dbsize_cmd(client *c)
{
    rep_int(c, (long long)db_size(c->s->db));
}

void time_cmd(client *c)
{
    long long us = clock_us();
    rep_array(c, 2);
    char tmp[24];
    rep_bulk(c, tmp, str_from_ll(tmp, us / 1000000));
    rep_bulk(c, tmp, str_from_ll(tmp, us % 1000000));
}

/* ROLE: phidb is a primary without replicas (Redis's reply for a master with none). */
void role_cmd(client *c)
{
    rep_array(c, 3);
    rep_cstr(c, "master");
    rep_int(c, 0);
    rep_array(c, 0);
}

/* WAIT numreplicas timeout: how many replicas acknowledged the client's writes. phidb has
 * none, so 0 at once; Redis would first wait out the timeout when numreplicas > 0 (for
 * ever with 0), to give the same 0. Arguments are checked as Redis checks them. */
void wait_cmd(client *c)
{
    long long n, timeout;
    if (arg_ll(c, 1, &n) != 0) return;
    if (str_to_ll(c->argv[2].p, c->argv[2].len, &timeout) != 0) {
        rep_err(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        rep_err(c, "ERR timeout is negative");
        return;
    }
    rep_int(c, 0);
}

/* SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT], with Redis's syntax rules. The server
 * stops as on SIGTERM: replies already made go out, the durable log is written and
 * fsynced, the audit trail is closed (its record of this command included), and the
 * process exits 0. SAVE and NOSAVE change nothing (there is no snapshot: the log always
 * holds every acknowledged write); nothing waits, so there is never a shutdown to ABORT.
 * As in Redis, the client gets no reply: its connection closes. */
void shutdown_cmd(client *c)
{
    int save = 0, nosave = 0, other = 0, abort_ = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "nosave"))
            nosave = 1;
        else if (arg_is(c, i, "save"))
            save = 1;
        else if (arg_is(c, i, "now") || arg_is(c, i, "force"))
            other = 1;
        else if (arg_is(c, i, "abort"))
            abort_ = 1;
        else {
            rep_syntax(c);
            return;
        }
    }
    if ((abort_ && (save || nosave || other)) || (save && nosave)) {
        rep_syntax(c);
        return;
    }
    if (abort_) {
        rep_err(c, "ERR No shutdown in progress.");
        return;
    }
    log_notice("SHUTDOWN by user %s from %s, shutting down", c->username ? c->username : "?",
               c->addr);
    /* Who asked: a stop record of this session (the trail's last record, written when the
     * server has stopped, is a stop record without a user, as after SIGTERM). */
    cmd_audit_event(c->s, c, AUDIT_EV_STOP, AUDIT_GRANTED, NULL, "shutdown", NULL, NULL);
    c->s->shutdown = 1;
    ev_stop(c->s->loop);
    c->flags |= CL_CLOSE_AFTER; /* its pipelined commands after SHUTDOWN do not run */
}

/* ---- COMMAND ---- */

static void flag_names(client *c, uint32_t f)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{CMD_WRITE, "write"},     {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
                 {CMD_ADMIN, "admin"},     {CMD_PUBSUB, "pubsub"},     {CMD_NOSCRIPT, "noscript"},
                 {CMD_LOADING, "loading"}, {CMD_STALE, "stale"},       {CMD_FAST, "fast"},
                 {CMD_NOAUTH, "no_auth"},  {CMD_NOMULTI, "no_multi"},
                 {CMD_ALLOW_BUSY, "allow_busy"}, {CMD_SKIP_SLOWLOG, "skip_slowlog"}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) n++;
    rep_set(c, n);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) rep_simple(c, names[i].name);
}

static void cat_names(client *c, uint64_t cats)
{
    size_t n = 0;
    for (int i = 0; i < ACL_CAT_COUNT; i++)
        if (cats & (1ULL << i)) n++;
    rep_set(c, n);
    for (int i = 0; i < ACL_CAT_COUNT; i++) {
        if (cats & (1ULL << i)) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "@%s", acl_category_name(i));
            rep_simple(c, tmp);
        }
    }
}

/* One key spec: keys from argument index `begin`, lastkey relative to it, with the flags
 * from which Redis's rule gives back the ACL access the keys need: ACCESS -> %R, UPDATE ->
 * %W, neither -> any pattern. */
static void keyspec_one(client *c, int access, int begin, int lastkey, int step)
{
    int r = (access & ACL_KEY_READ) != 0, w = (access & ACL_KEY_WRITE) != 0;
    rep_map(c, 3);
    rep_cstr(c, "flags");
    rep_set(c, (size_t)(1 + r + w));
    rep_simple(c, r && w ? "RW" : (w ? "OW" : "RO"));
    if (r) rep_simple(c, "access");
    if (w) rep_simple(c, "update");
    rep_cstr(c, "begin_search");
    rep_map(c, 2);
    rep_cstr(c, "type");
    rep_cstr(c, "index");
    rep_cstr(c, "spec");
    rep_map(c, 1);
    rep_cstr(c, "index");
    rep_int(c, begin);
    rep_cstr(c, "find_keys");
    rep_map(c, 2);
    rep_cstr(c, "type");
    rep_cstr(c, "range");
    rep_cstr(c, "spec");
    rep_map(c, 3);
    rep_cstr(c, "lastkey");
    rep_int(c, lastkey);
    rep_cstr(c, "keystep");
    rep_int(c, step);
    rep_cstr(c, "limit");
    rep_int(c, 0);
}

/* Key specs are a set in RESP3, as Redis 7.0 sends them. */
static void keyspec(client *c, const cmd_def *d)
{
    if (d->first_key <= 0) {
        rep_set(c, 0);
        return;
    }
    int lastkey = d->last_key < 0 ? d->last_key : d->last_key - d->first_key;
    if (d->other_access == d->first_access || lastkey == 0) {
        rep_set(c, 1);
        keyspec_one(c, d->first_access, d->first_key, lastkey, d->key_step);
        return;
    }
    /* The first key needs other access than the rest (RENAME: the source is read and
     * deleted, the destination only written): one spec each, as Redis gives them. */
    int next = d->first_key + d->key_step;
    rep_set(c, 2);
    keyspec_one(c, d->first_access, d->first_key, 0, 1);
    keyspec_one(c, d->other_access, next, d->last_key < 0 ? d->last_key : d->last_key - next,
                d->key_step);
}

static void command_entry(client *c, const cmd_def *d, const cmd_def *parent)
{
    char name[96];
    cmd_fullname(d, parent, name, sizeof name);
    rep_array(c, 10);
    rep_cstr(c, name);
    rep_int(c, d->arity);
    flag_names(c, d->flags);
    rep_int(c, d->first_key);
    rep_int(c, d->last_key);
    rep_int(c, d->key_step);
    cat_names(c, d->categories);
    rep_set(c, 0); /* tips */
    keyspec(c, d);
    if (d->nsubs)
        rep_array(c, (size_t)d->nsubs);
    else
        rep_set(c, 0); /* as Redis: no subcommands is an empty set, some an array */
    for (int i = 0; i < d->nsubs; i++)
        command_entry(c, &d->subs[i], d);
}

void command_cmd(client *c)
{
    if (c->argc > 1) {
        rep_errf(c, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
                 (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), (const char *)c->argv[1].p);
        return;
    }
    size_t n;
    const cmd_def *t = cmd_table(&n);
    rep_array(c, n);
    for (size_t i = 0; i < n; i++)
        command_entry(c, &t[i], NULL);
}

void command_count_cmd(client *c)
{
    size_t n;
    cmd_table(&n);
    rep_int(c, (long long)n);
}

/* Find "name" or "name|sub". */
static const cmd_def *find_full(const arg *a, const cmd_def **parent)
{
    *parent = NULL;
    const uint8_t *bar = memchr(a->p, '|', a->len);
    if (!bar) return cmd_lookup(a->p, a->len);
    const cmd_def *top = cmd_lookup(a->p, (size_t)(bar - a->p));
    if (!top) return NULL;
    size_t sl = a->len - (size_t)(bar - a->p) - 1;
    for (int i = 0; i < top->nsubs; i++) {
        if (strlen(top->subs[i].name) == sl && str_eq_nocase(bar + 1, sl, top->subs[i].name)) {
            *parent = top;
            return &top->subs[i];
        }
    }
    return NULL;
}

void command_info_cmd(client *c)
{
    if (c->argc == 2) {
        /* COMMAND INFO without names: every command, as COMMAND does. */
        size_t n;
        const cmd_def *t = cmd_table(&n);
        rep_array(c, n);
        for (size_t i = 0; i < n; i++)
            command_entry(c, &t[i], NULL);
        return;
    }
    rep_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        const cmd_def *parent;
        const cmd_def *d = find_full(&c->argv[i], &parent);
        if (d)
            command_entry(c, d, parent);
        else
            rep_null(c);
    }
}

static void doc_entry(client *c, const cmd_def *d)
{
    rep_map(c, d->nsubs ? 4 : 3);
    rep_cstr(c, "summary");
    rep_cstr(c, d->summary ? d->summary : "");
    rep_cstr(c, "since");
    rep_cstr(c, d->since ? d->since : "7.0.0");
    rep_cstr(c, "group");
    rep_cstr(c, d->group ? d->group : "server");
    if (d->nsubs) {
        rep_cstr(c, "subcommands");
        rep_map(c, (size_t)d->nsubs);
        for (int i = 0; i < d->nsubs; i++) {
            char name[96];
            cmd_fullname(&d->subs[i], d, name, sizeof name);
            rep_cstr(c, name);
            doc_entry(c, &d->subs[i]);
        }
    }
}

void command_docs_cmd(client *c)
{
    size_t n;
    const cmd_def *t = cmd_table(&n);
    if (c->argc == 2) {
        rep_map(c, n);
        for (size_t i = 0; i < n; i++) {
            rep_cstr(c, t[i].name);
            doc_entry(c, &t[i]);
        }
        return;
    }
    size_t found = 0;
    for (int i = 2; i < c->argc; i++) {
        const cmd_def *parent;
        if (find_full(&c->argv[i], &parent)) found++;
    }
    rep_map(c, found);
    for (int i = 2; i < c->argc; i++) {
        const cmd_def *parent;
        const cmd_def *d = find_full(&c->argv[i], &parent);
        if (!d) continue;
        char name[96];
        cmd_fullname(d, parent, name, sizeof name);
        rep_cstr(c, name);
        doc_entry(c, d);
    }
}

void command_list_cmd(client *c)
{
    size_t n;
    const cmd_def *t = cmd_table(&n);
    const arg *pattern = NULL;
    int cat = -1;
    if (c->argc == 5 && arg_is(c, 2, "filterby")) {
        if (arg_is(c, 3, "pattern"))
            pattern = &c->argv[4];
        else if (arg_is(c, 3, "aclcat")) {
            for (int i = 0; i < ACL_CAT_COUNT; i++)
                if (str_eq_nocase(c->argv[4].p, c->argv[4].len, acl_category_name(i))) cat = i;
            if (cat < 0) {
                rep_array(c, 0);
                return;
            }
        } else if (arg_is(c, 3, "module")) {
            rep_array(c, 0);
            return;
        } else {
            rep_syntax(c);
            return;
        }
    } else if (c->argc != 2) {
        rep_syntax(c);
        return;
    }
    buf names = {0};
    size_t count = 0;
    unsigned long long left = STR_GLOB_BUDGET;
    for (size_t i = 0; i < n; i++) {
        for (int j = -1; j < t[i].nsubs; j++) {
            const cmd_def *d = j < 0 ? &t[i] : &t[i].subs[j];
            char name[96];
            cmd_fullname(d, j < 0 ? NULL : &t[i], name, sizeof name);
            int m = pattern ? str_glob_budget(pattern->p, pattern->len, (const uint8_t *)name,
                                              strlen(name), 1, &left)
                            : 1;
            if (m < 0) {
                rep_listing(c, &names, 0, 1);
                return;
            }
            if (!m) continue;
            if (cat >= 0 && !(d->categories & (1ULL << cat))) continue;
            resp_bulk(&names, name, strlen(name));
            count++;
        }
    }
    rep_listing(c, &names, count, 0);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS <command> <args ...>: the keys a command would use,
 * from the command table's key positions (what the access decision and the audit record
 * use), with Redis's errors. */
static void getkeys(client *c, int with_flags)
{
    const arg *av = c->argv + 2;
    int ac = c->argc - 2;
    const cmd_def *parent;
    const cmd_def *d = cmd_resolve(av, ac, &parent);
    if (!d) {
        rep_err(c, "ERR Invalid command specified");
        return;
    }
    if (d->arity > 0 ? ac != d->arity : ac < -d->arity) {
        rep_err(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    if (d->first_key <= 0 || d->first_key >= ac) {
        rep_err(c, "ERR The command has no key arguments");
        return;
    }
    int last = d->last_key < 0 ? ac + d->last_key : d->last_key;
    if (last >= ac) last = ac - 1;
    int step = d->key_step > 0 ? d->key_step : 1;
    size_t n = 0;
    for (int i = d->first_key; i <= last; i += step)
        n++;
    rep_array(c, n);
    for (int i = d->first_key; i <= last; i += step) {
        if (!with_flags) {
            rep_bulk(c, av[i].p, av[i].len);
            continue;
        }
        int acc = cmd_key_access(d, av, ac, i);
        int r = (acc & ACL_KEY_READ) != 0, w = (acc & ACL_KEY_WRITE) != 0;
        rep_array(c, 2);
        rep_bulk(c, av[i].p, av[i].len);
        rep_set(c, (size_t)(1 + r + w));
        rep_simple(c, r && w ? "RW" : (w ? "OW" : "RO"));
        if (r) rep_simple(c, "access");
        if (w) rep_simple(c, "update");
    }
}

void command_getkeys_cmd(client *c)
{
    getkeys(c, 0);
}

void command_getkeysandflags_cmd(client *c)
{
    getkeys(c, 1);
}

void command_help_cmd(client *c)
{
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full command.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}

/* ---- CONFIG ---- */

void config_get_cmd(client *c)
{
    size_t n = config_count();
    char *seen = mem_calloc(n);
    size_t matched = 0;
    for (int a = 2; a < c->argc; a++)
        for (size_t i = 0; i < n; i++) {
            const char *name = config_name(i);
            if (!seen[i] && str_glob(c->argv[a].p, c->argv[a].len, (const uint8_t *)name,
                                     strlen(name), 1)) {
                seen[i] = 1;
                matched++;
            }
        }
    rep_map(c, matched);
    buf v = {0};
    for (size_t i = 0; i < n; i++) {
        if (!seen[i]) continue;
        /* An exact (non-glob) name is echoed as the client wrote it, as Redis does. */
        const arg *as_given = NULL;
        for (int a = 2; a < c->argc && !as_given; a++)
            if (!memchr(c->argv[a].p, '*', c->argv[a].len) &&
                !memchr(c->argv[a].p, '?', c->argv[a].len) &&
                !memchr(c->argv[a].p, '[', c->argv[a].len) &&
                str_eq_nocase(c->argv[a].p, c->argv[a].len, config_name(i)))
                as_given = &c->argv[a];
        if (as_given)
            rep_bulk(c, as_given->p, as_given->len);
        else
            rep_cstr(c, config_name(i));
        v.len = 0;
        config_get(c->s->cfg, i, &v);
        rep_bulk(c, v.p ? (const char *)v.p : "", v.len);
    }
    buf_free(&v);
    mem_free(seen);
}

void config_set_cmd(client *c)
{
    if ((c->argc - 2) % 2 != 0) {
        rep_err(c, "ERR wrong number of arguments for 'config|set' command");
        return;
    }
    srv *s = c->s;
    /* As Redis does: every name is looked up and checked for repeats first (errors name
     * the argument as given), then the values are parsed (errors name the directive). */
    for (int i = 2; i < c->argc; i += 2) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(c->argv[i].len > 100 ? 100 : c->argv[i].len),
                 (const char *)c->argv[i].p);
        int k = memchr(c->argv[i].p, 0, c->argv[i].len) ? -1 : config_find(name);
        if (k < 0) {
            rep_errf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", name);
            return;
        }
        for (int j = 2; j < i; j += 2) {
            char prev[128];
            snprintf(prev, sizeof prev, "%.*s", (int)(c->argv[j].len > 100 ? 100 : c->argv[j].len),
                     (const char *)c->argv[j].p);
            if (config_find(prev) == k) {
                rep_errf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - "
                            "duplicate parameter",
                         name);
                return;
            }
        }
    }
    config *next = config_copy(s->cfg);
    buf changed = {0};
    int ok = 1;
    for (int i = 2; i < c->argc && ok; i += 2) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(c->argv[i].len > 100 ? 100 : c->argv[i].len),
                 (const char *)c->argv[i].p);
        const char *canon = config_name((size_t)config_find(name));
        char *value = mem_strndup((const char *)c->argv[i + 1].p, c->argv[i + 1].len);
        const char *av[1] = {value};
        int immutable;
        char why[256];
        if (config_set(next, canon, av, 1, 1, &immutable, why, sizeof why) != 0) {
            rep_errf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", canon,
                     why);
            ok = 0;
        } else { /* canonical names: srv_apply_config looks for them */
            buf_puts(&changed, canon);
            buf_putc(&changed, ' ');
        }
        mem_free(value);
    }
    if (ok) {
        char why[512];
        if (srv_apply_config(s, next, buf_cstr(&changed), why, sizeof why) != 0) {
            rep_errf(c, "ERR CONFIG SET failed - %s", why);
            ok = 0;
        }
    }
    if (ok) {
        /* The audit record of each change, old and new value (no directive holds a secret:
         * passphrases and keys are files or commands). */
        for (int i = 2; i < c->argc; i += 2) {
            char name[128];
            snprintf(name, sizeof name, "%.*s",
                     (int)(c->argv[i].len > 100 ? 100 : c->argv[i].len),
                     (const char *)c->argv[i].p);
            int k = config_find(name);
            if (k < 0) continue;
            buf ov = {0}, nv = {0};
            config_get(s->cfg, (size_t)k, &ov);
            config_get(next, (size_t)k, &nv);
            cmd_audit_change(s, c, AUDIT_EV_CONFIG, "set", config_name((size_t)k),
                             buf_cstr(&ov), buf_cstr(&nv));
            buf_free(&ov);
            buf_free(&nv);
        }
        /* next becomes the live config; the old one is freed. */
        config *old = s->cfg;
        s->cfg = next;
        config_free(old);
        rep_ok(c);
        log_notice("configuration changed by user %s: %s", c->username ? c->username : "?",
                   buf_cstr(&changed));
    } else {
        config_free(next);
    }
    buf_free(&changed);
}

void config_resetstat_cmd(client *c)
{
    srv *s = c->s;
    memset(&s->st, 0, sizeof s->st);
    memset(s->cmdstats, 0, sizeof(cmd_stat) * s->ncatalog);
    db_expired_count_reset(s->db);
    s->nerrstats = 0;
    rep_ok(c);
}

/* CONFIG REWRITE: phidb.conf gets the running values (config_rewrite.c). */
void config_rewrite_cmd(client *c)
{
    char err[512];
    if (!c->s->cfg->path || !*c->s->cfg->path) {
        rep_err(c, "ERR The server is running without a config file");
        return;
    }
    if (config_rewrite(c->s->cfg, err, sizeof err) != 0) {
        log_warning("CONFIG REWRITE failed: %s", err);
        cmd_audit_event(c->s, c, AUDIT_EV_CONFIG, AUDIT_FAILED, NULL, "rewrite", err, NULL);
        rep_errf(c, "ERR Rewriting config file: %s", err);
        return;
    }
    log_notice("CONFIG REWRITE executed with success.");
    cmd_audit_event(c->s, c, AUDIT_EV_CONFIG, AUDIT_GRANTED, NULL, "rewrite", NULL, NULL);
    rep_ok(c);
}

void config_help_cmd(client *c)
{
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}

/* ---- FLUSHDB / FLUSHALL ---- */

static void flush_generic(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "sync") && !arg_is(c, 1, "async"))) {
        rep_syntax(c);
        return;
    }
    size_t n = db_size(c->s->db);
    db_flush(c->s->db);
    log_warning("%s by user %s removed %zu keys", c->cmd->name,
                c->username ? c->username : "?", n);
    rep_ok(c);
}

void flushdb_cmd(client *c)
{
    flush_generic(c);
}

void flushall_cmd(client *c)
{
    flush_generic(c);
}
