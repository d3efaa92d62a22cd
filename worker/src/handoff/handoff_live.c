/* handoff_live.c — see handoff_live.h. */
#include "handoff/handoff_live.h"

#include <string.h>

#include "lifecycle/mailbox.h"
#include "notify/emit.h"
#include "pipeline/job.h"
#include "preview/preview_http.h"
#include "preview/preview_pump.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "store/pg_store.h"
#include "store/redis_store.h"

int sq_handoff_publish(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, int idx, sq_err *err)
{
    sq_handoff_book *b = &sb->handoffs;
    const sq_handoff *h = &b->items[idx];
    sq_preview_set_human(sb, sq_handoff_human_may_act(b));
    const char *open_id =
        b->open >= 0 ? json_string_value(json_object_get(b->items[b->open].data, "handoffId")) : "";
    if (sq_redis_handoff_set(w, sb->id, h->data, sq_control_mode_name(b->mode), open_id, err) < 0)
        return -1;
    if (sq_pg_handoff_upsert(w, sb->id, h->data, err) < 0)
        return -1;
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req ? req->request_id : NULL};
    sq_info(&lc, "hand-off %s %s, control %s", json_string_value(json_object_get(h->data, "handoffId")),
            sq_handoff_status_name(h->status), sq_control_mode_name(b->mode));
    sq_emit_target t = sq_target_of(sb);
    return sq_emit(w, &t, req, NULL, sq_handoff_event_type(h->status), json_deep_copy(h->data), err);
}

int sq_handoff_open(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const json_t *body,
                    const char *requested_by, sq_err *why, sq_err *err)
{
    int i = sq_handoff_request(&sb->handoffs, body, requested_by, sq_now_ms(), why);
    if (i < 0)
        return 0;
    /* The person's way in: a control URL to the live preview, valid as long
     * as the hand-off (a sandbox without a browser has nothing to show). */
    json_t *data = sb->handoffs.items[i].data;
    char url[1024];
    if (sb->browser &&
        sq_preview_url_for(sb->id, SQ_PREVIEW_CONTROL, sb->handoffs.items[i].expires_at, url, sizeof url) == 0)
        json_object_set_new(data, "previewUrl", json_string(url));
    return sq_handoff_publish(w, sb, req, i, err) < 0 ? -1 : 1;
}

int sq_handoff_status_of(const sq_live_sandbox *sb, const char *handoff_id, const json_t **data)
{
    int i = sq_handoff_find(&sb->handoffs, handoff_id);
    if (i < 0)
        return -1;
    if (data)
        *data = sb->handoffs.items[i].data;
    return (int)sb->handoffs.items[i].status;
}

int sq_handoff_tick(sq_worker *w, sq_live_sandbox *sb, int64_t now, sq_err *err)
{
    int i = sq_handoff_expire_due(&sb->handoffs, now);
    if (i < 0)
        return 0;
    return sq_handoff_publish(w, sb, NULL, i, err) < 0 ? -1 : 1;
}

int sq_handoff_end_with_sandbox(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_handoff_book *b = &sb->handoffs;
    if (b->open < 0)
        return 0;
    sq_err why;
    const char *id = json_string_value(json_object_get(b->items[b->open].data, "handoffId"));
    int i = sq_handoff_cancel(b, id, sq_now_ms(), &why);
    return i < 0 ? 0 : sq_handoff_publish(w, sb, req, i, err);
}

int sq_handoff_wait(sq_worker *w, sq_live_sandbox *sb, const char *handoff_id, bool (*stop)(void *user), void *user,
                    int *status, sq_err *err)
{
    for (;;) {
        int st = sq_handoff_status_of(sb, handoff_id, NULL);
        if (st < 0)
            return sq_err_set(err, SQ_HANDOFF_NOT_FOUND, "no hand-off %s on this sandbox", handoff_id);
        if (st != SQ_HANDOFF_PENDING && st != SQ_HANDOFF_ACCEPTED) {
            *status = st;
            return 1;
        }
        if ((stop && stop(user)) || atomic_load(&w->stopping)) /* a stopping worker does not wait 15 min */
            return 0;
        if (sq_handoff_tick(w, sb, sq_now_ms(), err) < 0)
            return -1;
        /* A handoff.* for this sandbox, in its own turn as far as it is
         * concerned: its own request, answered and completed as its own job. */
        sq_job *job = sq_mailbox_take_handoff(sb);
        if (job) {
            sq_job *outer = sq_job_current();
            sb->run_job(sb, job);
            sq_job_set_current(outer);
            continue;
        }
        int64_t left = sq_handoff_next_expiry(&sb->handoffs) - sq_now_ms();
        sq_mailbox_wait_put(sb, left > 0 && left < 200 ? (int)left : 200);
    }
}
