/* cgroup.h — a sandbox's control groups: limits, whole-tree kill, freeze.
 *
 * Two jobs, which may be done by different cgroup versions on one host:
 *
 *   limits   memory, cpu, pids. cgroup v2 when the v2 hierarchy offers all three
 *            controllers, else the v1 hierarchies (memory, cpu, pids).
 *   control  killing every process of the sandbox (or of one task) and freezing
 *            it. cgroup v2 whenever a v2 hierarchy is mounted: `cgroup.kill` and
 *            `cgroup.freeze` are core files of every non-root v2 cgroup and need
 *            no controller. Else the v1 freezer: freeze, SIGKILL each pid, thaw.
 *
 * The development machines run the v1 hierarchies with an almost empty cgroup2
 * mount beside them (/sys/fs/cgroup/unified, no controllers): there limits are v1
 * and control is v2. sq_cgroups_describe() says what was chosen; the worker logs
 * it at start. SANDQ_CGROUP_MODE=v1 forces v1 for both (to exercise the fallback).
 *
 * Layout, per hierarchy: <the worker's own cgroup>/sandq/<worker-id>/<sandbox-id>,
 * and in the control hierarchy one child per running command, t<n>, so a task's
 * timeout kills exactly that command's tree — including what it setsid()s or
 * double-forks away from its process group — and not the sandbox's other
 * background processes. t<n> is made by task n and reused by later tasks once
 * it is empty again. The worker moves the init into it just before the
 * SPAWN and back when the init reports SPAWNED (the init forks nothing else), so
 * the command is born inside its task cgroup.
 *
 * The sandbox's processes are placed while the set-up child still waits for
 * RELEASE (before it has forked anything); the child then unshares its cgroup
 * namespace, so inside the sandbox /proc/self/cgroup shows "/". */
#ifndef SQ_SANDBOX_CGROUP_H
#define SQ_SANDBOX_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

struct sq_cgroup;

/* Create the sandbox's cgroups with these limits. */
int sq_cgroup_create(const char *name, const sq_sandbox_limits *lim, struct sq_cgroup **out, sq_err *err);
/* Move pid (the set-up child) into every hierarchy of the sandbox. */
int sq_cgroup_add(struct sq_cgroup *cg, pid_t pid, sq_err *err);
/* Freeze or thaw every process; returns once the kernel reports it done. */
int sq_cgroup_freeze(struct sq_cgroup *cg, bool frozen, sq_err *err);
/* SIGKILL every process of the sandbox (leaves it thawed). */
void sq_cgroup_kill(struct sq_cgroup *cg);
/* OOM kills so far in the sandbox's memory cgroup. */
uint64_t sq_cgroup_oom_kills(struct sq_cgroup *cg);
/* Kill what is left, remove every directory, free. Safe on NULL. Call after
 * the init has been reaped. */
void sq_cgroup_destroy(struct sq_cgroup *cg);

/* Per-command cgroups (control hierarchy). begin: create t<id> and move the
 * init in; placed: move the init back; kill: SIGKILL everything in the
 * task's cgroup; end: keep it for the next task if nothing is left in it (one
 * spare per sandbox; more are removed), else leave it to its background
 * processes until the sandbox is destroyed. */
int sq_cgroup_task_begin(struct sq_cgroup *cg, pid_t init, uint32_t id, sq_err *err);
int sq_cgroup_task_placed(struct sq_cgroup *cg, pid_t init, sq_err *err);
void sq_cgroup_task_kill(struct sq_cgroup *cg, uint32_t id);
void sq_cgroup_task_end(struct sq_cgroup *cg, uint32_t id);
/* Freeze (thaw) every task cgroup that has processes (cgroup.c says why). */
int sq_cgroup_freeze_tasks(struct sq_cgroup *cg, bool frozen, sq_err *err);

/* ---- shared by cgroup.c, cgroup_v1.c, cgroup_v2.c -------------------- */

/* One line of /proc/self/mountinfo: the mount point, file system type and
 * super options of a mount of a file system's root; -1 for any other line. */
int sq_cg_mountinfo_line(const char *line, char mnt[PATH_MAX], char fstype[32], char super[1024]);
/* Write a string to dir/file. 0 or -1 with errno. */
int sq_cg_write(const char *dir, const char *file, const char *text);
/* Read dir/file into buf (NUL-terminated). Bytes read or -1. */
ssize_t sq_cg_read(const char *dir, const char *file, char *buf, size_t size);
/* The number after "key " in a flat-keyed file ("oom_kill 3"); 0 if absent. */
uint64_t sq_cg_keyed(const char *dir, const char *file, const char *key);
/* rmdir dir and its sub-cgroups, children first; retries EBUSY briefly. */
void sq_cg_rmdir_tree(const char *dir);

/* Liveness of worker ids (cgroup_owners.c): each worker holds an flock on
 * SQ_CGROUP_OWNERS_DIR/<id>.lock; a start sweeps the empty cgroup trees of ids
 * whose lock nobody holds. lock: 0, or -1 with errno (then this worker is
 * simply never swept). sweep: the number of dead ids whose trees went. */
#define SQ_CGROUP_OWNERS_DIR "/run/sandq/cgroup-owners"
int sq_cg_owner_lock(const char *worker_id);
void sq_cg_owner_unlock(const char *worker_id, bool remove_file);
int sq_cg_sweep_dead_owners(const char *const *sandq_dirs, int n, const char *self_id);

/* v2: limits in one directory; kill with cgroup.kill; freeze with cgroup.freeze. */
int sq_cg2_limits(const char *dir, const sq_sandbox_limits *lim, sq_err *err);
void sq_cg2_kill(const char *dir);
int sq_cg2_freeze(const char *dir, bool frozen, sq_err *err);

/* v1: limits in the memory, cpu and pids hierarchies; the freezer for the rest. */
int sq_cg1_limit_memory(const char *dir, uint64_t bytes, sq_err *err);
int sq_cg1_limit_cpu(const char *dir, uint32_t millis, sq_err *err);
int sq_cg1_limit_pids(const char *dir, uint32_t pids, sq_err *err);
/* Freeze, SIGKILL every pid of dir and its sub-cgroups, thaw. */
void sq_cg1_kill(const char *freezer_dir);
int sq_cg1_freeze(const char *freezer_dir, bool frozen, sq_err *err);

#endif
