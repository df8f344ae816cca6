/*
 * conn: TLS connections (see conn.h).
 *
 * Non-blocking OpenSSL: every SSL_* call that returns WANT_READ/WANT_WRITE is
 * reported as CONN_AGAIN, and conn_wants tells the caller which event to wait
 * for. The error queue is cleared before each call because it is per thread
 * and a stale error would be blamed on the wrong connection.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/ev.h"
#include "util/mem.h"

struct tls_ctx {
    SSL_CTX *ctx; /* owned reference */
};

typedef struct conn_type {
    int (*handshake)(conn *c);
    ssize_t (*read)(conn *c, void *buf, size_t n);
    ssize_t (*write)(conn *c, const void *buf, size_t n);
    size_t (*pending)(conn *c);
    void (*close)(conn *c);
} conn_type;

struct conn {
    const conn_type *type; /* transport implementation */
    int fd;                /* socket, owned */
    SSL *ssl;              /* TLS state, owned */
    int wants;             /* EV_READ/EV_WRITE needed after CONN_AGAIN */
    int peeked;            /* first byte checked to be a TLS handshake record */
    int established;       /* handshake finished */
    char err[160];         /* reason of the last CONN_ERR */
};

/* ---- TLS context ---- */

static void set_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[128] = "";
    if (e) ERR_error_string_n(e, reason, sizeof reason);
    snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", reason);
    ERR_clear_error();
}

static int parse_protocols(const char *s, int *minv, int *maxv)
{
    int have12 = 0, have13 = 0;
    if (!s || !*s) s = "TLSv1.2 TLSv1.3";
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", s);
    for (char *save = NULL, *tok = strtok_r(tmp, " ,", &save); tok;
         tok = strtok_r(NULL, " ,", &save)) {
        if (strcasecmp(tok, "TLSv1.2") == 0)
            have12 = 1;
        else if (strcasecmp(tok, "TLSv1.3") == 0)
            have13 = 1;
        else
            return -1;
    }
    if (!have12 && !have13) return -1;
    *minv = have12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    *maxv = have13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    return 0;
}

/* phidb's TLS 1.2 list when tls-ciphers is empty: ECDHE/DHE key exchange, AEAD only. */
#define TLS12_DEFAULT "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"

/* Refuse a context that offers anything but AEAD suites. 0, or -1 with err. */
static int aead_only(SSL_CTX *ctx, char *err, size_t errlen)
{
    STACK_OF(SSL_CIPHER) *list = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(list); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);
        if (!SSL_CIPHER_is_aead(c)) {
            snprintf(err, errlen, "cipher %s is not an AEAD cipher; only AEAD suites are allowed",
                     SSL_CIPHER_get_name(c));
            return -1;
        }
    }
    return 0;
}

int tls_check_setting(const char *name, const char *value, char *err, size_t errlen)
{
    int minv, maxv, rc = 0;
    if (strcmp(name, "tls-protocols") == 0) {
        if (parse_protocols(value, &minv, &maxv) == 0) return 0;
        snprintf(err, errlen, "tls-protocols accepts only TLSv1.2 and TLSv1.3");
        return -1;
    }
    int ciphers = strcmp(name, "tls-ciphers") == 0;
    if ((!ciphers && strcmp(name, "tls-ciphersuites") != 0) || !value || !*value) return 0;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        set_err(err, errlen, "cannot create TLS context");
        return -1;
    }
    /* The TLS 1.3 suites are checked beside phidb's TLS 1.2 default, not OpenSSL's (which
     * has CBC ciphers and would refuse every value). */
    if (ciphers ? !SSL_CTX_set_cipher_list(ctx, value)
                : !SSL_CTX_set_cipher_list(ctx, TLS12_DEFAULT) ||
                      !SSL_CTX_set_ciphersuites(ctx, value)) {
        set_err(err, errlen,
                ciphers ? "tls-ciphers selects no usable cipher" : "tls-ciphersuites is not valid");
        rc = -1;
    } else {
        rc = aead_only(ctx, err, errlen);
    }
    SSL_CTX_free(ctx);
    return rc;
}

tls_ctx *tls_ctx_new(const tls_conf *conf, char *err, size_t errlen)
{
    int minv, maxv;
    ERR_clear_error();
    if (parse_protocols(conf->protocols, &minv, &maxv) != 0) {
        snprintf(err, errlen, "tls-protocols accepts only TLSv1.2 and TLSv1.3");
        return NULL;
    }
    if (!conf->cert_file || !conf->key_file) {
        snprintf(err, errlen, "tls-cert-file and tls-key-file are required");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        set_err(err, errlen, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, minv);
    SSL_CTX_set_max_proto_version(ctx, maxv);
    /* CLEANSE_PLAINTEXT: OpenSSL wipes decrypted application data from its read buffer
     * once it is delivered, so request bytes (values) do not linger there. */
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_RENEGOTIATION | SSL_OP_CLEANSE_PLAINTEXT);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char sid[] = "phidb";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);

    const char *ciphers = conf->ciphers && *conf->ciphers ? conf->ciphers : TLS12_DEFAULT;
    if (!SSL_CTX_set_cipher_list(ctx, ciphers)) {
        set_err(err, errlen, "tls-ciphers selects no usable cipher");
        goto fail;
    }
    if (conf->ciphersuites && *conf->ciphersuites &&
        !SSL_CTX_set_ciphersuites(ctx, conf->ciphersuites)) {
        set_err(err, errlen, "tls-ciphersuites is not valid");
        goto fail;
    }
    /* AEAD only: whatever the strings said, refuse a context that offers anything else. */
    if (aead_only(ctx, err, errlen) != 0) goto fail;

    if (SSL_CTX_use_certificate_chain_file(ctx, conf->cert_file) != 1) {
        char what[600];
        snprintf(what, sizeof what, "cannot load certificate %s", conf->cert_file);
        set_err(err, errlen, what);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, conf->key_file, SSL_FILETYPE_PEM) != 1) {
        char what[600];
        snprintf(what, sizeof what, "cannot load private key %s", conf->key_file);
        set_err(err, errlen, what);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        set_err(err, errlen, "tls-key-file does not match tls-cert-file");
        goto fail;
    }
    if (conf->ca_file && *conf->ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, conf->ca_file, NULL) != 1) {
            char what[600];
            snprintf(what, sizeof what, "cannot load CA certificates %s", conf->ca_file);
            set_err(err, errlen, what);
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(conf->ca_file);
        if (names) SSL_CTX_set_client_CA_list(ctx, names);
    } else if (conf->auth != TLS_AUTH_NO) {
        snprintf(err, errlen, "tls-auth-clients needs tls-ca-cert-file");
        goto fail;
    }
    switch (conf->auth) {
    case TLS_AUTH_NO: SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); break;
    case TLS_AUTH_OPTIONAL: SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); break;
    case TLS_AUTH_YES:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    }
    tls_ctx *t = mem_alloc(sizeof *t);
    t->ctx = ctx;
    return t;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(tls_ctx *t)
{
    if (!t) return;
    SSL_CTX_free(t->ctx);
    mem_free(t);
}

/* ---- sockets ---- */

int conn_listen(const char *addr, int port, int backlog, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (addr && strcmp(addr, "*") == 0) addr = NULL;
    int rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve bind address %s: %s", addr ? addr : "*",
                 gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *p = res; p; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, backlog) == 0) break;
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr ? addr : "*", port,
                 strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        port = ntohs(s->sin6_port);
    }
    snprintf(out, outlen, "%s:%d", ip, port);
}

int conn_accept_fd(int lfd, char *peer, size_t peerlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    format_addr(&ss, peer, peerlen);
    return fd;
}

void conn_local_addr(const conn *c, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(out, outlen, "?");
        return;
    }
    format_addr(&ss, out, outlen);
}

/* ---- TLS transport ---- */

static int tls_status(conn *c, int ret, const char *what)
{
    int e = SSL_get_error(c->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ: c->wants = EV_READ; return CONN_AGAIN;
    case SSL_ERROR_WANT_WRITE: c->wants = EV_WRITE; return CONN_AGAIN;
    case SSL_ERROR_ZERO_RETURN: return CONN_EOF;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
                snprintf(c->err, sizeof c->err, "connection closed by peer");
                return ret == 0 ? CONN_EOF : CONN_ERR;
            }
            snprintf(c->err, sizeof c->err, "%s: %s", what, strerror(errno));
            return CONN_ERR;
        }
        /* fall through */
    default: set_err(c->err, sizeof c->err, what); return CONN_ERR;
    }
}

static int tls_handshake(conn *c)
{
    if (c->established) return 1;
    if (!c->peeked) {
        unsigned char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->wants = EV_READ;
            return CONN_AGAIN;
        }
        if (n <= 0) {
            snprintf(c->err, sizeof c->err, "connection closed before the TLS handshake");
            return CONN_ERR;
        }
        if (b != 0x16) {
            snprintf(c->err, sizeof c->err, "not a TLS client (plaintext refused)");
            return CONN_ERR;
        }
        c->peeked = 1;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_accept(c->ssl);
    if (r == 1) {
        c->established = 1;
        return 1;
    }
    int st = tls_status(c, r, "TLS handshake failed");
    return st == CONN_EOF ? CONN_ERR : st;
}

static ssize_t tls_read(conn *c, void *buf, size_t n)
{
    ERR_clear_error();
    errno = 0;
    size_t got = 0;
    int r = SSL_read_ex(c->ssl, buf, n, &got);
    if (r == 1) return (ssize_t)got;
    return tls_status(c, 0, "TLS read failed");
}

static ssize_t tls_write(conn *c, const void *buf, size_t n)
{
    ERR_clear_error();
    errno = 0;
    size_t put = 0;
    int r = SSL_write_ex(c->ssl, buf, n, &put);
    if (r == 1) return (ssize_t)put;
    int st = tls_status(c, 0, "TLS write failed");
    return st == CONN_EOF ? CONN_ERR : st;
}

static size_t tls_pending(conn *c)
{
    return (size_t)SSL_pending(c->ssl);
}

static void tls_close(conn *c)
{
    if (c->ssl) {
        if (c->established) {
            ERR_clear_error();
            SSL_shutdown(c->ssl); /* best effort close_notify; never waits */
        }
        SSL_free(c->ssl);
    }
    ERR_clear_error();
    close(c->fd);
}

static const conn_type conn_tls = {
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .close = tls_close,
};

conn *conn_new_tls(int fd, tls_ctx *t)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl) {
        ERR_clear_error();
        close(fd);
        return NULL;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    conn *c = mem_calloc(sizeof *c);
    c->type = &conn_tls;
    c->fd = fd;
    c->ssl = ssl;
    c->wants = EV_READ;
    return c;
}

int conn_handshake(conn *c)
{
    return c->type->handshake(c);
}

ssize_t conn_read(conn *c, void *buf, size_t n)
{
    return c->type->read(c, buf, n);
}

ssize_t conn_write(conn *c, const void *buf, size_t n)
{
    return c->type->write(c, buf, n);
}

size_t conn_pending(conn *c)
{
    return c->type->pending(c);
}

int conn_buffered(conn *c)
{
    return c->type->pending(c) > 0 || (c->ssl && SSL_has_pending(c->ssl));
}

int conn_wants(conn *c)
{
    return c->wants;
}

int conn_fd(const conn *c)
{
    return c->fd;
}

const char *conn_error(const conn *c)
{
    return c->err[0] ? c->err : "unknown error";
}

const char *conn_tls_version(const conn *c)
{
    return c->ssl ? SSL_get_version(c->ssl) : "";
}

const char *conn_tls_cipher(const conn *c)
{
    return c->ssl ? SSL_get_cipher_name(c->ssl) : "";
}

int conn_peer_cn(const conn *c, char *out, size_t outlen)
{
    if (!c->ssl || SSL_get_verify_result(c->ssl) != X509_V_OK) return -1;
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (!cert) return -1;
    X509_NAME *name = X509_get_subject_name(cert);
    int len = X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)outlen);
    return len > 0 ? 0 : -1;
}

void conn_close(conn *c)
{
    if (!c) return;
    c->type->close(c);
    mem_free(c);
}
