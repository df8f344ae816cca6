/*
 * checklog: `phidb check-log DIR [--repair]`, the offline check of the
 * durable log (DIR/phidb.log under the `dir` directive).
 *
 * DIR is the directory `phidb init` made (holding phidb.conf); a path to the
 * config file, or the data directory itself when its config sits one level up
 * (the init layout, which is what the server's load error names), work too.
 * The config gives `dir` and `master-key-file`; the keyring is <dir>/keyring
 * and is opened read-only (never created). A passphrase keyring takes its
 * passphrase from PHIDB_PASSPHRASE, as the server does.
 *
 * Output names files, offsets and counts, never record contents. Exit status:
 * 0 the log is good (or was repaired), 1 damaged or unreadable, 2 bad usage.
 * --repair refuses while the server holds the log open (file lock).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "store/aof.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "tools.h"
#include "toolutil.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: phidb check-log DIR [--repair]\n"
                 "  DIR: the directory made by phidb init (or its phidb.conf)\n"
                 "  --repair: keep a copy of a damaged log, then cut it after the last good "
                 "record\n");
    return 2;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Find the config for arg into conf. Returns 0, or -1 (message printed). */
static int find_config(const char *arg, char *conf, size_t len)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "phidb check-log: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode)) {
        snprintf(conf, len, "%s", arg);
        return 0;
    }
    snprintf(conf, len, "%s/phidb.conf", arg);
    if (is_file(conf)) return 0;
    /* The data directory of the init layout: use the config one level up if its `dir` is
     * this directory. */
    snprintf(conf, len, "%s/../phidb.conf", arg);
    if (is_file(conf)) {
        char err[512];
        char *want = realpath(arg, NULL);
        config *c = config_new();
        int ok = config_load(c, conf, 0, NULL, err, sizeof err) == 0 && want && c->dir;
        char *have = ok ? realpath(c->dir, NULL) : NULL;
        ok = ok && have && strcmp(have, want) == 0;
        free(have);
        free(want);
        config_free(c);
        if (ok) return 0;
    }
    fprintf(stderr,
            "phidb check-log: no phidb.conf in %s (give the directory made by phidb "
            "init)\n",
            arg);
    return -1;
}

int checklog_cli_main(int argc, char **argv)
{
    const char *arg = NULL;
    int repair = 0, rc = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repair") == 0) {
            repair = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || arg) {
            return usage(stderr);
        } else {
            arg = argv[i];
        }
    }
    if (!arg) return usage(stderr);

    char conf[PATH_MAX], krpath[PATH_MAX], logpath[PATH_MAX], err[1024];
    if (find_config(arg, conf, sizeof conf) != 0) return 2;
    config *c = config_new();
    keyring *k = NULL;
    sealer *s = NULL;
    if (config_load(c, conf, 0, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "phidb check-log: %s\n", err);
        goto out_config;
    }
    snprintf(krpath, sizeof krpath, "%s/keyring", c->dir);
    snprintf(logpath, sizeof logpath, "%s/phidb.log", c->dir);
    if (access(krpath, F_OK) != 0) {
        fprintf(stderr,
                "phidb check-log: no keyring at %s (the server has not run with this "
                "directory yet), so there is no log to check\n",
                krpath);
        goto out_config;
    }
    if (access(logpath, F_OK) != 0) {
        printf("OK: no log at %s yet: nothing to check\n", logpath);
        rc = 0;
        goto out_config;
    }
    keyring_kek_source src = tool_kek_source(c); /* as the server reads phidb.conf */
    k = keyring_open(krpath, &src, 0, err, sizeof err);
    if (!k) {
        fprintf(stderr, "phidb check-log: %s\n", err);
        goto out_config;
    }
    s = seal_new(k, KR_LOG);

    aof_check_report r;
    if (!repair) {
        int st = aof_check(logpath, s, &r, err, sizeof err);
        if (st < 0) {
            fprintf(stderr, "phidb check-log: %s\n", err);
        } else if (st == 0) {
            printf("OK: %s: %llu records, %llu bytes\n", logpath, r.records, r.size);
            rc = 0;
        } else {
            printf("DAMAGED: %s: %s\n"
                   "  %llu good records end at offset %llu of %llu bytes\n",
                   logpath, r.problem, r.records, r.good_end, r.size);
            if (r.torn)
                printf("  a torn tail (an interrupted last write): the server cuts it by itself "
                       "at start-up,\n  keeping the cut bytes in phidb.log.torn-<ms>\n");
            printf("  to keep a copy and cut the log at offset %llu: phidb check-log %s "
                   "--repair\n",
                   r.good_end, arg);
        }
    } else {
        if (aof_repair(logpath, s, &r, err, sizeof err) != 0) {
            fprintf(stderr, "phidb check-log: %s\n", err);
        } else if (!r.copy[0]) {
            printf("OK: %s: %llu records, %llu bytes; nothing to repair\n", logpath, r.records,
                   r.size);
            rc = 0;
        } else {
            printf("REPAIRED: %s: %s\n"
                   "  dropped %llu bytes from offset %llu; %llu good records kept\n"
                   "  the damaged file was copied to %s\n",
                   logpath, r.problem, r.size - r.good_end, r.good_end, r.records, r.copy);
            if (r.good_end == 0)
                printf("  nothing was good: the log was removed, and the server will start with "
                       "an empty keyspace\n");
            rc = 0;
        }
    }
    seal_free(s);
    keyring_close(k);
out_config:
    config_free(c);
    return rc;
}
