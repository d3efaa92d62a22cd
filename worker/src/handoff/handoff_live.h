/* handoff_live.h — a live sandbox's hand-offs: the adapter between the pure
 * book (handoff_state.h, in sb->handoffs) and the stores. Every status change
 * goes to Redis (deferred, with the event's seq: sandq:{sbx}:handoff:{hnd} and
 * the sandbox hash's controlMode/handoff), to PostgreSQL (the `handoffs` row)
 * and out as a sandbox.handoff.* event (and so a webhook, through the outbox
 * trigger). Everything here runs on the sandbox's actor thread.
 *
 * For the agent capability (issue 12): the agent's request_handoff tool calls
 * sq_handoff_open with requested_by "agent" from its task (actor thread). While
 * the hand-off it opened is open, sq_handoff_agent_may_act(&sb->handoffs) is
 * false once a person accepted it (control mode human); the agent's loop polls
 * sq_handoff_status_of between its own waits, and ends its wait when the
 * status is completed (resume with resumePrompt and data.note), cancelled or
 * expired. Serving handoff.accept/complete/cancel while the agent's task
 * occupies the actor is the agent's part (it must run those jobs from the
 * queue, as the control lane does for kill/cancel: lifecycle/control.h). */
#ifndef SQ_HANDOFF_LIVE_H
#define SQ_HANDOFF_LIVE_H

#include "worker.h"

/* Open a hand-off (body as handoff.request's) on behalf of requested_by
 * (agent | worker | sdk | dashboard): rejected (why) when one is open or the id
 * was used; returns 1 opened, 0 rejected (why filled, nothing published), -1
 * store failure (err). req (may be NULL) is the cause the event names. */
int sq_handoff_open(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const json_t *body,
                    const char *requested_by, sq_err *why, sq_err *err);
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
