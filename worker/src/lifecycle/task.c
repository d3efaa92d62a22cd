/* task.c — see task.h. */
#include "lifecycle/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "metrics.h"
#include "artifacts/export.h"
#include "caps/recording/asciicast.h"
#include "caps/recording/redact.h"
#include "lifecycle/control.h"
#include "lifecycle/lifetime_tick.h"
#include "lifecycle/transition.h"
#include "notify/emit.h"
#include "pipeline/job.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/log.h"
#include "sq/utf8.h"
#include "store/pg_store.h"
#include "store/redis_store.h"

static json_t *kind_data(const char *kind)
{
    json_t *d = json_object();
    json_object_set_new(d, "kind", json_string(kind));
    return d;
}

int sq_task_output(sq_task *t, int stream, const char *bytes, size_t len, sq_err *err)
{
    static const char *const names[] = {"data", "stdout", "stderr"};
    json_t *d = json_object();
    json_object_set_new(d, "stream", json_string(names[stream]));
    /* strict UTF-8 (sq/utf8.h) and no NUL, so `data` is always text */
    if (stream != 0 && sq_utf8_valid(bytes, len) && !memchr(bytes, '\0', len)) {
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
    if (t->cast) /* in memory, bounded (asciicast.h): never waits on anything */
        sq_cast_output(t->cast, stream, (double)(sq_mono_ms() - t->started_mono) / 1000.0, bytes, len);
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

/* capabilities.recording (docs/recording.md): an exec's or code's output as
 * an asciicast, built in memory from the chunks the task streams anyway and
 * exported with the task's artifacts as `.sandq/recording/<taskId>.cast`. */
typedef struct recorder {
    bool on;
    sq_redactor r;
    sq_cast cast;
} recorder;

static void recorder_start(recorder *rec, sq_task *t)
{
    memset(rec, 0, sizeof *rec);
    if (!t->sb->recording || (strcmp(t->kind, "exec") != 0 && strcmp(t->kind, "code") != 0))
        return;
    const json_t *body = t->req->body;
    if (sq_redactor_init(&rec->r, t->sb->env, json_object_get(body, "env")) < 0)
        return;
    /* the header's command: argv joined by spaces (redacted by sq_cast_init) */
    char *cmd = NULL;
    size_t cl = 0;
    FILE *f = open_memstream(&cmd, &cl);
    if (f) {
        const char *c = json_string_value(json_object_get(body, "command"));
        if (c) {
            fputs(c, f);
            size_t i;
            const json_t *a;
            json_array_foreach(json_object_get(body, "args"), i, a) fprintf(f, " %s", json_string_value(a));
        } else {
            const char *lang = json_string_value(json_object_get(body, "language"));
            fprintf(f, "task.code (%s)", lang ? lang : "python");
        }
        fclose(f);
    }
    if (sq_cast_init(&rec->cast, &rec->r, (size_t)t->w->cfg.recording_max_bytes, 80, 24, sq_now_ms() / 1000,
                     t->req->task_id, cmd) == 0) {
        rec->on = true;
        t->cast = &rec->cast;
    }
    free(cmd);
}

static void recorder_finish(recorder *rec, sq_task *t, int64_t duration_ms)
{
    t->cast = NULL;
    if (rec->on)
        sq_cast_finish(&rec->cast, (double)duration_ms / 1000.0);
}

/* The cast goes to the store from a memfd: it is the worker's file, never in
 * the workspace the sandbox could change under it. */
static void recorder_export(recorder *rec, sq_art_batch *b, const char *tid, sq_err *err)
{
    if (!rec->on || rec->cast.failed)
        return;
    sq_log_ctx lc = {.sandbox_id = b->sb->id, .task_id = tid};
    int fd = memfd_create("sandq-asciicast", MFD_CLOEXEC);
    size_t off = 0;
    while (fd >= 0 && off < rec->cast.len) {
        ssize_t n = write(fd, rec->cast.text + off, rec->cast.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            fd = -1;
            break;
        }
        off += (size_t)n;
    }
    if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        sq_warn(&lc, "asciicast not exported: memfd: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    char name[96];
    snprintf(name, sizeof name, ".sandq/recording/%s.cast", tid);
    (void)sq_art_batch_add_fd(b, name, fd, err); /* a store failure lists it as skipped */
}

static void recorder_free(recorder *rec)
{
    if (rec->on)
        sq_cast_free(&rec->cast);
    sq_redactor_free(&rec->r);
    rec->on = false;
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
    sq_task_outcome out = {.exit_code = -1, .recorded_fd = -1};
    recorder rec;
    recorder_start(&rec, &t);
    sq_job_effect_begins(); /* a retry of this request never runs the body again (pipeline/job.h) */
    body(&t, &out);
    int64_t duration = sq_mono_ms() - t.started_mono;
    recorder_finish(&rec, &t, duration);
    if (sb->fenced) {
        /* Another owner took the sandbox while the task ran: its outcome is
         * not this worker's to publish (the request is answered from the
         * state the new owner recorded: actor.c). */
        json_decref(out.result);
        json_decref(out.extra);
        json_decref(out.produced);
        recorder_free(&rec);
        if (out.recorded_fd >= 0)
            close(out.recorded_fd);
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
     * or cancel must not wait for uploads). One sandbox.artifacts.updated, or
     * several when the list is too large for one event (artifacts/parts.h).
     * The browser's MP4 is exported even then: it is already finished
     * (bounded, caps/browser/recording.h), and it is the record of what the
     * canceled task did. */
    json_t *artifacts = NULL;
    int artifact_parts = 0;
    const json_t *outputs = json_object_get(req->body, "outputs");
    /* A task the drain stopped (worker_draining) is canceled too: no uploads. */
    bool canceled = out.failure.code == SQ_CANCELED || out.failure.code == SQ_WORKER_DRAINING;
    if (((json_array_size(outputs) > 0 || json_array_size(out.produced) > 0 || rec.on) && !canceled) ||
        out.recorded_fd >= 0) {
        sq_art_batch b;
        sq_art_batch_init(&b, w, sb, req);
        size_t i;
        const json_t *rel;
        int stored = 0;
        if (out.recorded_fd >= 0) {
            char name[96];
            snprintf(name, sizeof name, ".sandq/recording/%s.mp4", tid);
            b.despite_kill = true;
            stored = sq_art_batch_add_fd(&b, name, out.recorded_fd, err); /* closes it */
            b.despite_kill = false;
            out.recorded_fd = -1;
        }
        if (!canceled) {
            json_array_foreach(out.produced, i, rel)
            {
                if (stored < 0)
                    break; /* the store failed: the file is listed as skipped, the rest not attempted */
                stored = sq_art_batch_add_file(&b, json_string_value(rel), err);
            }
            if (stored == 0)
                recorder_export(&rec, &b, tid, err);
            sq_art_batch_add_globs(&b, outputs);
        }
        if (sq_art_batch_publish(&b, err) < 0) {
            sq_art_batch_free(&b);
            recorder_free(&rec);
            json_decref(out.result);
            json_decref(out.extra);
            json_decref(out.produced);
            return -1;
        }
        /* A list split over several events would not fit in the completion
         * either: it says how many events hold it instead. */
        if (b.parts > 1)
            artifact_parts = b.parts;
        else
            artifacts = json_incref(b.artifacts);
        sq_art_batch_free(&b);
    }
    json_decref(out.produced);
    recorder_free(&rec);

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
        if (artifact_parts > 1)
            json_object_set_new(d, "artifactParts", json_integer(artifact_parts));
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
