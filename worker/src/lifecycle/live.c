/* live.c — see live.h. */
#include "lifecycle/live.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "handlers/browser.h"
#include "handlers/ws_fs.h"
#include "handoff/handoff_live.h"
#include "lifecycle/create_opts.h"
#include "lifecycle/slots.h"
#include "lifecycle/transition.h"
#include "store/redis_store.h"
#include "sq/clock.h"
#include "sq/log.h"

void sq_live_set_runtime(sq_live_sandbox *sb, sq_sandbox *rt)
{
    pthread_mutex_lock(&sb->mu);
    sb->runtime = rt;
    pthread_mutex_unlock(&sb->mu);
}

void sq_live_drop_runtime(sq_live_sandbox *sb)
{
    pthread_mutex_lock(&sb->mu);
    sq_sandbox *rt = sb->runtime;
    sb->runtime = NULL;
    pthread_mutex_unlock(&sb->mu);
    sq_sandbox_destroy(rt);
    /* A workspace with its own file system is unmounted now, not emptied
     * later: before "ended"/"failed" is announced, nothing of it is left. */
    sq_workspace_disk_release(sb);
}

void sq_live_teardown(sq_worker *w, sq_live_sandbox *sb)
{
    (void)w;
    sq_log_ctx lc = {.sandbox_id = sb->id};
    sq_browser_release(sb); /* issue 11: our ends of its pipe; the process goes with the sandbox */
    sq_live_drop_runtime(sb); /* kills the whole tree first: nothing writes during removal */
    if (sb->workspace_fd >= 0) {
        sq_err err;
        int dfd = openat(sb->workspace_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || sq_ws_remove_tree_at(dfd, &err) < 0)
            sq_warn(&lc, "could not empty workspace %s", sb->workspace);
        if (dfd >= 0)
            close(dfd);
        close(sb->workspace_fd);
        sb->workspace_fd = -1;
        if (rmdir(sb->workspace) < 0 && errno != ENOENT)
            sq_warn(&lc, "could not remove workspace %s: %s", sb->workspace, strerror(errno));
    }
    sq_slot_release(sb);
    json_decref(sb->env);
    sb->env = NULL;
    json_decref(sb->spec);
    sb->spec = NULL;
    json_decref(sb->capabilities);
    sb->capabilities = NULL;
    sq_handoff_book_free(&sb->handoffs);
}

int sq_live_end(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, const char *message,
                sq_err *err)
{
    /* An open hand-off cannot outlive its sandbox (its cancelled event first). */
    if (sq_handoff_end_with_sandbox(w, sb, req, err) < 0)
        return -1;
    if (sq_transition(w, sb, req, SQ_STATE_ENDING, reason, message, NULL, err) < 0)
        return -1;
    sq_live_teardown(w, sb); /* everything released before "ended" is announced */
    return sq_transition(w, sb, req, SQ_STATE_ENDED, reason, message, NULL, err);
}

int sq_live_fail(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, const char *message,
                 sq_err *err)
{
    /* An open hand-off is cancelled before the sandbox goes (its event first),
     * as on an end; not when fenced or handed over: the new owner speaks. */
    if (!sb->fenced && !sb->handed_over && !sq_state_is_terminal(sb->state) && sb->state != SQ_STATE_NONE &&
        sq_handoff_end_with_sandbox(w, sb, req, err) < 0)
        return -1;
    sq_live_teardown(w, sb); /* everything released before "failed" is announced */
    if (sq_state_is_terminal(sb->state) || sb->state == SQ_STATE_NONE)
        return 0;
    return sq_transition(w, sb, req, SQ_STATE_FAILED, reason, message, NULL, err);
}

int sq_live_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, const char *message,
                  sq_err *err)
{
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req ? req->request_id : NULL};
    if (sq_transition(w, sb, req, SQ_STATE_PAUSING, reason, message, NULL, err) < 0)
        return -1;
    sq_err why;
    if (sq_sandbox_pause(sb->runtime, &why) < 0) {
        /* Nothing was frozen (a failed freeze is undone): it is still ready. */
        sq_error(&lc, "pause failed: %s", why.msg);
        return sq_transition(w, sb, req, SQ_STATE_READY, "pause_failed", why.msg,
                             json_pack("{s:O}", "capabilities", sb->capabilities), err);
    }
    int64_t now = sq_now_ms();
    sq_lifetime_pause(&sb->lifetime, now);
    if (sq_redis_sandbox_lifetime(w, sb, now, err) < 0)
        return -1;
    sq_info(&lc, "paused after %lld ms of running time", (long long)sq_lifetime_used(&sb->lifetime, now));
    return sq_transition(w, sb, req, SQ_STATE_PAUSED, reason, message, NULL, err);
}
