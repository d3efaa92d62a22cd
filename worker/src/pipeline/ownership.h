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
 * - A revoked partition hands its live sandboxes over the same way, once it
 *   has not come back within SANDQ_HANDOVER_GRACE_MS: without a snapshot
 *   store there is nothing to resume from, so they end as failed
 *   (worker_lost) — explicitly, never left claiming to be ready. */
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

/* Rebalance: the live sandboxes of revoked partitions are handed over unless
 * the partition comes back within the grace period (assigned clears it).
 * `topic`: the requests topic whose group just settled (each topic has its
 * own group, pipeline/consumer.h); only its revoked sandboxes start their
 * hand-over grace. */
void sq_ownership_revoked(sq_worker *w, const rd_kafka_topic_partition_list_t *parts);
void sq_ownership_assigned(sq_worker *w, const char *topic, const rd_kafka_topic_partition_list_t *parts);

#endif
