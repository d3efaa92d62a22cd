/* answer.h — a request's answer: which event it is, what its dedupe key says,
 * and giving it again to a copy of the request.
 *
 * One concern, three moments:
 * - Recording (pure, answer_rules.c, unit-tested): which event answers a
 *   request (sq_event_answers), and what the value of its dedupe key means to
 *   this worker run (sq_dedupe_classify). The answer is written onto the key
 *   before it is published (notify/emit.c), so a worker that takes the request
 *   over after a crash (published, offset not yet committed) finds it there.
 * - Answering again (answer.c): that recorded envelope is published once more
 *   — same eventId, same seq — and its history row recorded if the dead
 *   worker's writer had not (the insert is idempotent on eventId, so no second
 *   webhook delivery either), instead of redoing the request.
 * - Replaying (answer.c): a copy of a request that already took effect gets
 *   all its stored events again — the same envelopes, same eventIds and seqs
 *   (as PostgreSQL's jsonb keeps them: key order and spacing may differ from
 *   the first copy's bytes) — so a client that retried because it missed the
 *   first answer gets one, and a consumer that dedupes by eventId (or
 *   sandboxId + seq) sees nothing new. Only Kafka sees a replay: no history
 *   row, so no webhook delivery (the outbox is filled by a trigger on that
 *   log), and no seq is taken.
 *
 * The pure half has its own header (answer_rules.h), so that the stores and
 * the emitter, which the adapters here call, can use the rules without
 * including this; the worker and the job are declared by their struct tags. */
#ifndef SQ_ANSWER_H
#define SQ_ANSWER_H

#include <stdbool.h>

#include "pipeline/answer_rules.h"
#include "sq/err.h"
#include "sq/protocol.h"

struct sq_worker;
struct sq_job;

/* Publish `envelope` (an event's JSON, a dead run's recorded answer) to the
 * events topic and its sandbox's replyTo, keyed by its sandboxId, and queue
 * its history row; counted on the calling thread's current job. */
int sq_answer_again(struct sq_worker *w, const char *envelope, sq_err *err);

/* A retry of a request whose handler failed after its answer was built
 * (job->answer, kept by notify/emit.c): the answer is recorded on the
 * request's key (again: the key's compare-and-set accepts this run's own
 * answer) and published again, with its history row — the effect is never
 * redone. ESTALE when another worker took the request over. */
int sq_answer_outcome_again(struct sq_worker *w, struct sq_job *job, sq_err *err);

/* A retry of a task whose body ran (job->effect_started) but whose answer
 * was never built (a store failed in between): the task is not run again; it
 * fails, once, `internal` with reason `outcome_lost`, and that failure is its
 * answer (kept on the job like any other). */
struct sq_emit_target;
int sq_answer_task_lost(struct sq_worker *w, const struct sq_emit_target *t, struct sq_job *job, const char *why,
                        sq_err *err);

/* Whether PostgreSQL's requests ledger already has this request id. A fresh
 * Redis claim may only mean Redis lost the key (expiry, a restart without
 * persistence): the ledger is the durable answer. A ledger that cannot be
 * asked counts as "not known" (logged): Redis is trusted then. */
bool sq_answer_ledger_knows(struct sq_worker *w, const sq_request *req);

/* Publish every stored event of job->req's requestId, in seq order, to the
 * events topic and to the reply topic the original went to, keyed by its
 * sandbox (or by the request's key when the event belongs to no sandbox).
 *
 * Best effort: the deliveries are not counted against the job (whose offset
 * may be committed before they are acknowledged) — the first copy's effect
 * stands either way, and a client that still hears nothing retries again.
 * Safe to call whenever the request is known done: "done" (Redis, and the
 * PostgreSQL ledger) is recorded only after the request's events are
 * committed to the audit log (job.h), so none of them is missing here. */
int sq_answer_replay(struct sq_worker *w, struct sq_job *job, sq_err *err);

/* Acknowledge a copy of a request without an effect of its own and finish its
 * job (the caller must not touch it afterwards). `seen` is what the dedupe
 * key said: DONE (an earlier copy took effect), IN_FLIGHT (a copy is being
 * handled by this run: that one answers, nothing is replayed), or NEW (a fresh
 * claim, but the ledger knows the request done: the key is then marked done
 * again, so the next copy is answered from Redis). The stored answer is
 * replayed except for IN_FLIGHT; a failed replay is logged, not returned. */
void sq_answer_duplicate(struct sq_worker *w, struct sq_job *job, sq_dedupe seen);

#endif
