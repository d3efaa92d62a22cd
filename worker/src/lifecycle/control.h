/* control.h — a sandbox's control lane: what must not wait behind the
 * command its actor is running.
 *
 * A sandbox's jobs run one at a time, in Kafka order (mailbox.h, actor.h).
 * Three things cannot wait for the running command to end:
 * - sandbox.kill and task.cancel are admitted *ahead* of the queued jobs when
 *   they are put (sq_control_admit, from sq_mailbox_put under sb->mu), and the
 *   running command is told at once through the sandbox's wake eventfd: its
 *   exec loop asks sq_control_on_exec, which stops it (res.canceled); a task
 *   the worker does itself (files.*) asks sq_control_stop_task between
 *   bounded steps and stops the same way. The
 *   kill or cancel job itself then runs as the next job, after the stopped
 *   task has published its sandbox.task.failed `canceled`; everything else
 *   keeps its order.
 * - the sandbox's lifetime with onTimeout "pause": sq_control_on_exec is
 *   also asked when the deadline passes; it freezes the sandbox under the
 *   command (pausing → paused) and runs the jobs that come meanwhile out of
 *   the queue, on this thread, until a resume thaws it (the command carries
 *   on) or a kill ends it. (With "kill" the command's own timeout is cut to
 *   the lifetime left: handlers/exec.c.)
 * - a sandbox taken over by another worker (fenced): checked every few
 *   seconds, also while a command runs, which then stops.
 * Everything but sq_control_admit runs on the sandbox's actor thread. */
#ifndef SQ_CONTROL_H
#define SQ_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/job.h"
#include "worker.h"

/* Called by sq_mailbox_put with sb->mu held. Returns true when the job goes
 * ahead of the queue (behind other control jobs already there). */
bool sq_control_admit(sq_live_sandbox *sb, const sq_job *job);
/* The actor took `job` as its next job (takes sb->mu). */
void sq_control_taken(sq_live_sandbox *sb, const sq_job *job);

/* The exec loop's control callback (sq_exec_opts.on_control); user is the
 * running sq_task. */
bool sq_control_on_exec(void *user, int64_t *control_at);
/* When sq_control_on_exec must first be asked regardless of wake-ups
 * (monotonic ms): the next owner check, the lifetime deadline with
 * onTimeout "pause", or the open hand-off's expiry, whichever comes first.
 * (sq_control_on_exec and sq_control_stop_task expire a hand-off whose time
 * passed, so that its event is not held back until the task ends.) */
int64_t sq_control_first_at(const sq_live_sandbox *sb);
/* After a command that was stopped by the control lane: why, for its
 * task.failed message; remembers task_id as canceled when a task.cancel did
 * it (sq_control_was_canceled). */
const char *sq_control_why_stopped(sq_live_sandbox *sb, const char *task_id);

/* Whether another owner took the sandbox (its epoch in Redis moved past
 * ours): asks Redis at most every few seconds, and sets sb->fenced. Actor
 * thread. */
bool sq_control_check_owner(sq_worker *w, sq_live_sandbox *sb);

/* For a task body that works on the actor thread itself in bounded steps
 * (files.*; browser actions) instead of in the exec loop: ask between steps.
 * True when the running task must stop now: a sandbox.kill is pending, a
 * task.cancel targets it, or another worker took the sandbox (fenced). The
 * body then fails SQ_CANCELED with sq_control_why_stopped (task.c publishes
 * nothing for a fenced sandbox). Meanwhile it answers cancels of *queued*
 * tasks, as the exec loop does. Costs one mutex; Redis at most every few
 * seconds (the owner check). It does not read the wake eventfd: a caller
 * that sleeps in poll() can add sb->wake_fd to its set and ask this when it
 * turns readable; the next exec loop drains what is left. Actor thread. */
bool sq_control_stop_task(sq_worker *w, sq_live_sandbox *sb);

/* A sandbox.kill is on its way: the running task must not announce "ready". */
bool sq_control_kill_pending(sq_live_sandbox *sb);
/* Whether task_id was canceled (a running one stopped, a queued one taken
 * out), forgetting it: asked once by the cancel's handler, or by the queued
 * task's own run, which then fails it `canceled` without running it. */
bool sq_control_take_canceled(sq_live_sandbox *sb, const char *task_id);
/* Take the queued job of task task_id out of the queue, mark it canceled and
 * run it now (it fails `canceled` without running). Returns false when no
 * such job is queued. */
bool sq_control_cancel_queued(sq_live_sandbox *sb, const char *task_id);

/* The code of a task stopped by the control lane: worker_draining when the
 * drain's task grace ran out (issue 13), else canceled. */
sq_code sq_control_stop_code(sq_live_sandbox *sb);

#endif
