/* lifecycle.c — sandbox.pause, sandbox.resume and sandbox.setTimeout: publish the
 * request with a waiter already open on the sandbox's partition, then follow the
 * sandbox's events until the state the call promises (an event of this request: a
 * replay of an earlier pause's "paused" or a task's "ready" is not this call's
 * answer), a rejection of this request, the request bouncing back (a pause the
 * worker could not carry out returns the sandbox to ready: reason pause_failed),
 * or the sandbox failing/ending under it (an end is final, whenever it was first
 * published). */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"

typedef struct {
    const char *what;        /* "pause", for messages */
    const char *done_types[2]; /* event types that complete the call */
    bool quiet_ok;           /* setTimeout: no completion event exists; silence = OK */
    const char *bounced_type; /* this request's event that says it was not carried out */
} lc_spec;

typedef struct {
    const lc_spec *spec;
    const char *sandbox_id;
    const char *request_id;
    sandq_sandbox *out;
} lc_call;

static void lc_describe(sqp_follow *f, char *what, size_t len)
{
    const lc_call *l = f->user;
    snprintf(what, len, "waiting for %s of sandbox %s", l->spec->what, l->sandbox_id);
}

static bool lc_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    const lc_call *l = f->user;
    const lc_spec *spec = l->spec;
    if (!ev)
        return false;
    bool mine = strcmp(ev->request_id, l->request_id) == 0;
    bool rejected = mine && strcmp(ev->type, "request.rejected") == 0;
    bool gone = strcmp(ev->type, "sandbox.failed") == 0 || strcmp(ev->type, "sandbox.ended") == 0;
    bool bounced = mine && spec->bounced_type && strcmp(ev->type, spec->bounced_type) == 0;
    bool done = false;
    for (int i = 0; mine && i < 2; i++)
        if (spec->done_types[i] && strcmp(ev->type, spec->done_types[i]) == 0)
            done = true;
    if (rejected || gone) {
        *rc = sqp_fail_from_event(err, ev);
        if (err && !err->request_id[0])
            snprintf(err->request_id, sizeof err->request_id, "%s", l->request_id);
    } else if (bounced) {
        const json_t *reason = json_object_get(ev->data, "reason"), *msg = json_object_get(ev->data, "message");
        *rc = sqp_fail(err, SANDQ_E_INTERNAL, "%s of sandbox %s was not carried out (%s): %s", spec->what,
                       l->sandbox_id, json_is_string(reason) ? json_string_value(reason) : "no reason given",
                       json_is_string(msg) ? json_string_value(msg) : "no message");
        if (err)
            snprintf(err->request_id, sizeof err->request_id, "%s", l->request_id);
    } else if (done && l->out) {
        sandq_sandbox *out = l->out;
        snprintf(out->id, sizeof out->id, "%s", l->sandbox_id);
        const json_t *st = json_object_get(ev->data, "state");
        snprintf(out->state, sizeof out->state, "%s", json_is_string(st) ? json_string_value(st) : "");
        const json_t *rg = json_object_get(ev->root, "region"), *wk = json_object_get(ev->root, "workerId");
        snprintf(out->region, sizeof out->region, "%s", json_is_string(rg) ? json_string_value(rg) : "");
        snprintf(out->worker_id, sizeof out->worker_id, "%s", json_is_string(wk) ? json_string_value(wk) : "");
        snprintf(out->request_id, sizeof out->request_id, "%s", l->request_id);
    }
    return rejected || gone || bounced || done;
}

static sandq_code lifecycle_call(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                                 const lc_spec *spec, int64_t timeout_ms, sandq_sandbox *out, sandq_error *err)
{
    sqp_err_clear(err);
    if (out)
        memset(out, 0, sizeof *out);
    if (!c) {
        json_decref(body);
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    }
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx")) {
        json_decref(body);
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    }
    int64_t started = sq_mono_ms();
    char request_id[SQ_ID_MAX] = "";
    lc_call l = {spec, sandbox_id, request_id, out};
    sqp_follow f = {.deadline = sqp_deadline(c, timeout_ms), .started = started, .request_id = request_id,
                    .quiet_ok = spec->quiet_ok, .on_event = lc_event, .describe = lc_describe, .user = &l};
    return sqp_send_follow(c, sandbox_id, type, NULL, body, &f, request_id, err);
}

sandq_code sandq_pause(sandq_client_t *c, const char *sandbox_id, int persist, int64_t timeout_ms, sandq_error *err)
{
    json_t *body = json_object();
    if (persist)
        json_object_set_new(body, "persist", json_true());
    static const lc_spec spec = {"pause", {"sandbox.paused", NULL}, false, "sandbox.ready"};
    return lifecycle_call(c, sandbox_id, "sandbox.pause", body, &spec, timeout_ms, NULL, err);
}

sandq_code sandq_resume(sandq_client_t *c, const char *sandbox_id, int64_t timeout_ms, sandq_sandbox *out,
                        sandq_error *err)
{
    static const lc_spec spec = {"resume", {"sandbox.resumed", "sandbox.ready"}, false, NULL};
    return lifecycle_call(c, sandbox_id, "sandbox.resume", json_object(), &spec, timeout_ms, out, err);
}

sandq_code sandq_set_timeout(sandq_client_t *c, const char *sandbox_id, int64_t lifetime_ms, int64_t wait_ms,
                             sandq_error *err)
{
    if (lifetime_ms < 1) {
        sqp_err_clear(err);
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "timeout must be at least 1 ms");
    }
    json_t *body = json_object();
    json_object_set_new(body, "timeoutMs", json_integer(lifetime_ms));
    static const lc_spec spec = {"setTimeout", {NULL, NULL}, true, NULL};
    return lifecycle_call(c, sandbox_id, "sandbox.setTimeout", body, &spec, wait_ms > 0 ? wait_ms : 2000, NULL, err);
}
