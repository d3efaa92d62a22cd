/* create_policy.c — see create_policy.h. No I/O. */
#include "lifecycle/create_policy.h"

#include <stdbool.h>
#include <string.h>

int64_t sq_create_disk_mb(const sq_worker_config *cfg, const json_t *body)
{
    const json_t *v = json_object_get(json_object_get(body, "limits"), "diskMb");
    return v ? json_integer_value(v) : cfg->default_disk_mb;
}

bool sq_create_wants_internet(const json_t *body)
{
    const json_t *v = json_object_get(body, "network");
    const char *net = json_string_value(json_is_object(v) ? json_object_get(v, "mode") : v);
    return net && strcmp(net, "internet") == 0;
}

int64_t sq_create_auto_checkpoint_ms(const json_t *body)
{
    const json_t *c = json_object_get(body, "checkpoint");
    if (!json_is_true(json_object_get(c, "auto")))
        return 0;
    return json_integer_value(json_object_get(c, "intervalMs"));
}

int sq_create_check(const sq_worker_config *cfg, const json_t *body, sq_err *err)
{
    const json_t *ck = json_object_get(body, "checkpoint");
    if (json_is_true(json_object_get(ck, "auto"))) {
        const json_t *iv = json_object_get(ck, "intervalMs");
        if (!iv)
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.checkpoint.intervalMs",
                                "checkpoint.auto needs intervalMs");
        json_int_t ms = json_integer_value(iv);
        if (ms < cfg->ckpt_auto_min_ms || ms > cfg->ckpt_auto_max_ms)
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.checkpoint.intervalMs",
                                "intervalMs %lld is outside this worker's bounds [%lld, %lld] "
                                "(SANDQ_CHECKPOINT_AUTO_MIN_MS, SANDQ_CHECKPOINT_AUTO_MAX_MS)",
                                (long long)ms, (long long)cfg->ckpt_auto_min_ms, (long long)cfg->ckpt_auto_max_ms);
    }
    int64_t mb = sq_create_disk_mb(cfg, body);
    if (cfg->disk_limit && mb > cfg->max_disk_mb)
        return sq_err_field(err, SQ_LIMIT_EXCEEDED, "body.limits.diskMb",
                            "diskMb %lld is above this worker's maximum of %lld", (long long)mb,
                            (long long)cfg->max_disk_mb);
    if (sq_create_wants_internet(body) && !cfg->allow_internet)
        return sq_err_field(err, SQ_FORBIDDEN, "body.network",
                            "network \"internet\" is turned off on this worker (SANDQ_ALLOW_INTERNET)");
    if (!sq_create_wants_internet(body)) {
        /* Egress settings without egress would silently mean nothing. */
        const json_t *caps = json_object_get(body, "capabilities");
        const json_t *net = json_object_get(body, "network");
        if (json_object_get(json_object_get(caps, "proxy"), "url"))
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.capabilities.proxy.url",
                                "a proxy needs network \"internet\" (or {mode: \"internet\"})");
        if (json_object_get(json_object_get(caps, "browser"), "byoProxyUrl"))
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.capabilities.browser.byoProxyUrl",
                                "a proxy needs network \"internet\" (or {mode: \"internet\"})");
        if (json_object_get(net, "allowOut"))
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.network.allowOut",
                                "allowOut needs mode \"internet\"");
        if (json_object_get(net, "denyOut"))
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.network.denyOut", "denyOut needs mode \"internet\"");
    }
    return 0;
}

