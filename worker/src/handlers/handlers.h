/* handlers.h — one handler per request type the worker implements. Each is
 * called by dispatch.c after parsing, dedupe, tenant and state checks passed.
 * A handler returns -1 only when the worker's own stores fail; everything a
 * user did wrong becomes a request.rejected or sandbox.task.failed event. */
#ifndef SQ_HANDLERS_H
#define SQ_HANDLERS_H

#include "worker.h"

int sq_handle_create(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_kill(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_exec(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_code(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_files(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);        /* pause.c */
int sq_handle_resume(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);       /* pause.c */
int sq_handle_set_timeout(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);  /* pause.c */

/* Freeze a ready sandbox: pausing → paused (or back to ready with reason
 * pause_failed). req may be NULL (a timeout). */
int sq_sandbox_pause_now(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason,
                         const char *message, sq_err *err);

/* Release a sandbox's runtime (killing its tree), workspace, uid slot and
 * secrets. No events; idempotent. The record itself belongs to its actor. */
void sq_sandbox_teardown(sq_worker *w, sq_live_sandbox *sb);
/* Kill the whole tree and reap it now (the record stays; runtime = NULL). */
void sq_sandbox_drop_runtime(sq_live_sandbox *sb);
/* Kill the processes and record the sandbox as failed with reason/message. */
void sq_sandbox_fail(sq_worker *w, sq_live_sandbox *sb, const char *reason, const char *message);

#endif
