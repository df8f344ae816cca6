/*
 * rclient: minimal RESP2 client over TLS (see rclient.h).
 */
#include "rclient.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_DEPTH 8
#define MAX_BULK  (512L << 20)

struct rclient {
    int fd;          /* socket */
    SSL_CTX *ctx;    /* TLS context */
    SSL *ssl;        /* connection */
    char *in;        /* bytes read, not yet parsed */
    size_t len, cap; /* their size */
};

static void ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char r[256] = "";
    if (e) ERR_error_string_n(e, r, sizeof r);
    snprintf(err, errlen, "%s%s%s", what, *r ? ": " : "", r);
}

rclient *rclient_connect(const char *host, int port, const char *ca, const char *cert,
                         const char *key, int timeout_s, char *err, size_t errlen)
{
    /* A server that goes away while a request is written (stopped, or killed by the drill
     * on Ctrl-C) is an error to report, not a SIGPIPE that kills the tool before it
     * reports or cleans up. The tools write nothing else to sockets or pipes that must
     * stop them. */
    signal(SIGPIPE, SIG_IGN);
    rclient *c = calloc(1, sizeof *c);
    c->fd = -1;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai) {
        snprintf(err, errlen, "cannot resolve %s", host);
        goto fail;
    }
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, errlen, "cannot connect to %s:%d", host, port);
        freeaddrinfo(ai);
        goto fail;
    }
    freeaddrinfo(ai);
    struct timeval tv = {timeout_s, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx || SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1) {
        ssl_err(err, errlen, "cannot load the CA certificate");
        goto fail;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    if (cert && key &&
        (SSL_CTX_use_certificate_file(c->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1)) {
        ssl_err(err, errlen, "cannot load the client certificate");
        goto fail;
    }
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set1_host(c->ssl, host);
    if (SSL_connect(c->ssl) != 1) {
        ssl_err(err, errlen, "TLS handshake failed");
        goto fail;
    }
    return c;
fail:
    rclient_close(c);
    return NULL;
}

void rclient_close(rclient *c)
{
    if (!c) return;
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    free(c->in);
    free(c);
}

void rreply_free(rreply *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        rreply_free(r->elem[i]);
    free(r->elem);
    free(r->str);
    free(r);
}

/* A line ending in \r\n at p: its length (without \r\n), or -1 when incomplete. */
static long line_len(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n') return (long)i;
    return -1;
}

static long parse(const char *p, size_t n, rreply **out, int depth)
{
    if (n < 1) return 0;
    if (depth > MAX_DEPTH) return -1;
    long ll = line_len(p + 1, n - 1);
    if (ll < 0) return n > 64 * 1024 ? -1 : 0;
    char line[64];
    int t = p[0];
    size_t used = 1 + (size_t)ll + 2;
    rreply *r = calloc(1, sizeof *r);
    r->type = t;
    if (t == '+' || t == '-') {
        r->str = strndup(p + 1, (size_t)ll);
        r->len = (size_t)ll;
        *out = r;
        return (long)used;
    }
    if (ll >= (long)sizeof line) goto bad;
    memcpy(line, p + 1, (size_t)ll);
    line[ll] = '\0';
    char *end;
    long long v = strtoll(line, &end, 10);
    if (*end || ll == 0) goto bad;
    if (t == ':') {
        r->i = v;
    } else if (t == '$') {
        if (v == -1) {
            r->type = RR_NIL;
        } else {
            if (v < 0 || v > MAX_BULK) goto bad;
            if (n - used < (size_t)v + 2) {
                free(r);
                return 0;
            }
            r->str = malloc((size_t)v + 1);
            memcpy(r->str, p + used, (size_t)v);
            r->str[v] = '\0';
            r->len = (size_t)v;
            used += (size_t)v + 2;
        }
    } else if (t == '*') {
        if (v == -1) {
            r->type = RR_NIL;
        } else {
            if (v < 0 || v > 1000000) goto bad;
            r->elem = calloc((size_t)v ? (size_t)v : 1, sizeof *r->elem);
            for (long long i = 0; i < v; i++) {
                long k = parse(p + used, n - used, &r->elem[i], depth + 1);
                if (k <= 0) {
                    rreply_free(r);
                    return k;
                }
                r->n++;
                used += (size_t)k;
            }
        }
    } else {
        goto bad;
    }
    *out = r;
    return (long)used;
bad:
    rreply_free(r);
    return -1;
}

long rclient_parse(const char *p, size_t n, rreply **out)
{
    return parse(p, n, out, 0);
}

rreply *rclient_call(rclient *c, int argc, const char **argv, char *err, size_t errlen)
{
    return rclient_callv(c, argc, argv, NULL, err, errlen);
}

rreply *rclient_callv(rclient *c, int argc, const char **argv, const size_t *lens, char *err,
                      size_t errlen)
{
    size_t need = 32;
    for (int i = 0; i < argc; i++)
        need += (lens ? lens[i] : strlen(argv[i])) + 32;
    char *cmd = malloc(need);
    size_t off = (size_t)snprintf(cmd, need, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t l = lens ? lens[i] : strlen(argv[i]);
        off += (size_t)snprintf(cmd + off, need - off, "$%zu\r\n", l);
        memcpy(cmd + off, argv[i], l);
        off += l;
        memcpy(cmd + off, "\r\n", 2);
        off += 2;
    }
    int w = SSL_write(c->ssl, cmd, (int)off);
    explicit_bzero(cmd, off); /* may hold a password */
    free(cmd);
    if (w != (int)off) {
        snprintf(err, errlen, "connection lost while sending");
        return NULL;
    }
    for (;;) {
        rreply *r = NULL;
        long k = parse(c->in, c->len, &r, 0);
        if (k < 0) {
            snprintf(err, errlen, "protocol error in the server's reply");
            return NULL;
        }
        if (k > 0) {
            memmove(c->in, c->in + k, c->len - (size_t)k);
            c->len -= (size_t)k;
            return r;
        }
        if (c->cap - c->len < 16384) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->in = realloc(c->in, c->cap);
        }
        int got = SSL_read(c->ssl, c->in + c->len, (int)(c->cap - c->len));
        if (got <= 0) {
            snprintf(err, errlen, "connection lost or timed out while waiting for the reply");
            return NULL;
        }
        c->len += (size_t)got;
    }
}
