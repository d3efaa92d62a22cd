/* child.c — the child half of sandbox set-up, from clone to exec of the init.
 *
 * This process is a raw clone of one worker thread and is pid 1 of the new pid
 * namespace. It runs only system calls and reads the struct sq_setup that the
 * parent prepared (see sandbox_int.h for why). Each step names itself on
 * failure with sq_child_fail; the first failure goes back to the parent as a
 * SETUP_ERROR frame ("pivot_root" + errno) and the child exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox_int.h"

size_t sq_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size > 0) {
        size_t k = n < size - 1 ? n : size - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return n;
}

size_t sq_strlcat(char *dst, const char *src, size_t size)
{
    size_t used = strnlen(dst, size);
    if (used == size)
        return used + strlen(src);
    return used + sq_strlcpy(dst + used, src, size - used);
}

int sq_child_fail(struct sq_child *c, const char *what, const char *path)
{
    c->err = errno ? errno : EIO;
    sq_strlcpy(c->step, what, sizeof c->step);
    if (path) {
        sq_strlcat(c->step, " ", sizeof c->step);
        sq_strlcat(c->step, path, sizeof c->step);
    }
    errno = c->err;
    return -1;
}

int sq_child_fail_in_root(struct sq_child *c, const char *what, const char *staged)
{
    /* Show the path as the sandbox will see it, without the staging prefix. */
    size_t pre = sizeof SQ_NEWROOT - 1;
    return sq_child_fail(c, what, strncmp(staged, SQ_NEWROOT, pre) == 0 ? staged + pre : staged);
}

/* Wait until our uid/gid maps exist: until then we own nothing in our own
 * user namespace and cannot create a file. Meanwhile the parent-death signal
 * covers a worker that dies before releasing us. The usual "did the parent die
 * before prctl?" check, getppid() != the parent's pid, cannot work here: we are
 * pid 1 of a new pid namespace and getppid() is 0 whatever happens. The socket
 * answers instead: we closed our copy of the parent's end, so a dead parent
 * means EOF below (unless some other process of the worker holds a copy — then
 * PR_SET_PDEATHSIG does the job). */
static int child_wait_release(struct sq_child *c)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return sq_child_fail(c, "prctl(PR_SET_PDEATHSIG)", NULL);
    sq_ctl_hdr h;
    ssize_t n;
    do
        n = recv(c->ctl, &h, sizeof h, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof h || h.type != SQ_CTL_RELEASE)
        _exit(1); /* parent gone or confused: nobody to report to */
    return 0;
}

/* Changing our euid (sq_child_become_root) clears the parent-death signal —
 * the kernel resets it on every credential change of that kind — so arm it
 * again, then make sure the worker did not die in between: with the signal
 * armed after its death, nothing would ever come. */
static int child_tie_to_worker(struct sq_child *c)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return sq_child_fail(c, "prctl(PR_SET_PDEATHSIG)", NULL);
    struct pollfd pfd = {.fd = c->setup->worker_pidfd, .events = POLLIN};
    if (poll(&pfd, 1, 0) != 0)
        _exit(1); /* the worker has exited (or we cannot tell): go */
    return 0;
}

/* The init is opened by the parent with O_PATH|O_CLOEXEC and moved to
 * SQ_INIT_EXE_FD by sq_child_close_fds. By the time we exec it, pivot_root has
 * detached the host filesystem, so a path would not resolve; the fd still
 * does (exec, unlike mount, does not care which mount namespace the file's
 * mount belongs to). O_CLOEXEC is fine for execveat(AT_EMPTY_PATH) of an ELF
 * binary: the kernel has opened the file before close-on-exec fds are closed
 * (only a #! script would need the fd to survive, to be reachable as
 * /dev/fd/N by its interpreter — test_runtime checks that such an init is
 * refused with a clear error). The alternative, bind-mounting the binary into
 * the new root, costs a mount per sandbox and shows the sandbox the file. */
static int child_exec_init(struct sq_child *c)
{
    char *const argv[] = {"sandq-init", NULL};
    char *const envp[] = {NULL};
    execveat(SQ_INIT_EXE_FD, "", argv, envp, AT_EMPTY_PATH);
    return sq_child_fail(c, "execveat sandq-init", NULL);
}

_Noreturn void sq_child_main(const struct sq_setup *s, int ctl)
{
    struct sq_child c = {.setup = s, .ctl = ctl};

    if (child_wait_release(&c) < 0 ||
        sq_child_open_workspace(&c) < 0 ||
        sq_child_become_root(&c) < 0 ||
        child_tie_to_worker(&c) < 0 ||
        sq_child_cgroupns(&c) < 0 ||
        sq_child_hostname(&c) < 0 ||
        sq_child_loopback(&c) < 0 ||
        sq_child_rootfs(&c) < 0 ||
        sq_child_dev(&c) < 0 ||
        sq_child_pivot(&c) < 0 ||
        sq_child_no_new_privs(&c) < 0 ||
        sq_child_drop_caps(&c) < 0 ||
        sq_child_setsid(&c) < 0 ||
        /* Close first: the worker's thousands of fds (a thousand sandboxes)
         * would leave no fd number under the sandbox's lower RLIMIT_NOFILE
         * for the /dev/null that close_fds opens. */
        sq_child_close_fds(&c) < 0 ||
        sq_child_rlimits(&c) < 0 ||
        sq_child_seccomp(&c) < 0 ||   /* last: it forbids mount, unshare … */
        child_exec_init(&c) < 0) {
        sq_ctl_send(c.ctl, SQ_CTL_SETUP_ERROR, 0, c.err, 0, c.step, strlen(c.step), NULL, 0);
    }
    _exit(1);
}
