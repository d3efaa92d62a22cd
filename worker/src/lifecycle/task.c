/* task.c — see task.h. */
#include "lifecycle/task.h"

#include <errno.h>
#include <string.h>

#include "metrics.h"
#include "artifacts/export.h"
#include "lifecycle/control.h"
#include "lifecycle/lifetime_tick.h"
#include "lifecycle/transition.h"
#include "notify/emit.h"
#include "pipeline/job.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/log.h"
#include "store/pg_store.h"
#include "store/redis_store.h"

static json_t *kind_data(const char *kind)
{
    json_t *d = json_object();
    json_object_set_new(d, "kind", json_string(kind));
    return d;
}

/* Strict UTF-8 check (no overlongs, no surrogates), so `data` is always text. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

int sq_task_output(sq_task *t, int stream, const char *bytes, size_t len, sq_err *err)
{
    static const char *const names[] = {"data", "stdout", "stderr"};
    json_t *d = json_object();
    json_object_set_new(d, "stream", json_string(names[stream]));
    if (stream != 0 && utf8_valid((const unsigned char *)bytes, len) && !memchr(bytes, '\0', len)) {
        json_object_set_new(d, "data", json_stringn(bytes, len));
    } else {
        char *b64 = malloc(sq_b64_encoded_size(len));
        if (!b64) {
            json_decref(d);
            return sq_err_set(err, SQ_INTERNAL, "out of memory");
        }
        sq_b64_encode(bytes, len, b64);
        json_object_set_new(d, "dataB64", json_string(b64));
        free(b64);
    }
    json_object_set_new(d, "offset", json_integer(t->offsets[stream]));
    t->offsets[stream] += (int64_t)len;
    sq_emit_target target = sq_target_of(t->sb);
    return sq_emit(t->w, &target, t->req, t->req->task_id, "sandbox.task.output", d, err);
}

/* A task canceled while it was still queued (task.cancel): it never starts.
 * Its row and Redis status say failed, and its one event is task.failed
 * `canceled` — no task.queued/started, and the sandbox stays as it is. */
static int never_started(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *kind, sq_err *err)
{
    const char *tid = req->task_id;
    const char *msg = "the task was canceled (task.cancel) before it started";
    json_t *d = kind_data(kind);
    json_object_set_new(d, "code", json_string(sq_code_name(SQ_CANCELED)));
    json_object_set_new(d, "message", json_string(msg));
    json_object_set_new(d, "durationMs", json_integer(0));
    sq_metrics_task(kind, SQ_OUTCOME_FAILED);
    sq_emit_target target = sq_target_of(sb);
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id, .task_id = tid};
    sq_info(&lc, "%s canceled before it started", kind);
    if (sq_pg_task_finished(w, tid, sq_code_name(SQ_CANCELED), msg, -1, NULL, 0, err) < 0 ||
        sq_redis_task_set(w, sb->id, tid, kind, "failed", req->request_id, -1, err) < 0) {
        json_decref(d);
        return -1;
    }
    return sq_emit(w, &target, req, tid, "sandbox.task.failed", d, err);
}

int sq_task_run(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, json_t *summary, sq_task_body body,
                sq_err *err)
{
    const char *kind = sq_req_task_kind(req->type);
    const char *tid = req->task_id;
    sq_emit_target target = sq_target_of(sb);
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id, .task_id = tid};

    int rc = sq_pg_task_insert(w, tid, sb->id, req, kind, summary, err);
    json_decref(summary);
    if (rc == 0 && sq_control_take_canceled(sb, tid))
        return never_started(w, sb, req, kind, err);
    if (rc < 0 || sq_redis_task_set(w, sb->id, tid, kind, "queued", req->request_id, -1, err) < 0 ||
        sq_emit(w, &target, req, tid, "sandbox.task.queued", kind_data(kind), err) < 0 ||
        sq_transition(w, sb, req, SQ_STATE_ACTIVE, NULL, NULL, NULL, err) < 0 ||
        sq_pg_task_started(w, tid, err) < 0 ||
        sq_redis_task_set(w, sb->id, tid, kind, "running", req->request_id, -1, err) < 0 ||
        sq_emit(w, &target, req, tid, "sandbox.task.started", kind_data(kind), err) < 0)
        return -1;

    sq_lifetime_touch(w, sb, true); /* a task stops the idle clock */
    sq_task t = {.w = w, .sb = sb, .req = req, .kind = kind, .started_mono = sq_mono_ms()};
    sq_task_outcome out = {.exit_code = -1};
    sq_job_effect_begins(); /* a retry of this request never runs the body again (pipeline/job.h) */
    body(&t, &out);
    int64_t duration = sq_mono_ms() - t.started_mono;
    if (sb->fenced) {
        /* Another owner took the sandbox while the task ran: its outcome is
         * not this worker's to publish (the request is answered from the
         * state the new owner recorded: actor.c). */
        json_decref(out.result);
        json_decref(out.extra);
        json_decref(out.produced);
        sq_err_set(err, SQ_INTERNAL, "the sandbox was taken over while the task ran");
        err->sys_errno = ESTALE;
        return -1;
    }
    if (out.failure.code == SQ_OK && !sq_result_fits(w, out.result, &out.failure)) {
        out.reason = "result_too_large"; /* failed once, never run again (notify/emit.h) */
        json_decref(out.result);
        out.result = NULL;
    }

    /* issue 13: `outputs` and the files the task produced for the caller
     * (screenshots, PDFs) are exported as the task ends, before its outcome,
     * so the completed event can list them; not for a canceled task (a kill
     * or cancel must not wait for uploads). One sandbox.artifacts.updated. */
    json_t *artifacts = NULL;
    const json_t *outputs = json_object_get(req->body, "outputs");
    if ((json_array_size(outputs) > 0 || json_array_size(out.produced) > 0) && out.failure.code != SQ_CANCELED) {
        sq_art_batch b;
        sq_art_batch_init(&b, w, sb, req);
        size_t i;
        const json_t *rel;
        json_array_foreach(out.produced, i, rel)
        {
            if (sq_art_batch_add_file(&b, json_string_value(rel), err) < 0)
                break; /* the store failed: the file is listed as skipped, the rest not attempted */
        }
        sq_art_batch_add_globs(&b, outputs);
        if (sq_art_batch_publish(&b, err) < 0) {
            sq_art_batch_free(&b);
            json_decref(out.result);
            json_decref(out.extra);
            json_decref(out.produced);
            return -1;
        }
        artifacts = json_incref(b.artifacts);
        sq_art_batch_free(&b);
    }
    json_decref(out.produced);

    json_t *d = kind_data(kind);
    const char *type;
    if (out.failure.code != SQ_OK) {
        type = "sandbox.task.failed";
        json_object_set_new(d, "code", json_string(sq_code_name(out.failure.code)));
        json_object_set_new(d, "message", json_string(out.failure.msg));
        if (out.reason)
            json_object_set_new(d, "reason", json_string(out.reason));
        if (out.extra) /* issue 11: which browser action failed */
            json_object_update_missing(d, out.extra);
        sq_info(&lc, "%s failed: %s: %s", kind, sq_code_name(out.failure.code), out.failure.msg);
    } else {
        type = "sandbox.task.completed";
        if (out.result)
            json_object_set(d, "result", out.result);
        json_object_set_new(d, "artifacts", artifacts ? json_incref(artifacts) : json_array());
        sq_info(&lc, "%s completed (exit %d) in %lld ms", kind, out.exit_code, (long long)duration);
    }
    json_decref(artifacts);
    if (out.exit_code >= 0)
        json_object_set_new(d, "exitCode", json_integer(out.exit_code));
    json_object_set_new(d, "durationMs", json_integer(duration));

    const char *code = out.failure.code != SQ_OK ? sq_code_name(out.failure.code) : NULL;
    sq_metrics_task(kind, code ? SQ_OUTCOME_FAILED : SQ_OUTCOME_COMPLETED);
    rc = sq_pg_task_finished(w, tid, code, code ? out.failure.msg : NULL, out.exit_code, out.result, duration, err);
    json_decref(out.result);
    json_decref(out.extra);
    if (rc < 0 ||
        sq_redis_task_set(w, sb->id, tid, kind, code ? "failed" : "completed", req->request_id, out.exit_code, err) <
            0 ||
        sq_emit(w, &target, req, tid, type, d, err) < 0)
        return -1;
    /* The sandbox may have died under the task (init gone): then it is not
     * ready; nor when a kill waits to end it (ending follows at once). */
    if (sb->state == SQ_STATE_ACTIVE && !sq_control_kill_pending(sb)) {
        sq_lifetime_touch(w, sb, false);
        return sq_transition(w, sb, req, SQ_STATE_READY, NULL, NULL, NULL, err);
    }
    return 0;
}
