/* handoff_tool.c — see handoff_tool.h. */
#include "caps/agent/handoff_tool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps/agent/handoff_rules.h"
#include "caps/agent/rules.h"
#include "handoff/handoff_live.h"
#include "lifecycle/control.h"
#include "notify/emit.h"
#include "sq/clock.h"
#include "sq/ids.h"
#include "sq/log.h"

typedef struct wait_ctx {
    sq_agent_tools_ctx *c;
    bool timed_out;
} wait_ctx;

/* The wait's stop check: the control lane (kill, task.cancel, fenced; it
 * also serves the queued hand-off and preview requests) and the task's own
 * deadline. */
static bool stop_waiting(void *user)
{
    wait_ctx *wc = user;
    int64_t at;
    if (sq_control_on_exec(wc->c->t, &at))
        return true;
    if (sq_mono_ms() >= wc->c->deadline) {
        wc->timed_out = true;
        return true;
    }
    return false;
}

static void emit_waiting(sq_agent_tools_ctx *c, const char *id, const char *reason)
{
    char summary[200];
    snprintf(summary, sizeof summary, "waiting for a person: hand-off %s (%s)", id, reason);
    json_t *d = json_pack("{s:s, s:i, s:s, s:s, s:s}", "kind", "agent", "step", c->step, "tool", "request_handoff",
                          "summary", summary, "handoffId", id);
    sq_emit_target target = sq_target_of(c->t->sb);
    sq_err err;
    (void)sq_emit(c->t->w, &target, c->t->req, c->t->req->task_id, "sandbox.task.progress", d, &err);
}

/* The task stops while its hand-off is open: withdraw it. Not for a sandbox
 * another worker took over (nothing of it is ours to publish) nor while the
 * worker stops (the sandbox's next owner carries it). */
static void withdraw(sq_agent_tools_ctx *c, const char *id)
{
    sq_live_sandbox *sb = c->t->sb;
    int st = sq_handoff_status_of(sb, id, NULL);
    if (sb->fenced || atomic_load(&c->t->w->stopping) || (st != SQ_HANDOFF_PENDING && st != SQ_HANDOFF_ACCEPTED))
        return;
    sq_err why, err;
    int i = sq_handoff_cancel(&sb->handoffs, id, sq_now_ms(), &why);
    if (i >= 0 && sq_handoff_publish(c->t->w, sb, c->t->req, i, &err) < 0) {
        sq_log_ctx lc = {.sandbox_id = sb->id, .task_id = c->t->req->task_id};
        sq_error(&lc, "could not cancel hand-off %s of a stopped agent: %s", id, err.msg);
    }
}

sq_tool_status sq_agent_tool_handoff(sq_agent_tools_ctx *c, const json_t *args, char **text)
{
    sq_live_sandbox *sb = c->t->sb;
    char id[SQ_ID_MAX], why_text[300];
    sq_id_new("hnd", id);
    json_t *body = sq_agent_handoff_body(args, id, why_text, sizeof why_text);
    if (!body) {
        *text = strdup(why_text);
        return SQ_TOOL_OK;
    }
    sq_err why, err;
    sq_err_clear(&why);
    int rc = sq_handoff_open(c->t->w, sb, c->t->req, body, "agent", &why, &err);
    json_decref(body);
    sq_log_ctx lc = {.sandbox_id = sb->id, .task_id = c->t->req->task_id};
    if (rc == 0) { /* another hand-off is open: the sandbox has one control mode */
        snprintf(why_text, sizeof why_text, "Error: the hand-off could not be opened: %s", why.msg);
        *text = strdup(why_text);
        return SQ_TOOL_OK;
    }
    if (rc < 0) {
        sq_error(&lc, "agent: could not open a hand-off: %s", err.msg);
        snprintf(why_text, sizeof why_text, "Error: the hand-off could not be opened (%s); go on without it.",
                 err.msg);
        *text = strdup(why_text);
        return SQ_TOOL_OK;
    }
    emit_waiting(c, id, json_string_value(json_object_get(args, "reason")));
    wait_ctx wc = {.c = c};
    int status = 0;
    rc = sq_handoff_wait(c->t->w, sb, id, stop_waiting, &wc, &status, &err);
    if (rc == 1) {
        const json_t *data = NULL;
        (void)sq_handoff_status_of(sb, id, &data);
        *text = sq_agent_handoff_result((sq_handoff_status)status, data);
        return SQ_TOOL_OK;
    }
    if (rc < 0)
        sq_error(&lc, "agent: waiting for hand-off %s failed: %s", id, err.msg);
    withdraw(c, id);
    if (rc == 0 && wc.timed_out)
        return SQ_TOOL_TIMED_OUT;
    if (rc == 0)
        return SQ_TOOL_STOPPED;
    snprintf(why_text, sizeof why_text, "Error: waiting for the hand-off failed (%s); it was withdrawn.", err.msg);
    *text = strdup(why_text);
    return SQ_TOOL_OK;
}
