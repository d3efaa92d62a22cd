/* exec.c — task.exec: run a command in a sandbox, stream its output to a callback,
 * return its exit code. sandq_exec is sandq_exec_start + sandq_task_wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/ids.h"

struct sandq_task {
    sandq_client_t *c;
    sqp_waiter w;
    sqp_taskstate ts;
    char sandbox_id[SQ_ID_MAX];
    sandq_output_fn on_output;
    void *user;
};

static sandq_code deliver(void *user, const char *stream, uint64_t offset, const void *bytes, size_t len,
                          sandq_error *err)
{
    (void)offset;
    (void)err;
    sandq_task_t *t = user;
    if (!t->on_output)
        return SANDQ_OK;
    if (strcmp(stream, "stdout") == 0)
        t->on_output(t->user, SANDQ_STDOUT, bytes, len);
    else if (strcmp(stream, "stderr") == 0)
        t->on_output(t->user, SANDQ_STDERR, bytes, len);
    return SANDQ_OK;
}

/* Publish a task request (body and metadata stolen) with a waiter already open on the
 * sandbox's partition; the handle follows the task from there. */
static sandq_code task_start(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                             json_t *metadata, sandq_output_fn on_output, void *user, sandq_task_t **task,
                             sandq_error *err)
{
    sandq_task_t *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(body);
        json_decref(metadata);
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    t->c = c;
    t->on_output = on_output;
    t->user = user;
    int64_t deadline = sqp_deadline(c, 0);
    sandq_code rc = sqp_waiter_open(c, sandbox_id, SQP_START_END, deadline, &t->w, err);
    if (rc) {
        json_decref(body);
        json_decref(metadata);
        free(t);
        return rc;
    }
    snprintf(t->sandbox_id, sizeof t->sandbox_id, "%s", sandbox_id);
    char task_id[SQ_ID_MAX], request_id[SQ_ID_MAX];
    sq_id_new("tsk", task_id);
    sqp_taskstate_init(&t->ts, task_id, NULL, deliver, t);
    rc = sqp_send(c, sandbox_id, type, task_id, body, metadata, deadline, request_id, err);
    if (rc) {
        if (err)
            snprintf(err->task_id, sizeof err->task_id, "%s", task_id);
        sandq_task_free(t);
        return rc;
    }
    snprintf(t->ts.request_id, sizeof t->ts.request_id, "%s", request_id);
    *task = t;
    return SANDQ_OK;
}

/* What an exec and a run_code have in common once the body is built: sandq_exec /
 * sandq_exec_start and sandq_run_code / sandq_run_code_start differ only in how
 * they make the body from their options. */
typedef struct task_req {
    const char *type;              /* "task.exec", "task.code" */
    json_t *body;                  /* owned until started */
    const char *const *metadata;
    sandq_output_fn on_output;
    void *user;
    int64_t timeout_ms, wait_ms;
} task_req;

static sandq_code exec_req(const char *const *argv, const sandq_exec_opts *opts, task_req *r, sandq_error *err)
{
    sandq_exec_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_exec_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    *r = (task_req){"task.exec", sqp_body_exec(argv, &o, err), o.metadata, o.on_output, o.user, o.timeout_ms,
                    o.wait_ms};
    return r->body ? SANDQ_OK : err ? err->code : SANDQ_E_BAD_ARGUMENT;
}

static sandq_code code_req(const char *code, const sandq_code_opts *opts, task_req *r, sandq_error *err)
{
    sandq_code_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_code_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    *r = (task_req){"task.code", sqp_body_code(code, &o, err), o.metadata, o.on_output, o.user, o.timeout_ms,
                    o.wait_ms};
    return r->body ? SANDQ_OK : err ? err->code : SANDQ_E_BAD_ARGUMENT;
}

/* The asynchronous form: the request's body (taken over) is published. */
static sandq_code req_start(sandq_client_t *c, const char *sandbox_id, task_req *r, sandq_task_t **task,
                            sandq_error *err)
{
    json_t *metadata = sqp_kv_object(r->metadata, "metadata", err);
    if (!metadata) {
        json_decref(r->body);
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    }
    return task_start(c, sandbox_id, r->type, r->body, metadata, r->on_output, r->user, task, err);
}

/* The synchronous form: start, then wait wait_ms (0 → the task timeout + 30 s, else
 * the client timeout). */
static sandq_code req_run(sandq_client_t *c, const char *sandbox_id, task_req *r, int *exit_code, sandq_error *err)
{
    sandq_task_t *t;
    sandq_code rc = req_start(c, sandbox_id, r, &t, err);
    if (rc)
        return rc;
    int64_t wait_ms = r->wait_ms;
    if (wait_ms <= 0)
        wait_ms = r->timeout_ms > 0 ? r->timeout_ms + 30000 : c->timeout_ms;
    sandq_task_result res;
    rc = sandq_task_wait(t, wait_ms, &res, err);
    if (rc == SANDQ_OK && exit_code)
        *exit_code = res.exit_code;
    sandq_task_free(t);
    return rc;
}

static sandq_code check_client(sandq_client_t *c, const void *out, const char *what, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    if (!out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s is NULL", what);
    return SANDQ_OK;
}

sandq_code sandq_exec_start(sandq_client_t *c, const char *sandbox_id, const char *const *argv,
                            const sandq_exec_opts *opts, sandq_task_t **task, sandq_error *err)
{
    task_req r;
    sandq_code rc = check_client(c, task, "task", err);
    if (!rc)
        *task = NULL;
    if (!rc && !(rc = exec_req(argv, opts, &r, err)))
        rc = req_start(c, sandbox_id, &r, task, err);
    return rc;
}

sandq_code sandq_run_code_start(sandq_client_t *c, const char *sandbox_id, const char *code,
                                const sandq_code_opts *opts, sandq_task_t **task, sandq_error *err)
{
    task_req r;
    sandq_code rc = check_client(c, task, "task", err);
    if (!rc)
        *task = NULL;
    if (!rc && !(rc = code_req(code, opts, &r, err)))
        rc = req_start(c, sandbox_id, &r, task, err);
    return rc;
}

sandq_code sandq_exec(sandq_client_t *c, const char *sandbox_id, const char *const *argv,
                      const sandq_exec_opts *opts, int *exit_code, sandq_error *err)
{
    task_req r;
    sandq_code rc = check_client(c, c, "client", err);
    if (!rc && !(rc = exec_req(argv, opts, &r, err)))
        rc = req_run(c, sandbox_id, &r, exit_code, err);
    return rc;
}

sandq_code sandq_run_code(sandq_client_t *c, const char *sandbox_id, const char *code, const sandq_code_opts *opts,
                          int *exit_code, sandq_error *err)
{
    task_req r;
    sandq_code rc = check_client(c, c, "client", err);
    if (!rc && !(rc = code_req(code, opts, &r, err)))
        rc = req_run(c, sandbox_id, &r, exit_code, err);
    return rc;
}

sandq_code sandq_task_wait(sandq_task_t *t, int64_t timeout_ms, sandq_task_result *result, sandq_error *err)
{
    sqp_err_clear(err);
    if (!t)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "task is NULL");
    int64_t started = sq_mono_ms();
    int64_t deadline = sqp_deadline(t->c, timeout_ms);
    while (!t->ts.done) {
        sq_event ev;
        bool got;
        sandq_code rc = sqp_waiter_next(&t->w, deadline, &ev, &got, err);
        if (rc == SANDQ_E_WAIT_TIMEOUT) {
            char what[128];
            snprintf(what, sizeof what, "task %s on %s still running", t->ts.task_id, t->sandbox_id);
            rc = sqp_fail_timeout(t->c, err, sq_mono_ms() - started, what);
            if (err) {
                snprintf(err->task_id, sizeof err->task_id, "%s", t->ts.task_id);
                snprintf(err->request_id, sizeof err->request_id, "%s", t->ts.request_id);
            }
            return rc;
        }
        if (rc)
            return rc;
        if (got) {
            sqp_taskstate_feed(&t->ts, &ev);
            sq_event_free(&ev);
        }
    }
    /* Done: no more events are needed; give the consumer back early. */
    sqp_waiter_close(&t->w);
    if (t->ts.code) {
        if (err)
            *err = t->ts.err;
        return t->ts.code;
    }
    if (result) {
        result->exit_code = t->ts.exit_code;
        result->duration_ms = t->ts.duration_ms;
    }
    return SANDQ_OK;
}

sandq_code sandq_task_cancel(sandq_task_t *t, sandq_error *err)
{
    sqp_err_clear(err);
    if (!t)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "task is NULL");
    if (t->ts.done)
        return SANDQ_OK;
    /* task.cancel is a task.* request: it has its own taskId; the one it cancels is
     * body.targetTaskId. */
    char cancel_id[SQ_ID_MAX], request_id[SQ_ID_MAX];
    sq_id_new("tsk", cancel_id);
    json_t *body = json_object();
    json_object_set_new(body, "targetTaskId", json_string(t->ts.task_id));
    return sqp_send(t->c, t->sandbox_id, "task.cancel", cancel_id, body, NULL, sqp_deadline(t->c, 0), request_id,
                    err);
}

sandq_code sqp_task_start(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                          json_t *metadata, sandq_task_t **task, sandq_error *err)
{
    return task_start(c, sandbox_id, type, body, metadata, NULL, NULL, task, err);
}

sqp_taskstate *sqp_task_state(sandq_task_t *t) { return &t->ts; }

/* ---- sandq_cancel: a task.cancel by id, answered by the target's end ---- */

typedef struct cancel_call {
    const char *task_id;
    const char *request_id;
} cancel_call;

static void cancel_describe(sqp_follow *f, char *what, size_t len)
{
    const cancel_call *k = f->user;
    snprintf(what, len, "waiting for task %s to end canceled", k->task_id);
}

/* A successful cancel has no event of its own: its answer is the target's
 * sandbox.task.failed `canceled`. A refused one is request.rejected. A target
 * that ends otherwise first (it completed while the cancel was on its way) is
 * what the worker would answer invalid_state for. */
static bool cancel_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    const cancel_call *k = f->user;
    if (!ev)
        return false;
    if (strcmp(ev->type, "request.rejected") == 0 && strcmp(ev->request_id, k->request_id) == 0) {
        *rc = sqp_fail_from_event(err, ev);
        return true;
    }
    if (strcmp(ev->task_id, k->task_id) != 0)
        return false;
    bool failed = strcmp(ev->type, "sandbox.task.failed") == 0;
    if (!failed && strcmp(ev->type, "sandbox.task.completed") != 0)
        return false;
    const char *code = json_string_value(json_object_get(ev->data, "code"));
    if (failed && code && strcmp(code, "canceled") == 0) {
        *rc = SANDQ_OK;
        return true;
    }
    *rc = sqp_fail(err, SANDQ_E_INVALID_STATE, "task %s ended (%s%s%s) before the cancel reached it", k->task_id,
                   failed ? "failed" : "completed", code ? ": " : "", code ? code : "");
    return true;
}

sandq_code sandq_cancel(sandq_client_t *c, const char *sandbox_id, const char *task_id, int64_t timeout_ms,
                        sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    if (!task_id || !sq_id_valid(task_id, "tsk"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "task_id is not a task id (tsk_ followed by a ULID)");
    int64_t started = sq_mono_ms();
    /* The waiter opens before the cancel is sent: the target's end comes after it. */
    char cancel_id[SQ_ID_MAX], request_id[SQ_ID_MAX] = "";
    sq_id_new("tsk", cancel_id);
    cancel_call k = {task_id, request_id};
    sqp_follow f = {.deadline = sqp_deadline(c, timeout_ms), .started = started, .request_id = request_id,
                    .task_id = task_id, .on_event = cancel_event, .describe = cancel_describe, .user = &k};
    return sqp_send_follow(c, sandbox_id, "task.cancel", cancel_id, json_pack("{s:s}", "targetTaskId", task_id), &f,
                           request_id, err);
}

const char *sandq_task_id(const sandq_task_t *t) { return t ? t->ts.task_id : ""; }

void sandq_task_free(sandq_task_t *t)
{
    if (!t)
        return;
    sqp_waiter_close(&t->w);
    sqp_taskstate_free(&t->ts);
    free(t);
}
