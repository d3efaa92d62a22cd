/* handoff.c — handoff.request, handoff.accept, handoff.complete and
 * handoff.cancel from the backend (docs/handoff.md). The book of hand-offs
 * and the control mode are pure (handoff/handoff_state.h); recording and
 * publishing a change is handoff/handoff_live.h. A request that does not fit
 * the hand-off's status is request.rejected (invalid_state, handoff_not_found);
 * nothing of the sandbox itself changes state. */
#include <string.h>

#include "handlers/handlers.h"
#include "handoff/handoff_live.h"
#include "notify/emit.h"
#include "sq/clock.h"

static const char *body_str(const sq_request *req, const char *key)
{
    return json_string_value(json_object_get(req->body, key));
}

int sq_handle_handoff(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    sq_err_clear(&why);
    sq_handoff_book *b = &sb->handoffs;
    int64_t now = sq_now_ms();
    const char *id = body_str(req, "handoffId");
    int i = -1;
    switch (req->type) {
    case SQ_REQ_HANDOFF_REQUEST: {
        const char *by = body_str(req, "requestedBy");
        int rc = sq_handoff_open(w, sb, req, req->body, by ? by : "sdk", &why, err);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        break;
    }
    case SQ_REQ_HANDOFF_ACCEPT: {
        sq_control_mode mode = SQ_CONTROL_HUMAN;
        (void)sq_control_mode_parse(body_str(req, "controlMode"), &mode); /* schema: human | shared */
        i = sq_handoff_accept(b, id, body_str(req, "controller"), mode, now, &why);
        break;
    }
    case SQ_REQ_HANDOFF_COMPLETE:
        i = sq_handoff_complete(b, id, body_str(req, "note"), now, &why);
        break;
    case SQ_REQ_HANDOFF_CANCEL:
        i = sq_handoff_cancel(b, id, now, &why);
        break;
    default:
        return sq_err_set(err, SQ_INTERNAL, "%s is not a hand-off request", req->type_name);
    }
    if (i >= 0)
        return sq_handoff_publish(w, sb, req, i, err);
    sq_emit_target t = sq_target_of(sb);
    return sq_emit_rejected(w, &t, req, &why, err);
}
