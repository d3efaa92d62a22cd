/* actor.c — see actor.h. */
#include "lifecycle/actor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "handlers/handlers.h"
#include "handlers/browser.h"
#include "handlers/route.h"
#include "handoff/handoff_live.h"
#include "lifecycle/control.h"
#include "lifecycle/lifetime_tick.h"
#include "lifecycle/live.h"
#include "lifecycle/mailbox.h"
#include "lifecycle/persist.h"
#include "lifecycle/registry.h"
#include "lifecycle/transition.h"
#include "notify/emit.h"
#include "pipeline/answer.h"
#include "pipeline/completer.h"
#include "pipeline/ownership.h"
#include "store/redis_store.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "util/backoff.h"

static void run_job(sq_worker *w, sq_live_sandbox *sb, sq_job *job);

void sq_actor_discard(sq_live_sandbox *sb)
{
    pthread_mutex_destroy(&sb->mu);
    pthread_cond_destroy(&sb->cv);
    close(sb->wake_fd);
    free(sb);
}

/* The control lane runs a job out of turn (a canceled queued task, the
 * requests that come while a command is frozen) the same way. */
static void run_job_hook(sq_live_sandbox *sb, sq_job *job)
{
    run_job(sb->worker, sb, job);
}

sq_live_sandbox *sq_actor_new(sq_worker *w, const char *id)
{
    sq_live_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sb->wake_fd < 0) {
        free(sb);
        return NULL;
    }
    sb->run_job = run_job_hook;
    sb->worker = w;
    snprintf(sb->id, sizeof sb->id, "%s", id);
    sb->state = SQ_STATE_NONE;
    sb->workspace_fd = -1;
    sb->slot_lock_fd = -1;
    sq_handoff_book_init(&sb->handoffs);
    pthread_mutex_init(&sb->mu, NULL);
    pthread_cond_init(&sb->cv, NULL);
    return sb;
}

/* What a retry of a failed job does. The first attempt runs the handler;
 * a retry never runs a task's body again (its effect — a command, a file
 * write — has happened or may have): once the answer exists it is only
 * recorded and published again; a task whose body ran without an answer
 * fails once (outcome_lost). A job that failed before either runs again from
 * the start: nothing of it took effect. Then, as at the end of a task, the
 * sandbox is ready again. */
static int attempt(sq_worker *w, sq_live_sandbox *sb, sq_job *job, const char *last_error, sq_err *err)
{
    /* sb NULL: the sandbox was taken over and ended by another owner; the
     * request is answered as by a worker that does not run it. */
    if (!job->answer && (!sb || !job->effect_started))
        return sq_route(w, sb, &job->req, err);
    int rc;
    if (job->answer) {
        rc = sq_answer_outcome_again(w, job, err);
    } else {
        sq_emit_target target = sq_target_of(sb);
        rc = sq_answer_task_lost(w, &target, job, last_error, err);
    }
    if (rc == 0 && sb && sb->state == SQ_STATE_ACTIVE) {
        sq_lifetime_touch(w, sb, false);
        rc = sq_transition(w, sb, &job->req, SQ_STATE_READY, NULL, NULL, NULL, err);
    }
    return rc;
}

/* Whether another owner took the sandbox (its epoch moved past ours) and
 * ended it there — the reaper fails a sandbox it claims (worker_lost): then
 * it is fenced here and its requests are answered from that state. An
 * ESTALE may also mean that only the request was taken over (a partition
 * moving under a live worker); then the new owner answers. */
static bool taken_over_and_ended(sq_worker *w, sq_live_sandbox *sb)
{
    sq_redis_sandbox known;
    sq_err err;
    if (sq_redis_sandbox_lookup(w, sb->id, &known, &err) < 0 || known.state == SQ_STATE_NONE)
        return false;
    if (known.epoch == sb->epoch && strcmp(known.worker_id, w->cfg.worker_id) == 0)
        return false;
    sb->fenced = true;
    return sq_state_is_terminal(known.state);
}

/* Run a job until its effects are durable. A store or Kafka outage makes it
 * fail; it is retried with back-off rather than skipped, so nothing is lost
 * (the offset does not move past it meanwhile) — but only what attempt()
 * allows is done again. On shutdown it is abandoned: the message is consumed
 * again by the next owner and deduped there (a recorded answer is published
 * again, pipeline/answer.h). */
static void run_job(sq_worker *w, sq_live_sandbox *sb, sq_job *job)
{
    sq_backoff wait = sq_backoff_make(200, 30000);
    char last_error[256] = "";
    for (;;) {
        sq_err err;
        sq_err_clear(&err);
        sq_job_set_current(job);
        int rc = 0;
        if (!job->ledger_checked) {
            job->ledger_checked = true;
            if (sq_answer_ledger_knows(w, &job->req)) {
                sq_answer_duplicate(w, job, SQ_DEDUPE_NEW); /* done long ago: no effect, the same answer */
                return;
            }
        }
        rc = attempt(w, sb, job, last_error, &err);
        if (rc == 0)
            rc = sq_redis_flush(w, &err); /* the job's deferred writes go before it is done */
        sq_job_set_current(NULL);
        if (rc == 0) {
            /* Durable later: the completer finishes it while this actor runs
             * the next job. */
            sq_completer_finish_async(job);
            return;
        }
        if (err.sys_errno == ESTALE && sb && taken_over_and_ended(w, sb)) {
            /* Answered as by a worker that does not run the sandbox (its
             * state is the new owner's: failed → invalid_state), unless the
             * request itself was taken over too (ESTALE again). */
            sb = NULL;
            sq_log_ctx flc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
            sq_warn(&flc, "sandbox taken over by another owner; answering %s from its recorded state",
                    job->req.type_name);
            continue;
        }
        snprintf(last_error, sizeof last_error, "%s", err.msg);
        sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
        sq_error(&lc, "could not make the effects of %s durable: %s; retrying %s", job->req.type_name, err.msg,
                 job->answer                  ? "its answer's recording and publishing"
                 : sb && job->effect_started ? "with a failure: its task is not run again"
                                             : "from the start (nothing of it took effect)");
        if (sq_completer_finish_now(job, false) == 0)
            return;
        if (sb && err.sys_errno == ESTALE)
            sb->fenced = true; /* this request was taken over: its answer is the new owner's */
        if (atomic_load(&w->stopping) || !sb || sb->fenced || sb->handed_over) {
            /* Not ours any more (or shutting down): the next owner redoes it. */
            sq_job_abandon(job);
            return;
        }
        sq_sleep_ms(sq_backoff_next(&wait));
    }
}

/* Leave the registry: from now on the dispatcher no longer finds this actor,
 * so a later request for the id is answered from Redis (ended → invalid_state). */
static void close_actor(sq_worker *w, sq_live_sandbox *sb)
{
    pthread_mutex_lock(&w->registry_mu);
    if (!sb->closing) {
        sq_registry_remove(w, sb->id);
        sb->closing = true;
    }
    pthread_mutex_unlock(&w->registry_mu);
}

/* Taken over by another owner (fenced): it is torn down here at once and
 * publishes nothing more — the new owner has recorded its state. The actor
 * leaves the registry; what is still queued is answered from that state
 * (route: failed → invalid_state), as is anything that comes later — unless
 * the new owner keeps it live: then the queued requests are its to answer
 * and are left alone here. */
static void give_up_fenced(sq_worker *w, sq_live_sandbox *sb)
{
    sq_log_ctx lc = {.sandbox_id = sb->id};
    sq_warn(&lc, "taken over by another owner (epoch moved past %lld): tearing it down here without events",
            (long long)sb->epoch);
    close_actor(w, sb);
    sq_live_teardown(w, sb);
    sq_redis_sandbox known;
    sq_err err;
    if (sq_redis_sandbox_lookup(w, sb->id, &known, &err) == 0 && known.state != SQ_STATE_NONE &&
        !sq_state_is_terminal(known.state))
        sb->handed_over = true; /* its queued jobs are abandoned: the owner's partition consumes them */
    sb->state = SQ_STATE_FAILED; /* not live here any more: route asks Redis */
}

/* A persisted sandbox (lifecycle/persist.h) needs no thread here: the actor
 * leaves once nothing is queued for it. The check and the removal happen
 * under registry_mu, which the dispatcher holds to queue a job, so no
 * request lands in an actor that is leaving; a later one starts a new actor
 * (a resume brings it up there). */
static void close_if_persisted_idle(sq_worker *w, sq_live_sandbox *sb)
{
    pthread_mutex_lock(&w->registry_mu);
    pthread_mutex_lock(&sb->mu);
    bool idle = sb->q_head == NULL;
    pthread_mutex_unlock(&sb->mu);
    if (idle && !sb->closing) {
        sq_registry_remove(w, sb->id);
        sb->closing = true;
    }
    pthread_mutex_unlock(&w->registry_mu);
}

static void *actor_main(void *arg)
{
    sq_live_sandbox *sb = arg;
    sq_worker *w = sb->worker;
    sq_job *job = NULL;

    for (;;) {
        if (!sb->closing)
            sq_control_check_owner(w, sb);
        if (sb->fenced && !sb->closing)
            give_up_fenced(w, sb);
        /* A partition that moves no longer ends the sandbox: it keeps running
         * here and the partition's new owner forwards its requests to this
         * worker's forward topic (pipeline/forward.h). */
        /* Sandbox timeoutMs / idleTimeoutMs: checked by the owner, between
         * jobs, and the wait below never outlasts the next deadline. */
        int wait_ms = 1000;
        if (sb->state == SQ_STATE_READY && !sb->closing) {
            sq_err lerr;
            int64_t now = sq_now_ms();
            if (sq_lifetime_enforce(w, sb, now, &lerr) == 1 && sq_state_is_terminal(sb->state))
                close_actor(w, sb);
            int64_t next = sq_lifetime_next_deadline(&sb->lifetime);
            if (next > 0 && next - now < wait_ms)
                wait_ms = next - now > 10 ? (int)(next - now) : 10;
        }
        /* Automatic checkpoints (issue 13): between jobs, so one waits for a
         * running task to end; a kill stops one that runs (control lane). */
        if (sb->ckpt_auto_ms > 0 && !sb->closing && !sb->fenced && !sb->handed_over && !atomic_load(&w->stopping))
            sq_checkpoint_auto_tick(w, sb, &wait_ms);
        /* Hand-off expiry (issue 14): needs no request to arrive, like the lifetime. */
        if (!sb->closing && !sq_state_is_terminal(sb->state) && sb->state != SQ_STATE_NONE) {
            sq_err herr;
            int64_t now = sq_now_ms();
            if (sq_handoff_tick(w, sb, now, &herr) < 0) {
                sq_log_ctx lc = {.sandbox_id = sb->id};
                sq_error(&lc, "could not expire a hand-off: %s", herr.msg);
            }
            int64_t next = sq_handoff_next_expiry(&sb->handoffs);
            if (next > 0 && next - now < wait_ms)
                wait_ms = next - now > 10 ? (int)(next - now) : 10;
        }
        job = sq_mailbox_take(sb, wait_ms);
        if (job && atomic_load(&w->stopping)) {
            /* Shutting down: the task that was running has finished; what is
             * still queued is left to the partition's next owner (its offset
             * was never completed, so it is consumed again there), which keeps
             * the shutdown as short as the longest running task. */
            sq_job_abandon(job);
            continue;
        }
        if (job && sb->handed_over) {
            sq_job_abandon(job); /* taken over by a live owner: its copy is that owner's */
            continue;
        }
        if (job) {
            sq_control_taken(sb, job);
            run_job(w, sb, job);
            if (sb->state == SQ_STATE_NONE || sq_state_is_terminal(sb->state))
                close_actor(w, sb);
            continue;
        }
        if (!job && sb->persisted && !sb->closing)
            close_if_persisted_idle(w, sb);
        if (sb->closing)
            break; /* queue drained after leaving the registry */
        if (atomic_load(&w->stopping)) {
            close_actor(w, sb);
            sq_err ferr;
            /* Drained (issue 13): a ready sandbox is persisted (reason
             * worker_drained) and comes up on the partition's next owner at
             * its next request; one that cannot be fails as before. */
            int drained = 1;
            if (!sb->persisted && !sb->fenced && !sb->handed_over &&
                (drained = sq_persist_drain(w, sb, &ferr)) < 0)
                sq_error(&(sq_log_ctx){.sandbox_id = sb->id}, "could not persist on drain: %s", ferr.msg);
            if (drained != 0 && sb->browser && sb->runtime)
                sq_browser_close_for_checkpoint(sb); /* its profile flushed before the processes are killed */
            if (drained != 0 && !sb->persisted && (sb->runtime || sb->state != SQ_STATE_NONE) &&
                sq_live_fail(w, sb, NULL, "worker_shutdown", "the worker shut down; its sandboxes cannot outlive it",
                             &ferr) < 0)
                sq_error(&(sq_log_ctx){.sandbox_id = sb->id}, "could not record the failure: %s", ferr.msg);
        }
    }
    /* Anything enqueued between the last dequeue and close_actor was drained
     * above; the record is ours alone now. */
    sq_live_teardown(w, sb);
    sq_err ferr;
    if (sq_redis_flush(w, &ferr) < 0) {
        sq_warn(&(sq_log_ctx){.sandbox_id = sb->id}, "last writes to redis lost: %s", ferr.msg);
        sq_redis_forget_deferred(); /* the thread ends: nothing would send them */
    }
    pthread_mutex_lock(&w->registry_mu);
    w->actors--;
    pthread_cond_broadcast(&w->actors_cv);
    pthread_mutex_unlock(&w->registry_mu);
    sq_actor_discard(sb);
    return NULL;
}

int sq_actor_start(sq_worker *w, sq_live_sandbox *sb)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Bounded stacks for thousands of mostly idle actors (only touched pages
     * cost memory; the deepest user is a recursive files.list). */
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    int rc = pthread_create(&sb->thread, &attr, actor_main, sb);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    w->actors++;
    return 0;
}

void sq_actor_wake_all(sq_worker *w)
{
    pthread_mutex_lock(&w->registry_mu);
    for (size_t i = 0; i < sizeof w->buckets / sizeof w->buckets[0]; i++)
        for (sq_live_sandbox *s = w->buckets[i]; s; s = s->next)
            sq_mailbox_wake(s);
    pthread_mutex_unlock(&w->registry_mu);
}
