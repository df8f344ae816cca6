/*
 * ev: epoll event loop (see ev.h). Timers are few (the server cron, deferred
 * replies of throttled logins), so a list scanned per iteration is enough.
 */
#include "ev.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/mem.h"
#include "util/strutil.h"

typedef struct {
    int mask;     /* EV_READ | EV_WRITE being watched */
    int active;   /* registered with epoll */
    ev_fd_fn *fn; /* callback */
    void *arg;    /* callback argument */
} ev_file;

typedef struct ev_timer {
    long long id;          /* handle */
    long long when_ms;     /* monotonic deadline */
    ev_timer_fn *fn;       /* callback */
    void *arg;             /* callback argument */
    int deleted;           /* removed while the list was being walked */
    struct ev_timer *next; /* list link */
} ev_timer;

struct ev_loop {
    int epfd;                    /* epoll instance */
    int setsize;                 /* size of files[] */
    ev_file *files;              /* indexed by descriptor */
    struct epoll_event *events;  /* buffer for epoll_wait */
    ev_timer *timers;            /* unordered list */
    long long next_timer_id;     /* id generator */
    ev_hook_fn *before;          /* before-wait hook */
    void *before_arg;            /* its argument */
    volatile sig_atomic_t stop;  /* set by ev_stop */
};

ev_loop *ev_new(int setsize)
{
    ev_loop *l = mem_calloc(sizeof *l);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        mem_free(l);
        return NULL;
    }
    l->setsize = setsize;
    l->files = mem_calloc(sizeof(ev_file) * (size_t)setsize);
    l->events = mem_calloc(sizeof(struct epoll_event) * 1024);
    return l;
}

void ev_free(ev_loop *l)
{
    if (!l) return;
    close(l->epfd);
    mem_free(l->files);
    mem_free(l->events);
    while (l->timers) {
        ev_timer *t = l->timers;
        l->timers = t->next;
        mem_free(t);
    }
    mem_free(l);
}

static int apply(ev_loop *l, int fd)
{
    ev_file *f = &l->files[fd];
    struct epoll_event ee = {0};
    ee.data.fd = fd;
    if (f->mask & EV_READ) ee.events |= EPOLLIN;
    if (f->mask & EV_WRITE) ee.events |= EPOLLOUT;
    if (!f->mask) {
        if (f->active) {
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
            f->active = 0;
        }
        return 0;
    }
    int op = f->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ee) != 0) return -1;
    f->active = 1;
    return 0;
}

int ev_watch(ev_loop *l, int fd, int mask, ev_fd_fn *fn, void *arg)
{
    if (fd < 0 || fd >= l->setsize) {
        errno = ERANGE;
        return -1;
    }
    ev_file *f = &l->files[fd];
    f->fn = fn;
    f->arg = arg;
    f->mask = mask;
    return apply(l, fd);
}

int ev_mask(ev_loop *l, int fd, int mask)
{
    if (fd < 0 || fd >= l->setsize) return -1;
    if (l->files[fd].mask == mask) return 0;
    l->files[fd].mask = mask;
    return apply(l, fd);
}

int ev_get_mask(ev_loop *l, int fd)
{
    if (fd < 0 || fd >= l->setsize) return 0;
    return l->files[fd].mask;
}

void ev_unwatch(ev_loop *l, int fd)
{
    if (fd < 0 || fd >= l->setsize) return;
    ev_file *f = &l->files[fd];
    f->mask = 0;
    apply(l, fd);
    f->fn = NULL;
    f->arg = NULL;
}

long long ev_timer_add(ev_loop *l, long long ms, ev_timer_fn *fn, void *arg)
{
    ev_timer *t = mem_calloc(sizeof *t);
    t->id = ++l->next_timer_id;
    t->when_ms = clock_mono_ms() + ms;
    t->fn = fn;
    t->arg = arg;
    t->next = l->timers;
    l->timers = t;
    return t->id;
}

void ev_timer_del(ev_loop *l, long long id)
{
    for (ev_timer *t = l->timers; t; t = t->next)
        if (t->id == id) t->deleted = 1;
}

void ev_before_wait(ev_loop *l, ev_hook_fn *fn, void *arg)
{
    l->before = fn;
    l->before_arg = arg;
}

void ev_stop(ev_loop *l)
{
    l->stop = 1;
}

static long long wait_ms(ev_loop *l)
{
    long long now = clock_mono_ms(), best = -1;
    for (ev_timer *t = l->timers; t; t = t->next) {
        if (t->deleted) continue;
        long long d = t->when_ms - now;
        if (d < 0) d = 0;
        if (best < 0 || d < best) best = d;
    }
    return best < 0 ? 1000 : best;
}

static void run_timers(ev_loop *l)
{
    long long now = clock_mono_ms();
    for (ev_timer *t = l->timers; t; t = t->next) {
        if (t->deleted || t->when_ms > now) continue;
        long long next = t->fn(l, t->id, t->arg);
        if (next < 0)
            t->deleted = 1;
        else
            t->when_ms = clock_mono_ms() + next;
    }
    ev_timer **pp = &l->timers;
    while (*pp) {
        ev_timer *t = *pp;
        if (t->deleted) {
            *pp = t->next;
            mem_free(t);
        } else {
            pp = &t->next;
        }
    }
}

void ev_run(ev_loop *l)
{
    l->stop = 0;
    while (!l->stop) {
        if (l->before) l->before(l, l->before_arg);
        if (l->stop) break;
        int n = epoll_wait(l->epfd, l->events, 1024, (int)wait_ms(l));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            int fd = l->events[i].data.fd;
            uint32_t e = l->events[i].events;
            ev_file *f = &l->files[fd];
            int mask = 0;
            if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) mask |= EV_READ;
            if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) mask |= EV_WRITE;
            mask &= f->mask | ((e & (EPOLLHUP | EPOLLERR)) ? EV_READ : 0);
            if (mask && f->fn) f->fn(l, fd, f->arg, mask);
        }
        run_timers(l);
    }
}
