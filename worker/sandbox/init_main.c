/* init_main.c — sandq-init, pid 1 of every sandbox.
 *
 * Started by the set-up child (child.c) with: fds 0-2 on /dev/null, the
 * control socket on SQ_CTL_INIT_FD, no capabilities, seccomp in place. It
 * does two jobs and nothing else:
 *
 * - reaps every process that ends up as its child, including orphans the
 *   kernel reparents to pid 1 (otherwise they would stay zombies);
 * - serves the worker's requests on the control socket (control.h): SPAWN
 *   starts a command in its own session with the stdio fds that came with the
 *   request; KILL signals a spawn's process group; each spawn's end is reported
 *   as EXITED with its wait status.
 *
 * When the worker's end closes, the init exits, and the kernel kills every
 * other process of the pid namespace. The init waits for the worker without
 * a deadline on purpose: the worker owns the sandbox's lifetime.
 *
 * Small by design (RSS about 1 MiB): single-threaded, no static buffers; a
 * SPAWN payload is allocated for the time of the fork only. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"

extern char **environ;

/* Concurrent spawns tracked. The worker runs one command at a time per
 * sandbox today; this only bounds memory if it ever misbehaves. */
#define MAX_PROCS 256

enum start_step { STEP_CHDIR = 1, STEP_EXEC = 2 };

struct proc {
    uint32_t id;
    pid_t pid;
    int errfd;       /* read end of the start-error pipe; -1 once resolved */
    int start_errno; /* errno of a failed chdir/exec; 0 if exec happened */
    bool exited;
    int status;
};

static struct proc *procs;
static size_t nprocs, cap_procs;
static const int ctl = SQ_CTL_INIT_FD;

static void send_or_die(uint32_t type, uint32_t id, int32_t a, int32_t b)
{
    /* The worker is our only reason to exist: if it cannot hear us, go. */
    if (sq_ctl_send(ctl, type, id, a, b, NULL, 0, NULL, 0) < 0)
        _exit(1);
}

static _Noreturn void setup_error(const char *step)
{
    sq_ctl_send(ctl, SQ_CTL_SETUP_ERROR, 0, errno, 0, step, strlen(step), NULL, 0);
    _exit(1);
}

static struct proc *find_id(uint32_t id)
{
    for (size_t i = 0; i < nprocs; i++)
        if (procs[i].id == id)
            return &procs[i];
    return NULL;
}

static struct proc *find_pid(pid_t pid)
{
    for (size_t i = 0; i < nprocs; i++)
        if (procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

/* In the vforked child: become the command. Never returns. */
static _Noreturn void start_command(const char *cwd, char **argv, char **envp, const int fds[3],
                                    int errw)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the init blocks SIGCHLD; commands must not */
    setsid(); /* own session and process group: KILL reaches all it forks */
    for (int i = 0; i < 3; i++) {
        if (fds[i] == i)
            fcntl(i, F_SETFD, 0);
        else
            dup2(fds[i], i);
    }
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); /* the received fds, errw and ctl go at exec */

    enum start_step step = STEP_CHDIR;
    if (chdir(cwd) == 0) {
        step = STEP_EXEC;
        environ = envp; /* so execvp searches the command's own PATH */
        execvp(argv[0], argv);
    }
    int e = errno;
    if (step == STEP_CHDIR)
        dprintf(2, "cd: %s: %s\n", cwd, strerror(e));
    else if (e == ENOENT && !strchr(argv[0], '/'))
        dprintf(2, "%s: command not found\n", argv[0]);
    else
        dprintf(2, "%s: %s\n", argv[0], strerror(e));
    if (write(errw, &e, sizeof e) < 0) {
        /* nothing to do: the exit code still says it */
    }
    _exit(sq_ctl_start_failure_code(e));
}

/* vfork: the child borrows our memory until its exec, so neither our page
 * tables are copied nor a copy torn down at the exec — a good part of what a
 * short command costs. The child only makes system calls on its own
 * descriptor table, directory and signal mask (none of them shared), then
 * execs or _exits; the one thing it writes in our memory is `environ`, put
 * back once it is gone. A function of its own, so nothing of the caller's
 * lives across the vfork. */
static __attribute__((noinline)) pid_t start_child(const char *cwd, char **argv, char **envp, const int fds[3],
                                                   const int errp[2])
{
    char **const ours = environ;
    pid_t pid = vfork();
    if (pid == 0) {
        close(errp[0]);
        start_command(cwd, argv, envp, fds, errp[1]);
    }
    environ = ours;
    return pid;
}

/* Room for one more entry in procs. */
static int grow_procs(void)
{
    if (procs && nprocs < cap_procs)
        return 0;
    size_t cap = cap_procs ? cap_procs * 2 : 4;
    struct proc *p = realloc(procs, cap * sizeof *p);
    if (!p)
        return -1;
    procs = p;
    cap_procs = cap;
    return 0;
}

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

static void spawn(const sq_ctl_hdr *h, char *payload, int *fds, size_t nfds)
{
    const char *cwd = NULL;
    char **vec = NULL, **argv = NULL, **envp = NULL;
    int errp[2] = {-1, -1};
    int e = 0;

    if (nfds != SQ_CTL_SPAWN_FDS || find_id(h->id))
        e = EINVAL;
    else if (nprocs >= MAX_PROCS)
        e = EAGAIN;
    else if (h->a < 1 || h->b < 0)
        e = EPROTO;
    else
        e = -sq_ctl_unpack_spawn(payload, h->len, (uint32_t)h->a, (uint32_t)h->b, &cwd, &vec,
                                 &argv, &envp);
    if (e == 0 && grow_procs() < 0)
        e = ENOMEM;
    if (e == 0 && pipe2(errp, O_CLOEXEC) < 0)
        e = errno;
    pid_t pid = -1;
    if (e == 0 && (pid = start_child(cwd, argv, envp, fds, errp)) < 0)
        e = errno;
    free(vec);
    close_fds(fds, nfds);
    if (errp[1] >= 0)
        close(errp[1]);
    if (e != 0) {
        if (errp[0] >= 0)
            close(errp[0]);
        send_or_die(SQ_CTL_REJECTED, h->id, e, 0);
        return;
    }
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    procs[nprocs++] = (struct proc){.id = h->id, .pid = pid, .errfd = errp[0]};
    send_or_die(SQ_CTL_SPAWNED, h->id, pid, 0);
}

static void kill_spawn(const sq_ctl_hdr *h)
{
    struct proc *p = find_id(h->id);
    if (!p || p->exited || h->a < 1 || h->a >= NSIG)
        return;
    /* The command makes its group with setsid() right after fork; if it has
     * not got that far, the group does not exist yet and only it can be hit. */
    if (kill(-p->pid, h->a) < 0 && errno == ESRCH)
        kill(p->pid, h->a);
}

static void handle_request(void)
{
    sq_ctl_hdr h;
    void *payload = NULL;
    int fds[SQ_CTL_SPAWN_FDS];
    size_t nfds = 0;
    int r = sq_ctl_recv(ctl, &h, &payload, SQ_CTL_MAX_PAYLOAD, fds, SQ_CTL_SPAWN_FDS, &nfds);
    if (r == 0)
        _exit(0); /* the worker is gone: take the sandbox down with us */
    if (r < 0) {
        if (r == -EMSGSIZE || r == -EPROTO || r == -ENOMEM) {
            if (h.type == SQ_CTL_SPAWN)
                send_or_die(SQ_CTL_REJECTED, h.id, -r, 0);
            return;
        }
        _exit(1);
    }
    switch (h.type) {
    case SQ_CTL_SPAWN:
        spawn(&h, payload, fds, nfds);
        break;
    case SQ_CTL_KILL:
        kill_spawn(&h);
        close_fds(fds, nfds);
        break;
    default:
        close_fds(fds, nfds); /* unknown frames are ignored */
        break;
    }
    free(payload);
}

static void reap(int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == sizeof si)
        ;
    int status;
    pid_t pid;
    /* __WALL: also reap orphans whose exit signal is not SIGCHLD. */
    while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
        struct proc *p = find_pid(pid);
        if (p) {
            p->exited = true;
            p->status = status;
        }
    }
}

static void read_start_error(struct proc *p)
{
    int e;
    ssize_t n = read(p->errfd, &e, sizeof e);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == (ssize_t)sizeof e)
        p->start_errno = e;
    /* EOF: the pipe closed on exec, the command started. */
    close(p->errfd);
    p->errfd = -1;
}

/* Report spawns that are both reaped and past their exec, and forget them. */
static void report_finished(void)
{
    for (size_t i = 0; i < nprocs;) {
        struct proc *p = &procs[i];
        if (p->exited && p->errfd < 0) {
            send_or_die(SQ_CTL_EXITED, p->id, p->status, p->start_errno);
            procs[i] = procs[--nprocs];
        } else
            i++;
    }
}

int main(void)
{
    if (fcntl(ctl, F_SETFD, FD_CLOEXEC) < 0)
        return 1;
    /* Non-dumpable: the kernel then allows ptrace and the ptrace-guarded
     * /proc/1 files (mem, environ, fd/, maps …) only to a holder of
     * CAP_SYS_PTRACE in our user namespace — nobody in the sandbox. Without
     * it, any process of the sandbox's root (the same uid as ours) could
     * write our memory through /proc/1/mem and speak to the worker over our
     * control socket. execve made us dumpable again (the set-up child's uid
     * change had cleared it), so it is set here, after the exec. Owner of
     * /proc/1 stays uid 0 inside: for a non-dumpable task the kernel uses
     * the root of the task's user namespace, which is mapped. The commands
     * we spawn are dumpable again after their own execve. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        setup_error("init: prctl(PR_SET_DUMPABLE)");
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
        setup_error("init: sigprocmask");
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        setup_error("init: signalfd");
    send_or_die(SQ_CTL_READY, 0, SQ_CTL_VERSION, 0);

    struct pollfd *pfds = NULL;
    size_t cap_pfds = 0;
    for (;;) {
        if (cap_pfds < nprocs + 2) {
            size_t cap = nprocs + 2 + 4;
            struct pollfd *v = realloc(pfds, cap * sizeof *v);
            if (!v)
                _exit(1);
            pfds = v;
            cap_pfds = cap;
        }
        size_t n = 0;
        pfds[n++] = (struct pollfd){.fd = ctl, .events = POLLIN};
        pfds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (size_t i = 0; i < nprocs; i++)
            pfds[n++] = (struct pollfd){.fd = procs[i].errfd, .events = POLLIN}; /* -1 is skipped */

        if (poll(pfds, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (pfds[1].revents)
            reap(sfd);
        for (size_t i = 0; i < nprocs; i++)
            if (procs[i].errfd >= 0 && pfds[2 + i].revents)
                read_start_error(&procs[i]);
        report_finished();
        if (pfds[0].revents)
            handle_request();
    }
}
