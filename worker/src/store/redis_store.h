/* redis_store.h — live state in Redis: sandbox hashes, event seq counters,
 * task status and request dedupe keys. Keys are hash-tagged by sandbox id
 * (sandq:{sbx_…}:…) so one sandbox's keys share a Redis Cluster slot. */
#ifndef SQ_REDIS_STORE_H
#define SQ_REDIS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/answer_rules.h"
#include "worker.h"


/* What Redis knows of a sandbox; state SQ_STATE_NONE when it has no record. */
typedef struct sq_redis_sandbox {
    sq_state state;
    char tenant[SQ_TENANT_MAX + 1];
    char region[8];
    char reply_to[SQ_TOPIC_MAX];
    char worker_id[128];
    int64_t epoch;
    bool persisted;            /* `persisted` 1: paused with no processes and no worker (docs/persistence.md) */
    char checkpoint_id[64];    /* `checkpointId`: the checkpoint a persisted sandbox is brought up from */
    char persist_reason[32];   /* `persistReason`: why it was persisted ("" a pause; worker_drained;
                                  restored_from_checkpoint after a crash) */
    bool auto_checkpoint;      /* `autoCheckpoint` 1: created with checkpoint {auto: true} */
} sq_redis_sandbox;

/* The sandbox's limits and deadlines (lifetime.h), so they are visible to
 * everyone and survive the worker: timeoutMs, idleTimeoutMs, onTimeout,
 * usedMs, deadlineAt, idleDeadlineAt ("" when none), memoryMb, cpus, pids. */
int sq_redis_sandbox_lifetime(sq_worker *w, const sq_live_sandbox *sb, int64_t now, sq_err *err);
/* The same, deferred (see sq_redis_flush). */
int sq_redis_sandbox_lifetime_later(sq_worker *w, const sq_live_sandbox *sb, int64_t now, sq_err *err);

/* Deferred: a hand-off's hash `sandq:{sbx}:handoff:{hnd}` (its event data as
 * `json`, and `status`) and the sandbox hash's `controlMode` and `handoff` (the
 * open hand-off's id, "" none). */
int sq_redis_handoff_set(sq_worker *w, const char *sandbox_id, const json_t *data, const char *control_mode,
                         const char *open_id, sq_err *err);
int sq_redis_sandbox_lookup(sq_worker *w, const char *sandbox_id, sq_redis_sandbox *out, sq_err *err);
/* Create the record in state queued (fails with sandbox_exists if present). */
int sq_redis_sandbox_create(sq_worker *w, const sq_live_sandbox *sb, const char *runtime, sq_err *err);
/* State write fenced by the owner lease: fails with err->sys_errno == ESTALE
 * when another worker took the sandbox over (its epoch moved on). In the same
 * step it takes the next event seq (*seq) for the state event that follows. */
int sq_redis_sandbox_set_state(sq_worker *w, const char *sandbox_id, int64_t epoch, sq_state state,
                               sq_state previous, int64_t *seq, sq_err *err);
/* Take over a live sandbox still recorded as expected_worker's; *epoch is the
 * new epoch, or 0 if it was not (any longer) that worker's to take. */
int sq_redis_sandbox_claim(sq_worker *w, const char *sandbox_id, const char *expected_worker, int64_t *epoch,
                           sq_err *err);
/* Persist (fenced by epoch): `persisted` 1, `checkpointId`, and the owner
 * lease given up (`workerId` "", out of this worker's set) so that any
 * worker can bring it up. persisted false: `persisted` 0 (it is up again). */
int sq_redis_sandbox_persisted(sq_worker *w, const char *sandbox_id, int64_t epoch, bool persisted,
                               const char *checkpoint_id, const char *reason, sq_err *err);
/* A dead worker's sandbox created with checkpoint {auto: true}: recorded as
 * persisted from checkpoint_id (reason restored_from_checkpoint), the lease
 * given up, if still expected_worker's and live. *done false: it was not. */
int sq_redis_sandbox_crash_persist(sq_worker *w, const char *sandbox_id, const char *expected_worker,
                                   const char *checkpoint_id, bool *done, sq_err *err);
/* `autoCheckpoint` 1 on the sandbox's hash (deferred with the create's writes). */
int sq_redis_sandbox_mark_auto(sq_worker *w, const char *sandbox_id, sq_err *err);
/* Take a persisted sandbox no worker holds (paused, `persisted` 1, `workerId`
 * ""): epoch bumped, this worker as owner, in this worker's set. *epoch 0:
 * not (any longer) free to take (another worker took it, or it ended). */
int sq_redis_sandbox_adopt(sq_worker *w, const char *sandbox_id, int64_t *epoch, sq_err *err);
/* Next event seq for a sandbox (1, 2, 3 …), atomically. */
int sq_redis_next_seq(sq_worker *w, const char *sandbox_id, int64_t *seq, sq_err *err);
/* Deferred (see sq_redis_flush): goes with the seq of the event announcing it. */
/* A task's `state` ("queued" … "failed"), or "" when Redis has no such task
 * of this sandbox (never seen, or expired). */
int sq_redis_task_state(sq_worker *w, const char *sandbox_id, const char *task_id, char *state, size_t cap,
                        sq_err *err);
int sq_redis_task_set(sq_worker *w, const char *sandbox_id, const char *task_id, const char *kind, const char *state,
                      const char *request_id, int exit_code, sq_err *err);
/* Request dedupe (pipeline/answer_rules.h reads the key's value). begin claims a
 * requestId for this worker run with SET NX ("p:<run>"); a claim left by a
 * run that died before answering is taken over (the request is redone:
 * at-least-once, then deduped). When the dead run had answered (ANSWERED),
 * *answer is a malloc'd copy of its answer's envelope, to publish again.
 * answered records the answer's envelope ("a:<run>:<envelope>") before it is
 * published; it fails with err->sys_errno == ESTALE when the request is no
 * longer this run's (another worker took it over: do not publish). done
 * marks the request finished and durable. */
int sq_redis_request_begin(sq_worker *w, const char *request_id, sq_dedupe *outcome, char **answer, sq_err *err);
int sq_redis_request_answered(sq_worker *w, const char *request_id, const char *envelope, sq_err *err);
int sq_redis_request_done(sq_worker *w, const char *request_id, sq_err *err);
/* Many at once, in one round trip. */
int sq_redis_requests_done(sq_worker *w, const char *const *request_ids, size_t n, sq_err *err);
/* Writes nobody waits on (task fields, deadlines) are deferred: kept per
 * thread and sent ahead of the thread's next command, in its round trip. A
 * thread flushes before it goes idle or hands its work on; forget drops them
 * (a thread giving up on Redis). */
int sq_redis_flush(sq_worker *w, sq_err *err);
void sq_redis_forget_deferred(void);
bool sq_redis_ping(sq_worker *w);

#endif
