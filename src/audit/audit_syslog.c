/*
 * audit_syslog: RFC 5424 messages over TLS (RFC 5425) to a SIEM (see audit_syslog.h).
 *
 * Each message: "<110>1 TS HOST phidb PID MSGID - LINE" (facility 13 "log audit",
 * severity 6; MSGID "audit" or "checkpoint"; TS is the record's own time), framed as
 * "LEN SP MESSAGE". A message whose send fails goes back to the head of the queue and is
 * sent again after reconnecting, so nothing is silently skipped while the queue has room;
 * when the queue is full new messages are dropped and counted (the local segments still
 * hold them, and the next signed checkpoint lets the SIEM see the gap).
 *
 * The sink thread blocks SIGPIPE for itself so a peer that went away is an error return,
 * not a signal.
 */
#include "audit/audit_syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "audit/audit_seg.h"
#include "util/log.h"
#include "util/mem.h"

typedef struct {
    char *p; /* framed message */
    size_t n;
} msg;

struct audit_sink {
    char *host; /* SIEM host name or address */
    int port;
    int records;      /* what to send (audit_syslog_opts.records) */
    SSL_CTX *ctx;     /* client context: CA, optional client certificate */
    char myhost[256]; /* HOSTNAME field */
    int pid;
    void (*state)(void *, int);
    void *ud;
    pthread_mutex_t mu; /* guards the queue and stop */
    pthread_cond_t cv;
    msg *q; /* ring of queued messages */
    size_t cap, head, count;
    int stop;
    int64_t stop_until; /* drain deadline at stop */
    atomic_int up;
    atomic_uint_fast64_t sent, dropped;
    pthread_t thr;
    int fd; /* connection (sink thread) */
    SSL *ssl;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remove ,"name":"..." (the first occurrence: earlier fields are escaped strings, so the
 * byte sequence cannot occur inside them) from line into out. */
static size_t cut_field(const char *line, size_t n, const char *name, char *out)
{
    char pat[32];
    int pl = snprintf(pat, sizeof pat, ",\"%s\":\"", name);
    const char *p = memmem(line, n, pat, (size_t)pl);
    if (!p) {
        memmove(out, line, n);
        return n;
    }
    const char *q = p + pl;
    while (q < line + n && *q != '"')
        q += *q == '\\' ? 2 : 1;
    q++;
    size_t a = (size_t)(p - line);
    memmove(out, line, a);
    memmove(out + a, q, (size_t)(line + n - q));
    return a + (size_t)(line + n - q);
}

void audit_sink_push(audit_sink *s, const char *line, size_t n, int ckpt)
{
    if (s->records == 2 && !ckpt) return;
    char *body = mem_alloc(n + 1);
    memcpy(body, line, n);
    if (s->records == 1 && !ckpt) {
        n = cut_field(body, n, "key", body);
        n = cut_field(body, n, "key_hex", body);
        n = cut_field(body, n, "subject", body);
        n = cut_field(body, n, "subject_hex", body);
    }
    char ts[28] = "-";
    audit_line_info li;
    if (audit_line_parse(body, n, &li) == 0) {
        memcpy(ts, li.ts, 27);
        ts[27] = '\0';
    }
    char hdr[400];
    int hl = snprintf(hdr, sizeof hdr, "<110>1 %s %s phidb %d %s - ", ts, s->myhost, s->pid,
                      ckpt ? "checkpoint" : "audit");
    char len[24];
    int ll = snprintf(len, sizeof len, "%zu ", (size_t)hl + n);
    msg m = {mem_alloc((size_t)ll + (size_t)hl + n), (size_t)ll + (size_t)hl + n};
    memcpy(m.p, len, (size_t)ll);
    memcpy(m.p + ll, hdr, (size_t)hl);
    memcpy(m.p + ll + hl, body, n);
    mem_free(body);
    pthread_mutex_lock(&s->mu);
    if (s->count == s->cap) {
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add(&s->dropped, 1);
        mem_free(m.p);
        return;
    }
    s->q[(s->head + s->count) % s->cap] = m;
    s->count++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void disconnect(audit_sink *s)
{
    if (s->ssl) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    if (atomic_exchange(&s->up, 0)) {
        log_warning("audit: syslog sink %s:%d disconnected", s->host, s->port);
        s->state(s->ud, 0);
    }
}

static int try_connect(audit_sink *s)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(s->host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return -1;
    SSL *ssl = SSL_new(s->ctx);
    struct in6_addr tmp6;
    struct in_addr tmp4;
    int is_ip = inet_pton(AF_INET, s->host, &tmp4) == 1 || inet_pton(AF_INET6, s->host, &tmp6) == 1;
    if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->host);
    else {
        SSL_set_tlsext_host_name(ssl, s->host);
        SSL_set1_host(ssl, s->host);
    }
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        long vr = SSL_get_verify_result(ssl);
        log_warning("audit: syslog sink %s:%d: TLS handshake failed (%s)", s->host, s->port,
                    vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "handshake error");
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return -1;
    }
    s->fd = fd;
    s->ssl = ssl;
    atomic_store(&s->up, 1);
    log_notice("audit: syslog sink %s:%d connected", s->host, s->port);
    s->state(s->ud, 1);
    return 0;
}

/* Did the peer close? (It never sends anything in RFC 5425.) */
static int peer_closed(audit_sink *s)
{
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLHUP | POLLERR)) return 1;
    /* Readable is often only TLS 1.3 session tickets after the handshake: reading them
     * must not then wait for application data (the socket's 5 s timeout held every record
     * back for 5 s after each connect), so the read is non-blocking. */
    char b[256];
    int fl = fcntl(s->fd, F_GETFL);
    if (fl >= 0) fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
    int r = SSL_read(s->ssl, b, sizeof b);
    int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, r);
    if (fl >= 0) fcntl(s->fd, F_SETFL, fl);
    ERR_clear_error();
    return r <= 0 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
}

static void *sink_main(void *arg)
{
    audit_sink *s = arg;
    pthread_setname_np(pthread_self(), "phidb-syslog");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int backoff = 100;
    int64_t next_try = 0;
    buf batch = {0};
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int64_t now = mono_ms();
        if (s->stop && (s->count == 0 || now >= s->stop_until)) break;
        if (!s->ssl) {
            if (now < next_try) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t w = next_try - now;
                if (s->stop && s->stop_until - now < w) w = s->stop_until - now;
                ts.tv_sec += w / 1000;
                ts.tv_nsec += (w % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
                continue;
            }
            pthread_mutex_unlock(&s->mu);
            int ok = try_connect(s) == 0;
            pthread_mutex_lock(&s->mu);
            if (!ok) {
                next_try = mono_ms() + backoff;
                backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
            } else {
                backoff = 100;
            }
            continue;
        }
        if (s->count == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200000000;
            if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            if (s->count == 0 && !s->stop) {
                pthread_mutex_unlock(&s->mu);
                int closed = peer_closed(s);
                if (closed) disconnect(s);
                pthread_mutex_lock(&s->mu);
            }
            continue;
        }
        /* Messages that fit in one TLS record go in one write (fewer records, fewer calls). */
        size_t k = 0;
        batch.len = 0;
        while (k < s->count) {
            msg *m = &s->q[(s->head + k) % s->cap];
            if (k > 0 && batch.len + m->n > 16000) break;
            buf_append(&batch, m->p, m->n);
            k++;
        }
        pthread_mutex_unlock(&s->mu);
        int w = SSL_write(s->ssl, batch.p, (int)batch.len);
        int ok = w == (int)batch.len;
        if (!ok) {
            ERR_clear_error();
            disconnect(s);
            next_try = mono_ms() + backoff;
        }
        pthread_mutex_lock(&s->mu);
        if (ok) {
            for (size_t i = 0; i < k; i++) {
                mem_free(s->q[s->head].p);
                s->head = (s->head + 1) % s->cap;
                s->count--;
            }
            atomic_fetch_add(&s->sent, k);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (s->ssl) {
        /* Close gracefully: give the receiver a moment to process what it has read (rsyslog
         * 8.2302 drops unprocessed input of a session that ends), then close_notify, then
         * wait (up to 2 s) for the peer to close too. */
        usleep(500000);
        SSL_shutdown(s->ssl);
        shutdown(s->fd, SHUT_WR);
        int64_t until = mono_ms() + 2000;
        char tmp[512];
        for (;;) {
            int64_t left = until - mono_ms();
            struct pollfd p = {s->fd, POLLIN, 0};
            if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
            if (SSL_read(s->ssl, tmp, sizeof tmp) <= 0) break;
        }
        ERR_clear_error();
    }
    disconnect(s);
    buf_wipe_free(&batch);
    return NULL;
}

audit_sink *audit_sink_new(const audit_syslog_opts *o, void (*state)(void *ud, int up), void *ud,
                           char *err, size_t errlen)
{
    if (!o->ca || !*o->ca) {
        snprintf(err, errlen, "audit-syslog-ca is required with audit-syslog-host");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
        snprintf(err, errlen, "cannot read audit-syslog-ca %s", o->ca);
        goto fail;
    }
    if (o->cert && *o->cert &&
        (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, o->key && *o->key ? o->key : o->cert, SSL_FILETYPE_PEM) !=
             1 ||
         SSL_CTX_check_private_key(ctx) != 1)) {
        snprintf(err, errlen, "cannot use audit-syslog-cert/key %s", o->cert);
        goto fail;
    }
    audit_sink *s = mem_calloc(sizeof *s);
    s->host = mem_strdup(o->host);
    s->port = o->port ? o->port : 6514;
    s->records = o->records;
    s->ctx = ctx;
    s->state = state;
    s->ud = ud;
    s->fd = -1;
    s->pid = (int)getpid();
    if (gethostname(s->myhost, sizeof s->myhost - 1) != 0 || !s->myhost[0])
        snprintf(s->myhost, sizeof s->myhost, "-");
    s->cap = o->queue_max ? o->queue_max : 100000;
    s->q = mem_calloc(s->cap * sizeof *s->q);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thr, NULL, sink_main, s) != 0) {
        snprintf(err, errlen, "cannot start the syslog sink thread");
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        mem_free(s->q);
        mem_free(s->host);
        mem_free(s);
        goto fail;
    }
    return s;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

int audit_sink_up(audit_sink *s)
{
    return atomic_load(&s->up);
}

void audit_sink_counts(audit_sink *s, uint64_t *sent, uint64_t *dropped)
{
    *sent = atomic_load(&s->sent);
    *dropped = atomic_load(&s->dropped);
}

void audit_sink_free(audit_sink *s, int timeout_ms)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    s->stop_until = mono_ms() + timeout_ms;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thr, NULL);
    for (size_t i = 0; i < s->count; i++)
        mem_free(s->q[(s->head + i) % s->cap].p);
    mem_free(s->q);
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    mem_free(s->host);
    mem_free(s);
}
