/* sandbox_step.c — see sandbox_step.h. */
#include "caps/sandbox_step.h"

#include <string.h>

int sq_sandbox_step(sq_sandbox *rt, const char *step, const char *const *argv, const char *in, int timeout_ms,
                    const char *hint, sq_err *err)
{
    sq_exec_opts o = {.argv = argv, .timeout_ms = timeout_ms, .stdin_data = in, .stdin_len = in ? strlen(in) : 0};
    sq_exec_result r;
    if (sq_sandbox_exec(rt, &o, &r, err) < 0)
        return sq_err_wrap(err, "%s", step);
    if (r.timed_out)
        return sq_err_set(err, SQ_INTERNAL, "%s: took longer than %d ms", step, timeout_ms);
    if (r.exit_code != 0)
        return sq_err_set(err, SQ_INTERNAL, "%s: exited %d%s%s", step, r.exit_code, hint ? " " : "", hint ? hint : "");
    return 0;
}
