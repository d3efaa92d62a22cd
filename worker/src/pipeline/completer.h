/* completer.h — finishing a job: marking its request done and completing its
 * offset, either now (the caller waits for the job's deliveries) or on the
 * completer's thread once its effects became durable.
 *
 * An actor does not wait for its job's events to be acknowledged by Kafka and
 * its history rows to be committed: it seals the job
 * (sq_completer_finish_async) and runs the next one. When the last acknowledgement of a sealed job arrives
 * (delivery callback, history writer), the job comes here, and only here is
 * its requestId marked done (Redis, one round trip per batch of jobs; the
 * PostgreSQL ledger) and its offset completed. Per-sandbox order holds: the
 * next job's events are produced after this one's, on the same idempotent
 * producer, and its rows queued after this one's on the one writer.
 *
 * A job one of whose deliveries failed for good is not completed: its offset
 * is never stored, so the partition's next owner consumes it again. */
#ifndef SQ_COMPLETER_H
#define SQ_COMPLETER_H

#include "pipeline/job.h"
#include "worker.h"

typedef struct sq_completer sq_completer;

sq_completer *sq_completer_start(sq_worker *w, sq_err *err);

/* Finish without waiting: the handler succeeded, and the job is complete when
 * its last event is acknowledged and its last history row committed, which
 * the completer's thread learns and acts on. The caller must not touch the
 * job afterwards. */
void sq_completer_finish_async(sq_job *job);
/* Finish now: wait for the job's deliveries, then — when `effects_ok` and
 * every event was delivered — mark the request done (Redis, PostgreSQL) and
 * complete the offset. Returns 0 when the job is complete and freed; -1 when
 * its effects are not durable: the job is kept for the caller to retry (or
 * to abandon, job.h). */
int sq_completer_finish_now(sq_job *job, bool effects_ok);

/* Sealed jobs not finished yet. */
size_t sq_completer_outstanding(sq_completer *c);
/* The history writer is about to stop: from now on a finished job gets no
 * ledger row (Redis still records it done; its offset is still completed). */
void sq_completer_close_history(sq_completer *c);
/* Finish what has settled, then free (without completing) any job still
 * waiting for deliveries that can no longer come; call after the producer and
 * the history writer are shut down. */
void sq_completer_stop(sq_completer *c);

#endif
