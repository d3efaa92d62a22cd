/* job.h — one consumed request message on its way to a durable outcome, and
 * what it still owes.
 *
 * A job is done when its handler returned *and* Kafka acknowledged every event
 * it produced *and* the history writer committed every row it queued; only
 * then is its requestId marked done and its offset offered for commit (that is
 * completer.h's). Events produced and rows queued while a job is current on a
 * thread (see sq_job_set_current) are counted against that job. This is the
 * accounting only: it calls nothing above it, so the event producer and the
 * history writer can count against a job without depending on what finishes
 * it. */
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
    void (*on_settled)(struct sq_job *job); /* set by sq_job_seal */
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

/* Nothing more will be counted against the job: once everything counted
 * has settled (now, or when the last acknowledgement or commit arrives, on
 * that thread), on_settled(job) is called, once, and owns the job. */
void sq_job_seal(sq_job *job, void (*on_settled)(sq_job *job));
/* Wait (bounded) for what is counted so far to settle; true when all of it
 * succeeded. The failure count starts over afterwards. */
bool sq_job_wait_deliveries(sq_job *job);
/* Give up on a job without completing its offset (shutdown): the message is
 * consumed again by whoever owns the partition next. */
void sq_job_abandon(sq_job *job);
/* Free a job (whoever finished it, once done with it). */
void sq_job_free(sq_job *job);

#endif
