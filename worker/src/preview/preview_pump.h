/* preview_pump.h — a sandbox's live preview on its browser's side: the
 * screencast, its acks, and the viewers' input, over the browser's one
 * DevTools pipe (caps/browser/cdp.h) without racing the browser tasks.
 *
 * Who uses the pipe: exactly one thread at a time, whichever holds the hub's
 * use_mu. The actor takes it for all its browser work (create, a task, the
 * teardown: sq_preview_actor_enter/leave) and the preview's pump thread
 * takes it between, while someone watches. The preview rides on whichever
 * it is through the CDP client's tap: screencast frames are picked up by
 * every read, and acks, input and starting/stopping the screencast are sent
 * from the tap's flush. So a long browser task is watched live (its own
 * waits carry the frames), and an idle sandbox is watched too (the pump).
 * The pump lets go as soon as the actor wants the pipe (actor_wants).
 *
 * Every pipe operation is non-blocking with a deadline (cdp.c): a frozen or
 * hung browser costs the pump its slice, never a blocked thread. */
#ifndef SQ_PREVIEW_PUMP_H
#define SQ_PREVIEW_PUMP_H

#include <stdbool.h>

#include "worker.h"

/* After the sandbox's browser started (actor thread): create the hub, tap
 * the browser's pipe, start the pump thread. Failure is logged; the sandbox
 * then has no preview (viewers get 404). */
void sq_preview_attach(sq_live_sandbox *sb);
/* Before the browser goes (actor thread): stop the pump, close the hub. */
void sq_preview_detach(sq_live_sandbox *sb);
/* The actor is about to use the browser's pipe / is done with it. enter
 * returns what leave needs (NULL: no preview); it holds a reference, so a
 * detach meanwhile cannot free the lock under the actor. */
struct sq_preview_hub *sq_preview_actor_enter(sq_live_sandbox *sb);
void sq_preview_actor_leave(struct sq_preview_hub *held);
/* capabilities.recording.browser (caps/browser/recording.h): the actor,
 * holding the pipe, starts (rec) or stops (NULL) feeding a recording. The
 * recording shares the preview's one screencast: it runs while a recording
 * is on or someone watches, and every frame is acked once. Starting sends
 * the recording a screenshot first (a still page sends no frames). Returns
 * false when the sandbox has no preview to share (no frames). */
struct sq_brec;
bool sq_preview_record(sq_live_sandbox *sb, struct sq_brec *rec);
/* The hand-offs moved: mirror whether a person may act now. */
void sq_preview_set_human(sq_live_sandbox *sb, bool may_act);

/* For the HTTP side: the hub of sandbox_id on this worker (a new reference),
 * or NULL when this worker runs no such sandbox with a preview. */
struct sq_preview_hub *sq_preview_find(sq_worker *w, const char *sandbox_id);

#endif
