/*
 * buf: growable byte buffer (see buf.h). Doubling growth, minimum 64 bytes.
 *
 * Buffers carry requests and replies, i.e. values. So growth never uses realloc (which
 * may free the old block with its contents intact): the bytes are copied and the old
 * block wiped before it is freed; and consuming from the front wipes the tail that the
 * remaining bytes were moved away from. No stale copy is left behind in the heap.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

void buf_reserve(buf *b, size_t n)
{
    if (b->cap - b->len >= n) return;
    size_t need = b->len + n;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap < (1u << 30) ? cap * 2 : cap + (1u << 30);
    uint8_t *np = mem_alloc(cap);
    if (b->p) {
        memcpy(np, b->p, b->len);
        explicit_bzero(b->p, b->cap);
        mem_free(b->p);
    }
    b->p = np;
    b->cap = cap;
}

void buf_append(buf *b, const void *p, size_t n)
{
    if (n == 0) return;
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(buf *b, uint8_t c)
{
    buf_reserve(b, 1);
    b->p[b->len++] = c;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_consume(buf *b, size_t n)
{
    if (n >= b->len) {
        explicit_bzero(b->p, b->len);
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    explicit_bzero(b->p + b->len - n, n); /* the old copy of what moved */
    b->len -= n;
}

void buf_free(buf *b)
{
    mem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void buf_wipe_free(buf *b)
{
    if (b->p) explicit_bzero(b->p, b->cap);
    buf_free(b);
}

const char *buf_cstr(buf *b)
{
    buf_reserve(b, 1);
    b->p[b->len] = '\0';
    return (const char *)b->p;
}
