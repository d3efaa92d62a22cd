/* transition.c — see transition.h. Moved out of notify/emit.c: emitting an
 * event is notify's business, what a state change writes is the lifecycle's. */
#include "lifecycle/transition.h"

#include <errno.h>

#include "notify/emit.h"
#include "store/pg_store.h"
#include "store/redis_store.h"

int sq_transition(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_state to, const char *reason,
                  const char *message, json_t *extra, sq_err *err)
{
    return sq_transition_as(w, sb, req, to, sq_state_event_type(to), reason, message, extra, err);
}

int sq_transition_as(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_state to, const char *type,
                     const char *reason, const char *message, json_t *extra, sq_err *err)
{
    sq_state from = sb->state;
    sb->state = to;
    int64_t seq; /* the state write takes the state event's seq too: one round trip */
    if (sq_redis_sandbox_set_state(w, sb->id, sb->epoch, to, from, &seq, err) < 0) {
        if (err->sys_errno == ESTALE)
            sb->fenced = true;
        sb->state = from;
        json_decref(extra);
        return -1;
    }
    if (sq_pg_sandbox_state(w, sb->id, to, reason, message, err) < 0) {
        json_decref(extra);
        return -1;
    }
    json_t *data = extra ? extra : json_object();
    json_object_set_new(data, "state", json_string(sq_state_name(to)));
    const char *prev = sq_state_name(from);
    json_object_set_new(data, "previous", prev ? json_string(prev) : json_null());
    if (reason)
        json_object_set_new(data, "reason", json_string(reason));
    if (message)
        json_object_set_new(data, "message", json_string(message));
    sq_emit_target t = sq_target_of(sb);
    return sq_emit_numbered(w, &t, req, NULL, type, data, seq, err);
}
