/*
 * ev: the event loop. epoll for file descriptors (level-triggered), a short
 * list of timers, and a hook that runs before each wait (where replies are
 * flushed and logs are synced, so one system call serves a whole batch).
 *
 * One callback per descriptor receives the mask of ready events. Everything
 * runs on the loop thread; other threads wake the loop through a descriptor
 * they write to (an eventfd).
 */
#ifndef EV_H
#define EV_H

#define EV_READ  1
#define EV_WRITE 2

typedef struct ev_loop ev_loop;

/* Called with the ready mask (EV_READ | EV_WRITE, plus EV_READ on hang-up/error). */
typedef void ev_fd_fn(ev_loop *l, int fd, void *arg, int mask);
/* Called when a timer fires; returns the next delay in ms, or -1 to delete the timer. */
typedef long long ev_timer_fn(ev_loop *l, long long id, void *arg);
/* Called before each wait. */
typedef void ev_hook_fn(ev_loop *l, void *arg);

/* New loop handling descriptors below setsize. NULL on failure. */
ev_loop *ev_new(int setsize);
/* Free the loop (callbacks are not called). */
void ev_free(ev_loop *l);
/* Watch fd for mask (replacing any earlier watch), calling fn(arg). Returns 0 or -1. */
int ev_watch(ev_loop *l, int fd, int mask, ev_fd_fn *fn, void *arg);
/* Change the mask of a watched fd (0 stops watching but keeps fn/arg). Returns 0 or -1. */
int ev_mask(ev_loop *l, int fd, int mask);
/* Current mask of fd. */
int ev_get_mask(ev_loop *l, int fd);
/* Stop watching fd. */
void ev_unwatch(ev_loop *l, int fd);
/* Add a timer firing after ms; returns its id (>0). */
long long ev_timer_add(ev_loop *l, long long ms, ev_timer_fn *fn, void *arg);
/* Delete a timer by id. */
void ev_timer_del(ev_loop *l, long long id);
/* Set the before-wait hook. */
void ev_before_wait(ev_loop *l, ev_hook_fn *fn, void *arg);
/* Run until ev_stop. */
void ev_run(ev_loop *l);
/* Make ev_run return after the current iteration (async-signal-safe). */
void ev_stop(ev_loop *l);

#endif
