/* browser.h — the browser capability's side of the handlers (browser.c):
 * starting it at create and releasing it at teardown, for create_kill.c and
 * lifecycle/live.c. task.browser itself is sq_handle_browser (handlers.h). */
#ifndef SQ_HANDLERS_BROWSER_H
#define SQ_HANDLERS_BROWSER_H

#include <stdbool.h>

#include "caps/browser/browser.h"
#include "worker.h"

/* Start the sandbox's browser (sb->browser) and emit sandbox.browser.ready,
 * or sandbox.browser.failed. *ready says which. Returns -1 only when an
 * event could not be emitted. */
int sq_browser_bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const sq_browser_opts *o,
                        bool *ready, sq_err *err);
/* Close our ends of its pipe and free it; the process goes with the sandbox. */
void sq_browser_release(sq_live_sandbox *sb);

/* Checkpoints (handlers/checkpoint.c): close a running browser cleanly (as
 * the restart action does, so cookies and storage reach the profile) before
 * the workspace is archived or replaced. Returns whether one was running. */
bool sq_browser_close_for_checkpoint(sq_live_sandbox *sb);
/* And start it again on the (maybe restored) profile afterwards, with its
 * sandbox.browser.ready (or .failed, the checkpoint still stands). Returns -1
 * only when an event could not be emitted. */
int sq_browser_reopen(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err);

#endif
