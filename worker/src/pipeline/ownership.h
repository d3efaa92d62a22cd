/* ownership.h — who runs which sandbox, and what happens when a worker goes.
 *
 * - Every worker refreshes a heartbeat key with a TTL and lists itself in
 *   sandq:workers; each sandbox it creates goes into its own set
 *   sandq:worker:{id}:sandboxes.
 * - Every sandbox hash carries an owner lease (workerId) with a fencing epoch:
 *   state writes with a stale epoch are refused (redis_store.c).
 * - A reaper in every worker sweeps sandq:workers; a worker without a
 *   heartbeat has its live sandboxes claimed (epoch bumped) and failed with
 *   reason worker_lost, within the heartbeat TTL plus one sweep.
 * - A partition that moves does not move its sandboxes: they keep running on
 *   the worker that hosts them, and the partition's new owner forwards their
 *   requests to it (pipeline/forward.h). Only a dead host (heartbeat expired)
 *   fails them, worker_lost, through the reaper or the next request. */
#ifndef SQ_OWNERSHIP_H
#define SQ_OWNERSHIP_H

#include "store/redis_store.h"
#include "worker.h"

int sq_ownership_start(sq_worker *w, sq_err *err);
/* Stop beating and give the heartbeat up: call once the sandboxes are settled. */
void sq_ownership_stop(sq_worker *w);

/* Claim a sandbox recorded as known->worker_id's and emit sandbox.failed
 * (worker_lost). A lost race (someone else claimed it) is not an error. */
int sq_fail_lost(sq_worker *w, const sq_request *req, const char *sandbox_id, const sq_redis_sandbox *known,
                 sq_err *err);

#endif
