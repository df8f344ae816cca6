/*
 * resp: the Redis protocol, without I/O.
 *
 * Requests: an incremental parser over the caller's query buffer. It accepts
 * multibulk (*N $len ...) and inline commands, returns RESP_OK with the
 * arguments as (offset, length) pairs into the buffer, RESP_NEED_MORE when the
 * command is not complete yet, or RESP_EPROTO with Redis's error text. Every
 * length is checked against the limits before anything is reserved for it,
 * and a declared length never makes the parser allocate: bytes are only
 * accounted as they arrive. Inline arguments are decoded in place (the decoded
 * form is never longer than the raw line).
 *
 * Replies: encoders that append to a buf, in RESP2 or RESP3 (maps, sets,
 * doubles, nulls and verbatim strings degrade to their RESP2 forms).
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum resp_result { RESP_OK = 0, RESP_NEED_MORE = 1, RESP_EPROTO = -1 };

typedef struct {
    size_t max_bulk;   /* largest bulk argument (proto-max-bulk-len) */
    size_t max_args;   /* most arguments in one command */
    size_t max_inline; /* longest inline command or length line */
    int unauth;        /* stricter limits before authentication */
} resp_limits;

typedef struct {
    size_t off; /* offset of the argument in the query buffer */
    size_t len; /* its length */
} resp_arg;

typedef struct {
    size_t pos;         /* next byte to look at, relative to the buffer start */
    size_t start;       /* where the command being parsed begins */
    long long mb_left;  /* arguments still to read; 0 when between commands */
    long long bulk_len; /* length of the bulk being read, -1 when expecting its '$' line */
    resp_arg *argv;     /* arguments of the command (parser-owned) */
    size_t argc;        /* arguments filled */
    size_t argv_cap;    /* allocated slots */
    int inline_cmd;     /* the complete command was inline */
} resp_parser;

/* Initialize a parser. */
void resp_parser_init(resp_parser *p);
/* Release its memory. */
void resp_parser_free(resp_parser *p);
/* Parse one command from buf[p->pos..len). On RESP_OK, p->argc/argv describe it and p->pos is
 * just past it; call resp_parser_next before parsing the following command. On RESP_EPROTO,
 * *err is a static Redis-style message ("Protocol error: ..."). */
int resp_parse(resp_parser *p, uint8_t *buf, size_t len, const resp_limits *lim,
               const char **err);
/* Forget the parsed command (its arguments) and get ready for the next one. */
void resp_parser_next(resp_parser *p);
/* The caller dropped the first n bytes of the buffer (n <= p->start): rebase offsets. */
void resp_parser_shift(resp_parser *p, size_t n);

/* A look-ahead over the complete multibulk commands at the start of buf (at most max),
 * for prefetching: each one's argument count and its first three arguments (offsets
 * relative to buf; arguments past argc are zero). It stops at the first thing that is not
 * a plain complete multibulk command (an inline command, a partial one, a malformed one)
 * and checks no limits: resp_parse still parses every byte. Returns the number of commands
 * described; *end is the offset just past the last (0 if none). */
typedef struct {
    size_t argc;
    resp_arg arg[3];
} resp_peeked;
size_t resp_peek(const uint8_t *buf, size_t len, resp_peeked *out, size_t max, size_t *end);

/* ---- replies ---- */
void resp_simple(buf *b, const char *s);                         /* +s */
void resp_error(buf *b, const char *msg);                        /* -msg (CR/LF replaced) */
void resp_errorf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_int(buf *b, long long v);                              /* :v */
void resp_bulk(buf *b, const void *p, size_t n);                 /* $n p */
void resp_bulk_cstr(buf *b, const char *s);                      /* $strlen(s) s */
void resp_bulk_ll(buf *b, long long v);                          /* $ decimal */
void resp_null(buf *b, int proto);                               /* $-1 or _ */
void resp_null_array(buf *b, int proto);                         /* *-1 or _ */
void resp_array(buf *b, size_t n);                               /* *n */
void resp_map(buf *b, size_t n, int proto);                      /* %n or *2n */
void resp_set(buf *b, size_t n, int proto);                      /* ~n or *n */
void resp_double(buf *b, double v, int proto);                   /* ,v or bulk */
void resp_bool(buf *b, int v, int proto);                        /* #t/#f or :1/:0 */
void resp_verbatim(buf *b, const char *p, size_t n, int proto);  /* =n txt:p or bulk */
void resp_push(buf *b, size_t n, int proto);                     /* >n or *n */

#endif
