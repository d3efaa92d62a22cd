/* err.h — the error out-parameter every fallible sandq function fills.
 *
 * Modelled on crun's libcrun_error_t: a function returns 0 on success or -1 on
 * failure and fills *err with a PROTOCOL.md error code, the errno if a system
 * call failed, a human message and, for validation errors, the first bad field.
 * Callers add context and pass it up; nothing deep inside calls exit(). */
#ifndef SQ_ERR_H
#define SQ_ERR_H

#include <stddef.h>

/* The error codes of PROTOCOL.md, in its order. SQ_OK is not a wire code. */
typedef enum sq_code {
    SQ_OK = 0,
    SQ_INVALID_REQUEST,
    SQ_UNSUPPORTED_VERSION,
    SQ_UNKNOWN_TYPE,
    SQ_SANDBOX_NOT_FOUND,
    SQ_SANDBOX_EXISTS,
    SQ_INVALID_STATE,
    SQ_FORBIDDEN,
    SQ_CAPABILITY_DISABLED,
    SQ_PATH_OUTSIDE_WORKSPACE,
    SQ_NOT_FOUND,
    SQ_PAYLOAD_TOO_LARGE,
    SQ_LIMIT_EXCEEDED,
    SQ_TIMED_OUT,
    SQ_CANCELED,
    SQ_INTERNAL,
    SQ_CAPABILITY_UNAVAILABLE, /* the capability round's addition: the worker lacks what it needs */
    SQ_CHECKPOINT_NOT_FOUND,   /* issue 13: checkpoint.restore of an id this sandbox does not have */
    SQ_HANDOFF_NOT_FOUND,      /* the capability round's addition: no such hand-off on this sandbox */
    SQ_WORKER_DRAINING,        /* issue 13: the worker drained (SIGTERM) under a running task: retry it */
    SQ_CODE__COUNT
} sq_code;

typedef struct sq_err {
    sq_code code;
    int sys_errno;      /* errno of the failing system call, 0 if none */
    char field[96];     /* first bad field for SQ_INVALID_REQUEST ("body.command"), else "" */
    char msg[512];
} sq_err;

/* Wire name ("invalid_request") of a code; "internal" for out-of-range values. */
const char *sq_code_name(sq_code code);
/* Inverse of sq_code_name; returns SQ_INTERNAL for an unknown name. */
sq_code sq_code_from_name(const char *name);

void sq_err_clear(sq_err *err);
/* Fill err (if non-NULL) and return -1, so callers can `return sq_err_set(...)`. */
int sq_err_set(sq_err *err, sq_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, with the field that failed validation. */
int sq_err_field(sq_err *err, sq_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* SQ_INTERNAL with errno captured and strerror appended to the message. */
int sq_err_errno(sq_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the existing message with context: "step: old message". */
int sq_err_wrap(sq_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
