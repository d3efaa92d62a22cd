/* errors.c — sandq_code names and descriptions, and filling sandq_error from local
 * failures and from the events that carry protocol errors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/err.h"

typedef struct {
    sandq_code code;
    const char *name;
    const char *text;
} code_info;

static const code_info codes[] = {
    {SANDQ_OK, "ok", "success"},
    {SANDQ_E_INVALID_REQUEST, "invalid_request", "invalid request"},
    {SANDQ_E_UNSUPPORTED_VERSION, "unsupported_version", "unsupported protocol version"},
    {SANDQ_E_UNKNOWN_TYPE, "unknown_type", "unknown request type"},
    {SANDQ_E_SANDBOX_NOT_FOUND, "sandbox_not_found", "sandbox not found"},
    {SANDQ_E_SANDBOX_EXISTS, "sandbox_exists", "sandbox already exists"},
    {SANDQ_E_INVALID_STATE, "invalid_state", "sandbox is not in a state that allows this request"},
    {SANDQ_E_FORBIDDEN, "forbidden", "forbidden (tenant mismatch)"},
    {SANDQ_E_CAPABILITY_DISABLED, "capability_disabled", "capability disabled"},
    {SANDQ_E_PATH_OUTSIDE_WORKSPACE, "path_outside_workspace", "path outside /workspace"},
    {SANDQ_E_NOT_FOUND, "not_found", "not found"},
    {SANDQ_E_PAYLOAD_TOO_LARGE, "payload_too_large", "request too large"},
    {SANDQ_E_LIMIT_EXCEEDED, "limit_exceeded", "limit exceeded"},
    {SANDQ_E_TIMED_OUT, "timed_out", "task timed out"},
    {SANDQ_E_CANCELED, "canceled", "task canceled"},
    {SANDQ_E_INTERNAL, "internal", "internal error"},
    {SANDQ_E_CAPABILITY_UNAVAILABLE, "capability_unavailable", "capability unavailable on this worker"},
    {SANDQ_E_CHECKPOINT_NOT_FOUND, "checkpoint_not_found", "no such checkpoint"},
    {SANDQ_E_HANDOFF_NOT_FOUND, "handoff_not_found", "no such hand-off on this sandbox"},
    {SANDQ_E_WORKER_DRAINING, "worker_draining", "the worker drained under the task; send it again"},
    {SANDQ_E_WAIT_TIMEOUT, "wait_timeout", "timed out waiting for an answer"},
    {SANDQ_E_KAFKA, "kafka_error", "Kafka error"},
    {SANDQ_E_REDIS, "redis_error", "Redis error"},
    {SANDQ_E_BAD_ARGUMENT, "bad_argument", "bad argument"},
    {SANDQ_E_NO_MEMORY, "out_of_memory", "out of memory"},
    {SANDQ_E_SANDBOX_FAILED, "sandbox_failed", "sandbox failed"},
    {SANDQ_E_SANDBOX_ENDED, "sandbox_ended", "sandbox ended"},
    {SANDQ_E_INTEGRITY, "integrity_error", "transfer integrity check failed"},
    {SANDQ_E_PROTOCOL, "protocol_error", "unexpected event from the worker"},
    {SANDQ_E_IO, "io_error", "local I/O error"},
    {SANDQ_E_DATABASE, "database_error", "PostgreSQL error"},
};

static const code_info *info(sandq_code code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return &codes[i];
    return NULL;
}

const char *sandq_strerror(sandq_code code)
{
    const code_info *ci = info(code);
    return ci ? ci->text : "unknown error";
}

const char *sandq_code_name(sandq_code code)
{
    const code_info *ci = info(code);
    return ci ? ci->name : "unknown";
}

void sqp_err_clear(sandq_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->exit_code = -1;
}

sandq_code sqp_fail(sandq_error *err, sandq_code code, const char *fmt, ...)
{
    if (!err)
        return code;
    sqp_err_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

sandq_code sqp_wrap(sandq_error *err, sandq_code code, const char *fmt, ...)
{
    if (!err)
        return code;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
    if (err->code == SANDQ_OK)
        err->code = code;
    return err->code;
}

sandq_code sqp_code_from_wire(const char *name)
{
    if (!name)
        return SANDQ_E_INTERNAL;
    for (int c = SANDQ_E_INVALID_REQUEST; c <= SANDQ_E_WORKER_DRAINING; c++)
        if (strcmp(name, sq_code_name((sq_code)c)) == 0)
            return (sandq_code)c;
    return SANDQ_E_INTERNAL;
}

static const char *data_str(const sq_event *ev, const char *key)
{
    const json_t *v = json_object_get(ev->data, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

sandq_code sqp_fail_from_event(sandq_error *err, const sq_event *ev)
{
    const char *msg = data_str(ev, "message");
    sandq_code code;
    if (strcmp(ev->type, "sandbox.failed") == 0) {
        const char *reason = data_str(ev, "reason");
        code = sqp_fail(err, SANDQ_E_SANDBOX_FAILED, "sandbox %s failed: %s%s%s", ev->sandbox_id,
                        reason ? reason : "unknown reason", msg ? ": " : "", msg ? msg : "");
        if (err && reason)
            snprintf(err->reason, sizeof err->reason, "%s", reason);
    } else if (strcmp(ev->type, "sandbox.ended") == 0) {
        const char *reason = data_str(ev, "reason");
        code = sqp_fail(err, SANDQ_E_SANDBOX_ENDED, "sandbox %s ended%s%s", ev->sandbox_id, reason ? ": " : "",
                        reason ? reason : "");
        if (err && reason)
            snprintf(err->reason, sizeof err->reason, "%s", reason);
    } else {
        const char *wire = data_str(ev, "code");
        code = sqp_code_from_wire(wire);
        if (code == SANDQ_E_INTERNAL && wire && strcmp(wire, "internal") != 0)
            sqp_fail(err, code, "%s (unknown code %s)", msg ? msg : "no message", wire);
        else
            sqp_fail(err, code, "%s", msg && *msg ? msg : sandq_strerror(code));
        const char *field = data_str(ev, "field");
        if (err && field)
            snprintf(err->field, sizeof err->field, "%s", field);
        const char *reason = data_str(ev, "reason"); /* a task failure's cause within its code */
        if (err && reason)
            snprintf(err->reason, sizeof err->reason, "%s", reason);
        const json_t *ec = json_object_get(ev->data, "exitCode");
        if (err && json_is_integer(ec))
            err->exit_code = (int)json_integer_value(ec);
    }
    if (err) {
        snprintf(err->request_id, sizeof err->request_id, "%s", ev->request_id);
        snprintf(err->task_id, sizeof err->task_id, "%s", ev->task_id);
    }
    return code;
}

sandq_code sqp_fail_timeout(sandq_client_t *c, sandq_error *err, int64_t waited_ms, const char *what)
{
    char kerr[256] = "";
    pthread_mutex_lock(&c->lock);
    /* A Kafka error seen while this call waited explains the silence better. */
    if (c->last_kafka_error_at && sq_mono_ms() - c->last_kafka_error_at <= waited_ms + 1000)
        snprintf(kerr, sizeof kerr, "%s", c->last_kafka_error);
    pthread_mutex_unlock(&c->lock);
    if (*kerr)
        return sqp_fail(err, SANDQ_E_KAFKA, "%s: no answer after %lld ms; Kafka at %s: %s", what,
                        (long long)waited_ms, c->brokers, kerr);
    return sqp_fail(err, SANDQ_E_WAIT_TIMEOUT, "%s: no answer after %lld ms", what, (long long)waited_ms);
}
