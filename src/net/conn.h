/*
 * conn: client connections over TLS (OpenSSL 3), and the listening socket.
 *
 * There is no plaintext transport. Before OpenSSL sees a byte, the first byte
 * from the peer is peeked: anything but a TLS handshake record (0x16) is closed
 * at once, so a client speaking plain RESP gets no data at all (not even a TLS
 * alert) and is disconnected.
 *
 * A tls_ctx is an SSL_CTX built from the configuration: TLS 1.2/1.3 only, AEAD
 * suites only (checked after the cipher strings are applied, so a config that
 * would let a non-AEAD suite in is refused), server preference, no
 * renegotiation, client certificates per tls-auth-clients. Reloading builds a
 * new tls_ctx; connections already open keep the one they started with
 * (OpenSSL reference-counts it).
 *
 * The transport sits behind a small vtable (conn_type) so the event and command
 * code never call OpenSSL directly.
 */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <sys/types.h>

typedef struct conn conn;
typedef struct tls_ctx tls_ctx;

enum tls_auth { TLS_AUTH_NO, TLS_AUTH_OPTIONAL, TLS_AUTH_YES };

typedef struct {
    const char *cert_file;    /* server certificate chain (PEM) */
    const char *key_file;     /* server private key (PEM) */
    const char *ca_file;      /* CA bundle for client certificates (PEM), may be NULL */
    enum tls_auth auth;       /* client certificate policy */
    const char *protocols;    /* "TLSv1.2 TLSv1.3" or a subset */
    const char *ciphers;      /* TLS 1.2 cipher list (OpenSSL syntax), NULL for the default */
    const char *ciphersuites; /* TLS 1.3 suites, NULL for the default */
} tls_conf;

/* Results of conn_handshake, conn_read, conn_write besides byte counts. */
#define CONN_AGAIN (-2) /* would block: see conn_wants for which event */
#define CONN_ERR   (-1) /* fatal: close the connection (conn_error says why) */
#define CONN_EOF   0    /* peer closed (reads only) */

/* Build a server TLS context; on failure returns NULL and writes a reason into err. */
tls_ctx *tls_ctx_new(const tls_conf *conf, char *err, size_t errlen);
/* Check one TLS directive's value as tls_ctx_new would (tls-protocols, tls-ciphers,
 * tls-ciphersuites; other names pass): 0, or -1 with err. For the config parser, so a bad
 * value is reported with its file and line. */
int tls_check_setting(const char *name, const char *value, char *err, size_t errlen);
/* Drop the caller's reference. */
void tls_ctx_free(tls_ctx *t);

/* Listen on addr:port (addr "*" or NULL for all). Returns the fd or -1 (reason in err). */
int conn_listen(const char *addr, int port, int backlog, char *err, size_t errlen);
/* Accept one pending connection (non-blocking, TCP_NODELAY). Returns fd, or -1 (errno). */
int conn_accept_fd(int lfd, char *peer, size_t peerlen);
/* Wrap an accepted fd in a TLS server connection using t. Takes ownership of fd. */
conn *conn_new_tls(int fd, tls_ctx *t);
/* Drive the handshake: 1 done, CONN_AGAIN, or CONN_ERR. */
int conn_handshake(conn *c);
/* Read decrypted bytes: >0 count, CONN_EOF, CONN_AGAIN or CONN_ERR. */
ssize_t conn_read(conn *c, void *buf, size_t n);
/* Write bytes (may be partial): >0 count, CONN_AGAIN or CONN_ERR. After CONN_AGAIN the
 * same bytes must be offered again (they may move in memory). */
ssize_t conn_write(conn *c, const void *buf, size_t n);
/* Decrypted bytes already buffered inside the TLS layer (readable without an event). */
size_t conn_pending(conn *c);
/* 1 when the TLS layer holds anything a read would return without the socket becoming
 * readable again (decrypted bytes, or received bytes not yet processed); 0 when it has
 * handed out all it received, so the next bytes can only come from the socket. */
int conn_buffered(conn *c);
/* Events the transport waits for after CONN_AGAIN: EV_READ and/or EV_WRITE. */
int conn_wants(conn *c);
/* The socket descriptor. */
int conn_fd(const conn *c);
/* Why the last CONN_ERR happened (static or connection-owned string). */
const char *conn_error(const conn *c);
/* Negotiated protocol and cipher, e.g. "TLSv1.3" / "TLS_AES_256_GCM_SHA384". */
const char *conn_tls_version(const conn *c);
const char *conn_tls_cipher(const conn *c);
/* Common name of the verified client certificate into out; 0, or -1 when none. */
int conn_peer_cn(const conn *c, char *out, size_t outlen);
/* Local address "ip:port" of the connection into out. */
void conn_local_addr(const conn *c, char *out, size_t outlen);
/* Close the socket and free the connection (sends close_notify when possible). */
void conn_close(conn *c);

#endif
