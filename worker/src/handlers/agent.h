/* agent.h — the agent capability's side of the handlers (agent.c): checking
 * its configuration at create (sandbox.agent.ready / sandbox.agent.failed),
 * for create_kill.c. task.agent itself is sq_handle_agent (handlers.h). */
#ifndef SQ_HANDLERS_AGENT_H
#define SQ_HANDLERS_AGENT_H

#include <stdbool.h>

#include "worker.h"

/* With capabilities.agent.enabled: remember it on sb and emit
 * sandbox.agent.ready, or sandbox.agent.failed when the env lacks the key or
 * the model (the sandbox still becomes ready). *ready says which; false
 * without the capability. Returns -1 only when an event could not be emitted. */
int sq_agent_bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, bool *ready, sq_err *err);

#endif
