/*
 * mem: allocation with accounting (see mem.h). The counter is a relaxed atomic:
 * worker threads allocate too, and exactness to the byte at every instant does
 * not matter, only that nothing is missed.
 */
#include "mem.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic size_t used;

static void mem_oom(size_t n)
{
    char msg[96];
    int len = snprintf(msg, sizeof msg, "phidb: out of memory allocating %zu bytes\n", n);
    if (len > 0) {
        ssize_t w = write(2, msg, (size_t)len);
        (void)w;
    }
    abort();
}

void *mem_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) mem_oom(n);
    atomic_fetch_add_explicit(&used, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) mem_oom(n);
    atomic_fetch_add_explicit(&used, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *np = realloc(p, n ? n : 1);
    if (!np) mem_oom(n);
    size_t now = malloc_usable_size(np);
    if (now >= old)
        atomic_fetch_add_explicit(&used, now - old, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&used, old - now, memory_order_relaxed);
    return np;
}

void mem_free(void *p)
{
    if (!p) return;
    atomic_fetch_sub_explicit(&used, malloc_usable_size(p), memory_order_relaxed);
    free(p);
}

void mem_free_wipe(void *p)
{
    if (!p) return;
    size_t n = malloc_usable_size(p);
    explicit_bzero(p, n);
    atomic_fetch_sub_explicit(&used, n, memory_order_relaxed);
    free(p);
}

char *mem_strndup(const char *s, size_t n)
{
    char *d = mem_alloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

size_t mem_used(void)
{
    return atomic_load_explicit(&used, memory_order_relaxed);
}

size_t mem_size(const void *p)
{
    return p ? malloc_usable_size((void *)p) : 0;
}
