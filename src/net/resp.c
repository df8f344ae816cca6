/*
 * resp: request parser and reply encoder (see resp.h). Error texts follow
 * redis-server 7.0 so clients and their tests see what they expect.
 */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/mem.h"
#include "util/strutil.h"

/* Before AUTH a client may not announce more than this (as Redis 7 does). */
#define UNAUTH_MAX_ARGS 10
#define UNAUTH_MAX_BULK 16384

void resp_parser_init(resp_parser *p)
{
    memset(p, 0, sizeof *p);
    p->bulk_len = -1;
}

void resp_parser_free(resp_parser *p)
{
    mem_free(p->argv);
    resp_parser_init(p);
}

void resp_parser_next(resp_parser *p)
{
    p->argc = 0;
    p->mb_left = 0;
    p->bulk_len = -1;
    p->inline_cmd = 0;
    p->start = p->pos;
}

void resp_parser_shift(resp_parser *p, size_t n)
{
    p->pos -= n;
    p->start -= n;
    for (size_t i = 0; i < p->argc; i++)
        p->argv[i].off -= n;
}

static void push_arg(resp_parser *p, size_t off, size_t len)
{
    if (p->argc == p->argv_cap) {
        size_t cap = p->argv_cap ? p->argv_cap * 2 : 16;
        p->argv = mem_realloc(p->argv, cap * sizeof *p->argv);
        p->argv_cap = cap;
    }
    p->argv[p->argc].off = off;
    p->argv[p->argc].len = len;
    p->argc++;
}

/* Find "\r\n" in qb[from..len); returns the offset of '\r' or -1. */
static long find_crlf(const uint8_t *qb, size_t from, size_t len)
{
    const uint8_t *s = qb + from;
    size_t n = len - from;
    while (n) {
        const uint8_t *cr = memchr(s, '\r', n);
        if (!cr) return -1;
        size_t at = (size_t)(cr - qb);
        if (at + 1 < len) {
            if (qb[at + 1] == '\n') return (long)at;
        } else {
            return -1;
        }
        n -= (size_t)(cr - s) + 1;
        s = cr + 1;
    }
    return -1;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split an inline line qb[s..e) into arguments, decoding quotes in place. */
static int split_inline(resp_parser *p, uint8_t *qb, size_t s, size_t e, size_t max_args)
{
    size_t i = s;
    for (;;) {
        while (i < e && is_space(qb[i]))
            i++;
        if (i >= e) return 0;
        if (p->argc >= max_args) return -1;
        size_t out = i, arg_start = i;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (inq) {
                if (i >= e) return -2; /* unbalanced */
                if (qb[i] == '\\' && i + 3 < e && qb[i + 1] == 'x' && hexval(qb[i + 2]) >= 0 &&
                    hexval(qb[i + 3]) >= 0) {
                    qb[out++] = (uint8_t)(hexval(qb[i + 2]) * 16 + hexval(qb[i + 3]));
                    i += 4;
                } else if (qb[i] == '\\' && i + 1 < e) {
                    uint8_t c = qb[i + 1];
                    switch (c) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: break;
                    }
                    qb[out++] = c;
                    i += 2;
                } else if (qb[i] == '"') {
                    /* The closing quote must be followed by a space or the end. */
                    if (i + 1 < e && !is_space(qb[i + 1])) return -2;
                    i++;
                    done = 1;
                } else {
                    qb[out++] = qb[i++];
                }
            } else if (insq) {
                if (i >= e) return -2;
                if (qb[i] == '\\' && i + 1 < e && qb[i + 1] == '\'') {
                    qb[out++] = '\'';
                    i += 2;
                } else if (qb[i] == '\'') {
                    if (i + 1 < e && !is_space(qb[i + 1])) return -2;
                    i++;
                    done = 1;
                } else {
                    qb[out++] = qb[i++];
                }
            } else {
                if (i >= e || is_space(qb[i])) {
                    done = 1;
                } else if (qb[i] == '"') {
                    inq = 1;
                    i++;
                } else if (qb[i] == '\'') {
                    insq = 1;
                    i++;
                } else {
                    qb[out++] = qb[i++];
                }
            }
        }
        push_arg(p, arg_start, out - arg_start);
    }
}

static int parse_inline(resp_parser *p, uint8_t *qb, size_t len, const resp_limits *lim,
                        const char **err)
{
    long cr = find_crlf(qb, p->pos, len);
    size_t end;
    if (cr < 0) {
        /* Inline commands may end with a bare "\n" too. */
        const uint8_t *nl = memchr(qb + p->pos, '\n', len - p->pos);
        if (!nl) {
            if (len - p->pos > lim->max_inline) {
                *err = "Protocol error: too big inline request";
                return RESP_EPROTO;
            }
            return RESP_NEED_MORE;
        }
        end = (size_t)(nl - qb);
    } else {
        end = (size_t)cr;
    }
    if (end - p->pos > lim->max_inline) {
        *err = "Protocol error: too big inline request";
        return RESP_EPROTO;
    }
    size_t next = end + (qb[end] == '\r' ? 2 : 1);
    size_t max_args = lim->unauth ? UNAUTH_MAX_ARGS : lim->max_args;
    int rc = split_inline(p, qb, p->pos, end, max_args);
    if (rc == -2) {
        *err = "Protocol error: unbalanced quotes in request";
        return RESP_EPROTO;
    }
    if (rc == -1) {
        *err = lim->unauth ? "Protocol error: unauthenticated multibulk length"
                           : "Protocol error: invalid multibulk length";
        return RESP_EPROTO;
    }
    p->pos = next;
    p->inline_cmd = 1;
    return RESP_OK; /* argc may be 0: an empty line, which the caller skips */
}

/* Parse the decimal after the type byte of a length line qb[from+1..cr). */
static int parse_len(const uint8_t *qb, size_t from, size_t cr, long long *out)
{
    return str_to_ll(qb + from + 1, cr - from - 1, out);
}

int resp_parse(resp_parser *p, uint8_t *qb, size_t len, const resp_limits *lim, const char **err)
{
    if (p->mb_left == 0) {
        /* Between commands. */
        p->start = p->pos;
        p->argc = 0;
        if (p->pos >= len) return RESP_NEED_MORE;
        if (qb[p->pos] != '*') return parse_inline(p, qb, len, lim, err);
        long cr = find_crlf(qb, p->pos, len);
        if (cr < 0) {
            if (len - p->pos > lim->max_inline) {
                *err = "Protocol error: too big mbulk count string";
                return RESP_EPROTO;
            }
            return RESP_NEED_MORE;
        }
        long long n;
        size_t max_args = lim->unauth ? UNAUTH_MAX_ARGS : lim->max_args;
        if (parse_len(qb, p->pos, (size_t)cr, &n) != 0 || n > (long long)max_args) {
            *err = (lim->unauth && n > UNAUTH_MAX_ARGS)
                       ? "Protocol error: unauthenticated multibulk length"
                       : "Protocol error: invalid multibulk length";
            return RESP_EPROTO;
        }
        p->pos = (size_t)cr + 2;
        if (n <= 0) {
            /* "*0" and "*-1" are empty commands: skipped, as Redis does. */
            p->inline_cmd = 0;
            return RESP_OK;
        }
        p->mb_left = n;
        p->bulk_len = -1;
    }
    size_t max_bulk =
        lim->unauth && lim->max_bulk > UNAUTH_MAX_BULK ? UNAUTH_MAX_BULK : lim->max_bulk;
    while (p->mb_left > 0) {
        if (p->bulk_len < 0) {
            if (p->pos >= len) return RESP_NEED_MORE;
            if (qb[p->pos] != '$') {
                static char msg[64];
                uint8_t c = qb[p->pos];
                snprintf(msg, sizeof msg, "Protocol error: expected '$', got '%c'",
                         (c >= 32 && c < 127) ? c : '?');
                *err = msg;
                return RESP_EPROTO;
            }
            long cr = find_crlf(qb, p->pos, len);
            if (cr < 0) {
                if (len - p->pos > lim->max_inline) {
                    *err = "Protocol error: too big bulk count string";
                    return RESP_EPROTO;
                }
                return RESP_NEED_MORE;
            }
            long long bl;
            if (parse_len(qb, p->pos, (size_t)cr, &bl) != 0 || bl < 0 ||
                (unsigned long long)bl > max_bulk) {
                *err = (lim->unauth && bl > UNAUTH_MAX_BULK)
                           ? "Protocol error: unauthenticated bulk length"
                           : "Protocol error: invalid bulk length";
                return RESP_EPROTO;
            }
            p->bulk_len = bl;
            p->pos = (size_t)cr + 2;
        }
        size_t need = (size_t)p->bulk_len + 2;
        if (len - p->pos < need) return RESP_NEED_MORE;
        if (qb[p->pos + (size_t)p->bulk_len] != '\r' ||
            qb[p->pos + (size_t)p->bulk_len + 1] != '\n') {
            *err = "Protocol error: expected '\\r\\n' after bulk data";
            return RESP_EPROTO;
        }
        push_arg(p, p->pos, (size_t)p->bulk_len);
        p->pos += need;
        p->bulk_len = -1;
        p->mb_left--;
    }
    p->inline_cmd = 0;
    return RESP_OK;
}

/* ---- replies ---- */

static void put_len_line(buf *b, char type, long long n)
{
    buf_reserve(b, 24);
    uint8_t *w = b->p + b->len;
    *w++ = (uint8_t)type;
    w += str_from_ll((char *)w, n);
    *w++ = '\r';
    *w++ = '\n';
    b->len = (size_t)(w - b->p);
}

void resp_simple(buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_reserve(b, n + 3);
    b->p[b->len++] = '+';
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
}

void resp_error(buf *b, const char *msg)
{
    size_t n = strlen(msg);
    buf_reserve(b, n + 3);
    b->p[b->len++] = '-';
    for (size_t i = 0; i < n; i++) {
        char c = msg[i];
        b->p[b->len++] = (uint8_t)((c == '\r' || c == '\n') ? ' ' : c);
    }
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
}

void resp_errorf(buf *b, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp_error(b, msg);
}

void resp_int(buf *b, long long v)
{
    put_len_line(b, ':', v);
}

void resp_bulk(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n + 24);
    put_len_line(b, '$', (long long)n);
    if (n) memcpy(b->p + b->len, p, n); /* an empty value may come as NULL */
    b->len += n;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
}

void resp_bulk_cstr(buf *b, const char *s)
{
    resp_bulk(b, s, strlen(s));
}

void resp_bulk_ll(buf *b, long long v)
{
    char tmp[24];
    size_t n = str_from_ll(tmp, v);
    resp_bulk(b, tmp, n);
}

void resp_null(buf *b, int proto)
{
    if (proto >= 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "$-1\r\n", 5);
}

void resp_null_array(buf *b, int proto)
{
    if (proto >= 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "*-1\r\n", 5);
}

void resp_array(buf *b, size_t n)
{
    put_len_line(b, '*', (long long)n);
}

void resp_map(buf *b, size_t n, int proto)
{
    if (proto >= 3)
        put_len_line(b, '%', (long long)n);
    else
        put_len_line(b, '*', (long long)(n * 2));
}

void resp_set(buf *b, size_t n, int proto)
{
    put_len_line(b, proto >= 3 ? '~' : '*', (long long)n);
}

void resp_push(buf *b, size_t n, int proto)
{
    put_len_line(b, proto >= 3 ? '>' : '*', (long long)n);
}

void resp_double(buf *b, double v, int proto)
{
    char tmp[64];
    size_t n = str_from_d(tmp, sizeof tmp, v);
    if (proto >= 3) {
        buf_putc(b, ',');
        buf_append(b, tmp, n);
        buf_append(b, "\r\n", 2);
    } else {
        resp_bulk(b, tmp, n);
    }
}

void resp_bool(buf *b, int v, int proto)
{
    if (proto >= 3)
        buf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        buf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_verbatim(buf *b, const char *p, size_t n, int proto)
{
    if (proto >= 3) {
        put_len_line(b, '=', (long long)n + 4);
        buf_append(b, "txt:", 4);
        buf_append(b, p, n);
        buf_append(b, "\r\n", 2);
    } else {
        resp_bulk(b, p, n);
    }
}

/* ---- look-ahead ---- */

/* The length line at p[*i] (its type byte, a decimal, CRLF), read as the parser reads it;
 * -1 when it is incomplete or not a number. *i moves past it. */
static long long peek_len(const uint8_t *p, size_t len, size_t *i)
{
    long cr = find_crlf(p, *i, len);
    long long v;
    if (cr < 0 || parse_len(p, *i, (size_t)cr, &v) != 0) return -1;
    *i = (size_t)cr + 2;
    return v;
}

size_t resp_peek(const uint8_t *p, size_t len, resp_peeked *out, size_t max, size_t *end)
{
    size_t n = 0, i = 0;
    *end = 0;
    while (n < max && i < len && p[i] == '*') {
        long long argc = peek_len(p, len, &i);
        if (argc < 1 || argc > 1024 * 1024) break;
        resp_peeked pk;
        memset(&pk, 0, sizeof pk);
        pk.argc = (size_t)argc;
        long long a;
        for (a = 0; a < argc; a++) {
            if (i >= len || p[i] != '$') break;
            long long l = peek_len(p, len, &i);
            if (l < 0 || (unsigned long long)l + 2 > len - i) break;
            if (p[i + (size_t)l] != '\r' || p[i + (size_t)l + 1] != '\n') break;
            if (a < 3) pk.arg[a] = (resp_arg){i, (size_t)l};
            i += (size_t)l + 2;
        }
        if (a < argc) break;
        out[n++] = pk;
        *end = i;
    }
    return n;
}
