/* sandbox.h — the sandbox runtime: the seam between the worker and the kernel.
 *
 * A sandbox is one process tree in fresh user, pid, mount, net, uts, ipc and
 * cgroup namespaces, whose pid 1 is the sandq init (init.c). The worker keeps a
 * control socket to the init and asks it to spawn commands; their stdio comes
 * back over pipes passed with SCM_RIGHTS. Everything the worker knows about
 * namespaces, mounts and privileges is behind this header.
 *
 * Thread safety: one sq_sandbox must be used by one thread at a time (the
 * worker gives each sandbox a single actor). Different sandboxes are independent. */
#ifndef SQ_SANDBOX_H
#define SQ_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sq/err.h"

typedef struct sq_sandbox sq_sandbox;

typedef struct sq_sandbox_opts {
    const char *sandbox_id;     /* used for the hostname and logs */
    const char *workspace_dir;  /* host directory bind-mounted at /workspace; must exist */
    uid_t host_uid;             /* host uid that uid 0 inside maps to (one per sandbox) */
    gid_t host_gid;             /* host gid that gid 0 inside maps to */
    uint32_t id_range;          /* how many ids to map from host_uid/host_gid (≥1) */
    size_t tmp_size_mb;         /* size of the /tmp tmpfs; 0 = default (64) */
} sq_sandbox_opts;

/* Start the sandbox: namespaces, filesystem, privileges, init. Returns once the
 * init answers on its control socket. On failure err names the step that failed
 * ("uid_map: Operation not permitted") and nothing is left running. */
int sq_sandbox_start(const sq_sandbox_opts *opts, sq_sandbox **out, sq_err *err);

/* Output callback: stream is 1 (stdout) or 2 (stderr). Called on the exec
 * caller's thread, in order per stream, in chunks of at most 64 KiB. */
typedef void (*sq_output_fn)(void *user, int stream, const char *data, size_t len);

typedef struct sq_exec_opts {
    const char *const *argv;    /* argv[0] is looked up in PATH inside the sandbox */
    const char *const *envp;    /* NULL-terminated "K=V"; NULL = a default env (PATH, HOME=/workspace, LANG) */
    const char *cwd;            /* inside the sandbox; NULL = /workspace */
    const void *stdin_data;     /* written to the command's stdin, then closed; may be NULL */
    size_t stdin_len;
    int64_t timeout_ms;         /* 0 = none; on expiry the command's process group is killed */
    sq_output_fn on_output;
    void *user;
} sq_exec_opts;

typedef struct sq_exec_result {
    int exit_code;              /* exit status, or 128+signal when killed by a signal */
    int term_signal;            /* 0 if it exited normally */
    bool timed_out;
    bool spawn_failed;          /* command not found / not executable: exit_code is 127 or 126 */
    int64_t duration_ms;
} sq_exec_result;

/* Run one command to completion inside the sandbox. Returns -1 only when the
 * sandbox itself is broken (init gone); a command that fails to start still
 * returns 0 with spawn_failed set and its message on stderr. */
int sq_sandbox_exec(sq_sandbox *sb, const sq_exec_opts *opts, sq_exec_result *res, sq_err *err);

/* The host pid of the sandbox init (for cgroups, /proc inspection in tests). */
pid_t sq_sandbox_init_pid(const sq_sandbox *sb);
/* Whether the init is still alive. */
bool sq_sandbox_alive(sq_sandbox *sb);

/* Kill the whole process tree (SIGKILL to the init kills its pid namespace),
 * reap the init, free sb. Safe on NULL. Does not remove the workspace. */
void sq_sandbox_destroy(sq_sandbox *sb);

#endif
