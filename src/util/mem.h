/*
 * mem: allocation with accounting. Every allocation of the keyspace and of
 * client buffers goes through these calls so that INFO used_memory and the
 * maxmemory check see what the server really holds (malloc_usable_size, not
 * the requested size). Failure to allocate aborts: the server cannot continue
 * safely half-way through a command, and limits are checked before allocating.
 */
#ifndef MEM_H
#define MEM_H

#include <stddef.h>

/* Allocate n bytes (never NULL; aborts on exhaustion). Caller frees with mem_free. */
void *mem_alloc(size_t n);
/* Allocate n zeroed bytes. */
void *mem_calloc(size_t n);
/* Resize p (may be NULL) to n bytes; returns the new block. */
void *mem_realloc(void *p, size_t n);
/* Free p (NULL is fine). */
void mem_free(void *p);
/* Wipe the usable size of p, then free it: for buffers that held values or secrets. */
void mem_free_wipe(void *p);
/* Duplicate n bytes into a new allocation with a NUL after them. */
char *mem_strndup(const char *s, size_t n);
/* Duplicate a C string. */
char *mem_strdup(const char *s);
/* Bytes currently allocated through this module (all threads). */
size_t mem_used(void);
/* Usable size of a block returned by this module. */
size_t mem_size(const void *p);

#endif
