/*
 * client: connections from accept to close (see cmd.h).
 *
 * Reads parse as many pipelined commands as the buffer holds and run them;
 * replies accumulate in the client's buffer and are written once, before the
 * loop waits again, so a pipeline of thousands of commands costs a handful of
 * TLS records. Bytes that held commands and replies are wiped as soon as they
 * are consumed or sent: values must not linger in buffers.
 *
 * A client that waits for a worker (login hashing) is "blocked": its input is
 * left in the buffer until the worker is done, so replies stay in order. If it
 * disconnects meanwhile, its connection is closed at once but the structure
 * lives on (a zombie) until the worker releases it.
 */
#include "cmd.h"
#include "cmd/cmd_audit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/persist.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"

#define CL_ZOMBIE            (1u << 20)
#define READ_CHUNK           (16 * 1024)
#define READ_BUDGET          (1024 * 1024)
#define QUERY_BUF_LIMIT      (1024LL * 1024 * 1024)
#define HANDSHAKE_TIMEOUT_MS 10000

static void on_event(ev_loop *l, int fd, void *ud, int mask);
static void process_input(client *c);

static void update_events(client *c)
{
    if (c->flags & (CL_ZOMBIE | CL_CLOSE_ASAP)) return;
    int mask = 0;
    if (c->flags & CL_HANDSHAKE) {
        mask = conn_wants(c->conn);
    } else {
        if (!(c->flags & CL_BLOCKED)) mask |= EV_READ;
        /* Replies of a client in the pending list are written by client_before_wait before
         * the loop waits (no need to ask epoll, which costs two epoll_ctl calls per batch);
         * only what a write leaves unsent waits for the socket. Replies waiting for their
         * audit records to reach the disk are sent when the trail says so. */
        if ((c->sent < c->out.len && !(c->flags & CL_PENDING_W) && !cmd_audit_waiting(c)) ||
            (c->flags & CL_READ_WANTS_W))
            mask |= EV_WRITE;
        if (c->flags & CL_WRITE_WANTS_R) mask |= EV_READ;
    }
    ev_mask(c->s->loop, c->fd, mask);
}

void client_accept(srv *s, int lfd)
{
    for (int i = 0; i < 1000; i++) {
        char peer[64];
        int fd = conn_accept_fd(lfd, peer, sizeof peer);
        if (fd < 0) {
            /* Once a second at most: out of descriptors (EMFILE), the listening socket stays
             * readable and this runs on every loop turn. */
            static long long last_warned;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                clock_mono_ms() - last_warned >= 1000) {
                last_warned = clock_mono_ms();
                log_warning("accept failed: %s", strerror(errno));
            }
            return;
        }
        s->st.conns_received++;
        /* Past maxclients (plus a margin to tell them so), refuse without a word. */
        if (s->nclients >= (size_t)s->cfg->maxclients + 64) {
            s->st.conns_rejected++;
            close(fd);
            continue;
        }
        conn *cn = conn_new_tls(fd, s->tls);
        if (!cn) continue;
        client *c = mem_calloc(sizeof *c);
        c->id = ++s->next_id;
        c->s = s;
        c->conn = cn;
        c->fd = fd;
        snprintf(c->addr, sizeof c->addr, "%s", peer);
        c->proto = 2;
        c->blocked_cmd = -1;
        c->flags = CL_HANDSHAKE;
        c->ctime = clock_ms();
        c->last_ms = clock_mono_ms();
        resp_parser_init(&c->parser);
        if (s->nclients >= (size_t)s->cfg->maxclients) {
            c->flags |= CL_REJECT;
            s->st.conns_rejected++;
        }
        c->prev = s->clients_tail;
        if (s->clients_tail)
            s->clients_tail->next = c;
        else
            s->clients = c;
        s->clients_tail = c;
        s->nclients++;
        if (ev_watch(s->loop, fd, EV_READ, on_event, c) != 0) {
            log_warning("cannot watch a new connection: %s", strerror(errno));
            client_close_async(c);
        }
    }
}

static void unlink_client(client *c)
{
    srv *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else if (s->clients == c)
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else if (s->clients_tail == c)
        s->clients_tail = c->prev;
    c->prev = c->next = NULL;
    s->nclients--;
}

static void drop_pending(client *c)
{
    srv *s = c->s;
    if (!(c->flags & CL_PENDING_W)) return;
    for (size_t i = 0; i < s->npending; i++) {
        if (s->pending[i] == c) {
            s->pending[i] = s->pending[--s->npending];
            break;
        }
    }
    c->flags &= ~CL_PENDING_W;
}

static void free_mq(client *c)
{
    for (int i = 0; i < c->mq_len; i++)
        cmd_args_free(c->mq[i].argv, c->mq[i].argc);
    mem_free(c->mq);
    c->mq = NULL;
    c->mq_len = c->mq_cap = 0;
}

/* Tear down the connection; the structure itself goes when no worker holds it. */
static void teardown(client *c)
{
    srv *s = c->s;
    if (c->username && (c->flags & (CL_AUTHED | CL_MFA_PENDING))) {
        int idle = c->bye && strcmp(c->bye, "idle-timeout") == 0;
        /* The record's command is QUIT's; a timeout or a closed connection had none (the
         * session's last command is not what ended it). */
        if (!c->bye || strcmp(c->bye, "quit") != 0) c->lastcmd = NULL;
        cmd_audit_event(s, c, idle ? AUDIT_EV_TIMEOUT : AUDIT_EV_LOGOUT, AUDIT_GRANTED, NULL,
                        c->bye ? c->bye : "disconnect", NULL, NULL);
    }
    tx_reset(c);
    pubsub_unsubscribe_all(c);
    drop_pending(c);
    if (c->reply_timer) {
        ev_timer_del(s->loop, c->reply_timer);
        c->reply_timer = 0;
        if (c->reply_timer_cancel) c->reply_timer_cancel(c, c->reply_timer_ud);
        c->reply_timer_cancel = NULL;
    }
    ev_unwatch(s->loop, c->fd);
    conn_close(c->conn);
    c->conn = NULL;
    unlink_client(c);
    buf_wipe_free(&c->qb);
    buf_wipe_free(&c->out);
    resp_parser_free(&c->parser);
    mem_free(c->argv);
    c->argv = NULL;
    free_mq(c);
}

static void free_struct(client *c)
{
    mem_free(c->name);
    mem_free(c->username);
    mem_free(c);
}

void client_close_async(client *c)
{
    if (c->flags & (CL_CLOSE_ASAP | CL_ZOMBIE)) return;
    c->flags |= CL_CLOSE_ASAP;
    c->close_next = c->s->close_list;
    c->s->close_list = c;
    ev_mask(c->s->loop, c->fd, 0);
}

void client_want_write(client *c)
{
    if (c->flags & (CL_PENDING_W | CL_ZOMBIE | CL_CLOSE_ASAP)) return;
    srv *s = c->s;
    if (s->npending == s->cap_pending) {
        s->cap_pending = s->cap_pending ? s->cap_pending * 2 : 64;
        s->pending = mem_realloc(s->pending, sizeof(client *) * s->cap_pending);
    }
    s->pending[s->npending++] = c;
    c->flags |= CL_PENDING_W;
}

/* Write what we can; returns -1 when the client was closed. */
static int write_out(client *c)
{
    srv *s = c->s;
    if (cmd_audit_waiting(c)) { /* audit-fsync always: not before the records are on disk */
        client_want_write(c);
        return 0;
    }
    c->flags &= ~CL_WRITE_WANTS_R;
    while (c->sent < c->out.len) {
        ssize_t n = conn_write(c->conn, c->out.p + c->sent, c->out.len - c->sent);
        if (n > 0) {
            c->sent += (size_t)n;
            s->st.net_out += n;
            continue;
        }
        if (n == CONN_AGAIN) {
            if (conn_wants(c->conn) & EV_READ) c->flags |= CL_WRITE_WANTS_R;
            break;
        }
        log_verbose("client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr,
                    conn_error(c->conn));
        client_close_async(c);
        return -1;
    }
    if (c->sent == c->out.len && c->out.len) {
        explicit_bzero(c->out.p, c->out.len);
        c->out.len = c->sent = 0;
        if (c->out.cap > 256 * 1024) buf_wipe_free(&c->out);
        c->obuf_soft_since = 0;
    }
    if (c->sent == c->out.len && (c->flags & CL_CLOSE_AFTER)) {
        client_close_async(c);
        return -1;
    }
    return 0;
}

/* The output buffer limits of c's class: pubsub while it has subscriptions (as Redis). */
static void obuf_limits(const client *c, long long *hard, long long *soft, int *secs)
{
    const config *cfg = c->s->cfg;
    int ps = client_subscribed(c);
    *hard = ps ? cfg->obuf_ps_hard : cfg->obuf_hard;
    *soft = ps ? cfg->obuf_ps_soft : cfg->obuf_soft;
    *secs = ps ? cfg->obuf_ps_soft_secs : cfg->obuf_soft_secs;
}

static void check_obuf(client *c)
{
    long long hard_lim, soft_lim;
    int soft_secs;
    obuf_limits(c, &hard_lim, &soft_lim, &soft_secs);
    size_t pending = c->out.len - c->sent;
    if (hard_lim > 0 && (long long)pending > hard_lim) {
        log_notice("closing client id=%llu addr=%s: output buffer over the hard limit "
                   "(%zu bytes)",
                   (unsigned long long)c->id, c->addr, pending);
        client_close_async(c);
        return;
    }
    if (soft_lim > 0 && (long long)pending > soft_lim) {
        long long now = clock_mono_ms();
        if (!c->obuf_soft_since)
            c->obuf_soft_since = now;
        else if (now - c->obuf_soft_since > (long long)soft_secs * 1000) {
            log_notice("closing client id=%llu addr=%s: output buffer over the soft limit "
                       "for %d s",
                       (unsigned long long)c->id, c->addr, soft_secs);
            client_close_async(c);
        }
    } else {
        c->obuf_soft_since = 0;
    }
}

int client_reply_over(client *c)
{
    long long hard, soft;
    int secs;
    obuf_limits(c, &hard, &soft, &secs);
    size_t limit = hard > 0 ? (size_t)hard : (size_t)4 << 30;
    if (c->out.len - c->sent <= limit) return 0;
    log_notice("closing client id=%llu addr=%s: a reply passed the output buffer hard limit "
               "while it was built (%zu bytes)",
               (unsigned long long)c->id, c->addr, c->out.len - c->sent);
    client_close_async(c);
    return 1;
}

static void finish_handshake(client *c)
{
    int rc = conn_handshake(c->conn);
    if (rc == CONN_AGAIN) {
        update_events(c);
        return;
    }
    if (rc != 1) {
        c->s->st.tls_failures++;
        log_verbose("connection from %s refused: %s", c->addr, conn_error(c->conn));
        client_close_async(c);
        return;
    }
    c->flags &= ~CL_HANDSHAKE;
    conn_local_addr(c->conn, c->laddr, sizeof c->laddr);
    if (c->flags & CL_REJECT) {
        rep_err(c, "ERR max number of clients reached");
        c->flags |= CL_CLOSE_AFTER;
        client_want_write(c);
        update_events(c);
        return;
    }
    update_events(c);
}

static void read_in(client *c)
{
    srv *s = c->s;
    size_t budget = 0;
    c->flags &= ~CL_READ_WANTS_W;
    for (;;) {
        size_t want = READ_CHUNK;
        /* A large bulk argument in progress: read it in bigger pieces. */
        if (c->parser.mb_left > 0 && c->parser.bulk_len > READ_CHUNK)
            want = (size_t)c->parser.bulk_len + 2 > READ_BUDGET ? READ_BUDGET
                                                                : (size_t)c->parser.bulk_len + 2;
        buf_reserve(&c->qb, want);
        size_t space = c->qb.cap - c->qb.len;
        ssize_t n = conn_read(c->conn, c->qb.p + c->qb.len, space);
        if (n > 0) {
            c->qb.len += (size_t)n;
            s->st.net_in += n;
            budget += (size_t)n;
            if ((long long)c->qb.len > QUERY_BUF_LIMIT) {
                log_notice("closing client id=%llu addr=%s: query buffer over the limit",
                           (unsigned long long)c->id, c->addr);
                client_close_async(c);
                return;
            }
            if (budget >= READ_BUDGET) break; /* let others run; the rest stays readable */
            /* A short read took everything the TLS layer had: more can only come from the
             * socket, and the loop (level-triggered) says when it is readable. Reading on
             * would mostly return EAGAIN: one more system call per request at pipeline 1. */
            if ((size_t)n < space && !conn_buffered(c->conn)) break;
            continue;
        }
        if (n == CONN_AGAIN) {
            if (conn_wants(c->conn) & EV_WRITE) c->flags |= CL_READ_WANTS_W;
            break;
        }
        if (n == CONN_EOF) {
            client_close_async(c);
            return;
        }
        log_verbose("client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr,
                    conn_error(c->conn));
        client_close_async(c);
        return;
    }
    if (budget) c->last_ms = clock_mono_ms();
    process_input(c);
    /* Bytes OpenSSL already decrypted but we did not take are not signalled by epoll. */
    if (!(c->flags & (CL_CLOSE_ASAP | CL_BLOCKED)) && conn_pending(c->conn) > 0) read_in(c);
}

static void on_event(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)fd;
    client *c = ud;
    if (c->flags & (CL_CLOSE_ASAP | CL_ZOMBIE)) return;
    if (c->flags & CL_HANDSHAKE) {
        finish_handshake(c);
        return;
    }
    if ((mask & EV_WRITE) || (c->flags & CL_WRITE_WANTS_R)) {
        if (write_out(c) != 0) return;
    }
    if ((mask & EV_READ) || (c->flags & CL_READ_WANTS_W)) {
        if (!(c->flags & CL_BLOCKED)) read_in(c);
    }
    if (!(c->flags & CL_CLOSE_ASAP)) update_events(c);
}

static void set_argv(client *c)
{
    resp_parser *p = &c->parser;
    if ((int)p->argc > c->argv_cap) {
        c->argv_cap = (int)p->argc;
        c->argv = mem_realloc(c->argv, sizeof(arg) * (size_t)c->argv_cap);
    }
    for (size_t i = 0; i < p->argc; i++) {
        c->argv[i].p = c->qb.p + p->argv[i].off;
        c->argv[i].len = p->argv[i].len;
    }
    c->argc = (int)p->argc;
}

/* Prefetch the keys of the commands waiting from the parser's position on, when the
 * client pipelines (two or more complete commands queued). */
static void prefetch_ahead(client *c, size_t *upto)
{
    resp_peeked pk[DB_PREFETCH_MAX];
    const uint8_t *key[DB_PREFETCH_MAX], *field[DB_PREFETCH_MAX];
    size_t klen[DB_PREFETCH_MAX], flen[DB_PREFETCH_MAX], end, n = 0;
    size_t from = c->parser.start,
           cmds = resp_peek(c->qb.p + from, c->qb.len - from, pk, DB_PREFETCH_MAX, &end);
    *upto = from + (end ? end : 1);
    for (size_t i = 0; i < cmds; i++) {
        if (pk[i].argc < 2) continue;
        key[n] = c->qb.p + from + pk[i].arg[1].off;
        klen[n] = pk[i].arg[1].len;
        field[n] = pk[i].argc > 2 ? c->qb.p + from + pk[i].arg[2].off : NULL;
        flen[n++] = pk[i].argc > 2 ? pk[i].arg[2].len : 0;
    }
    if (n >= 2) db_prefetch(c->s->db, key, klen, field, flen, n);
}

static void process_input(client *c)
{
    srv *s = c->s;
    size_t prefetched = 0; /* the look-ahead covered the query buffer up to here */
    if (c->flags & (CL_BLOCKED | CL_CLOSE_AFTER | CL_CLOSE_ASAP | CL_IN_PROCESS | CL_ZOMBIE))
        return;
    c->flags |= CL_IN_PROCESS;
    resp_limits lim = {(size_t)s->cfg->proto_max_bulk_len, (size_t)s->cfg->proto_max_args,
                       (size_t)s->cfg->proto_max_inline, 0};
    while (!(c->flags & (CL_BLOCKED | CL_CLOSE_AFTER | CL_CLOSE_ASAP))) {
        const char *err = NULL;
        lim.unauth = !(c->flags & CL_AUTHED);
        if (c->parser.start >= prefetched && c->parser.pos == c->parser.start &&
            (c->flags & CL_AUTHED) && c->qb.len - c->parser.start > 64)
            prefetch_ahead(c, &prefetched);
        int rc = resp_parse(&c->parser, c->qb.p, c->qb.len, &lim, &err);
        if (rc == RESP_NEED_MORE) break;
        if (rc == RESP_EPROTO) {
            rep_errf(c, "ERR %s", err);
            log_verbose("protocol error from client id=%llu addr=%s: %s", (unsigned long long)c->id,
                        c->addr, err);
            c->flags |= CL_CLOSE_AFTER;
            break;
        }
        if (c->parser.argc > 0) {
            set_argv(c);
            cmd_dispatch(c);
            c->argc = 0;
        }
        resp_parser_next(&c->parser);
        if (c->out.len > c->sent) check_obuf(c);
    }
    /* Drop (and wipe) the bytes of the commands that were run. */
    size_t done = c->parser.start;
    if (done > 0) {
        buf_consume(&c->qb, done); /* wipes what was consumed and what moved */
        resp_parser_shift(&c->parser, done);
    }
    if (c->qb.len == 0 && c->qb.cap > 64 * 1024) buf_wipe_free(&c->qb);
    c->flags &= ~CL_IN_PROCESS;
    if (c->out.len > c->sent) client_want_write(c);
}

void client_block(client *c)
{
    c->flags |= CL_BLOCKED;
    c->pending_jobs++;
    c->blocked_cmd = c->cmd ? c->cmd->id : -1;
    c->blocked_nerr = c->nerr;
    update_events(c);
}

void client_unblock(client *c)
{
    c->pending_jobs--;
    if (c->flags & CL_ZOMBIE) {
        if (c->pending_jobs == 0) free_struct(c);
        return;
    }
    c->flags &= ~CL_BLOCKED;
    /* INFO commandstats: a command whose reply came from a worker after it returned (AUTH,
     * ACL SETUSER with a password, PHI.BACKUP, PHI.SCAN of a large text) failed if that
     * reply was an error. (Unblocked while it still runs, cmd_call counts it itself.) */
    if (!c->cmd && c->blocked_cmd >= 0 && c->nerr > c->blocked_nerr)
        c->s->cmdstats[c->blocked_cmd].failed++;
    c->blocked_cmd = -1;
    if (c->flags & CL_CLOSE_ASAP) return;
    if (c->out.len > c->sent) client_want_write(c);
    process_input(c);
    update_events(c);
}

void client_before_wait(srv *s)
{
    /* The log first: a reply that acknowledges a write goes out only once the write is in
     * the log (fsynced with appendfsync always): one write and one fsync for the batch. */
    int logged = s->log ? persist_flush(s) : 1;
    /* Then replies: a client closed after its reply still gets it. Clients waiting for the
     * log stay in the pending list (the cron timer wakes the loop to try again). */
    size_t keep = 0;
    for (size_t i = 0; i < s->npending; i++) {
        client *c = s->pending[i];
        if (((c->flags & CL_WAIT_LOG) && !logged) ||
            (cmd_audit_waiting(c) && !cmd_audit_give_up(c))) {
            s->pending[keep++] = c;
            continue;
        }
        c->flags &= ~(CL_PENDING_W | CL_WAIT_LOG);
        if (c->flags & (CL_CLOSE_ASAP | CL_ZOMBIE)) continue;
        if (write_out(c) == 0) update_events(c);
    }
    s->npending = keep;
    while (s->close_list) {
        client *c = s->close_list;
        s->close_list = c->close_next;
        teardown(c);
        if (c->pending_jobs > 0) {
            c->flags |= CL_ZOMBIE;
            c->flags &= ~CL_CLOSE_ASAP;
        } else {
            free_struct(c);
        }
    }
}

void client_cron(srv *s)
{
    long long now = clock_mono_ms();
    long long wall = clock_ms();
    for (client *c = s->clients; c; c = c->next) {
        if (c->flags & (CL_CLOSE_ASAP | CL_ZOMBIE)) continue;
        if (c->flags & CL_HANDSHAKE) {
            if (wall - c->ctime > HANDSHAKE_TIMEOUT_MS) {
                s->st.tls_failures++;
                log_verbose("connection from %s closed: TLS handshake timed out", c->addr);
                client_close_async(c);
            }
            continue;
        }
        if (s->cfg->auth_timeout > 0 && !(c->flags & (CL_AUTHED | CL_BLOCKED)) &&
            wall - c->ctime > (long long)s->cfg->auth_timeout * 1000) {
            log_verbose("connection from %s closed: no login within %d s", c->addr,
                        s->cfg->auth_timeout);
            c->bye = "auth-timeout";
            client_close_async(c);
            continue;
        }
        if (s->cfg->timeout > 0 && !(c->flags & CL_BLOCKED) &&
            now - c->last_ms > (long long)s->cfg->timeout * 1000) {
            log_verbose("closing idle client id=%llu addr=%s user=%s", (unsigned long long)c->id,
                        c->addr, c->username ? c->username : "(none)");
            c->bye = "idle-timeout";
            client_close_async(c);
            continue;
        }
        if (c->out.len > c->sent) check_obuf(c);
    }
}

void client_describe(const client *c, buf *out)
{
    char flags[16];
    int n = 0; /* in Redis's order */
    if (client_subscribed(c)) flags[n++] = 'P';
    if (c->flags & CL_MULTI) flags[n++] = 'x';
    if (c->flags & CL_BLOCKED) flags[n++] = 'b';
    if (c->flags & CL_DIRTY_CAS) flags[n++] = 'd';
    if (c->flags & CL_CLOSE_AFTER) flags[n++] = 'c';
    if (c->flags & CL_CLOSE_ASAP) flags[n++] = 'A';
    if (c->flags & CL_NO_EVICT) flags[n++] = 'e';
    if (n == 0) flags[n++] = 'N';
    flags[n] = '\0';
    long long now = clock_ms();
    char cmdname[96] = "NULL";
    if (c->lastcmd) {
        const cmd_def *top = NULL;
        size_t nt;
        const cmd_def *t = cmd_table(&nt);
        for (size_t i = 0; i < nt && !top; i++)
            for (int j = 0; j < t[i].nsubs; j++)
                if (&t[i].subs[j] == c->lastcmd) top = &t[i];
        cmd_fullname(c->lastcmd, top, cmdname, sizeof cmdname);
    }
    int ev = c->conn ? ev_get_mask(c->s->loop, c->fd) : 0;
    buf_printf(out,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 sub=%d "
               "psub=%d ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu "
               "rbp=0 obl=%zu oll=0 omem=%zu tot-mem=%zu events=%s%s cmd=%s user=%s redir=-1 "
               "resp=%d",
               (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
               (now - c->ctime) / 1000, (clock_mono_ms() - c->last_ms) / 1000, flags, c->nsubs,
               c->npsubs, (c->flags & CL_MULTI) ? c->mq_len : -1, c->qb.len, c->qb.cap - c->qb.len,
               c->out.cap, c->out.len - c->sent,
               /* Redis counts replies beyond its 16 KB static buffer as omem. */
               c->out.len - c->sent > 16384 ? c->out.len - c->sent : (size_t)0,
               c->qb.cap + c->out.cap + sizeof *c, (ev & EV_READ) ? "r" : "",
               (ev & EV_WRITE) ? "w" : "", cmdname, c->username ? c->username : "(none)", c->proto);
}

void client_set_user(client *c, acl_user *u)
{
    mem_free(c->username);
    c->username = mem_strdup(acl_user_name(u));
    c->user = u;
    c->acl_gen = acl_generation(c->s->acl);
    c->flags |= CL_AUTHED;
}

int client_refresh_user(client *c)
{
    acl_user *u =
        c->username ? acl_find(c->s->acl, (const uint8_t *)c->username, strlen(c->username)) : NULL;
    if (!u || !acl_user_enabled(u)) {
        c->user = NULL;
        c->flags &= ~CL_AUTHED;
        client_close_async(c);
        return -1;
    }
    c->user = u;
    c->acl_gen = acl_generation(c->s->acl);
    return 0;
}

size_t client_kill_user(srv *s, const char *name, client *skip)
{
    size_t n = 0;
    for (client *c = s->clients; c; c = c->next) {
        if (c == skip || !c->username || (c->flags & (CL_CLOSE_ASAP | CL_ZOMBIE))) continue;
        if (name && strcmp(c->username, name) != 0) continue;
        client_close_async(c);
        n++;
    }
    return n;
}
