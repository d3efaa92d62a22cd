/* cgroup_v2.c — the cgroup v2 files: limits (memory.max, cpu.max, pids.max),
 * whole-tree kill (cgroup.kill) and the freezer (cgroup.freeze).
 *
 * cgroup.kill SIGKILLs every process of the cgroup and its descendants in one
 * kernel operation, so a fork bomb cannot outrun it, and it works on frozen
 * cgroups. cgroup.freeze is asynchronous: writing 1 starts the freeze, and
 * cgroup.events says "frozen 1" once every task is stopped. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

/* How long a freeze or thaw may take before we call it failed. A freeze waits
 * for every task to reach a safe point (out of uninterruptible sleep). */
#define SQ_FREEZE_TIMEOUT_MS 5000

int sq_cg2_limits(const char *dir, const sq_sandbox_limits *lim, sq_err *err)
{
    char v[64];
    if (lim->memory_bytes) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)lim->memory_bytes);
        if (sq_cg_write(dir, "memory.max", v) < 0)
            return sq_err_errno(err, "%s/memory.max", dir);
        /* No swap: the limit is the memory the sandbox gets. Absent without
         * swap accounting, which is as good. */
        if (sq_cg_write(dir, "memory.swap.max", "0") < 0 && errno != ENOENT)
            return sq_err_errno(err, "%s/memory.swap.max", dir);
    }
    if (lim->cpu_millis) {
        snprintf(v, sizeof v, "%u 100000", (unsigned)lim->cpu_millis * 100u);
        if (sq_cg_write(dir, "cpu.max", v) < 0)
            return sq_err_errno(err, "%s/cpu.max", dir);
    }
    if (lim->pids) {
        snprintf(v, sizeof v, "%u", (unsigned)lim->pids);
        if (sq_cg_write(dir, "pids.max", v) < 0)
            return sq_err_errno(err, "%s/pids.max", dir);
    }
    return 0;
}

void sq_cg2_kill(const char *dir)
{
    sq_cg_write(dir, "cgroup.kill", "1");
}

int sq_cg2_freeze(const char *dir, bool frozen, sq_err *err)
{
    if (sq_cg_write(dir, "cgroup.freeze", frozen ? "1" : "0") < 0)
        return err ? sq_err_errno(err, "%s/cgroup.freeze", dir) : -1;
    /* cgroup.events raises POLLPRI on every change of its keys. */
    for (int waited = 0; waited < SQ_FREEZE_TIMEOUT_MS; waited += 10) {
        if ((sq_cg_keyed(dir, "cgroup.events", "frozen") == 1) == frozen)
            return 0;
        poll(NULL, 0, 10);
    }
    return err ? sq_err_set(err, SQ_INTERNAL, "the sandbox did not %s within %d ms", frozen ? "freeze" : "thaw",
                            SQ_FREEZE_TIMEOUT_MS)
               : -1;
}
