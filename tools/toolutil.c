/*
 * toolutil: shared helpers of the backup and restore tools (see toolutil.h).
 */
#include "toolutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

config *tool_load_config(const char *prog, const char *arg)
{
    char conf[PATH_MAX], err[1024];
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, arg, strerror(errno));
        return NULL;
    }
    if (S_ISREG(st.st_mode)) {
        snprintf(conf, sizeof conf, "%s", arg);
    } else {
        snprintf(conf, sizeof conf, "%s/phidb.conf", arg);
        if (!is_file(conf)) snprintf(conf, sizeof conf, "%s/../phidb.conf", arg);
        if (!is_file(conf)) {
            fprintf(stderr, "%s: no phidb.conf in %s (give the directory made by phidb init)\n",
                    prog, arg);
            return NULL;
        }
    }
    config *c = config_new();
    if (config_load(c, conf, 0, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        config_free(c);
        return NULL;
    }
    return c;
}

int tool_parse_long(const char *prog, const char *opt, const char *text, long min, long max,
                    long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "%s: %s needs a whole number from %ld to %ld, not '%s'\n", prog, opt, min,
                max, text);
        return -1;
    }
    *out = v;
    return 0;
}

keyring_kek_source tool_kek_source(const config *c)
{
    keyring_kek_source s = {NULL, NULL, NULL};
    if (c->master_key_command && *c->master_key_command)
        s.command = c->master_key_command;
    else if (c->master_key_passphrase)
        s.passphrase = getenv("PHIDB_PASSPHRASE");
    else
        s.key_file = c->master_key_file;
    return s;
}

int tool_read_passphrase(const char *prog, const char *path, char *out, size_t outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: cannot read passphrase file %s: %s\n", prog, path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        fprintf(stderr,
                "%s: passphrase file %s is readable or writable by group or others (mode %03o); "
                "run chmod 600 on it\n",
                prog, path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, out, outlen - 1);
    close(fd);
    if (n < 0) n = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "%s: passphrase file %s is empty\n", prog, path);
        return -1;
    }
    return 0;
}

int tool_lock_dir(const char *prog, const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/phidb.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -2;
    }
    /* Ours now: what the last server wrote (its pid and port) is stale. A tool that finds
     * the directory locked while we hold it must not take that port for a live server. */
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
        fprintf(stderr, "%s: cannot rewrite %s: %s\n", prog, path, strerror(errno));
    return fd;
}

int tool_lock_dir_offline(const char *prog, const char *dir)
{
    int fd = tool_lock_dir(prog, dir);
    if (fd == -2)
        fprintf(stderr,
                "%s: the data directory %s is in use (is phidb-server running?); stop the "
                "server first\n",
                prog, dir);
    return fd >= 0 ? fd : -1;
}

int tool_server_port(const config *c)
{
    char path[PATH_MAX], text[128];
    snprintf(path, sizeof path, "%s/phidb.lock", c->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return c->port;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    const char *p = strstr(text, "\nport ");
    if (!p) return c->port; /* a server too old to say, or still starting */
    char *end;
    long port = strtol(p + 6, &end, 10);
    return *end == '\n' && port >= 1 && port <= 65535 ? (int)port : c->port;
}

rclient *tool_admin_connect(const char *prog, const config *c, int timeout_s)
{
    char pwpath[PATH_MAX], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], pw[256], err[512];
    snprintf(pwpath, sizeof pwpath, "%s/admin.password", c->base);
    if (tool_read_passphrase(prog, pwpath, pw, sizeof pw) != 0) return NULL;
    snprintf(ca, sizeof ca, "%s", c->tls_ca_cert_file ? c->tls_ca_cert_file : "");
    snprintf(cert, sizeof cert, "%s/tls/client.crt", c->base);
    snprintf(key, sizeof key, "%s/tls/client.key", c->base);
    int have_cert = is_file(cert) && is_file(key);
    int port = tool_server_port(c);
    rclient *r = rclient_connect("127.0.0.1", port, ca, have_cert ? cert : NULL,
                                 have_cert ? key : NULL, timeout_s, err, sizeof err);
    if (!r) {
        fprintf(stderr, "%s: cannot reach the running server on port %d: %s\n", prog, port, err);
        OPENSSL_cleanse(pw, sizeof pw);
        return NULL;
    }
    const char *argv[] = {"AUTH", "admin", pw};
    rreply *rep = rclient_call(r, 3, argv, err, sizeof err);
    OPENSSL_cleanse(pw, sizeof pw);
    if (!rep || rep->type == RR_ERROR) {
        fprintf(stderr, "%s: login as admin failed: %s\n", prog, rep ? rep->str : err);
        rreply_free(rep);
        rclient_close(r);
        return NULL;
    }
    rreply_free(rep);
    return r;
}

int tool_asks_help(int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}
