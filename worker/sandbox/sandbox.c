/* sandbox.c — starting and destroying a sandbox, as a list of named steps.
 *
 *   parent (worker thread)              child (clone of that thread → pid 1)
 *   ─────────────────────────           ─────────────────────────────────────
 *   plan: init binary, hostname,
 *         rootfs, seccomp
 *   clone(NEWUSER|NEWPID|NEWNS|…)  ──►  pdeathsig; wait for RELEASE
 *   write uid_map, gid_map
 *   cgroups: create with limits,
 *            move the child in
 *   internet mode: egress rules,
 *         slirp4netns (netstack.c)
 *   send RELEASE                   ──►  reopen workspace, become root, re-arm
 *                                       pdeathsig, cgroup ns, hostname, lo up, rootfs,
 *                                       /dev, /proc, pivot_root, no_new_privs,
 *                                       caps, rlimits, setsid, close fds,
 *                                       seccomp, execveat(sandq-init)
 *   wait for READY                 ◄──  init: READY   (or SETUP_ERROR + exit)
 *
 * The child half is in child.c; each step lives in its own file (see
 * sandbox_int.h). The init and the wire format are init_main.c and control.h;
 * running commands is exec.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "sandbox_int.h"
#include "sq/cleanup.h"
#include "sq/clock.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* How long set-up may take before we give up and kill the child. Set-up is a
 * few milliseconds; this only bounds a wedged kernel or filesystem. */
#define SQ_START_TIMEOUT_MS 10000

#define SQ_CLONE_NS_FLAGS \
    (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)
/* CLONE_NEWCGROUP is not among them: a cgroup namespace is rooted where its
 * creator sits at that moment, and at clone time the child still sits in the
 * worker's cgroup. The child unshares it after we have moved it into the
 * sandbox's cgroup (cgroup_ns.c). */

static int check_opts(const sq_sandbox_opts *o, sq_err *err)
{
    if (!o || !o->workspace_dir || o->workspace_dir[0] != '/')
        return sq_err_field(err, SQ_INVALID_REQUEST, "workspace_dir",
                            "workspace_dir must be an absolute path");
    /* Mapping onto host root would make sandbox root own the host's files. */
    if (o->host_uid == 0 || o->host_gid == 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, "host_uid",
                            "host_uid and host_gid must not be 0");
    if (o->id_range < 1 || (uint64_t)o->host_uid + o->id_range > UINT32_MAX ||
        (uint64_t)o->host_gid + o->id_range > UINT32_MAX)
        return sq_err_field(err, SQ_INVALID_REQUEST, "id_range",
                            "id_range must be ≥ 1 and stay below 2^32 - 1");
    if (o->network != SQ_NET_NONE && o->network != SQ_NET_INTERNET)
        return sq_err_field(err, SQ_INVALID_REQUEST, "network", "unknown network mode %d", (int)o->network);
    if (o->tmp_size_mb > 1024 * 1024)
        return sq_err_field(err, SQ_INVALID_REQUEST, "tmp_size_mb", "tmp_size_mb too large");
    return 0;
}

/* clone(2) without glibc's wrapper: the child continues on a copy of this
 * thread's stack like fork(), but without glibc's fork handlers — which is
 * what we want, since the child never returns into glibc state that other
 * threads own. CLONE_PIDFD gives us a handle that cannot be confused with a
 * reused pid, for kill and wait. */
static pid_t raw_clone(unsigned long flags, int *pidfd)
{
    return (pid_t)syscall(SYS_clone, flags | CLONE_PIDFD, NULL, pidfd, NULL, 0);
}

static void kill_and_reap(sq_sandbox *sb)
{
    /* The cgroup first: it reaches every process at once, frozen or not,
     * including any that is not (or no longer) a descendant of the init. */
    if (sb->cg)
        sq_cgroup_kill(sb->cg);
    if (sb->pidfd >= 0) {
        /* SIGKILL to a pid namespace's init kills every process in it, and
         * the init is only reaped after all of them are gone. */
        syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
        siginfo_t si;
        /* Blocking on purpose: a SIGKILLed tree exits unless a task is stuck in
         * the kernel, and returning early would leak a zombie per sandbox. */
        while (waitid((idtype_t)P_PIDFD, (id_t)sb->pidfd, &si, WEXITED) < 0 && errno == EINTR)
            ;
        close(sb->pidfd);
        sb->pidfd = -1;
    }
    if (sb->ctl >= 0) {
        close(sb->ctl);
        sb->ctl = -1;
    }
    sq_network_stop(sb);
    sq_cgroup_destroy(sb->cg);
    sb->cg = NULL;
    sb->dead = true;
}

static int step_clone(const struct sq_setup *s, sq_sandbox *sb, sq_err *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sq_err_errno(err, "socketpair");

    int pidfd = -1;
    pid_t pid = raw_clone(SQ_CLONE_NS_FLAGS | SIGCHLD, &pidfd);
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return sq_err_errno(err, "clone");
    }
    if (pid == 0) {
        close(sv[0]);
        sq_child_main(s, sv[1]); /* does not return */
    }
    close(sv[1]);
    sb->pid = pid;
    sb->pidfd = pidfd;
    sb->ctl = sv[0];
    return 0;
}

/* While the child still waits for RELEASE and has not forked anything: every
 * process of the sandbox will descend from it, so all are born inside. */
static int step_cgroups(const sq_sandbox_opts *o, sq_sandbox *sb, sq_err *err)
{
    if (!o->limits)
        return 0;
    if (sq_cgroup_create(o->sandbox_id ? o->sandbox_id : "sandbox", o->limits, &sb->cg, err) < 0)
        return -1;
    return sq_cgroup_add(sb->cg, sb->pid, err);
}

static int step_release(sq_sandbox *sb, sq_err *err)
{
    int r = sq_ctl_send(sb->ctl, SQ_CTL_RELEASE, 0, 0, 0, NULL, 0, NULL, 0);
    if (r < 0) {
        errno = -r;
        return sq_err_errno(err, "release");
    }
    return 0;
}

static void describe_death(sq_sandbox *sb, char *buf, size_t size)
{
    siginfo_t si = {0};
    if (waitid((idtype_t)P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
        si.si_pid == 0)
        snprintf(buf, size, "closed its control socket");
    else if (si.si_code == CLD_EXITED)
        snprintf(buf, size, "exited with status %d", si.si_status);
    else
        snprintf(buf, size, "was killed by signal %d (%s)", si.si_status, strsignal(si.si_status));
}

/* Wait for the init's READY, or the child's SETUP_ERROR, or its death. */
static int step_wait_ready(sq_sandbox *sb, sq_err *err)
{
    int64_t deadline = sq_mono_ms() + SQ_START_TIMEOUT_MS;
    for (;;) {
        int64_t left = deadline - sq_mono_ms();
        if (left <= 0)
            return sq_err_set(err, SQ_INTERNAL, "sandbox set-up did not finish within %d ms",
                              SQ_START_TIMEOUT_MS);
        struct pollfd pfd = {.fd = sb->ctl, .events = POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno != EINTR)
            return sq_err_errno(err, "poll");
        if (n <= 0)
            continue;

        sq_ctl_hdr h;
        sq_autofree void *payload = NULL;
        int r = sq_ctl_recv(sb->ctl, &h, &payload, SQ_CTL_MAX_STEP, NULL, 0, NULL);
        if (r < 0) {
            errno = -r;
            return sq_err_errno(err, "control socket");
        }
        if (r == 0) {
            /* Give the kernel a moment to finish the exit we just saw as EOF. */
            struct pollfd pp = {.fd = sb->pidfd, .events = POLLIN};
            poll(&pp, 1, 100);
            char why[96];
            describe_death(sb, why, sizeof why);
            return sq_err_set(err, SQ_INTERNAL, "sandbox set-up process %s", why);
        }
        if (h.type == SQ_CTL_READY) {
            if (h.a != SQ_CTL_VERSION)
                return sq_err_set(err, SQ_INTERNAL, "sandq-init speaks control version %d, want %d",
                                  h.a, SQ_CTL_VERSION);
            return 0;
        }
        if (h.type == SQ_CTL_SETUP_ERROR) {
            errno = h.a > 0 ? h.a : EIO;
            return sq_err_errno(err, "%.*s", (int)h.len, payload ? (const char *)payload : "set-up");
        }
        /* Anything else is not for us yet; ignore it. */
    }
}

static int start(struct sq_setup *s, sq_sandbox **out, sq_err *err)
{
    /* Parent: everything the child needs, prepared while we may still allocate. */
    if (sq_plan_init_binary(s, err) < 0)
        return -1;
    if (sq_plan_hostname(s, err) < 0)
        return -1;
    if (sq_plan_rootfs(s, err) < 0)
        return -1;
    if (sq_plan_seccomp(s, err) < 0)
        return -1;
    if (sq_plan_network(s, err) < 0)
        return -1;
    s->worker_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (s->worker_pidfd < 0)
        return sq_err_errno(err, "pidfd_open");

    sq_autofree sq_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return sq_err_errno(err, "calloc");
    sb->pidfd = sb->ctl = sb->net_exit_fd = -1;
    sb->net.pidfd = sb->net.out_fd = -1;

    if (step_clone(s, sb, err) < 0)
        return -1;
    /* From here on the child exists: every failure kills and reaps it. */
    if (sq_parent_userns(sb->pid, s->opts, err) < 0 ||
        step_cgroups(s->opts, sb, err) < 0 ||
        sq_parent_network(s, sb, err) < 0 ||
        step_release(sb, err) < 0 ||
        step_wait_ready(sb, err) < 0) {
        kill_and_reap(sb);
        return -1;
    }
    *out = sq_steal_ptr(&sb);
    return 0;
}

int sq_sandbox_start(const sq_sandbox_opts *opts, sq_sandbox **out, sq_err *err)
{
    *out = NULL;
    if (check_opts(opts, err) < 0)
        return -1;
    struct sq_setup s = {.opts = opts, .init_fd = -1, .workspace_fd = -1, .worker_pidfd = -1};
    int rc = start(&s, out, err);
    if (s.worker_pidfd >= 0)
        close(s.worker_pidfd);
    if (s.init_fd >= 0)
        close(s.init_fd);
    if (s.workspace_fd >= 0)
        close(s.workspace_fd);
    sq_plan_rootfs_free(&s);
    sq_plan_network_free(&s);
    return rc;
}

pid_t sq_sandbox_init_pid(const sq_sandbox *sb)
{
    return sb->pid;
}

bool sq_sandbox_alive(sq_sandbox *sb)
{
    if (sb->dead || sb->pidfd < 0)
        return false;
    /* A pidfd polls readable once the process has exited; this does not reap,
     * so destroy still can. */
    struct pollfd pfd = {.fd = sb->pidfd, .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0)
        sb->dead = true;
    return !sb->dead;
}

int sq_sandbox_pause(sq_sandbox *sb, sq_err *err)
{
    if (!sb->cg)
        return sq_err_set(err, SQ_CAPABILITY_DISABLED, "this sandbox runs without cgroups: it cannot be paused");
    if (!sq_sandbox_alive(sb))
        return sq_err_set(err, SQ_INTERNAL, "sandbox init is gone");
    if (sq_cgroup_freeze(sb->cg, true, err) < 0) {
        sq_cgroup_freeze(sb->cg, false, NULL); /* half-frozen helps nobody */
        return -1;
    }
    return 0;
}

int sq_sandbox_freeze_background(sq_sandbox *sb, bool frozen, sq_err *err)
{
    if (!sb->cg)
        return sq_err_set(err, SQ_CAPABILITY_DISABLED, "this sandbox runs without cgroups: it cannot be frozen");
    if (sq_cgroup_freeze_tasks(sb->cg, frozen, err) < 0) {
        if (frozen)
            sq_cgroup_freeze_tasks(sb->cg, false, NULL);
        return -1;
    }
    return 0;
}

int sq_sandbox_resume(sq_sandbox *sb, sq_err *err)
{
    if (!sb->cg)
        return sq_err_set(err, SQ_CAPABILITY_DISABLED, "this sandbox runs without cgroups: it cannot be paused");
    return sq_cgroup_freeze(sb->cg, false, err);
}

void sq_sandbox_destroy(sq_sandbox *sb)
{
    if (!sb)
        return;
    kill_and_reap(sb);
    free(sb);
}

void sq_sandbox_kill(sq_sandbox *sb)
{
    /* pidfd_send_signal, not kill(pid): the pidfd names this process for as
     * long as we hold it, so a reused pid can never be hit. Not reaped here. */
    if (sb && sb->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
}
