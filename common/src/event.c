/* event.c — building and reading event envelopes (PROTOCOL.md "Event envelope"). */
#include "sq/event.h"

#include <stdio.h>
#include <string.h>

static json_t *str_or_null(const char *s) { return (s && *s) ? json_string(s) : json_null(); }

json_t *sq_event_new(const char *event_id, const char *type, const sq_event_ctx *ctx, int64_t seq, int64_t at_ms,
                     json_t *data)
{
    json_t *ev = json_object();
    json_object_set_new(ev, "v", json_integer(1));
    json_object_set_new(ev, "eventId", json_string(event_id));
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "sandboxId", str_or_null(ctx->sandbox_id));
    json_object_set_new(ev, "taskId", str_or_null(ctx->task_id));
    json_object_set_new(ev, "requestId", str_or_null(ctx->request_id));
    json_object_set_new(ev, "seq", json_integer(seq));
    json_object_set_new(ev, "at", json_integer(at_ms));
    json_object_set_new(ev, "workerId", json_string(ctx->worker_id ? ctx->worker_id : ""));
    json_object_set_new(ev, "region", str_or_null(ctx->region));
    json_object_set_new(ev, "tenant", json_string(ctx->tenant && *ctx->tenant ? ctx->tenant : "default"));
    json_object_set_new(ev, "metadata", ctx->metadata ? json_deep_copy(ctx->metadata) : json_object());
    json_object_set_new(ev, "data", data ? data : json_object());
    return ev;
}

static void copy_str(char *dst, size_t n, const json_t *v)
{
    snprintf(dst, n, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int sq_event_parse(const char *buf, size_t len, sq_event *ev, sq_err *err)
{
    memset(ev, 0, sizeof *ev);
    json_error_t jerr;
    ev->root = json_loadb(buf, len, 0, &jerr);
    if (!json_is_object(ev->root)) {
        json_decref(ev->root);
        ev->root = NULL;
        return sq_err_set(err, SQ_INVALID_REQUEST, "event is not a JSON object");
    }
    const json_t *type = json_object_get(ev->root, "type");
    if (!json_is_string(type))
        return sq_err_field(err, SQ_INVALID_REQUEST, "type", "event has no type");
    copy_str(ev->type, sizeof ev->type, type);
    copy_str(ev->event_id, sizeof ev->event_id, json_object_get(ev->root, "eventId"));
    copy_str(ev->sandbox_id, sizeof ev->sandbox_id, json_object_get(ev->root, "sandboxId"));
    copy_str(ev->task_id, sizeof ev->task_id, json_object_get(ev->root, "taskId"));
    copy_str(ev->request_id, sizeof ev->request_id, json_object_get(ev->root, "requestId"));
    ev->seq = json_integer_value(json_object_get(ev->root, "seq"));
    ev->at = json_integer_value(json_object_get(ev->root, "at"));
    ev->data = json_object_get(ev->root, "data");
    if (!json_is_object(ev->data))
        return sq_err_field(err, SQ_INVALID_REQUEST, "data", "event has no data object");
    return 0;
}

void sq_event_free(sq_event *ev)
{
    if (ev->root)
        json_decref(ev->root);
    memset(ev, 0, sizeof *ev);
}
