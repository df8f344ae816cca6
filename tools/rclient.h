/*
 * rclient: a minimal Redis-protocol client over TLS (OpenSSL), for the tools that talk to
 * a running server (phidb backup on a live directory, phidb restore --drill). RESP2
 * replies only; blocking I/O with a timeout. Not a general client: enough for a handful
 * of admin commands.
 */
#ifndef RCLIENT_H
#define RCLIENT_H

#include <stddef.h>

typedef struct rclient rclient;

enum { RR_STATUS = '+', RR_ERROR = '-', RR_INT = ':', RR_BULK = '$', RR_ARRAY = '*', RR_NIL = '_' };

typedef struct rreply {
    int type;             /* RR_* */
    long long i;          /* RR_INT */
    char *str;            /* RR_STATUS, RR_ERROR, RR_BULK (NUL-terminated, owned) */
    size_t len;           /* its length */
    struct rreply **elem; /* RR_ARRAY elements (owned) */
    size_t n;             /* their count */
} rreply;

/* Connect to host:port with TLS, checking the server against ca (and presenting cert/key
 * when not NULL); timeout_s for every read. Returns the client or NULL with err. */
rclient *rclient_connect(const char *host, int port, const char *ca, const char *cert,
                         const char *key, int timeout_s, char *err, size_t errlen);
/* Send a command (argc C strings) and read its reply. Returns the reply (free with
 * rreply_free) or NULL with err (connection or protocol failure). */
rreply *rclient_call(rclient *c, int argc, const char **argv, char *err, size_t errlen);
/* Same with explicit argument lengths (binary-safe). */
rreply *rclient_callv(rclient *c, int argc, const char **argv, const size_t *lens, char *err,
                      size_t errlen);
/* Free a reply. */
void rreply_free(rreply *r);
/* Close and free. */
void rclient_close(rclient *c);
/* Parse one RESP2 reply from (p, n): returns bytes used, 0 when more bytes are needed, -1
 * when malformed (*out set only on success). For tests. */
long rclient_parse(const char *p, size_t n, rreply **out);

#endif
