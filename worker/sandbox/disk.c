/* disk.c — see disk.h. The steps of sq_disk_attach:
 *
 *   image      <dir>/../.<name>.disk, O_EXCL, fallocate(size): the host's
 *              blocks are reserved now, or we fail now (ENOSPC → limit_exceeded)
 *   format     copy the extents of a template made once per size with
 *              mkfs.ext4: no journal (the workspace does not outlive a crash
 *              of its sandbox anyway), no reserved blocks, nodiscard (a
 *              discard through a file would punch holes: give the reservation
 *              back to the host)
 *   loop       LOOP_CTL_GET_FREE + LOOP_CONFIGURE with AUTOCLEAR (the device
 *              detaches itself when the file system is unmounted) and direct
 *              I/O where the backing file system allows it (no second copy of
 *              every page in the page cache)
 *   mount      ext4 on dir, nosuid,nodev,noatime; chown its root to the
 *              sandbox's root
 *   unlink     the image: from here the mount is the only reference
 *
 * Why ext4-on-loop and not a size-limited tmpfs or project quotas: a tmpfs is
 * memory, and a workspace of gigabytes must not be; project quotas need the
 * operator's file system mounted with prjquota, which sandq cannot assume.
 * Cost: about a millisecond per sandbox once the size's template exists, and
 * one loop device per live sandbox.
 *
 * Templates are a cache, and its keys (diskMb) come from clients: each size
 * leaves a file behind, so without a bound a client walking through sizes
 * fills the host's disk with them. A workspace root keeps at most
 * sq_disk_set_templates_max of them (default 8), least recently used first
 * out: a template's mtime is set each time it is used, and making a new one
 * removes the oldest beyond the bound. The worker trims the directory the
 * same way at start (sq_disk_prune_templates), with the temporaries of a
 * worker that died while running mkfs. */
#include "disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <linux/loop.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "sandbox_int.h"
#include "sq/cleanup.h"

#define SQ_MKFS_TIMEOUT_MS 30000
/* A template temporary older than this belongs to a worker that died during
 * mkfs (which is given SQ_MKFS_TIMEOUT_MS). */
#define SQ_TEMPLATE_TMP_STALE_S 600
/* Two workers may pick the same free loop device; the loser retries. */
#define SQ_LOOP_TRIES 16

/* LOOP_CTL_GET_FREE names the first unbound device and only LOOP_CONFIGURE
 * binds it, so threads of one worker creating sandboxes at once would all be
 * handed the same device and all but one lose each round: with dozens of
 * creates in parallel, 16 tries ran out. One process takes the pair one thread
 * at a time (both ioctls are quick); only other processes can race it now. */
static pthread_mutex_t loop_mu = PTHREAD_MUTEX_INITIALIZER;

static atomic_int templates_max = SQ_DISK_TEMPLATES_DEFAULT;

void sq_disk_set_templates_max(int max)
{
    if (max >= 1)
        atomic_store(&templates_max, max);
}

static int image_path(const char *dir, char *out, size_t size, sq_err *err)
{
    const char *slash = strrchr(dir, '/');
    if (!slash || slash[1] == '\0')
        return sq_err_set(err, SQ_INTERNAL, "disk: %s is not a directory path", dir);
    int n = snprintf(out, size, "%.*s/.%s.disk", (int)(slash - dir), dir, slash + 1);
    if (n < 0 || (size_t)n >= size)
        return sq_err_set(err, SQ_INTERNAL, "disk: path too long");
    return 0;
}

static int make_image(const char *img, uint64_t size_mb, sq_err *err)
{
    int fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sq_err_errno(err, "disk: create %s", img);
    int rc = posix_fallocate(fd, 0, (off_t)(size_mb << 20));
    if (rc != 0) {
        close(fd);
        unlink(img);
        if (rc == ENOSPC)
            return sq_err_set(err, SQ_LIMIT_EXCEEDED,
                              "the worker's disk has no room for a %llu MiB workspace",
                              (unsigned long long)size_mb);
        errno = rc;
        return sq_err_errno(err, "disk: fallocate %llu MiB", (unsigned long long)size_mb);
    }
    return fd;
}

static int run_mkfs(const char *img, uid_t uid, gid_t gid, sq_err *err)
{
    char mkfs[PATH_MAX];
    if (sq_helper_find("SANDQ_MKFS_EXT4", "mkfs.ext4", mkfs, sizeof mkfs, err) < 0)
        return -1;
    char ext[160];
    snprintf(ext, sizeof ext, "root_owner=%u:%u,nodiscard,lazy_itable_init=1", (unsigned)uid, (unsigned)gid);
    const char *argv[] = {mkfs, "-q", "-F", "-b", "4096", "-m", "0", "-O", "^has_journal", "-E", ext, "-L", "sandq-ws", img,
                          NULL};
    sq_helper_opts o = {.path = mkfs, .argv = argv, .netns_fd = -1, .stdin_fd = -1, .fds = {-1, -1}};
    sq_helper h;
    if (sq_helper_spawn(&o, &h, err) < 0 || sq_helper_wait(&h, SQ_MKFS_TIMEOUT_MS, err) < 0)
        return sq_err_wrap(err, "disk");
    return 0;
}

/* The formatted-but-empty file system of a size, made once per size and
 * directory: "<parent>/.sandq-ext4-<size>m.template", a sparse file holding
 * only what mkfs wrote (~0.6 MiB for 1 GiB). Copying those extents into a new
 * image is several times faster than running mkfs again (bench_runtime). It is
 * made under a temporary name and renamed into place, so concurrent workers
 * never see half a template. */
static int template_path(const char *img, uint64_t size_mb, char *out, size_t size, sq_err *err)
{
    const char *slash = strrchr(img, '/');
    int n = snprintf(out, size, "%.*s/.sandq-ext4-%llum.template", (int)(slash - img), img,
                     (unsigned long long)size_mb);
    if (n < 0 || (size_t)n >= size)
        return sq_err_set(err, SQ_INTERNAL, "disk: path too long");
    return 0;
}

/* 1 for ".sandq-ext4-<n>m.template", 2 for a temporary of one
 * ("….template.<pid>.<tid>.tmp"), 0 for anything else. */
static int template_kind(const char *name)
{
    static const char pre[] = ".sandq-ext4-", suf[] = "m.template";
    if (strncmp(name, pre, sizeof pre - 1) != 0)
        return 0;
    const char *p = name + sizeof pre - 1;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (strncmp(p, suf, sizeof suf - 1) != 0)
        return 0;
    p += sizeof suf - 1;
    if (*p == '\0')
        return 1;
    size_t n = strlen(p);
    return *p == '.' && n > 4 && strcmp(p + n - 4, ".tmp") == 0 ? 2 : 0;
}

struct tpl_entry {
    char name[NAME_MAX + 1];
    struct timespec used;
};

static int newest_first(const void *a, const void *b)
{
    const struct timespec *x = &((const struct tpl_entry *)a)->used, *y = &((const struct tpl_entry *)b)->used;
    if (x->tv_sec != y->tv_sec)
        return x->tv_sec < y->tv_sec ? 1 : -1;
    return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

int sq_disk_prune_templates(const char *root, int max)
{
    DIR *d = opendir(root);
    if (!d)
        return 0;
    int dfd = dirfd(d), removed = 0;
    struct tpl_entry *v = NULL;
    size_t n = 0, cap = 0;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        int kind = template_kind(e->d_name);
        struct stat st;
        if (!kind || fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (kind == 2) {
            if (now - st.st_mtime > SQ_TEMPLATE_TMP_STALE_S && unlinkat(dfd, e->d_name, 0) == 0)
                removed++;
            continue;
        }
        if (n == cap) {
            size_t c = cap ? cap * 2 : 16;
            struct tpl_entry *nv = realloc(v, c * sizeof *nv);
            if (!nv)
                break;
            v = nv;
            cap = c;
        }
        snprintf(v[n].name, sizeof v[n].name, "%s", e->d_name);
        v[n++].used = st.st_mtim;
    }
    if (max < 1)
        max = 1;
    if (n > (size_t)max) {
        qsort(v, n, sizeof *v, newest_first);
        /* Another worker may still copy from one of these: its open fd keeps
         * the blocks until it is done; the name is all that goes. */
        for (size_t i = (size_t)max; i < n; i++)
            removed += unlinkat(dfd, v[i].name, 0) == 0;
    }
    free(v);
    closedir(d);
    return removed;
}

static int open_template(const char *img, uint64_t size_mb, sq_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 64];
    if (template_path(img, size_mb, path, sizeof path, err) < 0)
        return -1;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
        (uint64_t)st.st_size == size_mb << 20) {
        futimens(fd, NULL); /* used now: the last to be pruned (best effort) */
        return fd;
    }
    if (fd >= 0)
        close(fd);
    snprintf(tmp, sizeof tmp, "%s.%d.%ld.tmp", path, (int)getpid(), (long)syscall(SYS_gettid));
    int t = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (t < 0)
        return sq_err_errno(err, "disk: create %s", tmp);
    int rc = ftruncate(t, (off_t)(size_mb << 20)) < 0 ? sq_err_errno(err, "disk: truncate %s", tmp) : 0;
    close(t);
    /* Root owned by 0:0 here; each image's root is chowned after mounting. */
    if (rc == 0)
        rc = run_mkfs(tmp, 0, 0, err);
    /* Opened before the rename: a prune by another worker may remove the name
     * the moment it appears, and this fd stays good whatever happens to it. */
    fd = -1;
    if (rc == 0 && (fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        rc = sq_err_errno(err, "disk: open %s", tmp);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = sq_err_errno(err, "disk: rename %s", tmp);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return -1;
    }
    /* One size more in the cache: drop the least recently used beyond the bound. */
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    sq_disk_prune_templates(dir, atomic_load(&templates_max));
    return fd;
}

/* Copy the template's data extents (everything else reads as zeros in both). */
static int copy_template(int from, int to, uint64_t size_mb, sq_err *err)
{
    off_t end = (off_t)(size_mb << 20), off = 0;
    while (off < end) {
        off_t data = lseek(from, off, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)
                break; /* no more data */
            return sq_err_errno(err, "disk: SEEK_DATA");
        }
        off_t hole = lseek(from, data, SEEK_HOLE);
        if (hole < 0)
            return sq_err_errno(err, "disk: SEEK_HOLE");
        loff_t in = data, out = data;
        size_t left = (size_t)(hole - data);
        while (left > 0) {
            ssize_t n = copy_file_range(from, &in, to, &out, left, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return sq_err_errno(err, "disk: copy template");
            left -= (size_t)n;
        }
        off = hole;
    }
    return 0;
}

/* Attach the image to a free loop device; returns the open device fd and its
 * path. AUTOCLEAR: detached when the last user (our fd, then the mount) goes. */
static int attach_loop_locked(int img_fd, char *dev, size_t size, sq_err *err)
{
    sq_autoclose int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        return sq_err_errno(err, "disk: open /dev/loop-control");
    for (int attempt = 0; attempt < SQ_LOOP_TRIES; attempt++) {
        int n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0)
            return sq_err_errno(err, "disk: LOOP_CTL_GET_FREE");
        snprintf(dev, size, "/dev/loop%d", n);
        int fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return sq_err_errno(err, "disk: open %s", dev);
        struct loop_config cfg = {.fd = (unsigned)img_fd, .block_size = 4096};
        cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
        int rc = ioctl(fd, LOOP_CONFIGURE, &cfg);
        if (rc < 0 && errno == EINVAL) {
            /* No direct I/O on this backing file system: go through the page cache. */
            cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
            cfg.block_size = 0;
            rc = ioctl(fd, LOOP_CONFIGURE, &cfg);
        }
        if (rc == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e != EBUSY) {
            errno = e;
            return sq_err_errno(err, "disk: LOOP_CONFIGURE %s", dev);
        }
    }
    return sq_err_set(err, SQ_INTERNAL, "disk: no free loop device after %d tries", SQ_LOOP_TRIES);
}

static int attach_loop(int img_fd, char *dev, size_t size, sq_err *err)
{
    pthread_mutex_lock(&loop_mu);
    int fd = attach_loop_locked(img_fd, dev, size, err);
    pthread_mutex_unlock(&loop_mu);
    return fd;
}

int sq_disk_attach(const char *dir, uint64_t size_mb, uid_t uid, gid_t gid, sq_err *err)
{
    if (size_mb < 1 || size_mb > (UINT64_C(1) << 30))
        return sq_err_set(err, SQ_INVALID_REQUEST, "disk size %llu MiB is out of range",
                          (unsigned long long)size_mb);
    char img[PATH_MAX], dev[32];
    if (image_path(dir, img, sizeof img, err) < 0)
        return -1;
    sq_autoclose int img_fd = make_image(img, size_mb, err);
    if (img_fd < 0)
        return -1;
    sq_autoclose int tpl = open_template(img, size_mb, err);
    int rc = tpl < 0 ? -1 : copy_template(tpl, img_fd, size_mb, err);
    sq_autoclose int loop_fd = rc < 0 ? -1 : attach_loop(img_fd, dev, sizeof dev, err);
    /* noinit_itable: the inode tables were never written (lazy_itable_init)
     * and read as zeros from the preallocated image, so the kernel's
     * background thread that would zero them is not needed. */
    if (loop_fd >= 0 && mount(dev, dir, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "noinit_itable") < 0)
        rc = sq_err_errno(err, "disk: mount %s on %s", dev, dir);
    if (loop_fd < 0)
        rc = -1;
    /* Mounted or not, the image goes: the mount (if any) holds it now. */
    unlink(img);
    if (rc < 0)
        return -1;
    /* The file system's root belongs to the sandbox's root. mkfs leaves a
     * lost+found; a workspace listing should show only what the sandbox wrote
     * (e2fsck would recreate it if it were ever needed). */
    if (chown(dir, uid, gid) < 0) {
        rc = sq_err_errno(err, "disk: chown %s", dir);
        umount2(dir, MNT_DETACH);
        return rc;
    }
    char lf[PATH_MAX];
    snprintf(lf, sizeof lf, "%s/lost+found", dir);
    rmdir(lf);
    return 0;
}

int sq_disk_detach(const char *dir, sq_err *err)
{
    if (umount2(dir, UMOUNT_NOFOLLOW) == 0)
        return 0;
    if (errno == EINVAL) /* not a mount point: nothing attached */
        return 0;
    if (errno == EBUSY && umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        return 0;
    return sq_err_errno(err, "disk: unmount %s", dir);
}
