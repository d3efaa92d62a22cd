/* sbx_limits.h — a sandbox's resource limits and lifetime settings, resolved from
 * the create request against the operator's defaults and maximums (pure).
 *
 * Each limit the request leaves out takes the operator's default; a value
 * above the operator's maximum is refused (limit_exceeded, naming the field
 * and the maximum) rather than silently lowered, so a backend never gets less
 * than it asked for without knowing. docs/operations.md ("Sandbox limits")
 * lists the variables. */
#ifndef SQ_SBX_LIMITS_H
#define SQ_SBX_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sq/err.h"

typedef struct sq_limits_config {
    int64_t memory_mb_default, memory_mb_max;   /* SANDQ_LIMIT_MEMORY_MB[_MAX]: 512, 4096 */
    int64_t cpu_millis_default, cpu_millis_max; /* SANDQ_LIMIT_CPUS[_MAX] (×1000): 1, 2 */
    int64_t pids_default, pids_max;             /* SANDQ_LIMIT_PIDS[_MAX]: 512, 4096 */
    int64_t timeout_ms_default, timeout_ms_max; /* SANDQ_SANDBOX_TIMEOUT_MS[_MAX]: 1 h, 24 h */
    int64_t idle_timeout_ms_default;            /* SANDQ_SANDBOX_IDLE_TIMEOUT_MS: 0 = none */
} sq_limits_config;

/* What a sandbox gets. */
typedef struct sq_limits {
    int64_t memory_mb;
    int64_t cpu_millis;      /* 1000 = one CPU */
    int64_t pids;
    int64_t timeout_ms;      /* lifetime, not counting paused time; 0 = none */
    int64_t idle_timeout_ms; /* 0 = none */
    bool pause_on_timeout;   /* onTimeout: "pause" (else "kill") */
} sq_limits;

/* The built-in defaults (no environment). */
void sq_limits_config_defaults(sq_limits_config *c);
/* Defaults overridden by the environment; -1 with err naming a bad variable,
 * or a default above its maximum. */
int sq_limits_config_from_env(sq_limits_config *c, sq_err *err);

/* Resolve a sandbox.create body (already schema-valid) into *out. -1 with
 * err = limit_exceeded and field "body.limits.memoryMb" etc. */
int sq_limits_resolve(const json_t *create_body, const sq_limits_config *c, sq_limits *out, sq_err *err);

/* A sandbox.setTimeout value against the maximum: 0 or -1 (limit_exceeded). */
int sq_limits_check_timeout(int64_t timeout_ms, const sq_limits_config *c, sq_err *err);

/* cpus as a JSON number (1, 0.5) → millicpus, rounded, at least 10. */
int64_t sq_limits_cpu_millis(double cpus);

#endif
