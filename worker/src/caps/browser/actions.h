/* actions.h — task.browser's actions (PROTOCOL.md), each as CDP calls on the
 * sandbox's page. One action at a time; every call is bounded by the task's
 * deadline (waitFor by its own timeoutMs too). */
#ifndef SQ_BROWSER_ACTIONS_H
#define SQ_BROWSER_ACTIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps/browser/browser.h"

typedef struct sq_browser_run {
    sq_browser *b;
    int workspace_fd;      /* files (screenshots, PDFs) are written through it */
    uid_t uid;             /* and owned by the sandbox's root */
    gid_t gid;
    const char *task_id;   /* names default screenshot files */
    int64_t deadline;      /* the task's, sq_mono_ms */
} sq_browser_run;

/* Run action[index]. On success *result is the action's result object
 * ({"index", "op", …}). On failure err holds the code and message and
 * *reason a machine reason (a static string): selector_not_found,
 * navigation_failed, evaluate_threw, wait_timeout, action_timeout,
 * browser_exited, action_failed. */
int sq_browser_action(sq_browser_run *r, size_t index, const json_t *action, json_t **result, const char **reason,
                      sq_err *err);

#endif
