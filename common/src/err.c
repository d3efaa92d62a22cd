/* err.c — the sq_err out-parameter and the PROTOCOL.md error-code names. */
#include "sq/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[SQ_CODE__COUNT] = {
    [SQ_OK] = "ok",
    [SQ_INVALID_REQUEST] = "invalid_request",
    [SQ_UNSUPPORTED_VERSION] = "unsupported_version",
    [SQ_UNKNOWN_TYPE] = "unknown_type",
    [SQ_SANDBOX_NOT_FOUND] = "sandbox_not_found",
    [SQ_SANDBOX_EXISTS] = "sandbox_exists",
    [SQ_INVALID_STATE] = "invalid_state",
    [SQ_FORBIDDEN] = "forbidden",
    [SQ_CAPABILITY_DISABLED] = "capability_disabled",
    [SQ_PATH_OUTSIDE_WORKSPACE] = "path_outside_workspace",
    [SQ_NOT_FOUND] = "not_found",
    [SQ_PAYLOAD_TOO_LARGE] = "payload_too_large",
    [SQ_LIMIT_EXCEEDED] = "limit_exceeded",
    [SQ_TIMED_OUT] = "timed_out",
    [SQ_CANCELED] = "canceled",
    [SQ_INTERNAL] = "internal",
    [SQ_CAPABILITY_UNAVAILABLE] = "capability_unavailable",
    [SQ_CHECKPOINT_NOT_FOUND] = "checkpoint_not_found",
    [SQ_HANDOFF_NOT_FOUND] = "handoff_not_found",
    [SQ_WORKER_DRAINING] = "worker_draining",
};

const char *sq_code_name(sq_code code)
{
    if ((int)code < 0 || code >= SQ_CODE__COUNT)
        return "internal";
    return code_names[code];
}

sq_code sq_code_from_name(const char *name)
{
    if (name)
        for (int i = 0; i < SQ_CODE__COUNT; i++)
            if (strcmp(code_names[i], name) == 0)
                return (sq_code)i;
    return SQ_INTERNAL;
}

void sq_err_clear(sq_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

static void vset(sq_err *err, sq_code code, const char *field, const char *fmt, va_list ap)
{
    err->code = code;
    err->sys_errno = 0;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int sq_err_set(sq_err *err, sq_code code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int sq_err_field(sq_err *err, sq_code code, const char *field, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, field, fmt, ap);
    va_end(ap);
    return -1;
}

int sq_err_errno(sq_err *err, const char *fmt, ...)
{
    int saved = errno;
    if (!err)
        return -1;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    err->code = SQ_INTERNAL;
    err->sys_errno = saved;
    err->field[0] = '\0';
    snprintf(err->msg, sizeof err->msg, "%s: %s", what, strerror(saved));
    errno = saved;
    return -1;
}

int sq_err_wrap(sq_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return -1;
}
