/* route.c — see route.h. */
#include "handlers/route.h"

#include <string.h>

#include "handlers/handlers.h"
#include "lifecycle/persist.h"
#include "lifecycle/persist_rules.h"
#include "lifecycle/state_machine.h"
#include "notify/emit.h"
#include "pipeline/ownership.h"
#include "store/pg_store.h"
#include "store/redis_store.h"

/* Where a rejection goes: into the sandbox's stream when the sandbox exists
 * (it takes the next seq), otherwise seq 0 and the request's own replyTo. */
static sq_emit_target rejection_target(sq_worker *w, const sq_live_sandbox *sb, const sq_request *req,
                                       sq_redis_sandbox *known)
{
    sq_emit_target t = {.sandbox_id = req->sandbox_id[0] ? req->sandbox_id : NULL, .tenant = req->tenant,
                        .reply_to = req->reply_to};
    if (sb && sb->state != SQ_STATE_NONE && !sq_state_is_terminal(sb->state))
        return sq_target_of(sb);
    sq_err ignore;
    if (t.sandbox_id && sq_redis_sandbox_lookup(w, t.sandbox_id, known, &ignore) == 0 &&
        known->state != SQ_STATE_NONE) {
        t.has_stream = true;
        t.tenant = known->tenant;
        t.region = known->region;
        t.reply_to = known->reply_to;
    }
    return t;
}

int sq_route_reject(sq_worker *w, const sq_live_sandbox *sb, const sq_request *req, const sq_err *why, sq_err *err)
{
    sq_redis_sandbox known;
    memset(&known, 0, sizeof known);
    sq_emit_target t = rejection_target(w, sb, req, &known);
    if (sq_emit_rejected(w, &t, req, why, err) < 0)
        return -1;
    if (req->request_id[0])
        return sq_pg_request_record(w, req->request_id, req->sandbox_id, req->type_name[0] ? req->type_name : "?",
                                    sq_code_name(why->code), err);
    return 0;
}

/* The sandbox exists in Redis in a live state but this worker does not hold
 * it: its worker went away (or this worker restarted). Say so explicitly
 * rather than leave it claiming to be ready — unless someone else (the
 * reaper, another worker) already took it over. */
static int mark_lost(sq_worker *w, const sq_request *req, const sq_redis_sandbox *known, sq_err *err)
{
    return sq_fail_lost(w, req, req->sandbox_id, known, err);
}

int sq_route(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    /* A record that is not (or no longer) a running sandbox: Redis knows. */
    /* A persisted sandbox (no processes, no worker) is Redis's too, even on
     * the actor that persisted it (lifecycle/persist.h). */
    bool live = sb && !sb->persisted && sb->state != SQ_STATE_NONE && !sq_state_is_terminal(sb->state);
    sq_state state = live ? sb->state : SQ_STATE_NONE;
    const char *owner_tenant = live ? sb->tenant : NULL;
    sq_redis_sandbox known;
    sq_persist_verdict pv = SQ_PERSIST_NOT;
    if (!live) {
        if (sq_redis_sandbox_lookup(w, req->sandbox_id, &known, err) < 0)
            return -1;
        state = known.state;
        owner_tenant = known.tenant;
        sq_persist_facts pf = {.state = state, .persisted = known.persisted, .reason = known.persist_reason};
        pv = sq_persist_decide(&pf, req->type);
        if (pv == SQ_PERSIST_NOT && state != SQ_STATE_NONE && !sq_state_is_terminal(state) &&
            strcmp(known.tenant, req->tenant) == 0 && req->type != SQ_REQ_SANDBOX_CREATE) {
            /* Its worker is gone: failed worker_lost, or, created with
             * checkpoint {auto: true} and checkpointed, persisted from its
             * latest checkpoint (lifecycle/persist.h) and brought up below. */
            bool restorable = false;
            if (sq_persist_after_crash(w, req->sandbox_id, &known, &restorable, err) < 0)
                return -1;
            if (!restorable && mark_lost(w, req, &known, err) < 0)
                return -1;
            if (sq_redis_sandbox_lookup(w, req->sandbox_id, &known, err) < 0)
                return -1;
            state = known.state;
            pf = (sq_persist_facts){.state = state, .persisted = known.persisted, .reason = known.persist_reason};
            pv = sq_persist_decide(&pf, req->type);
        }
    }
    if (state != SQ_STATE_NONE && req->type != SQ_REQ_SANDBOX_CREATE && strcmp(owner_tenant, req->tenant) != 0) {
        sq_err_field(&why, SQ_FORBIDDEN, "tenant", "this sandbox belongs to another tenant");
        return sq_route_reject(w, sb, req, &why, err);
    }
    if (pv == SQ_PERSIST_BRING_UP_SERVE) {
        /* Drained or crashed: up first (sandbox.assigned → sandbox.resumed
         * {reason}), then the request is served as on a live sandbox. */
        if (!sb) {
            sq_err_set(&why, SQ_INTERNAL, "no actor could be started to bring the persisted sandbox up");
            return sq_route_reject(w, NULL, req, &why, err);
        }
        if (sq_persist_bring_up(w, sb, req, known.persist_reason, err) < 0)
            return -1;
        if (sb->state == SQ_STATE_NONE || sb->persisted) /* not free any more: answered */
            return 0;
        return sq_route(w, sb, req, err);
    }
    if (sq_sm_check(state, req->type, &why) < 0)
        return sq_route_reject(w, sb, req, &why, err);
    switch (pv) {
    case SQ_PERSIST_REFUSE:
        sq_err_set(&why, SQ_INVALID_STATE,
                   "%s is not allowed while the sandbox is paused and persisted (no processes run); "
                   "sandbox.resume brings it up",
                   req->type_name);
        return sq_route_reject(w, NULL, req, &why, err);
    case SQ_PERSIST_BRING_UP:
    case SQ_PERSIST_END:
        if (!sb) { /* the dispatcher starts an actor for these; none could be started */
            sq_err_set(&why, SQ_INTERNAL, "no actor could be started to bring the persisted sandbox up");
            return sq_route_reject(w, NULL, req, &why, err);
        }
        return pv == SQ_PERSIST_BRING_UP ? sq_persist_bring_up(w, sb, req, known.persist_reason[0] ? known.persist_reason : NULL, err)
                                         : sq_persist_end(w, sb, req, err);
    default:
        break;
    }

    switch (req->type) {
    case SQ_REQ_SANDBOX_CREATE:
        if (!sb) /* a create always reaches an actor; this is a bug guard */
            return sq_err_set(err, SQ_INTERNAL, "create without an actor");
        return sq_handle_create(w, sb, req, err);
    case SQ_REQ_SANDBOX_KILL:
        return sq_handle_kill(w, sb, req, err);
    case SQ_REQ_SANDBOX_PAUSE:
        return sq_handle_pause(w, sb, req, err);
    case SQ_REQ_SANDBOX_RESUME:
        return sq_handle_resume(w, sb, req, err);
    case SQ_REQ_SANDBOX_SET_TIMEOUT:
        return sq_handle_set_timeout(w, sb, req, err);
    case SQ_REQ_TASK_EXEC:
        return sq_handle_exec(w, sb, req, err);
    case SQ_REQ_TASK_CODE:
        return sq_handle_code(w, sb, req, err);
    case SQ_REQ_TASK_BROWSER: /* issue 11 */
        return sq_handle_browser(w, sb, req, err);
    case SQ_REQ_TASK_AGENT: /* issue 12 */
        return sq_handle_agent(w, sb, req, err);
    case SQ_REQ_TASK_DOCUMENT: /* issue 15 */
        return sq_handle_document(w, sb, req, err);
    case SQ_REQ_HANDOFF_REQUEST: /* issue 14 */
    case SQ_REQ_HANDOFF_ACCEPT:
    case SQ_REQ_HANDOFF_COMPLETE:
    case SQ_REQ_HANDOFF_CANCEL:
        return sq_handle_handoff(w, sb, req, err);
    case SQ_REQ_PREVIEW_URL: /* issue 14 */
        return sq_handle_preview_url(w, sb, req, err);
    case SQ_REQ_TASK_CANCEL:
        return sq_handle_cancel(w, sb, req, err);
    case SQ_REQ_CHECKPOINT_CREATE: /* issue 13 */
    case SQ_REQ_CHECKPOINT_RESTORE:
    case SQ_REQ_CHECKPOINTS_LIST:
        return sq_handle_checkpoint(w, sb, req, err);
    case SQ_REQ_FILES_WRITE:
    case SQ_REQ_FILES_READ:
    case SQ_REQ_FILES_LIST:
    case SQ_REQ_FILES_REMOVE: {
        /* A lexical escape is refused before any task exists; a symlink escape
         * is caught by the kernel during the task (task.failed). */
        char rel[4200];
        if (sq_files_request_path(req->body, rel, sizeof rel, &why) < 0)
            return sq_route_reject(w, sb, req, &why, err);
        return sq_handle_files(w, sb, req, err);
    }
    default:
        sq_err_field(&why, SQ_CAPABILITY_DISABLED, "type", "%s is not available on this worker yet", req->type_name);
        return sq_route_reject(w, sb, req, &why, err);
    }
}
