/*
 * buf: a growable byte buffer (pointer, length, capacity). Used for query and
 * reply buffers and for building strings. Growth goes through mem (accounted).
 * A buf that held values is released with buf_wipe_free so no copy lingers.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p; /* bytes, owned by the buf (NULL when cap == 0) */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
} buf;

/* Make room for at least n more bytes after len. */
void buf_reserve(buf *b, size_t n);
/* Append n bytes. */
void buf_append(buf *b, const void *p, size_t n);
/* Append a C string. */
void buf_puts(buf *b, const char *s);
/* Append one byte. */
void buf_putc(buf *b, uint8_t c);
/* Append printf-formatted text. */
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (memmove the rest down; the vacated tail is wiped). */
void buf_consume(buf *b, size_t n);
/* Release the storage. */
void buf_free(buf *b);
/* Wipe the whole capacity, then release: for buffers that held values. */
void buf_wipe_free(buf *b);
/* NUL-terminate (not counted in len) and return the bytes as a C string. */
const char *buf_cstr(buf *b);

#endif
