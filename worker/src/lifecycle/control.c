/* control.c — see control.h. */
#include "lifecycle/control.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handoff/handoff_live.h"
#include "lifecycle/lifetime_tick.h"
#include "lifecycle/live.h"
#include "lifecycle/mailbox.h"
#include "lifecycle/task.h"
#include "lifecycle/transition.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "store/redis_store.h"

/* How often a sandbox checks that it is still this worker's, when nothing
 * else would tell it: a survivor's reaper that claimed it (this worker's
 * heartbeat lapsed) bumps its epoch in Redis. One HMGET per check. */
#define SQ_OWNER_CHECK_MS 3000

static bool is_control(sq_req_type t)
{
    return t == SQ_REQ_SANDBOX_KILL || t == SQ_REQ_TASK_CANCEL;
}

/* Issue 14: requests that only look at the sandbox's record (hand-offs, a
 * preview URL) and must not wait for a long task — a person is waiting — are
 * answered from inside the running task's wait, like a queued task's cancel. */
static bool is_served_in_task(sq_req_type t)
{
    return t == SQ_REQ_HANDOFF_REQUEST || t == SQ_REQ_HANDOFF_ACCEPT || t == SQ_REQ_HANDOFF_COMPLETE ||
           t == SQ_REQ_HANDOFF_CANCEL || t == SQ_REQ_PREVIEW_URL;
}

static const char *target_of(const sq_request *req)
{
    const char *t = json_string_value(json_object_get(req->body, "targetTaskId"));
    return t ? t : "";
}

/* An eventfd counts: one write is enough however many come before the exec
 * loop drains it. Non-blocking, so a full counter never stalls the caller. */
static void wake(sq_live_sandbox *sb)
{
    uint64_t one = 1;
    if (sb->wake_fd >= 0 && write(sb->wake_fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, the loop is woken anyway. */
    }
}

bool sq_control_admit(sq_live_sandbox *sb, const sq_job *job)
{
    /* Another tenant's kill or cancel is refused (forbidden) in its turn and
     * must stop nothing meanwhile. The tenant is set at create, before any
     * other request can reach the record. */
    if (is_served_in_task(job->req.type) && strcmp(job->req.tenant, sb->tenant) == 0 && !sb->frozen_in_task &&
        sb->running_task[0]) {
        wake(sb); /* stays in its place in the queue; the running task's loop takes it out */
        return false;
    }
    if (!is_control(job->req.type) || strcmp(job->req.tenant, sb->tenant) != 0)
        return false;
    /* A kill sent `inOrder` takes its turn like any request. */
    if (job->req.type == SQ_REQ_SANDBOX_KILL && json_is_true(json_object_get(job->req.body, "inOrder")))
        return false;
    if (job->req.type == SQ_REQ_SANDBOX_KILL) {
        sb->kill_pending = true;
        wake(sb);
    } else if (!sb->frozen_in_task && sb->running_task[0]) {
        /* A frozen command is left alone: the cancel is judged in its turn
         * (paused → invalid_state), like any request while paused. Any
         * other cancel wakes the command's loop too, which answers it at
         * once (sq_control_on_exec). */
        if (strcmp(sb->running_task, target_of(&job->req)) == 0)
            sb->cancel_running = true;
        wake(sb);
    }
    return true;
}

void sq_control_taken(sq_live_sandbox *sb, const sq_job *job)
{
    pthread_mutex_lock(&sb->mu);
    snprintf(sb->running_task, sizeof sb->running_task, "%s",
             sq_req_task_kind(job->req.type) ? job->req.task_id : "");
    sb->cancel_running = false;
    pthread_mutex_unlock(&sb->mu);
}

bool sq_control_kill_pending(sq_live_sandbox *sb)
{
    pthread_mutex_lock(&sb->mu);
    bool k = sb->kill_pending;
    pthread_mutex_unlock(&sb->mu);
    return k;
}

static void remember_canceled(sq_live_sandbox *sb, const char *task_id)
{
    size_t n = sizeof sb->canceled / sizeof sb->canceled[0];
    snprintf(sb->canceled[sb->canceled_next % n], sizeof sb->canceled[0], "%s", task_id);
    sb->canceled_next++;
}

bool sq_control_take_canceled(sq_live_sandbox *sb, const char *task_id)
{
    bool found = false;
    pthread_mutex_lock(&sb->mu);
    for (size_t i = 0; i < sizeof sb->canceled / sizeof sb->canceled[0] && !found; i++) {
        found = task_id[0] && strcmp(sb->canceled[i], task_id) == 0;
        if (found)
            sb->canceled[i][0] = '\0'; /* answered once: a second cancel finds the task ended */
    }
    pthread_mutex_unlock(&sb->mu);
    return found;
}

/* SIGTERM (issue 13): a running task has SANDQ_DRAIN_TASK_GRACE_MS to
 * finish; past it, it is stopped and fails worker_draining, so that the
 * sandbox can be persisted within the shutdown grace. */
static bool drain_over(const sq_worker *w)
{
    int64_t at = atomic_load(&((sq_worker *)w)->drain_at);
    return at > 0 && sq_mono_ms() >= at + w->cfg.drain_task_grace_ms;
}

sq_code sq_control_stop_code(sq_live_sandbox *sb)
{
    pthread_mutex_lock(&sb->mu);
    bool asked = sb->kill_pending || sb->cancel_running;
    pthread_mutex_unlock(&sb->mu);
    return !asked && drain_over(sb->worker) && !sb->persisting ? SQ_WORKER_DRAINING : SQ_CANCELED;
}

const char *sq_control_why_stopped(sq_live_sandbox *sb, const char *task_id)
{
    const char *why;
    pthread_mutex_lock(&sb->mu);
    if (sb->kill_pending) {
        why = "the sandbox was killed (sandbox.kill) while the task ran";
    } else if (sb->cancel_running) {
        why = "the task was canceled (task.cancel) while it ran";
        remember_canceled(sb, task_id);
    } else if (drain_over(sb->worker)) {
        why = "the worker was drained (SIGTERM) and the task did not finish within SANDQ_DRAIN_TASK_GRACE_MS; "
              "the sandbox is persisted: send the task again";
    } else if (atomic_load(&sb->worker->stopping)) {
        why = "the worker shut down while the task was paused under it";
    } else {
        why = "the sandbox reached its timeoutMs while the task ran and could not be paused under it";
    }
    pthread_mutex_unlock(&sb->mu);
    return why;
}

bool sq_control_cancel_queued(sq_live_sandbox *sb, const char *task_id)
{
    sq_job *found = sq_mailbox_take_task(sb, task_id);
    if (!found)
        return false;
    pthread_mutex_lock(&sb->mu);
    remember_canceled(sb, task_id); /* for sq_task_run, when the job runs below */
    pthread_mutex_unlock(&sb->mu);
    /* Now, not in its turn: its task.failed `canceled` (it never started)
     * is due at once. It is its own request, answered and completed as its
     * own job; the offset tracker completes offsets in any order. */
    sq_job *outer = sq_job_current();
    sb->run_job(sb, found);
    sq_job_set_current(outer);
    return true;
}

/* The lifetime deadline, as a monotonic time for the exec loop. */
static int64_t deadline_mono(const sq_live_sandbox *sb)
{
    int64_t at = sq_lifetime_deadline(&sb->lifetime);
    if (at < 0)
        return 0;
    int64_t left = at - sq_now_ms();
    return sq_mono_ms() + (left > 1 ? left : 1);
}

bool sq_control_check_owner(sq_worker *w, sq_live_sandbox *sb)
{
    int64_t now = sq_mono_ms();
    if (sb->fenced || now < sb->owner_check_at)
        return sb->fenced;
    sb->owner_check_at = now + SQ_OWNER_CHECK_MS;
    if (sb->state == SQ_STATE_NONE || sq_state_is_terminal(sb->state))
        return false;
    sq_redis_sandbox known;
    sq_err err;
    if (sq_redis_sandbox_lookup(w, sb->id, &known, &err) < 0 || known.state == SQ_STATE_NONE)
        return false; /* Redis unreachable: the owner stays as it was */
    if (known.epoch > sb->epoch || (known.worker_id[0] && strcmp(known.worker_id, w->cfg.worker_id) != 0))
        sb->fenced = true;
    return sb->fenced;
}

int64_t sq_control_first_at(const sq_live_sandbox *sb)
{
    int64_t at = sb->owner_check_at;
    int64_t lifetime = sb->limits.pause_on_timeout ? deadline_mono(sb) : 0;
    if (lifetime > 0 && lifetime < at)
        at = lifetime;
    /* An open hand-off's expiry is published on time, not when the command ends. */
    int64_t expiry = sq_handoff_next_expiry(&sb->handoffs);
    if (expiry >= 0) {
        int64_t left = expiry - sq_now_ms();
        int64_t mono = sq_mono_ms() + (left > 1 ? left : 1);
        if (mono < at)
            at = mono;
    }
    return at;
}

/* A hand-off whose expiry passed while a task runs: expired now. */
static void expire_handoff(sq_worker *w, sq_live_sandbox *sb)
{
    if (sb->fenced) /* (a kill was ruled out by the caller: the sandbox is going and cancels it) */
        return;
    sq_err err;
    if (sq_handoff_tick(w, sb, sq_now_ms(), &err) < 0) {
        sq_log_ctx lc = {.sandbox_id = sb->id};
        sq_error(&lc, "could not expire a hand-off: %s", err.msg);
    }
}

static bool stop_asked(sq_live_sandbox *sb)
{
    pthread_mutex_lock(&sb->mu);
    bool stop = sb->kill_pending || sb->cancel_running;
    pthread_mutex_unlock(&sb->mu);
    return stop || (drain_over(sb->worker) && !sb->persisting);
}

static void set_frozen(sq_live_sandbox *sb, bool frozen)
{
    pthread_mutex_lock(&sb->mu);
    sb->frozen_in_task = frozen;
    pthread_mutex_unlock(&sb->mu);
}

/* Paused under a running command: serve the queue in order on this thread
 * until a resume thaws the sandbox (false: the command carries on) or it
 * must stop (true: a kill came, the worker stops, the sandbox was lost). */
static bool serve_while_frozen(sq_task *t)
{
    sq_worker *w = t->w;
    sq_live_sandbox *sb = t->sb;
    sq_log_ctx lc = {.sandbox_id = sb->id, .task_id = t->req->task_id};
    for (;;) {
        /* A kill (at the head of the queue) runs as the next job once the
         * command is stopped; nor can a frozen command hold up a take-over
         * (fenced) or a shutdown. */
        if (stop_asked(sb) || atomic_load(&w->stopping) || sq_control_check_owner(w, sb))
            return true;
        sq_job *job = sq_mailbox_take(sb, 1000);
        if (!job)
            continue;
        if (job->req.type == SQ_REQ_SANDBOX_KILL && strcmp(job->req.tenant, sb->tenant) == 0) {
            /* Never run here: ending the sandbox releases the runtime that
             * the exec loop still uses. It runs next, once the command is
             * stopped. (Another tenant's is refused below, forbidden.) */
            sq_mailbox_put_back(sb, job);
            return true;
        }
        bool resume = job->req.type == SQ_REQ_SANDBOX_RESUME;
        if (resume) {
            /* Thaw here first: a failed resume must not tear the runtime
             * down under the exec loop that still uses it. If it cannot be
             * thawed, the command stops and the resume runs in its turn. */
            sq_err why;
            if (sq_sandbox_resume(sb->runtime, &why) < 0) {
                sq_error(&lc, "could not thaw under the running command: %s", why.msg);
                sq_mailbox_put_back(sb, job);
                return true;
            }
        }
        sq_job *outer = sq_job_current();
        sb->run_job(sb, job); /* anything but resume, kill or setTimeout is refused while paused */
        sq_job_set_current(outer);
        if (sq_state_is_terminal(sb->state))
            return true;
        if (resume && sb->state == SQ_STATE_READY) {
            /* Resumed with its command still running: it is active again. */
            sq_err err;
            if (sq_transition(w, sb, NULL, SQ_STATE_ACTIVE, NULL, NULL, NULL, &err) < 0)
                sq_error(&lc, "could not record active after resume: %s", err.msg);
            sq_lifetime_touch(w, sb, true);
            return false;
        }
    }
}

/* onTimeout "pause" with a command running: freeze the sandbox with it. */
static bool pause_under_task(sq_task *t, int64_t *control_at)
{
    sq_worker *w = t->w;
    sq_live_sandbox *sb = t->sb;
    sq_log_ctx lc = {.sandbox_id = sb->id, .task_id = t->req->task_id};
    char message[160];
    snprintf(message, sizeof message,
             "the sandbox used up its timeoutMs (%lld ms of running time) while a task ran; the task is frozen with it",
             (long long)sb->lifetime.timeout_ms);
    sq_info(&lc, "timeout under a running task: pausing");
    sq_err err;
    if (sq_live_pause(w, sb, NULL, "timeout", message, &err) < 0) {
        sq_error(&lc, "could not pause on timeout: %s; trying again in 1 s", err.msg);
        *control_at = sq_mono_ms() + 1000;
        return sb->fenced;
    }
    if (sb->state != SQ_STATE_PAUSED)
        return true; /* could not be frozen: a timeout must hold, the command stops and the sandbox ends */
    set_frozen(sb, true);
    bool stop = serve_while_frozen(t);
    set_frozen(sb, false);
    *control_at = sq_control_first_at(sb);
    return stop;
}

/* The cancels at the head of the queue that target a queued task are
 * answered now, while the command runs: the canceled task fails at once
 * instead of after the running one. (A cancel of the running command stays
 * at the head: it is answered as the next job, once the command is stopped.) */
static void serve_cancels(sq_live_sandbox *sb)
{
    for (;;) {
        sq_job *job = NULL;
        pthread_mutex_lock(&sb->mu);
        sq_job *h = sb->q_head;
        if (h && h->req.type == SQ_REQ_TASK_CANCEL && strcmp(h->req.tenant, sb->tenant) == 0 &&
            strcmp(target_of(&h->req), sb->running_task) != 0) {
            job = h;
            sb->q_head = h->next;
            if (!sb->q_head)
                sb->q_tail = NULL;
            job->next = NULL;
        }
        pthread_mutex_unlock(&sb->mu);
        if (!job)
            return;
        sq_job *outer = sq_job_current();
        sb->run_job(sb, job);
        sq_job_set_current(outer);
    }
}

/* The queued hand-off and preview.url requests (is_served_in_task), each run
 * now as its own job: they keep their order among themselves. Not while a
 * kill is pending: the sandbox is going. */
static void serve_in_task(sq_live_sandbox *sb)
{
    for (;;) {
        sq_job *job = NULL;
        pthread_mutex_lock(&sb->mu);
        if (!sb->kill_pending)
            for (sq_job **p = &sb->q_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
                sq_job *j = *p;
                if (j->parsed && is_served_in_task(j->req.type) && strcmp(j->req.tenant, sb->tenant) == 0) {
                    *p = j->next;
                    if (sb->q_tail == j)
                        sb->q_tail = prev;
                    j->next = NULL;
                    job = j;
                    break;
                }
            }
        pthread_mutex_unlock(&sb->mu);
        if (!job)
            return;
        sq_job *outer = sq_job_current();
        sb->run_job(sb, job);
        sq_job_set_current(outer);
    }
}

bool sq_control_stop_task(sq_worker *w, sq_live_sandbox *sb)
{
    if (stop_asked(sb))
        return true;
    serve_cancels(sb);
    serve_in_task(sb);
    if (sq_control_check_owner(w, sb))
        return true;
    expire_handoff(w, sb);
    return false;
}

bool sq_control_on_exec(void *user, int64_t *control_at)
{
    sq_task *t = user;
    sq_live_sandbox *sb = t->sb;
    if (stop_asked(sb))
        return true;
    serve_cancels(sb);
    serve_in_task(sb);
    /* Taken over while the command runs: it stops, and its outcome is not
     * published here (task.c). */
    if (sq_control_check_owner(t->w, sb))
        return true;
    expire_handoff(t->w, sb);
    if (sb->limits.pause_on_timeout && sq_lifetime_check(&sb->lifetime, sq_now_ms()) == SQ_LIFETIME_EXPIRED)
        return pause_under_task(t, control_at);
    *control_at = sq_control_first_at(sb);
    if (atomic_load(&t->w->drain_at) > 0 && *control_at > sq_mono_ms() + 200)
        *control_at = sq_mono_ms() + 200; /* draining: the task grace is checked here */
    return false;
}
