/* userns.c — the user namespace: uid 0 inside is opts->host_uid outside.
 *
 * Parent: writes /proc/<child>/uid_map and gid_map ("0 <host id> <range>").
 * Child: once released, switches its credentials to uid/gid 0 of the new
 * namespace and drops every supplementary group.
 *
 * Why the child must switch at all: clone(CLONE_NEWUSER) keeps the parent's
 * credentials. The worker runs as host root, so until setresuid the child's
 * file accesses are still checked as host uid 0 — "owner" of every root-owned
 * file — even though `id` inside would print 65534. Only after the switch does
 * the kernel check it as host_uid.
 *
 * Why no setgroups "deny": an unprivileged writer of gid_map must first write
 * "deny" to /proc/<pid>/setgroups; we are privileged and do not need to. We
 * rather keep setgroups(2) available so the child can *clear* the supplementary
 * groups it inherited from the worker thread (often just root's group 0 — but
 * with "deny" it could never shed it, and would keep group access to every
 * root:root g+r file it can reach). "deny" exists to stop a user from dropping
 * groups to get around negative group permissions on files they don't own;
 * inside the sandbox the only groups one can take are the sandbox's own mapped
 * ids, so there is nothing to get around. Bonus: tools that drop privileges to
 * a service user (apt's _apt) work when id_range covers their ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"
#include "sq/cleanup.h"

static int write_proc(pid_t pid, const char *file, const char *text, sq_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    sq_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return sq_err_errno(err, "%s", file);
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    if (n != (ssize_t)len) {
        if (n >= 0)
            errno = EIO;
        return sq_err_errno(err, "%s", file);
    }
    return 0;
}

int sq_parent_userns(pid_t child, const sq_sandbox_opts *o, sq_err *err)
{
    char map[64];
    snprintf(map, sizeof map, "0 %u %u\n", (unsigned)o->host_uid, (unsigned)o->id_range);
    if (write_proc(child, "uid_map", map, err) < 0)
        return -1;
    snprintf(map, sizeof map, "0 %u %u\n", (unsigned)o->host_gid, (unsigned)o->id_range);
    if (write_proc(child, "gid_map", map, err) < 0)
        return -1;
    return 0;
}

int sq_child_become_root(struct sq_child *c)
{
    /* Raw system calls, not glibc's setgroups/setresuid: in a multi-threaded
     * process glibc applies credential changes to every thread by signalling
     * them (its "setxid" broadcast); the threads in our copy of its thread
     * list do not exist, and the wait for their answer would never end. */
    if (syscall(SYS_setgroups, 0, NULL) < 0)
        return sq_child_fail(c, "setgroups", NULL);
    if (syscall(SYS_setresgid, 0, 0, 0) < 0)
        return sq_child_fail(c, "setresgid", NULL);
    if (syscall(SYS_setresuid, 0, 0, 0) < 0)
        return sq_child_fail(c, "setresuid", NULL);
    return 0;
}
