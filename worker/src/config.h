/* config.h — sandq-worker's configuration, read once from the environment. */
#ifndef SQ_WORKER_CONFIG_H
#define SQ_WORKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifecycle/sbx_limits.h"
#include "sq/env.h"
#include "sq/err.h"

typedef struct sq_worker_config {
    sq_conn_config conn;
    char worker_id[128];          /* SANDQ_WORKER_ID, default "<hostname>-<pid>" */
    const char *region;           /* SANDQ_REGION, default "iad" */
    const char *group_id;         /* SANDQ_GROUP_ID, default "sandq-workers" */
    const char *workspace_root;   /* SANDQ_WORKSPACE_ROOT, default /var/lib/sandq/workspaces */
    const char *run_dir;          /* SANDQ_RUN_DIR, default /run/sandq (uid slot locks) */
    const char *init_bin;         /* SANDQ_INIT_BIN, default: sandq-init beside the worker */
    size_t max_request_bytes;     /* SANDQ_MAX_REQUEST_BYTES, default 1 MiB */
    int64_t recording_max_bytes;  /* SANDQ_RECORDING_MAX_BYTES: one exec's asciicast file, default 16 MiB */
    size_t max_event_bytes;       /* SANDQ_MAX_EVENT_BYTES: the largest event published, default 1 MiB */
    int64_t uid_base;             /* SANDQ_UID_BASE, default 1000000000 */
    int64_t max_sandboxes;        /* SANDQ_MAX_SANDBOXES, default 64 (uid slots) */
    int64_t dedupe_ttl_s;         /* SANDQ_DEDUPE_TTL_S, default 86400 */
    int64_t ended_ttl_s;          /* SANDQ_ENDED_TTL_S: Redis keeps ended sandboxes this long, default 86400 */
    int64_t max_inflight;         /* SANDQ_MAX_INFLIGHT: unfinished requests before fetching pauses, default 1000 */
    int64_t linger_ms;            /* SANDQ_LINGER_MS: how long the event producer batches (linger.ms), default 1 */
    int64_t partition_inflight;   /* SANDQ_PARTITION_INFLIGHT: the same bound per partition, 0 (default) for none */
    int64_t history_queue;        /* SANDQ_HISTORY_QUEUE: PostgreSQL statements queued before writers block, default 10000 */
    int64_t store_retry_ms;       /* SANDQ_STORE_RETRY_MS: how long a Redis command keeps retrying an outage, default 60000 */
    int64_t store_pool;           /* SANDQ_STORE_POOL: Redis+PostgreSQL connections, default 32 */
    int64_t shutdown_grace_ms;    /* SANDQ_SHUTDOWN_GRACE_MS: how long SIGTERM waits for busy sandboxes, default 20000 */
    int64_t drain_task_grace_ms;  /* SANDQ_DRAIN_TASK_GRACE_MS: how long a running task may finish after SIGTERM
                                     before it is stopped (worker_draining), default 10000 (issue 13) */
    int64_t session_timeout_ms;   /* SANDQ_SESSION_TIMEOUT_MS: Kafka group session timeout, default 10000 */
    int64_t heartbeat_ttl_s;      /* SANDQ_HEARTBEAT_TTL_S, default 10 */
    int64_t reaper_interval_ms;   /* SANDQ_REAPER_INTERVAL_MS, default 2000 */
    bool static_membership;       /* SANDQ_STATIC_MEMBERSHIP (group.instance.id = worker id), default on */
    const char *http_addr;        /* SANDQ_HTTP_ADDR, default 127.0.0.1 */
    int64_t http_port;            /* SANDQ_HTTP_PORT, default 9464; 0 = any free port (logged) */
    const char *log_level;        /* SANDQ_LOG_LEVEL, default info */
    const char *cgroup_mode;      /* SANDQ_CGROUP_MODE: auto (default) or v1 */
    bool cgroup_favor_dynmods;    /* SANDQ_CGROUP_FAVOR_DYNMODS: set cgroup2 favordynmods at start (default 1) */
    sq_limits_config limits;      /* SANDQ_LIMIT_*, SANDQ_SANDBOX_*TIMEOUT_MS (sbx_limits.h) */
    /* Disk and network of sandboxes (create_opts.c, docs/security.md). */
    bool disk_limit;              /* SANDQ_DISK_LIMIT, default on: /workspace is its own ext4 of diskMb */
    int64_t default_disk_mb;      /* SANDQ_DEFAULT_DISK_MB, default 1024 */
    int64_t max_disk_mb;          /* SANDQ_MAX_DISK_MB, default 16384: larger diskMb is refused */
    /* Automatic checkpoints (issue 13): the intervalMs a sandbox.create may ask. */
    int64_t ckpt_auto_min_ms;     /* SANDQ_CHECKPOINT_AUTO_MIN_MS, default 60000 */
    int64_t ckpt_auto_max_ms;     /* SANDQ_CHECKPOINT_AUTO_MAX_MS, default 86400000 */
    int64_t disk_templates;       /* SANDQ_DISK_TEMPLATES, default 8: per-size mkfs templates kept (LRU) */
    int64_t files_read_max;       /* SANDQ_FILES_READ_MAX_BYTES, default 4 MiB: the most one files.read returns */
    int64_t tmp_mb;               /* SANDQ_TMP_MB: size of each sandbox's /tmp tmpfs, default 64 */
    bool allow_internet;          /* SANDQ_ALLOW_INTERNET, default on: network "internet" is refused when off */
    const char *net_allow;        /* SANDQ_NET_ALLOW: CIDRs internet mode may reach despite the private-range block */
    const char *net_deny;         /* SANDQ_NET_DENY: more CIDRs internet mode may not reach */
    const char *sandbox_dns;      /* SANDQ_SANDBOX_DNS: internet mode's DNS servers instead of slirp4netns's
                                   * relay to the host's resolver (NULL: that relay) */
    bool proxy_allow_private;     /* SANDQ_PROXY_ALLOW_PRIVATE, default off: capabilities.proxy may be on a
                                   * private address (lifecycle/egress.c) */
} sq_worker_config;

int sq_worker_config_from_env(sq_worker_config *cfg, sq_err *err);

#endif
