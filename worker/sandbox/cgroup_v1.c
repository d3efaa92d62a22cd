/* cgroup_v1.c — the cgroup v1 files: limits in the memory, cpu and pids
 * hierarchies, and the v1 freezer for pause and for killing a whole tree.
 *
 * v1 has no cgroup.kill. Killing pids read from cgroup.procs one by one races
 * with fork (a fork bomb makes new pids faster than we read them), so we
 * freeze first: a frozen cgroup cannot fork, its pid list is final, and SIGKILL
 * is queued to each; the kill lands when we thaw. Sub-cgroups (one per task)
 * are frozen with their parent, since the v1 freezer is hierarchical. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

#define SQ_FREEZE_TIMEOUT_MS 5000

int sq_cg1_limit_memory(const char *dir, uint64_t bytes, sq_err *err)
{
    if (!bytes)
        return 0;
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)bytes);
    if (sq_cg_write(dir, "memory.limit_in_bytes", v) < 0)
        return sq_err_errno(err, "%s/memory.limit_in_bytes", dir);
    /* memory+swap at the same value: no swap. Absent without swap accounting. */
    if (sq_cg_write(dir, "memory.memsw.limit_in_bytes", v) < 0 && errno != ENOENT)
        return sq_err_errno(err, "%s/memory.memsw.limit_in_bytes", dir);
    return 0;
}

int sq_cg1_limit_cpu(const char *dir, uint32_t millis, sq_err *err)
{
    if (!millis)
        return 0;
    char v[32];
    snprintf(v, sizeof v, "%u", (unsigned)millis * 100u);
    if (sq_cg_write(dir, "cpu.cfs_period_us", "100000") < 0 || sq_cg_write(dir, "cpu.cfs_quota_us", v) < 0)
        return sq_err_errno(err, "%s/cpu.cfs_quota_us", dir);
    return 0;
}

int sq_cg1_limit_pids(const char *dir, uint32_t pids, sq_err *err)
{
    if (!pids)
        return 0;
    char v[32];
    snprintf(v, sizeof v, "%u", (unsigned)pids);
    if (sq_cg_write(dir, "pids.max", v) < 0)
        return sq_err_errno(err, "%s/pids.max", dir);
    return 0;
}

int sq_cg1_freeze(const char *dir, bool frozen, sq_err *err)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    for (int waited = 0; waited < SQ_FREEZE_TIMEOUT_MS; waited += 10) {
        /* Writing FROZEN again retries a freeze that is stuck in FREEZING. */
        if (sq_cg_write(dir, "freezer.state", want) < 0)
            return err ? sq_err_errno(err, "%s/freezer.state", dir) : -1;
        char st[32];
        if (sq_cg_read(dir, "freezer.state", st, sizeof st) > 0 && strncmp(st, want, strlen(want)) == 0)
            return 0;
        poll(NULL, 0, 10);
    }
    return err ? sq_err_set(err, SQ_INTERNAL, "the sandbox did not %s within %d ms", frozen ? "freeze" : "thaw",
                            SQ_FREEZE_TIMEOUT_MS)
               : -1;
}

static void kill_procs(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    if (f) {
        long pid;
        while (fscanf(f, "%ld", &pid) == 1)
            if (pid > 0)
                kill((pid_t)pid, SIGKILL);
        fclose(f);
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        kill_procs(sub);
    }
    closedir(d);
}

void sq_cg1_kill(const char *dir)
{
    /* Even if the freeze does not complete (a task stuck in the kernel), kill
     * what we can see and thaw, so the signals are delivered. */
    sq_cg1_freeze(dir, true, NULL);
    kill_procs(dir);
    sq_cg1_freeze(dir, false, NULL);
}
