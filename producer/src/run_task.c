/* run_task.c — one-shot tasks (files.read, files.list, files.remove): open a waiter
 * on the sandbox's partition, send the request, feed its events to a sqp_taskstate
 * (task.c) until the task ends or the deadline passes. */
#include <stdio.h>

#include "internal.h"
#include "sq/clock.h"

typedef struct {
    sqp_taskstate *ts;
    const char *type, *sandbox_id;
    int64_t timeout_ms;
    bool progress_resets;
} one_shot;

static void one_shot_describe(sqp_follow *f, char *what, size_t len)
{
    const one_shot *o = f->user;
    snprintf(what, len, "%s %s on %s", o->type, o->ts->task_id, o->sandbox_id);
}

static bool one_shot_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    (void)err;
    one_shot *o = f->user;
    if (!ev)
        return false;
    /* With progress_resets, the deadline (and the timeout message's "waited") restart
     * on every event about the task, so a long transfer that keeps moving never
     * times out. */
    if (sqp_taskstate_feed(o->ts, ev) && o->progress_resets) {
        f->started = sq_mono_ms();
        f->deadline = f->started + o->timeout_ms;
    }
    *rc = SANDQ_OK;
    return o->ts->done;
}

sandq_code sqp_run_task(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                        int64_t timeout_ms, bool progress_resets, sqp_chunk_fn on_chunk, void *user,
                        sqp_taskstate *ts, sandq_error *err)
{
    if (timeout_ms <= 0)
        timeout_ms = c->timeout_ms;
    int64_t started = sq_mono_ms();
    int64_t deadline = started + timeout_ms;
    char task_id[SQ_ID_MAX], request_id[SQ_ID_MAX];
    sq_id_new("tsk", task_id);
    sqp_taskstate_init(ts, task_id, NULL, on_chunk, user);
    sqp_waiter w;
    sandq_code rc = sqp_waiter_open(c, sandbox_id, SQP_START_END, deadline, &w, err);
    if (rc) {
        json_decref(body);
        return rc;
    }
    rc = sqp_send(c, sandbox_id, type, task_id, body, NULL, deadline, request_id, err);
    if (rc) {
        sqp_waiter_close(&w);
        return rc;
    }
    snprintf(ts->request_id, sizeof ts->request_id, "%s", request_id);
    one_shot o = {ts, type, sandbox_id, timeout_ms, progress_resets};
    sqp_follow f = {.deadline = deadline, .started = started, .request_id = request_id, .task_id = task_id,
                    .on_event = one_shot_event, .describe = one_shot_describe, .user = &o};
    rc = sqp_follow_events(c, &w, &f, err);
    sqp_waiter_close(&w);
    if (rc)
        return rc;
    if (ts->code && err)
        *err = ts->err;
    return ts->code;
}
