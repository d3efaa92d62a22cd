/* job.h — one consumed request message on its way to a durable outcome.
 *
 * A job is done when its handler returned *and* Kafka acknowledged every event
 * it produced; only then is its requestId marked done and its offset offered
 * for commit. Events produced while a job is current on a thread (see
 * sq_job_set_current) are counted against that job. */
#ifndef SQ_JOB_H
#define SQ_JOB_H

#include <pthread.h>

#include "worker.h"

struct sq_job {
    sq_worker *w;
    rd_kafka_message_t *msg;
    sq_request req;
    bool parsed;               /* req is a valid request (dedupe applies) */
    bool ledger_checked;       /* the PostgreSQL dedupe ledger was consulted */
    char topic[SQ_TOPIC_MAX];
    int32_t partition;
    int64_t offset;
    int64_t started_mono;      /* when it was consumed (request latency) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;               /* produced events not yet acknowledged */
    int failed_deliveries;
    bool sealed;               /* handed to the completer once pending reaches 0 */
    bool settled;              /* ... and so it was (pending 0 after sealing) */
    struct sq_job *next;       /* the actor's FIFO, then the completer's queue */
    struct sq_job *tprev, *tnext; /* the completer's list of sealed jobs */
};

/* Takes ownership of msg and registers its offset as in flight. */
sq_job *sq_job_new(sq_worker *w, rd_kafka_message_t *msg);

/* The job whose events the calling thread is producing (NULL: none). */
void sq_job_set_current(sq_job *job);
sq_job *sq_job_current(void);

/* Delivery accounting, used by the event producer and its delivery callback. */
void sq_job_delivery_begin(sq_job *job);
void sq_job_delivery_done(sq_job *job, bool ok);

/* Finish: wait for the deliveries, then — when `effects_ok` and every event
 * was delivered — mark the request done (Redis, PostgreSQL) and complete the
 * offset. Returns 0 when the job is complete and freed; -1 when its effects
 * are not durable: the job is kept for the caller to retry. */
int sq_job_finish(sq_job *job, bool effects_ok);
/* Finish without waiting: the handler succeeded, and the job is complete when
 * its last event is acknowledged and its last history row committed — which
 * the completer (completer.h) learns and acts on. The caller must not touch
 * the job afterwards. */
void sq_job_finish_async(sq_job *job);
/* Give up on a job without completing its offset (shutdown): the message is
 * consumed again by whoever owns the partition next. */
void sq_job_abandon(sq_job *job);
/* Free a job (the completer's, once done with it). */
void sq_job_free(sq_job *job);

#endif
