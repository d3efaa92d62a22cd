/* cmd_exec.c — `sandq exec SBX -- CMD ARGS…`: run a command in a sandbox, stream its
 * stdout and stderr to ours as it runs, forward our stdin when it is a pipe or a file,
 * and exit with the command's exit code. Ctrl-C cancels the remote command.
 * The same loop serves `sandq sh SBX 'LINE'` (sh -c LINE) and
 * `sandq run-code SBX --language L FILE|-` (a task.code request). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "sq/clock.h"
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

static const char sh_help[] =
    "usage: sandq sh SBX [options] 'SHELL LINE'\n"
    "\n"
    "Run a shell line (sh -c) in sandbox SBX: pipes, redirections and globs work\n"
    "inside the sandbox. Output streams live; exits with the line's exit code.\n"
    "Takes the options of `sandq exec`.\n"
    "\n"
    "Options:\n"
    "  --cwd DIR            working directory inside the sandbox\n"
    "  --env K=V            extra environment variable (repeatable)\n"
    "  --timeout D          kill it after D (default 10m); exit code 124\n"
    "  -n, --no-stdin       do not send stdin, even if it is a pipe\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"exitCode\",\"stdout\",\"stderr\",\"taskId\",\"durationMs\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq sh $SBX 'ls -la | wc -l'\n"
    "  sandq sh $SBX 'cd app && make test > log.txt 2>&1; tail log.txt'\n";

static const char code_help[] =
    "usage: sandq run-code SBX [--language L] [options] FILE|-\n"
    "\n"
    "Run source code in sandbox SBX (a task.code request): the contents of FILE, or\n"
    "of stdin with -. Output streams live; exits with the interpreter's exit code.\n"
    "\n"
    "Options:\n"
    "  --language L         python | javascript | typescript | bash (default: from the\n"
    "                       file extension .py .js .ts .sh, else the sandbox runtime's)\n"
    "  --timeout D          kill it after D (default 10m); exit code 124\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"exitCode\",\"stdout\",\"stderr\",\"taskId\",\"durationMs\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: the code's own; 124 timed out; 125 sandq failed; 130 interrupted.\n"
    "\n"
    "Examples:\n"
    "  sandq run-code $SBX --language python analysis.py\n"
    "  echo 'console.log(6*7)' | sandq run-code $SBX --language javascript -\n";

enum { O_CWD = 256, O_ENV, O_TIMEOUT, O_REGION, O_JSON, O_LANG };

static const struct option opts[] = {
    {"cwd", required_argument, 0, O_CWD},     {"env", required_argument, 0, O_ENV},
    {"timeout", required_argument, 0, O_TIMEOUT}, {"region", required_argument, 0, O_REGION},
    {"no-stdin", no_argument, 0, 'n'},        {"json", no_argument, 0, O_JSON},
    {"language", required_argument, 0, O_LANG},
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

/* run-code: the language from a file name's extension, or NULL. */
static const char *language_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return NULL;
    static const char *const map[][2] = {{".py", "python"},     {".js", "javascript"}, {".mjs", "javascript"},
                                         {".ts", "typescript"}, {".sh", "bash"},       {".bash", "bash"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(dot, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static int read_code_file(const char *cmd, bool json, const char *path, char **out, int *exit_code)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *exit_code = cli_io_fail(cmd, json, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            if (cap >= STDIN_MAX) {
                free(buf);
                fclose(f);
                *exit_code = cli_io_fail(cmd, json, "%s is larger than %zu MiB", path, STDIN_MAX >> 20);
                return -1;
            }
            cap *= 2;
            char *p = realloc(buf, cap + 1);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        *exit_code = cli_io_fail(cmd, json, "%s: %s", path, buf ? "read error" : "out of memory");
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int cmd_exec(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool is_sh = strcmp(cmd, "sh") == 0, is_code = strcmp(cmd, "run-code") == 0;
    const char *language = NULL;
    char *code_text = NULL;
    const char *sh_argv[4] = {"sh", "-c", NULL, NULL};
    sandq_exec_opts eo = SANDQ_EXEC_OPTS_INIT;
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
        case O_LANG:
            if (!is_code) {
                cli_usage(cmd, "unknown option --language");
                goto out;
            }
            if (strcmp(optarg, "python") && strcmp(optarg, "javascript") && strcmp(optarg, "typescript") &&
                strcmp(optarg, "bash")) {
                cli_usage(cmd, "bad --language value \"%s\": expected python, javascript, typescript or bash",
                          optarg);
                goto out;
            }
            language = optarg;
            break;
        case 'h':
            fputs(is_sh ? sh_help : is_code ? code_help : help, stdout);
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
        cli_usage(cmd, argc - optind < 1 ? "missing sandbox id and command"
                       : is_sh           ? "missing the shell line to run"
                       : is_code         ? "missing FILE (or - for stdin)"
                                         : "missing the command to run");
        goto out;
    }
    if ((is_sh || is_code) && argc - optind > 2) {
        cli_usage(cmd, is_sh ? "too many arguments: quote the shell line ('a | b')" : "too many arguments");
        goto out;
    }
    const char *sbx = argv[optind];
    if (cli_sandbox_id(cmd, sbx) < 0)
        goto out;
    const char *const *command = (const char *const *)&argv[optind + 1];
    if (is_sh) {
        sh_argv[2] = argv[optind + 1];
        command = sh_argv;
    }
    if (is_code) {
        const char *file = argv[optind + 1];
        if (strcmp(file, "-") == 0) {
            if (read_stdin(cmd, json, &in, &inlen, &rc) < 0)
                goto out;
            code_text = malloc(inlen + 1);
            if (!code_text) {
                rc = cli_io_fail(cmd, json, "out of memory");
                goto out;
            }
            if (inlen)
                memcpy(code_text, in, inlen);
            code_text[inlen] = '\0';
            free(in);
            in = NULL;
            inlen = 0;
        } else {
            if (read_code_file(cmd, json, file, &code_text, &rc) < 0)
                goto out;
            if (!language)
                language = language_of(file);
        }
        if (!sqp_utf8_text(code_text, strlen(code_text))) {
            rc = cli_io_fail(cmd, json, "%s is not UTF-8 text", file);
            goto out;
        }
    } else if (!no_stdin && read_stdin(cmd, json, &in, &inlen, &rc) < 0) {
        goto out;
    }
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
    sandq_code started;
    if (is_code) {
        sandq_code_opts co = {.struct_size = sizeof co, .language = language, .timeout_ms = timeout_ms, .on_output = on_output, .user = &cap};
        started = sandq_run_code_start(c, sbx, code_text, &co, &t, &err);
    } else {
        started = sandq_exec_start(c, sbx, command, &eo, &t, &err);
    }
    if (started) {
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
            fprintf(stderr, "sandq: %s: interrupted; cancel of task %s not confirmed\n", cmd, sandq_task_id(t));
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
            fprintf(stderr, "sandq: %s: interrupted; task %s canceled\n", cmd, sandq_task_id(t));
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
    free(code_text);
    free(cap.buf[0]);
    free(cap.buf[1]);
    cli_list_free(&env);
    return rc;
}
