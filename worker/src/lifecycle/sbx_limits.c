/* sbx_limits.c — see sbx_limits.h. */
#include "lifecycle/sbx_limits.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq/env.h"

void sq_limits_config_defaults(sq_limits_config *c)
{
    *c = (sq_limits_config){
        .memory_mb_default = 512,
        .memory_mb_max = 4096,
        .cpu_millis_default = 1000,
        .cpu_millis_max = 2000,
        .pids_default = 512,
        .pids_max = 4096,
        .timeout_ms_default = 3600 * 1000,
        .timeout_ms_max = 24 * 3600 * 1000,
        .idle_timeout_ms_default = 0,
    };
}

int64_t sq_limits_cpu_millis(double cpus)
{
    /* Below 1% of a CPU the kernel's bandwidth period (100 ms) would give a
     * quota under its 1 ms minimum. */
    double m = round(cpus * 1000.0);
    return m < 10 ? 10 : m > 1e9 ? 1000000000 : (int64_t)m;
}

/* A CPU count from the environment: a decimal number, like the request's. */
static int env_cpus(const char *name, int64_t fallback, int64_t *out, sq_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = fallback;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || !(d > 0) || d > 1024)
        return sq_err_field(err, SQ_INVALID_REQUEST, name, "%s must be a number of CPUs in (0, 1024]", name);
    *out = sq_limits_cpu_millis(d);
    return 0;
}

int sq_limits_config_from_env(sq_limits_config *c, sq_err *err)
{
    sq_limits_config d;
    sq_limits_config_defaults(&d);
    const int64_t day30 = 30LL * 24 * 3600 * 1000;
    if (sq_env_int("SANDQ_LIMIT_MEMORY_MB_MAX", d.memory_mb_max, 16, 1 << 20, &c->memory_mb_max, err) < 0 ||
        sq_env_int("SANDQ_LIMIT_MEMORY_MB", d.memory_mb_default, 16, 1 << 20, &c->memory_mb_default, err) < 0 ||
        env_cpus("SANDQ_LIMIT_CPUS_MAX", d.cpu_millis_max, &c->cpu_millis_max, err) < 0 ||
        env_cpus("SANDQ_LIMIT_CPUS", d.cpu_millis_default, &c->cpu_millis_default, err) < 0 ||
        sq_env_int("SANDQ_LIMIT_PIDS_MAX", d.pids_max, 1, 4194304, &c->pids_max, err) < 0 ||
        sq_env_int("SANDQ_LIMIT_PIDS", d.pids_default, 1, 4194304, &c->pids_default, err) < 0 ||
        sq_env_int("SANDQ_SANDBOX_TIMEOUT_MS_MAX", d.timeout_ms_max, 1, day30, &c->timeout_ms_max, err) < 0 ||
        sq_env_int("SANDQ_SANDBOX_TIMEOUT_MS", d.timeout_ms_default, 0, day30, &c->timeout_ms_default, err) < 0 ||
        sq_env_int("SANDQ_SANDBOX_IDLE_TIMEOUT_MS", d.idle_timeout_ms_default, 0, day30,
                   &c->idle_timeout_ms_default, err) < 0)
        return -1;
    /* A default above its maximum would make every plain create fail. */
    if (c->memory_mb_default > c->memory_mb_max)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_LIMIT_MEMORY_MB", "default above SANDQ_LIMIT_MEMORY_MB_MAX");
    if (c->cpu_millis_default > c->cpu_millis_max)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_LIMIT_CPUS", "default above SANDQ_LIMIT_CPUS_MAX");
    if (c->pids_default > c->pids_max)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_LIMIT_PIDS", "default above SANDQ_LIMIT_PIDS_MAX");
    if (c->timeout_ms_default > c->timeout_ms_max)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_SANDBOX_TIMEOUT_MS",
                            "default above SANDQ_SANDBOX_TIMEOUT_MS_MAX");
    return 0;
}

static int over(sq_err *err, const char *field, const char *what, double asked, double max, const char *unit)
{
    return sq_err_field(err, SQ_LIMIT_EXCEEDED, field, "%s %.10g%s is above this worker's maximum of %.10g%s", what, asked,
                        unit, max, unit);
}

int sq_limits_check_timeout(int64_t timeout_ms, const sq_limits_config *c, sq_err *err)
{
    if (timeout_ms > c->timeout_ms_max)
        return over(err, "body.timeoutMs", "timeoutMs", (double)timeout_ms, (double)c->timeout_ms_max, " ms");
    return 0;
}

int sq_limits_resolve(const json_t *body, const sq_limits_config *c, sq_limits *out, sq_err *err)
{
    *out = (sq_limits){.memory_mb = c->memory_mb_default, .cpu_millis = c->cpu_millis_default,
                       .pids = c->pids_default, .timeout_ms = c->timeout_ms_default,
                       .idle_timeout_ms = c->idle_timeout_ms_default};
    const json_t *lim = json_object_get(body, "limits");
    const json_t *v;
    if ((v = json_object_get(lim, "memoryMb"))) {
        out->memory_mb = json_integer_value(v);
        if (out->memory_mb > c->memory_mb_max)
            return over(err, "body.limits.memoryMb", "memoryMb", (double)out->memory_mb, (double)c->memory_mb_max,
                        " MB");
    }
    if ((v = json_object_get(lim, "cpus"))) {
        double cpus = json_number_value(v);
        out->cpu_millis = sq_limits_cpu_millis(cpus);
        if (out->cpu_millis > c->cpu_millis_max)
            return over(err, "body.limits.cpus", "cpus", cpus, (double)c->cpu_millis_max / 1000.0, "");
    }
    if ((v = json_object_get(lim, "pids"))) {
        out->pids = json_integer_value(v);
        if (out->pids > c->pids_max)
            return over(err, "body.limits.pids", "pids", (double)out->pids, (double)c->pids_max, "");
    }
    if ((v = json_object_get(body, "timeoutMs"))) {
        out->timeout_ms = json_integer_value(v);
        if (sq_limits_check_timeout(out->timeout_ms, c, err) < 0)
            return -1;
    }
    if ((v = json_object_get(body, "idleTimeoutMs"))) {
        out->idle_timeout_ms = json_integer_value(v);
        if (out->idle_timeout_ms > c->timeout_ms_max)
            return over(err, "body.idleTimeoutMs", "idleTimeoutMs", (double)out->idle_timeout_ms,
                        (double)c->timeout_ms_max, " ms");
    }
    const char *on = json_string_value(json_object_get(body, "onTimeout"));
    out->pause_on_timeout = on && strcmp(on, "pause") == 0;
    return 0;
}
