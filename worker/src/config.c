/* config.c — sandq-worker configuration from environment variables. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/netpolicy.h"
#include "sq/protocol.h"

int sq_worker_config_from_env(sq_worker_config *cfg, sq_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    sq_conn_config_from_env(&cfg->conn);

    const char *id = sq_env_str("SANDQ_WORKER_ID", NULL);
    if (id) {
        snprintf(cfg->worker_id, sizeof cfg->worker_id, "%s", id);
    } else {
        char host[64] = "worker";
        gethostname(host, sizeof host - 1);
        snprintf(cfg->worker_id, sizeof cfg->worker_id, "%s-%d", host, (int)getpid());
    }
    cfg->region = sq_env_str("SANDQ_REGION", "iad");
    if (!sq_region_valid(cfg->region))
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_REGION", "SANDQ_REGION must be three lowercase letters");
    cfg->group_id = sq_env_str("SANDQ_GROUP_ID", "sandq-workers");
    cfg->workspace_root = sq_env_str("SANDQ_WORKSPACE_ROOT", "/var/lib/sandq/workspaces");
    cfg->run_dir = sq_env_str("SANDQ_RUN_DIR", "/run/sandq");
    cfg->init_bin = sq_env_str("SANDQ_INIT_BIN", NULL);
    cfg->log_level = sq_env_str("SANDQ_LOG_LEVEL", "info");
    cfg->http_addr = sq_env_str("SANDQ_HTTP_ADDR", "127.0.0.1");
    cfg->static_membership = sq_env_bool("SANDQ_STATIC_MEMBERSHIP", true);

    int64_t max_req, max_event;
    /* An event is one Kafka message: at most the producer's message.max.bytes
     * (4000000, kafka_conf.c) less room for its headers and batch framing;
     * 1 MiB by default, Kafka's own default limit. */
    if (sq_env_int("SANDQ_MAX_REQUEST_BYTES", 1 << 20, 1024, 64 << 20, &max_req, err) < 0 ||
        sq_env_int("SANDQ_MAX_EVENT_BYTES", 1 << 20, 64 << 10, 3900000, &max_event, err) < 0 ||
        sq_env_int("SANDQ_UID_BASE", 1000000000, 100000, 4000000000LL, &cfg->uid_base, err) < 0 ||
        sq_env_int("SANDQ_MAX_SANDBOXES", 64, 1, 4096, &cfg->max_sandboxes, err) < 0 ||
        sq_env_int("SANDQ_DEDUPE_TTL_S", 86400, 1, 30 * 86400, &cfg->dedupe_ttl_s, err) < 0 ||
        sq_env_int("SANDQ_ENDED_TTL_S", 86400, 1, 30 * 86400, &cfg->ended_ttl_s, err) < 0 ||
        sq_env_int("SANDQ_DEFAULT_DISK_MB", 1024, 16, 1 << 24, &cfg->default_disk_mb, err) < 0 ||
        sq_env_int("SANDQ_MAX_DISK_MB", 16384, 16, 1 << 24, &cfg->max_disk_mb, err) < 0 ||
        sq_env_int("SANDQ_CHECKPOINT_AUTO_MIN_MS", 60000, 1000, 30LL * 86400000, &cfg->ckpt_auto_min_ms, err) < 0 ||
        sq_env_int("SANDQ_CHECKPOINT_AUTO_MAX_MS", 86400000, 1000, 30LL * 86400000, &cfg->ckpt_auto_max_ms, err) < 0 ||
        sq_env_int("SANDQ_DISK_TEMPLATES", 8, 1, 4096, &cfg->disk_templates, err) < 0 ||
        sq_env_int("SANDQ_TMP_MB", 64, 1, 1 << 20, &cfg->tmp_mb, err) < 0 ||
        sq_env_int("SANDQ_MAX_INFLIGHT", 1000, 1, 1000000, &cfg->max_inflight, err) < 0 ||
        sq_env_int("SANDQ_LINGER_MS", 1, 0, 1000, &cfg->linger_ms, err) < 0 ||
        sq_env_int("SANDQ_PARTITION_INFLIGHT", 0, 0, 1000000, &cfg->partition_inflight, err) < 0 ||
        sq_env_int("SANDQ_STORE_POOL", 32, 1, 256, &cfg->store_pool, err) < 0 ||
        sq_env_int("SANDQ_STORE_RETRY_MS", 60000, 0, 3600000, &cfg->store_retry_ms, err) < 0 ||
        sq_env_int("SANDQ_HISTORY_QUEUE", 10000, 16, 10000000, &cfg->history_queue, err) < 0 ||
        sq_env_int("SANDQ_SHUTDOWN_GRACE_MS", 20000, 0, 600000, &cfg->shutdown_grace_ms, err) < 0 ||
        sq_env_int("SANDQ_DRAIN_TASK_GRACE_MS", 10000, 0, 600000, &cfg->drain_task_grace_ms, err) < 0 ||
        sq_env_int("SANDQ_HTTP_PORT", 9464, 0, 65535, &cfg->http_port, err) < 0 ||
        sq_env_int("SANDQ_HEARTBEAT_TTL_S", 10, 2, 3600, &cfg->heartbeat_ttl_s, err) < 0 ||
        sq_env_int("SANDQ_SESSION_TIMEOUT_MS", 10000, 6000, 300000, &cfg->session_timeout_ms, err) < 0 ||
        sq_env_int("SANDQ_REAPER_INTERVAL_MS", 2000, 100, 600000, &cfg->reaper_interval_ms, err) < 0 ||
        sq_env_int("SANDQ_RECORDING_MAX_BYTES", 16 << 20, 4096, 1LL << 30, &cfg->recording_max_bytes, err) < 0)
        return -1;
    cfg->disk_limit = sq_env_bool("SANDQ_DISK_LIMIT", true);
    cfg->allow_internet = sq_env_bool("SANDQ_ALLOW_INTERNET", true);
    cfg->net_allow = sq_env_str("SANDQ_NET_ALLOW", NULL);
    cfg->net_deny = sq_env_str("SANDQ_NET_DENY", NULL);
    cfg->sandbox_dns = sq_env_str("SANDQ_SANDBOX_DNS", NULL);
    cfg->proxy_allow_private = sq_env_bool("SANDQ_PROXY_ALLOW_PRIVATE", false);
    uint32_t dns[SQ_DNS_MAX];
    size_t ndns;
    if (sq_netpolicy_check(cfg->net_allow, "SANDQ_NET_ALLOW", err) < 0 ||
        sq_netpolicy_check(cfg->net_deny, "SANDQ_NET_DENY", err) < 0 ||
        sq_netpolicy_dns_parse(cfg->sandbox_dns, dns, &ndns, err) < 0)
        return -1;
    if (cfg->default_disk_mb > cfg->max_disk_mb)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_DEFAULT_DISK_MB",
                            "SANDQ_DEFAULT_DISK_MB exceeds SANDQ_MAX_DISK_MB");
    if (cfg->ckpt_auto_min_ms > cfg->ckpt_auto_max_ms)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_CHECKPOINT_AUTO_MIN_MS",
                            "SANDQ_CHECKPOINT_AUTO_MIN_MS exceeds SANDQ_CHECKPOINT_AUTO_MAX_MS");
    cfg->max_request_bytes = (size_t)max_req;
    cfg->max_event_bytes = (size_t)max_event;
    /* One files.read returns at most this much (docs/protocol.md "Reading"):
     * a sparse 100 GB file must not turn one request into an endless flow of
     * events. */
    if (sq_env_int("SANDQ_FILES_READ_MAX_BYTES", 4 << 20, SQ_FILE_CHUNK_MAX, 1LL << 30, &cfg->files_read_max, err) < 0)
        return -1;
    if (cfg->uid_base + cfg->max_sandboxes * 65536 > 4294967294LL)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_UID_BASE",
                            "SANDQ_UID_BASE + SANDQ_MAX_SANDBOXES * 65536 exceeds the uid space");
    /* Sandbox limits and cgroups (sbx_limits.h, docs/operations.md "Sandbox limits"). */
    cfg->cgroup_mode = sq_env_str("SANDQ_CGROUP_MODE", "auto");
    cfg->cgroup_favor_dynmods = sq_env_bool("SANDQ_CGROUP_FAVOR_DYNMODS", true);
    return sq_limits_config_from_env(&cfg->limits, err);
}
