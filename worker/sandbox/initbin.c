/* initbin.c — finding the sandq-init executable.
 *
 * SANDQ_INIT_BIN names it explicitly (tests, packaging); otherwise it sits next
 * to the running executable (the build puts sandq-init beside sandq-worker).
 * We open it O_PATH in the parent because the child execs it after
 * pivot_root, when no host path resolves any more (see child.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox_int.h"

static int locate(char *path, size_t size, sq_err *err)
{
    const char *env = getenv("SANDQ_INIT_BIN");
    if (env && *env) {
        if (sq_strlcpy(path, env, size) >= size)
            return sq_err_set(err, SQ_INTERNAL, "SANDQ_INIT_BIN is too long");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", path, size - 1);
    if (n < 0)
        return sq_err_errno(err, "readlink /proc/self/exe");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (!slash)
        return sq_err_set(err, SQ_INTERNAL, "odd /proc/self/exe: %s", path);
    slash[1] = '\0';
    if (sq_strlcat(path, "sandq-init", size) >= size)
        return sq_err_set(err, SQ_INTERNAL, "path of sandq-init is too long");
    return 0;
}

int sq_plan_init_binary(struct sq_setup *s, sq_err *err)
{
    char path[PATH_MAX];
    if (locate(path, sizeof path, err) < 0)
        return -1;
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return sq_err_errno(err, "sandq-init %s (set SANDQ_INIT_BIN)", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return sq_err_errno(err, "stat %s", path);
    }
    /* The child execs it as host_uid, so "others" need x; and since it runs
     * in every sandbox, nobody but its owner may rewrite it. */
    if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXOTH) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        close(fd);
        return sq_err_set(err, SQ_INTERNAL,
                          "sandq-init %s must be a regular file, executable by others and "
                          "writable only by its owner (mode %o)",
                          path, (unsigned)(st.st_mode & 07777));
    }
    s->init_fd = fd;
    return 0;
}
