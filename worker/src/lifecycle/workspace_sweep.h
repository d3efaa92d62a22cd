/* workspace_sweep.h — removing what a dead worker left in the workspace root.
 *
 * A worker that is SIGKILLed (or whose host loses power) cannot tear its
 * sandboxes down. Its processes die with it (parent-death signal) and its uid
 * slots free themselves (the kernel drops its flocks), but the workspaces stay:
 * directories, and, with the disk limit, mounted file systems whose loop
 * devices keep their (already unlinked) images — reserved host disk that
 * nothing would ever give back. */
#ifndef SQ_WORKSPACE_SWEEP_H
#define SQ_WORKSPACE_SWEEP_H

#include "worker.h"

/* Remove every workspace in SANDQ_WORKSPACE_ROOT whose uid slot no worker
 * holds: unmount its file system, empty and remove the directory, and delete
 * any disk image left beside it. A workspace belongs to the slot its root
 * directory's owner names (host uid = SANDQ_UID_BASE + slot × 65536); one being
 * made by another worker right now is either still owned by root (skipped) or
 * already owned by a slot that worker holds (skipped). Run before consuming.
 * Then trim the per-size disk templates to SANDQ_DISK_TEMPLATES and remove
 * the temporaries of a worker that died while making one (disk.h).
 * Returns how many workspaces were removed; problems are logged, not fatal. */
int sq_workspace_sweep(sq_worker *w);

#endif
