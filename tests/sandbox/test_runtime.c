/* test_runtime.c — the sandbox runtime against the real kernel.
 *
 * Needs root (it creates user namespaces mapped to other uids and chowns the
 * workspace); without it the program exits 77, which ctest reports as
 * "Skipped", not as passed. Every check is something a user of a sandbox
 * would notice: output, exit codes, what is visible and what is forbidden,
 * and that nothing outlives the sandbox. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

#define UID_A 200000
#define UID_B 300000
#define RANGE 65536

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    char *data[3];
    size_t len[3];
    size_t max_chunk;
} output;

static void on_output(void *user, int stream, const char *data, size_t len)
{
    output *o = user;
    assert_true(stream == 1 || stream == 2);
    assert_true(len > 0);
    if (len > o->max_chunk)
        o->max_chunk = len;
    o->data[stream] = realloc(o->data[stream], o->len[stream] + len + 1);
    assert_non_null(o->data[stream]);
    memcpy(o->data[stream] + o->len[stream], data, len);
    o->len[stream] += len;
    o->data[stream][o->len[stream]] = '\0';
}

static void output_free(output *o)
{
    free(o->data[1]);
    free(o->data[2]);
    memset(o, 0, sizeof *o);
}

static const char *out_str(const output *o, int stream)
{
    return o->data[stream] ? o->data[stream] : "";
}

typedef struct {
    const char *const *envp;
    const char *cwd;
    const char *in;
    size_t in_len;
    int64_t timeout_ms;
} run_opts;

/* Run argv in sb; fills *o and *res; returns sq_sandbox_exec's result. */
static int run_with(sq_sandbox *sb, const char *const *argv, const run_opts *ro, output *o,
                    sq_exec_result *res)
{
    memset(o, 0, sizeof *o);
    sq_exec_opts eo = {
        .argv = argv,
        .envp = ro ? ro->envp : NULL,
        .cwd = ro ? ro->cwd : NULL,
        .stdin_data = ro ? ro->in : NULL,
        .stdin_len = ro ? (ro->in_len ? ro->in_len : (ro->in ? strlen(ro->in) : 0)) : 0,
        .timeout_ms = ro && ro->timeout_ms ? ro->timeout_ms : 20000,
        .on_output = on_output,
        .user = o,
    };
    sq_err err = {0};
    int rc = sq_sandbox_exec(sb, &eo, res, &err);
    if (rc < 0)
        fprintf(stderr, "exec %s: %s\n", argv[0], err.msg);
    return rc;
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Run a shell snippet; assert the exec itself worked. */
static sq_exec_result sh(sq_sandbox *sb, const char *script, output *o)
{
    sq_exec_result res;
    assert_int_equal(run_with(sb, ARGV("sh", "-c", script), NULL, o, &res), 0);
    return res;
}

static char *make_workspace(uid_t uid, gid_t gid)
{
    char tmpl[] = "/tmp/sq-test-ws-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    assert_int_equal(chown(dir, uid, gid), 0);
    assert_int_equal(chmod(dir, 0750), 0);
    return strdup(dir);
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static sq_sandbox *start(const char *id, const char *ws, uid_t uid)
{
    sq_sandbox_opts opts = {
        .sandbox_id = id,
        .workspace_dir = ws,
        .host_uid = uid,
        .host_gid = uid,
        .id_range = RANGE,
    };
    sq_sandbox *sb = NULL;
    sq_err err = {0};
    if (sq_sandbox_start(&opts, &sb, &err) < 0)
        fail_msg("sq_sandbox_start: %s", err.msg);
    return sb;
}

/* A line of /proc/<pid>/status, e.g. field "Uid:" → "200000\t200000…". */
static bool proc_status_field(pid_t pid, const char *field, char *out, size_t size)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool found = false;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0) {
            const char *v = line + flen;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(out, size, "%s", v);
            out[strcspn(out, "\n")] = '\0';
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Host pid of a child of `parent` whose comm is `comm`, or 0. Polls briefly:
 * a reparented orphan shows up under the init right after its parent exits. */
static pid_t host_child(pid_t parent, const char *comm)
{
    for (int tries = 0; tries < 100; tries++) {
        DIR *d = opendir("/proc");
        assert_non_null(d);
        struct dirent *e;
        pid_t found = 0;
        while ((e = readdir(d)) && !found) {
            pid_t pid = (pid_t)atoi(e->d_name);
            char v[64];
            if (pid <= 0 || !proc_status_field(pid, "PPid:", v, sizeof v) || atoi(v) != parent)
                continue;
            if (proc_status_field(pid, "Name:", v, sizeof v) && strcmp(v, comm) == 0)
                found = pid;
        }
        closedir(d);
        if (found)
            return found;
        usleep(10000);
    }
    return 0;
}

static bool is_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* ---- fixture: one sandbox for the read-only checks ------------------------ */

typedef struct {
    char *ws;
    sq_sandbox *sb;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    f->ws = make_workspace(UID_A, UID_A);
    f->sb = start("sbx_test_a", f->ws, UID_A);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    sq_sandbox_destroy(f->sb);
    remove_tree(f->ws);
    free(f->ws);
    free(f);
    return 0;
}

/* ---- commands, stdio, exit codes ----------------------------------------- */

static void test_echo(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res;
    assert_int_equal(run_with(f->sb, ARGV("echo", "hi"), NULL, &o, &res), 0);
    assert_string_equal(out_str(&o, 1), "hi\n");
    assert_string_equal(out_str(&o, 2), "");
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(res.term_signal, 0);
    assert_false(res.spawn_failed);
    assert_false(res.timed_out);
    output_free(&o);
}

static void test_exit_code(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "exit 3", &o);
    assert_int_equal(res.exit_code, 3);
    assert_false(res.spawn_failed);
    output_free(&o);
}

static void test_missing_command(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res;
    assert_int_equal(run_with(f->sb, ARGV("no-such-command-xyz"), NULL, &o, &res), 0);
    assert_int_equal(res.exit_code, 127);
    assert_true(res.spawn_failed);
    assert_non_null(strstr(out_str(&o, 2), "no-such-command-xyz: command not found"));
    output_free(&o);

    /* not executable → 126 */
    res = sh(f->sb, "printf 'x' > /workspace/noexec; chmod 644 /workspace/noexec", &o);
    output_free(&o);
    assert_int_equal(run_with(f->sb, ARGV("/workspace/noexec"), NULL, &o, &res), 0);
    assert_int_equal(res.exit_code, 126);
    assert_true(res.spawn_failed);
    output_free(&o);
}

static void test_stderr_is_separate(void **state)
{
    fixture *f = *state;
    output o;
    sh(f->sb, "echo out; echo err >&2; echo out2", &o);
    assert_string_equal(out_str(&o, 1), "out\nout2\n");
    assert_string_equal(out_str(&o, 2), "err\n");
    output_free(&o);
}

static void test_stdin(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res;
    run_opts ro = {.in = "hello\nworld\n"};
    assert_int_equal(run_with(f->sb, ARGV("cat"), &ro, &o, &res), 0);
    assert_string_equal(out_str(&o, 1), "hello\nworld\n");
    output_free(&o);

    /* More than a pipe holds, so the write has to interleave with reading. */
    size_t big = 1 << 20;
    char *data = malloc(big);
    memset(data, 'a', big);
    ro = (run_opts){.in = data, .in_len = big};
    assert_int_equal(run_with(f->sb, ARGV("wc", "-c"), &ro, &o, &res), 0);
    assert_string_equal(out_str(&o, 1), "1048576\n");
    output_free(&o);

    /* A command that never reads its stdin: we must neither hang nor die of
     * SIGPIPE. */
    assert_int_equal(run_with(f->sb, ARGV("true"), &ro, &o, &res), 0);
    assert_int_equal(res.exit_code, 0);
    output_free(&o);
    free(data);
}

static void test_large_output_in_chunks(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res;
    assert_int_equal(run_with(f->sb, ARGV("head", "-c", "3000000", "/dev/zero"), NULL, &o, &res), 0);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(o.len[1], 3000000);
    assert_true(o.max_chunk <= 64 * 1024);
    output_free(&o);
}

/* A command sees exactly its three stdio fds: nothing of the init or the
 * worker (the control socket!) leaks into it. */
static void test_no_inherited_fds(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res;
    /* ls opens the directory itself: that is the 3 */
    assert_int_equal(run_with(f->sb, ARGV("ls", "/proc/self/fd"), NULL, &o, &res), 0);
    assert_string_equal(out_str(&o, 1), "0\n1\n2\n3\n");
    output_free(&o);
}

/* A command that leaves a background process holding its stdout returns when
 * it exits, with its own output, not when the background process ends. */
static void test_background_process_does_not_block(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "sleep 5 & echo hi", &o);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out_str(&o, 1), "hi\n");
    assert_true(res.duration_ms < 1000);
    output_free(&o);
    sh(f->sb, "pkill -x sleep; true", &o);
    output_free(&o);
}

static void test_env_and_cwd(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "echo \"$HOME|$PATH|$LANG\"; pwd", &o);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out_str(&o, 1),
                        "/workspace|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|C.UTF-8\n"
                        "/workspace\n");
    output_free(&o);

    run_opts ro = {.envp = ARGV("FOO=bar", "PATH=/usr/bin"), .cwd = "/tmp"};
    assert_int_equal(run_with(f->sb, ARGV("sh", "-c", "echo $FOO; pwd"), &ro, &o, &res), 0);
    assert_string_equal(out_str(&o, 1), "bar\n/tmp\n");
    output_free(&o);

    ro = (run_opts){.cwd = "/no/such/dir"};
    assert_int_equal(run_with(f->sb, ARGV("true"), &ro, &o, &res), 0);
    assert_true(res.spawn_failed);
    assert_non_null(strstr(out_str(&o, 2), "cd: /no/such/dir"));
    output_free(&o);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res;
    run_opts ro = {.timeout_ms = 300};
    assert_int_equal(run_with(f->sb, ARGV("sleep", "10"), &ro, &o, &res), 0);
    assert_true(res.timed_out);
    assert_int_equal(res.term_signal, SIGKILL);
    assert_int_equal(res.exit_code, 128 + SIGKILL);
    assert_true(res.duration_ms >= 300 && res.duration_ms < 3000);
    output_free(&o);

    /* The whole process group goes, not just its leader. */
    ro.timeout_ms = 300;
    assert_int_equal(run_with(f->sb, ARGV("sh", "-c", "sleep 30 & sleep 31; wait"), &ro, &o, &res),
                     0);
    assert_true(res.timed_out);
    output_free(&o);
    res = sh(f->sb, "ps -e -o comm= | grep -c '^sleep' || true", &o);
    assert_string_equal(out_str(&o, 1), "0\n");
    output_free(&o);
}

/* ---- identity and visibility --------------------------------------------- */

static void test_identity(void **state)
{
    fixture *f = *state;
    output o;
    sh(f->sb, "id -u; id -g; id -G", &o);
    assert_string_equal(out_str(&o, 1), "0\n0\n0\n");
    output_free(&o);

    /* Outside, the same process is host uid UID_A. */
    sh(f->sb, "sleep 30 >/dev/null 2>&1 &", &o);
    output_free(&o);
    pid_t host = host_child(sq_sandbox_init_pid(f->sb), "sleep");
    assert_true(host > 0);
    char v[128];
    assert_true(proc_status_field(host, "Uid:", v, sizeof v));
    assert_string_equal(v, "200000\t200000\t200000\t200000");
    assert_true(proc_status_field(host, "Gid:", v, sizeof v));
    assert_string_equal(v, "200000\t200000\t200000\t200000");
    assert_true(proc_status_field(host, "Groups:", v, sizeof v));
    assert_string_equal(v, ""); /* the worker's supplementary groups are gone */
    sh(f->sb, "pkill -x sleep; true", &o);
    output_free(&o);
}

static void test_init_is_pid1(void **state)
{
    fixture *f = *state;
    output o;
    sh(f->sb, "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$", &o);
    /* pid 1 is the init; the shell is a low pid of the sandbox's namespace */
    assert_true(strncmp(out_str(&o, 1), "sandq-init \n", 12) == 0);
    assert_true(atoi(out_str(&o, 1) + 12) > 1 && atoi(out_str(&o, 1) + 12) < 1000);
    output_free(&o);
}

static void test_hostname_and_network(void **state)
{
    fixture *f = *state;
    output o;
    sh(f->sb, "hostname", &o);
    assert_string_equal(out_str(&o, 1), "sbx_test_a\n");
    output_free(&o);

    /* Only loopback exists, and it is up. */
    sh(f->sb, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", &o);
    assert_string_equal(out_str(&o, 1), "lo\n");
    output_free(&o);
    sq_exec_result res = sh(
        f->sb,
        "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); s.listen(); "
        "c=socket.create_connection(s.getsockname()); print(\"ok\")'",
        &o);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out_str(&o, 1), "ok\n");
    output_free(&o);
}

static void test_zombies_are_reaped(void **state)
{
    fixture *f = *state;
    output o;
    /* The subshell exits at once; its sleep is reparented to the init. */
    sh(f->sb, "(sleep 0.2 >/dev/null 2>&1 &); exit 0", &o);
    output_free(&o);
    usleep(700 * 1000);
    pid_t init = sq_sandbox_init_pid(f->sb);
    DIR *d = opendir("/proc");
    struct dirent *e;
    int zombies = 0;
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        char v[64];
        if (pid > 0 && proc_status_field(pid, "PPid:", v, sizeof v) && atoi(v) == init &&
            proc_status_field(pid, "State:", v, sizeof v) && v[0] == 'Z')
            zombies++;
    }
    closedir(d);
    assert_int_equal(zombies, 0);
    assert_true(sq_sandbox_alive(f->sb));
}

/* ---- filesystem ----------------------------------------------------------- */

static void test_host_secrets_invisible(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "ls /root", &o);
    assert_int_not_equal(res.exit_code, 0);
    output_free(&o);
    res = sh(f->sb, "cat /etc/shadow", &o);
    assert_int_not_equal(res.exit_code, 0);
    assert_string_equal(out_str(&o, 1), "");
    output_free(&o);

    /* Files of host root in the workspace: neither its owner bits (root is
     * not mapped) nor its group bits (we started with group 0, see main)
     * let the sandbox read them. */
    char path[512];
    snprintf(path, sizeof path, "%s/secret", f->ws);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\n", 7), 7);
    close(fd);
    assert_int_equal(chown(path, 0, 0), 0);
    res = sh(f->sb, "cat /workspace/secret", &o);
    assert_int_not_equal(res.exit_code, 0);
    assert_null(strstr(out_str(&o, 1), "s3cret"));
    output_free(&o);
    unlink(path);
}

static void test_readonly_system(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "touch /usr/x", &o);
    assert_int_not_equal(res.exit_code, 0);
    output_free(&o);
    res = sh(f->sb, "touch /x || touch /dev/x || touch /etc/passwd", &o);
    assert_int_not_equal(res.exit_code, 0);
    output_free(&o);
    /* read-only at the mount, not just by permissions */
    sh(f->sb,
       "awk '$5==\"/usr\" || $5==\"/etc/passwd\" || $5==\"/\" {split($6,a,\",\"); print $5, a[1]}' "
       "/proc/self/mountinfo | sort",
       &o);
    assert_string_equal(out_str(&o, 1), "/ ro\n/etc/passwd ro\n/usr ro\n");
    output_free(&o);

    /* Debian's merged /usr: /bin and /lib are links, and the usual tools run. */
    sh(f->sb, "readlink /bin /lib; ls /usr/bin/awk /etc/alternatives/awk >/dev/null && echo ok", &o);
    assert_string_equal(out_str(&o, 1), "usr/bin\nusr/lib\nok\n");
    output_free(&o);
}

static void test_writable_places(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "echo data > /workspace/x && echo t > /tmp/t && "
                                   "echo s > /dev/shm/s && cat /tmp/t /dev/shm/s",
                            &o);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out_str(&o, 1), "t\ns\n");
    output_free(&o);

    char path[512];
    snprintf(path, sizeof path, "%s/x", f->ws);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, UID_A);
    assert_int_equal(st.st_gid, UID_A);
    FILE *fp = fopen(path, "r");
    char buf[16] = {0};
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "data\n");

    /* /tmp is a tmpfs with the configured size (64 MiB by default) */
    sh(f->sb, "df -k /tmp | tail -1 | awk '{print $2}'", &o);
    assert_string_equal(out_str(&o, 1), "65536\n");
    output_free(&o);

    /* /dev basics */
    res = sh(f->sb, "echo x > /dev/null && head -c 4 /dev/urandom | wc -c && ls -l /dev/ptmx", &o);
    assert_int_equal(res.exit_code, 0);
    assert_non_null(strstr(out_str(&o, 1), "4\n"));
    assert_non_null(strstr(out_str(&o, 1), "pts/ptmx"));
    output_free(&o);
}

/* ---- privileges and the syscall filter ------------------------------------ */

static void test_no_privileges(void **state)
{
    fixture *f = *state;
    output o;
    sh(f->sb, "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
       &o);
    assert_string_equal(out_str(&o, 1),
                        "CapInh:\t0000000000000000\n"
                        "CapPrm:\t0000000000000000\n"
                        "CapEff:\t0000000000000000\n"
                        "CapBnd:\t0000000000000000\n"
                        "CapAmb:\t0000000000000000\n"
                        "NoNewPrivs:\t1\n"
                        "Seccomp:\t2\n");
    output_free(&o);

    sh(f->sb, "ulimit -n; ulimit -c", &o);
    assert_string_equal(out_str(&o, 1), "4096\n0\n");
    output_free(&o);
}

static void test_seccomp_denials(void **state)
{
    fixture *f = *state;
    output o;
    sq_exec_result res = sh(f->sb, "mount -t tmpfs x /tmp", &o);
    assert_int_not_equal(res.exit_code, 0);
    output_free(&o);

    res = sh(f->sb, "unshare -U true", &o);
    assert_int_not_equal(res.exit_code, 0);
    assert_non_null(strstr(out_str(&o, 2), "Operation not permitted"));
    output_free(&o);

    /* The system calls themselves, whatever a tool does with them:
     * unshare(CLONE_NEWNET), clone(CLONE_NEWUSER) (56 on x86_64) → EPERM;
     * clone3 (435) → ENOSYS, so that libc falls back to the filterable clone. */
    res = sh(f->sb,
             "python3 -c 'import ctypes,signal; l=ctypes.CDLL(None, use_errno=True); "
             "print(\"unshare\", l.unshare(0x40000000), ctypes.get_errno()); "
             "print(\"clone\", l.syscall(56, 0x10000000|signal.SIGCHLD, 0, 0, 0, 0), ctypes.get_errno()); "
             "print(\"clone3\", l.syscall(435, 0, 0), ctypes.get_errno())'",
             &o);
    assert_string_equal(out_str(&o, 1), "unshare -1 1\nclone -1 1\nclone3 -1 38\n");
    output_free(&o);

    /* personality: the safe values pass, others are refused */
    res = sh(f->sb, "setarch linux32 true", &o);
    assert_int_equal(res.exit_code, 0);
    output_free(&o);
    res = sh(f->sb, "setarch x86_64 -R true", &o);
    assert_int_not_equal(res.exit_code, 0);
    output_free(&o);

    /* a uid-0 process gets no capabilities back from execve */
    res = sh(f->sb, "sh -c 'grep CapEff /proc/self/status'", &o);
    assert_string_equal(out_str(&o, 1), "CapEff:\t0000000000000000\n");
    output_free(&o);
}

/* ---- lifetime and isolation ------------------------------------------------ */

static void test_destroy_leaves_nothing(void **state)
{
    (void)state;
    char *ws = make_workspace(UID_B, UID_B);
    sq_sandbox *sb = start("sbx_test_destroy", ws, UID_B);
    pid_t init = sq_sandbox_init_pid(sb);
    output o;
    sh(sb, "sleep 100 >/dev/null 2>&1 &", &o);
    output_free(&o);
    pid_t sleeper = host_child(init, "sleep");
    assert_true(sleeper > 0);
    assert_true(sq_sandbox_alive(sb));

    sq_sandbox_destroy(sb);
    assert_true(is_gone(init));
    assert_true(is_gone(sleeper));
    remove_tree(ws);
    free(ws);
}

static void test_sandboxes_are_isolated(void **state)
{
    fixture *f = *state;
    char *ws = make_workspace(UID_B, UID_B);
    sq_sandbox *b = start("sbx_test_b", ws, UID_B);
    output o;

    sh(f->sb, "sleep 77 >/dev/null 2>&1 &", &o);
    output_free(&o);
    pid_t a_sleeper = host_child(sq_sandbox_init_pid(f->sb), "sleep");
    assert_true(a_sleeper > 0);

    /* B sees only its own processes … */
    sh(b, "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done", &o);
    assert_null(strstr(out_str(&o, 1), "sleep 77"));
    assert_non_null(strstr(out_str(&o, 1), "sandq-init"));
    output_free(&o);
    /* … cannot signal A's by host pid … */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "kill -9 %d", (int)a_sleeper);
    sq_exec_result res = sh(b, cmd, &o);
    assert_int_not_equal(res.exit_code, 0);
    output_free(&o);
    assert_false(is_gone(a_sleeper));
    /* … and does not see A's workspace. */
    res = sh(b, "ls /workspace", &o);
    assert_string_equal(out_str(&o, 1), "");
    output_free(&o);

    sh(f->sb, "pkill -x sleep; true", &o);
    output_free(&o);
    sq_sandbox_destroy(b);
    remove_tree(ws);
    free(ws);
}

/* An init that dies under us: exec says so (and does not hang), alive() turns
 * false, destroy still cleans up. */
static void test_init_killed_from_outside(void **state)
{
    (void)state;
    char *ws = make_workspace(UID_B, UID_B);
    sq_sandbox *sb = start("sbx_test_killed", ws, UID_B);
    assert_true(sq_sandbox_alive(sb));
    assert_int_equal(kill(sq_sandbox_init_pid(sb), SIGKILL), 0);
    output o;
    sq_exec_result res;
    assert_int_equal(run_with(sb, ARGV("echo", "hi"), NULL, &o, &res), -1);
    output_free(&o);
    assert_false(sq_sandbox_alive(sb));
    assert_int_equal(run_with(sb, ARGV("echo", "hi"), NULL, &o, &res), -1);
    output_free(&o);
    pid_t init = sq_sandbox_init_pid(sb);
    sq_sandbox_destroy(sb);
    assert_true(is_gone(init));
    remove_tree(ws);
    free(ws);
}

/* The sandbox dies with the thread that started it, even without destroy. */
static void test_dies_with_worker(void **state)
{
    (void)state;
    /* Become the reaper of orphans so the killed init comes back to us. */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    char *ws = make_workspace(UID_B, UID_B);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t worker = fork();
    assert_true(worker >= 0);
    if (worker == 0) {
        sq_sandbox *sb = start("sbx_test_orphan", ws, UID_B);
        pid_t init = sq_sandbox_init_pid(sb);
        if (write(p[1], &init, sizeof init) != sizeof init)
            _exit(2);
        _exit(0); /* no destroy */
    }
    pid_t init = 0;
    assert_int_equal(read(p[0], &init, sizeof init), sizeof init);
    close(p[0]);
    close(p[1]);
    int st;
    assert_int_equal(waitpid(worker, &st, 0), worker);

    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; i++) {
        pid_t r = waitpid(init, &st, WNOHANG);
        if (r == init)
            reaped = true;
        else
            usleep(10000);
    }
    /* Whichever comes first: the init sees its control socket close and
     * exits, or PR_SET_PDEATHSIG kills it (when some other process still holds
     * a copy of the worker's end, only the latter happens). */
    assert_true(reaped);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    remove_tree(ws);
    free(ws);
}

/* Even when the worker's end of the control socket lives on in another process
 * (here a forked helper), the sandbox dies with the worker: PR_SET_PDEATHSIG. */
static void test_dies_with_worker_by_pdeathsig(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    char *ws = make_workspace(UID_B, UID_B);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t worker = fork();
    assert_true(worker >= 0);
    if (worker == 0) {
        sq_sandbox *sb = start("sbx_test_orphan2", ws, UID_B);
        pid_t ids[2] = {sq_sandbox_init_pid(sb), fork()};
        if (ids[1] == 0) { /* the helper: holds every fd, including the socket */
            sleep(30);
            _exit(0);
        }
        if (write(p[1], ids, sizeof ids) != sizeof ids)
            _exit(2);
        _exit(0);
    }
    pid_t ids[2];
    assert_int_equal(read(p[0], ids, sizeof ids), sizeof ids);
    close(p[0]);
    close(p[1]);
    int st;
    assert_int_equal(waitpid(worker, &st, 0), worker);

    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; i++) {
        if (waitpid(ids[0], &st, WNOHANG) == ids[0])
            reaped = true;
        else
            usleep(10000);
    }
    assert_true(reaped);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    kill(ids[1], SIGKILL);
    waitpid(ids[1], &st, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    remove_tree(ws);
    free(ws);
}

/* The worker is multi-threaded: sandboxes start while other threads hold
 * malloc and stdio locks; the set-up child must never need them. */
#define THREADS 4
#define ROUNDS 5

static void *sandbox_thread(void *arg)
{
    const char *ws = arg;
    for (int i = 0; i < ROUNDS; i++) {
        sq_sandbox_opts opts = {.sandbox_id = "sbx_thread", .workspace_dir = ws,
                                .host_uid = UID_B, .host_gid = UID_B, .id_range = 1};
        sq_sandbox *sb;
        sq_err err;
        if (sq_sandbox_start(&opts, &sb, &err) < 0)
            return strdup(err.msg);
        output o = {0};
        sq_exec_result res;
        const char *argv[] = {"echo", "ok", NULL};
        sq_exec_opts eo = {.argv = argv, .timeout_ms = 10000, .on_output = on_output, .user = &o};
        int rc = sq_sandbox_exec(sb, &eo, &res, &err);
        bool good = rc == 0 && res.exit_code == 0 && o.len[1] == 3;
        output_free(&o);
        sq_sandbox_destroy(sb);
        if (!good)
            return strdup(rc < 0 ? err.msg : "wrong output");
    }
    return NULL;
}

static atomic_bool churn_stop;

static void *churn_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&churn_stop)) {
        void *v[64];
        for (int i = 0; i < 64; i++)
            v[i] = malloc((size_t)(i * 97 + 1));
        for (int i = 0; i < 64; i++)
            free(v[i]);
        char buf[64];
        snprintf(buf, sizeof buf, "%d", rand());
    }
    return NULL;
}

static void test_start_from_many_threads(void **state)
{
    (void)state;
    char *ws = make_workspace(UID_B, UID_B);
    pthread_t churn, t[THREADS];
    atomic_store(&churn_stop, false);
    assert_int_equal(pthread_create(&churn, NULL, churn_thread, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sandbox_thread, ws), 0);
    for (int i = 0; i < THREADS; i++) {
        void *msg;
        pthread_join(t[i], &msg);
        if (msg)
            fail_msg("thread %d: %s", i, (char *)msg);
    }
    atomic_store(&churn_stop, true);
    pthread_join(churn, NULL);
    remove_tree(ws);
    free(ws);
}

/* ---- start failures --------------------------------------------------------- */

static void expect_start_error(const char *ws, const char *contains)
{
    sq_sandbox_opts opts = {.sandbox_id = "sbx_bad", .workspace_dir = ws, .host_uid = UID_B,
                            .host_gid = UID_B, .id_range = 1};
    sq_sandbox *sb = (sq_sandbox *)&opts; /* must be reset to NULL */
    sq_err err = {0};
    assert_int_equal(sq_sandbox_start(&opts, &sb, &err), -1);
    assert_null(sb);
    if (!strstr(err.msg, contains))
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, contains);
}

static void test_start_errors(void **state)
{
    (void)state;
    expect_start_error("/no/such/workspace", "workspace /no/such/workspace: No such file");

    char *ws = make_workspace(UID_B, UID_B);
    const char *saved = getenv("SANDQ_INIT_BIN");
    char *keep = saved ? strdup(saved) : NULL;

    setenv("SANDQ_INIT_BIN", "/no/such/init", 1);
    expect_start_error(ws, "sandq-init /no/such/init");

    /* A failure inside the child comes back with the step's name: a script
     * cannot be exec'd from a close-on-exec fd (see child.c). */
    char script[512];
    snprintf(script, sizeof script, "%s/../sq-test-init.sh", ws);
    FILE *fp = fopen(script, "w");
    fputs("#!/bin/sh\nexit 0\n", fp);
    fclose(fp);
    chmod(script, 0755);
    setenv("SANDQ_INIT_BIN", script, 1);
    expect_start_error(ws, "execveat sandq-init: No such file or directory");
    unlink(script);

    /* An init that exits without answering. */
    setenv("SANDQ_INIT_BIN", "/usr/bin/true", 1);
    expect_start_error(ws, "sandbox set-up process exited with status 0");

    if (keep)
        setenv("SANDQ_INIT_BIN", keep, 1);
    else
        unsetenv("SANDQ_INIT_BIN");
    free(keep);
    remove_tree(ws);
    free(ws);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_runtime needs root (user namespaces mapped to other uids)\n");
        return 77;
    }
#ifdef SANDQ_INIT_BIN_DEFAULT
    setenv("SANDQ_INIT_BIN", SANDQ_INIT_BIN_DEFAULT, 0);
#endif
    /* Like root after sudo or a login: member of group 0. The sandbox must
     * not inherit it (test_identity, test_host_secrets_invisible). */
    gid_t zero = 0;
    if (setgroups(1, &zero) < 0)
        perror("setgroups");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_missing_command),
        cmocka_unit_test(test_stderr_is_separate),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_large_output_in_chunks),
        cmocka_unit_test(test_no_inherited_fds),
        cmocka_unit_test(test_background_process_does_not_block),
        cmocka_unit_test(test_env_and_cwd),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_init_is_pid1),
        cmocka_unit_test(test_hostname_and_network),
        cmocka_unit_test(test_zombies_are_reaped),
        cmocka_unit_test(test_host_secrets_invisible),
        cmocka_unit_test(test_readonly_system),
        cmocka_unit_test(test_writable_places),
        cmocka_unit_test(test_no_privileges),
        cmocka_unit_test(test_seccomp_denials),
        cmocka_unit_test(test_sandboxes_are_isolated),
        cmocka_unit_test(test_destroy_leaves_nothing),
        cmocka_unit_test(test_init_killed_from_outside),
        cmocka_unit_test(test_dies_with_worker),
        cmocka_unit_test(test_dies_with_worker_by_pdeathsig),
        cmocka_unit_test(test_start_from_many_threads),
        cmocka_unit_test(test_start_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
