/* transition.h — a live sandbox changes state: Redis (fenced by the owner's
 * epoch, and taking the state event's seq in the same round trip), then
 * PostgreSQL, then the state's event. The state machine (state_machine.h)
 * says which changes a request may ask for; this records one that happens. */
#ifndef SQ_TRANSITION_H
#define SQ_TRANSITION_H

#include <jansson.h>

#include "worker.h"

/* Updates Redis and PostgreSQL state, then emits the state's event with data
 * {state, previous, reason?, message?} merged with `extra` (stolen, may be
 * NULL). A stale epoch (another worker took the sandbox over) leaves sb as it
 * was, marks it fenced and fails with ESTALE. */
int sq_transition(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_state to, const char *reason,
                  const char *message, json_t *extra, sq_err *err);

/* The same, emitted as `type` instead of the state's usual event (entering
 * ready from a pause is sandbox.resumed, not sandbox.ready). */
int sq_transition_as(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_state to, const char *type,
                     const char *reason, const char *message, json_t *extra, sq_err *err);

#endif
