/* cmd_exec.c — `sandq exec SBX -- CMD ARGS…`: run a command in a sandbox, stream its
 * stdout and stderr to ours as it runs, forward our stdin when it is a pipe or a file,
 * and exit with the command's exit code. Ctrl-C cancels the remote command. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "sq/codec.h"
#include "utf8.h"

#define STDIN_MAX ((size_t)4 << 20)      /* more cannot fit in one request anyway */
#define JSON_OUTPUT_MAX ((size_t)64 << 20) /* --json keeps output in memory */
#define CANCEL_GRACE_MS 10000

static const char help[] =
    "usage: sandq exec SBX [options] -- CMD [ARGS...]\n"
    "\n"
    "Run CMD in sandbox SBX (in /workspace unless --cwd). Its stdout and stderr\n"
    "stream to ours while it runs; our stdin is sent to it when stdin is a pipe or a\n"
    "file (not a terminal). Exits with the command's exit code.\n"
    "\n"
    "Options:\n"
    "  --cwd DIR            working directory inside the sandbox\n"
    "  --env K=V            extra environment variable (repeatable)\n"
    "  --timeout D          kill the command after D (default 10m); exit code 124\n"
    "  -n, --no-stdin       do not send stdin, even if it is a pipe\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               do not stream; print {\"exitCode\",\"stdout\",\"stderr\",\n"
    "                       \"taskId\",\"durationMs\"} when it ends (stdoutB64/stderrB64\n"
    "                       for output that is not UTF-8 text)\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: the command's own; 124 timed out; 125 sandq failed (reason on\n"
    "stderr); 130 interrupted (the command is canceled).\n"
    "\n"
    "Examples:\n"
    "  sandq exec $SBX -- uname -a\n"
    "  sandq exec $SBX --cwd /workspace/app --env DEBUG=1 -- make test\n"
    "  echo 'print(6*7)' | sandq exec $SBX -- python3 -\n"
    "  sandq exec $SBX --json -- ls -la\n";

enum { O_CWD = 256, O_ENV, O_TIMEOUT, O_REGION, O_JSON };

static const struct option opts[] = {
    {"cwd", required_argument, 0, O_CWD},     {"env", required_argument, 0, O_ENV},
    {"timeout", required_argument, 0, O_TIMEOUT}, {"region", required_argument, 0, O_REGION},
    {"no-stdin", no_argument, 0, 'n'},        {"json", no_argument, 0, O_JSON},
    {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};

typedef struct capture {
    bool json;
    bool broken;        /* our stdout/stderr went away (EPIPE): stop writing */
    char *buf[2];
    size_t len[2], cap[2];
    bool truncated;
} capture;

static void on_output(void *user, sandq_stream stream, const void *bytes, size_t len)
{
    capture *cap = user;
    int i = stream == SANDQ_STDERR ? 1 : 0;
    if (!cap->json) {
        if (!cap->broken && cli_write_all(i ? STDERR_FILENO : STDOUT_FILENO, bytes, len) < 0)
            cap->broken = true;
        return;
    }
    if (cap->len[i] + len > JSON_OUTPUT_MAX) {
        cap->truncated = true;
        return;
    }
    if (cap->len[i] + len + 1 > cap->cap[i]) {
        size_t n = cap->cap[i] ? cap->cap[i] : 4096;
        while (n < cap->len[i] + len + 1)
            n *= 2;
        char *p = realloc(cap->buf[i], n);
        if (!p) {
            cap->truncated = true;
            return;
        }
        cap->buf[i] = p;
        cap->cap[i] = n;
    }
    memcpy(cap->buf[i] + cap->len[i], bytes, len);
    cap->len[i] += len;
}

/* Read stdin if it is a pipe, a file or a socket — never a terminal (that would wait
 * for the user to type EOF) and never /dev/null-like devices (nothing to send). */
static int read_stdin(const char *cmd, bool json, char **out, size_t *outlen, int *exit_code)
{
    *out = NULL;
    *outlen = 0;
    struct stat st;
    if (fstat(STDIN_FILENO, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)))
        return 0;
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            *exit_code = cli_io_fail(cmd, json, "out of memory reading stdin");
            return -1;
        }
        if (len == cap) {
            if (cap >= STDIN_MAX + 1) {
                free(buf);
                sandq_error e = {.code = SANDQ_E_PAYLOAD_TOO_LARGE, .exit_code = -1};
                snprintf(e.message, sizeof e.message,
                         "stdin is larger than %zu MiB; copy it with `sandq files put` and redirect inside",
                         STDIN_MAX >> 20);
                *exit_code = cli_fail(cmd, &e, json, CLI_EXIT_EXEC_FAIL);
                return -1;
            }
            cap *= 2;
            if (cap > STDIN_MAX + 1)
                cap = STDIN_MAX + 1;
            char *p = realloc(buf, cap);
            if (!p)
                free(buf);
            buf = p;
            continue;
        }
        ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR && !cli_interrupted)
                continue;
            free(buf);
            *exit_code = cli_interrupted ? CLI_EXIT_INTERRUPTED : cli_io_fail(cmd, json, "reading stdin: %s", strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

static void put_stream(json_t *o, const char *key, const char *b64key, const char *buf, size_t len)
{
    if (sqp_utf8_text(buf ? buf : "", len)) {
        json_object_set_new(o, key, json_stringn(buf ? buf : "", len));
        return;
    }
    char *enc = malloc(sq_b64_encoded_size(len));
    if (!enc)
        return;
    sq_b64_encode(buf, len, enc);
    json_object_set_new(o, b64key, json_string(enc));
    free(enc);
}

int cmd_exec(int argc, char **argv)
{
    const char *cmd = "exec";
    sandq_exec_opts eo = {0};
    cli_list env = {0};
    const char *region = NULL;
    int64_t timeout_ms = 10 * 60 * 1000;
    bool no_stdin = false, json = false;
    int rc = CLI_EXIT_USAGE;
    char *in = NULL;
    size_t inlen = 0;
    capture cap = {0};
    sandq_client_t *c = NULL;
    sandq_task_t *t = NULL;

    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":hn", opts, NULL)) != -1) {
        switch (ch) {
        case O_CWD: eo.cwd = optarg; break;
        case O_ENV:
            if (cli_kv(cmd, "env", optarg, &env) < 0)
                goto out;
            break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &timeout_ms) < 0)
                goto out;
            break;
        case O_REGION: region = optarg; break;
        case 'n': no_stdin = true; break;
        case O_JSON: json = true; break;
        case 'h':
            fputs(help, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            if (ch == '?')
                cli_usage(cmd, "unknown option %s (put the command after --: sandq exec SBX -- CMD ARGS...)",
                          cli_bad_option_name(argv));
            else
                cli_bad_option(cmd, ch, argv);
            goto out;
        }
    }
    /* getopt permutes: what is left is SBX followed by the command (the words after "--"). */
    if (argc - optind < 2) {
        cli_usage(cmd, argc - optind < 1 ? "missing sandbox id and command" : "missing the command to run");
        goto out;
    }
    const char *sbx = argv[optind];
    if (cli_sandbox_id(cmd, sbx) < 0)
        goto out;
    const char *const *command = (const char *const *)&argv[optind + 1];

    if (!no_stdin && read_stdin(cmd, json, &in, &inlen, &rc) < 0)
        goto out;
    cap.json = json;
    eo.env = cli_list_items(&env);
    eo.timeout_ms = timeout_ms;
    eo.stdin_data = in;
    eo.stdin_len = inlen;
    eo.on_output = on_output;
    eo.user = &cap;

    c = cli_client(cmd, region, json, &rc);
    if (!c) {
        rc = rc == CLI_EXIT_FAIL ? CLI_EXIT_EXEC_FAIL : rc;
        goto out;
    }
    sandq_error err;
    if (sandq_exec_start(c, sbx, command, &eo, &t, &err)) {
        rc = cli_fail(cmd, &err, json, CLI_EXIT_EXEC_FAIL);
        goto out;
    }
    /* From here Ctrl-C cancels the remote command instead of abandoning it. */
    cli_catch_interrupts();
    /* Wait in short slices so Ctrl-C is noticed; the deadline leaves the worker time
     * to report its own timeout first. */
    int64_t deadline = sq_mono_ms() + timeout_ms + 30000;
    bool canceled = false;
    sandq_task_result res;
    sandq_code code;
    for (;;) {
        code = sandq_task_wait(t, 200, &res, &err);
        if (code != SANDQ_E_WAIT_TIMEOUT)
            break;
        if (cli_interrupted && !canceled) {
            sandq_error cerr;
            if (sandq_task_cancel(t, &cerr) == SANDQ_OK) {
                canceled = true;
                deadline = sq_mono_ms() + CANCEL_GRACE_MS;
            } else {
                break;
            }
        }
        if (sq_mono_ms() >= deadline)
            break;
    }
    if (code == SANDQ_E_WAIT_TIMEOUT) {
        if (canceled) {
            fprintf(stderr, "sandq: exec: interrupted; cancel of task %s not confirmed\n", sandq_task_id(t));
            rc = CLI_EXIT_INTERRUPTED;
        } else if (cli_interrupted) {
            rc = CLI_EXIT_INTERRUPTED;
        } else {
            snprintf(err.message, sizeof err.message, "task %s gave no answer within its timeout + 30s",
                     sandq_task_id(t));
            rc = cli_fail(cmd, &err, json, CLI_EXIT_EXEC_FAIL);
        }
        goto out;
    }
    if (code) {
        if (canceled && code == SANDQ_E_CANCELED) {
            fprintf(stderr, "sandq: exec: interrupted; task %s canceled\n", sandq_task_id(t));
            rc = CLI_EXIT_INTERRUPTED;
        } else {
            rc = cli_fail(cmd, &err, json, CLI_EXIT_EXEC_FAIL);
        }
        goto out;
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:i, s:I}", "taskId", sandq_task_id(t), "exitCode", res.exit_code, "durationMs",
                              (json_int_t)res.duration_ms);
        put_stream(o, "stdout", "stdoutB64", cap.buf[0], cap.len[0]);
        put_stream(o, "stderr", "stderrB64", cap.buf[1], cap.len[1]);
        if (cap.truncated)
            json_object_set_new(o, "truncated", json_true());
        cli_print_json(o);
    }
    rc = res.exit_code < 0 ? CLI_EXIT_EXEC_FAIL : res.exit_code > 255 ? 255 : res.exit_code;
out:
    sandq_task_free(t);
    sandq_client_free(c);
    free(in);
    free(cap.buf[0]);
    free(cap.buf[1]);
    cli_list_free(&env);
    return rc;
}
