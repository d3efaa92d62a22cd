/* persist_rules.c — see persist_rules.h. */
#include "lifecycle/persist_rules.h"

sq_persist_verdict sq_persist_decide(sq_state state, bool persisted, sq_req_type type)
{
    if (!persisted || state != SQ_STATE_PAUSED)
        return SQ_PERSIST_NOT;
    switch (type) {
    case SQ_REQ_SANDBOX_RESUME:
        return SQ_PERSIST_BRING_UP;
    case SQ_REQ_SANDBOX_KILL:
        return SQ_PERSIST_END;
    default:
        /* Nothing runs: a command, a file read, a preview or a new timeout
         * would need the sandbox up, which only a resume does (an implicit
         * bring-up would hide the cost and the restore from the caller). */
        return SQ_PERSIST_REFUSE;
    }
}

bool sq_persist_wants_actor(sq_state state, bool persisted, sq_req_type type)
{
    if (type == SQ_REQ_SANDBOX_CREATE)
        return true;
    sq_persist_verdict v = sq_persist_decide(state, persisted, type);
    return v == SQ_PERSIST_BRING_UP || v == SQ_PERSIST_END;
}

bool sq_persist_may_want_actor(sq_req_type type)
{
    return type == SQ_REQ_SANDBOX_RESUME || type == SQ_REQ_SANDBOX_KILL;
}

bool sq_persist_spec_auto(const json_t *spec)
{
    return json_is_true(json_object_get(json_object_get(spec, "checkpoint"), "auto"));
}
