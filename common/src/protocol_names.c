/* protocol_names.c — the name tables of the wire protocol: request types, task
 * kinds, lifecycle states and their event types, and every event type. */
#include <string.h>

#include "sq/protocol.h"

static const struct {
    const char *name;
    const char *task_kind; /* NULL: not a task */
} req_types[SQ_REQ__COUNT] = {
    [SQ_REQ_UNKNOWN] = {NULL, NULL},
    [SQ_REQ_SANDBOX_CREATE] = {"sandbox.create", NULL},
    [SQ_REQ_SANDBOX_PAUSE] = {"sandbox.pause", NULL},
    [SQ_REQ_SANDBOX_RESUME] = {"sandbox.resume", NULL},
    [SQ_REQ_SANDBOX_KILL] = {"sandbox.kill", NULL},
    [SQ_REQ_SANDBOX_SET_TIMEOUT] = {"sandbox.setTimeout", NULL},
    [SQ_REQ_TASK_EXEC] = {"task.exec", "exec"},
    [SQ_REQ_TASK_CODE] = {"task.code", "code"},
    [SQ_REQ_TASK_AGENT] = {"task.agent", "agent"},
    [SQ_REQ_TASK_BROWSER] = {"task.browser", "browser"},
    [SQ_REQ_TASK_DOCUMENT] = {"task.document", "document"},
    [SQ_REQ_TASK_CANCEL] = {"task.cancel", NULL},
    [SQ_REQ_FILES_WRITE] = {"files.write", "files"},
    [SQ_REQ_FILES_READ] = {"files.read", "files"},
    [SQ_REQ_FILES_LIST] = {"files.list", "files"},
    [SQ_REQ_FILES_REMOVE] = {"files.remove", "files"},
    [SQ_REQ_CHECKPOINT_CREATE] = {"checkpoint.create", "checkpoint"},
    [SQ_REQ_CHECKPOINT_RESTORE] = {"checkpoint.restore", "checkpoint"},
    [SQ_REQ_CHECKPOINTS_LIST] = {"checkpoints.list", "checkpoint"},
    [SQ_REQ_HANDOFF_REQUEST] = {"handoff.request", NULL},
    [SQ_REQ_HANDOFF_ACCEPT] = {"handoff.accept", NULL},
    [SQ_REQ_HANDOFF_COMPLETE] = {"handoff.complete", NULL},
    [SQ_REQ_HANDOFF_CANCEL] = {"handoff.cancel", NULL},
    [SQ_REQ_PREVIEW_URL] = {"preview.url", NULL},
};

const char *sq_req_type_name(sq_req_type t)
{
    if ((int)t <= 0 || t >= SQ_REQ__COUNT)
        return NULL;
    return req_types[t].name;
}

sq_req_type sq_req_type_from_name(const char *name)
{
    if (name)
        for (int i = 1; i < SQ_REQ__COUNT; i++)
            if (strcmp(req_types[i].name, name) == 0)
                return (sq_req_type)i;
    return SQ_REQ_UNKNOWN;
}

bool sq_req_type_needs_task(sq_req_type t)
{
    /* PROTOCOL.md: taskId is required for task.*, files.* and checkpoint.*;
     * checkpoints.list is a task too (answered by sandbox.task.completed). */
    const char *n = sq_req_type_name(t);
    return n && (strncmp(n, "task.", 5) == 0 || strncmp(n, "files.", 6) == 0 || strncmp(n, "checkpoint.", 11) == 0 ||
                 strcmp(n, "checkpoints.list") == 0);
}

const char *sq_req_task_kind(sq_req_type t)
{
    if ((int)t <= 0 || t >= SQ_REQ__COUNT)
        return NULL;
    return req_types[t].task_kind;
}

static const struct {
    const char *name;
    const char *event;
} states[SQ_STATE__COUNT] = {
    [SQ_STATE_NONE] = {NULL, NULL},
    [SQ_STATE_QUEUED] = {"queued", "sandbox.created"},
    [SQ_STATE_ASSIGNING] = {"assigning", "sandbox.assigned"},
    [SQ_STATE_READY] = {"ready", "sandbox.ready"},
    [SQ_STATE_ACTIVE] = {"active", "sandbox.active"},
    [SQ_STATE_PAUSING] = {"pausing", "sandbox.pausing"},
    [SQ_STATE_PAUSED] = {"paused", "sandbox.paused"},
    [SQ_STATE_ENDING] = {"ending", "sandbox.ending"},
    [SQ_STATE_ENDED] = {"ended", "sandbox.ended"},
    [SQ_STATE_FAILED] = {"failed", "sandbox.failed"},
};

const char *sq_state_name(sq_state s)
{
    if ((int)s <= 0 || s >= SQ_STATE__COUNT)
        return NULL;
    return states[s].name;
}

sq_state sq_state_from_name(const char *name)
{
    if (name)
        for (int i = 1; i < SQ_STATE__COUNT; i++)
            if (strcmp(states[i].name, name) == 0)
                return (sq_state)i;
    return SQ_STATE_NONE;
}

const char *sq_state_event_type(sq_state s)
{
    if ((int)s <= 0 || s >= SQ_STATE__COUNT)
        return NULL;
    return states[s].event;
}

bool sq_state_is_terminal(sq_state s) { return s == SQ_STATE_ENDED || s == SQ_STATE_FAILED; }

/* Every event type of protocol v1 (schema/common.json#/$defs/eventType). */
static const char *const event_types[] = {
    "sandbox.created",
    "sandbox.assigned",
    "sandbox.ready",
    "sandbox.resumed",
    "sandbox.active",
    "sandbox.pausing",
    "sandbox.paused",
    "sandbox.ending",
    "sandbox.ended",
    "sandbox.failed",
    "sandbox.browser.ready",
    "sandbox.browser.failed",
    "sandbox.agent.ready",
    "sandbox.agent.failed",
    "sandbox.task.queued",
    "sandbox.task.started",
    "sandbox.task.output",
    "sandbox.task.progress",
    "sandbox.task.completed",
    "sandbox.task.failed",
    "sandbox.handoff.requested",
    "sandbox.handoff.accepted",
    "sandbox.handoff.completed",
    "sandbox.handoff.cancelled",
    "sandbox.handoff.expired",
    "sandbox.preview.url",
    "sandbox.browser.recorded",
    "sandbox.checkpoint.created",
    "sandbox.checkpoint.restored",
    "sandbox.document.converted",
    "sandbox.artifacts.updated",
    "request.rejected",
};

bool sq_event_type_known(const char *name)
{
    if (name)
        for (size_t i = 0; i < sizeof event_types / sizeof *event_types; i++)
            if (strcmp(event_types[i], name) == 0)
                return true;
    return false;
}

/* "sandbox.task.*": "sandbox" or "request", then lowercase dot-separated
 * segments, then ".*" (schema/common.json#/$defs/eventTypeFilter). */
static bool event_type_prefix_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || strcmp(s + n - 2, ".*") != 0)
        return false;
    size_t head = strncmp(s, "sandbox", 7) == 0 ? 7 : strncmp(s, "request", 7) == 0 ? 7 : 0;
    if (!head)
        return false;
    for (size_t i = head; i < n - 2;) {
        if (s[i] != '.' || !(s[i + 1] >= 'a' && s[i + 1] <= 'z'))
            return false;
        for (i++; i < n - 2 && s[i] >= 'a' && s[i] <= 'z'; i++)
            ;
    }
    return true;
}

bool sq_event_type_filter_valid(const char *filter)
{
    return filter && (sq_event_type_known(filter) || event_type_prefix_valid(filter));
}
