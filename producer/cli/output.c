/* output.c — how the CLI talks: one-line errors on stderr, JSON lines on stdout,
 * the client from the environment, and interrupt handling. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sq/env.h"

volatile sig_atomic_t cli_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_stdout_tty(void) { return isatty(STDOUT_FILENO) == 1; }

void cli_print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s)
        return;
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(s);
}

int cli_fail(const char *cmd, const sandq_error *err, bool json, int fail_code)
{
    const char *name = sandq_code_name(err->code);
    if (err->field[0])
        fprintf(stderr, "sandq: %s: %s: %s (field %s)\n", cmd, name, err->message, err->field);
    else
        fprintf(stderr, "sandq: %s: %s: %s\n", cmd, name, err->message);
    if (json) {
        json_t *e = json_pack("{s:s, s:s}", "code", name, "message", err->message);
        if (err->field[0])
            json_object_set_new(e, "field", json_string(err->field));
        if (err->reason[0])
            json_object_set_new(e, "reason", json_string(err->reason));
        if (err->request_id[0])
            json_object_set_new(e, "requestId", json_string(err->request_id));
        if (err->task_id[0])
            json_object_set_new(e, "taskId", json_string(err->task_id));
        cli_print_json(json_pack("{s:o}", "error", e));
    }
    if (err->code == SANDQ_E_WAIT_TIMEOUT || err->code == SANDQ_E_TIMED_OUT)
        return CLI_EXIT_TIMEOUT;
    return fail_code;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sandq: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sandq %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_io_fail(const char *cmd, bool json, const char *fmt, ...)
{
    sandq_error e;
    memset(&e, 0, sizeof e);
    e.code = SANDQ_E_IO;
    e.exit_code = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    return cli_fail(cmd, &e, json, CLI_EXIT_FAIL);
}

sandq_client_t *cli_client(const char *cmd, const char *region, bool json, int *exit_code)
{
    /* Inside a checkout, `.stack/env` (written by scripts/stack up) supplies the
     * brokers unless the environment already does. */
    sq_env_load_stack_file();
    sandq_client_opts o = {.struct_size = sizeof o, .region = region, .client_id = "sandq-cli"};
    sandq_error err;
    sandq_client_t *c = sandq_client_new(&o, &err);
    if (!c)
        *exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    return c;
}

int cli_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
