/* replay.h — answering a duplicate of a request that already took effect: its
 * stored events are published again — the same envelopes, same eventIds and
 * seqs (as PostgreSQL's jsonb keeps them: key order and spacing may differ
 * from the first copy's bytes) — so a client that retried because it missed
 * the first answer gets one, and a consumer that dedupes by eventId (or
 * sandboxId + seq) sees nothing new.
 *
 * Only Kafka sees a replay: no history row is written (the events are already
 * in the audit log), so no webhook delivery is queued either (the outbox is
 * filled by a trigger on that log), and no seq is taken. */
#ifndef SQ_REPLAY_H
#define SQ_REPLAY_H

#include "job.h"

/* Publish every stored event of job->req's requestId, in seq order, to the
 * events topic and to the reply topic the original went to, keyed by its
 * sandbox (or by the request's key when the event belongs to no sandbox).
 *
 * Best effort: the deliveries are not counted against the job (whose offset
 * may be committed before they are acknowledged) — the first copy's effect
 * stands either way, and a client that still hears nothing retries again.
 * Safe to call whenever the request is known done: "done" (Redis, and the
 * PostgreSQL ledger) is recorded only after the request's events are
 * committed to the audit log (job.h), so none of them is missing here. */
int sq_replay_events(sq_worker *w, sq_job *job, sq_err *err);

/* The same for a duplicate found done (Redis or the ledger); a failure is
 * logged, not returned: the duplicate is acknowledged either way. */
void sq_replay_duplicate(sq_worker *w, sq_job *job);

#endif
