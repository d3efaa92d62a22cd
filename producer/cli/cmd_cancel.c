/* cmd_cancel.c — `sandq cancel SBX TASK_ID`: task.cancel for a task by its id
 * (one started by another client, another `sandq exec`, a batch), waiting for
 * the task to end `canceled` (libsandq's sandq_cancel). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "sq/ids.h"

static const char help[] =
    "usage: sandq cancel SBX TASK_ID [options]\n"
    "\n"
    "Cancel task TASK_ID of sandbox SBX: a running task is stopped at once (a\n"
    "command's whole process tree is killed; a files request stops between two\n"
    "chunks), a queued one never starts. Waits until the task has ended canceled.\n"
    "A task that already ended is invalid_state; one the sandbox never had is\n"
    "not_found.\n"
    "\n"
    "Options:\n"
    "  --timeout D          how long to wait (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"id\",\"taskId\",\"state\":\"canceled\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq cancel $SBX tsk_01JDQ3V8Y6J7Z8ZK2W6Q0X1ABC\n"
    "  sandq cancel $SBX $TASK --json\n";

enum { O_TIMEOUT = 256, O_REGION, O_JSON };

static const struct option opts[] = {{"timeout", required_argument, 0, O_TIMEOUT},
                                     {"region", required_argument, 0, O_REGION},
                                     {"json", no_argument, 0, O_JSON},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

int cmd_cancel(int argc, char **argv)
{
    const char *cmd = argv[0];
    int64_t timeout_ms = 0;
    const char *region = NULL;
    bool json = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_REGION: region = optarg; break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, 2, "missing task id");
    if (!sbx)
        return CLI_EXIT_USAGE;
    const char *task = argv[optind + 1];
    if (!sq_id_valid(task, "tsk"))
        return cli_usage(cmd, "\"%s\" is not a task id (tsk_ followed by a 26-character ULID)", task);
    int rc;
    sandq_client_t *c = cli_client(cmd, region, json, &rc);
    if (!c)
        return rc;
    sandq_error err;
    sandq_code code = sandq_cancel(c, sbx, task, timeout_ms, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:s}", "id", sbx, "taskId", task, "state", "canceled"));
    else if (cli_stdout_tty())
        printf("%s canceled\n", task);
    return CLI_EXIT_OK;
}
