/* pause.c — sandbox.pause, sandbox.resume and sandbox.setTimeout.
 *
 * Pause freezes every process of the sandbox with the cgroup freezer
 * (ready → pausing → paused): processes, memory and open files stay as they
 * are, nothing runs, and the lifetime clock stops. Resume thaws it
 * (paused → assigning → ready, the last as sandbox.resumed), following the
 * lifecycle's resume path through assigning.
 *
 * `persist: true` checkpoints the workspace, ends the processes and gives
 * the sandbox up so any worker can resume it (lifecycle/persist.h); its
 * resume is routed to sq_persist_bring_up by route.c. */
#include <stdio.h>
#include <string.h>

#include "lifecycle/live.h"
#include "lifecycle/persist.h"
#include "lifecycle/transition.h"
#include "notify/emit.h"
#include "store/redis_store.h"
#include "handlers/handlers.h"
#include "sq/clock.h"
#include "sq/log.h"

int sq_handle_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    if (json_is_true(json_object_get(req->body, "persist")))
        return sq_persist_pause(w, sb, req, NULL, err);
    return sq_live_pause(w, sb, req, NULL, NULL, err);
}

int sq_handle_resume(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    if (sq_transition(w, sb, req, SQ_STATE_ASSIGNING, NULL, NULL,
                      json_pack("{s:s, s:s}", "workerId", w->cfg.worker_id, "region", sb->region), err) < 0)
        return -1;
    sq_err why;
    if (sq_sandbox_resume(sb->runtime, &why) < 0 || !sq_sandbox_alive(sb->runtime)) {
        if (why.code == SQ_OK)
            sq_err_set(&why, SQ_INTERNAL, "the sandbox's init is gone");
        sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
        sq_error(&lc, "resume failed: %s", why.msg);
        return sq_live_fail(w, sb, req, "resume_failed", why.msg, err);
    }
    int64_t now = sq_now_ms();
    sq_lifetime_resume(&sb->lifetime, now);
    if (sq_redis_sandbox_lifetime(w, sb, now, err) < 0)
        return -1;
    return sq_transition_as(w, sb, req, SQ_STATE_READY, "sandbox.resumed", NULL, NULL,
                            json_pack("{s:O}", "capabilities", sb->capabilities), err);
}

int sq_handle_set_timeout(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    int64_t t = json_integer_value(json_object_get(req->body, "timeoutMs"));
    sq_err why;
    if (sq_limits_check_timeout(t, &w->cfg.limits, &why) < 0) {
        sq_emit_target target = sq_target_of(sb);
        return sq_emit_rejected(w, &target, req, &why, err);
    }
    int64_t now = sq_now_ms();
    sq_lifetime_set_timeout(&sb->lifetime, t, now);
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
    sq_info(&lc, "timeout set: %lld ms more running time", (long long)t);
    return sq_redis_sandbox_lifetime(w, sb, now, err);
}
