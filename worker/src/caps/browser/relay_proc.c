/* relay_proc.c — see relay_proc.h: the relay's start and stop, each one short
 * shell step run in the sandbox with the sandbox's rights. */
#include "caps/browser/relay_proc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caps/browser/relay.h"
#include "caps/sandbox_step.h"

#define STEP_TIMEOUT_MS 15000

/* The sandbox sees the host's /usr and nothing else of it. */
static const char relay_bin[] = "/usr/bin/tinyproxy";

const char *sq_relay_binary(void)
{
    return access(relay_bin, X_OK) == 0 ? relay_bin : NULL;
}

/* setsid makes the loop the leader of a process group of its own, so one
 * kill of the group ends the loop and its tinyproxy together (killing the
 * loop alone would leave tinyproxy listening, and the next start could not
 * bind). The pid file is the sandbox's to rewrite: a kill it steers can only
 * reach the sandbox's own processes. */
static const char stop_script[] = "d=" SQ_RELAY_DIR "\n"
                                  "p=$(cat \"$d/pid\" 2>/dev/null) && [ -n \"$p\" ] && kill -KILL -\"$p\" 2>/dev/null\n"
                                  "rm -f \"$d/pid\"\n"
                                  "exit 0\n";

int sq_relay_start(sq_sandbox *rt, const char *conf, sq_err *err)
{
    /* $1 tinyproxy, $2 the port in /proc/net/tcp's hex. The loop waits a
     * second between starts so a relay that cannot start (its port taken by
     * one of the sandbox's own programs) costs nothing much; it writes each
     * exit to restarts.log, kept short (the tmpfs is the sandbox's memory). */
    static const char script[] =
        "set -e\n"
        "d=" SQ_RELAY_DIR "\n"
        "umask 077\n"
        "mkdir -p \"$d\"\n"
        "p=$(cat \"$d/pid\" 2>/dev/null) || true\n"
        "[ -z \"$p\" ] || kill -KILL -\"$p\" 2>/dev/null || true\n"
        "cat >\"$d/relay.conf\"\n"
        ": >\"$d/restarts.log\"\n"
        "setsid /bin/sh -c 'while :; do \"$1\" -d -c \"$2/relay.conf\" >\"$2/relay.log\" 2>&1; "
        "echo \"$(date -u +%FT%TZ) tinyproxy exited $?, started again\" >>\"$2/restarts.log\"; "
        "tail -n 20 \"$2/restarts.log\" >\"$2/r.tmp\" && mv \"$2/r.tmp\" \"$2/restarts.log\"; sleep 1; done' "
        "relay \"$1\" \"$d\" </dev/null >/dev/null 2>&1 &\n"
        "echo $! >\"$d/pid\"\n"
        "i=0\n"
        "while ! grep -q \"^ *[0-9]*: 0100007F:$2 00000000:0000 0A\" /proc/net/tcp; do\n"
        "  i=$((i+1)); [ $i -lt 200 ] || { cat \"$d/relay.log\" >&2; exit 3; }\n"
        "  sleep 0.05\n"
        "done\n";
    if (!sq_relay_binary())
        return sq_err_set(err, SQ_CAPABILITY_UNAVAILABLE, "%s is not installed (scripts/setup installs tinyproxy)",
                          relay_bin);
    char port[8];
    snprintf(port, sizeof port, "%04X", SQ_RELAY_PORT);
    const char *argv[] = {"/bin/sh", "-c", script, "sh", relay_bin, port, NULL};
    return sq_sandbox_step(rt, "starting the browser's proxy relay", argv, conf, STEP_TIMEOUT_MS,
                           "(see " SQ_RELAY_DIR "/relay.log in the sandbox)", err);
}

void sq_relay_stop(sq_sandbox *rt)
{
    const char *argv[] = {"/bin/sh", "-c", stop_script, NULL};
    sq_err ignore;
    (void)sq_sandbox_step(rt, "stopping the browser's proxy relay", argv, NULL, STEP_TIMEOUT_MS, NULL, &ignore);
}
