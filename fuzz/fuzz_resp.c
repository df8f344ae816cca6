/*
 * Fuzz target for the RESP request parser: arbitrary bytes are parsed as a
 * stream of commands, fed in two pieces (every split point the fuzzer picks),
 * with normal and unauthenticated limits. The parser must never read outside
 * the buffer, never loop forever, and every argument it returns must lie
 * inside the buffer. The look-ahead (resp_peek, used for prefetching) must
 * agree with the parser: every command the parser accepts among those the
 * look-ahead described has the same argument count, the same first three
 * arguments and the same end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/resp.h"

static void run(const uint8_t *data, size_t size, int unauth, size_t split)
{
    resp_limits lim = {4096, 64, 1024, unauth};
    uint8_t *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    resp_parser p;
    resp_parser_init(&p);
    size_t avail = split < size ? split : size;
    for (int guard = 0; guard < 100000; guard++) {
        const char *err = NULL;
        int rc = resp_parse(&p, in, avail, &lim, &err);
        if (rc == RESP_EPROTO) {
            if (!err) abort();
            break;
        }
        if (rc == RESP_NEED_MORE) {
            if (avail == size) break;
            avail = size;
            continue;
        }
        for (size_t i = 0; i < p.argc; i++)
            if (p.argv[i].off + p.argv[i].len > avail) abort();
        if (p.pos > avail) abort();
        resp_parser_next(&p);
    }
    resp_parser_free(&p);
    free(in);
}

static void peek_agrees(const uint8_t *data, size_t size)
{
    resp_limits lim = {1u << 20, 1u << 20, 1u << 20, 0};
    uint8_t *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    resp_peeked pk[32];
    size_t end, n = resp_peek(in, size, pk, 32, &end);
    if (end > size || (n == 0) != (end == 0)) abort();
    resp_parser p;
    resp_parser_init(&p);
    size_t k;
    for (k = 0; k < n; k++) {
        const char *err = NULL;
        if (resp_parse(&p, in, size, &lim, &err) != RESP_OK) break;
        if (p.argc != pk[k].argc) abort();
        for (size_t a = 0; a < 3 && a < p.argc; a++)
            if (p.argv[a].off != pk[k].arg[a].off || p.argv[a].len != pk[k].arg[a].len) abort();
        resp_parser_next(&p);
    }
    if (k == n && p.pos != end) abort();
    resp_parser_free(&p);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t split = size ? data[0] % (size + 1) : 0;
    run(data, size, 0, split);
    run(data, size, 1, size);
    peek_agrees(data, size);
    return 0;
}
