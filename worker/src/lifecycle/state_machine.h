/* state_machine.h — which request is legal in which lifecycle state (pure).
 *
 * One function answers for every (state, request type) pair, so the rules live
 * in one table that a unit test walks exhaustively. */
#ifndef SQ_STATE_MACHINE_H
#define SQ_STATE_MACHINE_H

#include "sq/err.h"
#include "sq/protocol.h"

/* 0 if a request of `type` may be acted on while the sandbox is in `state`
 * (SQ_STATE_NONE: no such sandbox). Otherwise -1 with invalid_state,
 * sandbox_exists or sandbox_not_found in err. */
int sq_sm_check(sq_state state, sq_req_type type, sq_err *err);

#endif
