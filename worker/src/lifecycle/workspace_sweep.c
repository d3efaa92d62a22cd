/* workspace_sweep.c — see workspace_sweep.h. */
#include "lifecycle/workspace_sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/ws_fs.h"
#include "sandbox/disk.h"
#include "lifecycle/slots.h"
#include "sq/log.h"

/* The slot whose lock we now hold (fd ≥ 0), -1 if it is held by a live worker
 * or the directory is not a sandbox workspace. */
static int lock_free_slot(sq_worker *w, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode) || (int64_t)st->st_uid < w->cfg.uid_base)
        return -1;
    int64_t off = (int64_t)st->st_uid - w->cfg.uid_base;
    if (off % SQ_SLOT_IDS != 0 || off / SQ_SLOT_IDS >= w->cfg.max_sandboxes)
        return -1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/slot-%lld.lock", w->cfg.run_dir, (long long)(off / SQ_SLOT_IDS));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool remove_workspace(const char *path, sq_log_ctx *lc)
{
    sq_err err;
    if (sq_disk_detach(path, &err) < 0) {
        sq_warn(lc, "sweep: %s", err.msg);
        return false;
    }
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 || sq_ws_remove_tree_at(dfd, &err) < 0) {
        sq_warn(lc, "sweep: could not empty %s", path);
        if (dfd >= 0)
            close(dfd);
        return false;
    }
    close(dfd);
    if (rmdir(path) < 0) {
        sq_warn(lc, "sweep: could not remove %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

int sq_workspace_sweep(sq_worker *w)
{
    DIR *d = opendir(w->cfg.workspace_root);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "sbx_", 4) != 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", w->cfg.workspace_root, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        int lock = lock_free_slot(w, &st);
        if (lock < 0)
            continue;
        sq_log_ctx lc = {.sandbox_id = e->d_name};
        if (remove_workspace(path, &lc)) {
            removed++;
            sq_info(&lc, "sweep: removed the workspace a stopped worker left behind");
        }
        close(lock);
    }
    closedir(d);

    /* Images whose workspace is gone: a worker died between making and mounting one. */
    d = opendir(w->cfg.workspace_root);
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, ".sbx_", 5) != 0 || n < 10 || strcmp(e->d_name + n - 5, ".disk") != 0)
            continue;
        char ws[PATH_MAX], img[PATH_MAX];
        snprintf(ws, sizeof ws, "%s/%.*s", w->cfg.workspace_root, (int)(n - 6), e->d_name + 1);
        snprintf(img, sizeof img, "%s/%s", w->cfg.workspace_root, e->d_name);
        if (access(ws, F_OK) < 0 && errno == ENOENT)
            unlink(img);
    }
    if (d)
        closedir(d);

    /* Disk templates beyond the bound (an earlier worker may have run with a
     * larger SANDQ_DISK_TEMPLATES, or an older one with none), and the
     * temporaries of a worker that died during mkfs. */
    int templates = sq_disk_prune_templates(w->cfg.workspace_root, (int)w->cfg.disk_templates);
    if (templates > 0)
        sq_info(NULL, "sweep: removed %d disk template file%s beyond SANDQ_DISK_TEMPLATES=%lld or left half-made",
                templates, templates == 1 ? "" : "s", (long long)w->cfg.disk_templates);
    return removed;
}
