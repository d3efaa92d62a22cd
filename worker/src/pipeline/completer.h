/* completer.h — the thread that finishes jobs whose effects became durable.
 *
 * An actor does not wait for its job's events to be acknowledged by Kafka and
 * its history rows to be committed: it seals the job (sq_job_finish_async) and
 * runs the next one. When the last acknowledgement of a sealed job arrives
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

#include "worker.h"

typedef struct sq_completer sq_completer;

sq_completer *sq_completer_start(sq_worker *w, sq_err *err);
/* A sealed job is on its way (counted until it is freed). */
void sq_completer_track(sq_completer *c, sq_job *job);
/* Its last delivery settled: finish it on the completer's thread. */
void sq_completer_push(sq_completer *c, sq_job *job);
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
