/* Unit tests for resp: incremental parsing, limits, hostile lengths, inline, replies. */
#include <stdlib.h>
#include <string.h>

#include "net/resp.h"
#include "unit.h"

static const resp_limits lim = {1024 * 1024, 1024, 64 * 1024, 0};

/* Parse all of s (copied, since inline parsing decodes in place); returns rc of the first
 * command and leaves args in p. */
static int parse1(resp_parser *p, uint8_t *in, size_t len, const char **err)
{
    resp_parser_init(p);
    return resp_parse(p, in, len, &lim, err);
}

#define ARG_IS(p, in, i, lit) CHECK_MEM((in) + (p).argv[i].off, (p).argv[i].len, lit)

TEST(multibulk)
{
    uint8_t in[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\0a\r\n\r\n";
    resp_parser p;
    const char *err = NULL;
    CHECK_INT(parse1(&p, in, sizeof in - 1, &err), RESP_OK);
    CHECK_INT(p.argc, 3);
    ARG_IS(p, in, 0, "SET");
    CHECK_INT(p.argv[2].len, 5);
    CHECK(memcmp(in + p.argv[2].off, "v\0a\r\n", 5) == 0); /* binary safe */
    CHECK_INT(p.pos, sizeof in - 1);
    resp_parser_free(&p);
}

TEST(incremental_every_split)
{
    const char *msg = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
    size_t n = strlen(msg);
    for (size_t cut = 0; cut <= n; cut++) {
        uint8_t in[128];
        memcpy(in, msg, n);
        resp_parser p;
        resp_parser_init(&p);
        const char *err;
        int rc = resp_parse(&p, in, cut, &lim, &err);
        if (cut < n) {
            CHECK_INT(rc, RESP_NEED_MORE);
            rc = resp_parse(&p, in, n, &lim, &err);
        }
        CHECK_INT(rc, RESP_OK);
        CHECK_INT(p.argc, 2);
        ARG_IS(p, in, 1, "hello world");
        resp_parser_free(&p);
    }
}

TEST(pipeline_and_shift)
{
    uint8_t in[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\n*1\r\n$4\r\nPI";
    size_t len = sizeof in - 1;
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    CHECK_INT(resp_parse(&p, in, len, &lim, &err), RESP_OK);
    ARG_IS(p, in, 0, "PING");
    resp_parser_next(&p);
    CHECK_INT(resp_parse(&p, in, len, &lim, &err), RESP_OK);
    ARG_IS(p, in, 1, "x");
    resp_parser_next(&p);
    CHECK_INT(resp_parse(&p, in, len, &lim, &err), RESP_NEED_MORE);
    /* The caller drops consumed bytes; offsets follow. */
    size_t start = p.start;
    memmove(in, in + start, len - start);
    len -= start;
    resp_parser_shift(&p, start);
    uint8_t more[64];
    memcpy(more, in, len);
    memcpy(more + len, "NG\r\n", 4);
    CHECK_INT(resp_parse(&p, more, len + 4, &lim, &err), RESP_OK);
    ARG_IS(p, more, 0, "PING");
    resp_parser_free(&p);
}

static void expect_error(const char *text, const char *want)
{
    size_t n = strlen(text);
    uint8_t *in = malloc(n + 1);
    memcpy(in, text, n);
    resp_parser p;
    const char *err = NULL;
    int rc = parse1(&p, in, n, &err);
    CHECK_INT(rc, RESP_EPROTO);
    if (rc == RESP_EPROTO) CHECK_STR(err, want);
    resp_parser_free(&p);
    free(in);
}

TEST(hostile_lengths)
{
    expect_error("*abc\r\n", "Protocol error: invalid multibulk length");
    expect_error("*99999999999999999999\r\n", "Protocol error: invalid multibulk length");
    expect_error("*2000\r\n", "Protocol error: invalid multibulk length"); /* over max_args */
    expect_error("*1\r\n$-1\r\n", "Protocol error: invalid bulk length");
    expect_error("*1\r\n$abc\r\n", "Protocol error: invalid bulk length");
    expect_error("*1\r\n$99999999999\r\n", "Protocol error: invalid bulk length");
    expect_error("*1\r\n$2000000\r\n", "Protocol error: invalid bulk length"); /* over max */
    expect_error("*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'");
    expect_error("*1\r\n$3\r\nfooXX", "Protocol error: expected '\\r\\n' after bulk data");
    expect_error("SET \"unbalanced\r\n", "Protocol error: unbalanced quotes in request");
    /* A declared length is never allocated: a short body just needs more bytes. */
    uint8_t in[] = "*1\r\n$1000000\r\nabc";
    resp_parser p;
    const char *err;
    CHECK_INT(parse1(&p, in, sizeof in - 1, &err), RESP_NEED_MORE);
    CHECK(p.argv_cap <= 16);
    resp_parser_free(&p);
    /* Empty commands are skipped, as Redis does. */
    uint8_t z[] = "*0\r\n";
    CHECK_INT(parse1(&p, z, 4, &err), RESP_OK);
    CHECK_INT(p.argc, 0);
    resp_parser_free(&p);
}

TEST(too_long_lines)
{
    size_t n = 70 * 1024;
    uint8_t *in = malloc(n);
    memset(in, 'a', n);
    resp_parser p;
    const char *err;
    CHECK_INT(parse1(&p, in, n, &err), RESP_EPROTO);
    CHECK_STR(err, "Protocol error: too big inline request");
    resp_parser_free(&p);
    in[0] = '*';
    CHECK_INT(parse1(&p, in, n, &err), RESP_EPROTO);
    CHECK_STR(err, "Protocol error: too big mbulk count string");
    resp_parser_free(&p);
    free(in);
}

TEST(unauthenticated_limits)
{
    resp_limits u = lim;
    u.unauth = 1;
    uint8_t a[] = "*11\r\n";
    resp_parser p;
    resp_parser_init(&p);
    const char *err;
    CHECK_INT(resp_parse(&p, a, 5, &u, &err), RESP_EPROTO);
    CHECK_STR(err, "Protocol error: unauthenticated multibulk length");
    resp_parser_free(&p);
    uint8_t b[] = "*2\r\n$20000\r\n";
    resp_parser_init(&p);
    CHECK_INT(resp_parse(&p, b, sizeof b - 1, &u, &err), RESP_EPROTO);
    CHECK_STR(err, "Protocol error: unauthenticated bulk length");
    resp_parser_free(&p);
}

TEST(inline_commands)
{
    uint8_t in[] = "set  k \"a b\\x41\\n\" 'it\\'s'\r\nPING\n";
    resp_parser p;
    const char *err;
    CHECK_INT(parse1(&p, in, sizeof in - 1, &err), RESP_OK);
    CHECK_INT(p.argc, 4);
    ARG_IS(p, in, 0, "set");
    ARG_IS(p, in, 2, "a bA\n");
    ARG_IS(p, in, 3, "it's");
    resp_parser_next(&p);
    CHECK_INT(resp_parse(&p, in, sizeof in - 1, &lim, &err), RESP_OK);
    ARG_IS(p, in, 0, "PING");
    resp_parser_free(&p);
}

TEST(replies)
{
    buf b = {0};
    resp_bulk(&b, "ab", 2);
    resp_int(&b, -42);
    resp_null(&b, 2);
    resp_null(&b, 3);
    resp_map(&b, 2, 2);
    resp_map(&b, 2, 3);
    resp_double(&b, 1.5, 3);
    resp_error(&b, "ERR bad\r\nthing");
    resp_verbatim(&b, "hi", 2, 3);
    CHECK_MEM(b.p, b.len,
              "$2\r\nab\r\n:-42\r\n$-1\r\n_\r\n*4\r\n%2\r\n,1.5\r\n-ERR bad  thing\r\n"
              "=6\r\ntxt:hi\r\n");
    buf_free(&b);
}

UNIT_MAIN(T(multibulk), T(incremental_every_split), T(pipeline_and_shift), T(hostile_lengths),
          T(too_long_lines), T(unauthenticated_limits), T(inline_commands), T(replies))
