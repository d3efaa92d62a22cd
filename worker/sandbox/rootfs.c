/* rootfs.c — the mount namespace: a new root made of read-only host binds.
 *
 *   /                tmpfs, read-only once built
 *   /usr /bin /sbin  read-only binds of the host's (or symlinks, when the host
 *   /lib /lib32 …    has merged /usr: Debian 12's /bin is a link to usr/bin)
 *   /etc/…           a chosen few host files, read-only (etc_entries below)
 *   /workspace       read-write bind of opts->workspace_dir
 *   /tmp             tmpfs, opts->tmp_size_mb, nosuid,nodev
 *   /proc            a fresh proc of the sandbox's pid namespace, with the
 *                    host-wide entries masked or read-only (proc_masked below)
 *   /dev             dev.c
 *
 * Parent half: sq_plan_rootfs looks at the host and writes the list of binds
 * and links (it may allocate, list directories, readlink). Child half: sq_child_rootfs
 * executes that list with plain system calls, and sq_child_pivot swaps roots.
 *
 * Kernel rules that shape this file:
 * - A mount namespace created together with a user namespace gets its copies of
 *   the host's mounts "locked": their nosuid/nodev/noexec/ro/atime flags cannot
 *   be cleared, and a non-recursive bind of a tree with locked submounts fails
 *   with EINVAL. Hence MS_REC on every bind, and sq_remount_bind keeps the
 *   flags it finds (a remount that drops a locked flag fails with EPERM).
 * - MS_BIND ignores MS_RDONLY: read-only needs a second MS_REMOUNT|MS_BIND.
 *   That remount applies to the top mount only; submounts of a bound tree keep
 *   their own flags (the host has none under these paths today).
 * - proc may be mounted in a user namespace only if a proc mount that is not
 *   partly hidden is visible in the caller's mount namespace: mount it before
 *   the old root (and with it the host's /proc) is detached.
 * - pivot_root refuses a new root on a shared mount: make everything private
 *   first, which also keeps our mounts from propagating to the host. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h> /* ST_* flag names; statfs(2) reports them in f_flags */
#include <sys/syscall.h>
#include <unistd.h>

#include "netpolicy.h"
#include "sandbox_int.h"

#define SQ_DEFAULT_TMP_MB 64

/* Top-level host trees. Absent ones are skipped; symlinks are recreated. */
static const char *const top_entries[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                                          "/libx32", NULL};

/* What programs expect to find in /etc: users and groups (so `id` has names),
 * name resolution, the dynamic linker cache, TLS roots, the Debian
 * alternatives behind /usr/bin/awk, editor, pager …, time zone, shell
 * start-up files, and per-interpreter configuration (/etc/python3.X holds
 * sitecustomize.py, which /usr/lib/python3.X links to). */
static const char *const etc_entries[] = {
    "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
    "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/networks",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ssl", "/etc/ca-certificates",
    "/etc/ca-certificates.conf", "/etc/alternatives", "/etc/localtime", "/etc/timezone",
    "/etc/os-release", "/etc/debian_version", "/etc/mime.types", "/etc/fonts", "/etc/profile",
    "/etc/profile.d", "/etc/bash.bashrc", "/etc/inputrc", "/etc/perl",
    /* LibreOffice's configuration registry (Debian links
     * /usr/lib/libreoffice/share/registry here): soffice cannot start
     * without it (the documents capability, docs/documents.md). */
    "/etc/libreoffice", NULL};
/* Entries of /etc starting with these (python3, python3.11 …). */
static const char *const etc_prefixes[] = {"python3", NULL};

/* /proc entries that are not the sandbox's own but the host's (kernel memory,
 * keyrings, timers, hardware), as Docker masks them: files are covered by the
 * host's /dev/null (they read empty), directories by an empty read-only
 * tmpfs. Entries the running kernel does not have are skipped. */
static const char *const proc_masked[] = {"kcore",       "keys",          "timer_list", "sched_debug",
                                          "latency_stats", "timer_stats", "acpi",       "scsi",
                                          NULL};
/* Host-wide knobs that stay visible but read-only. Today the kernel's own
 * checks already refuse the sandbox (no capabilities; sysctl files grant
 * writes to the initial namespace's root, or to CAP_NET_ADMIN over the
 * network namespace for its sysctls); the read-only mount keeps it so if a
 * capability is ever handed to sandboxes, and hides nothing anyone reads. */
static const char *const proc_readonly[] = {"sysrq-trigger", "sys", "irq", "bus", "fs", NULL};

/* ---- parent: plan ---------------------------------------------------- */

static int plan_add(struct sq_setup *s, enum sq_mnt_kind kind, bool is_dir, const char *src,
                    const char *host_path, sq_err *err)
{
    if (s->nmnts == s->cap_mnts) {
        size_t cap = s->cap_mnts ? s->cap_mnts * 2 : 32;
        struct sq_mnt *v = realloc(s->mnts, cap * sizeof *v);
        if (!v)
            return sq_err_errno(err, "realloc");
        s->mnts = v;
        s->cap_mnts = cap;
    }
    struct sq_mnt *m = &s->mnts[s->nmnts];
    m->kind = kind;
    m->is_dir = is_dir;
    m->src = strdup(src);
    if (!m->src || asprintf(&m->dst, "%s%s", SQ_NEWROOT, host_path) < 0) {
        free(m->src);
        return sq_err_errno(err, "strdup");
    }
    s->nmnts++;
    return 0;
}

/* Expose host_path at the same path in the sandbox. A symlink is copied as a
 * link when it resolves into /usr (which the sandbox sees); otherwise what it
 * points to is bound in its place (e.g. a resolv.conf managed under /run). */
static int plan_host_path(struct sq_setup *s, const char *host_path, sq_err *err)
{
    struct stat st;
    if (lstat(host_path, &st) < 0)
        return errno == ENOENT ? 0 : sq_err_errno(err, "lstat %s", host_path);

    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX], real[PATH_MAX];
        ssize_t n = readlink(host_path, target, sizeof target - 1);
        if (n < 0)
            return sq_err_errno(err, "readlink %s", host_path);
        target[n] = '\0';
        if (!realpath(host_path, real))
            return 0; /* dangling on the host: nothing to show */
        if (strncmp(real, "/usr/", 5) == 0)
            return plan_add(s, SQ_MNT_SYMLINK, false, target, host_path, err);
        if (stat(real, &st) < 0)
            return 0;
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
            return 0;
        return plan_add(s, SQ_MNT_BIND_RO, S_ISDIR(st.st_mode), real, host_path, err);
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return 0;
    return plan_add(s, SQ_MNT_BIND_RO, S_ISDIR(st.st_mode), host_path, host_path, err);
}

int sq_plan_rootfs(struct sq_setup *s, sq_err *err)
{
    const sq_sandbox_opts *o = s->opts;

    /* The workspace is checked here and reopened by the child (see
     * sq_child_open_workspace); the bind source is the child's fd under the
     * same number. */
    s->workspace_fd = open(o->workspace_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->workspace_fd < 0)
        return sq_err_errno(err, "workspace %s", o->workspace_dir);
    struct stat wst;
    char real[PATH_MAX];
    snprintf(s->workspace_src, sizeof s->workspace_src, "/proc/self/fd/%d", s->workspace_fd);
    ssize_t n = readlink(s->workspace_src, real, sizeof real - 1);
    if (n < 0 || fstat(s->workspace_fd, &wst) < 0)
        return sq_err_errno(err, "workspace %s", o->workspace_dir);
    real[n] = '\0';
    if (!(s->workspace_path = strdup(real)))
        return sq_err_errno(err, "strdup");
    s->workspace_dev = wst.st_dev;
    s->workspace_ino = wst.st_ino;

    size_t mb = o->tmp_size_mb ? o->tmp_size_mb : SQ_DEFAULT_TMP_MB;
    snprintf(s->tmp_opts, sizeof s->tmp_opts, "mode=1777,size=%zum", mb);

    for (const char *const *p = top_entries; *p; p++)
        if (plan_host_path(s, *p, err) < 0)
            return -1;
    for (const char *const *p = etc_entries; *p; p++) {
        /* Internet mode: the resolver is slirp4netns's, not the host's
         * (which may be a 127.0.0.53 the sandbox cannot reach), or the
         * operator's own (SANDQ_SANDBOX_DNS: netpolicy.h). */
        if (o->network == SQ_NET_INTERNET && strcmp(*p, "/etc/resolv.conf") == 0) {
            uint32_t dns[SQ_DNS_MAX];
            size_t ndns;
            char conf[256];
            if (sq_netpolicy_dns_parse(o->dns, dns, &ndns, err) < 0)
                return -1;
            if (sq_netpolicy_resolv_conf(dns, ndns, conf, sizeof conf) < 0)
                return sq_err_set(err, SQ_INTERNAL, "resolv.conf too long");
            if (plan_add(s, SQ_MNT_FILE, false, conf, *p, err) < 0)
                return -1;
            continue;
        }
        /* Enforced proxy (docs/egress.md): DNS is closed, so a proxy named by
         * a host name is found through /etc/hosts, at the address the worker
         * pinned; nothing else of the host's hosts file would be reachable. */
        if (o->proxy_port && o->proxy_host && strcmp(*p, "/etc/hosts") == 0) {
            struct in_addr lit;
            if (inet_pton(AF_INET, o->proxy_host, &lit) != 1) {
                char hosts[512];
                int len = snprintf(hosts, sizeof hosts,
                                 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "%u.%u.%u.%u\t%s\n",
                                 o->proxy_addr >> 24, o->proxy_addr >> 16 & 255, o->proxy_addr >> 8 & 255,
                                 o->proxy_addr & 255, o->proxy_host);
                if (len < 0 || (size_t)len >= sizeof hosts)
                    return sq_err_set(err, SQ_INTERNAL, "hosts too long");
                if (plan_add(s, SQ_MNT_FILE, false, hosts, *p, err) < 0)
                    return -1;
                continue;
            }
        }
        if (plan_host_path(s, *p, err) < 0)
            return -1;
    }
    DIR *etc = opendir("/etc");
    if (!etc)
        return sq_err_errno(err, "opendir /etc");
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(etc))) {
        for (const char *const *p = etc_prefixes; *p && rc == 0; p++) {
            char path[PATH_MAX];
            if (strncmp(e->d_name, *p, strlen(*p)) != 0)
                continue;
            snprintf(path, sizeof path, "/etc/%s", e->d_name);
            rc = plan_host_path(s, path, err);
        }
    }
    closedir(etc);
    if (rc < 0)
        return -1;
    return 0;
}

void sq_plan_rootfs_free(struct sq_setup *s)
{
    free(s->workspace_path);
    s->workspace_path = NULL;
    for (size_t i = 0; i < s->nmnts; i++) {
        free(s->mnts[i].src);
        free(s->mnts[i].dst);
    }
    free(s->mnts);
    s->mnts = NULL;
    s->nmnts = s->cap_mnts = 0;
}

/* ---- child: execute ---------------------------------------------------- */

/* The parent's workspace fd cannot be the bind source: a bind must come from
 * a mount of the caller's own mount namespace (else EINVAL), and that fd points
 * into the worker's. So the child reopens the path in its new namespace — before
 * the staging tmpfs covers /tmp (where a workspace may live) and before it
 * becomes host_uid (which may not be allowed to search the workspace's parent
 * directories) — checks it is the very directory the parent opened, and puts
 * it under the parent's fd number, so workspace_src stays right. */
int sq_child_open_workspace(struct sq_child *c)
{
    const struct sq_setup *s = c->setup;
    int fd = open(s->workspace_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return sq_child_fail(c, "open workspace", s->workspace_path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sq_child_fail(c, "stat workspace", s->workspace_path);
    if (st.st_dev != s->workspace_dev || st.st_ino != s->workspace_ino) {
        errno = ESTALE;
        return sq_child_fail(c, "workspace was replaced", s->workspace_path);
    }
    if (dup3(fd, s->workspace_fd, O_CLOEXEC) < 0)
        return sq_child_fail(c, "dup3 workspace", NULL);
    close(fd);
    return 0;
}

int sq_remount_bind(const char *path, unsigned long extra_flags)
{
    static const struct {
        unsigned long st, ms;
    } keep[] = {
        {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
        {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME},       {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME},
    };
    struct statfs sf;
    if (statfs(path, &sf) < 0)
        return -1;
    unsigned long flags = MS_REMOUNT | MS_BIND | extra_flags;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if ((unsigned long)sf.f_flags & keep[i].st)
            flags |= keep[i].ms;
    return mount(NULL, path, NULL, flags, NULL);
}

/* mkdir -p of the parent directories of path (all inside the staging root). */
static int mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if (sq_strlcpy(buf, path, sizeof buf) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + sizeof SQ_NEWROOT; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static int make_mountpoint(const char *path, bool is_dir)
{
    if (mkdir_parents(path) < 0)
        return -1;
    if (is_dir)
        return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int write_file(const char *path, const char *text)
{
    if (mkdir_parents(path) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int e = n < 0 ? errno : EIO;
    close(fd);
    if (n != (ssize_t)len) {
        errno = e;
        return -1;
    }
    return 0;
}

static int child_plan(struct sq_child *c)
{
    const struct sq_setup *s = c->setup;
    for (size_t i = 0; i < s->nmnts; i++) {
        const struct sq_mnt *m = &s->mnts[i];
        if (m->kind == SQ_MNT_SYMLINK) {
            if (mkdir_parents(m->dst) < 0 || symlink(m->src, m->dst) < 0)
                return sq_child_fail_in_root(c, "symlink", m->dst);
            continue;
        }
        if (m->kind == SQ_MNT_FILE) {
            if (write_file(m->dst, m->src) < 0)
                return sq_child_fail_in_root(c, "write", m->dst);
            continue;
        }
        if (make_mountpoint(m->dst, m->is_dir) < 0)
            return sq_child_fail_in_root(c, "mountpoint", m->dst);
        if (mount(m->src, m->dst, NULL, MS_BIND | MS_REC, NULL) < 0)
            return sq_child_fail_in_root(c, "bind", m->dst);
        if (sq_remount_bind(m->dst, MS_RDONLY | MS_NOSUID | MS_NODEV) < 0)
            return sq_child_fail_in_root(c, "remount read-only", m->dst);
    }
    return 0;
}

/* Mask and freeze the host-wide parts of the sandbox's /proc (proc_masked,
 * proc_readonly). Done right after mounting it, while the host's /dev/null is
 * still reachable as a bind source. Mounting over these entries also makes
 * this proc "partly hidden", which is what stops the kernel from letting a
 * process in the sandbox mount a fresh, unmasked proc (mount_too_revealing),
 * should seccomp ever let mount through. */
/* "<proc>/<name>" with the child's async-signal-safe helpers (no snprintf here). */
static void proc_entry(char *buf, size_t size, const char *proc, const char *name)
{
    sq_strlcpy(buf, proc, size);
    sq_strlcat(buf, "/", size);
    sq_strlcat(buf, name, size);
}

static int child_proc_masks(struct sq_child *c, const char *proc)
{
    char path[PATH_MAX];
    struct stat st;
    for (const char *const *e = proc_masked; *e; e++) {
        proc_entry(path, sizeof path, proc, *e);
        if (lstat(path, &st) < 0) {
            if (errno == ENOENT)
                continue;
            return sq_child_fail_in_root(c, "stat", path);
        }
        if (S_ISDIR(st.st_mode)) {
            if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=4k") <
                0)
                return sq_child_fail_in_root(c, "mask", path);
        } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
            return sq_child_fail_in_root(c, "mask", path);
        }
    }
    for (const char *const *e = proc_readonly; *e; e++) {
        proc_entry(path, sizeof path, proc, *e);
        if (lstat(path, &st) < 0) {
            if (errno == ENOENT)
                continue;
            return sq_child_fail_in_root(c, "stat", path);
        }
        /* A bind of the entry onto itself makes it a mount of its own, whose
         * read-only flag then covers it and everything below. */
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
            return sq_child_fail_in_root(c, "bind", path);
        if (sq_remount_bind(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) < 0)
            return sq_child_fail_in_root(c, "remount read-only", path);
    }
    return 0;
}

int sq_child_rootfs(struct sq_child *c)
{
    const struct sq_setup *s = c->setup;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return sq_child_fail(c, "make mounts private", NULL);
    if (mount("sandq-root", SQ_NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
        return sq_child_fail(c, "mount root tmpfs", NULL);

    if (child_plan(c) < 0)
        return -1;

    const char *ws = SQ_NEWROOT "/workspace";
    if (make_mountpoint(ws, true) < 0)
        return sq_child_fail_in_root(c, "mountpoint", ws);
    if (mount(s->workspace_src, ws, NULL, MS_BIND | MS_REC, NULL) < 0)
        return sq_child_fail_in_root(c, "bind", ws);
    if (sq_remount_bind(ws, MS_NOSUID | MS_NODEV) < 0)
        return sq_child_fail_in_root(c, "remount", ws);

    const char *tmp = SQ_NEWROOT "/tmp";
    if (make_mountpoint(tmp, true) < 0)
        return sq_child_fail_in_root(c, "mountpoint", tmp);
    if (mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, s->tmp_opts) < 0)
        return sq_child_fail_in_root(c, "mount tmpfs", tmp);

    /* We are pid 1 of the new pid namespace, so this proc shows only the
     * sandbox's processes. */
    const char *proc = SQ_NEWROOT "/proc";
    if (make_mountpoint(proc, true) < 0)
        return sq_child_fail_in_root(c, "mountpoint", proc);
    if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return sq_child_fail_in_root(c, "mount proc", proc);
    return child_proc_masks(c, proc);
}

int sq_child_pivot(struct sq_child *c)
{
    if (chdir(SQ_NEWROOT) < 0)
        return sq_child_fail(c, "chdir to the new root", NULL);
    /* pivot_root(".", ".") stacks the old root on top of the new one, both at
     * "/"; unmounting "/" then removes the old one — no put_old directory is
     * needed. MNT_DETACH because the init's executable, the workspace fd and
     * our cwd still reference it; it goes away when they are closed. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return sq_child_fail(c, "pivot_root", NULL);
    if (umount2(".", MNT_DETACH) < 0)
        return sq_child_fail(c, "detach old root", NULL);
    if (chdir("/") < 0)
        return sq_child_fail(c, "chdir", "/");
    /* Every mount point exists now: nothing may be added to the root itself
     * (and its tmpfs cannot be used to hoard memory). */
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return sq_child_fail(c, "remount / read-only", NULL);
    if (chdir("/workspace") < 0)
        return sq_child_fail(c, "chdir", "/workspace");
    return 0;
}
