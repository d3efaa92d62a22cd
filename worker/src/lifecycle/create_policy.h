/* create_policy.h — what a worker agrees to in sandbox.create's disk and
 * network fields, given the operator's settings (pure logic). */
#ifndef SQ_CREATE_POLICY_H
#define SQ_CREATE_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Refuse what this worker will not do: diskMb above SANDQ_MAX_DISK_MB
 * (limit_exceeded), network "internet" when SANDQ_ALLOW_INTERNET is off
 * (forbidden), checkpoint.auto without intervalMs or with one outside
 * SANDQ_CHECKPOINT_AUTO_MIN_MS..MAX_MS (invalid_request). Fills err with the field; the caller emits request.rejected. */
int sq_create_check(const sq_worker_config *cfg, const json_t *body, sq_err *err);

/* checkpoint.intervalMs when checkpoint.auto is true, else 0 (no automatic
 * checkpoints). Checked by sq_create_check first. */
int64_t sq_create_auto_checkpoint_ms(const json_t *body);
/* limits.diskMb, or the worker's default. */
int64_t sq_create_disk_mb(const sq_worker_config *cfg, const json_t *body);
/* network == "internet". */
bool sq_create_wants_internet(const json_t *body);

#endif
