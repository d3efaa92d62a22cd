/* handlers.h — one handler per request type the worker implements. Each is
 * called by the router (route.h) after parsing, dedupe, tenant and state
 * checks passed, on the sandbox's actor thread (or the polling thread for a
 * sandbox this worker does not run).
 * A handler returns -1 only when the worker's own stores fail; everything a
 * user did wrong becomes a request.rejected or sandbox.task.failed event. */
#ifndef SQ_HANDLERS_H
#define SQ_HANDLERS_H

#include "worker.h"

int sq_handle_create(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_kill(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);

/* Runs after a brought-up runtime starts and before its services do (a
 * persisted sandbox's restore). 0 ok; 1: failed, *why says why (the sandbox
 * fails); -1: a store failure. */
typedef int (*sq_up_hook)(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, void *user, sq_err *why,
                          sq_err *err);
/* A persisted sandbox's runtime brought up again from its create spec
 * (create_kill.c, shared with sandbox.create): slot, workspace, runtime, hook,
 * browser, agent. *ready: the resumed event's data (capabilities); NULL when
 * it failed and the sandbox was failed. Its tenant, region, replyTo and epoch
 * are set by the caller; its lifetime too. */
int sq_create_up_from_spec(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const json_t *spec,
                           sq_up_hook hook, void *user, json_t **ready, sq_err *err);
int sq_handle_exec(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_code(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
int sq_handle_cancel(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);       /* cancel.c */
int sq_handle_files(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
/* files.c: the path a files.* request names — `path`, or the bytes of
 * `pathB64` (names that are not UTF-8) — normalized beneath /workspace
 * (workspace_path.h) into rel ("." without either). */
int sq_files_request_path(const json_t *body, char *rel, size_t rel_size, sq_err *err);
int sq_handle_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);        /* pause.c */
int sq_handle_resume(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);       /* pause.c */
int sq_handle_document(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);     /* document.c */
int sq_handle_browser(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);      /* browser.c */
int sq_handle_agent(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);        /* agent.c */
/* checkpoint.c (issue 13): checkpoint.create, checkpoint.restore, checkpoints.list */
int sq_handle_checkpoint(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);
/* checkpoint {auto: true, intervalMs} (issue 13): called by the actor between
 * jobs; takes the sandbox's automatic checkpoint when it is due (ready, no
 * kill pending; artifacts/ckpt_rules.h) and lowers *wait_ms so the actor
 * wakes for the next one. A failure is logged with its code; the sandbox
 * carries on. Actor thread. */
void sq_checkpoint_auto_tick(sq_worker *w, sq_live_sandbox *sb, int *wait_ms);
int sq_handle_set_timeout(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);  /* pause.c */

int sq_handle_preview_url(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);  /* preview.c */
int sq_handle_handoff(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);      /* handoff.c */

#endif
