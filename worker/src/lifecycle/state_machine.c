/* state_machine.c — the legality table of requests against lifecycle states. */
#include "lifecycle/state_machine.h"

/* Bit per state: the states in which a request type is accepted. */
#define S(x) (1u << (x))
#define LIVE (S(SQ_STATE_QUEUED) | S(SQ_STATE_ASSIGNING) | S(SQ_STATE_READY) | S(SQ_STATE_ACTIVE) | \
              S(SQ_STATE_PAUSING) | S(SQ_STATE_PAUSED))
#define WORKING (S(SQ_STATE_READY) | S(SQ_STATE_ACTIVE))

static const unsigned allowed[SQ_REQ__COUNT] = {
    [SQ_REQ_SANDBOX_CREATE] = S(SQ_STATE_NONE),
    [SQ_REQ_SANDBOX_PAUSE] = WORKING,
    [SQ_REQ_SANDBOX_RESUME] = S(SQ_STATE_PAUSED),
    [SQ_REQ_SANDBOX_KILL] = LIVE,
    [SQ_REQ_SANDBOX_SET_TIMEOUT] = LIVE,
    /* Tasks queue behind the running one (active) but need a set-up sandbox:
     * "exec while queued" is invalid_state, as PROTOCOL.md says. */
    [SQ_REQ_TASK_EXEC] = WORKING,
    [SQ_REQ_TASK_CODE] = WORKING,
    [SQ_REQ_TASK_AGENT] = WORKING,
    [SQ_REQ_TASK_BROWSER] = WORKING,
    [SQ_REQ_TASK_DOCUMENT] = WORKING,
    [SQ_REQ_TASK_CANCEL] = WORKING,
    [SQ_REQ_FILES_WRITE] = WORKING,
    [SQ_REQ_FILES_READ] = WORKING,
    [SQ_REQ_FILES_LIST] = WORKING,
    [SQ_REQ_FILES_REMOVE] = WORKING,
    /* Not while paused: the snapshot is taken by tar running inside the
     * sandbox, which a frozen sandbox cannot run (docs/checkpoints.md). */
    [SQ_REQ_CHECKPOINT_CREATE] = WORKING,
    [SQ_REQ_CHECKPOINT_RESTORE] = WORKING,
    [SQ_REQ_CHECKPOINTS_LIST] = WORKING,
    [SQ_REQ_HANDOFF_REQUEST] = WORKING,
    [SQ_REQ_HANDOFF_ACCEPT] = WORKING,
    [SQ_REQ_HANDOFF_COMPLETE] = WORKING,
    [SQ_REQ_HANDOFF_CANCEL] = WORKING,
    [SQ_REQ_PREVIEW_URL] = WORKING | S(SQ_STATE_PAUSED),
};

int sq_sm_check(sq_state state, sq_req_type type, sq_err *err)
{
    if ((int)type <= 0 || type >= SQ_REQ__COUNT)
        return sq_err_set(err, SQ_UNKNOWN_TYPE, "unknown request type");
    if ((int)state < 0 || state >= SQ_STATE__COUNT)
        return sq_err_set(err, SQ_INTERNAL, "corrupt sandbox state %d", (int)state);
    if (allowed[type] & S(state))
        return 0;
    if (state == SQ_STATE_NONE)
        return sq_err_set(err, SQ_SANDBOX_NOT_FOUND, "no sandbox with this id");
    if (type == SQ_REQ_SANDBOX_CREATE)
        return sq_err_set(err, SQ_SANDBOX_EXISTS, "a sandbox with this id already exists (state %s)",
                          sq_state_name(state));
    return sq_err_set(err, SQ_INVALID_STATE, "%s is not allowed while the sandbox is %s", sq_req_type_name(type),
                      sq_state_name(state));
}
