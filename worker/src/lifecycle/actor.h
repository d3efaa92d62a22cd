/* actor.h — a live sandbox's thread and FIFO of jobs: one request at a time
 * per sandbox, in Kafka order; different sandboxes in parallel. */
#ifndef SQ_ACTOR_H
#define SQ_ACTOR_H

#include "pipeline/job.h"
#include "worker.h"

/* A new, not yet created sandbox record for `id` (state NONE). */
sq_live_sandbox *sq_actor_new(sq_worker *w, const char *id);
/* Starts the actor thread. Call with registry_mu held, after registry put. */
int sq_actor_start(sq_worker *w, sq_live_sandbox *sb);
/* Appends a job. Call with registry_mu held (the actor cannot be closing). */
void sq_actor_enqueue(sq_live_sandbox *sb, sq_job *job);
/* For a sandbox waiting in queued: take a sandbox.kill out of its queue (or
 * NULL). The caller ends the sandbox on its behalf, then finishes the job. */
sq_job *sq_actor_take_kill(sq_live_sandbox *sb);
/* Wake every actor (shutdown). */
void sq_actor_wake_all(sq_worker *w);

/* Implemented by dispatch.c: handle one request for a sandbox (sb may be
 * NULL or not yet created). Returns -1 when effects could not be made durable. */
int sq_route(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);

#endif
