/* lifetime_tick.c — see lifetime_tick.h. */
#include "lifecycle/lifetime_tick.h"

#include <stdio.h>
#include <string.h>

#include "lifecycle/live.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "store/redis_store.h"

void sq_lifetime_touch(sq_worker *w, sq_live_sandbox *sb, bool busy)
{
    int64_t now = sq_now_ms();
    if (busy)
        sq_lifetime_busy(&sb->lifetime, now);
    else
        sq_lifetime_idle(&sb->lifetime, now);
    sq_err err;
    /* Deferred: it goes to Redis with the next event's seq (redis_store.h). */
    if (sq_redis_sandbox_lifetime_later(w, sb, now, &err) < 0) {
        sq_log_ctx lc = {.sandbox_id = sb->id};
        sq_warn(&lc, "could not record deadlines: %s", err.msg);
    }
}

int sq_lifetime_enforce(sq_worker *w, sq_live_sandbox *sb, int64_t now, sq_err *err)
{
    if (sb->state != SQ_STATE_READY)
        return 0;
    sq_lifetime_due due = sq_lifetime_check(&sb->lifetime, now);
    if (due == SQ_LIFETIME_OK)
        return 0;
    char id[SQ_ID_MAX];
    snprintf(id, sizeof id, "%s", sb->id); /* ending it frees sb */
    sq_log_ctx lc = {.sandbox_id = id};
    bool idle = due == SQ_LIFETIME_IDLE;
    const char *reason = idle ? "idle_timeout" : "timeout";
    char message[160];
    if (idle)
        snprintf(message, sizeof message, "no activity for idleTimeoutMs (%lld ms)",
                 (long long)sb->lifetime.idle_timeout_ms);
    else
        snprintf(message, sizeof message, "the sandbox used up its timeoutMs (%lld ms of running time)",
                 (long long)sb->lifetime.timeout_ms);
    sq_info(&lc, "%s: %s; %s", reason, message, sb->limits.pause_on_timeout ? "pausing" : "ending");
    int rc;
    if (sb->limits.pause_on_timeout) {
        rc = sq_live_pause(w, sb, NULL, reason, message, err);
        /* A timeout must hold: a sandbox that cannot be frozen is ended. */
        if (rc == 0 && sb->state == SQ_STATE_READY)
            rc = sq_live_end(w, sb, NULL, reason, message, err);
    } else {
        rc = sq_live_end(w, sb, NULL, reason, message, err); /* sb is terminal after this */
    }
    if (rc < 0) {
        sq_error(&lc, "could not act on %s: %s", reason, err->msg);
        return -1;
    }
    return 1;
}

int64_t sq_lifetime_task_timeout(const sq_live_sandbox *sb, int64_t task_timeout, bool *by_sandbox)
{
    *by_sandbox = false;
    int64_t deadline = sq_lifetime_deadline(&sb->lifetime);
    if (sb->limits.pause_on_timeout || deadline < 0)
        return task_timeout;
    int64_t left = deadline - sq_now_ms();
    if (left < 1)
        left = 1;
    if (task_timeout > 0 && task_timeout <= left)
        return task_timeout;
    *by_sandbox = true;
    return left;
}
