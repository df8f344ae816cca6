/*
 * cmd_table: every command phidb serves, as data (see cmd.h). Arity, flags,
 * categories and key positions follow Redis 7.0 so COMMAND INFO, ACL rules and
 * clients behave as they do against Redis. The access each key needs follows
 * Redis's key specifications: a key whose value is read needs %R, one that is
 * written needs %W, one read and written needs one pattern granting both, and
 * one only checked for existence, type or size (EXISTS, TYPE, STRLEN, HLEN,
 * HEXISTS, HSTRLEN) needs any pattern that matches it.
 */
#include "cmd.h"

#define R  ACL_KEY_READ
#define W  ACL_KEY_WRITE
#define RW (ACL_KEY_READ | ACL_KEY_WRITE)
#define C(x) ACL_CAT(x)

/* name, proc, arity, flags, categories, first, last, step, first_access, other_access */
#define CMD(n, p, a, f, cat, fk, lk, st, fa, oa, sum, since, grp)                                 \
    {n, p, a, f, cat, fk, lk, st, fa, oa, NULL, 0, sum, since, grp, 0}
#define CONTAINER(n, a, f, cat, subs, sum, since, grp)                                            \
    {n, NULL, a, f, cat, 0, 0, 0, 0, 0, subs, (int)(sizeof subs / sizeof subs[0]), sum, since, grp, 0}

static cmd_def client_subs[] = {
    CMD("id", client_id_cmd, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0, "Returns the unique client ID of the connection.",
        "5.0.0", "connection"),
    CMD("setname", client_setname_cmd, 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0, "Sets the connection name.", "2.6.9",
        "connection"),
    CMD("getname", client_getname_cmd, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0, "Returns the name of the connection.", "2.6.9",
        "connection"),
    CMD("info", client_info_cmd, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Returns information about the connection.", "6.2.0", "connection"),
    CMD("list", client_list_cmd, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Lists open connections.", "2.4.0", "connection"),
    CMD("kill", client_kill_cmd, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Terminates open connections.", "2.4.0", "connection"),
    CMD("no-evict", client_noevict_cmd, 3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Sets the client eviction mode of the connection (phidb evicts no client).", "7.0.0",
        "connection"),
    CMD("unblock", client_unblock_cmd, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Unblocks a client blocked by a blocking command (phidb has none).", "5.0.0",
        "connection"),
    CMD("getredir", client_getredir_cmd, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        "6.0.0", "connection"),
    CMD("trackinginfo", client_trackinginfo_cmd, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Returns information about server-assisted client-side caching for the connection.",
        "6.2.0", "connection"),
    CMD("help", client_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0, 0,
        0, 0, "Returns helpful text about the different subcommands.", "5.0.0", "connection"),
};

static cmd_def command_subs[] = {
    CMD("count", command_count_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0,
        0, 0, 0, "Returns a count of commands.", "2.8.13", "server"),
    CMD("info", command_info_cmd, -2, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0,
        0, 0, 0, "Returns information about one, multiple or all commands.", "2.8.13",
        "server"),
    CMD("docs", command_docs_cmd, -2, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0,
        0, 0, 0, "Returns documentary information about one, multiple or all commands.",
        "7.0.0", "server"),
    CMD("list", command_list_cmd, -2, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0,
        0, 0, 0, "Returns a list of command names.", "7.0.0", "server"),
    CMD("getkeys", command_getkeys_cmd, -4, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION),
        0, 0, 0, 0, 0, "Extracts the key names from an arbitrary command.", "2.8.13", "server"),
    CMD("getkeysandflags", command_getkeysandflags_cmd, -4, CMD_LOADING | CMD_STALE,
        C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Extracts the key names and access flags for an arbitrary command.", "7.0.0", "server"),
    CMD("help", command_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0, 0,
        0, 0, "Returns helpful text about the different subcommands.", "5.0.0", "server"),
};

static cmd_def config_subs[] = {
    CMD("get", config_get_cmd, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Returns the effective values of configuration parameters.", "2.0.0", "server"),
    CMD("set", config_set_cmd, -4, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Sets configuration parameters in-flight.", "2.0.0", "server"),
    CMD("resetstat", config_resetstat_cmd, 2,
        CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(ADMIN) | C(SLOW) | C(DANGEROUS),
        0, 0, 0, 0, 0, "Resets the server's statistics.", "2.0.0", "server"),
    CMD("rewrite", config_rewrite_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Persists the effective configuration to file.", "2.8.0", "server"),
    CMD("help", config_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "5.0.0", "server"),
};

static cmd_def slowlog_subs[] = {
    CMD("get", slowlog_get_cmd, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Returns the slow log's entries (command names only, never keys or values).", "2.2.12",
        "server"),
    CMD("len", slowlog_len_cmd, 2, CMD_ADMIN | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Returns the number of entries in the slow log.", "2.2.12", "server"),
    CMD("reset", slowlog_reset_cmd, 2, CMD_ADMIN | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0, "Clears all entries from the slow log.",
        "2.2.12", "server"),
    CMD("help", slowlog_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Show helpful text about the different subcommands", "6.2.0", "server"),
};

#define LAT_FLAGS CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE
#define LAT_CATS  C(ADMIN) | C(SLOW) | C(DANGEROUS)
static cmd_def latency_subs[] = {
    CMD("doctor", latency_doctor_cmd, 2, LAT_FLAGS, LAT_CATS, 0, 0, 0, 0, 0,
        "Returns a human-readable latency analysis report.", "2.8.13", "server"),
    CMD("histogram", latency_histogram_cmd, -2, LAT_FLAGS, LAT_CATS, 0, 0, 0, 0, 0,
        "Returns the cumulative distribution of latencies of a subset or all commands.", "7.0.0",
        "server"),
    CMD("history", latency_history_cmd, 3, LAT_FLAGS, LAT_CATS, 0, 0, 0, 0, 0,
        "Returns timestamp-latency samples for an event.", "2.8.13", "server"),
    CMD("latest", latency_latest_cmd, 2, LAT_FLAGS, LAT_CATS, 0, 0, 0, 0, 0,
        "Returns the latest latency samples for all events.", "2.8.13", "server"),
    CMD("reset", latency_reset_cmd, -2, LAT_FLAGS, LAT_CATS, 0, 0, 0, 0, 0,
        "Resets the latency data for one or more events.", "2.8.13", "server"),
    CMD("help", latency_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "2.8.13", "server"),
};

static cmd_def memory_subs[] = {
    CMD("usage", memory_usage_cmd, -3, CMD_READONLY, C(READ) | C(SLOW), 2, 2, 1, 0, 0,
        "Estimates the memory usage of a key (under a schema: of the fields the role may "
        "read).",
        "4.0.0", "server"),
    CMD("help", memory_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "4.0.0", "server"),
};

static cmd_def object_subs[] = {
    CMD("encoding", object_encoding_cmd, 3, CMD_READONLY, C(KEYSPACE) | C(READ) | C(SLOW), 2, 2, 1, 0, 0,
        "Returns the internal encoding of a Redis object (under a schema: for a role that reads "
        "the whole record as stored).",
        "2.2.3", "generic"),
    CMD("freq", object_freq_cmd, 3, CMD_READONLY, C(KEYSPACE) | C(READ) | C(SLOW), 2, 2, 1, 0, 0,
        "Returns the logarithmic access frequency counter of a Redis object.", "4.0.0",
        "generic"),
    CMD("help", object_help_cmd, 2, CMD_LOADING | CMD_STALE, C(KEYSPACE) | C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "6.2.0", "generic"),
    CMD("idletime", object_idletime_cmd, 3, CMD_READONLY, C(KEYSPACE) | C(READ) | C(SLOW), 2, 2, 1, 0, 0,
        "Returns the time since the last access to a Redis object (phidb keeps no access "
        "times).",
        "2.2.3", "generic"),
    CMD("refcount", object_refcount_cmd, 3, CMD_READONLY, C(KEYSPACE) | C(READ) | C(SLOW), 2, 2, 1, 0, 0,
        "Returns the reference count of a value of a key.", "2.2.3", "generic"),
};

static cmd_def pubsub_subs[] = {
    CMD("channels", pubsub_channels_cmd, -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE,
        C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0,
        "Returns the active channels (those the user's channel rules allow).", "2.8.0",
        "pubsub"),
    CMD("numpat", pubsub_numpat_cmd, 2, CMD_PUBSUB | CMD_LOADING | CMD_STALE,
        C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0, "Returns a count of unique pattern subscriptions.",
        "2.8.0", "pubsub"),
    CMD("numsub", pubsub_numsub_cmd, -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE,
        C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0, "Returns a count of subscribers to channels.",
        "2.8.0", "pubsub"),
    CMD("help", pubsub_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "6.2.0", "pubsub"),
};

#define ACL_ADMIN_FLAGS CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE
#define ACL_ADMIN_CATS  C(ADMIN) | C(SLOW) | C(DANGEROUS)
static cmd_def acl_subs[] = {
    CMD("setuser", acl_setuser_cmd, -3, ACL_ADMIN_FLAGS | CMD_NOMULTI, ACL_ADMIN_CATS, 0, 0, 0,
        0, 0, "Creates and modifies an ACL user and its rules.", "6.0.0", "server"),
    CMD("getuser", acl_getuser_cmd, 3, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Lists the ACL rules of a user.", "6.0.0", "server"),
    CMD("deluser", acl_deluser_cmd, -3, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Deletes ACL users, and terminates their connections.", "6.0.0", "server"),
    CMD("list", acl_list_cmd, 2, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Dumps the effective rules in ACL file format.", "6.0.0", "server"),
    CMD("users", acl_users_cmd, 2, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Lists all ACL users.", "6.0.0", "server"),
    CMD("whoami", acl_whoami_cmd, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0,
        0, 0, "Returns the authenticated username of the current connection.", "6.0.0",
        "server"),
    CMD("cat", acl_cat_cmd, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Lists the ACL categories, or the commands inside a category.", "6.0.0", "server"),
    CMD("genpass", acl_genpass_cmd, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(SLOW), 0, 0,
        0, 0, 0, "Generates a pseudorandom, secure password that can be used to identify ACL "
                 "users.", "6.0.0", "server"),
    CMD("log", acl_log_cmd, -2, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Lists recent security events generated due to ACL rules.", "6.0.0", "server"),
    CMD("save", acl_save_cmd, 2, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Saves the effective ACL rules in the configured ACL file.", "6.0.0", "server"),
    CMD("load", acl_load_cmd, 2, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Reloads the rules from the configured ACL file.", "6.0.0", "server"),
    CMD("dryrun", acl_dryrun_cmd, -4, ACL_ADMIN_FLAGS, ACL_ADMIN_CATS, 0, 0, 0, 0, 0,
        "Simulates the execution of a command by a user, without executing the command.",
        "7.0.0", "server"),
    CMD("help", acl_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "6.0.0", "server"),
};

static cmd_def keyring_subs[] = {
    CMD("status", phi_keyring_status_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Shows each key purpose's versions and how many items each still protects.", "phidb",
        "phidb"),
    CMD("rotate", phi_keyring_rotate_cmd, -2, CMD_ADMIN | CMD_NOSCRIPT,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Makes a new data key version current; old ones retire once nothing uses them.",
        "phidb", "phidb"),
    CMD("help", phi_keyring_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "phidb", "phidb"),
};

static cmd_def audit_subs[] = {
    CMD("prune", phi_audit_prune_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_NOMULTI,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Removes the audit segments past audit-retention-days, recording the prune first.",
        "phidb", "phidb"),
    CMD("help", phi_audit_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "phidb", "phidb"),
};

static cmd_def policy_subs[] = {
    CMD("reload", phi_policy_reload_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Reads the policy file again (all or nothing).", "phidb", "phidb"),
    CMD("show", phi_policy_show_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE,
        C(ADMIN) | C(SLOW), 0, 0, 0, 0, 0, "The policy in force, every default spelled out.",
        "phidb", "phidb"),
    CMD("help", phi_policy_help_cmd, 2, CMD_LOADING | CMD_STALE, C(SLOW), 0, 0, 0, 0, 0,
        "Returns helpful text about the different subcommands.", "phidb", "phidb"),
};

static cmd_def breakglass_subs[] = {
    CMD("list", phi_breakglass_list_cmd, 2, CMD_ADMIN | CMD_NOSCRIPT,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0, "Lists the live break-glass grants.",
        "phidb", "phidb"),
    CMD("revoke", phi_breakglass_revoke_cmd, 3, CMD_ADMIN | CMD_NOSCRIPT,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0, "Revokes a break-glass grant.",
        "phidb", "phidb"),
};

#define STR_R  C(READ) | C(STRING)
#define STR_W  C(WRITE) | C(STRING)
#define KS_R   C(KEYSPACE) | C(READ)
#define KS_W   C(KEYSPACE) | C(WRITE)
#define HASH_R C(READ) | C(HASH)
#define HASH_W C(WRITE) | C(HASH)
#define CONN   C(FAST) | C(CONNECTION)
#define TX     C(TRANSACTION)

static cmd_def commands[] = {
    /* connection */
    CMD("ping", ping_cmd, -1, CMD_FAST | CMD_NOAUTH, CONN, 0, 0, 0, 0,
        0, "Returns the server's liveliness response.", "1.0.0", "connection"),
    CMD("echo", echo_cmd, 2, CMD_FAST | CMD_LOADING | CMD_STALE, CONN, 0, 0, 0, 0, 0,
        "Returns the given string.", "1.0.0", "connection"),
    CMD("hello", hello_cmd, -1,
        CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOMULTI |
            CMD_ALLOW_BUSY, CONN, 0, 0, 0, 0, 0, "Handshakes with the server.", "6.0.0", "connection"),
    CMD("auth", auth_cmd, -2,
        CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOMULTI |
            CMD_ALLOW_BUSY, CONN, 0, 0, 0, 0, 0, "Authenticates the connection.", "1.0.0", "connection"),
    CMD("quit", quit_cmd, -1,
        CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_MULTICTL, CONN, 0,
        0, 0, 0, 0, "Closes the connection.", "1.0.0", "connection"),
    CMD("reset", reset_cmd, 1,
        CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_MULTICTL, CONN, 0,
        0, 0, 0, 0, "Resets the connection.", "6.2.0", "connection"),
    CMD("select", select_cmd, 2, CMD_FAST | CMD_LOADING | CMD_STALE, CONN, 0, 0, 0, 0, 0,
        "Changes the selected database (phidb has database 0 only).", "1.0.0", "connection"),
    CONTAINER("client", -2, 0, C(SLOW), client_subs,
              "A container for client connection commands.", "2.4.0", "connection"),
    {"command", command_cmd, -1, CMD_LOADING | CMD_STALE, C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0,
     command_subs, (int)(sizeof command_subs / sizeof command_subs[0]),
     "Returns detailed information about all commands.", "2.8.13", "server", 0},
    /* server */
    CMD("info", info_cmd, -1, CMD_LOADING | CMD_STALE, C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Returns information and statistics about the server.", "1.0.0", "server"),
    CMD("dbsize", dbsize_cmd, 1, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 0, 0, 0, 0, 0,
        "Returns the number of keys in the database.", "1.0.0", "server"),
    CMD("time", time_cmd, 1, CMD_LOADING | CMD_STALE | CMD_FAST, C(FAST), 0, 0, 0, 0, 0,
        "Returns the server time.", "2.6.0", "server"),
    CMD("role", role_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST,
        C(ADMIN) | C(FAST) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Returns the replication role (phidb: a primary without replicas).", "2.8.12", "server"),
    CMD("wait", wait_cmd, 3, CMD_NOSCRIPT, C(SLOW) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Blocks until the writes of the connection are acknowledged by replicas (phidb has none: "
        "0 at once).",
        "3.0.0", "generic"),
    CMD("shutdown", shutdown_cmd, -1,
        CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOMULTI | CMD_ALLOW_BUSY,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Stops the server: the durable log is fsynced and the audit trail closed first.",
        "1.0.0", "server"),
    CONTAINER("config", -2, 0, C(SLOW), config_subs,
              "A container for server configuration commands.", "2.0.0", "server"),
    CONTAINER("latency", -2, 0, C(SLOW), latency_subs,
              "A container for latency diagnostics commands.", "2.8.13", "server"),
    CONTAINER("slowlog", -2, 0, C(SLOW), slowlog_subs,
              "A container for slow log commands.", "2.2.12", "server"),
    CONTAINER("memory", -2, 0, C(SLOW), memory_subs, "A container for memory diagnostics commands.",
              "4.0.0", "server"),
    CONTAINER("object", -2, 0, C(SLOW), object_subs,
              "A container for object introspection commands.", "2.2.3", "generic"),
    CMD("flushdb", flushdb_cmd, -1, CMD_WRITE | CMD_DANGER, KS_W | C(SLOW) | C(DANGEROUS), 0, 0,
        0, 0, 0, "Removes all keys from the current database.", "1.0.0", "server"),
    CMD("flushall", flushall_cmd, -1, CMD_WRITE | CMD_DANGER, KS_W | C(SLOW) | C(DANGEROUS), 0,
        0, 0, 0, 0, "Removes all keys from all databases.", "1.0.0", "server"),
    CONTAINER("acl", -2, 0, C(SLOW), acl_subs, "A container for Access List Control commands.",
              "6.0.0", "server"),
    CMD("bgrewriteaof", bgrewriteaof_cmd, 1, CMD_ADMIN | CMD_NOSCRIPT,
        C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0,
        "Compacts the durable log in the background.", "1.0.0", "server"),
    CMD("phi.backup", phi_backup_cmd, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NOMULTI | CMD_SKIP_SLOWLOG, C(ADMIN) | C(SLOW) | C(DANGEROUS), 0, 0, 0, 0, 0, "Writes an encrypted, signed, verified backup (PHI.BACKUP [PATH] [PASSPHRASE pp] | STATUS | HELP).", "phidb", "phidb"),
    CONTAINER("phi.keyring", -2, 0, C(SLOW), keyring_subs,
              "Data keys: status and rotation.", "phidb", "phidb"),
    CONTAINER("phi.audit", -2, 0, C(SLOW), audit_subs, "The audit trail: retention.", "phidb",
              "phidb"),
    CMD("subscribe", subscribe_cmd, -2,
        CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0,
        "Listens for messages published to channels.", "2.0.0", "pubsub"),
    CMD("unsubscribe", unsubscribe_cmd, -1,
        CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0,
        "Stops listening to messages posted to channels.", "2.0.0", "pubsub"),
    CMD("psubscribe", psubscribe_cmd, -2,
        CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0,
        "Listens for messages published to channels that match one or more patterns.", "2.0.0",
        "pubsub"),
    CMD("punsubscribe", punsubscribe_cmd, -1,
        CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, C(PUBSUB) | C(SLOW), 0, 0, 0, 0, 0,
        "Stops listening to messages published to channels that match one or more patterns.",
        "2.0.0", "pubsub"),
    CONTAINER("pubsub", -2, 0, C(SLOW), pubsub_subs, "A container for Pub/Sub commands.",
              "2.8.0", "pubsub"),
    CMD("publish", publish_cmd, 3,
        CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST, C(PUBSUB) | C(FAST), 0, 0, 0, 0, 0,
        "Posts a message to a channel.", "2.0.0", "pubsub"),
    CONTAINER("phi.policy", -2, 0, C(SLOW), policy_subs, "The PHI access policy.", "phidb",
              "phidb"),
    CMD("phi.purpose", phi_purpose_cmd, -1, CMD_FAST | CMD_LOADING | CMD_STALE, C(FAST), 0, 0,
        0, 0, 0, "Sets (or shows) the session's purpose of use.", "phidb", "phidb"),
    {"phi.breakglass", phi_breakglass_cmd, -3, CMD_NOSCRIPT, C(SLOW), 0, 0, 0, 0, 0,
     breakglass_subs, (int)(sizeof breakglass_subs / sizeof breakglass_subs[0]),
     "Emergency read access to one subject's records, for a limited time, with a reason.",
     "phidb", "phidb", 0},
    CMD("phi.find", phi_find_cmd, 4, CMD_READONLY, C(READ) | C(SLOW), 0, 0, 0, 0, 0,
        "Keys of the records whose indexed field equals a value (blind index).", "phidb",
        "phidb"),
    CMD("phi.mfa", phi_mfa_cmd, 2, CMD_NOAUTH | CMD_FAST | CMD_NOMULTI | CMD_NOSCRIPT,
        C(FAST) | C(CONNECTION), 0, 0, 0, 0, 0,
        "Completes a login with a TOTP code (users with mfa=totp).", "phidb", "phidb"),
    CMD("phi.scan", phi_scan_cmd, 2, CMD_READONLY | CMD_FAST, C(READ) | C(FAST), 0, 0, 0, 0, 0,
        "Finds PHI in a text: start, end, type and score of each finding.", "phidb", "phidb"),
    CMD("phi.redact", phi_redact_cmd, -2, CMD_READONLY | CMD_FAST, C(READ) | C(FAST), 0, 0, 0, 0,
        0, "Returns a text with its PHI replaced by [TYPE] tags (or MASK, SURROGATE).",
        "phidb", "phidb"),
    /* strings */
    CMD("get", get_cmd, 2, CMD_READONLY | CMD_FAST, STR_R | C(FAST), 1, 1, 1, R, 0,
        "Returns the string value of a key.", "1.0.0", "string"),
    CMD("set", set_cmd, -3, CMD_WRITE | CMD_DENYOOM, STR_W | C(SLOW), 1, 1, 1, W, 0,
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
        "exist.", "1.0.0", "string"),
    CMD("setnx", setnx_cmd, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1, W,
        0, "Set the string value of a key only when the key doesn't exist.", "1.0.0", "string"),
    CMD("setex", setex_cmd, 4, CMD_WRITE | CMD_DENYOOM, STR_W | C(SLOW), 1, 1, 1, W, 0,
        "Sets the string value and expiration time of a key.", "2.0.0", "string"),
    CMD("psetex", psetex_cmd, 4, CMD_WRITE | CMD_DENYOOM, STR_W | C(SLOW), 1, 1, 1, W, 0,
        "Sets both string value and expiration time in milliseconds of a key.", "2.6.0",
        "string"),
    CMD("mget", mget_cmd, -2, CMD_READONLY | CMD_FAST, STR_R | C(FAST), 1, -1, 1, R, R,
        "Atomically returns the string values of one or more keys.", "1.0.0", "string"),
    CMD("mset", mset_cmd, -3, CMD_WRITE | CMD_DENYOOM, STR_W | C(SLOW), 1, -1, 2, W, W,
        "Atomically creates or modifies the string values of one or more keys.", "1.0.1",
        "string"),
    CMD("msetnx", msetnx_cmd, -3, CMD_WRITE | CMD_DENYOOM, STR_W | C(SLOW), 1, -1, 2, W, W,
        "Atomically modifies the string values of one or more keys only when all keys don't "
        "exist.", "1.0.1", "string"),
    CMD("getdel", getdel_cmd, 2, CMD_WRITE | CMD_FAST, STR_W | C(FAST), 1, 1, 1, RW, 0,
        "Returns the string value of a key after deleting the key.", "6.2.0", "string"),
    CMD("getex", getex_cmd, -2, CMD_WRITE | CMD_FAST, STR_W | C(FAST), 1, 1, 1, RW, 0,
        "Returns the string value of a key after setting its expiration time.", "6.2.0",
        "string"),
    CMD("getset", getset_cmd, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1,
        RW, 0, "Returns the previous string value of a key after setting it to a new value.",
        "1.0.0", "string"),
    CMD("append", append_cmd, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1,
        W, 0, "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        "2.0.0", "string"),
    CMD("setrange", setrange_cmd, 4, CMD_WRITE | CMD_DENYOOM, STR_W | C(SLOW), 1, 1, 1, W, 0,
        "Overwrites a part of a string value with another by an offset. Creates the key if it "
        "doesn't exist.", "2.2.0", "string"),
    CMD("strlen", strlen_cmd, 2, CMD_READONLY | CMD_FAST, STR_R | C(FAST), 1, 1, 1, 0, 0,
        "Returns the length of a string value.", "2.2.0", "string"),
    CMD("getrange", getrange_cmd, 4, CMD_READONLY, STR_R | C(SLOW), 1, 1, 1, R, 0,
        "Returns a substring of the string stored at a key.", "2.4.0", "string"),
    CMD("substr", getrange_cmd, 4, CMD_READONLY, STR_R | C(SLOW), 1, 1, 1, R, 0,
        "Returns a substring from a string value (deprecated: GETRANGE).", "1.0.0", "string"),
    CMD("incr", incr_cmd, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1, RW, 0,
        "Increments the integer value of a key by one. Uses 0 as initial value if the key "
        "doesn't exist.", "1.0.0", "string"),
    CMD("decr", decr_cmd, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1, RW, 0,
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key "
        "doesn't exist.", "1.0.0", "string"),
    CMD("incrby", incrby_cmd, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1,
        RW, 0, "Increments the integer value of a key by a number. Uses 0 as initial value if "
               "the key doesn't exist.", "1.0.0", "string"),
    CMD("decrby", decrby_cmd, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1, 1, 1,
        RW, 0, "Decrements a number from the integer value of a key. Uses 0 as initial value "
               "if the key doesn't exist.", "1.0.0", "string"),
    CMD("incrbyfloat", incrbyfloat_cmd, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, STR_W | C(FAST), 1,
        1, 1, RW, 0, "Increment the floating point value of a key by a number. Uses 0 as "
                     "initial value if the key doesn't exist.", "2.6.0", "string"),
    /* keys */
    CMD("del", del_cmd, -2, CMD_WRITE, KS_W | C(SLOW), 1, -1, 1, W, W,
        "Deletes one or more keys.", "1.0.0", "generic"),
    CMD("unlink", unlink_cmd, -2, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, -1, 1, W, W,
        "Asynchronously deletes one or more keys.", "4.0.0", "generic"),
    CMD("exists", exists_cmd, -2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, -1, 1, 0, 0,
        "Determines whether one or more keys exist.", "1.0.0", "generic"),
    /* phidb keeps no access times: TOUCH counts the keys that exist, as EXISTS does. */
    CMD("touch", exists_cmd, -2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, -1, 1, 0, 0,
        "Returns the number of existing keys out of those specified.", "3.2.1", "generic"),
    CMD("type", type_cmd, 2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, 1, 1, 0, 0,
        "Determines the type of value stored at a key.", "1.0.0", "generic"),
    CMD("expire", expire_cmd, -3, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, 1, 1, W, 0,
        "Sets the expiration time of a key in seconds.", "1.0.0", "generic"),
    CMD("pexpire", pexpire_cmd, -3, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, 1, 1, W, 0,
        "Sets the expiration time of a key in milliseconds.", "2.6.0", "generic"),
    CMD("expireat", expireat_cmd, -3, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, 1, 1, W, 0,
        "Sets the expiration time of a key to a Unix timestamp.", "1.2.0", "generic"),
    CMD("pexpireat", pexpireat_cmd, -3, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, 1, 1, W, 0,
        "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0",
        "generic"),
    CMD("expiretime", expiretime_cmd, 2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, 1, 1, R, 0,
        "Returns the expiration time of a key as a Unix timestamp.", "7.0.0", "generic"),
    CMD("pexpiretime", pexpiretime_cmd, 2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, 1, 1, R,
        0, "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0",
        "generic"),
    CMD("ttl", ttl_cmd, 2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, 1, 1, R, 0,
        "Returns the expiration time in seconds of a key.", "1.0.0", "generic"),
    CMD("pttl", pttl_cmd, 2, CMD_READONLY | CMD_FAST, KS_R | C(FAST), 1, 1, 1, R, 0,
        "Returns the expiration time in milliseconds of a key.", "2.6.0", "generic"),
    CMD("persist", persist_cmd, 2, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, 1, 1, W, 0,
        "Removes the expiration time of a key.", "2.2.0", "generic"),
    CMD("rename", rename_cmd, 3, CMD_WRITE, KS_W | C(SLOW), 1, 2, 1, RW, W,
        "Renames a key and overwrites the destination.", "1.0.0", "generic"),
    CMD("renamenx", renamenx_cmd, 3, CMD_WRITE | CMD_FAST, KS_W | C(FAST), 1, 2, 1, RW, W,
        "Renames a key only when the target key name doesn't exist.", "1.0.0", "generic"),
    CMD("copy", copy_cmd, -3, CMD_WRITE | CMD_DENYOOM, KS_W | C(SLOW), 1, 2, 1, R, W,
        "Copies the value of a key to a new key (not records under a schema).", "6.2.0",
        "generic"),
    CMD("scan", scan_cmd, -2, CMD_READONLY, KS_R | C(SLOW), 0, 0, 0, 0, 0,
        "Iterates over the key names in the database.", "2.8.0", "generic"),
    CMD("keys", keys_cmd, 2, CMD_READONLY | CMD_DANGER, KS_R | C(SLOW) | C(DANGEROUS), 0, 0, 0,
        0, 0, "Returns all key names that match a pattern.", "1.0.0", "generic"),
    CMD("randomkey", randomkey_cmd, 1, CMD_READONLY, KS_R | C(SLOW), 0, 0, 0, 0, 0,
        "Returns a random key name from the database.", "1.0.0", "generic"),
    /* hashes */
    CMD("hset", hset_cmd, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, HASH_W | C(FAST), 1, 1, 1, W,
        0, "Creates or modifies the value of a field in a hash.", "2.0.0", "hash"),
    CMD("hsetnx", hsetnx_cmd, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, HASH_W | C(FAST), 1, 1, 1, W,
        0, "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0",
        "hash"),
    CMD("hget", hget_cmd, 3, CMD_READONLY | CMD_FAST, HASH_R | C(FAST), 1, 1, 1, R, 0,
        "Returns the value of a field in a hash.", "2.0.0", "hash"),
    CMD("hmget", hmget_cmd, -3, CMD_READONLY | CMD_FAST, HASH_R | C(FAST), 1, 1, 1, R, 0,
        "Returns the values of all fields in a hash.", "2.0.0", "hash"),
    CMD("hmset", hmset_cmd, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, HASH_W | C(FAST), 1, 1, 1, W,
        0, "Sets the values of multiple fields.", "2.0.0", "hash"),
    CMD("hgetall", hgetall_cmd, 2, CMD_READONLY, HASH_R | C(SLOW), 1, 1, 1, R, 0,
        "Returns all fields and values in a hash.", "2.0.0", "hash"),
    CMD("hdel", hdel_cmd, -3, CMD_WRITE | CMD_FAST, HASH_W | C(FAST), 1, 1, 1, W, 0,
        "Deletes one or more fields and their values from a hash. Deletes the hash if no "
        "fields remain.", "2.0.0", "hash"),
    CMD("hexists", hexists_cmd, 3, CMD_READONLY | CMD_FAST, HASH_R | C(FAST), 1, 1, 1, 0, 0,
        "Determines whether a field exists in a hash.", "2.0.0", "hash"),
    CMD("hkeys", hkeys_cmd, 2, CMD_READONLY, HASH_R | C(SLOW), 1, 1, 1, R, 0,
        "Returns all fields in a hash.", "2.0.0", "hash"),
    CMD("hvals", hvals_cmd, 2, CMD_READONLY, HASH_R | C(SLOW), 1, 1, 1, R, 0,
        "Returns all values in a hash.", "2.0.0", "hash"),
    CMD("hlen", hlen_cmd, 2, CMD_READONLY | CMD_FAST, HASH_R | C(FAST), 1, 1, 1, 0, 0,
        "Returns the number of fields in a hash.", "2.0.0", "hash"),
    CMD("hstrlen", hstrlen_cmd, 3, CMD_READONLY | CMD_FAST, HASH_R | C(FAST), 1, 1, 1, 0, 0,
        "Returns the length of the value of a field.", "3.2.0", "hash"),
    CMD("hincrby", hincrby_cmd, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, HASH_W | C(FAST), 1, 1, 1,
        RW, 0, "Increments the integer value of a field in a hash by a number. Uses 0 as "
               "initial value if the field doesn't exist.", "2.0.0", "hash"),
    CMD("hincrbyfloat", hincrbyfloat_cmd, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, HASH_W | C(FAST),
        1, 1, 1, RW, 0, "Increments the floating point value of a field by a number. Uses 0 as "
                        "initial value if the field doesn't exist.", "2.6.0", "hash"),
    CMD("hscan", hscan_cmd, -3, CMD_READONLY, HASH_R | C(SLOW), 1, 1, 1, R, 0,
        "Iterates over fields and values of a hash.", "2.8.0", "hash"),
    CMD("hrandfield", hrandfield_cmd, -2, CMD_READONLY, HASH_R | C(SLOW), 1, 1, 1, R, 0,
        "Returns one or more random fields from a hash.", "6.2.0", "hash"),
    /* transactions */
    CMD("multi", multi_cmd, 1,
        CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MULTICTL | CMD_ALLOW_BUSY,
        TX | C(FAST), 0, 0, 0, 0, 0, "Starts a transaction.", "1.2.0", "transactions"),
    CMD("exec", exec_cmd, 1,
        CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_MULTICTL | CMD_SKIP_SLOWLOG,
        TX | C(SLOW), 0, 0, 0, 0, 0, "Executes all commands in a transaction.", "1.2.0",
        "transactions"),
    CMD("discard", discard_cmd, 1,
        CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MULTICTL | CMD_ALLOW_BUSY, TX | C(FAST), 0, 0, 0,
        0, 0, "Discards a transaction.", "2.0.0", "transactions"),
    CMD("watch", watch_cmd, -2,
        CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MULTICTL | CMD_ALLOW_BUSY, TX | C(FAST), 1, -1, 1,
        0, 0, "Monitors changes to keys to determine the execution of a transaction.", "2.2.0",
        "transactions"),
    CMD("unwatch", unwatch_cmd, 1,
        CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, TX | C(FAST), 0, 0, 0,
        0, 0, "Forgets about watched keys of a transaction.", "2.2.0", "transactions"),
};

const cmd_def *cmd_table(size_t *n)
{
    *n = sizeof commands / sizeof commands[0];
    return commands;
}
