/* loop.h — the agent loop of one task.agent, run as the task's body on the
 * sandbox's actor thread (lifecycle/task.h): ask the model, run the tool
 * calls it makes inside the sandbox (tools.h), give it their results, until
 * it answers without tool calls — or maxSteps is reached (then one more,
 * text-only turn asks it to sum up), or the token ceiling, the task's
 * timeoutMs, a kill or a task.cancel ends it. One sandbox.task.progress per
 * step; the redacted transcript goes to PostgreSQL (agent_transcripts). */
#ifndef SQ_AGENT_LOOP_H
#define SQ_AGENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "lifecycle/task.h"

/* The worker's agent settings (docs/agent.md), read once from its env. */
typedef struct sq_agent_settings {
    bool allow_private;     /* SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS */
    bool stream;            /* SANDQ_AGENT_STREAM (default on) */
    bool title;             /* SANDQ_AGENT_TITLE (default on): a short title by the small model */
    int64_t timeout_ms;     /* SANDQ_AGENT_TIMEOUT_MS: a task's default timeoutMs */
    int64_t max_tokens;     /* SANDQ_AGENT_MAX_TOKENS: prompt + completion tokens of one task */
    int64_t output_bytes;   /* SANDQ_AGENT_TOOL_OUTPUT_BYTES: one tool result, head + tail */
    int64_t retries;        /* SANDQ_AGENT_RETRIES: retries of one model call */
    int64_t retry_cap_ms;   /* SANDQ_AGENT_RETRY_MAX_MS: the longest wait between them */
} sq_agent_settings;

const sq_agent_settings *sq_agent_settings_get(void);

/* The model configuration in a sandbox's env; NULL fields are missing. */
typedef struct sq_agent_env {
    const char *api_key, *model, *small_model, *base_url;
} sq_agent_env;
void sq_agent_env_of(const json_t *env, sq_agent_env *e);
/* Whether the env can run the agent: 0, or -1 with a message saying what is
 * missing or wrong. */
int sq_agent_env_check(const sq_agent_env *e, char *why, size_t why_size);

void sq_agent_body(sq_task *t, sq_task_outcome *out);

#endif
