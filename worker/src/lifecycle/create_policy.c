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
    const char *net = json_string_value(json_object_get(body, "network"));
    return net && strcmp(net, "internet") == 0;
}

int sq_create_check(const sq_worker_config *cfg, const json_t *body, sq_err *err)
{
    int64_t mb = sq_create_disk_mb(cfg, body);
    if (cfg->disk_limit && mb > cfg->max_disk_mb)
        return sq_err_field(err, SQ_LIMIT_EXCEEDED, "body.limits.diskMb",
                            "diskMb %lld is above this worker's maximum of %lld", (long long)mb,
                            (long long)cfg->max_disk_mb);
    if (sq_create_wants_internet(body) && !cfg->allow_internet)
        return sq_err_field(err, SQ_FORBIDDEN, "body.network",
                            "network \"internet\" is turned off on this worker (SANDQ_ALLOW_INTERNET)");
    return 0;
}

