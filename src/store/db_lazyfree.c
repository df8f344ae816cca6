/*
 * db_lazyfree: UNLINK's background free of large hashes (see db_unlink in db.h).
 *
 * The hash leaves the keyspace on the event loop (journal, snapshot, WATCH as for DEL);
 * only the freeing and wiping of its fields runs on a thread of its own. The values
 * per key version (PHI.KEYRING STATUS, and what a key retirement checks) belong to the
 * loop: the thread tallies the versions of the values it frees and the loop takes them
 * out of the counts when the job completes, so until then they count a few too many,
 * never too few.
 */
#include "db_int.h"

#include "util/mem.h"
#include "util/workq.h"

#define LAZYFREE_MAX_PENDING 4096 /* hashes queued; more are freed at once */

typedef struct {
    db *d;
    db_hash *h;
    int sealed;    /* values are sealed: tally their versions */
    size_t *tally; /* values freed per key version */
    size_t ntally;
} lf_job;

static void lf_field(dict_node *n, void *ud)
{
    lf_job *j = ud;
    db_hfield *hf = (db_hfield *)n;
    if (j->sealed) {
        uint32_t v = seal_version(hf->data + hf->flen, hf->vlen);
        if (v >= j->ntally) {
            size_t nn = (size_t)v + 8;
            j->tally = mem_realloc(j->tally, nn * sizeof *j->tally);
            for (size_t i = j->ntally; i < nn; i++)
                j->tally[i] = 0;
            j->ntally = nn;
        }
        j->tally[v]++;
    }
    mem_free_wipe(n);
}

static void lf_work(void *ud)
{
    lf_job *j = ud;
    dict_clear(&j->h->fields, lf_field, j);
    mem_free(j->h);
    j->h = NULL;
}

static void lf_done(void *ud)
{
    lf_job *j = ud;
    for (size_t v = 0; v < j->ntally; v++)
        if (j->tally[v]) db_uncount(j->d, (uint32_t)v, j->tally[v]);
    mem_free(j->tally);
    mem_free(j);
}

int db_lazyfree_hash(db *d, db_hash *h)
{
    if (!d->lazyq || h->packed) return -1;
    lf_job *j = mem_calloc(sizeof *j);
    j->d = d;
    j->h = h;
    j->sealed = d->seal != NULL;
    if (workq_submit(d->lazyq, lf_work, lf_done, j) != 0) {
        mem_free(j);
        return -1;
    }
    return 0;
}

int db_lazyfree_start(db *d)
{
    if (d->lazyq) return 0;
    d->lazyq = workq_new(1, LAZYFREE_MAX_PENDING);
    return d->lazyq ? 0 : -1;
}

void db_lazyfree_stop(db *d)
{
    if (!d->lazyq) return;
    workq_free(d->lazyq); /* the queued hashes are freed, then their counts applied */
    d->lazyq = NULL;
}

int db_lazyfree_fd(const db *d)
{
    return d->lazyq ? workq_fd(d->lazyq) : -1;
}

void db_lazyfree_drain(db *d)
{
    if (d->lazyq) workq_drain(d->lazyq);
}
