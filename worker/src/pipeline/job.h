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
 * it.
 *
 * Its lifetime is a reference count: whoever can still touch the job holds
 * one — its owner (dispatch, then the actor, then the completer), every
 * message librdkafka has not reported on yet, every history row the writer
 * has not committed yet. Giving up on a job (sq_job_abandon) drops only the
 * owner's reference, so a delivery report or a commit that comes minutes
 * later (message.timeout.ms, a PostgreSQL outage) still finds it. */
#ifndef SQ_JOB_H
#define SQ_JOB_H

#include <pthread.h>
#include <stdatomic.h>

#include "worker.h"

/* What a delivery's failure means for its job. The events topic (and the
 * DLQ) is the record every consumer can rely on: a job is durable only once
 * those are acknowledged. A sandbox's replyTo is an extra copy to a topic the
 * requester names — one this worker may not be able to write at all
 * (`__consumer_offsets`, a missing topic, an ACL) — so its failure is counted
 * and logged and never holds the job, its offset or its in-flight slot. */
typedef enum { SQ_DELIVERY_REQUIRED, SQ_DELIVERY_BEST_EFFORT } sq_delivery_kind;

/* The per-message opaque given to librdkafka: which job, and what kind of
 * delivery (job NULL: a message no job counts). */
typedef struct sq_job_tally {
    struct sq_job *job;
    sq_delivery_kind kind;
} sq_job_tally;

struct sq_job {
    sq_worker *w;
    atomic_int refs;           /* see above; the job is freed when it drops to 0 */
    sq_job_tally tallies[2];   /* indexed by sq_delivery_kind */
    rd_kafka_message_t *msg;   /* until sealed or abandoned (job.c: drop_message) */
    sq_request req;
    bool parsed;               /* req is a valid request (dedupe applies) */
    bool ledger_checked;       /* the PostgreSQL dedupe ledger was consulted */
    bool forwarded_away;       /* produced to its host's forward topic (pipeline/forward.h): not served here */
    /* What a retry may redo (lifecycle/actor.c): once the request's answer
     * exists, only recording and publishing it; once a task's body began,
     * never the body. */
    char *answer;              /* the envelope that answers the request, once built (notify/emit.c) */
    bool effect_started;       /* a task's body began (lifecycle/task.c) */
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

/* Takes ownership of msg and registers its offset as in flight. The caller
 * holds the job's first reference (its owner's). */
sq_job *sq_job_new(sq_worker *w, rd_kafka_message_t *msg);

/* The job whose events the calling thread is producing (NULL: none). */
void sq_job_set_current(sq_job *job);
sq_job *sq_job_current(void);

/* Keep the answer to the current job's request (a copy of envelope), so
 * that a failure after it was built redoes only its recording and publishing. */
void sq_job_keep_answer(const char *envelope);
/* The current job's task body begins: from now on a retry must not run it
 * again (its effect — a command, a write — has happened, or may have). */
void sq_job_effect_begins(void);

/* Delivery accounting, used by the event producer and its delivery callback
 * and by the history writer. Each begun delivery holds a reference to the job
 * until it is done. */
void sq_job_delivery_begin(sq_job *job);
void sq_job_delivery_done(sq_job *job, bool ok);
/* The opaque of a Kafka message produced for `job` (NULL: a message no job
 * counts): begins a delivery of that kind when there is a job. Settle it
 * with sq_job_tally_done from the delivery report. */
const sq_job_tally *sq_job_tally_begin(sq_job *job, sq_delivery_kind kind);
/* A message's delivery report: a best-effort delivery never fails its job. */
void sq_job_tally_done(const sq_job_tally *t, bool ok);

/* Nothing more will be counted against the job: once everything counted
 * has settled (now, or when the last acknowledgement or commit arrives, on
 * that thread), on_settled(job) is called, once, and owns the job. */
void sq_job_seal(sq_job *job, void (*on_settled)(sq_job *job));
/* Wait (bounded) for what is counted so far to settle; true when all of it
 * succeeded. The failure count starts over afterwards. */
bool sq_job_wait_deliveries(sq_job *job);
/* Give up on a job without completing its offset (shutdown): the message is
 * consumed again by whoever owns the partition next. Drops the owner's
 * reference without waiting for what is still counted: the deliveries and
 * rows in flight keep the job alive until they report. */
void sq_job_abandon(sq_job *job);
/* Drop the owner's reference (whoever finished the job, once done with it). */
void sq_job_release(sq_job *job);

#endif
