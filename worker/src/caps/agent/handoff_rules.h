/* handoff_rules.h — the agent's request_handoff tool, its pure part
 * (unit-tested in tests/unit/test_agent_handoff.c): checking the model's
 * arguments and turning them into a handoff.request body, and the text the
 * model gets back when the hand-off ends (completed: the human's note and
 * the resumePrompt; cancelled; expired). The control URL is never in that
 * text: it is a credential for the person (docs/agent.md). */
#ifndef SQ_AGENT_HANDOFF_RULES_H
#define SQ_AGENT_HANDOFF_RULES_H

#include <jansson.h>
#include <stddef.h>

#include "handoff/handoff_state.h"

/* Check request_handoff's arguments (already a JSON object with reason and
 * message strings: rules.h) and build the handoff.request body with
 * handoff_id: a new reference, or NULL with why saying, for the model, what
 * was wrong. */
json_t *sq_agent_handoff_body(const json_t *args, const char *handoff_id, char *why, size_t why_size);

/* The tool result for a hand-off that ended with status (completed,
 * cancelled or expired); data is its event data (note, resumePrompt,
 * controller, expiresAt). Malloc'd. */
char *sq_agent_handoff_result(sq_handoff_status status, const json_t *data);

#endif
