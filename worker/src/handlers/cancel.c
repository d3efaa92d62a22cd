/* cancel.c — task.cancel: stop one task of the sandbox. By the time this
 * runs (the cancel went ahead of the queue: lifecycle/control.h), a running
 * target has been stopped already and has published its sandbox.task.failed
 * `canceled`; a queued one is taken out of the queue here and fails
 * `canceled` at once, without starting. A success has no event of its own
 * (like sandbox.setTimeout): its effect is the target's task.failed. */
#include <string.h>

#include "handlers/handlers.h"
#include "handlers/route.h"
#include "lifecycle/control.h"
#include "store/redis_store.h"

int sq_handle_cancel(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    const char *target = json_string_value(json_object_get(req->body, "targetTaskId"));
    if (!sb || !target)
        return sq_err_set(err, SQ_INTERNAL, "task.cancel without a live sandbox or target"); /* route guards */
    if (sq_control_take_canceled(sb, target) || sq_control_cancel_queued(sb, target))
        return 0;
    /* Neither running nor queued here: finished, or never this sandbox's. */
    char state[32];
    if (sq_redis_task_state(w, sb->id, target, state, sizeof state, err) < 0)
        return -1;
    sq_err why;
    if (state[0])
        sq_err_field(&why, SQ_INVALID_STATE, "body.targetTaskId", "task %s has already ended (%s)", target, state);
    else
        sq_err_field(&why, SQ_NOT_FOUND, "body.targetTaskId", "no task %s in this sandbox", target);
    return sq_route_reject(w, sb, req, &why, err);
}
