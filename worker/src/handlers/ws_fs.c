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
    case ENOSPC:
    case EDQUOT:
        return sq_err_set(err, SQ_LIMIT_EXCEEDED, "the workspace is full");
    case EFBIG:
        return sq_err_set(err, SQ_LIMIT_EXCEEDED, "file too large");
    default:
        return sq_err_errno(err, "%s /workspace/%s", what, rel);
    }
}

int sq_ws_open(int root_fd, const char *rel, int flags, mode_t mode, sq_err *err)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int fd;
    do
        fd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN); /* a rename raced the lookup: retry */
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

static int remove_tree(int dir_fd, int depth, sq_err *err)
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
        rc = remove_tree(sub, depth + 1, err);
        close(sub);
        if (rc == 0 && unlinkat(dir_fd, e->d_name, AT_REMOVEDIR) < 0)
            rc = sq_err_errno(err, "rmdir %s", e->d_name);
    }
    closedir(d);
    return rc;
}

int sq_ws_remove_tree_at(int dir_fd, sq_err *err) { return remove_tree(dir_fd, 0, err); }

int sq_ws_remove(int root_fd, const char *rel, int recursive, sq_err *err)
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
    if (remove_tree(dfd, 0, err) < 0)
        return -1;
    if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
        return map_errno(err, rel, "remove");
    return 0;
}
