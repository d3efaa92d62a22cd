/* dev.c — a minimal /dev.
 *
 * A user namespace may not create device nodes (mknod needs CAP_MKNOD in the
 * initial namespace), so the harmless ones are bind-mounted from the host, one
 * file at a time, onto a small tmpfs. That tmpfs is nodev: whether a device
 * may be opened is decided by the mount the node sits on, and each node is its
 * own bind mount carrying the host /dev's flags. Terminals come from a private
 * devpts instance (newinstance: the sandbox sees none of the host's ptys),
 * with /dev/ptmx pointing at its ptmx. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox_int.h"

#define DEV SQ_NEWROOT "/dev"

static const char *const dev_nodes[][2] = {
    {"/dev/null", DEV "/null"},   {"/dev/zero", DEV "/zero"},       {"/dev/full", DEV "/full"},
    {"/dev/random", DEV "/random"}, {"/dev/urandom", DEV "/urandom"}, {"/dev/tty", DEV "/tty"},
};

static const char *const dev_links[][2] = {
    {"pts/ptmx", DEV "/ptmx"},          {"/proc/self/fd", DEV "/fd"},
    {"/proc/self/fd/0", DEV "/stdin"},  {"/proc/self/fd/1", DEV "/stdout"},
    {"/proc/self/fd/2", DEV "/stderr"},
};

int sq_child_dev(struct sq_child *c)
{
    if (mkdir(DEV, 0755) < 0 && errno != EEXIST)
        return sq_child_fail_in_root(c, "mkdir", DEV);
    if (mount("tmpfs", DEV, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0)
        return sq_child_fail_in_root(c, "mount tmpfs", DEV);

    for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
        const char *host = dev_nodes[i][0], *dst = dev_nodes[i][1];
        int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0)
            return sq_child_fail_in_root(c, "create", dst);
        close(fd);
        if (mount(host, dst, NULL, MS_BIND, NULL) < 0)
            return sq_child_fail_in_root(c, "bind", dst);
    }

    if (mkdir(DEV "/pts", 0755) < 0)
        return sq_child_fail_in_root(c, "mkdir", DEV "/pts");
    /* No gid=5 (tty): that group need not be mapped, and an unmapped gid
     * makes the mount fail with EINVAL. */
    if (mount("devpts", DEV "/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620") < 0)
        return sq_child_fail_in_root(c, "mount devpts", DEV "/pts");

    if (mkdir(DEV "/shm", 01777) < 0)
        return sq_child_fail_in_root(c, "mkdir", DEV "/shm");
    if (mount("tmpfs", DEV "/shm", "tmpfs", MS_NOSUID | MS_NODEV, c->setup->tmp_opts) < 0)
        return sq_child_fail_in_root(c, "mount tmpfs", DEV "/shm");

    for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
        if (symlink(dev_links[i][0], dev_links[i][1]) < 0)
            return sq_child_fail_in_root(c, "symlink", dev_links[i][1]);

    /* Done adding entries: nothing else may be created in /dev. */
    if (mount(NULL, DEV, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return sq_child_fail_in_root(c, "remount read-only", DEV);
    return 0;
}
