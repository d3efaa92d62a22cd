/* bench_runtime.c — how long a sandbox takes to come up and go away.
 *
 * In one run, interleaved round by round so all three see the same machine:
 *   sandq   sq_sandbox_start + sq_sandbox_destroy (namespaces, mounts,
 *           seccomp, init answering on its socket; then kill + reap)
 *   bwrap   bwrap --unshare-all --ro-bind /usr /usr … --proc /proc --dev /dev /bin/true
 *   fork    fork + exec /bin/true + wait (the floor for "a new process ran")
 * and, in a running sandbox, the latency of sq_sandbox_exec("true").
 * Prints medians and ratios; asserts nothing (benchmarks are not tests).
 *
 * Usage (root): bench_runtime [rounds=50] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

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

static long init_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    if (rounds < 1)
        rounds = 50;
    if (geteuid() != 0) {
        fprintf(stderr, "bench_runtime needs root\n");
        return 77;
    }
#ifdef SANDQ_INIT_BIN_DEFAULT
    setenv("SANDQ_INIT_BIN", SANDQ_INIT_BIN_DEFAULT, 0);
#endif
    char ws[] = "/tmp/sq-bench-ws-XXXXXX";
    if (!mkdtemp(ws) || chown(ws, 400000, 400000) < 0) {
        perror("workspace");
        return 1;
    }
    sq_sandbox_opts opts = {.sandbox_id = "bench", .workspace_dir = ws, .host_uid = 400000,
                            .host_gid = 400000, .id_range = 65536};
    char *bwrap[] = {"/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink",
                     "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin",
                     "/bin", "--proc", "/proc", "--dev", "/dev", "/bin/true", NULL};
    char *truecmd[] = {"/bin/true", NULL};
    int have_bwrap = access(bwrap[0], X_OK) == 0;

    double *t_sq = calloc((size_t)rounds, sizeof(double));
    double *t_bw = calloc((size_t)rounds, sizeof(double));
    double *t_fork = calloc((size_t)rounds, sizeof(double));
    double *t_exec = calloc((size_t)rounds, sizeof(double));
    sq_err err;

    for (int i = -3; i < rounds; i++) { /* 3 warm-up rounds */
        double t0 = now_us();
        sq_sandbox *sb;
        if (sq_sandbox_start(&opts, &sb, &err) < 0) {
            fprintf(stderr, "start: %s\n", err.msg);
            return 1;
        }
        sq_sandbox_destroy(sb);
        double t1 = now_us();
        if (have_bwrap && run_argv(bwrap) != 0) {
            fprintf(stderr, "bwrap failed\n");
            have_bwrap = 0;
        }
        double t2 = now_us();
        if (run_argv(truecmd) != 0) {
            fprintf(stderr, "/bin/true failed\n");
            return 1;
        }
        double t3 = now_us();
        if (i >= 0) {
            t_sq[i] = t1 - t0;
            t_bw[i] = t2 - t1;
            t_fork[i] = t3 - t2;
        }
    }

    sq_sandbox *sb;
    if (sq_sandbox_start(&opts, &sb, &err) < 0) {
        fprintf(stderr, "start: %s\n", err.msg);
        return 1;
    }
    const char *targv[] = {"true", NULL};
    for (int i = -3; i < rounds; i++) {
        sq_exec_opts eo = {.argv = targv, .timeout_ms = 10000};
        sq_exec_result res;
        double t0 = now_us();
        if (sq_sandbox_exec(sb, &eo, &res, &err) < 0 || res.exit_code != 0) {
            fprintf(stderr, "exec failed\n");
            return 1;
        }
        if (i >= 0)
            t_exec[i] = now_us() - t0;
    }
    long rss = init_rss_kib(sq_sandbox_init_pid(sb));
    sq_sandbox_destroy(sb);
    rmdir(ws);

    double m_sq = pct(t_sq, rounds, 0.5), m_bw = have_bwrap ? pct(t_bw, rounds, 0.5) : 0,
           m_fk = pct(t_fork, rounds, 0.5), m_ex = pct(t_exec, rounds, 0.5);
    printf("rounds: %d (after 3 warm-up rounds), times in microseconds\n", rounds);
    printf("%-34s %10s %10s\n", "", "median", "p90");
    printf("%-34s %10.0f %10.0f\n", "sandq start+destroy", m_sq, pct(t_sq, rounds, 0.9));
    if (have_bwrap)
        printf("%-34s %10.0f %10.0f\n", "bwrap --unshare-all … /bin/true", m_bw, pct(t_bw, rounds, 0.9));
    printf("%-34s %10.0f %10.0f\n", "fork+exec /bin/true", m_fk, pct(t_fork, rounds, 0.9));
    printf("%-34s %10.0f %10.0f\n", "sq_sandbox_exec(true), warm", m_ex, pct(t_exec, rounds, 0.9));
    if (have_bwrap)
        printf("ratio sandq / bwrap:      %.2f\n", m_sq / m_bw);
    printf("ratio sandq / fork+exec:  %.2f\n", m_sq / m_fk);
    printf("ratio exec(true) / fork+exec: %.2f\n", m_ex / m_fk);
    printf("sandq-init RSS: %ld KiB\n", rss);
    return 0;
}
