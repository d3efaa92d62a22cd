/* forward.h — requests for a sandbox another live worker hosts go to that
 * worker (the I/O; the rules are forward_rules.h).
 *
 * Each worker has its own forward topic, <prefix>.worker.<workerId> (one
 * partition, created at start), consumed by a consumer of its own
 * (pipeline/consumer.c) in the group <SANDQ_GROUP_ID>.<that topic>. When a
 * partition moves, the new owner finds that a request's sandbox is recorded
 * live under another worker's lease whose heartbeat still beats: it produces
 * the message — the same key and value, with headers naming where it came
 * from — to that worker's forward topic, and completes its own offset only
 * once Kafka acknowledged the copy (no message timeout: it waits for the
 * broker). The host serves it exactly as one from a requests topic: the
 * dedupe by requestId, the fencing epoch, the events.
 *
 * Order: the new owner dispatches a partition's messages for sandboxes it
 * does not run on its polling thread, one after another, and produces them
 * with the sandbox id as key on one idempotent producer, so a sandbox's
 * requests reach the host's forward topic in partition order; the host's
 * consumer hands them to the sandbox's actor in that order. */
#ifndef SQ_FORWARD_H
#define SQ_FORWARD_H

#include "pipeline/job.h"
#include "worker.h"

/* Create this worker's forward topic (1 partition) if it does not exist. */
int sq_forward_topic_create(sq_worker *w, sq_err *err);

/* Called by the dispatcher before the dedupe claim for a parsed request.
 * 1: forwarded — the job is handed on (its offset completes once the copy is
 * acknowledged; the caller must not touch it); 0: serve it here; -1: Redis
 * could not tell (err), the caller waits and asks again. */
int sq_forward_maybe(sq_worker *w, sq_job *job, sq_err *err);

#endif
