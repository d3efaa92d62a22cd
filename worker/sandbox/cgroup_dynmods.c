/* cgroup_dynmods.c — turning on the cgroup2 `favordynmods` mount option, so
 * moving a process between cgroups stops waiting for an RCU grace period.
 *
 * Why: every migration into a cgroup (the set-up child into the sandbox's
 * cgroups, the init into and out of each task's cgroup) takes the kernel's
 * global cgroup_threadgroup_rwsem for writing. That percpu rwsem makes an idle
 * writer wait for a full RCU grace period first (rcu_sync); on the 2-core VMs
 * that was 10–20 ms per launch, measured with strace as one slow write to
 * cgroup.procs. With favordynmods the rwsem stays in its writer-friendly mode
 * and the write takes microseconds; in exchange fork and exit take the slower
 * reader path, which a sandbox host — migrating on every task — gains from
 * (docs/operations.md has the figures). The semaphore is shared by every
 * hierarchy, so setting the option on the cgroup2 mount also speeds up the v1
 * hierarchies of a hybrid host.
 *
 * How: a superblock reconfiguration through the new mount API (fspick,
 * fsconfig): it leaves the mount's own flags (nosuid, nodev, …) alone, unlike
 * a legacy MS_REMOUNT. A cgroup2 reconfiguration *replaces* the root's flags,
 * so every super option already set (nsdelegate, memory_recursiveprot, …) is
 * set again alongside. It is host-wide and outlives the worker; the worker
 * logs that it did it, and SANDQ_CGROUP_FAVOR_DYNMODS=0 leaves the host as it
 * is. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"

/* The first cgroup2 mount's path and super options ("rw,nsdelegate"). */
static int find_cgroup2(char *mnt, size_t mnt_size, char *super, size_t super_size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -1;
    char line[4096];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        char path[PATH_MAX], fstype[32], opts[1024];
        if (sq_cg_mountinfo_line(line, path, fstype, opts) < 0 || strcmp(fstype, "cgroup2") != 0)
            continue;
        snprintf(mnt, mnt_size, "%s", path);
        snprintf(super, super_size, "%s", opts);
        found = 0;
    }
    fclose(f);
    return found;
}

static bool has_option(const char *opts, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = opts; (p = strstr(p, want)); p += n)
        if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

int sq_cgroup_favor_dynmods(char *done, size_t done_size, sq_err *err)
{
    char mnt[PATH_MAX], super[1024];
    if (find_cgroup2(mnt, sizeof mnt, super, sizeof super) < 0) {
        snprintf(done, done_size, "no cgroup2 mount: nothing to do");
        return 0;
    }
    if (has_option(super, "favordynmods")) {
        snprintf(done, done_size, "%s already has favordynmods", mnt);
        return 0;
    }
    int fd = (int)syscall(SYS_fspick, AT_FDCWD, mnt, FSPICK_CLOEXEC);
    if (fd < 0)
        return sq_err_errno(err, "fspick %s", mnt);
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", super);
    char *save = NULL;
    for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        if (strcmp(opt, "rw") == 0 || strcmp(opt, "ro") == 0)
            continue;
        if (syscall(SYS_fsconfig, fd, FSCONFIG_SET_FLAG, opt, NULL, 0) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return sq_err_errno(err, "keeping cgroup2 option %s on %s", opt, mnt);
        }
    }
    if (syscall(SYS_fsconfig, fd, FSCONFIG_SET_FLAG, "favordynmods", NULL, 0) < 0 ||
        syscall(SYS_fsconfig, fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return sq_err_errno(err, "setting favordynmods on %s", mnt);
    }
    close(fd);
    snprintf(done, done_size, "set favordynmods on %s (was %s)", mnt, super);
    return 0;
}
