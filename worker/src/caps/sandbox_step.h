/* sandbox_step.h — the capabilities' small set-up commands inside a sandbox
 * (start the browser's relay, kill an ffmpeg, make a profile directory):
 * one short script with the runtime's default environment, bounded, that
 * must exit 0. Shared by caps/browser/ (browser.c, recording.c, relay_proc.c). */
#ifndef SQ_CAPS_SANDBOX_STEP_H
#define SQ_CAPS_SANDBOX_STEP_H

#include "sandbox.h"
#include "sq/err.h"

/* Run argv in the sandbox with `in` (may be NULL) on its stdin and at most
 * timeout_ms. Fails, naming `step`, unless it exits 0; `hint` (may be NULL) is
 * added to the message of a non-zero exit (where to look in the sandbox). No
 * env of the sandbox's or a task's reaches it: sq_exec_opts.envp is left
 * NULL, the runtime's default. */
int sq_sandbox_step(sq_sandbox *rt, const char *step, const char *const *argv, const char *in, int timeout_ms,
                    const char *hint, sq_err *err);

#endif
