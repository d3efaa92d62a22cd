/* persist_rules.h — what happens to a request for a persisted sandbox (pure).
 *
 * A persisted sandbox (docs/persistence.md) has no processes and no worker:
 * Redis records it with `persisted` 1, an empty owner lease and the reason it
 * was persisted; PostgreSQL keeps its sealed create spec and checkpoints.
 *   - paused by the user (pause {persist: true}, reason ""): a resume brings
 *     it up, a kill ends it, anything else is answered as for a paused
 *     sandbox (invalid_state).
 *   - persisted by a drain (worker_drained) or restored after its worker
 *     crashed (restored_from_checkpoint): transparent — its next request
 *     brings it up first and is then served; a kill ends it.
 * The partition's owner serves these: the dispatcher starts an actor for
 * them, as for a create. */
#ifndef SQ_PERSIST_RULES_H
#define SQ_PERSIST_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sq/protocol.h"

#define SQ_PERSIST_DRAINED "worker_drained"
#define SQ_PERSIST_CRASHED "restored_from_checkpoint"

/* What Redis says of the sandbox. */
typedef struct {
    sq_state state;
    bool persisted;          /* `persisted` 1 */
    const char *reason;      /* `persistReason` ("" or NULL: a user's pause) */
    bool auto_checkpoint;    /* created with checkpoint {auto: true} */
    bool owner_here_or_lost; /* live, not persisted, and no other live worker serves it (the dispatcher
                                forwards to a live owner before asking) */
} sq_persist_facts;

typedef enum {
    SQ_PERSIST_NOT,             /* not a persisted sandbox: the usual path */
    SQ_PERSIST_BRING_UP,        /* bring it up on this worker (sandbox.assigned → sandbox.resumed) */
    SQ_PERSIST_BRING_UP_SERVE,  /* bring it up, then serve the request itself */
    SQ_PERSIST_END,             /* end it without bringing it up (kill) */
    SQ_PERSIST_REFUSE           /* answered as paused: invalid_state */
} sq_persist_verdict;

sq_persist_verdict sq_persist_decide(const sq_persist_facts *f, sq_req_type type);

/* Whether the dispatcher starts an actor for this request (no actor runs it
 * here): a create, a bring-up or end of a persisted sandbox, or a lost
 * sandbox created with checkpoint {auto: true} (restored from its latest
 * checkpoint rather than failed worker_lost). */
bool sq_persist_wants_actor(const sq_persist_facts *f, sq_req_type type);

/* checkpoint {auto: true} in a create spec. */
bool sq_persist_spec_auto(const json_t *spec);

#endif
