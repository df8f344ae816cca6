/* workq: worker threads with a bounded queue and loop-side completion (see workq.h). */
#include "workq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mem.h"

typedef struct job {
    struct job *next;        /* queue link */
    void (*work)(void *arg); /* runs on a worker */
    void (*done)(void *arg); /* runs on the loop */
    void *arg;               /* caller's */
} job;

struct workq {
    pthread_mutex_t lock;  /* protects everything below */
    pthread_cond_t cond;   /* signalled when a job is queued or on stop */
    job *head, *tail;      /* waiting jobs */
    job *done_head;        /* finished jobs waiting for workq_drain */
    size_t pending;        /* queued + running + finished-not-drained */
    size_t max_pending;    /* bound for workq_submit */
    int stop;              /* set by workq_free */
    atomic_int cancel;     /* set by workq_cancel (read by jobs without the lock) */
    int efd;               /* eventfd signalled on completion */
    int nthreads;          /* threads started */
    pthread_t *threads;    /* the workers */
};

static void *worker(void *p)
{
    workq *q = p;
    pthread_setname_np(pthread_self(), "phidb-worker"); /* top -H, perf: which thread */
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->cond, &q->lock);
        if (!q->head && q->stop) break;
        job *j = q->head;
        q->head = j->next;
        if (!q->head) q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        j->work(j->arg);
        pthread_mutex_lock(&q->lock);
        j->next = q->done_head;
        q->done_head = j;
        uint64_t one = 1;
        ssize_t w = write(q->efd, &one, sizeof one);
        (void)w;
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

workq *workq_new(int nthreads, size_t max_pending)
{
    workq *q = mem_calloc(sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->max_pending = max_pending;
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->efd < 0) goto fail_efd;
    q->threads = mem_calloc(sizeof(pthread_t) * (size_t)nthreads);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0) break;
        q->nthreads++;
    }
    if (q->nthreads == 0) goto fail_threads;
    return q;
fail_threads:
    mem_free(q->threads);
    close(q->efd);
fail_efd:
    mem_free(q);
    return NULL;
}

void workq_free(workq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    workq_drain(q);
    mem_free(q->threads);
    close(q->efd);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    mem_free(q);
}

void workq_cancel(workq *q)
{
    if (q) atomic_store(&q->cancel, 1);
}

int workq_cancelled(const workq *q)
{
    return q && atomic_load(&q->cancel);
}

int workq_submit(workq *q, void (*work)(void *), void (*done)(void *), void *arg)
{
    pthread_mutex_lock(&q->lock);
    if (q->pending >= q->max_pending || q->stop) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    job *j = mem_alloc(sizeof *j);
    j->next = NULL;
    j->work = work;
    j->done = done;
    j->arg = arg;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->pending++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int workq_fd(const workq *q)
{
    return q->efd;
}

void workq_drain(workq *q)
{
    uint64_t v;
    ssize_t r = read(q->efd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&q->lock);
    job *list = q->done_head;
    q->done_head = NULL;
    pthread_mutex_unlock(&q->lock);
    /* Completion order: oldest first is friendlier, but any order is correct. */
    job *rev = NULL;
    while (list) {
        job *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        job *n = rev->next;
        rev->done(rev->arg);
        mem_free(rev);
        pthread_mutex_lock(&q->lock);
        q->pending--;
        pthread_mutex_unlock(&q->lock);
        rev = n;
    }
}

size_t workq_pending(workq *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->pending;
    pthread_mutex_unlock(&q->lock);
    return n;
}
