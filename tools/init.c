/*
 * init: `phidb init DIR [--port N]`, a ready-to-run data directory.
 *
 *   DIR/phidb.conf        every directive, commented (from the config table)
 *   DIR/tls/ca.crt        private CA (its key is not kept: nothing else is ever
 *                         signed with it, so there is no CA key to steal)
 *   DIR/tls/server.crt    server certificate for localhost, 127.0.0.1 and ::1
 *   DIR/tls/server.key
 *   DIR/tls/client.crt    client certificate, CN=admin
 *   DIR/tls/client.key
 *   DIR/master.key        256-bit master key, 0600, outside DIR/data
 *   DIR/data/users.acl    user admin: +@all, which never grants the dangerous commands
 *                         (FLUSHALL, FLUSHDB, KEYS: by name and allow-dangerous-commands only)
 *   DIR/admin.password    admin's random password, 0600 (also printed once)
 *
 * Files are created with O_EXCL so an existing directory is never overwritten. When a step
 * fails, what this run created (and only that) is removed again, so init can be re-run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "access/acl.h"
#include "config.h"
#include "initdir.h"
#include "tools.h"
#include "util/buf.h"

#define USAGE "usage: phidb init DIR [--port N]\n"

int init_cli_main(int argc, char **argv)
{
    const char *dir = NULL;
    long port = 6380;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0) {
            char *end;
            if (i + 1 == argc) {
                fprintf(stderr, "phidb init: --port needs a value (a number from 1 to 65535)\n");
                return 2;
            }
            port = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || port < 1 || port > 65535) {
                fprintf(stderr, "phidb init: --port needs a number from 1 to 65535\n");
                return 2;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf(USAGE "  creates DIR/phidb.conf, DIR/tls/ (a private CA, server and client\n"
                         "  certificates), DIR/master.key, DIR/data/users.acl and\n"
                         "  DIR/admin.password; --port: the TLS port in phidb.conf (6380)\n");
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "phidb init: unknown option %s\n" USAGE, argv[i]);
            return 2;
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, USAGE);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, USAGE);
        return 2;
    }
    umask(077);
    char path[4096];
    snprintf(path, sizeof path, "%s/phidb.conf", dir);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "phidb init: %s already exists; refusing to overwrite an existing "
                        "data directory\n", path);
        return 1;
    }
    /* Everything made from here on is recorded, and removed again if a later step fails,
     * so that a failed init can simply be run again. */
    initdir_undo made = {0};
    char pw[33] = "", pwline[34] = "";
    int bad;
    if (initdir_mkdir(&made, dir)) goto fail;
    snprintf(path, sizeof path, "%s/tls", dir);
    if (initdir_mkdir(&made, path)) goto fail;
    snprintf(path, sizeof path, "%s/data", dir);
    if (initdir_mkdir(&made, path)) goto fail;
    if (initdir_make_tls(&made, dir)) goto fail;

    uint8_t mk[32];
    char mkhex[65];
    RAND_bytes(mk, sizeof mk);
    initdir_hex(mk, sizeof mk, mkhex);
    mkhex[64] = '\n';
    snprintf(path, sizeof path, "%s/master.key", dir);
    bad = initdir_write_file(&made, path, mkhex, 65, 0600);
    OPENSSL_cleanse(mk, sizeof mk);
    OPENSSL_cleanse(mkhex, sizeof mkhex);
    if (bad) goto fail;

    initdir_random_password(pw, 32);
    config *defaults = config_new();
    acl_opts o;
    acl_opts_default(&o);
    o.argon2_memory_kib = (uint32_t)defaults->argon2_memory_kib;
    o.argon2_time = (uint32_t)defaults->argon2_time;
    o.argon2_lanes = (uint32_t)defaults->argon2_lanes;
    config_free(defaults);
    char hash[256];
    if (acl_hash_password(&o, (const uint8_t *)pw, strlen(pw), hash, sizeof hash) != 0) {
        fprintf(stderr, "phidb init: password hashing failed\n");
        goto fail;
    }
    buf users = {0};
    buf_printf(&users, "user admin on #%s ~* &* +@all\n", hash);
    snprintf(path, sizeof path, "%s/data/users.acl", dir);
    bad = initdir_write_file(&made, path, users.p, users.len, 0600);
    buf_free(&users);
    if (bad) goto fail;
    snprintf(pwline, sizeof pwline, "%s\n", pw);
    snprintf(path, sizeof path, "%s/admin.password", dir);
    if (initdir_write_file(&made, path, pwline, strlen(pwline), 0600)) goto fail;

    buf conf = {0};
    config_write_template(&conf, (int)port);
    snprintf(path, sizeof path, "%s/phidb.conf", dir);
    bad = initdir_write_file(&made, path, conf.p, conf.len, 0600);
    buf_free(&conf);
    if (bad) goto fail;
    initdir_undo_forget(&made);

    printf("Created %s\n"
           "  config:        %s/phidb.conf (TLS port %ld)\n"
           "  certificates:  %s/tls/ (ca.crt, server.*, client.*)\n"
           "  master key:    %s/master.key (keep it off the data disk and out of backups)\n"
           "  data:          %s/data/\n"
           "User 'admin' password (shown once; also in %s/admin.password, mode 0600):\n"
           "  %s\n"
           "Start the server:  phidb-server %s/phidb.conf\n"
           "Connect:           redis-cli --tls --cacert %s/tls/ca.crt -p %ld --user admin "
           "--askpass\n",
           dir, dir, port, dir, dir, dir, dir, pw, dir, dir, port);
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(pwline, sizeof pwline);
    return 0;
fail:
    initdir_undo_run(&made);
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(pwline, sizeof pwline);
    fprintf(stderr,
            "phidb init: what this run created was removed; fix the cause and run it again\n");
    return 1;
}
