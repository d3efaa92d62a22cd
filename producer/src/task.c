/* task.c — following one task through its events (docs/internals.md "Event
 * sequences"): output chunks in order and without duplicates, then
 * sandbox.task.completed or sandbox.task.failed; or a request.rejected for its
 * request; or the sandbox failing or ending under it.
 *
 * Pure (event in, state out), so the ordering and error rules are unit-tested
 * (tests/unit/test_sandq_task.c); run_task.c adds the I/O for one-shot tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "internal.h"
#include "sq/codec.h"

void sqp_taskstate_init(sqp_taskstate *ts, const char *task_id, const char *request_id, sqp_chunk_fn on_chunk,
                        void *user)
{
    memset(ts, 0, sizeof *ts);
    snprintf(ts->task_id, sizeof ts->task_id, "%s", task_id ? task_id : "");
    snprintf(ts->request_id, sizeof ts->request_id, "%s", request_id ? request_id : "");
    ts->on_chunk = on_chunk;
    ts->user = user;
    ts->exit_code = -1;
    sqp_err_clear(&ts->err);
}

void sqp_taskstate_free(sqp_taskstate *ts)
{
    if (ts->progress_owned)
        free(ts->progress_user);
    ts->progress_user = NULL;
    ts->progress_owned = false;
    if (ts->result)
        json_decref(ts->result);
    ts->result = NULL;
}

static void finish_error(sqp_taskstate *ts, const sq_event *ev)
{
    ts->done = true;
    ts->code = sqp_fail_from_event(&ts->err, ev);
    if (!ts->err.task_id[0])
        snprintf(ts->err.task_id, sizeof ts->err.task_id, "%s", ts->task_id);
    if (!ts->err.request_id[0])
        snprintf(ts->err.request_id, sizeof ts->err.request_id, "%s", ts->request_id);
}

static void finish_protocol(sqp_taskstate *ts, const char *what)
{
    ts->done = true;
    ts->code = sqp_fail(&ts->err, SANDQ_E_PROTOCOL, "task %s: %s", ts->task_id, what);
    snprintf(ts->err.task_id, sizeof ts->err.task_id, "%s", ts->task_id);
}

static void take_output(sqp_taskstate *ts, const json_t *data)
{
    sqp_out_chunk ch;
    sqp_chunk_status st = sqp_out_chunk_decode(data, &ch);
    if (ch.stream < 0) {
        free(ch.bytes);
        return; /* a stream this client does not know: not ours to judge */
    }
    switch (st) {
    case SQP_CHUNK_OK: break;
    case SQP_CHUNK_BAD_BASE64: finish_protocol(ts, "output chunk has invalid base64"); return;
    case SQP_CHUNK_NO_DATA: finish_protocol(ts, "output chunk has neither data nor dataB64"); return;
    case SQP_CHUNK_NO_MEMORY:
        ts->done = true;
        ts->code = sqp_fail(&ts->err, SANDQ_E_NO_MEMORY, "out of memory");
        return;
    }
    static const char *const names[] = {"stdout", "stderr", "data"};
    uint64_t at = ch.has_offset ? ch.offset : ts->next[ch.stream];
    size_t skip;
    size_t take = sqp_chunk_accept(&ts->next[ch.stream], at, ch.len, &skip);
    if (take && ts->on_chunk) {
        sandq_code rc = ts->on_chunk(ts->user, names[ch.stream], at + skip, ch.bytes + skip, take, &ts->err);
        if (rc) {
            ts->done = true;
            ts->code = rc;
        }
    }
    free(ch.bytes);
}

bool sqp_taskstate_feed(sqp_taskstate *ts, const sq_event *ev)
{
    if (ts->done)
        return false;
    if (strcmp(ev->type, "request.rejected") == 0) {
        if (!ts->request_id[0] || strcmp(ev->request_id, ts->request_id) != 0)
            return false;
        finish_error(ts, ev);
        return true;
    }
    if (ts->task_id[0] && strcmp(ev->task_id, ts->task_id) == 0) {
        if (strcmp(ev->type, "sandbox.task.output") == 0) {
            take_output(ts, ev->data);
        } else if (strcmp(ev->type, "sandbox.task.completed") == 0) {
            ts->done = true;
            ts->code = SANDQ_OK;
            const json_t *ec = json_object_get(ev->data, "exitCode");
            ts->exit_code = json_is_integer(ec) ? (int)json_integer_value(ec) : -1;
            ts->duration_ms = json_integer_value(json_object_get(ev->data, "durationMs"));
            json_t *res = json_object_get(ev->data, "result");
            if (res)
                ts->result = json_incref(res);
        } else if (strcmp(ev->type, "sandbox.task.failed") == 0) {
            finish_error(ts, ev);
            ts->duration_ms = json_integer_value(json_object_get(ev->data, "durationMs"));
        } else if (strcmp(ev->type, "sandbox.task.progress") == 0 && ts->on_progress) {
            ts->on_progress(ts->progress_user, ev->data);
        }
        return true; /* queued, started: about the task, nothing to do */
    }
    /* The worker fails a task whose sandbox ends under it; should that event be
     * missing, the sandbox's own end still ends the wait. */
    if (!ev->task_id[0] && (strcmp(ev->type, "sandbox.failed") == 0 || strcmp(ev->type, "sandbox.ended") == 0)) {
        finish_error(ts, ev);
        return true;
    }
    return false;
}
