/*
 * workq: a small pool of worker threads for slow work that must not run on the
 * event loop (password hashing). Jobs are queued with a bound; a finished job's
 * completion callback runs later on the event loop thread, when the loop calls
 * workq_drain (woken through the eventfd from workq_fd).
 *
 * Ownership: the job's arg belongs to the caller; work() runs on a worker thread
 * and may only touch arg; done() runs on the loop thread and frees arg.
 */
#ifndef WORKQ_H
#define WORKQ_H

#include <stddef.h>

typedef struct workq workq;

/* Start nthreads workers with at most max_pending queued jobs. Returns NULL on failure. */
workq *workq_new(int nthreads, size_t max_pending);
/* Stop the workers (waits for running jobs; queued ones complete with done). */
void workq_free(workq *q);
/* From now on jobs are to be skipped: work() checks workq_cancelled at its start and
 * leaves its arg marked as not done, for done() to answer so (used before workq_free at
 * shutdown, so a stop does not wait for every queued job). */
void workq_cancel(workq *q);
int workq_cancelled(const workq *q);
/* Queue a job; returns 0, or -1 when the queue is full (caller answers "busy"). */
int workq_submit(workq *q, void (*work)(void *arg), void (*done)(void *arg), void *arg);
/* File descriptor (eventfd) readable when completions are waiting. */
int workq_fd(const workq *q);
/* Run the completion callbacks of finished jobs, on the calling (loop) thread. */
void workq_drain(workq *q);
/* Jobs queued or running. */
size_t workq_pending(workq *q);

#endif
