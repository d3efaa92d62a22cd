/* agent.c — the agent capability's requests: its configuration checked at
 * create, and task.agent, whose body is the agent loop (caps/agent/loop.h).
 * The model key stays in the sandbox's in-memory env (sb->env): it is never
 * in an event, a log line, a row or Redis; the task's PostgreSQL summary
 * holds only the prompt's size, the agent and the model. */
#include "handlers/agent.h"

#include <stdio.h>
#include <string.h>

#include "caps/agent/loop.h"
#include "caps/agent/rules.h"
#include "handlers/handlers.h"
#include "handlers/route.h"
#include "lifecycle/task.h"
#include "notify/emit.h"
#include "sq/log.h"

int sq_agent_bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, bool *ready, sq_err *err)
{
    *ready = false;
    const json_t *cap = json_object_get(json_object_get(req->body, "capabilities"), "agent");
    if (!json_is_true(json_object_get(cap, "enabled")))
        return 0;
    const char *def = json_string_value(json_object_get(cap, "defaultAgent"));
    sb->agent_enabled = true;
    snprintf(sb->agent_default, sizeof sb->agent_default, "%s", def ? def : "build");
    sq_agent_env e;
    sq_agent_env_of(sb->env, &e);
    char why[400];
    sq_emit_target t = sq_target_of(sb);
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
    if (sq_agent_env_check(&e, why, sizeof why) < 0) {
        sq_warn(&lc, "agent not configured: %s", why);
        return sq_emit(w, &t, req, NULL, "sandbox.agent.failed",
                       json_pack("{s:s, s:s}", "reason", "not_configured", "message", why), err);
    }
    *ready = true;
    json_t *d = json_pack("{s:s, s:s, s:s}", "model", e.model, "smallModel", e.small_model ? e.small_model : e.model,
                          "defaultAgent", sb->agent_default);
    return sq_emit(w, &t, req, NULL, "sandbox.agent.ready", d, err);
}

int sq_handle_agent(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    if (!sb->agent_enabled) {
        sq_err why;
        sq_err_field(&why, SQ_CAPABILITY_DISABLED, "type",
                     "this sandbox was created without capabilities.agent {enabled: true}");
        return sq_route_reject(w, sb, req, &why, err);
    }
    const char *agent = json_string_value(json_object_get(req->body, "agent"));
    const char *model = json_string_value(json_object_get(req->body, "model"));
    json_t *summary = json_pack("{s:s, s:I, s:s?}", "agent", agent ? agent : sb->agent_default, "promptBytes",
                                (json_int_t)json_string_length(json_object_get(req->body, "prompt")), "model", model);
    return sq_task_run(w, sb, req, summary, sq_agent_body, err);
}
