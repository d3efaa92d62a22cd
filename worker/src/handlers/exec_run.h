/* exec_run.h — running one command inside the sandbox as (part of) a task,
 * the way task.exec does: through the sandbox's runtime (its cgroup, so CPU
 * and memory count against the sandbox), with the control lane (a kill or
 * task.cancel stops it at once, an onTimeout "pause" freezes the sandbox under
 * it), its timeout cut to the sandbox's remaining lifetime. Used by exec.c and
 * by capabilities whose work is a command in the sandbox (document.c). */
#ifndef SQ_EXEC_RUN_H
#define SQ_EXEC_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "lifecycle/task.h"
#include "sandbox/sandbox.h"

typedef struct sq_task_command {
    const char *const *argv;
    const char *const *envp;
    const char *cwd;                 /* NULL: /workspace */
    const void *stdin_data;
    size_t stdin_len;
    int64_t timeout_ms;              /* 0: none (the sandbox's lifetime still bounds it) */
    sq_output_fn on_output;          /* NULL: stream as sandbox.task.output events of t */
    void *user;                      /* on_output's */
} sq_task_command;

/* Run c in t's sandbox. Sets out->exit_code; on a kill/cancel, timeout or OOM
 * kill sets out->failure (canceled, timed_out, limit_exceeded) and
 * out->reason as task.exec reports them; internal when the sandbox is broken. */
void sq_task_exec_command(sq_task *t, const sq_task_command *c, sq_task_outcome *out);

#endif
