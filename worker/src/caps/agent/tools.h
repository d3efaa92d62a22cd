/* tools.h — running the agent's tools for a task.agent, inside its sandbox.
 *
 * bash, list, glob and grep run as commands in the sandbox through the
 * runtime, exactly like task.exec (sq_sandbox_exec: its own task cgroup, the
 * whole process tree killed at the timeout, kill and task.cancel stopping it
 * at once through the control lane). Their arguments are passed as argv,
 * never spliced into a shell line, so the read-only plan agent's glob or grep
 * cannot run a command. read, write and edit are done by the worker on the
 * workspace through ws_fs.h (openat2 beneath /workspace: a symlink the
 * sandbox planted cannot lead out; a FIFO cannot hold the worker). Every
 * output is cut to head + tail (rules.h) and has the sandbox's secrets
 * replaced before the model sees it. `browser` (with capabilities.browser)
 * runs one of task.browser's actions through caps/browser/actions.h, and
 * is refused while a person has control (controlMode human);
 * request_handoff (with a browser) asks a person to take over and waits
 * (handoff_tool.h). */
#ifndef SQ_AGENT_TOOLS_H
#define SQ_AGENT_TOOLS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lifecycle/task.h"

typedef struct sq_agent_tools_ctx {
    sq_task *t;
    const char *const *envp;     /* the commands' env */
    const char *const *secrets;  /* replaced in every output */
    int64_t deadline;            /* the task's, monotonic ms */
    size_t output_max;           /* bytes of a tool result (head + tail) */
    json_t *written;             /* object: relative paths written by write/edit/browser screenshot */
    int screenshots;             /* browser screenshots taken without a path */
    int step;                    /* the loop's step whose calls run (request_handoff's progress event) */
} sq_agent_tools_ctx;

typedef enum {
    SQ_TOOL_OK = 0,      /* *text is the result for the model (may say the tool failed) */
    SQ_TOOL_STOPPED,     /* kill, cancel or a hand-over stopped it: the task ends */
    SQ_TOOL_TIMED_OUT,   /* the task's own timeoutMs ran out under it */
    SQ_TOOL_BROKEN,      /* the sandbox is gone (fail has why) */
} sq_tool_status;

/* Run a checked call (rules.h: sq_agent_check_call). *text is malloc'd. */
sq_tool_status sq_agent_tool_run(sq_agent_tools_ctx *c, const char *name, const json_t *args, char **text,
                                 sq_err *fail);

/* The regular files of /workspace modified since since_ns (Unix ns), found
 * by a command in the sandbox, at most 1000: a JSON array of paths relative
 * to /workspace (new reference; NULL when it could not be run). */
json_t *sq_agent_changed_files(sq_agent_tools_ctx *c, int64_t since_ns);

#endif
