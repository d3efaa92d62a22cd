/* relay_proc.h — starting and stopping the browser's relay inside a sandbox
 * (relay.h says why there is one; docs/egress.md).
 *
 * The relay runs as the sandbox's own process, in its network namespace,
 * under a small shell loop that starts tinyproxy again within a second
 * whenever it exits (a crash, an OOM kill, a `kill` from the sandbox's own
 * commands). Its configuration, which holds the proxy's credentials, goes
 * to the sandbox's private /tmp (a tmpfs) through the step's stdin: never
 * through an argv or environment the host's `ps` could show. */
#ifndef SQ_BROWSER_RELAY_PROC_H
#define SQ_BROWSER_RELAY_PROC_H

#include "sandbox/sandbox.h"
#include "sq/err.h"

/* The relay's directory in the sandbox (tmpfs; 0700). */
#define SQ_RELAY_DIR "/tmp/.sandq-relay"

/* Stop a relay an earlier start left, write conf, start the relay and wait
 * (bounded) until it listens. -1 with the relay's own last words. */
int sq_relay_start(sq_sandbox *rt, const char *conf, sq_err *err);

/* Stop it (its loop and tinyproxy), if running. Best effort. */
void sq_relay_stop(sq_sandbox *rt);

/* Path of the tinyproxy the relay runs (sq_browser_detect's twin). NULL when
 * it is not installed (the create is then refused capability_unavailable). */
const char *sq_relay_binary(void);

#endif
