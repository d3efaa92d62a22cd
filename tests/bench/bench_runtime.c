/* bench_runtime.c — what a sandbox costs: time to come up, time per command,
 * memory while idle. Prints percentiles and ratios against baselines measured
 * in the same run; asserts nothing (benchmarks are not tests).
 *
 * Create → ready (interleaved round by round, so all see the same machine):
 *   sandq           sq_sandbox_start until the init answers on its socket
 *                   (namespaces, uid maps, mounts, seccomp, init exec)
 *   sandq+limits    the same with the worker's default cgroup limits (512 MiB,
 *                   1 CPU, 512 pids): the cgroups made, limited and entered —
 *                   what every sandbox the worker starts pays
 *   sandq+disk      the same plus the workspace's own ext4 (sq_disk_attach:
 *                   fallocate, mkfs.ext4, loop device, mount)
 *   sandq+internet  the same plus slirp4netns and the nft egress rules
 *   bwrap           a full `bwrap --unshare-all --ro-bind /usr /usr … /bin/true`
 *   fork+exec       fork + exec /bin/true + wait (the floor for "a new process ran")
 * Exec round trip: sq_sandbox_exec("true") in a running sandbox with limits
 * (so each command gets its task cgroup, as in the worker) vs fork+exec.
 * Idle memory: the init's RSS and PSS, and what a memory cgroup is charged per
 * idle sandbox (user pages + kernel memory: namespaces, mounts, page tables,
 * sockets; slirp4netns's own pages in internet mode), measured by running the
 * benchmark itself in a fresh memory cgroup (v2 if its memory controller is
 * enabled, else v1) and starting N sandboxes.
 *
 * Targets (issue 3): create → ready ≤ 1.0× bwrap; exec ≤ 2× fork+exec; idle ≤ 2 MiB.
 *
 * Usage (root): bench_runtime [rounds=100] [idle sandboxes=10]
 * Bind sources may not live under /tmp, so workspaces go to /var/tmp. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "disk.h"
#include "sandbox.h"

#define BENCH_UID 400000

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static int run_argv(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long status_kib(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256], fmt[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    snprintf(fmt, sizeof fmt, "%s %%ld kB", key);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static void die(const char *what, const sq_err *err)
{
    fprintf(stderr, "%s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

/* ---- workspaces -------------------------------------------------------- */

static char ws_root[] = "/var/tmp/sq-bench-XXXXXX";

static void ws_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", ws_root, name);
}

static void ws_make(const char *path)
{
    if (mkdir(path, 0750) < 0 || chown(path, BENCH_UID, BENCH_UID) < 0)
        die(path, NULL);
}

typedef enum { V_PLAIN, V_LIMITS, V_DISK, V_INET, V_COUNT } variant;
static const char *const variant_name[] = {"sandq start (create -> ready)", "sandq start + cgroup limits",
                                           "sandq start + 64 MiB disk", "sandq start, internet mode"};
/* The worker's defaults (SANDQ_DEFAULT_MEMORY_MB and friends). */
static const sq_sandbox_limits worker_defaults = {.memory_bytes = 512ull << 20, .cpu_millis = 1000, .pids = 512};
static bool have_cgroups;

/* Start one sandbox of the variant; returns it and adds the time to *us. */
static sq_sandbox *start_variant(variant v, const char *ws, double *us)
{
    sq_sandbox_opts o = {.sandbox_id = "bench", .workspace_dir = ws, .host_uid = BENCH_UID, .host_gid = BENCH_UID,
                         .id_range = 65536, .network = v == V_INET ? SQ_NET_INTERNET : SQ_NET_NONE,
                         .limits = v == V_LIMITS ? &worker_defaults : NULL};
    sq_err err;
    sq_sandbox *sb;
    double t0 = now_us();
    if (v == V_DISK && sq_disk_attach(ws, 64, BENCH_UID, BENCH_UID, &err) < 0)
        die("disk", &err);
    if (sq_sandbox_start(&o, &sb, &err) < 0)
        die("start", &err);
    *us = now_us() - t0;
    return sb;
}

static double stop_variant(variant v, sq_sandbox *sb, const char *ws)
{
    double t0 = now_us();
    sq_sandbox_destroy(sb);
    sq_err err;
    if (v == V_DISK && sq_disk_detach(ws, &err) < 0)
        die("detach", &err);
    return now_us() - t0;
}

/* ---- memory cgroup --------------------------------------------------------- */

typedef struct {
    char dir[512];    /* our measuring cgroup */
    char back[512];   /* where we came from (cgroup.procs to return to) */
    bool v2;
} memcg;

static bool write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
    close(fd);
    return ok;
}

static long long read_ll(const char *dir, const char *file, const char *key)
{
    char path[600], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (!key) {
            v = atoll(line);
            break;
        }
        size_t kl = strlen(key);
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            v = atoll(line + kl + 1);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Move ourselves into a new memory cgroup below our current one. */
static bool memcg_enter(memcg *m)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512], v1path[400] = "", v2path[400] = "";
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b)
            continue;
        *b = '\0';
        if (strcmp(a + 1, "memory") == 0)
            snprintf(v1path, sizeof v1path, "%s", b + 1);
        else if (a[1] == '\0')
            snprintf(v2path, sizeof v2path, "%s", b + 1);
    }
    if (f)
        fclose(f);
    char ctl[600];
    const char *v2root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup"
                                                                                  : "/sys/fs/cgroup/unified";
    snprintf(ctl, sizeof ctl, "%s%s/cgroup.controllers", v2root, v2path);
    FILE *c = fopen(ctl, "r");
    char controllers[256] = "";
    if (c) {
        if (!fgets(controllers, sizeof controllers, c))
            controllers[0] = '\0';
        fclose(c);
    }
    if (strstr(controllers, "memory") && !v1path[0]) {
        m->v2 = true;
        snprintf(m->back, sizeof m->back, "%s%s", v2root, v2path);
    } else if (v1path[0]) {
        m->v2 = false;
        snprintf(m->back, sizeof m->back, "/sys/fs/cgroup/memory%s", strcmp(v1path, "/") ? v1path : "");
    } else {
        return false;
    }
    snprintf(m->dir, sizeof m->dir, "%s/sq-bench-%d", m->back, (int)getpid());
    if (mkdir(m->dir, 0755) < 0)
        return false;
    char procs[600], pid[16];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", m->dir);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (!write_str(procs, pid)) {
        rmdir(m->dir);
        return false;
    }
    return true;
}

static void memcg_leave(memcg *m)
{
    char procs[600], pid[16];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", m->back);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    write_str(procs, pid);
    for (int i = 0; i < 50 && rmdir(m->dir) < 0 && errno == EBUSY; i++)
        usleep(20000);
}

/* Total charged bytes and the kernel part. */
static void memcg_read(const memcg *m, long long *total, long long *kernel)
{
    if (m->v2) {
        *total = read_ll(m->dir, "memory.current", NULL);
        *kernel = read_ll(m->dir, "memory.stat", "kernel");
    } else {
        *total = read_ll(m->dir, "memory.usage_in_bytes", NULL);
        *kernel = read_ll(m->dir, "memory.kmem.usage_in_bytes", NULL);
    }
}

static void idle_memory(variant v, int n)
{
    memcg m;
    if (!memcg_enter(&m)) {
        printf("%-34s (no usable memory cgroup: %s)\n", variant_name[v], strerror(errno));
        return;
    }
    /* Warm up once inside the cgroup, so our own heap growth is charged before the baseline. */
    char ws[600];
    ws_path(ws, sizeof ws, "idle-warm");
    ws_make(ws);
    double us;
    stop_variant(v, start_variant(v, ws, &us), ws);
    rmdir(ws);
    usleep(100000);

    long long t0, k0, t1, k1;
    memcg_read(&m, &t0, &k0);
    sq_sandbox **sbs = calloc((size_t)n, sizeof *sbs);
    char (*paths)[600] = calloc((size_t)n, sizeof *paths);
    long rss = 0, pss = 0;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "idle-%d", i);
        ws_path(paths[i], sizeof paths[i], name);
        ws_make(paths[i]);
        sbs[i] = start_variant(v, paths[i], &us);
    }
    usleep(300000); /* let the inits settle into their idle loop */
    memcg_read(&m, &t1, &k1);
    for (int i = 0; i < n; i++) {
        rss += status_kib(sq_sandbox_init_pid(sbs[i]), "status", "VmRSS:");
        pss += status_kib(sq_sandbox_init_pid(sbs[i]), "smaps_rollup", "Pss:");
    }
    for (int i = 0; i < n; i++) {
        stop_variant(v, sbs[i], paths[i]);
        rmdir(paths[i]);
    }
    memcg_leave(&m);
    double per = (double)(t1 - t0) / n / 1024.0, kper = (double)(k1 - k0) / n / 1024.0;
    printf("%-34s init RSS %5ld KiB, PSS %5ld KiB; cgroup-charged %7.0f KiB (kernel %6.0f KiB)  [%s, %d sandboxes]"
           "  -> %.2f MiB of a 2 MiB target\n",
           variant_name[v], rss / n, pss / n, per, k1 >= 0 ? kper : -1.0, m.v2 ? "cgroup v2" : "cgroup v1", n,
           per / 1024.0);
    free(sbs);
    free(paths);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    int idle_n = argc > 2 ? atoi(argv[2]) : 10;
    if (rounds < 2)
        rounds = 100;
    if (idle_n < 1)
        idle_n = 10;
    if (geteuid() != 0) {
        fprintf(stderr, "bench_runtime needs root\n");
        return 77;
    }
#ifdef SANDQ_INIT_BIN_DEFAULT
    setenv("SANDQ_INIT_BIN", SANDQ_INIT_BIN_DEFAULT, 0);
#endif
    if (!mkdtemp(ws_root))
        die("mkdtemp", NULL);
    char *bwrap[] = {"/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink",
                     "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin",
                     "/bin", "--proc", "/proc", "--dev", "/dev", "/bin/true", NULL};
    char *truecmd[] = {"/bin/true", NULL};
    int have_bwrap = access(bwrap[0], X_OK) == 0;
    bool have_inet = access("/usr/bin/slirp4netns", X_OK) == 0 && access("/usr/sbin/nft", X_OK) == 0;

    double *t_start[V_COUNT], *t_stop = calloc((size_t)rounds, sizeof(double));
    for (int v = 0; v < V_COUNT; v++)
        t_start[v] = calloc((size_t)rounds, sizeof(double));
    double *t_bw = calloc((size_t)rounds, sizeof(double));
    double *t_fork = calloc((size_t)rounds, sizeof(double));
    double *t_exec = calloc((size_t)rounds, sizeof(double));
    double *t_fork2 = calloc((size_t)rounds, sizeof(double));
    char ws[600];
    ws_path(ws, sizeof ws, "ws");
    ws_make(ws);
    sq_err err;
    have_cgroups = sq_cgroups_init("bench-runtime", NULL, &err) == 0;
    if (!have_cgroups)
        fprintf(stderr, "no cgroups (%s): the limits variant and task cgroups are left out\n", err.msg);

    for (int i = -3; i < rounds; i++) { /* 3 warm-up rounds */
        for (int v = 0; v < V_COUNT; v++) {
            if ((v == V_INET && !have_inet) || (v == V_LIMITS && !have_cgroups))
                continue;
            double us;
            sq_sandbox *sb = start_variant((variant)v, ws, &us);
            double down = stop_variant((variant)v, sb, ws);
            if (i >= 0) {
                t_start[v][i] = us;
                if (v == V_PLAIN)
                    t_stop[i] = down;
            }
        }
        double t1 = now_us();
        if (have_bwrap && run_argv(bwrap) != 0) {
            fprintf(stderr, "bwrap failed; leaving it out\n");
            have_bwrap = 0;
        }
        double t2 = now_us();
        if (run_argv(truecmd) != 0)
            die("/bin/true", NULL);
        double t3 = now_us();
        if (i >= 0) {
            t_bw[i] = t2 - t1;
            t_fork[i] = t3 - t2;
        }
    }

    sq_sandbox *sb;
    sq_sandbox_opts opts = {.sandbox_id = "bench", .workspace_dir = ws, .host_uid = BENCH_UID,
                            .host_gid = BENCH_UID, .id_range = 65536,
                            .limits = have_cgroups ? &worker_defaults : NULL};
    if (sq_sandbox_start(&opts, &sb, &err) < 0)
        die("start", &err);
    const char *targv[] = {"true", NULL};
    for (int i = -3; i < rounds; i++) {
        sq_exec_opts eo = {.argv = targv, .timeout_ms = 10000};
        sq_exec_result res;
        double t0 = now_us();
        if (sq_sandbox_exec(sb, &eo, &res, &err) < 0 || res.exit_code != 0)
            die("exec", &err);
        double t1 = now_us();
        if (run_argv(truecmd) != 0)
            die("/bin/true", NULL);
        if (i >= 0) {
            t_exec[i] = t1 - t0;
            t_fork2[i] = now_us() - t1;
        }
    }
    sq_sandbox_destroy(sb);

    printf("rounds: %d (after 3 warm-up rounds), interleaved; times in microseconds\n\n", rounds);
    printf("%-34s %9s %9s %9s\n", "create -> ready", "p50", "p90", "p99");
    double p50[V_COUNT];
    for (int v = 0; v < V_COUNT; v++) {
        if ((v == V_INET && !have_inet) || (v == V_LIMITS && !have_cgroups))
            continue;
        p50[v] = pct(t_start[v], rounds, 0.5);
        printf("%-34s %9.0f %9.0f %9.0f\n", variant_name[v], p50[v], pct(t_start[v], rounds, 0.9),
               pct(t_start[v], rounds, 0.99));
    }
    double m_bw = have_bwrap ? pct(t_bw, rounds, 0.5) : 0, m_fk = pct(t_fork, rounds, 0.5);
    if (have_bwrap)
        printf("%-34s %9.0f %9.0f %9.0f\n", "bwrap --unshare-all ... /bin/true", m_bw, pct(t_bw, rounds, 0.9),
               pct(t_bw, rounds, 0.99));
    printf("%-34s %9.0f %9.0f %9.0f\n", "fork+exec /bin/true", m_fk, pct(t_fork, rounds, 0.9),
           pct(t_fork, rounds, 0.99));
    printf("%-34s %9.0f %9.0f %9.0f\n", "sandq destroy (kill + reap)", pct(t_stop, rounds, 0.5),
           pct(t_stop, rounds, 0.9), pct(t_stop, rounds, 0.99));
    printf("\n%-34s %9s %9s %9s\n", "exec round trip", "p50", "p90", "p99");
    double m_ex = pct(t_exec, rounds, 0.5), m_fk2 = pct(t_fork2, rounds, 0.5);
    printf("%-34s %9.0f %9.0f %9.0f\n", have_cgroups ? "sq_sandbox_exec(true), task cgroup" : "sq_sandbox_exec(true), warm", m_ex, pct(t_exec, rounds, 0.9),
           pct(t_exec, rounds, 0.99));
    printf("%-34s %9.0f %9.0f %9.0f\n", "fork+exec /bin/true", m_fk2, pct(t_fork2, rounds, 0.9),
           pct(t_fork2, rounds, 0.99));

    printf("\nratios (p50)\n");
    if (have_bwrap) {
        printf("  sandq start / bwrap full run:          %.2f   (target <= 1.0)\n", p50[V_PLAIN] / m_bw);
        if (have_cgroups)
            printf("  sandq start + limits / bwrap:          %.2f   (target <= 1.0: what the worker starts)\n",
                   p50[V_LIMITS] / m_bw);
        printf("  sandq start + disk / bwrap:            %.2f\n", p50[V_DISK] / m_bw);
        if (have_inet)
            printf("  sandq start, internet / bwrap:         %.2f\n", p50[V_INET] / m_bw);
    }
    printf("  sandq start / fork+exec:               %.2f\n", p50[V_PLAIN] / m_fk);
    printf("  sandq exec(true) / fork+exec:          %.2f   (target <= 2.0)\n", m_ex / m_fk2);

    printf("\nidle memory per sandbox\n");
    idle_memory(V_PLAIN, idle_n);
    idle_memory(V_DISK, idle_n);
    if (have_inet)
        idle_memory(V_INET, idle_n);

    sq_cgroups_cleanup();
    rmdir(ws);
    char tpl[600];
    ws_path(tpl, sizeof tpl, ".sandq-ext4-64m.template"); /* disk.c's per-size template */
    unlink(tpl);
    rmdir(ws_root);
    return 0;
}
