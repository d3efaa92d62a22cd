/* ws_fs.c — see ws_fs.h. */
#include "handlers/ws_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sq/cleanup.h"

#define MAX_TREE_DEPTH 256
/* openat2 with RESOLVE_BENEATH fails with EAGAIN when a rename (anywhere on the
 * host) or a mount raced a ".." step of the walk: the kernel cannot then be
 * sure ".." stayed beneath the root. A sandbox that plants a symlink with ".."
 * in it and renames files in a loop makes every attempt fail, so the retries
 * are bounded, or the worker's thread would spin for as long as the sandbox
 * likes. An honest race clears within a few attempts. */
#define MAX_RESOLVE_ATTEMPTS 64

static int map_errno(sq_err *err, const char *rel, const char *what)
{
    switch (errno) {
    case EXDEV:
    case ELOOP:
        return sq_err_field(err, SQ_PATH_OUTSIDE_WORKSPACE, "body.path",
                            "/workspace/%s resolves outside /workspace (through a symlink)", rel);
    case ENOENT:
        return sq_err_field(err, SQ_NOT_FOUND, "body.path", "/workspace/%s does not exist", rel);
    case ENOTDIR:
        return sq_err_field(err, SQ_NOT_FOUND, "body.path", "a parent of /workspace/%s is not a directory", rel);
    case EISDIR:
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.path", "/workspace/%s is a directory", rel);
    case ENOTEMPTY:
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.recursive",
                            "/workspace/%s is a non-empty directory; pass recursive", rel);
    case ENXIO:
        /* open() of a socket, or of a FIFO for writing with O_NONBLOCK while
         * nobody reads it. */
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.path",
                            "/workspace/%s is not a regular file (a FIFO, socket or device)", rel);
    case EAGAIN:
        return sq_err_field(err, SQ_LIMIT_EXCEEDED, "body.path",
                            "/workspace/%s kept changing while it was resolved (renames in the sandbox); "
                            "gave up after %d attempts",
                            rel, MAX_RESOLVE_ATTEMPTS);
    case ENOSPC:
    case EDQUOT:
        return sq_err_set(err, SQ_LIMIT_EXCEEDED, "the workspace is full");
    case EFBIG:
        return sq_err_set(err, SQ_LIMIT_EXCEEDED, "file too large");
    default:
        return sq_err_errno(err, "%s /workspace/%s", what, rel);
    }
}

const char *sq_ws_type_name(mode_t mode)
{
    return S_ISREG(mode)    ? "a regular file"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISDIR(mode)  ? "a directory"
           : S_ISLNK(mode)  ? "a symlink"
                            : "of an unknown type";
}

int sq_ws_open_regular(int root_fd, const char *rel, int flags, mode_t mode, struct stat *st, sq_err *err)
{
    /* O_NONBLOCK: opening a FIFO blocks until the other end opens it (for
     * reading: until a writer comes; for writing: until a reader comes), and
     * the sandbox decides whether that ever happens. With O_NONBLOCK a read
     * open returns at once and a write open fails with ENXIO. A device node
     * could block in its open too; the workspace is mounted nodev, but a
     * disk-less workspace on the host's file system is not. O_NOCTTY: a
     * terminal never becomes the worker's. The type is then checked on the
     * fd itself, so nothing can be swapped in between. */
    int fd = sq_ws_open(root_fd, rel, flags | O_NONBLOCK | O_NOCTTY, mode, err);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0) {
        sq_err_errno(err, "stat /workspace/%s", rel);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        sq_err_field(err, SQ_INVALID_REQUEST, "body.path", "/workspace/%s is %s, not a regular file", rel,
                     sq_ws_type_name(st->st_mode));
        close(fd);
        return -1;
    }
    /* Back to blocking I/O: regular files ignore the flag, but leave nothing
     * surprising on the fd. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        sq_err_errno(err, "fcntl /workspace/%s", rel);
        close(fd);
        return -1;
    }
    return fd;
}

int sq_ws_open(int root_fd, const char *rel, int flags, mode_t mode, sq_err *err)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int fd = -1;
    for (int attempt = 0; attempt < MAX_RESOLVE_ATTEMPTS; attempt++) {
        fd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    if (fd < 0)
        return map_errno(err, rel, "open");
    return fd;
}

/* Split rel into parent ("." if none) and final name. */
static void split(const char *rel, char *parent, size_t psz, const char **name)
{
    const char *slash = strrchr(rel, '/');
    if (!slash) {
        snprintf(parent, psz, ".");
        *name = rel;
    } else {
        snprintf(parent, psz, "%.*s", (int)(slash - rel), rel);
        *name = slash + 1;
    }
}

int sq_ws_mkdir_parents(int root_fd, const char *rel, uid_t uid, gid_t gid, sq_err *err)
{
    char prefix[4096];
    for (const char *p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
        snprintf(prefix, sizeof prefix, "%.*s", (int)(p - rel), rel);
        char parent[4096];
        const char *name;
        split(prefix, parent, sizeof parent, &name);
        sq_autoclose int pfd = sq_ws_open(root_fd, parent, O_PATH | O_DIRECTORY, 0, err);
        if (pfd < 0)
            return -1;
        if (mkdirat(pfd, name, 0755) == 0) {
            /* AT_SYMLINK_NOFOLLOW: `name` was just created as a directory, but
             * never follow what might have replaced it. */
            if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return sq_err_errno(err, "chown /workspace/%s", prefix);
        } else if (errno != EEXIST) {
            return map_errno(err, prefix, "mkdir");
        }
    }
    return 0;
}

static int remove_tree(int dir_fd, int depth, const sq_ws_stop *stop, sq_err *err)
{
    if (depth > MAX_TREE_DEPTH)
        return sq_err_set(err, SQ_LIMIT_EXCEEDED, "directory tree deeper than %d levels", MAX_TREE_DEPTH);
    int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return sq_err_errno(err, "dup");
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return sq_err_errno(err, "fdopendir");
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (stop && (rc = stop->check(stop->user, err)) < 0)
            break;
        if (unlinkat(dir_fd, e->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            rc = sq_err_errno(err, "unlink %s", e->d_name);
            break;
        }
        int sub = openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            rc = sq_err_errno(err, "open %s", e->d_name);
            break;
        }
        rc = remove_tree(sub, depth + 1, stop, err);
        close(sub);
        if (rc == 0 && unlinkat(dir_fd, e->d_name, AT_REMOVEDIR) < 0)
            rc = sq_err_errno(err, "rmdir %s", e->d_name);
    }
    closedir(d);
    return rc;
}

int sq_ws_remove_tree_at(int dir_fd, sq_err *err) { return remove_tree(dir_fd, 0, NULL, err); }

int sq_ws_remove(int root_fd, const char *rel, int recursive, const sq_ws_stop *stop, sq_err *err)
{
    if (strcmp(rel, ".") == 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.path", "the workspace itself cannot be removed");
    char parent[4096];
    const char *name;
    split(rel, parent, sizeof parent, &name);
    sq_autoclose int pfd = sq_ws_open(root_fd, parent, O_PATH | O_DIRECTORY, 0, err);
    if (pfd < 0)
        return -1;
    if (unlinkat(pfd, name, 0) == 0)
        return 0;
    if (errno != EISDIR)
        return map_errno(err, rel, "remove");
    if (unlinkat(pfd, name, AT_REMOVEDIR) == 0)
        return 0;
    if (errno != ENOTEMPTY || !recursive)
        return map_errno(err, rel, "remove");
    sq_autoclose int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return map_errno(err, rel, "open");
    if (remove_tree(dfd, 0, stop, err) < 0)
        return -1;
    if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
        return map_errno(err, rel, "remove");
    return 0;
}
