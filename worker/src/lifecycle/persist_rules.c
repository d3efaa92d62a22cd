/* persist_rules.c — see persist_rules.h. */
#include "lifecycle/persist_rules.h"

#include <string.h>

static bool transparent(const char *reason)
{
    return reason && (strcmp(reason, SQ_PERSIST_DRAINED) == 0 || strcmp(reason, SQ_PERSIST_CRASHED) == 0);
}

sq_persist_verdict sq_persist_decide(const sq_persist_facts *f, sq_req_type type)
{
    if (!f->persisted || f->state == SQ_STATE_NONE || sq_state_is_terminal(f->state))
        return SQ_PERSIST_NOT;
    if (type == SQ_REQ_SANDBOX_CREATE)
        return SQ_PERSIST_NOT; /* sandbox_exists, as for any sandbox */
    if (type == SQ_REQ_SANDBOX_KILL)
        return SQ_PERSIST_END;
    if (type == SQ_REQ_SANDBOX_RESUME && f->state == SQ_STATE_PAUSED)
        return SQ_PERSIST_BRING_UP;
    /* The user did not pause a drained or crashed sandbox: its next request
     * finds it up, after sandbox.assigned → sandbox.resumed {reason}. */
    if (transparent(f->reason))
        return SQ_PERSIST_BRING_UP_SERVE;
    /* Paused by the user: nothing runs, and a command, a file read, a preview
     * or a new timeout would need it up, which only a resume does (an
     * implicit bring-up would hide the cost and the restore). */
    return SQ_PERSIST_REFUSE;
}

bool sq_persist_wants_actor(const sq_persist_facts *f, sq_req_type type)
{
    if (type == SQ_REQ_SANDBOX_CREATE)
        return true;
    if (!f->persisted)
        return f->auto_checkpoint && f->owner_here_or_lost && f->state != SQ_STATE_NONE &&
               !sq_state_is_terminal(f->state);
    sq_persist_verdict v = sq_persist_decide(f, type);
    return v == SQ_PERSIST_BRING_UP || v == SQ_PERSIST_BRING_UP_SERVE || v == SQ_PERSIST_END;
}

bool sq_persist_spec_auto(const json_t *spec)
{
    return json_is_true(json_object_get(json_object_get(spec, "checkpoint"), "auto"));
}
