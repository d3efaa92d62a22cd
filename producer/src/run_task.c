/* run_task.c — one-shot tasks (files.read, files.list, files.remove): open a waiter
 * on the sandbox's partition, send the request, feed its events to a sqp_taskstate
 * (task.c) until the task ends or the deadline passes. */
#include <stdio.h>

#include "internal.h"
#include "sq/clock.h"

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
    int64_t last_progress = sq_mono_ms();
    while (!ts->done) {
        sq_event ev;
        bool got;
        rc = sqp_waiter_next(&w, deadline, &ev, &got, err);
        if (rc == SANDQ_E_WAIT_TIMEOUT) {
            char what[128];
            snprintf(what, sizeof what, "%s %s on %s", type, task_id, sandbox_id);
            rc = sqp_fail_timeout(c, err, sq_mono_ms() - (progress_resets ? last_progress : started), what);
            if (err) {
                snprintf(err->task_id, sizeof err->task_id, "%s", task_id);
                snprintf(err->request_id, sizeof err->request_id, "%s", request_id);
            }
            break;
        }
        if (rc)
            break;
        if (!got)
            continue;
        bool about = sqp_taskstate_feed(ts, &ev);
        sq_event_free(&ev);
        if (about && progress_resets) {
            last_progress = sq_mono_ms();
            deadline = last_progress + timeout_ms;
        }
    }
    sqp_waiter_close(&w);
    if (rc)
        return rc;
    if (ts->code && err)
        *err = ts->err;
    return ts->code;
}
