/* cmd_reply: reply helpers bound to a client's protocol version (see cmd.h). */
#include "cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/log.h"
#include "util/strutil.h"

void rep_ok(client *c)
{
    buf_append(&c->out, "+OK\r\n", 5);
}

void rep_simple(client *c, const char *s)
{
    resp_simple(&c->out, s);
}

/* Count an error reply: INFO stats total_error_replies, INFO errorstats by code, and the
 * client's count (the command that sent it failed, or was rejected). */
static void count_error(client *c, const char *msg)
{
    c->nerr++;
    srv *s = c->s;
    if (!s) return;
    s->st.error_replies++;
    size_t n = strcspn(msg, " \r\n:,"); /* the code, and nothing that would break INFO */
    if (n >= sizeof s->errstats[0].code) n = sizeof s->errstats[0].code - 1;
    for (int i = 0; i < s->nerrstats; i++) {
        if (strlen(s->errstats[i].code) == n && memcmp(s->errstats[i].code, msg, n) == 0) {
            s->errstats[i].count++;
            return;
        }
    }
    if (s->nerrstats == ERRSTAT_MAX) return; /* as Redis: no more codes kept apart */
    err_stat *e = &s->errstats[s->nerrstats++];
    memcpy(e->code, msg, n);
    e->code[n] = '\0';
    e->count = 1;
}

void rep_err(client *c, const char *msg)
{
    resp_error(&c->out, msg);
    count_error(c, msg);
}

void rep_errf(client *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp_error(&c->out, msg);
    count_error(c, msg);
}

void rep_int(client *c, long long v)
{
    resp_int(&c->out, v);
}

void rep_bulk(client *c, const void *p, size_t n)
{
    resp_bulk(&c->out, p, n);
}

void rep_cstr(client *c, const char *s)
{
    resp_bulk(&c->out, s, strlen(s));
}

void rep_null(client *c)
{
    resp_null(&c->out, c->proto);
}

void rep_null_array(client *c)
{
    resp_null_array(&c->out, c->proto);
}

void rep_array(client *c, size_t n)
{
    resp_array(&c->out, n);
}

void rep_map(client *c, size_t n)
{
    resp_map(&c->out, n, c->proto);
}

void rep_set(client *c, size_t n)
{
    resp_set(&c->out, n, c->proto);
}

void rep_double(client *c, double v)
{
    resp_double(&c->out, v, c->proto);
}

void rep_verbatim(client *c, const char *p, size_t n)
{
    resp_verbatim(&c->out, p, n, c->proto);
}

void rep_bool(client *c, int v)
{
    resp_bool(&c->out, v, c->proto);
}

void rep_value(client *c, const db_ref *r)
{
    size_t n = db_ref_len(r);
    buf *b = &c->out;
    buf_reserve(b, n + 32);
    char hdr[24];
    hdr[0] = '$';
    size_t hl = 1 + str_from_ll(hdr + 1, (long long)n);
    hdr[hl++] = '\r';
    hdr[hl++] = '\n';
    if (db_ref_open(c->s->db, r, b->p + hl + b->len) != 0) {
        rep_unopenable(c);
        return;
    }
    memcpy(b->p + b->len, hdr, hl);
    b->len += hl + n;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
}

void rep_not_stored(client *c, size_t mark)
{
    if (c->out.len > mark) {
        OPENSSL_cleanse(c->out.p + mark, c->out.len - mark);
        c->out.len = mark;
    }
    log_warning("a value could not be sealed (no nonce could be reserved, or an OpenSSL "
                "error): the write was refused");
    rep_err(c, "ERR the value could not be sealed, so nothing was stored; see the server log");
}

void rep_unopenable(client *c)
{
    log_warning("a stored value failed to open (damaged in memory, or sealed with a retired "
                "key); the command was refused");
    rep_err(c, "ERR a stored value could not be opened (it is damaged or its key version was "
               "retired); see the server log");
}

void rep_wrongtype(client *c)
{
    rep_err(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void rep_syntax(client *c)
{
    rep_err(c, "ERR syntax error");
}

void rep_not_int(client *c)
{
    rep_err(c, "ERR value is not an integer or out of range");
}

void rep_arity(client *c)
{
    rep_errf(c, "ERR wrong number of arguments for '%s' command", c->cmd ? c->cmd->name : "?");
}

int arg_ll(client *c, int i, long long *out)
{
    if (str_to_ll(c->argv[i].p, c->argv[i].len, out) != 0) {
        rep_not_int(c);
        return -1;
    }
    return 0;
}

int arg_is(const client *c, int i, const char *s)
{
    return i < c->argc && str_eq_nocase(c->argv[i].p, c->argv[i].len, s);
}
