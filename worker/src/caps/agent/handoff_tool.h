/* handoff_tool.h — the agent's request_handoff tool (build agent, sandboxes
 * with a browser; docs/agent.md): opens a hand-off with requestedBy "agent"
 * (handoff/handoff_live.h: the same events, rows, webhook and control URL as
 * a handoff.request), names it in a sandbox.task.progress event, and waits,
 * the task still active, until the person completes it, it is cancelled or
 * it expires. kill, task.cancel and the task's timeoutMs end the wait at
 * once; the hand-off is then cancelled (the person is not left acting for an
 * agent that is gone). Actor thread. */
#ifndef SQ_AGENT_HANDOFF_TOOL_H
#define SQ_AGENT_HANDOFF_TOOL_H

#include "caps/agent/tools.h"

sq_tool_status sq_agent_tool_handoff(sq_agent_tools_ctx *c, const json_t *args, char **text);

#endif
