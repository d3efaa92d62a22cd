/* cgroup_owners.c — which worker ids under <own cgroup>/sandq/ are alive, and
 * sweeping the empty cgroup trees that dead ones left behind.
 *
 * A worker killed with SIGKILL cannot remove its cgroups: its sandboxes die
 * with it (their init has PR_SET_PDEATHSIG), but the empty directories
 * sandq/<worker-id>/<sandbox-id>[/t<n>] stay until a worker with the same id
 * starts again, which in a fleet (ids from pod names) may be never.
 *
 * Liveness is an flock: every worker holds an exclusive lock on
 * SQ_CGROUP_OWNERS_DIR/<worker-id>.lock for its whole life (the kernel drops it
 * when the process dies, however it dies). At start a worker tries each other
 * id's lock; one it can take belongs to a dead worker, whose trees it removes
 * (rmdir only: a cgroup that still has a process is never touched). An id with
 * no lock file (a worker of an older build, or of another host's view) is left
 * alone: without the lock we cannot tell it is dead. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "sq/fsutil.h"

static int owner_fd = -1;

static void lock_path(const char *id, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s.lock", SQ_CGROUP_OWNERS_DIR, id);
}

int sq_cg_owner_lock(const char *worker_id)
{
    if (owner_fd >= 0)
        return 0;
    if (sq_mkdir_p(SQ_CGROUP_OWNERS_DIR, 0700) < 0)
        return -1;
    char path[PATH_MAX];
    lock_path(worker_id, path);
    /* O_CLOEXEC: a sandbox's processes must not inherit the lock and keep a
     * dead worker looking alive. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    /* A sweeping worker holds this lock for a few milliseconds while it checks
     * us; wait that out. Held for longer, it is a live worker with our id
     * (a misconfiguration the group's static membership already fences):
     * carry on without the lock, which only means we are not swept. */
    for (int i = 0; i < 200; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            owner_fd = fd;
            return 0;
        }
        if (errno != EWOULDBLOCK && errno != EINTR)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

void sq_cg_owner_unlock(const char *worker_id, bool remove_file)
{
    if (owner_fd < 0)
        return;
    if (remove_file) { /* still locked: nobody can be sweeping us now */
        char path[PATH_MAX];
        lock_path(worker_id, path);
        unlink(path);
    }
    close(owner_fd);
    owner_fd = -1;
}

/* Remove id's tree under every hierarchy's sandq dir; true if none is left. */
static bool remove_trees(const char *const *sandq_dirs, int n, const char *id)
{
    bool gone = true;
    for (int i = 0; i < n; i++) {
        char tree[PATH_MAX];
        if (snprintf(tree, sizeof tree, "%s/%s", sandq_dirs[i], id) >= (int)sizeof tree)
            return false;
        sq_cg_rmdir_tree(tree);
        if (access(tree, F_OK) == 0)
            gone = false;
    }
    return gone;
}

int sq_cg_sweep_dead_owners(const char *const *sandq_dirs, int n, const char *self_id)
{
    int swept = 0;
    /* Every hierarchy holds the same ids; a tree left in only some of them
     * (a crash half-way through a create) is found through any. */
    for (int i = 0; i < n; i++) {
        DIR *d = opendir(sandq_dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_type != DT_DIR || e->d_name[0] == '.' || strcmp(e->d_name, self_id) == 0)
                continue;
            char path[PATH_MAX];
            lock_path(e->d_name, path);
            int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0)
                continue; /* no lock file: unknown owner, left alone */
            if (flock(fd, LOCK_EX | LOCK_NB) == 0 && remove_trees(sandq_dirs, n, e->d_name)) {
                swept++;
                /* Unlinked while locked: a worker of that id starting now
                 * either waits for our lock and then finds no tree to lose,
                 * or opens a new file; neither is swept wrongly. */
                unlink(path);
            }
            close(fd);
        }
        closedir(d);
    }
    return swept;
}
