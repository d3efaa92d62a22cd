/* ws_fs.h — filesystem operations inside a sandbox's workspace, done by the
 * worker on the host side.
 *
 * The worker runs as host root, and the workspace is writable by the sandbox,
 * which may plant symlinks (`ln -s /etc x`) or swap directories while we work.
 * So every path is resolved by the kernel with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) from an fd of the workspace root: resolution is
 * atomic and refuses to leave the root (EXDEV → path_outside_workspace).
 * Single names are then created under a parent fd resolved that way, never
 * under a path string. */
#ifndef SQ_WS_FS_H
#define SQ_WS_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sq/err.h"

/* openat2 beneath root_fd; rel is a normalized relative path (workspace_path.h).
 * Returns an fd or -1 with err (path_outside_workspace, not_found, internal;
 * limit_exceeded when renames in the sandbox kept invalidating the walk). */
int sq_ws_open(int root_fd, const char *rel, int flags, mode_t mode, sq_err *err);
/* sq_ws_open for a file the worker reads or writes: opened non-blocking (a
 * FIFO or device the sandbox planted cannot hold the worker's thread in
 * open()), then refused unless fstat says it is a regular file (invalid_request,
 * field body.path, naming what it is). Fills *st; the fd is blocking again. */
int sq_ws_open_regular(int root_fd, const char *rel, int flags, mode_t mode, struct stat *st, sq_err *err);
/* "a FIFO", "a socket", … for messages. */
const char *sq_ws_type_name(mode_t mode);
/* mkdir -p of rel's parent directories, chowning new ones to uid/gid. */
int sq_ws_mkdir_parents(int root_fd, const char *rel, uid_t uid, gid_t gid, sq_err *err);
/* Asked before each entry of a long walk (a tree removed): returns -1 with
 * err set to stop the walk there (a kill or cancel of the task), else 0. The
 * sandbox decides how many entries there are, and may add more while we
 * walk. */
typedef struct sq_ws_stop {
    int (*check)(void *user, sq_err *err);
    void *user;
} sq_ws_stop;

/* Remove rel (a file, a symlink, an empty directory, or a tree when
 * recursive). stop may be NULL. */
int sq_ws_remove(int root_fd, const char *rel, int recursive, const sq_ws_stop *stop, sq_err *err);
/* Remove every entry below dir_fd, then nothing else (dir_fd stays). Walks with
 * O_NOFOLLOW fds, so a symlink is removed, never followed. */
int sq_ws_remove_tree_at(int dir_fd, sq_err *err);

#endif
