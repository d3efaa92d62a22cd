/* disk.h — a hard size limit for a sandbox's /workspace.
 *
 * The workspace directory becomes the mount point of its own ext4 file system,
 * held in a preallocated image file beside it and attached through a loop
 * device. Writing past the size gives ENOSPC inside the sandbox (and to the
 * worker's files.* requests); the host's file system cannot fill up through
 * it, because the image's blocks were reserved (fallocate) when it was made.
 * The image is unlinked as soon as it is mounted, so unmounting frees
 * everything: no file is left behind even if the worker dies (the mount then
 * stays until an operator or the next sq_disk_detach removes it).
 *
 * Needs root (loop devices, mount) and mkfs.ext4 (e2fsprogs; SANDQ_MKFS_EXT4
 * names another path). */
#ifndef SQ_DISK_H
#define SQ_DISK_H

#include <stdint.h>
#include <sys/types.h>

#include "sq/err.h"

/* Make dir (an existing, empty directory) the root of a size_mb ext4 file
 * system owned by uid:gid, mounted nosuid,nodev,noatime. On failure nothing
 * is left mounted or allocated; err says which step failed, with
 * SQ_LIMIT_EXCEEDED when the host has no room for size_mb. */
int sq_disk_attach(const char *dir, uint64_t size_mb, uid_t uid, gid_t gid, sq_err *err);

/* The per-size file system templates sq_disk_attach keeps beside the
 * workspaces (".sandq-ext4-<size>m.template"): at most this many per
 * directory, least recently used removed first. Process-wide; call before
 * starting sandboxes. Values below 1 are ignored. */
#define SQ_DISK_TEMPLATES_DEFAULT 8
void sq_disk_set_templates_max(int max);
/* Trim root's templates to max (least recently used go) and remove template
 * temporaries older than ten minutes (a worker died while making one).
 * Returns how many files were removed. Best effort: errors are skipped. */
int sq_disk_prune_templates(const char *root, int max);

/* Unmount what sq_disk_attach mounted on dir (lazily if something still holds
 * it); the loop device and the image's blocks are released with the last
 * reference. Returns 0 when nothing is mounted there. */
int sq_disk_detach(const char *dir, sq_err *err);

#endif
