/* mailbox.h — a live sandbox's FIFO of jobs (sb->q_head/q_tail, guarded by
 * sb->mu): the dispatcher puts, the sandbox's actor takes.
 *
 * Its own module, below both, so that what must look into the queue — a
 * create waiting in queued for a uid slot takes a kill out of it
 * (handlers/create_kill.c), the control lane takes a canceled task out of it
 * (control.c) — needs nothing of the actor that runs it. */
#ifndef SQ_MAILBOX_H
#define SQ_MAILBOX_H

#include "pipeline/job.h"
#include "worker.h"

/* Appends a job and wakes the actor; a sandbox.kill or task.cancel goes
 * ahead instead (control.h). Call with registry_mu held (the actor cannot be
 * closing then). */
void sq_mailbox_put(sq_live_sandbox *sb, sq_job *job);
/* The oldest job, waiting up to wait_ms for one unless the worker is
 * stopping (NULL: none came). */
sq_job *sq_mailbox_take(sq_live_sandbox *sb, int wait_ms);
/* Take the first sandbox.kill out of the queue, wherever it is (or NULL).
 * The caller ends the sandbox on its behalf, then finishes the job. */
sq_job *sq_mailbox_take_kill(sq_live_sandbox *sb);
/* Put a job the actor took back at the head of the queue (its turn is next). */
void sq_mailbox_put_back(sq_live_sandbox *sb, sq_job *job);
/* Take the queued job of task task_id (a task.* or files.* request) out of
 * the queue, wherever it is (or NULL): a task.cancel's queued target. */
sq_job *sq_mailbox_take_task(sq_live_sandbox *sb, const char *task_id);
/* Take the first handoff.* job out of the queue, wherever it is (or NULL):
 * served out of turn while a task waits for a hand-off (handoff_live.h). */
sq_job *sq_mailbox_take_handoff(sq_live_sandbox *sb);
/* Wait up to wait_ms for something to be put into the queue (the task that
 * waits for a hand-off: a handoff.*, a kill or a cancel may come). */
void sq_mailbox_wait_put(sq_live_sandbox *sb, int wait_ms);
/* Wake the actor waiting on this mailbox (shutdown). */
void sq_mailbox_wake(sq_live_sandbox *sb);

#endif
