/* redis_store.h — live state in Redis: sandbox hashes, event seq counters,
 * task status and request dedupe keys. Keys are hash-tagged by sandbox id
 * (sandq:{sbx_…}:…) so one sandbox's keys share a Redis Cluster slot. */
#ifndef SQ_REDIS_STORE_H
#define SQ_REDIS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "../worker.h"

int sq_redis_connect(sq_worker *w, sq_err *err);
void sq_redis_close(sq_worker *w);

/* What Redis knows of a sandbox; state SQ_STATE_NONE when it has no record. */
typedef struct sq_redis_sandbox {
    sq_state state;
    char tenant[SQ_TENANT_MAX + 1];
    char region[8];
    char reply_to[SQ_TOPIC_MAX];
    char worker_id[128];
} sq_redis_sandbox;

/* The sandbox's limits and deadlines (lifetime.h), so they are visible to
 * everyone and survive the worker: timeoutMs, idleTimeoutMs, onTimeout,
 * usedMs, deadlineAt, idleDeadlineAt ("" when none), memoryMb, cpus, pids. */
int sq_redis_sandbox_lifetime(sq_worker *w, const sq_live_sandbox *sb, int64_t now, sq_err *err);

int sq_redis_sandbox_lookup(sq_worker *w, const char *sandbox_id, sq_redis_sandbox *out, sq_err *err);
/* Create the record in state queued (fails with sandbox_exists if present). */
int sq_redis_sandbox_create(sq_worker *w, const sq_live_sandbox *sb, const char *runtime, sq_err *err);
int sq_redis_sandbox_set_state(sq_worker *w, const char *sandbox_id, sq_state state, sq_state previous, sq_err *err);
/* Next event seq for a sandbox (1, 2, 3 …), atomically. */
int sq_redis_next_seq(sq_worker *w, const char *sandbox_id, int64_t *seq, sq_err *err);
int sq_redis_task_set(sq_worker *w, const char *sandbox_id, const char *task_id, const char *kind, const char *state,
                      const char *request_id, int exit_code, sq_err *err);
/* Request dedupe: seen → true if this requestId was already handled. */
int sq_redis_request_seen(sq_worker *w, const char *request_id, bool *seen, sq_err *err);
int sq_redis_request_mark(sq_worker *w, const char *request_id, sq_err *err);
bool sq_redis_ping(sq_worker *w);

#endif
