/* privs.c — giving up what the sandbox does not need, in this order:
 * no_new_privs, capabilities, rlimits, a new session, inherited fds.
 * (seccomp.c comes after these, last of all.)
 *
 * Capabilities: the sandbox's root holds every capability *in its own user
 * namespace* until here. We empty the bounding set (so no later execve can
 * grant any: a uid-0 exec gets "all capabilities ∩ bounding set"), the ambient
 * set, and then the permitted/effective/inheritable sets. The init needs none
 * to fork, exec, wait and signal its own processes. Even with them, root in
 * here owns nothing outside: its ids are host_uid's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"

#define SQ_NOFILE 4096

int sq_child_no_new_privs(struct sq_child *c)
{
    /* No execve may raise privileges again (setuid bits, file capabilities);
     * also what allows an unprivileged seccomp filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sq_child_fail(c, "prctl(PR_SET_NO_NEW_PRIVS)", NULL);
    return 0;
}

int sq_child_drop_caps(struct sq_child *c)
{
    /* Walk up until the kernel says the capability does not exist. */
    for (unsigned long cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break;
            return sq_child_fail(c, "prctl(PR_CAPBSET_DROP)", NULL);
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return sq_child_fail(c, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", NULL);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    if (syscall(SYS_capset, &hdr, data) < 0)
        return sq_child_fail(c, "capset", NULL);
    return 0;
}

int sq_child_rlimits(struct sq_child *c)
{
    /* Memory, CPU and process counts are the cgroup's job (later); these are
     * the per-process limits a cgroup cannot express. */
    static const struct {
        int resource;
        rlim_t value;
        const char *name;
    } limits[] = {
        {RLIMIT_NOFILE, SQ_NOFILE, "setrlimit(RLIMIT_NOFILE)"},
        {RLIMIT_CORE, 0, "setrlimit(RLIMIT_CORE)"},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct rlimit rl = {.rlim_cur = limits[i].value, .rlim_max = limits[i].value};
        if (setrlimit(limits[i].resource, &rl) < 0)
            return sq_child_fail(c, limits[i].name, NULL);
    }
    return 0;
}

int sq_child_setsid(struct sq_child *c)
{
    /* Leave the worker's session and controlling terminal. */
    if (setsid() < 0)
        return sq_child_fail(c, "setsid", NULL);
    return 0;
}

/* The init gets exactly: 0-2 → /dev/null, SQ_CTL_INIT_FD → the control socket,
 * SQ_INIT_EXE_FD → its own executable (close-on-exec). Everything else a worker
 * thread had open — other sandboxes' sockets and pipes, Kafka and database
 * connections — is closed. */
int sq_child_close_fds(struct sq_child *c)
{
    int null = open("/dev/null", O_RDWR); /* not O_CLOEXEC: it may land on 0-2 */
    if (null < 0)
        return sq_child_fail(c, "open", "/dev/null");
    for (int fd = 0; fd <= 2; fd++)
        if (fd != null && dup2(null, fd) < 0)
            return sq_child_fail(c, "dup2 /dev/null", NULL);
    if (null > 2)
        close(null);

    /* Move both keepers above their targets first, so neither dup2 can
     * clobber the other. */
    int ctl = fcntl(c->ctl, F_DUPFD, SQ_INIT_EXE_FD + 1);
    int exe = fcntl(c->setup->init_fd, F_DUPFD_CLOEXEC, SQ_INIT_EXE_FD + 1);
    if (ctl < 0 || exe < 0)
        return sq_child_fail(c, "fcntl(F_DUPFD)", NULL);
    if (dup2(ctl, SQ_CTL_INIT_FD) < 0 || dup3(exe, SQ_INIT_EXE_FD, O_CLOEXEC) < 0)
        return sq_child_fail(c, "dup2", NULL);
    c->ctl = SQ_CTL_INIT_FD;
    if (close_range(SQ_INIT_EXE_FD + 1, ~0U, 0) < 0)
        return sq_child_fail(c, "close_range", NULL);
    return 0;
}
