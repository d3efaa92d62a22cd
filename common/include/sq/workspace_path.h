/* workspace_path.h — lexical resolution of user paths against /workspace (pure).
 *
 * "notes/a.txt", "/workspace/notes/a.txt" and "./notes/../notes/a.txt" all
 * become "notes/a.txt". Anything that leaves /workspace lexically ("..", other
 * absolute paths) is path_outside_workspace. Symlinks are not followed here:
 * the worker opens the result with openat2(RESOLVE_BENEATH), which refuses a
 * symlink that points out, so the two together close both escape routes. */
#ifndef SQ_WORKSPACE_PATH_H
#define SQ_WORKSPACE_PATH_H

#include <stddef.h>

#include "sq/err.h"

#define SQ_WORKSPACE_ROOT "/workspace"

/* Writes the normalized path relative to the workspace into out ("." for the
 * workspace itself). Returns -1 with SQ_PATH_OUTSIDE_WORKSPACE or
 * SQ_INVALID_REQUEST (empty, too long) in err; `field` names the request field. */
int sq_workspace_path(const char *in, const char *field, char *out, size_t out_size, sq_err *err);

#endif
