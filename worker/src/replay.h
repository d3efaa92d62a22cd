/* replay.h — answering a replayed request that already took effect: its
 * stored events are published again, with their original eventIds and seqs,
 * so a client that retried (and missed the first answer) gets one, and a
 * consumer that dedupes by eventId sees nothing new. */
#ifndef SQ_REPLAY_H
#define SQ_REPLAY_H

#include "job.h"

/* Publish every event of job->req's requestId from the audit log, in seq
 * order, keyed by its sandbox (or the request's key). Counted on the job. */
int sq_replay_events(sq_worker *w, sq_job *job, sq_err *err);

#endif
