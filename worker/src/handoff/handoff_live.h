/* handoff_live.h — a live sandbox's hand-offs: the adapter between the pure
 * book (handoff_state.h, in sb->handoffs) and the stores. Every status change
 * goes to Redis (deferred, with the event's seq: sandq:{sbx}:handoff:{hnd} and
 * the sandbox hash's controlMode/handoff), to PostgreSQL (the `handoffs` row)
 * and out as a sandbox.handoff.* event (and so a webhook, through the outbox
 * trigger). Everything here runs on the sandbox's actor thread.
 *
 * For the agent capability (issue 12): the agent's request_handoff tool calls
 * sq_handoff_open with requested_by "agent" from its task (actor thread), then
 * sq_handoff_wait: it blocks the task until the hand-off is completed (resume
 * with its resumePrompt and data.note), cancelled or expired, serving the
 * sandbox's handoff.* requests out of turn meanwhile (they would otherwise
 * queue behind the waiting task), and returns at once when the task's control
 * lane says stop (kill, task.cancel, fenced). While a person has control
 * (controlMode human) sq_handoff_agent_may_act(&sb->handoffs) is false. */
#ifndef SQ_HANDOFF_LIVE_H
#define SQ_HANDOFF_LIVE_H

#include "worker.h"

/* Open a hand-off (body as handoff.request's) on behalf of requested_by
 * (agent | worker | sdk | dashboard): rejected (why) when one is open or the id
 * was used; returns 1 opened, 0 rejected (why filled, nothing published), -1
 * store failure (err). req (may be NULL) is the cause the event names. */
int sq_handoff_open(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const json_t *body,
                    const char *requested_by, sq_err *why, sq_err *err);
/* Block the calling task until hand-off handoff_id is completed, cancelled or
 * expired (its status in *status, its data via sq_handoff_status_of), or until
 * stop(user) returns true — asked whenever something is put into the
 * sandbox's queue and at least every 200 ms (pass the task's control-lane
 * check, e.g. a wrapper of sq_control_on_exec), or the worker stops. Returns 1 done, 0 stopped,
 * -1 on a store failure (err) or an unknown handoff_id (err: handoff_not_found). */
int sq_handoff_wait(sq_worker *w, sq_live_sandbox *sb, const char *handoff_id, bool (*stop)(void *user), void *user,
                    int *status, sq_err *err);
/* The status of hand-off handoff_id (its event data in *data, borrowed, may be
 * NULL), or -1 when the book does not hold it. */
int sq_handoff_status_of(const sq_live_sandbox *sb, const char *handoff_id, const json_t **data);
/* Record and publish hand-off idx of sb's book as it now is. */
int sq_handoff_publish(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, int idx, sq_err *err);
/* Between jobs: expire the open hand-off if its time passed (sandbox.handoff.expired,
 * requestId null). Returns 1 acted, 0 nothing due, -1 store failure. */
int sq_handoff_tick(sq_worker *w, sq_live_sandbox *sb, int64_t now, sq_err *err);
/* The sandbox is ending: an open hand-off is cancelled (its event comes
 * before sandbox.ending). */
int sq_handoff_end_with_sandbox(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);

#endif
