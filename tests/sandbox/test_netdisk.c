/* test_netdisk.c — the sandbox runtime's disk limit (disk.c), "internet"
 * network mode (netstack.c) and host helper processes (helper.c), against the
 * real kernel, loop devices, mkfs.ext4, slirp4netns and nft.
 *
 * Needs root; exits 77 (ctest: Skipped) without it. Every check is something a
 * user or an operator would notice: ENOSPC at the limit, the host's disk
 * untouched, a default route and resolver in internet mode, and nothing left
 * behind — no mount, loop device, image file or slirp4netns process. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "disk.h"
#include "helper.h"
#include "sandbox.h"

#define UID_D 600000
#define RANGE 65536
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Bind sources may not live under /tmp (see SQ_NEWROOT), and the disk's image
 * sits beside the workspace: use /var/tmp. */
static char root[] = "/var/tmp/sq-netdisk-XXXXXX";

typedef struct {
    char buf[1 << 16];
    size_t len;
} output;

static void on_output(void *user, int stream, const char *data, size_t len)
{
    (void)stream;
    output *o = user;
    if (o->len + len >= sizeof o->buf)
        len = sizeof o->buf - 1 - o->len;
    memcpy(o->buf + o->len, data, len);
    o->len += len;
    o->buf[o->len] = '\0';
}

static int sh(sq_sandbox *sb, const char *script, output *o)
{
    memset(o, 0, sizeof *o);
    sq_exec_opts eo = {.argv = ARGV("sh", "-c", script), .timeout_ms = 60000, .on_output = on_output, .user = o};
    sq_exec_result res;
    sq_err err = {0};
    if (sq_sandbox_exec(sb, &eo, &res, &err) < 0)
        fail_msg("exec: %s", err.msg);
    return res.exit_code;
}

static void make_dir(const char *path, uid_t uid)
{
    assert_int_equal(mkdir(path, 0750), 0);
    assert_int_equal(chown(path, uid, uid), 0);
}

static sq_sandbox *start(const char *ws, sq_network net)
{
    sq_sandbox_opts opts = {.sandbox_id = "sbx_netdisk", .workspace_dir = ws, .host_uid = UID_D,
                            .host_gid = UID_D, .id_range = RANGE, .network = net};
    sq_sandbox *sb = NULL;
    sq_err err = {0};
    if (sq_sandbox_start(&opts, &sb, &err) < 0)
        fail_msg("sq_sandbox_start: %s", err.msg);
    return sb;
}

/* Whether /proc/self/mountinfo mentions path as a mount point. */
static bool mounted(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char mp[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0)
            found = true;
    }
    fclose(f);
    return found;
}

/* Loop devices whose backing file path contains needle. */
static int loops_backed_by(const char *needle)
{
    int n = 0;
    DIR *d = opendir("/sys/block");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "loop", 4) != 0)
            continue;
        char path[300], bf[4096] = "";
        snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(bf, sizeof bf, f) && strstr(bf, needle))
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* The loop device's autoclear release runs after the last reference drops,
 * asynchronously in current kernels: give it a moment before counting. */
static int loops_left_after_release(const char *needle)
{
    int n = loops_backed_by(needle);
    for (int i = 0; n > 0 && i < 100; i++) {
        usleep(30 * 1000);
        n = loops_backed_by(needle);
    }
    return n;
}

/* Our children named comm (helpers must all be reaped by their pidfds). */
static int children_named(const char *comm)
{
    int n = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        if (atoi(e->d_name) <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int ppid = 0;
        char name[64] = "";
        if (fgets(buf, sizeof buf, f) && sscanf(buf, "%*d (%63[^)]) %*c %d", name, &ppid) == 2 &&
            ppid == getpid() && strcmp(name, comm) == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* The per-size file system templates disk.c keeps beside workspaces. */
static int remove_templates(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, ".sandq-ext4-", 12) != 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        n += unlink(path) == 0;
    }
    closedir(d);
    return n;
}

/* ---- helpers ------------------------------------------------------------- */

static void test_helper_reports_exit_and_output(void **state)
{
    (void)state;
    sq_err err = {0};
    sq_helper h;
    sq_helper_opts o = {.path = "/bin/sh", .argv = ARGV("/bin/sh", "-c", "echo oops >&2; exit 3"), .netns_fd = -1,
                        .stdin_fd = -1, .fds = {-1, -1}};
    assert_int_equal(sq_helper_spawn(&o, &h, &err), 0);
    assert_int_equal(sq_helper_wait(&h, 5000, &err), -1);
    assert_non_null(strstr(err.msg, "sh exited with status 3: oops"));

    o.argv = ARGV("/bin/sh", "-c", "exit 0");
    assert_int_equal(sq_helper_spawn(&o, &h, &err), 0);
    assert_int_equal(sq_helper_wait(&h, 5000, &err), 0);

    /* A helper that hangs is killed at its deadline, and reaped. */
    o.argv = ARGV("/bin/sh", "-c", "exec sleep 30");
    assert_int_equal(sq_helper_spawn(&o, &h, &err), 0);
    pid_t pid = h.pid;
    assert_int_equal(sq_helper_wait(&h, 200, &err), -1);
    assert_non_null(strstr(err.msg, "did not finish within 200 ms"));
    assert_true(kill(pid, 0) < 0 && errno == ESRCH);

    /* Only fds 0-2 and the ones asked for reach it. */
    int extra = fcntl(0, F_DUPFD, 20); /* not close-on-exec, on purpose, and above 3 and 4 */
    assert_true(extra >= 20);
    char script[128];
    snprintf(script, sizeof script, "[ -e /proc/self/fd/%d ] && exit 1; [ -e /proc/self/fd/3 ] || exit 2; exit 0",
             extra);
    int p[2];
    assert_int_equal(pipe(p), 0);
    o.argv = ARGV("/bin/sh", "-c", script);
    o.fds[0] = p[1];
    assert_int_equal(sq_helper_spawn(&o, &h, &err), 0);
    if (sq_helper_wait(&h, 5000, &err) < 0)
        fail_msg("%s", err.msg);
    close(extra);
    close(p[0]);
    close(p[1]);

    char found[256];
    assert_int_equal(sq_helper_find(NULL, "sh", found, sizeof found, &err), 0);
    assert_int_equal(sq_helper_find(NULL, "no-such-program-sandq", found, sizeof found, &err), -1);
    setenv("SANDQ_TEST_HELPER", "relative/path", 1);
    assert_int_equal(sq_helper_find("SANDQ_TEST_HELPER", "sh", found, sizeof found, &err), -1);
    unsetenv("SANDQ_TEST_HELPER");
}

/* ---- disk --------------------------------------------------------------- */

static void test_workspace_disk_limit(void **state)
{
    (void)state;
    /* The disk lives on a tmpfs of the test's own, so the free-space check
     * below measures this test's writes only: on the shared /var/tmp another
     * process writing at the same moment (a second suite, apt) looked like
     * the sandbox escaping its limit. */
    char base[300], ws[400];
    snprintf(base, sizeof base, "%s/own", root);
    assert_int_equal(mkdir(base, 0755), 0);
    assert_int_equal(mount("tmpfs", base, "tmpfs", 0, "size=256m"), 0);
    snprintf(ws, sizeof ws, "%s/sbx_disk", base);
    make_dir(ws, UID_D);
    struct statvfs before;
    assert_int_equal(statvfs(base, &before), 0);

    sq_err err = {0};
    if (sq_disk_attach(ws, 32, UID_D, UID_D, &err) < 0)
        fail_msg("sq_disk_attach: %s", err.msg);
    assert_true(mounted(ws));
    assert_int_equal(loops_backed_by(base), 1);
    /* The image is unlinked at once: the mount is its only reference. */
    char img[400];
    snprintf(img, sizeof img, "%s/.sbx_disk.disk", base);
    assert_int_equal(access(img, F_OK), -1);
    struct stat st;
    assert_int_equal(stat(ws, &st), 0);
    assert_int_equal(st.st_uid, UID_D);

    sq_sandbox *sb = start(ws, SQ_NET_NONE);
    output o;
    /* Empty (no lost+found), owned by sandbox root, and full at the limit. */
    assert_int_equal(sh(sb, "ls -A /workspace | wc -l", &o), 0);
    assert_string_equal(o.buf, "0\n");
    int code = sh(sb, "dd if=/dev/zero of=/workspace/fill bs=1M count=100 2>&1; echo rc=$?; "
                      "df -k /workspace | tail -1", &o);
    assert_int_equal(code, 0);
    assert_non_null(strstr(o.buf, "No space left on device"));
    assert_non_null(strstr(o.buf, "rc=1"));
    /* The host's file system gave at most the reservation (32 MiB plus slack). */
    struct statvfs during;
    assert_int_equal(statvfs(base, &during), 0);
    long long used = ((long long)before.f_bavail - (long long)during.f_bavail) * (long long)before.f_frsize;
    assert_true(used < 40LL << 20);
    /* Many small files end the same way: inodes run out, not the host's. */
    code = sh(sb, "rm /workspace/fill; i=0; while [ $i -lt 20000 ]; do true > /workspace/f$i 2>/dev/null || break; "
                  "i=$((i+1)); done; echo made=$i; true > /workspace/one-more", &o);
    assert_int_not_equal(code, 0);
    int made = -1;
    assert_non_null(strstr(o.buf, "made="));
    made = atoi(strstr(o.buf, "made=") + 5);
    assert_true(made > 100 && made < 20000);
    assert_non_null(strstr(o.buf, "No space left on device"));
    sq_sandbox_destroy(sb);

    assert_int_equal(sq_disk_detach(ws, &err), 0);
    assert_false(mounted(ws));
    assert_int_equal(loops_left_after_release(base), 0);
    /* Again, from the template the first attach left: a fresh, empty file
     * system, owned by whoever asks this time. */
    if (sq_disk_attach(ws, 32, UID_D + 1, UID_D + 2, &err) < 0)
        fail_msg("sq_disk_attach again: %s", err.msg);
    assert_int_equal(stat(ws, &st), 0);
    assert_int_equal(st.st_uid, UID_D + 1);
    assert_int_equal(st.st_gid, UID_D + 2);
    DIR *fresh = opendir(ws);
    assert_non_null(fresh);
    int n = 0;
    for (struct dirent *e; (e = readdir(fresh));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(fresh);
    assert_int_equal(n, 0);
    assert_int_equal(sq_disk_detach(ws, &err), 0);
    /* The directory under the mount was never written to. */
    assert_int_equal(rmdir(ws), 0);
    /* Detaching what is not mounted is not an error. */
    make_dir(ws, UID_D);
    assert_int_equal(sq_disk_detach(ws, &err), 0);
    assert_int_equal(rmdir(ws), 0);
    remove_templates(base);
    assert_int_equal(umount(base), 0);
    assert_int_equal(rmdir(base), 0);
}

/* When the host has no room for the disk, creation fails cleanly with
 * limit_exceeded and leaves nothing behind. A small tmpfs plays the full host. */
static void test_disk_larger_than_host(void **state)
{
    (void)state;
    char small[300], ws[400];
    snprintf(small, sizeof small, "%s/small", root);
    assert_int_equal(mkdir(small, 0755), 0);
    assert_int_equal(mount("tmpfs", small, "tmpfs", 0, "size=24m"), 0);
    snprintf(ws, sizeof ws, "%s/sbx_big", small);
    make_dir(ws, UID_D);
    sq_err err = {0};
    assert_int_equal(sq_disk_attach(ws, 64, UID_D, UID_D, &err), -1);
    assert_int_equal(err.code, SQ_LIMIT_EXCEEDED);
    assert_false(mounted(ws));
    assert_int_equal(loops_left_after_release(small), 0);
    DIR *d = opendir(small);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(entries, 1); /* only sbx_big itself */

    /* And a disk that fits works on a tmpfs too (no direct I/O there). */
    if (sq_disk_attach(ws, 16, UID_D, UID_D, &err) < 0)
        fail_msg("sq_disk_attach on tmpfs: %s", err.msg);
    assert_true(mounted(ws));
    assert_int_equal(sq_disk_detach(ws, &err), 0);
    assert_int_equal(rmdir(ws), 0);
    assert_int_equal(remove_templates(small), 1);
    assert_int_equal(umount(small), 0);
    assert_int_equal(rmdir(small), 0);
}

/* Names of the templates in dir, sorted: "16,19," for sizes 16 and 19. */
static void template_sizes(const char *dir, char *out, size_t size)
{
    int sizes[64], n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        int mb;
        char tail[32];
        if (sscanf(e->d_name, ".sandq-ext4-%dm.%31s", &mb, tail) == 2 && strcmp(tail, "template") == 0 && n < 64)
            sizes[n++] = mb;
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (sizes[j] < sizes[i]) {
                int t = sizes[i];
                sizes[i] = sizes[j];
                sizes[j] = t;
            }
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%d,", sizes[i]);
}

static void attach_and_detach(const char *dir, int mb)
{
    char ws[400];
    snprintf(ws, sizeof ws, "%s/sbx_tpl%d", dir, mb);
    make_dir(ws, UID_D);
    sq_err err = {0};
    if (sq_disk_attach(ws, (uint64_t)mb, UID_D, UID_D, &err) < 0)
        fail_msg("sq_disk_attach %d MiB: %s", mb, err.msg);
    assert_int_equal(sq_disk_detach(ws, &err), 0);
    assert_int_equal(rmdir(ws), 0);
}

/* Every distinct size leaves a template; a client walking through sizes must
 * not fill the host's disk with them. At most the configured number stay,
 * the least recently used go first, and a prune (what the worker runs at
 * start) trims to a smaller bound and removes half-made temporaries that a
 * dead worker left, but not those a live one is still writing. */
static void test_disk_templates_are_bounded(void **state)
{
    (void)state;
    char dir[300], got[256];
    snprintf(dir, sizeof dir, "%s/tpl", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    sq_disk_set_templates_max(2);
    for (int mb = 16; mb <= 19; mb++)
        attach_and_detach(dir, mb);
    template_sizes(dir, got, sizeof got);
    assert_string_equal(got, "18,19,");
    /* 18 used again is the newest now: 19 goes when 20 comes. */
    attach_and_detach(dir, 18);
    attach_and_detach(dir, 20);
    template_sizes(dir, got, sizeof got);
    assert_string_equal(got, "18,20,");

    /* Temporaries: one of a worker that died an hour ago, one being written. */
    char stale[400], fresh[400];
    snprintf(stale, sizeof stale, "%s/.sandq-ext4-77m.template.4242.4243.tmp", dir);
    snprintf(fresh, sizeof fresh, "%s/.sandq-ext4-78m.template.4244.4245.tmp", dir);
    for (int i = 0; i < 2; i++) {
        int fd = open(i ? fresh : stale, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
    assert_int_equal(utimensat(AT_FDCWD, stale, old, 0), 0);
    assert_int_equal(sq_disk_prune_templates(dir, 1), 2); /* 18 and the stale temporary */
    template_sizes(dir, got, sizeof got);
    assert_string_equal(got, "20,");
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(unlink(fresh), 0);

    sq_disk_set_templates_max(SQ_DISK_TEMPLATES_DEFAULT);
    assert_int_equal(remove_templates(dir), 1);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- network -------------------------------------------------------------- */

static void test_internet_mode_setup_and_teardown(void **state)
{
    (void)state;
    char ws[300];
    snprintf(ws, sizeof ws, "%s/sbx_inet", root);
    make_dir(ws, UID_D);
    for (int round = 0; round < 3; round++) {
        sq_sandbox *sb = start(ws, SQ_NET_INTERNET);
        assert_int_equal(children_named("slirp4netns"), 1);
        output o;
        assert_int_equal(sh(sb, "cat /etc/resolv.conf; cat /proc/net/route; ls /proc/sys/net/ipv4/conf", &o), 0);
        assert_non_null(strstr(o.buf, "nameserver 10.0.2.3"));
        assert_non_null(strstr(o.buf, "tap0\t00000000\t0202000A")); /* default via 10.0.2.2 */
        /* The rules are in place and cannot be flushed from inside. */
        assert_int_equal(sh(sb, "nft flush ruleset 2>&1; echo rc=$?", &o), 0);
        assert_null(strstr(o.buf, "rc=0"));
        sq_sandbox_destroy(sb);
        assert_int_equal(children_named("slirp4netns"), 0);
    }
    /* A sandbox whose init is killed from outside still takes its slirp4netns along. */
    sq_sandbox *sb = start(ws, SQ_NET_INTERNET);
    assert_int_equal(kill(sq_sandbox_init_pid(sb), SIGKILL), 0);
    sq_sandbox_destroy(sb);
    assert_int_equal(children_named("slirp4netns"), 0);
    /* "none" starts no helper at all. */
    sb = start(ws, SQ_NET_NONE);
    assert_int_equal(children_named("slirp4netns"), 0);
    sq_sandbox_destroy(sb);
    assert_int_equal(rmdir(ws), 0);
}

static void test_internet_mode_bad_operator_lists(void **state)
{
    (void)state;
    char ws[300];
    snprintf(ws, sizeof ws, "%s/sbx_badlist", root);
    make_dir(ws, UID_D);
    sq_sandbox_opts opts = {.sandbox_id = "sbx_badlist", .workspace_dir = ws, .host_uid = UID_D,
                            .host_gid = UID_D, .id_range = RANGE, .network = SQ_NET_INTERNET,
                            .net_allow = "10.0.0.0/8; flush ruleset"};
    sq_sandbox *sb = NULL;
    sq_err err = {0};
    assert_int_equal(sq_sandbox_start(&opts, &sb, &err), -1);
    assert_null(sb);
    assert_non_null(strstr(err.msg, "SANDQ_NET_ALLOW"));
    assert_int_equal(children_named("slirp4netns"), 0);
    assert_int_equal(rmdir(ws), 0);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_netdisk needs root: skipped\n");
        return 77;
    }
#ifdef SANDQ_INIT_BIN_DEFAULT
    setenv("SANDQ_INIT_BIN", SANDQ_INIT_BIN_DEFAULT, 0);
#endif
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helper_reports_exit_and_output),
        cmocka_unit_test(test_workspace_disk_limit),
        cmocka_unit_test(test_disk_larger_than_host),
        cmocka_unit_test(test_disk_templates_are_bounded),
        cmocka_unit_test(test_internet_mode_setup_and_teardown),
        cmocka_unit_test(test_internet_mode_bad_operator_lists),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    remove_templates(root);
    rmdir(root);
    return rc;
}
