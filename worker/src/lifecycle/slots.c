/* slots.c — see slots.h. */
#include "lifecycle/slots.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int sq_slot_acquire(sq_worker *w, sq_live_sandbox *sb, sq_err *err)
{
    for (int64_t n = 0; n < w->cfg.max_sandboxes; n++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/slot-%lld.lock", w->cfg.run_dir, (long long)n);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return sq_err_errno(err, "open %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            sb->slot = (int)n;
            sb->slot_lock_fd = fd;
            sb->host_uid = (uid_t)(w->cfg.uid_base + n * SQ_SLOT_IDS);
            sb->host_gid = (gid_t)(w->cfg.uid_base + n * SQ_SLOT_IDS);
            return 0;
        }
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK) {
            errno = e;
            return sq_err_errno(err, "flock %s", path);
        }
    }
    return sq_err_set(err, SQ_LIMIT_EXCEEDED, "this worker runs its maximum of %lld sandboxes",
                      (long long)w->cfg.max_sandboxes);
}

void sq_slot_release(sq_live_sandbox *sb)
{
    if (sb->slot_lock_fd >= 0)
        close(sb->slot_lock_fd); /* closing the last fd drops the flock */
    sb->slot_lock_fd = -1;
}
