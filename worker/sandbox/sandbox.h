/* sandbox.h — the sandbox runtime: the seam between the worker and the kernel.
 *
 * A sandbox is one process tree in fresh user, pid, mount, net, uts, ipc and
 * cgroup namespaces, whose pid 1 is the sandq init (init_main.c). The worker keeps a
 * control socket to the init and asks it to spawn commands; their stdio comes
 * back over pipes passed with SCM_RIGHTS. Everything the worker knows about
 * namespaces, mounts and privileges is behind this header.
 *
 * Thread safety: one sq_sandbox must be used by one thread at a time (the
 * worker gives each sandbox a single actor). Different sandboxes are independent.
 *
 * Process rules for the worker:
 * - A sandbox is tied to the *thread* that started it: the kernel's
 *   parent-death signal (PR_SET_PDEATHSIG) fires when that thread exits, and
 *   kills the sandbox. Start sandboxes from threads that live as long as the
 *   sandboxes (main loop, fixed pool), not from short-lived ones. Any thread
 *   may exec in or destroy it.
 * - The init is a child process of the worker and is reaped by
 *   sq_sandbox_destroy (through a pidfd). Never waitpid(-1, …) / reap all
 *   children in a SIGCHLD handler: that would steal the init's exit status.
 * - sandq-init is found through SANDQ_INIT_BIN or beside /proc/self/exe. */
#ifndef SQ_SANDBOX_H
#define SQ_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sq/err.h"

typedef struct sq_sandbox sq_sandbox;

/* Resource limits, enforced with cgroups (cgroup.h). 0 = no limit. */
typedef struct sq_sandbox_limits {
    uint64_t memory_bytes;      /* memory (no swap); over it the kernel OOM-kills inside */
    uint32_t cpu_millis;        /* CPU bandwidth: 1000 = one CPU */
    uint32_t pids;              /* processes and threads */
} sq_sandbox_limits;

/* Choose the cgroup versions (see cgroup.h) and create this process's parent
 * cgroup <own cgroup>/sandq/<group> in each hierarchy, removing empty leftovers
 * of an earlier run. mode: "auto" (or NULL) or "v1" (force the v1 hierarchies).
 * Call once, before starting sandboxes with limits. */
int sq_cgroups_init(const char *group, const char *mode, sq_err *err);
/* Remove this process's parent cgroups when empty (at shutdown, after every
 * sandbox is destroyed). */
void sq_cgroups_cleanup(void);
/* What sq_cgroups_init chose, for the log ("limits: cgroup v1 …; kill/freeze: cgroup v2 …"). */
const char *sq_cgroups_describe(void);
/* Turn on cgroup2's favordynmods (cgroup_dynmods.c says why): host-wide, once
 * at start. `done` says what happened ("already has it", "set on …"). */
int sq_cgroup_favor_dynmods(char *done, size_t done_size, sq_err *err);

/* Network modes (PROTOCOL.md's create `network`). */
typedef enum sq_network {
    SQ_NET_NONE = 0,     /* loopback only */
    SQ_NET_INTERNET = 1, /* outbound through slirp4netns, with private and host addresses
                          * rejected (netstack.c, netpolicy.h); needs slirp4netns and nft */
} sq_network;

typedef struct sq_sandbox_opts {
    const char *sandbox_id;     /* used for the hostname and logs */
    const char *workspace_dir;  /* host directory bind-mounted at /workspace; must exist */
    uid_t host_uid;             /* host uid that uid 0 inside maps to (one per sandbox) */
    gid_t host_gid;             /* host gid that gid 0 inside maps to */
    uint32_t id_range;          /* how many ids to map from host_uid/host_gid (≥1) */
    size_t tmp_size_mb;         /* size of the /tmp tmpfs; 0 = default (64) */
    const sq_sandbox_limits *limits; /* NULL: no cgroups (needs sq_cgroups_init otherwise) */
    sq_network network;         /* default SQ_NET_NONE */
    const char *net_allow;      /* internet mode: CIDRs exempt from the private-range block ("10.1.2.3/32, …"); may be NULL */
    const char *net_deny;       /* internet mode: more CIDRs to reject; may be NULL */
    const char *dns;            /* internet mode: DNS servers instead of slirp4netns's relay to the host's
                                 * resolver ("192.0.2.53, …", netpolicy.h); NULL: slirp's 10.0.2.3 */
    /* The sandbox's own egress (create's capabilities.proxy and network
     * allowOut/denyOut, resolved by the worker; netpolicy.h). */
    const char *out_allow;      /* CIDRs: with it, nothing else is reachable (besides DNS); may be NULL */
    const char *out_deny;       /* CIDRs rejected before anything else; may be NULL */
    uint32_t proxy_addr;        /* host byte order; with proxy_port != 0 only this address:port is reachable */
    uint16_t proxy_port;
    const char *proxy_host;     /* the proxy url's host: a name gets an /etc/hosts line for proxy_addr
                                 * (no DNS leaves a proxied sandbox); may be NULL */
} sq_sandbox_opts;

/* Start the sandbox: namespaces, filesystem, privileges, init. Returns once the
 * init answers on its control socket. On failure err names the step that failed
 * ("uid_map: Operation not permitted", "bind /usr: …") and nothing is left
 * running. host_uid/host_gid must not be 0; workspace_dir should be owned by
 * host_uid (sandbox root) to be writable inside. Needs root (or CAP_SETUID,
 * CAP_SETGID and CAP_SYS_ADMIN) in the worker. */
int sq_sandbox_start(const sq_sandbox_opts *opts, sq_sandbox **out, sq_err *err);

/* Output callback: stream is 1 (stdout) or 2 (stderr). Called on the exec
 * caller's thread, in order per stream, in chunks of at most 64 KiB. */
typedef void (*sq_output_fn)(void *user, int stream, const char *data, size_t len);
/* Control callback: asked, on the exec caller's thread, whenever wake_fd turns
 * readable (it is drained first) and once the monotonic time *control_at
 * (ms; 0 = none) has passed; it may move *control_at. Returns true to cancel
 * the command (its whole tree is killed as on a timeout; res->canceled). It
 * may take long (the sandbox paused under the command): the command's own
 * timeout does not count the time spent in it. */
typedef bool (*sq_control_fn)(void *user, int64_t *control_at);

typedef struct sq_exec_opts {
    const char *const *argv;    /* argv[0] is looked up in PATH inside the sandbox */
    const char *const *envp;    /* NULL-terminated "K=V"; NULL = a default env (PATH, HOME=/workspace, LANG) */
    const char *cwd;            /* inside the sandbox; NULL = /workspace */
    const void *stdin_data;     /* written to the command's stdin, then closed; may be NULL */
    size_t stdin_len;
    bool stdin_from_fd;         /* stdin is stdin_len bytes of the regular file stdin_fd (read with
                                 * pread from offset 0, as the pipe drains) instead of stdin_data:
                                 * a checkpoint restore streams an archive without holding it in memory */
    int stdin_fd;
    int64_t timeout_ms;         /* 0 = none; on expiry the command's whole process tree is
                                 * killed (its task cgroup; its process group without cgroups) */
    sq_output_fn on_output;
    void *user;
    sq_control_fn on_control;   /* NULL: the command is only ever stopped by its timeout */
    int wake_fd;                /* with on_control: an eventfd another thread writes to (-1: none) */
    int64_t control_at;         /* with on_control: first time to ask it regardless (0: none) */
} sq_exec_opts;

typedef struct sq_exec_result {
    int exit_code;              /* exit status, or 128+signal when killed by a signal */
    int term_signal;            /* 0 if it exited normally */
    bool timed_out;
    bool canceled;              /* on_control asked for it to be stopped */
    bool spawn_failed;          /* command not found / not executable: exit_code is 127 or 126 */
    bool oom_killed;            /* killed by the kernel's OOM killer (memory limit) */
    int64_t duration_ms;
} sq_exec_result;

/* Run one command to completion inside the sandbox. A command that fails to
 * start still returns 0 with spawn_failed set and its message on stderr; a
 * timeout returns 0 with timed_out set. Returns -1 when the request cannot be
 * sent (err->code SQ_INVALID_REQUEST, or SQ_PAYLOAD_TOO_LARGE past 128 KiB of
 * argv + env) or the sandbox itself is broken (SQ_INTERNAL; the init is gone
 * and sq_sandbox_alive turns false). Returns after the command exits: output
 * that a background process it left behind writes later is not collected. */
int sq_sandbox_exec(sq_sandbox *sb, const sq_exec_opts *opts, sq_exec_result *res, sq_err *err);

/* The host pid of the sandbox init (for cgroups, /proc inspection in tests). */
pid_t sq_sandbox_init_pid(const sq_sandbox *sb);
/* Whether the init is still alive. */
bool sq_sandbox_alive(sq_sandbox *sb);

/* Freeze every process of the sandbox with the cgroup freezer (processes,
 * memory and open files stay; nothing runs), and thaw it again. Needs limits
 * (cgroups); SQ_CAPABILITY_DISABLED without. */
int sq_sandbox_pause(sq_sandbox *sb, sq_err *err);
int sq_sandbox_resume(sq_sandbox *sb, sq_err *err);

/* Freeze (or thaw) the sandbox's background processes — everything its
 * earlier commands left running — but not the next command run with
 * sq_sandbox_exec: a checkpoint's tar reads the workspace while nothing else
 * of the sandbox runs. Needs cgroups (SQ_CAPABILITY_DISABLED without). A
 * failed freeze is undone before returning. */
int sq_sandbox_freeze_background(sq_sandbox *sb, bool frozen, sq_err *err);

/* Kill the whole process tree (cgroup kill, and SIGKILL to the init, which
 * kills its pid namespace), reap the init, remove the cgroups, free sb. Safe on
 * NULL. Works on a paused sandbox. Does not remove the workspace. */
void sq_sandbox_destroy(sq_sandbox *sb);

/* SIGKILL the init (and so the whole sandbox) without reaping or freeing.
 * Safe from any thread while another thread is inside sq_sandbox_exec on the
 * same sandbox: that exec then returns (init gone). destroy still follows. */
void sq_sandbox_kill(sq_sandbox *sb);

#endif
