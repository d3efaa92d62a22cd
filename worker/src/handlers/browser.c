/* browser.c — the browser capability's requests: bringing the browser up with
 * its sandbox (create) and task.browser, which runs a list of actions on the
 * sandbox's page (caps/browser/actions.h) with one sandbox.task.progress per
 * action. A browser found dead when a task starts (killed from outside,
 * crashed) is started again first, and says so with its events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps/browser/actions.h"
#include "caps/browser/recording.h"
#include "handlers/browser.h"
#include "handlers/handlers.h"
#include "handlers/route.h"
#include "lifecycle/control.h"
#include "lifecycle/lifetime_tick.h"
#include "lifecycle/task.h"
#include "notify/emit.h"
#include "preview/preview_pump.h"
#include "sq/clock.h"
#include "sq/log.h"

#define TASK_DEFAULT_TIMEOUT_MS 60000
#define PROBE_TIMEOUT_MS 3000 /* a live browser answers Browser.getVersion in about a millisecond */
#define TERMINATE_TIMEOUT_MS 2000
#define START_WAIT_MS 5000 /* ffmpeg's cold start inside the sandbox, before the actions run (recording.h) */ /* Runtime.terminateExecution after a cancel */

static void standby_start(sq_live_sandbox *sb);
static void standby_drop(sq_live_sandbox *sb, sq_sandbox *rt);

static int emit_browser(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *type, json_t *data,
                        sq_err *err)
{
    sq_emit_target t = sq_target_of(sb);
    return sq_emit(w, &t, req, NULL, type, data, err);
}

static int emit_ready(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    const sq_browser *b = sb->browser;
    return emit_browser(w, sb, req, "sandbox.browser.ready",
                        json_pack("{s:s, s:{s:i, s:i}, s:I, s:b}", "version", b->version, "viewport", "width",
                                  b->width, "height", b->height, "startupMs", (json_int_t)b->startup_ms,
                                  "persistentProfile", b->opts.persistent),
                        err);
}

static int emit_failed(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason,
                       const char *message, sq_err *err)
{
    return emit_browser(w, sb, req, "sandbox.browser.failed",
                        json_pack("{s:s, s:s}", "reason", reason, "message", message), err);
}

int sq_browser_bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const sq_browser_opts *o,
                        bool *ready, sq_err *err)
{
    *ready = false;
    sb->browser = calloc(1, sizeof *sb->browser);
    if (!sb->browser)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
    sq_err why;
    if (sq_browser_start(sb->browser, o, sb->runtime, sb->workspace_fd, &why) < 0) {
        sq_error(&lc, "browser start failed: %s", why.msg);
        return emit_failed(w, sb, req, "start_failed", why.msg, err);
    }
    sq_info(&lc, "browser %s ready in %lld ms", sb->browser->version, (long long)sb->browser->startup_ms);
    sq_preview_attach(sb); /* issue 14: viewers may watch it from now on */
    standby_start(sb);     /* issue 15: a warm ffmpeg for the first recorded task */
    *ready = true;
    return emit_ready(w, sb, req, err);
}

void sq_browser_release(sq_live_sandbox *sb)
{
    if (!sb->browser)
        return;
    sq_preview_detach(sb); /* its viewers' streams end; nobody else uses the pipe after this */
    standby_drop(sb, NULL);
    /* The sandbox's processes are about to be killed with its cgroup and its
     * workspace (the profile) removed: a clean Browser.close would only cost
     * time, and the sandbox may be frozen. Our ends of the pipe close. */
    sq_browser_stop(sb->browser, NULL);
    explicit_bzero(&sb->browser->opts, sizeof sb->browser->opts); /* the relay's credentials */
    free(sb->browser);
    sb->browser = NULL;
}

bool sq_browser_close_for_checkpoint(sq_live_sandbox *sb)
{
    if (!sb->browser || !sb->browser->running)
        return false;
    sq_log_ctx lc = {.sandbox_id = sb->id};
    standby_drop(sb, sb->runtime); /* not into the checkpoint: the next task starts its own */
    bool clean = sq_browser_stop(sb->browser, sb->runtime);
    sq_info(&lc, "browser closed for a checkpoint (%s)", clean ? "cleanly" : "killed after the close timed out");
    return true;
}

int sq_browser_reopen(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_browser *b = sb->browser;
    sq_browser_opts o = b->opts;
    sq_err why;
    if (sq_browser_start(b, &o, sb->runtime, sb->workspace_fd, &why) < 0) {
        sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
        sq_error(&lc, "browser start after a checkpoint failed: %s", why.msg);
        return emit_failed(w, sb, req, "start_failed", why.msg, err);
    }
    return emit_ready(w, sb, req, err);
}

/* Before a task: a browser that died since the last one is started again. */
static int ensure_running(sq_task *t, sq_err *fail, sq_err *err)
{
    sq_browser *b = t->sb->browser;
    if (b->running)
        sq_cdp_drain(&b->cdp); /* events the page sent between tasks, and a closed pipe */
    sq_err follow;
    if (b->running && !b->cdp.gone) /* a popup closed since: back to its opener, not a crash */
        (void)sq_browser_follow(b, sq_cdp_clock(&b->cdp) + PROBE_TIMEOUT_MS, &follow);
    /* A browser killed a moment ago may not have closed its pipe yet (its
     * children still hold it), and a hung one never does: it must answer a
     * cheap call now, or it is started again. */
    sq_err probe = {.msg = "its page crashed"};
    if (sq_browser_alive(b) &&
        sq_cdp_call(&b->cdp, "Browser.getVersion", NULL, NULL, sq_cdp_clock(&b->cdp) + PROBE_TIMEOUT_MS, NULL,
                    &probe) == 0)
        return 0;
    if (b->cdp.ctl && b->cdp.ctl->stopped)
        return 1; /* a kill or cancel came: the task fails canceled (browser_body) */
    /* Died between tasks (OOM-killed while idle, a renderer crash): say so
     * before starting the new one. */
    if (b->running && !b->exit_reported &&
        emit_failed(t->w, t->sb, t->req, "exited", b->cdp.gone_why[0] ? b->cdp.gone_why : probe.msg, err) < 0)
        return -1;
    sq_log_ctx lc = {.sandbox_id = t->sb->id, .request_id = t->req->request_id};
    sq_warn(&lc, "browser is not running (%s); starting it again",
            b->cdp.gone_why[0] ? b->cdp.gone_why : b->running ? probe.msg : "never started");
    sq_browser_opts o = b->opts;
    sq_browser_stop(b, t->sb->runtime);
    if (sq_browser_start(b, &o, t->sb->runtime, t->sb->workspace_fd, fail) < 0) {
        if (b->cdp.ctl && b->cdp.ctl->stopped)
            return 1;
        sq_err_wrap(fail, "the browser could not be started again");
        return emit_failed(t->w, t->sb, t->req, "start_failed", fail->msg, err) < 0 ? -1 : 1;
    }
    return emit_ready(t->w, t->sb, t->req, err) < 0 ? -1 : 0;
}

/* The restart action: close the browser cleanly (Browser.close with a
 * bounded wait, so cookies and storage reach the profile; killed if it does
 * not exit in time) and start it again on the same profile. */
static int restart(sq_task *t, size_t index, json_t **result, const char **reason, sq_err *why, sq_err *err)
{
    sq_browser *b = t->sb->browser;
    sq_browser_opts o = b->opts;
    bool clean = sq_browser_stop(b, t->sb->runtime);
    if (sq_browser_start(b, &o, t->sb->runtime, t->sb->workspace_fd, why) < 0) {
        *reason = "browser_unavailable";
        if (b->cdp.ctl && b->cdp.ctl->stopped)
            return -1;
        return emit_failed(t->w, t->sb, t->req, "start_failed", why->msg, err) < 0 ? -2 : -1;
    }
    if (emit_ready(t->w, t->sb, t->req, err) < 0)
        return -2;
    *result = json_pack("{s:I, s:s, s:b, s:s, s:I}", "index", (json_int_t)index, "op", "restart", "clean", clean,
                        "version", b->version, "startupMs", (json_int_t)b->startup_ms);
    return 0;
}

/* The task was stopped by the control lane (control.h): it fails
 * `canceled`, as a command does. After a task.cancel the sandbox carries on,
 * so a script the page may still be running (a busy loop an evaluate
 * started) is stopped for the next task; after a kill the sandbox goes
 * anyway, and a frozen browser could not answer. */
static void stopped(sq_task *t, sq_task_outcome *out)
{
    sq_browser *b = t->sb->browser;
    sq_err_set(&out->failure, sq_control_stop_code(t->sb), "%s", sq_control_why_stopped(t->sb, t->req->task_id));
    out->reason = NULL;
    sq_cdp_set_control(&b->cdp, NULL);
    if (!sq_control_kill_pending(t->sb) && !t->sb->fenced && sq_browser_alive(b)) {
        sq_err ignore;
        (void)sq_cdp_call(&b->cdp, "Runtime.terminateExecution", NULL, b->session,
                          sq_cdp_clock(&b->cdp) + TERMINATE_TIMEOUT_MS, NULL, &ignore);
    }
}

/* A screenshot or PDF an action wrote is exported as an artifact when the task
 * ends (lifecycle/task.c), even if a later action fails: the caller asked for
 * the file and it exists. */
static void produced_file(sq_task_outcome *out, const json_t *action_result)
{
    const char *path = json_string_value(json_object_get(action_result, "path"));
    if (!path || strncmp(path, "/workspace/", 11) != 0)
        return;
    if (!out->produced)
        out->produced = json_array();
    json_array_append_new(out->produced, json_string(path + 11));
}

/* capabilities.recording.browser (docs/recording.md): the task as an MP4,
 * from the start of its actions to its end. ffmpeg runs in the sandbox
 * (caps/browser/recording.h); the frames are the preview's screencast
 * (preview_pump.h). A recording that cannot start is said with
 * sandbox.browser.recorded {ok: false} and the task runs anyway. */
static int emit_recorded(sq_task *t, const sq_brec *rec, bool ok, const char *path, const char *message,
                         sq_err *err)
{
    json_t *d = json_pack("{s:b, s:I, s:I, s:i, s:i, s:I}", "ok", ok, "frames", (json_int_t)rec->fp.written,
                          "droppedFrames", (json_int_t)rec->fp.dropped, "width", rec->width, "height", rec->height,
                          "durationMs", (json_int_t)(rec->started_mono ? sq_mono_ms() - rec->started_mono : 0));
    if (path)
        json_object_set_new(d, "path", json_string(path));
    if (message)
        json_object_set_new(d, "message", json_string(message));
    sq_emit_target target = sq_target_of(t->sb);
    return sq_emit(t->w, &target, t->req, t->req->task_id, "sandbox.browser.recorded", d, err);
}

/* A warm ffmpeg: started (in the sandbox) when the browser comes up and
 * again after each recorded task, waiting on its FIFO, so a task does not
 * wait for ffmpeg's cold start (a second or more on a busy machine: it
 * loads a hundred libraries). Its CPU is the sandbox's like the rest. */
static void standby_start(sq_live_sandbox *sb)
{
    if (!sb->recording_browser || !sb->browser || !sb->browser->running || sb->rec_standby ||
        sq_control_kill_pending(sb))
        return;
    sq_brec *r = calloc(1, sizeof *r);
    sq_err why;
    if (r && sq_brec_start(r, sb->runtime, sb->workspace_fd, sb->browser->width, sb->browser->height, &why) == 0) {
        sb->rec_standby = r;
        return;
    }
    if (r) {
        sq_log_ctx lc = {.sandbox_id = sb->id};
        sq_warn(&lc, "browser recording: no warm ffmpeg: %s", why.msg);
    }
    free(r);
}

/* rt NULL: the sandbox goes anyway (only our end of the FIFO is closed). */
static void standby_drop(sq_live_sandbox *sb, sq_sandbox *rt)
{
    sq_brec *r = sb->rec_standby;
    sb->rec_standby = NULL;
    if (r)
        sq_brec_abort(r, rt);
    free(r);
}

/* The warm ffmpeg if it fits this task (same size, still running), else a
 * new one; NULL (with why) when none starts. */
static sq_brec *recorder_for(sq_live_sandbox *sb, sq_err *why)
{
    int w = sb->browser->width, h = sb->browser->height;
    sq_brec *r = sb->rec_standby;
    sb->rec_standby = NULL;
    if (r && r->width == (w & ~1) && r->height == (h & ~1) && sq_brec_alive(r, sb->workspace_fd))
        return r;
    if (r) {
        sq_brec_abort(r, sb->runtime);
        free(r);
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        sq_err_set(why, SQ_INTERNAL, "out of memory");
        return NULL;
    }
    if (sq_brec_start(r, sb->runtime, sb->workspace_fd, w, h, why) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

static int record_begin(sq_task *t, sq_brec **out_rec, sq_err *err)
{
    sq_live_sandbox *sb = t->sb;
    *out_rec = NULL;
    if (!sb->recording_browser)
        return 0;
    sq_log_ctx lc = {.sandbox_id = sb->id, .task_id = t->req->task_id};
    sq_brec none = {.fd = -1, .width = sb->browser->width & ~1, .height = sb->browser->height & ~1};
    sq_err why;
    if (!sb->preview) {
        sq_warn(&lc, "browser recording: no screencast to record (the preview did not start)");
        return emit_recorded(t, &none, false, NULL, "no screencast to record: the preview did not start", err);
    }
    sq_brec *rec = recorder_for(sb, &why);
    if (!rec) {
        sq_warn(&lc, "browser recording did not start: %s", why.msg);
        return emit_recorded(t, &none, false, NULL, why.msg, err);
    }
    sq_brec_restart_clock(rec);
    (void)sq_preview_record(sb, rec); /* a screenshot first, then the screencast's frames */
    if (!sq_brec_wait_started(rec, START_WAIT_MS))
        sq_warn(&lc, "browser recording: ffmpeg did not read its first frame within %d ms; the video's start "
                     "may be compressed", START_WAIT_MS);
    *out_rec = rec;
    return 0;
}

static int record_end(sq_task *t, sq_brec *rec, sq_task_outcome *out, sq_err *err)
{
    if (!rec)
        return 0;
    sq_live_sandbox *sb = t->sb;
    (void)sq_preview_record(sb, NULL);
    sq_log_ctx lc = {.sandbox_id = sb->id, .task_id = t->req->task_id};
    sq_err why;
    int rc;
    if (sb->frozen_in_task) {
        /* Killed while frozen under the task (onTimeout "pause"): ffmpeg is
         * frozen too and could not finish; the kill does not wait for it. */
        sq_brec_abort(rec, NULL);
        rc = emit_recorded(t, rec, false, NULL,
                           "the sandbox was killed while frozen under the task: ffmpeg could not finish the MP4", err);
        free(rec);
        return rc;
    }
    int fd = sq_brec_finish(rec, sb->runtime, sb->workspace_fd, &why);
    if (fd < 0) {
        sq_warn(&lc, "browser recording not kept: %s", why.msg);
        rc = emit_recorded(t, rec, false, NULL, why.msg, err);
    } else {
        out->recorded_fd = fd;
        char path[96];
        snprintf(path, sizeof path, ".sandq/recording/%s.mp4", t->req->task_id);
        sq_info(&lc, "browser recording: %llu frames, %llu dropped", (unsigned long long)rec->fp.written,
                (unsigned long long)rec->fp.dropped);
        rc = emit_recorded(t, rec, true, path, NULL, err);
    }
    free(rec);
    standby_start(sb); /* the next task's */
    return rc;
}

static void run_actions(sq_task *t, sq_task_outcome *out, sq_brec **rec)
{
    const json_t *body = t->req->body;
    sq_browser *b = t->sb->browser;
    sq_err err;
    int rc = ensure_running(t, &out->failure, &err);
    if (rc != 0) {
        if (rc < 0)
            out->failure = err;
        out->reason = "browser_unavailable";
        return;
    }
    if (record_begin(t, rec, &err) < 0) {
        out->failure = err;
        return;
    }
    const json_t *tm = json_object_get(body, "timeoutMs");
    bool by_sandbox;
    int64_t timeout = sq_lifetime_task_timeout(t->sb, tm ? json_integer_value(tm) : TASK_DEFAULT_TIMEOUT_MS,
                                               &by_sandbox);
    sq_browser_run run = {.b = b, .workspace_fd = t->sb->workspace_fd, .uid = t->sb->host_uid,
                          .gid = t->sb->host_gid, .task_id = t->req->task_id,
                          .deadline = sq_cdp_clock(&b->cdp) + timeout};
    json_t *results = json_array();
    sq_emit_target target = sq_target_of(t->sb);
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(body, "actions"), i, a)
    {
        const char *op = json_string_value(json_object_get(a, "op"));
        if (sq_emit(t->w, &target, t->req, t->req->task_id, "sandbox.task.progress",
                    json_pack("{s:s, s:I, s:s}", "kind", "browser", "index", (json_int_t)i, "op", op), &err) < 0) {
            out->failure = err;
            break;
        }
        json_t *r = NULL;
        const char *reason = NULL;
        sq_err why;
        int done = strcmp(op, "restart") == 0 ? restart(t, i, &r, &reason, &why, &err)
                                                : sq_browser_action(&run, i, a, &r, &reason, &why);
        if (done == -2) {
            out->failure = err;
            break;
        }
        if (done < 0) {
            const char *sel = json_string_value(json_object_get(a, "selector"));
            out->extra = json_pack("{s:I, s:s}", "actionIndex", (json_int_t)i, "op", op);
            if (why.code == SQ_TIMED_OUT && by_sandbox && sq_cdp_clock(&b->cdp) >= run.deadline) {
                /* onTimeout "kill": the task may not outlive its sandbox,
                 * which ends after it (the actor's lifetime check). */
                sq_err_set(&out->failure, SQ_TIMED_OUT,
                           "action %zu (%s) was cut: the sandbox reached its timeoutMs (%lld ms of running time) "
                           "while the task ran, and the sandbox ends",
                           i, op, (long long)t->sb->lifetime.timeout_ms);
                out->reason = "sandbox_timeout";
                break;
            }
            sq_err_set(&out->failure, why.code, "action %zu (%s%s%s) failed: %s", i, op, sel ? " " : "",
                       sel ? sel : "", why.msg);
            out->reason = reason;
            if (strcmp(reason, "browser_exited") == 0) {
                b->exit_reported = true;
                if (emit_failed(t->w, t->sb, t->req, "exited", why.msg, &err) < 0)
                    out->failure = err;
            }
            break;
        }
        produced_file(out, r);
        json_array_append_new(results, r);
    }
    if (out->failure.code == SQ_OK)
        out->result = json_pack("{s:o}", "actions", results);
    else
        json_decref(results);
}

static void browser_body(sq_task *t, sq_task_outcome *out)
{
    sq_browser *b = t->sb->browser;
    /* The control lane is watched by every wait on the browser while the
     * task runs, the start of a browser that died included. */
    sq_cdp_control ctl = {.wake_fd = t->sb->wake_fd, .fn = sq_control_on_exec, .user = t,
                          .control_at = sq_control_first_at(t->sb)};
    sq_cdp_set_control(&b->cdp, &ctl);
    sq_brec *rec = NULL;
    run_actions(t, out, &rec);
    if (ctl.stopped)
        stopped(t, out);
    sq_cdp_set_control(&b->cdp, NULL);
    /* Finished on every end — completed, failed, canceled by task.cancel or
     * a kill — before the sandbox can go (bounded: recording.h). */
    sq_err err;
    if (record_end(t, rec, out, &err) < 0 && out->failure.code == SQ_OK)
        out->failure = err;
}

int sq_handle_browser(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    if (!sb->browser) {
        sq_err why;
        sq_err_field(&why, SQ_CAPABILITY_DISABLED, "type",
                     "this sandbox was created without capabilities.browser");
        return sq_route_reject(w, sb, req, &why, err);
    }
    json_t *summary = json_pack("{s:I}", "actions", (json_int_t)json_array_size(json_object_get(req->body, "actions")));
    /* The pipe is the actor's for the whole task (preview_pump.h): the
     * preview rides on the task's own waits meanwhile. */
    struct sq_preview_hub *held = sq_preview_actor_enter(sb);
    int rc = sq_task_run(w, sb, req, summary, browser_body, err);
    sq_preview_actor_leave(held);
    return rc;
}
