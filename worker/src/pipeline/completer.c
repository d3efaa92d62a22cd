/* completer.c — see completer.h. */
#include "pipeline/completer.h"

#include <stdlib.h>

#include "pipeline/job.h"
#include "metrics.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "util/backoff.h"

/* Jobs marked done per Redis round trip. */
#define BATCH_MAX 256

struct sq_completer {
    sq_worker *w;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sq_job *head, *tail;       /* settled, waiting to be finished */
    sq_job *tracked;           /* every sealed job not freed yet */
    size_t outstanding;
    bool stopping;
    pthread_mutex_t history_mu; /* held while queueing ledger rows */
    bool history_closed;        /* the history writer is stopping: no more rows */
};

/* A sealed job is on its way (counted until it is freed). */
static void track(sq_completer *c, sq_job *job)
{
    pthread_mutex_lock(&c->mu);
    job->tprev = NULL;
    job->tnext = c->tracked;
    if (c->tracked)
        c->tracked->tprev = job;
    c->tracked = job;
    c->outstanding++;
    pthread_mutex_unlock(&c->mu);
}

static void untrack(sq_completer *c, sq_job *job)
{
    if (job->tprev)
        job->tprev->tnext = job->tnext;
    else
        c->tracked = job->tnext;
    if (job->tnext)
        job->tnext->tprev = job->tprev;
    c->outstanding--;
}

/* Its last delivery settled: finish it on the completer's thread. */
static void push(sq_completer *c, sq_job *job)
{
    pthread_mutex_lock(&c->mu);
    job->next = NULL;
    if (c->tail)
        c->tail->next = job;
    else
        c->head = job;
    c->tail = job;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

size_t sq_completer_outstanding(sq_completer *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->outstanding;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Mark the batch's requests done in Redis, in one round trip. A Redis outage
 * holds the batch (and so its offsets) until Redis is back, or until shutdown,
 * when the requests are simply left to be redone by the next owner. */
static bool mark_done(sq_completer *c, sq_job **jobs, size_t n)
{
    const char *ids[BATCH_MAX];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->parsed && jobs[i]->failed_deliveries == 0)
            ids[k++] = jobs[i]->req.request_id;
    sq_backoff wait = sq_backoff_make(200, 10000);
    for (;;) {
        sq_err err;
        if (sq_redis_requests_done(c->w, ids, k, &err) == 0)
            return true;
        sq_error(NULL, "could not record %zu requests as done: %s; retrying", k, err.msg);
        if (atomic_load(&c->w->stopping)) {
            sq_redis_forget_deferred();
            return false;
        }
        sq_sleep_ms(sq_backoff_next(&wait));
    }
}

/* The request is done: its offset may be committed; its latency is measured. */
static void complete_offset(sq_worker *w, sq_job *job)
{
    pthread_mutex_lock(&w->offsets_mu);
    sq_offsets_complete(w->offsets, job->topic, job->partition, job->offset);
    pthread_mutex_unlock(&w->offsets_mu);
    if (!job->forwarded_away) /* counted by the worker that serves it */
        sq_metrics_request(job->req.type, (double)(sq_mono_ms() - job->started_mono) / 1000.0);
}

static void finish_batch(sq_completer *c, sq_job **jobs, size_t n)
{
    sq_worker *w = c->w;
    bool done = mark_done(c, jobs, n);
    for (size_t i = 0; i < n; i++) {
        sq_job *job = jobs[i];
        sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
        if (job->failed_deliveries > 0) {
            sq_error(&lc, "events of %s were not acknowledged by Kafka or its history not committed; its offset "
                          "stays uncommitted and the partition's next owner redoes it",
                     job->req.type_name);
            continue;
        }
        if (!done)
            continue;
        sq_err err;
        pthread_mutex_lock(&c->history_mu);
        if (job->parsed && !c->history_closed)
            (void)sq_pg_request_record(w, job->req.request_id, job->req.sandbox_id, job->req.type_name, "done",
                                       &err); /* queued to the history writer: cannot fail */
        pthread_mutex_unlock(&c->history_mu);
        complete_offset(w, job);
    }
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++)
        untrack(c, jobs[i]);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++)
        sq_job_release(jobs[i]);
}

static void *completer_main(void *arg)
{
    sq_completer *c = arg;
    sq_job *batch[BATCH_MAX];
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->head && !c->stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->head && c->stopping) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        size_t n = 0;
        while (c->head && n < BATCH_MAX) {
            batch[n++] = c->head;
            c->head = c->head->next;
        }
        if (!c->head)
            c->tail = NULL;
        pthread_mutex_unlock(&c->mu);
        finish_batch(c, batch, n);
    }
    return NULL;
}

sq_completer *sq_completer_start(sq_worker *w, sq_err *err)
{
    sq_completer *c = calloc(1, sizeof *c);
    if (!c) {
        sq_err_set(err, SQ_INTERNAL, "out of memory");
        return NULL;
    }
    c->w = w;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_mutex_init(&c->history_mu, NULL);
    if (pthread_create(&c->thread, NULL, completer_main, c) != 0) {
        sq_err_errno(err, "pthread_create");
        free(c);
        return NULL;
    }
    return c;
}

void sq_completer_close_history(sq_completer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->history_mu);
    c->history_closed = true;
    pthread_mutex_unlock(&c->history_mu);
}

void sq_completer_stop(sq_completer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    /* Still waiting for a delivery report that will never come (the producer
     * is gone): its offset was never completed, so it is redone elsewhere. */
    if (c->outstanding)
        sq_warn(NULL, "%zu finished requests were still unacknowledged at exit; they will be redelivered",
                c->outstanding);
    for (sq_job *j = c->tracked, *n; j; j = n) {
        n = j->tnext;
        sq_job_release(j);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->history_mu);
    free(c);
}

/* The job's settle hook (job.h): called once, on the thread that settled it. */
static void settled(sq_job *job) { push(job->w->completer, job); }

void sq_completer_finish_async(sq_job *job)
{
    track(job->w->completer, job);
    sq_job_seal(job, settled);
}

int sq_completer_finish_now(sq_job *job, bool effects_ok)
{
    sq_worker *w = job->w;
    sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
    sq_err err;
    if (!sq_job_wait_deliveries(job)) {
        sq_error(&lc, "events of %s were not acknowledged by Kafka", job->req.type_name);
        return -1;
    }
    if (!effects_ok)
        return -1;
    if (job->parsed && (sq_redis_request_done(w, job->req.request_id, &err) < 0 ||
                        sq_pg_request_record(w, job->req.request_id, job->req.sandbox_id, job->req.type_name, "done",
                                             &err) < 0)) {
        sq_error(&lc, "could not record %s as done: %s", job->req.type_name, err.msg);
        return -1;
    }
    complete_offset(w, job);
    sq_job_release(job);
    return 0;
}
