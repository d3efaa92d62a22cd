/* helper.c — see helper.h. */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_int.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* What the helper's environment holds: nothing of the worker's (which may
 * carry database passwords), just a PATH for programs that exec others. */
static char *const helper_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", NULL};

int sq_helper_find(const char *env_name, const char *name, char *out, size_t size, sq_err *err)
{
    const char *env = env_name ? getenv(env_name) : NULL;
    if (env && *env) {
        if (env[0] != '/' || access(env, X_OK) < 0)
            return sq_err_set(err, SQ_INTERNAL, "%s=%s is not an absolute path to an executable", env_name,
                              env);
        if (sq_strlcpy(out, env, size) >= size)
            return sq_err_set(err, SQ_INTERNAL, "%s is too long", env_name);
        return 0;
    }
    static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin",
                                       "/usr/local/sbin", NULL};
    for (const char *const *d = dirs; *d; d++) {
        snprintf(out, size, "%s/%s", *d, name);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return sq_err_set(err, SQ_INTERNAL, "%s not found (install it, or set %s)", name,
                      env_name ? env_name : "PATH");
}

/* The helper side: system calls only (see helper.h). */
static _Noreturn void helper_child(const sq_helper_opts *o, int out_fd, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
        _exit(126);
    if (o->netns_fd >= 0 && setns(o->netns_fd, CLONE_NEWNET) < 0)
        _exit(125);
    /* Move every keeper above the range we fill, so no dup2 clobbers a
     * source that is still to be moved. */
    int high = 3 + SQ_HELPER_MAX_FDS + 1;
    int in = o->stdin_fd >= 0 ? fcntl(o->stdin_fd, F_DUPFD, high) : open("/dev/null", O_RDONLY);
    int out = fcntl(out_fd, F_DUPFD, high);
    int keep[SQ_HELPER_MAX_FDS];
    for (int i = 0; i < SQ_HELPER_MAX_FDS; i++)
        keep[i] = o->fds[i] >= 0 ? fcntl(o->fds[i], F_DUPFD, high) : -1;
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(124);
    for (int i = 0; i < SQ_HELPER_MAX_FDS; i++)
        if (keep[i] >= 0 && dup2(keep[i], 3 + i) < 0)
            _exit(124);
    /* Fds 3 + i without a keeper must not leak through either. */
    for (int i = 0; i < SQ_HELPER_MAX_FDS; i++)
        if (keep[i] < 0)
            close(3 + i);
    if (close_range(3 + SQ_HELPER_MAX_FDS, ~0U, 0) < 0)
        _exit(124);
    execve(o->path, (char *const *)o->argv, helper_env);
    _exit(127);
}

int sq_helper_spawn(const sq_helper_opts *o, sq_helper *h, sq_err *err)
{
    memset(h, 0, sizeof *h);
    h->pidfd = h->out_fd = -1;
    const char *base = strrchr(o->path, '/');
    sq_strlcpy(h->name, base ? base + 1 : o->path, sizeof h->name);
    h->out_fd = memfd_create(h->name, MFD_CLOEXEC);
    if (h->out_fd < 0)
        return sq_err_errno(err, "%s: memfd_create", h->name);
    pid_t parent = getpid();
    int pidfd = -1;
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD | CLONE_PIDFD, NULL, &pidfd, NULL, 0);
    if (pid < 0) {
        int e = errno;
        close(h->out_fd);
        h->out_fd = -1;
        errno = e;
        return sq_err_errno(err, "%s: clone", h->name);
    }
    if (pid == 0)
        helper_child(o, h->out_fd, parent);
    h->pid = pid;
    h->pidfd = pidfd;
    return 0;
}

bool sq_helper_running(const sq_helper *h)
{
    if (h->pidfd < 0)
        return false;
    struct pollfd p = {.fd = h->pidfd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

static void reap(sq_helper *h, siginfo_t *si)
{
    memset(si, 0, sizeof *si);
    while (waitid((idtype_t)P_PIDFD, (id_t)h->pidfd, si, WEXITED) < 0 && errno == EINTR)
        ;
    close(h->pidfd);
    h->pidfd = -1;
}

static void close_out(sq_helper *h)
{
    if (h->out_fd >= 0)
        close(h->out_fd);
    h->out_fd = -1;
}

void sq_helper_kill(sq_helper *h)
{
    if (h->pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
        siginfo_t si;
        reap(h, &si);
    }
    close_out(h);
}

/* The first line-ish of what the helper printed, for an error message. */
static void helper_output(const sq_helper *h, char *buf, size_t size)
{
    buf[0] = '\0';
    if (h->out_fd < 0)
        return;
    ssize_t n = pread(h->out_fd, buf, size - 1, 0);
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    for (size_t len = strlen(buf); len > 0 && buf[len - 1] == ' '; len--)
        buf[len - 1] = '\0';
}

int sq_helper_wait(sq_helper *h, int timeout_ms, sq_err *err)
{
    if (h->pidfd < 0)
        return sq_err_set(err, SQ_INTERNAL, "%s: already reaped", h->name);
    struct pollfd p = {.fd = h->pidfd, .events = POLLIN};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int left = timeout_ms, n;
    while ((n = poll(&p, 1, left)) < 0 && errno == EINTR) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left < 0)
            left = 0;
    }
    bool timed_out = n == 0;
    if (timed_out)
        syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
    siginfo_t si;
    reap(h, &si);
    char said[200];
    helper_output(h, said, sizeof said);
    close_out(h);
    if (timed_out)
        return sq_err_set(err, SQ_INTERNAL, "%s did not finish within %d ms%s%s", h->name, timeout_ms,
                          said[0] ? ": " : "", said);
    if (si.si_code == CLD_EXITED && si.si_status == 0)
        return 0;
    if (si.si_code == CLD_EXITED)
        return sq_err_set(err, SQ_INTERNAL, "%s exited with status %d%s%s", h->name, si.si_status,
                          said[0] ? ": " : "", said);
    return sq_err_set(err, SQ_INTERNAL, "%s was killed by signal %d%s%s", h->name, si.si_status,
                      said[0] ? ": " : "", said);
}
