/* test_cgroups.c — the sandbox runtime's cgroups against the real kernel:
 * limits (memory → OOM kill reported as such, pids), the per-task kill of a
 * whole process tree, pause/resume with the freezer, and that destroy leaves no
 * process and no cgroup behind.
 *
 * Every test runs twice: with the versions the host offers ("auto": on the
 * development machines v1 limits + v2 cgroup.kill/freeze) and with v1 forced
 * (freezer-based kill and pause). Needs root; exits 77 (ctest: Skipped)
 * without it. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

#define UID_C 400000
#define RANGE 65536
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

typedef struct {
    char buf[65536];
    size_t len;
} output;

static void on_output(void *user, int stream, const char *data, size_t len)
{
    output *o = user;
    (void)stream;
    if (o->len + len >= sizeof o->buf)
        len = sizeof o->buf - 1 - o->len;
    memcpy(o->buf + o->len, data, len);
    o->len += len;
    o->buf[o->len] = '\0';
}

static sq_exec_result run(sq_sandbox *sb, const char *script, int64_t timeout_ms, output *o)
{
    memset(o, 0, sizeof *o);
    sq_exec_opts eo = {.argv = ARGV("sh", "-c", script), .timeout_ms = timeout_ms ? timeout_ms : 30000,
                       .on_output = on_output, .user = o};
    sq_exec_result res;
    sq_err err = {0};
    if (sq_sandbox_exec(sb, &eo, &res, &err) < 0)
        fail_msg("exec %s: %s", script, err.msg);
    return res;
}

typedef struct {
    const char *mode;
    char ws[64];
    char id[64];
    sq_sandbox *sb;
} fixture;

static int counter;

static sq_sandbox *start_limited(fixture *f, const sq_sandbox_limits *lim)
{
    snprintf(f->id, sizeof f->id, "sbx_test_cg_%d_%d", (int)getpid(), ++counter);
    snprintf(f->ws, sizeof f->ws, "/var/tmp/sq-cg-ws-XXXXXX");
    assert_non_null(mkdtemp(f->ws));
    assert_int_equal(chown(f->ws, UID_C, UID_C), 0);
    sq_sandbox_opts opts = {.sandbox_id = f->id, .workspace_dir = f->ws, .host_uid = UID_C, .host_gid = UID_C,
                            .id_range = RANGE, .limits = lim};
    sq_err err = {0};
    if (sq_sandbox_start(&opts, &f->sb, &err) < 0)
        fail_msg("sq_sandbox_start: %s", err.msg);
    return f->sb;
}

/* Task cgroups (t<n>) directly in dir. */
static int task_children(const char *dir)
{
    int n = 0;
    DIR *t = opendir(dir);
    for (struct dirent *e; t && (e = readdir(t));)
        n += e->d_type == DT_DIR && e->d_name[0] == 't';
    if (t)
        closedir(t);
    return n;
}

/* Under root (in every hierarchy): how many directories are named `name`, or
 * with `tasks_in` how many task cgroups those directories hold. */
static int cgroup_dirs_walk(const char *root, const char *name, bool tasks_in, int depth)
{
    if (depth > 10)
        return 0;
    DIR *d = opendir(root);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
        if (strcmp(e->d_name, name) == 0)
            n += tasks_in ? task_children(sub) : 1;
        n += cgroup_dirs_walk(sub, name, tasks_in, depth + 1);
    }
    closedir(d);
    return n;
}

static int cgroup_dirs_named(const char *root, const char *name) { return cgroup_dirs_walk(root, name, false, 0); }

/* Task cgroups of the sandbox `id`, in every hierarchy under root. */
static int task_cgroups_of(const char *root, const char *id) { return cgroup_dirs_walk(root, id, true, 0); }

/* Host processes named comm in the sandbox: those whose cgroup path, as the
 * host sees it, names the sandbox (a uid would not do: another run of this
 * test may use the same one at the same time). */
static int count_host_procs(const char *id, const char *comm)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], buf[4096] = "";
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        bool name = fgets(buf, sizeof buf, fp) && strncmp(buf, comm, strlen(comm)) == 0 &&
                    buf[strlen(comm)] == '\n';
        fclose(fp);
        if (!name)
            continue;
        snprintf(path, sizeof path, "/proc/%s/cgroup", e->d_name);
        fp = fopen(path, "r");
        if (!fp)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, fp);
        buf[len] = '\0';
        fclose(fp);
        n += strstr(buf, id) != NULL;
    }
    closedir(d);
    return n;
}

static bool is_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

static int setup(void **state, const char *mode)
{
    fixture *f = calloc(1, sizeof *f);
    f->mode = mode;
    sq_err err = {0};
    if (sq_cgroups_init("test-cgroups", mode, &err) < 0) {
        fprintf(stderr, "sq_cgroups_init(%s): %s\n", mode, err.msg);
        return -1;
    }
    fprintf(stderr, "[ cgroups  ] mode %s: %s\n", mode, sq_cgroups_describe());
    *state = f;
    return 0;
}
static int setup_auto(void **state) { return setup(state, "auto"); }
static int setup_v1(void **state) { return setup(state, "v1"); }

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Destroy the fixture's sandbox and check that nothing is left: no process,
 * no cgroup directory of that name in any hierarchy. */
static void destroy_and_check(fixture *f)
{
    pid_t init = sq_sandbox_init_pid(f->sb);
    sq_sandbox_destroy(f->sb);
    f->sb = NULL;
    assert_true(is_gone(init));
    assert_int_equal(cgroup_dirs_named("/sys/fs/cgroup", f->id), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->ws);
    assert_int_equal(system(cmd), 0);
}

static void test_oom_kill_is_reported(void **state)
{
    fixture *f = *state;
    sq_sandbox_limits lim = {.memory_bytes = 64ull << 20, .pids = 64};
    sq_sandbox *sb = start_limited(f, &lim);
    assert_int_equal(cgroup_dirs_named("/sys/fs/cgroup", f->id) >= 2, 1);
    output o;
    /* 200 MiB of touched memory in a 64 MiB sandbox. */
    sq_exec_result res = run(sb, "exec python3 -c 'b = bytearray(200 << 20); print(len(b))'", 0, &o);
    assert_true(res.oom_killed);
    assert_int_equal(res.term_signal, SIGKILL);
    /* Under the limit is fine, and the sandbox lives on. */
    res = run(sb, "python3 -c 'b = bytearray(16 << 20); print(len(b))'", 0, &o);
    assert_false(res.oom_killed);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(o.buf, "16777216\n");
    /* A plain SIGKILL is not an OOM kill. */
    res = run(sb, "kill -9 $$", 0, &o);
    assert_int_equal(res.term_signal, SIGKILL);
    assert_false(res.oom_killed);
    destroy_and_check(f);
}

static void test_pids_limit(void **state)
{
    fixture *f = *state;
    sq_sandbox_limits lim = {.memory_bytes = 256ull << 20, .pids = 32};
    sq_sandbox *sb = start_limited(f, &lim);
    output o;
    /* A fork bomb, bounded so that the test ends: forks fail past the limit. */
    sq_exec_result res = run(sb, "for i in $(seq 200); do sleep 30 & done 2>/dev/null; echo done", 20000, &o);
    assert_false(res.timed_out);
    int sleepers = count_host_procs(f->id, "sleep");
    assert_true(sleepers > 10 && sleepers < 32);
    /* The sandbox stays usable once they are gone. */
    run(sb, "pkill sleep; sleep 0.2", 0, &o);
    res = run(sb, "echo alive", 0, &o);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(o.buf, "alive\n");
    destroy_and_check(f);
}

static void test_cgroup_namespace(void **state)
{
    fixture *f = *state;
    sq_sandbox_limits lim = {.memory_bytes = 128ull << 20};
    sq_sandbox *sb = start_limited(f, &lim);
    output o;
    run(sb, "cat /proc/self/cgroup", 0, &o);
    /* Neither the host's layout nor the sandbox's own name shows inside. */
    assert_null(strstr(o.buf, "sandq"));
    assert_null(strstr(o.buf, f->id));
    destroy_and_check(f);
}

static void test_timeout_kills_whole_task_tree(void **state)
{
    fixture *f = *state;
    sq_sandbox_limits lim = {.memory_bytes = 128ull << 20, .pids = 64};
    sq_sandbox *sb = start_limited(f, &lim);
    output o;
    run(sb, "true", 0, &o); /* its emptied task cgroup is the next command's */
    /* A background process of an earlier command: not this task's, stays. */
    run(sb, "sleep 200 >/dev/null 2>&1 &", 0, &o);
    /* setsid takes the sleeper out of the command's process group: only the
     * task cgroup still knows it belongs to the command. */
    sq_exec_result res = run(sb, "setsid sleep 300 >/dev/null 2>&1 & sleep 100", 400, &o);
    assert_true(res.timed_out);
    usleep(100 * 1000);
    run(sb, "ps -e -o args= | grep '^sleep' | sort", 0, &o);
    assert_string_equal(o.buf, "sleep 200\n");
    destroy_and_check(f);
}

/* An emptied task cgroup serves the next command; one a background process
 * still lives in is never handed to another task. */
static void test_task_cgroups_are_reused_only_when_empty(void **state)
{
    fixture *f = *state;
    sq_sandbox_limits lim = {.memory_bytes = 128ull << 20, .pids = 64};
    sq_sandbox *sb = start_limited(f, &lim);
    output o;
    for (int i = 0; i < 10; i++)
        run(sb, "true", 0, &o);
    assert_int_equal(task_cgroups_of("/sys/fs/cgroup", f->id), 1);
    run(sb, "sleep 200 >/dev/null 2>&1 &", 0, &o); /* takes the spare, keeps it */
    assert_int_equal(task_cgroups_of("/sys/fs/cgroup", f->id), 1);
    run(sb, "true", 0, &o); /* needs a new one, which becomes the spare */
    assert_int_equal(task_cgroups_of("/sys/fs/cgroup", f->id), 2);
    run(sb, "ps -e -o args= | grep -c '^sleep 200'", 0, &o);
    assert_string_equal(o.buf, "1\n"); /* the sleeper lives on */
    destroy_and_check(f);
}

static int64_t read_counter(const char *ws)
{
    char path[128], buf[32] = "";
    snprintf(path, sizeof path, "%s/count", ws);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    if (!fgets(buf, sizeof buf, fp))
        buf[0] = '\0';
    fclose(fp);
    return atoll(buf);
}

static void test_pause_resume(void **state)
{
    fixture *f = *state;
    sq_sandbox_limits lim = {.memory_bytes = 128ull << 20, .pids = 64};
    sq_sandbox *sb = start_limited(f, &lim);
    output o;
    run(sb, "(i=0; while :; do i=$((i+1)); echo $i > /workspace/count.tmp; mv /workspace/count.tmp "
            "/workspace/count; sleep 0.02; done) >/dev/null 2>&1 &",
        0, &o);
    usleep(300 * 1000);
    assert_true(read_counter(f->ws) > 0);

    sq_err err = {0};
    assert_int_equal(sq_sandbox_pause(sb, &err), 0);
    int64_t at_pause = read_counter(f->ws);
    usleep(500 * 1000);
    assert_int_equal(read_counter(f->ws), at_pause); /* nothing ran */
    assert_true(sq_sandbox_alive(sb));

    assert_int_equal(sq_sandbox_resume(sb, &err), 0);
    usleep(300 * 1000);
    int64_t after = read_counter(f->ws);
    assert_true(after > at_pause); /* the same process counts on */
    run(sb, "echo ok", 0, &o);
    assert_string_equal(o.buf, "ok\n");

    /* A paused sandbox can be destroyed, and leaves nothing. */
    assert_int_equal(sq_sandbox_pause(sb, &err), 0);
    destroy_and_check(f);
}

static void test_pause_needs_cgroups(void **state)
{
    (void)state;
    char ws[] = "/var/tmp/sq-cg-ws-XXXXXX";
    assert_non_null(mkdtemp(ws));
    assert_int_equal(chown(ws, UID_C, UID_C), 0);
    sq_sandbox_opts opts = {.sandbox_id = "sbx_test_nocg", .workspace_dir = ws, .host_uid = UID_C,
                            .host_gid = UID_C, .id_range = RANGE};
    sq_sandbox *sb = NULL;
    sq_err err = {0};
    assert_int_equal(sq_sandbox_start(&opts, &sb, &err), 0);
    assert_int_equal(sq_sandbox_pause(sb, &err), -1);
    assert_int_equal(err.code, SQ_CAPABILITY_DISABLED);
    sq_sandbox_destroy(sb);
    rmdir(ws);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_cgroups needs root\n");
        return 77;
    }
#ifdef SANDQ_INIT_BIN_DEFAULT
    setenv("SANDQ_INIT_BIN", SANDQ_INIT_BIN_DEFAULT, 0);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_kill_is_reported),
        cmocka_unit_test(test_pids_limit),
        cmocka_unit_test(test_cgroup_namespace),
        cmocka_unit_test(test_task_cgroups_are_reused_only_when_empty),
        cmocka_unit_test(test_timeout_kills_whole_task_tree),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_pause_needs_cgroups),
    };
    int failed = cmocka_run_group_tests_name("cgroups (auto)", tests, setup_auto, teardown);
    sq_cgroups_cleanup();
    failed += cmocka_run_group_tests_name("cgroups (v1 forced)", tests, setup_v1, teardown);
    sq_cgroups_cleanup();
    return failed ? 1 : 0;
}
