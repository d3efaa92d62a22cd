/* lifetime_tick.h — enforcing sandbox timeoutMs and idleTimeoutMs.
 *
 * The deadlines themselves are pure (lifetime.h); this is the adapter that
 * applies them to live sandboxes: it ends (onTimeout "kill") or pauses
 * (onTimeout "pause") each sandbox whose deadline has passed, and mirrors the
 * deadlines into Redis whenever they move. */
#ifndef SQ_LIFETIME_TICK_H
#define SQ_LIFETIME_TICK_H

#include <stdbool.h>
#include <stdint.h>

#include "worker.h"

/* Called by the sandbox's actor between jobs (and when its queue wait times
 * out at the next deadline): if sb is ready and a deadline has passed at
 * `now`, end or pause it. Returns 1 if it acted (after ending, sb is torn
 * down and terminal), 0 if nothing was due, -1 on a store failure (err). */
int sq_lifetime_enforce(sq_worker *w, sq_live_sandbox *sb, int64_t now, sq_err *err);

/* A task starts (busy) or ends (idle): move the idle clock and mirror it to
 * Redis. Failures are logged, not returned: a stale Redis deadline is not a
 * reason to fail a task. */
void sq_lifetime_touch(sq_worker *w, sq_live_sandbox *sb, bool busy);

/* With onTimeout "kill", the sandbox's lifetime bounds a task too: it must
 * not outlive its sandbox's timeoutMs. Returns the timeout a task started now
 * may use (task_timeout, or the lifetime left when that is nearer; 0 = none)
 * and sets *by_sandbox when the lifetime is the nearer bound. (With "pause"
 * the sandbox is frozen under the task when the lifetime runs out:
 * lifecycle/control.c.) */
int64_t sq_lifetime_task_timeout(const sq_live_sandbox *sb, int64_t task_timeout, bool *by_sandbox);

#endif
