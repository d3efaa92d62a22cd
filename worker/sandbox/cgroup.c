/* cgroup.c — choosing cgroup versions at start, and a sandbox's cgroups as one
 * object over them (see cgroup.h for the model). The version-specific files are
 * written by cgroup_v1.c and cgroup_v2.c.
 *
 * Detection reads /proc/self/mountinfo (where each hierarchy is mounted) and
 * /proc/self/cgroup (where this process sits in each): the worker's parent
 * cgroup is created under its *own* cgroup, so sandboxes stay inside whatever
 * limits the operator put the worker in, and several workers on one host keep
 * to their own subtrees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "sq/fsutil.h"
#include "sq/cleanup.h"

enum { H_MEMORY, H_CPU, H_PIDS, H_FREEZER, H_V1_COUNT };
static const char *const v1_names[H_V1_COUNT] = {"memory", "cpu", "pids", "freezer"};

/* Chosen once by sq_cgroups_init; read-only afterwards (any thread). */
static struct {
    bool ready;
    bool limits_v2, control_v2;
    char v1[H_V1_COUNT][PATH_MAX]; /* parent dirs in the v1 hierarchies ("" unused) */
    char v2[PATH_MAX];             /* parent dir in the v2 hierarchy ("" unused) */
    char describe[PATH_MAX * 2 + 256];
    char group[130]; /* this worker's id */
} sys;

struct sq_cgroup {
    char v1[H_V1_COUNT][PATH_MAX];
    char v2[PATH_MAX];
    bool limits_v2, control_v2;
    /* Task cgroups are reused (see sq_cgroup_task_end): the running task's id
     * and the t<n> it was given, and an empty t<n> kept for the next (0: none). */
    uint32_t task_id, task_dir_id, spare_dir_id;
};

/* ---- small file helpers ----------------------------------------------- */

int sq_cg_write(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    sq_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    if (n != (ssize_t)len) {
        if (n >= 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

ssize_t sq_cg_read(const char *dir, const char *file, char *buf, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    sq_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    return (ssize_t)used;
}

uint64_t sq_cg_keyed(const char *dir, const char *file, const char *key)
{
    char buf[4096];
    if (sq_cg_read(dir, file, buf, sizeof buf) < 0)
        return 0;
    size_t kl = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
            return strtoull(line + kl + 1, NULL, 10);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void sq_cg_rmdir_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        sq_cg_rmdir_tree(sub);
    }
    closedir(d);
    /* A cgroup whose last process was just reaped may stay busy for a moment
     * while the kernel finishes uncharging it. */
    for (int i = 0; i < 50; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return;
        if (errno != EBUSY)
            return;
        sleep_ms(10);
    }
}

/* ---- detection ---------------------------------------------------------- */

/* Mount points of the v1 controllers we use and of cgroup2. */
int sq_cg_mountinfo_line(const char *line, char mnt[PATH_MAX], char fstype[32], char super[1024])
{
    /* id parent maj:min root mountpoint opts [optional…] - fstype source superopts */
    char root[PATH_MAX], source[256];
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 || strcmp(root, "/") != 0)
        return -1;
    const char *sep = strstr(line, " - ");
    super[0] = '\0';
    if (!sep || sscanf(sep + 3, "%31s %255s %1023s", fstype, source, super) < 2)
        return -1;
    return 0;
}

static void find_mounts(char v1[H_V1_COUNT][PATH_MAX], char *v2)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char mnt[PATH_MAX], fstype[32], super[1024];
        if (sq_cg_mountinfo_line(line, mnt, fstype, super) < 0)
            continue;
        if (strcmp(fstype, "cgroup2") == 0 && !v2[0]) {
            snprintf(v2, PATH_MAX, "%s", mnt);
        } else if (strcmp(fstype, "cgroup") == 0) {
            for (int h = 0; h < H_V1_COUNT; h++) {
                /* super options are comma-separated: rw,memory or rw,cpu,cpuacct */
                char opts[1030];
                snprintf(opts, sizeof opts, ",%s,", super);
                char want[32];
                snprintf(want, sizeof want, ",%s,", v1_names[h]);
                if (strstr(opts, want) && !v1[h][0])
                    snprintf(v1[h], PATH_MAX, "%s", mnt);
            }
        }
    }
    fclose(f);
}

/* This process's cgroup path in the v1 hierarchy of controller `name`, or in
 * the v2 hierarchy when name is "". */
static int own_path(const char *name, char *out, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -1;
    char line[4096];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        const char *ctrls = c1 + 1, *path = c2 + 1;
        if (!name[0]) {
            if (strcmp(line, "0") == 0 && !*ctrls)
                rc = snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
            continue;
        }
        char list[1100], want[40];
        snprintf(list, sizeof list, ",%s,", ctrls);
        snprintf(want, sizeof want, ",%s,", name);
        if (strstr(list, want))
            rc = snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
    }
    fclose(f);
    return rc;
}

static bool has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0'))
            return true;
    return false;
}

/* parent = <mount><own path>/sandq/<group>; created; empty leftovers (of a
 * crashed run of this worker id: its sandboxes died with it) removed. */
static int make_parent(const char *mount, const char *own, const char *group, char *out, sq_err *err)
{
    int n = snprintf(out, PATH_MAX, "%s%s/sandq/%s", mount, strcmp(own, "/") == 0 ? "" : own, group);
    if (n < 0 || n >= PATH_MAX)
        return sq_err_set(err, SQ_INTERNAL, "cgroup path too long");
    if (sq_mkdir_p(out, 0755) < 0)
        return sq_err_errno(err, "mkdir %s", out);
    DIR *d = opendir(out);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_type != DT_DIR || e->d_name[0] == '.')
                continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", out, e->d_name);
            sq_cg_rmdir_tree(sub); /* fails, harmlessly, on a populated one */
        }
        closedir(d);
    }
    return 0;
}

/* A delegated cgroup (systemd Delegate=yes) holds the worker itself, and v2's
 * "no internal processes" rule refuses to enable controllers for the children
 * of a cgroup that has processes (EBUSY). So the worker moves out of the way,
 * into a leaf of its own beside sandq/, as systemd's delegation notes ask of a
 * delegated manager. Writing "0" to cgroup.procs moves the writing process,
 * every thread of it. */
static int move_self_to_leaf(const char *own_dir)
{
    char leaf[PATH_MAX];
    if (snprintf(leaf, sizeof leaf, "%s/sandq-worker", own_dir) >= (int)sizeof leaf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
        return -1;
    return sq_cg_write(leaf, "cgroup.procs", "0");
}

/* On v2, a child gets a controller only if every ancestor enables it in
 * cgroup.subtree_control; enable memory, cpu and pids down to our parent. */
static int enable_v2_controllers(const char *mount, const char *own_dir, const char *parent, sq_err *err)
{
    /* Every directory from the mount down to parent itself, in order. */
    for (size_t i = strlen(mount);; i++) {
        if (parent[i] != '/' && parent[i] != '\0')
            continue;
        char dir[PATH_MAX];
        memcpy(dir, parent, i);
        dir[i] = '\0';
        int rc = sq_cg_write(dir, "cgroup.subtree_control", "+memory +cpu +pids");
        if (rc < 0 && errno == EBUSY && strcmp(dir, own_dir) == 0 && strcmp(dir, mount) != 0 &&
            move_self_to_leaf(own_dir) == 0)
            rc = sq_cg_write(dir, "cgroup.subtree_control", "+memory +cpu +pids");
        if (rc < 0)
            return sq_err_errno(err,
                                "enabling memory, cpu and pids in %s/cgroup.subtree_control: on a pure cgroup v2 "
                                "host the worker must run in a delegated cgroup of its own (no other processes in "
                                "it): as a systemd unit with Delegate=yes (packaging/sandq-worker.service), or "
                                "started with `systemd-run --scope -p Delegate=yes sandq-worker run`",
                                dir);
        if (!parent[i])
            return 0;
    }
}

/* The sandq/ directories (parents of each used hierarchy's worker dir). */
static int sweep_dead_workers(const char *self)
{
    static char dirs[H_V1_COUNT + 1][PATH_MAX];
    const char *list[H_V1_COUNT + 1];
    int n = 0;
    const char *mine[H_V1_COUNT + 1] = {sys.v2, sys.v1[0], sys.v1[1], sys.v1[2], sys.v1[3]};
    for (int i = 0; i < H_V1_COUNT + 1; i++) {
        if (!mine[i][0])
            continue;
        snprintf(dirs[n], PATH_MAX, "%s", mine[i]);
        char *slash = strrchr(dirs[n], '/');
        if (!slash)
            continue;
        *slash = '\0';
        list[n] = dirs[n];
        n++;
    }
    return sq_cg_sweep_dead_owners(list, n, self);
}

int sq_cgroups_init(const char *group, const char *mode, sq_err *err)
{
    if (!group || !*group || strchr(group, '/') || group[0] == '.' || strlen(group) > 128)
        return sq_err_set(err, SQ_INVALID_REQUEST, "cgroup group name \"%s\" must be one path component",
                          group ? group : "");
    bool force_v1 = mode && strcmp(mode, "v1") == 0;
    if (mode && *mode && !force_v1 && strcmp(mode, "auto") != 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_CGROUP_MODE", "cgroup mode must be auto or v1");
    char v1m[H_V1_COUNT][PATH_MAX] = {{0}}, v2m[PATH_MAX] = "";
    find_mounts(v1m, v2m);

    char own[PATH_MAX];
    char ctrls[512] = "";
    if (v2m[0])
        sq_cg_read(v2m, "cgroup.controllers", ctrls, sizeof ctrls);
    bool v2_limits = !force_v1 && v2m[0] && has_word(ctrls, "memory") && has_word(ctrls, "cpu") &&
                     has_word(ctrls, "pids");
    bool v1_limits = v1m[H_MEMORY][0] && v1m[H_CPU][0] && v1m[H_PIDS][0];
    if (!v2_limits && !v1_limits)
        return sq_err_set(err, SQ_INTERNAL,
                          "no usable cgroups: cgroup v2 lacks memory/cpu/pids%s and the v1 memory, cpu and "
                          "pids hierarchies are not all mounted",
                          v2m[0] ? "" : " (not mounted)");
    bool v2_control = !force_v1 && v2m[0];
    if (!v2_control && !v1m[H_FREEZER][0])
        return sq_err_set(err, SQ_INTERNAL, "no way to freeze and kill a sandbox: no cgroup v2 and no v1 freezer");

    memset(&sys, 0, sizeof sys);
    /* Before any directory is made: a worker sweeping at the same time must
     * see this id as alive. */
    bool owner_locked = sq_cg_owner_lock(group) == 0;
    if (v2_limits || v2_control) {
        if (own_path("", own, sizeof own) < 0)
            return sq_err_set(err, SQ_INTERNAL, "cannot find this process's cgroup v2 path in /proc/self/cgroup");
        if (make_parent(v2m, own, group, sys.v2, err) < 0)
            return -1;
        char own_dir[PATH_MAX];
        snprintf(own_dir, sizeof own_dir, "%s%s", v2m, strcmp(own, "/") == 0 ? "" : own);
        if (v2_limits && enable_v2_controllers(v2m, own_dir, sys.v2, err) < 0)
            return -1;
    }
    for (int h = 0; h < H_V1_COUNT; h++) {
        bool needed = h == H_FREEZER ? !v2_control : !v2_limits;
        if (!needed)
            continue;
        if (own_path(v1_names[h], own, sizeof own) < 0)
            return sq_err_set(err, SQ_INTERNAL, "cannot find this process's %s cgroup in /proc/self/cgroup",
                              v1_names[h]);
        if (make_parent(v1m[h], own, group, sys.v1[h], err) < 0)
            return -1;
    }
    sys.limits_v2 = v2_limits;
    sys.control_v2 = v2_control;
    snprintf(sys.group, sizeof sys.group, "%s", group);
    int swept = sweep_dead_workers(group);
    snprintf(sys.describe, sizeof sys.describe,
             "limits: cgroup %s (%s); kill/freeze: cgroup %s (%s); %d dead workers' cgroups removed%s",
             v2_limits ? "v2" : "v1", v2_limits ? sys.v2 : sys.v1[H_MEMORY], v2_control ? "v2" : "v1 freezer",
             v2_control ? sys.v2 : sys.v1[H_FREEZER], swept,
             owner_locked ? "" : " (no owner lock: this worker's own will not be swept if it dies)");
    sys.ready = true;
    return 0;
}

void sq_cgroups_cleanup(void)
{
    if (!sys.ready)
        return;
    /* Only the parent itself, and rmdir only removes an empty cgroup: a
     * sandbox still running (or another worker's, were two to share an id)
     * keeps it. */
    bool all_gone = true;
    if (sys.v2[0] && rmdir(sys.v2) < 0 && errno != ENOENT)
        all_gone = false;
    for (int h = 0; h < H_V1_COUNT; h++)
        if (sys.v1[h][0] && rmdir(sys.v1[h]) < 0 && errno != ENOENT)
            all_gone = false;
    /* The lock file goes only with the trees: one left behind (a sandbox
     * still running) stays sweepable by the next worker that starts. */
    sq_cg_owner_unlock(sys.group, all_gone);
}

const char *sq_cgroups_describe(void)
{
    return sys.ready ? sys.describe : "cgroups not initialised";
}

/* ---- one sandbox ---------------------------------------------------------- */

static const char *control_dir(const struct sq_cgroup *cg)
{
    return cg->control_v2 ? cg->v2 : cg->v1[H_FREEZER];
}

int sq_cgroup_create(const char *name, const sq_sandbox_limits *lim, struct sq_cgroup **out, sq_err *err)
{
    *out = NULL;
    if (!sys.ready)
        return sq_err_set(err, SQ_INTERNAL, "limits asked for, but sq_cgroups_init was not called");
    sq_autofree struct sq_cgroup *cg = calloc(1, sizeof *cg);
    if (!cg)
        return sq_err_errno(err, "calloc");
    cg->limits_v2 = sys.limits_v2;
    cg->control_v2 = sys.control_v2;
    if (sys.v2[0])
        snprintf(cg->v2, sizeof cg->v2, "%s/%s", sys.v2, name);
    for (int h = 0; h < H_V1_COUNT; h++)
        if (sys.v1[h][0])
            snprintf(cg->v1[h], sizeof cg->v1[h], "%s/%s", sys.v1[h], name);

    const char *dirs[1 + H_V1_COUNT] = {cg->v2, cg->v1[0], cg->v1[1], cg->v1[2], cg->v1[3]};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (dirs[i][0] && mkdir(dirs[i], 0755) < 0) {
            sq_err_errno(err, "mkdir %s", dirs[i]); /* before the destroy: dirs[i] is in cg */
            sq_cgroup_destroy(sq_steal_ptr(&cg));
            return -1;
        }
    }
    int rc = cg->limits_v2 ? sq_cg2_limits(cg->v2, lim, err)
                           : (sq_cg1_limit_memory(cg->v1[H_MEMORY], lim->memory_bytes, err) < 0 ||
                              sq_cg1_limit_cpu(cg->v1[H_CPU], lim->cpu_millis, err) < 0 ||
                              sq_cg1_limit_pids(cg->v1[H_PIDS], lim->pids, err) < 0)
                                 ? -1
                                 : 0;
    if (rc < 0) {
        sq_cgroup_destroy(sq_steal_ptr(&cg));
        return -1;
    }
    *out = sq_steal_ptr(&cg);
    return 0;
}

int sq_cgroup_add(struct sq_cgroup *cg, pid_t pid, sq_err *err)
{
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    const char *dirs[1 + H_V1_COUNT] = {cg->v2, cg->v1[0], cg->v1[1], cg->v1[2], cg->v1[3]};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i][0] && sq_cg_write(dirs[i], "cgroup.procs", p) < 0)
            return sq_err_errno(err, "cgroup placement %s", dirs[i]);
    return 0;
}

int sq_cgroup_freeze(struct sq_cgroup *cg, bool frozen, sq_err *err)
{
    return cg->control_v2 ? sq_cg2_freeze(cg->v2, frozen, err) : sq_cg1_freeze(cg->v1[H_FREEZER], frozen, err);
}

void sq_cgroup_kill(struct sq_cgroup *cg)
{
    if (cg->control_v2) {
        sq_cg2_kill(cg->v2);
        /* Frozen processes die from SIGKILL on v2; thawing is for a sandbox
         * that is paused and killed: nothing must stay frozen behind. */
        sq_cg2_freeze(cg->v2, false, NULL);
    } else {
        sq_cg1_kill(cg->v1[H_FREEZER]);
    }
}

uint64_t sq_cgroup_oom_kills(struct sq_cgroup *cg)
{
    /* v2 memory.events counts the subtree; v1's oom_control counts this
     * cgroup (the sandbox has no memory sub-cgroups). */
    return cg->limits_v2 ? sq_cg_keyed(cg->v2, "memory.events", "oom_kill")
                         : sq_cg_keyed(cg->v1[H_MEMORY], "memory.oom_control", "oom_kill");
}

void sq_cgroup_destroy(struct sq_cgroup *cg)
{
    if (!cg)
        return;
    sq_cgroup_kill(cg);
    const char *dirs[1 + H_V1_COUNT] = {cg->v2, cg->v1[0], cg->v1[1], cg->v1[2], cg->v1[3]};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i][0])
            sq_cg_rmdir_tree(dirs[i]);
    free(cg);
}

/* The directory of task `id`: t<n>, n being the id of the task that made it. */
static void task_dir(const struct sq_cgroup *cg, uint32_t id, char *out)
{
    uint32_t n = id == cg->task_id ? cg->task_dir_id : id;
    snprintf(out, PATH_MAX, "%s/t%u", control_dir(cg), (unsigned)n);
}

int sq_cgroup_task_begin(struct sq_cgroup *cg, pid_t init, uint32_t id, sq_err *err)
{
    cg->task_id = id;
    cg->task_dir_id = cg->spare_dir_id ? cg->spare_dir_id : id;
    bool reused = cg->spare_dir_id != 0;
    cg->spare_dir_id = 0;
    char dir[PATH_MAX], p[32];
    task_dir(cg, id, dir);
    snprintf(p, sizeof p, "%d", (int)init);
    if (!reused && mkdir(dir, 0755) < 0 && errno != EEXIST)
        return sq_err_errno(err, "mkdir %s", dir);
    if (sq_cg_write(dir, "cgroup.procs", p) < 0)
        return sq_err_errno(err, "cgroup placement %s", dir);
    return 0;
}

int sq_cgroup_task_placed(struct sq_cgroup *cg, pid_t init, sq_err *err)
{
    char p[32];
    snprintf(p, sizeof p, "%d", (int)init);
    if (sq_cg_write(control_dir(cg), "cgroup.procs", p) < 0)
        return sq_err_errno(err, "cgroup placement %s", control_dir(cg));
    return 0;
}

void sq_cgroup_task_kill(struct sq_cgroup *cg, uint32_t id)
{
    char dir[PATH_MAX];
    task_dir(cg, id, dir);
    if (cg->control_v2)
        sq_cg2_kill(dir);
    else
        sq_cg1_kill(dir);
}

void sq_cgroup_task_end(struct sq_cgroup *cg, uint32_t id)
{
    char dir[PATH_MAX], procs[64];
    task_dir(cg, id, dir);
    /* Empty (the command and all it started are gone): keep it for the next
     * task. A cgroup's mkdir and rmdir create and remove every one of its
     * control files, which cost more than the rest of a short task's cgroup
     * work; reading cgroup.procs is one small read. With processes still in
     * it (the task left something running in the background) it stays until
     * the sandbox is destroyed, so a later task's timeout never kills them. */
    if (!cg->spare_dir_id && sq_cg_read(dir, "cgroup.procs", procs, sizeof procs) == 0) {
        cg->spare_dir_id = id == cg->task_id ? cg->task_dir_id : id;
        return;
    }
    rmdir(dir); /* EBUSY while its background processes live: removed with the sandbox */
}

/* Freeze or thaw the task cgroups that hold processes: what the sandbox's
 * earlier commands left running. Used around a command that must see the
 * sandbox still (a checkpoint's tar): freezing the sandbox itself would
 * freeze that command too, since a freezer freezes a cgroup's descendants.
 * Only non-empty t<n> are frozen, so the command about to start — born in a
 * new t<n> or in the spare, which is empty — never is; thaw writes every t<n>
 * (thawing one that is not frozen is a no-op). */
int sq_cgroup_freeze_tasks(struct sq_cgroup *cg, bool frozen, sq_err *err)
{
    DIR *d = opendir(control_dir(cg));
    if (!d)
        return sq_err_errno(err, "opendir %s", control_dir(cg));
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] != 't' || e->d_name[1] < '0' || e->d_name[1] > '9' ||
            e->d_name[strspn(e->d_name + 1, "0123456789") + 1] != '\0')
            continue;
        char dir[PATH_MAX], procs[64];
        snprintf(dir, sizeof dir, "%s/%s", control_dir(cg), e->d_name);
        if (frozen && sq_cg_read(dir, "cgroup.procs", procs, sizeof procs) <= 0)
            continue; /* empty (or gone): nothing to freeze, and the spare must stay usable */
        int r = cg->control_v2 ? sq_cg2_freeze(dir, frozen, frozen ? err : NULL)
                               : sq_cg1_freeze(dir, frozen, frozen ? err : NULL);
        if (r < 0 && frozen) {
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}
