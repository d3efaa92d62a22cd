/* route.h — one request for one sandbox, judged and handed to its handler.
 *
 * The router asks what the request may do to the sandbox as it is now — its
 * state and tenant, from the live record or, when this worker does not run
 * it, from Redis (a sandbox left live by a worker that went away is failed
 * first: worker_lost) — rejects what the state machine refuses, and calls the
 * request type's handler. Called by the sandbox's actor, in Kafka order, and
 * by the dispatcher for sandboxes that have no actor here. */
#ifndef SQ_ROUTE_H
#define SQ_ROUTE_H

#include "worker.h"

/* Handle one request for a sandbox (sb may be NULL or not yet created).
 * Returns -1 when its effects could not be made durable (err). */
int sq_route(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);

/* Answer req with request.rejected (why), in the sandbox's stream when the
 * sandbox exists (next seq), else with seq 0 to the request's own replyTo;
 * and record the outcome in the requests ledger. sb may be NULL. */
int sq_route_reject(sq_worker *w, const sq_live_sandbox *sb, const sq_request *req, const sq_err *why, sq_err *err);

#endif
