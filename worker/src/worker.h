/* worker.h — the worker's shared context and the live-sandbox record.
 *
 * The worker owns the sandboxes of the partitions it is assigned (the partition
 * is the shard). A live sandbox is kept in the registry while its runtime
 * exists; Redis mirrors its state for everyone else. */
#ifndef SQ_WORKER_H
#define SQ_WORKER_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>

#include "lifetime.h"  /* issue 3: sandbox deadlines (sbx_limits.h comes with config.h) */
#include "config.h"
#include "sandbox/sandbox.h"
#include "sq/protocol.h"

typedef struct sq_live_sandbox {
    char id[SQ_ID_MAX];
    char tenant[SQ_TENANT_MAX + 1];
    char region[8];
    char reply_to[SQ_TOPIC_MAX];
    sq_state state;
    sq_sandbox *runtime;
    char workspace[PATH_MAX];
    int workspace_fd;          /* O_PATH dirfd of the workspace, for openat2 */
    uid_t host_uid;
    gid_t host_gid;
    int slot;                  /* uid slot, held by slot_lock_fd's flock */
    int slot_lock_fd;
    sq_limits limits;          /* resolved at create (sbx_limits.h) */
    sq_lifetime lifetime;      /* timeoutMs / idleTimeoutMs clocks (lifetime.h, lifetime_tick.c) */
    json_t *env;               /* create-time env: secret, memory only */
    json_t *capabilities;      /* what is actually ready */
    struct sq_live_sandbox *next;
} sq_live_sandbox;

typedef struct sq_worker {
    sq_worker_config cfg;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    redisContext *redis;
    PGconn *pg;
    char topic_events[SQ_TOPIC_MAX];
    char topic_dlq[SQ_TOPIC_MAX];
    sq_live_sandbox *buckets[256];
    volatile sig_atomic_t stopping;
} sq_worker;

#endif
