/* exec.c — running one command in a sandbox (sq_sandbox_exec).
 *
 * We make three pipes, send SPAWN with the command's ends (stdin read end,
 * stdout and stderr write ends) to the init, and keep ours: stdin's write end,
 * stdout's and stderr's read ends, all non-blocking. Then one poll loop feeds
 * stdin, streams output to on_output, enforces the timeout and waits for EXITED.
 *
 * With cgroups, each command is born in its own task cgroup (cgroup.h): the
 * init is moved into it just before the SPAWN and back on SPAWNED. A timeout
 * then kills that cgroup — the command's whole tree, even what left its process
 * group — as well as sending KILL to the init (which signals the group, all
 * there is without cgroups). A cancel (on_control) kills it the same way. An OOM kill is told apart from any other SIGKILL
 * by the memory cgroup's oom_kill counter moving while the command ran.
 *
 * When the command has exited we read what it left in the pipes until EOF, but
 * for at most SQ_DRAIN_MS: a background process it started (`server &`) keeps
 * the pipes open, and its later output is not this command's.
 *
 * SIGPIPE: writing stdin to a command that exited raises SIGPIPE in this
 * thread. Pipes have no MSG_NOSIGNAL, so the signal is blocked in this thread
 * for the duration and a SIGPIPE we caused is consumed before unblocking. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "sandbox_int.h"
#include "sq/cleanup.h"
#include "sq/clock.h"

#define SQ_CHUNK (64 * 1024)      /* largest on_output chunk */
#define SQ_KILL_GRACE_MS 5000     /* a killed command must be reported by then */
#define SQ_DRAIN_MS 100           /* reading leftovers after exit */

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/workspace",
    "LANG=C.UTF-8",
    NULL,
};

struct run {
    sq_sandbox *sb;
    const sq_exec_opts *o;
    sq_exec_result *res;
    uint32_t id;
    int in, out, err;        /* our pipe ends, -1 once closed */
    size_t in_off;
    char *buf;
    bool exited, kill_sent, caused_sigpipe;
    bool init_in_task_cg;    /* the init sits in this command's task cgroup */
    int status, start_errno;
};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int broken(struct run *r, sq_err *err, const char *what)
{
    r->sb->dead = true;
    return sq_err_set(err, SQ_INTERNAL, "sandbox init is gone (%s)", what);
}

/* The init goes back to the sandbox's own cgroup as soon as the command is
 * forked, so nothing else it starts lands in the task cgroup. */
static void init_home(struct run *r)
{
    if (!r->init_in_task_cg)
        return;
    sq_err ignore;
    sq_cgroup_task_placed(r->sb->cg, r->sb->pid, &ignore);
    r->init_in_task_cg = false;
}

static void emit(struct run *r, int stream, const char *data, size_t len)
{
    if (r->o->on_output && len > 0)
        r->o->on_output(r->o->user, stream, data, len);
}

/* Read once from an output pipe; close it at EOF or on error. */
static void pump_output(struct run *r, int *fd, int stream)
{
    ssize_t n = read(*fd, r->buf, SQ_CHUNK);
    if (n > 0)
        emit(r, stream, r->buf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        close_fd(fd);
}

static void pump_stdin(struct run *r)
{
    const char *data = r->o->stdin_data ? r->o->stdin_data + r->in_off : NULL;
    size_t left = r->o->stdin_len - r->in_off;
    if (r->o->stdin_from_fd) {
        /* One chunk of the file at a time, from where the pipe left off: what
         * a partial write did not take is read again next time. */
        ssize_t got = pread(r->o->stdin_fd, r->buf, left < SQ_CHUNK ? left : SQ_CHUNK, (off_t)r->in_off);
        if (got <= 0) { /* the file shrank or failed: the command sees EOF early */
            close_fd(&r->in);
            return;
        }
        data = r->buf;
        left = (size_t)got;
    }
    ssize_t n = write(r->in, data, left);
    if (n > 0)
        r->in_off += (size_t)n;
    else if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    else if (n < 0 && errno == EPIPE)
        r->caused_sigpipe = true; /* the command is not reading any more */
    if (n <= 0 || r->in_off == r->o->stdin_len)
        close_fd(&r->in);
}

/* Handle one frame from the init. Returns 1 when this run is settled by a
 * REJECTED frame, 0 to continue, -1 on a broken sandbox. */
static int on_frame(struct run *r, sq_err *err)
{
    sq_ctl_hdr h;
    sq_autofree void *payload = NULL;
    int rc = sq_ctl_recv(r->sb->ctl, &h, &payload, SQ_CTL_MAX_STEP, NULL, 0, NULL);
    if (rc == 0)
        return broken(r, err, "control socket closed");
    if (rc == -ECONNRESET || rc == -EPIPE)
        return broken(r, err, "control socket reset");
    if (rc < 0) {
        errno = -rc;
        return sq_err_errno(err, "control socket");
    }
    if (h.id != r->id)
        return 0; /* a late report about an earlier, abandoned spawn */
    if (h.type == SQ_CTL_SPAWNED || h.type == SQ_CTL_EXITED || h.type == SQ_CTL_REJECTED)
        init_home(r);
    if (h.type == SQ_CTL_EXITED) {
        r->exited = true;
        r->status = h.a;
        r->start_errno = h.b;
        close_fd(&r->in);
    } else if (h.type == SQ_CTL_REJECTED) {
        /* Out of processes or memory is the command's failure, not the
         * sandbox's: report it like a shell would. */
        if (h.a == EAGAIN || h.a == ENOMEM) {
            char msg[256];
            int len = snprintf(msg, sizeof msg, "sandq: cannot start %s: %s\n", r->o->argv[0],
                               strerror(h.a));
            emit(r, 2, msg, len < 0 ? 0 : (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
            r->res->spawn_failed = true;
            r->res->exit_code = 126;
            return 1;
        }
        errno = h.a;
        return sq_err_errno(err, "sandbox init refused the command");
    }
    return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Kill the command's whole tree: KILL to the init for its process group, and
 * its task cgroup (what left the group). The init goes home first so it is
 * never killed with the command. Works on a frozen cgroup too: cgroup v2
 * delivers SIGKILL to frozen tasks. */
static int kill_command(struct run *r, int64_t now, int64_t *report_by)
{
    if (sq_ctl_send(r->sb->ctl, SQ_CTL_KILL, r->id, SIGKILL, 0, NULL, 0, NULL, 0) < 0)
        return -1;
    if (r->sb->cg) {
        init_home(r);
        sq_cgroup_task_kill(r->sb->cg, r->id);
    }
    r->kill_sent = true;
    *report_by = now + SQ_KILL_GRACE_MS;
    close_fd(&r->in);
    return 0;
}

/* Ask on_control what to do; returns true to cancel. The time it took is
 * added to *deadline: a command's timeout counts its running time, and
 * on_control may have held the sandbox frozen meanwhile. */
static bool ask_control(struct run *r, int64_t *control_at, int64_t *deadline)
{
    int64_t before = sq_mono_ms();
    bool cancel = r->o->on_control(r->o->user, control_at);
    int64_t spent = sq_mono_ms() - before;
    if (*deadline != INT64_MAX)
        *deadline += spent;
    return cancel;
}

static void drain_wake(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) > 0) {
    }
}

static int loop(struct run *r, int64_t start, sq_err *err)
{
    const int64_t never = INT64_MAX;
    int64_t deadline = r->o->timeout_ms > 0 ? start + r->o->timeout_ms : never;
    int64_t report_by = never, drain_until = never;
    bool controlled = r->o->on_control != NULL;
    int wake_fd = controlled ? r->o->wake_fd : -1;
    int64_t control_at = controlled && r->o->control_at > 0 ? r->o->control_at : never;
    bool wake = wake_fd >= 0; /* ask once at the start: a cancel may already wait */

    for (;;) {
        int64_t now = sq_mono_ms();
        if (r->exited && drain_until == never)
            drain_until = now + SQ_DRAIN_MS;
        if (r->exited && ((r->out < 0 && r->err < 0) || now >= drain_until))
            return 0;
        if (controlled && !r->exited && !r->kill_sent && (wake || now >= control_at)) {
            int64_t next = control_at == never ? 0 : control_at;
            bool cancel = ask_control(r, &next, &deadline);
            control_at = next > 0 ? next : never;
            wake = false;
            now = sq_mono_ms();
            if (cancel) {
                if (kill_command(r, now, &report_by) < 0)
                    return broken(r, err, "sending KILL");
                /* on_control may have left the sandbox frozen (paused under
                 * the command): the command is killed, but a frozen init
                 * could not reap it nor report EXITED. Thawed only after the
                 * kill, so the command never runs again. */
                if (r->sb->cg)
                    sq_cgroup_freeze(r->sb->cg, false, NULL);
                r->res->canceled = true;
            }
        }
        if (!r->exited && !r->kill_sent && now >= deadline) {
            if (kill_command(r, now, &report_by) < 0)
                return broken(r, err, "sending KILL");
            r->res->timed_out = true;
        }
        if (!r->exited && now >= report_by)
            return sq_err_set(err, SQ_INTERNAL,
                              "sandbox init did not report a killed command within %d ms",
                              SQ_KILL_GRACE_MS);

        int64_t until = r->exited ? drain_until : r->kill_sent ? report_by : min64(deadline, control_at);
        int wait = until == never ? -1 : (int)min64(until > now ? until - now : 0, 60 * 1000);

        struct pollfd p[6] = {
            {.fd = r->sb->ctl, .events = POLLIN},
            {.fd = r->sb->pidfd, .events = POLLIN},
            {.fd = r->out, .events = POLLIN},
            {.fd = r->err, .events = POLLIN},
            {.fd = r->in, .events = POLLOUT},
            {.fd = r->kill_sent || r->exited ? -1 : wake_fd, .events = POLLIN},
        };
        int n = poll(p, 6, wait);
        if (n < 0 && errno != EINTR)
            return sq_err_errno(err, "poll");
        if (n <= 0)
            continue;
        /* Output first, so what a command wrote before exiting is never
         * behind its EXITED in our handling. */
        if (p[2].revents)
            pump_output(r, &r->out, 1);
        if (p[3].revents)
            pump_output(r, &r->err, 2);
        if (p[4].revents && r->in >= 0)
            pump_stdin(r);
        if (p[5].revents) {
            drain_wake(wake_fd);
            wake = true;
        }
        if (p[0].revents) {
            int rc = on_frame(r, err);
            if (rc != 0)
                return rc < 0 ? -1 : 0;
        }
        if (p[1].revents && !(p[0].revents & POLLIN))
            return broken(r, err, "init exited");
    }
}

static void fill_result(struct run *r)
{
    sq_exec_result *res = r->res;
    if (!r->exited)
        return;
    if (WIFEXITED(r->status))
        res->exit_code = WEXITSTATUS(r->status);
    else if (WIFSIGNALED(r->status)) {
        res->term_signal = WTERMSIG(r->status);
        res->exit_code = 128 + res->term_signal;
    }
    res->spawn_failed = r->start_errno != 0;
}

int sq_sandbox_exec(sq_sandbox *sb, const sq_exec_opts *o, sq_exec_result *res, sq_err *err)
{
    memset(res, 0, sizeof *res);
    if (!o || !o->argv || !o->argv[0] || !o->argv[0][0])
        return sq_err_field(err, SQ_INVALID_REQUEST, "argv", "the command must not be empty");
    if (o->stdin_len > 0 && !o->stdin_data && !o->stdin_from_fd)
        return sq_err_field(err, SQ_INVALID_REQUEST, "stdin", "stdin_len without stdin_data");
    if (sb->dead || sb->ctl < 0)
        return sq_err_set(err, SQ_INTERNAL, "sandbox init is gone");
    int64_t start = sq_mono_ms();

    sq_autofree void *payload = NULL;
    size_t len;
    uint32_t argc, envc;
    int rc = sq_ctl_pack_spawn(o->cwd ? o->cwd : "/workspace", o->argv,
                               o->envp ? o->envp : default_env, &payload, &len, &argc, &envc);
    if (rc == -E2BIG)
        return sq_err_set(err, SQ_PAYLOAD_TOO_LARGE,
                          "command, environment and cwd exceed %u bytes or %u strings",
                          SQ_CTL_MAX_PAYLOAD, SQ_CTL_MAX_STRINGS);
    if (rc < 0) {
        errno = -rc;
        return sq_err_errno(err, "encoding the command");
    }

    sq_autofree char *buf = malloc(SQ_CHUNK);
    if (!buf)
        return sq_err_errno(err, "malloc");
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
        sq_err_errno(err, "pipe");
        close_fd(&pin[0]), close_fd(&pin[1]), close_fd(&pout[0]), close_fd(&pout[1]);
        return -1;
    }

    if (++sb->next_id == 0)
        sb->next_id = 1;
    struct run r = {.sb = sb, .o = o, .res = res, .id = sb->next_id, .in = pin[1],
                    .out = pout[0], .err = perr[0], .buf = buf};
    const int theirs[SQ_CTL_SPAWN_FDS] = {pin[0], pout[1], perr[1]};
    uint64_t oom_before = sb->cg ? sq_cgroup_oom_kills(sb->cg) : 0;
    if (sb->cg) {
        /* Without its own cgroup the command still runs; only a timeout then
         * reaches just its process group. */
        sq_err ignore;
        r.init_in_task_cg = sq_cgroup_task_begin(sb->cg, sb->pid, r.id, &ignore) == 0;
    }
    rc = sq_ctl_send(sb->ctl, SQ_CTL_SPAWN, r.id, (int32_t)argc, (int32_t)envc, payload, len,
                     theirs, SQ_CTL_SPAWN_FDS);
    /* The command's ends now live in the init (or nowhere): drop ours, or we
     * would never see EOF on its output. */
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (rc < 0) {
        close_fd(&r.in), close_fd(&r.out), close_fd(&r.err);
        init_home(&r);
        return broken(&r, err, "sending SPAWN");
    }
    /* Only our ends are non-blocking: O_NONBLOCK belongs to the open file,
     * and the command's ends are separate ones. */
    if (set_nonblock(r.in) < 0 || set_nonblock(r.out) < 0 || set_nonblock(r.err) < 0) {
        sq_err_errno(err, "fcntl(O_NONBLOCK)");
        rc = -1;
    }
    if (rc == 0 && o->stdin_len == 0)
        close_fd(&r.in);

    sigset_t pipe_set, old_mask, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    sigpending(&pending);
    bool sigpipe_was_pending = sigismember(&pending, SIGPIPE);

    if (rc == 0)
        rc = loop(&r, start, err);
    if (rc < 0 && !r.exited && !r.kill_sent && !sb->dead) { /* don't leave it running */
        sq_ctl_send(sb->ctl, SQ_CTL_KILL, r.id, SIGKILL, 0, NULL, 0, NULL, 0);
        if (sb->cg) {
            init_home(&r);
            sq_cgroup_task_kill(sb->cg, r.id);
        }
    }
    init_home(&r);
    if (sb->cg)
        sq_cgroup_task_end(sb->cg, r.id);

    close_fd(&r.in);
    close_fd(&r.out);
    close_fd(&r.err);
    if (r.caused_sigpipe && !sigpipe_was_pending) {
        const struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

    fill_result(&r);
    if (sb->cg && !res->timed_out && !res->canceled && (res->term_signal == SIGKILL || res->exit_code == 128 + SIGKILL) &&
        sq_cgroup_oom_kills(sb->cg) > oom_before)
        res->oom_killed = true;
    res->duration_ms = sq_mono_ms() - start;
    return rc < 0 ? -1 : 0;
}
