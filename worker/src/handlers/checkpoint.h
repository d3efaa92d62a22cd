/* checkpoint.h — the workspace snapshot and restore of checkpoint.c, for
 * callers other than the checkpoint.* requests: a persist (pause
 * {persist: true}) and the bring-up of a persisted sandbox
 * (lifecycle/persist.h). t is a task context (sq_task: w, sb, req); the
 * request's taskId may be empty. */
#ifndef SQ_HANDLERS_CHECKPOINT_H
#define SQ_HANDLERS_CHECKPOINT_H

#include <stdbool.h>

#include "lifecycle/task.h"

/* Snapshot the workspace into checkpoint `id` (a row, an object, the
 * sandbox.checkpoint.created event). reopen_browser false: a browser closed
 * for the snapshot stays closed (the sandbox is going away). */
void sq_checkpoint_take(sq_task *t, const char *id, const char *label, bool reopen_browser, sq_task_outcome *out);
/* Replace the workspace with checkpoint `id` (sandbox.checkpoint.restored). */
void sq_checkpoint_restore_into(sq_task *t, const char *id, sq_task_outcome *out);

#endif
