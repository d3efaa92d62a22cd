/* persist.h — sandboxes that outlive their worker (issue 13,
 * docs/persistence.md).
 *
 * A persist (sandbox.pause {persist: true}) snapshots the workspace into a
 * checkpoint (handlers/checkpoint.h: tar inside the sandbox, the others
 * frozen, the browser closed cleanly first), seals the create spec (env
 * included) under the worker key into PostgreSQL (sandbox_specs, sql/018),
 * ends the processes and frees the slot and workspace, records the sandbox
 * paused with `persisted` 1 in Redis and gives the owner lease up.
 *
 * sq_persist_bring_up is the one way back, on any worker: adopt the lease
 * (epoch bumped), open the spec, sandbox.assigned, start the runtime, restore
 * the checkpoint before the services start, sandbox.resumed {restored: true,
 * checkpointId}. The actor that runs it is the partition owner's: the
 * dispatcher starts one for a resume of a persisted sandbox as for a create
 * (lifecycle/persist_rules.h). */
#ifndef SQ_PERSIST_H
#define SQ_PERSIST_H

#include <stdbool.h>

#include "worker.h"

struct sq_redis_sandbox;

/* sandbox.pause {persist: true} on the actor of a ready sandbox. reason:
 * NULL for a request, else the lifecycle reason. */
int sq_persist_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, sq_err *err);

/* Bring a persisted sandbox up on this worker from its sealed spec and its
 * checkpoint; sb is a fresh actor's (state none) or the one that persisted it.
 * reason: the resumed event's reason (NULL for a plain resume). */
int sq_persist_bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, sq_err *err);

/* sandbox.kill of a persisted sandbox: ending → ended (reason killed), the
 * lease adopted first; its checkpoints and artifacts stay (retention). */
int sq_persist_end(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);

/* A create with checkpoint {auto: true}: its spec sealed into PostgreSQL now
 * and `autoCheckpoint` 1 in Redis, so that a crash of this worker can be
 * recovered from (no-op for other sandboxes). */
int sq_persist_record_spec(sq_worker *w, sq_live_sandbox *sb, sq_err *err);

/* SIGTERM: persist a ready sandbox (reason worker_drained), on its actor.
 * 0 persisted; 1 it cannot be (no key, not ready, the snapshot failed):
 * the caller fails it as before; -1 a store failure. */
int sq_persist_drain(sq_worker *w, sq_live_sandbox *sb, sq_err *err);

/* A sandbox whose worker is gone (reaper, or a request finding it): created
 * with checkpoint {auto: true} and checkpointed at least once, it becomes a
 * persisted sandbox (reason restored_from_checkpoint, its latest
 * checkpoint), brought up at its next request; *restorable says so. Else the
 * caller fails it worker_lost. */
int sq_persist_after_crash(sq_worker *w, const char *sandbox_id, const struct sq_redis_sandbox *known,
                           bool *restorable, sq_err *err);

#endif
