/* persist_rules.h — what happens to a request for a persisted sandbox (pure).
 *
 * A persisted sandbox (sandbox.pause {persist: true}, docs/persistence.md)
 * has no processes and no worker: Redis records it paused with `persisted`
 * 1 and an empty owner lease, PostgreSQL keeps its sealed create spec and
 * its checkpoint. The partition's owner serves its requests: a resume (and a
 * kill) needs an actor, which the dispatcher starts as it does for a create;
 * anything else is answered as for a paused sandbox (invalid_state). */
#ifndef SQ_PERSIST_RULES_H
#define SQ_PERSIST_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sq/protocol.h"

typedef enum {
    SQ_PERSIST_NOT,       /* not a persisted sandbox: the usual path */
    SQ_PERSIST_BRING_UP,  /* bring it up on this worker (sandbox.assigned → sandbox.resumed) */
    SQ_PERSIST_END,       /* end it without bringing it up (kill) */
    SQ_PERSIST_REFUSE     /* answered as paused: invalid_state (the request's own rules) */
} sq_persist_verdict;

/* state: what Redis records; persisted: its `persisted` field is 1. */
sq_persist_verdict sq_persist_decide(sq_state state, bool persisted, sq_req_type type);

/* Whether the dispatcher starts an actor for this request (no actor runs it
 * here): a create, or a bring-up/end of a persisted sandbox. */
bool sq_persist_wants_actor(sq_state state, bool persisted, sq_req_type type);

/* Whether a request type can ever need an actor for a persisted sandbox
 * (resume, kill): the dispatcher asks Redis only for these. */
bool sq_persist_may_want_actor(sq_req_type type);

/* capabilities.checkpoint / checkpoint {auto: true} in a create spec: its
 * latest checkpoint is restored by the next owner after a crash. */
bool sq_persist_spec_auto(const json_t *spec);

#endif
