/* live.h — what is done to a live sandbox's record (sq_live_sandbox,
 * worker.h) and the runtime it holds: set and drop the runtime, release
 * everything, and the three ways a sandbox stops running — it ends (ending →
 * ended), it fails, or it pauses (pausing → paused).
 *
 * The bottom of the worker's call chain (dispatch → actor → route →
 * handlers → live): handlers, the actor and the lifetime enforcement call
 * down into it, it calls nothing above. Distinct from the runtime's own
 * sq_sandbox_* API (worker/sandbox/sandbox.h), which it drives. All of it runs
 * on the sandbox's actor thread. */
#ifndef SQ_LIVE_H
#define SQ_LIVE_H

#include "worker.h"

/* Hand the record its started runtime. The pointer may be read from other
 * threads (a kill on hand-over or shutdown), so it changes only under sb->mu. */
void sq_live_set_runtime(sq_live_sandbox *sb, sq_sandbox *rt);
/* Kill the whole tree and reap it now, and release a workspace file system
 * (the record stays; runtime = NULL). */
void sq_live_drop_runtime(sq_live_sandbox *sb);
/* Release the runtime (killing its tree), workspace, uid slot and secrets.
 * No events; idempotent. The record itself belongs to its actor. */
void sq_live_teardown(sq_worker *w, sq_live_sandbox *sb);

/* End the sandbox: ending → (teardown) → ended, with reason and message
 * (message may be NULL) and req the request that asked for it (NULL for a
 * timeout). Everything is released before "ended" is announced: a client that
 * sees it may count on the capacity being free again. */
int sq_live_end(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, const char *message,
                sq_err *err);
/* Fail the sandbox: teardown, then → failed with reason/message, unless it is
 * not (or no longer) running. req may be NULL. */
int sq_live_fail(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, const char *message,
                 sq_err *err);
/* Freeze a ready sandbox: pausing → paused, its lifetime clock stopped; or
 * back to ready (reason pause_failed) when nothing could be frozen. req may be
 * NULL (a timeout). */
int sq_live_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, const char *message,
                  sq_err *err);

#endif
