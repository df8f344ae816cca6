/* args: redis.conf-style line splitting (see args.h). */
#include "args.h"

#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void push(args *a, buf *cur)
{
    a->v = mem_realloc(a->v, sizeof(char *) * (size_t)(a->n + 1));
    a->len = mem_realloc(a->len, sizeof(size_t) * (size_t)(a->n + 1));
    a->v[a->n] = mem_strndup(cur->p ? (const char *)cur->p : "", cur->len);
    a->len[a->n] = cur->len;
    a->n++;
    if (cur->p) explicit_bzero(cur->p, cur->cap);
    cur->len = 0;
}

int args_split(const char *line, size_t n, args *a)
{
    memset(a, 0, sizeof *a);
    buf cur = {0};
    size_t i = 0;
    /* A line whose first non-blank character is '#' is a comment; elsewhere '#' is data
     * (password hashes in the ACL file start with it). */
    while (i < n && isspace((unsigned char)line[i]))
        i++;
    if (i < n && line[i] == '#') return 0;
    for (;;) {
        while (i < n && isspace((unsigned char)line[i]))
            i++;
        if (i >= n) break;
        int inq = 0, insq = 0;
        for (;;) {
            if (inq) {
                if (i >= n) goto unbalanced;
                if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' &&
                    hexval(line[i + 2]) >= 0 && hexval(line[i + 3]) >= 0) {
                    buf_putc(&cur, (uint8_t)(hexval(line[i + 2]) * 16 + hexval(line[i + 3])));
                    i += 4;
                } else if (line[i] == '\\' && i + 1 < n) {
                    char c = line[i + 1];
                    switch (c) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: break;
                    }
                    buf_putc(&cur, (uint8_t)c);
                    i += 2;
                } else if (line[i] == '"') {
                    if (i + 1 < n && !isspace((unsigned char)line[i + 1])) goto unbalanced;
                    i++;
                    break;
                } else {
                    buf_putc(&cur, (uint8_t)line[i++]);
                }
            } else if (insq) {
                if (i >= n) goto unbalanced;
                if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
                    buf_putc(&cur, '\'');
                    i += 2;
                } else if (line[i] == '\'') {
                    if (i + 1 < n && !isspace((unsigned char)line[i + 1])) goto unbalanced;
                    i++;
                    break;
                } else {
                    buf_putc(&cur, (uint8_t)line[i++]);
                }
            } else {
                if (i >= n || isspace((unsigned char)line[i])) break;
                if (line[i] == '"' && cur.len == 0) {
                    inq = 1;
                    i++;
                } else if (line[i] == '\'' && cur.len == 0) {
                    insq = 1;
                    i++;
                } else {
                    buf_putc(&cur, (uint8_t)line[i++]);
                }
            }
        }
        push(a, &cur);
    }
    buf_wipe_free(&cur);
    return 0;
unbalanced:
    buf_wipe_free(&cur);
    args_free(a);
    return -1;
}

void args_free(args *a)
{
    for (int i = 0; i < a->n; i++) {
        explicit_bzero(a->v[i], a->len[i]);
        mem_free(a->v[i]);
    }
    mem_free(a->v);
    mem_free(a->len);
    memset(a, 0, sizeof *a);
}
